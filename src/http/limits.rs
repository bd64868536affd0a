//! 429 answers for the defences in `guard`, in each endpoint's documented error shape, with
//! `Retry-After` in whole seconds.

use super::error::{OAuthError, ShopperApiError};
use crate::guard::RetryAfter;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The code both shapes use (the Shopper API spells codes with dashes).
pub const TOO_MANY_REQUESTS: &str = "too_many_requests";

fn with_retry_after(mut response: Response, wait: RetryAfter) -> Response {
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&wait.0.to_string()).expect("digits are a header value"),
    );
    response
}

/// The OAuth endpoints' flat error.
pub fn oauth_too_many(wait: RetryAfter, description: &str) -> Response {
    with_retry_after(
        OAuthError::new(
            StatusCode::TOO_MANY_REQUESTS,
            TOO_MANY_REQUESTS,
            description,
        )
        .into_response(),
        wait,
    )
}

/// The Shopper API's (and `SessionToken`'s) nested error.
pub fn shopper_api_too_many(wait: RetryAfter, description: &str) -> Response {
    with_retry_after(
        ShopperApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-requests",
            description,
        )
        .into_response(),
        wait,
    )
}

pub const RATE_LIMITED: &str = "too many requests; retry after the time in Retry-After";
pub const SIGN_IN_THROTTLED: &str =
    "too many failed sign-ins for this username or address; retry after the time in Retry-After";
