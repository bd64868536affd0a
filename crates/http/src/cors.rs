//! CORS as the Commerce API documents it (`cors-support.md`): any origin, the route's own
//! methods, the headers the client asks for, and every `OPTIONS` answered. The docs pair
//! `Allow-Origin: *` with `Allow-Credentials: true`, which browsers refuse; bearer tokens need
//! no credentials mode, so none is offered and cookies are never readable cross-origin.

use axum::http::{HeaderName, Method};
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

/// The CORS layer of one path served with `methods` (`OPTIONS` is added).
pub fn for_methods(methods: &[Method]) -> CorsLayer {
    let mut allowed: Vec<Method> = methods.to_vec();
    if !allowed.contains(&Method::OPTIONS) {
        allowed.push(Method::OPTIONS);
    }
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(allowed)
        // Echoes `Access-Control-Request-Headers`: `Authorization` cannot be covered by `*`,
        // and storefronts send `Accept-Language`, `X-Requested-With` and their own headers.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("retry-after"),
            HeaderName::from_static("location"),
        ])
}

/// The method a served `(method, path)` row names.
pub fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("the access table names valid methods")
}
