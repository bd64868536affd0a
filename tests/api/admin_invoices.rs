//! The Admin API's orders and files over real HTTP: an order's details in the documented shape
//! (placed by a guest and by a signed-in shopper); its invoice rendered by the job runner (driven
//! here, never slept for), listed, downloaded and read back as text with `pdftotext`
//! (`SHOPKEEPER_TEST_PDFTOTEXT`, which `.ci/run` sets); the `order.invoice.created` event; one
//! invoice per order however often the job runs, a node dying mid-job included; and the
//! refusals: a Shopper-only key, a shopper token, a wrong secret, another site's order or file.

use crate::admin_access::{AdminKey, admin_get, admin_key, assert_admin_error, shopper_only_key};
use crate::checkout::{catalog, save_default_berlin_address};
use crate::helpers::*;
use serde_json::{Value, json};
use shopkeeper::domain::invoices::{INVOICE_JOB_KIND, invoice_job_key};
use shopkeeper::domain::jobs::JobState;
use shopkeeper::domain::{ClientKind, Permissions};
use shopkeeper::jobs::JobRunner;
use shopkeeper::provision;

/// A server whose own runner looks once at start and then not for an hour: the test runs the
/// jobs itself (`run_jobs`), so the invoice exists exactly when the test says.
async fn app() -> TestApp {
    spawn_app_with(|s| s.operations.job_poll_interval_ms = 3_600_000).await
}

/// One look of a runner with every kind of the server's, as a node's would be.
async fn run_jobs(app: &TestApp) -> usize {
    JobRunner::standard(&app.state).run_due().await.unwrap()
}

async fn admin_json(app: &TestApp, basic: &str, path: &str) -> Value {
    ok_json(admin_get(app, basic, path).await).await
}

/// A guest buys the digital product: the order's id and the submit's answer.
async fn guest_order(app: &TestApp, product: i64) -> (i64, Value) {
    let guest = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&guest, product, 2).await).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&guest, &source).await).await;
    let body = ok_json(app.submit(&guest).await).await;
    let id = body["submitCart"]["order"]["id"].as_i64().unwrap();
    (id, body)
}

/// The text of a PDF, by `pdftotext -layout` (None, after a SKIP line, without the binary).
fn pdf_text(test: &str, pdf: &[u8]) -> Option<String> {
    let Ok(binary) = std::env::var("SHOPKEEPER_TEST_PDFTOTEXT") else {
        skip(&format!(
            "{test}: set SHOPKEEPER_TEST_PDFTOTEXT (path to pdftotext, Debian's poppler-utils; \
             .ci/run does)"
        ));
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoice.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = std::process::Command::new(binary)
        .args(["-layout", "-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    Some(String::from_utf8(out.stdout).unwrap())
}

/// The site's `order.invoice.created` events' payloads.
async fn invoice_events(app: &TestApp) -> Vec<Value> {
    app.state
        .store
        .events_after(&site_id(), 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "order.invoice.created")
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect()
}

#[tokio::test]
async fn a_guests_order_in_the_documented_shape_and_its_invoice_as_a_pdf() {
    let app = app().await;
    let (antivirus, _) = catalog(&app).await;
    let key = admin_key(&app).await;
    let basic = key.basic();
    let (order, submitted) = guest_order(&app, antivirus).await;
    let total = &submitted["submitCart"]["order"]["pricing"]["orderTotal"]["value"];

    // The details: the docs' fields, from the stored order.
    let body = admin_json(&app, &basic, &format!("/v1/orders/{order}")).await;
    assert_eq!(body["id"], order.to_string());
    assert_eq!(body["totalItemsInCart"], 2);
    assert_eq!(body["testOrder"], true);
    assert_eq!(body["currency"], "USD");
    assert_eq!(body["taxExempt"], false);
    assert_eq!(body["taxInclusive"], false);
    assert_eq!(body["shopperLoginType"], "anonymous");
    assert_eq!(body["shopperId"], Value::Null);
    assert_eq!(body["orderState"], "Submitted");
    assert_eq!(body["businessEntityCode"], SITE);
    assert_eq!(body["pricing"]["total"]["value"], *total, "{body}");
    assert_eq!(body["pricing"]["importTaxAndDuty"]["value"], json!(0.0));
    assert_eq!(body["pricing"]["fees"]["value"], json!(0.0));
    let line = &body["lineItems"][0];
    let shopper_line = &submitted["submitCart"]["order"]["lineItems"]["lineItem"][0];
    assert_eq!(line["id"], shopper_line["id"].as_i64().unwrap().to_string());
    assert_eq!(line["quantity"], 2);
    assert_eq!(line["product"]["id"], antivirus.to_string());
    assert_eq!(
        line["product"]["displayName"],
        shopper_line["product"]["displayName"]
    );
    assert_eq!(line["subscriptions"], json!([]));
    assert_eq!(line["downloads"], json!([]));
    assert_eq!(line["digitalRights"], json!({}));
    for field in [
        "netPrice",
        "listPrice",
        "salePriceWithQuantity",
        "totalDiscountWithQuantity",
        "importTax",
        "importDuty",
    ] {
        assert!(
            line["pricing"][field]["value"].is_number(),
            "{field}: {line}"
        );
    }
    let method = &body["paymentMethods"][0];
    assert_eq!(method["displayableNumber"], "************0129");
    assert_eq!(
        (&method["expirationMonth"], &method["expirationYear"]),
        (&json!("7"), &json!("2040"))
    );
    assert_eq!(body["billingAddress"]["city"], "Minnetonka");
    assert_eq!(
        body["billingAddress"]["countryName"],
        "United States of America"
    );
    let date = body["submissionDate"].as_str().unwrap();
    assert!(date.ends_with(".000Z"), "{date}");

    // No invoice until the job ran; its job was enqueued with the order.
    let path = format!("/v1/orders/{order}/invoices");
    assert_eq!(
        admin_json(&app, &basic, &path).await,
        json!({"invoices": []})
    );
    let job = app
        .state
        .store
        .job_by_key(&invoice_job_key(order))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (job.kind.as_str(), job.state),
        (INVOICE_JOB_KIND, JobState::Queued)
    );
    assert!(run_jobs(&app).await >= 1);
    let job = app.state.store.job(job.id).await.unwrap().unwrap();
    assert_eq!(job.state, JobState::Done, "{job:?}");

    let list = admin_json(&app, &basic, &path).await;
    let invoices = list["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1, "{list}");
    assert_eq!(invoices[0]["type"], "vat_invoice");
    let url = invoices[0]["invoiceURL"].as_str().unwrap();
    let prefix = app.url(&format!("{path}/"));
    let receipt = url.strip_prefix(&prefix).unwrap_or_else(|| panic!("{url}"));

    // The PDF, downloaded by its receipt.
    let response = admin_get(&app, &basic, &format!("{path}/{receipt}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"));

    // The event, as the docs' webhook shows it.
    let events = invoice_events(&app).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["id"], receipt);
    assert_eq!(event["fileId"], receipt);
    assert_eq!(event["orderId"], order.to_string());
    assert_eq!(event["customerId"], Value::Null);
    assert_eq!(event["purpose"], "customer_invoice");
    let file_url = app.url(&format!("/files/{receipt}/content"));
    assert_eq!(event["invoiceURL"], file_url.as_str());

    // The file: its bytes by default, its id and name as JSON when only JSON is accepted.
    let file = admin_get(&app, &basic, &format!("/files/{receipt}/content")).await;
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(file.bytes().await.unwrap().to_vec(), pdf);
    let meta = app
        .http
        .get(&file_url)
        .header("Authorization", &basic)
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok_json(meta).await,
        json!({"id": receipt, "fileName": format!("invoice-{order}.pdf")})
    );

    // Run again (nothing is due), or as a crashed node's job would run again: the same file.
    run_jobs(&app).await;
    let again = shopkeeper::invoices::create_invoice(&app.state, order)
        .await
        .unwrap();
    assert_eq!(again.id, receipt);
    assert_eq!(invoice_events(&app).await.len(), 1);
    assert_eq!(admin_json(&app, &basic, &path).await, list);

    // What it says: the seller, the order, each line and the exact total.
    let Some(text) = pdf_text("admin_invoices::guest", &pdf) else {
        return;
    };
    let name = shopper_line["product"]["displayName"].as_str().unwrap();
    let formatted_total = submitted["submitCart"]["order"]["pricing"]["formattedOrderTotal"]
        .as_str()
        .unwrap();
    assert!(text.contains(SITE), "{text}");
    assert!(text.contains(&format!("Order: {order}")), "{text}");
    assert!(text.contains("Minnetonka"), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains(&name[..name.len().min(30)]))
        .unwrap_or_else(|| panic!("no line of {name}: {text}"));
    let list_price = shopper_line["pricing"]["formattedListPrice"]
        .as_str()
        .unwrap();
    assert!(row.contains(" 2 ") && row.contains(list_price), "{row}");
    let total_row = text
        .lines()
        .find(|l| l.trim_start().starts_with("Total"))
        .unwrap_or_else(|| panic!("no total: {text}"));
    assert!(
        total_row.trim_end().ends_with(formatted_total),
        "{total_row}"
    );
}

#[tokio::test]
async fn a_signed_in_shoppers_physical_order_shows_the_shopper_addresses_tax_and_shipping() {
    let app = app().await;
    let (_, keyboard) = catalog(&app).await;
    app.state
        .store
        .set_tax_rate(&site_id(), "DE", 1900)
        .await
        .unwrap();
    save_default_berlin_address(&app).await;
    let basic = admin_key(&app).await.basic();
    let full = app.shopper_pair().await.access;
    ok_json(app.add_to_cart(&full, keyboard, 2).await).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&full, &source).await).await;
    let shopper = app
        .http
        .post(app.url("/v1/shoppers/me/carts/active/apply-shopper"))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    ok_json(shopper).await;
    let submitted = ok_json(app.submit(&full).await).await;
    let order = submitted["submitCart"]["order"]["id"].as_i64().unwrap();

    let body = admin_json(&app, &basic, &format!("/v1/orders/{order}")).await;
    assert_eq!(body["shopperLoginType"], "authenticated");
    assert_eq!(body["shopperId"], app.shopper_id.to_string());
    assert_eq!(body["sendEmail"], true);
    assert_eq!(body["shippingAddress"]["city"], "Berlin");
    assert_eq!(body["shippingAddress"]["countryName"], "Germany");
    assert_eq!(body["shippingMethod"]["code"], 1, "{body}");
    // 2 × 89.00 + 5.00 shipping; 19 % on 183.00 = 34.77.
    let pricing = &body["pricing"];
    assert_eq!(pricing["subTotal"]["value"], json!(178.0));
    assert_eq!(pricing["shippingAndHandling"]["value"], json!(5.0));
    assert_eq!(pricing["tax"]["value"], json!(34.77));
    assert_eq!(pricing["total"]["value"], json!(217.77));
    let line = &body["lineItems"][0]["pricing"];
    assert_eq!(line["netPrice"]["value"], json!(178.0));
    assert_eq!(line["listPrice"]["value"], json!(89.0));
    assert_eq!(line["totalDiscountWithQuantity"]["value"], json!(0.0));
    // The goods' part of the tax: 34.77 × 178 / 183 = 33.82 (the rest is on shipping).
    assert_eq!(line["salePriceWithQuantity"]["value"], json!(211.82));

    assert!(run_jobs(&app).await >= 1);
    let list = admin_json(&app, &basic, &format!("/v1/orders/{order}/invoices")).await;
    let url = list["invoices"][0]["invoiceURL"]
        .as_str()
        .unwrap()
        .to_owned();
    let pdf = app
        .http
        .get(&url)
        .header("Authorization", &basic)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let events = invoice_events(&app).await;
    assert_eq!(events[0]["customerId"], app.shopper_id.to_string());
    let Some(text) = pdf_text("admin_invoices::shopper", &pdf) else {
        return;
    };
    for expected in [
        "Bill to",
        "Ship to",
        "Unter den Linden 1",
        "Germany",
        "$178.00",
        "$5.00",
        "Tax (19%)",
        "$34.77",
        "$217.77",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
}

/// A node that dies after storing the invoice but before completing its job: once its lease
/// expires another node runs the job again, which finds the invoice and writes nothing.
#[tokio::test]
async fn a_job_run_again_after_its_node_died_makes_no_second_invoice() {
    let app = app().await;
    let (antivirus, _) = catalog(&app).await;
    let (order, _) = guest_order(&app, antivirus).await;
    let store = &app.state.store;
    let now_ms = i64::try_from(app.state.clock.now_millis()).unwrap();
    let leases = store
        .claim_jobs(INVOICE_JOB_KIND, "dead-node", now_ms, 30_000, 16)
        .await
        .unwrap();
    assert_eq!(leases.len(), 1);
    // The dead node's work: the invoice and its event, then no completion.
    let first = shopkeeper::invoices::create_invoice(&app.state, order)
        .await
        .unwrap();
    run_jobs(&app).await;
    let held = store
        .job_by_key(&invoice_job_key(order))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        held.state,
        JobState::Running,
        "the lease still holds: {held:?}"
    );
    app.advance_clock(60).await;
    // (The clean-up and the renewals are due again too.)
    assert!(
        run_jobs(&app).await >= 1,
        "the expired lease is claimed again"
    );
    let job = store
        .job_by_key(&invoice_job_key(order))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.state, job.runs), (JobState::Done, 1));
    let files = store.order_invoices(&site_id(), order).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].id, first.id);
    assert_eq!(invoice_events(&app).await.len(), 1);
}

/// A confidential key with Admin APIs permission on another site: its `Basic` header.
async fn other_site_admin_key(app: &TestApp) -> String {
    let store = &app.state.store;
    provision::create_site(store, "othersite", None, app.now())
        .await
        .unwrap();
    let created = provision::create_client_with_permissions(
        store,
        "othersite",
        ClientKind::Confidential,
        &[],
        Permissions::parse_list("shopper,admin").unwrap(),
        app.now(),
    )
    .await
    .unwrap();
    AdminKey {
        key: created.api_key,
        secret: created.secret.unwrap(),
    }
    .basic()
}

#[tokio::test]
async fn refusals_and_other_sites_orders_and_files() {
    let app = app().await;
    let (antivirus, _) = catalog(&app).await;
    let key = admin_key(&app).await;
    let basic = key.basic();
    let (order, _) = guest_order(&app, antivirus).await;
    run_jobs(&app).await;
    let file = app
        .state
        .store
        .order_invoices(&site_id(), order)
        .await
        .unwrap()[0]
        .id
        .clone();
    let paths = [
        format!("/v1/orders/{order}"),
        format!("/v1/orders/{order}/invoices"),
        format!("/v1/orders/{order}/invoices/{file}"),
        format!("/files/{file}/content"),
    ];
    let shopper_only = shopper_only_key(&app).basic();
    let token = format!("Bearer {}", app.shopper_pair().await.access);
    let wrong = AdminKey {
        key: key.key.clone(),
        secret: "not-the-secret".into(),
    }
    .basic();
    for path in &paths {
        assert_eq!(admin_get(&app, &basic, path).await.status(), 200, "{path}");
        let refused =
            assert_admin_error(admin_get(&app, &shopper_only, path).await, 403, "forbidden").await;
        assert_eq!(refused["subcode"], "missing-admin-permission");
        assert_admin_error(admin_get(&app, &token, path).await, 401, "unauthorized").await;
        assert_admin_error(admin_get(&app, &wrong, path).await, 401, "unauthorized").await;
        let none = app.http.get(app.url(path)).send().await.unwrap();
        assert_admin_error(none, 401, "unauthorized").await;
    }

    // Unknown ids, and another site's key: the documented 404.
    for path in [
        "/v1/orders/999999".to_owned(),
        "/v1/orders/not-a-number".to_owned(),
        "/v1/orders/999999/invoices".to_owned(),
        format!("/v1/orders/{order}/invoices/00000000-0000-0000-0000-000000000000"),
        "/files/00000000-0000-0000-0000-000000000000/content".to_owned(),
    ] {
        assert_admin_error(
            admin_get(&app, &basic, &path).await,
            404,
            "resource-not-found",
        )
        .await;
    }
    let other = other_site_admin_key(&app).await;
    for path in &paths {
        assert_admin_error(
            admin_get(&app, &other, path).await,
            404,
            "resource-not-found",
        )
        .await;
    }
}
