//! Orders: the caller's orders (a guest sees those of its session, a signed-in shopper all of
//! its own and its session's; nobody anyone else's: 404), their line items and addresses,
//! `order-lookup`, and a signed-in shopper's saved payment options.

use super::access::{Full, Limited, insufficient_scope};
use super::carts::{address_object, payment_method_object, pricing_object};
use super::limits;
use super::shopper_api::{ApiQuery, ApiResult, bad_request, json_body, not_found, path_id};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::catalog::{formatted, money};
use shopkeeper_domain::time::iso8601;
use shopkeeper_services::auth::Principal;
use shopkeeper_services::checkout::shopper_of;
use shopkeeper_services::state::AppState;
use shopkeeper_store::{OrderLineRecord, OrderRecord, PaymentSourceRecord};
use std::net::SocketAddr;

const ORDERS: &str = "/v1/shoppers/me/orders";

fn totals(o: &OrderRecord) -> shopkeeper_domain::checkout::Totals {
    shopkeeper_domain::checkout::Totals {
        subtotal: o.subtotal_minor,
        discount: o.discount_minor,
        shipping: o.shipping_minor,
        tax: o.tax_minor,
        total: o.total_minor,
    }
}

fn line_object(q: &ApiQuery, o: &OrderRecord, l: &OrderLineRecord) -> Value {
    let cur = o.currency.as_str();
    json!({
        "uri": q.uri(&format!("{ORDERS}/{}/line-items/{}", o.id, l.id)),
        "id": l.id,
        "quantity": l.quantity,
        "product": {
            "uri": q.uri(&format!("/v1/shoppers/me/products/{}", l.product_id)),
            "id": l.product_id,
            "displayName": l.display_name,
            "sku": l.sku,
        },
        "pricing": {
            "listPrice": money(l.list_price_minor, cur),
            "salePrice": money(l.unit_price_minor, cur),
            "listPriceWithQuantity": money(l.list_price_minor * l.quantity, cur),
            "salePriceWithQuantity": money(l.unit_price_minor * l.quantity, cur),
            "formattedSalePriceWithQuantity": formatted(l.unit_price_minor * l.quantity, cur),
        },
    })
}

fn order_address(q: &ApiQuery, o: &OrderRecord, billing: bool) -> Option<Value> {
    let (a, name, path) = if billing {
        (&o.addresses.billing, "billingAddress", "billing-address")
    } else {
        (&o.addresses.shipping, "shippingAddress", "shipping-address")
    };
    Some(address_object(
        q,
        &format!("{ORDERS}/{}/{path}", o.id),
        name,
        a.as_ref()?,
    ))
}

fn order_object(q: &ApiQuery, o: &OrderRecord, lines: &[OrderLineRecord]) -> Value {
    let base = format!("{ORDERS}/{}", o.id);
    json!({
        "uri": q.uri(&base),
        "id": o.id,
        "submissionDate": iso8601(o.submitted_at),
        "orderState": o.status,
        "totalItemsInOrder": lines.iter().map(|l| l.quantity).sum::<i64>(),
        "emailAddress": o.email,
        "lineItems": {
            "uri": q.uri(&format!("{base}/line-items")),
            "lineItem": lines.iter().map(|l| line_object(q, o, l)).collect::<Vec<_>>(),
        },
        "billingAddress": order_address(q, o, true),
        "shippingAddress": order_address(q, o, false)
            .unwrap_or_else(|| q.link(&format!("{base}/shipping-address"))),
        // No `sourceId`: the documented order bodies (orders, order-lookup) show only the
        // card's brand and digits, and whoever reads an order must not learn what pays it.
        "paymentMethod": {
            "type": "creditCard",
            "creditCard": {"brand": o.card_brand, "lastFourDigits": o.card_last_four},
        },
        "pricing": pricing_object(&totals(o), &o.currency),
    })
}

async fn visible_order(state: &AppState, p: &Principal, raw: &str) -> ApiResult<OrderRecord> {
    let id = path_id(raw, "order")?;
    state
        .store
        .order_visible(&p.site_id, &p.session_id, shopper_of(p), id)
        .await?
        .ok_or_else(|| not_found(format!("order {id}")))
}

async fn orders_list(state: &AppState, q: &ApiQuery, orders: &[OrderRecord]) -> ApiResult<Value> {
    let mut out = Vec::new();
    for o in orders {
        let lines = state.store.order_lines(o.id).await?;
        out.push(order_object(q, o, &lines));
    }
    Ok(json!({"orders": {
        "uri": q.uri(ORDERS),
        "order": out,
        "totalResults": orders.len(),
    }}))
}

/// `GET /v1/shoppers/me/orders`
pub async fn list_orders(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let orders = state
        .store
        .orders_visible(&p.site_id, &p.session_id, shopper_of(&p))
        .await?;
    Ok(q.respond(orders_list(&state, &q, &orders).await?))
}

/// `GET /v1/shoppers/me/orders/{id}`
pub async fn get_order(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let o = visible_order(&state, &p, &id).await?;
    let lines = state.store.order_lines(o.id).await?;
    Ok(q.respond(json!({"order": order_object(&q, &o, &lines)})))
}

/// `GET /v1/shoppers/me/orders/{id}/line-items`
pub async fn get_order_line_items(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let o = visible_order(&state, &p, &id).await?;
    let lines = state.store.order_lines(o.id).await?;
    Ok(q.respond(json!({"lineItems": {
        "uri": q.uri(&format!("{ORDERS}/{}/line-items", o.id)),
        "lineItem": lines.iter().map(|l| line_object(&q, &o, l)).collect::<Vec<_>>(),
    }})))
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
    let l = lines
        .iter()
        .find(|l| l.id == line_id)
        .ok_or_else(|| not_found(format!("line item {line_id}")))?;
    Ok(q.respond(json!({"lineItem": line_object(&q, &o, l)})))
}

/// `GET /v1/shoppers/me/orders/{id}/billing-address`
pub async fn get_order_billing_address(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let o = visible_order(&state, &p, &id).await?;
    let a = order_address(&q, &o, true).ok_or_else(|| not_found("billing address"))?;
    Ok(q.respond(json!({ "address": a })))
}

/// `GET /v1/shoppers/me/orders/{id}/shipping-address`
pub async fn get_order_shipping_address(
    State(state): State<AppState>,
    Limited(p): Limited,
    Path(id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let o = visible_order(&state, &p, &id).await?;
    // A digital-only order shipped nowhere: its shipping address has empty fields.
    let a = order_address(&q, &o, false).unwrap_or_else(|| {
        let path = format!("{ORDERS}/{}/shipping-address", o.id);
        address_object(&q, &path, "shippingAddress", &PostalAddress::default())
    });
    Ok(q.respond(json!({ "address": a })))
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
    let mut input = if body.iter().all(u8::is_ascii_whitespace) {
        LookupInput::default()
    } else {
        json_body::<LookupBody>(&headers, &body)?.order_lookup
    };
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
            let shopper = shopper_of(&p).ok_or_else(|| {
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
    Ok(q.respond(orders_list(&state, &q, &orders).await?))
}

fn payment_option_object(q: &ApiQuery, s: &PaymentSourceRecord, first: bool) -> Value {
    let mut v = payment_method_object(s);
    let obj = v.as_object_mut().expect("object");
    obj.insert(
        "uri".into(),
        json!(q.uri(&format!("/v1/shoppers/me/payment-options/{}", s.id))),
    );
    obj.insert("id".into(), json!(s.id));
    obj.insert(
        "nickName".into(),
        json!(format!("{} {}", s.brand, s.last_four)),
    );
    obj.insert("isDefault".into(), json!(first));
    v
}

/// `GET /v1/shoppers/me/payment-options` (full): reusable sources the shopper applied.
pub async fn list_payment_options(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
) -> ApiResult<Response> {
    let options = state.store.payment_options(full.shopper_id()).await?;
    Ok(q.respond(json!({"paymentOptions": {
        "uri": q.uri("/v1/shoppers/me/payment-options"),
        "paymentOption": options
            .iter()
            .enumerate()
            .map(|(i, s)| payment_option_object(&q, s, i == 0))
            .collect::<Vec<_>>(),
    }})))
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
    Ok(q.respond(json!({"paymentOption": payment_option_object(&q, s, i == 0)})))
}
