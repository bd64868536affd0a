//! Refusals of the limits in `guard`, in each endpoint's documented error shape, with
//! `Retry-After` in whole seconds: 429 for the server's own defences, the documented 409 for
//! the Commerce API's per-key quota.

use super::error::{Code, OAuthError, ShopperApiError};
pub use super::error::{RATE_LIMITED, SIGN_IN_THROTTLED, TOO_MANY_REQUESTS};
use super::response_hook::ResponseHook;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_services::guard::RetryAfter;

/// The per-key quota refusal's own header: the quota, in requests per second.
pub const X_RATE_LIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");

fn with_retry_after(mut response: Response, wait: RetryAfter) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait.0));
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
        ShopperApiError::new(Code::RateLimitQuotaExceeded, description).into_response(),
        wait,
    )
}

/// The Commerce API's per-key quota (`--api-rate-per-key`, `limit` a second) used up: the
/// documented 409 `rate-limit-quota-exceeded` (`409-conflict.md`), in the nested shape, with
/// the wait and the quota.
pub fn api_quota_exceeded(wait: RetryAfter, limit: u32) -> ShopperApiError {
    let mut headers = HeaderMap::new();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(wait.0));
    headers.insert(X_RATE_LIMIT_LIMIT, HeaderValue::from(limit));
    ShopperApiError {
        headers: Some(Box::new(headers)),
        ..ShopperApiError::at_status(
            StatusCode::CONFLICT,
            Code::RateLimitQuotaExceeded,
            format!(
                "this API key exceeded its rate limit quota of {limit} requests per second; \
                 retry after the time in Retry-After"
            ),
        )
    }
}

/// Rewrites the bare 4xx answers produced below the handlers (axum's body-limit and
/// extractor rejections, the request timeout) into the documented error shape of the path:
/// flat under `/oauth20` (except the HTML pages), nested under `/v1` and `/store`. Answers
/// that already have a JSON or HTML body pass untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentedRejection {
    /// The Shopper API's nested error (`/v1/...`, `/store/...`).
    ShopperApi,
    /// The Admin API's error (its table's paths).
    Admin,
    /// The OAuth endpoints' flat error.
    OAuth,
    /// Pages and operations endpoints: left as they are.
    Untouched,
}

impl DocumentedRejection {
    pub fn for_path(path: &str) -> Self {
        if path.starts_with("/v1/shoppers/") || path.starts_with("/store/") {
            Self::ShopperApi
        } else if (path.starts_with("/oauth20/")
            && !matches!(path, "/oauth20/authorize" | "/oauth20/sign-in"))
            || path == "/auth"
        {
            Self::OAuth
        } else if shopkeeper_domain::admin_policy::is_admin_path(path) {
            Self::Admin
        } else if path.starts_with("/v1/") {
            Self::ShopperApi
        } else {
            Self::Untouched
        }
    }
}

impl ResponseHook for DocumentedRejection {
    fn from_request<B>(request: &mut axum::http::Request<B>) -> Self {
        Self::for_path(request.uri().path())
    }

    fn on_response(self, response: Response) -> Response {
        let status = response.status();
        if self == Self::Untouched || !status.is_client_error() {
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
        let mut rewritten = if self == Self::ShopperApi {
            ShopperApiError::at_status(status, Code::for_status(status), description)
                .into_response()
        } else if self == Self::Admin {
            let code = if status == StatusCode::NOT_FOUND {
                "resource-not-found"
            } else {
                "invalid-request"
            };
            super::admin_error::AdminError::new(status, code, None, description).into_response()
        } else {
            OAuthError::new(status, "invalid_request", description).into_response()
        };
        // Every value of every other header, in order: `Vary` from CORS, say, has several, and
        // dropping all but one would let a cache serve this answer to other origins.
        for name in response.headers().keys() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                rewritten.headers_mut().remove(name);
                for value in response.headers().get_all(name) {
                    rewritten.headers_mut().append(name, value.clone());
                }
            }
        }
        rewritten
    }
}

#[cfg(test)]
mod rejection_tests {
    use super::DocumentedRejection::{self, Admin, OAuth, ShopperApi, Untouched};
    use super::ResponseHook;
    use axum::http::{StatusCode, header};
    use axum::response::{IntoResponse, Response};

    #[test]
    fn each_path_family_has_its_error_shape() {
        for (path, shape) in [
            ("/v1/shoppers/me", ShopperApi),
            ("/store/demo/SessionToken", ShopperApi),
            ("/oauth20/token", OAuth),
            ("/auth", OAuth),
            ("/v1/orders/42/log", Admin),
            ("/v1/subscriptions/7", ShopperApi),
            ("/oauth20/access-tokens", OAuth),
            ("/oauth20/authorize", Untouched),
            ("/oauth20/sign-in", Untouched),
            ("/healthz", Untouched),
            ("/v1", Untouched),
        ] {
            assert_eq!(DocumentedRejection::for_path(path), shape, "{path}");
        }
    }

    fn bare(status: StatusCode) -> Response {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "nope",
        )
            .into_response()
    }

    #[test]
    fn bare_client_errors_take_the_shape_of_their_path_and_keep_other_headers() {
        let mut too_large = bare(StatusCode::PAYLOAD_TOO_LARGE);
        too_large
            .headers_mut()
            .insert("x-request-id", "abc".parse().unwrap());
        for vary in ["origin", "access-control-request-method"] {
            too_large
                .headers_mut()
                .append(header::VARY, vary.parse().unwrap());
        }
        let oauth = OAuth.on_response(too_large);
        assert_eq!(oauth.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(oauth.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(oauth.headers()["x-request-id"], "abc");
        let vary: Vec<_> = oauth.headers().get_all(header::VARY).iter().collect();
        assert_eq!(vary, ["origin", "access-control-request-method"]);

        let api = ShopperApi.on_response(bare(StatusCode::REQUEST_TIMEOUT));
        assert_eq!(api.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(api.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn shaped_answers_successes_and_untouched_paths_pass_as_they_are() {
        let json = (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            "{}",
        )
            .into_response();
        assert_eq!(
            OAuth.on_response(json).headers()[header::CONTENT_TYPE],
            "application/json"
        );
        let ok = bare(StatusCode::OK);
        assert!(
            OAuth.on_response(ok).headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        let page = Untouched.on_response(bare(StatusCode::PAYLOAD_TOO_LARGE));
        assert!(
            page.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
    }
}
