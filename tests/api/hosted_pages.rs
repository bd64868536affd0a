//! Issue 19's first hour on the hosted pages: shoppers sign in with their e-mail address as
//! well as their username (on the page and the password grant), e-mail addresses are unique
//! per site without regard to case (migration 0016, repaired with `shopper set-email`), the
//! throttle counts the account however it is named, and the error page speaks to shoppers
//! in the site's colours, language and with a way back to its shop.

use crate::authorize::{REDIRECT, implicit_request, sign_in};
use crate::helpers::*;
use crate::usernames::{assert_refuses_to_start_naming, shopkeeper, text};
use reqwest::Response;
use serde_json::{Value, json};
use shopkeeper::config::DatabaseSettings;
use shopkeeper::startup::Application;
use sqlx::Connection;

const JANE: &str = "jane";
const JANE_EMAIL: &str = "Jane.Doe@Example.com";
const JANE_PASSWORD: &str = "jane's long password";

/// A shopper `jane` whose address is `Jane.Doe@Example.com`, created as the CLI does.
async fn create_jane(app: &TestApp) -> i64 {
    shopkeeper::provision::create_shopper(
        &app.state.store,
        &app.state.hasher,
        SITE,
        JANE,
        JANE_PASSWORD,
        Some(JANE_EMAIL),
        app.now(),
    )
    .await
    .unwrap()
    .id
}

/// The shopper id a full access token belongs to.
async fn user_of(app: &TestApp, access_token: &str) -> String {
    let info = ok_json(app.access_tokens(access_token).await).await;
    assert_eq!(info["authenticated"], "true", "{info}");
    info["userId"].as_str().unwrap().to_owned()
}

/// Signs in on the hosted page; the shopper id of the token in the redirect's fragment.
async fn hosted_sign_in_user(app: &TestApp, identifier: &str, password: &str) -> String {
    let r = sign_in(
        app,
        &browser(),
        &implicit_request(app),
        identifier,
        password,
    )
    .await;
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let fragment = location.split_once('#').expect("a fragment").1;
    let token = form_urlencoded::parse(fragment.as_bytes())
        .find(|(k, _)| k == "access_token")
        .expect("a token")
        .1
        .into_owned();
    user_of(app, &token).await
}

#[tokio::test]
async fn a_shopper_signs_in_with_their_email_address_on_the_page_and_the_password_grant() {
    let app = spawn_app().await;
    let jane = create_jane(&app).await.to_string();

    // The hosted page, in any case.
    assert_eq!(
        hosted_sign_in_user(&app, "jane.doe@EXAMPLE.com", JANE_PASSWORD).await,
        jane
    );
    // The password grant's `username`, in any case.
    let token = ok_json(
        app.password_grant("JANE.DOE@example.COM", JANE_PASSWORD)
            .await,
    )
    .await;
    assert_eq!(
        user_of(&app, token["access_token"].as_str().unwrap()).await,
        jane
    );
    // The username still signs in.
    assert_eq!(hosted_sign_in_user(&app, "Jane", JANE_PASSWORD).await, jane);

    // A username that is another shopper's address names its own account, not that one.
    let named = shopkeeper::provision::create_shopper(
        &app.state.store,
        &app.state.hasher,
        SITE,
        "jane.doe@example.com",
        "the other password",
        Some("other@example.com"),
        app.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        hosted_sign_in_user(&app, JANE_EMAIL, "the other password").await,
        named.id.to_string()
    );
    assert_oauth_error(
        app.password_grant(JANE_EMAIL, JANE_PASSWORD).await,
        400,
        "invalid_grant",
    )
    .await;
    // An address alone never signs in without its password, and a wrong one gets the
    // message every failure gets.
    let wrong = sign_in(
        &app,
        &browser(),
        &implicit_request(&app),
        "other@example.com",
        "nope",
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("We could not sign you in with that username or e-mail address")
    );
}

async fn sign_up(app: &TestApp, shopper: Value) -> Response {
    app.http
        .post(app.url("/v1/shoppers"))
        .query(&[("apiKey", app.public_key.as_str())])
        .json(&json!({ "shopper": shopper }))
        .send()
        .await
        .unwrap()
}

/// The documented 409, naming the field that is taken.
async fn assert_taken(response: Response, field: &str) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 409, "{body}");
    let error = &body["errors"]["error"][0];
    assert_eq!(error["code"], "shopper-already-exists", "{body}");
    assert_eq!(
        error["description"],
        format!("a shopper with this {field} already exists"),
        "{body}"
    );
}

#[tokio::test]
async fn an_email_address_taken_in_any_case_is_refused_wherever_it_is_set() {
    let app = spawn_app().await;
    create_jane(&app).await;
    let shouted = JANE_EMAIL.to_uppercase();

    // Sign-up through the Shopper API, with a login kept here or by the client.
    assert_taken(
        sign_up(
            &app,
            json!({"username": "bob", "password": "a long password", "emailAddress": shouted}),
        )
        .await,
        "emailAddress",
    )
    .await;
    assert_taken(
        sign_up(
            &app,
            json!({"externalReferenceId": "crm-9", "emailAddress": "jane.doe@example.com"}),
        )
        .await,
        "emailAddress",
    )
    .await;
    // A taken username is still reported as the username.
    assert_taken(
        sign_up(
            &app,
            json!({"username": "JANE", "password": "a long password",
                   "emailAddress": "new@example.com"}),
        )
        .await,
        "username",
    )
    .await;

    // Changing one's own address through /me: another's is refused, one's own in another
    // case is not.
    let created = sign_up(
        &app,
        json!({"username": "bob", "password": "a long password",
               "emailAddress": "bob@example.com"}),
    )
    .await;
    assert_eq!(created.status(), 201);
    let bob = ok_json(app.password_grant("bob", "a long password").await).await;
    let update_email = |email: &'static str| {
        app.http
            .post(app.url("/v1/shoppers/me"))
            .bearer_auth(bob["access_token"].as_str().unwrap())
            .json(&json!({"shopper": {"emailAddress": email}}))
            .send()
    };
    assert_taken(
        update_email("jane.doe@example.COM").await.unwrap(),
        "emailAddress",
    )
    .await;
    assert_eq!(update_email("Bob@Example.com").await.unwrap().status(), 200);

    // Provisioning (the CLI's `shopper create`): "already exists: e-mail address".
    let error = shopkeeper::provision::create_shopper(
        &app.state.store,
        &app.state.hasher,
        SITE,
        "carol",
        "a long password",
        Some(&shouted),
        app.now(),
    )
    .await
    .expect_err("a taken address is refused");
    assert!(
        format!("{error:#}").contains("already exists: e-mail address"),
        "{error:#}"
    );
    // The CLI's repair command refuses it too.
    let jane_again = shopkeeper(
        &app.database_url,
        &[
            "shopper",
            "set-email",
            "--site",
            SITE,
            "--id",
            &app.shopper_id.to_string(),
            "--email",
            "BOB@example.com",
        ],
    )
    .await;
    assert!(!jane_again.status.success());
    assert!(
        text(&jane_again.stderr).contains("already exists: e-mail address"),
        "{}",
        text(&jane_again.stderr)
    );
}

#[tokio::test]
async fn failures_through_the_email_address_and_the_username_share_one_count() {
    let app = spawn_app_with(|s| {
        throttle_accounts(s, 2, 60, 60);
        s.security.throttle_ip_failures = 1000;
    })
    .await;
    create_jane(&app).await;

    // Three failures, each through another name of the account, on both paths...
    assert_oauth_error(
        app.password_grant("jane.doe@example.com", "wrong").await,
        400,
        "invalid_grant",
    )
    .await;
    let r = sign_in(&app, &browser(), &implicit_request(&app), "JANE", "wrong").await;
    assert_eq!(r.status(), 401);
    let r = sign_in(
        &app,
        &browser(),
        &implicit_request(&app),
        JANE_EMAIL,
        "wrong",
    )
    .await;
    assert_eq!(r.status(), 401);
    // ...add up: the account waits, named either way, even with the right password.
    let throttled = app.password_grant(JANE, JANE_PASSWORD).await;
    assert_eq!(throttled.headers()["retry-after"], "60");
    assert_oauth_error(throttled, 429, "too_many_requests").await;
    let r = sign_in(
        &app,
        &browser(),
        &implicit_request(&app),
        JANE_EMAIL,
        JANE_PASSWORD,
    )
    .await;
    assert_eq!(r.status(), 429);
    // Another account is not disturbed.
    ok_json(app.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD).await).await;

    // An address no account has counts on its own case-folded text.
    for typed in [
        "Ghost@Example.com",
        "GHOST@example.com",
        "ghost@EXAMPLE.com",
    ] {
        assert_oauth_error(
            app.password_grant(typed, "guess").await,
            400,
            "invalid_grant",
        )
        .await;
    }
    let probe = app.password_grant("ghost@example.com", "guess").await;
    assert_oauth_error(probe, 429, "too_many_requests").await;
}

#[tokio::test]
async fn clashing_email_addresses_stop_the_start_until_set_email_repairs_them() {
    let app = spawn_app().await;
    let jane = create_jane(&app).await;

    // A database from before migration 0016, where two shoppers could share an address.
    let mut db = database_before_index(&app, "shoppers_email_folded", 16).await;
    let (twin,): (i64,) = sqlx::query_as(
        "INSERT INTO shoppers (site_id, username, email, created_at) \
         VALUES ($1, 'twin', 'JANE.DOE@example.com', 0) RETURNING id",
    )
    .bind(SITE)
    .fetch_one(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();

    // The server refuses to start, naming the site, the addresses, their shoppers' ids and
    // the command that resolves them.
    assert_refuses_to_start_naming(
        &app.database_url,
        &[
            "migration 0016".to_owned(),
            format!("site {SITE}:"),
            format!("\"{JANE_EMAIL}\" (shopper id {jane})"),
            format!("\"JANE.DOE@example.com\" (shopper id {twin})"),
            format!("shopkeeper shopper set-email --site {SITE} --id {twin} --email NEW"),
        ],
    )
    .await;
    let listed = shopkeeper(&app.database_url, &["shopper", "list", "--site", SITE]).await;
    assert!(!listed.status.success());
    assert!(text(&listed.stderr).contains("JANE.DOE@example.com"));

    // set-email runs on it, refuses another clash, and sets or clears the address.
    let twin_id = twin.to_string();
    let set_email = |extra: &'static [&'static str]| {
        let database = app.database_url.clone();
        let twin_id = twin_id.clone();
        async move {
            let args = ["shopper", "set-email", "--site", SITE, "--id", &twin_id];
            shopkeeper(&database, &[&args[..], extra].concat()).await
        }
    };
    let clash = set_email(&["--email", "jane.doe@EXAMPLE.com"]).await;
    assert!(!clash.status.success());
    assert!(text(&clash.stderr).contains("already exists: e-mail address"));
    let invalid = set_email(&["--email", "not an address"]).await;
    assert!(!invalid.status.success());
    let set = set_email(&["--email", "twin@example.com"]).await;
    assert!(set.status.success(), "{}", text(&set.stderr));
    let set: Value = serde_json::from_slice(&set.stdout).unwrap();
    assert_eq!(
        (set["id"].as_i64(), set["email"].as_str()),
        (Some(twin), Some("twin@example.com"))
    );
    let cleared = set_email(&["--clear"]).await;
    assert!(cleared.status.success(), "{}", text(&cleared.stderr));
    let cleared: Value = serde_json::from_slice(&cleared.stdout).unwrap();
    assert_eq!(cleared["email"], Value::Null);

    // Now it starts (and applies 0016), and the index holds.
    let database = DatabaseSettings::new(app.database_url.clone());
    let (restarted, _) = Application::build(&test_settings(), &database)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let store = restarted.state().store.clone();
    tokio::spawn(restarted.run_until_stopped());
    let again = store
        .set_shopper_email(&site_id(), twin, Some("JANE.doe@example.com"))
        .await;
    assert!(again.is_err(), "the index holds after the repair");
    assert_eq!(
        store
            .shopper_for_sign_in(&site_id(), "jane.doe@example.com")
            .await
            .unwrap()
            .map(|s| s.id),
        Some(jane)
    );
}

async fn page(app: &TestApp, path: &str, query: &[(&str, &str)]) -> (u16, String) {
    let r = app
        .http
        .get(app.url(path))
        .query(query)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert!(r.headers().get("location").is_none(), "never a redirect");
    (status, r.text().await.unwrap())
}

/// The part of an error page a shopper reads (the developers' details are folded away).
fn shoppers_part(html: &str) -> &str {
    html.split("<details>").next().unwrap()
}

fn assert_speaks_to_shoppers(html: &str) {
    let visible = shoppers_part(html);
    for jargon in [
        "redirect_uri",
        "client_id",
        "API key",
        "client",
        "Shopkeeper",
    ] {
        assert!(
            !visible.contains(jargon),
            "{jargon:?} shown to shoppers: {visible}"
        );
    }
}

#[tokio::test]
async fn the_error_page_wears_the_sites_look_and_links_back_to_its_own_shop() {
    let app = spawn_app().await;
    let store = &app.state.store;
    store
        .set_site_branding(&site_id(), Some("Acme Outfitters"), "#aa3300")
        .await
        .unwrap();
    store.set_site_locale(&site_id(), "de_DE").await.unwrap();

    // A known key with an unregistered redirect URI: the site's page.
    let (status, html) = page(
        &app,
        "/oauth20/authorize",
        &[
            ("client_id", app.public_key.as_str()),
            ("response_type", "token"),
            ("redirect_uri", "https://evil.example.com/phish"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(html.contains("<html lang=\"de-DE\">"), "{html}");
    assert!(html.contains("<h1>Acme Outfitters</h1>"), "{html}");
    assert!(html.contains("--brand: #aa3300"), "{html}");
    assert!(html.contains("--on-brand: #ffffff"), "{html}");
    // The way back is the origin of the key's registered redirect URI, never the request's.
    assert!(
        html.contains("href=\"https://shop.example.com\">Back to Acme Outfitters</a>"),
        "{html}"
    );
    assert!(!html.contains("evil.example.com"), "{html}");
    assert_speaks_to_shoppers(&html);
    // The precise reason is there for the site's developers.
    assert!(
        html.contains("Details for the site&#39;s developers")
            || html.contains("Details for the site's developers"),
        "{html}"
    );
    assert!(
        html.contains("The redirect_uri is not registered for this API key"),
        "{html}"
    );

    // The same on the sign-in page itself (its post re-checks), and its lang too.
    let (status, form) = page(&app, "/oauth20/sign-in", &implicit_request(&app)).await;
    assert_eq!(status, 200);
    assert!(form.contains("<html lang=\"de-DE\">"), "{form}");

    // No key, or an unknown one: no site is known, so a neutral page, still for shoppers.
    for query in [
        vec![("response_type", "token"), ("redirect_uri", REDIRECT)],
        vec![
            ("client_id", "nosuchkey"),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
        ],
    ] {
        let (status, html) = page(&app, "/oauth20/authorize", &query).await;
        assert_eq!(status, 400);
        assert!(html.contains("<html lang=\"en\">"), "{html}");
        assert!(!html.contains("Acme Outfitters"), "{html}");
        assert!(
            !html.contains("href="),
            "no link to an unknown shop: {html}"
        );
        assert_speaks_to_shoppers(&html);
    }
}

#[tokio::test]
async fn a_brand_colour_too_light_for_white_text_gets_dark_text() {
    let app = spawn_app().await;
    let style_of = |html: &str| {
        html.split("</style>")
            .next()
            .unwrap()
            .split(":root")
            .nth(1)
            .unwrap()
            .to_owned()
    };
    for (brand, text_colour, link_colour) in [
        // White on #ffcc00 is 1.6:1; black is 13:1. The colour fails as link text on white,
        // so links keep the default.
        ("#ffcc00", "#000000", "#1f4fbf"),
        // #777777 is just under AA for white (4.48:1).
        ("#777777", "#000000", "#1f4fbf"),
        // Dark enough for both.
        ("#aa3300", "#ffffff", "#aa3300"),
    ] {
        app.state
            .store
            .set_site_branding(&site_id(), Some("Acme"), brand)
            .await
            .unwrap();
        let (status, html) = page(&app, "/oauth20/sign-in", &implicit_request(&app)).await;
        assert_eq!(status, 200);
        let style = style_of(&html);
        assert!(style.contains(&format!("--brand: {brand}")), "{style}");
        assert!(
            style.contains(&format!("--on-brand: {text_colour}")),
            "{brand}: {style}"
        );
        assert!(
            style.contains(&format!("--link: {link_colour}")),
            "{brand}: {style}"
        );
        assert!(!html.contains("color: #fff;"), "no fixed white text left");
    }
}
