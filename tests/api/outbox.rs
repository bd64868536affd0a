//! The event outbox, on the engine the suite runs on: a submitted order writes exactly one
//! `order.submitted` event with the site's next number, a refused submit writes none, and
//! concurrent submits get numbers without gaps or repeats; `shopkeeper events list` reads them.

use crate::checkout::catalog;
use crate::helpers::*;
use serde_json::Value;
use std::sync::Arc;

/// A server whose job runner looks once at start and not again for an hour: the orders'
/// invoice jobs (whose `order.invoice.created` events take numbers too) do not run meanwhile.
async fn app() -> TestApp {
    spawn_app_with(|s| s.operations.job_poll_interval_ms = 3_600_000).await
}

async fn events(app: &TestApp) -> Vec<shopkeeper::store::EventRecord> {
    app.state
        .store
        .events_after(&site_id(), 0, 1000)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_submitted_order_writes_one_event_with_the_sites_next_number_and_a_refused_one_none() {
    let app = app().await;
    let (product, _) = catalog(&app).await;

    let guest = app.anonymous_pair().await.access;
    assert_eq!(app.submit(&guest).await.status(), 409, "an empty cart");
    ok_json(app.add_to_cart(&guest, product, 2).await).await;
    let declined = app.create_source(DECLINE_CARD, false).await;
    ok_json(app.apply_source(&guest, &declined).await).await;
    assert_eq!(app.submit(&guest).await.status(), 409, "a declined card");
    assert!(
        events(&app).await.is_empty(),
        "a refused submit writes no event"
    );

    let approved = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&guest, &approved).await).await;
    let body = ok_json(app.submit(&guest).await).await;
    let order = &body["submitCart"]["order"];
    let order_id = order["id"].as_i64().unwrap();
    let written = events(&app).await;
    assert_eq!(written.len(), 1, "{written:?}");
    let event = &written[0];
    assert_eq!(
        (event.seq, event.event_type.as_str()),
        (1, "order.submitted")
    );
    assert_eq!(event.site_id.as_str(), SITE);
    assert_eq!(event.id.len(), 36, "a UUID: {}", event.id);
    let payload: Value = serde_json::from_str(&event.payload).unwrap();
    assert_eq!(payload["orderId"], order_id, "{payload}");
    assert_eq!(payload["siteId"], SITE);
    assert_eq!(payload["shopperId"], Value::Null, "a guest's order");
    assert_eq!(payload["lineCount"], 1);
    assert_eq!(payload["currency"], "USD");
    assert!(payload["totalMinor"].as_i64().unwrap() > 0, "{payload}");
    assert_eq!(
        payload["totalMinor"].as_i64().unwrap(),
        payload["subtotalMinor"].as_i64().unwrap() - payload["discountMinor"].as_i64().unwrap()
            + payload["shippingMinor"].as_i64().unwrap()
            + payload["taxMinor"].as_i64().unwrap(),
        "{payload}"
    );

    // A second submit of the emptied cart is refused and writes nothing.
    assert_eq!(app.submit(&guest).await.status(), 409);
    // A signed-in shopper's order: the next number, with the shopper.
    let shopper = app.shopper_pair().await.access;
    let second = app.buy(&shopper, product).await;
    let written = events(&app).await;
    assert_eq!(written.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    let payload: Value = serde_json::from_str(&written[1].payload).unwrap();
    assert_eq!(payload["orderId"], second);
    assert_eq!(payload["shopperId"], app.shopper_id);

    // Operators read them with the CLI, from a number on.
    let (ok, out) = crate::multinode::cli(
        &app.database_url,
        &["events", "list", "--site", SITE, "--after", "1"],
        None,
    )
    .await;
    assert!(ok, "{out}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["seq"], 2);
    assert_eq!(listed[0]["type"], "order.submitted");
    assert_eq!(listed[0]["id"], written[1].id.as_str());
    assert_eq!(listed[0]["payload"]["orderId"], second);
    let (ok, out) = crate::multinode::cli(
        &app.database_url,
        &["events", "list", "--site", "nope"],
        None,
    )
    .await;
    assert!(!ok && out.contains("no site"), "{out}");
}

#[tokio::test]
async fn concurrent_submits_get_consecutive_numbers() {
    let app = Arc::new(app().await);
    let (product, _) = catalog(&app).await;
    const BUYERS: usize = 8;
    let mut tokens = Vec::new();
    for _ in 0..BUYERS {
        let token = app.anonymous_pair().await.access;
        ok_json(app.add_to_cart(&token, product, 1).await).await;
        let source = app.create_source(APPROVE_CARD, false).await;
        ok_json(app.apply_source(&token, &source).await).await;
        tokens.push(token);
    }
    let mut orders = Vec::new();
    for (status, body) in app.submit_together(tokens).await {
        assert_eq!(status, 200, "unexpected status, body: {body}");
        orders.push(body["submitCart"]["order"]["id"].as_i64().unwrap());
    }
    let written = events(&app).await;
    let seqs: Vec<i64> = written.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=BUYERS as i64).collect::<Vec<_>>());
    let mut recorded: Vec<i64> = written
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(&e.payload).unwrap()["orderId"]
                .as_i64()
                .unwrap()
        })
        .collect();
    recorded.sort();
    orders.sort();
    assert_eq!(recorded, orders, "one event per order");
}
