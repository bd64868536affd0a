//! The merchant's side of order returns over the Admin API: accept and reject (synchronous),
//! and the work of a refund task (asynchronous). Each change is the CLI's own change
//! (`returns::act_on`, with its event) plus its audit row, in one transaction; a refund task
//! also ends there, so the refund, its audit row and the task's `COMPLETED` commit together.

use super::admin_tasks::{AdminTaskRecord, TaskOutcome, finish_task_on, hold_processing_task};
use super::returns::{Acted, act_on};
use super::{ReturnActionRefusal, ReturnRecord, Store, StoreResult};
use serde_json::json;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::admin_tasks::return_not_refundable;
use shopkeeper_domain::returns::ReturnAction;
use shopkeeper_domain::time::UnixSeconds;

/// The audit trail's name of an action on a return.
fn audit_action(action: ReturnAction) -> &'static str {
    match action {
        ReturnAction::Accept => "return.accepted",
        ReturnAction::Refuse => "return.rejected",
        ReturnAction::Refund => "return.refunded",
    }
}

/// What the audit row says the return became.
fn after_state(acted: &Acted) -> serde_json::Value {
    let r = &acted.after;
    let mut after = json!({
        "status": r.status.as_str(),
        "requestedMinor": r.requested_minor,
        "refundedMinor": r.refunded_minor,
        "currency": r.currency,
    });
    if let Some(refund) = acted.refund_id {
        after["refundId"] = json!(refund);
    }
    after
}

impl Store {
    /// The merchant's `action` (accept or reject) on the return `id` of the site's order
    /// `order_id`, by `actor`, with its audit row; the return as it is now, or the refusal.
    pub async fn act_on_order_return(
        &self,
        site_id: &SiteId,
        order_id: i64,
        id: i64,
        action: ReturnAction,
        actor: &crate::audit::Actor,
        now: UnixSeconds,
    ) -> StoreResult<Result<ReturnRecord, ReturnActionRefusal>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let acted = match act_on(&mut tx, site_id, Some(order_id), id, action, now).await? {
            Ok(acted) => acted,
            Err(refusal) => return Ok(Err(refusal)),
        };
        audit(&mut tx, site_id, actor, action, &acted, now).await?;
        tx.commit().await?;
        Ok(Ok(acted.after))
    }

    /// The work of a refund task: refunds its return through the ledger (as the CLI's refund
    /// does), writes the audit row naming who asked, and ends the task, all in one
    /// transaction. When the return cannot be refunded any more (refused or refunded
    /// meanwhile, or gone) the task fails with its async error and nothing else changes.
    /// `None` when the task is not being worked on (it finished already): nothing is done.
    pub async fn refund_return_for_task(
        &self,
        task: &AdminTaskRecord,
        order_id: i64,
        return_id: i64,
        now_ms: i64,
    ) -> StoreResult<Option<TaskOutcome>> {
        let now = now_ms.div_euclid(1000);
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        if !hold_processing_task(&mut tx, &task.id).await? {
            return Ok(None);
        }
        let site_id = &task.site_id;
        let outcome = match act_on(
            &mut tx,
            site_id,
            Some(order_id),
            return_id,
            ReturnAction::Refund,
            now,
        )
        .await?
        {
            Ok(acted) => {
                let actor = crate::audit::Actor {
                    api_key: task.api_key.clone(),
                    staff_user_id: task.staff_user_id,
                };
                audit(&mut tx, site_id, &actor, ReturnAction::Refund, &acted, now).await?;
                let r = &acted.after;
                TaskOutcome::Completed(json!({
                    "orderId": r.order_id,
                    "returnId": r.id,
                    "status": r.status.as_str(),
                    "refundId": acted.refund_id,
                    "refundedMinor": r.refunded_minor,
                    "currency": r.currency,
                }))
            }
            Err(refusal) => {
                let from = match refusal {
                    ReturnActionRefusal::NotFound => None,
                    ReturnActionRefusal::NotAllowed { from } => Some(from),
                };
                TaskOutcome::Failed(vec![return_not_refundable(order_id, return_id, from)])
            }
        };
        if !finish_task_on(&mut tx, &task.id, &outcome, now_ms).await? {
            // Held above, so only a bug gets here: make nothing of it.
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(outcome))
    }
}

/// The audit row of an action on a return, in the action's transaction.
async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    site_id: &SiteId,
    actor: &crate::audit::Actor,
    action: ReturnAction,
    acted: &Acted,
    now: UnixSeconds,
) -> StoreResult<()> {
    let subject = acted.after.id.to_string();
    crate::audit::append_audit(
        tx,
        &crate::audit::AuditEntry {
            site_id,
            actor,
            action: audit_action(action),
            subject_type: "return",
            subject_id: &subject,
            order_id: Some(acted.after.order_id),
            before: Some(json!({ "status": acted.before.as_str() })),
            after: Some(after_state(acted)),
            at: now,
        },
    )
    .await?;
    Ok(())
}
