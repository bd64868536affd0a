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

/// The types of the site's subscription events, in order.
async fn subscription_events(app: &TestApp) -> Vec<String> {
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 500)
        .await
        .unwrap();
    events
        .into_iter()
        .map(|e| e.event_type)
        .filter(|t| t.starts_with("subscription."))
        .collect()
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
    let kinds = subscription_events(&app).await;
    assert_eq!(kinds, ["subscription.created", "subscription.cancelled"]);
    // The docs' event object (`data.object`): the resource's keys, money in major units.
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 100)
        .await
        .unwrap();
    let created = events
        .iter()
        .find(|e| e.event_type == "subscription.created")
        .unwrap();
    let object = &serde_json::from_str::<Value>(&created.payload).unwrap()["object"];
    assert_eq!(object["id"], id);
    assert_eq!(object["state"], "Subscribed");
    assert_eq!(object["renewalPrice"]["unitPrice"], 9.99);
    assert_eq!(
        object["term"],
        json!({"termUnit": "MONTHS", "termLength": 1})
    );
    assert_eq!(object["product"]["sku"], "DEMO-BACKUP-M");
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

/// A date of the docs' shape as Unix seconds.
fn instant(text: &Value) -> i64 {
    time::OffsetDateTime::parse(
        text.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
    .unix_timestamp()
}

/// A server whose job runner looks for due work every 20 ms: moving the clock makes a renewal
/// due, and the running engine (not the test) finds and runs it.
async fn app_renewing() -> TestApp {
    spawn_app_with(|s| s.operations.job_poll_interval_ms = 20).await
}

/// `shopper`'s cart, as it is, paid with a new reusable `card`, billed to the fixture address
/// with the terms of sale accepted, and submitted: the order.
async fn pay_and_submit(app: &TestApp, shopper: &str, card: &str) -> Value {
    let source = app.create_source(card, true).await;
    ok_json(app.apply_source(shopper, &source).await).await;
    crate::store_credit::put_billing_address(app, shopper).await;
    let terms = json!({"cart": {"termsOfSalesAcceptance": true}});
    ok_json(post_json(app, shopper, CART, terms).await).await;
    ok_json(app.submit(shopper).await).await
}

/// The shopper buys the demo's monthly subscription with `card` (reusable): its id.
async fn bought_with(app: &TestApp, shopper: &str, card: &str) -> i64 {
    let product = subscription_product(app).await;
    ok_json(app.add_to_cart(shopper, product, 1).await).await;
    pay_and_submit(app, shopper, card).await;
    let list = app.get_ok(shopper, MINE).await;
    list["subscriptions"]["subscription"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// The subscription at `path` now, read with a new token (the clock moves past the old ones).
async fn subscription_now(app: &TestApp, path: &str) -> Value {
    let token = app.shopper_pair().await.access;
    app.get_ok(&token, path).await["subscription"].clone()
}

/// Moves the clock `seconds` on and waits (bounded) until the running job runner has brought
/// the ledger of subscription `id` to `charges` attempts.
async fn move_clock_until_charged(app: &TestApp, id: i64, seconds: i64, charges: usize) {
    app.advance_clock(u64::try_from(seconds).unwrap()).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let ledger = app.state.store.subscription_charges(id).await.unwrap();
        if ledger.len() >= charges {
            assert_eq!(
                ledger.len(),
                charges,
                "one attempt per due time: {ledger:?}"
            );
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no renewal ran: {ledger:?}"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_running_engine_renews_each_term_once_as_the_clock_moves() {
    let app = app_renewing().await;
    let shopper = app.shopper_pair().await.access;
    let id = bought_with(&app, &shopper, APPROVE_CARD).await;
    let path = format!("{MINE}/{id}");
    let first = subscription_now(&app, &path).await;
    let mut expiration = instant(&first["expirationDate"]);
    for term in 1..=3 {
        let s = subscription_now(&app, &path).await;
        let due = instant(&s["nextRenewalDate"]);
        move_clock_until_charged(&app, id, due - app.now() + 60, term).await;
        let s = subscription_now(&app, &path).await;
        assert_eq!(s["state"], "Subscribed", "{s}");
        let next = instant(&s["expirationDate"]);
        assert!((28..=31).contains(&((next - expiration) / 86_400)), "{s}");
        expiration = next;
        assert_eq!(
            s["orders"]["order"].as_array().unwrap().len(),
            term + 1,
            "{s}"
        );
    }
    // The ledger: one approved charge a term, at the renewal price, the terms in order.
    let ledger = app.state.store.subscription_charges(id).await.unwrap();
    let rows: Vec<(i64, i64, i64, &str)> = ledger
        .iter()
        .map(|c| (c.period, c.attempt, c.amount_minor, c.outcome.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (2, 1, 999, "approved"),
            (3, 1, 999, "approved"),
            (4, 1, 999, "approved")
        ]
    );
    // Each renewal is an order of the shopper, charged to the stored card.
    let shopper = app.shopper_pair().await.access;
    for charge in &ledger {
        let order_id = charge.order_id.unwrap();
        let order = app
            .get_ok(&shopper, &format!("/v1/shoppers/me/orders/{order_id}"))
            .await;
        assert_eq!(order["order"]["pricing"]["total"]["value"], 9.99, "{order}");
        assert_eq!(order["order"]["lineItems"]["lineItem"][0]["quantity"], 1);
    }
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 100)
        .await
        .unwrap();
    let count = |kind: &str| events.iter().filter(|e| e.event_type == kind).count();
    assert_eq!(count("subscription.renewed"), 3);
    // Each renewal order reaches the merchant's systems as any order does.
    assert_eq!(count("order.submitted"), 1 + 3);
}

#[tokio::test]
async fn a_declined_renewal_is_retried_on_schedule_then_the_subscription_is_cancelled() {
    let app = app_renewing().await;
    let shopper = app.shopper_pair().await.access;
    // Approves the purchase, declines every renewal.
    let id = bought_with(&app, &shopper, "4000000000000341").await;
    let path = format!("{MINE}/{id}");
    let s = subscription_now(&app, &path).await;
    let expiration = instant(&s["expirationDate"]);
    // The demo plan: an attempt 3 days before the expiration, then every 2 days of its 7
    // days' grace: 4 attempts, then cancelled.
    let day = 86_400;
    move_clock_until_charged(&app, id, expiration - 3 * day - app.now() + 60, 1).await;
    let s = subscription_now(&app, &path).await;
    assert_eq!(s["state"], "PendingRenewal", "{s}");
    assert_eq!(s["status"], "Active");
    for (attempt, at) in [(2, expiration + 2 * day), (3, expiration + 4 * day)] {
        move_clock_until_charged(&app, id, at - app.now() + 60, attempt).await;
        let s = subscription_now(&app, &path).await;
        assert_eq!(s["state"], "PendingRenewal", "{s}");
    }
    move_clock_until_charged(&app, id, expiration + 6 * day - app.now() + 60, 4).await;
    let s = subscription_now(&app, &path).await;
    assert_eq!(s["state"], "Cancelled", "{s}");
    assert!(s["cancellationDate"].is_string());
    let ledger = app.state.store.subscription_charges(id).await.unwrap();
    assert!(
        ledger.iter().all(|c| c.outcome == "declined"
            && c.period == 2
            && c.decline_reason.as_deref() == Some("card_declined")
            && c.order_id.is_none()),
        "{ledger:?}"
    );
    assert_eq!(
        ledger.iter().map(|c| c.attempt).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    // Nothing more after the cancellation, however far the clock goes.
    app.advance_clock(60 * day as u64).await;
    let kinds = subscription_events(&app).await;
    assert_eq!(
        kinds,
        [
            "subscription.created",
            "subscription.payment_failed",
            "subscription.payment_failed",
            "subscription.payment_failed",
            "subscription.payment_failed",
            "subscription.cancelled"
        ]
    );
    assert_eq!(
        app.state
            .store
            .subscription_charges(id)
            .await
            .unwrap()
            .len(),
        4
    );
}

/// `shopkeeper serve` on `database` with the shared test clock and a look for renewals every
/// second, `failpoint` armed if given.
fn renewing_node(database: &str, port: u16, failpoint: Option<&str>) -> std::process::Child {
    crate::jobs::serve_with(
        database,
        port,
        failpoint,
        &["--test-clock", "--renewal-interval-seconds", "1"],
    )
}

#[tokio::test]
async fn a_node_killed_between_charge_and_commit_never_charges_twice() {
    // This process buys the subscription; its own runner never looks again, so the renewal
    // is the real node's.
    let app = spawn_app_with(|s| s.operations.job_poll_interval_ms = 3_600_000).await;
    let shopper = app.shopper_pair().await.access;
    let id = bought_with(&app, &shopper, APPROVE_CARD).await;
    let s = subscription_now(&app, &format!("{MINE}/{id}")).await;
    let due = instant(&s["nextRenewalDate"]);
    let port = free_port();
    let mut crashed = renewing_node(
        &app.database_url,
        port,
        Some("job:subscription-renewals:mid_step"),
    );
    // The shared clock moves: the renewal is due on the node, which charges, writes the
    // ledger and the order, and is killed before the commit.
    app.advance_clock(u64::try_from(due - app.now() + 60).unwrap())
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = crashed.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the failpoint never fired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGABRT), "{status:?}");
    // Nothing of the attempt survived the crash.
    let store = &app.state.store;
    assert!(store.subscription_charges(id).await.unwrap().is_empty());
    let s = subscription_now(&app, &format!("{MINE}/{id}")).await;
    assert_eq!(s["orders"]["order"].as_array().unwrap().len(), 1, "{s}");

    // Restarted, the node resumes: the term is charged exactly once.
    let mut restarted = renewing_node(&app.database_url, port, None);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if !store.subscription_charges(id).await.unwrap().is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the renewal never completed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Another look of the node after that changes nothing.
    let runs = |store: shopkeeper::store::Store| async move {
        store
            .job_by_key("subscription-renewals")
            .await
            .unwrap()
            .map_or(0, |job| job.runs)
    };
    let before = runs(store.clone()).await;
    app.advance_clock(5).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while runs(store.clone()).await <= before {
        assert!(std::time::Instant::now() < deadline, "no further look");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    restarted.kill().ok();
    restarted.wait().ok();
    let ledger = store.subscription_charges(id).await.unwrap();
    assert_eq!(ledger.len(), 1, "{ledger:?}");
    assert_eq!(
        (ledger[0].period, ledger[0].outcome.as_str()),
        (2, "approved")
    );
    let s = subscription_now(&app, &format!("{MINE}/{id}")).await;
    assert_eq!(s["orders"]["order"].as_array().unwrap().len(), 2, "{s}");
    assert_eq!(s["state"], "Subscribed");
}

#[tokio::test]
async fn the_shopper_changes_quantity_type_ship_to_and_source_and_a_new_source_renews_at_once() {
    let app = app_renewing().await;
    let shopper = app.shopper_pair().await.access;
    let id = bought_with(&app, &shopper, "4000000000000341").await;
    let path = format!("{MINE}/{id}");
    let action = |name: &str| format!("/v1/subscriptions/{id}/{name}");
    let accepted = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    };
    accepted(
        post_json(
            &app,
            &shopper,
            &action("renewal-quantity"),
            json!({"renewalQuantity": 3}),
        )
        .await,
    )
    .await;
    accepted(
        post_json(
            &app,
            &shopper,
            &action("renewal-type"),
            json!({"autoRenewal": false}),
        )
        .await,
    )
    .await;
    let s = subscription_now(&app, &path).await;
    assert_eq!(
        (s["renewalQuantity"].as_i64(), s["currentQuantity"].as_i64()),
        (Some(3), Some(1)),
        "{s}"
    );
    assert_eq!(s["autoRenewal"], false);
    accepted(
        post_json(
            &app,
            &shopper,
            &action("renewal-type"),
            json!({"autoRenewal": "true"}),
        )
        .await,
    )
    .await;
    accepted(
        post_json(
            &app,
            &shopper,
            &action("ship-to-address"),
            json!({"firstName": "Jane", "lastName": "Doe", "line1": "1234 Fake Street",
                   "city": "Minnetonka", "countrySubdivision": "MN", "postalCode": "55343",
                   "country": "US", "emailAddress": "jdoe@acme.com"}),
        )
        .await,
    )
    .await;
    let s = subscription_now(&app, &path).await;
    assert_eq!(s["autoRenewal"], true);
    assert_eq!(s["shipToAddress"]["city"], "Minnetonka", "{s}");
    for (name, body) in [
        ("renewal-quantity", json!({"renewalQuantity": 0})),
        ("renewal-type", json!({})),
        ("payment-source", json!({})),
        ("ship-to-address", json!({"city": "Nowhere"})),
    ] {
        shopper_error(
            post_json(&app, &shopper, &action(name), body).await,
            400,
            "invalid-request",
        )
        .await;
    }
    shopper_error(
        post_json(
            &app,
            &shopper,
            &action("payment-option"),
            json!({"paymentOptionId": "nope"}),
        )
        .await,
        404,
        "resource-not-found",
    )
    .await;

    // The first renewal attempt is declined (the card declines renewals)...
    let expiration = instant(&s["expirationDate"]);
    move_clock_until_charged(&app, id, expiration - 3 * 86_400 - app.now() + 60, 1).await;
    assert_eq!(
        subscription_now(&app, &path).await["state"],
        "PendingRenewal"
    );
    // ... and a new source is tried at the renewals' next look ("Retry On Account Update"),
    // not days later at the next scheduled attempt: 3 units renewed.
    let shopper = app.shopper_pair().await.access;
    let card = app.create_source(APPROVE_CARD, true).await;
    accepted(
        post_json(
            &app,
            &shopper,
            &action("payment-source"),
            json!({"sourceId": card}),
        )
        .await,
    )
    .await;
    // The renewals' next look (a minute on) tries it.
    move_clock_until_charged(&app, id, 61, 2).await;
    let ledger = app.state.store.subscription_charges(id).await.unwrap();
    assert_eq!(
        (
            ledger[1].attempt,
            ledger[1].amount_minor,
            ledger[1].outcome.as_str()
        ),
        (2, 3 * 999, "approved")
    );
    assert_eq!(ledger[1].payment_source_id, card);
    let s = subscription_now(&app, &path).await;
    assert_eq!(s["state"], "Subscribed");
    assert_eq!(s["currentQuantity"], 3);
    assert_eq!(s["paymentOption"]["id"], card);
    let orders = app.get_as(&shopper, &action("orders")).await;
    assert_eq!(orders.status(), 202, "as documented");
    let orders: Value = orders.json().await.unwrap();
    assert_eq!(
        orders["orders"]["order"].as_array().unwrap().len(),
        2,
        "{orders}"
    );

    // A cancelled subscription takes no more changes.
    accepted(post_json(&app, &shopper, &action("cancel"), json!({})).await).await;
    shopper_error(
        post_json(
            &app,
            &shopper,
            &action("renewal-type"),
            json!({"autoRenewal": true}),
        )
        .await,
        409,
        "precondition-failure",
    )
    .await;
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 200)
        .await
        .unwrap();
    let updated: Vec<Value> = events
        .iter()
        .filter(|e| e.event_type == "subscription.updated")
        .map(|e| serde_json::from_str::<Value>(&e.payload).unwrap()["previousAttributes"].clone())
        .collect();
    assert_eq!(updated.len(), 5, "{updated:?}");
    assert_eq!(updated[0], json!({"renewalQuantity": 1}));
    assert_eq!(updated[1], json!({"autoRenewal": true}));
}

#[tokio::test]
async fn a_free_trial_costs_nothing_then_converts_at_its_end() {
    let app = app_renewing().await;
    let file = json!({"products": [{"sku": "TRIAL-M", "name": "Trial plan",
        "productType": "DIGITAL", "currency": "USD", "listPrice": "5.00",
        "subscription": {"term": {"termUnit": "MONTHS", "termLength": 1},
                         "freeTrialPeriod": 14}}]});
    let summary = provision::import_catalog(
        &app.state.store,
        SITE,
        provision::parse_catalog(&file.to_string()).unwrap(),
        app.now(),
    )
    .await
    .unwrap();
    let shopper = app.shopper_pair().await.access;
    ok_json(app.add_to_cart(&shopper, summary.product_ids[0], 1).await).await;
    let order = pay_and_submit(&app, &shopper, APPROVE_CARD).await;
    assert_eq!(
        order["submitCart"]["order"]["pricing"]["total"]["value"], 0.0,
        "{order}"
    );
    let list = app.get_ok(&shopper, MINE).await;
    let s = list["subscriptions"]["subscription"][0].clone();
    let id: i64 = s["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        (s["state"].as_str(), s["status"].as_str()),
        (Some("FreeTrial"), Some("Free Trial"))
    );
    let expiration = instant(&s["expirationDate"]);
    assert_eq!(
        expiration - instant(&s["activationDate"]),
        14 * 86_400,
        "{s}"
    );
    assert_eq!(s["renewalPrice"]["unitPrice"], 5.0);
    // Every action is applied when asked: none is ever pending.
    let pending = app
        .get_as(&shopper, &format!("/v1/subscriptions/{id}/pending-actions"))
        .await;
    assert_eq!(pending.status(), 202);
    assert_eq!(
        pending.json::<Value>().await.unwrap(),
        json!({"pendingActions": []})
    );

    // At the trial's end the first charge converts it.
    move_clock_until_charged(&app, id, expiration - app.now() + 60, 1).await;
    let s = subscription_now(&app, &format!("{MINE}/{id}")).await;
    assert_eq!(s["state"], "Subscribed", "{s}");
    let ledger = app.state.store.subscription_charges(id).await.unwrap();
    assert_eq!(
        (ledger[0].amount_minor, ledger[0].outcome.as_str()),
        (500, "approved")
    );
    let next = instant(&s["expirationDate"]);
    assert!((28..=31).contains(&((next - expiration) / 86_400)), "{s}");
    let kinds = subscription_events(&app).await;
    assert_eq!(
        kinds,
        ["subscription.created", "subscription.trial_converted"]
    );
}

#[tokio::test]
async fn the_cart_carries_the_subscription_information_the_docs_show() {
    let app = spawn_app().await;
    let product = subscription_product(&app).await;
    let shopper = app.shopper_pair().await.access;
    let line = |info: Value| {
        json!({"cart": {"lineItems": {"lineItem": [
            {"quantity": 1, "product": {"id": product}, "subscriptionInfo": info}]}}})
    };
    let too_long = "x".repeat(4001);
    let body = shopper_error(
        post_json(&app, &shopper, CART, line(json!({"terms": too_long}))).await,
        400,
        "invalid-request",
    )
    .await;
    assert_eq!(
        body["errors"]["error"][0]["description"],
        "Terms cannot exceed a length of 4000 characters."
    );
    // The docs' acquisition cart: manual renewal chosen, the terms the shopper saw.
    let terms = "I agree to have client charge all my future bills on this card";
    let cart = ok_json(
        post_json(
            &app,
            &shopper,
            CART,
            line(
                json!({"autoRenewal": "false", "terms": terms, "freeTrial": false,
                        "billingAgreementId": null}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(
        cart["cart"]["lineItems"]["lineItem"][0]["subscriptionInfo"],
        json!({"autoRenewal": false, "terms": terms}),
        "{cart}"
    );
    pay_and_submit(&app, &shopper, APPROVE_CARD).await;
    let list = app.get_ok(&shopper, MINE).await;
    assert_eq!(
        list["subscriptions"]["subscription"][0]["autoRenewal"], false,
        "{list}"
    );
}
