//! An order's returns (seed 003's `shoppers/me/orders/{id}/returns`, full token): the signed-in
//! shopper lists the returns of one of their orders and asks for units of its lines back. The
//! rules are `domain::returns` (reason codes, the return period, units left, subscriptions);
//! the store checks them in the transaction that counts the earlier returns. Another
//! shopper's order is a 404.

use super::access::Full;
use super::error::ShopperApiError;
use super::extract::OptionalJson;
use super::shopper_api::{ApiQuery, ApiResult, bad_request, cart_conflict, not_found, path_id};
use super::tolerant::{self, one_or_many, opt_i64, opt_object, opt_text};
use super::views::returns::{NewReturnEnvelope, ReturnList, ReturnView, ReturnsEnvelope};
use crate::error::Code;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use shopkeeper_domain::returns::{self, MAX_COMMENTS_CHARS, ReturnRefusal, WantedLine};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{NewReturn, OrderRecord};

/// A request the shopper can correct is the documented 400 `invalid-request`; one refused
/// because of the order (its period, what was returned before, a subscription line) is the
/// documented 409 `operation-failed`, saying why.
impl From<ReturnRefusal> for ShopperApiError {
    fn from(refusal: ReturnRefusal) -> Self {
        if refusal.is_conflict() {
            cart_conflict(Code::OperationFailed, refusal.to_string())
        } else {
            bad_request(refusal.to_string())
        }
    }
}

/// The signed-in shopper's order named by the path (orders of their session included), else
/// the route's 404.
async fn own_order(state: &AppState, full: &Full, raw: &str) -> ApiResult<OrderRecord> {
    let id = path_id(raw, "order")?;
    let p = &full.0;
    state
        .store
        .order_visible(&p.site_id, &p.session_id, Some(full.shopper_id()), id)
        .await?
        .ok_or_else(|| not_found(format!("order {id}")))
}

/// The order's returns, oldest first (all of them, or only `only`), as views.
async fn render(
    state: &AppState,
    q: &ApiQuery,
    order: &OrderRecord,
    only: Option<i64>,
    post: bool,
) -> ApiResult<Response> {
    let records = state.store.order_returns(order.id).await?;
    let lines = state.store.return_lines(order.id).await?;
    let order_lines = state.store.order_lines(order.id).await?;
    let items = records
        .iter()
        .filter(|r| only.is_none_or(|id| r.id == id))
        .map(|r| ReturnView::new(q, r, &lines, &order_lines))
        .collect();
    let list = ReturnList { items };
    Ok(if post {
        q.respond_with(&NewReturnEnvelope {
            returns: vec![list],
        })
    } else {
        q.respond_with(&ReturnsEnvelope { returns: list })
    })
}

/// `GET /v1/shoppers/me/orders/{id}/returns`: `{"returns": {"return": [...]}}`.
pub async fn list_returns(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let order = own_order(&state, &full, &raw).await?;
    render(&state, &q, &order, None, false).await
}

/// `{"return": {"reason", "comments", "acceptELOD", "returnLineItems": {"returnLineItem":
/// [...]}}}` (or the bare object).
#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a return object {\"reason\", \"comments\", \"returnLineItems\"}"
)]
pub struct ReturnWire {
    #[serde(default, deserialize_with = "opt_text")]
    reason: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    comments: Option<String>,
    /// Accepting the end of the licence of what is returned: read, not needed (a return of
    /// a download ends its licence here anyway).
    #[serde(default, rename = "acceptELOD", deserialize_with = "opt_text")]
    _accept_elod: Option<String>,
    #[serde(default, deserialize_with = "opt_object")]
    return_line_items: Option<ReturnLinesWire>,
}

#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "an object {\"returnLineItem\": [...]}"
)]
pub struct ReturnLinesWire {
    #[serde(default, deserialize_with = "one_or_many")]
    return_line_item: Vec<ReturnLineWire>,
}

/// `{"lineItemQuantityIDs": [1], "lineItem": {"id", "quantity"}}`: without `quantity`, as
/// many units as `lineItemQuantityIDs` names.
#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a return line object {\"lineItemQuantityIDs\", \"lineItem\": {\"id\", \"quantity\"}}"
)]
pub struct ReturnLineWire {
    #[serde(
        default,
        rename = "lineItemQuantityIDs",
        deserialize_with = "one_or_many"
    )]
    line_item_quantity_ids: Vec<Value>,
    #[serde(default, deserialize_with = "opt_object")]
    line_item: Option<LineItemWire>,
}

#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a line item object {\"id\", \"quantity\"}"
)]
pub struct LineItemWire {
    #[serde(default, deserialize_with = "opt_i64")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    quantity: Option<i64>,
}

const WHAT_TO_SEND: &str = "give a return: {\"return\": {\"reason\", \"comments\", \
                            \"returnLineItems\": {\"returnLineItem\": [{\"lineItem\": {\"id\", \
                            \"quantity\"}}]}}}";

/// The body's reason, comments and lines.
fn read_body(body: Option<Value>) -> ApiResult<(&'static str, String, Vec<WantedLine>)> {
    let body = body.ok_or_else(|| bad_request(WHAT_TO_SEND))?;
    let (inner, at) = tolerant::unwrap_envelope(body, "return");
    if tolerant::is_nothing(&inner) {
        return Err(bad_request(WHAT_TO_SEND));
    }
    let wire: ReturnWire = tolerant::from_value(inner, at)?;
    let reason = wire
        .reason
        .as_deref()
        .ok_or_else(|| bad_request("return.reason is required (a return reason code)"))?;
    let reason = returns::check_reason(reason)?;
    let comments = wire.comments.unwrap_or_default().trim().to_owned();
    if comments.chars().count() > MAX_COMMENTS_CHARS {
        return Err(ReturnRefusal::CommentsTooLong.into());
    }
    let wanted = wire
        .return_line_items
        .map(|l| l.return_line_item)
        .unwrap_or_default();
    if wanted.len() > returns::MAX_RETURN_LINES {
        return Err(ReturnRefusal::TooManyLines.into());
    }
    let mut lines = Vec::with_capacity(wanted.len());
    for (i, w) in wanted.into_iter().enumerate() {
        let at = format!("return.returnLineItems.returnLineItem[{i}]");
        let item = w
            .line_item
            .ok_or_else(|| bad_request(format!("{at}.lineItem is required")))?;
        let line_id = item
            .id
            .ok_or_else(|| bad_request(format!("{at}.lineItem.id is required")))?;
        let quantity = match (item.quantity, w.line_item_quantity_ids.len()) {
            (Some(q), _) => q,
            (None, n) if n > 0 => i64::try_from(n).unwrap_or(i64::MAX),
            (None, _) => {
                return Err(bad_request(format!("{at}.lineItem.quantity is required")));
            }
        };
        lines.push(WantedLine { line_id, quantity });
    }
    if lines.is_empty() {
        return Err(ReturnRefusal::NoLines.into());
    }
    Ok((reason, comments, lines))
}

/// `POST /v1/shoppers/me/orders/{id}/returns`: asks for units of the order's lines back;
/// `200` with `{"returns": [{"return": [the new return]}]}`.
pub async fn post_return(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<Value>,
) -> ApiResult<Response> {
    let order = own_order(&state, &full, &raw).await?;
    let (reason, comments, lines) = read_body(body)?;
    let id = state
        .store
        .request_return(
            &NewReturn {
                site_id: &full.0.site_id,
                order_id: order.id,
                shopper_id: full.shopper_id(),
                reason,
                comments: &comments,
                lines: &lines,
            },
            state.clock.now(),
        )
        .await??;
    render(&state, &q, &order, Some(id), true).await
}
