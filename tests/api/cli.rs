//! The operator's command line, run as the real binary: only `serve` and `migrate` create a
//! database, every error is one JSON object on stderr with a non-zero exit, input is checked
//! (redirect URIs by RFC 8252, e-mail addresses, brand colours for contrast, sites named),
//! `demo show` and `shopper set-password` give working credentials again.

use crate::helpers::*;
use crate::multinode::cli;
use serde_json::Value;
use std::process::Output;
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_shopkeeper");

/// Runs the binary with `args` (no database flag), returning its output.
async fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("SHOPKEEPER_LOG", "warn")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap()
}

/// The JSON error a failed command printed: exactly one JSON line on stderr.
fn json_error(out: &Output) -> Value {
    assert!(!out.status.success(), "the command succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    let value: Value =
        serde_json::from_str(line).unwrap_or_else(|_| panic!("stderr is not JSON: {stderr}"));
    assert!(value["error"]["message"].is_string(), "{value}");
    value["error"].clone()
}

#[tokio::test]
async fn commands_other_than_serve_and_migrate_refuse_a_missing_database_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let (url, missing) = if suite_on_postgres() {
        let admin = postgres_admin_url().unwrap();
        let url = fresh_postgres_database(&admin).await;
        (url, "no Shopkeeper schema".to_owned())
    } else {
        let file = dir.path().join("nowhere.db");
        (
            format!("sqlite://{}", file.display()),
            format!("no database at {}", file.display()),
        )
    };
    for args in [
        &["site", "list"][..],
        &["client", "list"],
        &["shopper", "list", "--site", "demo"],
    ] {
        let out = run(&[&["--database", url.as_str()][..], args].concat()).await;
        let error = json_error(&out);
        assert_eq!(out.status.code(), Some(1));
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(&missing), "{args:?}: {message}");
        assert!(message.contains("shopkeeper migrate"), "{message}");
    }
    // Nothing was created by the refusals.
    assert!(!dir.path().join("nowhere.db").exists());
    let migrated = run(&["--database", &url, "migrate"]).await;
    assert!(migrated.status.success(), "{migrated:?}");
    let out: Value = serde_json::from_slice(&migrated.stdout).unwrap();
    assert!(out["schema_version"].as_i64().unwrap() >= 16, "{out}");
    let (ok, sites) = cli(&url, &["site", "list"], None).await;
    assert!(ok, "{sites}");
    assert_eq!(sites.trim(), "[]");
}

#[tokio::test]
async fn errors_are_one_json_object_on_stderr_with_a_non_zero_exit() {
    let app = spawn_app().await;
    let db = app.database_url.as_str();
    // A command line clap refuses: exit 2, kind "usage".
    let out = run(&["--database", db, "site", "create"]).await;
    let error = json_error(&out);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(error["kind"], "usage");
    assert!(!error["message"].as_str().unwrap().starts_with("error:"));
    // A site that does not exist is named, not listed as empty.
    let out = run(&["--database", db, "shopper", "list", "--site", "nosuch"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        json_error(&out)["message"]
            .as_str()
            .unwrap()
            .contains("no site \"nosuch\"")
    );
    let out = run(&["--database", db, "client", "list", "--site", "nosuch"]).await;
    assert!(
        json_error(&out)["message"]
            .as_str()
            .unwrap()
            .contains("nosuch")
    );
    // An e-mail address that is not one.
    let (ok, message) = cli(
        db,
        &[
            "shopper",
            "create",
            "--site",
            SITE,
            "--external-reference-id",
            "crm-7",
            "--email",
            "notanemail",
        ],
        None,
    )
    .await;
    assert!(!ok);
    assert!(message.contains("not an email address"), "{message}");
    // A brand colour that white text cannot be read on.
    let (ok, message) = cli(
        db,
        &[
            "site",
            "set-branding",
            "--id",
            SITE,
            "--brand-color",
            "#dddddd",
        ],
        None,
    )
    .await;
    assert!(!ok);
    assert!(message.contains("contrast"), "{message}");
    let (ok, out) = cli(
        db,
        &[
            "site",
            "set-branding",
            "--id",
            SITE,
            "--brand-color",
            "#1f4fbf",
        ],
        None,
    )
    .await;
    assert!(ok, "{out}");
}

#[tokio::test]
async fn redirect_uris_follow_rfc_8252_and_can_be_replaced_and_listed() {
    let app = spawn_app().await;
    let db = app.database_url.as_str();
    for bad in [
        "http://shop.example.com/cb",
        "javascript://%0aalert(1)",
        "data:text/html,hi",
        "file:///etc/passwd",
    ] {
        let (ok, message) = cli(
            db,
            &[
                "client",
                "create",
                "--site",
                SITE,
                "--kind",
                "public",
                "--redirect-uri",
                bad,
            ],
            None,
        )
        .await;
        assert!(!ok, "{bad} was accepted");
        assert!(message.contains("redirect URI"), "{bad}: {message}");
    }
    let key = app.public_key.as_str();
    let good = [
        "https://shop.example.com/cb",
        "http://127.0.0.1:3000/cb",
        "com.example.app:/oauth2redirect",
    ];
    let mut args = vec!["client", "set-redirect-uris", "--api-key", key];
    for uri in good {
        args.extend(["--redirect-uri", uri]);
    }
    let (ok, out) = cli(db, &args, None).await;
    assert!(ok, "{out}");
    let (ok, out) = cli(
        db,
        &[
            "client",
            "set-redirect-uris",
            "--api-key",
            key,
            "--redirect-uri",
            "http://evil.example/cb",
        ],
        None,
    )
    .await;
    assert!(!ok, "{out}");
    let (ok, out) = cli(
        db,
        &[
            "client",
            "set-origins",
            "--api-key",
            key,
            "--origins",
            "HTTPS://Shop.Example.com:443",
        ],
        None,
    )
    .await;
    assert!(ok, "{out}");
    let (ok, out) = cli(db, &["client", "list", "--site", SITE], None).await;
    assert!(ok, "{out}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    let entry = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["api_key"] == key)
        .unwrap();
    let mut expected: Vec<&str> = good.to_vec();
    expected.sort();
    assert_eq!(entry["redirect_uris"], serde_json::json!(expected));
    assert_eq!(
        entry["allowed_origins"],
        serde_json::json!(["https://shop.example.com"])
    );
    // The hosted flow takes the new URI (a redirect to the sign-in page, not the error page).
    let response = app
        .http
        .get(app.url("/oauth20/authorize"))
        .query(&[
            ("client_id", key),
            ("redirect_uri", "https://shop.example.com/cb"),
            ("response_type", "code"),
            ("code_challenge", &"a".repeat(43)),
            ("code_challenge_method", "S256"),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), 400, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn demo_show_and_set_password_give_working_credentials_and_end_the_old_ones() {
    let app = spawn_app().await;
    let db = app.database_url.as_str();
    let first = shopkeeper::provision::create_demo(
        &app.state.store,
        &app.state.hasher,
        "http://127.0.0.1:8080/",
        app.now(),
    )
    .await
    .unwrap();
    let grant = |key: String, user: &'static str, password: String| {
        let app = &app;
        async move {
            app.token_with(
                &key,
                Some(""),
                &[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", password.as_str()),
                ],
            )
            .await
            .status()
        }
    };
    let public = first.public_client.api_key.clone();
    assert_eq!(
        grant(public.clone(), "demo", first.shopper.password.clone()).await,
        200
    );

    let (ok, out) = cli(db, &["demo", "show"], None).await;
    assert!(ok, "{out}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    let demo = &shown["demo"];
    assert_eq!(demo["public_client"]["api_key"], public.as_str());
    // The demo's coupon code and POP, at the first start and again.
    assert_eq!(first.offers.coupon_codes, ["WELCOME10"]);
    assert_eq!(first.offers.point_of_promotions, ["Home_topSeller"]);
    assert_eq!(
        demo["offers"],
        serde_json::json!({"coupon_codes": ["WELCOME10"],
                           "point_of_promotions": ["Home_topSeller"]})
    );
    assert!(demo["note"].as_str().unwrap().contains("new"), "{demo}");
    let password = demo["shopper"]["password"].as_str().unwrap().to_owned();
    assert_ne!(password, first.shopper.password);
    assert_eq!(grant(public.clone(), "demo", password.clone()).await, 200);
    assert_eq!(
        grant(public.clone(), "demo", first.shopper.password.clone()).await,
        400
    );
    // The confidential key's new secret works, the old one no longer does.
    let confidential = demo["confidential_client"]["api_key"].as_str().unwrap();
    let secret = demo["confidential_client"]["secret"].as_str().unwrap();
    let old_secret = first.confidential_client.secret.clone().unwrap();
    for (secret, status) in [(secret, 200), (old_secret.as_str(), 401)] {
        let response = app
            .token_with(
                confidential,
                Some(secret),
                &[("grant_type", "client_credentials")],
            )
            .await;
        assert_eq!(response.status(), status);
    }

    // An operator's reset: by username, from stdin; the shopper's sessions end.
    let (ok, out) = cli(
        db,
        &[
            "shopper",
            "set-password",
            "--site",
            "demo",
            "--username",
            "DEMO",
            "--password-stdin",
        ],
        Some("a brand new password\n"),
    )
    .await;
    assert!(ok, "{out}");
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["revoked_access_tokens"], 1, "{out}");
    assert_eq!(
        grant(public.clone(), "demo", "a brand new password".into()).await,
        200
    );
    assert_eq!(grant(public, "demo", password).await, 400);
    let (ok, message) = cli(
        db,
        &[
            "shopper",
            "set-password",
            "--site",
            "demo",
            "--id",
            "1",
            "--password-stdin",
        ],
        Some("short"),
    )
    .await;
    assert!(!ok);
    assert!(message.contains("password must be"), "{message}");
}

/// Storage-independent: runs on SQLite only.
#[tokio::test]
async fn serve_on_a_taken_address_names_it_and_creates_no_database() {
    if suite_on_postgres() {
        return;
    }
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("first.db");
    let url = format!("sqlite://{}", file.display());
    let out = run(&["--database", &url, "serve", "--listen", &address]).await;
    let error = json_error(&out);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains(&format!("cannot listen on {address}")),
        "{error}"
    );
    assert!(
        out.stdout.is_empty(),
        "demo data printed for a server that never ran"
    );
    assert!(!file.exists(), "the failed start created the database");
}

/// Storage-independent: runs on SQLite only.
#[tokio::test]
async fn config_files_take_lists_and_host_names_and_name_the_file_in_errors() {
    if suite_on_postgres() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "listen = \"localhost:8094\"\ntrusted-proxies = [\"10.0.0.1\", \"10.0.0.2\"]\n",
    )
    .unwrap();
    let out = run(&["config", "check", good.to_str().unwrap()]).await;
    assert!(out.status.success(), "{out:?}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "listen = \"nowhere\"\n").unwrap();
    let out = run(&["config", "check", bad.to_str().unwrap()]).await;
    let message = json_error(&out)["message"].as_str().unwrap().to_owned();
    assert!(
        message.starts_with(&format!("config file {}", bad.display())),
        "{message}"
    );
    assert!(!message.contains("error:"), "{message}");
    let help = run(&["--help"]).await;
    assert!(String::from_utf8_lossy(&help.stdout).contains("config"));
    let help = run(&["config", "--help"]).await;
    assert!(String::from_utf8_lossy(&help.stdout).contains("check"));
}

#[tokio::test]
async fn offers_and_pops_are_managed_as_json_definitions_and_refused_whole() {
    let app = spawn_app().await;
    let (product, _) = crate::checkout::catalog(&app).await;
    let db = app.database_url.as_str();
    let json = |text: &str| -> Value { serde_json::from_str(text).unwrap() };
    let coupon = r#"{"name": "Summer", "type": "Discount", "level": "order", "trigger": "coupon",
        "percentOff": "12.5", "minimumOrder": {"currency": "USD", "value": "20"},
        "endsAt": "2030-01-01T00:00:00Z", "totalLimit": 100, "perShopperLimit": 1,
        "couponCodes": ["summer26"]}"#;
    let (ok, out) = cli(db, &["offer", "create", "--site", SITE, "-"], Some(coupon)).await;
    assert!(ok, "{out}");
    let created = json(&out);
    assert_eq!(created["percentOff"], "12.50", "{created}");
    assert_eq!(created["minimumOrder"]["value"], "20.00");
    assert_eq!(created["couponCodes"][0], "SUMMER26");
    assert_eq!(created["endsAt"], "2030-01-01T00:00:00Z");
    assert_eq!(created["uses"], 0);
    let id = created["id"].as_i64().unwrap().to_string();

    // Refused whole: a code another offer has (any case), a product of no site, a bad
    // definition; nothing of them is written.
    let taken = coupon
        .replace("Summer\"", "Other\"")
        .replace("summer26", "SUMMER26");
    let (ok, message) = cli(db, &["offer", "create", "--site", SITE, "-"], Some(&taken)).await;
    assert!(!ok && message.contains("SUMMER26"), "{message}");
    let unknown = r#"{"name": "x", "type": "Discount", "percentOff": "5", "productIds": [999999]}"#;
    let (ok, message) = cli(db, &["offer", "create", "--site", SITE, "-"], Some(unknown)).await;
    assert!(!ok && message.contains("999999"), "{message}");
    let (ok, message) = cli(
        db,
        &["offer", "create", "--site", SITE, "-"],
        Some(r#"{"name": "x", "type": "Discount", "percentOff": "250"}"#),
    )
    .await;
    assert!(!ok && message.contains("100"), "{message}");
    let (ok, out) = cli(db, &["offer", "list", "--site", SITE], None).await;
    assert!(ok, "{out}");
    assert_eq!(json(&out).as_array().unwrap().len(), 1, "{out}");

    // What `list` prints goes back to `update` as it is (id, site and uses aside).
    let mut edited = json(&out)[0].clone();
    for field in ["id", "site", "uses"] {
        edited.as_object_mut().unwrap().remove(field);
    }
    edited["name"] = "Summer sale".into();
    edited["productIds"] = serde_json::json!([product]);
    let (ok, out) = cli(
        db,
        &["offer", "update", "--site", SITE, "--id", &id, "-"],
        Some(&edited.to_string()),
    )
    .await;
    assert!(ok, "{out}");
    let updated = json(&out);
    assert_eq!(updated["name"], "Summer sale");
    assert_eq!(updated["productIds"], serde_json::json!([product]));
    assert_eq!(updated["couponCodes"], serde_json::json!(["SUMMER26"]));

    let (ok, out) = cli(db, &["offer", "disable", "--site", SITE, "--id", &id], None).await;
    assert!(ok && json(&out)["enabled"] == false, "{out}");

    let (ok, out) = cli(
        db,
        &["pop", "create", "--site", SITE, "--name", "Home_topSeller"],
        None,
    )
    .await;
    assert!(ok, "{out}");
    let (ok, out) = cli(
        db,
        &[
            "pop",
            "add",
            "--site",
            SITE,
            "--name",
            "Home_topSeller",
            "--offer",
            &id,
        ],
        None,
    )
    .await;
    assert!(ok, "{out}");
    assert_eq!(
        json(&out)["offerIds"],
        serde_json::json!([id.parse::<i64>().unwrap()])
    );
    for (args, says) in [
        (
            vec![
                "pop", "add", "--site", SITE, "--name", "nope", "--offer", &id,
            ],
            "nope",
        ),
        (
            vec![
                "pop",
                "add",
                "--site",
                SITE,
                "--name",
                "Home_topSeller",
                "--offer",
                "424242",
            ],
            "424242",
        ),
        (
            vec!["pop", "create", "--site", SITE, "--name", "has space"],
            "POP name",
        ),
    ] {
        let (ok, message) = cli(db, &args, None).await;
        assert!(!ok && message.contains(says), "{args:?}: {message}");
    }
}
