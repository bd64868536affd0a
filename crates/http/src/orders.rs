//! Orders: the caller's orders (a guest sees those of its session, a signed-in shopper all of
//! its own and its session's; nobody anyone else's: 404), their line items and addresses,
//! `order-lookup`, and a signed-in shopper's saved payment options.

use super::access::{Full, Limited, insufficient_scope};
use super::extract::{AppJson, parse_optional_value};
use super::limits;
use super::shopper_api::{
    ApiQuery, ApiResult, Found, PathResource, bad_request, not_found, path_id,
};
use super::tolerant::{self, opt_bool, opt_object, opt_text};
use super::views::address::{AddressEnvelope, AddressView};
use super::views::order::{
    ORDERS, OrderEnvelope, OrderLine, OrderLineEnvelope, OrderLines, OrderLinesEnvelope, OrderView,
    Orders, OrdersEnvelope, PaymentOption, PaymentOptionEnvelope, PaymentOptions,
    PaymentOptionsEnvelope, default_option, order_address, order_line_taxes,
};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::shopper::check_text;
use shopkeeper_services::auth::Principal;
use shopkeeper_services::checkout;
use shopkeeper_services::state::AppState;
use shopkeeper_store::{OrderRecord, PaymentOptionFields, PaymentSourceRecord};
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
    let i = lines
        .iter()
        .position(|l| l.id == line_id)
        .ok_or_else(|| not_found(format!("line item {line_id}")))?;
    // A line's share of the order's tax depends on the other lines.
    let taxes = order_line_taxes(&o, &lines)[i];
    let line_item = OrderLine::new(&q, &o, &lines[i], taxes);
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
    let address = order_address(&q, &o, false).unwrap_or_else(|| {
        AddressView::new(
            q.uri(&format!("{ORDERS}/{}/shipping-address", o.id)),
            "shippingAddress",
            &nowhere,
        )
    });
    Ok(q.respond_with(&AddressEnvelope { address }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an order look-up object")]
struct LookupInput {
    #[serde(default)]
    order_id: Option<Value>,
    #[serde(default, deserialize_with = "opt_text")]
    email_address: Option<String>,
    /// The docs' guest look-up sends the order's `password`: the one secret of a guest order
    /// Shopkeeper keeps is the e-mail address it was placed with, so it is checked as that.
    #[serde(default, deserialize_with = "opt_text")]
    password: Option<String>,
    #[serde(default, alias = "creditCardLastDigits", deserialize_with = "opt_text")]
    credit_card_last_four_digits: Option<String>,
}

/// The look-up's fields from a form body (`application/x-www-form-urlencoded`, as the docs
/// send it) or JSON (`{"orderLookup": {...}}` or the bare object). A field given twice in a
/// form is refused rather than one of them picked.
fn lookup_input(headers: &HeaderMap, body: &Bytes) -> ApiResult<LookupInput> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut fields = serde_json::Map::new();
        for (name, value) in form_urlencoded::parse(body) {
            if fields.contains_key(name.as_ref()) {
                return Err(bad_request(format!("{name} is given more than once")));
            }
            fields.insert(name.into_owned(), Value::String(value.into_owned()));
        }
        return tolerant::from_value(Value::Object(fields), "");
    }
    match parse_optional_value(headers, body)? {
        None => Ok(LookupInput::default()),
        Some(value) => {
            let (inner, at) = tolerant::unwrap_envelope(value, "orderLookup");
            if tolerant::is_nothing(&inner) {
                return Ok(LookupInput::default());
            }
            tolerant::from_value(inner, at)
        }
    }
}

/// `POST /v1/shoppers/order-lookup`: `orderId` with `emailAddress` (or the order `password`,
/// see [`LookupInput`]) with any token; `emailAddress` with `creditCardLastFourDigits` only with
/// a full token (among the shopper's own orders). In a form body, a JSON body
/// (`{"orderLookup": {...}}`) or as query parameters. Rate-limited per client address
/// (`--order-lookup-per-ip`): order ids are sequential, so unthrottled look-ups would let anyone
/// guess (id, email) pairs.
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
    let mut input = lookup_input(&headers, &body)?;
    if input.order_id.is_none() {
        input.order_id = q.get("orderId").map(|s| Value::String(s.to_owned()));
    }
    let email = input
        .email_address
        .or_else(|| q.get("emailAddress").map(str::to_owned));
    let password = input
        .password
        .or_else(|| q.get("password").map(str::to_owned));
    let email = match (email, password) {
        (Some(e), Some(p)) if e != p => {
            return Err(bad_request(
                "orderLookup.password and orderLookup.emailAddress differ",
            ));
        }
        (e, p) => e.or(p),
    };
    let email = email.ok_or_else(|| {
        bad_request("orderLookup.emailAddress (or the order password) is required")
    })?;
    let last_four = input.credit_card_last_four_digits.or_else(|| {
        q.get("creditCardLastFourDigits")
            .or_else(|| q.get("creditCardLastDigits"))
            .map(str::to_owned)
    });
    let orders = match (input.order_id, last_four) {
        (Some(id), _) => {
            let id = match &id {
                Value::Number(n) => n.as_i64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }
            .ok_or_else(|| bad_request("orderLookup.orderId is not an id"))?;
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
                "give orderLookup.orderId, or creditCardLastFourDigits with a full token",
            ));
        }
    };
    if orders.is_empty() {
        return Err(not_found("an order matching the lookup"));
    }
    orders_response(&state, &q, &orders).await
}

/// `GET /v1/shoppers/me/payment-options` (full): reusable sources the shopper applied or
/// saved.
pub async fn list_payment_options(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
) -> ApiResult<Response> {
    let options = state.store.payment_options(full.shopper_id()).await?;
    Ok(q.respond_with(&PaymentOptionsEnvelope {
        payment_options: PaymentOptions::new(&q, &options),
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
    payment_option_response(&q, &options, &id, StatusCode::OK)
}

/// `DELETE /v1/shoppers/me/payment-options/{id}` (full): the source is no longer one of the
/// shopper's payment options → 204; not one of theirs → 404.
pub async fn delete_payment_option(
    State(state): State<AppState>,
    full: Full,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = id.strip_suffix(".json").unwrap_or(&id);
    if state
        .store
        .delete_payment_option(full.shopper_id(), id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(format!("payment option {id:?}")))
    }
}

fn payment_option_response(
    q: &ApiQuery,
    options: &[PaymentSourceRecord],
    id: &str,
    status: StatusCode,
) -> ApiResult<Response> {
    let default = default_option(options);
    let s = options
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| not_found(format!("payment option {id:?}")))?;
    let payment_option = PaymentOption::new(q, s, Some(s.id.as_str()) == default);
    let location = HeaderValue::from_str(&payment_option.uri).ok();
    let mut response = q.respond_with(&PaymentOptionEnvelope { payment_option });
    *response.status_mut() = status;
    if let (StatusCode::CREATED, Some(location)) = (status, location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `{"paymentOption": {"sourceId", "nickName", "isDefault"}, "shopper": {"ipAddress"}}`;
/// the WordPress plugin sends the option's `id` (its source id) beside or instead of
/// `sourceId`.
#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object {\"paymentOption\": {...}}"
)]
pub struct PaymentOptionBody {
    #[serde(default, deserialize_with = "opt_object")]
    payment_option: Option<PaymentOptionInput>,
    #[serde(default, deserialize_with = "opt_object")]
    shopper: Option<SessionInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a payment option object")]
pub struct PaymentOptionInput {
    #[serde(default, deserialize_with = "opt_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    source_id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    nick_name: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    is_default: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a shopper object")]
pub struct SessionInput {
    #[serde(default, deserialize_with = "opt_text")]
    ip_address: Option<String>,
}

/// `POST /v1/shoppers/me/payment-options` (full): saves a reusable payment source (one the
/// caller may use) as the shopper's payment option, with a nickname and the default flag →
/// 201 and the option; for a source already theirs, updates those → 200.
pub async fn save_payment_option(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
    AppJson(body): AppJson<PaymentOptionBody>,
) -> ApiResult<Response> {
    let input = body
        .payment_option
        .ok_or_else(|| bad_request("paymentOption is required"))?;
    let source_id = match (input.source_id, input.id) {
        (Some(s), Some(id)) if s != id => {
            return Err(bad_request(
                "paymentOption.id and paymentOption.sourceId differ",
            ));
        }
        (s, id) => s
            .or(id)
            .ok_or_else(|| bad_request("paymentOption.sourceId is required"))?,
    };
    let nickname = input.nick_name.filter(|n| !n.trim().is_empty());
    if let Some(n) = nickname.as_deref() {
        check_text("paymentOption.nickName", n, 256)?;
    }
    let p = &full.0;
    super::carts::set_ip_address(&state, p, body.shopper.and_then(|s| s.ip_address)).await?;
    let fields = PaymentOptionFields {
        nickname: nickname.as_deref(),
        is_default: input.is_default,
    };
    let already = checkout::save_payment_option(&state.store, p, &source_id, fields).await?;
    let options = state.store.payment_options(full.shopper_id()).await?;
    let status = if already {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    payment_option_response(&q, &options, &source_id, status)
}
