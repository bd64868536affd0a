//! Offers on carts: an always-triggered offer prices the cart's lines and totals, inside its
//! validity window only (moved with the test clock, never slept).

use crate::checkout::catalog;
use crate::helpers::*;
use serde_json::{Value, json};

/// Creates an offer on the test site from a JSON definition, as `shopkeeper offer create`.
async fn create_offer(app: &TestApp, definition: Value) -> Value {
    shopkeeper::offers::create(&app.state.store, SITE, &definition.to_string(), app.now())
        .await
        .unwrap()
}

fn value(money: &Value) -> f64 {
    money["value"].as_f64().unwrap()
}

#[tokio::test]
async fn an_always_offer_prices_the_cart_inside_its_window() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let ends = shopkeeper::domain::time::iso8601(app.now() + 3_600);
    create_offer(
        &app,
        json!({"name": "Launch week", "type": "Discount", "percentOff": "15",
               "productIds": [product], "endsAt": ends}),
    )
    .await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 3).await).await;

    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    let line = &cart["cart"]["lineItems"]["lineItem"][0]["pricing"];
    // 3 × $39.99 = $119.97; 15 % of it = $17.9955 → $18.00 off the line, once.
    assert_eq!(value(&line["salePriceWithQuantity"]), 101.97, "{line}");
    assert_eq!(line["formattedSalePriceWithQuantity"], "$101.97");
    assert_eq!(value(&line["listPriceWithQuantity"]), 149.97);
    assert_eq!(value(&line["totalDiscountWithQuantity"]), 48.00);
    let pricing = &cart["cart"]["pricing"];
    assert_eq!(value(&pricing["subtotal"]), 149.97, "{pricing}");
    assert_eq!(value(&pricing["discount"]), 48.00);
    assert_eq!(value(&pricing["orderTotal"]), 101.97);

    // An hour later the offer is over: the sale price again.
    app.advance_clock(3_601).await;
    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    let line = &cart["cart"]["lineItems"]["lineItem"][0]["pricing"];
    assert_eq!(value(&line["salePriceWithQuantity"]), 119.97, "{line}");
    assert_eq!(value(&cart["cart"]["pricing"]["orderTotal"]), 119.97);
}

#[tokio::test]
async fn the_order_keeps_what_the_offers_took_off_each_line_and_the_order() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    create_offer(
        &app,
        json!({"name": "Line", "type": "Discount", "percentOff": "10", "productIds": [product]}),
    )
    .await;
    create_offer(
        &app,
        json!({"name": "Order", "type": "Discount", "level": "order",
               "amountOff": {"currency": "USD", "value": "1.00"}}),
    )
    .await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 3).await).await;
    let card = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &card).await).await;
    crate::store_credit::put_billing_address(&app, &token).await;
    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    let cart_line = cart["cart"]["lineItems"]["lineItem"][0]["pricing"].clone();
    // 3 × $39.99 = $119.97, 10 % off = $12.00 (11.997 → 12.00): $107.97; then $1.00 off the order.
    assert_eq!(
        value(&cart_line["salePriceWithQuantity"]),
        107.97,
        "{cart_line}"
    );
    assert_eq!(value(&cart["cart"]["pricing"]["orderTotal"]), 106.97);

    let submitted = ok_json(app.submit(&token).await).await;
    let order_id = submitted["submitCart"]["order"]["id"].as_i64().unwrap();
    let order = app
        .get_ok(&token, &format!("/v1/shoppers/me/orders/{order_id}"))
        .await;
    let order_line = &order["order"]["lineItems"]["lineItem"][0]["pricing"];
    for field in [
        "salePriceWithQuantity",
        "salePrice",
        "totalDiscountWithQuantity",
        "productTax",
    ] {
        assert_eq!(order_line[field], cart_line[field], "{field}: {order_line}");
    }
    assert_eq!(
        value(&order["order"]["pricing"]["total"]),
        106.97,
        "{order}"
    );
}
