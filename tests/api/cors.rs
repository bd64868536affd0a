//! CORS on every cross-origin route: the preflight of each provided access-table row (and of
//! `/payments/sources`, `/oauth20/*`) names that path's methods, any origin without
//! credentials (a key-only cart path: the asking origin, with credentials), and the headers
//! the browser asks for; real answers, errors included, are
//! readable from another origin.

use crate::helpers::{spawn_app, storage_free_test_ran_in_first_pass};
use reqwest::{Method, Response};
use shopkeeper::domain::access_policy::{ROUTES, key_only_cart};
use std::collections::{BTreeMap, BTreeSet};

const STOREFRONT: &str = "https://storefront.example.net";
const ASKED_HEADERS: &str = "authorization,content-type,accept,accept-language,x-requested-with";

/// A concrete path of a row: every `{param}` is 1.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

async fn preflight(app: &crate::helpers::TestApp, method: &str, path: &str) -> Response {
    app.http
        .request(Method::OPTIONS, app.url(path))
        .header("origin", STOREFRONT)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", ASKED_HEADERS)
        .send()
        .await
        .unwrap()
}

fn header_set(response: &Response, name: &str) -> BTreeSet<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

#[tokio::test]
async fn every_route_answers_its_preflight_with_its_own_methods() {
    if storage_free_test_ran_in_first_pass() {
        return;
    }
    let app = spawn_app().await;
    // Path → methods served there, from the table (the router's one source of truth) and the
    // routes beside it.
    let mut paths: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for route in ROUTES.iter().filter(|r| r.is_provided()) {
        let methods = paths.entry(route.path.to_owned()).or_default();
        methods.insert(route.method.to_ascii_lowercase());
    }
    paths.insert("/payments/sources".into(), ["post".into()].into());
    paths.insert("/oauth20/token".into(), ["post".into()].into());
    paths.insert(
        "/oauth20/access-tokens".into(),
        ["get".into(), "delete".into()].into(),
    );
    assert!(
        paths.len() > 40,
        "the table's rows are walked: {}",
        paths.len()
    );
    for (path, methods) in &paths {
        for method in methods {
            let pattern = path.as_str();
            let path = concrete(path);
            let answer = preflight(&app, &method.to_ascii_uppercase(), &path).await;
            assert!(
                answer.status().is_success(),
                "{method} {path}: {}",
                answer.status()
            );
            // A key-only cart path (README, "Carts on an API key") allows the asking origin
            // with credentials; every other path any origin, without.
            let key_only = ROUTES
                .iter()
                .any(|r| r.path == pattern && key_only_cart(r.method, r.path));
            let (origin, credentials) = if key_only {
                (STOREFRONT, Some("true"))
            } else {
                ("*", None)
            };
            assert_eq!(
                answer.headers()["access-control-allow-origin"],
                origin,
                "{method} {path}"
            );
            assert_eq!(
                answer
                    .headers()
                    .get("access-control-allow-credentials")
                    .map(|v| v.to_str().unwrap()),
                credentials,
                "{path}: a wildcard origin never offers credentials"
            );
            let mut expected = methods.clone();
            expected.insert("options".into());
            assert_eq!(
                header_set(&answer, "access-control-allow-methods"),
                expected,
                "{path}: the path's own methods"
            );
            let headers = header_set(&answer, "access-control-allow-headers");
            for asked in ASKED_HEADERS.split(',') {
                assert!(headers.contains(asked), "{path}: {asked} in {headers:?}");
            }
        }
    }
}

#[tokio::test]
async fn a_plain_options_request_is_answered_like_the_documented_example() {
    if storage_free_test_ran_in_first_pass() {
        return;
    }
    let app = spawn_app().await;
    for path in ["/oauth20/token", "/v1/shoppers/me/carts/active"] {
        let answer = app
            .http
            .request(Method::OPTIONS, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        assert!(
            !header_set(&answer, "access-control-allow-methods").is_empty(),
            "{path}"
        );
    }
}

/// `method path` sent from the storefront's origin (with `token` as bearer, if any): the
/// answer, after checking it is readable there and has `status`.
async fn from_storefront(
    app: &crate::helpers::TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    status: u16,
) -> Response {
    let mut request = app
        .http
        .request(method.clone(), app.url(path))
        .header("origin", STOREFRONT);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status(), status, "{method} {path}");
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "*",
        "{method} {path}"
    );
    answer
}

#[tokio::test]
async fn answers_and_errors_are_readable_from_another_origin() {
    let app = spawn_app().await;
    let pair = app.shopper_pair().await;
    let token = Some(pair.access.as_str());
    let ok = from_storefront(&app, Method::GET, "/v1/shoppers/me", token, 200).await;
    assert!(
        header_set(&ok, "access-control-expose-headers").contains("x-request-id"),
        "the request id is readable for support requests"
    );
    // Without a token: the 401 is readable, so the storefront can fetch a token and retry.
    let cart = "/v1/shoppers/me/carts/active";
    from_storefront(&app, Method::GET, cart, None, 401).await;
    // A method the path does not serve: the documented 405, readable too.
    let orders = "/v1/shoppers/me/orders";
    let wrong = from_storefront(&app, Method::DELETE, orders, token, 405).await;
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(
        body["errors"]["error"][0]["code"], "method-not-allowed",
        "{body}"
    );
    // The payments route keeps its own error shape.
    let wrong = from_storefront(&app, Method::GET, "/payments/sources", None, 405).await;
    let body: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(body["type"], "method_not_allowed", "{body}");
}

#[tokio::test]
async fn the_routes_that_read_cookies_answer_no_cors() {
    if storage_free_test_ran_in_first_pass() {
        return;
    }
    let app = spawn_app().await;
    let session_token = format!("/store/{}/SessionToken", crate::helpers::SITE);
    for path in [
        "/oauth20/sign-in",
        "/oauth20/authorize",
        session_token.as_str(),
        "/",
    ] {
        let answer = preflight(&app, "GET", path).await;
        assert!(
            answer
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{path} is not for other origins"
        );
        let get = app
            .http
            .get(app.url(path))
            .header("origin", STOREFRONT)
            .send()
            .await
            .unwrap();
        assert!(
            get.headers().get("access-control-allow-origin").is_none(),
            "{path}"
        );
    }
}
