//! The request side of issue 22: what real storefront code sends (the docs' examples, the
//! WordPress plugin's calls) is accepted and means what the docs say, while the strict cases
//! stay strict (a field of the wrong kind is a 400 naming it; a limited token's forbidden
//! fields are still a 403). Bodies here are our own, shaped like those clients'.

use crate::checkout::{catalog, shopper_error};
use crate::helpers::{
    APPROVE_CARD, EXTERNAL_REFERENCE, SHOPPER_PASSWORD, SHOPPER_USERNAME, TestApp, address_written,
    assert_oauth_error, ok_json, spawn_app,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Response;
use serde_json::{Value, json};

const CART: &str = "/v1/shoppers/me/carts/active";
const ME: &str = "/v1/shoppers/me";
const ADDRESSES: &str = "/v1/shoppers/me/addresses";

async fn post_raw(app: &TestApp, token: &str, path: &str, body: &str) -> Response {
    app.http
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> Response {
    post_raw(app, token, path, &body.to_string()).await
}

/// POST /v1/shoppers with the public API key alone.
async fn sign_up(app: &TestApp, body: Value) -> Response {
    app.http
        .post(app.url("/v1/shoppers"))
        .query(&[("apiKey", app.public_key.as_str())])
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A 400 whose description names `field`.
async fn names_field(response: Response, field: &str) {
    let body = shopper_error(response, 400, "invalid-request").await;
    let description = body["errors"]["error"][0]["description"].as_str().unwrap();
    assert!(
        description.contains(field),
        "{description} should name {field}"
    );
}

fn quantities(cart: &Value) -> Vec<(i64, i64)> {
    cart["cart"]["lineItems"]["lineItem"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let id = l["product"]["id"].as_i64().unwrap();
            let quantity = match &l["quantity"] {
                Value::String(s) => s.parse().unwrap(),
                n => n.as_i64().unwrap(),
            };
            (id, quantity)
        })
        .collect()
}

#[tokio::test]
async fn cart_bodies_as_storefronts_send_them() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;

    // "Make sure there is a cart": an empty cart member, a PHP client's empty array, `{}`.
    for nothing in [r#"{"cart": ""}"#, "[]", "{}", r#"{"cart": []}"#, ""] {
        let cart = ok_json(post_raw(&app, &token, CART, nothing).await).await;
        assert!(quantities(&cart).is_empty(), "{nothing}: {cart}");
    }

    // One line item as the object itself, its numbers as strings, unknown fields beside it.
    let one = json!({"cart": {
        "lineItems": {"lineItem": {"quantity": "2", "product": {"id": product.to_string()},
            "customAttributes": {"attribute": [{"name": "gift", "value": "yes"}]}}},
        "termsOfSalesAcceptance": "true"
    }});
    let cart = ok_json(post(&app, &token, CART, one).await).await;
    assert_eq!(quantities(&cart), vec![(product, 2)]);

    // The same through line-items, as an array and as one object.
    let many = json!({"lineItems": {"lineItem": [{"quantity": 1, "product": {"id": product}}]}});
    ok_json(post(&app, &token, &format!("{CART}/line-items"), many).await).await;
    let single = json!({"lineItems": {"lineItem": {"quantity": "1", "product": {"id": product}}}});
    ok_json(post(&app, &token, &format!("{CART}/line-items"), single).await).await;
    let cart = app.get_ok(&token, CART).await;
    assert_eq!(quantities(&cart), vec![(product, 4)]);

    // A line item's quantity update with the quantity as a string.
    let line = cart["cart"]["lineItems"]["lineItem"][0]["id"]
        .as_i64()
        .unwrap();
    let path = format!("{CART}/line-items/{line}");
    ok_json(post(&app, &token, &path, json!({"lineItem": {"quantity": "3"}})).await).await;
    assert_eq!(
        quantities(&app.get_ok(&token, CART).await),
        vec![(product, 3)]
    );

    // Still strict: a quantity that is no number is a 400 naming the field; nothing changed.
    let bad = json!({"cart": {"lineItems": {"lineItem": [{"quantity": "lots",
        "product": {"id": product}}]}}});
    names_field(
        post(&app, &token, CART, bad).await,
        "cart.lineItems.lineItem[0].quantity",
    )
    .await;
    let bad = json!({"cart": {"lineItems": {"lineItem": {"quantity": true,
        "product": {"id": product}}}}});
    names_field(post(&app, &token, CART, bad).await, "quantity").await;
    names_field(
        post(&app, &token, CART, json!({"cart": "yes"})).await,
        "cart",
    )
    .await;
    assert_eq!(
        quantities(&app.get_ok(&token, CART).await),
        vec![(product, 3)]
    );
    // A body of the wrong shape says what was expected, in the API's words.
    let response = post_raw(&app, &token, CART, "5").await;
    let body = shopper_error(response, 400, "invalid-request").await;
    let description = body["errors"]["error"][0]["description"].as_str().unwrap();
    assert!(description.contains(r#"{"cart": {...}}"#), "{description}");
}

#[tokio::test]
async fn submit_cart_takes_the_documented_body_and_keeps_the_ip_address() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &source).await).await;

    // Not an address: refused before anything is submitted.
    let bad = json!({"cart": {"ipAddress": "not-an-ip"}});
    let response = post(&app, &token, &format!("{CART}/submit-cart"), bad).await;
    shopper_error(response, 400, "invalid-request").await;
    assert_eq!(quantities(&app.get_ok(&token, CART).await).len(), 1);

    let body = json!({"cart": {"ipAddress": "2001:db8::7"}});
    let submitted = ok_json(post(&app, &token, &format!("{CART}/submit-cart"), body).await).await;
    assert!(
        submitted["submitCart"]["order"]["id"].is_i64(),
        "{submitted}"
    );
    assert_eq!(app.me(&token).await["shopper"]["ipAddress"], "2001:db8::7");

    // The cart body's ipAddress is the session's too.
    let body = json!({"cart": {"ipAddress": "198.51.100.4"}});
    ok_json(post(&app, &token, CART, body).await).await;
    assert_eq!(app.me(&token).await["shopper"]["ipAddress"], "198.51.100.4");
}

#[tokio::test]
async fn apply_billing_address_without_a_body_applies_the_customers_address() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let apply = format!("{CART}/apply-billing-address");

    // A guest with no billing address on the cart: nothing to apply.
    let guest = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&guest, product, 1).await).await;
    let response = post_raw(&app, &guest, &apply, "").await;
    shopper_error(response, 400, "invalid-request").await;
    // Once the cart has one (PUT billing-address), applying it answers the cart with it.
    let address = json!({"address": {"line1": "5 Elm St", "city": "Duluth", "country": "US",
        "countyName": "St. Louis", "phoneticFirstName": "タロ", "phoneticLastName": "ヤマダ",
        "division": "営業部", "title": "M"}});
    crate::helpers::no_content(
        app.http
            .put(app.url(&format!("{CART}/billing-address")))
            .bearer_auth(&guest)
            .json(&address)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let cart = ok_json(post_raw(&app, &guest, &apply, "").await).await;
    assert_eq!(cart["cart"]["billingAddress"]["city"], "Duluth", "{cart}");
    assert_eq!(cart["cart"]["billingAddress"]["countyName"], "St. Louis");
    // The docs' phonetic name, division and title are kept and served back.
    let served = app.get_ok(&guest, &format!("{CART}/billing-address")).await;
    for (key, sent) in [
        ("phoneticFirstName", "タロ"),
        ("phoneticLastName", "ヤマダ"),
        ("division", "営業部"),
        ("title", "M"),
    ] {
        assert_eq!(cart["cart"]["billingAddress"][key], sent, "{cart}");
        assert_eq!(served["address"][key], sent, "{served}");
    }

    // A signed-in shopper: their default address (isDefault) becomes the cart's.
    let full = app.shopper_pair().await.access;
    let saved = json!({"address": {"nickName": "home", "isDefault": "true",
        "line1": "1 Lake Rd", "city": "Bemidji", "country": "US", "division": "製品開発"}});
    address_written(post(&app, &full, ADDRESSES, saved).await).await;
    let cart = ok_json(post_raw(&app, &full, &apply, "{}").await).await;
    assert_eq!(cart["cart"]["billingAddress"]["city"], "Bemidji", "{cart}");
    assert_eq!(
        cart["cart"]["billingAddress"]["division"], "製品開発",
        "{cart}"
    );
    // The shipping twin works the same way.
    let cart =
        ok_json(post_raw(&app, &full, &format!("{CART}/apply-shipping-address"), "").await).await;
    assert_eq!(cart["cart"]["shippingAddress"]["city"], "Bemidji", "{cart}");
}

#[tokio::test]
async fn an_orders_addresses_keep_the_phonetic_name_division_and_title_sent() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    let sent = |line1: &str, division: &str| {
        json!({"address": {"firstName": "Taro", "lastName": "Yamada", "line1": line1,
            "city": "Minneapolis", "countrySubdivision": "MN", "postalCode": "55401",
            "country": "US",
            "emailAddress": "taro@example.com", "phoneticFirstName": "タロ",
            "phoneticLastName": "ヤマダ", "division": division, "title": "M"}})
    };
    for (which, body) in [
        ("billing-address", sent("1-1 Chiyoda", "営業部")),
        ("shipping-address", sent("2-2 Minato", "製品開発")),
    ] {
        crate::helpers::no_content(
            app.http
                .put(app.url(&format!("{CART}/{which}")))
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &source).await).await;
    let submitted = ok_json(app.submit(&token).await).await;
    let order = submitted["submitCart"]["order"]["id"].as_i64().unwrap();
    for (which, line1, division) in [
        ("billing-address", "1-1 Chiyoda", "営業部"),
        ("shipping-address", "2-2 Minato", "製品開発"),
    ] {
        let served = app
            .get_ok(&token, &format!("/v1/shoppers/me/orders/{order}/{which}"))
            .await;
        let a = &served["address"];
        assert_eq!(a["line1"], line1, "{served}");
        assert_eq!(a["phoneticFirstName"], "タロ", "{served}");
        assert_eq!(a["phoneticLastName"], "ヤマダ", "{served}");
        assert_eq!(a["division"], division, "{served}");
        assert_eq!(a["title"], "M", "{served}");
    }
}

#[tokio::test]
async fn order_lookup_by_form_body_with_the_order_password() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    let order = app.buy(&token, product).await;
    let order_id = order.to_string();
    let lookup = |form: Vec<(&'static str, String)>| {
        app.http
            .post(app.url("/v1/shoppers/order-lookup"))
            .bearer_auth(&token)
            .form(&form)
            .send()
    };

    // The order's password is the e-mail address it was placed with (the buyer's card owner).
    let found = ok_json(
        lookup(vec![
            ("orderId", order_id.clone()),
            ("password", "test@digitalriver.com".into()),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(found["orders"]["order"][0]["id"], order, "{found}");
    let found = ok_json(
        lookup(vec![
            ("orderId", order_id.clone()),
            ("emailAddress", "test@digitalriver.com".into()),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(found["orders"]["order"][0]["id"], order);

    // A wrong password finds nothing; a field given twice is refused, not picked from.
    let wrong = lookup(vec![
        ("orderId", order_id.clone()),
        ("password", "someone@example.com".into()),
    ])
    .await
    .unwrap();
    shopper_error(wrong, 404, "resource-not-found").await;
    let twice = lookup(vec![
        ("orderId", order_id.clone()),
        ("password", "someone@example.com".into()),
        ("password", "test@digitalriver.com".into()),
    ])
    .await
    .unwrap();
    shopper_error(twice, 400, "invalid-request").await;
    // By card digits (the docs' form field name) still needs a full token.
    let digits = lookup(vec![
        ("emailAddress", "test@digitalriver.com".into()),
        ("creditCardLastDigits", "0129".into()),
    ])
    .await
    .unwrap();
    shopper_error(digits, 403, "forbidden").await;
}

#[tokio::test]
async fn inventory_status_without_ids_is_an_empty_collection() {
    let app = spawn_app().await;
    catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    let body = app
        .get_ok(&token, "/v1/shoppers/me/products/inventory-status")
        .await;
    let statuses = body
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(|c| c["inventoryStatus"].as_array())
        .unwrap_or_else(|| panic!("{body}"));
    assert!(statuses.is_empty(), "{body}");
    let bad = app
        .get_as(
            &token,
            "/v1/shoppers/me/products/inventory-status?productIds=abc",
        )
        .await;
    shopper_error(bad, 400, "invalid-request").await;
}

#[tokio::test]
async fn sign_up_with_credentials_and_an_external_reference_and_base64_passwords() {
    let app = spawn_app().await;
    // The WordPress plugin's sign-up: credentials, names, e-mail and its own reference.
    let created = sign_up(
        &app,
        json!({"shopper": {"username": "kim@example.com", "password": "kims password 1",
            "firstName": "Kim", "lastName": "Lee", "emailAddress": "kim@example.com",
            "externalReferenceId": "wp-user-17", "sendMail": "true", "sendEMail": true}}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    assert_eq!(
        body["shopper"]["externalReferenceId"], "wp-user-17",
        "{body}"
    );
    assert_eq!(body["shopper"]["sendEmail"], true);
    let pair = ok_json(
        app.password_grant("kim@example.com", "kims password 1")
            .await,
    )
    .await;
    let me = app.me(pair["access_token"].as_str().unwrap()).await;
    assert_eq!(me["shopper"]["externalReferenceId"], "wp-user-17");
    assert_eq!(me["shopper"]["lastName"], "Lee");

    // A key set to base64 passwords: the sign-up's password is decoded, as the grant's is.
    app.state
        .store
        .set_client_password_base64(&app.public_api_key(), true)
        .await
        .unwrap();
    let encoded = STANDARD.encode("lees password 2");
    let created = sign_up(
        &app,
        json!({"shopper": {"username": "lee", "password": encoded,
            "emailAddress": "lee@example.com"}}),
    )
    .await;
    assert_eq!(created.status(), 201);
    ok_json(app.password_grant("lee", &encoded).await).await;
    // Text that is not base64 is refused naming the field; nothing was created.
    let refused = sign_up(
        &app,
        json!({"shopper": {"username": "max", "password": "plain text!",
            "emailAddress": "max@example.com"}}),
    )
    .await;
    let body = shopper_error(refused, 400, "invalid-request").await;
    assert!(body.to_string().contains("shopper.password"), "{body}");
    app.state
        .store
        .set_client_password_base64(&app.public_api_key(), false)
        .await
        .unwrap();
    assert_oauth_error(
        app.password_grant("max", "plain text!").await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn me_takes_password_changes_email_updates_and_the_docs_spellings() {
    let app = spawn_app().await;
    let other_session = app.shopper_pair().await.access;
    let full = app.shopper_pair().await.access;
    let limited = app.anonymous_pair().await.access;

    // A PHP client's empty body, and `{}`, change nothing.
    for nothing in ["[]", "{}", r#"{"shopper": ""}"#] {
        let me = ok_json(post_raw(&app, &full, &format!("{ME}?expand=all"), nothing).await).await;
        assert_eq!(me["shopper"]["username"], SHOPPER_USERNAME, "{nothing}");
    }

    // sendMail / sendEMail are sendEmail; disagreeing spellings are refused.
    let me = ok_json(post(&app, &full, ME, json!({"shopper": {"sendMail": "true"}})).await).await;
    assert_eq!(me["shopper"]["sendEmail"], true);
    // The docs' sample answers the updated shopper: the one GET /v1/shoppers/me shows.
    assert_eq!(me, app.get_ok(&full, ME).await);
    let clash = json!({"shopper": {"sendEmail": true, "sendEMail": "false"}});
    shopper_error(post(&app, &full, ME, clash).await, 400, "invalid-request").await;
    names_field(
        post(&app, &full, ME, json!({"shopper": {"sendEmail": "maybe"}})).await,
        "shopper.sendEmail",
    )
    .await;

    // The docs' subscription e-mail update: a bare body and applyEmailToSubscriptions.
    let path = format!("{ME}?applyEmailToSubscriptions=true");
    let me = ok_json(
        post(
            &app,
            &full,
            &path,
            json!({"emailAddress": "jane.new@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(me["shopper"]["emailAddress"], "jane.new@example.com");
    let path = format!("{ME}?applyEmailToSubscriptions=perhaps");
    let bad = post(&app, &full, &path, json!({"emailAddress": "x@example.com"})).await;
    shopper_error(bad, 400, "invalid-request").await;
    // Strict: a limited token may not change the e-mail, bare body or not, nor the password.
    let denied = post(&app, &limited, ME, json!({"emailAddress": "x@example.com"})).await;
    shopper_error(denied, 403, "forbidden").await;
    let denied = post(
        &app,
        &limited,
        ME,
        json!({"shopper": {"password": "new password 9"}}),
    )
    .await;
    shopper_error(denied, 403, "forbidden").await;

    // A password change (base64 for this key, as the plugin sends it): the new password signs
    // in, the old one does not; the changing session goes on, the shopper's others end.
    app.state
        .store
        .set_client_password_base64(&app.public_api_key(), true)
        .await
        .unwrap();
    let encoded = STANDARD.encode("brand new password");
    let body = json!({"shopper": {"password": encoded}});
    ok_json(post(&app, &full, ME, body).await).await;
    assert_eq!(app.get_as(&full, ME).await.status(), 200);
    assert_eq!(app.get_as(&other_session, ME).await.status(), 401);
    let old = STANDARD.encode(SHOPPER_PASSWORD);
    assert_oauth_error(
        app.password_grant(SHOPPER_USERNAME, &old).await,
        400,
        "invalid_grant",
    )
    .await;
    ok_json(app.password_grant(SHOPPER_USERNAME, &encoded).await).await;
    // Too short once decoded: the field is named.
    let short = json!({"shopper": {"password": STANDARD.encode("short")}});
    let body = shopper_error(post(&app, &full, ME, short).await, 400, "password-failure").await;
    assert!(body.to_string().contains("shopper.password"), "{body}");
}

#[tokio::test]
async fn addresses_default_county_nickname_rule_and_their_own_path() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    let limited = app.anonymous_pair().await.access;
    let home = json!({"address": {"nickName": "home", "isDefault": "true", "firstName": "Jane",
        "line1": "1 Pine St", "city": "Ely", "countrySubdivision": "MN", "postalCode": 55731,
        "country": "US", "countryName": "United States", "countyName": "St. Louis",
        "phoneticFirstName": "クリス", "phoneticLastName": "ミラー", "division": "製品開発",
        "title": "M"}});
    // Created or updated, the docs answer 204 No Content; Location names the address.
    let home_id = address_written(post(&app, &full, ADDRESSES, home.clone()).await).await;
    let created = app.get_ok(&full, &format!("{ADDRESSES}/{home_id}")).await;
    assert_eq!(created["address"]["isDefault"], true, "{created}");
    assert_eq!(created["address"]["countyName"], "St. Louis");
    assert_eq!(created["address"]["postalCode"], "55731");
    for (key, sent) in [
        ("phoneticFirstName", "クリス"),
        ("phoneticLastName", "ミラー"),
        ("division", "製品開発"),
        ("title", "M"),
    ] {
        assert_eq!(created["address"][key], sent, "{created}");
    }

    // The same nickname again updates that address, it does not add one.
    let mut moved = home.clone();
    moved["address"]["city"] = json!("Tower");
    let moved_id = address_written(post(&app, &full, ADDRESSES, moved).await).await;
    assert_eq!(moved_id, home_id);
    let updated = app.get_ok(&full, &format!("{ADDRESSES}/{home_id}")).await;
    assert_eq!(updated["address"]["city"], "Tower");
    let list = app.get_ok(&full, ADDRESSES).await;
    assert_eq!(list["addresses"]["address"].as_array().unwrap().len(), 1);

    // One default per shopper: a new default takes it from the old one.
    let work = json!({"address": {"nickName": "work", "isDefault": true, "line1": "2 Oak Ave",
        "city": "Virginia", "country": "US"}});
    let work_id = address_written(post(&app, &full, ADDRESSES, work).await).await;
    let home_now = app.get_ok(&full, &format!("{ADDRESSES}/{home_id}")).await;
    assert_eq!(home_now["address"]["isDefault"], false, "{home_now}");
    assert_eq!(home_now["address"]["countyName"], "St. Louis");

    // POST at the address's own path updates it (the plugin's id is a string).
    let path = format!("{ADDRESSES}/{home_id}");
    let change = json!({"address": {"id": home_id.to_string(), "nickName": "home",
        "isDefault": true, "line1": "3 Birch Ln", "city": "Ely", "country": "US"}});
    assert_eq!(
        address_written(post(&app, &full, &path, change).await).await,
        home_id
    );
    let changed = app.get_ok(&full, &path).await;
    assert_eq!(changed["address"]["line1"], "3 Birch Ln");
    assert_eq!(changed["address"]["isDefault"], true);
    let work_now = app.get_ok(&full, &format!("{ADDRESSES}/{work_id}")).await;
    assert_eq!(work_now["address"]["isDefault"], false);
    assert_eq!(
        app.get_ok(&full, ADDRESSES).await["addresses"]["address"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Taking another address's nickname is a conflict; a body id naming another address, a
    // 400; an address not the shopper's, a 404; a limited token, a 403.
    let steal = json!({"address": {"nickName": "work", "line1": "1 Pine St", "city": "Ely",
        "country": "US"}});
    shopper_error(
        post(&app, &full, &path, steal).await,
        409,
        "address-already-exists",
    )
    .await;
    let other = json!({"address": {"id": work_id, "line1": "1 Pine St", "city": "Ely",
        "country": "US"}});
    shopper_error(
        post(&app, &full, &path, other).await,
        400,
        "invalid-request",
    )
    .await;
    let nowhere = json!({"address": {"line1": "1 Pine St", "city": "Ely", "country": "US"}});
    let response = post(&app, &full, &format!("{ADDRESSES}/999999"), nowhere.clone()).await;
    shopper_error(response, 404, "resource-not-found").await;
    shopper_error(post(&app, &limited, &path, nowhere).await, 403, "forbidden").await;
    // A wrong kind is still a 400 naming the field.
    let bad = json!({"address": {"isDefault": "sometimes", "line1": "x", "city": "y",
        "country": "US"}});
    names_field(post(&app, &full, ADDRESSES, bad).await, "address.isDefault").await;
}

#[tokio::test]
async fn payment_options_are_saved_named_and_made_default() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let full = app.shopper_pair().await.access;
    let limited = app.anonymous_pair().await.access;
    let options = "/v1/shoppers/me/payment-options";
    let first = app.create_source(APPROVE_CARD, true).await;
    let second = app.create_source(APPROVE_CARD, true).await;

    let save = json!({"paymentOption": {"nickName": "Travel card", "isDefault": "true",
        "sourceId": first}, "shopper": {"ipAddress": "192.0.2.5"}});
    let response = post(&app, &full, options, save).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.ends_with(&format!("{options}/{first}")),
        "{location}"
    );
    let saved: Value = response.json().await.unwrap();
    assert_eq!(saved["paymentOption"]["nickName"], "Travel card", "{saved}");
    assert_eq!(saved["paymentOption"]["isDefault"], true);
    assert_eq!(app.me(&full).await["shopper"]["ipAddress"], "192.0.2.5");

    // A second option made the default takes the flag; apply-shopper then uses it.
    let save = json!({"paymentOption": {"nickName": "Home card", "isDefault": true,
        "sourceId": second}});
    assert_eq!(post(&app, &full, options, save).await.status(), 201);
    let list = app.get_ok(&full, options).await;
    let listed = list["paymentOptions"]["paymentOption"].as_array().unwrap();
    let flag = |id: &str| listed.iter().find(|o| o["id"] == id).unwrap()["isDefault"].clone();
    assert_eq!(
        (flag(&first), flag(&second)),
        (json!(false), json!(true)),
        "{list}"
    );
    // GET /v1/shoppers/me shows the same options inline, as the docs' shopper sample does
    // (a full token's only: a limited one may not read them).
    let me = app.me(&full).await;
    assert_eq!(
        me["shopper"]["paymentOptions"], list["paymentOptions"],
        "{me}"
    );
    let anonymous = app.me(&limited).await;
    assert!(
        anonymous["shopper"].get("paymentOptions").is_none(),
        "{anonymous}"
    );
    ok_json(app.add_to_cart(&full, product, 1).await).await;
    let cart = ok_json(post_raw(&app, &full, &format!("{CART}/apply-shopper"), "").await).await;
    assert_eq!(
        cart["cart"]["paymentMethod"]["sourceId"],
        second.as_str(),
        "{cart}"
    );

    // The plugin's update: the option's id and a new nickname → 200, renamed.
    let rename = json!({"paymentOption": {"id": first, "nickName": "Old card"}});
    let renamed = ok_json(post(&app, &full, options, rename).await).await;
    assert_eq!(renamed["paymentOption"]["nickName"], "Old card");
    assert_eq!(renamed["paymentOption"]["isDefault"], false);

    // Refused: a single-use source, one the caller may not use, mismatched ids, a limited
    // token, a wrong kind.
    let single = app.create_source(APPROVE_CARD, false).await;
    let response = post(
        &app,
        &full,
        options,
        json!({"paymentOption": {"sourceId": single}}),
    )
    .await;
    shopper_error(response, 409, "invalid-payment-method").await;
    let theirs = app.create_source(APPROVE_CARD, true).await;
    let guest = app.anonymous_pair().await.access;
    ok_json(app.apply_source(&guest, &theirs).await).await;
    let response = post(
        &app,
        &full,
        options,
        json!({"paymentOption": {"sourceId": theirs}}),
    )
    .await;
    shopper_error(response, 409, "apply-payment-failure").await;
    let response = post(
        &app,
        &full,
        options,
        json!({"paymentOption": {"sourceId": "src_nope"}}),
    )
    .await;
    shopper_error(response, 409, "apply-payment-failure").await;
    let mixed = json!({"paymentOption": {"id": first, "sourceId": second}});
    shopper_error(
        post(&app, &full, options, mixed).await,
        400,
        "invalid-request",
    )
    .await;
    let response = post(
        &app,
        &limited,
        options,
        json!({"paymentOption": {"sourceId": first}}),
    )
    .await;
    shopper_error(response, 403, "forbidden").await;
    let bad = json!({"paymentOption": {"sourceId": first, "isDefault": "often"}});
    names_field(
        post(&app, &full, options, bad).await,
        "paymentOption.isDefault",
    )
    .await;
    assert_eq!(
        app.get_ok(&full, options).await["paymentOptions"]["paymentOption"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// `DELETE /v1/shoppers/me/payment-options/{id}` (the WordPress plugin's wallet): the option
/// leaves the shopper's list and its own path; deleting it again, or deleting a source that is
/// not one of the shopper's options, is a 404; a limited token gets a 403.
#[tokio::test]
async fn payment_options_are_deleted() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    let limited = app.anonymous_pair().await.access;
    let options = "/v1/shoppers/me/payment-options";
    let kept = app.create_source(APPROVE_CARD, true).await;
    let dropped = app.create_source(APPROVE_CARD, true).await;
    for source in [&kept, &dropped] {
        let save = json!({"paymentOption": {"sourceId": source, "isDefault": true}});
        assert_eq!(post(&app, &full, options, save).await.status(), 201);
    }
    let delete = |token: &str, id: &str| {
        app.http
            .delete(app.url(&format!("{options}/{id}")))
            .bearer_auth(token.to_owned())
            .send()
    };

    shopper_error(delete(&limited, &dropped).await.unwrap(), 403, "forbidden").await;
    let gone = delete(&full, &dropped).await.unwrap();
    assert_eq!(gone.status(), 204, "{}", gone.text().await.unwrap());
    let list = app.get_ok(&full, options).await;
    let ids: Vec<&str> = list["paymentOptions"]["paymentOption"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [kept.as_str()], "{list}");
    let path = format!("{options}/{dropped}");
    shopper_error(app.get_as(&full, &path).await, 404, "resource-not-found").await;
    shopper_error(
        delete(&full, &dropped).await.unwrap(),
        404,
        "resource-not-found",
    )
    .await;

    // A guest's source is no option of the shopper's; an unknown id neither.
    let guest = app.anonymous_pair().await.access;
    let theirs = app.create_source(APPROVE_CARD, true).await;
    ok_json(app.apply_source(&guest, &theirs).await).await;
    shopper_error(
        delete(&full, &theirs).await.unwrap(),
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        delete(&full, "src_nope").await.unwrap(),
        404,
        "resource-not-found",
    )
    .await;

    // Saved again, it is an option again (its claims were kept).
    let save = json!({"paymentOption": {"sourceId": dropped}});
    assert_eq!(post(&app, &full, options, save).await.status(), 201);
}

/// A Shopper API path with a trailing slash is the path without it, for every method and
/// access level (the WordPress plugin writes `payment-options/`); other paths keep theirs.
#[tokio::test]
async fn a_trailing_slash_names_the_same_shopper_api_route() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    let options = "/v1/shoppers/me/payment-options";
    let source = app.create_source(APPROVE_CARD, true).await;
    let save = json!({"paymentOption": {"sourceId": source, "nickName": "Slash"}});
    assert_eq!(
        post(&app, &full, &format!("{options}/"), save)
            .await
            .status(),
        201
    );
    let plain = app.get_ok(&full, options).await;
    let slashed = app.get_ok(&full, &format!("{options}/")).await;
    assert_eq!(slashed, plain);
    assert_eq!(
        plain["paymentOptions"]["paymentOption"][0]["nickName"],
        "Slash"
    );
    // With a query, and on a token-optional route with the API key alone.
    let (product, _) = catalog(&app).await;
    let products = app
        .http
        .get(app.url("/v1/shoppers/me/products/"))
        .query(&[("apiKey", app.public_key.as_str()), ("pageSize", "1")])
        .send()
        .await
        .unwrap();
    let products = ok_json(products).await;
    assert_eq!(
        products["products"]["product"].as_array().map(Vec::len),
        Some(1),
        "{products}"
    );
    let one = app
        .http
        .get(app.url(&format!("/v1/shoppers/me/products/{product}/")))
        .query(&[("apiKey", app.public_key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(ok_json(one).await["product"]["id"], product);
    let gone = app
        .http
        .delete(app.url(&format!("{options}/{source}/")))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    // Access rules are those of the route: no token is still a 401.
    let anonymous = app
        .http
        .get(app.url(&format!("{options}/")))
        .send()
        .await
        .unwrap();
    shopper_error(anonymous, 401, "invalid_token").await;
    // The OAuth endpoints keep their exact paths.
    let token = app
        .http
        .post(app.url("/oauth20/token/"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 404);
}

/// Tolerance stops at credentials: a tolerant route still refuses two Authorization headers,
/// a header and a `token` parameter that disagree, a repeated `token`, disagreeing API keys,
/// and a token that is only in the (tolerantly read) body.
#[tokio::test]
async fn tolerant_routes_keep_credentials_strict() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    let other = app.anonymous_pair().await.access;
    let body = json!({"cart": {"lineItems": {"lineItem": {"quantity": "1",
        "product": {"id": product}}}}})
    .to_string();
    let send = |request: reqwest::RequestBuilder| {
        request
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let cart = app.url(CART);

    let two_headers = send(
        app.http
            .post(&cart)
            .header("authorization", format!("Bearer {token}"))
            .header("authorization", format!("Bearer {token}")),
    )
    .await
    .unwrap();
    assert_eq!(two_headers.status(), 400);
    let disagree = send(
        app.http
            .post(&cart)
            .bearer_auth(&token)
            .query(&[("token", &other)]),
    )
    .await
    .unwrap();
    assert_eq!(disagree.status(), 400);
    let repeated = send(
        app.http
            .post(&cart)
            .query(&[("token", &token), ("token", &token)]),
    )
    .await
    .unwrap();
    assert_eq!(repeated.status(), 400);
    // A token in the body is an unknown field, never a credential.
    let in_body = app
        .http
        .post(&cart)
        .json(&json!({"access_token": token, "token": token, "cart": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(in_body.status(), 401);
    // Nothing above reached the cart.
    assert!(quantities(&app.get_ok(&token, CART).await).is_empty());

    // Sign-up: the apiKey parameter and header must agree.
    let keys = app
        .http
        .post(app.url("/v1/shoppers"))
        .query(&[("apiKey", app.public_key.as_str())])
        .header("apiKey", "someoneelseskey")
        .json(&json!({"shopper": {"externalReferenceId": "crm-x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), 400);

    // Credentials are strings: a number is not read as a password or a username.
    for (field, shopper) in [
        (
            "shopper.password",
            json!({"username": "num", "password": 12345678,
            "emailAddress": "num@example.com"}),
        ),
        (
            "shopper.username",
            json!({"username": 1234, "password": "a long password",
            "emailAddress": "num@example.com"}),
        ),
    ] {
        let response = post(&app, &token, "/v1/shoppers", json!({ "shopper": shopper })).await;
        let body = shopper_error(response, 400, "invalid-request").await;
        assert!(body.to_string().contains(field), "{field}: {body}");
    }
    assert_oauth_error(
        app.password_grant("num", "12345678").await,
        400,
        "invalid_grant",
    )
    .await;

    // A shopper whose login the storefront keeps (externalReferenceId only) gets no password,
    // even from its own full token, and so can never sign in with one.
    let external = app.external_shopper_pair().await.access;
    let response = post(
        &app,
        &external,
        ME,
        json!({"shopper": {"password": "a long password"}}),
    )
    .await;
    shopper_error(response, 400, "invalid-request").await;
    let me = app.get_ok(&external, ME).await;
    let username = me["shopper"]["username"]
        .as_str()
        .unwrap_or(EXTERNAL_REFERENCE);
    assert_oauth_error(
        app.password_grant(username, "a long password").await,
        400,
        "invalid_grant",
    )
    .await;
}

/// Further shapes the docs send: line items inside the cart's envelope on `line-items`, a
/// line-item update with nothing to change, and the client-hosted sign-up (a username and an
/// external reference, no password) whose username signs nothing in.
#[tokio::test]
async fn line_items_in_the_cart_envelope_bare_updates_and_client_hosted_sign_up() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    let line_items = format!("{CART}/line-items");
    let wrapped = json!({"cart": {"lineItems": {"lineItem": [{"quantity": 2,
        "product": {"id": product.to_string()}}], "appliedProductOffers": {"offer": {}}}}});
    ok_json(post(&app, &token, &line_items, wrapped).await).await;
    let cart = app.get_ok(&token, CART).await;
    assert_eq!(quantities(&cart), vec![(product, 2)]);
    let both = json!({"lineItems": {"lineItem": {"product": {"id": product}}},
        "cart": {"lineItems": {"lineItem": {"product": {"id": product}}}}});
    let response = post(&app, &token, &line_items, both).await;
    shopper_error(response, 400, "invalid-request").await;

    let line = cart["cart"]["lineItems"]["lineItem"][0]["id"]
        .as_i64()
        .unwrap();
    let unchanged =
        ok_json(post_raw(&app, &token, &format!("{line_items}/{line}"), "").await).await;
    assert_eq!(unchanged["lineItem"]["id"], line, "{unchanged}");
    assert_eq!(
        quantities(&app.get_ok(&token, CART).await),
        vec![(product, 2)]
    );
    let missing = post_raw(&app, &token, &format!("{line_items}/999999"), "").await;
    shopper_error(missing, 404, "resource-not-found").await;

    let created = sign_up(
        &app,
        json!({"shopper": {"username": "pat@example.com", "firstName": "Pat",
            "emailAddress": "pat@example.com", "externalReferenceId": "crm-pat"}}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["shopper"]["username"], "pat@example.com", "{body}");
    assert_eq!(body["shopper"]["externalReferenceId"], "crm-pat");
    // No password is kept, so no password signs in as Pat.
    assert_oauth_error(
        app.password_grant("pat@example.com", "").await,
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(
        app.password_grant("pat@example.com", "any password at all")
            .await,
        400,
        "invalid_grant",
    )
    .await;
    // A username without a password or a reference is still refused, naming the field.
    let refused = sign_up(
        &app,
        json!({"shopper": {"username": "sam", "emailAddress": "sam@example.com"}}),
    )
    .await;
    let body = shopper_error(refused, 400, "invalid-request").await;
    assert!(body.to_string().contains("shopper.password"), "{body}");
}

#[tokio::test]
async fn cart_and_line_custom_attributes_terms_charge_type_and_organization_reach_the_order() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    // The docs' price-override request sets a Boolean attribute with a JSON boolean.
    let cart = ok_json(
        post(
            &app,
            &token,
            CART,
            json!({"cart": {
                "customAttributes": {"attribute": [
                    {"name": "TaxInclusiveOverride", "type": "Boolean", "value": true},
                    {"name": "giftNote", "value": "Happy birthday"}]},
                "termsOfSalesAcceptance": "true", "chargeType": "moto",
                "organizationId": "org-42",
                "lineItems": {"lineItem": {"quantity": 1, "product": {"id": product},
                    "customAttributes": {"attribute": {"name": "engraving", "type": "string",
                                                       "value": "A.L."}}}}}}),
        )
        .await,
    )
    .await;
    let c = &cart["cart"];
    assert_eq!(c["termsOfSalesAcceptance"], true, "{c}");
    assert_eq!(c["chargeType"], "moto");
    assert_eq!(c["organizationId"], "org-42");
    assert_eq!(
        c["customAttributes"]["attribute"][0],
        json!({"name": "TaxInclusiveOverride", "type": "Boolean", "value": "true"})
    );
    let line = &c["lineItems"]["lineItem"][0];
    assert_eq!(
        line["customAttributes"]["attribute"],
        json!([{"name": "engraving", "type": "string", "value": "A.L."}]),
        "{line}"
    );
    let line_id = line["id"].as_i64().unwrap();

    // A later write sets what it names and keeps the rest.
    let cart = ok_json(
        post(
            &app,
            &token,
            CART,
            json!({"cart": {"customAttributes": {"attribute": [
                {"name": "giftNote", "value": "Happy 30th"}]}}}),
        )
        .await,
    )
    .await;
    let attributes = &cart["cart"]["customAttributes"]["attribute"];
    assert_eq!(attributes.as_array().unwrap().len(), 2, "{attributes}");
    assert_eq!(attributes[1]["value"], "Happy 30th");
    assert_eq!(cart["cart"]["chargeType"], "moto");
    let one = ok_json(
        post(
            &app,
            &token,
            &format!("{CART}/line-items/{line_id}"),
            json!({"lineItem": {"customAttributes": {"attribute": [
                {"name": "giftWrap", "type": "Boolean", "value": "false"}]}}}),
        )
        .await,
    )
    .await;
    assert_eq!(
        one["lineItem"]["customAttributes"]["attribute"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Wrong values are a 400 naming the field; nothing is written.
    for (body, field) in [
        (
            json!({"cart": {"chargeType": "sometimes"}}),
            "cart.chargeType",
        ),
        (
            json!({"cart": {"customAttributes": {"attribute": [
                {"name": "x", "type": "Boolean", "value": "maybe"}]}}}),
            "cart.customAttributes.attribute[0].value",
        ),
        (
            json!({"cart": {"customAttributes": {"attribute": [{"value": "x"}]}}}),
            "cart.customAttributes.attribute[0].name",
        ),
    ] {
        let refused =
            shopper_error(post(&app, &token, CART, body).await, 400, "invalid-request").await;
        assert!(refused.to_string().contains(field), "{field}: {refused}");
    }

    // The order keeps the cart's attributes and charge type, and each line's; the next cart
    // starts without them.
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &source).await).await;
    let submitted = ok_json(app.submit(&token).await).await;
    let order = &submitted["submitCart"]["order"];
    assert_eq!(order["orderStateDetails"]["chargeType"], "moto", "{order}");
    assert_eq!(order["customAttributes"], cart["cart"]["customAttributes"]);
    assert_eq!(
        order["lineItems"]["lineItem"][0]["customAttributes"],
        one["lineItem"]["customAttributes"]
    );
    let next = app.get_ok(&token, CART).await;
    assert_eq!(next["cart"]["customAttributes"], json!({"attribute": []}));
    assert_eq!(next["cart"]["chargeType"], "customer_initiated");
    assert_eq!(next["cart"]["termsOfSalesAcceptance"], Value::Null);
}

#[tokio::test]
async fn concurrent_saves_of_one_new_nickname_make_one_address() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    let saves = 4;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(saves));
    let mut tasks = Vec::new();
    for i in 0..saves {
        let (barrier, url, token) = (barrier.clone(), app.url(ADDRESSES), full.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let body = json!({"address": {"nickName": "cabin", "line1": format!("{i} Lake Rd"),
                "city": "Ely", "country": "US", "postalCode": "55731"}});
            barrier.wait().await;
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(
            task.await.unwrap(),
            204,
            "each save is the nickname's address"
        );
    }
    let saved = app.get_ok(&full, ADDRESSES).await;
    let cabins: Vec<&Value> = saved["addresses"]["address"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["nickName"] == "cabin")
        .collect();
    assert_eq!(cabins.len(), 1, "one address per nickname: {saved}");
}

#[tokio::test]
async fn a_cart_update_refused_for_one_part_writes_none_of_it() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    // Lines, attributes and a billing address that are fine; a shipping address without a
    // country and an IP address that is not one.
    for bad in [
        json!({"shippingAddress": {"line1": "1 Main St", "city": "Austin"}}),
        json!({"ipAddress": "not-an-ip"}),
    ] {
        let mut cart = json!({
            "lineItems": {"lineItem": {"quantity": 2, "product": {"id": product}}},
            "customAttributes": {"attribute": {"name": "giftNote", "value": "hi"}},
            "billingAddress": {"line1": "1 Main St", "city": "Austin", "country": "US"}});
        cart.as_object_mut()
            .unwrap()
            .extend(bad.as_object().unwrap().clone());
        shopper_error(
            post(&app, &token, CART, json!({ "cart": cart })).await,
            400,
            "invalid-request",
        )
        .await;
        let now = app.get_ok(&token, CART).await;
        assert_eq!(now["cart"]["totalItemsInCart"], 0, "{bad}: {now}");
        assert_eq!(now["cart"]["customAttributes"], json!({"attribute": []}));
        assert!(
            now["cart"]["billingAddress"].get("line1").is_none(),
            "{now}"
        );
    }
}

#[tokio::test]
async fn repeated_attribute_writes_cannot_grow_a_cart_past_its_cap() {
    let app = spawn_app().await;
    let token = app.anonymous_pair().await.access;
    let batch = |from: usize| {
        let attribute: Vec<Value> = (from..from + 30)
            .map(|i| json!({"name": format!("a{i}"), "value": "v"}))
            .collect();
        json!({"cart": {"customAttributes": {"attribute": attribute}}})
    };
    ok_json(post(&app, &token, CART, batch(0)).await).await;
    // 30 more new names would make 60: refused, and the first 30 stay as they were.
    shopper_error(
        post(&app, &token, CART, batch(30)).await,
        400,
        "invalid-request",
    )
    .await;
    let cart = app.get_ok(&token, CART).await;
    assert_eq!(
        cart["cart"]["customAttributes"]["attribute"]
            .as_array()
            .unwrap()
            .len(),
        30
    );
}
