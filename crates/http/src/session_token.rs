//! `GET /store/{siteId}/SessionToken`: the site action that ties a browser to a session.
//! Without `apiKey` it answers `{"session_token": …}` for the browser's session (found by the
//! session cookie, created on first call); with `apiKey` it answers a limited token in that
//! session at once. `callback=NAME` wraps either answer as JSONP (seed 002's jQuery calls).

use super::browser;
use super::error::{Code, OAuthError, ShopperApiError};
use super::limits;
use super::params::Params;
use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use shopkeeper_domain::authorize::valid_jsonp_callback;
use shopkeeper_domain::{ApiKey, SessionToken, SiteId};
use shopkeeper_services::instruments::{self, TokenFlow};
use shopkeeper_services::oauth;
use shopkeeper_services::state::AppState;
use shopkeeper_store::{NewSession, SessionRecord, SiteRecord};
use std::net::SocketAddr;

fn store_error(e: impl Into<OAuthError>) -> ShopperApiError {
    ShopperApiError::from(e.into())
}

/// `GET /store/{siteId}/SessionToken`: the session-aware token site action (seeds 000/002).
#[utoipa::path(
    get,
    path = "/store/{site_id}/SessionToken",
    tag = "oauth",
    params(("site_id" = String, Path, description = "The site id")),
    description = "The browser's session token (`{\"session_token\"}`), or with `apiKey` a \
                   limited token for the browser's session; `callback=NAME` answers JSONP. \
                   Access: none (the browser's session cookie), or an API key.",
    responses(
        (status = 200, description = "JSON, or JSONP with `callback`"),
        (status = 400, description = "Bad parameter or callback name", body = super::error::ShopperApiErrorBody),
        (status = 401, description = "Unknown API key", body = super::error::ShopperApiErrorBody),
        (status = 403, description = "The API key does not allow this page's origin", body = super::error::ShopperApiErrorBody),
        (status = 404, description = "Unknown site", body = super::error::ShopperApiErrorBody),
        (status = 429, description = "Rate limited", body = super::error::ShopperApiErrorBody),
        (status = 503, description = "Database unavailable", body = super::error::ShopperApiErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(site_id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ShopperApiError> {
    let address = state.guard.client_ip(peer.ip(), &headers);
    if let Err(wait) = state.guard.rate_check_address(address) {
        return Ok(limits::shopper_api_too_many(wait, limits::RATE_LIMITED));
    }
    let params = Params::from_query(uri.query())
        .map_err(|e| ShopperApiError::new(Code::InvalidRequest, e.0))?;
    if let Some(key) = params.get("apiKey") {
        if let Err(wait) = state.guard.rate_check_key(key) {
            return Ok(limits::shopper_api_too_many(wait, limits::RATE_LIMITED));
        }
    }
    let callback = match params.get("callback") {
        None => None,
        Some(name) if valid_jsonp_callback(name) => Some(name.to_owned()),
        Some(_) => {
            return Err(ShopperApiError::new(
                Code::InvalidRequest,
                "callback must be a JavaScript identifier or dotted path",
            ));
        }
    };
    let not_found = || ShopperApiError::new(Code::ResourceNotFound, "no such site");
    let site_id = SiteId::parse(&site_id).map_err(|_| not_found())?;
    let site = state
        .store
        .site(&site_id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)?;
    // Check the key before creating anything for the browser.
    let client = match params.get("apiKey") {
        None => None,
        Some(raw) => {
            let invalid = || ShopperApiError::new(Code::InvalidClient, "invalid apiKey");
            let key = ApiKey::parse(raw).ok_or_else(invalid)?;
            Some(
                state
                    .store
                    .client(&key, state.clock.now_millis())
                    .await
                    .map_err(store_error)?
                    .filter(|c| !c.disabled && c.site_id == site.id)
                    .ok_or_else(invalid)?,
            )
        }
    };
    // A key with allowed origins answers only pages of those origins (Origin, or Referer for
    // a JSONP script tag): another site cannot mint tokens for a shopper's browser session.
    if let Some(client) = &client {
        let allowed = state
            .store
            .allowed_origins(&client.api_key)
            .await
            .map_err(store_error)?;
        let header = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        if !shopkeeper_domain::authorize::origin_allowed(
            &allowed,
            header(header::ORIGIN),
            header(header::REFERER),
        ) {
            return Err(ShopperApiError::new(
                Code::Forbidden,
                "this API key may not be used from this origin",
            ));
        }
    }
    let client_ip = Some(address.to_string());
    let (session, new_handle) = browser_session(&state, &site, &headers, client_ip.clone()).await?;

    let body: Value = match client {
        Some(client) => {
            let token = oauth::issue_anonymous(
                &state,
                &client,
                Some((session.id.clone(), session.shopper_id)),
                client_ip,
            )
            .await
            .map_err(store_error)?;
            instruments::token_issued(TokenFlow::SessionTokenAction, &client.api_key);
            serde_json::to_value(token).map_err(|e| store_error(super::error::internal(e)))?
        }
        None => {
            let token = SessionToken::generate();
            state
                .store
                .add_session_token(&session.id, &token.hash(), state.clock.now())
                .await
                .map_err(store_error)?;
            json!({ "session_token": token.expose() })
        }
    };

    let mut response = match callback {
        None => Json(body).into_response(),
        Some(name) => {
            let script = super::formats::jsonp_script(&name, body.to_string().as_bytes());
            let mut r = script.into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/javascript; charset=utf-8"),
            );
            r
        }
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(handle) = new_handle {
        h.insert(
            header::SET_COOKIE,
            browser::session_cookie(&state, &handle, state.tokens.refresh_ttl_seconds),
        );
    }
    Ok(response)
}

/// The browser's live session on this site, or a new one (with a new handle to set).
async fn browser_session(
    state: &AppState,
    site: &SiteRecord,
    headers: &HeaderMap,
    client_ip: Option<String>,
) -> Result<(SessionRecord, Option<String>), ShopperApiError> {
    let at = state.clock.now();
    if let Some(handle) = browser::cookie(headers, browser::session_cookie_name(state)) {
        let hash = shopkeeper_domain::SecretHash::of(&handle);
        if let Some(session) = state
            .store
            .browser_session(&hash, &site.id)
            .await
            .map_err(store_error)?
            .filter(|s| s.is_live(at))
        {
            return Ok((session, None));
        }
    }
    let (handle, hash) = browser::new_handle();
    // A session no key has used yet: it lives for the site's user-session TTL, and is
    // extended like any other once tokens are issued in it.
    let id = state
        .store
        .start_tokenless_session(
            NewSession {
                site_id: &site.id,
                api_key: None,
                shopper_id: None,
                locale: &site.locale,
                currency: &site.currency,
                client_ip,
                created_at_millis: state.clock.now_millis(),
            },
            at,
            at + site.session_ttl,
            Some(&hash),
        )
        .await
        .map_err(store_error)?;
    let session = state
        .store
        .session(&id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| store_error(super::error::internal("new session vanished")))?;
    Ok((session, Some(handle)))
}
