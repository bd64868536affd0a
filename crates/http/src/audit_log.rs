//! Reading the audit trail over the Admin API: an order's log ("Global Commerce records users'
//! activities in the order log", `refunds/authorization.md`) and a staff user's actions. Rows
//! are written by the changes themselves (`store::audit`); nothing here writes.

use super::admin::Admin;
use super::admin_error::{AdminError, AdminErrors};
use axum::Json;
use axum::extract::{Path, State};
use shopkeeper_domain::time::iso8601;
use shopkeeper_services::state::AppState;
use shopkeeper_store::AuditRecord;

/// Who made a change.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditActorView {
    pub api_key: String,
    /// The staff user, when the change came through `/auth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

/// One change.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryView {
    pub id: String,
    pub date: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    pub actor: AuditActorView,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// A log, oldest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogView {
    pub entries: Vec<AuditEntryView>,
}

fn json(text: Option<String>) -> Option<serde_json::Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

impl From<AuditRecord> for AuditEntryView {
    fn from(r: AuditRecord) -> Self {
        AuditEntryView {
            id: r.id.to_string(),
            date: iso8601(r.at),
            action: r.action,
            subject_type: r.subject_type,
            subject_id: r.subject_id,
            order_id: r.order_id.map(|id| id.to_string()),
            actor: AuditActorView {
                api_key: r.api_key,
                user_name: r.staff_username,
            },
            before: json(r.before_state),
            after: json(r.after_state),
        }
    }
}

fn view(rows: Vec<AuditRecord>) -> Json<AuditLogView> {
    Json(AuditLogView {
        entries: rows.into_iter().map(AuditEntryView::from).collect(),
    })
}

#[utoipa::path(
    get,
    path = "/v1/orders/{orderId}/log",
    tag = "admin",
    description = "The order's log: every Admin API change to the order, its refunds and \
                   returns. Access: `/auth` with a Customer Service role.",
    params(("orderId" = String, Path)),
    responses(
        (status = 200, description = "The log, oldest first", body = AuditLogView),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "No Customer Service role", body = AdminErrors),
        (status = 404, description = "No such order on the site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn order_log(
    admin: Admin,
    State(state): State<AppState>,
    Path(order_id): Path<String>,
) -> Result<Json<AuditLogView>, AdminError> {
    let missing = || {
        AdminError::not_found(
            "invalid-order-id",
            format!("Cannot find the order [{order_id}]."),
        )
    };
    let id: i64 = order_id.parse().map_err(|_| missing())?;
    if !state.store.order_exists_on_site(&admin.site_id, id).await? {
        return Err(missing());
    }
    Ok(view(state.store.audit_for_order(&admin.site_id, id).await?))
}

#[utoipa::path(
    get,
    path = "/v1/staff-users/{username}/log",
    tag = "admin",
    description = "What a staff user did through the Admin API. Access: `/auth` with the \
                   Customer Service Director or Site Manager role.",
    params(("username" = String, Path)),
    responses(
        (status = 200, description = "The log, oldest first", body = AuditLogView),
        (status = 401, description = "No staff token", body = AdminErrors),
        (status = 403, description = "Not a Customer Service Director or Site Manager", body = AdminErrors),
        (status = 404, description = "No such staff user on the site", body = AdminErrors),
    ),
    security(("bearer" = []))
)]
pub async fn staff_log(
    admin: Admin,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Json<AuditLogView>, AdminError> {
    let Some(user) = state.store.staff_user(&admin.site_id, &username).await? else {
        return Err(AdminError::not_found(
            "invalid-user",
            format!("Cannot find the staff user [{username}]."),
        ));
    };
    Ok(view(
        state.store.audit_for_staff(&admin.site_id, user.id).await?,
    ))
}
