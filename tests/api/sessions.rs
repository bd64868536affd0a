//! Sessions across grants: the limited→full upgrade, session tokens, refresh rotation with its
//! grace window, expiry, and ending a session.

use crate::helpers::*;
use serde_json::Value;
use shopkeeper::domain::SessionToken;

async fn session_id(app: &TestApp, token: &str) -> Value {
    ok_json(app.access_tokens(token).await).await["sessionId"].clone()
}

async fn assert_token_dead(app: &TestApp, token: &str) {
    let response = app.access_tokens(token).await;
    assert_eq!(
        response.headers()["www-authenticate"],
        "Bearer error=\"invalid_token\""
    );
    assert_oauth_error(response, 401, "invalid_token").await;
}

async fn sign_in_with(app: &TestApp, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut form = SHOPPER_GRANT.to_vec();
    form.extend_from_slice(extra);
    app.public_token(&form).await
}

#[tokio::test]
async fn upgrade_with_dr_limited_token_keeps_the_session_and_kills_the_limited_tokens() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await;
    let guest_session = session_id(&app, &guest.access).await;

    let full = TokenPair::from(
        ok_json(sign_in_with(&app, &[("dr_limited_token", &guest.access)]).await).await,
    );
    let info = ok_json(app.access_tokens(&full.access).await).await;
    assert_eq!(info["sessionId"], guest_session, "same session (and cart)");
    assert_eq!(info["authenticated"], "true");

    assert_token_dead(&app, &guest.access).await;
    assert_oauth_error(app.refresh(&guest.refresh).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_limited_bearer_on_the_password_grant_upgrades_like_dr_limited_token() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await;
    let guest_session = session_id(&app, &guest.access).await;
    let response = app
        .http
        .post(app.url("/oauth20/token"))
        .bearer_auth(&guest.access)
        .form(&SHOPPER_GRANT)
        .send()
        .await
        .unwrap();
    let full = TokenPair::from(ok_json(response).await);
    assert_eq!(session_id(&app, &full.access).await, guest_session);
    assert_token_dead(&app, &guest.access).await;
}

#[tokio::test]
async fn dr_limited_token_must_be_a_valid_limited_token() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await;
    for bad in [full.access.as_str(), "not-a-token", &"ab".repeat(32)] {
        assert_oauth_error(
            sign_in_with(&app, &[("dr_limited_token", bad)]).await,
            400,
            "dr_limited_token_invalid",
        )
        .await;
    }
}

#[tokio::test]
async fn session_token_joins_the_session_and_is_replaced_at_sign_in() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await;
    let guest_session = session_id(&app, &guest.access).await;
    // The SessionToken site action links a browser session; here the link is made directly.
    let session_token = SessionToken::generate();
    app.state
        .store
        .add_session_token(
            &shopkeeper::domain::SessionId::parse(guest_session.as_str().unwrap()).unwrap(),
            &session_token.hash(),
            app.now(),
        )
        .await
        .unwrap();

    let joined = TokenPair::from(
        ok_json(
            app.public_token(&[
                ("grant_type", "password"),
                ("dr_session_token", session_token.expose()),
            ])
            .await,
        )
        .await,
    );
    assert_eq!(session_id(&app, &joined.access).await, guest_session);
    // sessionToken is the other documented name of the same parameter.
    let joined_again = TokenPair::from(
        ok_json(
            app.public_token(&[
                ("grant_type", "password"),
                ("sessionToken", session_token.expose()),
            ])
            .await,
        )
        .await,
    );
    assert_eq!(session_id(&app, &joined_again.access).await, guest_session);

    let full = TokenPair::from(
        ok_json(sign_in_with(&app, &[("dr_session_token", session_token.expose())]).await).await,
    );
    assert_eq!(session_id(&app, &full.access).await, guest_session);
    // No fixation: everything issued for the session before the sign-in is dead.
    for old in [&guest.access, &joined.access, &joined_again.access] {
        assert_token_dead(&app, old).await;
    }
    assert_oauth_error(
        app.public_token(&[
            ("grant_type", "password"),
            ("dr_session_token", session_token.expose()),
        ])
        .await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn refresh_rotates_within_the_same_session() {
    let app = spawn_app().await;
    let first = app.shopper_pair().await;
    let session = session_id(&app, &first.access).await;
    let second = TokenPair::from(ok_json(app.refresh(&first.refresh).await).await);
    assert_ne!(second.access, first.access);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(second.expires_in, SITE_TTL);
    let info = ok_json(app.access_tokens(&second.access).await).await;
    assert_eq!(info["sessionId"], session);
    assert_eq!(info["authenticated"], "true", "refresh keeps the level");
    // The newest refresh token rotates in turn.
    ok_json(app.refresh(&second.refresh).await).await;
}

#[tokio::test]
async fn refresh_replay_inside_the_grace_window_returns_the_same_pair() {
    let app = spawn_app().await;
    let first = app.anonymous_pair().await;
    let a = TokenPair::from(ok_json(app.refresh(&first.refresh).await).await);
    let b = TokenPair::from(ok_json(app.refresh(&first.refresh).await).await);
    assert_eq!(a.access, b.access);
    assert_eq!(a.refresh, b.refresh);
    ok_json(app.access_tokens(&a.access).await).await;
}

/// Tokens issued in the older random 64-character form (stored under the plain SHA-256 of
/// their text) still check and refresh after time-ordered tokens were introduced.
#[tokio::test]
async fn tokens_issued_in_the_older_random_form_keep_working() {
    use shopkeeper::domain::{SecretHash, TokenValue};
    let app = spawn_app().await;
    let current = app.anonymous_pair().await;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let key = TokenValue::parse(&current.access).unwrap().hash();
    let (session_id, api_key, issued_at, expires_at): (String, String, i64, i64) = sqlx::query_as(
        "SELECT session_id, api_key, issued_at, expires_at FROM access_tokens \
             WHERE token_hash = $1",
    )
    .bind(key.as_bytes().to_vec())
    .fetch_one(&db)
    .await
    .unwrap();
    // What an earlier version stored: 256 random bits, keyed by SHA-256 of the text.
    let legacy_access = TokenValue::generate();
    let legacy_refresh = TokenValue::generate();
    assert_eq!(legacy_access.expose().len(), 64);
    for (table, token) in [
        ("access_tokens", &legacy_access),
        ("refresh_tokens", &legacy_refresh),
    ] {
        let expires = if table == "access_tokens" {
            expires_at
        } else {
            issued_at + 86_400
        };
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} (token_hash, session_id, api_key, full_access, issued_at, \
             expires_at) VALUES ($1, $2, $3, 0, $4, $5)"
        )))
        .bind(SecretHash::of(token.expose()).as_bytes().to_vec())
        .bind(session_id.as_str())
        .bind(api_key.as_str())
        .bind(issued_at)
        .bind(expires)
        .execute(&db)
        .await
        .unwrap();
    }

    let info = ok_json(app.access_tokens(legacy_access.expose()).await).await;
    assert_eq!(info["sessionId"], session_id.as_str());
    let next = TokenPair::from(ok_json(app.refresh(legacy_refresh.expose()).await).await);
    assert_eq!(next.access.len(), 80, "its successor is time-ordered");
    ok_json(app.access_tokens(&next.access).await).await;
    // A replay inside the grace window derives the very same successor again.
    let again = TokenPair::from(ok_json(app.refresh(legacy_refresh.expose()).await).await);
    assert_eq!(again.access, next.access);
    assert_eq!(again.refresh, next.refresh);
}

/// Refreshes that arrive together (and so tend to share a group-commit batch) are decided as
/// if one by one: a token presented several times rotates once and every presentation gets
/// that one pair; a token whose session has ended is refused; every other token rotates.
#[tokio::test]
async fn refreshes_arriving_together_are_decided_as_if_one_by_one() {
    let app = std::sync::Arc::new(spawn_app().await);
    let shared = app.anonymous_pair().await;
    let ended = app.anonymous_pair().await;
    let mut own = Vec::new();
    for _ in 0..6 {
        own.push(app.anonymous_pair().await);
    }
    ok_json(app.end_session(&ended.access).await).await;

    let mut presented = vec![shared.refresh.clone(); 6];
    presented.push(ended.refresh.clone());
    presented.extend(own.iter().map(|p| p.refresh.clone()));
    let tasks: Vec<_> = presented
        .into_iter()
        .map(|token| {
            let app = app.clone();
            tokio::spawn(async move {
                let r = app.refresh(&token).await;
                (r.status().as_u16(), r.text().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let pair = |(status, body): &(u16, String)| {
        assert_eq!(*status, 200, "{body}");
        TokenPair::from(serde_json::from_str::<Value>(body).unwrap())
    };
    let shared_answers: Vec<TokenPair> = answers[..6].iter().map(pair).collect();
    for p in &shared_answers {
        assert_eq!(p.access, shared_answers[0].access, "one rotation, one pair");
        assert_eq!(p.refresh, shared_answers[0].refresh);
    }
    assert_eq!(answers[6].0, 400, "the ended session's token is refused");
    let own_answers: Vec<TokenPair> = answers[7..].iter().map(pair).collect();
    let distinct: std::collections::HashSet<&str> =
        own_answers.iter().map(|p| p.access.as_str()).collect();
    assert_eq!(
        distinct.len(),
        own.len(),
        "every other token rotated on its own"
    );

    ok_json(app.access_tokens(&shared_answers[0].access).await).await;
    ok_json(app.refresh(&shared_answers[0].refresh).await).await;
    for p in &own_answers {
        ok_json(app.access_tokens(&p.access).await).await;
    }
    assert_oauth_error(app.refresh(&ended.refresh).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn refresh_replay_after_the_grace_window_revokes_the_session() {
    let app = spawn_app_with(|s| s.tokens.refresh_grace_seconds = 1).await;
    let first = app.anonymous_pair().await;
    let second = TokenPair::from(ok_json(app.refresh(&first.refresh).await).await);
    app.advance_clock(2).await;
    assert_oauth_error(app.refresh(&first.refresh).await, 400, "invalid_grant").await;
    // Theft assumed: the legitimate successor dies too.
    assert_token_dead(&app, &second.access).await;
    assert_oauth_error(app.refresh(&second.refresh).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn refresh_token_of_another_client_or_unknown_is_invalid_grant() {
    let app = spawn_app().await;
    let confidential = TokenPair::from(
        ok_json(
            app.confidential_token(&[("grant_type", "client_credentials")])
                .await,
        )
        .await,
    );
    assert_oauth_error(
        app.refresh(&confidential.refresh).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_oauth_error(app.refresh(&"0".repeat(64)).await, 400, "invalid_grant").await;
    assert_oauth_error(app.refresh("garbage").await, 400, "invalid_grant").await;
    assert_oauth_error(
        app.public_token(&[("grant_type", "refresh_token")]).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn access_tokens_expire_with_the_site_ttl_but_the_session_survives_refresh() {
    let app = spawn_app().await;
    app.state
        .store
        .set_site_session_ttl(
            &site_id(),
            shopkeeper::domain::SessionTtl::from_seconds(2).unwrap(),
        )
        .await
        .unwrap();
    let pair = app.anonymous_pair().await;
    assert_eq!(pair.expires_in, 2);
    // Expiry is kept in whole seconds, so a 2 s token lives between 1 and 2 s: long enough
    // for this first check even when the machine is busy (with 1 s it could be 1 ms).
    let session = session_id(&app, &pair.access).await;
    app.advance_clock(3).await;
    assert_token_dead(&app, &pair.access).await;
    let renewed = TokenPair::from(ok_json(app.refresh(&pair.refresh).await).await);
    assert_eq!(session_id(&app, &renewed.access).await, session);
}

#[tokio::test]
async fn delete_access_tokens_ends_the_session() {
    let app = spawn_app().await;
    let pair = app.shopper_pair().await;
    let other = TokenPair::from(ok_json(app.refresh(&pair.refresh).await).await);
    let info = ok_json(app.access_tokens(&other.access).await).await;
    let body = ok_json(app.end_session(&other.access).await).await;
    assert_eq!(body["sessionId"], info["sessionId"]);
    assert_eq!(body["authenticated"], "true");
    assert_token_dead(&app, &other.access).await;
    assert_oauth_error(app.refresh(&other.refresh).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn access_tokens_reports_the_documented_fields() {
    let app = spawn_app().await;
    let pair = app.anonymous_pair().await;
    let info = ok_json(
        app.get(&format!("/oauth20/access-tokens?token={}", pair.access))
            .await,
    )
    .await;
    for field in [
        "sessionId",
        "userId",
        "externalReferenceId",
        "authenticated",
        "locale",
        "currency",
        "cartId",
        "clientIpAddress",
        "expiresIn",
        "createdOn",
        "lastAccessed",
        "sessionTag",
    ] {
        assert!(info.get(field).is_some(), "missing {field}: {info}");
    }
    assert!(info["authenticated"].is_string());
    assert!(info["expiresIn"].is_i64());
    assert_eq!(info["clientIpAddress"], "127.0.0.1");
    assert!(info["createdOn"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn bearer_check_errors() {
    let app = spawn_app().await;
    let pair = app.anonymous_pair().await;
    let none = app.get("/oauth20/access-tokens").await;
    assert!(none.headers().contains_key("www-authenticate"));
    assert_oauth_error(none, 401, "invalid_token").await;
    assert_token_dead(&app, &"f".repeat(64)).await;
    assert_token_dead(&app, "short").await;
    let disagree = app
        .get_as(
            &pair.access,
            &format!("/oauth20/access-tokens?token={}", "a".repeat(64)),
        )
        .await;
    assert_oauth_error(disagree, 400, "invalid_request").await;
}

#[tokio::test]
async fn shoppers_token_with_an_api_key_gives_a_limited_token() {
    let app = spawn_app().await;
    let response = app
        .get(&format!("/v1/shoppers/token?apiKey={}", app.public_key))
        .await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let pair = TokenPair::from(ok_json(response).await);
    assert_eq!(pair.expires_in, SITE_TTL);
    let info = ok_json(app.access_tokens(&pair.access).await).await;
    assert_eq!(info["authenticated"], "false");

    for query in ["", "?apiKey=unknownkey", "?apiKey=%00"] {
        let response = app.get(&format!("/v1/shoppers/token{query}")).await;
        assert!(response.status().is_client_error(), "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["errors"]["error"][0]["code"].is_string(),
            "nested Shopper API error shape: {body}"
        );
    }
}
