//! Shopper routes over real HTTP: creating shoppers, `/me` at both levels, account,
//! addresses, site and site settings.

use crate::helpers::{
    SHOPPER_USERNAME, SITE, SITE_TTL, TestApp, address_written, ok_json, spawn_app,
};
use serde_json::{Value, json};

async fn api_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"]["error"][0]["code"], code, "{body}");
    crate::helpers::assert_known_shopper_api_code(&body);
    body
}

async fn post_json(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut request = app.http.post(app.url(path)).json(&body);
    request = match token {
        Some(t) => request.bearer_auth(t),
        None => request.query(&[("apiKey", app.public_key.as_str())]),
    };
    request.send().await.unwrap()
}

#[tokio::test]
async fn create_shopper_then_sign_in() {
    let app = spawn_app().await;
    let response = post_json(
        &app,
        "/v1/shoppers",
        None,
        json!({"shopper": {"username": "bob", "password": "a long password",
            "emailAddress": "bob@example.com", "firstName": "Bob", "locale": "de_DE"}}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["shopper"]["username"], "bob");
    assert!(body["shopper"].get("password").is_none());
    // The password was stored hashed and works with the password grant.
    let token: Value = ok_json(app.password_grant("bob", "a long password").await).await;
    let me = app.me(token["access_token"].as_str().unwrap()).await;
    assert_eq!(me["shopper"]["username"], "bob");
    assert_eq!(me["shopper"]["firstName"], "Bob");
    // Same username again: conflict.
    let again = post_json(
        &app,
        "/v1/shoppers",
        None,
        json!({"shopper": {"username": "bob", "password": "another password", "emailAddress": "b@example.com"}}),
    )
    .await;
    api_error(again, 409, "shopper-already-exists").await;
    // Login kept by the client.
    let external = post_json(
        &app,
        "/v1/shoppers",
        None,
        json!({"shopper": {"externalReferenceId": "crm-77"}}),
    )
    .await;
    assert_eq!(external.status(), 201);
}

#[tokio::test]
async fn create_shopper_validation_names_the_field() {
    let app = spawn_app().await;
    for (body, field) in [
        (
            json!({"shopper": {"password": "a long password"}}),
            "shopper.username",
        ),
        (
            json!({"shopper": {"username": "x", "password": "short", "emailAddress": "x@example.com"}}),
            "shopper.password",
        ),
        (
            json!({"shopper": {"username": "x", "password": "long enough!", "emailAddress": "nope"}}),
            "shopper.emailAddress",
        ),
        (
            json!({"shopper": {"username": "x", "password": "long enough!", "emailAddress": "x@example.com", "locale": "english"}}),
            "shopper.locale",
        ),
    ] {
        // A password that breaks the rule is the docs' `password-failure`.
        let code = if field == "shopper.password" {
            "password-failure"
        } else {
            "invalid-request"
        };
        let error = api_error(post_json(&app, "/v1/shoppers", None, body).await, 400, code).await;
        let description = error["errors"]["error"][0]["description"].as_str().unwrap();
        assert!(description.starts_with(field), "{field}: {description}");
    }
    let not_json = app
        .http
        .post(app.url("/v1/shoppers"))
        .query(&[("apiKey", app.public_key.as_str())])
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    api_error(not_json, 400, "invalid-request").await;
}

#[tokio::test]
async fn limited_me_is_anonymous_and_may_change_only_session_fields() {
    let app = spawn_app().await;
    let limited = app.anonymous_pair().await.access;
    let me = app.get_ok(&limited, "/v1/shoppers/me.json").await;
    assert_eq!(me["shopper"]["id"], "Anonymous");
    let changed = post_json(
        &app,
        "/v1/shoppers/me",
        Some(&limited),
        json!({"shopper": {"locale": "fr_FR", "currency": "EUR", "ipAddress": "192.0.2.7"}}),
    )
    .await;
    let changed = ok_json(changed).await;
    assert_eq!(changed["shopper"]["locale"], "fr_FR");
    assert_eq!(changed["shopper"]["currency"], "EUR");
    assert_eq!(changed["shopper"]["ipAddress"], "192.0.2.7");
    // The query form of the docs.
    let by_query = app
        .http
        .post(app.url("/v1/shoppers/me"))
        .query(&[("locale", "de_DE")])
        .bearer_auth(&limited)
        .send()
        .await
        .unwrap();
    assert_eq!(ok_json(by_query).await["shopper"]["locale"], "de_DE");
    // A username change needs a full token.
    let rename = post_json(
        &app,
        "/v1/shoppers/me",
        Some(&limited),
        json!({"shopper": {"username": "mallory"}}),
    )
    .await;
    api_error(rename, 403, "forbidden").await;
    let bad = post_json(
        &app,
        "/v1/shoppers/me",
        Some(&limited),
        json!({"shopper": {"currency": "euro"}}),
    )
    .await;
    api_error(bad, 400, "invalid-request").await;
}

#[tokio::test]
async fn full_me_shows_and_updates_the_shopper() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    let me = app.get_ok(&full, "/v1/shoppers/me").await;
    assert_eq!(me["shopper"]["id"], app.shopper_id);
    assert_eq!(me["shopper"]["username"], SHOPPER_USERNAME);
    let updated = ok_json(
        post_json(
            &app,
            "/v1/shoppers/me",
            Some(&full),
            json!({"shopper": {"firstName": "Jane", "sendEmail": true}}),
        )
        .await,
    )
    .await;
    assert_eq!(updated["shopper"]["firstName"], "Jane");
    assert_eq!(updated["shopper"]["sendEmail"], true);
    let account = app.get_ok(&full, "/v1/shoppers/me/account").await;
    assert_eq!(account["account"]["id"], app.shopper_id);
    assert!(account["account"]["addresses"]["uri"].is_string());
}

#[tokio::test]
async fn addresses_crud_with_defaults_and_limited_is_403() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    let limited = app.anonymous_pair().await.access;
    let address = |nick: &str| {
        json!({"address": {"nickName": nick, "line1": "10 Main St", "city": "Minneapolis",
        "countrySubdivision": "MN", "postalCode": "55401", "country": "US", "isDefaultShipping": true}})
    };
    // Created or updated, the docs answer 204 No Content; Location names the address.
    let first_id = address_written(
        post_json(
            &app,
            "/v1/shoppers/me/addresses",
            Some(&full),
            address("home"),
        )
        .await,
    )
    .await;
    let second_id = address_written(
        post_json(
            &app,
            "/v1/shoppers/me/addresses",
            Some(&full),
            address("work"),
        )
        .await,
    )
    .await;
    let list = app.get_ok(&full, "/v1/shoppers/me/addresses").await;
    let items = list["addresses"]["address"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["isDefaultShipping"], false,
        "only the newest default remains"
    );
    assert_eq!(items[1]["isDefaultShipping"], true);
    // Update through POST with the id.
    let mut change = address("home");
    change["address"]["id"] = json!(first_id);
    change["address"]["city"] = json!("St Paul");
    let updated =
        address_written(post_json(&app, "/v1/shoppers/me/addresses", Some(&full), change).await)
            .await;
    assert_eq!(updated, first_id);
    let one = app
        .get_ok(&full, &format!("/v1/shoppers/me/addresses/{first_id}.json"))
        .await;
    assert_eq!(one["address"]["city"], "St Paul");
    // Validation names the field.
    let bad = post_json(
        &app,
        "/v1/shoppers/me/addresses",
        Some(&full),
        json!({"address": {"line1": "x", "city": "y", "country": "USA"}}),
    )
    .await;
    let error = api_error(bad, 400, "invalid-request").await;
    assert!(
        error["errors"]["error"][0]["description"]
            .as_str()
            .unwrap()
            .starts_with("address.country")
    );
    // A limited token may not read addresses.
    let denied = app.get_as(&limited, "/v1/shoppers/me/addresses").await;
    api_error(denied, 403, "forbidden").await;
    // Delete.
    let deleted = app
        .http
        .delete(app.url(&format!("/v1/shoppers/me/addresses/{second_id}")))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let gone = app
        .get_as(&full, &format!("/v1/shoppers/me/addresses/{second_id}"))
        .await;
    api_error(gone, 404, "resource-not-found").await;
}

#[tokio::test]
async fn another_shoppers_address_is_not_found() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    let created: Value = post_json(&app, "/v1/shoppers", None, json!({"shopper": {"username": "eve", "password": "eve's password", "emailAddress": "eve@example.com"}})).await.json().await.unwrap();
    let eve = created["shopper"]["id"].as_i64().unwrap();
    let fields = shopkeeper::domain::address::SavedAddress {
        address: shopkeeper::domain::address::PostalAddress {
            line1: "x".into(),
            city: "y".into(),
            country: "US".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let eves = app
        .state
        .store
        .save_address(eve, None, &fields, app.now())
        .await
        .unwrap()
        .unwrap();
    let response = app
        .get_as(&full, &format!("/v1/shoppers/me/addresses/{eves}"))
        .await;
    api_error(response, 404, "resource-not-found").await;
    let response = app
        .http
        .delete(app.url(&format!("/v1/shoppers/me/addresses/{eves}")))
        .bearer_auth(&full)
        .send()
        .await
        .unwrap();
    api_error(response, 404, "resource-not-found").await;
}

#[tokio::test]
async fn site_and_site_settings() {
    let app = spawn_app().await;
    let site = ok_json(
        app.http
            .get(app.url("/v1/shoppers/site"))
            .header("apiKey", &app.public_key)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(site["site"]["id"], SITE);
    assert_eq!(site["site"]["defaultCurrency"], "USD");
    let settings = ok_json(
        app.http
            .get(app.url("/v1/shoppers/site/settings.json"))
            .basic_auth(&app.public_key, None::<&str>)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(settings["siteSettings"]["sessionTimeout"], SITE_TTL);
    // A wrong secret for the confidential key is refused, even on a token-optional route.
    let wrong = app
        .http
        .get(app.url("/v1/shoppers/site"))
        .basic_auth(&app.confidential_key, Some("wrong"))
        .send()
        .await
        .unwrap();
    api_error(wrong, 401, "invalid_token").await;
}

#[tokio::test]
async fn me_selects_the_fields_asked_for() {
    let app = spawn_app().await;
    let limited = app.anonymous_pair().await.access;
    let me = |fields: &'static str| {
        app.http
            .get(app.url("/v1/shoppers/me"))
            .query(&[("fields", fields)])
            .bearer_auth(&limited)
            .send()
    };
    let picked = ok_json(me("shopper.locale,shopper.id").await.unwrap()).await;
    assert_eq!(
        picked,
        json!({"shopper": {"locale": "en_US", "id": "Anonymous"}})
    );
    let whole = ok_json(me("").await.unwrap()).await;
    assert_eq!(whole["shopper"]["currency"], "USD");
    assert_eq!(whole["shopper"]["sendEmail"], false);
}

/// Every link of the signed-in shopper and the account leads to a served route: the
/// `subscriptions` link appears because `/v1/shoppers/me/subscriptions` is served.
#[tokio::test]
async fn shopper_and_account_links_lead_to_served_routes() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await.access;
    let me = app.get_ok(&full, "/v1/shoppers/me").await;
    let account = app.get_ok(&full, "/v1/shoppers/me/account").await;
    let mut uris = Vec::new();
    for links in [&me["shopper"], &account["account"]] {
        let links = links.as_object().expect("an object");
        for (name, link) in links {
            // The links (`{"uri"}` objects), not the object's own `uri`.
            if let Some(uri) = link.get("uri").and_then(Value::as_str) {
                uris.push((name.clone(), uri.to_owned()));
            }
        }
    }
    assert!(
        uris.iter().any(|(name, _)| name == "paymentOptions"),
        "{me} {account}"
    );
    assert!(
        uris.iter().any(|(name, _)| name == "subscriptions"),
        "subscriptions are served, so linked: {me} {account}"
    );
    for (name, uri) in uris {
        let path = &uri[uri.find("/v1/").expect("a Shopper API link")..];
        let status = app.get_as(&full, path).await.status();
        assert_eq!(status, 200, "{name} links to {uri}");
    }
}
