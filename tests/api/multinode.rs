//! Several real `shopkeeper serve` processes on one PostgreSQL database, provisioned through
//! the CLI, as an operator would run them. PostgreSQL only: each test prints SKIP without
//! `SHOPKEEPER_TEST_POSTGRES_URL`.

use crate::helpers::*;
use serde_json::Value;
use sqlx::Connection;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};
use tokio::sync::Barrier;

const BIN: &str = env!("CARGO_BIN_EXE_shopkeeper");
/// Cheap Argon2 for the processes' shopper passwords (the cost is a setting).
const CHEAP_ARGON2: [&str; 4] = ["--argon2-memory-kib", "1024", "--argon2-iterations", "1"];

/// A running `shopkeeper serve` process; killed (by its own pid) when dropped.
pub struct Node {
    pub address: String,
    child: Child,
    _log_dir: tempfile::TempDir,
}

impl Node {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// What the node has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._log_dir.path().join("node.log")).unwrap_or_default()
    }
}

/// Starts a node without waiting for it.
pub fn launch_node(database_url: &str) -> Node {
    launch_node_with(database_url, &[], &[])
}

/// Starts a node with more arguments and environment variables, without waiting for it.
pub fn launch_node_with(database_url: &str, args: &[&str], envs: &[(&str, &str)]) -> Node {
    let log_dir = tempfile::tempdir().unwrap();
    let log = std::fs::File::create(log_dir.path().join("node.log")).unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .args(["--database", database_url, "serve", "--no-demo", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(CHEAP_ARGON2)
        .args(["--revocation-heartbeat-ms", "200"])
        .args(args)
        .envs(envs.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn shopkeeper serve");
    Node {
        address: format!("http://127.0.0.1:{port}"),
        child,
        _log_dir: log_dir,
    }
}

/// Waits until the node answers HTTP (panicking with its log if it exits or takes > 60 s).
pub async fn wait_until_serving(node: &mut Node) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            let log =
                std::fs::read_to_string(node._log_dir.path().join("node.log")).unwrap_or_default();
            panic!("node exited with {status} before serving:\n{log}");
        }
        if let Ok(r) = http.get(node.url("/healthz")).send().await
            && r.status() == 200
        {
            return;
        }
        assert!(Instant::now() < deadline, "node did not start serving");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn start_node(database_url: &str) -> Node {
    let mut node = launch_node(database_url);
    wait_until_serving(&mut node).await;
    node
}

/// Runs a CLI command against the database; returns (success, stdout JSON or stderr text).
pub async fn cli(database_url: &str, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new(BIN)
        .args(["--database", database_url])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn shopkeeper CLI");
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .await
        .unwrap();
    drop(input);
    let out = child.wait_with_output().await.unwrap();
    let text = if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    (out.status.success(), text)
}

async fn cli_json(database_url: &str, args: &[&str], stdin: Option<&str>) -> Value {
    let (ok, text) = cli(database_url, args, stdin).await;
    assert!(ok, "shopkeeper {args:?} failed: {text}");
    serde_json::from_str(&text).unwrap()
}

/// Creates the test site, a public client and the test shopper; returns the public API key.
pub async fn provision_via_cli(database_url: &str) -> String {
    // Only `migrate` (or `serve`) creates the schema; the other commands refuse a blank database.
    cli_json(database_url, &["migrate"], None).await;
    let ttl = SITE_TTL.to_string();
    cli_json(
        database_url,
        &["site", "create", "--id", SITE, "--session-ttl", &ttl],
        None,
    )
    .await;
    let client = cli_json(
        database_url,
        &["client", "create", "--site", SITE, "--kind", "public"],
        None,
    )
    .await;
    let mut args = vec![
        "shopper",
        "create",
        "--site",
        SITE,
        "--username",
        SHOPPER_USERNAME,
        "--password-stdin",
    ];
    args.extend(CHEAP_ARGON2);
    cli_json(database_url, &args, Some(SHOPPER_PASSWORD)).await;
    client["api_key"].as_str().unwrap().to_owned()
}

/// Two provisioned nodes on a fresh database of the test PostgreSQL.
async fn two_nodes(test: &str) -> Option<(String, String, Node, Node)> {
    let db = postgres_database_or_skip(test).await?;
    let api_key = provision_via_cli(&db).await;
    let (a, b) = tokio::join!(start_node(&db), start_node(&db));
    Some((db, api_key, a, b))
}

async fn token_request(
    http: &reqwest::Client,
    node: &Node,
    api_key: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    http.post(node.url("/oauth20/token"))
        .basic_auth(api_key, None::<&str>)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn check(http: &reqwest::Client, node: &Node, token: &str) -> reqwest::Response {
    http.get(node.url("/oauth20/access-tokens"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn token_issued_on_one_node_works_on_the_other_and_revocation_reaches_it_within_1s() {
    let Some((_db, api_key, a, b)) = two_nodes("multinode revocation").await else {
        return;
    };
    let http = reqwest::Client::new();
    let pair =
        TokenPair::from(ok_json(token_request(&http, &a, &api_key, &SHOPPER_GRANT).await).await);
    // B has never seen the token: it reads it from the shared database (and caches it).
    let on_b = ok_json(check(&http, &b, &pair.access).await).await;
    assert_eq!(on_b["authenticated"], "true");
    ok_json(check(&http, &b, &pair.access).await).await; // now answered from B's cache

    // Revoke on A; B must refuse within 1 s although the token sits in its cache.
    ok_json(
        http.delete(a.url("/oauth20/access-tokens"))
            .bearer_auth(&pair.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let revoked_at = Instant::now();
    loop {
        let r = check(&http, &b, &pair.access).await;
        if r.status() == 401 {
            assert_oauth_error(r, 401, "invalid_token").await;
            break;
        }
        assert_eq!(r.status(), 200, "only accepted or refused");
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "node B still accepts a token revoked on node A after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // And the refresh token of the ended session is refused on B too.
    let r = token_request(
        &http,
        &b,
        &api_key,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &pair.refresh),
        ],
    )
    .await;
    assert_oauth_error(r, 400, "invalid_grant").await;
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_across_two_nodes_rotate_once() {
    let Some((db, api_key, a, b)) = two_nodes("multinode concurrent refresh").await else {
        return;
    };
    let http = reqwest::Client::new();
    let pair = TokenPair::from(
        ok_json(token_request(&http, &a, &api_key, &[("grant_type", "password")]).await).await,
    );
    let nodes = Arc::new([a, b]);
    const RACERS: usize = 10;
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for i in 0..RACERS {
        let (nodes, barrier, http) = (nodes.clone(), barrier.clone(), http.clone());
        let (api_key, refresh) = (api_key.clone(), pair.refresh.clone());
        tasks.push(tokio::spawn(async move {
            let node = &nodes[i % 2];
            let request = http
                .post(node.url("/oauth20/token"))
                .basic_auth(&api_key, None::<&str>)
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)]);
            barrier.wait().await;
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut pairs = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        // Inside the grace window every replay gets the same pair: all succeed.
        assert_eq!(status, 200, "{body}");
        pairs.push(TokenPair::from(body));
    }
    let first = &pairs[0];
    for p in &pairs {
        assert_eq!(p.access, first.access, "one family: the same access token");
        assert_eq!(
            p.refresh, first.refresh,
            "one family: the same refresh token"
        );
    }
    // Exactly one rotation: the original refresh token (consumed) plus one successor.
    let mut conn = sqlx::postgres::PgConnection::connect(&db).await.unwrap();
    let (rows, consumed): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(consumed_at) FROM refresh_tokens")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!((rows, consumed), (2, 1));
    for node in nodes.iter() {
        ok_json(check(&http, node, &first.access).await).await;
    }
    // The successor rotates normally, once, on either node.
    let next = ok_json(
        token_request(
            &http,
            &nodes[1],
            &api_key,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &first.refresh),
            ],
        )
        .await,
    )
    .await;
    assert_ne!(next["access_token"], first.access.as_str());
}

#[tokio::test]
async fn the_same_username_created_concurrently_gives_exactly_one_shopper() {
    let Some(db) = postgres_database_or_skip("multinode shopper creation").await else {
        return;
    };
    provision_via_cli(&db).await;
    const RACERS: usize = 8;
    let barrier = Arc::new(Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let (db, barrier) = (db.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut args = vec![
                "shopper",
                "create",
                "--site",
                SITE,
                "--username",
                "racer@example.com",
                "--password-stdin",
            ];
            args.extend(CHEAP_ARGON2);
            barrier.wait().await;
            cli(&db, &args, Some("a long enough password")).await
        }));
    }
    let mut created = 0;
    for t in tasks {
        let (ok, text) = t.await.unwrap();
        if ok {
            created += 1;
        } else {
            assert!(text.contains("exists"), "a clear refusal, got: {text}");
        }
    }
    assert_eq!(created, 1, "exactly one creation succeeds");
    let list = cli_json(&db, &["shopper", "list", "--site", SITE], None).await;
    let racers = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["username"] == "racer@example.com")
        .count();
    assert_eq!(racers, 1);
}

#[tokio::test]
async fn nodes_starting_together_on_an_empty_database_apply_each_migration_once() {
    let Some(db) = postgres_database_or_skip("multinode migrations").await else {
        return;
    };
    let mut nodes: Vec<Node> = (0..3).map(|_| launch_node(&db)).collect();
    for node in &mut nodes {
        wait_until_serving(node).await;
    }
    let mut conn = sqlx::postgres::PgConnection::connect(&db).await.unwrap();
    let applied: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT version, COUNT(*) FROM _sqlx_migrations WHERE success GROUP BY version",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let files = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crates/store/migrations/postgres"
    ))
    .unwrap()
    .count();
    assert_eq!(applied.len(), files, "every migration applied");
    assert!(applied.iter().all(|(_, n)| *n == 1), "{applied:?}");
    // They also agree on the one server-wide key.
    let (keys,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM server_settings WHERE name = 'refresh_hmac_key'")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(keys, 1);
}

/// An in-process node on `database_url` (for looking inside its token cache).
async fn in_process_node(database_url: &str) -> (String, shopkeeper::state::AppState) {
    let mut settings = test_settings();
    settings.tokens.revocation_heartbeat_ms = 200;
    let database = shopkeeper::config::DatabaseSettings::new(database_url);
    let (app, _) = shopkeeper::startup::Application::build(&settings, &database)
        .await
        .unwrap();
    let address = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !state.verifier.cache_is_trusted() {
        assert!(Instant::now() < deadline, "node never started listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (address, state)
}

/// Today's protected endpoints also read the session row; later resources trust the
/// verifier alone, so its cache is checked directly: B caches the token, A revokes it, and
/// B's verifier must refuse it within 1 s.
#[tokio::test]
async fn a_revocation_on_one_node_evicts_the_token_from_the_other_nodes_cache_within_1s() {
    let Some(db) = postgres_database_or_skip("multinode cache eviction").await else {
        return;
    };
    let api_key = provision_via_cli(&db).await;
    let (a_address, _a) = in_process_node(&db).await;
    let (_, b) = in_process_node(&db).await;
    let http = reqwest::Client::new();
    let body = ok_json(
        http.post(format!("{a_address}/oauth20/token"))
            .basic_auth(&api_key, None::<&str>)
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let pair = TokenPair::from(body);
    b.verifier.verify(&pair.access).await.expect("valid on B");
    b.verifier.verify(&pair.access).await.expect("cached on B");

    ok_json(
        http.delete(format!("{a_address}/oauth20/access-tokens"))
            .bearer_auth(&pair.access)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let revoked_at = Instant::now();
    while b.verifier.verify(&pair.access).await.is_ok() {
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "B's cache still accepts a token revoked on A after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Issue 5: the last unit of a product, submitted at once from carts on two nodes: exactly
/// one order, stock never below zero.
#[tokio::test]
async fn concurrent_submits_of_the_last_unit_across_two_nodes_make_exactly_one_order() {
    let Some((db, api_key, a, b)) = two_nodes("multinode last-unit submit").await else {
        return;
    };
    cli_json(
        &db,
        &["catalog", "import", DEMO_CATALOG, "--site", SITE],
        None,
    )
    .await;
    let payments_key = payments_key(&db).await;
    let mut conn = sqlx::postgres::PgConnection::connect(&db).await.unwrap();
    let (keyboard,): (i64,) = sqlx::query_as(
        "UPDATE products SET available_quantity = 1 WHERE sku = 'DEMO-KB-US' RETURNING id",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();

    let http = reqwest::Client::new();
    let nodes = Arc::new([a, b]);
    const BUYERS: usize = 10;
    let mut tokens = Vec::new();
    for i in 0..BUYERS {
        let node = &nodes[i % 2];
        tokens.push(ready_cart(&http, node, &api_key, &payments_key, keyboard).await);
    }
    let answers = submit_across(&nodes, tokens).await;
    let orders = orders_placed_for_the_last_unit(answers);
    assert_eq!(orders, 1, "exactly one submit wins the last unit");
    let (rows, stock): (i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM orders), \
         (SELECT available_quantity FROM products WHERE id = $1)",
    )
    .bind(keyboard)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((rows, stock), (1, Some(0)));
}

/// The demo catalog file (the last-unit and use-limit races import it into the test site).
const DEMO_CATALOG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/crates/services/src/demo_catalog.json"
);

/// The test site's payments public key, as `site list` shows it.
async fn payments_key(db: &str) -> String {
    let sites = cli_json(db, &["site", "list"], None).await;
    sites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == SITE)
        .and_then(|s| s["payments_public_key"].as_str())
        .expect("site list shows the payments public key")
        .to_owned()
}

/// A guest's cart filled on `node`: one `product`, a US shipping address and an approved
/// card. Returns its access token.
async fn ready_cart(
    http: &reqwest::Client,
    node: &Node,
    api_key: &str,
    payments_key: &str,
    product: i64,
) -> String {
    let token = ok_json(token_request(http, node, api_key, &[("grant_type", "password")]).await)
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let cart = http
        .post(node.url("/v1/shoppers/me/carts/active"))
        .bearer_auth(&token)
        .query(&[("productId", product.to_string()), ("quantity", "1".into())])
        .send()
        .await
        .unwrap();
    ok_json(cart).await;
    let address = http
        .put(node.url("/v1/shoppers/me/carts/active/shipping-address"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"address": {"line1": "1 Main St",
            "city": "Minneapolis", "country": "US"}}))
        .send()
        .await
        .unwrap();
    crate::helpers::no_content(address).await;
    let source: Value = send_json(
        http.post(node.url("/payments/sources"))
            .bearer_auth(payments_key)
            .json(
                &serde_json::json!({"type": "creditCard", "owner": {"firstName": "A",
                "lastName": "B", "email": "a@example.com", "address": {"line1": "1 Main St",
                "city": "Minneapolis", "country": "US"}}, "creditCard": {"number": APPROVE_CARD,
                "expirationMonth": 7, "expirationYear": 2040}}),
            ),
    )
    .await;
    let applied = http
        .post(node.url("/v1/shoppers/me/carts/active/apply-payment-method"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"paymentMethod": {"sourceId": source["id"]}}))
        .send()
        .await
        .unwrap();
    ok_json(applied).await;
    token
}

/// Submits every token's cart at once (a barrier), the `i`th on the other node than the one
/// `ready_cart` filled it on, each on a connection of its own; the answers in token order.
async fn submit_across(nodes: &Arc<[Node; 2]>, tokens: Vec<String>) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(tokens.len()));
    let mut tasks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let (nodes, barrier) = (nodes.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let node = &nodes[(i + 1) % 2];
            let request = reqwest::Client::new()
                .post(node.url("/v1/shoppers/me/carts/active/submit-cart"))
                .bearer_auth(token);
            barrier.wait().await;
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

/// A money object's value in cents.
fn cents(v: &Value) -> i64 {
    (v["value"].as_f64().unwrap_or_else(|| panic!("money: {v}")) * 100.0).round() as i64
}

/// An always-triggered offer with three uses left, on a product in 16 carts spread over two
/// nodes, all submitted at once: exactly three orders get it (the use is counted by a
/// conditional update in each submit's transaction, on the one database); the submits that
/// priced their cart with it after the third use are refused with the documented 409, their
/// carts unchanged, and their retry places the order at the price the cart then shows.
#[tokio::test]
async fn an_offer_with_three_uses_left_is_used_exactly_three_times_by_submits_across_two_nodes() {
    let Some((db, api_key, a, b)) = two_nodes("multinode offer use limit").await else {
        return;
    };
    // The demo catalog with a half-price offer on the US keyboard, imported as an operator
    // would.
    let mut file: Value =
        serde_json::from_str(&std::fs::read_to_string(DEMO_CATALOG).unwrap()).unwrap();
    file["offers"].as_array_mut().unwrap().push(
        serde_json::json!({"externalReferenceId": "first-three", "name": "First three",
            "type": "Discount", "percentOff": "50", "products": ["DEMO-KB-US"],
            "totalLimit": 3}),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.json");
    std::fs::write(&path, file.to_string()).unwrap();
    let imported = cli_json(
        &db,
        &["catalog", "import", path.to_str().unwrap(), "--site", SITE],
        None,
    )
    .await;
    assert_eq!(imported["offers"]["created"], 3, "{imported}");
    let payments_key = payments_key(&db).await;
    let mut conn = sqlx::postgres::PgConnection::connect(&db).await.unwrap();
    let (keyboard,): (i64,) = sqlx::query_as("SELECT id FROM products WHERE sku = 'DEMO-KB-US'")
        .fetch_one(&mut conn)
        .await
        .unwrap();

    let http = reqwest::Client::new();
    let nodes = Arc::new([a, b]);
    const BUYERS: usize = 16;
    let mut tokens = Vec::new();
    for i in 0..BUYERS {
        tokens.push(ready_cart(&http, &nodes[i % 2], &api_key, &payments_key, keyboard).await);
    }
    // What each cart shows before the race: $89.00 at half price.
    let cart_total = |node: &Node, token: &str| {
        let request = http
            .get(node.url("/v1/shoppers/me/carts/active"))
            .bearer_auth(token.to_owned());
        async move {
            let cart = ok_json(request.send().await.unwrap()).await;
            (
                cents(&cart["cart"]["pricing"]["orderTotal"]),
                cart["cart"]["totalItemsInCart"].clone(),
            )
        }
    };
    let (discounted, _) = cart_total(&nodes[0], &tokens[0]).await;
    let full = discounted + 44_50;

    let answers = submit_across(&nodes, tokens.clone()).await;
    let mut with_offer = 0;
    for (i, (token, (status, body))) in tokens.iter().zip(&answers).enumerate() {
        let total = || cents(&body["submitCart"]["order"]["pricing"]["total"]);
        match status {
            200 if total() == discounted => with_offer += 1,
            200 => assert_eq!(total(), full, "{body}"),
            409 => {
                assert_eq!(
                    body["errors"]["error"][0]["code"], "offer-usage-limit-exceeded",
                    "{body}"
                );
                // The cart is unchanged, and now priced without the used-up offer.
                let node = &nodes[i % 2];
                assert_eq!(cart_total(node, token).await, (full, serde_json::json!(1)));
                let retry = http
                    .post(node.url("/v1/shoppers/me/carts/active/submit-cart"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap();
                let order = ok_json(retry).await;
                assert_eq!(
                    cents(&order["submitCart"]["order"]["pricing"]["total"]),
                    full
                );
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(with_offer, 3, "{answers:?}");
    let offers = cli_json(&db, &["offer", "list", "--site", SITE], None).await;
    let offer = offers
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["externalReferenceId"] == "first-three")
        .unwrap();
    assert_eq!(offer["uses"], 3, "{offer}");
    let (orders, redemptions): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM orders), \
         (SELECT COUNT(*) FROM offer_redemptions WHERE offer_id = $1)",
    )
    .bind(offer["id"].as_i64().unwrap())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!((orders, redemptions), (BUYERS as i64, 3));
}

/// 200 subscriptions due at once, two nodes on one PostgreSQL database looking for them on
/// the shared test clock: each is renewed exactly once (one approved ledger row and one
/// renewal order per subscription), whichever node's runner takes the renewals.
#[tokio::test]
async fn two_nodes_renew_each_of_200_due_subscriptions_exactly_once() {
    let Some(db) = postgres_database_or_skip("multinode renewals").await else {
        return;
    };
    let api_key = provision_via_cli(&db).await;
    const SUBSCRIPTIONS: usize = 200;
    let products: Vec<Value> = (0..SUBSCRIPTIONS)
        .map(|i| {
            serde_json::json!({"sku": format!("SUB-{i}"), "name": format!("Plan {i}"),
                "productType": "DIGITAL", "currency": "USD", "listPrice": "1.00",
                "subscription": {"term": {"termUnit": "MONTHS", "termLength": 1}}})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.json");
    std::fs::write(&path, serde_json::json!({"products": products}).to_string()).unwrap();
    cli_json(
        &db,
        &["catalog", "import", path.to_str().unwrap(), "--site", SITE],
        None,
    )
    .await;
    let renewing = [
        "--test-clock",
        "--job-poll-interval-ms",
        "50",
        "--job-lease-ms",
        "5000",
        "--renewal-interval-seconds",
        "1",
    ];
    let mut a = launch_node_with(&db, &renewing, &[]);
    let mut b = launch_node_with(&db, &renewing, &[]);
    wait_until_serving(&mut a).await;
    wait_until_serving(&mut b).await;

    // The shopper buys all 200 in one order (one line each), paid with a reusable card.
    let http = reqwest::Client::new();
    let shopper = ok_json(
        token_request(
            &http,
            &a,
            &api_key,
            &[
                ("grant_type", "password"),
                ("username", SHOPPER_USERNAME),
                ("password", SHOPPER_PASSWORD),
            ],
        )
        .await,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut conn = sqlx::postgres::PgConnection::connect(&db).await.unwrap();
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM products WHERE sku LIKE 'SUB-%'")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let lines: Vec<Value> = ids
        .iter()
        .map(|(id,)| serde_json::json!({"quantity": 1, "product": {"id": id}}))
        .collect();
    let cart = http
        .post(a.url("/v1/shoppers/me/carts/active"))
        .bearer_auth(&shopper)
        .json(
            &serde_json::json!({"cart": {"lineItems": {"lineItem": lines},
            "termsOfSalesAcceptance": true,
            "billingAddress": {"firstName": "Ada", "lastName": "Lovelace", "line1": "1 Main St",
                "city": "Minneapolis", "country": "US", "emailAddress": "ada@example.com"}}}),
        )
        .send()
        .await
        .unwrap();
    ok_json(cart).await;
    let source: Value = send_json(
        http.post(a.url("/payments/sources"))
            .bearer_auth(payments_key(&db).await)
            .json(
                &serde_json::json!({"type": "creditCard", "reusable": true, "owner": {
                "firstName": "A", "lastName": "B", "email": "a@example.com", "address": {
                "line1": "1 Main St", "city": "Minneapolis", "country": "US"}},
                "creditCard": {"number": APPROVE_CARD, "expirationMonth": 7,
                "expirationYear": 2040}}),
            ),
    )
    .await;
    let applied = http
        .post(a.url("/v1/shoppers/me/carts/active/apply-payment-method"))
        .bearer_auth(&shopper)
        .json(&serde_json::json!({"paymentMethod": {"sourceId": source["id"]}}))
        .send()
        .await
        .unwrap();
    ok_json(applied).await;
    let submitted = http
        .post(b.url("/v1/shoppers/me/carts/active/submit-cart"))
        .bearer_auth(&shopper)
        .send()
        .await
        .unwrap();
    ok_json(submitted).await;
    let (bought,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM subscriptions")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(bought, SUBSCRIPTIONS as i64);

    // A month and a bit later by the shared clock, all 200 are due on both nodes at once.
    advance_clock_of(&http, &a.address, 32 * 86_400).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (charged,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM subscription_charges")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if charged >= SUBSCRIPTIONS as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{charged} of {SUBSCRIPTIONS} renewed:\n{}\n{}",
            a.log(),
            b.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (charges, approved, subscriptions_charged, renewed, orders): (i64, i64, i64, i64, i64) =
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM subscription_charges), \
             (SELECT COUNT(*) FROM subscription_charges WHERE outcome = 'approved'), \
             (SELECT COUNT(DISTINCT subscription_id) FROM subscription_charges), \
             (SELECT COUNT(*) FROM subscriptions WHERE period = 2 AND state = 'Subscribed'), \
             (SELECT COUNT(*) FROM orders)",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let n = SUBSCRIPTIONS as i64;
    assert_eq!(
        (charges, approved, subscriptions_charged, renewed, orders),
        (n, n, n, n, 1 + n)
    );
}
