//! Refunds over the Admin API (`admin-apis/refunds/`): create a satisfaction refund at line-item
//! or order level, list an order's refunds, what is left to refund, and the request's JSON
//! schema. Every route needs `/auth` with a Customer Service role (the `Admin` extractor and the
//! table's rows). The body is parsed by `domain::refunds`; the store re-checks what is left
//! inside the transaction that writes the refund, its ledger row, its audit row and its event.

use super::admin::Admin;
use super::admin_error::{AdminError, AdminErrors};
use super::views::refunds::{RefundView, RefundsAvailable, RefundsEnvelope};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use serde_json::Value;
use shopkeeper_domain::refunds::{self, RefundError, Refundable};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{NewSatisfactionRefund, RefundAuthor};

/// A documented refund error scenario in the Admin API's error shape: the order not found is a
/// 404 `resource-not-found`, every other one a 400 `invalid-request`, each with its documented
/// message.
fn refused(e: RefundError) -> AdminError {
    if e.not_found() {
        AdminError::not_found(e.subcode(), e.message())
    } else {
        AdminError::invalid(e.subcode(), e.message())
    }
}

/// The site's order the path names, as the refund rules see it, and its status.
async fn order(
    state: &AppState,
    admin: &Admin,
    raw: &str,
) -> Result<(i64, Refundable, String), AdminError> {
    let id = raw
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| refused(RefundError::RequisitionNotFound))?;
    match state.store.order_refundable(&admin.site_id, id).await? {
        Some((refundable, status)) => Ok((id, refundable, status)),
        None => Err(refused(RefundError::RequisitionNotFound)),
    }
}

#[utoipa::path(
    post,
    path = "/orders/{orderId}/refunds",
    tag = "admin",
    description = "Creates a satisfaction refund: `productRefund` (`PRODUCT_LEVEL_PRODUCT`, \
                   each line's `refundAmount`) or `orderRefund` (`ORDER_LEVEL_PRODUCT`, the \
                   order's `refundAmount`), never more than is left of what the line paid or \
                   of the order's charge. The money goes back to the order's payment source \
                   (the charge ledger). Access: `/auth` with a Customer Service role.",
    params(("orderId" = String, Path)),
    request_body(content = Object, description = "The refund (see `GET .../refunds/schema`)"),
    responses(
        (status = 200, description = "The refund", body = RefundsEnvelope),
        (status = 400, description = "A documented refund error scenario", body = AdminErrors),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "Not a Customer Service Representative, Supervisor or Director", body = AdminErrors),
        (status = 404, description = "No such order on the site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn create_refund(
    admin: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RefundsEnvelope>, AdminError> {
    // Too large or unreadable: the Admin shape, not axum's plain text.
    let body = body.map_err(|e| {
        AdminError::new(
            e.status(),
            "invalid-request",
            "invalid-request-body",
            e.body_text(),
        )
    })?;
    let (order_id, refundable, _) = order(&state, &admin, &raw).await?;
    let body: Value = serde_json::from_slice(&body).map_err(|e| {
        refused(RefundError::Malformed(format!(
            "The body is not a JSON object: {e}"
        )))
    })?;
    let request = refunds::parse_request(&body, &refundable.currency).map_err(refused)?;
    let actor = admin.actor();
    let generated_by = admin.display_name();
    let created = state
        .store
        .create_satisfaction_refund(
            &NewSatisfactionRefund {
                site_id: &admin.site_id,
                order_id,
                request: &request,
                author: RefundAuthor {
                    actor: &actor,
                    generated_by: &generated_by,
                },
            },
            state.clock.now(),
        )
        .await?
        .map_err(refused)?;
    let order_lines = state.store.order_lines(order_id).await?;
    Ok(Json(RefundsEnvelope {
        refunds: vec![RefundView::new(
            &created.refund,
            &created.lines,
            &order_lines,
        )],
    }))
}

#[utoipa::path(
    get,
    path = "/orders/{orderId}/refunds",
    tag = "admin",
    description = "The order's satisfaction refunds, oldest first. Access: `/auth` with a \
                   Customer Service role.",
    params(("orderId" = String, Path)),
    responses(
        (status = 200, description = "The refunds", body = RefundsEnvelope),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "Not a Customer Service Representative, Supervisor or Director", body = AdminErrors),
        (status = 404, description = "No such order on the site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn list_refunds(
    admin: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<RefundsEnvelope>, AdminError> {
    let (order_id, _, _) = order(&state, &admin, &raw).await?;
    let list = state
        .store
        .satisfaction_refunds(&admin.site_id, order_id)
        .await?;
    let lines = state.store.satisfaction_refund_lines(order_id).await?;
    let order_lines = state.store.order_lines(order_id).await?;
    Ok(Json(RefundsEnvelope {
        refunds: list
            .iter()
            .map(|r| RefundView::new(r, &lines, &order_lines))
            .collect(),
    }))
}

#[utoipa::path(
    get,
    path = "/orders/{orderId}/refunds-available",
    tag = "admin",
    description = "What is left to refund: per line (what it paid, what refunds and refunded \
                   returns gave back, what a line-item level refund may still give) and for \
                   the order (its charge, the ledger's sum, what an order-level refund may \
                   still give). Access: `/auth` with a Customer Service role.",
    params(("orderId" = String, Path)),
    responses(
        (status = 200, description = "The amounts", body = RefundsAvailable),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "Not a Customer Service Representative, Supervisor or Director", body = AdminErrors),
        (status = 404, description = "No such order on the site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn refunds_available(
    admin: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<RefundsAvailable>, AdminError> {
    let (order_id, refundable, status) = order(&state, &admin, &raw).await?;
    let order_lines = state.store.order_lines(order_id).await?;
    Ok(Json(RefundsAvailable::new(
        admin.site_id.as_str(),
        &status,
        &refundable,
        &order_lines,
    )))
}

#[utoipa::path(
    get,
    path = "/orders/{orderId}/refunds/schema",
    tag = "admin",
    description = "The draft-04 JSON Schema of the refund request for the order (its currency's \
                   decimals; the types, categories and reason codes accepted). Access: `/auth` \
                   with a Customer Service role.",
    params(("orderId" = String, Path)),
    responses(
        (status = 200, description = "The schema", body = Object),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "Not a Customer Service Representative, Supervisor or Director", body = AdminErrors),
        (status = 404, description = "No such order on the site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn refund_schema(
    admin: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<Value>, AdminError> {
    let (_, refundable, _) = order(&state, &admin, &raw).await?;
    Ok(Json(refunds::request_schema(&refundable.currency)))
}
