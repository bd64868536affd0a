//! The cart's tax identifiers (`cart/configuring-taxes/managing-tax-identifiers.md`): the
//! schema of the country that applies, attaching them (checked against it) and removing them.
//! The country is the cart's billing address's, else the site's (from its locale); the table of
//! countries is `domain::tax_registrations`. A site whose Global Tax ID Management is off
//! (`shopkeeper site set-tax-id-management`) refuses posts and removals with the documented
//! 409 `vat-exemption-failure`.

use super::access::{Caller, Limited, TokenOptional};
use super::error::{Code, ShopperApiError};
use super::extract::AppJson;
use super::shopper_api::{ApiQuery, ApiResult, bad_request, cart_conflict, not_found};
use super::tolerant::{one_or_many, opt_text};
use super::views::tax_registrations::TaxRegistrationsSchema;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::tax_registrations::{self as tax, Registration};
use shopkeeper_services::auth::Principal;
use shopkeeper_services::checkout as service;
use shopkeeper_services::state::AppState;

const SCHEMA: &str = "/v1/shoppers/me/carts/active/tax-registrations/schema";

/// The site's country, from its locale (`en_US` → `US`).
async fn site_country(state: &AppState, site: &SiteId) -> ApiResult<String> {
    let site = state.store.site(site).await?;
    Ok(site
        .and_then(|s| tax::locale_country(&s.locale))
        .unwrap_or_default())
}

/// The country whose schema applies to a token's cart: its billing address's, else the site's.
async fn cart_country(state: &AppState, p: &Principal) -> ApiResult<String> {
    let read = service::read_cart(&state.store, p, state.clock.now()).await?;
    let billing = read
        .snapshot
        .cart
        .addresses
        .billing
        .as_ref()
        .map(|a| a.country.trim().to_owned())
        .filter(|c| !c.is_empty());
    match billing {
        Some(c) => Ok(c),
        None => site_country(state, &p.site_id).await,
    }
}

/// `GET .../tax-registrations/schema` (token optional): the draft-04 schema of the country
/// that applies (a key alone has no cart: the site's country).
pub async fn get_schema(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let country = match &caller {
        Caller::Token(p) => cart_country(&state, p).await?,
        Caller::ApiKey { site_id, .. } => site_country(&state, site_id).await?,
    };
    let schema = tax::schema(tax::country(&country), &q.uri(SCHEMA));
    Ok(q.respond_with(&TaxRegistrationsSchema::new(schema)))
}

#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a tax registration {\"key\", \"value\"}"
)]
pub struct RegistrationInput {
    #[serde(default, deserialize_with = "opt_text")]
    key: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object {\"customerType\", \"taxRegistrations\"}"
)]
pub struct TaxRegistrationsBody {
    #[serde(default, deserialize_with = "opt_text")]
    customer_type: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    tax_registrations: Vec<RegistrationInput>,
}

fn unavailable() -> ShopperApiError {
    cart_conflict(
        Code::VatExemptionFailure,
        "Tax identifiers are not enabled on this site (Global Tax ID Management is off).",
    )
}

/// `POST .../tax-registrations` (limited): checks the body against the country's schema and
/// attaches it to the cart, replacing what it had; answers the cart, like the cart's other
/// `POST` actions. 400 `invalid-request` names the refused field; 409 `vat-exemption-failure`
/// when the site's Global Tax ID Management is off.
pub async fn post_tax_registrations(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    AppJson(body): AppJson<TaxRegistrationsBody>,
) -> ApiResult<Response> {
    if !state.store.site_tax_id_management(&p.site_id).await? {
        return Err(unavailable());
    }
    let customer_type = body
        .customer_type
        .ok_or_else(|| bad_request("customerType is required (I or B)"))?;
    let mut registrations = Vec::with_capacity(body.tax_registrations.len());
    for (i, r) in body.tax_registrations.into_iter().enumerate() {
        let key = r
            .key
            .ok_or_else(|| bad_request(format!("taxRegistrations[{i}].key is required")))?;
        let value = r
            .value
            .ok_or_else(|| bad_request(format!("taxRegistrations[{i}].value is required")))?;
        registrations.push(Registration { key, value });
    }
    let country = cart_country(&state, &p).await?;
    let t = tax::check(tax::country(&country), &customer_type, &registrations)
        .map_err(|refusal| bad_request(refusal.to_string()))?;
    service::set_tax_registrations(&state.store, &p, t, &registrations).await?;
    super::carts::cart_response(&state, &q, &p).await
}

/// `DELETE .../tax-registrations[?cartId=]` (limited): removes the cart's tax identifiers
/// (its customer type is `I` again); 204. A `cartId` other than the active cart's is 404.
pub async fn delete_tax_registrations(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<StatusCode> {
    if let Some(cart_id) = q.get("cartId") {
        let read = service::read_cart(&state.store, &p, state.clock.now()).await?;
        if cart_id.trim() != read.cart_id {
            return Err(not_found(format!("cart {cart_id}")));
        }
    }
    if !state.store.site_tax_id_management(&p.site_id).await? {
        return Err(unavailable());
    }
    service::clear_tax_registrations(&state.store, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}
