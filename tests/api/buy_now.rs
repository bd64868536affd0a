//! `POST /v1/shoppers/me/products/{id}/purchase`, the docs' Transparent Commerce purchase: one
//! call orders a product with the shopper's defaults (`201`, `Location` naming the order), in a
//! cart of its own, so the active cart is left as it was; every refusal orders nothing.

use crate::checkout::{catalog, save_default_berlin_address, shopper_error};
use crate::helpers::*;
use serde_json::{Value, json};

async fn purchase(
    app: &TestApp,
    token: &str,
    product: i64,
    query: &[(&str, &str)],
) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/v1/shoppers/me/products/{product}/purchase")))
        .bearer_auth(token)
        .query(query)
        .send()
        .await
        .unwrap()
}

/// Saves a reusable test card as the shopper's default payment option.
async fn save_default_card(app: &TestApp, full: &str, card: &str) -> String {
    let source = app.create_source(card, true).await;
    let response = app
        .http
        .post(app.url("/v1/shoppers/me/payment-options"))
        .bearer_auth(full)
        .json(&json!({"paymentOption": {"sourceId": source, "isDefault": true}}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().await.unwrap()
    );
    source
}

async fn order_count(app: &TestApp) -> i64 {
    app.state.store.order_count(&site_id()).await.unwrap()
}

#[tokio::test]
async fn one_call_orders_the_product_with_the_shoppers_defaults_and_leaves_the_cart_alone() {
    let app = spawn_app().await;
    let (ebook, keyboard) = catalog(&app).await;
    let store = &app.state.store;
    store.set_tax_rate(&site_id(), "DE", 1900).await.unwrap();
    let stock = store.available_quantity(keyboard).await.unwrap().unwrap();
    save_default_berlin_address(&app).await;
    let full = app.shopper_pair().await.access;
    let source = save_default_card(&app, &full, APPROVE_CARD).await;

    // Something else already waits in the active cart.
    ok_json(app.add_to_cart(&full, ebook, 1).await).await;
    let before = app.get_ok(&full, "/v1/shoppers/me/carts/active").await;

    let response = purchase(&app, &full, keyboard, &[("quantity", "2")]).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        response.text().await.unwrap(),
        "",
        "the docs' answer has no body"
    );
    let order_id = location
        .strip_prefix(&app.url("/v1/shoppers/me/orders/"))
        .unwrap_or_else(|| panic!("Location {location:?} names no order"))
        .to_owned();

    // The order: the keyboard alone, shipped to the default address, paid by the default card.
    let order = app
        .get_ok(&full, &format!("/v1/shoppers/me/orders/{order_id}"))
        .await;
    let lines = order["order"]["lineItems"]["lineItem"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(lines.len(), 1, "{order}");
    assert_eq!(lines[0]["product"]["id"], keyboard);
    assert_eq!(
        order["order"]["paymentMethod"]["creditCard"]["lastFourDigits"],
        "0129"
    );
    assert_eq!(lines[0]["quantity"], 2);
    assert_eq!(order["order"]["shippingAddress"]["city"], "Berlin");
    assert_eq!(order["order"]["billingAddress"]["country"], "DE");
    // 2 × 89.00 + 5.00 standard shipping; 19 % tax on 183.00 = 34.77.
    assert_eq!(
        order["order"]["pricing"]["total"]["value"],
        json!(217.77),
        "{order}"
    );
    assert_eq!(
        store.available_quantity(keyboard).await.unwrap(),
        Some(stock - 2)
    );
    let orders = app.get_ok(&full, "/v1/shoppers/me/orders").await;
    assert_eq!(orders["orders"]["totalResults"], 1);
    // A reusable card is charged, not spent: it buys again.
    assert_eq!(purchase(&app, &full, keyboard, &[]).await.status(), 201);
    assert_eq!(order_count(&app).await, 2);
    let saved = app.get_ok(&full, "/v1/shoppers/me/payment-options").await;
    assert_eq!(
        saved["paymentOptions"]["paymentOption"][0]["id"],
        source.as_str()
    );

    // The active cart is as it was: same id, the e-book alone.
    let after = app.get_ok(&full, "/v1/shoppers/me/carts/active").await;
    assert_eq!(after["cart"]["id"], before["cart"]["id"]);
    assert_eq!(after["cart"]["lineItems"], before["cart"]["lineItems"]);
}

#[tokio::test]
async fn refusals_order_nothing_and_leave_the_cart_alone() {
    let app = spawn_app().await;
    let (ebook, keyboard) = catalog(&app).await;
    let full = app.shopper_pair().await.access;
    let limited = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&full, ebook, 1).await).await;
    let before = app.get_ok(&full, "/v1/shoppers/me/carts/active").await;

    // A limited token never spends: the route is full-access.
    shopper_error(
        purchase(&app, &limited, keyboard, &[]).await,
        403,
        "forbidden",
    )
    .await;
    // Nothing saved to apply yet; then an address but no payment option.
    shopper_error(
        purchase(&app, &full, keyboard, &[]).await,
        409,
        "apply-shopper-failure",
    )
    .await;
    save_default_berlin_address(&app).await;
    let body = shopper_error(
        purchase(&app, &full, keyboard, &[]).await,
        409,
        "apply-shopper-failure",
    )
    .await;
    assert!(
        body.to_string().contains("no saved payment option"),
        "{body}"
    );

    save_default_card(&app, &full, APPROVE_CARD).await;
    shopper_error(
        purchase(&app, &full, 999_999, &[]).await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        purchase(&app, &full, keyboard, &[("quantity", "0")]).await,
        400,
        "invalid-request",
    )
    .await;
    shopper_error(
        purchase(&app, &full, keyboard, &[("quantity", "x")]).await,
        400,
        "invalid-request",
    )
    .await;
    // More than the stock: refused whole.
    let stock = app
        .state
        .store
        .available_quantity(keyboard)
        .await
        .unwrap()
        .unwrap();
    let response = purchase(
        &app,
        &full,
        keyboard,
        &[("quantity", &(stock + 1).to_string())],
    )
    .await;
    assert_eq!(response.status(), 409, "{}", response.text().await.unwrap());
    let response = app
        .http
        .post(app.url(&format!("/v1/shoppers/me/products/{keyboard}/purchase")))
        .bearer_auth(&full)
        .json(&json!({"cart": {"lineItems": {}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "the docs' request has no body");

    assert_eq!(order_count(&app).await, 0);
    assert_eq!(
        app.state.store.available_quantity(keyboard).await.unwrap(),
        Some(stock)
    );
    let after: Value = app.get_ok(&full, "/v1/shoppers/me/carts/active").await;
    assert_eq!(after["cart"]["id"], before["cart"]["id"]);
    assert_eq!(after["cart"]["lineItems"], before["cart"]["lineItems"]);
}
