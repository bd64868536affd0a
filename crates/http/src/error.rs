//! The two error shapes the documented API uses, and the mapping of every internal failure
//! onto them. Nothing here echoes a presented secret back.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shopkeeper_domain::grant::GrantError;
use shopkeeper_services::auth::{ClientAuthError, VerifyError};
use shopkeeper_services::oauth::TokenError;
use shopkeeper_store::StoreError;
use std::marker::PhantomData;

/// An error answer: its status, code, description and `WWW-Authenticate` challenge, written
/// in the body shape `S` of the API that answers.
#[derive(Debug)]
pub struct ApiError<S> {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    pub www_authenticate: Option<&'static str>,
    pub shape: PhantomData<S>,
}

/// How an API writes an error's code and description in its body.
pub trait ErrorShape {
    fn body(code: &str, description: &str) -> serde_json::Value;
}

/// The OAuth endpoints' flat error: `{"error", "error_description"}` (RFC 6749 §5.2).
#[derive(Debug)]
pub struct Flat;

impl ErrorShape for Flat {
    fn body(code: &str, description: &str) -> serde_json::Value {
        json!({"error": code, "error_description": description})
    }
}

/// The Shopper API's nested error: `{"errors": {"error": [{"relation", "code",
/// "description"}]}}`.
#[derive(Debug)]
pub struct Nested;

impl ErrorShape for Nested {
    fn body(code: &str, description: &str) -> serde_json::Value {
        json!({"errors": {"error": [{
            "relation": "https://developers.digitalriver.com/v1/shoppers",
            "code": code,
            "description": description,
        }]}})
    }
}

pub type OAuthError = ApiError<Flat>;
pub type ShopperApiError = ApiError<Nested>;

impl<S> ApiError<S> {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            www_authenticate: None,
            shape: PhantomData,
        }
    }
}

impl OAuthError {
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Basic realm=\"shopkeeper\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
        }
    }

    pub fn invalid_token(description: impl Into<String>) -> Self {
        Self {
            www_authenticate: Some("Bearer error=\"invalid_token\""),
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
        }
    }
}

impl<S: ErrorShape> IntoResponse for ApiError<S> {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(S::body(self.code, &self.description))).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(challenge) = self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl From<OAuthError> for ShopperApiError {
    fn from(e: OAuthError) -> Self {
        // Same status and meaning; the Shopper API spells its codes with dashes.
        let code = match e.code {
            "invalid_token" => "invalid_token",
            "invalid_client" => "invalid-api-key",
            "invalid_request" => "invalid-request",
            "temporarily_unavailable" => "service-unavailable",
            "server_error" => "server-error",
            other => other,
        };
        Self {
            status: e.status,
            code,
            description: e.description,
            www_authenticate: e.www_authenticate,
            shape: PhantomData,
        }
    }
}

impl From<StoreError> for OAuthError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(e) => {
                tracing::warn!(error = %e, "database unavailable");
                OAuthError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the service is temporarily unavailable, retry shortly",
                )
            }
            other => internal(other),
        }
    }
}

pub fn internal(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "internal error");
    OAuthError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        "internal error",
    )
}

impl From<ClientAuthError> for OAuthError {
    fn from(e: ClientAuthError) -> Self {
        match e {
            ClientAuthError::InvalidClient(d) => OAuthError::invalid_client(d),
            ClientAuthError::InvalidRequest(d) => OAuthError::invalid_request(d),
            ClientAuthError::Store(e) => e.into(),
        }
    }
}

impl From<VerifyError> for OAuthError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Invalid => {
                OAuthError::invalid_token("the access token is invalid, expired or revoked")
            }
            VerifyError::Store(e) => e.into(),
        }
    }
}

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::InvalidRequest(d) => OAuthError::invalid_request(d),
            GrantError::UnsupportedGrantType(d) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", d)
            }
            GrantError::InvalidGrant(d) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", d)
            }
            GrantError::DrLimitedTokenInvalid => OAuthError::new(
                StatusCode::BAD_REQUEST,
                "dr_limited_token_invalid",
                "dr_limited_token is not a valid limited access token of this site",
            ),
        }
    }
}

impl From<TokenError> for OAuthError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Grant(g) => g.into(),
            TokenError::UnauthorizedClient(d) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
            }
            TokenError::UnauthorizedClientOwned(d) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "unauthorized_client", d)
            }
            TokenError::InvalidClient(d) => OAuthError::invalid_client(d),
            TokenError::Store(s) => s.into(),
            TokenError::Internal(e) => internal(e),
            // Handlers answer this themselves, with Retry-After (see `limits`).
            TokenError::Throttled(_) => OAuthError::new(
                StatusCode::TOO_MANY_REQUESTS,
                TOO_MANY_REQUESTS,
                SIGN_IN_THROTTLED,
            ),
        }
    }
}

/// The 429 code of the OAuth shape (the Shopper API spells codes with dashes).
pub const TOO_MANY_REQUESTS: &str = "too_many_requests";
pub const RATE_LIMITED: &str = "too many requests; retry after the time in Retry-After";
pub const SIGN_IN_THROTTLED: &str =
    "too many failed sign-ins for this username or address; retry after the time in Retry-After";

/// The OpenAPI schema of [`OAuthError`]'s body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
pub struct OAuthErrorBody {
    /// RFC 6749 error code, e.g. `invalid_request`, `invalid_client`, `invalid_grant`.
    error: String,
    error_description: String,
}

/// The OpenAPI schema of [`ShopperApiError`]'s body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
pub struct ShopperApiErrorBody {
    errors: ShopperApiErrorList,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ShopperApiErrorList {
    error: Vec<ShopperApiErrorItem>,
}

#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ShopperApiErrorItem {
    relation: String,
    /// e.g. `invalid_token`, `invalid-api-key`, `missing-api-key`.
    code: String,
    description: String,
}
