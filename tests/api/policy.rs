//! The access table, walked exhaustively over real HTTP: every provided row × every kind of
//! credential gets the documented answer; rows not provided answer 404; the README's route
//! table is the one generated from the access table.

use crate::helpers::{SITE, TestApp, site_id, spawn_app};
use reqwest::{Method, Response};
use serde_json::Value;
use shopkeeper::domain::access_policy::{Level, ROUTES, Route, markdown_table};
use shopkeeper::domain::address::{PostalAddress, SavedAddress};
use shopkeeper::provision;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    Nothing,
    ApiKeyOnly,
    Limited,
    Full,
    Expired,
    Revoked,
    OtherSiteToken,
    ExpiredBesideApiKey,
}

const ALL: [Credential; 8] = [
    Credential::Nothing,
    Credential::ApiKeyOnly,
    Credential::Limited,
    Credential::Full,
    Credential::Expired,
    Credential::Revoked,
    Credential::OtherSiteToken,
    Credential::ExpiredBesideApiKey,
];

struct Fixture {
    app: TestApp,
    limited: String,
    full: String,
    expired: String,
    revoked: String,
    other_site: String,
    product_id: i64,
    /// A physical product (a keyboard variation): its cart has shipping options.
    physical_id: i64,
    category_id: i64,
    /// An order of the limited and of the full token's session, with a line id each.
    limited_order: (i64, i64),
    full_order: (i64, i64),
    /// A payment option the full token's shopper saved.
    payment_option: String,
    /// An always-triggered offer of `product_id`, in the POP [`POP`].
    offer_id: i64,
    /// A promotional-URL offer (`offerId`) the cart routes' fixture names.
    promotion_id: i64,
    /// A subscription the full token's shopper bought.
    subscription_id: i64,
    /// A wish list of the full token's shopper (holding `product_id`).
    wish_list_id: i64,
}

/// The fixture's point of promotion.
const POP: &str = "Fixture_POP";

async fn anonymous_token(app: &TestApp, api_key: &str) -> String {
    let body: Value = app
        .token_with(api_key, None, &[("grant_type", "password")])
        .await
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn fixture() -> Fixture {
    let app = spawn_app().await;
    let store = &app.state.store;
    let summary =
        provision::import_catalog(store, SITE, provision::demo_catalog().unwrap(), app.now())
            .await
            .unwrap();
    let category_id = store.categories(&site_id()).await.unwrap()[0].id;

    // Expired: a site whose session (token) TTL is one second.
    let short = app.site_with_public_key("shortsite", Some(1)).await;
    let expired = anonymous_token(&app, &short).await;

    let other = app.site_with_public_key("othersite", None).await;
    let other_site = anonymous_token(&app, &other).await;

    let revoked = app.anonymous_pair().await.access;
    let response = app.end_session(&revoked).await;
    assert_eq!(response.status(), 200, "revocation");

    let limited = app.anonymous_pair().await.access;
    let full = app.shopper_pair().await.access;
    // Both sessions in a private store (no prices of its own): `purchase-plan` has one to show.
    let plan = store
        .create_purchase_plan(
            &site_id(),
            &shopkeeper::store::PlanSettings {
                name: Some("Policy plan".into()),
                add_rules: vec![shopkeeper::store::NewPlanRule {
                    method: shopkeeper::domain::purchase_plans::AccessMethod::EmailDomain,
                    value: "example.com".into(),
                    pin_hash: None,
                }],
                ..Default::default()
            },
            app.now(),
        )
        .await
        .unwrap();
    for token in [&limited, &full] {
        let response = app
            .http
            .post(app.url("/v1/shoppers/me/purchase-plan/authorize"))
            .bearer_auth(token)
            .json(&serde_json::json!({"purchasePlanAuthorize": {"id": plan.id, "emailDomain": "example.com"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "authorizing the fixture's sessions");
    }
    let product_id = summary.product_ids[0];
    let physical_id = store.variations(summary.product_ids[1]).await.unwrap()[0].id;
    let mut orders = Vec::new();
    for token in [&limited, &full] {
        let order = app.buy(token, product_id).await;
        let line = store.order_lines(order).await.unwrap()[0].id;
        orders.push((order, line));
    }
    let reusable = app.create_source(crate::helpers::APPROVE_CARD, true).await;
    let response = app.apply_source(&full, &reusable).await;
    assert_eq!(response.status(), 200, "saving a payment option");
    let offer = shopkeeper::offers::create(
        store,
        SITE,
        &serde_json::json!({"name": "Fixture offer", "type": "Discount", "percentOff": "10",
                            "productIds": [product_id]})
        .to_string(),
        app.now(),
    )
    .await
    .unwrap();
    let offer_id = offer["id"].as_i64().unwrap();
    shopkeeper::offers::create_pop(store, SITE, POP, app.now())
        .await
        .unwrap();
    shopkeeper::offers::add_to_pop(store, SITE, POP, offer_id)
        .await
        .unwrap();
    // The full token's shopper buys the demo's monthly subscription.
    crate::helpers::ok_json(app.add_to_cart(&full, summary.product_ids[2], 1).await).await;
    crate::store_credit::put_billing_address(&app, &full).await;
    let terms = app
        .http
        .post(app.url("/v1/shoppers/me/carts/active"))
        .bearer_auth(&full)
        .json(&serde_json::json!({"cart": {"termsOfSalesAcceptance": true}}))
        .send()
        .await
        .unwrap();
    crate::helpers::ok_json(terms).await;
    let response = app.apply_source(&full, &reusable).await;
    assert_eq!(response.status(), 200, "the subscription's source");
    crate::helpers::ok_json(app.submit(&full).await).await;
    let subscription_id = store
        .subscriptions_of(&site_id(), app.shopper_id)
        .await
        .unwrap()[0]
        .id;
    let promotion = shopkeeper::offers::create(
        store,
        SITE,
        &serde_json::json!({"name": "Fixture promotion", "type": "Discount", "level": "order",
                            "trigger": "promotional-url", "percentOff": "5"})
        .to_string(),
        app.now(),
    )
    .await
    .unwrap();
    let promotion_id = promotion["id"].as_i64().unwrap();
    let wish_list_id = new_wish_list(&app, &full, product_id).await;
    // Past the one-second TTL of the expired token.
    app.advance_clock(2).await;
    Fixture {
        limited,
        full,
        expired,
        revoked,
        other_site,
        product_id,
        physical_id,
        category_id,
        limited_order: orders[0],
        full_order: orders[1],
        payment_option: reusable,
        offer_id,
        promotion_id,
        subscription_id,
        wish_list_id,
        app,
    }
}

/// A new wish list of `full`'s shopper, holding `product_id`: its id.
async fn new_wish_list(app: &TestApp, full: &str, product_id: i64) -> i64 {
    let response = app
        .http
        .post(app.url("/v1/shoppers/me/wish-lists"))
        .bearer_auth(full)
        .json(&serde_json::json!({"wishList": {"name": "Fixture list",
                                  "products": {"product": [{"id": product_id}]}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "creating a wish list");
    let body: Value = response.json().await.unwrap();
    body["wishList"]["id"].as_i64().unwrap()
}

impl Fixture {
    /// The session-bound resources (cart lines, orders, payment options) of a credential:
    /// the limited token's for it, the full token's for every other credential.
    fn token_of(&self, credential: Credential) -> &str {
        match credential {
            Credential::Limited => &self.limited,
            _ => &self.full,
        }
    }

    /// The row's path with real ids of this site's data filled in; ids of session-bound
    /// resources are those of `credential`'s session (created here when needed).
    async fn concrete_path(&self, route: &Route, credential: Credential) -> String {
        let token = self.token_of(credential);
        let mut path = route.path.to_owned();
        if path.contains("/carts/active/line-items/{id}") {
            let cart =
                crate::helpers::ok_json(self.app.add_to_cart(token, self.product_id, 1).await)
                    .await;
            let id = cart["cart"]["lineItems"]["lineItem"][0]["id"]
                .as_i64()
                .unwrap();
            path = path.replace("{id}", &id.to_string());
        }
        if let Some((kind, _)) = path
            .strip_prefix("/v1/shoppers/me/carts/active/")
            .and_then(|rest| rest.split_once("-address/suggestions"))
        {
            // An address with something to correct, so that suggestion 1 exists.
            let response = self
                .app
                .http
                .put(
                    self.app
                        .url(&format!("/v1/shoppers/me/carts/active/{kind}-address")),
                )
                .bearer_auth(token)
                .json(
                    &serde_json::json!({"address": {"line1": "1  Main St", "city": "Austin",
                    "postalCode": "787011234", "country": "US"}}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 204);
        }
        if path.contains("/shipping-options") {
            crate::helpers::ok_json(self.app.add_to_cart(token, self.physical_id, 1).await).await;
        }
        if path.contains("/orders/{id}") {
            let (order, line) = if credential == Credential::Limited {
                self.limited_order
            } else {
                self.full_order
            };
            path = path
                .replace("{id}", &order.to_string())
                .replace("{lineItemId}", &line.to_string());
        }
        if path.contains("/payment-options/{id}") && route.method == "DELETE" {
            // A fresh option each time, so a DELETE that passes finds one (and the fixture's
            // stays for the GET).
            let fresh = self
                .app
                .create_source(crate::helpers::APPROVE_CARD, true)
                .await;
            let response = self.app.apply_source(&self.full, &fresh).await;
            assert_eq!(response.status(), 200, "saving a payment option");
            path = path.replace("{id}", &fresh);
        }
        path = path.replace(
            "/payment-options/{id}",
            &format!("/payment-options/{}", self.payment_option),
        );
        let mut path = path
            .replace("/products/{id}", &format!("/products/{}", self.product_id))
            .replace(
                "/categories/{id}",
                &format!("/categories/{}", self.category_id),
            );
        if path.contains("/addresses/{id}") {
            // A fresh address each time, so a DELETE that passes finds one.
            let id = self
                .app
                .state
                .store
                .save_address(
                    self.app.shopper_id,
                    None,
                    &SavedAddress {
                        address: PostalAddress {
                            line1: "1 Main St".into(),
                            city: "Minneapolis".into(),
                            country: "US".into(),
                            ..Default::default()
                        },
                        ..Default::default()
                    },
                    self.app.now(),
                )
                .await
                .unwrap()
                .unwrap();
            path = path.replace("{id}", &id.to_string());
        }
        if path.contains("/applied-offers/{offerId}") {
            // The credential's cart names the offer first, so a DELETE that passes finds it.
            let named = self
                .app
                .http
                .post(self.app.url(&format!(
                    "/v1/shoppers/me/carts/active?offerId={}",
                    self.promotion_id
                )))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            crate::helpers::ok_json(named).await;
            path = path.replace("{offerId}", &self.promotion_id.to_string());
        }
        if path == "/v1/shoppers/me/wish-lists" && route.method == "DELETE" {
            // The full token deletes a fresh list each time (so a DELETE that passes finds
            // one, and the fixture's stays); other credentials are refused before the id.
            let id = if credential == Credential::Full {
                new_wish_list(&self.app, &self.full, self.product_id).await
            } else {
                self.wish_list_id
            };
            path = format!("{path}?id={id}");
        }
        if path.contains("/wish-lists/{id}") {
            path = path.replace("{id}", &self.wish_list_id.to_string());
        }
        if path.contains("subscriptions/{id}") {
            path = path.replace("{id}", &self.subscription_id.to_string());
        }
        if path.starts_with("/v1/shoppers/me/offers/{id}") {
            path = path
                .replace("{id}", &self.offer_id.to_string())
                .replace("{productId}", &self.product_id.to_string());
        }
        path = path.replace("{id}", "1").replace("{popName}", POP);
        path.replace("{productId}", "1")
            .replace("{lineItemId}", "1")
    }

    async fn call(&self, route: &Route, path: &str, credential: Credential) -> Response {
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let mut request = self.app.http.request(method, self.app.url(path));
        if path.contains("product-search") {
            request = request.query(&[("keyword", "antivirus")]);
        }
        if path.contains("products/inventory-status") {
            request = request.query(&[("productIds", self.product_id.to_string())]);
        }
        let key = self.app.public_key.as_str();
        request = match credential {
            Credential::Nothing => request,
            Credential::ApiKeyOnly => request.query(&[("apiKey", key)]),
            Credential::Limited => request.bearer_auth(&self.limited),
            // The `token` query parameter is the documented alternative to the header.
            Credential::Full => request.query(&[("token", self.full.as_str())]),
            Credential::Expired => request.bearer_auth(&self.expired),
            Credential::Revoked => request.bearer_auth(&self.revoked),
            Credential::OtherSiteToken => {
                request.bearer_auth(&self.other_site).header("apiKey", key)
            }
            Credential::ExpiredBesideApiKey => {
                request.bearer_auth(&self.expired).query(&[("apiKey", key)])
            }
        };
        if route.method == "POST" || route.method == "PUT" {
            // An empty object: judged by the handler only once the caller passed the access
            // check.
            request = request
                .header("content-type", "application/json")
                .body("{}");
        }
        request.send().await.unwrap()
    }
}

/// What a credential must get on a route of `level`: Ok(()) = passes the access check,
/// Err((status, code)) = refused.
fn expected(level: Level, credential: Credential) -> Result<(), (u16, &'static str)> {
    use Credential::*;
    match (credential, level) {
        (Full, _) => Ok(()),
        (Limited, Level::Full) => Err((403, "forbidden")),
        (Limited, _) => Ok(()),
        (ApiKeyOnly, Level::TokenOptional) => Ok(()),
        _ => Err((401, "invalid_token")),
    }
}

async fn error_code(response: Response) -> (u16, Option<String>, Value) {
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

#[tokio::test]
async fn every_provided_row_answers_every_credential_as_the_table_says() {
    let f = fixture().await;
    let mut checked = 0;
    for route in ROUTES.iter().filter(|r| r.is_provided()) {
        for credential in ALL {
            let path = f.concrete_path(route, credential).await;
            let response = f.call(route, &path, credential).await;
            let (status, challenge, body) = error_code(response).await;
            let what = format!(
                "{} {path} with {credential:?}: {status} {body}",
                route.method
            );
            match expected(route.level, credential) {
                Ok(()) => {
                    let ok = match route.method {
                        // A subscription's orders and pending actions answer 202, as their
                        // pages document.
                        "GET" if route.path.starts_with("/v1/subscriptions/{id}/") => status == 202,
                        // The web checkout transfers the browser (`302 Found`, as documented).
                        "GET" if route.path.ends_with("/web-checkout") => status == 302,
                        "GET" => status == 200,
                        "DELETE" => status == 204,
                        // Routes read `{}` tolerantly (as no body, or an empty object), so
                        // what follows depends on the route: a 2xx, a 400 for a missing field,
                        // a 404 or 409 of the state. Access was granted when it is neither 401
                        // nor 403, and never a 5xx.
                        _ => ![401, 403].contains(&status) && status < 500,
                    };
                    assert!(ok, "expected access: {what}");
                }
                Err((want_status, want_code)) => {
                    assert_eq!(status, want_status, "{what}");
                    assert_eq!(body["errors"]["error"][0]["code"], want_code, "{what}");
                    let challenge = challenge.unwrap_or_default();
                    assert!(challenge.starts_with("Bearer"), "challenge of {what}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 8 * 20, "walked {checked} cases");
}

#[tokio::test]
async fn rows_not_provided_and_unknown_paths_answer_404() {
    let f = fixture().await;
    for route in ROUTES.iter().filter(|r| !r.is_provided()) {
        let path = f.concrete_path(route, Credential::Full).await;
        let (status, _, body) = error_code(f.call(route, &path, Credential::Full).await).await;
        assert_eq!(status, 404, "{} {path}: {body}", route.method);
        assert_eq!(body["errors"]["error"][0]["code"], "resource-not-found");
    }
    let response = f
        .app
        .http
        .get(f.app.url("/v1/shoppers/me/no-such-resource"))
        .bearer_auth(&f.full)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn every_served_route_is_in_the_table_and_json_suffix_works() {
    let f = fixture().await;
    // Methods outside the table on the table's paths are refused, never served.
    for route in ROUTES.iter().filter(|r| r.is_provided()) {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if ROUTES
                .iter()
                .any(|r| r.method == method && r.path == route.path && r.is_provided())
            {
                continue;
            }
            let path = f.concrete_path(route, Credential::Full).await;
            let response = f
                .app
                .http
                .request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    f.app.url(&path),
                )
                .bearer_auth(&f.full)
                .send()
                .await
                .unwrap();
            assert!(
                [404, 405].contains(&response.status().as_u16()),
                "{method} {path} is served but not in the table: {}",
                response.status()
            );
        }
        // The `.json` suffix on every served GET path.
        if route.method == "GET" {
            let path = format!("{}.json", f.concrete_path(route, Credential::Full).await);
            let response = f.call(route, &path, Credential::Full).await;
            let documented = if route.path.starts_with("/v1/subscriptions/{id}/") {
                202
            } else if route.path.ends_with("/web-checkout") {
                302
            } else {
                200
            };
            assert_eq!(response.status(), documented, "GET {path}");
        }
    }
}

#[test]
fn readme_route_table_is_generated_from_the_access_table() {
    if crate::helpers::storage_free_test_ran_in_first_pass() {
        return;
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    assert!(
        readme.contains(&markdown_table()),
        "README.md's route table drifted from domain::access_policy; paste:\n{}",
        markdown_table()
    );
}
