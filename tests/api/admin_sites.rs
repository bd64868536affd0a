//! A site's authorized billing and shipping countries (`admin-apis/sites/`,
//! `authorized-shipping-and-billing-countries.md`): the Admin API's reads and writes and who may
//! call them, the audit rows and outbox events of a change, `shopkeeper site
//! authorized-countries`, and the Shopper API's enforcement: an address in a country the site
//! does not authorize is refused where it is applied (API and hosted pages) and again at submit.

use crate::checkout::{catalog, shopper_error};
use crate::helpers::*;
use crate::multinode::cli;
use crate::web_checkout::{address_form, csrf, entered, page, page_url, post};
use serde_json::{Value, json};
use shopkeeper::domain::authorized_countries::{Kind, LocalePolicy, Mode};
use shopkeeper::store::CountriesChange;

const CART: &str = "/v1/shoppers/me/carts/active";

/// Sets the test site's `kind` setting of the default locale straight in the store (the Admin
/// API's and the CLI's own tests show those ways).
async fn restrict(app: &TestApp, kind: Kind, mode: Mode, countries: &[&str]) {
    let setting = LocalePolicy::checked(kind, mode, countries, None).unwrap();
    app.state
        .store
        .set_authorized_countries(
            &site_id(),
            kind,
            &[CountriesChange {
                locale: None,
                setting: Some(setting),
            }],
            app.now(),
        )
        .await
        .unwrap();
}

fn address(country: &str) -> Value {
    json!({"firstName": "Ada", "lastName": "Lovelace", "line1": "1 Main St", "city": "Town",
           "postalCode": "12345", "country": country, "emailAddress": "ada@example.com"})
}

async fn put_address(app: &TestApp, token: &str, kind: &str, country: &str) -> reqwest::Response {
    app.http
        .put(app.url(&format!("{CART}/{kind}-address")))
        .bearer_auth(token)
        .json(&json!({ "address": address(country) }))
        .send()
        .await
        .unwrap()
}

async fn apply_address(app: &TestApp, token: &str, kind: &str, country: &str) -> reqwest::Response {
    app.http
        .post(app.url(&format!("{CART}/apply-{kind}-address")))
        .bearer_auth(token)
        .json(&json!({ "address": address(country) }))
        .send()
        .await
        .unwrap()
}

async fn cart(app: &TestApp, token: &str) -> Value {
    app.get_ok(token, CART).await["cart"].clone()
}

/// A guest's cart with the keyboard (it ships) and an approving card.
async fn physical_cart(app: &TestApp) -> String {
    let (_, keyboard) = catalog(app).await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, keyboard, 1).await).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &source).await).await;
    token
}

#[tokio::test]
async fn an_address_in_a_country_the_site_does_not_authorize_is_refused_where_it_is_applied() {
    let app = spawn_app().await;
    let token = physical_cart(&app).await;
    // A new site allows every country.
    no_content(put_address(&app, &token, "billing", "DE").await).await;
    no_content(put_address(&app, &token, "shipping", "FR").await).await;

    restrict(&app, Kind::Billing, Mode::AllowedOnly, &["US", "CA"]).await;
    restrict(&app, Kind::Shipping, Mode::AllExceptDenied, &["FR"]).await;

    // PUT: the documented 409 and its description; the cart keeps its address.
    let body = shopper_error(
        put_address(&app, &token, "billing", "JP").await,
        409,
        "restricted-bill-to-country",
    )
    .await;
    let description = body["errors"]["error"][0]["description"].as_str().unwrap();
    assert!(
        description.starts_with("Billing Address country is restricted for request"),
        "{description}"
    );
    assert_eq!(cart(&app, &token).await["billingAddress"]["country"], "DE");
    shopper_error(
        put_address(&app, &token, "shipping", "FR").await,
        409,
        "restricted-ship-to-country",
    )
    .await;
    no_content(put_address(&app, &token, "billing", "CA").await).await;
    no_content(put_address(&app, &token, "shipping", "JP").await).await;

    // apply-...-address with a body.
    shopper_error(
        apply_address(&app, &token, "billing", "GB").await,
        409,
        "restricted-bill-to-country",
    )
    .await;
    shopper_error(
        apply_address(&app, &token, "shipping", "FR").await,
        409,
        "restricted-ship-to-country",
    )
    .await;
    let applied = ok_json(apply_address(&app, &token, "billing", "US").await).await;
    assert_eq!(applied["cart"]["billingAddress"]["country"], "US");

    // The cart's body: refused as a whole, nothing written.
    let refused = app
        .http
        .post(app.url(CART))
        .bearer_auth(&token)
        .json(&json!({"cart": {"billingAddress": address("CA"),
                               "shippingAddress": address("FR")}}))
        .send()
        .await
        .unwrap();
    shopper_error(refused, 409, "restricted-ship-to-country").await;
    let kept = cart(&app, &token).await;
    assert_eq!(kept["billingAddress"]["country"], "US");
    assert_eq!(kept["shippingAddress"]["country"], "JP");

    // Shipping may follow billing ("Any Authorized Billing Country").
    restrict(&app, Kind::Shipping, Mode::AuthorizedBilling, &[]).await;
    shopper_error(
        put_address(&app, &token, "shipping", "JP").await,
        409,
        "restricted-ship-to-country",
    )
    .await;
    no_content(put_address(&app, &token, "shipping", "CA").await).await;

    // An allowed country passes all the way to the order.
    let order = ok_json(app.submit(&token).await).await;
    let id = order["submitCart"]["order"]["id"].as_i64().unwrap();
    assert!(id > 0, "{order}");
}

#[tokio::test]
async fn the_submit_asks_again_when_the_setting_changed_after_the_address() {
    let app = spawn_app().await;
    let token = physical_cart(&app).await;
    no_content(put_address(&app, &token, "billing", "US").await).await;
    no_content(put_address(&app, &token, "shipping", "US").await).await;

    restrict(&app, Kind::Billing, Mode::AllExceptDenied, &["US"]).await;
    shopper_error(app.submit(&token).await, 409, "restricted-bill-to-country").await;
    restrict(&app, Kind::Billing, Mode::Any, &[]).await;
    restrict(&app, Kind::Shipping, Mode::AllowedOnly, &["CA"]).await;
    shopper_error(app.submit(&token).await, 409, "restricted-ship-to-country").await;
    // Nothing was ordered: the cart still has its line.
    assert_eq!(cart(&app, &token).await["totalItemsInCart"], 1);

    restrict(&app, Kind::Shipping, Mode::AllowedOnly, &["CA", "US"]).await;
    let order = ok_json(app.submit(&token).await).await;
    assert!(
        order["submitCart"]["order"]["id"].as_i64().is_some(),
        "{order}"
    );
}

#[tokio::test]
async fn a_customized_locale_uses_its_own_list_and_the_others_inherit() {
    let app = spawn_app().await;
    let token = physical_cart(&app).await;
    // The session is the site's default locale (en_US); customize another one.
    let fr = LocalePolicy::checked(Kind::Billing, Mode::AllowedOnly, &["FR"], None).unwrap();
    app.state
        .store
        .set_authorized_countries(
            &site_id(),
            Kind::Billing,
            &[CountriesChange {
                locale: Some("fr_FR".into()),
                setting: Some(fr),
            }],
            app.now(),
        )
        .await
        .unwrap();
    // en_US inherits nothing restricted.
    no_content(put_address(&app, &token, "billing", "US").await).await;
    restrict(&app, Kind::Billing, Mode::AllowedOnly, &["US"]).await;
    shopper_error(
        put_address(&app, &token, "billing", "FR").await,
        409,
        "restricted-bill-to-country",
    )
    .await;
}

#[tokio::test]
async fn the_hosted_checkout_pages_explain_the_refusal() {
    let app = spawn_app().await;
    let (product, _) = catalog(&app).await;
    let token = app.anonymous_pair().await.access;
    ok_json(app.add_to_cart(&token, product, 1).await).await;
    restrict(&app, Kind::Billing, Mode::AllowedOnly, &["CA"]).await;
    let client = entered(&app, &token).await;
    let html = page(&client, &page_url(&app, "address"), 200).await;
    let form_token = csrf(&html);
    // The form's address is in the US.
    let answer = post(
        &client,
        &page_url(&app, "address"),
        &address_form(&form_token),
    )
    .await;
    assert_eq!(answer.status(), 409);
    let explained = answer.text().await.unwrap();
    assert!(explained.contains("role=\"alert\""), "{explained}");
    assert!(
        explained.contains("Billing Address country is restricted for request"),
        "{explained}"
    );
    let kept = cart(&app, &token).await;
    assert!(
        kept["billingAddress"]["country"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{kept}"
    );

    // Allowed: on to payment.
    restrict(&app, Kind::Billing, Mode::AllowedOnly, &["CA", "US"]).await;
    let answer = post(
        &client,
        &page_url(&app, "address"),
        &address_form(&form_token),
    )
    .await;
    assert_eq!(answer.status(), 303);
}

async fn site_cli(app: &TestApp, args: &[&str]) -> (bool, Value) {
    let (ok, out) = cli(&app.database_url, args, None).await;
    let json: Value = serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("{out}"));
    (ok, json)
}

#[tokio::test]
async fn the_cli_sets_prints_and_checks_the_setting() {
    let app = spawn_app().await;
    let base = ["site", "authorized-countries", "--site", SITE];
    let with = |more: &[&'static str]| -> Vec<&str> {
        base.iter().copied().chain(more.iter().copied()).collect()
    };

    let (ok, shown) = site_cli(&app, &with(&["--billing"])).await;
    assert!(ok, "{shown}");
    assert_eq!(shown["billing"]["default"]["option"], "any-country");
    assert_eq!(shown["billing"]["locales"], json!({}));

    let (ok, shown) = site_cli(
        &app,
        &with(&[
            "--billing",
            "--mode",
            "allow",
            "--countries",
            "US,CA",
            "--comments",
            "export rules",
        ]),
    )
    .await;
    assert!(ok, "{shown}");
    assert_eq!(
        shown["billing"]["default"],
        json!({"option": "only-allowed-countries", "countries": ["CA", "US"],
               "comments": "export rules"})
    );
    let (ok, shown) = site_cli(
        &app,
        &with(&[
            "--shipping",
            "--mode",
            "deny",
            "--countries",
            "FR",
            "--locale",
            "fr_FR",
        ]),
    )
    .await;
    assert!(ok, "{shown}");
    assert_eq!(shown["shipping"]["default"]["option"], "any-country");
    assert_eq!(
        shown["shipping"]["locales"]["fr_FR"]["option"],
        "any-country-except-denied"
    );
    let (ok, shown) = site_cli(
        &app,
        &with(&["--shipping", "--inherit", "--locale", "fr_FR"]),
    )
    .await;
    assert!(ok, "{shown}");
    assert_eq!(shown["shipping"]["locales"], json!({}));
    // The site's own locale is the default locale.
    let (ok, shown) = site_cli(
        &app,
        &with(&["--billing", "--mode", "all", "--locale", "en_US"]),
    )
    .await;
    assert!(ok, "{shown}");
    assert_eq!(shown["billing"]["default"]["option"], "any-country");

    for (args, says) in [
        (
            with(&["--billing", "--mode", "allow", "--countries", "XX"]),
            "ISO 3166-1",
        ),
        (
            with(&["--billing", "--mode", "billing"]),
            "shipping countries only",
        ),
        (
            with(&["--billing", "--mode", "allow"]),
            "at least one country",
        ),
        (
            with(&["--billing", "--mode", "all", "--countries", "US"]),
            "takes no countries",
        ),
        (
            with(&["--billing", "--mode", "all", "--locale", "english"]),
            "locale",
        ),
    ] {
        let (ok, error) = site_cli(&app, &args).await;
        assert!(!ok, "{args:?}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{args:?}: {message}");
    }
    let (ok, _) = site_cli(
        &app,
        &[
            "site",
            "authorized-countries",
            "--site",
            "nosuchsite",
            "--billing",
        ],
    )
    .await;
    assert!(!ok);

    // Each change is an event of the outbox.
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 100)
        .await
        .unwrap();
    let updates: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "site.updated")
        .collect();
    assert_eq!(updates.len(), 4, "{events:?}");
}
