//! The merchant's side of order returns over the Admin API (Global Commerce documents none;
//! the paths follow the Shopper API's): list an order's returns, accept or reject a pending
//! one (synchronous), refund one (asynchronous: `202` with the task, which the job runner
//! carries out through the refunds ledger). Customer-service staff only
//! (`AdminAccess::Staff(staff::CUSTOMER_SERVICE)`). Every change writes its audit row (the
//! key and the staff user, the action, the return's status before and after) and its
//! `return.*` event in the change's transaction.

use super::admin::Admin;
use super::admin_error::{AdminError, AdminErrors};
use super::params::Params;
use super::shopper_api::ApiQuery;
use super::views::returns::{ReturnList, ReturnView, ReturnsEnvelope};
use super::views::tasks::TaskView;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shopkeeper_domain::admin_tasks::TaskRequest;
use shopkeeper_domain::returns::{self, ReturnAction};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{ReturnActionRefusal, ReturnRecord};

/// A path's id: a positive number, else the resource's 404.
fn path_id(raw: &str, subcode: &'static str, what: &str) -> Result<i64, AdminError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| not_found(subcode, what, raw))
}

fn not_found(subcode: &'static str, what: &str, raw: &str) -> AdminError {
    AdminError::not_found(subcode, format!("Cannot find the {what} [{raw}]."))
}

/// A return that may not take the action from its state: 409.
fn conflict(return_id: i64, from: returns::ReturnStatus, action: ReturnAction) -> AdminError {
    AdminError::new(
        StatusCode::CONFLICT,
        "concurrent_process_conflict",
        "cannot_change_return_state",
        format!(
            "The return [{return_id}] is [{}]: it cannot be {}.",
            from.as_str(),
            match action {
                ReturnAction::Accept => "accepted (only a PendingProductReturn can)",
                ReturnAction::Refuse => "rejected (only a PendingProductReturn can)",
                ReturnAction::Refund =>
                    "refunded (only a PendingProductReturn or ReturnAcknowledged can)",
            }
        ),
    )
}

/// The links base of the return views: the configured public URL.
fn links(state: &AppState) -> ApiQuery {
    ApiQuery {
        params: Params::default(),
        base: state.web.public_url.clone(),
    }
}

/// The site's order named by the path, else its 404.
async fn site_order(state: &AppState, admin: &Admin, raw: &str) -> Result<i64, AdminError> {
    let id = path_id(raw, "invalid-order-id", "order")?;
    if state.store.order_exists_on_site(&admin.site_id, id).await? {
        Ok(id)
    } else {
        Err(not_found("invalid-order-id", "order", raw))
    }
}

/// The order's returns (all, or the one `only`), as the Shopper API's list shows them.
async fn render(
    state: &AppState,
    admin: &Admin,
    order_id: i64,
    only: Option<i64>,
) -> Result<Response, AdminError> {
    let records: Vec<ReturnRecord> = state
        .store
        .site_returns(&admin.site_id, Some(order_id))
        .await?
        .into_iter()
        .filter(|r| only.is_none_or(|id| r.id == id))
        .collect();
    let lines = state.store.return_lines(order_id).await?;
    let order_lines = state.store.order_lines(order_id).await?;
    let q = links(state);
    let items = records
        .iter()
        .map(|r| ReturnView::new(&q, r, &lines, &order_lines))
        .collect();
    Ok(Json(ReturnsEnvelope {
        returns: ReturnList { items },
    })
    .into_response())
}

/// `GET /v1/orders/{orderId}/returns`: the order's returns, oldest first.
#[utoipa::path(
    get,
    path = "/v1/orders/{orderId}/returns",
    tag = "admin",
    description = "The returns shoppers asked for on one of the site's orders, oldest first, \
        in the Shopper API's shape (beyond the docs). Access: `/auth` with a Customer Service \
        role.",
    params(("orderId" = i64, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order's returns", body = ReturnsEnvelope),
        (status = 401, description = "No Admin API credentials", body = AdminErrors),
        (status = 403, description = "Not a customer-service staff user", body = AdminErrors),
        (status = 404, description = "resource-not-found / invalid-order-id", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn list_returns(
    admin: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Response, AdminError> {
    let order_id = site_order(&state, &admin, &raw).await?;
    render(&state, &admin, order_id, None).await
}

/// Accept or reject: the action, then the return as it is now.
async fn act(
    state: &AppState,
    admin: &Admin,
    raw_order: &str,
    raw_return: &str,
    action: ReturnAction,
) -> Result<Response, AdminError> {
    let order_id = site_order(state, admin, raw_order).await?;
    let return_id = path_id(raw_return, "invalid-return-id", "return")?;
    let acted = state
        .store
        .act_on_order_return(
            &admin.site_id,
            order_id,
            return_id,
            action,
            &admin.actor(),
            state.clock.now(),
        )
        .await?;
    match acted {
        Ok(_) => render(state, admin, order_id, Some(return_id)).await,
        Err(ReturnActionRefusal::NotFound) => {
            Err(not_found("invalid-return-id", "return", raw_return))
        }
        Err(ReturnActionRefusal::NotAllowed { from }) => Err(conflict(return_id, from, action)),
    }
}

/// `POST /v1/orders/{orderId}/returns/{returnId}/accept`: `PendingProductReturn` →
/// `ReturnAcknowledged`.
#[utoipa::path(
    post,
    path = "/v1/orders/{orderId}/returns/{returnId}/accept",
    tag = "admin",
    description = "Accepts a pending return (beyond the docs; synchronous). Access: `/auth` \
        with a Customer Service role. Writes the audit row and the `return.acknowledged` \
        event. A return in another state is a 409 `concurrent_process_conflict` / \
        `cannot_change_return_state`.",
    params(
        ("orderId" = i64, Path, description = "The order's id"),
        ("returnId" = i64, Path, description = "The return's id"),
    ),
    responses(
        (status = 200, description = "The return, accepted", body = ReturnsEnvelope),
        (status = 401, description = "No Admin API credentials", body = AdminErrors),
        (status = 403, description = "Not a customer-service staff user", body = AdminErrors),
        (status = 404, description = "resource-not-found / invalid-order-id or invalid-return-id", body = AdminErrors),
        (status = 409, description = "concurrent_process_conflict / cannot_change_return_state", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn accept_return(
    admin: Admin,
    State(state): State<AppState>,
    Path((raw_order, raw_return)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    act(
        &state,
        &admin,
        &raw_order,
        &raw_return,
        ReturnAction::Accept,
    )
    .await
}

/// `POST /v1/orders/{orderId}/returns/{returnId}/reject`: `PendingProductReturn` → `Refused`.
#[utoipa::path(
    post,
    path = "/v1/orders/{orderId}/returns/{returnId}/reject",
    tag = "admin",
    description = "Rejects a pending return (beyond the docs; synchronous): its units may be \
        asked for again. Access: `/auth` with a Customer Service role. Writes the audit row and \
        the `return.refused` event. A return in another state is a 409 \
        `concurrent_process_conflict` / `cannot_change_return_state`.",
    params(
        ("orderId" = i64, Path, description = "The order's id"),
        ("returnId" = i64, Path, description = "The return's id"),
    ),
    responses(
        (status = 200, description = "The return, refused", body = ReturnsEnvelope),
        (status = 401, description = "No Admin API credentials", body = AdminErrors),
        (status = 403, description = "Not a customer-service staff user", body = AdminErrors),
        (status = 404, description = "resource-not-found / invalid-order-id or invalid-return-id", body = AdminErrors),
        (status = 409, description = "concurrent_process_conflict / cannot_change_return_state", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn reject_return(
    admin: Admin,
    State(state): State<AppState>,
    Path((raw_order, raw_return)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    act(
        &state,
        &admin,
        &raw_order,
        &raw_return,
        ReturnAction::Refuse,
    )
    .await
}

/// `POST /v1/orders/{orderId}/returns/{returnId}/refund`: asynchronous; `202` with the task.
#[utoipa::path(
    post,
    path = "/v1/orders/{orderId}/returns/{returnId}/refund",
    tag = "admin",
    description = "Refunds a pending or accepted return (beyond the docs; asynchronous). \
        Access: `/auth` with a Customer Service role. Answers `202` at once with the \
        `PUBLISHED` task; the job runner then writes the refunds ledger's row, the audit row \
        and the `return.refunded` event in one transaction and ends the task `COMPLETED`, or \
        `FAILED` with its async error (`RETURN_NOT_REFUNDABLE` when the return was rejected \
        or refunded meanwhile). Follow it at `GET /v1/tasks/{taskId}`. A return that cannot \
        be refunded when asked is a 409 `concurrent_process_conflict` / \
        `cannot_change_return_state`.",
    params(
        ("orderId" = i64, Path, description = "The order's id"),
        ("returnId" = i64, Path, description = "The return's id"),
    ),
    responses(
        (status = 202, description = "The task", body = TaskView),
        (status = 401, description = "No Admin API credentials", body = AdminErrors),
        (status = 403, description = "Not a customer-service staff user", body = AdminErrors),
        (status = 404, description = "resource-not-found / invalid-order-id or invalid-return-id", body = AdminErrors),
        (status = 409, description = "concurrent_process_conflict / cannot_change_return_state", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn refund_return(
    admin: Admin,
    State(state): State<AppState>,
    Path((raw_order, raw_return)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let order_id = site_order(&state, &admin, &raw_order).await?;
    let return_id = path_id(&raw_return, "invalid-return-id", "return")?;
    let current = state
        .store
        .site_returns(&admin.site_id, Some(order_id))
        .await?
        .into_iter()
        .find(|r| r.id == return_id)
        .ok_or_else(|| not_found("invalid-return-id", "return", &raw_return))?;
    // Checked now so that a request that cannot succeed is told at once; the task checks
    // again when it runs (the return may be moved on meanwhile).
    if returns::transition(current.status, ReturnAction::Refund).is_none() {
        return Err(conflict(return_id, current.status, ReturnAction::Refund));
    }
    let request = TaskRequest::RefundReturn {
        order_id,
        return_id,
    };
    let task =
        shopkeeper_services::admin_tasks::submit(&state, &admin.site_id, &request, &admin.actor())
            .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TaskView::new(&state.web.public_url, &task)),
    )
        .into_response())
}
