//! PostgreSQL stops for a few seconds under light load. Runs on a private cluster started by
//! the test itself (never the shared one other tests use); needs `SHOPKEEPER_TEST_PG_BINDIR`
//! (the directory of `initdb`/`pg_ctl`, set by `.ci/run`) and root, to run them as `postgres`.

use crate::helpers::*;
use shopkeeper::config::DatabaseSettings;
use shopkeeper::domain::TokenValue;
use shopkeeper::startup::Application;
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BINDIR_VAR: &str = "SHOPKEEPER_TEST_PG_BINDIR";

/// A throwaway PostgreSQL cluster in a temp dir, stopped (immediately) when dropped.
struct PrivateCluster {
    bindir: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

fn as_postgres(bin: &Path, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .arg(bin)
        .args(args)
        .output()
        .expect("runuser");
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PrivateCluster {
    fn init(bindir: PathBuf) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("shopkeeper-outage-")
            .tempdir()
            .unwrap();
        let status = Command::new("chown")
            .args(["postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "chown the cluster dir to postgres");
        let data = dir.path().join("data");
        as_postgres(
            &bindir.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            bindir,
            data,
            port,
            _dir: dir,
        };
        cluster.start();
        cluster
    }

    fn pg_ctl(&self, args: &[&str]) {
        let mut all = vec!["-D", self.data.to_str().unwrap()];
        all.extend(args);
        as_postgres(&self.bindir.join("pg_ctl"), &all);
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self._dir.path().display()
        );
        let log = self._dir.path().join("pg.log");
        self.pg_ctl(&["-o", &options, "-l", log.to_str().unwrap(), "-w", "start"]);
    }

    /// Fast shutdown: open sessions are terminated, as in a crash-restart or failover.
    fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bindir.join("pg_ctl"))
            .args(["-D", self.data.to_str().unwrap(), "-m", "immediate", "stop"])
            .output();
    }
}

#[derive(Default)]
struct Observed {
    /// Access tokens answered with 200 by the token endpoint: acknowledged writes.
    acknowledged: Vec<String>,
    statuses: Vec<u16>,
    unavailable_bodies_ok: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brief_postgres_outage_answers_503_then_recovers_without_losing_acknowledged_tokens() {
    let Some(bindir) = std::env::var_os(BINDIR_VAR) else {
        skip(&format!(
            "outage test: set {BINDIR_VAR} to PostgreSQL's bin dir (.ci/run does)"
        ));
        return;
    };
    let cluster = PrivateCluster::init(PathBuf::from(bindir));
    let db = fresh_postgres_database(&cluster.url()).await;

    let mut settings = test_settings();
    settings.tokens.revocation_heartbeat_ms = 200;
    let mut database = DatabaseSettings::new(db.clone());
    database.pool_size = 4;
    // Short, so the outage answers 503 quickly; not so short that opening the pool of a
    // fresh cluster on a busy 2-core CI host times out before the test starts.
    database.acquire_timeout_ms = 1500;
    database.statement_timeout_ms = 2000;
    let (app, _) = Application::build(&settings, &database).await.unwrap();
    let address = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let server = tokio::spawn(app.run_until_stopped());
    shopkeeper::provision::create_site(&state.store, SITE, Some(SITE_TTL), state.clock.now())
        .await
        .unwrap();
    let client = shopkeeper::provision::create_client(
        &state.store,
        SITE,
        shopkeeper::domain::ClientKind::Public,
        &[],
        state.clock.now(),
    )
    .await
    .unwrap();

    // Light load: two workers issuing a token and checking it, in a loop. A hang fails the
    // test through the client timeout, long before any test runner would notice.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let observed = Arc::new(Mutex::new(Observed {
        unavailable_bodies_ok: true,
        ..Default::default()
    }));
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (http, stop, observed) = (http.clone(), stop.clone(), observed.clone());
        let (address, api_key) = (address.clone(), client.api_key.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = http
                    .post(format!("{address}/oauth20/token"))
                    .basic_auth(&api_key, None::<&str>)
                    .form(&[("grant_type", "password")])
                    .send()
                    .await
                    .expect("the node answers (no hang, no crash)");
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                let mut token = None;
                {
                    let mut o = observed.lock().unwrap();
                    o.statuses.push(status);
                    if status == 200 {
                        let access = body["access_token"].as_str().unwrap().to_owned();
                        o.acknowledged.push(access.clone());
                        token = Some(access);
                    } else if body["error"] != "temporarily_unavailable" {
                        o.unavailable_bodies_ok = false;
                    }
                }
                if let Some(token) = token {
                    let r = http
                        .get(format!("{address}/oauth20/access-tokens"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .expect("the node answers (no hang, no crash)");
                    observed.lock().unwrap().statuses.push(r.status().as_u16());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(700)).await;
    let before = observed.lock().unwrap().acknowledged.len();
    assert!(before > 0, "serves before the outage");

    tokio::task::block_in_place(|| cluster.stop());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = observed.lock().unwrap().statuses.len();
    tokio::task::block_in_place(|| cluster.start());

    // Recovers by itself: new tokens are acknowledged again.
    let deadline = Instant::now() + Duration::from_secs(30);
    let after_restart = observed.lock().unwrap().acknowledged.len();
    while observed.lock().unwrap().acknowledged.len() < after_restart + 5 {
        assert!(
            Instant::now() < deadline,
            "did not recover after the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.expect("worker saw an answer to every request");
    }
    assert!(!server.is_finished(), "the server is still running");

    let observed = std::mem::take(&mut *observed.lock().unwrap());
    let unavailable = observed.statuses.iter().filter(|s| **s == 503).count();
    assert!(unavailable > 0, "requests during the outage answered 503");
    assert!(
        during > before,
        "requests kept being answered during the outage"
    );
    assert!(
        observed.statuses.iter().all(|s| *s == 200 || *s == 503),
        "only 200 or 503, never 500: {:?}",
        observed.statuses
    );
    assert!(
        observed.unavailable_bodies_ok,
        "503s say temporarily_unavailable"
    );

    // No acknowledged write lost: every token answered with 200 is in the database, and the
    // node (whose cache was emptied when its listener dropped) still accepts it.
    let mut conn = sqlx::postgres::PgConnection::connect(&db).await.unwrap();
    for token in &observed.acknowledged {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM access_tokens WHERE token_hash = $1")
                .bind(
                    TokenValue::parse(token)
                        .expect("a token we issued")
                        .hash()
                        .as_bytes(),
                )
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(n, 1, "an acknowledged token was lost");
        let r = http
            .get(format!("{address}/oauth20/access-tokens"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}
