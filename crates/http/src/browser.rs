//! What the browser-facing endpoints share: the session cookie (an opaque handle, never a
//! token), the sign-in form's CSRF token, and the security headers of our HTML pages.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use shopkeeper_domain::SecretHash;
use shopkeeper_domain::csrf::{self, CsrfVerdict, FormBrowser};
use shopkeeper_domain::secret::random_hex;
use shopkeeper_services::state::AppState;

/// Holds the handle of the browser's session (see `store::web`), on plain HTTP (local use).
pub const SESSION_COOKIE: &str = "shopkeeper_session";
/// The same over HTTPS, `__Host-` prefixed: a sibling subdomain cannot toss its own handle
/// into a shopper's browser and so fix the session the shopper then signs in on.
pub const SESSION_COOKIE_HTTPS: &str = "__Host-shopkeeper_session";
/// Holds the nonce the sign-in form's CSRF token is bound to, on plain HTTP (local use).
pub const CSRF_COOKIE: &str = "shopkeeper_csrf";
/// The same over HTTPS: browsers accept a `__Host-` cookie only from a secure origin, with
/// `Secure`, `Path=/` and no `Domain`, so neither a sibling subdomain nor a man in the middle
/// on plain HTTP can toss one in (login CSRF).
pub const CSRF_COOKIE_HTTPS: &str = "__Host-shopkeeper_csrf";

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
    let name = session_cookie_name(state);
    HeaderValue::from_str(&format!(
        "{name}={handle}; Path=/; Max-Age={max_age}; HttpOnly; {attributes}"
    ))
    .expect("hex and fixed text are valid header characters")
}

/// The session cookie's name: `__Host-` prefixed when served over HTTPS.
pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.web.https() {
        SESSION_COOKIE_HTTPS
    } else {
        SESSION_COOKIE
    }
}

/// The CSRF cookie's name: `__Host-` prefixed when served over HTTPS.
pub fn csrf_cookie_name(state: &AppState) -> &'static str {
    if state.web.https() {
        CSRF_COOKIE_HTTPS
    } else {
        CSRF_COOKIE
    }
}

/// `Set-Cookie` for the CSRF nonce: only ever needed by the sign-in form posting to itself.
/// Over HTTPS the `__Host-` prefix requires `Path=/` (and `Secure`, no `Domain`).
pub fn csrf_cookie(state: &AppState, nonce: &str) -> HeaderValue {
    let max_age = state.web.sign_in_form_ttl_seconds;
    let (path, secure) = if state.web.https() {
        ("/", "; Secure")
    } else {
        ("/oauth20/sign-in", "")
    };
    let name = csrf_cookie_name(state);
    HeaderValue::from_str(&format!(
        "{name}={nonce}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("hex and fixed text are valid header characters")
}

/// The form's CSRF token for the browser of `headers`, shown the form with the CSRF cookie
/// `nonce`: bound to the nonce, to the browser's session cookie if it has one, and to an
/// expiry (`domain::csrf`), under the server key.
pub fn csrf_token(state: &AppState, headers: &HeaderMap, nonce: &str) -> String {
    let handle = cookie(headers, session_cookie_name(state));
    let browser = FormBrowser {
        nonce,
        session_handle: handle.as_deref(),
    };
    let expires_at = state.clock.now() + state.web.sign_in_form_ttl_seconds;
    csrf::csrf_token(state.refresh_key.as_ref(), browser, expires_at)
}

/// Checks the posted CSRF token against the browser posting it (its cookies), now.
pub fn csrf_check(state: &AppState, headers: &HeaderMap, presented: Option<&str>) -> CsrfVerdict {
    let nonce = cookie(headers, csrf_cookie_name(state));
    let handle = cookie(headers, session_cookie_name(state));
    match (nonce, presented) {
        (Some(nonce), Some(presented)) => {
            let browser = FormBrowser {
                nonce: &nonce,
                session_handle: handle.as_deref(),
            };
            csrf::check_csrf_token(
                state.refresh_key.as_ref(),
                browser,
                presented,
                state.clock.now(),
            )
        }
        _ => CsrfVerdict::Mismatch,
    }
}

/// Headers of every HTML page we serve: no framing, no referrer (the URL carries OAuth
/// parameters), no caching, and a CSP that allows only the page's own nonce-tagged style.
/// There is no `form-action` directive on purpose: browsers apply it to the redirect that
/// follows the form post, which goes to the client's redirect URI.
pub fn secure_html(response: Response, style_nonce: &str) -> Response {
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{style_nonce}'; img-src 'self' data:; \
         base-uri 'none'; frame-ancestors 'none'"
    );
    html_security_headers(response, HeaderValue::from_str(&csp).expect("nonce is hex"))
}

/// The headers every HTML page shares (no framing, no referrer, no sniffing, no caching),
/// with the page's own Content-Security-Policy.
pub fn html_security_headers(mut response: Response, csp: HeaderValue) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
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
