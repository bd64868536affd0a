//! What the browser-facing endpoints share: the session cookie (an opaque handle, never a
//! token), the sign-in form's CSRF token, and the security headers of our HTML pages.

use crate::domain::SecretHash;
use crate::domain::secret::random_hex;
use crate::state::AppState;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Holds the handle of the browser's session (see `store::web`).
pub const SESSION_COOKIE: &str = "shopkeeper_session";
/// Holds the nonce the sign-in form's CSRF token is derived from.
pub const CSRF_COOKIE: &str = "shopkeeper_csrf";

/// A cookie's value from the request, if present and of the shape we issue (64 hex).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A new random handle (256 bits) and the hash under which it is stored.
pub fn new_handle() -> (String, SecretHash) {
    let handle = random_hex(32);
    let hash = SecretHash::of(&handle);
    (handle, hash)
}

/// `Set-Cookie` for the session handle. Over HTTPS it is `SameSite=None; Secure`, so that
/// the documented cross-site JSONP call to `SessionToken` carries it; on plain HTTP (local
/// use) browsers refuse `SameSite=None` without `Secure`, so it is `Lax`.
pub fn session_cookie(state: &AppState, handle: &str, max_age: i64) -> HeaderValue {
    let attributes = if state.web.https() {
        "SameSite=None; Secure"
    } else {
        "SameSite=Lax"
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={handle}; Path=/; Max-Age={max_age}; HttpOnly; {attributes}"
    ))
    .expect("hex and fixed text are valid header characters")
}

/// `Set-Cookie` for the CSRF nonce: only ever needed by the sign-in form posting to itself.
pub fn csrf_cookie(state: &AppState, nonce: &str) -> HeaderValue {
    let secure = if state.web.https() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={nonce}; Path=/oauth20/sign-in; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("hex and fixed text are valid header characters")
}

/// The form's CSRF token: an HMAC of the cookie's nonce under the server key (signed double
/// submit), so a token cannot be forged without the key even by someone who can set cookies.
pub fn csrf_token(state: &AppState, nonce: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(state.refresh_key.as_ref()).expect("HMAC takes any key");
    mac.update(b"sign-in csrf\0");
    mac.update(nonce.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn csrf_ok(state: &AppState, nonce: Option<&str>, presented: Option<&str>) -> bool {
    match (nonce, presented) {
        (Some(nonce), Some(presented)) => csrf_token(state, nonce)
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into(),
        _ => false,
    }
}

/// Headers of every HTML page we serve: no framing, no referrer (the URL carries OAuth
/// parameters), no caching, and a CSP that allows only the page's own nonce-tagged style.
/// There is no `form-action` directive on purpose: browsers apply it to the redirect that
/// follows the form post, which goes to the client's redirect URI.
pub fn secure_html(mut response: Response, style_nonce: &str) -> Response {
    let headers = response.headers_mut();
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{style_nonce}'; img-src 'self' data:; \
         base-uri 'none'; frame-ancestors 'none'"
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_str(&csp).expect("nonce is hex"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
