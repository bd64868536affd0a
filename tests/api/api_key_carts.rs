//! Seed 003's "Access Carts with API Key Only" (README, "Carts on an API key"): a per-site
//! option; with it on, each browser (cookie jar) has its own anonymous cart on the key alone,
//! only from the key's registered origins, never submitted.

use crate::checkout::{catalog, shopper_error};
use crate::helpers::{TestApp, browser, database_image, ok_json, site_id, spawn_app};
use reqwest::{Client, Method, Response};
use serde_json::Value;

const STOREFRONT: &str = "https://shop.example.com";
const CART: &str = "/v1/shoppers/me/carts/active";
const LINES: &str = "/v1/shoppers/me/carts/active/line-items";

/// `method path?apiKey=key` from `origin` (if any), in `jar`'s browser.
async fn keyed(
    app: &TestApp,
    jar: &Client,
    method: Method,
    path: &str,
    key: &str,
    origin: Option<&str>,
    query: &[(&str, &str)],
) -> Response {
    let mut request = jar
        .request(method, app.url(path))
        .query(&[("apiKey", key)])
        .query(query);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

/// Opens the test site's carts to its key through the CLI, as an operator would, and
/// registers the storefront's origin for the key.
async fn open_carts(app: &TestApp) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopkeeper"))
        .args([
            "--database",
            &app.database_url,
            "site",
            "set-key-only-carts",
        ])
        .args(["--id", crate::helpers::SITE, "--enabled", "true"])
        .env("SHOPKEEPER_LOG", "warn")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["key_only_carts"], true, "{printed}");
    assert!(
        app.state
            .store
            .site_key_only_carts(&site_id())
            .await
            .unwrap()
    );
    app.state
        .store
        .set_allowed_origins(&app.public_api_key(), &[STOREFRONT.to_owned()])
        .await
        .unwrap();
}

fn lines(cart: &Value) -> Vec<(i64, i64)> {
    cart["cart"]["lineItems"]["lineItem"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .map(|l| {
                    (
                        l["product"]["id"].as_i64().unwrap(),
                        l["quantity"].as_i64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn off_by_default_the_key_alone_gets_the_documented_401() {
    let app = spawn_app().await;
    app.state
        .store
        .set_allowed_origins(&app.public_api_key(), &[STOREFRONT.to_owned()])
        .await
        .unwrap();
    let jar = browser();
    let key = app.public_key.clone();
    for (method, path) in [(Method::GET, CART), (Method::POST, LINES)] {
        let answer = keyed(&app, &jar, method, path, &key, Some(STOREFRONT), &[]).await;
        assert!(answer.headers().get("set-cookie").is_none());
        assert!(
            answer
                .headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
        shopper_error(answer, 401, "invalid_token").await;
    }
}

#[tokio::test]
async fn each_browser_has_its_own_cart_on_the_key_from_the_keys_origins_only() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    open_carts(&app).await;
    let key = app.public_key.clone();
    let product_id = product.to_string();
    let one = [("productId", product_id.as_str()), ("quantity", "1")];
    let three = [("productId", product_id.as_str()), ("quantity", "3")];

    // Browser A: a cart, a product, read back.
    let a = browser();
    let first = keyed(&app, &a, Method::GET, CART, &key, Some(STOREFRONT), &[]).await;
    assert_eq!(first.status(), 200);
    let headers = first.headers().clone();
    assert_eq!(headers["access-control-allow-origin"], STOREFRONT);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let set_cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.starts_with("shopkeeper_cart="), "{set_cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(set_cookie.contains(attribute), "{attribute}: {set_cookie}");
    }
    let handle = set_cookie["shopkeeper_cart=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(handle.len(), 64);
    assert_eq!(lines(&ok_json(first).await), vec![]);
    let added = keyed(&app, &a, Method::POST, LINES, &key, Some(STOREFRONT), &one).await;
    assert!(added.status().is_success(), "{}", added.status());
    assert!(
        added.headers().get("set-cookie").is_none(),
        "the cookie is set once"
    );
    let cart = ok_json(keyed(&app, &a, Method::GET, CART, &key, Some(STOREFRONT), &[]).await).await;
    assert_eq!(lines(&cart), vec![(product, 1)]);

    // Browser B on the same key: a cart of its own; neither sees the other's.
    let b = browser();
    let cart = ok_json(keyed(&app, &b, Method::GET, CART, &key, Some(STOREFRONT), &[]).await).await;
    assert_eq!(lines(&cart), vec![]);
    let added = keyed(
        &app,
        &b,
        Method::POST,
        LINES,
        &key,
        Some(STOREFRONT),
        &three,
    )
    .await;
    assert!(added.status().is_success(), "{}", added.status());
    let cart_b =
        ok_json(keyed(&app, &b, Method::GET, CART, &key, Some(STOREFRONT), &[]).await).await;
    assert_eq!(lines(&cart_b), vec![(product, 3)]);
    let cart_a =
        ok_json(keyed(&app, &a, Method::GET, CART, &key, Some(STOREFRONT), &[]).await).await;
    assert_eq!(lines(&cart_a), vec![(product, 1)]);
    assert_ne!(cart_a["cart"]["id"], cart_b["cart"]["id"]);

    // Another origin, or none: refused before anything is read or written.
    for origin in [Some("https://evil.example"), None] {
        for (method, path) in [(Method::GET, CART), (Method::POST, LINES)] {
            let answer = keyed(&app, &a, method, path, &key, origin, &one).await;
            assert!(answer.headers().get("set-cookie").is_none());
            assert!(
                answer
                    .headers()
                    .get("access-control-allow-credentials")
                    .is_none()
            );
            shopper_error(answer, 403, "forbidden").await;
        }
    }
    // JSONP and a tunnelled method: refused even from the storefront.
    for query in [[("callback", "cb")], [("method", "post")]] {
        let answer = keyed(&app, &a, Method::GET, CART, &key, Some(STOREFRONT), &query).await;
        assert_eq!(answer.status(), 403, "{query:?}");
    }
    let cart_a =
        ok_json(keyed(&app, &a, Method::GET, CART, &key, Some(STOREFRONT), &[]).await).await;
    assert_eq!(lines(&cart_a), vec![(product, 1)], "nothing refused wrote");

    // Nothing that spends, acts for a shopper or hands the cart on runs on the key.
    for (method, path) in [
        (Method::POST, "/v1/shoppers/me/carts/active/submit-cart"),
        (Method::POST, "/v1/shoppers/me/carts/active/apply-shopper"),
        (Method::POST, "/v1/shoppers/me/carts/active/web-checkout"),
        (Method::GET, "/v1/shoppers/me"),
        (Method::GET, "/v1/shoppers/me/orders"),
    ] {
        let answer = keyed(&app, &a, method.clone(), path, &key, Some(STOREFRONT), &[]).await;
        shopper_error(answer, 401, "invalid_token").await;
    }

    // The cookie's value is nowhere in the database; its hash is.
    let image = database_image(&app).await;
    let contains = |needle: &[u8]| image.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(handle.as_bytes()), "cookie stored in clear");
}

#[tokio::test]
async fn another_sites_key_ignores_the_cookie() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    open_carts(&app).await;
    let other_key = app.site_with_public_key("other-site", None).await;
    let other_site = shopkeeper::domain::SiteId::parse("other-site").unwrap();
    app.state
        .store
        .set_site_key_only_carts(&other_site, true)
        .await
        .unwrap();
    app.state
        .store
        .set_allowed_origins(
            &shopkeeper::domain::ApiKey::parse(&other_key).unwrap(),
            &[STOREFRONT.to_owned()],
        )
        .await
        .unwrap();
    let key = app.public_key.clone();
    let product_id = product.to_string();
    let one = [("productId", product_id.as_str()), ("quantity", "1")];
    let a = browser();
    let added = keyed(&app, &a, Method::POST, LINES, &key, Some(STOREFRONT), &one).await;
    assert!(added.status().is_success(), "{}", added.status());
    let cart_a =
        ok_json(keyed(&app, &a, Method::GET, CART, &key, Some(STOREFRONT), &[]).await).await;
    assert_eq!(lines(&cart_a), vec![(product, 1)]);

    // The same browser on the other site's key: the cookie leads nowhere there.
    let other = keyed(
        &app,
        &a,
        Method::GET,
        CART,
        &other_key,
        Some(STOREFRONT),
        &[],
    )
    .await;
    assert_eq!(other.status(), 200);
    assert!(
        other.headers().get("set-cookie").is_some(),
        "a session of its own"
    );
    let other = ok_json(other).await;
    assert_eq!(lines(&other), vec![]);
    assert_ne!(other["cart"]["id"], cart_a["cart"]["id"]);
}

#[tokio::test]
async fn a_bearer_token_on_the_same_routes_is_unchanged() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    open_carts(&app).await;
    let pair = app.anonymous_pair().await;
    let product_id = product.to_string();
    for origin in [STOREFRONT, "https://elsewhere.example"] {
        let answer = app
            .http
            .post(app.url(LINES))
            .bearer_auth(&pair.access)
            .header("origin", origin)
            .query(&[("productId", product_id.as_str()), ("quantity", "1")])
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        assert_eq!(answer.headers()["access-control-allow-origin"], "*");
        assert!(
            answer
                .headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
        assert!(answer.headers().get("set-cookie").is_none());
    }
    let cart = app.get_ok(&pair.access, CART).await;
    assert_eq!(lines(&cart), vec![(product, 2)]);
    // Submitting stays a token's business: with a token the key-only rule does not apply.
    let answer = app
        .http
        .post(app.url("/v1/shoppers/me/carts/active/submit-cart"))
        .bearer_auth(&pair.access)
        .header("origin", STOREFRONT)
        .send()
        .await
        .unwrap();
    assert_ne!(answer.status(), 401);
    assert_ne!(answer.status(), 403);
}

#[tokio::test]
async fn the_preflight_of_a_key_only_path_allows_credentials_for_the_asking_origin() {
    let app = spawn_app().await;
    for path in [CART, LINES] {
        let answer = app
            .http
            .request(Method::OPTIONS, app.url(path))
            .header("origin", STOREFRONT)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "apikey,content-type")
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{path}");
        assert_eq!(answer.headers()["access-control-allow-origin"], STOREFRONT);
        assert_eq!(answer.headers()["access-control-allow-credentials"], "true");
        let vary: Vec<_> = answer
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .collect();
        assert!(vary.iter().any(|v| v.contains("origin")), "{vary:?}");
    }
    // A path that is not key-only keeps the wildcard, without credentials.
    let answer = app
        .http
        .request(
            Method::OPTIONS,
            app.url("/v1/shoppers/me/carts/active/submit-cart"),
        )
        .header("origin", STOREFRONT)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    assert!(
        answer
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}
