//! Carts on an API key alone (seed 003's "Access Carts with API Key Only"): a per-site option,
//! off by default (`shopkeeper site set-key-only-carts`). On a site that has it, the rows of
//! `access_policy::KEY_ONLY_CART` run without a token: each browser has an anonymous session of
//! its own, one per (key, cookie), created on its first request and found again by the cookie's
//! hash (`store::web`, `key_cart_handles`).
//!
//! The rules, in order (the `Limited` extractor asks [`principal`] only when no token is
//! presented and an API key is):
//! - the site's option off → nothing here: the documented 401 as before;
//! - JSONP (`callback=`) or a tunnelled method (`method=`) → 403: a `<script>` tag sends the
//!   cookie from any page and no `Origin`;
//! - an `Origin` that is not one of the key's registered origins (or none, or a key with none
//!   registered) → 403;
//! - the cookie, if it was issued for this key and its session is live, names the session;
//!   otherwise a new anonymous session and a new cookie.
//!
//! The session is limited and names no shopper: `apply-shopper`, `submit-cart` and
//! `web-checkout` are not key-only rows, so this path never acts for a shopper or spends.
//!
//! [`layer`] wraps each key-only path outside its CORS layer: it gives the extractor a slot for
//! the new cookie and the accepted origin, and answers credentialed CORS for exactly that
//! origin (a preflight, which cannot name its key, for the origin it asks for).

use super::browser;
use super::error::{Code, ShopperApiError};
use super::params::Params;
use axum::extract::{MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use shopkeeper_domain::authorize::normalise_origin;
use shopkeeper_domain::{ApiKey, SecretHash, SiteId, access_policy};
use shopkeeper_services::auth::{AccessLevel, Principal};
use shopkeeper_services::state::AppState;
use shopkeeper_store::NewSession;
use std::sync::{Arc, Mutex};

/// What the extractor tells [`layer`] about the answer: the cookie to set and the origin to
/// answer credentialed CORS to.
#[derive(Debug, Clone, Default)]
struct Slot(Arc<Mutex<SlotContent>>);

#[derive(Debug, Default)]
struct SlotContent {
    set_cookie: Option<HeaderValue>,
    origin: Option<HeaderValue>,
}

impl Slot {
    fn with<T>(&self, f: impl FnOnce(&mut SlotContent) -> T) -> T {
        f(&mut self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// The middleware of a key-only path (outside its CORS layer).
pub async fn layer(mut request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let slot = Slot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    let (set_cookie, accepted) = slot.with(|s| (s.set_cookie.take(), s.origin.take()));
    // A preflight carries no key (an `apiKey` header's value is not sent), so it allows a
    // well-formed origin to send credentials; the request itself is then refused unless its
    // Origin is one of its key's, and that refusal is answered `*`, unreadable with credentials.
    let credentialed = if preflight {
        origin.filter(|o| o.to_str().ok().and_then(normalise_origin).is_some())
    } else {
        accepted
    };
    let headers = response.headers_mut();
    if let Some(origin) = credentialed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    if let Some(cookie) = set_cookie {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

fn forbidden(description: &str) -> ShopperApiError {
    ShopperApiError::new(Code::Forbidden, description)
}

/// Whether the request is on a key-only row (and inside [`layer`]): only then is a request
/// without a token worth reading its key for. No I/O: every tokenless request asks this.
pub(crate) fn applies(parts: &Parts) -> bool {
    let pattern = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().trim_end_matches(".json"))
        .unwrap_or_default();
    parts.extensions.get::<Slot>().is_some()
        && access_policy::key_only_cart(parts.method.as_str(), pattern)
}

/// The principal of a request presenting `api_key` (of `site_id`) and no token on a key-only
/// row of a site that allows it; `None` where key-only carts do not apply (the caller answers
/// its 401).
pub(crate) async fn principal(
    parts: &Parts,
    state: &AppState,
    api_key: &ApiKey,
    site_id: &SiteId,
) -> Result<Option<Arc<Principal>>, ShopperApiError> {
    let Some(slot) = parts.extensions.get::<Slot>() else {
        return Ok(None);
    };
    if !state.store.site_key_only_carts(site_id).await? {
        return Ok(None);
    }
    let params = Params::from_query(parts.uri.query())
        .map_err(|e| ShopperApiError::new(Code::InvalidRequest, e.0))?;
    if params.get("callback").is_some() || params.get("method").is_some() {
        return Err(forbidden(
            "a cart on an API key alone answers no JSONP and no tunnelled method: send a real \
             request from one of the key's origins, or use an access token",
        ));
    }
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(normalise_origin);
    let allowed = state.store.allowed_origins(api_key).await?;
    let Some(origin) = origin.filter(|o| allowed.contains(o)) else {
        return Err(forbidden(
            "a cart on an API key alone is served only to pages of the key's registered origins",
        ));
    };
    let now = state.clock.now();
    let cookie_name = browser::key_cart_cookie_name(state);
    let known = match browser::cookie(&parts.headers, cookie_name) {
        Some(handle) => {
            let hash = SecretHash::of(&handle);
            state
                .store
                .key_cart_session(&hash, api_key)
                .await?
                .filter(|s| s.is_live(now) && &s.site_id == site_id)
                .map(|s| (hash, s))
        }
        None => None,
    };
    let (hash, session) = match known {
        Some(found) => found,
        None => {
            let site = state
                .store
                .site(site_id)
                .await?
                .ok_or_else(|| forbidden("the API key's site is gone"))?;
            let (handle, hash) = browser::new_handle();
            let id = state
                .store
                .start_key_cart_session(
                    NewSession {
                        site_id,
                        api_key: Some(api_key),
                        shopper_id: None,
                        locale: &site.locale,
                        currency: &site.currency,
                        client_ip: None,
                        created_at_millis: state.clock.now_millis(),
                    },
                    now,
                    now + site.session_ttl,
                    &hash,
                )
                .await?;
            let session = state.store.session(&id).await?.ok_or_else(|| {
                ShopperApiError::from(super::error::internal("new session vanished"))
            })?;
            let cookie = browser::key_cart_cookie(state, &handle, site.session_ttl);
            slot.with(|s| s.set_cookie = Some(cookie));
            (hash, session)
        }
    };
    if let Ok(origin) = HeaderValue::from_str(&origin) {
        slot.with(|s| s.origin = Some(origin));
    }
    Ok(Some(Arc::new(Principal {
        token_hash: hash,
        session_id: session.id,
        site_id: session.site_id,
        api_key: api_key.clone(),
        // Never a shopper's: a key-only session is anonymous and limited.
        shopper_id: None,
        level: AccessLevel::Limited,
        issued_at: session.created_at,
        expires_at: session.expires_at,
    })))
}
