//! `POST /oauth20/revoke` (RFC 7009). Revoking an access token ends that token only; revoking
//! a refresh token ends its session (every token of it), as a sign-out should. Unknown tokens
//! and tokens of another API key get the same 200 and change nothing: the answer reveals
//! nothing about tokens the caller does not hold.

use super::client_auth::ClientForm;
use super::error::{OAuthError, OAuthErrorBody};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shopkeeper_domain::{ApiKey, TokenValue};
use shopkeeper_services::state::AppState;
use utoipa::ToSchema;

/// The form fields of a revocation request.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // documents the form; the handler reads the parameters itself
pub struct RevocationRequest {
    /// The access or refresh token to revoke.
    token: String,
    /// `access_token` or `refresh_token`: which to look up first (both are tried).
    token_type_hint: Option<String>,
}

#[utoipa::path(
    post,
    path = "/oauth20/revoke",
    tag = "oauth",
    description = "RFC 7009 token revocation. Access: any API key the token was issued to \
                   (public: `Basic base64(key:)` or `client_id`; confidential: with its secret). \
                   A refresh token ends its whole session.",
    request_body(content = RevocationRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "Malformed request", body = OAuthErrorBody),
        (status = 401, description = "Missing or wrong client credentials", body = OAuthErrorBody),
        (status = 503, description = "Database unavailable", body = OAuthErrorBody),
    ),
    security(("api_key_basic" = []))
)]
pub async fn revoke(
    State(state): State<AppState>,
    form: ClientForm,
) -> Result<Response, OAuthError> {
    let raw = form.token()?;
    if let Some(token) = TokenValue::parse(raw) {
        let refresh_first = form.params.get("token_type_hint") == Some("refresh_token");
        let key = &form.client.record.api_key;
        let revoked = if refresh_first {
            match revoke_refresh(&state, &token, key).await? {
                true => true,
                false => revoke_access(&state, &token, key).await?,
            }
        } else {
            match revoke_access(&state, &token, key).await? {
                true => true,
                false => revoke_refresh(&state, &token, key).await?,
            }
        };
        tracing::debug!(revoked, "revocation request");
    }
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// True if `token` was an access token of this key (now revoked).
async fn revoke_access(
    state: &AppState,
    token: &TokenValue,
    api_key: &ApiKey,
) -> Result<bool, OAuthError> {
    let hash = token.hash();
    match state.store.access_token(&hash).await? {
        Some(t) if &t.api_key == api_key => {
            let revoked = state.store.revoke_access_token(&hash).await?;
            state.verifier.forget(&revoked);
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// True if `token` was a refresh token of this key: its session is ended.
async fn revoke_refresh(
    state: &AppState,
    token: &TokenValue,
    api_key: &ApiKey,
) -> Result<bool, OAuthError> {
    match state.store.refresh_token(&token.hash()).await? {
        Some(r) if &r.api_key == api_key => {
            let revoked = state
                .store
                .end_session(&r.session_id, state.clock.now())
                .await?;
            state.verifier.forget(&revoked);
            Ok(true)
        }
        _ => Ok(false),
    }
}
