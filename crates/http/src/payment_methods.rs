//! `GET /v1/shoppers/me/carts/active/payment-methods` (limited): the payment methods the site
//! offers for the cart, by its currency and billing country (`managing-payment-methods/`). The
//! site's list is the operator's (`shopkeeper site payment-methods`); a new site offers the card
//! brands the test-mode source takes.

use super::access::Limited;
use super::shopper_api::{ApiQuery, ApiResult};
use super::views::payment_methods::AvailablePaymentMethods;
use axum::extract::State;
use axum::response::Response;
use shopkeeper_services::checkout as service;
use shopkeeper_services::state::AppState;

/// `GET .../payment-methods`: the site's methods whose currencies and countries admit the
/// cart's currency (its lines', else the site's) and its billing address's country (a method
/// limited to countries is listed once the cart has a billing address in one of them).
pub async fn get_payment_methods(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let read = service::read_cart(&state.store, &p, state.clock.now()).await?;
    let pr = read.priced();
    let country = pr
        .billing
        .as_ref()
        .map(|a| a.country.trim())
        .filter(|c| !c.is_empty());
    let methods = state.store.payment_methods(&p.site_id).await?;
    let offered = methods
        .iter()
        .filter(|m| m.rule.offers(&pr.currency, country));
    Ok(q.respond_with(&AvailablePaymentMethods::new(&q, offered)))
}
