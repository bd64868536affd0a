//! The Admin API's asynchronous tasks (`general-resources/admin-apis-reference/tasks.md`):
//! `GET /v1/tasks` (a site's tasks: a window of received times, statuses, pages both ways)
//! and `GET /v1/tasks/{taskId}`. The docs serve product tasks under `/v1/products/tasks`;
//! these are the same rows for every request type (README, "Asynchronous tasks"). Both need
//! an Admin API key (`AdminAccess::Key`); the query's refusals are the documented
//! `invalid-request` subcodes, an unknown task `resource-not-found` / `invalid-task-id`.

use super::admin::Admin;
use super::admin_error::{AdminError, AdminErrors};
use super::views::tasks::{TaskPageView, TaskView};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use shopkeeper_domain::admin_tasks::{parse_task_id, parse_task_query, task_not_found};
use shopkeeper_services::state::AppState;
use shopkeeper_store::StoreError;

fn now_ms(state: &AppState) -> i64 {
    i64::try_from(state.clock.now_millis()).unwrap_or(i64::MAX)
}

/// `GET /v1/tasks`: a page of the site's tasks.
#[utoipa::path(
    get,
    path = "/v1/tasks",
    tag = "admin",
    description = "The site's asynchronous tasks, oldest first. Access: a confidential key \
        with Admin APIs permission (`Basic key:secret`), or a staff token made with one. \
        `beginReceivedTime` / `endReceivedTime` (ISO 8601) bound the received time, at most 30 \
        days apart (one alone opens 30 days from it; neither: the last 30 days); `taskStatus` \
        (comma-separated) filters; `limit` 1-50 (default 50); `startingAfter` / \
        `endingBefore` (a taskId from `nextPage` / `previousPage`) page. Refusals: 400 \
        `invalid-request` with `invalid-datetime-format`, `duration-begin-later-than-end`, \
        `duration-exceeds-max-value`, `duration-in-the-future`, `invalid_limit`, \
        `invalid_task_status`, `startingAfter-and-endingBefore-cannot-be-both-provided`; 404 \
        `resource-not-found` / `invalid-task-id` for a cursor that names no task.",
    params(
        ("beginReceivedTime" = Option<String>, Query, description = "ISO 8601 UTC"),
        ("endReceivedTime" = Option<String>, Query, description = "ISO 8601 UTC"),
        ("taskStatus" = Option<String>, Query, description = "PUBLISHED, PROCESSING, COMPLETED, FAILED (comma-separated)"),
        ("limit" = Option<i64>, Query, description = "1 to 50"),
        ("startingAfter" = Option<String>, Query, description = "a taskId"),
        ("endingBefore" = Option<String>, Query, description = "a taskId"),
    ),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPageView),
        (status = 400, description = "A documented invalid-request subcode", body = AdminErrors),
        (status = 401, description = "No Admin API credentials", body = AdminErrors),
        (status = 403, description = "The key has no Admin API permission", body = AdminErrors),
        (status = 404, description = "resource-not-found / invalid-task-id (the cursor)", body = AdminErrors),
    ),
    security(("api_key_basic" = []), ("bearer" = []))
)]
pub async fn list_tasks(
    admin: Admin,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<TaskPageView>, AdminError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect();
    let query = parse_task_query(&pairs, now_ms(&state))
        .map_err(|e| AdminError::invalid(e.subcode, e.message))?;
    let page = match state.store.admin_tasks_page(&admin.site_id, &query).await {
        Ok(page) => page,
        Err(StoreError::NotFound(raw)) => {
            return Err(AdminError::not_found(
                "invalid-task-id",
                task_not_found(&raw),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Json(TaskPageView::new(
        &state.web.public_url,
        &query,
        &page,
    )))
}

/// `GET /v1/tasks/{taskId}`: one of the site's tasks.
#[utoipa::path(
    get,
    path = "/v1/tasks/{taskId}",
    tag = "admin",
    description = "One of the site's asynchronous tasks, as it is now: `PUBLISHED`, \
        `PROCESSING`, `COMPLETED` or `FAILED` with its async error objects. Access: a \
        confidential key with Admin APIs permission (`Basic key:secret`), or a staff token \
        made with one.",
    params(("taskId" = String, Path, description = "The task's id (a UUID)")),
    responses(
        (status = 200, description = "The task", body = TaskView),
        (status = 401, description = "No Admin API credentials", body = AdminErrors),
        (status = 403, description = "The key has no Admin API permission", body = AdminErrors),
        (status = 404, description = "resource-not-found / invalid-task-id", body = AdminErrors),
    ),
    security(("api_key_basic" = []), ("bearer" = []))
)]
pub async fn get_task(
    admin: Admin,
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<TaskView>, AdminError> {
    let task = match parse_task_id(&raw) {
        Some(id) => state.store.site_admin_task(&admin.site_id, &id).await?,
        None => None,
    };
    let task =
        task.ok_or_else(|| AdminError::not_found("invalid-task-id", task_not_found(&raw)))?;
    Ok(Json(TaskView::new(&state.web.public_url, &task)))
}
