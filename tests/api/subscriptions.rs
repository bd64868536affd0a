//! Subscriptions: a signed-in shopper buys one with the order (terms of sale accepted, a
//! reusable source), sees it in the docs' shape, and cancels it; a guest, a cart without
//! the terms accepted and a single-use source are refused; another shopper sees nothing.

use crate::checkout::shopper_error;
use crate::helpers::*;
use serde_json::{Value, json};
use shopkeeper::provision;

const CART: &str = "/v1/shoppers/me/carts/active";
const MINE: &str = "/v1/shoppers/me/subscriptions";

/// The demo catalog's products; the third is the monthly Cloud Backup subscription.
async fn subscription_product(app: &TestApp) -> i64 {
    let summary = provision::import_catalog(
        &app.state.store,
        SITE,
        provision::demo_catalog().unwrap(),
        app.now(),
    )
    .await
    .unwrap();
    summary.product_ids[2]
}

async fn post_json(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `token`'s cart holds the subscription product, pays with a new source (`reusable` or not)
/// and has a billing address; `terms` is its `termsOfSalesAcceptance` when given.
async fn subscription_cart(
    app: &TestApp,
    token: &str,
    product: i64,
    reusable: bool,
    terms: Option<bool>,
) {
    ok_json(app.add_to_cart(token, product, 1).await).await;
    let card = app.create_source(APPROVE_CARD, reusable).await;
    ok_json(app.apply_source(token, &card).await).await;
    crate::store_credit::put_billing_address(app, token).await;
    if let Some(terms) = terms {
        ok_json(
            post_json(
                app,
                token,
                CART,
                json!({"cart": {"termsOfSalesAcceptance": terms}}),
            )
            .await,
        )
        .await;
    }
}

#[tokio::test]
async fn a_signed_in_shopper_buys_a_subscription_sees_it_and_cancels_it() {
    let app = spawn_app().await;
    let product = subscription_product(&app).await;
    let shopper = app.shopper_pair().await.access;
    subscription_cart(&app, &shopper, product, true, Some(true)).await;
    let bought_at = app.now();
    let order = ok_json(app.submit(&shopper).await).await;
    let order_id = order["submitCart"]["order"]["id"].as_i64().unwrap();
    assert_eq!(
        order["submitCart"]["order"]["pricing"]["total"]["value"], 9.99,
        "{order}"
    );

    let list = app.get_ok(&shopper, MINE).await;
    let all = list["subscriptions"]["subscription"].as_array().unwrap();
    assert_eq!(all.len(), 1, "{list}");
    let s = &all[0];
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(s["state"], "Subscribed");
    assert_eq!(s["status"], "Active");
    assert_eq!(s["autoRenewal"], true);
    assert_eq!(
        (s["currentQuantity"].as_i64(), s["renewalQuantity"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(s["term"], json!({"termUnit": "MONTHS", "termLength": 1}));
    assert_eq!(s["product"]["id"], product.to_string());
    assert_eq!(s["product"]["sku"], "DEMO-BACKUP-M");
    assert_eq!(
        s["renewalPrice"],
        json!({"unitPrice": 9.99, "currency": "USD", "locked": false})
    );
    assert_eq!(s["orders"]["order"][0]["id"], order_id.to_string());
    assert_eq!(s["cancellationDate"], Value::Null);
    assert_eq!(s["addOns"], json!([]));
    // One calendar month from the purchase; renewal billed 3 days before; 7 days' grace.
    let day = |text: &Value| {
        time::OffsetDateTime::parse(
            text.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
        .unix_timestamp()
    };
    let activation = day(&s["activationDate"]);
    assert!((activation - bought_at).abs() <= 1, "{s}");
    let expiration = day(&s["expirationDate"]);
    assert!(
        (28..=31).contains(&((expiration - activation) / 86_400)),
        "{s}"
    );
    assert_eq!(expiration - day(&s["nextRenewalDate"]), 3 * 86_400);
    assert_eq!(day(&s["graceDate"]) - expiration, 7 * 86_400);
    assert!(s["paymentOption"]["id"].is_string(), "{s}");
    for uri in [
        &s["uri"],
        &s["product"]["uri"],
        &s["orders"]["order"][0]["uri"],
    ] {
        let path = uri
            .as_str()
            .unwrap()
            .split_once("/v1/")
            .map(|(_, p)| format!("/v1/{p}"))
            .unwrap();
        ok_json(app.get_as(&shopper, &path).await).await;
    }
    let one = app.get_ok(&shopper, &format!("{MINE}/{id}")).await;
    assert_eq!(one["subscription"], *s);
    // The common resource, bare as the docs' sample.
    let bare = app
        .get_ok(&shopper, &format!("/v1/subscriptions/{id}"))
        .await;
    assert_eq!(bare["id"], id);
    assert_eq!(bare["state"], "Subscribed");

    // Nobody else sees it: another shopper, or this shopper's session as a guest.
    let other = app.external_shopper_pair().await.access;
    let theirs = app.get_ok(&other, MINE).await;
    assert_eq!(theirs["subscriptions"]["subscription"], json!([]));
    for path in [format!("{MINE}/{id}"), format!("/v1/subscriptions/{id}")] {
        shopper_error(app.get_as(&other, &path).await, 404, "resource-not-found").await;
    }
    shopper_error(
        post_json(
            &app,
            &other,
            &format!("/v1/subscriptions/{id}/cancel"),
            json!({}),
        )
        .await,
        404,
        "resource-not-found",
    )
    .await;
    let guest = app.anonymous_pair().await.access;
    shopper_error(app.get_as(&guest, MINE).await, 403, "forbidden").await;

    // Cancel: 202 and no body; cancelled at once; again: 202, nothing new.
    let cancelled = post_json(
        &app,
        &shopper,
        &format!("/v1/subscriptions/{id}/cancel"),
        json!({"suppressCancelNotification": true}),
    )
    .await;
    assert_eq!(cancelled.status(), 202);
    assert!(cancelled.text().await.unwrap().is_empty());
    let after = app.get_ok(&shopper, &format!("{MINE}/{id}")).await;
    assert_eq!(after["subscription"]["state"], "Cancelled");
    assert_eq!(after["subscription"]["status"], "Cancelled");
    assert!(after["subscription"]["cancellationDate"].is_string());
    assert_eq!(after["subscription"]["expirationDate"], s["expirationDate"]);
    let again = post_json(
        &app,
        &shopper,
        &format!("/v1/subscriptions/{id}/cancel"),
        json!({}),
    )
    .await;
    assert_eq!(again.status(), 202);

    // The outbox: created with the order, cancelled once.
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 100)
        .await
        .unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.event_type.as_str())
        .filter(|t| t.starts_with("subscription."))
        .collect();
    assert_eq!(kinds, ["subscription.created", "subscription.cancelled"]);
}

#[tokio::test]
async fn guests_unaccepted_terms_and_single_use_sources_cannot_buy_a_subscription() {
    let app = spawn_app().await;
    let product = subscription_product(&app).await;
    let guest = app.anonymous_pair().await.access;
    subscription_cart(&app, &guest, product, false, Some(true)).await;
    let body = shopper_error(app.submit(&guest).await, 409, "submit-cart-failed").await;
    assert!(
        body["errors"]["error"][0]["description"]
            .as_str()
            .unwrap()
            .contains("signed-in shopper"),
        "{body}"
    );

    let shopper = app.shopper_pair().await.access;
    subscription_cart(&app, &shopper, product, true, None).await;
    let body = shopper_error(app.submit(&shopper).await, 409, "submit-cart-failed").await;
    assert_eq!(
        body["errors"]["error"][0]["description"],
        "Terms of Sales Acceptance must be true so shopper confirmed the agreement."
    );
    ok_json(
        post_json(
            &app,
            &shopper,
            CART,
            json!({"cart": {"termsOfSalesAcceptance": false}}),
        )
        .await,
    )
    .await;
    shopper_error(app.submit(&shopper).await, 409, "submit-cart-failed").await;

    let single_use = app.create_source(APPROVE_CARD, false).await;
    ok_json(
        post_json(
            &app,
            &shopper,
            CART,
            json!({"cart": {"termsOfSalesAcceptance": true}}),
        )
        .await,
    )
    .await;
    ok_json(app.apply_source(&shopper, &single_use).await).await;
    let body = shopper_error(app.submit(&shopper).await, 409, "submit-cart-failed").await;
    assert_eq!(
        body["errors"]["error"][0]["description"],
        "Cannot use non-recurring payment method to purchase commitment type subscription"
    );
    // Nothing was bought.
    let list = app.get_ok(&shopper, MINE).await;
    assert_eq!(list["subscriptions"]["subscription"], json!([]));
    let cart = app.get_ok(&shopper, CART).await;
    assert_eq!(cart["cart"]["totalItemsInCart"], 1, "{cart}");
}
