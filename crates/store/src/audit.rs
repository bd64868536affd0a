//! The audit trail: one append-only row per Admin API change — who (the API key, and the staff
//! user when there is one), what, when, and the subject's state before and after — written by
//! [`append_audit`] inside the transaction of the change, so it exists exactly when the change
//! does. The table's triggers refuse any update or delete (migration 0041).

use super::{Store, StoreResult};
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{ApiKey, SiteId};
use sqlx::AnyConnection;

/// Who made a change: the key it came through, and the staff user signed in with it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub api_key: ApiKey,
    pub staff_user_id: Option<i64>,
}

/// One change, as the caller records it.
pub struct AuditEntry<'a> {
    pub site_id: &'a SiteId,
    pub actor: &'a Actor,
    /// What was done, `subject.verb` (`refund.created`, `return.accepted`).
    pub action: &'a str,
    /// What it was done to (`order`, `return`, `site`) and its id.
    pub subject_type: &'a str,
    pub subject_id: &'a str,
    /// The order it belongs to, so the order's log finds it.
    pub order_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub at: UnixSeconds,
}

/// A row as read back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub site_id: String,
    pub at: i64,
    pub api_key: String,
    pub staff_user_id: Option<i64>,
    /// The staff user's name (joined as it is read).
    pub staff_username: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub order_id: Option<i64>,
    /// JSON text.
    pub before_state: Option<String>,
    pub after_state: Option<String>,
}

/// Appends the row inside the caller's transaction.
pub async fn append_audit(conn: &mut AnyConnection, entry: &AuditEntry<'_>) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (site_id, at, api_key, staff_user_id, action, subject_type, \
         subject_id, order_id, before_state, after_state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(entry.site_id.as_str())
    .bind(entry.at)
    .bind(entry.actor.api_key.as_str())
    .bind(entry.actor.staff_user_id)
    .bind(entry.action)
    .bind(entry.subject_type)
    .bind(entry.subject_id)
    .bind(entry.order_id)
    .bind(entry.before.as_ref().map(|v| v.to_string()))
    .bind(entry.after.as_ref().map(|v| v.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `SELECT <columns> FROM audit_log ...` followed by the given literal tail (sqlx wants
/// literal SQL).
macro_rules! select_audit {
    ($tail:literal) => {
        concat!(
            "SELECT a.id, a.site_id, a.at, a.api_key, a.staff_user_id, \
             u.username AS staff_username, a.action, a.subject_type, a.subject_id, a.order_id, \
             a.before_state, a.after_state FROM audit_log a \
             LEFT JOIN staff_users u ON u.id = a.staff_user_id ",
            $tail
        )
    };
}

impl Store {
    /// Whether the order is one of the site's.
    pub async fn order_exists_on_site(&self, site_id: &SiteId, order_id: i64) -> StoreResult<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM orders WHERE id = $1 AND site_id = $2")
                .bind(order_id)
                .bind(site_id.as_str())
                .fetch_optional(&self.read)
                .await?;
        Ok(row.is_some())
    }

    /// An order's log, oldest first.
    pub async fn audit_for_order(
        &self,
        site_id: &SiteId,
        order_id: i64,
    ) -> StoreResult<Vec<AuditRecord>> {
        Ok(sqlx::query_as(select_audit!(
            "WHERE a.site_id = $1 AND a.order_id = $2 ORDER BY a.id"
        ))
        .bind(site_id.as_str())
        .bind(order_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// What a staff user did, oldest first.
    pub async fn audit_for_staff(
        &self,
        site_id: &SiteId,
        staff_user_id: i64,
    ) -> StoreResult<Vec<AuditRecord>> {
        Ok(sqlx::query_as(select_audit!(
            "WHERE a.site_id = $1 AND a.staff_user_id = $2 ORDER BY a.id"
        ))
        .bind(site_id.as_str())
        .bind(staff_user_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Every row of a site, oldest first (the CLI's `audit list`).
    pub async fn audit_for_site(&self, site_id: &SiteId) -> StoreResult<Vec<AuditRecord>> {
        Ok(
            sqlx::query_as(select_audit!("WHERE a.site_id = $1 ORDER BY a.id"))
                .bind(site_id.as_str())
                .fetch_all(&self.read)
                .await?,
        )
    }
}
