//! Absolute links come from `--public-url` alone: a request's `Host` (or `X-Forwarded-*`)
//! header never reaches an answer, so a cache in front of Shopkeeper cannot be poisoned with
//! links to another host.

use crate::helpers::*;
use shopkeeper::config::DatabaseSettings;
use shopkeeper::startup::Application;

async fn cart_uri(app: &TestApp, token: &str, host: &str) -> String {
    let response = app
        .http
        .get(app.url("/v1/shoppers/me/carts/active"))
        .bearer_auth(token)
        .header("host", host)
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", host)
        .send()
        .await
        .unwrap();
    let body = ok_json(response).await;
    body["cart"]["uri"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn links_are_built_from_the_public_url_never_from_the_host_header() {
    let app = spawn_app_with(|s| s.web.public_url = Some("https://shop.example.com/".into())).await;
    let guest = app.anonymous_pair().await;
    assert_eq!(
        cart_uri(&app, &guest.access, "evil.example").await,
        "https://shop.example.com/v1/shoppers/me/carts/active"
    );

    // Without --public-url (loopback only), links name the bound address, whatever the Host.
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await;
    assert_eq!(
        cart_uri(&app, &guest.access, "evil.example").await,
        app.url("/v1/shoppers/me/carts/active")
    );
}

#[tokio::test]
async fn a_non_loopback_listener_without_a_public_url_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let database = DatabaseSettings::new(format!("sqlite://{}", db.display()));
    let mut settings = test_settings();
    settings.listen = "0.0.0.0:0".parse().unwrap();
    let error = match Application::build(&settings, &database).await {
        Ok(_) => panic!("a server on 0.0.0.0 without --public-url started"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        error.contains("0.0.0.0") && error.contains("--public-url"),
        "the refusal says why and what to set: {error}"
    );
    assert!(!db.exists(), "refused before touching the database");

    settings.web.public_url = Some("https://shop.example.com".into());
    Application::build(&settings, &database)
        .await
        .expect("with --public-url it starts");
}
