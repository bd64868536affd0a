//! Settings: flags override environment variables (`SHOPKEEPER_*`), which override defaults.
//! Each layer owns its settings (the store its database's, the services every duration a rule
//! depends on); this module adds the server's own and gathers them for the CLI.

use clap::{Args, ValueEnum};
use std::net::SocketAddr;

pub use shopkeeper_services::settings::{
    ForwardedHeader, HashingSettings, OperationsSettings, SecuritySettings, TokenSettings,
    WebConfig, WebSettings, WireFormat,
};
pub use shopkeeper_store::settings::{DEFAULT_DATABASE_URL, DatabaseSettings, SqliteSynchronous};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `--listen`: an address as given, or a host name resolved (its first address, IPv4 before
/// IPv6 so `localhost` is 127.0.0.1 as a browser tries it first).
fn parse_listen_address(raw: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(address) = raw.parse() {
        return Ok(address);
    }
    let mut addresses: Vec<SocketAddr> = raw
        .to_socket_addrs()
        .map_err(|e| format!("{raw:?} is not HOST:PORT or IP:PORT ({e})"))?
        .collect();
    addresses.sort_by_key(SocketAddr::is_ipv6);
    addresses
        .into_iter()
        .next()
        .ok_or_else(|| format!("{raw:?} resolves to no address"))
}

#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// Address to listen on: `IP:PORT` or `HOST:PORT` (`localhost:8080`; a name is resolved
    /// once, at start, to its first address).
    #[arg(long, env = "SHOPKEEPER_LISTEN", default_value = "127.0.0.1:8080", value_parser = parse_listen_address)]
    pub listen: SocketAddr,
    /// Do not create the demo site, clients and shopper on an empty database.
    #[arg(long, env = "SHOPKEEPER_NO_DEMO")]
    pub no_demo: bool,
    /// Log format.
    #[arg(
        long,
        env = "SHOPKEEPER_LOG_FORMAT",
        value_enum,
        default_value = "pretty"
    )]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub tokens: TokenSettings,
    #[command(flatten)]
    pub hashing: HashingSettings,
    #[command(flatten)]
    pub web: WebSettings,
    #[command(flatten)]
    pub operations: OperationsSettings,
    #[command(flatten)]
    pub security: SecuritySettings,
    /// FOR TESTS ONLY, NEVER IN PRODUCTION: runs on a clock that anyone who can reach the
    /// server may move forward (`POST /__test/clock`), shared by every node of the database.
    #[arg(long, env = "SHOPKEEPER_TEST_CLOCK", hide = true)]
    pub test_clock: bool,
}
