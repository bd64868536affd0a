//! The benchmark scenarios, as the documented API is called by real clients.

use crate::load::{Scenario, Worker};
use crate::server::Shopkeeper;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const PASSWORD: &str = "bench password 1234";

/// Keys, a shopper, a catalog and pre-issued tokens, provisioned once per run.
pub struct Fixtures {
    public_basic: String,
    confidential_basic: String,
    /// The site's key for `POST /payments/sources`.
    payments_key: String,
    /// Limited access tokens the check scenarios present, one per connection.
    access: Vec<String>,
    /// Refresh tokens, one chain per connection.
    refresh: Vec<String>,
    /// Limited access tokens of their own sessions for `add-to-cart`, one per connection.
    cart_access: Vec<String>,
    catalog: Catalog,
}

/// Ids of the bench catalog ([`catalog_file`]) as the import and the API gave them.
#[derive(Clone)]
struct Catalog {
    digital: Vec<i64>,
    physical: Vec<i64>,
    categories: Vec<i64>,
}

/// The catalog imported into the bench site: a small category tree, digital products (one
/// with volume pricing) and physical ones. Nothing tracks stock, so buying never runs out.
fn catalog_file() -> serde_json::Value {
    let digital = (1..=6).map(|i| {
        serde_json::json!({
            "sku": format!("BENCH-D{i}"),
            "name": format!("Bench download {i}"),
            "displayName": format!("Bench Download {i}"),
            "shortDescription": "A digital product of the load benchmark.",
            "productType": "DIGITAL",
            "keywords": "bench download software",
            "currency": "USD",
            "listPrice": format!("{}.99", 10 + i),
            "salePrice": format!("{}.49", 9 + i),
            "categories": if i % 2 == 0 { vec!["software", "games"] } else { vec!["software"] },
            "volumePricing": if i == 1 {
                serde_json::json!([{"minQuantity": 5, "unitPrice": "8.00"}])
            } else {
                serde_json::json!([])
            },
        })
    });
    let physical = (1..=2).map(|i| {
        serde_json::json!({
            "sku": format!("BENCH-P{i}"),
            "name": format!("Bench gadget {i}"),
            "displayName": format!("Bench Gadget {i}"),
            "shortDescription": "A physical product of the load benchmark.",
            "productType": "PHYSICAL",
            "keywords": "bench gadget hardware",
            "currency": "USD",
            "listPrice": format!("{}.00", 40 + i),
            "categories": ["hardware"],
        })
    });
    serde_json::json!({
        "categories": [
            {"name": "software", "displayName": "Software"},
            {"name": "games", "displayName": "Games", "parent": "software"},
            {"name": "hardware", "displayName": "Hardware"},
        ],
        "products": digital.chain(physical).collect::<Vec<_>>(),
    })
}

/// Every category id of a `GET /v1/shoppers/me/categories` answer, the tree walked.
fn category_ids(tree: &serde_json::Value, out: &mut Vec<i64>) {
    for c in tree["category"].as_array().into_iter().flatten() {
        out.extend(c["id"].as_i64());
        category_ids(&c["categories"], out);
    }
}

pub(crate) fn form_post(path: &str, auth: &str, body: String) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "127.0.0.1")
        .header("authorization", auth)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

pub(crate) fn get(path: &str, bearer: &str) -> Request<Full<Bytes>> {
    Request::get(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {bearer}"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// A POST or PUT with a bearer and a JSON body (`None`: an empty body).
pub(crate) fn send_json(
    method: &str,
    path: &str,
    bearer: &str,
    body: Option<&serde_json::Value>,
) -> Request<Full<Bytes>> {
    let builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .header("authorization", format!("Bearer {bearer}"));
    match body {
        Some(b) => builder
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(b.to_string()))),
        None => builder.body(Full::new(Bytes::new())),
    }
    .unwrap()
}

fn field(body: &[u8], name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    Some(v[name].as_str()?.to_owned())
}

impl Fixtures {
    pub async fn provision(server: &Shopkeeper, connections: usize) -> anyhow::Result<Self> {
        let site = server.cli(
            &["site", "create", "--id", "bench", "--session-ttl", "3600"],
            None,
        )?;
        let payments_key = site["payments_public_key"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("site create printed no payments_public_key"))?
            .to_owned();
        let catalog_path = server.scratch().join("catalog.json");
        std::fs::write(&catalog_path, catalog_file().to_string())?;
        server.cli(
            &[
                "catalog",
                "import",
                catalog_path.to_str().unwrap(),
                "--site",
                "bench",
            ],
            None,
        )?;
        let public = server.cli(
            &["client", "create", "--site", "bench", "--kind", "public"],
            None,
        )?;
        let confidential = server.cli(
            &[
                "client",
                "create",
                "--site",
                "bench",
                "--kind",
                "confidential",
            ],
            None,
        )?;
        server.cli(
            &[
                "shopper",
                "create",
                "--site",
                "bench",
                "--username",
                "bench",
                "--password-stdin",
            ],
            Some(PASSWORD),
        )?;
        let public_basic = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:", public["api_key"].as_str().unwrap()))
        );
        let confidential_basic = format!(
            "Basic {}",
            STANDARD.encode(format!(
                "{}:{}",
                confidential["api_key"].as_str().unwrap(),
                confidential["secret"].as_str().unwrap()
            ))
        );
        let (status, body) = fetch(
            server,
            Request::get("/v1/shoppers/me/categories")
                .header("host", "127.0.0.1")
                .header("authorization", &public_basic)
                .body(Full::new(Bytes::new()))?,
        )
        .await?;
        anyhow::ensure!(status == 200, "GET categories: {status}");
        let mut categories = Vec::new();
        category_ids(
            &serde_json::from_slice::<serde_json::Value>(&body)?["categories"],
            &mut categories,
        );
        anyhow::ensure!(categories.len() == 3, "categories: {categories:?}");
        // The import prints counts, not ids: the ids are the API's, in the file's order.
        let (status, body) = fetch(
            server,
            Request::get("/v1/shoppers/me/products?pageSize=100&expand=all")
                .header("host", "127.0.0.1")
                .header("authorization", &public_basic)
                .body(Full::new(Bytes::new()))?,
        )
        .await?;
        anyhow::ensure!(status == 200, "GET products: {status}");
        let listed: serde_json::Value = serde_json::from_slice(&body)?;
        let id_of = |sku: &str| {
            listed["products"]["product"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["sku"] == sku)
                .and_then(|p| p["id"].as_i64())
        };
        let product_ids: Vec<i64> = catalog_file()["products"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| id_of(p["sku"].as_str()?))
            .collect();
        anyhow::ensure!(
            product_ids.len() == 8,
            "products listed: {listed}, expected the 8 imported"
        );
        // Pre-issue one pair per connection through the API itself, and a session per
        // connection for the cart.
        let mut access = Vec::new();
        let mut refresh = Vec::new();
        let mut cart_access = Vec::new();
        let issue = Anonymous {
            auth: public_basic.clone(),
        };
        for _ in 0..connections {
            let (a, r) = one_pair(server, &issue).await?;
            access.push(a);
            refresh.push(r);
            cart_access.push(one_pair(server, &issue).await?.0);
        }
        Ok(Self {
            public_basic,
            confidential_basic,
            payments_key,
            access,
            refresh,
            cart_access,
            catalog: Catalog {
                digital: product_ids[..6].to_vec(),
                physical: product_ids[6..].to_vec(),
                categories,
            },
        })
    }

    pub fn worker(&self, id: usize) -> Worker {
        Worker {
            id,
            token: Some(self.refresh[id % self.refresh.len()].clone()),
            ..Default::default()
        }
    }
}

/// One request on a new connection: the status and the body.
async fn fetch(server: &Shopkeeper, request: Request<Full<Bytes>>) -> anyhow::Result<(u16, Bytes)> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(server.addr).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    Ok((status, response.into_body().collect().await?.to_bytes()))
}

async fn one_pair(server: &Shopkeeper, s: &Anonymous) -> anyhow::Result<(String, String)> {
    let (_, body) = fetch(server, s.request(&mut Worker::default())).await?;
    Ok((
        field(&body, "access_token").ok_or_else(|| anyhow::anyhow!("no token"))?,
        field(&body, "refresh_token").unwrap(),
    ))
}

struct Anonymous {
    auth: String,
}
impl Scenario for Anonymous {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        form_post("/oauth20/token", &self.auth, "grant_type=password".into())
    }
}

struct ClientCredentials {
    auth: String,
}
impl Scenario for ClientCredentials {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        form_post(
            "/oauth20/token",
            &self.auth,
            "grant_type=client_credentials".into(),
        )
    }
}

/// Each connection walks its own refresh chain.
struct Refresh {
    auth: String,
}
impl Scenario for Refresh {
    fn request(&self, w: &mut Worker) -> Request<Full<Bytes>> {
        let token = w.token.clone().unwrap_or_default();
        form_post(
            "/oauth20/token",
            &self.auth,
            format!("grant_type=refresh_token&refresh_token={token}"),
        )
    }
    fn observe(&self, w: &mut Worker, status: u16, body: &[u8]) -> bool {
        if status == 200 {
            w.token = field(body, "refresh_token");
        }
        status == 200
    }
}

/// A bearer check on a protected read.
struct Check {
    path: &'static str,
    tokens: Vec<String>,
}
impl Scenario for Check {
    fn request(&self, w: &mut Worker) -> Request<Full<Bytes>> {
        get(self.path, &self.tokens[w.id % self.tokens.len()])
    }
}

struct Password {
    auth: String,
}
impl Scenario for Password {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        form_post(
            "/oauth20/token",
            &self.auth,
            format!(
                "grant_type=password&username=bench&password={}",
                PASSWORD.replace(' ', "+")
            ),
        )
    }
}

struct Ceiling;
impl Scenario for Ceiling {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        Request::get("/healthz")
            .header("host", "127.0.0.1")
            .body(Full::new(Bytes::new()))
            .unwrap()
    }
}

struct PeerClientCredentials;
impl Scenario for PeerClientCredentials {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        form_post(
            "/token",
            &format!(
                "Basic {}",
                STANDARD.encode("bench:bench-secret-bench-secret-bench-secret")
            ),
            "grant_type=client_credentials".into(),
        )
    }
}

pub fn simple(f: &Fixtures) -> Vec<(&'static str, Arc<dyn Scenario>)> {
    vec![
        ("ceiling", Arc::new(Ceiling)),
        (
            "anonymous",
            Arc::new(Anonymous {
                auth: f.public_basic.clone(),
            }),
        ),
        (
            "client-credentials",
            Arc::new(ClientCredentials {
                auth: f.confidential_basic.clone(),
            }),
        ),
        (
            "refresh",
            Arc::new(Refresh {
                auth: f.public_basic.clone(),
            }),
        ),
        ("check-me", check_me(f)),
        (
            "check-access-tokens",
            Arc::new(Check {
                path: "/oauth20/access-tokens",
                tokens: f.access.clone(),
            }),
        ),
        (
            "add-to-cart",
            Arc::new(AddToCart {
                auth: f.public_basic.clone(),
                tokens: f.cart_access.clone(),
                products: f.catalog.digital[..CART_LINES].to_vec(),
            }),
        ),
    ]
}

/// The bearer check on the Shopper API's most common protected read.
pub fn check_me(f: &Fixtures) -> Arc<dyn Scenario> {
    Arc::new(Check {
        path: "/v1/shoppers/me",
        tokens: f.access.clone(),
    })
}

/// A guest token: the password grant without credentials, with the public key.
pub fn guest_token(f: &Fixtures) -> Arc<dyn Scenario> {
    Arc::new(Anonymous {
        auth: f.public_basic.clone(),
    })
}

/// `n` products, each with `variations` variations (every other one in a category, every
/// fifth with volume pricing), for `--import-products`.
pub fn import_file(n: u64, variations: u64) -> serde_json::Value {
    let products: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let variations: Vec<serde_json::Value> = (0..variations)
                .map(|k| {
                    serde_json::json!({
                        "sku": format!("IMPORT-{i}-{k}"),
                        "name": format!("Imported product {i} size {k}"),
                        "productType": "PHYSICAL",
                        "currency": "USD",
                        "listPrice": format!("{}.{:02}", 10 + i % 90, k),
                        "availableQuantity": 10 + k,
                        "attributes": {"size": format!("S{k}")},
                    })
                })
                .collect();
            serde_json::json!({
                "sku": format!("IMPORT-{i}"),
                "name": format!("Imported product {i}"),
                "shortDescription": "A product of the import benchmark.",
                "productType": "PHYSICAL",
                "keywords": "import bench",
                "currency": "USD",
                "listPrice": format!("{}.99", 10 + i % 90),
                "categories": if i % 2 == 0 { vec!["hardware"] } else { vec![] },
                "volumePricing": if i % 5 == 0 {
                    serde_json::json!([{"minQuantity": 5, "unitPrice": "8.00"}])
                } else {
                    serde_json::json!([])
                },
                "variations": variations,
            })
        })
        .collect();
    serde_json::json!({"products": products})
}

pub fn password(f: &Fixtures) -> Arc<dyn Scenario> {
    Arc::new(Password {
        auth: f.public_basic.clone(),
    })
}

pub fn peer_client_credentials() -> Arc<dyn Scenario> {
    Arc::new(PeerClientCredentials)
}

/// Lines an `add-to-cart` connection's cart cycles through.
const CART_LINES: usize = 4;
/// The server refuses a line above this quantity (`domain::checkout::MAX_LINE_QUANTITY`).
const MAX_LINE_QUANTITY: usize = 10_000;
const CART: &str = "/v1/shoppers/me/carts/active";

/// `add-to-cart`: each connection adds one unit to its own anonymous session's active cart,
/// `POST /v1/shoppers/me/carts/active/line-items?productId=P&quantity=1`, cycling through
/// [`CART_LINES`] digital products, so the cart keeps 4 lines whose quantities grow by one
/// per request (the answer, the whole line-item list, stays the same size). A line may not
/// exceed 10,000 units; after 4 × 10,000 adds a connection takes a fresh anonymous token
/// (`POST /oauth20/token grant_type=password`), and that request **is** counted as one of the
/// scenario's (at the ~15 adds/s per connection measured on 2 cores a connection meets it
/// after ~45 minutes, so a normal run never does).
struct AddToCart {
    auth: String,
    tokens: Vec<String>,
    products: Vec<i64>,
}
impl Scenario for AddToCart {
    fn start(&self, w: &mut Worker) {
        w.token = Some(self.tokens[w.id % self.tokens.len()].clone());
    }
    fn request(&self, w: &mut Worker) -> Request<Full<Bytes>> {
        match &w.token {
            None => form_post("/oauth20/token", &self.auth, "grant_type=password".into()),
            Some(token) => {
                let product = self.products[w.step % self.products.len()];
                send_json(
                    "POST",
                    &format!("{CART}/line-items?productId={product}&quantity=1"),
                    token,
                    None,
                )
            }
        }
    }
    fn observe(&self, w: &mut Worker, status: u16, body: &[u8]) -> bool {
        let ok = status == 200;
        if w.token.is_none() {
            w.token = field(body, "access_token").filter(|_| ok);
            w.step = 0;
        } else if ok {
            w.step += 1;
            if w.step >= MAX_LINE_QUANTITY * self.products.len() {
                w.token = None;
                w.round += 1;
            }
        }
        ok
    }
}

/// Which catalog product a storefront step is about.
#[derive(Clone, Copy)]
enum Pick {
    /// The visit's first digital product.
    First,
    /// Its second (the next one in the catalog).
    Second,
    /// A physical product.
    Physical,
}

#[derive(Clone, Copy)]
enum Step {
    /// `POST /oauth20/token grant_type=password` (no credentials): a new anonymous session.
    Token,
    /// `GET /v1/shoppers/me/categories` (the tree).
    Categories,
    /// `GET /v1/shoppers/me/categories/{id}/products`.
    CategoryProducts,
    /// `GET /v1/shoppers/me/products/{id}`.
    Product(Pick),
    /// `GET /v1/shoppers/me/products/{id}/pricing`.
    Pricing(Pick),
    /// `GET /v1/shoppers/me/product-search?keyword=...`.
    Search,
    /// `POST /v1/shoppers/me/carts/active/line-items?productId=&quantity=1`.
    Add(Pick),
    /// `GET /v1/shoppers/me/carts/active`.
    Cart,
    /// `PUT /v1/shoppers/me/carts/active/shipping-address` `{"address": {...}}`.
    ShippingAddress,
    /// `POST /payments/sources` with the site's payments key (test card, single use).
    Source,
    /// `POST /v1/shoppers/me/carts/active/apply-payment-method` `{"paymentMethod": {"sourceId"}}`.
    ApplySource,
    /// `POST /v1/shoppers/me/carts/active/submit-cart` (empty body).
    Submit,
    /// `GET /v1/shoppers/me/orders/{id}` (the order just placed).
    Order,
}

/// What every visit starts with: a new session, the catalog, a first product added to the cart.
const BROWSING: [Step; 7] = [
    Step::Token,
    Step::Categories,
    Step::CategoryProducts,
    Step::Product(Pick::First),
    Step::Pricing(Pick::First),
    Step::Search,
    Step::Add(Pick::First),
];

/// `a` then `b`, as one array of `L` steps.
const fn concat<const N: usize, const M: usize, const L: usize>(
    a: [Step; N],
    b: [Step; M],
) -> [Step; L] {
    assert!(N + M == L, "L must be N + M");
    let mut out = [Step::Token; L];
    let mut i = 0;
    while i < L {
        out[i] = if i < N { a[i] } else { b[i - N] };
        i += 1;
    }
    out
}

/// A visit that browses and leaves with a cart (the cart stays in its session): 10 requests.
const BROWSE_VISIT: &[Step] = &concat::<7, 3, 10>(
    BROWSING,
    [
        Step::Product(Pick::Second),
        Step::Add(Pick::Second),
        Step::Cart,
    ],
);

/// A visit that buys: the same browsing, a physical product, then the checkout of the quick
/// start (the payment source's owner address is the billing address): 16 requests.
const BUY_VISIT: &[Step] = &concat::<7, 9, 16>(
    BROWSING,
    [
        Step::Product(Pick::Physical),
        Step::Add(Pick::Physical),
        Step::Cart,
        Step::ShippingAddress,
        Step::Source,
        Step::ApplySource,
        Step::Submit,
        Step::Order,
        Step::Cart,
    ],
);

/// Every `BUY_EVERY`-th visit of a connection buys.
const BUY_EVERY: u64 = 4;

/// `storefront`: a storefront's mixed load. Each connection is a stream of shopper visits;
/// every visit starts a new anonymous session and browses with its token, and one visit in
/// [`BUY_EVERY`] (4) checks out:
///
/// - browse visit ([`BROWSE_VISIT`], 10 requests): token; category tree; a category's
///   products; a product and its pricing; a keyword search; add it to the cart; a second
///   product; add it; get the cart;
/// - buy visit ([`BUY_VISIT`], 16 requests): the same, with a physical product as the second
///   one, then set the shipping address, create a payment source (approving test card, with
///   the site's payments key), apply it, submit the cart, get the order, get the (now empty)
///   cart.
///
/// Per 4 visits (46 requests): 4 token grants (9 %), 24 catalog reads (52 %), 8 adds to cart
/// (17 %), 5 cart reads (11 %), 1 each of shipping address, payment source, apply payment,
/// submit and order read (11 % together) — one order per 46 requests. Every answer must be
/// 2xx. Browse visits leave their carts behind, as real shoppers do.
pub struct Storefront {
    auth: String,
    payments_key: String,
    catalog: Catalog,
    orders: AtomicU64,
}

impl Storefront {
    /// Orders submitted so far.
    pub fn orders(&self) -> u64 {
        self.orders.load(Ordering::Relaxed)
    }

    fn visit(w: &Worker) -> &'static [Step] {
        if w.round % BUY_EVERY == BUY_EVERY - 1 {
            BUY_VISIT
        } else {
            BROWSE_VISIT
        }
    }

    fn product(&self, w: &Worker, pick: Pick) -> i64 {
        let n = w.id + w.round as usize;
        let c = &self.catalog;
        match pick {
            Pick::First => c.digital[n % c.digital.len()],
            Pick::Second => c.digital[(n + 1) % c.digital.len()],
            Pick::Physical => c.physical[n % c.physical.len()],
        }
    }
}

impl Scenario for Storefront {
    fn request(&self, w: &mut Worker) -> Request<Full<Bytes>> {
        let step = Self::visit(w)[w.step];
        let token = w.token.clone().unwrap_or_default();
        let n = w.id + w.round as usize;
        match step {
            Step::Token => form_post("/oauth20/token", &self.auth, "grant_type=password".into()),
            Step::Categories => get("/v1/shoppers/me/categories", &token),
            Step::CategoryProducts => {
                let category = self.catalog.categories[n % self.catalog.categories.len()];
                get(
                    &format!("/v1/shoppers/me/categories/{category}/products"),
                    &token,
                )
            }
            Step::Product(pick) => get(
                &format!("/v1/shoppers/me/products/{}", self.product(w, pick)),
                &token,
            ),
            Step::Pricing(pick) => get(
                &format!("/v1/shoppers/me/products/{}/pricing", self.product(w, pick)),
                &token,
            ),
            Step::Search => {
                let keyword = ["download", "gadget", "software"][n % 3];
                get(
                    &format!("/v1/shoppers/me/product-search?keyword={keyword}"),
                    &token,
                )
            }
            Step::Add(pick) => send_json(
                "POST",
                &format!(
                    "{CART}/line-items?productId={}&quantity=1",
                    self.product(w, pick)
                ),
                &token,
                None,
            ),
            Step::Cart => get(CART, &token),
            Step::ShippingAddress => send_json(
                "PUT",
                &format!("{CART}/shipping-address"),
                &token,
                Some(&serde_json::json!({"address": {
                    "firstName": "Bench", "lastName": "Shopper", "line1": "1 Main St",
                    "city": "Minneapolis", "countrySubdivision": "MN", "postalCode": "55401",
                    "country": "US", "emailAddress": "bench@example.com"}})),
            ),
            Step::Source => send_json(
                "POST",
                "/payments/sources",
                &self.payments_key,
                Some(&serde_json::json!({
                    "type": "creditCard",
                    "currency": "USD",
                    "amount": 60.00,
                    "reusable": false,
                    "owner": {
                        "firstName": "Bench", "lastName": "Shopper",
                        "email": "bench@example.com",
                        "address": {"line1": "10380 Bren Road West", "city": "Minnetonka",
                                    "state": "MN", "country": "US", "postalCode": "55343"}
                    },
                    "creditCard": {"number": "4111111111111111", "expirationMonth": 7,
                                   "expirationYear": 2040, "cvv": "415"}
                })),
            ),
            Step::ApplySource => send_json(
                "POST",
                &format!("{CART}/apply-payment-method"),
                &token,
                Some(&serde_json::json!({"paymentMethod": {
                    "sourceId": w.carry.clone().unwrap_or_default()}})),
            ),
            Step::Submit => send_json("POST", &format!("{CART}/submit-cart"), &token, None),
            Step::Order => get(
                &format!(
                    "/v1/shoppers/me/orders/{}",
                    w.carry.clone().unwrap_or_default()
                ),
                &token,
            ),
        }
    }

    /// Keeps what later steps need (the token, the source id, the order id) and moves on to
    /// the next step whatever the answer, so one failure is one error, not a stuck worker.
    fn observe(&self, w: &mut Worker, status: u16, body: &[u8]) -> bool {
        let ok = (200..300).contains(&status);
        let v: serde_json::Value = if ok {
            serde_json::from_slice(body).unwrap_or_default()
        } else {
            serde_json::Value::Null
        };
        match Self::visit(w)[w.step] {
            Step::Token => w.token = v["access_token"].as_str().map(str::to_owned),
            Step::Source => w.carry = v["id"].as_str().map(str::to_owned),
            Step::Submit => {
                w.carry = v["submitCart"]["order"]["id"]
                    .as_i64()
                    .map(|i| i.to_string());
                if w.carry.is_some() {
                    self.orders.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {}
        }
        w.step += 1;
        if w.step == Self::visit(w).len() {
            w.step = 0;
            w.round += 1;
            w.carry = None;
        }
        ok
    }
}

pub fn storefront(f: &Fixtures) -> Arc<Storefront> {
    Arc::new(Storefront {
        auth: f.public_basic.clone(),
        payments_key: f.payments_key.clone(),
        catalog: f.catalog.clone(),
        orders: AtomicU64::new(0),
    })
}

/// Anonymous password grants that keep a sample of the access tokens they get: every
/// `every`-th success, up to `keep` of them (for a check spread over many live sessions).
pub struct LiveSessions {
    auth: String,
    every: u64,
    keep: usize,
    issued: AtomicU64,
    sample: Mutex<Vec<String>>,
}

impl LiveSessions {
    pub fn sample(&self) -> Vec<String> {
        self.sample.lock().unwrap().clone()
    }
}

impl Scenario for LiveSessions {
    fn request(&self, _: &mut Worker) -> Request<Full<Bytes>> {
        form_post("/oauth20/token", &self.auth, "grant_type=password".into())
    }
    fn observe(&self, _: &mut Worker, status: u16, body: &[u8]) -> bool {
        if status != 200 {
            return false;
        }
        if self
            .issued
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(self.every)
        {
            let mut sample = self.sample.lock().unwrap();
            if sample.len() < self.keep {
                sample.extend(field(body, "access_token"));
            }
        }
        true
    }
}

pub fn live_sessions(f: &Fixtures, total: u64, keep: usize) -> Arc<LiveSessions> {
    Arc::new(LiveSessions {
        auth: f.public_basic.clone(),
        every: (total / keep.max(1) as u64).max(1),
        keep,
        issued: AtomicU64::new(0),
        sample: Mutex::new(Vec::new()),
    })
}

/// `GET /v1/shoppers/me`, every request with the next token of `tokens`: the connections
/// sweep the whole list in turn, so with more tokens than the server's token cache holds,
/// every check is a cold one.
struct CheckSpread {
    tokens: Vec<String>,
    stride: usize,
}
impl Scenario for CheckSpread {
    fn request(&self, w: &mut Worker) -> Request<Full<Bytes>> {
        let i = w.id + w.round as usize * self.stride;
        get("/v1/shoppers/me", &self.tokens[i % self.tokens.len()])
    }
    fn observe(&self, w: &mut Worker, status: u16, _: &[u8]) -> bool {
        w.round += 1;
        (200..300).contains(&status)
    }
}

pub fn check_me_spread(tokens: Vec<String>, connections: usize) -> Arc<dyn Scenario> {
    Arc::new(CheckSpread {
        tokens,
        stride: connections.max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_to_cart_takes_a_new_token_before_a_line_would_exceed_the_limit() {
        let s = AddToCart {
            auth: "Basic a2V5Og==".into(),
            tokens: vec!["first".into()],
            products: vec![11, 12, 13, 14],
        };
        let mut w = Worker::default();
        s.start(&mut w);
        let mut per_product = std::collections::HashMap::<String, usize>::new();
        for _ in 0..MAX_LINE_QUANTITY * 4 {
            let r = s.request(&mut w);
            assert_eq!(r.uri().path(), "/v1/shoppers/me/carts/active/line-items");
            assert_eq!(r.headers()["authorization"], "Bearer first");
            *per_product
                .entry(r.uri().query().unwrap().to_owned())
                .or_default() += 1;
            assert!(s.observe(&mut w, 200, b"{}"));
        }
        assert_eq!(per_product.len(), 4);
        assert!(per_product.values().all(|n| *n == MAX_LINE_QUANTITY));
        let r = s.request(&mut w);
        assert_eq!(r.uri().path(), "/oauth20/token");
        assert!(s.observe(&mut w, 200, br#"{"access_token": "second"}"#));
        assert_eq!(
            s.request(&mut w).headers()["authorization"],
            "Bearer second"
        );
    }

    /// The mix the `Storefront` doc comment states: per 4 visits, 46 requests.
    #[test]
    fn storefront_mix_is_as_documented() {
        let s = Storefront {
            auth: "Basic a2V5Og==".into(),
            payments_key: "pk".into(),
            catalog: Catalog {
                digital: vec![1, 2, 3],
                physical: vec![7],
                categories: vec![20, 21],
            },
            orders: AtomicU64::new(0),
        };
        let mut w = Worker::default();
        let mut kinds = std::collections::BTreeMap::<String, usize>::new();
        while w.round < 4 {
            let r = s.request(&mut w);
            let path = r.uri().path().to_owned();
            let kind = match (r.method().as_str(), path.as_str()) {
                ("POST", "/oauth20/token") => "token",
                ("GET", p) if p.starts_with("/v1/shoppers/me/categories") => "catalog",
                ("GET", p) if p.starts_with("/v1/shoppers/me/product") => "catalog",
                ("POST", p) if p.ends_with("/line-items") => "add",
                ("GET", CART) => "cart",
                _ => "checkout",
            };
            *kinds.entry(kind.into()).or_default() += 1;
            let body: &[u8] = match kind {
                "token" => br#"{"access_token": "t"}"#,
                _ if path == "/payments/sources" => br#"{"id": "src_1"}"#,
                _ if path.ends_with("/submit-cart") => br#"{"submitCart": {"order": {"id": 9}}}"#,
                _ => b"{}",
            };
            assert!(s.observe(&mut w, 200, body));
        }
        let count = |k: &str| kinds.get(k).copied().unwrap_or(0);
        assert_eq!(kinds.values().sum::<usize>(), 46, "{kinds:?}");
        assert_eq!(count("token"), 4);
        assert_eq!(count("catalog"), 24);
        assert_eq!(count("add"), 8);
        assert_eq!(count("cart"), 5);
        assert_eq!(count("checkout"), 5);
        assert_eq!(s.orders(), 1);
    }
}
