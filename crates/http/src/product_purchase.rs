//! `POST /v1/shoppers/me/products/{id}/purchase`: the docs' Transparent Commerce purchase
//! (`transparent-commerce-purchase-flow.md`), one call that orders a product for the signed-in
//! shopper with their default addresses and payment option.

use super::access::Full;
use super::carts::parse_quantity;
use super::extract::NoBody;
use super::shopper_api::{ApiQuery, ApiResult, path_id};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_services::checkout as service;
use shopkeeper_services::state::AppState;

/// `POST .../products/{id}/purchase[?quantity=N]` (full): `201 Created`, no body, `Location`
/// naming the order, as the docs answer. The shopper's active cart is left as it is.
pub async fn purchase_product(
    State(state): State<AppState>,
    full: Full,
    Path(raw_id): Path<String>,
    q: ApiQuery,
    _: NoBody,
) -> ApiResult<Response> {
    let product_id = path_id(&raw_id, "product")?;
    let quantity = parse_quantity(q.get("quantity"))?;
    let order_id = service::buy_now(
        &state.store,
        &full.0,
        product_id,
        quantity,
        state.clock.now(),
        state.clock.now_millis(),
    )
    .await?;
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(location) =
        HeaderValue::from_str(&q.uri(&format!("/v1/shoppers/me/orders/{order_id}")))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}
