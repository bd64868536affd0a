//! A cart's coupon codes and named offers (`managing-offers-in-a-cart/`): applying a code
//! (`promoCode`) or naming an offer (`offerId`), the documented refusals, the warning for a
//! code the cart does not qualify for yet, the applied offers, removing one, resetting them,
//! and a code that runs out between apply and submit.

use crate::checkout::{catalog, shopper_error};
use crate::helpers::*;
use crate::offers::ready_guest;
use serde_json::{Value, json};

const CART: &str = "/v1/shoppers/me/carts/active";

async fn create_offer(app: &TestApp, definition: Value) -> i64 {
    crate::offers::create_offer(app, definition).await["id"]
        .as_i64()
        .unwrap()
}

fn value(money: &Value) -> f64 {
    money["value"].as_f64().unwrap()
}

async fn post(app: &TestApp, token: &str, path_and_query: &str) -> reqwest::Response {
    app.http
        .post(app.url(path_and_query))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn delete(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http
        .delete(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_coupon_code_prices_the_cart_and_the_order_and_is_counted_at_submit() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let offer = create_offer(
        &app,
        json!({"name": "Ten off the order", "type": "Discount", "level": "order",
               "trigger": "coupon", "percentOff": "10", "couponCodes": ["Save10"]}),
    )
    .await;
    let token = ready_guest(&app, product).await;
    let before = app.get_ok(&token, CART).await;
    assert_eq!(
        value(&before["cart"]["pricing"]["orderTotal"]),
        39.99,
        "{before}"
    );

    // Matched without regard to case; no body (what the WordPress plugin sends).
    let cart = ok_json(post(&app, &token, &format!("{CART}?promoCode=save10")).await).await;
    assert!(cart.get("warnings").is_none(), "{cart}");
    let pricing = &cart["cart"]["pricing"];
    // 10 % of $39.99 = $3.999 → $4.00 off the order.
    assert_eq!(value(&pricing["orderTotal"]), 35.99, "{pricing}");
    assert_eq!(pricing["formattedOrderTotal"], "$35.99");
    // Applying it again changes nothing.
    let again = ok_json(post(&app, &token, &format!("{CART}?promoCode=SAVE10")).await).await;
    assert_eq!(again["cart"]["pricing"], cart["cart"]["pricing"]);

    let applied = app.get_ok(&token, &format!("{CART}/applied-offers")).await;
    let offers = applied["appliedOffers"].as_array().unwrap();
    assert_eq!(offers.len(), 1, "{applied}");
    assert_eq!(offers[0]["id"], offer.to_string());
    assert_eq!(offers[0]["appliedCouponCode"], "SAVE10");
    assert_eq!(offers[0]["cartDescription"], "Ten off the order");
    assert_eq!(offers[0]["type"], "Discount");
    assert_eq!(offers[0]["appliedTo"]["appliedLevel"], "Order");
    assert_eq!(offers[0]["appliedTo"]["cartId"], cart["cart"]["id"]);

    // Another cart without the code pays full price: the code triggers the offer.
    let other = ready_guest(&app, product).await;
    let other_cart = app.get_ok(&other, CART).await;
    assert_eq!(value(&other_cart["cart"]["pricing"]["orderTotal"]), 39.99);

    let stored = |app: &TestApp| {
        let store = app.state.store.clone();
        async move { store.offer(&site_id(), offer).await.unwrap().unwrap().uses }
    };
    assert_eq!(stored(&app).await, 0, "applying a code uses nothing");
    let order = ok_json(app.submit(&token).await).await;
    assert_eq!(
        value(&order["submitCart"]["order"]["pricing"]["total"]),
        35.99,
        "{order}"
    );
    assert_eq!(stored(&app).await, 1);
    // The next cart of the session starts without the code.
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    let next = app.get_ok(&token, CART).await;
    assert_eq!(
        value(&next["cart"]["pricing"]["orderTotal"]),
        39.99,
        "{next}"
    );
    let applied = app.get_ok(&token, &format!("{CART}/applied-offers")).await;
    assert_eq!(applied["appliedOffers"], json!([]));
}

#[tokio::test]
async fn unknown_switched_off_expired_and_used_up_codes_answer_the_documented_errors() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let ends = shopkeeper::domain::time::iso8601(app.now() + 60);
    create_offer(
        &app,
        json!({"name": "Short", "type": "Discount", "trigger": "coupon", "percentOff": "5",
               "couponCodes": ["SHORT"], "endsAt": ends}),
    )
    .await;
    create_offer(
        &app,
        json!({"name": "Off", "type": "Discount", "trigger": "coupon", "percentOff": "5",
               "couponCodes": ["OFF"], "enabled": false}),
    )
    .await;
    create_offer(
        &app,
        json!({"name": "Once", "type": "Discount", "level": "order", "trigger": "coupon",
               "percentOff": "5", "couponCodes": ["ONCE"], "totalLimit": 1}),
    )
    .await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    for (query, code) in [
        ("promoCode=NOPE", "invalid-coupon"),
        ("promoCode=", "invalid-coupon"),
        ("promoCode=%3Cscript%3E", "invalid-coupon"),
        ("promoCode=OFF", "offer-not-deployed"),
    ] {
        let body = shopper_error(
            post(&app, &token, &format!("{CART}?{query}")).await,
            409,
            code,
        )
        .await;
        if code == "invalid-coupon" {
            assert_eq!(
                body["errors"]["error"][0]["description"],
                "The coupon code is invalid. The shopper cannot use the coupon code."
            );
        }
    }
    app.advance_clock(61).await;
    shopper_error(
        post(&app, &token, &format!("{CART}?promoCode=SHORT")).await,
        409,
        "offer-not-active",
    )
    .await;
    // ONCE is used by one order; then it is used up for everyone.
    let first = ready_guest(&app, product).await;
    ok_json(post(&app, &first, &format!("{CART}?promoCode=ONCE")).await).await;
    ok_json(app.submit(&first).await).await;
    shopper_error(
        post(&app, &token, &format!("{CART}?promoCode=ONCE")).await,
        409,
        "offer-usage-limit-exceeded",
    )
    .await;
    // None of the refusals changed the cart.
    let cart = app.get_ok(&token, CART).await;
    assert_eq!(
        value(&cart["cart"]["pricing"]["orderTotal"]),
        39.99,
        "{cart}"
    );
    let applied = app.get_ok(&token, &format!("{CART}/applied-offers")).await;
    assert_eq!(applied["appliedOffers"], json!([]));
}

#[tokio::test]
async fn a_code_the_cart_does_not_qualify_for_yet_warns_then_applies_when_it_does() {
    let app = spawn_app().await;
    let (product, variation) = catalog(&app).await;
    create_offer(
        &app,
        json!({"name": "Five off the product", "type": "Discount", "trigger": "coupon",
               "amountOff": {"currency": "USD", "value": "5.00"}, "productIds": [product],
               "couponCodes": ["FIVE"]}),
    )
    .await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, variation, 1).await).await;
    let cart = ok_json(post(&app, &token, &format!("{CART}?promoCode=FIVE")).await).await;
    let warning = &cart["warnings"][0];
    assert_eq!(warning["code"], "couponcode_not_eligible", "{cart}");
    assert!(
        warning["description"].as_str().unwrap().contains("FIVE"),
        "{warning}"
    );
    let before = value(&cart["cart"]["pricing"]["orderTotal"]);
    // The code stays on the cart: adding the product brings the discount in.
    let cart = ok_json(app.add_to_cart(&token, product, 1).await).await;
    assert!(cart.get("warnings").is_none(), "{cart}");
    let total = value(&cart["cart"]["pricing"]["orderTotal"]);
    assert!(
        (total - (before + 39.99 - 5.00)).abs() < 0.001,
        "{before} + 39.99 − 5.00 ≠ {total}"
    );
    let lines = cart["cart"]["lineItems"]["lineItem"].as_array().unwrap();
    let line = lines
        .iter()
        .find(|l| l["product"]["id"].as_i64() == Some(product))
        .unwrap();
    assert_eq!(
        value(&line["pricing"]["salePriceWithQuantity"]),
        34.99,
        "{line}"
    );
    let applied = app.get_ok(&token, &format!("{CART}/applied-offers")).await;
    let offer = &applied["appliedOffers"][0];
    assert_eq!(offer["appliedTo"]["appliedLevel"], "Product(s) (Line Item)");
    // A string, as the docs' sample has it (the cart's line ids are numbers).
    assert_eq!(
        offer["appliedTo"]["lineItemId"],
        line["id"].to_string(),
        "{applied}"
    );
}

#[tokio::test]
async fn a_code_used_up_between_apply_and_submit_refuses_the_submit_and_leaves_the_cart() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let offer = create_offer(
        &app,
        json!({"name": "Last one", "type": "Discount", "level": "order", "trigger": "coupon",
               "amountOff": {"currency": "USD", "value": "10.00"}, "couponCodes": ["LAST"],
               "totalLimit": 1}),
    )
    .await;
    let first = ready_guest(&app, product).await;
    let second = ready_guest(&app, product).await;
    for token in [&first, &second] {
        let cart = ok_json(post(&app, token, &format!("{CART}?promoCode=LAST")).await).await;
        assert_eq!(
            value(&cart["cart"]["pricing"]["orderTotal"]),
            29.99,
            "{cart}"
        );
    }
    ok_json(app.submit(&first).await).await;
    let body = shopper_error(app.submit(&second).await, 409, "offer-usage-limit-exceeded").await;
    assert!(
        body["errors"]["error"][0]["description"]
            .as_str()
            .unwrap()
            .contains("LAST"),
        "{body}"
    );
    // Not an order at another price: the cart is as it was, code and all.
    let cart = app.get_ok(&second, CART).await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 1, "{cart}");
    shopper_error(app.submit(&second).await, 409, "offer-usage-limit-exceeded").await;
    // Removing the code lets the shopper order at the price the cart shows.
    no_content(delete(&app, &second, &format!("{CART}/applied-offers/{offer}")).await).await;
    let cart = app.get_ok(&second, CART).await;
    assert_eq!(
        value(&cart["cart"]["pricing"]["orderTotal"]),
        39.99,
        "{cart}"
    );
    let order = ok_json(app.submit(&second).await).await;
    assert_eq!(
        value(&order["submitCart"]["order"]["pricing"]["total"]),
        39.99
    );
    let stored = app
        .state
        .store
        .offer(&site_id(), offer)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.uses, 1);
}

#[tokio::test]
async fn removing_an_applied_offer_or_the_eligible_ones_prices_the_cart_without_them() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let item = create_offer(
        &app,
        json!({"name": "Always ten", "type": "Discount", "percentOff": "10",
               "productIds": [product]}),
    )
    .await;
    create_offer(
        &app,
        json!({"name": "Two off", "type": "Discount", "level": "order",
               "amountOff": {"currency": "USD", "value": "2.00"}}),
    )
    .await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    let total = |cart: &Value| value(&cart["cart"]["pricing"]["orderTotal"]);
    // $39.99 − 10 % ($4.00) − $2.00.
    assert_eq!(total(&app.get_ok(&token, CART).await), 33.99);
    let applied = app.get_ok(&token, &format!("{CART}/applied-offers")).await;
    assert_eq!(
        applied["appliedOffers"].as_array().unwrap().len(),
        2,
        "{applied}"
    );

    no_content(delete(&app, &token, &format!("{CART}/applied-offers/{item}")).await).await;
    assert_eq!(total(&app.get_ok(&token, CART).await), 37.99);
    let body = shopper_error(
        delete(&app, &token, &format!("{CART}/applied-offers/{item}")).await,
        404,
        "resource-not-found",
    )
    .await;
    assert!(
        body["errors"]["error"][0]["description"]
            .as_str()
            .unwrap()
            .contains("offer-not-found"),
        "{body}"
    );
    // The reset takes every offer off, always-triggered ones too, for this cart only.
    no_content(delete(&app, &token, &format!("{CART}/eligible-offers")).await).await;
    assert_eq!(total(&app.get_ok(&token, CART).await), 39.99);
    let applied = app.get_ok(&token, &format!("{CART}/applied-offers")).await;
    assert_eq!(applied["appliedOffers"], json!([]));
    let other = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&other, product, 1).await).await;
    assert_eq!(total(&app.get_ok(&other, CART).await), 33.99);
}

#[tokio::test]
async fn naming_an_offer_triggers_a_promotional_url_offer_and_refuses_the_others() {
    let app = spawn_app().await;
    let (product, variation) = catalog(&app).await;
    let promo = create_offer(
        &app,
        json!({"name": "Newsletter", "type": "Discount", "trigger": "promotional-url",
               "percentOff": "20", "productIds": [product]}),
    )
    .await;
    let always = create_offer(
        &app,
        json!({"name": "Always", "type": "FeatureProducts", "productIds": [product]}),
    )
    .await;
    let coupon = create_offer(
        &app,
        json!({"name": "Coded", "type": "Discount", "trigger": "coupon", "percentOff": "5",
               "couponCodes": ["CODED"]}),
    )
    .await;
    let token = app.anonymous_pair().await.access;
    // Not triggered: the promotional offer takes nothing off.
    let cart = ok_json(app.add_to_cart(&token, product, 1).await).await;
    assert_eq!(value(&cart["cart"]["pricing"]["orderTotal"]), 39.99);
    // The product-offer link (`addProductToCart`) with another product: refused.
    shopper_error(
        post(
            &app,
            &token,
            &format!("{CART}/line-items?productId={variation}&offerId={promo}"),
        )
        .await,
        409,
        "line-item-creation-failure",
    )
    .await;
    shopper_error(
        post(&app, &token, &format!("{CART}?offerId={always}")).await,
        409,
        "invalid-offer-id",
    )
    .await;
    shopper_error(
        post(&app, &token, &format!("{CART}?offerId={coupon}")).await,
        409,
        "precondition-failure",
    )
    .await;
    shopper_error(
        post(&app, &token, &format!("{CART}?offerId=999999")).await,
        404,
        "invalid-offer-id",
    )
    .await;
    // Named: 20 % of $39.99 = $7.998 → $8.00 off the line.
    let lines = ok_json(
        post(
            &app,
            &token,
            &format!("{CART}/line-items?productId={product}&offerId={promo}"),
        )
        .await,
    )
    .await;
    let line = &lines["lineItems"]["lineItem"][0];
    assert_eq!(line["quantity"], 2, "{lines}");
    // 2 × $39.99 = $79.98; 20 % = $15.996 → $16.00.
    assert_eq!(
        value(&line["pricing"]["salePriceWithQuantity"]),
        63.98,
        "{line}"
    );
}

#[tokio::test]
async fn shipping_options_show_their_cost_after_the_shipping_offer() {
    let app = spawn_app().await;
    let (_, shirt) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, shirt, 1).await).await;
    let options = app
        .get_ok(&token, &format!("{CART}/shipping-options"))
        .await;
    let first = options["shippingOptions"]["shippingOption"][0].clone();
    let id = first["id"].as_i64().unwrap();
    let cost = value(&first["cost"]);
    assert_eq!(value(&first["costWithDiscount"]), cost, "{first}");
    create_offer(
        &app,
        json!({"name": "Half shipping", "type": "Shipping Cost Discount", "percentOff": "50",
               "shippingOptionIds": [id]}),
    )
    .await;
    let options = app
        .get_ok(&token, &format!("{CART}/shipping-options"))
        .await;
    let cents = |money: &Value| (value(money) * 100.0).round() as i64;
    for option in options["shippingOptions"]["shippingOption"]
        .as_array()
        .unwrap()
    {
        let cost = cents(&option["cost"]);
        // Half of the chosen option, rounded half up to the cent; the others as they cost.
        let off = if option["id"].as_i64() == Some(id) {
            (cost + 1) / 2
        } else {
            0
        };
        assert_eq!(cents(&option["costWithDiscount"]), cost - off, "{option}");
    }
    let one = app
        .get_ok(&token, &format!("{CART}/shipping-options/{id}"))
        .await;
    let cart = app.get_ok(&token, CART).await;
    assert_eq!(
        one["shippingOption"]["costWithDiscount"], cart["cart"]["pricing"]["shippingAndHandling"],
        "{one} {cart}"
    );
}

#[tokio::test]
async fn a_coupon_offer_is_shown_only_to_the_cart_that_applied_its_code() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let offer = create_offer(
        &app,
        json!({"name": "Hidden", "type": "Discount", "trigger": "coupon", "percentOff": "5",
               "productIds": [product], "couponCodes": ["HIDDEN"]}),
    )
    .await;
    shopkeeper::offers::create_pop(&app.state.store, SITE, "Home_topSeller", app.now())
        .await
        .unwrap();
    shopkeeper::offers::add_to_pop(&app.state.store, SITE, "Home_topSeller", offer)
        .await
        .unwrap();
    let token = app.anonymous_pair().await.access;
    let other = app.anonymous_pair().await.access;
    let listed = |body: &Value| {
        body["offers"]["offer"]
            .as_array()
            .map(|list| {
                list.iter().any(|o| {
                    o["uri"]
                        .as_str()
                        .unwrap()
                        .ends_with(&format!("/offers/{offer}"))
                })
            })
            .unwrap_or(false)
    };
    assert!(!listed(&app.get_ok(&token, "/v1/shoppers/me/offers").await));
    shopper_error(
        app.get_as(&token, &format!("/v1/shoppers/me/offers/{offer}"))
            .await,
        404,
        "resource-not-found",
    )
    .await;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    ok_json(post(&app, &token, &format!("{CART}?promoCode=HIDDEN")).await).await;
    assert!(listed(&app.get_ok(&token, "/v1/shoppers/me/offers").await));
    let one = app
        .get_ok(&token, &format!("/v1/shoppers/me/offers/{offer}"))
        .await;
    assert_eq!(one["offer"]["trigger"], "User Triggered", "{one}");
    // Not to another shopper, and never in a POP's list.
    assert!(!listed(&app.get_ok(&other, "/v1/shoppers/me/offers").await));
    shopper_error(
        app.get_as(&other, &format!("/v1/shoppers/me/offers/{offer}"))
            .await,
        404,
        "resource-not-found",
    )
    .await;
    let pop = app
        .get_ok(
            &token,
            "/v1/shoppers/me/point-of-promotions/Home_topSeller/offers",
        )
        .await;
    assert!(!listed(&pop), "{pop}");
}

/// `POST carts/active` with `body`, as JSON.
async fn post_body(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_body_applies_promotional_offers_by_slot_with_a_description_and_an_override() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let item = create_offer(
        &app,
        json!({"name": "Item promo", "type": "Discount", "trigger": "promotional-url",
               "percentOff": "10", "productIds": [product], "externalReferenceId": "item-promo"}),
    )
    .await;
    let order = create_offer(
        &app,
        json!({"name": "Order promo", "type": "Discount", "level": "order",
               "trigger": "promotional-url", "percentOff": "1"}),
    )
    .await;
    let token = app.anonymous_pair().await.access;
    // The docs' "applying an offer" body: the line, its item offer by external reference id
    // and id at once (the same offer), and the order offer with a discount of the
    // storefront's own (`overrideDiscount`: 5.00 off in place of the offer's 1 %).
    let cart = ok_json(
        post_body(
            &app,
            &token,
            CART,
            json!({"cart": {
                "lineItems": {
                    "lineItem": [{"quantity": 1, "product": {"id": product}}],
                    "appliedProductOffers": {"offer": {
                        "offerId": item.to_string(), "externalReferenceId": "item-promo",
                        "customDescription": "Exclusive on our shop!!!"}}},
                "appliedOrderOffers": {"offer": {
                    "offerId": order, "customDescription": "The finest offer",
                    "overrideDiscount": {"discount": 5, "discountType": "amountOff"}}}}}),
        )
        .await,
    )
    .await;
    // $39.99 − 10 % ($4.00) = $35.99, then $5.00 off the order.
    let line = &cart["cart"]["lineItems"]["lineItem"][0]["pricing"];
    assert_eq!(value(&line["salePriceWithQuantity"]), 35.99, "{line}");
    assert_eq!(
        value(&cart["cart"]["pricing"]["orderTotal"]),
        30.99,
        "{cart}"
    );
    let applied = app.get_ok(&token, &format!("{CART}/applied-offers")).await;
    let described: Vec<(&str, &str)> = applied["appliedOffers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["appliedTo"]["appliedLevel"].as_str().unwrap(),
                o["cartDescription"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            ("Product(s) (Line Item)", "Exclusive on our shop!!!"),
            ("Order", "The finest offer")
        ]
    );
    // A per-product override on the line-items route: 50 % of the product in place of 10 %.
    let lines = ok_json(
        post_body(
            &app,
            &token,
            &format!("{CART}/line-items"),
            json!({"lineItems": {
                "lineItem": {"quantity": 1, "product": {"id": product}},
                "appliedProductOffers": {"offer": {"offerId": item, "overrideDiscount": [
                    {"productId": product, "discount": 50, "discountType": "percentOff"}]}}}}),
        )
        .await,
    )
    .await;
    let line = &lines["lineItems"]["lineItem"][0]["pricing"];
    // 2 × $39.99 = $79.98, half off: $39.99.
    assert_eq!(value(&line["salePriceWithQuantity"]), 39.99, "{line}");
}

#[tokio::test]
async fn a_body_s_applied_offers_are_refused_with_the_documented_errors_and_nothing_written() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let item = create_offer(
        &app,
        json!({"name": "Item promo", "type": "Discount", "trigger": "promotional-url",
               "percentOff": "10", "externalReferenceId": "item-promo"}),
    )
    .await;
    let order = create_offer(
        &app,
        json!({"name": "Order promo", "type": "Discount", "level": "order",
               "trigger": "promotional-url", "percentOff": "1", "externalReferenceId": "order"}),
    )
    .await;
    let always = create_offer(
        &app,
        json!({"name": "Always", "type": "Discount", "level": "order", "percentOff": "0"}),
    )
    .await;
    let token = app.anonymous_pair().await.access;
    let product_slot = |offer: Value| {
        json!({"cart": {"lineItems": {
            "lineItem": [{"quantity": 1, "product": {"id": product}}],
            "appliedProductOffers": {"offer": offer}}}})
    };
    let order_slot =
        |slot: &str, offer: Value| json!({"cart": {"appliedOrderOffers": {slot: offer}}});
    let long = "x".repeat(2001);
    for (body, status, code) in [
        (
            product_slot(json!({"customDescription": "no id"})),
            404,
            "no-offer-identifier",
        ),
        (
            product_slot(json!({"offerId": item, "externalReferenceId": "order"})),
            404,
            "duplicate_offer_identifier",
        ),
        (
            product_slot(json!({"offerId": 99_999})),
            404,
            "invalid-offer-id",
        ),
        (
            product_slot(json!({"externalReferenceId": "nope"})),
            404,
            "invalid-offer-id",
        ),
        (
            product_slot(json!({"offerId": order})),
            409,
            "precondition-failure",
        ),
        (
            order_slot("offer", json!({"offerId": item})),
            409,
            "precondition-failure",
        ),
        (
            order_slot("shippingOffer", json!({"offerId": order})),
            409,
            "precondition-failure",
        ),
        (
            order_slot("offer", json!({"offerId": always})),
            409,
            "invalid-offer-id",
        ),
        (
            product_slot(json!({"offerId": item, "customDescription": long})),
            413,
            "custom_descriptions_exceeds_limitation",
        ),
        (
            product_slot(
                json!({"offerId": item, "overrideDiscount": [{"productId": product,
                "discount": 5}]}),
            ),
            412,
            "no-discount-or-type",
        ),
        (
            product_slot(
                json!({"offerId": item, "overrideDiscount": [{"productId": product,
                "discount": 5, "discountType": "fixed"}]}),
            ),
            412,
            "invalid-discount-type",
        ),
        (
            order_slot(
                "offer",
                json!({"offerId": order, "overrideDiscount":
                {"discount": 101, "discountType": "percentOff"}}),
            ),
            412,
            "invalid-discount",
        ),
        (
            product_slot(
                json!({"offerId": item, "overrideDiscount": [{"productId": 424242,
                "discount": 5, "discountType": "amountOff"}]}),
            ),
            412,
            "invalid-product-id",
        ),
        (
            product_slot(json!({"offerId": item, "overrideDiscount": [
                {"discount": 5, "discountType": "amountOff"}]})),
            404,
            "no-product-identifier",
        ),
    ] {
        let answer = post_body(&app, &token, CART, body.clone()).await;
        shopper_error(answer, status, code).await;
    }
    // Nothing was written: no line, no offer.
    let cart = app.get_ok(&token, CART).await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 0, "{cart}");
    let applied = app.get_ok(&token, &format!("{CART}/applied-offers")).await;
    assert_eq!(applied["appliedOffers"], json!([]));
}
