//! Usernames are unique per site without regard to case (migration 0012), as the sign-in
//! finds them: every way of creating or renaming a shopper refuses a name another shopper has
//! in another case, and a database that already holds such names refuses to start, naming
//! them, until `shopkeeper shopper rename` resolves them.

use crate::helpers::*;
use serde_json::{Value, json};
use shopkeeper::config::DatabaseSettings;
use shopkeeper::startup::Application;
use sqlx::Connection;
use std::time::Duration;

async fn sign_up(app: &TestApp, username: &str) -> reqwest::Response {
    app.http
        .post(app.url("/v1/shoppers"))
        .query(&[("apiKey", app.public_key.as_str())])
        .json(
            &json!({"shopper": {"username": username, "password": "a long password",
            "emailAddress": "someone@example.com"}}),
        )
        .send()
        .await
        .unwrap()
}

async fn assert_taken(response: reqwest::Response) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["errors"]["error"][0]["code"], "shopper-already-exists",
        "{body}"
    );
}

async fn password_grant(app: &TestApp, username: &str, password: &str) -> Value {
    ok_json(app.password_grant(username, password).await).await
}

#[tokio::test]
async fn a_username_taken_in_another_case_is_refused_and_signs_in_as_its_owner() {
    let app = spawn_app().await;
    let shouted = SHOPPER_USERNAME.to_uppercase();

    // Sign-up through the Shopper API: the documented 409.
    assert_taken(sign_up(&app, &shouted).await).await;
    // Renaming oneself through /me: the same.
    assert_eq!(sign_up(&app, "bob").await.status(), 201);
    let bob = password_grant(&app, "bob", "a long password").await;
    let rename = app
        .http
        .post(app.url("/v1/shoppers/me"))
        .bearer_auth(bob["access_token"].as_str().unwrap())
        .json(&json!({"shopper": {"username": "Jane@Example.com"}}))
        .send()
        .await
        .unwrap();
    assert_taken(rename).await;
    // Provisioning (the CLI's `shopper create`, tests, the demo): "already exists".
    let created = shopkeeper::provision::create_shopper(
        &app.state.store,
        &app.state.hasher,
        SITE,
        &shouted,
        "a long password",
        None,
        app.now(),
    )
    .await;
    let error = format!("{:#}", created.expect_err("a clash in case is refused"));
    assert!(error.contains("already exists"), "{error}");

    // Sign-in finds the one account the name names, in any case.
    let token = password_grant(&app, &shouted, SHOPPER_PASSWORD).await;
    assert_eq!(
        app.me(token["access_token"].as_str().unwrap()).await["shopper"]["username"],
        SHOPPER_USERNAME
    );
}

/// Runs the real binary on `database`; a run that does not end within a minute fails.
pub(crate) async fn shopkeeper(database: &str, args: &[&str]) -> std::process::Output {
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_shopkeeper"))
        .args(["--database", database])
        .args(args)
        .env("SHOPKEEPER_LOG", "warn")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("`shopkeeper {}` did not end", args.join(" ")))
        .unwrap()
}

/// `serve` on `database` must refuse to start, saying every one of `expected`.
pub(crate) async fn assert_refuses_to_start_naming(database: &str, expected: &[String]) {
    let refused = shopkeeper(database, &["serve", "--listen", "127.0.0.1:0"]).await;
    assert!(!refused.status.success(), "the server started");
    let message = text(&refused.stderr);
    for expected in expected {
        assert!(message.contains(expected), "{expected:?} not in: {message}");
    }
}

/// A command's output as text; a failed command's JSON error (`{"error": {"message"}}`, its
/// last stderr line) as its message.
pub(crate) fn text(bytes: &[u8]) -> String {
    let raw = String::from_utf8_lossy(bytes).into_owned();
    let last = raw.lines().last().unwrap_or_default();
    match serde_json::from_str::<Value>(last) {
        Ok(v) if v["error"]["message"].is_string() => {
            v["error"]["message"].as_str().unwrap().to_owned()
        }
        _ => raw,
    }
}

#[tokio::test]
async fn clashing_usernames_stop_the_start_until_renamed() {
    let app = spawn_app().await;
    let target = shopkeeper::provision::create_shopper(
        &app.state.store,
        &app.state.hasher,
        SITE,
        "target",
        "target's password",
        None,
        app.now(),
    )
    .await
    .unwrap();

    // A database from before migration 0012, where `TARGET` could join `target`.
    let hash = app
        .state
        .hasher
        .hash("look-alike password".into())
        .await
        .unwrap();
    let mut db = database_before_index(&app, "shoppers_username_folded", 12).await;
    let (look_alike,): (i64,) = sqlx::query_as(
        "INSERT INTO shoppers (site_id, username, password_hash, created_at) \
         VALUES ($1, 'TARGET', $2, 0) RETURNING id",
    )
    .bind(SITE)
    .bind(&hash)
    .fetch_one(&mut db)
    .await
    .unwrap();
    db.close().await.unwrap();

    // The server refuses to start, naming the site, the usernames and their ids, and the
    // command that resolves them.
    assert_refuses_to_start_naming(
        &app.database_url,
        &[
            format!("site {SITE}:"),
            format!("\"target\" (shopper id {})", target.id),
            format!("\"TARGET\" (shopper id {look_alike})"),
            format!("shopkeeper shopper rename --site {SITE} --id {look_alike} --username NEW"),
        ],
    )
    .await;
    // So does every other command that opens the database.
    let listed = shopkeeper(&app.database_url, &["shopper", "list", "--site", SITE]).await;
    assert!(!listed.status.success());
    assert!(text(&listed.stderr).contains("\"TARGET\""));

    // The rename runs on it, and refuses to make another clash.
    let rename = |id: i64, username: &'static str| {
        let database = app.database_url.clone();
        async move {
            let id = id.to_string();
            let args = ["shopper", "rename", "--site", SITE, "--id", &id];
            shopkeeper(&database, &[&args[..], &["--username", username]].concat()).await
        }
    };
    let clash = rename(look_alike, "Jane@Example.com").await;
    assert!(!clash.status.success());
    assert!(text(&clash.stderr).contains("already exists"));
    let renamed = rename(look_alike, "target-2").await;
    assert!(renamed.status.success(), "{}", text(&renamed.stderr));
    let renamed: Value = serde_json::from_slice(&renamed.stdout).unwrap();
    assert_eq!(renamed["id"], look_alike);
    assert_eq!(renamed["username"], "target-2");

    // Now it starts (and applies 0012): both accounts sign in, each with its own password.
    let database = DatabaseSettings::new(app.database_url.clone());
    let (restarted, _) = Application::build(&test_settings(), &database)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let restarted_state = restarted.state().clone();
    tokio::spawn(restarted.run_until_stopped());
    assert_eq!(
        restarted_state
            .store
            .shopper_by_username(&site_id(), "TARGET-2")
            .await
            .unwrap()
            .map(|s| s.id),
        Some(look_alike)
    );
    let again = shopkeeper::provision::create_shopper(
        &restarted_state.store,
        &restarted_state.hasher,
        SITE,
        "Target",
        "a long password",
        None,
        app.now(),
    )
    .await;
    assert!(again.is_err(), "the index holds after the repair");
    password_grant(&app, "target", "target's password").await;
    password_grant(&app, "target-2", "look-alike password").await;
}
