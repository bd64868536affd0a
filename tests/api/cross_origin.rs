//! A storefront page served from another origin (`localhost:<port>`, the API being on
//! `127.0.0.1:<port>`) buys through the Shopper API in headless Chromium with `fetch`,
//! `Authorization: Bearer` and JSON bodies: sign-up (username beside `externalReferenceId`, as
//! Digital River's WordPress plugin sends it), sign-in, the shopper, a product, cart
//! add/update/remove, addresses (create, update by nickname and by id), shipping options, a
//! payment source and submit. Each of those calls is preflighted and its answer readable only
//! if CORS allows it, so the page finishing is the proof; the order is then checked through
//! the API against what the test stored.

use crate::helpers::*;
use axum::response::Html;
use axum::routing::get;
use serde_json::Value;
use shopkeeper::domain::catalog::amount_value;
use std::time::Duration;

const SCRIPT: &str = include_str!("fixtures/cross_origin_storefront.js");

/// Serves the storefront page on `localhost`, a different origin from the API's; returns its
/// base URL.
async fn serve_storefront() -> String {
    let page =
        Html("<!doctype html><title>storefront</title><script src=\"/storefront.js\"></script>");
    let router = axum::Router::new()
        .route("/", get(move || async move { page }))
        .route(
            "/storefront.js",
            get(|| async { ([("content-type", "text/javascript")], SCRIPT) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://localhost:{port}")
}

#[tokio::test]
async fn a_storefront_on_another_origin_buys_through_the_api_with_fetch() {
    let test = "a_storefront_on_another_origin_buys_through_the_api_with_fetch";
    let app = spawn_app().await;
    let (_, physical) = crate::checkout::catalog(&app).await;
    let storefront = serve_storefront().await;
    assert!(!storefront.starts_with(&app.address), "two origins");
    let Some(browser) = chromium(test, &[]).await else {
        return;
    };
    let client = &browser.client;
    let payments_key = app.payments_key().await;
    let page = url_with(
        &format!("{storefront}/"),
        &[
            ("api", &app.address),
            ("key", &app.public_key),
            ("paymentsKey", &payments_key),
            ("product", &physical.to_string()),
            ("card", APPROVE_CARD),
            ("username", "ada.cross.origin"),
        ],
    );
    client.goto(&page).await.unwrap();
    // Polls the page (not the server's state) until its script has finished.
    let mut report = Value::Null;
    for _ in 0..600 {
        report = client
            .execute("return window.report", vec![])
            .await
            .unwrap();
        if !report.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(report["ok"], true, "the storefront's calls: {report:#}");

    // What the page did is what the API stored: the order of the new shopper, with the
    // product and the quantity the page left in the cart (added 1, set to 3, removed, added 2).
    let result = &report["result"];
    let token = result["accessToken"].as_str().unwrap();
    let order_id = result["orderId"].as_i64().unwrap();
    let order = app
        .get_ok(token, &format!("/v1/shoppers/me/orders/{order_id}"))
        .await;
    let lines = order["order"]["lineItems"]["lineItem"].as_array().unwrap();
    assert_eq!(lines.len(), 1, "{order}");
    assert_eq!(lines[0]["product"]["id"], physical);
    assert_eq!(lines[0]["quantity"], 2);
    let stored = app
        .state
        .store
        .product(&site_id(), physical)
        .await
        .unwrap()
        .expect("the variation is stored");
    assert_eq!(
        lines[0]["pricing"]["salePriceWithQuantity"]["value"],
        amount_value(stored.sale_price_minor * 2, "USD"),
        "{order}"
    );
    assert_eq!(
        order["order"]["shippingAddress"]["city"], "Bloomington",
        "{order}"
    );
    let me = app.get_ok(token, "/v1/shoppers/me").await;
    assert_eq!(me["shopper"]["username"], "ada.cross.origin");
    assert_eq!(me["shopper"]["id"], result["shopperId"]);
    assert_eq!(me["shopper"]["externalReferenceId"], "crm-ada-1", "{me}");
    // The address saved three times (create, by nickname, by id) is one address.
    let addresses = app.get_ok(token, "/v1/shoppers/me/addresses").await;
    let saved = addresses["addresses"]["address"].as_array().unwrap();
    assert_eq!(saved.len(), 1, "{addresses}");
    assert_eq!(saved[0]["id"], result["addressId"]);
    assert_eq!(saved[0]["city"], "Bloomington");
    client.clone().close().await.unwrap();
}
