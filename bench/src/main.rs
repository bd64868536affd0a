//! `shopkeeper-bench`: starts Shopkeeper (the `dist` build beside it) on a fresh database, provisions a site,
//! keys, a catalog and a shopper through its CLI, drives each scenario over loopback for a
//! fixed time and prints requests/s, p50, p99, errors and the server's RSS. Optionally runs the
//! same client-credentials load against a peer (node-oidc-provider, in memory) for a
//! side-by-side ratio, and measures the server with a million live sessions
//! (`--live-sessions`). See docs/benchmarks.md.

mod compare;
mod load;
mod scenarios;
mod server;
mod visit;

use clap::Parser;
use load::Report;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The scenario names `--scenarios` takes, in the order `all` runs them.
const SCENARIOS: &[&str] = &[
    "ceiling",
    "anonymous",
    "client-credentials",
    "refresh",
    "check-me",
    "check-access-tokens",
    "add-to-cart",
    "storefront",
    "password-with-check",
];

#[derive(Parser, Clone)]
#[command(about)]
pub struct Args {
    /// Seconds each scenario runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections (closed loop, one request in flight each).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Comma-separated scenarios or `all`: ceiling, anonymous, client-credentials, refresh,
    /// check-me, check-access-tokens, add-to-cart, storefront, password-with-check.
    /// Default: `all`, or none when --live-sessions is given.
    #[arg(long)]
    scenarios: Option<String>,
    /// After the scenarios: create N live sessions (anonymous password grants, all
    /// connections), print the server's RSS, the time taken and the database size, then run
    /// check-me (and check-me spread over a sample of the new sessions). Not part of `all`.
    #[arg(long, value_name = "N")]
    live_sessions: Option<u64>,
    /// After the scenarios: import a generated catalog of N products through the CLI while
    /// guest token requests run on all connections, and compare the token latency during the
    /// import with runs right before and after it. Not part of `all`.
    #[arg(long, value_name = "N")]
    import_products: Option<u64>,
    /// Variations of each product of `--import-products`.
    #[arg(long, default_value_t = 3)]
    import_variations: u64,
    /// `--batch-size` for the import of `--import-products` (default: the CLI's).
    #[arg(long)]
    import_batch_size: Option<u64>,
    /// Also write every result as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Database URL for Shopkeeper (default: a fresh SQLite file in a scratch folder).
    #[arg(long)]
    database: Option<String>,
    /// Also measure a peer, installed with npm into a scratch folder. `--peer` (or `--peer
    /// oidc-provider`): client-credentials grants on npm oidc-provider, beside the scenarios.
    /// `--peer vendure`: instead of the scenarios, the storefront visit on Shopkeeper
    /// (PostgreSQL and SQLite) and on Vendure (PostgreSQL), interleaved, for each of
    /// `--catalog-sizes` and with `--existing-orders`; needs `--database postgres://…` (the
    /// server both use; the bench makes and drops its own databases on it).
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "oidc-provider")]
    peer: Option<PeerKind>,
    /// `--peer vendure`: the catalog sizes (products) the visit runs with.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    catalog_sizes: Vec<u64>,
    /// `--peer vendure`: also run the smallest catalog with this many orders already placed
    /// (seeded by SQL on both systems); 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    existing_orders: u64,
    /// `--peer vendure`: Vendure's API server processes (its docs scale by running more
    /// instances; each load connection stays on one, as behind a sticky balancer). Default:
    /// one per core.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(1, |n| n.get()))]
    vendure_servers: usize,
    /// `--peer vendure`: how many times each system's run is repeated, interleaved.
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// The shopkeeper binary (default: next to this one).
    #[arg(long)]
    shopkeeper: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
enum PeerKind {
    /// npm oidc-provider (client credentials, in memory).
    OidcProvider,
    /// npm @vendure/core (its Shop API, on PostgreSQL).
    Vendure,
}

/// The rows printed so far, kept for `--json`.
#[derive(Default)]
struct Results {
    rows: Vec<Value>,
}

impl Results {
    /// Prints a row and keeps it; `extra` fields (an object) are added to its JSON.
    fn record(&mut self, name: &str, r: &Report, rss_mb: f64, extra: Value) {
        println!(
            "{name:<28} {:>10.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {:>6}  rss {:>6.1} MB",
            r.rps(),
            r.p50_ms(),
            r.p99_ms(),
            r.errors,
            rss_mb
        );
        let mut row = json!({
            "name": name,
            "rps": r.rps(),
            "p50_ms": r.p50_ms(),
            "p99_ms": r.p99_ms(),
            "requests": r.requests,
            "errors": r.errors,
            "seconds": r.seconds,
            "rss_mb": rss_mb,
        });
        if let (Some(row), Value::Object(extra)) = (row.as_object_mut(), extra) {
            row.extend(extra);
        }
        self.rows.push(row);
    }

    fn rps(&self, name: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r["name"] == name)
            .and_then(|r| r["rps"].as_f64())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.peer == Some(PeerKind::Vendure) {
        anyhow::ensure!(
            args.catalog_sizes.iter().all(|&n| n >= 3),
            "--catalog-sizes: each catalog needs at least 3 products (the peer seeds 3 templates)"
        );
        let mut results = Results::default();
        let summary = compare::run(
            &args,
            &args.catalog_sizes,
            args.existing_orders,
            &mut results,
        )
        .await?;
        if let Some(path) = &args.json {
            let doc = json!({
                "peer": "vendure",
                "connections": args.connections,
                "seconds_per_run": args.seconds,
                "rounds": args.rounds,
                "summary": summary,
                "results": results.rows,
            });
            std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
            println!("results written to {}", path.display());
        }
        return Ok(());
    }
    let selected = args.scenarios.clone().unwrap_or_else(|| {
        if args.live_sessions.is_some() || args.import_products.is_some() {
            String::new()
        } else {
            "all".into()
        }
    });
    let names: Vec<&str> = selected.split(',').filter(|s| !s.is_empty()).collect();
    for name in &names {
        anyhow::ensure!(
            *name == "all" || SCENARIOS.contains(name),
            "unknown scenario {name:?}; known: all, {}",
            SCENARIOS.join(", ")
        );
    }
    let wanted = |name: &str| names.iter().any(|s| *s == "all" || *s == name);
    let duration = Duration::from_secs(args.seconds);
    let server = server::Shopkeeper::start(&args).await?;
    println!(
        "shopkeeper ready in {:.0} ms on an existing database; {} connections, {} s per scenario",
        server.restart_ms, args.connections, args.seconds
    );
    let fixtures = Arc::new(scenarios::Fixtures::provision(&server, args.connections).await?);
    let mut results = Results::default();

    // A check's ratio to the ceiling is taken against the ceiling measured right before and
    // right after it (their mean): the host's speed drifts over minutes, and a ceiling measured
    // a minute earlier made the same server look better or worse than it was.
    let ceiling = scenarios::simple(&fixtures)
        .into_iter()
        .find_map(|(name, scenario)| (name == "ceiling").then_some(scenario))
        .expect("the ceiling is a simple scenario");
    let mut fresh_ceiling: Option<f64> = None;
    let mut check_ratios: Vec<(&str, f64)> = Vec::new();
    for (name, scenario) in scenarios::simple(&fixtures) {
        if !wanted(name) {
            continue;
        }
        let run = |scenario| {
            load::run(server.addr, args.connections, duration, scenario, |i| {
                fixtures.worker(i)
            })
        };
        let bracketed = name.starts_with("check") && wanted("ceiling");
        let before = match (bracketed, fresh_ceiling.take()) {
            (false, _) => None,
            (true, Some(rps)) => Some(rps),
            (true, None) => {
                let again = run(ceiling.clone()).await;
                results.record("ceiling (again)", &again, server.rss_mb(), json!({}));
                Some(again.rps())
            }
        };
        let report = run(scenario).await;
        results.record(name, &report, server.rss_mb(), json!({}));
        if name == "ceiling" {
            fresh_ceiling = Some(report.rps());
        }
        if let Some(before) = before {
            let after = run(ceiling.clone()).await;
            results.record("ceiling (again)", &after, server.rss_mb(), json!({}));
            check_ratios.push((name, report.rps() / ((before + after.rps()) / 2.0)));
            fresh_ceiling = Some(after.rps());
        }
    }

    if wanted("storefront") {
        let storefront = scenarios::storefront(&fixtures);
        let report = load::run(
            server.addr,
            args.connections,
            duration,
            storefront.clone(),
            |i| load::Worker {
                id: i,
                ..Default::default()
            },
        )
        .await;
        let orders = storefront.orders();
        results.record(
            "storefront",
            &report,
            server.rss_mb(),
            json!({"orders": orders, "orders_per_second": orders as f64 / report.seconds}),
        );
        println!(
            "storefront orders submitted: {orders} ({:.0}/s)",
            orders as f64 / report.seconds
        );
    }

    if wanted("password-with-check") {
        let password_conns = 8.min(args.connections);
        let check_conns = args.connections.saturating_sub(password_conns).max(1);
        let check_run = || {
            load::run(
                server.addr,
                check_conns,
                duration,
                scenarios::check_me(&fixtures),
                |i| fixtures.worker(i),
            )
        };
        // Alone, beside, alone again: the host's speed drifts over minutes, so the check
        // beside password grants is compared with the mean of the runs before and after it.
        let alone = check_run().await;
        let (password, check) = tokio::join!(
            load::run(
                server.addr,
                password_conns,
                duration,
                scenarios::password(&fixtures),
                |i| fixtures.worker(i)
            ),
            check_run(),
        );
        let alone_after = check_run().await;
        let rss = server.rss_mb();
        results.record("check alone (same conns)", &alone, rss, json!({}));
        results.record("password grant", &password, rss, json!({}));
        results.record("check beside password", &check, rss, json!({}));
        results.record("check alone again", &alone_after, rss, json!({}));
        let alone_p99 = (alone.p99_ms() + alone_after.p99_ms()) / 2.0;
        println!(
            "check p99 beside password / alone (mean of before and after) = {:.2}",
            check.p99_ms() / alone_p99.max(0.001)
        );
    }

    if args.peer == Some(PeerKind::OidcProvider) {
        let peer = server::Peer::start().await?;
        let report = load::run(
            peer.addr,
            args.connections,
            duration,
            scenarios::peer_client_credentials(),
            |i| load::Worker {
                id: i,
                ..Default::default()
            },
        )
        .await;
        results.record("peer client-credentials", &report, peer.rss_mb(), json!({}));
        for name in ["anonymous", "client-credentials"] {
            if let Some(rps) = results.rps(name) {
                println!(
                    "ratio {name} / peer client-credentials = {:.2}",
                    rps / report.rps()
                );
            }
        }
    }
    for (name, ratio) in &check_ratios {
        println!("ratio {name} / ceiling (mean of the runs before and after it) = {ratio:.2}");
    }

    let mut live = Value::Null;
    if let Some(n) = args.live_sessions {
        live = live_sessions(&server, &fixtures, &args, n, &mut results).await;
    }

    let mut import = Value::Null;
    if let Some(n) = args.import_products {
        import = import_while_serving(&server, &fixtures, &args, n, &mut results).await?;
    }

    if let Some(path) = &args.json {
        let doc = json!({
            "import": import,
            "connections": args.connections,
            "seconds_per_scenario": args.seconds,
            "restart_ms": server.restart_ms,
            "results": results.rows,
            "live_sessions": live,
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")?;
        println!("results written to {}", path.display());
    }
    Ok(())
}

/// Tokens of the new sessions kept for the spread check (more than the server's 50,000-entry
/// token cache, so its checks are cold).
const SPREAD_SAMPLE: usize = 100_000;

/// `--live-sessions N`: N anonymous sessions through the API on all connections, progress
/// every 100,000, then RSS, time and database size, then check-me at that size.
async fn live_sessions(
    server: &server::Shopkeeper,
    fixtures: &scenarios::Fixtures,
    args: &Args,
    n: u64,
    results: &mut Results,
) -> Value {
    let rss_before = server.rss_mb();
    println!(
        "live-sessions: creating {n} anonymous sessions on {} connections (rss {rss_before:.1} MB)",
        args.connections
    );
    let scenario = scenarios::live_sessions(fixtures, n, SPREAD_SAMPLE);
    let done = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let run = load::run_count(
        server.addr,
        args.connections,
        n,
        done.clone(),
        scenario.clone(),
        |i| load::Worker {
            id: i,
            ..Default::default()
        },
    );
    tokio::pin!(run);
    let mut next = 100_000u64;
    let mut last = (Instant::now(), 0u64);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let report = loop {
        tokio::select! {
            report = &mut run => break report,
            _ = tick.tick() => {
                let count = done.load(Ordering::Relaxed);
                if count >= next {
                    let now = Instant::now();
                    println!(
                        "  {count:>9} sessions  {:>6.1} s  {:>6.0}/s (last 100k {:>6.0}/s)  rss {:>6.1} MB",
                        t0.elapsed().as_secs_f64(),
                        count as f64 / t0.elapsed().as_secs_f64(),
                        (count - last.1) as f64 / (now - last.0).as_secs_f64(),
                        server.rss_mb()
                    );
                    last = (now, count);
                    next = (count / 100_000 + 1) * 100_000;
                }
            }
        }
    };
    let seconds = t0.elapsed().as_secs_f64();
    let rss = server.rss_mb();
    let (db, wal) = server.sqlite_bytes().unwrap_or((0, 0));
    let mb = |b: u64| b as f64 / 1_048_576.0;
    println!(
        "live-sessions: {} sessions in {seconds:.1} s ({:.0}/s, p50 {:.2} ms, p99 {:.2} ms), errors {}; rss {rss:.1} MB (was {rss_before:.1}); database {:.1} MB + wal {:.1} MB",
        report.requests,
        report.requests as f64 / seconds,
        report.p50_ms(),
        report.p99_ms(),
        report.errors,
        mb(db),
        mb(wal),
    );
    // A moment for background work (group-commit writer, housekeeping) to settle, then again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_settled = server.rss_mb();
    println!("live-sessions: rss 2 s later {rss_settled:.1} MB");
    results.record(
        "live-sessions (issuing)",
        &report,
        rss,
        json!({"sessions": report.requests}),
    );

    let duration = Duration::from_secs(args.seconds);
    let check = load::run(
        server.addr,
        args.connections,
        duration,
        scenarios::check_me(fixtures),
        |i| fixtures.worker(i),
    )
    .await;
    results.record(
        &format!("check-me ({n} live)"),
        &check,
        server.rss_mb(),
        json!({}),
    );
    let sample = scenario.sample();
    let spread_len = sample.len();
    if !sample.is_empty() {
        let spread = load::run(
            server.addr,
            args.connections,
            duration,
            scenarios::check_me_spread(sample, args.connections),
            |i| load::Worker {
                id: i,
                ..Default::default()
            },
        )
        .await;
        results.record(
            &format!("check-me spread ({spread_len})"),
            &spread,
            server.rss_mb(),
            json!({"tokens": spread_len}),
        );
    }
    json!({
        "sessions": report.requests,
        "errors": report.errors,
        "seconds": seconds,
        "rate": report.requests as f64 / seconds,
        "rss_before_mb": rss_before,
        "rss_mb": rss,
        "rss_settled_mb": rss_settled,
        "database_bytes": db,
        "wal_bytes": wal,
    })
}

/// `--import-products N`: guest tokens alone, then beside `shopkeeper catalog import` of a
/// generated file of N products (a separate process on the same database, as an operator runs
/// it), then alone again; the latency during the import is compared with the mean of the runs
/// around it (the host's speed drifts over minutes).
async fn import_while_serving(
    server: &server::Shopkeeper,
    fixtures: &scenarios::Fixtures,
    args: &Args,
    n: u64,
    results: &mut Results,
) -> anyhow::Result<Value> {
    let file = server.scratch().join("import.json");
    std::fs::write(
        &file,
        scenarios::import_file(n, args.import_variations).to_string(),
    )?;
    let file_mb = std::fs::metadata(&file)?.len() as f64 / 1_048_576.0;
    println!(
        "import: {n} products with {} variations each ({file_mb:.1} MB); guest tokens on {} connections",
        args.import_variations, args.connections
    );
    let duration = Duration::from_secs(args.seconds);
    let tokens = || scenarios::guest_token(fixtures);
    let alone = load::run(server.addr, args.connections, duration, tokens(), |i| {
        fixtures.worker(i)
    })
    .await;

    let mut command = tokio::process::Command::new(&server.binary);
    command
        .args(["--database", &server.database, "catalog", "import"])
        .arg(&file)
        .args(["--site", "bench"]);
    if let Some(size) = args.import_batch_size {
        command.args(["--batch-size", &size.to_string()]);
    }
    let child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let importing = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let out = child.wait_with_output().await;
            stop.store(true, Ordering::Relaxed);
            out
        })
    };
    let during = load::run_until_stopped(server.addr, args.connections, stop, tokens(), |i| {
        fixtures.worker(i)
    })
    .await;
    let out = importing.await??;
    anyhow::ensure!(out.status.success(), "the import failed");
    let summary: Value = serde_json::from_slice(&out.stdout)?;

    let after = load::run(server.addr, args.connections, duration, tokens(), |i| {
        fixtures.worker(i)
    })
    .await;
    let rss = server.rss_mb();
    let with_max = |r: &load::Report| json!({"max_ms": r.max_ms()});
    results.record("guest token alone", &alone, rss, with_max(&alone));
    results.record("guest token during import", &during, rss, with_max(&during));
    results.record("guest token alone again", &after, rss, with_max(&after));
    let seconds = summary["seconds"].as_f64().unwrap_or(0.0);
    println!(
        "import: {} products + {} variations in {seconds:.1} s ({:.0} products/s), {} batches of {}",
        summary["products"]["created"],
        summary["variations"]["created"],
        n as f64 / seconds.max(0.001),
        summary["batches"],
        summary["batchSize"],
    );
    let mean = |a: f64, b: f64| ((a + b) / 2.0).max(0.001);
    let ratios = json!({
        "p50": during.p50_ms() / mean(alone.p50_ms(), after.p50_ms()),
        "p99": during.p99_ms() / mean(alone.p99_ms(), after.p99_ms()),
        "max": during.max_ms() / mean(alone.max_ms(), after.max_ms()),
        "rps": during.rps() / mean(alone.rps(), after.rps()),
    });
    println!(
        "guest token max: alone {:.1} ms, during {:.1} ms, again {:.1} ms; during / alone (mean of before and after): p50 {:.2}, p99 {:.2}, max {:.2}, req/s {:.2}; errors during {}",
        alone.max_ms(),
        during.max_ms(),
        after.max_ms(),
        ratios["p50"].as_f64().unwrap_or(0.0),
        ratios["p99"].as_f64().unwrap_or(0.0),
        ratios["max"].as_f64().unwrap_or(0.0),
        ratios["rps"].as_f64().unwrap_or(0.0),
        during.errors,
    );
    Ok(json!({
        "products": n,
        "variations_each": args.import_variations,
        "file_mb": file_mb,
        "summary": summary,
        "ratios_during_over_alone": ratios,
        "errors_during": during.errors,
    }))
}
