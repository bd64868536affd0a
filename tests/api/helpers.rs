#![allow(dead_code)] // shared by test files; not every file uses every helper
use reqwest::{Client, Response};
use serde_json::Value;
use shopkeeper::config::{
    DatabaseSettings, HashingSettings, LogFormat, OperationsSettings, SecuritySettings,
    ServeSettings, TokenSettings, WebSettings,
};
use shopkeeper::domain::ClientKind;
use shopkeeper::provision;
use shopkeeper::startup::Application;
use shopkeeper::state::AppState;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Weak};

pub const SITE: &str = "testsite";
pub const SHOPPER_USERNAME: &str = "jane@example.com";
pub const SHOPPER_PASSWORD: &str = "correct horse battery";
pub const EXTERNAL_REFERENCE: &str = "crm-42";
/// The test shopper's password grant, as a form.
pub const SHOPPER_GRANT: [(&str, &str); 3] = [
    ("grant_type", "password"),
    ("username", SHOPPER_USERNAME),
    ("password", SHOPPER_PASSWORD),
];
pub const SITE_TTL: i64 = 86397;

/// The test site's id, as the store takes it.
pub fn site_id() -> shopkeeper::domain::SiteId {
    shopkeeper::domain::SiteId::parse(SITE).unwrap()
}

pub struct TestApp {
    pub address: String,
    pub http: Client,
    pub state: AppState,
    /// The SQLite file (only meaningful when `database_url` starts with `sqlite:`).
    pub db_path: PathBuf,
    /// The database this app runs on: a scratch SQLite file, or a fresh PostgreSQL database
    /// when `SHOPKEEPER_TEST_ENGINE=postgres`.
    pub database_url: String,
    pub public_key: String,
    pub confidential_key: String,
    pub confidential_secret: String,
    pub shopper_id: i64,
    pub external_shopper_id: i64,
    /// Every secret the test handed out or received, for the at-rest scan.
    _dir: tempfile::TempDir,
}

/// Set (by `.ci/run`) to an administrative PostgreSQL URL ending in `/DBNAME`: where the
/// PostgreSQL-only tests (several nodes, outages) run, and where the whole suite runs when
/// `SHOPKEEPER_TEST_ENGINE=postgres`.
pub const POSTGRES_URL_VAR: &str = "SHOPKEEPER_TEST_POSTGRES_URL";

/// `postgres` runs every app of the suite on PostgreSQL (each on its own fresh database);
/// anything else, or unset, on a scratch SQLite file.
pub const ENGINE_VAR: &str = "SHOPKEEPER_TEST_ENGINE";

pub fn suite_on_postgres() -> bool {
    std::env::var(ENGINE_VAR).is_ok_and(|e| e == "postgres")
}

/// For tests that touch no storage: true in the PostgreSQL pass, which would only repeat what
/// the first pass (SQLite) already ran unchanged, so they return at once there.
pub fn storage_free_test_ran_in_first_pass() -> bool {
    suite_on_postgres()
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|u| !u.is_empty())
}

/// The admin URL, or a visible SKIP line for tests that only make sense on PostgreSQL.
pub fn postgres_or_skip(test: &str) -> Option<String> {
    let url = postgres_admin_url();
    if url.is_none() {
        skip(&format!(
            "{test}: set {POSTGRES_URL_VAR} to run it (.ci/run does)"
        ));
    }
    url
}

/// A fresh PostgreSQL database for a PostgreSQL-only test, or None after a SKIP line.
pub async fn postgres_database_or_skip(test: &str) -> Option<String> {
    Some(fresh_postgres_database(&postgres_or_skip(test)?).await)
}

/// Everything the app's database holds, as bytes to scan for secrets: the SQLite file and its
/// WAL, or on PostgreSQL every row of every table rendered as JSON (bytea as hex).
pub async fn database_image(app: &TestApp) -> Vec<u8> {
    if !app.database_url.starts_with("postgres") {
        let mut image = Vec::new();
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{}{suffix}", app.db_path.display())) {
                image.extend(bytes);
            }
        }
        return image;
    }
    use sqlx::Connection;
    let mut conn = sqlx::postgres::PgConnection::connect(&app.database_url)
        .await
        .unwrap();
    let tables: Vec<(String,)> = sqlx::query_as(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut image = Vec::new();
    for (table,) in tables {
        // Table names come from the catalog, not from input.
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT row_to_json(t)::text FROM \"{table}\" t"
        )))
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for (row,) in rows {
            image.extend(row.into_bytes());
        }
    }
    image
}

/// A connection to the app's database with migration `version` undone, the one that added the
/// unique index `index`: a database from before it, for what the migration must cope with.
pub async fn database_before_index(
    app: &TestApp,
    index: &str,
    version: i64,
) -> sqlx::AnyConnection {
    use sqlx::Connection;
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    // Both are our own constants, not input.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX {index}")))
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM _sqlx_migrations WHERE version = {version}"
    )))
    .execute(&mut db)
    .await
    .unwrap();
    db
}

/// Prints a SKIP line that the test harness does not capture (it only captures `print!`).
pub fn skip(why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP {why}");
}

/// A new database on the suite's engine: a fresh PostgreSQL database, or the SQLite file
/// `sqlite_path` (not created yet).
pub async fn suite_database(sqlite_path: &std::path::Path) -> String {
    if suite_on_postgres() {
        let admin = postgres_admin_url()
            .unwrap_or_else(|| panic!("{ENGINE_VAR}=postgres needs {POSTGRES_URL_VAR}"));
        fresh_postgres_database(&admin).await
    } else {
        format!("sqlite://{}", sqlite_path.display())
    }
}

/// A loopback port nothing listens on now, for a process the test starts itself.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real binary (`serve`, demo data, a scratch SQLite file, JSON log lines), for tests that
/// read what it logs: logging is process-wide, so an in-process app cannot show it.
pub struct LoggingBinary {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// The demo credentials the binary printed on stdout (`{"demo": …}`).
    pub demo: Value,
    logs: std::thread::JoinHandle<String>,
    _dir: tempfile::TempDir,
}

impl LoggingBinary {
    /// Starts the binary at `SHOPKEEPER_LOG=level` (unset: the default level), reads the demo
    /// credentials and waits until it answers.
    pub async fn start(level: Option<&str>) -> Self {
        use std::io::{BufRead, Read};
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_shopkeeper"));
        command
            .args([
                "--database",
                &format!("sqlite://{}", dir.path().join("db.sqlite").display()),
            ])
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--log-format",
                "json",
            ])
            .args(["--argon2-memory-kib", "1024", "--argon2-iterations", "1"]);
        match level {
            Some(level) => command.env("SHOPKEEPER_LOG", level),
            None => command.env_remove("SHOPKEEPER_LOG"),
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let stderr = child.stderr.take().unwrap();
        let logs = std::thread::spawn(move || {
            let mut s = String::new();
            std::io::BufReader::new(stderr)
                .read_to_string(&mut s)
                .unwrap();
            s
        });
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let demo: Value = serde_json::from_str(&line).expect("demo JSON on stdout");
        let http = Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Self {
            child,
            base,
            demo,
            logs,
            _dir: dir,
        }
    }

    /// `demo` at the JSON pointer `pointer`, as a string.
    pub fn demo_str(&self, pointer: &str) -> String {
        self.demo
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no {pointer} in {}", self.demo))
            .to_owned()
    }

    /// SIGTERM, a graceful stop (asserted), then everything it logged.
    pub fn stop(mut self) -> String {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "shopkeeper exited with {exit}");
        self.logs.join().unwrap()
    }
}

/// Headless Chromium through the chromedriver at `webdriver`, its profile in `profile`, its
/// window `window_size` (`W,H`), with `extra_args`; `SHOPKEEPER_TEST_CHROMIUM` names the binary
/// if set.
pub async fn headless_chromium(
    webdriver: &str,
    profile: &std::path::Path,
    window_size: &str,
    extra_args: &[String],
) -> fantoccini::Client {
    let mut args = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--no-first-run".to_owned(),
        format!("--window-size={window_size}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    args.extend_from_slice(extra_args);
    let mut options = serde_json::json!({ "args": args });
    if let Ok(binary) = std::env::var("SHOPKEEPER_TEST_CHROMIUM") {
        options["binary"] = Value::String(binary);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let mut attempt = 0;
    // chromedriver needs a moment to listen after it starts.
    loop {
        match fantoccini::ClientBuilder::new(
            hyper_util::client::legacy::connect::HttpConnector::new(),
        )
        .capabilities(caps.clone())
        .connect(webdriver)
        .await
        {
            Ok(c) => break c,
            Err(_) if attempt < 50 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot reach chromedriver: {e}"),
        }
    }
}

/// Creates an empty database `t_<random>` on the server of `admin_url`; returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name = format!("t_{}", shopkeeper::domain::secret::random_hex(8));
    let mut admin = sqlx::postgres::PgConnection::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach {POSTGRES_URL_VAR}: {e}"));
    // CREATE DATABASE takes no bind parameters; the name is ours, hex only.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.ok();
    let base = admin_url.split('?').next().unwrap();
    let (server, _) = base.rsplit_once('/').expect("URL ends in /DBNAME");
    format!("{server}/{name}")
}

/// Settings for tests: random port, a scratch SQLite file, cheap Argon2 (the cost is a
/// setting; production keeps the default), short durations where a test needs them.
pub fn test_settings() -> ServeSettings {
    ServeSettings {
        listen: "127.0.0.1:0".parse().unwrap(),
        no_demo: true,
        log_format: LogFormat::Pretty,
        tokens: TokenSettings::default(),
        hashing: HashingSettings {
            hashing_threads: Some(1),
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
        },
        web: WebSettings::default(),
        operations: OperationsSettings::default(),
        // The per-key API quota off: a test sends its requests back to back on one key (the
        // documented examples' run passes 100 a second); `defenses.rs` sets one to test it.
        security: SecuritySettings {
            api_rate_per_key: 0,
            ..SecuritySettings::default()
        },
        // Tests move the clock (`TestApp::advance_clock`) instead of sleeping.
        test_clock: true,
    }
}

/// Throttles an account after `failures` free failed sign-ins, the wait growing by `step`
/// seconds up to `max_wait`.
pub fn throttle_accounts(settings: &mut ServeSettings, failures: u32, step: u64, max_wait: u64) {
    settings.security.throttle_user_failures = failures;
    settings.security.throttle_step_seconds = step;
    settings.security.throttle_max_wait_seconds = max_wait;
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut ServeSettings)) -> TestApp {
    let mut settings = test_settings();
    configure(&mut settings);
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("shopkeeper.db");
    let url = suite_database(&db_path).await;
    let mut database = DatabaseSettings::new(url);
    database.pool_size = 4;
    let (app, _) = Application::build(&settings, &database).await.unwrap();
    let address = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());

    let store = &state.store;
    let now = state.clock.now();
    provision::create_site(store, SITE, Some(SITE_TTL), now)
        .await
        .unwrap();
    let public = provision::create_client(
        store,
        SITE,
        ClientKind::Public,
        &["https://shop.example.com/callback".to_owned()],
        now,
    )
    .await
    .unwrap();
    let confidential = provision::create_client(store, SITE, ClientKind::Confidential, &[], now)
        .await
        .unwrap();
    let shopper = provision::create_shopper(
        store,
        &state.hasher,
        SITE,
        SHOPPER_USERNAME,
        SHOPPER_PASSWORD,
        Some(SHOPPER_USERNAME),
        now,
    )
    .await
    .unwrap();
    let external = provision::create_external_shopper(store, SITE, EXTERNAL_REFERENCE, None, now)
        .await
        .unwrap();

    TestApp {
        address,
        http: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state,
        db_path,
        database_url: database.url.clone(),
        public_key: public.api_key,
        confidential_key: confidential.api_key,
        confidential_secret: confidential.secret.unwrap(),
        shopper_id: shopper.id,
        external_shopper_id: external.id,
        _dir: dir,
    }
}

impl TestApp {
    /// The public key, as the store takes it.
    pub fn public_api_key(&self) -> shopkeeper::domain::ApiKey {
        shopkeeper::domain::ApiKey::parse(&self.public_key).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The server's clock (seconds), for what a test writes to the store directly.
    pub fn now(&self) -> i64 {
        self.state.clock.now()
    }

    /// Moves the server's clock forward (every node's on its database), instead of sleeping.
    pub async fn advance_clock(&self, seconds: u64) {
        advance_clock_of(&self.http, &self.address, seconds).await;
    }

    /// POST /oauth20/token with a form body and the public key in Basic auth.
    pub async fn public_token(&self, form: &[(&str, &str)]) -> Response {
        self.public_token_request(form).send().await.unwrap()
    }

    /// The password grant of `username` and `password` through the public key.
    pub async fn password_grant(&self, username: &str, password: &str) -> Response {
        self.public_token(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .await
    }

    /// POST /oauth20/token with `form` and Basic auth of any key (and its secret, if given).
    pub async fn token_with(
        &self,
        key: &str,
        secret: Option<&str>,
        form: &[(&str, &str)],
    ) -> Response {
        self.http
            .post(self.url("/oauth20/token"))
            .basic_auth(key, secret)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The request `public_token` sends, unsent: for requests sent concurrently.
    pub fn public_token_request<F: serde::Serialize + ?Sized>(
        &self,
        form: &F,
    ) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/oauth20/token"))
            .basic_auth(&self.public_key, None::<&str>)
            .form(form)
    }

    /// POST /oauth20/token with a form body and the confidential key + secret.
    pub async fn confidential_token(&self, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url("/oauth20/token"))
            .basic_auth(&self.confidential_key, Some(&self.confidential_secret))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// An anonymous (limited) token pair for the public key.
    pub async fn anonymous_pair(&self) -> TokenPair {
        TokenPair::from(ok_json(self.public_token(&[("grant_type", "password")]).await).await)
    }

    /// A full token pair for the test shopper, via the password grant.
    pub async fn shopper_pair(&self) -> TokenPair {
        TokenPair::from(
            ok_json(
                self.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD)
                    .await,
            )
            .await,
        )
    }

    /// The test shopper signs in on an existing session, named by `link` (`dr_limited_token`
    /// or `dr_session_token`) = `token`: a full pair in that session.
    pub async fn shopper_pair_linked(&self, link: &str, token: &str) -> TokenPair {
        let mut form = SHOPPER_GRANT.to_vec();
        form.push((link, token));
        TokenPair::from(ok_json(self.public_token(&form).await).await)
    }

    /// A full token pair for the external shopper (`client_credentials` with its reference).
    pub async fn external_shopper_pair(&self) -> TokenPair {
        TokenPair::from(
            ok_json(
                self.confidential_token(&[
                    ("grant_type", "client_credentials"),
                    ("dr_external_reference_id", EXTERNAL_REFERENCE),
                ])
                .await,
            )
            .await,
        )
    }

    /// A further site (session TTL `ttl`) with a public key and no redirect URIs: the key.
    pub async fn site_with_public_key(&self, site: &str, ttl: Option<i64>) -> String {
        let store = &self.state.store;
        provision::create_site(store, site, ttl, self.now())
            .await
            .unwrap();
        provision::create_client(store, site, ClientKind::Public, &[], self.now())
            .await
            .unwrap()
            .api_key
    }

    /// `GET /oauth20/access-tokens` for `access`, asserted 200: what it says of the session.
    pub async fn session_of(&self, access: &str) -> Value {
        ok_json(self.access_tokens(access).await).await
    }

    /// `GET /v1/shoppers/me` for `access`, asserted 200.
    pub async fn me(&self, access: &str) -> Value {
        self.get_ok(access, "/v1/shoppers/me").await
    }

    /// The Prometheus text of `GET /metrics`.
    pub async fn metrics_text(&self) -> String {
        let response = self.http.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// `GET path` without credentials.
    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// `GET path` as the bearer of `token`.
    pub async fn get_as(&self, token: &str, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// `GET path` as the bearer of `token`, asserted 200: the JSON body.
    pub async fn get_ok(&self, token: &str, path: &str) -> Value {
        ok_json(self.get_as(token, path).await).await
    }

    pub async fn access_tokens(&self, token: &str) -> Response {
        self.get_as(token, "/oauth20/access-tokens").await
    }

    /// `DELETE /oauth20/access-tokens`: ends the bearer's session.
    pub async fn end_session(&self, token: &str) -> Response {
        self.http
            .delete(self.url("/oauth20/access-tokens"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Over a raw connection, POSTs a form to `path` that announces 100 bytes but sends only
    /// `start`, and returns the server's first answer, which must come within eight seconds.
    pub async fn answer_to_stalled_body(&self, path: &str, start: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let authority = self.address.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n{start}"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(8), async {
            let mut buf = vec![0u8; 4096];
            let n = stream.read(&mut buf).await.unwrap_or(0);
            String::from_utf8_lossy(&buf[..n]).into_owned()
        })
        .await
        .expect("the server answered a stalled body")
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.public_token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .await
    }
}

/// `POST /__test/clock` on the server at `address` (started with `--test-clock`): moves the
/// clock of every node on its database `seconds` forward; returns the answer.
pub async fn advance_clock_of(http: &Client, address: &str, seconds: u64) -> Value {
    ok_json(
        http.post(format!("{address}/__test/clock"))
            .json(&serde_json::json!({ "advanceSeconds": seconds }))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The value of the sample of `name` whose labels include all of `labels`.
pub fn metric_sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
    pub expires_in: i64,
}

impl From<Value> for TokenPair {
    fn from(v: Value) -> Self {
        assert_eq!(v["token_type"], "bearer", "{v}");
        Self {
            access: v["access_token"].as_str().unwrap().to_owned(),
            refresh: v["refresh_token"].as_str().unwrap().to_owned(),
            expires_in: v["expires_in"].as_i64().unwrap(),
        }
    }
}

/// Sends `request` and returns its JSON body, whatever the status.
pub async fn send_json(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// Sends `request` and returns its body as text, whatever the status.
pub async fn send_text(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// A client that keeps cookies and does not follow redirects, as a browser seen from a test.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The S256 PKCE challenge of `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

/// Of submits racing for the last unit, how many placed an order: every other answer must be
/// a 409 `inventory-unavailable`.
pub fn orders_placed_for_the_last_unit(answers: impl IntoIterator<Item = (u16, Value)>) -> usize {
    let mut orders = 0;
    for (status, body) in answers {
        match status {
            200 => orders += 1,
            409 => assert_eq!(
                body["errors"]["error"][0]["code"], "inventory-unavailable-error",
                "{body}"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    orders
}

/// Asserts a 200 and returns the JSON body.
pub async fn ok_json(response: Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "unexpected status, body: {body}");
    body
}

/// Asserts the status and the flat OAuth error code; returns the body.
pub async fn assert_oauth_error(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    body
}

/// The quick start's approving test card, and a declining one (README: test cards).
pub const APPROVE_CARD: &str = "4718491477220129";
pub const DECLINE_CARD: &str = "4000000000000002";

/// Checkout over HTTP, as a storefront does it.
impl TestApp {
    pub async fn payments_key(&self) -> String {
        self.state
            .store
            .site(&site_id())
            .await
            .unwrap()
            .unwrap()
            .payments_public_key
            .unwrap()
    }

    /// `POST /payments/sources` with the site's payments key; returns the response.
    pub async fn create_source_with(&self, bearer: &str, card: &str, reusable: bool) -> Response {
        self.http
            .post(self.url("/payments/sources"))
            .bearer_auth(bearer)
            .json(&serde_json::json!({
                "type": "creditCard",
                "currency": "USD",
                "amount": 4.84,
                "reusable": reusable,
                "owner": {
                    "firstName": "Digital", "lastName": "River",
                    "email": "test@digitalriver.com",
                    "address": {"line1": "10380 Bren Road West", "city": "Minnetonka",
                                "state": "MN", "country": "US", "postalCode": "55343"}
                },
                "creditCard": {"number": card, "expirationMonth": 7, "expirationYear": 2040,
                               "cvv": "415"}
            }))
            .send()
            .await
            .unwrap()
    }

    /// A new source's id (201 asserted).
    pub async fn create_source(&self, card: &str, reusable: bool) -> String {
        let key = self.payments_key().await;
        let response = self.create_source_with(&key, card, reusable).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// New store credit worth `amount` (a decimal string), created as a merchant's backend
    /// does, with the confidential key's secret: its id (201 asserted).
    pub async fn create_store_credit(&self, amount: &str) -> String {
        let response = self
            .http
            .post(self.url("/payments/sources"))
            .bearer_auth(&self.confidential_secret)
            .json(
                &serde_json::json!({"type": "customerCredit", "amount": amount,
                                      "customerCredit": {}}),
            )
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// `POST /v1/shoppers/me/carts/active?productId=&quantity=` → the response.
    pub async fn add_to_cart(&self, token: &str, product_id: i64, quantity: i64) -> Response {
        self.http
            .post(self.url("/v1/shoppers/me/carts/active"))
            .bearer_auth(token)
            .query(&[
                ("productId", product_id.to_string()),
                ("quantity", quantity.to_string()),
                ("testOrder", "true".into()),
            ])
            .send()
            .await
            .unwrap()
    }

    pub async fn apply_source(&self, token: &str, source_id: &str) -> Response {
        self.http
            .post(self.url("/v1/shoppers/me/carts/active/apply-payment-method"))
            .bearer_auth(token)
            .json(&serde_json::json!({"paymentMethod": {"sourceId": source_id}}))
            .send()
            .await
            .unwrap()
    }

    pub async fn submit(&self, token: &str) -> Response {
        self.http
            .post(self.url("/v1/shoppers/me/carts/active/submit-cart"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Submits the active cart of every token at once, each over a connection of its own:
    /// each answer's status and JSON body, in the order of `tokens`.
    pub async fn submit_together(&self, tokens: Vec<String>) -> Vec<(u16, Value)> {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(tokens.len()));
        let mut tasks = Vec::new();
        for token in tokens {
            let barrier = barrier.clone();
            let url = self.url("/v1/shoppers/me/carts/active/submit-cart");
            tasks.push(tokio::spawn(async move {
                let client = Client::new();
                barrier.wait().await;
                let r = client.post(url).bearer_auth(token).send().await.unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                (status, body)
            }));
        }
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        answers
    }

    /// `POST /v1/shoppers/order-lookup` of `{"orderLookup": lookup}` as the bearer of `token`.
    pub async fn order_lookup(&self, token: &str, lookup: Value) -> Response {
        self.http
            .post(self.url("/v1/shoppers/order-lookup"))
            .bearer_auth(token)
            .json(&serde_json::json!({ "orderLookup": lookup }))
            .send()
            .await
            .unwrap()
    }

    /// Adds a product, pays with an approving test card and submits: the order id.
    pub async fn buy(&self, token: &str, product_id: i64) -> i64 {
        ok_json(self.add_to_cart(token, product_id, 1).await).await;
        let source = self.create_source(APPROVE_CARD, false).await;
        ok_json(self.apply_source(token, &source).await).await;
        let body = ok_json(self.submit(token).await).await;
        body["submitCart"]["order"]["id"].as_i64().unwrap()
    }
}

// --- Headless Chromium -----------------------------------------------------------------------

/// One chromedriver for every browser test that runs at once; the last one to finish stops
/// it (each test opens its own browser session with its own profile).
pub struct Driver {
    process: Mutex<Child>,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let child = self.process.get_mut().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }
}

static DRIVER: Mutex<Weak<Driver>> = Mutex::new(Weak::new());

fn shared_driver(chromedriver: &str) -> Arc<Driver> {
    let mut slot = DRIVER.lock().unwrap();
    if let Some(driver) = slot.upgrade() {
        return driver;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let process = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Arc::new(Driver {
        process: Mutex::new(process),
        url: format!("http://127.0.0.1:{port}"),
    });
    *slot = Arc::downgrade(&driver);
    driver
}

/// A browser session: the driver it runs on and the profile folder stay alive with it.
pub struct Browser {
    pub client: fantoccini::Client,
    _driver: Arc<Driver>,
    _profile: tempfile::TempDir,
}

/// Chromium through the shared chromedriver, or None (after a SKIP line) without one.
pub async fn chromium(test: &str, extra_args: &[String]) -> Option<Browser> {
    let Ok(chromedriver) = std::env::var("SHOPKEEPER_TEST_CHROMEDRIVER") else {
        skip(&format!(
            "{test}: set SHOPKEEPER_TEST_CHROMEDRIVER (path to chromedriver; .ci/run does)"
        ));
        return None;
    };
    let driver = shared_driver(&chromedriver);
    let profile = tempfile::tempdir().unwrap();
    let client = headless_chromium(&driver.url, profile.path(), "1100,1400", extra_args).await;
    Some(Browser {
        client,
        _driver: driver,
        _profile: profile,
    })
}

/// Saves what the browser shows as `target/screenshots/{name}` (a PNG).
pub async fn screenshot(client: &fantoccini::Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), &png).unwrap();
}

/// Runs axe-core on the page the browser shows and fails on any violation of impact
/// `serious` or `critical`, listing each one's rule, impact and elements. `page` names the
/// page in the messages. axe-core is read from `SHOPKEEPER_TEST_AXE` (the path of its
/// `axe.min.js`; `.ci/run` installs it); without it this prints SKIP and checks nothing.
/// The script goes in through WebDriver, which the pages' `default-src 'none'` does not stop.
pub async fn assert_accessible(client: &fantoccini::Client, page: &str) {
    let Ok(path) = std::env::var("SHOPKEEPER_TEST_AXE") else {
        skip(&format!(
            "{page}: set SHOPKEEPER_TEST_AXE (path to axe-core's axe.min.js; .ci/run does)"
        ));
        return;
    };
    let axe = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read SHOPKEEPER_TEST_AXE={path}: {e}"));
    // W3C executeScript waits for a returned promise; only what the report needs comes back.
    let script = format!(
        "{axe}\n;return axe.run(document, {{resultTypes: ['violations']}}).then(r => \
         ({{version: axe.version, violations: r.violations.map(v => ({{id: v.id, impact: \
         v.impact, help: v.help, nodes: v.nodes.map(n => ({{target: n.target, summary: \
         n.failureSummary}}))}}))}}));"
    );
    let result = client
        .execute(&script, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("{page}: axe-core did not run: {e}"));
    let violations = result["violations"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}: axe-core answered {result}"));
    let report: Vec<String> = violations
        .iter()
        .map(|v| {
            let targets: Vec<String> = v["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|n| format!("{} ({})", n["target"], n["summary"].as_str().unwrap_or("")))
                .collect();
            format!(
                "{} [{}] {}: {}",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or(""),
                targets.join("; ")
            )
        })
        .collect();
    let serious = violations
        .iter()
        .any(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")));
    assert!(
        !serious,
        "{page}: axe-core {} found serious or critical violations:\n{}",
        result["version"],
        report.join("\n")
    );
    if !report.is_empty() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "{page}: axe-core: minor violations:\n{}",
            report.join("\n")
        );
    }
}

pub fn url_with(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    format!("{base}?{}", q.finish())
}

/// A saved shopper address's answer, as the docs give it: `204 No Content`; its id is the last
/// segment of the `Location` header.
pub async fn address_written(response: Response) -> i64 {
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    no_content(response).await;
    let location = location.expect("a saved address's Location");
    location
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("Location {location} ends with the address id"))
}

/// The Shopper API error `body`'s code is one of `http::error::Code`'s (the documented codes
/// and README's deviations): every error answer the suite provokes through the helpers that
/// read one is held to the list.
pub fn assert_known_shopper_api_code(body: &Value) {
    let code = body["errors"]["error"][0]["code"]
        .as_str()
        .unwrap_or_default();
    assert!(
        shopkeeper::http::error::Code::ALL
            .iter()
            .any(|known| known.as_str() == code),
        "{code:?} is not a documented Shopper API code nor a listed deviation: {body}"
    );
}

/// A `204 No Content` answer: the status, and no body.
pub async fn no_content(response: Response) {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 204, "{body}");
    assert!(body.is_empty(), "a 204 has no body: {body}");
}
