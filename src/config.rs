//! Settings: flags override environment variables (`SHOPKEEPER_*`), which override defaults.
//! Every duration a rule depends on is here, so tests can shrink them to seconds.

use clap::{Args, ValueEnum};
use std::net::SocketAddr;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://shopkeeper.db";

#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// Database URL: `sqlite://FILE` (embedded default) or `postgres://...`.
    #[arg(long = "database", env = "SHOPKEEPER_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub url: String,
    /// Connections in the read pool (SQLite always writes through one connection).
    #[arg(
        long,
        env = "SHOPKEEPER_DB_POOL_SIZE",
        default_value_t = 8,
        global = true
    )]
    pub pool_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ServeSettings {
    /// Address to listen on.
    #[arg(long, env = "SHOPKEEPER_LISTEN", default_value = "127.0.0.1:8080")]
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
    pub operations: OperationsSettings,
}

#[derive(Debug, Clone, Args)]
pub struct TokenSettings {
    /// Lifetime of refresh tokens (and of the session behind them), in seconds. One year by
    /// default, as the Token page documents.
    #[arg(long, env = "SHOPKEEPER_REFRESH_TTL", default_value_t = 365 * 24 * 3600)]
    pub refresh_ttl_seconds: i64,
    /// How long a consumed refresh token may be replayed and still get the same new pair
    /// (concurrent tabs). After it, a replay revokes the session.
    #[arg(long, env = "SHOPKEEPER_REFRESH_GRACE", default_value_t = 10)]
    pub refresh_grace_seconds: i64,
    /// Most access tokens whose check is answered from memory.
    #[arg(long, env = "SHOPKEEPER_TOKEN_CACHE", default_value_t = 1_000_000)]
    pub token_cache_capacity: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            refresh_ttl_seconds: 365 * 24 * 3600,
            refresh_grace_seconds: 10,
            token_cache_capacity: 1_000_000,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct HashingSettings {
    /// Password hashes computed at once, each on its own blocking thread. Defaults to the
    /// number of cores less one (at least one), leaving a core for everything else.
    #[arg(long, env = "SHOPKEEPER_HASHING_THREADS")]
    pub hashing_threads: Option<usize>,
    /// Argon2id memory cost in KiB (OWASP's 19 MiB by default).
    #[arg(long, env = "SHOPKEEPER_ARGON2_MEMORY_KIB", default_value_t = 19 * 1024)]
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    #[arg(long, env = "SHOPKEEPER_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,
}

impl Default for HashingSettings {
    fn default() -> Self {
        Self {
            hashing_threads: None,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
        }
    }
}

impl HashingSettings {
    pub fn threads(&self) -> usize {
        self.hashing_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1).max(1))
                .unwrap_or(1)
        })
    }
}

/// Operating the server: the advertised issuer, the clean-up task, shutdown.
#[derive(Debug, Clone, Args)]
pub struct OperationsSettings {
    /// Issuer URL advertised in `/.well-known/oauth-authorization-server` (e.g.
    /// `https://auth.example.com`). Unset: `http://` + the request's `Host` header, which
    /// suits local use only.
    #[arg(long, env = "SHOPKEEPER_ISSUER")]
    pub issuer: Option<String>,
    /// Seconds between clean-up passes deleting expired tokens and dead sessions.
    #[arg(long, env = "SHOPKEEPER_CLEANUP_INTERVAL", default_value_t = 60)]
    pub cleanup_interval_seconds: u64,
    /// Most rows one clean-up transaction deletes per table.
    #[arg(long, env = "SHOPKEEPER_CLEANUP_BATCH", default_value_t = 500)]
    pub cleanup_batch: i64,
    /// How long a consumed refresh token is kept so that its replay is recognised as theft
    /// (and ends the session); after it the row is deleted and a replay is merely unknown.
    #[arg(long, env = "SHOPKEEPER_CONSUMED_REFRESH_RETENTION", default_value_t = 24 * 3600)]
    pub consumed_refresh_retention_seconds: i64,
    /// On SIGTERM, how long in-flight requests may take before the server stops anyway.
    #[arg(long, env = "SHOPKEEPER_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout_seconds: u64,
}

impl Default for OperationsSettings {
    fn default() -> Self {
        Self {
            issuer: None,
            cleanup_interval_seconds: 60,
            cleanup_batch: 500,
            consumed_refresh_retention_seconds: 24 * 3600,
            shutdown_timeout_seconds: 30,
        }
    }
}
