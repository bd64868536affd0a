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

/// Rewrites the bare 4xx answers produced below the handlers (axum's body-limit and
/// extractor rejections, the request timeout) into the documented error shape of the path:
/// flat under `/oauth20` (except the HTML pages), nested under `/v1` and `/store`. Answers
/// that already have a JSON or HTML body pass untouched.
pub async fn documented_rejections(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error() {
        return response;
    }
    let bare = match response.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => v.as_bytes().starts_with(b"text/plain"),
    };
    if !bare {
        return response;
    }
    let description = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_owned(),
        StatusCode::REQUEST_TIMEOUT => "the request took too long".to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported content type".to_owned(),
        other => format!(
            "the request was refused: {}",
            other.canonical_reason().unwrap_or("client error")
        ),
    };
    let rewritten = if path.starts_with("/v1/") || path.starts_with("/store/") {
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "request-too-large",
            StatusCode::REQUEST_TIMEOUT => "request-timeout",
            _ => "invalid-request",
        };
        ShopperApiError::new(status, code, description).into_response()
    } else if path.starts_with("/oauth20/")
        && !matches!(path.as_str(), "/oauth20/authorize" | "/oauth20/sign-in")
    {
        OAuthError::new(status, "invalid_request", description).into_response()
    } else {
        return response;
    };
    let mut rewritten = rewritten;
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}
