//! `shopkeeper-bench`: starts Shopkeeper (release build) on a fresh database, provisions a site,
//! keys and a shopper through its CLI, drives each scenario over loopback for a fixed time and
//! prints requests/s, p50, p99, errors and the server's RSS. Optionally runs the same
//! client-credentials load against a peer (node-oidc-provider, in memory) for a side-by-side
//! ratio. See docs/benchmarks.md.

mod load;
mod scenarios;
mod server;

use clap::Parser;
use load::Report;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser, Clone)]
#[command(about)]
pub struct Args {
    /// Seconds each scenario runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections (closed loop, one request in flight each).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Comma-separated scenarios (anonymous, client-credentials, refresh, check-me,
    /// check-access-tokens, password-with-check, ceiling) or `all`.
    #[arg(long, default_value = "all")]
    scenarios: String,
    /// Database URL for Shopkeeper (default: a fresh SQLite file in a scratch folder).
    #[arg(long)]
    database: Option<String>,
    /// Also measure the peer (npm oidc-provider, installed into a scratch folder).
    #[arg(long)]
    peer: bool,
    /// The shopkeeper binary (default: next to this one).
    #[arg(long)]
    shopkeeper: Option<PathBuf>,
}

fn print_row(name: &str, r: &Report, rss_mb: f64) {
    println!(
        "{name:<28} {:>10.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {:>6}  rss {:>6.1} MB",
        r.rps(),
        r.p50_ms(),
        r.p99_ms(),
        r.errors,
        rss_mb
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let wanted =
        |name: &str| args.scenarios == "all" || args.scenarios.split(',').any(|s| s == name);
    let duration = Duration::from_secs(args.seconds);
    let server = server::Shopkeeper::start(&args).await?;
    println!(
        "shopkeeper ready in {:.0} ms on an existing database; {} connections, {} s per scenario",
        server.restart_ms, args.connections, args.seconds
    );
    let fixtures = Arc::new(scenarios::Fixtures::provision(&server, args.connections).await?);
    let mut results = Vec::new();

    for (name, scenario) in scenarios::simple(&fixtures) {
        if !wanted(name) {
            continue;
        }
        let report = load::run(server.addr, args.connections, duration, scenario, |i| {
            fixtures.worker(i)
        })
        .await;
        print_row(name, &report, server.rss_mb());
        results.push((name.to_owned(), report.rps()));
    }

    if wanted("password-with-check") {
        let password_conns = 8.min(args.connections);
        let check_conns = args.connections.saturating_sub(password_conns).max(1);
        let alone = load::run(
            server.addr,
            check_conns,
            duration,
            scenarios::check_me(&fixtures),
            |i| fixtures.worker(i),
        )
        .await;
        let (password, check) = tokio::join!(
            load::run(
                server.addr,
                password_conns,
                duration,
                scenarios::password(&fixtures),
                |i| fixtures.worker(i)
            ),
            load::run(
                server.addr,
                check_conns,
                duration,
                scenarios::check_me(&fixtures),
                |i| fixtures.worker(i)
            ),
        );
        print_row("check alone (same conns)", &alone, server.rss_mb());
        print_row("password grant", &password, server.rss_mb());
        print_row("check beside password", &check, server.rss_mb());
        println!(
            "check p99 beside password / alone = {:.2}",
            check.p99_ms() / alone.p99_ms().max(0.001)
        );
    }

    if args.peer {
        let peer = server::Peer::start().await?;
        let report = load::run(
            peer.addr,
            args.connections,
            duration,
            scenarios::peer_client_credentials(),
            |i| load::Worker { id: i, token: None },
        )
        .await;
        print_row("peer client-credentials", &report, peer.rss_mb());
        for (name, rps) in &results {
            if name == "anonymous" || name == "client-credentials" {
                println!(
                    "ratio {name} / peer client-credentials = {:.2}",
                    rps / report.rps()
                );
            }
        }
    }
    let ceiling = results.iter().find(|(n, _)| n == "ceiling").map(|r| r.1);
    if let Some(ceiling) = ceiling {
        for (name, rps) in &results {
            if name.starts_with("check") {
                println!("ratio {name} / ceiling = {:.2}", rps / ceiling);
            }
        }
    }
    Ok(())
}
