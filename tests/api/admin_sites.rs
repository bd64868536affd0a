//! A site's authorized billing and shipping countries (`admin-apis/sites/`,
//! `authorized-shipping-and-billing-countries.md`): the Admin API's reads and writes and who may
//! call them, the audit rows and outbox events of a change, `shopkeeper site
//! authorized-countries`, and the Shopper API's enforcement: an address in a country the site
//! does not authorize is refused where it is applied (API and hosted pages) and again at submit.

use crate::admin_access::{
    AdminKey, admin_get, admin_key, assert_admin_error, shopper_only_key, staff_token,
};
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
            None,
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
async fn the_shipping_country_counts_when_something_ships() {
    let app = spawn_app().await;
    let (download, keyboard) = catalog(&app).await;
    crate::checkout::save_default_berlin_address(&app).await;
    let full = app.shopper_pair().await.access;
    restrict(&app, Kind::Shipping, Mode::AllExceptDenied, &["DE"]).await;

    // A download: apply-shopper copies the Berlin addresses, and the order is placed.
    ok_json(app.add_to_cart(&full, download, 1).await).await;
    let applied = app
        .http
        .post(app.url(&format!("{CART}/apply-shopper")))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    let applied = ok_json(applied).await;
    assert_eq!(applied["cart"]["shippingAddress"]["country"], "DE");
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&full, &source).await).await;
    ok_json(app.submit(&full).await).await;

    // The keyboard ships: the same copy is refused, and so is the submit.
    ok_json(app.add_to_cart(&full, keyboard, 1).await).await;
    let refused = app
        .http
        .post(app.url(&format!("{CART}/apply-shopper")))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    shopper_error(refused, 409, "restricted-ship-to-country").await;
    // A Berlin shipping address applied before the restriction: the submit refuses it.
    restrict(&app, Kind::Shipping, Mode::Any, &[]).await;
    no_content(put_address(&app, &full, "shipping", "DE").await).await;
    no_content(put_address(&app, &full, "billing", "DE").await).await;
    restrict(&app, Kind::Shipping, Mode::AllExceptDenied, &["DE"]).await;
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&full, &source).await).await;
    shopper_error(app.submit(&full).await, 409, "restricted-ship-to-country").await;
    no_content(put_address(&app, &full, "shipping", "AT").await).await;
    ok_json(app.submit(&full).await).await;
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
            None,
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

    // Paid, then the setting tightens: the review page's submit explains the refusal.
    let source = app.create_source(APPROVE_CARD, false).await;
    ok_json(app.apply_source(&token, &source).await).await;
    restrict(&app, Kind::Billing, Mode::AllowedOnly, &["CA"]).await;
    let review = page(&client, &page_url(&app, "review"), 200).await;
    let place = post(
        &client,
        &page_url(&app, "review"),
        &[("csrf_token", &csrf(&review))],
    )
    .await;
    assert_eq!(place.status(), 409);
    let refused = place.text().await.unwrap();
    assert!(
        refused.contains("Billing Address country is restricted for request"),
        "{refused}"
    );
    assert_eq!(cart(&app, &token).await["totalItemsInCart"], 1);
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

// --- the Admin API ----------------------------------------------------------------------------

const BILLING: &str = "/v1/sites/testsite/authorized-billing-countries";
const SHIPPING: &str = "/v1/sites/testsite/authorized-shipping-countries";

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

async fn admin_put(
    app: &TestApp,
    authorization: &str,
    path: &str,
    body: &Value,
) -> reqwest::Response {
    app.http
        .put(app.url(path))
        .header("authorization", authorization)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// A Site Manager's `Authorization` header.
async fn site_manager(app: &TestApp) -> (AdminKey, String) {
    let key = admin_key(app).await;
    let token = staff_token(app, &key, &["site-manager"]).await;
    (key, bearer(&token))
}

/// The codes of one locale's countries in an answer.
fn codes(answer: &Value, field: &str, i: usize) -> Vec<String> {
    answer[field][i]["countries"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|c| c["countryCode"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_site_manager_reads_the_documented_shape_with_and_without_a_locale() {
    let app = spawn_app().await;
    let (_, auth) = site_manager(&app).await;

    // A new site: every country, for its default locale.
    let all = ok_json(admin_get(&app, &auth, BILLING).await).await;
    let list = all["authorizedBillingCountries"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{all}");
    assert_eq!(list[0]["locale"], "en_US");
    assert_eq!(codes(&all, "authorizedBillingCountries", 0).len(), 249);
    assert!(
        list[0]["countries"]
            .as_array()
            .unwrap()
            .contains(&json!({"displayName": "Japan", "countryCode": "JP"}))
    );

    restrict(&app, Kind::Billing, Mode::AllowedOnly, &["TW", "JP"]).await;
    let gb = LocalePolicy::checked(Kind::Shipping, Mode::AllowedOnly, &["FR", "DE"], None).unwrap();
    app.state
        .store
        .set_authorized_countries(
            &site_id(),
            Kind::Shipping,
            &[CountriesChange {
                locale: Some("en_GB".into()),
                setting: Some(gb),
            }],
            app.now(),
            None,
        )
        .await
        .unwrap();
    restrict(&app, Kind::Shipping, Mode::AllExceptDenied, &["KP"]).await;

    // The docs' example: exactly this shape.
    let billing = ok_json(admin_get(&app, &auth, BILLING).await).await;
    assert_eq!(
        billing,
        json!({"authorizedBillingCountries": [{"locale": "en_US", "countries": [
            {"displayName": "Japan", "countryCode": "JP"},
            {"displayName": "Taiwan (Province of China)", "countryCode": "TW"}]}]})
    );
    // `?locale`: that locale alone, inherited.
    let fr = ok_json(admin_get(&app, &auth, &format!("{BILLING}?locale=fr_FR")).await).await;
    assert_eq!(fr["authorizedBillingCountries"][0]["locale"], "fr_FR");
    assert_eq!(codes(&fr, "authorizedBillingCountries", 0), ["JP", "TW"]);

    let shipping = ok_json(admin_get(&app, &auth, SHIPPING).await).await;
    let list = shipping["authorizedShippingCountries"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{shipping}");
    assert_eq!(list[0]["locale"], "en_US");
    assert_eq!(
        codes(&shipping, "authorizedShippingCountries", 0).len(),
        248
    );
    assert_eq!(list[1]["locale"], "en_GB");
    assert_eq!(
        codes(&shipping, "authorizedShippingCountries", 1),
        ["DE", "FR"]
    );
    let gb = ok_json(admin_get(&app, &auth, &format!("{SHIPPING}?locale=en_GB")).await).await;
    assert_eq!(
        gb,
        json!({"authorizedShippingCountries": [{"locale": "en_GB", "countries": [
            {"displayName": "Germany", "countryCode": "DE"},
            {"displayName": "France", "countryCode": "FR"}]}]})
    );

    // A malformed locale: 400 in the Admin shape.
    let error = assert_admin_error(
        admin_get(&app, &auth, &format!("{BILLING}?locale=english")).await,
        400,
        "invalid-request",
    )
    .await;
    assert_eq!(error["subcode"], "invalid-locale");
}

#[tokio::test]
async fn only_a_site_manager_of_the_site_may_read_or_write() {
    let app = spawn_app().await;
    let (key, auth) = site_manager(&app).await;
    app.site_with_public_key("othersite", None).await;
    let shopper = app.shopper_pair().await;
    let cs = staff_token(&app, &key, &["customer-service-representative"]).await;
    let body = json!({"authorizedBillingCountries": [
        {"allowBillingFrom": "only-allowed-countries", "countries": [{"countryCode": "US"}]}]});

    for path in [BILLING, SHIPPING] {
        // A Shopper-only key: 403.
        let error = assert_admin_error(
            admin_get(&app, &shopper_only_key(&app).basic(), path).await,
            403,
            "forbidden",
        )
        .await;
        assert_eq!(error["subcode"], "missing-admin-permission");
        // A shopper's token: 401.
        assert_admin_error(
            admin_get(&app, &bearer(&shopper.access), path).await,
            401,
            "unauthorized",
        )
        .await;
        // The Admin key alone: 401, sign in first.
        assert_admin_error(
            admin_get(&app, &key.basic(), path).await,
            401,
            "unauthorized",
        )
        .await;
        // A customer-service user: 403, not a Site Manager.
        let error =
            assert_admin_error(admin_get(&app, &bearer(&cs), path).await, 403, "forbidden").await;
        assert_eq!(error["message"], "The user is not a Site Manager.");
        // Another site's id, or nobody's: 404.
        for other in ["othersite", "nosuchsite"] {
            let elsewhere = path.replace("testsite", other);
            let error = assert_admin_error(
                admin_get(&app, &auth, &elsewhere).await,
                404,
                "resource-not-found",
            )
            .await;
            assert_eq!(error["subcode"], "invalid-site-id");
        }
    }
    // The same refusals for the writes, which change nothing.
    for auth_of_refused in [
        shopper_only_key(&app).basic(),
        bearer(&shopper.access),
        key.basic(),
        bearer(&cs),
    ] {
        let r = admin_put(&app, &auth_of_refused, BILLING, &body).await;
        assert!(matches!(r.status().as_u16(), 401 | 403), "{}", r.status());
    }
    assert_admin_error(
        admin_put(
            &app,
            &auth,
            &BILLING.replace("testsite", "othersite"),
            &body,
        )
        .await,
        404,
        "resource-not-found",
    )
    .await;
    let policies = app
        .state
        .store
        .authorized_countries(&site_id())
        .await
        .unwrap();
    assert_eq!(policies, Default::default());
    assert!(
        app.state
            .store
            .audit_for_site(&site_id())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_site_manager_writes_with_an_audit_row_and_an_event_and_the_cart_obeys() {
    let app = spawn_app().await;
    let (_, auth) = site_manager(&app).await;
    let token = physical_cart(&app).await;

    let body = json!({"authorizedBillingCountries": [
        {"locale": "en_US", "allowBillingFrom": "only-allowed-countries",
         "countries": [{"countryCode": "US"}, {"displayName": "Canada", "countryCode": "CA"}],
         "comments": "North America only"},
        {"locale": "fr_FR", "allowBillingFrom": "any-country-except-denied",
         "countries": [{"countryCode": "US"}]}]});
    let answer = ok_json(admin_put(&app, &auth, BILLING, &body).await).await;
    let list = answer["authorizedBillingCountries"].as_array().unwrap();
    assert_eq!(list[0]["locale"], "en_US");
    assert_eq!(
        codes(&answer, "authorizedBillingCountries", 0),
        ["CA", "US"]
    );
    assert_eq!(list[1]["locale"], "fr_FR");
    assert_eq!(codes(&answer, "authorizedBillingCountries", 1).len(), 248);
    // The GET says the same.
    assert_eq!(ok_json(admin_get(&app, &auth, BILLING).await).await, answer);

    // The audit row: who, what, before → after.
    let rows = app.state.store.audit_for_site(&site_id()).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row.action, "site.authorized-billing-countries.updated");
    assert_eq!(row.subject_type, "site");
    assert_eq!(row.subject_id, SITE);
    assert!(
        row.staff_username
            .as_deref()
            .unwrap()
            .starts_with("staff-site-manager")
    );
    let before: Value = serde_json::from_str(row.before_state.as_deref().unwrap()).unwrap();
    let after: Value = serde_json::from_str(row.after_state.as_deref().unwrap()).unwrap();
    assert_eq!(before["default"]["option"], "any-country");
    assert_eq!(
        after["default"],
        json!({"option": "only-allowed-countries", "countries": ["CA", "US"],
               "comments": "North America only"})
    );
    assert_eq!(
        after["locales"]["fr_FR"]["option"],
        "any-country-except-denied"
    );
    let events = app
        .state
        .store
        .events_after(&site_id(), 0, 100)
        .await
        .unwrap();
    assert!(
        events.iter().any(|e| e.event_type == "site.updated"),
        "{events:?}"
    );

    // The cart obeys it.
    shopper_error(
        put_address(&app, &token, "billing", "JP").await,
        409,
        "restricted-bill-to-country",
    )
    .await;
    no_content(put_address(&app, &token, "billing", "CA").await).await;

    // Shipping follows billing; fr_FR inherits again.
    let shipping = json!({"authorizedShippingCountries": [
        {"allowShippingTo": "any-authorized-billing-country"}]});
    let answer = ok_json(admin_put(&app, &auth, SHIPPING, &shipping).await).await;
    assert_eq!(
        codes(&answer, "authorizedShippingCountries", 0),
        ["CA", "US"]
    );
    let inherit = json!({"authorizedBillingCountries": [{"locale": "fr_FR", "inherit": true}]});
    let answer = ok_json(admin_put(&app, &auth, BILLING, &inherit).await).await;
    assert_eq!(
        answer["authorizedBillingCountries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    shopper_error(
        put_address(&app, &token, "shipping", "MX").await,
        409,
        "restricted-ship-to-country",
    )
    .await;
    no_content(put_address(&app, &token, "shipping", "US").await).await;
    assert_eq!(
        app.state
            .store
            .audit_for_site(&site_id())
            .await
            .unwrap()
            .len(),
        3
    );

    // The policy tightened after the addresses: the submit is refused.
    let tighter = json!({"authorizedBillingCountries": [
        {"allowBillingFrom": "only-allowed-countries", "countries": [{"countryCode": "US"}]}]});
    ok_json(admin_put(&app, &auth, BILLING, &tighter).await).await;
    shopper_error(app.submit(&token).await, 409, "restricted-bill-to-country").await;
}

#[tokio::test]
async fn a_bad_write_is_a_400_naming_what_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, auth) = site_manager(&app).await;
    for (body, says) in [
        (
            json!({"authorizedBillingCountries": [{"allowBillingFrom": "only-allowed-countries",
            "countries": [{"countryCode": "XX"}]}]}),
            "ISO 3166-1",
        ),
        (
            json!({"authorizedBillingCountries": [{"allowBillingFrom": "any-authorized-billing-country"}]}),
            "is none of",
        ),
        (
            json!({"authorizedBillingCountries": [{"allowShippingTo": "any-country"}]}),
            "the option is allowBillingFrom",
        ),
        (
            json!({"authorizedBillingCountries": [{"allowBillingFrom": "only-allowed-countries"}]}),
            "at least one country",
        ),
        (
            json!({"authorizedBillingCountries": [{"allowBillingFrom": "any-country",
            "countries": [{"countryCode": "US"}]}]}),
            "takes no countries",
        ),
        (
            json!({"authorizedBillingCountries": [{"locale": "english",
            "allowBillingFrom": "any-country"}]}),
            "locale",
        ),
        (
            json!({"authorizedBillingCountries": [{"allowBillingFrom": "any-country"},
            {"allowBillingFrom": "any-country"}]}),
            "more than once",
        ),
        (
            json!({"authorizedBillingCountries": [{"inherit": true}]}),
            "inherit takes a locale",
        ),
        (
            json!({"authorizedBillingCountries": [{"allowBillingFrom": "any-country"},
            {"locale": "en_US", "allowBillingFrom": "any-country"}]}),
            "more than once",
        ),
        (
            json!({"authorizedBillingCountries": [{"locale": "en_US", "inherit": true}]}),
            "inherit takes a locale other than the default",
        ),
        (
            json!({"authorizedBillingCountries": []}),
            "1 to 100 locales",
        ),
        (
            json!({"authorizedShippingCountries": [{"allowShippingTo": "any-country"}]}),
            "authorizedBillingCountries",
        ),
        (
            json!({"authorizedBillingCountries": [{"allowBillingFrom": "any-country", "color": 1}]}),
            "unknown field",
        ),
    ] {
        let error = assert_admin_error(
            admin_put(&app, &auth, BILLING, &body).await,
            400,
            "invalid-request",
        )
        .await;
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    let not_json = app
        .http
        .put(app.url(BILLING))
        .header("authorization", &auth)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_admin_error(not_json, 400, "invalid-request").await;
    assert_eq!(
        app.state
            .store
            .authorized_countries(&site_id())
            .await
            .unwrap(),
        Default::default()
    );
    assert!(
        app.state
            .store
            .audit_for_site(&site_id())
            .await
            .unwrap()
            .is_empty()
    );
}
