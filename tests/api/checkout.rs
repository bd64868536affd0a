//! Cart, payment sources, submit-cart and orders, over real HTTP on SQLite or
//! PostgreSQL: the documented quick start end to end, signed-in and mid-way sign-in flows,
//! declines, empty and double submits, stock, isolation between sessions, and the last unit
//! bought concurrently.

use crate::helpers::{
    APPROVE_CARD, DECLINE_CARD, SHOPPER_USERNAME, SITE, TestApp, TokenPair, database_image,
    no_content, ok_json, orders_placed_for_the_last_unit, site_id, spawn_app,
};
use serde_json::{Value, json};
use shopkeeper::domain::address::{PostalAddress, SavedAddress};
use shopkeeper::provision;
use std::sync::Arc;

/// The demo catalog's categories and products imported into the test site (not its offers
/// and POPs: a test makes the offers it is about): (digital product id, physical variation id).
pub(crate) async fn catalog(app: &TestApp) -> (i64, i64) {
    let store = &app.state.store;
    let mut file = provision::demo_catalog().unwrap();
    file.offers.clear();
    file.point_of_promotions.clear();
    let summary = provision::import_catalog(store, SITE, file, app.now())
        .await
        .unwrap();
    let variation = store.variations(summary.product_ids[1]).await.unwrap()[0].id;
    (summary.product_ids[0], variation)
}

pub(crate) async fn shopper_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert_eq!(body["errors"]["error"][0]["code"], code, "{body}");
    crate::helpers::assert_known_shopper_api_code(&body);
    body
}

pub(crate) async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.get_as(token, path).await
}

#[tokio::test]
async fn the_quick_start_buys_a_digital_product_end_to_end() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    app.state
        .store
        .set_available_quantity(product, Some(3))
        .await
        .unwrap();

    // 1. Products with the public API key alone.
    let list = ok_json(
        app.http
            .get(app.url("/v1/shoppers/me/products.json"))
            .query(&[
                ("apiKey", app.public_key.as_str()),
                ("expand", "product"),
                ("fields", "product.id"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["products"]["product"][0]["id"], product, "{list}");

    // 2. A limited token from client_credentials with the confidential key.
    let token = ok_json(
        app.confidential_token(&[("grant_type", "client_credentials")])
            .await,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // 3. Add by productId with an empty body.
    let cart = ok_json(
        app.http
            .post(app.url("/v1/shoppers/me/carts/active.json"))
            .bearer_auth(&token)
            .query(&[
                ("productId", product.to_string()),
                ("testOrder", "true".into()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let cart_id = cart["cart"]["id"].as_str().unwrap().to_owned();
    let session = ok_json(app.access_tokens(&token).await).await;
    assert_eq!(
        session["cartId"],
        cart_id.as_str(),
        "cart.id is the session's cartId"
    );
    let line = &cart["cart"]["lineItems"]["lineItem"][0];
    assert_eq!(line["quantity"], 1);
    assert_eq!(line["product"]["id"], product);
    let pricing = &cart["cart"]["pricing"];
    assert_eq!(
        pricing["subtotal"],
        json!({"currency": "USD", "value": 49.99})
    );
    assert_eq!(pricing["discount"]["value"], json!(10.00));
    assert_eq!(pricing["orderTotal"]["value"], json!(39.99));
    assert_eq!(pricing["formattedOrderTotal"], "$39.99");

    // 4. A payment source with the payments public key.
    let key = app.payments_key().await;
    let response = app.create_source_with(&key, APPROVE_CARD, false).await;
    assert_eq!(response.status(), 201);
    let source: Value = response.json().await.unwrap();
    for field in ["id", "createdTime", "state", "type", "owner", "reusable"] {
        assert!(!source[field].is_null(), "{field}: {source}");
    }
    assert_eq!(source["type"], "creditCard");
    assert_eq!(source["state"], "chargeable");
    assert_eq!(source["owner"]["address"]["postalCode"], "55343");
    assert_eq!(
        source["creditCard"],
        json!({"brand": "visa", "lastFourDigits": "0129", "expirationMonth": 7,
               "expirationYear": 2040})
    );
    let source_id = source["id"].as_str().unwrap();

    // 5. Apply it.
    let cart = ok_json(app.apply_source(&token, source_id).await).await;
    assert_eq!(cart["cart"]["paymentMethod"]["type"], "creditCard");
    assert_eq!(cart["cart"]["paymentMethod"]["sourceId"], source_id);
    // No billing address was set: the source's owner address is the billing address.
    assert_eq!(cart["cart"]["billingAddress"]["city"], "Minnetonka");

    // 6. Submit.
    let submitted = ok_json(app.submit(&token).await).await;
    let order_id = submitted["submitCart"]["order"]["id"].as_i64().unwrap();

    // The order is readable, with its lines, addresses and totals; stock went down; the
    // cart is empty with a new id.
    let order =
        ok_json(get(&app, &token, &format!("/v1/shoppers/me/orders/{order_id}")).await).await;
    assert_eq!(order["order"]["id"], order_id);
    assert_eq!(
        order["order"]["pricing"]["orderTotal"]["value"],
        json!(39.99)
    );
    assert_eq!(
        order["order"]["lineItems"]["lineItem"][0]["product"]["id"],
        product
    );
    assert_eq!(
        order["order"]["billingAddress"]["line1"],
        "10380 Bren Road West"
    );
    assert_eq!(
        order["order"]["paymentMethod"]["creditCard"]["lastFourDigits"],
        "0129"
    );
    let lines = ok_json(
        get(
            &app,
            &token,
            &format!("/v1/shoppers/me/orders/{order_id}/line-items"),
        )
        .await,
    )
    .await;
    assert_eq!(lines["lineItems"]["lineItem"][0]["quantity"], 1);
    let billing = ok_json(
        get(
            &app,
            &token,
            &format!("/v1/shoppers/me/orders/{order_id}/billing-address"),
        )
        .await,
    )
    .await;
    assert_eq!(billing["address"]["country"], "US");
    let all = ok_json(get(&app, &token, "/v1/shoppers/me/orders").await).await;
    assert_eq!(all["orders"]["totalResults"], 1);
    assert_eq!(
        app.state.store.available_quantity(product).await.unwrap(),
        Some(2)
    );
    let cart = ok_json(get(&app, &token, "/v1/shoppers/me/carts/active").await).await;
    assert_eq!(cart["cart"]["lineItems"]["lineItem"], json!([]));
    assert_ne!(
        cart["cart"]["id"],
        cart_id.as_str(),
        "a new cart after the order"
    );

    // Order lookup by id + the order's email with the limited token.
    let lookup = ok_json(
        app.order_lookup(
            &token,
            json!({"orderId": order_id, "emailAddress": "TEST@digitalriver.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(lookup["orders"]["order"][0]["id"], order_id);
    // By email + card digits needs a full token.
    let response = app
        .order_lookup(
            &token,
            json!({"emailAddress": "test@digitalriver.com", "creditCardLastFourDigits": "0129"}),
        )
        .await;
    shopper_error(response, 403, "forbidden").await;

    // Neither the card number nor the CVV is anywhere in the database.
    let image = database_image(&app).await;
    let contains = |needle: &[u8]| image.windows(needle.len()).any(|w| w == needle);
    assert!(
        !contains(APPROVE_CARD.as_bytes()),
        "full card number stored"
    );
    assert!(!contains(b"\"415\""), "CVV stored");
}

/// Gives the test shopper a default billing and shipping address in Berlin.
pub(crate) async fn save_default_berlin_address(app: &TestApp) {
    app.state
        .store
        .save_address(
            app.shopper_id,
            None,
            &SavedAddress {
                address: PostalAddress {
                    first_name: Some("Jane".into()),
                    line1: "Unter den Linden 1".into(),
                    city: "Berlin".into(),
                    country: "DE".into(),
                    ..Default::default()
                },
                is_default_billing: true,
                is_default_shipping: true,
                ..Default::default()
            },
            app.now(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_signed_in_shopper_buys_a_physical_product_with_apply_shopper() {
    let app = spawn_app().await;
    let (_, keyboard) = catalog(&app).await;
    let store = &app.state.store;
    store.set_tax_rate(&site_id(), "DE", 1900).await.unwrap();
    let before = store.available_quantity(keyboard).await.unwrap().unwrap();
    save_default_berlin_address(&app).await;
    let full = app.shopper_pair().await.access;

    // apply-shopper with no saved payment option yet copies the default addresses.
    ok_json(app.add_to_cart(&full, keyboard, 2).await).await;
    let reusable = app.create_source(APPROVE_CARD, true).await;
    ok_json(app.apply_source(&full, &reusable).await).await;
    let options = ok_json(get(&app, &full, "/v1/shoppers/me/payment-options").await).await;
    assert_eq!(
        options["paymentOptions"]["paymentOption"][0]["id"],
        reusable.as_str()
    );

    let response = app
        .http
        .post(app.url("/v1/shoppers/me/carts/active/apply-shopper"))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    let cart = ok_json(response).await;
    assert_eq!(cart["cart"]["shippingAddress"]["city"], "Berlin");
    assert_eq!(cart["cart"]["billingAddress"]["country"], "DE");
    assert_eq!(cart["cart"]["paymentMethod"]["sourceId"], reusable.as_str());
    // 2 × 89.00 + 5.00 standard shipping; 19 % tax on 183.00 = 34.77.
    let pricing = &cart["cart"]["pricing"];
    assert_eq!(pricing["subtotal"]["value"], json!(178.00));
    assert_eq!(pricing["shippingAndHandling"]["value"], json!(5.00));
    assert_eq!(pricing["tax"]["value"], json!(34.77));
    assert_eq!(pricing["orderTotal"]["value"], json!(217.77));

    // Express shipping.
    let cart = ok_json(
        app.http
            .post(app.url("/v1/shoppers/me/carts/active/apply-shipping-option"))
            .bearer_auth(&full)
            .query(&[("shippingOptionId", "2")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        cart["cart"]["pricing"]["shippingAndHandling"]["value"],
        json!(15.00)
    );

    // Naming an address the shopper does not have: 409 apply-shopper-failure.
    let response = app
        .http
        .post(app.url("/v1/shoppers/me/carts/active/apply-shopper"))
        .bearer_auth(&full)
        .query(&[("billingAddressId", "999999")])
        .send()
        .await
        .unwrap();
    shopper_error(response, 409, "apply-shopper-failure").await;

    let order = ok_json(app.submit(&full).await).await["submitCart"]["order"]["id"]
        .as_i64()
        .unwrap();
    let body = ok_json(get(&app, &full, &format!("/v1/shoppers/me/orders/{order}")).await).await;
    assert_eq!(
        body["order"]["shippingAddress"]["line1"],
        "Unter den Linden 1"
    );
    assert_eq!(body["order"]["emailAddress"], SHOPPER_USERNAME);
    // The option chosen is kept with the order (express), with the tax rate (DE 19 %).
    assert_eq!(body["order"]["shippingMethod"]["code"], 2, "{body}");
    assert_eq!(
        body["order"]["lineItems"]["lineItem"][0]["pricing"]["taxRate"],
        json!(0.19)
    );
    let shipping = ok_json(
        get(
            &app,
            &full,
            &format!("/v1/shoppers/me/orders/{order}/shipping-address"),
        )
        .await,
    )
    .await;
    assert_eq!(shipping["address"]["city"], "Berlin");
    assert_eq!(
        store.available_quantity(keyboard).await.unwrap(),
        Some(before - 2)
    );

    // The reusable source stays a payment option after the order; lookup by card digits.
    let lookup = ok_json(
        app.order_lookup(
            &full,
            json!({"emailAddress": SHOPPER_USERNAME, "creditCardLastFourDigits": "0129"}),
        )
        .await,
    )
    .await;
    assert_eq!(lookup["orders"]["order"][0]["id"], order);

    // A new session of the same shopper sees the order too.
    let other_session = app.shopper_pair().await.access;
    let all = ok_json(get(&app, &other_session, "/v1/shoppers/me/orders").await).await;
    assert_eq!(all["orders"]["order"][0]["id"], order);
}

#[tokio::test]
async fn a_guest_who_signs_in_mid_way_keeps_the_cart_across_refresh_and_upgrade() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let guest = app.anonymous_pair().await;
    ok_json(app.add_to_cart(&guest.access, product, 2).await).await;

    // Refresh: same session, same cart.
    let refreshed = TokenPair::from(ok_json(app.refresh(&guest.refresh).await).await);
    let cart = ok_json(get(&app, &refreshed.access, "/v1/shoppers/me/carts/active").await).await;
    assert_eq!(cart["cart"]["lineItems"]["lineItem"][0]["quantity"], 2);
    let cart_id = cart["cart"]["id"].clone();

    // Sign in with the limited token: the full token's session has the same cart.
    let full = app
        .shopper_pair_linked("dr_limited_token", &refreshed.access)
        .await;
    let cart = ok_json(get(&app, &full.access, "/v1/shoppers/me/carts/active").await).await;
    assert_eq!(cart["cart"]["id"], cart_id);
    assert_eq!(
        cart["cart"]["lineItems"]["lineItem"][0]["product"]["id"],
        product
    );

    // Line items: update the quantity, read one, delete one.
    let line_id = cart["cart"]["lineItems"]["lineItem"][0]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/v1/shoppers/me/carts/active/line-items/{line_id}");
    let line = ok_json(
        app.http
            .post(app.url(&path))
            .bearer_auth(&full.access)
            .query(&[("quantity", "5")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(line["lineItem"]["quantity"], 5);
    // Volume tier (5+) at 34.99.
    assert_eq!(
        line["lineItem"]["pricing"]["salePriceWithQuantity"]["value"],
        json!(174.95)
    );

    // The guest's old token no longer reaches the cart.
    let response = get(&app, &refreshed.access, "/v1/shoppers/me/carts/active").await;
    assert_eq!(response.status(), 401);

    let order = app.buy(&full.access, product).await;
    let body = ok_json(
        get(
            &app,
            &full.access,
            &format!("/v1/shoppers/me/orders/{order}"),
        )
        .await,
    )
    .await;
    assert_eq!(body["order"]["totalItemsInOrder"], 6);
}

#[tokio::test]
async fn declined_cards_empty_carts_and_double_submits_are_clear_409s() {
    let app = spawn_app().await;
    let (product, keyboard) = catalog(&app).await;
    let guest = app.anonymous_pair().await.access;

    shopper_error(app.submit(&guest).await, 409, "submit-cart-failed").await;

    ok_json(app.add_to_cart(&guest, product, 1).await).await;
    shopper_error(app.submit(&guest).await, 409, "submit-cart-failed").await;
    let declined = app.create_source(DECLINE_CARD, false).await;
    ok_json(app.apply_source(&guest, &declined).await).await;
    let body = shopper_error(app.submit(&guest).await, 409, "credit-card-declined").await;
    assert!(body.to_string().contains("card_declined"), "{body}");
    // The cart is untouched and no order exists.
    let cart = ok_json(get(&app, &guest, "/v1/shoppers/me/carts/active").await).await;
    assert_eq!(cart["cart"]["lineItems"]["lineItem"][0]["quantity"], 1);
    assert_eq!(app.state.store.order_count(&site_id()).await.unwrap(), 0);

    // Another card, then a retried submit answers 409 and makes no second order.
    let good = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&guest, &good).await).await;
    let order = ok_json(app.submit(&guest).await).await["submitCart"]["order"]["id"].clone();
    let body = shopper_error(app.submit(&guest).await, 409, "submit-cart-failed").await;
    assert!(body.to_string().contains(&order.to_string()), "{body}");
    assert_eq!(app.state.store.order_count(&site_id()).await.unwrap(), 1);

    // A single-use source cannot pay twice.
    ok_json(app.add_to_cart(&guest, product, 1).await).await;
    shopper_error(
        app.apply_source(&guest, &good).await,
        409,
        "apply-payment-failure",
    )
    .await;

    // A physical product needs a shipping address.
    let other = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&other, keyboard, 1).await).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&other, &source).await).await;
    shopper_error(app.submit(&other).await, 409, "submit-cart-failed").await;
}

#[tokio::test]
async fn stock_products_and_quantities_are_checked() {
    let app = spawn_app().await;
    let (product, keyboard) = catalog(&app).await;
    let store = &app.state.store;
    let guest = app.anonymous_pair().await.access;

    shopper_error(
        app.add_to_cart(&guest, 999_999, 1).await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        app.add_to_cart(&guest, product, 0).await,
        400,
        "invalid-request",
    )
    .await;
    // A base product with variations cannot be bought itself.
    let base = store
        .product(&site_id(), keyboard)
        .await
        .unwrap()
        .unwrap()
        .base_product_id
        .unwrap();
    shopper_error(
        app.add_to_cart(&guest, base, 1).await,
        409,
        "add-base-product-cart-error",
    )
    .await;
    store
        .set_available_quantity(keyboard, Some(1))
        .await
        .unwrap();
    shopper_error(
        app.add_to_cart(&guest, keyboard, 2).await,
        409,
        "inventory-unavailable-error",
    )
    .await;

    // Stock sold out between add and submit: 409 at submit, nothing written.
    ok_json(app.add_to_cart(&guest, keyboard, 1).await).await;
    let response = app
        .http
        .put(app.url("/v1/shoppers/me/carts/active/shipping-address"))
        .bearer_auth(&guest)
        .json(
            &json!({"address": {"line1": "1 Main St", "city": "Minneapolis",
                                  "country": "US", "emailAddress": "g@example.com"}}),
        )
        .send()
        .await
        .unwrap();
    no_content(response).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&guest, &source).await).await;
    store
        .set_available_quantity(keyboard, Some(0))
        .await
        .unwrap();
    shopper_error(app.submit(&guest).await, 409, "inventory-unavailable-error").await;
    assert_eq!(store.order_count(&site_id()).await.unwrap(), 0);
    assert_eq!(store.available_quantity(keyboard).await.unwrap(), Some(0));
    // The source was not consumed by the failed submit: restocked, the same cart goes through.
    store
        .set_available_quantity(keyboard, Some(1))
        .await
        .unwrap();
    ok_json(app.submit(&guest).await).await;
    assert_eq!(store.available_quantity(keyboard).await.unwrap(), Some(0));

    // Empty the cart with DELETE line-items.
    ok_json(app.add_to_cart(&guest, product, 1).await).await;
    let response = app
        .http
        .delete(app.url("/v1/shoppers/me/carts/active/line-items"))
        .bearer_auth(&guest)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let cart = ok_json(get(&app, &guest, "/v1/shoppers/me/carts/active").await).await;
    assert_eq!(cart["cart"]["lineItems"]["lineItem"], json!([]));
}

#[tokio::test]
async fn a_three_decimal_currency_keeps_its_third_digit_from_import_to_cart() {
    let app = spawn_app().await;
    let store = &app.state.store;
    let file = |currency: &str, price: &str| {
        let file = json!({"products": [{"sku": "LAMP-1", "name": "lamp", "productType": "PHYSICAL",
                                        "currency": currency, "listPrice": price}]});
        provision::parse_catalog(&file.to_string()).unwrap()
    };
    // A fourth decimal of a dinar, or a code ISO 4217 does not list: refused.
    for (currency, price, field) in [("BHD", "1.2345", "listPrice"), ("ABC", "1.23", "currency")] {
        let err = provision::import_catalog(store, SITE, file(currency, price), app.now())
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(field), "{err}");
    }
    let summary = provision::import_catalog(store, SITE, file("BHD", "1.234"), app.now())
        .await
        .unwrap();
    let product = summary.product_ids[0];
    let guest = app.anonymous_pair().await.access;
    let path = format!("/v1/shoppers/me/products/{product}?expand=all");
    let shown = ok_json(get(&app, &guest, &path).await).await;
    assert_eq!(
        shown["product"]["pricing"]["listPrice"],
        json!({"currency": "BHD", "value": 1.234})
    );
    // 2 × 1.234 and the standard 5 dinars of shipping, in fils.
    let cart = ok_json(app.add_to_cart(&guest, product, 2).await).await;
    let pricing = &cart["cart"]["pricing"];
    assert_eq!(
        pricing["subtotal"],
        json!({"currency": "BHD", "value": 2.468})
    );
    assert_eq!(pricing["shippingAndHandling"]["value"], json!(5.000));
    assert_eq!(pricing["formattedShippingAndHandling"], "5.000 BHD");
    assert_eq!(pricing["formattedOrderTotal"], "7.468 BHD");
}

#[tokio::test]
async fn a_zero_decimal_currency_is_priced_and_rendered_in_whole_units() {
    let app = spawn_app().await;
    let store = &app.state.store;
    let file = |price: &str| {
        let file = json!({"products": [{"sku": "TEA-1", "name": "tea", "productType": "DIGITAL",
                                        "currency": "JPY", "listPrice": price}]});
        provision::parse_catalog(&file.to_string()).unwrap()
    };
    let err = provision::import_catalog(store, SITE, file("1500.5"), app.now())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("listPrice"), "{err}");
    let summary = provision::import_catalog(store, SITE, file("1500"), app.now())
        .await
        .unwrap();
    let guest = app.anonymous_pair().await.access;
    let cart = ok_json(app.add_to_cart(&guest, summary.product_ids[0], 3).await).await;
    let pricing = &cart["cart"]["pricing"];
    assert_eq!(
        pricing["subtotal"],
        json!({"currency": "JPY", "value": 4500})
    );
    assert_eq!(pricing["formattedSubtotal"], "4,500 JPY");
}

#[tokio::test]
async fn nobody_sees_another_sessions_order() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let alice = app.anonymous_pair().await.access;
    let bob = app.anonymous_pair().await.access;
    let order = app.buy(&alice, product).await;
    for path in [
        format!("/v1/shoppers/me/orders/{order}"),
        format!("/v1/shoppers/me/orders/{order}/line-items"),
        format!("/v1/shoppers/me/orders/{order}/billing-address"),
    ] {
        shopper_error(get(&app, &bob, &path).await, 404, "resource-not-found").await;
    }
    let list = ok_json(get(&app, &bob, "/v1/shoppers/me/orders").await).await;
    assert_eq!(list["orders"]["order"], json!([]));
    // The signed-in shopper does not see a guest's order either.
    let full = app.shopper_pair().await.access;
    let path = format!("/v1/shoppers/me/orders/{order}");
    shopper_error(get(&app, &full, &path).await, 404, "resource-not-found").await;
    // Order lookup with the wrong email finds nothing.
    let response = app
        .order_lookup(
            &bob,
            json!({"orderId": order, "emailAddress": "bob@example.com"}),
        )
        .await;
    shopper_error(response, 404, "resource-not-found").await;
}

async fn payments_error(r: reqwest::Response, status: u16, kind: &str) -> Value {
    let got = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    assert_eq!(body["type"], kind, "{body}");
    assert!(body["errors"][0]["code"].is_string(), "{body}");
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    body
}

#[tokio::test]
async fn payment_sources_need_the_payments_key_and_a_test_card() {
    let app = spawn_app().await;
    let access = app.anonymous_pair().await.access;
    // Any other bearer: an access token, an API key, nothing.
    for bearer in [access.as_str(), app.public_key.as_str(), "pk_test_nope"] {
        let r = app.create_source_with(bearer, APPROVE_CARD, false).await;
        payments_error(r, 401, "unauthorized").await;
    }
    let r = app
        .http
        .post(app.url("/payments/sources"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    payments_error(r, 401, "unauthorized").await;

    let key = app.payments_key().await;
    // Not a test card / fails Luhn: 400 naming the parameter.
    let r = app
        .create_source_with(&key, "4718491477220128", false)
        .await;
    let body = payments_error(r, 400, "bad_request").await;
    assert_eq!(body["errors"][0]["parameter"], "creditCard.number");
    let r = app
        .http
        .post(app.url("/payments/sources"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{\"type\": \"creditCard\"")
        .send()
        .await
        .unwrap();
    payments_error(r, 400, "bad_request").await;
    // Another site's key works for that site only: its source is unknown here.
    provision::create_site(&app.state.store, "othersite", None, app.now())
        .await
        .unwrap();
    let other_key = app
        .state
        .store
        .site(&shopkeeper::domain::SiteId::parse("othersite").unwrap())
        .await
        .unwrap()
        .unwrap()
        .payments_public_key
        .unwrap();
    let r = app
        .create_source_with(&other_key, APPROVE_CARD, false)
        .await;
    let foreign: Value = r.json().await.unwrap();
    let (product, _) = catalog(&app).await;
    ok_json(app.add_to_cart(&access, product, 1).await).await;
    let r = app
        .apply_source(&access, foreign["id"].as_str().unwrap())
        .await;
    shopper_error(r, 409, "apply-payment-failure").await;
}

#[tokio::test]
async fn two_authorization_headers_are_refused() {
    let app = spawn_app().await;
    let token = app.anonymous_pair().await.access;
    let response = app
        .http
        .get(app.url("/v1/shoppers/me/carts/active"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", "bearer {{RESPONSE-FullAccessToken}}")
        .send()
        .await
        .unwrap();
    shopper_error(response, 400, "invalid-request").await;
}

#[tokio::test]
async fn concurrent_submits_of_the_last_unit_make_exactly_one_order() {
    let app = Arc::new(spawn_app().await);
    let (_, keyboard) = catalog(&app).await;
    let store = &app.state.store;
    store
        .set_available_quantity(keyboard, Some(1))
        .await
        .unwrap();
    const BUYERS: usize = 8;
    // Each buyer: its own session with the last unit in the cart, ready to submit.
    let mut tokens = Vec::new();
    for _ in 0..BUYERS {
        let token = app.anonymous_pair().await.access;
        ok_json(app.add_to_cart(&token, keyboard, 1).await).await;
        let r = app
            .http
            .put(app.url("/v1/shoppers/me/carts/active/shipping-address"))
            .bearer_auth(&token)
            .json(
                &json!({"address": {"line1": "1 Main St", "city": "Minneapolis",
                                      "country": "US"}}),
            )
            .send()
            .await
            .unwrap();
        no_content(r).await;
        let source = app.create_source(APPROVE_CARD, false).await;
        ok_json(app.apply_source(&token, &source).await).await;
        tokens.push(token);
    }
    let ok = orders_placed_for_the_last_unit(app.submit_together(tokens).await);
    assert_eq!(ok, 1, "exactly one order for the last unit");
    assert_eq!(store.order_count(&site_id()).await.unwrap(), 1);
    assert_eq!(store.available_quantity(keyboard).await.unwrap(), Some(0));
}

#[tokio::test]
async fn clean_up_deletes_an_ended_sessions_cart_and_keeps_its_orders() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let guest = app.anonymous_pair().await.access;
    let order = app.buy(&guest, product).await;
    ok_json(app.add_to_cart(&guest, product, 1).await).await;
    let response = app.end_session(&guest).await;
    assert_eq!(response.status(), 200);
    let store = &app.state.store;
    let purged = store
        .purge_dead_sessions(app.now(), 100, &Default::default())
        .await
        .expect("the cart's rows do not block the purge");
    assert_eq!(purged.deleted.len(), 1);
    assert!(purged.failed.is_empty());
    assert_eq!(store.table_counts().await.unwrap().sessions, 0);
    assert_eq!(
        store.order_lines(order).await.unwrap().len(),
        1,
        "orders stay"
    );
}

/// The read-only session views (`/oauth20/access-tokens`, `GET /v1/shoppers/me`) answer from a
/// snapshot cached beside the token; every change to the session must show in them at once.
#[tokio::test]
async fn session_views_show_each_session_change_at_once() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let guest = app.anonymous_pair().await;
    let before = ok_json(app.access_tokens(&guest.access).await).await;
    assert_eq!(before["userId"], "Anonymous");
    let me = ok_json(get(&app, &guest.access, "/v1/shoppers/me").await).await;
    assert_eq!(me["shopper"]["locale"], before["locale"]);

    // A locale change on the session.
    let changed = app
        .http
        .post(app.url("/v1/shoppers/me"))
        .query(&[("locale", "de_DE")])
        .bearer_auth(&guest.access)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let info = ok_json(app.access_tokens(&guest.access).await).await;
    assert_eq!(info["locale"], "de_DE");

    // Sign-in on the session: it becomes the shopper's.
    let full = app
        .shopper_pair_linked("dr_limited_token", &guest.access)
        .await;
    let info = ok_json(app.access_tokens(&full.access).await).await;
    assert_eq!(info["sessionId"], before["sessionId"]);
    assert_ne!(info["userId"], "Anonymous", "{info}");

    // A submitted cart gives the session a new cart id.
    app.buy(&full.access, product).await;
    let after = ok_json(app.access_tokens(&full.access).await).await;
    assert_ne!(after["cartId"], info["cartId"]);
    assert_eq!(after["locale"], "de_DE");
}
