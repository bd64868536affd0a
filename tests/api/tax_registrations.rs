//! `carts/active/tax-registrations` (`cart/configuring-taxes/managing-tax-identifiers.md`):
//! the schema of the country that applies, attaching identifiers checked against it (shown on
//! the cart, then on the order), removing them, the site setting and the access levels.

use crate::checkout::{catalog, shopper_error};
use crate::helpers::*;
use crate::multinode::cli;
use serde_json::{Value, json};

const CART: &str = "/v1/shoppers/me/carts/active";
const REGS: &str = "/v1/shoppers/me/carts/active/tax-registrations";
const SCHEMA: &str = "/v1/shoppers/me/carts/active/tax-registrations/schema";

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

async fn post(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.http
        .post(app.url(REGS))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn delete(app: &TestApp, token: &str, query: &[(&str, &str)]) -> reqwest::Response {
    app.http
        .delete(app.url(REGS))
        .bearer_auth(token)
        .query(query)
        .send()
        .await
        .unwrap()
}

fn business() -> Value {
    json!({"customerType": "B", "taxRegistrations": [
        {"key": "CNPJ", "value": "77844699000109"}, {"key": "IE", "value": "ISENTO"}]})
}

fn individual() -> Value {
    json!({"customerType": "I", "taxRegistrations": [{"key": "CPF", "value": "03927107492"}]})
}

async fn shown(app: &TestApp, token: &str) -> (Value, Value) {
    let cart = app.get_ok(token, CART).await;
    (
        cart["cart"]["customerType"].clone(),
        cart["cart"]["taxRegistrations"].clone(),
    )
}

#[tokio::test]
async fn the_schema_is_the_docs_for_brazil_vat_for_germany_and_the_sites_country_for_a_key() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    put_billing_country(&app, &guest, "BR").await;
    let s = app.get_ok(&guest, SCHEMA).await;
    assert_eq!(s["$schema"], "http://json-schema.org/draft-04/schema#");
    assert_eq!(s["id"], app.url(SCHEMA));
    assert_eq!(s["liveMode"], false);
    let one_of = s["oneOf"].as_array().unwrap();
    assert_eq!(one_of.len(), 2);
    assert_eq!(one_of[0]["title"], "Individual");
    assert_eq!(
        one_of[0]["properties"]["customerType"]["enum"],
        json!(["I"])
    );
    assert_eq!(
        one_of[0]["properties"]["taxRegistrations"]["items"],
        json!([{"$ref": "#/definitions/CPF"}])
    );
    assert_eq!(one_of[1]["title"], "Business");
    assert_eq!(one_of[1]["required"], json!(["customerType"]));
    assert_eq!(one_of[1]["properties"]["taxRegistrations"]["minItems"], 2);
    assert_eq!(one_of[1]["properties"]["taxRegistrations"]["maxItems"], 2);
    assert_eq!(
        one_of[1]["properties"]["taxRegistrations"]["items"],
        json!([{"$ref": "#/definitions/CNPJ"}, {"$ref": "#/definitions/IE"}])
    );
    let defs = s["definitions"].as_object().unwrap();
    let mut keys: Vec<_> = defs.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["CNPJ", "CPF", "IE"]);
    assert_eq!(defs["CNPJ"]["properties"]["key"]["enum"], json!(["CNPJ"]));
    assert_eq!(defs["CNPJ"]["required"], json!(["key", "value"]));
    assert!(
        defs["IE"]["properties"]["value"]["pattern"]
            .as_str()
            .unwrap()
            .ends_with(",^[Ii]{1}[Ss]{1}[Ee]{1}[Nn]{1}[Tt]{1}[Oo]{1}$")
    );

    // A VAT country: a business gives one VAT item, an individual none.
    put_billing_country(&app, &guest, "DE").await;
    let s = app.get_ok(&guest, SCHEMA).await;
    assert_eq!(
        s["oneOf"][0]["properties"]["taxRegistrations"]["maxItems"],
        0
    );
    assert_eq!(
        s["oneOf"][1]["properties"]["taxRegistrations"]["items"],
        json!([{"$ref": "#/definitions/VAT"}])
    );
    assert_eq!(
        s["definitions"]["VAT"]["properties"]["value"]["pattern"],
        "^DE[0-9]{9}$"
    );

    // A key alone has no cart: the site's country (en_US → US), which has no table.
    let with_key = app
        .http
        .get(app.url(SCHEMA))
        .query(&[("apiKey", app.public_key.as_str())])
        .send()
        .await
        .unwrap();
    let s = ok_json(with_key).await;
    assert_eq!(s["definitions"], json!({}));
    assert_eq!(
        s["oneOf"][1]["properties"]["taxRegistrations"]["maxItems"],
        0
    );
    // Nothing at all: 401.
    shopper_error(app.get(SCHEMA).await, 401, "invalid_token").await;
}

#[tokio::test]
async fn identifiers_are_shown_on_the_cart_then_copied_to_the_order() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let guest = app.anonymous_pair().await.access;
    assert_eq!(shown(&app, &guest).await, (json!("I"), json!([])));
    put_billing_country(&app, &guest, "BR").await;

    let cart = ok_json(post(&app, &guest, &individual()).await).await;
    assert_eq!(cart["cart"]["customerType"], "I");
    assert_eq!(
        cart["cart"]["taxRegistrations"],
        individual()["taxRegistrations"]
    );
    // A new post replaces what the cart had.
    let cart = ok_json(post(&app, &guest, &business()).await).await;
    assert_eq!(cart["cart"]["customerType"], "B");
    assert_eq!(
        shown(&app, &guest).await,
        (json!("B"), business()["taxRegistrations"].clone())
    );

    ok_json(app.add_to_cart(&guest, product, 1).await).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&guest, &source).await).await;
    let submitted = ok_json(app.submit(&guest).await).await;
    let order = &submitted["submitCart"]["order"];
    assert_eq!(order["customerType"], "B");
    assert_eq!(order["taxRegistrations"], business()["taxRegistrations"]);
    assert_eq!(submitted["submitCart"]["customerType"], "B");
    let id = order["id"].as_i64().unwrap();
    let read = app
        .get_ok(&guest, &format!("/v1/shoppers/me/orders/{id}"))
        .await;
    assert_eq!(read["order"]["customerType"], "B");
    assert_eq!(
        read["order"]["taxRegistrations"],
        business()["taxRegistrations"]
    );
    // The next cart starts without them.
    assert_eq!(shown(&app, &guest).await, (json!("I"), json!([])));
}

#[tokio::test]
async fn what_the_schema_refuses_is_a_400_naming_the_field_and_the_cart_is_unchanged() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    put_billing_country(&app, &guest, "BR").await;
    ok_json(post(&app, &guest, &individual()).await).await;
    let before = shown(&app, &guest).await;
    let refused = [
        (
            json!({"customerType": "X", "taxRegistrations": []}),
            "customerType",
        ),
        (json!({"taxRegistrations": []}), "customerType"),
        (
            json!({"customerType": "B", "taxRegistrations": [{"key": "CNPJ", "value": "77844699000109"}]}),
            "taxRegistrations",
        ),
        (
            json!({"customerType": "I", "taxRegistrations": []}),
            "taxRegistrations",
        ),
        (
            json!({"customerType": "I", "taxRegistrations": [{"key": "RG", "value": "03927107492"}]}),
            "taxRegistrations[0].key",
        ),
        (
            json!({"customerType": "I", "taxRegistrations": [{"key": "CPF", "value": "0392710749X"}]}),
            "taxRegistrations[0].value",
        ),
        (
            json!({"customerType": "B", "taxRegistrations": [
                {"key": "CNPJ", "value": "77844699000109"}, {"key": "IE", "value": "1234567"}]}),
            "taxRegistrations[1].value",
        ),
    ];
    for (body, field) in refused {
        let error = shopper_error(post(&app, &guest, &body).await, 400, "invalid-request").await;
        let description = error["errors"]["error"][0]["description"].as_str().unwrap();
        assert!(description.contains(field), "{body}: {description}");
        assert_eq!(shown(&app, &guest).await, before, "{body}");
    }
    // A VAT number of the wrong country's format.
    put_billing_country(&app, &guest, "DE").await;
    let fr = json!({"customerType": "B", "taxRegistrations": [{"key": "VAT", "value": "FR12345678901"}]});
    shopper_error(post(&app, &guest, &fr).await, 400, "invalid-request").await;
    let de =
        json!({"customerType": "B", "taxRegistrations": [{"key": "VAT", "value": "DE123456789"}]});
    assert_eq!(
        ok_json(post(&app, &guest, &de).await).await["cart"]["taxRegistrations"],
        de["taxRegistrations"]
    );
}

#[tokio::test]
async fn delete_removes_them_and_a_cart_id_of_another_cart_is_404() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    put_billing_country(&app, &guest, "BR").await;
    ok_json(post(&app, &guest, &business()).await).await;
    shopper_error(
        delete(&app, &guest, &[("cartId", "not-this-cart")]).await,
        404,
        "resource-not-found",
    )
    .await;
    assert_eq!(shown(&app, &guest).await.0, json!("B"));
    let cart_id = app.get_ok(&guest, CART).await["cart"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    no_content(delete(&app, &guest, &[("cartId", &cart_id)]).await).await;
    assert_eq!(shown(&app, &guest).await, (json!("I"), json!([])));
    // Without a cartId, and when there is nothing to remove: 204 all the same.
    ok_json(post(&app, &guest, &individual()).await).await;
    no_content(delete(&app, &guest, &[]).await).await;
    no_content(delete(&app, &guest, &[]).await).await;
    assert_eq!(shown(&app, &guest).await, (json!("I"), json!([])));
}

#[tokio::test]
async fn a_site_without_global_tax_id_management_answers_409_vat_exemption_failure() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await.access;
    put_billing_country(&app, &guest, "BR").await;
    ok_json(post(&app, &guest, &individual()).await).await;
    let (ok, out) = cli(
        &app.database_url,
        &[
            "site",
            "set-tax-id-management",
            "--id",
            SITE,
            "--enabled",
            "false",
        ],
        None,
    )
    .await;
    assert!(ok, "{out}");
    let printed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(printed, json!({"site": SITE, "tax_id_management": false}));
    shopper_error(
        post(&app, &guest, &business()).await,
        409,
        "vat-exemption-failure",
    )
    .await;
    shopper_error(
        delete(&app, &guest, &[]).await,
        409,
        "vat-exemption-failure",
    )
    .await;
    // The schema is still served, and the cart keeps what it had.
    app.get_ok(&guest, SCHEMA).await;
    assert_eq!(shown(&app, &guest).await.0, json!("I"));
    assert_eq!(
        shown(&app, &guest).await.1,
        individual()["taxRegistrations"]
    );
    let (ok, out) = cli(
        &app.database_url,
        &[
            "site",
            "set-tax-id-management",
            "--id",
            SITE,
            "--enabled",
            "true",
        ],
        None,
    )
    .await;
    assert!(ok, "{out}");
    ok_json(post(&app, &guest, &business()).await).await;
}

#[tokio::test]
async fn posting_and_removing_need_a_token_and_a_full_token_may_too() {
    let app = spawn_app().await;
    for response in [
        app.http
            .post(app.url(REGS))
            .query(&[("apiKey", app.public_key.as_str())])
            .json(&individual())
            .send()
            .await
            .unwrap(),
        app.http
            .delete(app.url(REGS))
            .query(&[("apiKey", app.public_key.as_str())])
            .send()
            .await
            .unwrap(),
    ] {
        shopper_error(response, 401, "invalid_token").await;
    }
    let full = app.shopper_pair().await.access;
    put_billing_country(&app, &full, "BR").await;
    ok_json(post(&app, &full, &individual()).await).await;
    assert_eq!(shown(&app, &full).await.0, json!("I"));
    no_content(delete(&app, &full, &[]).await).await;
}
