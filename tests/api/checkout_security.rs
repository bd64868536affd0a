//! Security review of checkout (findings 1 and 5), over real HTTP on SQLite or PostgreSQL:
//! a limited token of a signed-in session (the browser's `SessionToken` hands one to any page)
//! can neither charge the shopper's card nor redirect a cart `apply-shopper` filled; a payment
//! source is bound to the session (or shopper) that first applied it; orders do not echo
//! source ids; `order-lookup` is rate-limited per client address.

use crate::checkout::{catalog, get, shopper_error};
use crate::helpers::{
    APPROVE_CARD, SHOPPER_PASSWORD, SHOPPER_USERNAME, SITE, TestApp, browser, ok_json, site_id,
    spawn_app, spawn_app_with,
};
use serde_json::{Value, json};

const CART: &str = "/v1/shoppers/me/carts/active";

/// Where the attacker wants the goods.
fn attackers_address() -> Value {
    json!({"line1": "1 Drop Street", "city": "Elsewhere", "country": "US",
           "emailAddress": "mallory@example.com"})
}

/// A signed-in browser session: the shopper's full token from the hosted sign-in, and a
/// limited token of the same session as any page gets it (`SessionToken?apiKey=` from the
/// browser's cookie, which the sign-in kept on the session).
async fn signed_in_browser_session(app: &TestApp) -> (String, String) {
    let http = browser();
    let signed_in = crate::authorize::sign_in(
        app,
        &http,
        &[
            ("client_id", app.public_key.as_str()),
            ("response_type", "token"),
            ("redirect_uri", crate::authorize::REDIRECT),
            ("state", "s"),
        ],
        SHOPPER_USERNAME,
        SHOPPER_PASSWORD,
    )
    .await;
    let location = signed_in.headers()["location"].to_str().unwrap().to_owned();
    let fragment = location.split_once('#').unwrap().1;
    let full = form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let limited = ok_json(
        http.get(app.url(&format!(
            "/store/{SITE}/SessionToken?apiKey={}",
            app.public_key
        )))
        .send()
        .await
        .unwrap(),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let full_info = ok_json(app.access_tokens(&full).await).await;
    let limited_info = ok_json(app.access_tokens(&limited).await).await;
    assert_eq!(full_info["sessionId"], limited_info["sessionId"]);
    assert_eq!(full_info["authenticated"], "true");
    assert_eq!(limited_info["authenticated"], "false");
    (full, limited)
}

/// The shopper's account: a default billing and shipping address in Berlin, and a reusable
/// card saved as a payment option from an earlier (separate) session. Returns its source id.
async fn shopper_with_saved_card(app: &TestApp) -> String {
    crate::checkout::save_default_berlin_address(app).await;
    let earlier = app.shopper_pair().await.access;
    // Importing the demo catalog again matches by sku: the same ids.
    let (product, _) = catalog(app).await;
    ok_json(app.add_to_cart(&earlier, product, 1).await).await;
    let card = app.create_source(APPROVE_CARD, true).await;
    ok_json(app.apply_source(&earlier, &card).await).await;
    let options = ok_json(get(app, &earlier, "/v1/shoppers/me/payment-options").await).await;
    assert_eq!(
        options["paymentOptions"]["paymentOption"][0]["id"],
        card.as_str()
    );
    card
}

async fn apply_shopper(app: &TestApp, full: &str) -> Value {
    ok_json(
        app.http
            .post(app.url(&format!("{CART}/apply-shopper")))
            .bearer_auth(full)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn put_shipping_address(app: &TestApp, token: &str, address: Value) -> reqwest::Response {
    app.http
        .put(app.url(&format!("{CART}/shipping-address")))
        .bearer_auth(token)
        .json(&json!({ "address": address }))
        .send()
        .await
        .unwrap()
}

async fn cart_of(app: &TestApp, token: &str) -> Value {
    ok_json(get(app, token, CART).await).await["cart"].clone()
}

/// The cart holds nothing that came from the shopper's account.
fn nothing_from_the_account(cart: &Value, what: &str) {
    assert_eq!(cart["paymentMethod"], json!({}), "{what}: {cart}");
    for field in ["billingAddress", "shippingAddress"] {
        assert_ne!(cart[field]["city"], "Berlin", "{what}: {field}: {cart}");
    }
}

async fn order_body(app: &TestApp, token: &str, submitted: Value) -> Value {
    let id = submitted["submitCart"]["order"]["id"].as_i64().unwrap();
    ok_json(get(app, token, &format!("/v1/shoppers/me/orders/{id}")).await).await["order"].clone()
}

/// Finding 1, after `apply-shopper`: the limited token redirects the shipment and submits.
#[tokio::test]
async fn a_limited_token_cannot_redirect_a_cart_filled_by_apply_shopper() {
    let app = spawn_app().await;
    let (_, keyboard) = catalog(&app).await;
    let card = shopper_with_saved_card(&app).await;
    let (full, limited) = signed_in_browser_session(&app).await;
    ok_json(app.add_to_cart(&full, keyboard, 1).await).await;
    let cart = apply_shopper(&app, &full).await;
    assert_eq!(cart["cart"]["shippingAddress"]["city"], "Berlin");
    assert_eq!(cart["cart"]["paymentMethod"]["sourceId"], card.as_str());

    crate::helpers::no_content(put_shipping_address(&app, &limited, attackers_address()).await)
        .await;
    shopper_error(app.submit(&limited).await, 409, "invalid-payment-failure").await;
    let cart = cart_of(&app, &full).await;
    nothing_from_the_account(&cart, "after the limited address change");
    assert_eq!(cart["shippingAddress"]["city"], "Elsewhere");
    // The shopper's next submit does not ship their card's purchase to the attacker.
    shopper_error(app.submit(&full).await, 409, "invalid-payment-failure").await;
    assert_eq!(app.state.store.order_count(&site_id()).await.unwrap(), 0);

    // apply-shopper puts the account's addresses and card back.
    let cart = apply_shopper(&app, &full).await;
    assert_eq!(cart["cart"]["shippingAddress"]["city"], "Berlin");
    let order = order_body(&app, &full, ok_json(app.submit(&full).await).await).await;
    assert_eq!(order["shippingAddress"]["city"], "Berlin");
}

/// Finding 1, before `apply-shopper`: what the limited token did earlier is overwritten, and
/// its submit right after `apply-shopper` (touching nothing) does not charge the saved card.
#[tokio::test]
async fn a_limited_tokens_earlier_changes_do_not_survive_apply_shopper() {
    let app = spawn_app().await;
    let (product, keyboard) = catalog(&app).await;
    shopper_with_saved_card(&app).await;
    let (full, limited) = signed_in_browser_session(&app).await;
    ok_json(app.add_to_cart(&limited, keyboard, 1).await).await;
    crate::helpers::no_content(put_shipping_address(&app, &limited, attackers_address()).await)
        .await;
    let mallorys = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&limited, &mallorys).await).await;

    let cart = apply_shopper(&app, &full).await;
    assert_eq!(cart["cart"]["shippingAddress"]["city"], "Berlin");
    shopper_error(app.submit(&limited).await, 409, "invalid-payment-failure").await;
    assert_eq!(app.state.store.order_count(&site_id()).await.unwrap(), 0);

    // A single-use card the shopper's full token applied is the shopper's too.
    ok_json(app.add_to_cart(&full, product, 1).await).await;
    let single_use = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&full, &single_use).await).await;
    shopper_error(app.submit(&limited).await, 409, "invalid-payment-failure").await;
    assert_eq!(app.state.store.order_count(&site_id()).await.unwrap(), 0);

    let order = order_body(&app, &full, ok_json(app.submit(&full).await).await).await;
    assert_eq!(order["shippingAddress"]["city"], "Berlin");
    assert_eq!(order["totalItemsInOrder"], 2);
}

/// A cart write a limited token sends: (what, method, path, JSON body, query).
type CartWrite<'a> = (
    &'a str,
    reqwest::Method,
    String,
    Option<Value>,
    Vec<(&'a str, String)>,
);

/// Finding 1: every kind of limited cart write drops the account's addresses and the
/// shopper's card, whatever it changes.
#[tokio::test]
async fn every_limited_cart_write_drops_what_came_from_the_account() {
    let app = spawn_app().await;
    let (product, keyboard) = catalog(&app).await;
    shopper_with_saved_card(&app).await;
    let (full, limited) = signed_in_browser_session(&app).await;
    let address = json!({ "address": attackers_address() });
    let mallorys = app.create_source(APPROVE_CARD, true).await;
    let writes: Vec<CartWrite> = vec![
        (
            "add to cart",
            reqwest::Method::POST,
            CART.into(),
            None,
            vec![("productId", product.to_string())],
        ),
        (
            "update cart",
            reqwest::Method::POST,
            CART.into(),
            Some(json!({"cart": {"shippingAddress": attackers_address()}})),
            vec![],
        ),
        (
            "add line items",
            reqwest::Method::POST,
            format!("{CART}/line-items"),
            None,
            vec![("productId", product.to_string())],
        ),
        (
            "update a line item",
            reqwest::Method::POST,
            format!("{CART}/line-items/LINE"),
            None,
            vec![("quantity", "3".into())],
        ),
        (
            "delete a line item",
            reqwest::Method::DELETE,
            format!("{CART}/line-items/LINE"),
            None,
            vec![],
        ),
        (
            "put billing address",
            reqwest::Method::PUT,
            format!("{CART}/billing-address"),
            Some(address.clone()),
            vec![],
        ),
        (
            "put shipping address",
            reqwest::Method::PUT,
            format!("{CART}/shipping-address"),
            Some(address.clone()),
            vec![],
        ),
        (
            "apply billing address",
            reqwest::Method::POST,
            format!("{CART}/apply-billing-address"),
            Some(address.clone()),
            vec![],
        ),
        (
            "apply shipping address",
            reqwest::Method::POST,
            format!("{CART}/apply-shipping-address"),
            Some(address.clone()),
            vec![],
        ),
        (
            "apply shipping option",
            reqwest::Method::POST,
            format!("{CART}/apply-shipping-option"),
            None,
            vec![("shippingOptionId", "2".into())],
        ),
        (
            "apply payment method",
            reqwest::Method::POST,
            format!("{CART}/apply-payment-method"),
            Some(json!({"paymentMethod": {"sourceId": mallorys}})),
            vec![],
        ),
        (
            "delete line items",
            reqwest::Method::DELETE,
            format!("{CART}/line-items"),
            None,
            vec![],
        ),
    ];
    for (what, method, path, body, query) in writes {
        // The cart as the shopper prepares it: a keyboard, a download, apply-shopper.
        for p in [keyboard, product] {
            let cart = cart_of(&app, &full).await;
            let has = cart["lineItems"]["lineItem"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["product"]["id"] == p);
            if !has {
                ok_json(app.add_to_cart(&full, p, 1).await).await;
            }
        }
        let cart = apply_shopper(&app, &full).await["cart"].clone();
        assert_eq!(cart["shippingAddress"]["city"], "Berlin", "{what}");
        assert_eq!(cart["billingAddress"]["city"], "Berlin", "{what}");
        assert!(
            cart["paymentMethod"]["sourceId"].is_string(),
            "{what}: {cart}"
        );
        let line = cart["lineItems"]["lineItem"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["product"]["id"] == product)
            .unwrap()["id"]
            .to_string();

        let mut request = app
            .http
            .request(method, app.url(&path.replace("LINE", &line)))
            .bearer_auth(&limited)
            .query(&query);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "{what}: {status} {}",
            response.text().await.unwrap()
        );

        let cart = cart_of(&app, &full).await;
        if what == "apply payment method" {
            // The attacker's own card stays: the shopper's addresses do not.
            assert_eq!(
                cart["paymentMethod"]["sourceId"],
                mallorys.as_str(),
                "{what}"
            );
            for field in ["billingAddress", "shippingAddress"] {
                assert_ne!(cart[field]["city"], "Berlin", "{what}: {field}: {cart}");
            }
        } else {
            nothing_from_the_account(&cart, what);
            let code = if what == "delete line items" {
                "submit-cart-failed"
            } else {
                "invalid-payment-failure"
            };
            shopper_error(app.submit(&full).await, 409, code).await;
        }
    }
    assert_eq!(app.state.store.order_count(&site_id()).await.unwrap(), 0);
}

/// Finding 5: a source belongs to the first session that applies it; orders and look-ups do
/// not show its id; a shopper's saved card is usable by that shopper's full tokens only.
#[tokio::test]
async fn a_source_is_bound_to_the_session_or_shopper_that_first_applied_it() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let alice = app.anonymous_pair().await.access;
    let mallory = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&alice, product, 1).await).await;
    ok_json(app.add_to_cart(&mallory, product, 1).await).await;

    let card = app.create_source(APPROVE_CARD, true).await;
    let cart = ok_json(app.apply_source(&alice, &card).await).await;
    // The cart's own paymentMethod keeps sourceId, as documented.
    assert_eq!(cart["cart"]["paymentMethod"]["sourceId"], card.as_str());
    shopper_error(
        app.apply_source(&mallory, &card).await,
        409,
        "apply-payment-failure",
    )
    .await;
    let submitted = ok_json(app.submit(&alice).await).await;
    let order_id = submitted["submitCart"]["order"]["id"].as_i64().unwrap();

    // Neither the order nor a look-up echoes the source id.
    let order = order_body(&app, &alice, submitted).await;
    assert_eq!(
        order["paymentMethod"]["creditCard"]["lastFourDigits"],
        "0129"
    );
    let lookup = ok_json(
        app.order_lookup(
            &mallory,
            json!({"orderId": order_id, "emailAddress": "test@digitalriver.com"}),
        )
        .await,
    )
    .await;
    for body in [order.to_string(), lookup.to_string()] {
        assert!(!body.contains(&card), "source id echoed: {body}");
    }
    // Knowing it anyway is not enough: the reusable card stays Alice's session's.
    shopper_error(
        app.apply_source(&mallory, &card).await,
        409,
        "apply-payment-failure",
    )
    .await;
    ok_json(app.add_to_cart(&alice, product, 1).await).await;
    ok_json(app.apply_source(&alice, &card).await).await;

    // A shopper's saved card: not another session's, not even a limited token of the
    // shopper's own session; the shopper's full tokens in any session.
    let saved = shopper_with_saved_card(&app).await;
    shopper_error(
        app.apply_source(&mallory, &saved).await,
        409,
        "apply-payment-failure",
    )
    .await;
    let (full, limited) = signed_in_browser_session(&app).await;
    ok_json(app.add_to_cart(&full, product, 1).await).await;
    shopper_error(
        app.apply_source(&limited, &saved).await,
        409,
        "apply-payment-failure",
    )
    .await;
    ok_json(app.apply_source(&full, &saved).await).await;
    ok_json(app.submit(&full).await).await;
}

/// Finding 5: `order-lookup` answers at most `--order-lookup-per-ip` requests per period from
/// one client address, then 429 with `Retry-After` in the Shopper API shape; another address
/// has its own allowance.
#[tokio::test]
async fn order_lookup_is_rate_limited_per_client_address() {
    let app = spawn_app_with(|s| {
        s.security.order_lookup_per_ip = 3;
        s.security.order_lookup_period_ms = 3_600_000;
        s.security.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let token = app.anonymous_pair().await.access;
    let lookup = |from: &'static str, order_id: i64| {
        app.http
            .post(app.url("/v1/shoppers/order-lookup"))
            .bearer_auth(&token)
            .header("x-forwarded-for", from)
            .json(&json!({"orderLookup": {"orderId": order_id,
                                          "emailAddress": "someone@example.com"}}))
            .send()
    };
    for order_id in 1..=3 {
        let r = lookup("203.0.113.7", order_id).await.unwrap();
        shopper_error(r, 404, "resource-not-found").await;
    }
    let r = lookup("203.0.113.7", 4).await.unwrap();
    let retry_after: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{retry_after}");
    shopper_error(r, 429, "rate-limit-quota-exceeded").await;
    let r = lookup("198.51.100.2", 4).await.unwrap();
    shopper_error(r, 404, "resource-not-found").await;
}

/// Store credit a shopper's full token applied is the shopper's money: a limited token of the
/// same session (any page's `SessionToken`) neither keeps it in the cart by writing, nor spends
/// it.
#[tokio::test]
async fn a_limited_tokens_cart_write_drops_store_credit_a_full_token_applied() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let (full, limited) = signed_in_browser_session(&app).await;
    ok_json(app.add_to_cart(&full, product, 1).await).await;
    let credit = app.create_store_credit("100.00").await;
    let cart = ok_json(app.apply_source(&full, &credit).await).await;
    assert_eq!(cart["cart"]["paymentMethod"]["type"], "customerCredit");
    // Any limited write (here: adding a line) drops it.
    let cart = ok_json(app.add_to_cart(&limited, product, 1).await).await;
    assert_eq!(cart["cart"]["paymentMethod"], json!({}), "{cart}");
    assert_eq!(
        cart["cart"]["paymentSession"]["status"], "requires_source",
        "{cart}"
    );
    // Nor can the limited token apply it again: it is the shopper's.
    shopper_error(
        app.apply_source(&limited, &credit).await,
        409,
        "apply-payment-failure",
    )
    .await;
}
