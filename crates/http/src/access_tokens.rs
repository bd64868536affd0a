//! `GET`/`DELETE /oauth20/access-tokens`: what a token's session is, and ending it.

use super::error::OAuthError;
use super::principal::Bearer;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shopkeeper_domain::time::iso8601;
use shopkeeper_services::auth::AccessLevel;
use shopkeeper_services::state::AppState;

/// The documented fields, in the documented spelling and types (`authenticated` is a string).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    session_id: String,
    user_id: String,
    external_reference_id: Option<String>,
    #[schema(value_type = String, example = "false")]
    authenticated: &'static str,
    locale: String,
    currency: String,
    cart_id: String,
    client_ip_address: Option<String>,
    expires_in: i64,
    created_on: String,
    last_accessed: String,
    session_tag: String,
}

async fn session_info(state: &AppState, bearer: &Bearer) -> Result<SessionInfo, OAuthError> {
    let p = &bearer.0;
    let session = state
        .store
        .session_snapshot(&p.session_id, state.clock.now_millis())
        .await?
        .filter(|s| s.ended_at.is_none())
        .ok_or_else(|| OAuthError::invalid_token("the session has ended"))?;
    let full = p.level == AccessLevel::Full;
    Ok(SessionInfo {
        session_id: session.id.to_string(),
        user_id: match (full, session.shopper_id) {
            (true, Some(id)) => id.to_string(),
            _ => "Anonymous".to_owned(),
        },
        external_reference_id: session.external_reference_id.clone().filter(|_| full),
        authenticated: if full { "true" } else { "false" },
        locale: session.locale.clone(),
        currency: session.currency.clone(),
        cart_id: session.cart_id.clone(),
        client_ip_address: session.client_ip.clone(),
        expires_in: p.seconds_left(state.clock.now()),
        created_on: iso8601(session.created_at),
        last_accessed: iso8601(session.last_accessed),
        session_tag: session.session_tag.clone(),
    })
}

fn no_store(info: SessionInfo) -> Response {
    let mut r = Json(info).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[utoipa::path(
    get,
    path = "/oauth20/access-tokens",
    tag = "oauth",
    description = "The session behind an access token. Access: any access token (limited or \
                   full), as `Authorization: Bearer` or `?token=`.",
    params(("token" = Option<String>, Query, description = "The access token, if not in the header")),
    responses(
        (status = 200, description = "The token's session", body = SessionInfo),
        (status = 400, description = "Malformed request", body = super::error::OAuthErrorBody),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = super::error::OAuthErrorBody),
        (status = 503, description = "Database unavailable", body = super::error::OAuthErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn get(State(state): State<AppState>, bearer: Bearer) -> Result<Response, OAuthError> {
    Ok(no_store(session_info(&state, &bearer).await?))
}

/// Ends the session: every access and refresh token of it stops working at once.
#[utoipa::path(
    delete,
    path = "/oauth20/access-tokens",
    tag = "oauth",
    description = "Ends the token's session (sign-out): every token of it stops working. \
                   Access: any access token.",
    params(("token" = Option<String>, Query, description = "The access token, if not in the header")),
    responses(
        (status = 200, description = "The ended session", body = SessionInfo),
        (status = 400, description = "Malformed request", body = super::error::OAuthErrorBody),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = super::error::OAuthErrorBody),
        (status = 503, description = "Database unavailable", body = super::error::OAuthErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn delete(State(state): State<AppState>, bearer: Bearer) -> Result<Response, OAuthError> {
    let info = session_info(&state, &bearer).await?;
    let revoked = state
        .store
        .end_session(&bearer.0.session_id, state.clock.now())
        .await?;
    state.verifier.forget(&revoked);
    Ok(no_store(info))
}
