//! `POST /auth`: a Global Commerce user (the merchant's staff) signs in for the Admin API with
//! the confidential key, as `sending-api-calls.md` shows (`Authorization: Basic key:secret`,
//! form `grant_type=password`, `username`, `password`), and gets a bearer token for the routes
//! that need `/auth`. `DELETE /auth` with that token signs it out. Errors are the token
//! service's flat OAuth shape; credentials are read from the body only, never the query.

use super::client_auth::presented_client;
use super::error::OAuthError;
use super::limits;
use super::params::Params;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_services::auth::ClientAuthError;
use shopkeeper_services::oauth::password::typed_password;
use shopkeeper_services::staff::{self, StaffSignInError, StaffTokenResponse};
use shopkeeper_services::state::AppState;
use std::net::SocketAddr;

/// The form of `POST /auth`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: the handler reads the parameters itself
pub struct StaffAuthRequest {
    /// `password`.
    grant_type: String,
    username: String,
    /// As typed, or base64-encoded when the key sends passwords that way.
    password: String,
}

#[utoipa::path(
    post,
    path = "/auth",
    tag = "admin",
    description = "Signs a staff user in for the Admin API (`sending-api-calls.md`). Access: a \
                   confidential API key with Admin APIs permission (Basic `key:secret`).",
    request_body(content = StaffAuthRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A staff token", body = StaffTokenResponse),
        (status = 400, description = "Invalid request or credentials", body = super::error::OAuthErrorBody),
        (status = 401, description = "Client authentication failed", body = super::error::OAuthErrorBody),
        (status = 429, description = "Sign-in throttle; see Retry-After", body = super::error::OAuthErrorBody),
    ),
    security(("api_key_basic" = []))
)]
pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let address = state.guard.client_ip(peer.ip(), &headers);
    if let Err(wait) = state.guard.rate_check_address(address) {
        return Ok(limits::oauth_too_many(wait, limits::RATE_LIMITED));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("invalid"));
    let params =
        Params::parse(None, content_type, &body).map_err(|e| OAuthError::invalid_request(e.0))?;
    let presented = presented_client(&headers, &params)?;
    let client = presented
        .authenticate_admin(&state.store, state.clock.now_millis())
        .await
        .map_err(|e| match e {
            ClientAuthError::Store(s) => OAuthError::from(s),
            ClientAuthError::Forbidden(why) => {
                OAuthError::new(StatusCode::FORBIDDEN, "unauthorized_client", why)
            }
            _ => OAuthError::invalid_client(
                "authenticate with a confidential API key with Admin APIs permission and its \
                 secret",
            ),
        })?;
    match params.get("grant_type") {
        Some("password") => {}
        Some(_) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "/auth accepts grant_type=password",
            ));
        }
        None => return Err(OAuthError::invalid_request("grant_type is required")),
    }
    let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
        return Err(OAuthError::invalid_request(
            "username and password are required",
        ));
    };
    let Some(password) = typed_password(&client, password.to_owned()) else {
        return Err(OAuthError::invalid_request(
            "the password is not valid base64",
        ));
    };
    match staff::sign_in(&state, &client, username, password, address).await {
        Ok(token) => {
            let mut response = Json(token).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(response)
        }
        Err(StaffSignInError::Refused) => Err(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "the username or password is wrong",
        )),
        Err(StaffSignInError::Throttled(wait)) => {
            Ok(limits::oauth_too_many(wait, limits::SIGN_IN_THROTTLED))
        }
        Err(StaffSignInError::Internal(e)) => {
            tracing::error!(error = %e, "staff sign-in failed");
            Err(OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            ))
        }
    }
}

#[utoipa::path(
    delete,
    path = "/auth",
    tag = "admin",
    description = "Signs a staff token out. Access: the staff token (Bearer).",
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No live staff token", body = super::error::OAuthErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, OAuthError> {
    let token = super::admin::bearer_token(super::admin::authorization(&headers));
    let signed_out = match token {
        Some(token) => staff::sign_out(&state, token).await.map_err(|e| {
            tracing::error!(error = %e, "staff sign-out failed");
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error",
            )
        })?,
        None => false,
    };
    if signed_out {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(OAuthError::invalid_token(
            "no live staff token was presented",
        ))
    }
}
