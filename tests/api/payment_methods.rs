//! `GET /v1/shoppers/me/carts/active/payment-methods`
//! (`managing-payment-methods/getting-the-available-payment-methods-for-the-cart.md`): the
//! documented shape, the default methods of a new site, the cart's link to it, access levels,
//! methods limited by the cart's currency and billing country, and `shopkeeper site
//! payment-methods`.

use crate::checkout::shopper_error;
use crate::helpers::*;
use crate::multinode::cli;
use serde_json::{Value, json};
use shopkeeper::provision;

const METHODS: &str = "/v1/shoppers/me/carts/active/payment-methods";
const CART: &str = "/v1/shoppers/me/carts/active";

fn method(kind: &str, name: &str) -> Value {
    json!({"type": kind, "displayName": name, "description": name})
}

/// The card brands a new site offers (the test-mode source's).
fn default_methods() -> Vec<Value> {
    vec![
        method("visa", "Visa"),
        method("mastercard", "MasterCard"),
        method("americanExpress", "American Express"),
        method("discover", "Discover"),
    ]
}

/// The types the cart is offered, in order.
async fn offered(app: &TestApp, token: &str) -> Vec<String> {
    let body = app.get_ok(token, METHODS).await;
    body["paymentMethod"]
        .as_array()
        .unwrap_or_else(|| panic!("no paymentMethod list: {body}"))
        .iter()
        .map(|m| m["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn put_billing_country(app: &TestApp, token: &str, country: &str) {
    no_content(
        app.http
            .put(app.url(&format!("{CART}/billing-address")))
            .bearer_auth(token)
            .json(
                &json!({"address": {"firstName": "Ada", "lastName": "Lovelace",
                "line1": "1 Main St", "city": "Town", "postalCode": "12345",
                "country": country, "emailAddress": "ada@example.com"}}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
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

#[tokio::test]
async fn a_new_site_offers_the_test_cards_in_the_documented_shape() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    let body = app.get_ok(&guest, METHODS).await;
    assert_eq!(
        body,
        json!({
            "uri": app.url(METHODS),
            "applyPaymentMethod": {"uri": app.url(&format!("{CART}/apply-payment-method"))},
            "paymentMethod": default_methods(),
        })
    );
    // The cart links to it now that it is served, and the link answers.
    let cart = app.get_ok(&guest, CART).await;
    assert_eq!(cart["cart"]["paymentMethods"]["uri"], app.url(METHODS));
    // With the `.json` suffix too, and for a signed-in shopper.
    let json_twin = app.get_ok(&guest, &format!("{METHODS}.json")).await;
    assert_eq!(json_twin, body);
    let full = app.shopper_pair().await.access;
    assert_eq!(
        app.get_ok(&full, METHODS).await["paymentMethod"],
        body["paymentMethod"]
    );
}

#[tokio::test]
async fn the_methods_need_a_token() {
    let app = spawn_app().await;
    shopper_error(app.get(METHODS).await, 401, "invalid_token").await;
    // An API key alone is not enough: the cart is a limited resource.
    let with_key = app
        .http
        .get(app.url(METHODS))
        .query(&[("apiKey", app.public_key.as_str())])
        .send()
        .await
        .unwrap();
    shopper_error(with_key, 401, "invalid_token").await;
    shopper_error(
        app.get_as("not-a-token", METHODS).await,
        401,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn methods_follow_the_carts_currency_and_billing_country_as_the_cli_sets_them() {
    let app = spawn_app().await;
    let site = ["--site", SITE];
    let set = |extra: &'static [&'static str]| {
        let mut args = vec!["site", "payment-methods", "set", "--site", SITE];
        args.extend_from_slice(extra);
        args
    };
    site_cli(
        &app,
        &set(&[
            "--type",
            "payPal",
            "--display-name",
            "PayPal",
            "--currency",
            "usd",
            "--currency",
            "EUR",
        ]),
    )
    .await;
    site_cli(
        &app,
        &set(&[
            "--type",
            "ideal",
            "--display-name",
            "iDEAL",
            "--description",
            "Pay with your bank (NL)",
            "--currency",
            "EUR",
            "--country",
            "nl",
        ]),
    )
    .await;
    site_cli(
        &app,
        &set(&[
            "--type",
            "sepa",
            "--display-name",
            "SEPA Direct Debit",
            "--country",
            "DE",
            "--country",
            "NL",
        ]),
    )
    .await;
    let mut remove = vec!["site", "payment-methods", "remove", "--type", "discover"];
    remove.extend(site);
    let listed = site_cli(&app, &remove).await;
    assert_eq!(listed["site"], SITE);
    assert_eq!(
        listed["payment_methods"],
        json!([
            {"type": "visa", "display_name": "Visa", "description": "Visa", "currencies": [], "countries": []},
            {"type": "mastercard", "display_name": "MasterCard", "description": "MasterCard", "currencies": [], "countries": []},
            {"type": "americanExpress", "display_name": "American Express", "description": "American Express", "currencies": [], "countries": []},
            {"type": "payPal", "display_name": "PayPal", "description": "PayPal", "currencies": ["USD", "EUR"], "countries": []},
            {"type": "ideal", "display_name": "iDEAL", "description": "Pay with your bank (NL)", "currencies": ["EUR"], "countries": ["NL"]},
            {"type": "sepa", "display_name": "SEPA Direct Debit", "description": "SEPA Direct Debit", "currencies": [], "countries": ["DE", "NL"]},
        ])
    );

    let cards = ["visa", "mastercard", "americanExpress"];
    let with = |more: &[&str]| -> Vec<String> {
        cards.iter().chain(more).map(|s| s.to_string()).collect()
    };
    // An empty cart is in the site's currency (USD); no billing country yet, so the methods
    // limited to countries wait for one.
    let guest = app.anonymous_pair().await.access;
    assert_eq!(offered(&app, &guest).await, with(&["payPal"]));
    put_billing_country(&app, &guest, "US").await;
    assert_eq!(offered(&app, &guest).await, with(&["payPal"]));
    put_billing_country(&app, &guest, "NL").await;
    assert_eq!(offered(&app, &guest).await, with(&["payPal", "sepa"]));

    // A cart of a euro product is in euros.
    let file = json!({"products": [{"sku": "STROOPWAFEL", "name": "stroopwafels", "productType": "DIGITAL",
                                    "currency": "EUR", "listPrice": "4.50"}]});
    let summary = provision::import_catalog(
        &app.state.store,
        SITE,
        provision::parse_catalog(&file.to_string()).unwrap(),
        app.now(),
    )
    .await
    .unwrap();
    let euros = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&euros, summary.product_ids[0], 1).await).await;
    assert_eq!(offered(&app, &euros).await, with(&["payPal"]));
    put_billing_country(&app, &euros, "DE").await;
    assert_eq!(offered(&app, &euros).await, with(&["payPal", "sepa"]));
    put_billing_country(&app, &euros, "NL").await;
    assert_eq!(
        offered(&app, &euros).await,
        with(&["payPal", "ideal", "sepa"])
    );
    let body = app.get_ok(&euros, METHODS).await;
    assert_eq!(
        body["paymentMethod"][4],
        json!({"type": "ideal", "displayName": "iDEAL", "description": "Pay with your bank (NL)"})
    );

    // Changing a method keeps its place; another site's list is its own.
    site_cli(
        &app,
        &set(&[
            "--type",
            "visa",
            "--display-name",
            "Visa",
            "--currency",
            "JPY",
        ]),
    )
    .await;
    assert_eq!(
        offered(&app, &euros).await,
        ["mastercard", "americanExpress", "payPal", "ideal", "sepa"]
    );
    let other_key = app.site_with_public_key("othersite", None).await;
    let other = ok_json(
        app.http
            .post(app.url("/oauth20/token"))
            .basic_auth(&other_key, None::<&str>)
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let other_token = other["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_ok(other_token, METHODS).await["paymentMethod"],
        json!(default_methods())
    );

    // A site that offers nothing answers an empty list.
    for kind in [
        "visa",
        "mastercard",
        "americanExpress",
        "payPal",
        "ideal",
        "sepa",
    ] {
        let mut remove = vec!["site", "payment-methods", "remove", "--type", kind];
        remove.extend(site);
        site_cli(&app, &remove).await;
    }
    assert_eq!(
        app.get_ok(&euros, METHODS).await["paymentMethod"],
        json!([])
    );
}

#[tokio::test]
async fn the_cli_refuses_what_it_cannot_store() {
    let app = spawn_app().await;
    let set = |extra: &'static [&'static str]| {
        let mut args = vec!["site", "payment-methods", "set", "--site", SITE];
        args.extend_from_slice(extra);
        args
    };
    site_cli_fails(
        &app,
        &set(&["--type", "pay pal", "--display-name", "PayPal"]),
        "type",
    )
    .await;
    site_cli_fails(
        &app,
        &set(&["--type", "payPal", "--display-name", " "]),
        "--display-name",
    )
    .await;
    site_cli_fails(
        &app,
        &set(&[
            "--type",
            "payPal",
            "--display-name",
            "PayPal",
            "--currency",
            "ABC",
        ]),
        "ISO 4217",
    )
    .await;
    site_cli_fails(
        &app,
        &set(&[
            "--type",
            "payPal",
            "--display-name",
            "PayPal",
            "--country",
            "XX",
        ]),
        "ISO 3166",
    )
    .await;
    site_cli_fails(
        &app,
        &[
            "site",
            "payment-methods",
            "remove",
            "--site",
            SITE,
            "--type",
            "payPal",
        ],
        "no payment method",
    )
    .await;
    site_cli_fails(
        &app,
        &["site", "payment-methods", "list", "--site", "nosuchsite"],
        "no site",
    )
    .await;
    // Nothing changed.
    let listed = site_cli(&app, &["site", "payment-methods", "list", "--site", SITE]).await;
    let types: Vec<&str> = listed["payment_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["visa", "mastercard", "americanExpress", "discover"]);
}

#[tokio::test]
async fn migration_0037_gives_every_existing_site_the_test_cards() {
    let app = spawn_app().await;
    app.site_with_public_key("othersite", None).await;
    // The database as it was before 0037, with its two sites.
    {
        use sqlx::Connection;
        let mut db = sqlx::AnyConnection::connect(&app.database_url)
            .await
            .unwrap();
        for statement in [
            "DROP TABLE financing_terms",
            "DROP TABLE site_payment_methods",
            "DELETE FROM _sqlx_migrations WHERE version = 37",
        ] {
            sqlx::query(statement).execute(&mut db).await.unwrap();
        }
    }
    let (ok, out) = cli(&app.database_url, &["migrate"], None).await;
    assert!(ok, "{out}");
    for site in [SITE, "othersite"] {
        let listed = site_cli(&app, &["site", "payment-methods", "list", "--site", site]).await;
        let types: Vec<&str> = listed["payment_methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["type"].as_str().unwrap())
            .collect();
        assert_eq!(
            types,
            ["visa", "mastercard", "americanExpress", "discover"],
            "{site}"
        );
        let terms = site_cli(&app, &["site", "financing", "list", "--site", site]).await;
        assert_eq!(terms["financing_terms"], json!([]));
    }
}
