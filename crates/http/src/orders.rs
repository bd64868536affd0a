//! Orders: the caller's orders (a guest sees those of its session, a signed-in shopper all of
//! its own and its session's; nobody anyone else's: 404), their line items and addresses,
//! `order-lookup`, and a signed-in shopper's saved payment options.

use super::access::{Full, Limited, insufficient_scope};
use super::extract::parse_optional_json;
use super::limits;
use super::shopper_api::{
    ApiQuery, ApiResult, Found, PathResource, bad_request, not_found, path_id,
};
use super::views::address::{AddressEnvelope, AddressView};
use super::views::order::{
    ORDERS, OrderEnvelope, OrderLineEnvelope, OrderLines, OrderLinesEnvelope, OrderView, Orders,
    OrdersEnvelope, PaymentOption, PaymentOptionEnvelope, PaymentOptions, PaymentOptionsEnvelope,
    order_address,
};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_services::auth::Principal;
use shopkeeper_services::state::AppState;
use shopkeeper_store::OrderRecord;
use std::net::SocketAddr;

async fn visible_order(state: &AppState, p: &Principal, raw: &str) -> ApiResult<OrderRecord> {
    let id = path_id(raw, "order")?;
    state
        .store
        .order_visible(&p.site_id, &p.session_id, p.acting_shopper(), id)
        .await?
        .ok_or_else(|| not_found(format!("order {id}")))
}

impl PathResource<Limited> for OrderRecord {
    async fn find(state: &AppState, Limited(p): &Limited, raw_id: &str) -> ApiResult<Self> {
        visible_order(state, p, raw_id).await
    }
}

/// A request on one of the caller's orders, named by its path.
type Order = Found<Limited, OrderRecord>;

async fn orders_response(
    state: &AppState,
    q: &ApiQuery,
    orders: &[OrderRecord],
) -> ApiResult<Response> {
    let mut lines = Vec::with_capacity(orders.len());
    for o in orders {
        lines.push(state.store.order_lines(o.id).await?);
    }
    let order = orders
        .iter()
        .zip(&lines)
        .map(|(o, l)| OrderView::new(q, o, l))
        .collect();
    Ok(q.respond_with(&OrdersEnvelope {
        orders: Orders {
            uri: q.uri(ORDERS),
            order,
            total_results: orders.len(),
            total_result_pages: usize::from(!orders.is_empty()),
        },
    }))
}

/// `GET /v1/shoppers/me/orders`
pub async fn list_orders(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let orders = state
        .store
        .orders_visible(&p.site_id, &p.session_id, p.acting_shopper())
        .await?;
    orders_response(&state, &q, &orders).await
}

/// `GET /v1/shoppers/me/orders/{id}`
pub async fn get_order(
    State(state): State<AppState>,
    Found { q, item: o, .. }: Order,
) -> ApiResult<Response> {
    let lines = state.store.order_lines(o.id).await?;
    let order = OrderView::new(&q, &o, &lines);
    Ok(q.respond_with(&OrderEnvelope { order }))
}

/// `GET /v1/shoppers/me/orders/{id}/line-items`
pub async fn get_order_line_items(
    State(state): State<AppState>,
    Found { q, item: o, .. }: Order,
) -> ApiResult<Response> {
    let lines = state.store.order_lines(o.id).await?;
    let line_items = OrderLines::new(&q, &o, &lines);
    Ok(q.respond_with(&OrderLinesEnvelope { line_items }))
}

/// `GET /v1/shoppers/me/orders/{id}/line-items/{lineItemId}`
pub async fn get_order_line_item(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path((id, line_id)): Path<(String, String)>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let o = visible_order(&state, &p, &id).await?;
    let line_id = path_id(&line_id, "line item")?;
    let lines = state.store.order_lines(o.id).await?;
    // Rendered with the others: a line's share of the order's tax depends on them.
    let line_item = OrderLines::new(&q, &o, &lines)
        .line_item
        .into_iter()
        .find(|l| l.id == line_id)
        .ok_or_else(|| not_found(format!("line item {line_id}")))?;
    Ok(q.respond_with(&OrderLineEnvelope { line_item }))
}

/// `GET /v1/shoppers/me/orders/{id}/billing-address`
pub async fn get_order_billing_address(Found { q, item: o, .. }: Order) -> ApiResult<Response> {
    let address = order_address(&q, &o, true).ok_or_else(|| not_found("billing address"))?;
    Ok(q.respond_with(&AddressEnvelope { address }))
}

/// `GET /v1/shoppers/me/orders/{id}/shipping-address`
pub async fn get_order_shipping_address(Found { q, item: o, .. }: Order) -> ApiResult<Response> {
    // A digital-only order shipped nowhere: its shipping address has empty fields.
    let nowhere = PostalAddress::default();
    let address = order_address(&q, &o, false).unwrap_or_else(|| AddressView {
        uri: q.uri(&format!("{ORDERS}/{}/shipping-address", o.id)),
        id: "shippingAddress",
        address: &nowhere,
    });
    Ok(q.respond_with(&AddressEnvelope { address }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LookupInput {
    order_id: Option<Value>,
    email_address: Option<String>,
    credit_card_last_four_digits: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LookupBody {
    order_lookup: LookupInput,
}

/// `POST /v1/shoppers/order-lookup`: `{"orderLookup": {"orderId", "emailAddress"}}` with any
/// token; `{"orderLookup": {"emailAddress", "creditCardLastFourDigits"}}` only with a full
/// token (among the shopper's own orders). The same fields are accepted as query parameters.
/// Rate-limited per client address (`--order-lookup-per-ip`): order ids are sequential, so
/// unthrottled look-ups would let anyone guess (id, email) pairs.
pub async fn order_lookup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Limited(p): Limited,
    q: ApiQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let address = state.guard.client_ip(peer.ip(), &headers);
    if let Err(wait) = state.guard.order_lookup_check(address) {
        return Ok(limits::shopper_api_too_many(wait, limits::RATE_LIMITED));
    }
    // Read here, not by an extractor: the rate limit counts a look-up before its body.
    let mut input = parse_optional_json::<LookupBody>(&headers, &body)?
        .map(|b| b.order_lookup)
        .unwrap_or_default();
    if input.order_id.is_none() {
        input.order_id = q.get("orderId").map(|s| Value::String(s.to_owned()));
    }
    let email = input
        .email_address
        .or_else(|| q.get("emailAddress").map(str::to_owned))
        .ok_or_else(|| bad_request("invalid-parameter", "orderLookup.emailAddress is required"))?;
    let last_four = input
        .credit_card_last_four_digits
        .or_else(|| q.get("creditCardLastFourDigits").map(str::to_owned));
    let orders = match (input.order_id, last_four) {
        (Some(id), _) => {
            let id = match &id {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }
            .ok_or_else(|| bad_request("invalid-parameter", "orderLookup.orderId is not an id"))?;
            state
                .store
                .order_by_id_and_email(&p.site_id, id, &email)
                .await?
                .into_iter()
                .collect::<Vec<_>>()
        }
        (None, Some(digits)) => {
            let shopper = p.acting_shopper().ok_or_else(|| {
                insufficient_scope(
                    "looking orders up by email and card digits needs a signed-in shopper's \
                     (full) access token",
                )
            })?;
            state
                .store
                .orders_by_email_and_card(&p.site_id, shopper, &email, &digits)
                .await?
        }
        (None, None) => {
            return Err(bad_request(
                "invalid-parameter",
                "give orderLookup.orderId, or creditCardLastFourDigits with a full token",
            ));
        }
    };
    if orders.is_empty() {
        return Err(not_found("an order matching the lookup"));
    }
    orders_response(&state, &q, &orders).await
}

/// `GET /v1/shoppers/me/payment-options` (full): reusable sources the shopper applied.
pub async fn list_payment_options(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
) -> ApiResult<Response> {
    let options = state.store.payment_options(full.shopper_id()).await?;
    Ok(q.respond_with(&PaymentOptionsEnvelope {
        payment_options: PaymentOptions {
            uri: q.uri("/v1/shoppers/me/payment-options"),
            payment_option: options
                .iter()
                .enumerate()
                .map(|(i, s)| PaymentOption::new(&q, s, i == 0))
                .collect(),
        },
    }))
}

/// `GET /v1/shoppers/me/payment-options/{id}` (full)
pub async fn get_payment_option(
    State(state): State<AppState>,
    full: Full,
    Path(id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let id = id.strip_suffix(".json").unwrap_or(&id).to_owned();
    let options = state.store.payment_options(full.shopper_id()).await?;
    let (i, s) = options
        .iter()
        .enumerate()
        .find(|(_, s)| s.id == id)
        .ok_or_else(|| not_found(format!("payment option {id:?}")))?;
    let payment_option = PaymentOption::new(&q, s, i == 0);
    Ok(q.respond_with(&PaymentOptionEnvelope { payment_option }))
}
