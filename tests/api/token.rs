//! POST /oauth20/token: every grant, its errors, and the request forms existing clients send.

use crate::helpers::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

#[tokio::test]
async fn anonymous_password_grant_gives_a_limited_token_with_the_site_ttl() {
    let app = spawn_app().await;
    let response = app.public_token(&[("grant_type", "password")]).await;
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "token answers are never cached"
    );
    let body = ok_json(response).await;
    assert!(body["expires_in"].is_i64(), "expires_in is an integer");
    let pair = TokenPair::from(body);
    assert_eq!(pair.expires_in, SITE_TTL);
    // Long lowercase hex like the real API's tokens: an 8-byte issue-time prefix and 256
    // random bits.
    assert_eq!(pair.access.len(), 80);
    assert!(
        pair.access
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let info = app.session_of(&pair.access).await;
    assert_eq!(info["authenticated"], "false");
    assert_eq!(info["userId"], "Anonymous");
    // The session counts down in real time from the token's own `expires_in`; on a loaded CI
    // host seconds pass between the grant and this check.
    let remaining = info["expiresIn"].as_i64().expect("expiresIn is an integer");
    assert!(
        (SITE_TTL - 60..=SITE_TTL).contains(&remaining),
        "the session lives for the site's TTL from the grant: {remaining}"
    );
}

#[tokio::test]
async fn anonymous_credentials_are_a_guest_too() {
    let app = spawn_app().await;
    let pair = TokenPair::from(ok_json(app.password_grant("anonymous", "anonymous").await).await);
    assert_eq!(app.session_of(&pair.access).await["authenticated"], "false");
}

#[tokio::test]
async fn each_anonymous_grant_starts_its_own_session() {
    let app = spawn_app().await;
    let a = app.anonymous_pair().await;
    let b = app.anonymous_pair().await;
    assert_ne!(
        app.session_of(&a.access).await["sessionId"],
        app.session_of(&b.access).await["sessionId"]
    );
}

#[tokio::test]
async fn password_grant_with_credentials_gives_a_full_token() {
    let app = spawn_app().await;
    let pair = app.shopper_pair().await;
    assert_eq!(pair.expires_in, SITE_TTL);
    let info = app.session_of(&pair.access).await;
    assert_eq!(info["authenticated"], "true");
    assert_eq!(info["userId"], app.shopper_id.to_string());
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_invalid_grant() {
    let app = spawn_app().await;
    let wrong = assert_oauth_error(
        app.password_grant(SHOPPER_USERNAME, "not the password")
            .await,
        400,
        "invalid_grant",
    )
    .await;
    let unknown = assert_oauth_error(
        app.password_grant("nobody@example.com", "whatever").await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(wrong, unknown, "no hint which of the two was wrong");
}

#[tokio::test]
async fn half_credentials_are_invalid_requests() {
    let app = spawn_app().await;
    assert_oauth_error(
        app.public_token(&[("grant_type", "password"), ("username", "x")])
            .await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn client_credentials_for_a_confidential_key() {
    let app = spawn_app().await;
    let pair = TokenPair::from(
        ok_json(
            app.confidential_token(&[("grant_type", "client_credentials")])
                .await,
        )
        .await,
    );
    assert_eq!(app.session_of(&pair.access).await["authenticated"], "false");
}

#[tokio::test]
async fn client_credentials_with_a_public_key_is_unauthorized_client() {
    let app = spawn_app().await;
    assert_oauth_error(
        app.public_token(&[("grant_type", "client_credentials")])
            .await,
        400,
        "unauthorized_client",
    )
    .await;
}

#[tokio::test]
async fn confidential_key_without_its_correct_secret_is_invalid_client() {
    let app = spawn_app().await;
    for secret in [None, Some("wrong-secret")] {
        let response = app
            .http
            .post(app.url("/oauth20/token"))
            .basic_auth(&app.confidential_key, secret)
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap();
        assert!(response.headers().contains_key("www-authenticate"));
        assert_oauth_error(response, 401, "invalid_client").await;
    }
}

#[tokio::test]
async fn unknown_or_missing_client_is_invalid_client() {
    let app = spawn_app().await;
    let unknown = app
        .http
        .post(app.url("/oauth20/token"))
        .basic_auth("0000000000000000", None::<&str>)
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(unknown, 401, "invalid_client").await;
    let missing = app
        .http
        .post(app.url("/oauth20/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(missing, 401, "invalid_client").await;
}

#[tokio::test]
async fn disabled_client_is_refused() {
    let app = spawn_app().await;
    app.state
        .store
        .disable_client(&app.public_api_key(), app.now())
        .await
        .unwrap();
    assert_oauth_error(
        app.public_token(&[("grant_type", "password")]).await,
        401,
        "invalid_client",
    )
    .await;
}

#[tokio::test]
async fn disabling_a_key_ends_its_live_tokens_at_once() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await;
    let shopper = app.shopper_pair().await;
    let other_key = TokenPair::from(
        ok_json(
            app.confidential_token(&[("grant_type", "client_credentials")])
                .await,
        )
        .await,
    );
    for token in [&guest.access, &shopper.access, &other_key.access] {
        assert_eq!(app.access_tokens(token).await.status(), 200);
    }
    let revoked = app
        .state
        .store
        .disable_client(&app.public_api_key(), app.now())
        .await
        .unwrap();
    assert_eq!(
        revoked.len(),
        2,
        "both access tokens of the key were deleted"
    );
    for token in [&guest.access, &shopper.access] {
        assert_eq!(
            app.access_tokens(token).await.status(),
            401,
            "a disabled key's token answers nothing, though it was checked (cached) before"
        );
    }
    assert_eq!(
        app.access_tokens(&other_key.access).await.status(),
        200,
        "another key's tokens are untouched"
    );
    // Enabling the key again does not bring its old tokens back.
    app.state
        .store
        .enable_client(&app.public_api_key())
        .await
        .unwrap();
    assert_eq!(app.access_tokens(&shopper.access).await.status(), 401);
    assert_oauth_error(app.refresh(&shopper.refresh).await, 400, "invalid_grant").await;
    ok_json(app.public_token(&[("grant_type", "password")]).await).await;
}

/// The operator's command, run as its own process beside the running server (as on a real
/// installation): the server stops accepting the key's tokens within its one-second client
/// cache, on either engine.
#[tokio::test]
async fn client_disable_from_the_command_line_ends_a_running_servers_tokens() {
    let app = spawn_app().await;
    let shopper = app.shopper_pair().await;
    assert_eq!(app.access_tokens(&shopper.access).await.status(), 200);
    let (ok, out) = crate::multinode::cli(
        &app.database_url,
        &["client", "disable", "--api-key", &app.public_key],
        None,
    )
    .await;
    assert!(ok, "{out}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while app.access_tokens(&shopper.access).await.status() != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "the running server still accepts a disabled key's token"
        );
        app.advance_clock(1).await;
    }
}

#[tokio::test]
async fn external_reference_id_gives_a_full_token_for_that_shopper() {
    let app = spawn_app().await;
    let pair = app.external_shopper_pair().await;
    let info = app.session_of(&pair.access).await;
    assert_eq!(info["authenticated"], "true");
    assert_eq!(info["userId"], app.external_shopper_id.to_string());
    assert_eq!(info["externalReferenceId"], EXTERNAL_REFERENCE);

    assert_oauth_error(
        app.confidential_token(&[
            ("grant_type", "client_credentials"),
            ("dr_external_reference_id", "no-such-shopper"),
        ])
        .await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn public_key_in_every_documented_form() {
    let app = spawn_app().await;
    let url = app.url("/oauth20/token");
    let basic = |raw: &str| format!("Basic {}", STANDARD.encode(raw));
    for auth in [
        Some(basic(&format!("{}:", app.public_key))),
        Some(basic(&app.public_key)),
        None,
    ] {
        let mut request = app.http.post(&url);
        let mut form = vec![("grant_type", "password".to_owned())];
        match auth {
            Some(header) => request = request.header("authorization", header),
            None => form.push(("client_id", app.public_key.clone())),
        }
        ok_json(request.form(&form).send().await.unwrap()).await;
    }
}

#[tokio::test]
async fn grant_type_in_the_query_and_json_bodies_are_accepted() {
    let app = spawn_app().await;
    // Seed 004: grant_type in the query string, nothing in the body.
    let response = app
        .http
        .post(app.url("/oauth20/token?grant_type=password"))
        .basic_auth(&app.public_key, None::<&str>)
        .send()
        .await
        .unwrap();
    ok_json(response).await;
    // Seed 002: a JSON body, with unknown extras that must be ignored.
    let response = app
        .http
        .post(app.url("/oauth20/token.json"))
        .basic_auth(&app.public_key, None::<&str>)
        .json(&serde_json::json!({"grant_type": "password", "format": "json", "ts": 1}))
        .send()
        .await
        .unwrap();
    ok_json(response).await;
}

#[tokio::test]
async fn repeated_or_conflicting_parameters_are_invalid_requests() {
    let app = spawn_app().await;
    let twice = app
        .http
        .post(app.url("/oauth20/token"))
        .basic_auth(&app.public_key, None::<&str>)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=password&grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_oauth_error(twice, 400, "invalid_request").await;
    let conflicting = app
        .http
        .post(app.url("/oauth20/token?grant_type=password"))
        .basic_auth(&app.public_key, None::<&str>)
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(conflicting, 400, "invalid_request").await;
}

#[tokio::test]
async fn malformed_bodies_are_invalid_requests_not_server_errors() {
    let app = spawn_app().await;
    for (content_type, body) in [
        ("application/json", "{\"grant_type\": "),
        ("application/json", "[\"password\"]"),
        ("text/xml", "<grant/>"),
        ("application/x-www-form-urlencoded", "grant_type=%FF%FE"),
    ] {
        let response = app
            .http
            .post(app.url("/oauth20/token"))
            .basic_auth(&app.public_key, None::<&str>)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_oauth_error(response, 400, "invalid_request").await;
    }
}

#[tokio::test]
async fn missing_and_unsupported_grant_types() {
    let app = spawn_app().await;
    assert_oauth_error(
        app.public_token(&[("scope", "x")]).await,
        400,
        "invalid_request",
    )
    .await;
    assert_oauth_error(
        app.public_token(&[("grant_type", "urn:example:magic")])
            .await,
        400,
        "unsupported_grant_type",
    )
    .await;
}

#[tokio::test]
async fn other_methods_get_405_and_preflight_is_answered() {
    let app = spawn_app().await;
    let get = app.get("/oauth20/token").await;
    assert_eq!(get.status(), 405);
    let preflight = app
        .http
        .request(reqwest::Method::OPTIONS, app.url("/oauth20/token"))
        .header("origin", "https://shop.example.com")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let methods = preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(methods.contains("POST"), "{methods}");
}

#[tokio::test]
async fn password_base64_is_a_per_client_setting() {
    let app = spawn_app().await;
    let encoded = STANDARD.encode(SHOPPER_PASSWORD);
    let grant = [
        ("grant_type", "password"),
        ("username", SHOPPER_USERNAME),
        ("password", encoded.as_str()),
    ];
    // Off by default: the encoded text is not the password.
    assert_oauth_error(app.public_token(&grant).await, 400, "invalid_grant").await;
    app.state
        .store
        .set_client_password_base64(&app.public_api_key(), true)
        .await
        .unwrap();
    ok_json(app.public_token(&grant).await).await;
}

/// The token cache answers checks from memory only for `token_cache_ttl_seconds`: a token
/// revoked behind this node's back (another node that died before announcing it) stops working
/// once that time has passed.
#[tokio::test]
async fn a_cached_token_is_checked_against_the_database_again_after_the_cache_ttl() {
    use sqlx::Connection;
    // Long enough that a slow host never reaches it by itself; the test clock crosses it.
    let ttl = 60;
    let app = spawn_app_with(|s| s.tokens.token_cache_ttl_seconds = ttl).await;
    let pair = app.anonymous_pair().await;
    assert_eq!(app.access_tokens(&pair.access).await.status(), 200);

    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let deleted = sqlx::query("DELETE FROM access_tokens")
        .execute(&mut db)
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 1);
    db.close().await.unwrap();

    // Still answered from memory: the row is gone, so only the cache can say yes.
    assert_eq!(app.access_tokens(&pair.access).await.status(), 200);

    app.advance_clock(ttl - 5).await;
    assert_eq!(
        app.access_tokens(&pair.access).await.status(),
        200,
        "within the cache TTL"
    );
    app.advance_clock(6).await;
    assert_eq!(
        app.access_tokens(&pair.access).await.status(),
        401,
        "the revoked token is refused once the cache TTL has passed"
    );
}

/// Grants that arrive together are written together (one transaction, multi-row INSERTs):
/// every one of them must still get its own session and pair, stored and readable.
#[tokio::test]
async fn a_burst_of_anonymous_grants_stores_every_session_and_pair() {
    let app = spawn_app().await;
    let burst = 150;
    let mut grants = tokio::task::JoinSet::new();
    for _ in 0..burst {
        let request = app.public_token_request(&[("grant_type", "password")]);
        grants.spawn(async move { TokenPair::from(ok_json(request.send().await.unwrap()).await) });
    }
    let pairs: Vec<TokenPair> = grants.join_all().await;

    let counts = app.state.store.table_counts().await.unwrap();
    assert_eq!(
        (counts.sessions, counts.access_tokens, counts.refresh_tokens),
        (burst, burst, burst)
    );
    let mut sessions = std::collections::HashSet::new();
    for pair in &pairs {
        let token = shopkeeper::domain::TokenValue::parse(&pair.access).unwrap();
        // The store, not the check cache: the row itself.
        let row = app
            .state
            .store
            .access_token(&token.hash())
            .await
            .unwrap()
            .expect("every issued access token has its row");
        assert_eq!(row.api_key.as_str(), app.public_key);
        assert!(
            sessions.insert(row.session_id),
            "each grant has its own session"
        );
    }
    // A refresh token of the burst works (its row is there too).
    let refreshed = app.refresh(&pairs[burst as usize / 2].refresh).await;
    assert_eq!(refreshed.status(), 200);
}

/// New sessions and refresh rotations arriving together share batches: the new sessions are
/// written first, the rotations after them one by one. Every refresh must still rotate its
/// own session and every new session be stored.
#[tokio::test]
async fn refreshes_amid_a_burst_of_new_sessions_each_rotate_their_own_session() {
    let app = spawn_app().await;
    let mut earlier = Vec::new();
    for _ in 0..60 {
        earlier.push(app.anonymous_pair().await);
    }
    let mut requests = tokio::task::JoinSet::new();
    for i in 0..300 {
        let refreshing = earlier.get(i / 5).filter(|_| i % 5 == 0);
        let form: Vec<(&str, String)> = match refreshing {
            Some(pair) => vec![
                ("grant_type", "refresh_token".into()),
                ("refresh_token", pair.refresh.clone()),
            ],
            None => vec![("grant_type", "password".into())],
        };
        let request = app.public_token_request(&form);
        let refreshed = refreshing.is_some();
        requests.spawn(async move {
            let pair = TokenPair::from(ok_json(request.send().await.unwrap()).await);
            (i, refreshed, pair)
        });
    }
    let answers = requests.join_all().await;

    let store = &app.state.store;
    let session_of = |token: String| async move {
        let hash = shopkeeper::domain::TokenValue::parse(&token)
            .unwrap()
            .hash();
        store
            .access_token(&hash)
            .await
            .unwrap()
            .expect("stored")
            .session_id
    };
    let mut new_sessions = std::collections::HashSet::new();
    for (i, refreshed, pair) in answers {
        let session = session_of(pair.access).await;
        if refreshed {
            let before = session_of(earlier[i / 5].access.clone()).await;
            assert_eq!(session, before, "a refresh keeps its session");
        } else {
            assert!(
                new_sessions.insert(session),
                "each new grant has its own session"
            );
        }
    }
    assert_eq!(new_sessions.len(), 240);
    let counts = store.table_counts().await.unwrap();
    assert_eq!(counts.sessions, 60 + 240);
}

/// RFC 6749 §2.3.1: client credentials never travel in the URL (logs, proxies, history).
#[tokio::test]
async fn a_client_secret_in_the_query_string_is_refused() {
    let app = spawn_app().await;
    let url = format!(
        "{}?grant_type=client_credentials&client_id={}&client_secret={}",
        app.url("/oauth20/token"),
        app.confidential_key,
        app.confidential_secret
    );
    let response = app.http.post(url).send().await.unwrap();
    let body = assert_oauth_error(response, 400, "invalid_request").await;
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("client_secret")),
        "{body}"
    );
    // The same credentials in the body (and in Basic) still work.
    let in_body = app
        .http
        .post(app.url("/oauth20/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app.confidential_key.as_str()),
            ("client_secret", app.confidential_secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    ok_json(in_body).await;
    ok_json(
        app.confidential_token(&[("grant_type", "client_credentials")])
            .await,
    )
    .await;
}
