//! What the browser-facing endpoints share: the session cookie (an opaque handle, never a
//! token), the sign-in form's CSRF token, and the security headers of our HTML pages.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use cookie::{Cookie, SameSite};
use shopkeeper_domain::SecretHash;
use shopkeeper_domain::csrf::{self, CsrfVerdict, FormBrowser};
use shopkeeper_domain::secret::random_hex;
use shopkeeper_services::state::AppState;
use time::Duration;

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

/// A cookie's value from the request, if present and of the shape we issue (64 hex). The
/// first pair of that name counts; a header that is not text, or a pair that does not parse,
/// is skipped.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
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
    set_cookie(&session_set_cookie(state.web.https(), handle, max_age))
}

fn session_set_cookie(https: bool, handle: &str, max_age: i64) -> Cookie<'_> {
    let same_site = if https { SameSite::None } else { SameSite::Lax };
    our_cookie(
        (session_name(https), handle),
        "/",
        same_site,
        https,
        max_age,
    )
}

/// Holds the handle of a browser's key-only cart session (`key_carts`), on plain HTTP.
pub const KEY_CART_COOKIE: &str = "shopkeeper_cart";
/// The same over HTTPS, `__Host-` prefixed (no sibling subdomain can set it).
pub const KEY_CART_COOKIE_HTTPS: &str = "__Host-shopkeeper_cart";

/// The key-only cart cookie's name: `__Host-` prefixed when served over HTTPS.
pub fn key_cart_cookie_name(state: &AppState) -> &'static str {
    [KEY_CART_COOKIE, KEY_CART_COOKIE_HTTPS][usize::from(state.web.https())]
}

/// `Set-Cookie` for a key-only cart handle. The storefront calls from its own site, so over
/// HTTPS it is `SameSite=None; Secure` (a `Lax` cookie is not sent on a cross-site `fetch`),
/// and `Partitioned` (CHIPS: kept per top-level site, so browsers that block third-party
/// cookies keep it, and it follows the browser nowhere else). What makes a cookie sent from
/// any page safe is `key_carts`: the key's origins only, no JSONP, nothing that spends. On
/// plain HTTP (local use) browsers refuse `SameSite=None` without `Secure`, so it is `Lax`.
pub fn key_cart_cookie(state: &AppState, handle: &str, max_age: i64) -> HeaderValue {
    set_cookie(&key_cart_set_cookie(state.web.https(), handle, max_age))
}

fn key_cart_set_cookie(https: bool, handle: &str, max_age: i64) -> Cookie<'_> {
    let name = [KEY_CART_COOKIE, KEY_CART_COOKIE_HTTPS][usize::from(https)];
    let same_site = if https { SameSite::None } else { SameSite::Lax };
    let mut cookie = our_cookie((name, handle), "/", same_site, https, max_age);
    cookie.set_partitioned(https);
    cookie
}

/// A cookie as we set them all: HttpOnly, a `Max-Age`, never a `Domain`, and `Secure` exactly
/// when served over HTTPS.
fn our_cookie<'a>(
    (name, value): (&'a str, &'a str),
    path: &'a str,
    same_site: SameSite,
    https: bool,
    max_age: i64,
) -> Cookie<'a> {
    Cookie::build((name, value))
        .path(path)
        .max_age(Duration::seconds(max_age))
        .http_only(true)
        .same_site(same_site)
        .secure(https)
        .build()
}

/// The `Set-Cookie` header of a cookie we built.
fn set_cookie(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string())
        .expect("hex and fixed text are valid header characters")
}

/// The session cookie's name: `__Host-` prefixed when served over HTTPS.
pub fn session_cookie_name(state: &AppState) -> &'static str {
    session_name(state.web.https())
}

/// The CSRF cookie's name: `__Host-` prefixed when served over HTTPS.
pub fn csrf_cookie_name(state: &AppState) -> &'static str {
    csrf_name(state.web.https())
}

// Both name pairs are indexed by `https`: the plain name, then the `__Host-` one.
fn session_name(https: bool) -> &'static str {
    [SESSION_COOKIE, SESSION_COOKIE_HTTPS][usize::from(https)]
}

fn csrf_name(https: bool) -> &'static str {
    [CSRF_COOKIE, CSRF_COOKIE_HTTPS][usize::from(https)]
}

/// `Set-Cookie` for the CSRF nonce: only ever needed by the sign-in form posting to itself.
/// Over HTTPS the `__Host-` prefix requires `Path=/` (and `Secure`, no `Domain`).
pub fn csrf_cookie(state: &AppState, nonce: &str) -> HeaderValue {
    set_cookie(&csrf_set_cookie(
        state.web.https(),
        nonce,
        state.web.sign_in_form_ttl_seconds,
    ))
}

fn csrf_set_cookie(https: bool, nonce: &str, max_age: i64) -> Cookie<'_> {
    let path = if https { "/" } else { "/oauth20/sign-in" };
    our_cookie(
        (csrf_name(https), nonce),
        path,
        SameSite::Strict,
        https,
        max_age,
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    const HANDLE: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::COOKIE, HeaderValue::from_bytes(v).unwrap());
        }
        headers
    }

    #[test]
    fn set_cookie_attributes_are_exact() {
        let cases = [
            (
                session_set_cookie(false, HANDLE, 600),
                format!("shopkeeper_session={HANDLE}; HttpOnly; SameSite=Lax; Path=/; Max-Age=600"),
            ),
            (
                session_set_cookie(true, HANDLE, 600),
                format!(
                    "__Host-shopkeeper_session={HANDLE}; HttpOnly; SameSite=None; Secure; \
                     Path=/; Max-Age=600"
                ),
            ),
            (
                key_cart_set_cookie(true, HANDLE, 600),
                format!(
                    "__Host-shopkeeper_cart={HANDLE}; HttpOnly; SameSite=None; Partitioned; \
                     Secure; Path=/; Max-Age=600"
                ),
            ),
            (
                key_cart_set_cookie(false, HANDLE, 600),
                format!("shopkeeper_cart={HANDLE}; HttpOnly; SameSite=Lax; Path=/; Max-Age=600"),
            ),
            (
                csrf_set_cookie(false, HANDLE, 3600),
                format!(
                    "shopkeeper_csrf={HANDLE}; HttpOnly; SameSite=Strict; \
                     Path=/oauth20/sign-in; Max-Age=3600"
                ),
            ),
            (
                csrf_set_cookie(true, HANDLE, 3600),
                format!(
                    "__Host-shopkeeper_csrf={HANDLE}; HttpOnly; SameSite=Strict; Secure; \
                     Path=/; Max-Age=3600"
                ),
            ),
        ];
        for (built, wanted) in cases {
            assert_eq!(set_cookie(&built), wanted.as_str());
            // What a browser reads back: no Domain, no Expires, and the same attributes.
            let parsed = Cookie::parse(wanted).unwrap();
            assert_eq!(parsed.name_value(), built.name_value());
            assert_eq!(
                parsed.secure().unwrap_or(false),
                built.secure() == Some(true)
            );
            assert_eq!(parsed.domain(), None);
            assert_eq!(parsed.expires(), None);
            assert_eq!(parsed.http_only(), Some(true));
            assert_eq!(parsed.max_age(), built.max_age());
            assert_eq!(parsed.same_site(), built.same_site());
            assert_eq!(parsed.path(), built.path());
        }
    }

    #[test]
    fn the_handle_is_read_from_any_cookie_header() {
        let ours = format!("shopkeeper_session={HANDLE}");
        for value in [
            ours.clone(),
            format!("a=1; {ours}; b=2"),
            format!("  {ours}  ;"),
            format!("x=\"quoted; y\";{ours}"),
        ] {
            let h = headers(&[value.as_bytes()]);
            assert_eq!(
                cookie(&h, SESSION_COOKIE).as_deref(),
                Some(HANDLE),
                "{value}"
            );
        }
        let two = headers(&[b"a=1", ours.as_bytes()]);
        assert_eq!(cookie(&two, SESSION_COOKIE).as_deref(), Some(HANDLE));
        // The name is exact: the prefixed and the plain cookie are two cookies.
        assert_eq!(cookie(&two, SESSION_COOKIE_HTTPS), None);
        // The first pair of the name counts, as browsers send the most specific first.
        let other = HANDLE.replace('0', "f");
        let both = headers(&[format!("{ours}; shopkeeper_session={other}").as_bytes()]);
        assert_eq!(cookie(&both, SESSION_COOKIE).as_deref(), Some(HANDLE));
    }

    #[test]
    fn a_malformed_cookie_header_yields_no_handle() {
        let short = &HANDLE[..63];
        let quoted = format!("\"{}\"", &HANDLE[..62]);
        let not_hex = HANDLE.replace('a', "g");
        let cases: Vec<Vec<u8>> = [
            String::new(),
            ";".into(),
            ";;;=;=".into(),
            "=".into(),
            format!("={HANDLE}"),
            "shopkeeper_session".into(),
            "shopkeeper_session=".into(),
            format!("shopkeeper_session={short}"),
            format!("shopkeeper_session={HANDLE}0"),
            format!("shopkeeper_session={quoted}"),
            format!("shopkeeper_session=\"{HANDLE}\""),
            format!("shopkeeper_session={not_hex}"),
            format!("shopkeeper_session={}", HANDLE.replacen('0', "%30", 1)),
            format!("Shopkeeper_Session={HANDLE}"),
            format!("shopkeeper_sessionx={HANDLE}"),
            // A first pair of the name that is not a handle hides a later one.
            format!("shopkeeper_session=x; shopkeeper_session={HANDLE}"),
        ]
        .into_iter()
        .map(String::into_bytes)
        .chain([
            // Header bytes that are not text.
            [b"shopkeeper_session=".as_slice(), &[0xff; 64]].concat(),
            [b"shopkeeper_session=\xc3\xa9".as_slice(), HANDLE.as_bytes()].concat(),
        ])
        .collect();
        for value in &cases {
            let h = headers(&[value.as_slice()]);
            assert_eq!(
                cookie(&h, SESSION_COOKIE),
                None,
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        assert_eq!(cookie(&HeaderMap::new(), SESSION_COOKIE), None);
    }
}
