//! What the foundation promises about secrets at rest and about password hashing staying off
//! the async workers.

use crate::helpers::*;
use std::time::{Duration, Instant};

/// Runs the main flows, collecting every secret handed out, then scans the SQLite files
/// (database and WAL; every row on PostgreSQL) for each of them, in text and in raw bytes.
#[tokio::test]
async fn the_database_holds_no_token_secret_or_password_in_clear() {
    let app = spawn_app().await;
    let mut secrets = vec![app.confidential_secret.clone(), SHOPPER_PASSWORD.to_owned()];
    let guest = app.anonymous_pair().await;
    let full = app
        .shopper_pair_linked("dr_limited_token", &guest.access)
        .await;
    let refreshed = TokenPair::from(ok_json(app.refresh(&full.refresh).await).await);
    let confidential = app.external_shopper_pair().await;
    for pair in [&guest, &full, &refreshed, &confidential] {
        secrets.push(pair.access.clone());
        secrets.push(pair.refresh.clone());
    }
    let session_token = shopkeeper::domain::SessionToken::generate();
    let session = ok_json(app.access_tokens(&refreshed.access).await).await;
    app.state
        .store
        .add_session_token(
            &shopkeeper::domain::SessionId::parse(session["sessionId"].as_str().unwrap()).unwrap(),
            &session_token.hash(),
            app.now(),
        )
        .await
        .unwrap();
    secrets.push(session_token.expose().to_owned());

    let image = database_image(&app).await;
    assert!(image.len() > 1024, "the scan read the database");
    let contains = |needle: &[u8]| image.windows(needle.len()).any(|w| w == needle);
    // The scan works: a value known to be stored in clear is found.
    assert!(contains(app.public_key.as_bytes()));
    for secret in &secrets {
        assert!(!contains(secret.as_bytes()), "a secret is stored in clear");
        if let Ok(raw) = hex::decode(secret) {
            assert!(!contains(&raw), "a secret is stored as raw bytes");
        }
    }
}

/// With more password grants in flight than there are async worker threads, a token check
/// still answers before the first of those grants completes: Argon2 runs on the bounded
/// blocking pool, not on the workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashing_does_not_stall_token_checks() {
    // A deliberately costly Argon2 so each grant takes a long, visible time.
    let app = spawn_app_with(|s| {
        s.hashing.argon2_memory_kib = 32 * 1024;
        s.hashing.argon2_iterations = 3;
        // As many hashing threads as workers: were hashing on the workers, it would hold both.
        s.hashing.hashing_threads = Some(2);
    })
    .await;
    let guest = app.anonymous_pair().await;
    ok_json(app.access_tokens(&guest.access).await).await;

    let started = Instant::now();
    let grants: Vec<_> = (0..4)
        .map(|_| {
            let http = app.http.clone();
            let url = app.url("/oauth20/token");
            let key = app.public_key.clone();
            tokio::spawn(async move {
                let response = http
                    .post(url)
                    .basic_auth(key, None::<&str>)
                    .form(&SHOPPER_GRANT)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                Instant::now()
            })
        })
        .collect();
    // Let the grants reach the server and start hashing.
    tokio::time::sleep(Duration::from_millis(5)).await;
    ok_json(app.access_tokens(&guest.access).await).await;
    let check_done = Instant::now();

    let mut first_grant_done = None::<Instant>;
    for g in grants {
        let done = g.await.unwrap();
        first_grant_done = Some(first_grant_done.map_or(done, |f| f.min(done)));
    }
    let first_grant_done = first_grant_done.unwrap();
    assert!(
        check_done < first_grant_done,
        "the check ({:?}) waited behind password hashing (first grant {:?})",
        check_done - started,
        first_grant_done - started
    );
}

/// The at-rest scan over every flow that hands out or receives a secret, the browser flows
/// and failed, throttled sign-ins included: the dump holds nothing usable.
#[tokio::test]
async fn after_every_flow_the_database_dump_holds_no_usable_secret() {
    use crate::authorize::{implicit_request, pkce_code_request, redeem, sign_in};
    let app = spawn_app_with(|s| s.security.throttle_user_failures = 1).await;
    let mut secrets = vec![app.confidential_secret.clone(), SHOPPER_PASSWORD.to_owned()];

    // Wrong passwords, on both paths, until throttled.
    let wrong = [
        "wrong-password-7c1e",
        "wrong-password-8d2f",
        "wrong-password-9e3a",
    ];
    for password in wrong {
        let r = app.password_grant(SHOPPER_USERNAME, password).await;
        assert!(matches!(r.status().as_u16(), 400 | 429));
        secrets.push(password.to_owned());
    }
    let query = implicit_request(&app);
    let r = sign_in(
        &app,
        &browser(),
        &query,
        "nobody@example.com",
        "wrong-page-4b5c",
    )
    .await;
    assert_eq!(r.status(), 401);
    secrets.push("wrong-page-4b5c".to_owned());

    // SessionToken: the bare session token, and a token pair for a key.
    let http = browser();
    let url = app.url(&format!("/store/{SITE}/SessionToken"));
    let body: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    secrets.push(body["session_token"].as_str().unwrap().to_owned());
    let body: serde_json::Value =
        send_json(http.get(&url).query(&[("apiKey", app.public_key.as_str())])).await;
    secrets.push(body["access_token"].as_str().unwrap().to_owned());
    secrets.push(body["refresh_token"].as_str().unwrap().to_owned());

    // The code flow with PKCE through the hosted page, by another shopper (the test shopper
    // is throttled now).
    shopkeeper::provision::create_shopper(
        &app.state.store,
        &app.state.hasher,
        SITE,
        "code@example.com",
        "code-flow-password-1a2b",
        None,
        app.now(),
    )
    .await
    .unwrap();
    secrets.push("code-flow-password-1a2b".to_owned());
    let verifier = "a-long-random-verifier-of-at-least-43-chars-0123456789";
    let challenge = pkce_challenge(verifier);
    let code_query = pkce_code_request(&app.public_key, &challenge);
    let r = sign_in(
        &app,
        &browser(),
        &code_query,
        "code@example.com",
        "code-flow-password-1a2b",
    )
    .await;
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let code = form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    secrets.push(code.clone());
    let pair = TokenPair::from(ok_json(redeem(&app, &code, verifier).await).await);
    secrets.extend([
        pair.access.clone(),
        pair.refresh.clone(),
        verifier.to_owned(),
    ]);
    let refreshed = TokenPair::from(ok_json(app.refresh(&pair.refresh).await).await);
    secrets.extend([refreshed.access.clone(), refreshed.refresh.clone()]);

    let image = database_image(&app).await;
    let contains = |needle: &[u8]| image.windows(needle.len()).any(|w| w == needle);
    assert!(
        contains(app.public_key.as_bytes()),
        "the scan reads the data"
    );
    for secret in &secrets {
        assert!(!contains(secret.as_bytes()), "a secret is stored in clear");
        if let Ok(raw) = hex::decode(secret) {
            assert!(!contains(&raw), "a secret is stored as raw bytes");
        }
    }
}
