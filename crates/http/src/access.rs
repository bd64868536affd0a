//! The access levels of `domain::access_policy`, as extractors: a handler's signature says
//! which level it needs (`TokenOptional`, `Limited` or `Full`), and the extractor enforces it
//! on top of the one bearer check (`presented_token` + `TokenVerifier`).
//!
//! Answers: no usable credential, or a presented token that is invalid, expired, revoked or
//! of another site than the presented API key → 401 `invalid_token` with a `Bearer`
//! challenge; a limited token where a full one is needed → 403 `forbidden` (with an `insufficient_scope` Bearer challenge).
//!
//! Once the caller's API key is known (the token's, or the one presented alone), the request
//! counts against that key's quota (`--api-rate-per-key`), once per request whichever levels
//! read it: beyond the quota → the documented 409 `rate-limit-quota-exceeded`
//! (`limits::api_quota_exceeded`).

use super::error::{Code, OAuthError, ShopperApiError};
use super::limits;
use super::params::Params;
use super::principal::presented_token;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use shopkeeper_domain::{ApiKey, SiteId};
use shopkeeper_services::auth::client::PresentedClient;
use shopkeeper_services::auth::{AccessLevel, Principal};
use shopkeeper_services::state::AppState;
use std::sync::Arc;

/// Who calls a token-optional route.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A valid access token (limited or full).
    Token(Arc<Principal>),
    /// An API key alone.
    ApiKey { api_key: ApiKey, site_id: SiteId },
}

impl Caller {
    pub fn site_id(&self) -> &SiteId {
        match self {
            Caller::Token(p) => &p.site_id,
            Caller::ApiKey { site_id, .. } => site_id,
        }
    }

    pub fn api_key(&self) -> &ApiKey {
        match self {
            Caller::Token(p) => &p.api_key,
            Caller::ApiKey { api_key, .. } => api_key,
        }
    }
}

/// Token-optional level: an API key alone or any valid token.
#[derive(Debug, Clone)]
pub struct TokenOptional(pub Caller);

/// Limited level: any valid access token.
#[derive(Debug, Clone)]
pub struct Limited(pub Arc<Principal>);

/// Full level: a signed-in shopper's access token.
#[derive(Debug, Clone)]
pub struct Full(pub Arc<Principal>);

impl Full {
    pub fn shopper_id(&self) -> i64 {
        self.0
            .shopper_id
            .expect("a full access token always names its shopper")
    }
}

fn unauthorized(description: &str) -> ShopperApiError {
    ShopperApiError::from(OAuthError::invalid_token(description))
}

pub fn insufficient_scope(description: impl Into<String>) -> ShopperApiError {
    ShopperApiError {
        www_authenticate: Some("Bearer error=\"insufficient_scope\""),
        ..ShopperApiError::new(Code::Forbidden, description)
    }
}

/// Marks a request already counted against its key's quota: a second access extractor on
/// the same request (`Full` reads `Limited`; a handler could name two) must not count it again.
#[derive(Debug, Clone, Copy)]
struct CountedAgainstQuota;

/// One request of `api_key` against the Commerce API's per-key quota, counted once per request.
fn count_against_quota(
    parts: &mut Parts,
    state: &AppState,
    api_key: &ApiKey,
) -> Result<(), ShopperApiError> {
    if parts.extensions.insert(CountedAgainstQuota).is_some() {
        return Ok(());
    }
    state
        .guard
        .api_quota_check(api_key.as_str())
        .map_err(|wait| limits::api_quota_exceeded(wait, state.guard.api_rate_per_key()))
}

/// The API key a request presents: `?apiKey=`, an `apiKey` header or `Basic key[:secret]`
/// (a confidential key's secret, when given, must be right).
async fn presented_api_key(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<(ApiKey, SiteId)>, ShopperApiError> {
    let params = Params::from_query(parts.uri.query())
        .map_err(|e| ShopperApiError::new(Code::InvalidRequest, e.0))?;
    let from_header = parts.headers.get("apiKey").and_then(|v| v.to_str().ok());
    let key = match (params.get("apiKey"), from_header) {
        (Some(q), Some(h)) if q != h => {
            return Err(ShopperApiError::new(
                Code::InvalidRequest,
                "the apiKey parameter and header disagree",
            ));
        }
        (q, h) => q.or(h),
    };
    let basic = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            v.trim()
                .get(..6)
                .is_some_and(|s| s.eq_ignore_ascii_case("basic "))
        });
    if key.is_none() && basic.is_none() {
        return Ok(None);
    }
    let presented = PresentedClient::parse(basic, key, None)
        .map_err(|_| unauthorized("the API key is invalid"))?;
    let client = presented
        .authenticate(&state.store, &state.verifier)
        .await
        .map_err(|e| match e {
            shopkeeper_services::auth::ClientAuthError::Store(s) => {
                ShopperApiError::from(OAuthError::from(s))
            }
            _ => unauthorized("the API key is invalid or disabled"),
        })?;
    Ok(Some((
        client.record.api_key.clone(),
        client.record.site_id.clone(),
    )))
}

/// The verified token, if one is presented; an API key presented beside it must be of the
/// token's site.
async fn verified_token(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<Arc<Principal>>, ShopperApiError> {
    let token = presented_token(parts).map_err(ShopperApiError::from)?;
    let Some(token) = token else {
        return Ok(None);
    };
    let principal = state
        .verifier
        .verify(&token)
        .await
        .map_err(|e| ShopperApiError::from(OAuthError::from(e)))?;
    if let Some((_, site)) = presented_api_key(parts, state).await? {
        if site != principal.site_id {
            return Err(unauthorized(
                "the access token belongs to another site than the API key",
            ));
        }
    }
    Ok(Some(principal))
}

/// The catalog's routes (products, categories, search, offers, points of promotion): what a
/// private site's storefront plan may close to sessions outside its plans.
fn is_catalog(path: &str) -> bool {
    const CATALOG: [&str; 5] = [
        "products",
        "categories",
        "product-search",
        "offers",
        "point-of-promotions",
    ];
    path.strip_prefix("/v1/shoppers/me/").is_some_and(|rest| {
        let first = rest.split(['/', '.']).next().unwrap_or_default();
        CATALOG.contains(&first)
    })
}

/// Whether the caller may browse the catalog: on a private site whose storefront plan needs
/// authorization to browse, only a session authorized into one of the site's plans may
/// (403 `forbidden` otherwise).
async fn may_browse(state: &AppState, caller: &Caller) -> Result<(), ShopperApiError> {
    let client = state
        .store
        .client(caller.api_key(), state.clock.now_millis())
        .await?;
    if !client.is_some_and(|c| c.site_browse_gated) {
        return Ok(());
    }
    if let Caller::Token(p) = caller
        && state
            .store
            .session_purchase_plan(&p.session_id, state.clock.now())
            .await?
            .is_some()
    {
        return Ok(());
    }
    Err(ShopperApiError::new(
        Code::Forbidden,
        "this site is a private store: authorize the shopper session into one of its purchase \
         plans (POST /v1/shoppers/me/purchase-plan/authorize) to browse it",
    ))
}

impl FromRequestParts<AppState> for TokenOptional {
    type Rejection = ShopperApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = match verified_token(parts, state).await? {
            Some(principal) => Caller::Token(principal),
            None => match presented_api_key(parts, state).await? {
                Some((api_key, site_id)) => Caller::ApiKey { api_key, site_id },
                None => return Err(unauthorized("an API key or an access token is required")),
            },
        };
        count_against_quota(parts, state, caller.api_key())?;
        if is_catalog(parts.uri.path()) {
            may_browse(state, &caller).await?;
        }
        Ok(TokenOptional(caller))
    }
}

impl FromRequestParts<AppState> for Limited {
    type Rejection = ShopperApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = match verified_token(parts, state).await? {
            Some(principal) => principal,
            // A key-only cart row (`key_carts`): the key is read, and counted against its
            // quota before a session may be made; every other route answers 401 unread.
            None if super::key_carts::applies(parts) => {
                let Some((api_key, site_id)) = presented_api_key(parts, state).await? else {
                    return Err(unauthorized("an access token is required"));
                };
                count_against_quota(parts, state, &api_key)?;
                super::key_carts::principal(parts, state, &api_key, &site_id)
                    .await?
                    .ok_or_else(|| unauthorized("an access token is required"))?
            }
            None => return Err(unauthorized("an access token is required")),
        };
        count_against_quota(parts, state, &principal.api_key)?;
        Ok(Limited(principal))
    }
}

impl FromRequestParts<AppState> for Full {
    type Rejection = ShopperApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Limited(principal) = Limited::from_request_parts(parts, state).await?;
        if principal.level != AccessLevel::Full || principal.shopper_id.is_none() {
            return Err(insufficient_scope(
                "this resource needs a signed-in shopper's (full) access token",
            ));
        }
        Ok(Full(principal))
    }
}
