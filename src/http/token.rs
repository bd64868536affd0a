//! `POST /oauth20/token` (and `/oauth20/token.json`).

use super::error::OAuthError;
use super::params::Params;
use crate::auth::PresentedClient;
use crate::domain::grant::parse_grant;
use crate::oauth;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

pub async fn token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("invalid"));
    let params = Params::parse(uri.query(), content_type, &body)
        .map_err(|e| OAuthError::invalid_request(e.0))?;
    let authorization = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| OAuthError::invalid_client("malformed Authorization header"))?,
        ),
    };
    let presented = PresentedClient::parse(
        authorization,
        params.get("client_id"),
        params.get("client_secret"),
    )?;
    // Parse the grant before touching the database: malformed requests cost nothing.
    let request = parse_grant(|name| params.get(name))?;
    let client = presented
        .authenticate(&state.store, &state.verifier)
        .await?;
    let response = oauth::exchange(&state, client, request, Some(peer.ip().to_string())).await?;
    Ok(token_json(response))
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
