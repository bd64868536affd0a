//! `POST /oauth20/introspect` (RFC 7662): lets a resource server ask what a token is.
//! Only a confidential key proving its secret may ask, and only about its own site's tokens:
//! anything else is `{"active": false}`, so the endpoint cannot be used to probe other sites.

use super::client_auth::ClientForm;
use super::error::{OAuthError, OAuthErrorBody};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shopkeeper_domain::{SessionId, TokenValue};
use shopkeeper_services::state::AppState;
use utoipa::ToSchema;

/// The form fields of an introspection request.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // documents the form; the handler reads the parameters itself
pub struct IntrospectionRequest {
    /// The access or refresh token.
    token: String,
    /// `access_token` or `refresh_token`; only a hint (both kinds are looked up).
    token_type_hint: Option<String>,
}

/// RFC 7662's answer. Inactive tokens carry `active: false` and nothing else.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Introspection {
    pub active: bool,
    /// The API key the token was issued to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `bearer` for access tokens, `refresh_token` for refresh tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// The shopper id for a full access token; `session:<id>` for a guest (limited) token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `limited` (guest) or `full` (signed-in shopper), seed 003's two token kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The shopper id when a shopper is signed in on the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shopper_id: Option<i64>,
}

fn access_level(full: bool) -> String {
    String::from(if full { "full" } else { "limited" })
}

fn subject(full: bool, shopper_id: Option<i64>, session_id: &SessionId) -> String {
    match (full, shopper_id) {
        (true, Some(id)) => id.to_string(),
        _ => format!("session:{session_id}"),
    }
}

#[utoipa::path(
    post,
    path = "/oauth20/introspect",
    tag = "oauth",
    description = "RFC 7662 token introspection. Access: a confidential API key with its secret \
                   (HTTP Basic). Tokens of other sites, unknown, expired or revoked tokens are \
                   `{\"active\": false}`.",
    request_body(content = IntrospectionRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state", body = Introspection),
        (status = 400, description = "Malformed request", body = OAuthErrorBody),
        (status = 401, description = "Missing or wrong client credentials, or a public key", body = OAuthErrorBody),
        (status = 503, description = "Database unavailable", body = OAuthErrorBody),
    ),
    security(("api_key_basic" = []))
)]
pub async fn introspect(
    State(state): State<AppState>,
    form: ClientForm,
) -> Result<Response, OAuthError> {
    if !form.client.secret_verified {
        return Err(OAuthError::invalid_client(
            "introspection requires a confidential API key and its secret",
        ));
    }
    let raw = form.token()?;
    let site = &form.client.record.site_id;
    let answer =
        match TokenValue::parse(raw) {
            None => Introspection::default(),
            Some(token) => {
                let hash = token.hash();
                let at = state.clock.now();
                let access = state
                    .store
                    .access_token(&hash)
                    .await?
                    .filter(|t| t.expires_at > at && &t.site_id == site);
                match access {
                    Some(t) => {
                        let full = t.full_access;
                        Introspection {
                            active: true,
                            client_id: Some(t.api_key.to_string()),
                            token_type: Some("bearer".into()),
                            exp: Some(t.expires_at),
                            iat: Some(t.issued_at),
                            sub: Some(subject(full, t.shopper_id, &t.session_id)),
                            access_level: Some(access_level(full)),
                            site_id: Some(t.site_id.to_string()),
                            session_id: Some(t.session_id.to_string()),
                            shopper_id: t.shopper_id,
                        }
                    }
                    None => match state.store.refresh_token(&hash).await?.filter(|r| {
                        r.consumed_at.is_none() && r.expires_at > at && &r.site_id == site
                    }) {
                        Some(r) => {
                            let full = r.full_access;
                            Introspection {
                                active: true,
                                client_id: Some(r.api_key.to_string()),
                                token_type: Some("refresh_token".into()),
                                exp: Some(r.expires_at),
                                iat: None,
                                sub: Some(subject(full, r.shopper_id, &r.session_id)),
                                access_level: Some(access_level(full)),
                                site_id: Some(r.site_id.to_string()),
                                session_id: Some(r.session_id.to_string()),
                                shopper_id: r.shopper_id,
                            }
                        }
                        None => Introspection::default(),
                    },
                }
            }
        };
    let mut response = Json(answer).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
