//! Offers on carts: an always-triggered offer prices the cart's lines and totals, inside its
//! validity window only (moved with the test clock, never slept).

use crate::checkout::catalog;
use crate::helpers::*;
use serde_json::{Value, json};

/// Creates an offer on the test site from a JSON definition, as `shopkeeper offer create`.
pub(crate) async fn create_offer(app: &TestApp, definition: Value) -> Value {
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

/// A guest's cart of one `product`, with a card and a billing address: ready to submit.
pub(crate) async fn ready_guest(app: &TestApp, product: i64) -> String {
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    let card = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &card).await).await;
    crate::store_credit::put_billing_address(app, &token).await;
    token
}

#[tokio::test]
async fn an_offer_with_n_uses_left_is_used_exactly_n_times_by_concurrent_submits() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let offer = create_offer(
        &app,
        json!({"name": "First three", "type": "Discount", "percentOff": "50",
               "productIds": [product], "totalLimit": 3}),
    )
    .await;
    let mut tokens = Vec::new();
    for _ in 0..16 {
        tokens.push(ready_guest(&app, product).await);
    }
    let answers = app.submit_together(tokens.clone()).await;
    // Exactly three orders got the offer. A submit that priced the cart with it after the
    // third use was counted is refused (the documented 409, cart unchanged), and its retry
    // places the order at the price the cart now shows; a submit that began after the third
    // use priced the cart without it.
    let discounted =
        |body: &Value| value(&body["submitCart"]["order"]["pricing"]["total"]) == 20.00 - 0.01;
    let mut with_offer = 0;
    for (token, (status, body)) in tokens.iter().zip(&answers) {
        match status {
            200 if discounted(body) => with_offer += 1,
            200 => assert_eq!(
                value(&body["submitCart"]["order"]["pricing"]["total"]),
                39.99
            ),
            409 => {
                assert_eq!(
                    body["errors"]["error"][0]["code"],
                    "offer-usage-limit-exceeded"
                );
                let cart = app.get_ok(token, "/v1/shoppers/me/carts/active").await;
                assert_eq!(cart["cart"]["totalItemsInCart"], 1, "{cart}");
                assert_eq!(
                    value(&cart["cart"]["pricing"]["orderTotal"]),
                    39.99,
                    "{cart}"
                );
                let order = ok_json(app.submit(token).await).await;
                assert_eq!(
                    value(&order["submitCart"]["order"]["pricing"]["total"]),
                    39.99
                );
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(with_offer, 3, "{answers:?}");
    let stored = app
        .state
        .store
        .offer(&site_id(), offer["id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.uses, 3);
}

#[tokio::test]
async fn a_per_shopper_limit_counts_a_guests_orders_by_their_email_address() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    create_offer(
        &app,
        json!({"name": "Once each", "type": "Discount", "level": "order",
               "amountOff": {"currency": "USD", "value": "5.00"}, "perShopperLimit": 1}),
    )
    .await;
    let first = ready_guest(&app, product).await;
    ok_json(app.submit(&first).await).await;
    // Another guest session, the same e-mail address (ada@example.com).
    let second = ready_guest(&app, product).await;
    crate::checkout::shopper_error(
        app.submit(&second).await,
        409,
        "shopper-usage-limit-exceeded",
    )
    .await;
    let cart = app.get_ok(&second, "/v1/shoppers/me/carts/active").await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 1, "{cart}");
}

#[tokio::test]
async fn the_demos_coupon_takes_ten_percent_off_with_its_code_and_its_pop_features_products_at_their_prices()
 {
    let app = spawn_app().await;
    let start = shopkeeper::http::start_page::redirect_uri(&app.state.web);
    let demo =
        shopkeeper::provision::create_demo(&app.state.store, &app.state.hasher, &start, app.now())
            .await
            .unwrap();
    assert_eq!(demo.catalog.offers.created, 2);
    let offers = shopkeeper::offers::list(&app.state.store, "demo")
        .await
        .unwrap();
    let offers = offers.as_array().unwrap();
    let welcome = offers
        .iter()
        .find(|o| o["couponCodes"] == json!(["WELCOME10"]))
        .unwrap();
    assert_eq!(
        (&welcome["type"], &welcome["level"], &welcome["trigger"]),
        (&json!("Discount"), &json!("order"), &json!("coupon"))
    );
    assert_eq!(welcome["percentOff"], "10.00");
    let featured = offers
        .iter()
        .find(|o| o["type"] == "FeatureProducts")
        .unwrap();
    assert_eq!(featured["trigger"], "always");
    assert!(featured.get("percentOff").is_none(), "{featured}");
    assert_eq!(
        featured["productIds"],
        json!([demo.catalog.product_ids[0], demo.catalog.product_ids[1]])
    );
    let pops = shopkeeper::offers::list_pops(&app.state.store, "demo")
        .await
        .unwrap();
    assert_eq!(
        pops,
        json!([{"name": "Home_topSeller", "offerIds": [featured["id"]]}])
    );

    // Neither changes a price: the demo download costs its sale price.
    let response = app
        .token_with(
            &demo.public_client.api_key,
            None,
            &[("grant_type", "password")],
        )
        .await;
    let token = ok_json(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    ok_json(
        app.add_to_cart(&token, demo.catalog.product_ids[0], 1)
            .await,
    )
    .await;
    let cart = app.get_ok(&token, "/v1/shoppers/me/carts/active").await;
    assert_eq!(
        value(&cart["cart"]["pricing"]["orderTotal"]),
        39.99,
        "{cart}"
    );
    // $49.99 listed, $39.99 on sale: the sale is all that comes off.
    assert_eq!(value(&cart["cart"]["pricing"]["discount"]), 10.00, "{cart}");
    // The code the first start prints takes 10 % off the order: $4.00 of $39.99.
    let coded = app
        .http
        .post(app.url("/v1/shoppers/me/carts/active?promoCode=WELCOME10"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let cart = ok_json(coded).await;
    assert_eq!(
        value(&cart["cart"]["pricing"]["orderTotal"]),
        35.99,
        "{cart}"
    );
    assert_eq!(value(&cart["cart"]["pricing"]["discount"]), 14.00, "{cart}");
}
