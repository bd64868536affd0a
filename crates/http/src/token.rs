//! `POST /oauth20/token` (and `/oauth20/token.json`).

use super::client_auth::{form_params, presented_client};
use super::error::OAuthError;
use super::limits;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_domain::grant::parse_grant;
use shopkeeper_services::auth::PresentedClient;
use shopkeeper_services::oauth::{self, TokenError};
use shopkeeper_services::state::AppState;
use std::net::SocketAddr;

/// The grants the token endpoint runs.
#[derive(utoipa::ToSchema)]
#[allow(dead_code, non_camel_case_types)] // documentation only, spelled as on the wire
pub enum GrantTypeName {
    password,
    client_credentials,
    refresh_token,
}

/// The form fields of a token request (which apply depends on `grant_type`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: the handler reads the parameters itself
pub struct TokenRequest {
    grant_type: GrantTypeName,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    dr_external_reference_id: Option<String>,
    dr_session_token: Option<String>,
    dr_limited_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[utoipa::path(
    post,
    path = "/oauth20/token",
    tag = "oauth",
    description = "Issues token pairs: `password` (anonymous or a shopper), `client_credentials` \
                   (confidential key with secret, optionally `dr_external_reference_id`), \
                   `refresh_token`. Access: API key (Basic `key:` or `key:secret`, or \
                   `client_id`), or a bearer access token naming its key.",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A token pair", body = shopkeeper_services::oauth::TokenResponse),
        (status = 400, description = "Invalid request or grant", body = super::error::OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = super::error::OAuthErrorBody),
        (status = 429, description = "Rate limit or sign-in throttle; see Retry-After", body = super::error::OAuthErrorBody),
        (status = 503, description = "Database unavailable", body = super::error::OAuthErrorBody),
    ),
    security((), ("api_key_basic" = []), ("bearer" = []))
)]
pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let address = state.guard.client_ip(peer.ip(), &headers);
    if let Err(wait) = state.guard.rate_check_address(address) {
        return Ok(limits::oauth_too_many(wait, limits::RATE_LIMITED));
    }
    let params = form_params(&headers, &uri, &body)?;
    let presented = presented_client(&headers, &params)?;
    // Parse the grant before touching the database: malformed requests cost nothing.
    let request = parse_grant(|name| params.get(name))?;
    // Limit by the key named before any database work; a bearer names its key only once
    // verified.
    let key_named = match &presented {
        PresentedClient::Basic { key, .. } | PresentedClient::Params { key, .. } => {
            if let Err(wait) = state.guard.rate_check_key(key.as_str()) {
                return Ok(limits::oauth_too_many(wait, limits::RATE_LIMITED));
            }
            true
        }
        _ => false,
    };
    let client = presented
        .authenticate(&state.store, &state.verifier)
        .await?;
    if !key_named {
        if let Err(wait) = state.guard.rate_check_key(client.record.api_key.as_str()) {
            return Ok(limits::oauth_too_many(wait, limits::RATE_LIMITED));
        }
    }
    match oauth::exchange(&state, client, request, Some(address.to_string())).await {
        Ok(response) => Ok(token_json(response)),
        Err(TokenError::Throttled(wait)) => {
            Ok(limits::oauth_too_many(wait, limits::SIGN_IN_THROTTLED))
        }
        Err(e) => Err(e.into()),
    }
}

/// A token body with `Cache-Control: no-store` (RFC 6749 §5.1), as every token answer has.
pub fn token_json(response: oauth::TokenResponse) -> Response {
    let mut r = Json(response).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

pub async fn method_not_allowed() -> OAuthError {
    OAuthError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "method not allowed",
    )
}
