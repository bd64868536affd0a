//! RFC 8414 metadata, RFC 7662 introspection, RFC 7009 revocation.
use crate::helpers::*;
use reqwest::Response;
use serde_json::Value;
use shopkeeper::domain::SessionTtl;

impl TestApp {
    async fn introspect_as(&self, key: &str, secret: Option<&str>, token: &str) -> Response {
        self.http
            .post(self.url("/oauth20/introspect"))
            .basic_auth(key, secret)
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
    }

    async fn introspect(&self, token: &str) -> Value {
        ok_json(
            self.introspect_as(
                &self.confidential_key,
                Some(&self.confidential_secret),
                token,
            )
            .await,
        )
        .await
    }

    async fn revoke_as(&self, key: &str, secret: Option<&str>, form: &[(&str, &str)]) {
        let r = self
            .http
            .post(self.url("/oauth20/revoke"))
            .basic_auth(key, secret)
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
    }

    async fn revoke(&self, form: &[(&str, &str)]) {
        self.revoke_as(&self.public_key, None, form).await
    }
}

#[tokio::test]
async fn metadata_names_the_endpoints_and_capabilities() {
    let app = spawn_app().await;
    let r = app.get("/.well-known/oauth-authorization-server").await;
    let m = ok_json(r).await;
    let issuer = m["issuer"].as_str().unwrap();
    assert_eq!(issuer, app.address);
    assert_eq!(m["token_endpoint"], format!("{issuer}/oauth20/token"));
    assert_eq!(
        m["introspection_endpoint"],
        format!("{issuer}/oauth20/introspect")
    );
    assert_eq!(m["revocation_endpoint"], format!("{issuer}/oauth20/revoke"));
    assert_eq!(
        m["authorization_endpoint"],
        format!("{issuer}/oauth20/authorize")
    );
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let grants = m["grant_types_supported"].as_array().unwrap();
    for g in ["password", "client_credentials", "refresh_token"] {
        assert!(grants.contains(&Value::from(g)), "{g} missing: {m}");
    }
    assert!(
        m["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("client_secret_basic"))
    );
}

#[tokio::test]
async fn configured_issuer_is_advertised() {
    let app = spawn_app_with(|s| s.web.public_url = Some("https://auth.example.com/".into())).await;
    let m = ok_json(app.get("/.well-known/oauth-authorization-server").await).await;
    assert_eq!(m["issuer"], "https://auth.example.com");
    assert_eq!(
        m["token_endpoint"],
        "https://auth.example.com/oauth20/token"
    );
}

#[tokio::test]
async fn introspection_describes_active_limited_and_full_tokens() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await;
    let i = app.introspect(&guest.access).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], app.public_key.as_str());
    assert_eq!(i["token_type"], "bearer");
    assert_eq!(i["access_level"], "limited");
    assert_eq!(i["site_id"], SITE);
    assert_eq!(
        i["exp"].as_i64().unwrap() - i["iat"].as_i64().unwrap(),
        SITE_TTL
    );
    let session = i["session_id"].as_str().unwrap();
    assert_eq!(i["sub"], format!("session:{session}"));

    let shopper = app.shopper_pair().await;
    let i = app.introspect(&shopper.access).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["access_level"], "full");
    assert_eq!(i["sub"], app.shopper_id.to_string());

    let r = app.introspect(&shopper.refresh).await;
    assert_eq!(r["active"], true);
    assert_eq!(r["token_type"], "refresh_token");

    for junk in ["not-a-token", &"0".repeat(64)] {
        assert_eq!(
            app.introspect(junk).await,
            serde_json::json!({"active": false})
        );
    }
}

#[tokio::test]
async fn introspection_reports_expired_tokens_inactive() {
    let app = spawn_app().await;
    app.state
        .store
        .set_site_session_ttl(&site_id(), SessionTtl::from_seconds(1).unwrap())
        .await
        .unwrap();
    let pair = app.anonymous_pair().await;
    assert_eq!(pair.expires_in, 1);
    app.advance_clock(2).await;
    assert_eq!(app.introspect(&pair.access).await["active"], false);
}

#[tokio::test]
async fn introspection_reports_revoked_tokens_inactive() {
    let app = spawn_app().await;
    let pair = app.anonymous_pair().await;
    app.revoke(&[("token", &pair.access)]).await;
    assert_eq!(app.introspect(&pair.access).await["active"], false);
}

#[tokio::test]
async fn introspection_requires_a_confidential_key_with_its_secret() {
    let app = spawn_app().await;
    let pair = app.anonymous_pair().await;
    let r = app.introspect_as(&app.public_key, None, &pair.access).await;
    assert_oauth_error(r, 401, "invalid_client").await;
    let r = app
        .introspect_as(&app.confidential_key, None, &pair.access)
        .await;
    assert_oauth_error(r, 401, "invalid_client").await;
    let r = app
        .introspect_as(&app.confidential_key, Some("wrong"), &pair.access)
        .await;
    assert_oauth_error(r, 401, "invalid_client").await;
    // A bearer token is not client authentication here.
    let r = app
        .http
        .post(app.url("/oauth20/introspect"))
        .bearer_auth(&pair.access)
        .form(&[("token", pair.access.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(r, 401, "invalid_client").await;
    let r = app
        .http
        .post(app.url("/oauth20/introspect"))
        .basic_auth(&app.confidential_key, Some(&app.confidential_secret))
        .form(&[("nottoken", "x")])
        .send()
        .await
        .unwrap();
    assert_oauth_error(r, 400, "invalid_request").await;
}

#[tokio::test]
async fn revoking_an_access_token_ends_only_that_token() {
    let app = spawn_app().await;
    let pair = app.anonymous_pair().await;
    app.revoke(&[("token", &pair.access), ("token_type_hint", "access_token")])
        .await;
    assert_eq!(app.access_tokens(&pair.access).await.status(), 401);
    // The session lives on: its refresh token still works.
    let next = TokenPair::from(ok_json(app.refresh(&pair.refresh).await).await);
    assert_eq!(app.access_tokens(&next.access).await.status(), 200);
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session() {
    let app = spawn_app().await;
    let pair = app.shopper_pair().await;
    // A wrong hint is only a hint.
    app.revoke(&[
        ("token", &pair.refresh),
        ("token_type_hint", "access_token"),
    ])
    .await;
    assert_eq!(app.access_tokens(&pair.access).await.status(), 401);
    assert_oauth_error(app.refresh(&pair.refresh).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn revoking_with_a_confidential_key_and_refresh_hint() {
    let app = spawn_app().await;
    let body = ok_json(
        app.confidential_token(&[("grant_type", "client_credentials")])
            .await,
    )
    .await;
    let pair = TokenPair::from(body);
    app.revoke_as(
        &app.confidential_key,
        Some(&app.confidential_secret),
        &[
            ("token", &pair.refresh),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(app.access_tokens(&pair.access).await.status(), 401);
}

#[tokio::test]
async fn revoking_unknown_or_foreign_tokens_answers_200_and_changes_nothing() {
    let app = spawn_app().await;
    app.revoke(&[("token", &"a".repeat(64))]).await;
    app.revoke(&[("token", "garbage")]).await;
    // Another key's token: 200, but the token keeps working.
    let pair = app.anonymous_pair().await;
    app.revoke_as(
        &app.confidential_key,
        Some(&app.confidential_secret),
        &[("token", &pair.access)],
    )
    .await;
    assert_eq!(app.access_tokens(&pair.access).await.status(), 200);
    // No client authentication at all is refused.
    let r = app
        .http
        .post(app.url("/oauth20/revoke"))
        .form(&[("token", pair.access.as_str())])
        .send()
        .await
        .unwrap();
    assert_oauth_error(r, 401, "invalid_client").await;
}
