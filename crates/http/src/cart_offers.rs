//! The active cart's offers (`managing-offers-in-a-cart/`): the applied ones (the winners of
//! arbitration, per line and per level), removing one, and resetting them all. Applying a
//! code or naming an offer is `POST carts/active?promoCode=|offerId=` (`carts`).

use super::access::Limited;
use super::shopper_api::{ApiQuery, ApiResult, not_found, path_id};
use super::views::cart_offers::{AppliedOfferView, AppliedOffersEnvelope, AppliedTo};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use shopkeeper_domain::offers::{Applied, DiscountLevel, OfferType};
use shopkeeper_services::checkout as service;
use shopkeeper_services::state::AppState;

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
        // The offer's name is its description in the cart; its record may have gone (a
        // concurrent edit): then the id alone.
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
            cart_description: record.map(|r| r.name).unwrap_or_default(),
            applied_coupon_code: read
                .snapshot
                .triggers
                .iter()
                .find(|t| t.offer_id == offer_id)
                .and_then(|t| t.coupon_code.clone()),
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
