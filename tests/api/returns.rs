//! Order returns over real HTTP: a signed-in shopper asks for units of an order back and reads
//! the order's returns in the docs' shapes with exact totals; over-returns (also across two
//! requests), a bad reason or body, the end of the return period and subscription lines are
//! refused; another shopper's order is a 404 and a guest's token a 403; concurrent requests
//! for the last unit give one return; the merchant's CLI accepts, refuses and refunds, each
//! step an event in the outbox and a refund a row of the ledger.

use crate::checkout::shopper_error;
use crate::helpers::*;
use crate::multinode::cli;
use serde_json::{Value, json};
use shopkeeper::provision;

const ORDERS: &str = "/v1/shoppers/me/orders";

/// The demo catalog (no offers): (the antivirus download, sale price $39.99; the monthly
/// Cloud Backup subscription).
pub(crate) async fn catalog(app: &TestApp) -> (i64, i64) {
    let mut file = provision::demo_catalog().unwrap();
    file.offers.clear();
    file.point_of_promotions.clear();
    let summary = provision::import_catalog(&app.state.store, SITE, file, app.now())
        .await
        .unwrap();
    (summary.product_ids[0], summary.product_ids[2])
}

/// `token` buys `quantity` of `product`: the order's id and its one line's id.
pub(crate) async fn order_of(
    app: &TestApp,
    token: &str,
    product: i64,
    quantity: i64,
) -> (i64, i64) {
    ok_json(app.add_to_cart(token, product, quantity).await).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(token, &source).await).await;
    let body = ok_json(app.submit(token).await).await;
    let order = body["submitCart"]["order"]["id"].as_i64().unwrap();
    let lines = app
        .get_ok(token, &format!("{ORDERS}/{order}/line-items"))
        .await;
    let line = lines["lineItems"]["lineItem"][0]["id"].as_i64().unwrap();
    (order, line)
}

fn request(reason: &str, line: Value, quantity: Value) -> Value {
    json!({"return": {
        "reason": reason,
        "comments": "Bought twice",
        "acceptELOD": "true",
        "returnLineItems": {"returnLineItem": [
            {"lineItemQuantityIDs": [1], "lineItem": {"id": line, "quantity": quantity}}
        ]}
    }})
}

/// `token` asks for `quantity` units of `line` of `order` back, for `reason`.
pub(crate) async fn ask(
    app: &TestApp,
    token: &str,
    order: i64,
    reason: &str,
    line: i64,
    quantity: i64,
) -> reqwest::Response {
    post(
        app,
        token,
        order,
        &request(reason, json!(line), json!(quantity)),
    )
    .await
}

/// The order's state refuses the request: 409 `operation-failed`, saying `why`.
async fn refused_because(response: reqwest::Response, why: &str) {
    let refused = shopper_error(response, 409, "operation-failed").await;
    let description = refused["errors"]["error"][0]["description"].to_string();
    assert!(description.contains(why), "{description}");
}

async fn post(app: &TestApp, token: &str, order: i64, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url(&format!("{ORDERS}/{order}/returns")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The types of the site's return events, in order.
async fn return_events(app: &TestApp) -> Vec<(String, Value)> {
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 500)
        .await
        .unwrap();
    events
        .into_iter()
        .filter(|e| e.event_type.starts_with("return."))
        .map(|e| (e.event_type, serde_json::from_str(&e.payload).unwrap()))
        .collect()
}

#[tokio::test]
async fn a_shopper_returns_units_and_reads_them_in_the_documented_shapes() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let shopper = app.shopper_pair().await.access;
    let (order, line) = order_of(&app, &shopper, product, 3).await;

    // Nothing asked for yet: the GET wrapper with an empty list.
    let none = app
        .get_ok(&shopper, &format!("{ORDERS}/{order}/returns"))
        .await;
    assert_eq!(none, json!({"returns": {"return": []}}));

    // The docs' body, its id a string and its quantity a number.
    let answer = post(
        &app,
        &shopper,
        order,
        &request("DUPLICATE_ORDER", json!(line.to_string()), json!(2)),
    )
    .await;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let created = &body["returns"][0]["return"][0];
    assert_eq!(body["returns"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!(created["reason"], "DUPLICATE_ORDER");
    assert_eq!(created["comments"], "Bought twice");
    assert_eq!(created["type"], "LineItemLevelReturnProduct");
    assert_eq!(created["status"], "PendingProductReturn");
    assert_eq!(created["origin"], "SHOPPER");
    assert_eq!(created["policy"], "LOD");
    assert_eq!(created["dateRefunded"], "In Process");
    assert_eq!(created["generatedBy"], app.shopper_id.to_string());
    // Two of three units at $39.99: $79.98, exactly.
    assert_eq!(
        created["requestedTotal"],
        json!({"currency": "USD", "value": 79.98})
    );
    assert_eq!(
        created["outstandingTotal"],
        json!({"currency": "USD", "value": 79.98})
    );
    assert_eq!(
        created["refundTotal"],
        json!({"currency": "USD", "value": 0.0})
    );
    assert_eq!(created["formattedRequestedTotal"], "$79.98");
    assert_eq!(created["formattedRefundTotal"], "$0.00");
    let item = &created["returnLineItems"]["returnLineItem"][0];
    assert_eq!(item["expectedQty"], 2);
    assert_eq!(item["returnedQty"], 0);
    assert_eq!(item["type"], "Download");
    assert_eq!(item["status"], "PendingProductReturn");
    assert_eq!(
        item["returnLITotal"],
        json!({"currency": "USD", "value": 79.98})
    );
    assert_eq!(item["formattedReturnLITotal"], "$79.98");
    assert_eq!(
        item["lineItem"]["uri"],
        app.url(&format!("{ORDERS}/{order}/line-items/{line}"))
    );
    // Thirty days from the submit.
    let due = created["generationDate"].as_str().unwrap();
    assert!(item["dueDate"].as_str().unwrap() > due, "{item}");

    // The GET shows the same return in its own wrapper.
    let listed = app
        .get_ok(&shopper, &format!("{ORDERS}/{order}/returns"))
        .await;
    assert_eq!(listed["returns"]["return"][0], *created, "{listed}");

    // One object rather than an array, the quantity a string, no `return` wrapper.
    let answer = post(
        &app,
        &shopper,
        order,
        &json!({"reason": "CUSTOMER_ERROR", "returnLineItems": {"returnLineItem":
            {"lineItem": {"id": line, "quantity": "1"}}}}),
    )
    .await;
    let body = ok_json(answer).await;
    assert_eq!(
        body["returns"][0]["return"][0]["requestedTotal"]["value"],
        json!(39.99)
    );
    let listed = app
        .get_ok(&shopper, &format!("{ORDERS}/{order}/returns"))
        .await;
    assert_eq!(listed["returns"]["return"].as_array().unwrap().len(), 2);

    // Every unit is asked for now: a third request is refused.
    refused_because(
        ask(&app, &shopper, order, "WRONG_PRODUCT", line, 1).await,
        "0 left to return",
    )
    .await;

    let events = return_events(&app).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].0, "return.requested");
    assert_eq!(events[0].1["requestedMinor"], 7998);
    assert_eq!(events[0].1["orderId"], order);
}

#[tokio::test]
async fn over_returns_bad_requests_strangers_and_guests_are_refused() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let shopper = app.shopper_pair().await.access;
    let (order, line) = order_of(&app, &shopper, product, 2).await;
    let path = format!("{ORDERS}/{order}/returns");

    // More than bought at once.
    shopper_error(
        ask(&app, &shopper, order, "WRONG_PRODUCT", line, 3).await,
        409,
        "operation-failed",
    )
    .await;
    // One unit, then two more across a second request.
    ok_json(ask(&app, &shopper, order, "WRONG_PRODUCT", line, 1).await).await;
    shopper_error(
        ask(&app, &shopper, order, "WRONG_PRODUCT", line, 2).await,
        409,
        "operation-failed",
    )
    .await;

    // Bad requests: 400 `invalid-request`.
    for (body, why) in [
        (
            request("CHANGED_MY_MIND", json!(line), json!(1)),
            "a reason that is not a code",
        ),
        (
            request("WRONG_PRODUCT", json!(line), json!(0)),
            "zero units",
        ),
        (
            request("WRONG_PRODUCT", json!(line), json!("many")),
            "a quantity that is not a number",
        ),
        (
            request("WRONG_PRODUCT", json!(999_999), json!(1)),
            "a line of another order",
        ),
        (
            json!({"return": {"reason": "WRONG_PRODUCT", "returnLineItems": {"returnLineItem": [
                {"lineItem": {"id": line, "quantity": 1}},
                {"lineItem": {"id": line, "quantity": 1}}
            ]}}}),
            "a line named twice",
        ),
        (json!({"return": {"reason": "WRONG_PRODUCT"}}), "no lines"),
        (
            json!({"return": {"returnLineItems": {"returnLineItem": [
                {"lineItem": {"id": line, "quantity": 1}}]}}}),
            "no reason",
        ),
        (json!({}), "nothing"),
    ] {
        let answer = post(&app, &shopper, order, &body).await;
        assert_eq!(answer.status(), 400, "{why}");
        shopper_error(answer, 400, "invalid-request").await;
    }

    // Another shopper's order is not there for them; a guest's token is refused.
    let stranger = app.external_shopper_pair().await.access;
    shopper_error(
        app.get_as(&stranger, &path).await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        ask(&app, &stranger, order, "WRONG_PRODUCT", line, 1).await,
        404,
        "resource-not-found",
    )
    .await;
    let guest = app.anonymous_pair().await.access;
    shopper_error(app.get_as(&guest, &path).await, 403, "forbidden").await;
    shopper_error(
        ask(&app, &guest, order, "WRONG_PRODUCT", line, 1).await,
        403,
        "forbidden",
    )
    .await;
    // Only the one return was written.
    assert_eq!(return_events(&app).await.len(), 1);
}

/// An order-level offer's discount is shared over the lines (`checkout::lines_paid`): returning
/// every unit of a digital order (no shipping, no tax) gives back what the order cost, not the
/// lines' prices before the offer.
#[tokio::test]
async fn returns_give_back_what_the_line_paid_after_the_order_offer() {
    let app = spawn_app().await;
    let mut file = provision::demo_catalog().unwrap();
    file.offers
        .retain(|o| o["name"].as_str().is_some_and(|n| n.starts_with("Welcome")));
    file.point_of_promotions.clear();
    let summary = provision::import_catalog(&app.state.store, SITE, file, app.now())
        .await
        .unwrap();
    let product = summary.product_ids[0];
    let shopper = app.shopper_pair().await.access;
    ok_json(app.add_to_cart(&shopper, product, 3).await).await;
    let coupon = app
        .http
        .post(app.url("/v1/shoppers/me/carts/active?promoCode=WELCOME10"))
        .bearer_auth(&shopper)
        .send()
        .await
        .unwrap();
    ok_json(coupon).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&shopper, &source).await).await;
    let body = ok_json(app.submit(&shopper).await).await;
    let order = body["submitCart"]["order"]["id"].as_i64().unwrap();
    let total = body["submitCart"]["order"]["pricing"]["total"].clone();
    // 3 × $39.99 = $119.97 less 10 %: the offer applied.
    assert_ne!(total["value"], json!(119.97), "{body}");
    let lines = app
        .get_ok(&shopper, &format!("{ORDERS}/{order}/line-items"))
        .await;
    let line = lines["lineItems"]["lineItem"][0]["id"].as_i64().unwrap();
    let answer = ok_json(ask(&app, &shopper, order, "DUPLICATE_ORDER", line, 3).await).await;
    assert_eq!(
        answer["returns"][0]["return"][0]["requestedTotal"], total,
        "{answer}"
    );
}

#[tokio::test]
async fn the_return_period_ends_thirty_days_after_the_submit() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let shopper = app.shopper_pair().await.access;
    let (order, line) = order_of(&app, &shopper, product, 2).await;
    // Tokens expire meanwhile: the shopper signs in again (the order is theirs all the same).
    app.advance_clock(29 * 86_400).await;
    let shopper = app.shopper_pair().await.access;
    ok_json(ask(&app, &shopper, order, "CUSTOMER_ERROR", line, 1).await).await;
    app.advance_clock(86_400).await;
    let shopper = app.shopper_pair().await.access;
    refused_because(
        ask(&app, &shopper, order, "CUSTOMER_ERROR", line, 1).await,
        "return period",
    )
    .await;
}

#[tokio::test]
async fn a_subscription_line_is_not_returnable() {
    let app = spawn_app().await;
    let (_, subscription) = catalog(&app).await;
    let shopper = app.shopper_pair().await.access;
    ok_json(app.add_to_cart(&shopper, subscription, 1).await).await;
    let card = app.create_source(APPROVE_CARD, true).await;
    ok_json(app.apply_source(&shopper, &card).await).await;
    crate::store_credit::put_billing_address(&app, &shopper).await;
    ok_json(
        app.http
            .post(app.url("/v1/shoppers/me/carts/active"))
            .bearer_auth(&shopper)
            .json(&json!({"cart": {"termsOfSalesAcceptance": true}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let body = ok_json(app.submit(&shopper).await).await;
    let order = body["submitCart"]["order"]["id"].as_i64().unwrap();
    let lines = app
        .get_ok(&shopper, &format!("{ORDERS}/{order}/line-items"))
        .await;
    let line = lines["lineItems"]["lineItem"][0]["id"].as_i64().unwrap();
    refused_because(
        ask(&app, &shopper, order, "CUSTOMER_ERROR", line, 1).await,
        "subscription",
    )
    .await;
}

#[tokio::test]
async fn concurrent_requests_for_the_last_unit_give_one_return() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let shopper = app.shopper_pair().await.access;
    let (order, line) = order_of(&app, &shopper, product, 1).await;
    const RACERS: usize = 8;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut tasks = Vec::new();
    for _ in 0..RACERS {
        let barrier = barrier.clone();
        let url = app.url(&format!("{ORDERS}/{order}/returns"));
        let token = shopper.clone();
        let body = request("DUPLICATE_ORDER", json!(line), json!(1));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            barrier.wait().await;
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap();
            (status, body)
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let accepted = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(accepted, 1, "{answers:?}");
    for (status, body) in &answers {
        if *status != 200 {
            assert_eq!(*status, 409, "{body}");
            assert_eq!(body["errors"]["error"][0]["code"], "operation-failed");
        }
    }
    let listed = app
        .get_ok(&shopper, &format!("{ORDERS}/{order}/returns"))
        .await;
    assert_eq!(listed["returns"]["return"].as_array().unwrap().len(), 1);
    assert_eq!(return_events(&app).await.len(), 1);
}

#[tokio::test]
async fn the_merchant_accepts_refuses_and_refunds_returns_with_the_cli() {
    let app = spawn_app().await;
    let db = app.database_url.as_str();
    let (product, _) = catalog(&app).await;
    let shopper = app.shopper_pair().await.access;
    let (order, line) = order_of(&app, &shopper, product, 2).await;
    let first = ok_json(
        ask(&app, &shopper, order, "DUPLICATE_ORDER", line, 1).await,
    )
    .await["returns"][0]["return"][0]["id"]
        .as_i64()
        .unwrap();
    let second = ok_json(
        ask(&app, &shopper, order, "WRONG_PRODUCT", line, 1).await,
    )
    .await["returns"][0]["return"][0]["id"]
        .as_i64()
        .unwrap();
    let run = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(db, &args, None).await
    };
    let act = |verb: &str, id: i64| {
        vec![
            "return".to_owned(),
            verb.to_owned(),
            "--site".to_owned(),
            SITE.to_owned(),
            "--id".to_owned(),
            id.to_string(),
        ]
    };

    let (ok, out) = run(vec![
        "return".into(),
        "list".into(),
        "--site".into(),
        SITE.into(),
        "--order".into(),
        order.to_string(),
    ])
    .await;
    assert!(ok, "{out}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert_eq!(listed[0]["status"], "PendingProductReturn");

    // The first is accepted, then refunded: one ledger row for its $39.99.
    let (ok, out) = run(act("accept", first)).await;
    assert!(ok, "{out}");
    let accepted: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(accepted["status"], "ReturnAcknowledged");
    let (ok, out) = run(act("refund", first)).await;
    assert!(ok, "{out}");
    let refunded: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(refunded["status"], "RefundedWithoutReturn");
    assert_eq!(refunded["refunded_minor"], 3999);
    let refunds = refunded["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{refunded}");
    assert_eq!(refunds[0]["amount_minor"], 3999);
    assert_eq!(refunds[0]["currency"], "USD");
    assert!(
        refunds[0]["payment_source_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{refunded}"
    );
    // Twice is refused, and writes nothing.
    let (ok, out) = run(act("refund", first)).await;
    assert!(!ok, "{out}");
    assert!(out.contains("RefundedWithoutReturn"), "{out}");

    // The second is refused: its unit may be asked for again.
    let (ok, out) = run(act("refuse", second)).await;
    assert!(ok, "{out}");
    let (ok, out) = run(act("accept", 999_999)).await;
    assert!(!ok, "{out}");
    ok_json(ask(&app, &shopper, order, "CUSTOMER_ERROR", line, 1).await).await;

    // The shopper sees the refund.
    let listed = app
        .get_ok(&shopper, &format!("{ORDERS}/{order}/returns"))
        .await;
    let returns = listed["returns"]["return"].as_array().unwrap();
    assert_eq!(returns.len(), 3, "{listed}");
    assert_eq!(returns[0]["status"], "RefundedWithoutReturn");
    assert_eq!(
        returns[0]["refundTotal"],
        json!({"currency": "USD", "value": 39.99})
    );
    assert_eq!(returns[0]["outstandingTotal"]["value"], json!(0.0));
    assert_ne!(returns[0]["dateRefunded"], "In Process");
    assert_eq!(
        returns[0]["returnLineItems"]["returnLineItem"][0]["returnedQty"],
        1
    );
    assert_eq!(returns[1]["status"], "Refused");

    // Each step is an event in the outbox, in order.
    let events = return_events(&app).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "return.requested",
            "return.requested",
            "return.acknowledged",
            "return.refunded",
            "return.refused",
            "return.requested",
        ]
    );
    assert_eq!(events[3].1["refund"]["amountMinor"], 3999);
    assert_eq!(events[3].1["id"], first);
}
