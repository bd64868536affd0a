//! `--peer vendure`: the same guest visit ([`crate::visit`]) on Shopkeeper and on Vendure, on
//! one PostgreSQL server (each on a fresh database of its own), and on Shopkeeper's SQLite
//! default, for catalogs of several sizes and with a million existing orders, interleaved so
//! the host's drift hits every system alike.

use crate::load::{self, Report, quantile_ms};
use crate::server::{Shopkeeper, Vendure};
use crate::visit::{self, Catalog, ShopkeeperVisit, Tally, VendureVisit, Visit};
use crate::{Args, Results};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Row};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Seconds of the unrecorded warm-up run of each system before a workload's rounds.
const WARM_UP_SECONDS: u64 = 10;

/// Vendure's database pool per load connection (see where it starts).
pub const VENDURE_POOL_PER_CONNECTION: usize = 2;

/// One configuration of the comparison: products in the catalog, orders already placed.
#[derive(Clone, Copy)]
pub struct Workload {
    pub products: u64,
    pub orders: u64,
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} products", self.products)?;
        if self.orders > 0 {
            write!(f, ", {} orders", self.orders)?;
        }
        Ok(())
    }
}

/// The workloads of a run: each catalog size with no orders, then the smallest with `orders`.
pub fn workloads(sizes: &[u64], orders: u64) -> Vec<Workload> {
    let mut out: Vec<Workload> = sizes
        .iter()
        .map(|&products| Workload {
            products,
            orders: 0,
        })
        .collect();
    if let (Some(&smallest), true) = (sizes.iter().min(), orders > 0) {
        out.push(Workload {
            products: smallest,
            orders,
        });
    }
    out
}

/// The generated catalog for Shopkeeper's `catalog import`: the bench's category tree and
/// `n` physical products numbered from 1, product `i` (`BENCH-i`) in category `i % 3`
/// (software, games, hardware), priced 10.00–99.99,
/// with a billion in stock so buying never runs out.
pub fn catalog_file(n: u64) -> Value {
    let categories = ["software", "games", "hardware"];
    let products: Vec<Value> = (1..=n)
        .map(|i| {
            let cents = 1000 + i % 9000;
            json!({
                "sku": format!("BENCH-{i}"),
                "name": format!("Bench product {i}"),
                "displayName": format!("Bench product {i}"),
                "shortDescription": "A product of the storefront benchmark.",
                "productType": "PHYSICAL",
                "currency": "USD",
                "listPrice": format!("{}.{:02}", cents / 100, cents % 100),
                "availableQuantity": 1_000_000_000u64,
                "categories": [categories[(i % 3) as usize]],
            })
        })
        .collect();
    json!({
        "categories": [
            {"name": "software", "displayName": "Software"},
            {"name": "games", "displayName": "Games", "parent": "software"},
            {"name": "hardware", "displayName": "Hardware"},
        ],
        "products": products,
    })
}

/// A PostgreSQL server the comparison makes its databases on.
struct Postgres {
    admin: AnyPool,
    /// The server's address and user (its URL's database is replaced per database).
    server: PgConnectOptions,
}

/// The URL of database `name` on the server `server` names.
fn database_url(server: &PgConnectOptions, name: &str) -> String {
    server.clone().database(name).to_url_lossy().to_string()
}

impl Postgres {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            url.starts_with("postgres://") || url.starts_with("postgresql://"),
            "--peer vendure needs --database postgres://… (a server both systems share)"
        );
        let server = PgConnectOptions::from_str(url)?;
        let admin = connect_any(&database_url(&server, "postgres")).await?;
        Ok(Self { admin, server })
    }

    /// A fresh, empty database `name`; its URL.
    async fn fresh(&self, name: &str) -> anyhow::Result<String> {
        sqlx::query(trusted(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&self.admin)
        .await?;
        sqlx::query(trusted(format!("CREATE DATABASE {name}")))
            .execute(&self.admin)
            .await?;
        Ok(database_url(&self.server, name))
    }

    async fn drop(&self, name: &str) {
        let _ = sqlx::query(trusted(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&self.admin)
        .await;
    }
}

/// Shopkeeper provisioned for the visit: a site, the generated catalog, a public key.
struct ShopkeeperTarget {
    server: Shopkeeper,
    scenario: Arc<ShopkeeperVisit>,
    engine: &'static str,
}

impl ShopkeeperTarget {
    async fn start(
        args: &Args,
        database: Option<&str>,
        engine: &'static str,
        w: Workload,
    ) -> anyhow::Result<Self> {
        let binary = crate::server::binary(args)?;
        let server = Shopkeeper::start_on(&binary, database, &format!("visit-{engine}")).await?;
        let site = server.cli(&["site", "create", "--id", "bench"], None)?;
        let payments_key = site["payments_public_key"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("site create printed no payments_public_key"))?
            .to_owned();
        let file = server.scratch().join("visit-catalog.json");
        std::fs::write(&file, catalog_file(w.products).to_string())?;
        let t0 = std::time::Instant::now();
        server.cli(
            &[
                "catalog",
                "import",
                file.to_str().unwrap(),
                "--site",
                "bench",
            ],
            None,
        )?;
        let import_s = t0.elapsed().as_secs_f64();
        let public = server.cli(
            &["client", "create", "--site", "bench", "--kind", "public"],
            None,
        )?;
        let auth = format!(
            "Basic {}",
            STANDARD.encode(format!(
                "{}:",
                public["api_key"].as_str().unwrap_or_default()
            ))
        );
        let db = connect_any(&server.database).await?;
        let row = sqlx::query(
            "SELECT MIN(id), MAX(id), COUNT(*) FROM products WHERE site_id = 'bench' AND sku LIKE 'BENCH-%'",
        )
        .fetch_one(&db)
        .await?;
        let (first, last, count): (i64, i64, i64) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        anyhow::ensure!(
            count as u64 == w.products && last - first + 1 == count,
            "the import gave {count} products with ids {first}..={last}, not {} in a row",
            w.products
        );
        let categories: Vec<i64> =
            sqlx::query("SELECT id FROM categories WHERE site_id = 'bench' ORDER BY id")
                .fetch_all(&db)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<_, _>>()?;
        let scenario = Arc::new(ShopkeeperVisit {
            auth,
            payments_key,
            first_product_id: first,
            categories,
            shipping_option_id: 1,
            catalog: Catalog {
                products: w.products,
            },
            tally: Tally::default(),
        });
        println!(
            "  shopkeeper ({engine}): {} products imported in {import_s:.1} s",
            w.products
        );
        let target = Self {
            server,
            scenario,
            engine,
        };
        if w.orders > 0 {
            target.seed_orders(&db, w.orders).await?;
        }
        db.close().await;
        Ok(target)
    }

    /// One visit through the API for a template order, then `n` copies of it (and of its
    /// lines) by SQL, each in a session of its own.
    async fn seed_orders(&self, db: &AnyPool, n: u64) -> anyhow::Result<()> {
        let visit = Arc::new(self.scenario.fresh());
        let one = load::run_count(
            self.server.addr,
            1,
            12,
            Default::default(),
            visit.clone(),
            |i| load::Worker {
                id: i,
                ..Default::default()
            },
        )
        .await;
        anyhow::ensure!(
            visit.tally.visits() == 1 && one.errors == 0,
            "the template visit failed ({} errors)",
            one.errors
        );
        let t0 = std::time::Instant::now();
        let template: i64 = sqlx::query("SELECT MAX(id) FROM orders")
            .fetch_one(db)
            .await?
            .try_get(0)?;
        let sqlite = self.engine == "sqlite";
        let columns = |table: &str| {
            if sqlite {
                format!("SELECT name FROM pragma_table_info('{table}')")
            } else {
                format!(
                    "SELECT column_name::text FROM information_schema.columns WHERE table_name = '{table}' AND table_schema = current_schema()"
                )
            }
        };
        let names = |rows: Vec<sqlx::any::AnyRow>| -> anyhow::Result<Vec<String>> {
            Ok(rows
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|c| c != "id")
                .collect())
        };
        let order_cols = names(
            sqlx::query(trusted(columns("orders")))
                .fetch_all(db)
                .await?,
        )?;
        let line_cols: Vec<String> = names(
            sqlx::query(trusted(columns("order_line_items")))
                .fetch_all(db)
                .await?,
        )?
        .into_iter()
        .filter(|c| c != "order_id")
        .collect();
        let select_orders: Vec<String> = order_cols
            .iter()
            .map(|c| match c.as_str() {
                "session_id" => "'seed-' || g.n".to_owned(),
                other => format!("o.{other}"),
            })
            .collect();
        let mut tx = db.begin().await?;
        sqlx::query(trusted(format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {n}) \
             INSERT INTO orders ({}) SELECT {} FROM orders o, g WHERE o.id = {template}",
            order_cols.join(", "),
            select_orders.join(", "),
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(trusted(format!(
            "INSERT INTO order_line_items (order_id, {cols}) \
             SELECT o.id, {tcols} FROM orders o JOIN order_line_items t ON t.order_id = {template} \
             WHERE o.id > {template}",
            cols = line_cols.join(", "),
            tcols = line_cols
                .iter()
                .map(|c| format!("t.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
        )))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if !sqlite {
            vacuum(db).await?;
        }
        println!(
            "  shopkeeper ({}): {n} orders seeded by SQL in {:.1} s",
            self.engine,
            t0.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// The Vendure visit for the seeded database: the seed's shipping method, payment method and
/// collections, and the variant ids (product `i`'s variant is `BENCH-i`, from 1, ids in a row).
async fn vendure_visit(seeded: &Value, url: &str, w: Workload) -> anyhow::Result<VendureVisit> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let shipping_method_id = text(&seeded["shippingMethodId"])
        .ok_or_else(|| anyhow::anyhow!("seed.js printed no shippingMethodId: {seeded}"))?;
    let payment_method = text(&seeded["paymentMethod"])
        .ok_or_else(|| anyhow::anyhow!("seed.js printed no paymentMethod: {seeded}"))?;
    let collections: Vec<String> = seeded["collections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| text(c).or_else(|| text(&c["slug"])))
        .collect();
    anyhow::ensure!(
        !collections.is_empty(),
        "seed.js printed no collections: {seeded}"
    );
    let db = connect_any(url).await?;
    let id_of = |sku: String| {
        let db = db.clone();
        async move {
            let row = sqlx::query("SELECT id FROM product_variant WHERE sku = $1")
                .bind(sku.clone())
                .fetch_one(&db)
                .await
                .map_err(|e| anyhow::anyhow!("vendure variant {sku}: {e}"))?;
            Ok::<i64, anyhow::Error>(
                row.try_get::<i32, _>(0)
                    .map(i64::from)
                    .or_else(|_| row.try_get::<i64, _>(0))?,
            )
        }
    };
    let first = id_of("BENCH-1".into()).await?;
    let last = id_of(format!("BENCH-{}", w.products)).await?;
    anyhow::ensure!(
        last - first + 1 == w.products as i64,
        "vendure's variants BENCH-1..BENCH-{} have ids {first}..={last}, not in a row",
        w.products
    );
    db.close().await;
    Ok(VendureVisit {
        shipping_method_id,
        payment_method,
        collections,
        first_variant_id: first,
        catalog: Catalog {
            products: w.products,
        },
        tally: Tally::default(),
    })
}

/// `VACUUM ANALYZE` of a freshly seeded PostgreSQL database: without it autovacuum walks the
/// million new rows during the first measured run (seen: one run at 65 % of the next).
async fn vacuum(db: &AnyPool) -> anyhow::Result<()> {
    sqlx::query("VACUUM ANALYZE").execute(db).await?;
    Ok(())
}

/// SQL the bench builds from its own names and the catalog's column names (no input).
fn trusted(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

async fn connect_any(url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    Ok(AnyPool::connect(url).await?)
}

/// What one measured run gave.
struct Run {
    system: String,
    report: Report,
    /// Visits completed with every step well answered, and visits with a failed step.
    visits: u64,
    failed: u64,
    /// Requests one visit takes on this system.
    requests_per_visit: usize,
    rss_mb: f64,
}

impl Run {
    /// Visits per second as the well-answered requests' rate over a visit's requests: the
    /// visits still under way when the run ends count for the part they did (at a second a
    /// request, a 15-s run ends with most of a slow system's visits under way).
    fn visits_per_second(&self) -> f64 {
        self.report.requests as f64 / self.requests_per_visit as f64 / self.report.seconds
    }
}

/// One run of `scenario` spread over `addrs` for `--seconds`.
async fn measure<V: Visit>(
    system: String,
    addrs: &[std::net::SocketAddr],
    scenario: V,
    args: &Args,
    rss_mb: impl Fn() -> f64,
) -> Run {
    let scenario = Arc::new(scenario);
    let report = load::run_spread(
        addrs,
        args.connections,
        Duration::from_secs(args.seconds),
        scenario.clone(),
        |i| load::Worker {
            id: i,
            ..Default::default()
        },
    )
    .await;
    Run {
        system,
        visits: scenario.tally().visits(),
        failed: scenario.tally().failed(),
        requests_per_visit: V::REQUESTS,
        rss_mb: rss_mb(),
        report,
    }
}

async fn measure_shopkeeper(t: &ShopkeeperTarget, args: &Args) -> Run {
    let system = format!("shopkeeper ({})", t.engine);
    measure(system, &[t.server.addr], t.scenario.fresh(), args, || {
        t.server.rss_mb()
    })
    .await
}

async fn measure_vendure(v: &Vendure, scenario: &VendureVisit, args: &Args) -> Run {
    let system = format!("vendure (postgres, {} servers)", v.addrs.len());
    measure(system, &v.addrs, scenario.fresh(), args, || v.rss_mb()).await
}

/// Runs every workload; prints and records each run, then the ratios.
pub async fn run(
    args: &Args,
    sizes: &[u64],
    orders: u64,
    results: &mut Results,
) -> anyhow::Result<Value> {
    let url = args
        .database
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--peer vendure needs --database postgres://…"))?;
    let pg = Postgres::connect(url).await?;
    let vendure_dir = Vendure::install()?;
    let mut summary = Vec::new();
    for w in workloads(sizes, orders) {
        println!(
            "visit: {w}; {} connections, {} s per run, {} rounds",
            args.connections, args.seconds, args.rounds
        );
        let sk_pg = ShopkeeperTarget::start(
            args,
            Some(&pg.fresh("shopkeeper_bench_visit").await?),
            "postgres",
            w,
        )
        .await?;
        let sk_sqlite = ShopkeeperTarget::start(args, None, "sqlite", w).await?;
        let vendure_url = pg.fresh("vendure_bench_visit").await?;
        let seeded = Vendure::seed(&vendure_dir, &vendure_url, w.products, w.orders)?;
        if w.orders > 0 {
            let db = connect_any(&vendure_url).await?;
            vacuum(&db).await?;
            db.close().await;
        }
        println!("  vendure: seeded {seeded}");
        // With fewer connections than requests in flight Vendure deadlocks: every pooled
        // connection is held by a transaction waiting for a second one (seen at 20 for 64).
        let servers = args.vendure_servers.max(1);
        let vendure = Vendure::start(
            &vendure_dir,
            &vendure_url,
            servers,
            (VENDURE_POOL_PER_CONNECTION * args.connections).div_ceil(servers),
        )
        .await?;
        let vendure_visit = vendure_visit(&seeded, &vendure_url, w).await?;
        // The seeding's dirty pages written now, not by a spread checkpoint during the first
        // runs (seen: the first run after a million orders at 65 % of the second).
        if let Err(e) = sqlx::query("CHECKPOINT").execute(&pg.admin).await {
            println!("  (no CHECKPOINT after seeding: {e})");
        }

        // A warm-up of each, not recorded (Node's JIT, both systems' caches and pools).
        let warm = Args {
            seconds: WARM_UP_SECONDS,
            ..args.clone()
        };
        measure_shopkeeper(&sk_pg, &warm).await;
        measure_vendure(&vendure, &vendure_visit, &warm).await;
        measure_shopkeeper(&sk_sqlite, &warm).await;
        let mut runs: Vec<Run> = Vec::new();
        for _ in 0..args.rounds {
            runs.push(measure_shopkeeper(&sk_pg, args).await);
            runs.push(measure_vendure(&vendure, &vendure_visit, args).await);
            runs.push(measure_shopkeeper(&sk_sqlite, args).await);
        }
        for r in &runs {
            record(results, &w, r);
        }
        let mean = |system: &str| {
            let v: Vec<f64> = runs
                .iter()
                .filter(|r| r.system.starts_with(system))
                .map(Run::visits_per_second)
                .collect();
            v.iter().sum::<f64>() / v.len().max(1) as f64
        };
        let (sk, ve, sq) = (
            mean("shopkeeper (postgres)"),
            mean("vendure (postgres"),
            mean("shopkeeper (sqlite)"),
        );
        println!(
            "  {w}: visits/s shopkeeper (postgres) {sk:.1}, vendure {ve:.1}, shopkeeper (sqlite) {sq:.1}; ratio shopkeeper (postgres) / vendure = {:.1}",
            sk / ve.max(0.001)
        );
        let steps = step_table(&runs);
        summary.push(json!({
            "products": w.products,
            "orders": w.orders,
            "visits_per_second": {"shopkeeper_postgres": sk, "vendure_postgres": ve, "shopkeeper_sqlite": sq},
            "ratio_postgres": sk / ve.max(0.001),
            "steps": steps,
            "vendure_seed": seeded,
        }));
        drop(vendure);
        drop(sk_pg);
        drop(sk_sqlite);
        pg.drop("vendure_bench_visit").await;
        pg.drop("shopkeeper_bench_visit").await;
    }
    Ok(Value::Array(summary))
}

/// Each step's latencies over all rounds of each system (p50 / p99 in ms), printed as a table;
/// `lower_p99` says whether Shopkeeper on PostgreSQL has the lower p99 on that step.
fn step_table(runs: &[Run]) -> Vec<Value> {
    let systems = [
        "shopkeeper (postgres)",
        "vendure (postgres",
        "shopkeeper (sqlite)",
    ];
    let merged = |system: &str, step: usize| {
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap();
        for r in runs.iter().filter(|r| r.system.starts_with(system)) {
            let _ = h.add(&r.report.steps[step].0);
        }
        h
    };
    println!(
        "    {:<16} {:>22} {:>22} {:>22}",
        "step (p50 / p99 ms)", "shopkeeper postgres", "vendure postgres", "shopkeeper sqlite"
    );
    let mut out = Vec::new();
    for (i, step) in visit::STEPS.iter().enumerate() {
        let h: Vec<_> = systems.iter().map(|s| merged(s, i)).collect();
        let cell = |h: &hdrhistogram::Histogram<u64>| {
            if h.is_empty() {
                "-".to_owned()
            } else {
                format!("{:.1} / {:.1}", quantile_ms(h, 0.5), quantile_ms(h, 0.99))
            }
        };
        println!(
            "    {step:<16} {:>22} {:>22} {:>22}",
            cell(&h[0]),
            cell(&h[1]),
            cell(&h[2])
        );
        let q =
            |h: &hdrhistogram::Histogram<u64>, q: f64| (!h.is_empty()).then(|| quantile_ms(h, q));
        out.push(json!({
            "step": step,
            "shopkeeper_postgres": {"p50_ms": q(&h[0], 0.5), "p99_ms": q(&h[0], 0.99)},
            "vendure_postgres": {"p50_ms": q(&h[1], 0.5), "p99_ms": q(&h[1], 0.99)},
            "shopkeeper_sqlite": {"p50_ms": q(&h[2], 0.5), "p99_ms": q(&h[2], 0.99)},
            "lower_p99": h[1].is_empty() || (!h[0].is_empty() && quantile_ms(&h[0], 0.99) < quantile_ms(&h[1], 0.99)),
        }));
    }
    out
}

fn record(results: &mut Results, w: &Workload, r: &Run) {
    let name = format!("visit {} [{w}]", r.system);
    let steps: Vec<Value> = visit::STEPS
        .iter()
        .zip(&r.report.steps)
        .filter(|(_, (h, e))| !h.is_empty() || *e > 0)
        .map(|(name, (h, e))| {
            json!({"step": name, "p50_ms": quantile_ms(h, 0.5), "p99_ms": quantile_ms(h, 0.99), "requests": h.len(), "errors": e})
        })
        .collect();
    results.record(
        &name,
        &r.report,
        r.rss_mb,
        json!({
            "system": r.system,
            "products": w.products,
            "orders": w.orders,
            "visits": r.visits,
            "failed_visits": r.failed,
            "visits_per_second": r.visits_per_second(),
            "requests_per_visit": r.requests_per_visit,
            "steps": steps,
        }),
    );
    println!(
        "    {:<30} {:>8.1} visits/s  ({} completed, {} with a failed step)",
        r.system,
        r.visits_per_second(),
        r.visits,
        r.failed
    );
    for s in &steps {
        println!(
            "      {:<16} p50 {:>8.2} ms  p99 {:>8.2} ms  errors {}",
            s["step"].as_str().unwrap_or_default(),
            s["p50_ms"].as_f64().unwrap_or_default(),
            s["p99_ms"].as_f64().unwrap_or_default(),
            s["errors"]
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_keeps_the_server_and_its_user_and_names_the_database() {
        let server =
            PgConnectOptions::from_str("postgres://bench@127.0.0.1:55434/postgres").unwrap();
        let url = database_url(&server, "vendure_bench_visit");
        let back = PgConnectOptions::from_str(&url).unwrap();
        assert_eq!(back.get_host(), "127.0.0.1");
        assert_eq!(back.get_port(), 55434);
        assert_eq!(back.get_username(), "bench");
        assert_eq!(back.get_database(), Some("vendure_bench_visit"));
    }

    #[test]
    fn workloads_are_each_size_then_the_smallest_with_the_orders() {
        let w = workloads(&[1_000, 10_000, 100_000], 1_000_000);
        let got: Vec<(u64, u64)> = w.iter().map(|w| (w.products, w.orders)).collect();
        assert_eq!(
            got,
            vec![(1_000, 0), (10_000, 0), (100_000, 0), (1_000, 1_000_000)]
        );
        assert_eq!(workloads(&[500], 0).len(), 1);
    }

    #[test]
    fn the_catalog_spreads_products_over_the_three_categories_with_exact_prices() {
        let c = catalog_file(4);
        let p = c["products"].as_array().unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p[0]["sku"], "BENCH-1");
        assert_eq!(p[0]["categories"][0], "games");
        assert_eq!(p[1]["categories"][0], "hardware");
        assert_eq!(p[2]["categories"][0], "software");
        assert_eq!(p[3]["categories"][0], "games");
        assert_eq!(p[0]["listPrice"], "10.01");
        assert_eq!(p[1]["listPrice"], "10.02");
        assert_eq!(catalog_file(9_000)["products"][8_999]["listPrice"], "10.00");
    }
}
