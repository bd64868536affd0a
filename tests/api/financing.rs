//! `GET /v1/shoppers/me/products/{id}/financing` (`product-discovery/financing.md`): the
//! documented shape, the exact figures (hand-checked, and the docs' own 7.20 at 9.9 % over
//! 12 months), token optional access, the catalog's 404 for an unknown product, `shopkeeper
//! site financing`, and the demo's terms.

use crate::checkout::shopper_error;
use crate::helpers::*;
use crate::multinode::cli;
use serde_json::{Value, json};
use shopkeeper::provision;

fn financing(product: i64) -> String {
    format!("/v1/shoppers/me/products/{product}/financing")
}

async fn site_cli(app: &TestApp, args: &[&str]) -> Value {
    let (ok, out) = cli(&app.database_url, args, None).await;
    assert!(ok, "{args:?}: {out}");
    serde_json::from_str(&out).unwrap_or_else(|_| panic!("not JSON: {out}"))
}

async fn site_cli_fails(app: &TestApp, args: &[&str], says: &str) {
    let (ok, out) = cli(&app.database_url, args, None).await;
    assert!(!ok, "{args:?} succeeded: {out}");
    let error: Value = serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{out}"));
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains(says), "{args:?}: {message}");
}

/// A product at the docs' price (list 8.00, sale 7.20 USD): its id.
async fn docs_product(app: &TestApp) -> i64 {
    let file = json!({"products": [{"sku": "DOCS-55555555", "name": "docs example",
        "productType": "DIGITAL", "currency": "USD", "listPrice": "8.00", "salePrice": "7.20"}]});
    provision::import_catalog(
        &app.state.store,
        SITE,
        provision::parse_catalog(&file.to_string()).unwrap(),
        app.now(),
    )
    .await
    .unwrap()
    .product_ids[0]
}

async fn with_key(app: &TestApp, key: &str, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .query(&[("apiKey", key)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_products_terms_are_priced_exactly_in_the_documented_shape() {
    let app = spawn_app().await;
    let product = docs_product(&app).await;
    let add = |months: &'static str, rate: &'static str| {
        vec![
            "site",
            "financing",
            "add",
            "--site",
            SITE,
            "--months",
            months,
            "--rate-bp",
            rate,
        ]
    };
    let twelve = site_cli(&app, &add("12", "990")).await["financing_terms"][0]["id"]
        .as_i64()
        .unwrap();
    site_cli(&app, &add("120", "450")).await;
    let mut free = add("6", "0");
    free.extend(["--description", "Interest-free for 6 months"]);
    let listed = site_cli(&app, &free).await;
    let terms = listed["financing_terms"].as_array().unwrap();
    assert_eq!(terms.len(), 3, "{listed}");
    assert_eq!(
        terms[1],
        json!({"id": twelve, "months": 12, "rate_bp": 990, "rate_percent": "9.9",
               "description": "9.9% for 12 months"})
    );

    // Token optional: the API key alone.
    let body = ok_json(with_key(&app, &app.public_key, &financing(product)).await).await;
    assert_eq!(body["uri"], app.url(&financing(product)));
    let terms = body["financingTerm"].as_array().unwrap();
    let months: Vec<i64> = terms
        .iter()
        .map(|t| t["durationInMonths"].as_i64().unwrap())
        .collect();
    assert_eq!(months, [6, 12, 120], "shortest first: {body}");
    // The docs' own figures (individual-products.md): 7.20 at 9.9 % over 12 months is 0.64 a
    // month and 7.60 in all (exactly 0.632660 and 7.591915, both rounded up).
    assert_eq!(
        terms[1],
        json!({
            "id": twelve,
            "totalRepayable": {"currency": "USD", "value": 7.6},
            "formattedTotalRepayable": "$7.60",
            "creditAmount": {"currency": "USD", "value": 7.2},
            "formattedCreditAmount": "$7.20",
            "monthlyPaymentAmount": {"currency": "USD", "value": 0.64},
            "formattedMonthlyPaymentAmount": "$0.64",
            "durationInMonths": 12,
            "interestRatePct": 0.099,
            "interestRatePctForDisplay": 9.9,
            "effectiveInterestRate": 0.099,
            "effectiveInterestRateForDisplay": 9.9,
            "description": "9.9% for 12 months",
        })
    );
    // Interest-free: 7.20 / 6, exactly 1.20.
    assert_eq!(terms[0]["monthlyPaymentAmount"]["value"], json!(1.2));
    assert_eq!(terms[0]["totalRepayable"]["value"], json!(7.2));
    assert_eq!(terms[0]["interestRatePct"], json!(0));
    assert_eq!(terms[0]["description"], "Interest-free for 6 months");
    // financing.md's example term, 4.5 % over 120 months: $0.08 a month as the docs say;
    // 8.954 exactly in all, so $8.96.
    assert_eq!(terms[2]["formattedMonthlyPaymentAmount"], "$0.08");
    assert_eq!(terms[2]["formattedTotalRepayable"], "$8.96");
    assert_eq!(terms[2]["interestRatePct"], json!(0.045));
    assert_eq!(terms[2]["interestRatePctForDisplay"], json!(4.5));
    assert_eq!(terms[2]["description"], "4.5% for 120 months");

    // A guest's token and a shopper's see the same; so does the `.json` twin.
    let guest = app.anonymous_pair().await.access;
    assert_eq!(app.get_ok(&guest, &financing(product)).await, body);
    let full = app.shopper_pair().await.access;
    assert_eq!(app.get_ok(&full, &financing(product)).await, body);
    let twin = format!("{}.json", financing(product));
    assert_eq!(app.get_ok(&guest, &twin).await, body);

    // Removing a term removes it from the answer.
    let listed = site_cli(
        &app,
        &[
            "site",
            "financing",
            "remove",
            "--site",
            SITE,
            "--id",
            &twelve.to_string(),
        ],
    )
    .await;
    assert_eq!(listed["financing_terms"].as_array().unwrap().len(), 2);
    let body = app.get_ok(&guest, &financing(product)).await;
    assert_eq!(body["financingTerm"].as_array().unwrap().len(), 2);
    assert!(
        body["financingTerm"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != twelve)
    );
}

#[tokio::test]
async fn unknown_products_are_404_and_credentials_are_needed() {
    let app = spawn_app().await;
    let product = docs_product(&app).await;
    let key = app.public_key.clone();
    shopper_error(
        with_key(&app, &key, &financing(999_999)).await,
        404,
        "resource-not-found",
    )
    .await;
    shopper_error(
        with_key(&app, &key, "/v1/shoppers/me/products/abc/financing").await,
        404,
        "resource-not-found",
    )
    .await;
    // Another site's key does not see this site's product.
    let other = app.site_with_public_key("othersite", None).await;
    shopper_error(
        with_key(&app, &other, &financing(product)).await,
        404,
        "resource-not-found",
    )
    .await;
    // No credential at all.
    shopper_error(app.get(&financing(product)).await, 401, "invalid_token").await;
    // A site without terms answers none.
    let body = ok_json(with_key(&app, &key, &financing(product)).await).await;
    assert_eq!(
        body,
        json!({"uri": app.url(&financing(product)), "financingTerm": []})
    );
}

#[tokio::test]
async fn the_cli_refuses_terms_it_cannot_price() {
    let app = spawn_app().await;
    let add = |months: &'static str, rate: &'static str| {
        vec![
            "site",
            "financing",
            "add",
            "--site",
            SITE,
            "--months",
            months,
            "--rate-bp",
            rate,
        ]
    };
    site_cli_fails(&app, &add("0", "990"), "months").await;
    site_cli_fails(&app, &add("601", "990"), "months").await;
    site_cli_fails(
        &app,
        &[
            "site",
            "financing",
            "add",
            "--site",
            SITE,
            "--months",
            "12",
            "--rate-bp=-1",
        ],
        "rate",
    )
    .await;
    site_cli_fails(&app, &add("12", "10001"), "rate").await;
    let mut blank = add("12", "990");
    blank.extend(["--description", "  "]);
    site_cli_fails(&app, &blank, "description").await;
    site_cli_fails(
        &app,
        &[
            "site",
            "financing",
            "remove",
            "--site",
            SITE,
            "--id",
            "12345",
        ],
        "not found",
    )
    .await;
    site_cli_fails(
        &app,
        &["site", "financing", "list", "--site", "nosuchsite"],
        "no site",
    )
    .await;
    let listed = site_cli(&app, &["site", "financing", "list", "--site", SITE]).await;
    assert_eq!(listed, json!({"site": SITE, "financing_terms": []}));
}

#[tokio::test]
async fn the_demo_finances_its_products_and_offers_the_test_cards() {
    let app = spawn_app().await;
    let demo = provision::create_demo(
        &app.state.store,
        &app.state.hasher,
        &app.url("/"),
        app.now(),
    )
    .await
    .unwrap();
    let key = demo.public_client.api_key.clone();
    // The demo's first product: Antivirus Pro at 39.99 USD.
    let product = demo.catalog.product_ids[0];
    let body = ok_json(with_key(&app, &key, &financing(product)).await).await;
    let figures: Vec<(i64, &str, &str, &str)> = body["financingTerm"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["durationInMonths"].as_i64().unwrap(),
                t["formattedMonthlyPaymentAmount"].as_str().unwrap(),
                t["formattedTotalRepayable"].as_str().unwrap(),
                t["description"].as_str().unwrap(),
            )
        })
        .collect();
    // 39.99 / 6 = 6.665 → 6.67; at 9.9 %: 3.513897 a month, 42.166760 in all; at 14.99 % over
    // 24 months: 1.938791 and 46.530985.
    assert_eq!(
        figures,
        [
            (6, "$6.67", "$39.99", "0% for 6 months"),
            (12, "$3.52", "$42.17", "9.9% for 12 months"),
            (24, "$1.94", "$46.54", "14.99% for 24 months"),
        ]
    );
    // A demo guest's cart offers the test cards.
    let token = ok_json(
        app.http
            .post(app.url("/oauth20/token"))
            .basic_auth(&key, None::<&str>)
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap(),
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let methods = app
        .get_ok(&token, "/v1/shoppers/me/carts/active/payment-methods")
        .await;
    assert_eq!(
        methods["paymentMethod"].as_array().unwrap().len(),
        4,
        "{methods}"
    );
    assert_eq!(methods["paymentMethod"][0]["type"], "visa");
}
