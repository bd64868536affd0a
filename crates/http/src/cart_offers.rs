//! The active cart's offers (`managing-offers-in-a-cart/`): the applied ones (the winners of
//! arbitration, per line and per level), removing one, and resetting them all; and the
//! offers a cart's body applies (`appliedProductOffers`, `appliedOrderOffers`), checked here
//! and written by the cart routes. Applying a code or naming an offer in the query is
//! `POST carts/active?promoCode=|offerId=` (`carts`).

use super::access::Limited;
use super::error::{Code, ShopperApiError};
use super::shopper_api::{ApiQuery, ApiResult, cart_conflict, not_found, path_id};
use super::tolerant::{one_or_many, opt_object, opt_scalar, opt_text};
use super::views::cart_offers::{AppliedOfferView, AppliedOffersEnvelope, AppliedTo};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use shopkeeper_domain::offers::{
    Applied, DiscountLevel, DiscountOverride, LimitReached, OfferId, OfferType, OverrideRefusal,
    Slot, SlotMismatch, Trigger, TriggerRefusal, check_trigger, fits_slot, override_reduction,
};
use shopkeeper_services::auth::Principal;
use shopkeeper_services::checkout::{self as service, CheckoutError};
use shopkeeper_services::state::AppState;
use shopkeeper_store::TriggerDetails;

/// `GET /v1/shoppers/me/carts/active/applied-offers`
pub async fn list_applied_offers(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let read = service::read_cart(&state.store, &p, state.clock.now()).await?;
    let pr = read.priced();
    let places = pr
        .lines
        .iter()
        .filter_map(|l| l.offer.map(|a| (a, DiscountLevel::Item, Some(l.line.id))))
        .chain(pr.offers.order.map(|a| (a, DiscountLevel::Order, None)))
        .chain(
            pr.offers
                .shipping
                .map(|a| (a, DiscountLevel::Shipping, None)),
        );
    let mut applied_offers = Vec::new();
    for (Applied { offer_id, .. }, level, line_id) in places {
        // The storefront's description of it, else the offer's name (its record may have
        // gone, a concurrent edit: then the id alone).
        let trigger = read
            .snapshot
            .triggers
            .iter()
            .find(|t| t.offer_id == offer_id);
        let record = state.store.offer(&p.site_id, offer_id).await?;
        let offer_type = read
            .snapshot
            .cart
            .offers
            .iter()
            .find(|o| o.id == offer_id)
            .map_or(OfferType::Discount, |o| o.offer_type);
        applied_offers.push(AppliedOfferView {
            id: offer_id.to_string(),
            cart_description: trigger
                .and_then(|t| t.custom_description.clone())
                .or(record.map(|r| r.name))
                .unwrap_or_default(),
            applied_coupon_code: trigger.and_then(|t| t.coupon_code.clone()),
            applied_to: AppliedTo {
                applied_level: match level {
                    DiscountLevel::Item => "Product(s) (Line Item)",
                    DiscountLevel::Order => "Order",
                    DiscountLevel::Shipping => "Shipping",
                },
                cart_id: read.cart_id.clone(),
                line_item_id: line_id.map(|id| id.to_string()),
            },
            offer_type: offer_type.as_str(),
        });
    }
    Ok(q.respond_with(&AppliedOffersEnvelope { applied_offers }))
}

/// `DELETE /v1/shoppers/me/carts/active/applied-offers/{offerId}`: the offer stops pricing
/// the cart (a code's or a named offer's trigger is dropped; an always-triggered offer is set
/// aside until the cart is submitted). 404 `offer-not-found` when the cart has no such offer.
pub async fn remove_applied_offer(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let offer_id = path_id(&raw, "offer")?;
    if service::remove_offer(&state.store, &p, offer_id, state.clock.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(format!(
            "offer-not-found: offer {offer_id} in the cart"
        )))
    }
}

/// `DELETE /v1/shoppers/me/carts/active/eligible-offers`: resets the cart's promotions
/// (`removing-eligible-offers.md`): codes, named offers and always-triggered offers, until the
/// cart brings one in again or is submitted.
pub async fn remove_eligible_offers(
    State(state): State<AppState>,
    Limited(p): Limited,
) -> ApiResult<StatusCode> {
    service::reset_offers(&state.store, &p).await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- applying offers in a cart's body (`applying-an-offer.md`, `api-trigger-offer.md`) -------

/// One `overrideDiscount` entry: a product (by id or by its external reference id, the sku)
/// under `appliedProductOffers`, none under `appliedOrderOffers`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an overrideDiscount object")]
pub struct OverrideInput {
    #[serde(default, deserialize_with = "opt_scalar")]
    product_id: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    external_reference_id: Option<String>,
    #[serde(default)]
    discount: Option<Value>,
    #[serde(default, deserialize_with = "opt_text")]
    discount_type: Option<String>,
}

/// An applied offer: `{"offerId" and/or "externalReferenceId", "customDescription",
/// "overrideDiscount"}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an applied offer object")]
pub struct AppliedOfferInput {
    #[serde(default, deserialize_with = "opt_scalar")]
    offer_id: Option<String>,
    #[serde(default, deserialize_with = "opt_scalar")]
    external_reference_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    custom_description: Option<String>,
    /// A list under `appliedProductOffers`, one object under `appliedOrderOffers`.
    #[serde(default, deserialize_with = "one_or_many")]
    override_discount: Vec<OverrideInput>,
}

/// `appliedProductOffers` or `appliedOrderOffers`: `{"offer", "shippingOffer"}`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object {\"offer\", \"shippingOffer\"}"
)]
pub struct AppliedOffersInput {
    #[serde(default, deserialize_with = "opt_object")]
    offer: Option<AppliedOfferInput>,
    #[serde(default, deserialize_with = "opt_object")]
    shipping_offer: Option<AppliedOfferInput>,
}

/// A body's applied offers, by slot.
#[derive(Debug, Default)]
pub struct AppliedOffers(Vec<(Slot, AppliedOfferInput)>);

impl AppliedOffers {
    pub fn new(product: Option<AppliedOffersInput>, order: Option<AppliedOffersInput>) -> Self {
        let mut slots = Vec::new();
        for (input, slots_of) in [
            (product, [Slot::ProductOffer, Slot::ProductShippingOffer]),
            (order, [Slot::OrderOffer, Slot::OrderShippingOffer]),
        ] {
            if let Some(input) = input {
                slots.extend(
                    [input.offer, input.shipping_offer]
                        .into_iter()
                        .zip(slots_of)
                        .filter_map(|(o, slot)| o.map(|o| (slot, o))),
                );
            }
        }
        AppliedOffers(slots)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The longest `customDescription` the docs allow (`413-request-entity-too-large.md`).
const MAX_CUSTOM_DESCRIPTION: usize = 2000;

/// An applied offer checked against the site: the offer, and what the storefront says of it.
pub struct CheckedOffer {
    offer_id: OfferId,
    details: TriggerDetails,
}

/// Checks every applied offer of a body (nothing is written): the documented 404, 409, 412
/// and 413 answers of `error-codes-for-shopper-apis/`.
pub async fn check_applied(
    state: &AppState,
    p: &Principal,
    applied: AppliedOffers,
) -> ApiResult<Vec<CheckedOffer>> {
    if applied.is_empty() {
        return Ok(Vec::new());
    }
    let (currency, _) = service::shipping_context(&state.store, p).await?;
    let now = state.clock.now();
    let mut checked = Vec::new();
    for (slot, input) in applied.0 {
        let offer_id = identify(state, p, &input).await?;
        let offer = state
            .store
            .offer(&p.site_id, offer_id)
            .await?
            .ok_or_else(|| invalid_offer_id(&offer_id.to_string()))?;
        if let Err(mismatch) = fits_slot(&offer.pricing, slot) {
            let (what, fix) = match mismatch {
                SlotMismatch::Level => ("level", "level"),
                SlotMismatch::Type => ("type", "type"),
            };
            return Err(cart_conflict(
                Code::PreconditionFailure,
                format!(
                    "Invalid offer {what} for applied offer with offer ID: {offer_id}. Provide a \
                     valid offer {fix} and try again. ({} takes {})",
                    slot.as_str(),
                    match slot {
                        Slot::ProductOffer => "an item-level discount",
                        Slot::OrderOffer => "an order-level discount",
                        Slot::ProductShippingOffer | Slot::OrderShippingOffer =>
                            "a shipping discount",
                    }
                ),
            ));
        }
        // The offer's own state first (its shopper's uses are counted when it is written).
        let uses = (offer.uses, offer.total_limit);
        check_trigger(
            &offer.pricing,
            Trigger::PromotionalUrl,
            now,
            uses,
            (0, None),
        )
        .map_err(|refusal| applied_refusal(refusal, &offer_id.to_string()))?;
        if input
            .custom_description
            .as_ref()
            .is_some_and(|d| d.chars().count() > MAX_CUSTOM_DESCRIPTION)
        {
            return Err(ShopperApiError::new(
                Code::CustomDescriptionsExceedsLimitation,
                "The custom description for the offer exceeds length limitation (2000). Shorten \
                 the custom description and try again.",
            ));
        }
        let mut overrides = Vec::with_capacity(input.override_discount.len());
        for entry in &input.override_discount {
            let product = match slot {
                Slot::ProductOffer | Slot::ProductShippingOffer => {
                    Some(override_product(state, p, entry).await?)
                }
                Slot::OrderOffer | Slot::OrderShippingOffer => None,
            };
            let reduction = override_reduction(
                entry.discount.as_ref(),
                entry.discount_type.as_deref(),
                &currency,
            )
            .map_err(refused_override)?;
            overrides.push(DiscountOverride::new(product, reduction));
        }
        checked.push(CheckedOffer {
            offer_id,
            details: TriggerDetails {
                custom_description: input.custom_description.filter(|d| !d.trim().is_empty()),
                overrides,
            },
        });
    }
    Ok(checked)
}

/// Brings the checked offers into the cart, as promotional-URL offers (the only kind a
/// storefront may apply: "The offer type must be Promotional URL / External Triggered Offer").
pub async fn apply_checked(
    state: &AppState,
    p: &Principal,
    checked: Vec<CheckedOffer>,
) -> ApiResult<()> {
    let now = state.clock.now();
    for c in checked {
        service::trigger_offer(&state.store, p, c.offer_id, &c.details, now)
            .await
            .map_err(|e| match e {
                CheckoutError::Trigger { refusal, named, .. } => applied_refusal(refusal, &named),
                other => other.into(),
            })?;
    }
    Ok(())
}

fn invalid_offer_id(id: &str) -> ShopperApiError {
    ShopperApiError::new(Code::InvalidOfferId, invalid_offer_text(id))
}

/// `404-not-found.md`'s text for an unknown offer id.
fn invalid_offer_text(id: &str) -> String {
    format!(
        "The offer ID: {id} for the request is invalid. Provide a valid offer ID or Offer \
         external reference ID and try again."
    )
}

/// The offer an applied offer names by id and/or external reference id (both: the same one).
async fn identify(
    state: &AppState,
    p: &Principal,
    input: &AppliedOfferInput,
) -> ApiResult<OfferId> {
    let by_id = match input.offer_id.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => Some(
            raw.parse::<OfferId>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| invalid_offer_id(raw))?,
        ),
        _ => None,
    };
    let by_reference = match input.external_reference_id.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => Some(
            state
                .store
                .offer_id_by_reference(&p.site_id, raw)
                .await?
                .ok_or_else(|| {
                    ShopperApiError::new(
                        Code::InvalidOfferId,
                        format!(
                            "The offer external reference ID: {raw} for the request is invalid. \
                             Provide a valid offer ID or Offer external reference ID and try \
                             again."
                        ),
                    )
                })?,
        ),
        _ => None,
    };
    match (by_id, by_reference) {
        (Some(a), Some(b)) if a != b => Err(ShopperApiError::new(
            Code::DuplicateOfferIdentifier,
            "Use either offer ID or offer external reference ID in the Applied Offers payload and \
             try again.",
        )),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(ShopperApiError::new(
            Code::NoOfferIdentifier,
            "The offer ID or offer external reference ID is missing. Provide the offer ID or \
             external reference ID and try again.",
        )),
    }
}

/// The product an `overrideDiscount` entry names, by id or by external reference id (sku).
async fn override_product(
    state: &AppState,
    p: &Principal,
    entry: &OverrideInput,
) -> ApiResult<i64> {
    let invalid = || {
        ShopperApiError::new(
            Code::InvalidProductId,
            "The product ID or product external reference ID is invalid. Provide the correct \
             product ID or product external reference ID and try again.",
        )
    };
    let by_id = match entry.product_id.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => {
            let id = raw
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(invalid)?;
            state
                .store
                .product(&p.site_id, id)
                .await?
                .ok_or_else(invalid)?;
            Some(id)
        }
        _ => None,
    };
    let by_reference = match entry.external_reference_id.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => Some(
            state
                .store
                .product_id_by_sku(&p.site_id, raw)
                .await?
                .ok_or_else(invalid)?,
        ),
        _ => None,
    };
    match (by_id, by_reference) {
        (Some(a), Some(b)) if a != b => Err(ShopperApiError::new(
            Code::DuplicateProductIdentifier,
            "Use either product ID or product external reference ID in the Applied Offers payload \
             and try again.",
        )),
        (Some(id), _) | (None, Some(id)) => Ok(id),
        (None, None) => Err(ShopperApiError::new(
            Code::NoProductIdentifier,
            "The product ID or product external reference ID is missing. Provide the product ID \
             or external reference ID and try again.",
        )),
    }
}

fn refused_override(refusal: OverrideRefusal) -> ShopperApiError {
    match refusal {
        OverrideRefusal::Missing => ShopperApiError::new(
            Code::NoDiscountOrType,
            "Either the discount or discount type or both are missing. Include both the discount \
             and discount type in the payload and try again.",
        ),
        OverrideRefusal::InvalidType => ShopperApiError::new(
            Code::InvalidDiscountType,
            "The offer discount type is invalid. Provide a valid offer discount type and try \
             again. (amountOff or percentOff)",
        ),
        OverrideRefusal::InvalidDiscount => ShopperApiError::new(
            Code::InvalidDiscount,
            "The discount value is invalid. Provide a valid discount value and try again. (at \
             least 0, at most 100 as a percentage, in the currency's minor units)",
        ),
    }
}

/// A refused applied offer, in the words `409-conflict.md` gives applied offers (the offer's
/// own state); the other refusals as for an offer named in the query.
fn applied_refusal(refusal: TriggerRefusal, id: &str) -> ShopperApiError {
    let description = match refusal {
        TriggerRefusal::NotDeployed => format!(
            "Applied the wrong offer ID: {id} for this site. Enter the correct offer ID and try \
             again."
        ),
        TriggerRefusal::NotActive | TriggerRefusal::UsedUp(_) => format!(
            "The applied offer with offer ID: {id} is unavailable. Ensure the active offer is \
             within the total usage limit and that the supported locale matches the user's \
             locale and try again."
        ),
        _ => return trigger_refusal(refusal, id, false),
    };
    cart_conflict(Code::PreconditionFailure, description)
}

/// A code or named offer the cart cannot bring in, as the documented error.
pub(crate) fn trigger_refusal(
    refusal: TriggerRefusal,
    named: &str,
    by_code: bool,
) -> ShopperApiError {
    let (code, description) = refused_trigger(refusal, named, by_code);
    ShopperApiError::new(code, description)
}

/// The documented code and text of a refused code or named offer.
pub(crate) fn refused_trigger(
    refusal: TriggerRefusal,
    named: &str,
    by_code: bool,
) -> (Code, String) {
    match refusal {
        TriggerRefusal::Unknown if !by_code => (Code::InvalidOfferId, invalid_offer_text(named)),
        TriggerRefusal::Unknown => (
            Code::InvalidCoupon,
            "The coupon code is invalid. The shopper cannot use the coupon code.".into(),
        ),
        TriggerRefusal::NotDeployed => (
            Code::OfferNotDeployed,
            "The system cannot use an undeployed coupon code.".into(),
        ),
        TriggerRefusal::NotActive => (
            Code::OfferNotActive,
            "The offer for the request is not active.".into(),
        ),
        TriggerRefusal::UsedUp(LimitReached::Total) => (
            Code::OfferUsageLimitExceeded,
            "Exceeded the offer usage limit. Shoppers cannot use the coupon code.".into(),
        ),
        TriggerRefusal::UsedUp(LimitReached::Shopper) => (
            Code::ShopperUsageLimitExceeded,
            "The shopper exceeded the offer usage limit. The shopper cannot use the coupon code."
                .into(),
        ),
        TriggerRefusal::AlwaysTriggered => (
            Code::AlwaysTriggeredOfferId,
            "The offer ID for the request is invalid: the always-triggered offer is not \
             supported."
                .into(),
        ),
        TriggerRefusal::NeedsCode => (
            Code::PreconditionFailure,
            format!(
                "Applied the wrong offer ID: {named} with the offer. Enter the correct offer ID \
                 and try again."
            ),
        ),
    }
}
