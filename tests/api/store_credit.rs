//! Store credit, the docs' secondary `customerCredit` source: only a confidential key's secret
//! creates it, it pays a cart first and the card the rest, it can pay alone, it is spent once,
//! and the order and its `order.submitted` event say what each source paid.

use crate::checkout::{catalog, shopper_error};
use crate::helpers::{APPROVE_CARD, TestApp, no_content, ok_json, site_id, spawn_app};
use serde_json::{Value, json};

/// `POST /payments/sources` of store credit worth `amount`, with `bearer`.
async fn create_credit(app: &TestApp, bearer: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/payments/sources"))
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn put_billing_address(app: &TestApp, token: &str) {
    no_content(
        app.http
            .put(app.url("/v1/shoppers/me/carts/active/billing-address"))
            .bearer_auth(token)
            .json(
                &json!({"address": {"firstName": "Ada", "lastName": "Lovelace",
                "line1": "1 Main St", "city": "Austin", "countrySubdivision": "TX",
                "postalCode": "78701", "country": "US",
                "emailAddress": "ada@example.com"}}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
}

async fn limited_token(app: &TestApp) -> String {
    app.anonymous_pair().await.access
}

#[tokio::test]
async fn only_a_confidential_keys_secret_creates_store_credit() {
    let app = spawn_app().await;
    let body = json!({"paymentSessionId": "ps_1", "amount": 2, "type": "customerCredit",
                      "customerCredit": {}, "upstreamId": "7765374748"});

    // The browser's public key would let anyone mint money.
    let public = app.payments_key().await;
    let refused = create_credit(&app, &public, body.clone()).await;
    assert_eq!(refused.status(), 403);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["type"], "forbidden", "{refused}");
    for bearer in ["not-a-key", app.confidential_key.as_str()] {
        assert_eq!(
            create_credit(&app, bearer, body.clone()).await.status(),
            401,
            "{bearer}"
        );
    }

    let created = create_credit(&app, &app.confidential_secret, body.clone()).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["type"], "customerCredit");
    assert_eq!(created["state"], "chargeable");
    assert_eq!(created["reusable"], false);
    assert_eq!(created["customerCredit"], json!({}));
    assert_eq!(created["amount"], json!(2.00));
    // The site's currency when the request names none.
    assert_eq!(created["currency"], "USD");
    assert_eq!(created["upstreamId"], "7765374748");
    assert_eq!(created["paymentSessionId"], "ps_1");
    assert!(created.get("creditCard").is_none(), "{created}");

    for (bad, field) in [
        (
            json!({"type": "customerCredit", "customerCredit": {}}),
            "amount",
        ),
        (json!({"type": "customerCredit", "amount": "0"}), "amount"),
        (
            json!({"type": "customerCredit", "amount": "1.234"}),
            "amount",
        ),
        (
            json!({"type": "customerCredit", "amount": "1", "reusable": true}),
            "reusable",
        ),
        (json!({"type": "giftCard", "amount": "1"}), "type"),
    ] {
        let r = create_credit(&app, &app.confidential_secret, bad.clone()).await;
        assert_eq!(r.status(), 400, "{bad}");
        let r: Value = r.json().await.unwrap();
        assert_eq!(r["errors"][0]["parameter"], field, "{bad}: {r}");
    }
}

#[tokio::test]
async fn store_credit_pays_first_and_the_card_pays_the_rest() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = limited_token(&app).await;
    ok_json(app.add_to_cart(&token, product, 1).await).await;

    // The credit alone does not cover the $39.99 total: the session asks for a source.
    let credit_id = app.create_store_credit("10").await;
    let cart = ok_json(app.apply_source(&token, &credit_id).await).await;
    let payment = &cart["cart"]["paymentMethod"];
    assert_eq!(payment["type"], "customerCredit", "{cart}");
    assert_eq!(payment["customerCredit"]["reusable"], false);
    assert_eq!(payment["amountContributed"]["value"], json!(10.00));
    let session = &cart["cart"]["paymentSession"];
    assert_eq!(session["status"], "requires_source");
    assert_eq!(
        session["amountRemainingToBeContributed"]["value"],
        json!(29.99)
    );
    put_billing_address(&app, &token).await;
    shopper_error(app.submit(&token).await, 409, "invalid-payment-failure").await;

    // The card pays what the credit does not.
    let card = app.create_source(APPROVE_CARD, false).await;
    let cart = ok_json(app.apply_source(&token, &card).await).await;
    let payment = &cart["cart"]["paymentMethod"];
    assert_eq!(payment["type"], "creditCard", "{cart}");
    assert_eq!(payment["amountContributed"]["value"], json!(29.99));
    let supplementary = &payment["supplementaryPaymentMethods"];
    assert_eq!(supplementary.as_array().unwrap().len(), 1, "{cart}");
    assert_eq!(supplementary[0]["type"], "customerCredit");
    assert_eq!(supplementary[0]["sourceId"], credit_id.as_str());
    assert_eq!(supplementary[0]["amountContributed"]["value"], json!(10.00));
    let session = &cart["cart"]["paymentSession"];
    assert_eq!(session["status"], "requires_confirmation");
    assert_eq!(session["amountContributed"]["value"], json!(39.99));
    assert_eq!(
        session["amountRemainingToBeContributed"]["value"],
        json!(0.00)
    );

    let submitted = ok_json(app.submit(&token).await).await;
    let order = &submitted["submitCart"]["order"];
    let order_id = order["id"].as_i64().unwrap();
    let order = ok_json(
        app.get_as(&token, &format!("/v1/shoppers/me/orders/{order_id}"))
            .await,
    )
    .await;
    let paid = &order["order"]["paymentMethod"];
    assert_eq!(paid["amountContributed"]["value"], json!(29.99), "{order}");
    assert_eq!(
        paid["supplementaryPaymentMethods"][0]["amountContributed"]["value"],
        json!(10.00)
    );

    // The merchant's credit system learns what to subtract.
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 100)
        .await
        .unwrap();
    let submitted = events
        .iter()
        .rev()
        .find(|e| e.event_type == "order.submitted");
    let event: Value = serde_json::from_str(&submitted.unwrap().payload).unwrap();
    assert_eq!(event["storeCreditSourceId"], credit_id.as_str(), "{event}");
    assert_eq!(event["storeCreditMinor"], 1000);

    // Spent: it pays no second cart.
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    shopper_error(
        app.apply_source(&token, &credit_id).await,
        409,
        "apply-payment-failure",
    )
    .await;
}

#[tokio::test]
async fn store_credit_covering_the_total_pays_alone_and_is_one_sessions() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = limited_token(&app).await;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    let credit_id = app.create_store_credit("100.00").await;
    let cart = ok_json(app.apply_source(&token, &credit_id).await).await;
    // It pays the total, not its whole amount.
    let payment = &cart["cart"]["paymentMethod"];
    assert_eq!(
        payment["amountContributed"]["value"],
        json!(39.99),
        "{cart}"
    );
    assert_eq!(
        cart["cart"]["paymentSession"]["status"],
        "requires_confirmation"
    );

    // Another session cannot spend it.
    let other = limited_token(&app).await;
    ok_json(app.add_to_cart(&other, product, 1).await).await;
    shopper_error(
        app.apply_source(&other, &credit_id).await,
        409,
        "apply-payment-failure",
    )
    .await;

    // No billing address and no card owner: the submit asks for an address first.
    shopper_error(app.submit(&token).await, 409, "submit-cart-failed").await;
    put_billing_address(&app, &token).await;
    let submitted = ok_json(app.submit(&token).await).await;
    let order_id = submitted["submitCart"]["order"]["id"].as_i64().unwrap();
    let order = ok_json(
        app.get_as(&token, &format!("/v1/shoppers/me/orders/{order_id}"))
            .await,
    )
    .await;
    let paid = &order["order"]["paymentMethod"];
    assert_eq!(paid["type"], "customerCredit", "{order}");
    assert_eq!(paid["amountContributed"]["value"], json!(39.99));
    assert_eq!(paid["supplementaryPaymentMethods"], json!([]));
    assert!(paid.get("sourceId").is_none(), "{order}");
}

#[tokio::test]
async fn store_credit_in_another_currency_is_refused_at_submit() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = limited_token(&app).await;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    let response = create_credit(
        &app,
        &app.confidential_secret,
        json!({"type": "customerCredit", "amount": "500", "currency": "EUR"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let credit_id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cart = ok_json(app.apply_source(&token, &credit_id).await).await;
    assert_eq!(
        cart["cart"]["paymentMethod"]["amountContributed"]["value"],
        json!(0.00),
        "{cart}"
    );
    let card = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &card).await).await;
    shopper_error(app.submit(&token).await, 409, "invalid-payment-failure").await;
}
