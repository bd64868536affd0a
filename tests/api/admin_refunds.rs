//! Refunds over the Admin API, over real HTTP: a Customer Service user (a staff token from
//! `/auth`) refunds an order at line-item and at order level in the docs' shapes, reads its
//! refunds, what is left and the request's schema; never more than a line paid or the order
//! was charged, also with ten concurrent requests released together; each documented error
//! scenario; a shopper-only key, a bare admin key, a shopper's token and a staff user without
//! a Customer Service role refused; every refund a ledger row, an audit row and a
//! `refund.created` event; returns' refunds counted, and refunded lines kept from returns.

use crate::admin_access::{admin_key, shopper_only_key, staff_token};
use crate::helpers::*;
use crate::multinode::cli;
use serde_json::{Value, json};
use shopkeeper::provision;
use std::sync::Arc;
use tokio::sync::Barrier;

const CS: &[&str] = &["customer-service-representative"];

/// The demo catalog (no offers): the antivirus download, sale price $39.99.
async fn product(app: &TestApp) -> i64 {
    let mut file = provision::demo_catalog().unwrap();
    file.offers.clear();
    file.point_of_promotions.clear();
    let summary = provision::import_catalog(&app.state.store, SITE, file, app.now())
        .await
        .unwrap();
    summary.product_ids[0]
}

/// A shopper's order of `quantity` antiviruses: the shopper's token, the order's id and its
/// one line's id.
async fn order_of(app: &TestApp, quantity: i64) -> (String, i64, i64) {
    let product = product(app).await;
    let token = app.shopper_pair().await.access;
    ok_json(app.add_to_cart(&token, product, quantity).await).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &source).await).await;
    let body = ok_json(app.submit(&token).await).await;
    let order = body["submitCart"]["order"]["id"].as_i64().unwrap();
    let lines = app
        .get_ok(
            &token,
            &format!("/v1/shoppers/me/orders/{order}/line-items"),
        )
        .await;
    let line = lines["lineItems"]["lineItem"][0]["id"].as_i64().unwrap();
    (token, order, line)
}

async fn cs_token(app: &TestApp) -> String {
    let key = admin_key(app).await;
    staff_token(app, &key, CS).await
}

fn line_refund(line: i64, value: Value) -> Value {
    json!({
        "type": "productRefund",
        "category": "PRODUCT_LEVEL_PRODUCT",
        "reason": "CUSTOMER_SATISFACTION_ISSUE",
        "comments": "Test Product Refund",
        "lineItems": [{"lineItemId": line.to_string(), "refundAmount": {"value": value, "currency": "USD"}}]
    })
}

fn order_refund(value: Value) -> Value {
    json!({
        "type": "orderRefund",
        "category": "ORDER_LEVEL_PRODUCT",
        "reason": "DUPLICATE_ORDER",
        "comments": "Ordered twice",
        "refundAmount": {"value": value, "currency": "USD"}
    })
}

async fn post_refund(app: &TestApp, token: &str, order: i64, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/orders/{order}/refunds")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn get_admin(app: &TestApp, token: &str, path: &str) -> Value {
    let answer = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    ok_json(answer).await
}

/// `answer` is the documented Admin API error: `status`, `code`, `subcode` and `message`.
async fn admin_error(
    answer: reqwest::Response,
    status: u16,
    code: &str,
    subcode: &str,
    message: &str,
) {
    let got = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["subcode"], subcode, "{body}");
    assert_eq!(error["message"], message, "{body}");
    assert!(
        error.as_object().unwrap().contains_key("description"),
        "{body}"
    );
}

/// Minor units of a `{value}` amount (exact: the values are written from minor units).
fn minor(amount: &Value) -> i64 {
    let text = amount["value"].to_string();
    let (units, cents) = text.split_once('.').unwrap_or((&text, "0"));
    units.parse::<i64>().unwrap() * 100 + format!("{cents:0<2}")[..2].parse::<i64>().unwrap()
}

async fn ledger_sum(app: &TestApp, order: i64) -> i64 {
    app.state
        .store
        .order_ledger(order)
        .await
        .unwrap()
        .iter()
        .map(|r| r.amount_minor)
        .sum()
}

async fn refund_events(app: &TestApp) -> Vec<Value> {
    app.state
        .store
        .events_after(&site_id(), 0, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "refund.created")
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect()
}

#[tokio::test]
async fn customer_service_refunds_lines_and_the_order_in_the_documented_shapes() {
    let app = spawn_app().await;
    let (_, order, line) = order_of(&app, 3).await;
    let cs = cs_token(&app).await;

    let none = get_admin(&app, &cs, &format!("/orders/{order}/refunds")).await;
    assert_eq!(none, json!({"refunds": []}));
    let available = get_admin(&app, &cs, &format!("/orders/{order}/refunds-available")).await;
    assert_eq!(available["currency"], "USD");
    assert_eq!(available["status"], "Submitted");
    let total = &available["lineItems"][0]["price"]["total"];
    assert_eq!(available["lineItems"][0]["lineItemId"], line.to_string());
    assert_eq!(
        total["amount"],
        json!({"value": 119.97, "formattedValue": "$119.97"})
    );
    assert_eq!(total["amountAvailableForRefund"]["value"], json!(119.97));
    assert_eq!(total["amountRefunded"]["value"], json!(0.0));
    // The parts: amounts shown, nothing refunded against a part by itself; no fees here.
    let parts = &available["lineItems"][0]["price"];
    assert_eq!(parts["totalTax"]["amountRefunded"]["value"], json!(0.0));
    assert_eq!(
        parts["totalTax"]["amountAvailableForRefund"]["value"],
        json!(0.0)
    );
    assert_eq!(
        parts["totalFee"]["amount"],
        json!({"value": 0.0, "formattedValue": "$0.00"})
    );
    let order_tax = minor(&available["price"]["totalTax"]["amount"])
        + minor(&available["price"]["totalShippingTax"]["amount"]);
    let line_tax =
        minor(&parts["totalTax"]["amount"]) + minor(&parts["totalShippingTax"]["amount"]);
    assert_eq!(order_tax, line_tax, "{available}");
    let charged = minor(&available["price"]["total"]["amount"]);
    assert!(charged >= 11997, "{available}");
    assert_eq!(
        minor(&available["price"]["total"]["amountAvailableForRefund"]),
        charged
    );

    // The docs' body: a line-item level refund of 39.99, exactly.
    let answer = post_refund(&app, &cs, order, &line_refund(line, json!(39.99))).await;
    let body = ok_json(answer).await;
    assert_eq!(body["refunds"].as_array().unwrap().len(), 1, "{body}");
    let refund = &body["refunds"][0];
    assert!(
        refund["id"].as_str().unwrap().parse::<i64>().is_ok(),
        "{refund}"
    );
    assert_eq!(refund["status"], "RefundedWithoutReturn");
    assert_eq!(refund["reason"], "CUSTOMER_SATISFACTION_ISSUE");
    assert_eq!(refund["comments"], "Test Product Refund");
    assert_eq!(refund["type"], "LineItemLevelSatisfactionRefund");
    assert_eq!(refund["category"], "PRODUCT_LEVEL_PRODUCT");
    assert_eq!(refund["origin"], "CUSTOMER_SERVICE");
    assert_eq!(refund["policy"], "NothingRequired");
    assert_eq!(refund["currency"], "USD");
    assert!(
        !refund["generatedBy"].as_str().unwrap().is_empty(),
        "{refund}"
    );
    assert!(
        refund["generationDate"].as_str().unwrap().ends_with('Z'),
        "{refund}"
    );
    assert_eq!(
        refund["totalRequested"],
        json!({"value": 39.99, "formattedValue": "$39.99"})
    );
    assert_eq!(
        refund["totalRefunded"],
        json!({"value": 39.99, "formattedValue": "$39.99"})
    );
    assert_eq!(
        refund["outstanding"],
        json!({"value": 0.0, "formattedValue": "$0.00"})
    );
    let item = &refund["lineItems"][0];
    assert_eq!(item["lineItemId"], line.to_string());
    assert_eq!(item["type"], "Download");
    assert_eq!(item["status"], "RefundedWithoutReturn");
    assert_eq!(item["expectedQuantity"], 0);
    assert_eq!(item["returnedQuantity"], 0);
    assert_eq!(item["notes"], "Nothing Required");
    assert_eq!(item["product"]["companyId"], SITE);
    assert_eq!(item["refundAmount"]["value"], json!(39.99));

    // What is left: the line 79.98, the order its charge less 39.99.
    let available = get_admin(&app, &cs, &format!("/orders/{order}/refunds-available")).await;
    let total = &available["lineItems"][0]["price"]["total"];
    assert_eq!(total["amountAvailableForRefund"]["value"], json!(79.98));
    assert_eq!(total["amountRefunded"]["value"], json!(39.99));
    assert_eq!(minor(&available["price"]["total"]["amountRefunded"]), 3999);
    let left = charged - 3999;
    assert_eq!(
        minor(&available["price"]["total"]["amountAvailableForRefund"]),
        left
    );

    // An order-level refund of one cent more than is left is refused; of all that is left,
    // accepted (the value as a string, the same digits).
    let over = format!("{}.{:02}", (left + 1) / 100, (left + 1) % 100);
    admin_error(
        post_refund(&app, &cs, order, &order_refund(json!(over))).await,
        400,
        "invalid-request",
        "refund-amount-exceeds-refundable-amount",
        "The requested refund amount is greater than the refundable amount.",
    )
    .await;
    let exact = format!("{}.{:02}", left / 100, left % 100);
    let body = ok_json(post_refund(&app, &cs, order, &order_refund(json!(exact))).await).await;
    let whole = &body["refunds"][0];
    assert_eq!(whole["type"], "OrderLevelSatisfactionRefund");
    assert_eq!(whole["category"], "ORDER_LEVEL_PRODUCT");
    assert_eq!(whole["lineItems"], json!([]));
    assert_eq!(minor(&whole["totalRefunded"]), left);

    // The charge is given back in full; nothing more can be.
    assert_eq!(ledger_sum(&app, order).await, charged);
    let available = get_admin(&app, &cs, &format!("/orders/{order}/refunds-available")).await;
    assert_eq!(
        minor(&available["price"]["total"]["amountAvailableForRefund"]),
        0
    );
    assert_eq!(
        minor(&available["lineItems"][0]["price"]["total"]["amountAvailableForRefund"]),
        0
    );
    admin_error(
        post_refund(&app, &cs, order, &line_refund(line, json!(0.01))).await,
        400,
        "invalid-request",
        "second-refund-not-allowed",
        "This order does not allow a second refund. Additional refunds require that you \
         perform a manual refund.",
    )
    .await;

    // The GET lists both, oldest first, as the POSTs answered them.
    let listed = get_admin(&app, &cs, &format!("/orders/{order}/refunds")).await;
    assert_eq!(listed["refunds"][0], *refund);
    assert_eq!(listed["refunds"][1], *whole);

    // Each refund: one ledger row to the order's payment source, one event, one audit row.
    let ledger = app.state.store.order_ledger(order).await.unwrap();
    assert_eq!(ledger.len(), 2);
    assert!(
        ledger
            .iter()
            .all(|r| r.return_id.is_none() && r.satisfaction_refund_id.is_some())
    );
    let events = refund_events(&app).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0]["orderId"], order);
    assert_eq!(events[0]["amountMinor"], 3999);
    assert_eq!(events[0]["lines"][0]["lineItemId"], line);
    assert_eq!(events[1]["type"], "OrderLevelSatisfactionRefund");
    assert_eq!(
        events[1]["ledger"]["paymentSourceId"],
        json!(ledger[1].payment_source_id)
    );
    let audit = app
        .state
        .store
        .audit_for_order(&site_id(), order)
        .await
        .unwrap();
    let refunds: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "refund.created")
        .collect();
    assert_eq!(refunds.len(), 2, "{audit:?}");
    assert!(refunds.iter().all(|a| a.staff_user_id.is_some()));
    assert_eq!(
        refunds[0].staff_username.as_deref(),
        refund["generatedBy"].as_str()
    );
    let after: Value = serde_json::from_str(refunds[0].after_state.as_deref().unwrap()).unwrap();
    assert_eq!(after["amountMinor"], 3999);
}

#[tokio::test]
async fn the_schema_describes_the_request() {
    let app = spawn_app().await;
    let (_, order, _) = order_of(&app, 1).await;
    let cs = cs_token(&app).await;
    let schema = get_admin(&app, &cs, &format!("/orders/{order}/refunds/schema")).await;
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
    assert_eq!(schema["type"], "object");
    let p = &schema["properties"];
    assert_eq!(p["type"]["enum"], json!(["productRefund", "orderRefund"]));
    assert!(
        p["reason"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("CUSTOMER_SATISFACTION_ISSUE"))
    );
    assert_eq!(
        p["refundAmount"]["properties"]["currency"]["enum"],
        json!(["USD"])
    );
    assert_eq!(
        p["lineItems"]["items"]["required"],
        json!(["lineItemId", "refundAmount"])
    );
    admin_error(
        app.http
            .get(app.url("/orders/999999/refunds/schema"))
            .bearer_auth(&cs)
            .send()
            .await
            .unwrap(),
        404,
        "resource-not-found",
        "requisition-not-found",
        "It cannot resolve the requisition.",
    )
    .await;
}

#[tokio::test]
async fn concurrent_refunds_never_give_back_more_than_the_line_paid() {
    let app = spawn_app().await;
    let (_, order, line) = order_of(&app, 3).await;
    let cs = cs_token(&app).await;
    // Ten requests of $20.00 against a line that paid $119.97: five fit.
    let barrier = Arc::new(Barrier::new(10));
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (http, url, cs, barrier) = (
            app.http.clone(),
            app.url(&format!("/orders/{order}/refunds")),
            cs.clone(),
            barrier.clone(),
        );
        let body = line_refund(line, json!(20));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let answer = http
                .post(url)
                .bearer_auth(cs)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            let body: Value = answer.json().await.unwrap();
            (status, body)
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            200 => accepted += 1,
            400 => assert_eq!(
                body["errors"][0]["subcode"], "refund-amount-exceeds-refundable-amount",
                "{body}"
            ),
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(accepted, 5);
    assert_eq!(ledger_sum(&app, order).await, 10_000);
    assert_eq!(refund_events(&app).await.len(), 5);

    // Order level, concurrently, on a fresh order: one takes the rest, the others are refused.
    let (_, order, _) = order_of(&app, 1).await;
    let available = get_admin(&app, &cs, &format!("/orders/{order}/refunds-available")).await;
    let charged = minor(&available["price"]["total"]["amount"]);
    let barrier = Arc::new(Barrier::new(8));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (http, url, cs, barrier) = (
            app.http.clone(),
            app.url(&format!("/orders/{order}/refunds")),
            cs.clone(),
            barrier.clone(),
        );
        let body = order_refund(json!(format!("{}.{:02}", charged / 100 / 2, 0)));
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            http.post(url)
                .bearer_auth(cs)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    assert!(ledger_sum(&app, order).await <= charged);
}

#[tokio::test]
async fn each_documented_error_scenario_is_refused_with_its_message() {
    let app = spawn_app().await;
    let (_, order, line) = order_of(&app, 1).await;
    let cs = cs_token(&app).await;
    let base = line_refund(line, json!(1));
    let with = |pointer: &str, value: Value| {
        let mut body = base.clone();
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with("/type", json!("refund")),
            "invalid-refund-type",
            "Invalid refund type.",
        ),
        (
            with("/reason", json!("")),
            "refund-reason-empty",
            "Refund Reason can not be empty.",
        ),
        (
            with("/reason", json!("BORED")),
            "invalid-refund-reason",
            "Invalid refund reason.",
        ),
        (
            with("/category", json!("")),
            "refund-category-empty",
            "The Refund Category can not be empty.",
        ),
        (
            with("/category", json!("ORDER_LEVEL_PRODUCT")),
            "invalid-refund-category",
            "Invalid refund category.",
        ),
        (
            with("/lineItems", json!([])),
            "line-items-empty",
            "Requisition Line Items can not be empty.",
        ),
        (
            with("/lineItems/0/lineItemId", json!("424242")),
            "line-item-not-found",
            "Cannot resolve the line item.",
        ),
        (
            with("/lineItems/0/refundAmount/currency", json!("EUR")),
            "currency-mismatch",
            "Currency in the request does not match with the requisition or lineItem.",
        ),
        (
            with("/lineItems/0/refundAmount/currency", json!("DOLLARS")),
            "invalid-currency-code",
            "The currency code is invalid.",
        ),
        (
            with("/lineItems/0/refundAmount/value", json!(0)),
            "invalid-refund-amount",
            "Invalid refund amount.",
        ),
        (
            with("/lineItems/0/refundAmount/value", json!(-5)),
            "invalid-refund-amount",
            "Invalid refund amount.",
        ),
        (
            with("/lineItems/0/refundAmount/value", json!(1.234)),
            "invalid-refund-amount-format",
            "The refund amount is not a valid currency amount. valid format is (####.##).",
        ),
        (
            with("/lineItems/0/refundAmount/value", json!("12,50")),
            "invalid-refund-amount-format",
            "The refund amount is not a valid currency amount. valid format is (####.##).",
        ),
        (
            with("/lineItems/0/refundAmount/value", json!(39.99 + 0.01)),
            "refund-amount-exceeds-refundable-amount",
            "The requested refund amount is greater than the refundable amount.",
        ),
        (
            with("/category", json!("PRODUCT_LEVEL_FEE")),
            "fee-list-empty",
            "Line Item's Fee List can not be empty.",
        ),
        (
            {
                let mut body = with("/category", json!("PRODUCT_LEVEL_FEE"));
                body["lineItems"][0]["lineItemFees"] = json!([
                    {"feeType": "RECYCLING", "refundAmount": {"value": 1, "currency": "USD"}}
                ]);
                body
            },
            "invalid-fee-type",
            "Unable to resolve fee type for the line item.",
        ),
    ];
    for (body, subcode, message) in cases {
        admin_error(
            post_refund(&app, &cs, order, &body).await,
            400,
            "invalid-request",
            subcode,
            message,
        )
        .await;
    }
    // Not JSON: the Admin shape, never a 500.
    let answer = app
        .http
        .post(app.url(&format!("/orders/{order}/refunds")))
        .bearer_auth(&cs)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "invalid-request");
    // Too large a body: 413 in the Admin shape too.
    let answer = app
        .http
        .post(app.url(&format!("/orders/{order}/refunds")))
        .bearer_auth(&cs)
        .header("content-type", "application/json")
        .body(format!("{{\"comments\": \"{}\"}}", "x".repeat(70 * 1024)))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 413);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "invalid-request");
    // Another site's order, or none: the requisition cannot be resolved.
    for missing in ["999999", "abc", "-1"] {
        admin_error(
            post_refund_raw(&app, &cs, missing, &base).await,
            404,
            "resource-not-found",
            "requisition-not-found",
            "It cannot resolve the requisition.",
        )
        .await;
    }
    // Nothing was written by any of them.
    assert_eq!(ledger_sum(&app, order).await, 0);
    assert!(refund_events(&app).await.is_empty());
}

async fn post_refund_raw(
    app: &TestApp,
    token: &str,
    order: &str,
    body: &Value,
) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/orders/{order}/refunds")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn callers_without_a_customer_service_role_are_refused() {
    let app = spawn_app().await;
    let (shopper, order, line) = order_of(&app, 1).await;
    let key = admin_key(&app).await;
    let site_manager = staff_token(&app, &key, &["site-manager"]).await;
    let shopper_key = shopper_only_key(&app);
    let routes = [
        ("POST", format!("/orders/{order}/refunds")),
        ("GET", format!("/orders/{order}/refunds")),
        ("GET", format!("/orders/{order}/refunds/schema")),
        ("GET", format!("/orders/{order}/refunds-available")),
    ];
    let body = line_refund(line, json!(1));
    for (method, path) in &routes {
        let send = |auth: String| {
            let request = match *method {
                "POST" => app.http.post(app.url(path)).json(&body),
                _ => app.http.get(app.url(path)),
            };
            request.header("authorization", auth).send()
        };
        // A staff user who is only a site manager: 403 with the documented message.
        let answer = send(format!("Bearer {site_manager}")).await.unwrap();
        assert_eq!(answer.status(), 403, "{method} {path}");
        let refused: Value = answer.json().await.unwrap();
        assert_eq!(refused["errors"][0]["code"], "forbidden");
        assert_eq!(refused["errors"][0]["subcode"], "invalid-user-role");
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert_eq!(
            message,
            "The user is not a Customer Service Director / Customer Service Supervisor / \
             Customer Service Representative."
        );
        // A shopper's token: not an Admin API credential.
        let answer = send(format!("Bearer {shopper}")).await.unwrap();
        assert_eq!(answer.status(), 401, "{method} {path}");
        let refused: Value = answer.json().await.unwrap();
        assert_eq!(refused["errors"][0]["code"], "unauthorized");
        // A shopper-only key: no Admin APIs permission.
        let answer = send(shopper_key.basic()).await.unwrap();
        assert!(
            [401, 403].contains(&answer.status().as_u16()),
            "{method} {path}: {}",
            answer.status()
        );
        let refused: Value = answer.json().await.unwrap();
        assert!(refused["errors"][0]["code"].is_string(), "{refused}");
        // The admin key alone: refunds need a Global Commerce user through /auth.
        let answer = send(key.basic()).await.unwrap();
        assert_eq!(answer.status(), 401, "{method} {path}");
        let refused: Value = answer.json().await.unwrap();
        let message = refused["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("/auth"), "{message}");
    }
    // None of them wrote anything.
    assert_eq!(ledger_sum(&app, order).await, 0);
    let audit = app
        .state
        .store
        .audit_for_order(&site_id(), order)
        .await
        .unwrap();
    assert!(audit.is_empty(), "{audit:?}");
}

async fn ask_return(
    app: &TestApp,
    shopper: &str,
    order: i64,
    line: i64,
    quantity: i64,
) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/v1/shoppers/me/orders/{order}/returns")))
        .bearer_auth(shopper)
        .json(&json!({"return": {
            "reason": "DUPLICATE_ORDER",
            "returnLineItems": {"returnLineItem": [
                {"lineItem": {"id": line, "quantity": quantity}}
            ]}
        }}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn returns_refunds_count_and_refunded_lines_are_kept_from_returns() {
    let app = spawn_app().await;
    let (shopper, order, line) = order_of(&app, 3).await;
    let cs = cs_token(&app).await;

    // The shopper returns one unit; the merchant refunds it with the CLI.
    let body = ok_json(ask_return(&app, &shopper, order, line, 1).await).await;
    let return_id = body["returns"][0]["return"][0]["id"].as_i64().unwrap();
    // Asked for, not yet refunded: it already holds its $39.99.
    let available = get_admin(&app, &cs, &format!("/orders/{order}/refunds-available")).await;
    let total = &available["lineItems"][0]["price"]["total"];
    assert_eq!(total["amountAvailableForRefund"]["value"], json!(79.98));
    assert_eq!(total["amountRefunded"]["value"], json!(0.0));
    let (ok, out) = cli(
        &app.database_url,
        &[
            "return",
            "refund",
            "--site",
            SITE,
            "--id",
            &return_id.to_string(),
        ],
        None,
    )
    .await;
    assert!(ok, "{out}");
    let available = get_admin(&app, &cs, &format!("/orders/{order}/refunds-available")).await;
    let total = &available["lineItems"][0]["price"]["total"];
    assert_eq!(total["amountAvailableForRefund"]["value"], json!(79.98));
    assert_eq!(total["amountRefunded"]["value"], json!(39.99));
    assert_eq!(minor(&available["price"]["total"]["amountRefunded"]), 3999);

    // The satisfaction refund is limited by it: 79.99 is a cent too much, 79.98 fits.
    admin_error(
        post_refund(&app, &cs, order, &line_refund(line, json!(79.99))).await,
        400,
        "invalid-request",
        "refund-amount-exceeds-refundable-amount",
        "The requested refund amount is greater than the refundable amount.",
    )
    .await;
    ok_json(post_refund(&app, &cs, order, &line_refund(line, json!(79.98))).await).await;
    // The one ledger holds both: the return's row and the satisfaction refund's.
    let ledger = app.state.store.order_ledger(order).await.unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[0].return_id, Some(return_id));
    assert!(ledger[1].satisfaction_refund_id.is_some());
    assert_eq!(ledger_sum(&app, order).await, 11997);

    // A line with a satisfaction refund is not eligible for return (the documented code).
    let (shopper, order, line) = order_of(&app, 2).await;
    ok_json(post_refund(&app, &cs, order, &line_refund(line, json!(1))).await).await;
    let answer = ask_return(&app, &shopper, order, line, 1).await;
    assert_eq!(answer.status(), 409);
    let refused: Value = answer.json().await.unwrap();
    assert!(
        refused
            .to_string()
            .contains("LINE_ITEM_HAS_LINE_LEVEL_SATISFACTION_REFUND"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_site_that_does_not_accept_satisfaction_refunds_refuses_them() {
    let app = spawn_app().await;
    let (_, order, line) = order_of(&app, 1).await;
    let cs = cs_token(&app).await;
    let switch = |allowed: &'static str| {
        let db = app.database_url.clone();
        async move {
            let args = [
                "site",
                "set-satisfaction-refunds",
                "--id",
                SITE,
                "--allowed",
                allowed,
            ];
            let (ok, out) = cli(&db, &args, None).await;
            assert!(ok, "{out}");
        }
    };
    switch("false").await;
    admin_error(
        post_refund(&app, &cs, order, &line_refund(line, json!(1))).await,
        400,
        "invalid-request",
        "satisfaction-refund-not-allowed",
        "The site is not allowed to accept a satisfaction refund for the requisition.",
    )
    .await;
    let available = get_admin(&app, &cs, &format!("/orders/{order}/refunds-available")).await;
    assert_eq!(
        minor(&available["price"]["total"]["amountAvailableForRefund"]),
        0
    );
    switch("true").await;
    ok_json(post_refund(&app, &cs, order, &line_refund(line, json!(1))).await).await;
    assert_eq!(ledger_sum(&app, order).await, 100);
}
