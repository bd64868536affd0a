//! `GET /v1/shoppers/site` and `GET /v1/shoppers/site/settings`: the caller's site, from
//! the stored site record. Token optional.

use super::access::{Caller, TokenOptional};
use super::shopper_api::{ApiQuery, ApiResult, not_found};
use axum::extract::State;
use axum::response::Response;
use serde_json::json;
use shopkeeper_services::state::AppState;
use shopkeeper_store::SiteRecord;

async fn caller_site(state: &AppState, caller: &Caller) -> ApiResult<SiteRecord> {
    state
        .store
        .site(caller.site_id())
        .await?
        .ok_or_else(|| not_found("site"))
}

pub async fn get_site(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let site = caller_site(&state, &caller).await?;
    Ok(q.respond(json!({"site": {
        "uri": q.uri("/v1/shoppers/site"),
        "id": site.id,
        "defaultLocale": site.locale,
        "defaultCurrency": site.currency,
        "settings": q.link("/v1/shoppers/site/settings"),
        "products": q.link("/v1/shoppers/me/products"),
        "categories": q.link("/v1/shoppers/me/categories"),
    }})))
}

pub async fn get_settings(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let site = caller_site(&state, &caller).await?;
    Ok(q.respond(json!({"siteSettings": {
        "uri": q.uri("/v1/shoppers/site/settings"),
        "site": q.link("/v1/shoppers/site"),
        "defaultLocale": site.locale,
        "defaultCurrency": site.currency,
        // The user-session setting seed 000 ties access-token lifetimes to.
        "sessionTimeout": site.session_ttl,
        // Seed 003's per-site "Access Carts with API Key Only" option: not provided yet.
        "accessCartsWithApiKeyOnly": false,
    }})))
}
