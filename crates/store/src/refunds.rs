//! Satisfaction refunds and the one charge ledger (`refunds`) of every amount given back for
//! an order (`domain::refunds` decides; this file counts and writes). A refund takes turns on
//! its order's row (a no-op update first in its transaction: PostgreSQL queues concurrent
//! writers on the row lock, SQLite's write turn already serialises them), counts what the
//! ledger and the returns holding units took, and writes the refund, its lines, its ledger row
//! (money back to the order's payment source, simulated), its audit row and its outbox event
//! in that one transaction, so concurrent refunds never give back more than was charged.

use super::{Store, StoreResult};
use crate::audit::{Actor, AuditEntry};
use serde_json::json;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::checkout::lines_paid;
use shopkeeper_domain::events::REFUND_CREATED;
use shopkeeper_domain::refunds::{
    self, RefundCategory, RefundError, RefundKind, RefundRequest, Refundable, RefundableLine,
};
use shopkeeper_domain::returns::ReturnStatus;
use shopkeeper_domain::time::UnixSeconds;
use sqlx::AnyConnection;

/// A satisfaction refund.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SatisfactionRefundRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub order_id: i64,
    #[sqlx(rename = "type", try_from = "String")]
    pub kind: RefundKind,
    #[sqlx(try_from = "String")]
    pub category: RefundCategory,
    pub reason: String,
    pub comments: String,
    pub currency: String,
    pub amount_minor: i64,
    /// The staff user's name (the docs' `generatedBy`), or the API key's when none signed in.
    pub generated_by: String,
    pub staff_user_id: Option<i64>,
    pub api_key: String,
    pub created_at: UnixSeconds,
}

/// What a line-level satisfaction refund gave back for one line.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SatisfactionRefundLineRecord {
    pub refund_id: i64,
    pub line_item_id: i64,
    pub amount_minor: i64,
}

/// A row of the charge ledger: a return's refund or a satisfaction refund.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerRecord {
    pub id: i64,
    pub return_id: Option<i64>,
    pub satisfaction_refund_id: Option<i64>,
    pub order_id: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub payment_source_id: String,
    pub created_at: UnixSeconds,
}

/// Who makes a refund: the API key and the staff user signed in with it (as the audit trail
/// records them), and the name shown as the docs' `generatedBy`.
#[derive(Debug, Clone)]
pub struct RefundAuthor<'a> {
    pub actor: &'a Actor,
    pub generated_by: &'a str,
}

/// A satisfaction refund to write: the parsed request, checked again inside the write.
#[derive(Debug, Clone)]
pub struct NewSatisfactionRefund<'a> {
    pub site_id: &'a SiteId,
    pub order_id: i64,
    pub request: &'a RefundRequest,
    pub author: RefundAuthor<'a>,
}

/// A refund written: the refund, its lines and its ledger row.
#[derive(Debug, Clone)]
pub struct CreatedRefund {
    pub refund: SatisfactionRefundRecord,
    pub lines: Vec<SatisfactionRefundLineRecord>,
    pub ledger: LedgerRecord,
}

macro_rules! select_refunds {
    ($tail:literal) => {
        concat!(
            "SELECT id, site_id, order_id, type, category, reason, comments, currency, \
             amount_minor, generated_by, staff_user_id, api_key, created_at \
             FROM satisfaction_refunds ",
            $tail
        )
    };
}

const SELECT_LEDGER: &str = "SELECT id, return_id, satisfaction_refund_id, order_id, \
     amount_minor, currency, payment_source_id, created_at FROM refunds";

/// What the order's payment source was charged: the total less store credit, unless the
/// store credit is the primary source itself (it paid alone).
const CHARGED: &str = "CASE WHEN credit_source_id = payment_source_id THEN total_minor \
     ELSE total_minor - credit_minor END";

/// Whether the order's site accepts satisfaction refunds (1 or 0).
const SITE_ALLOWS: &str =
    "(SELECT satisfaction_refunds FROM sites WHERE sites.id = orders.site_id)";

/// The order's lines and what refunds and returns took of them, and the ledger's sums, as the
/// refund rules see them; `currency`, the charge and the order offer come from the order's row
/// (already read: under its lock when writing).
async fn count_refundable(
    conn: &mut AnyConnection,
    order_id: i64,
    currency: String,
    charged_minor: i64,
    order_offer_minor: i64,
    site_allows: bool,
) -> StoreResult<Refundable> {
    let (tax_minor, shipping_minor): (i64, i64) =
        sqlx::query_as("SELECT tax_minor, shipping_minor FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&mut *conn)
            .await?;
    let refunded = ReturnStatus::RefundedWithoutReturn.as_str();
    let refused = ReturnStatus::Refused.as_str();
    let rows: Vec<(i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT l.id, l.unit_price_minor * l.quantity - l.offer_discount_minor, \
         CAST(COALESCE((SELECT SUM(s.amount_minor) FROM satisfaction_refund_lines s \
          WHERE s.line_item_id = l.id), 0) AS BIGINT), \
         CAST(COALESCE((SELECT SUM(rl.amount_minor) FROM order_return_lines rl \
          JOIN order_returns r ON r.id = rl.return_id \
          WHERE rl.line_item_id = l.id AND r.status = $2), 0) AS BIGINT), \
         CAST(COALESCE((SELECT SUM(rl.amount_minor) FROM order_return_lines rl \
          JOIN order_returns r ON r.id = rl.return_id \
          WHERE rl.line_item_id = l.id AND r.status <> $2 AND r.status <> $3), 0) AS BIGINT) \
         FROM order_line_items l WHERE l.order_id = $1 ORDER BY l.id",
    )
    .bind(order_id)
    .bind(refunded)
    .bind(refused)
    .fetch_all(&mut *conn)
    .await?;
    let sales: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let lines = rows
        .into_iter()
        .zip(lines_paid(order_offer_minor, &sales))
        .map(
            |((id, _, satisfaction, returned, pending), paid_minor)| RefundableLine {
                id,
                paid_minor,
                satisfaction_refunded_minor: satisfaction,
                returns_refunded_minor: returned,
                returns_pending_minor: pending,
            },
        )
        .collect();
    let (ledger_minor, returns_pending_minor, order_level): (i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE((SELECT SUM(amount_minor) FROM refunds WHERE order_id = $1), 0) \
          AS BIGINT), \
         CAST(COALESCE((SELECT SUM(requested_minor) FROM order_returns \
          WHERE order_id = $1 AND status <> $2 AND status <> $3), 0) AS BIGINT), \
         (SELECT COUNT(*) FROM satisfaction_refunds WHERE order_id = $1 AND type = $4)",
    )
    .bind(order_id)
    .bind(refunded)
    .bind(refused)
    .bind(RefundKind::Order.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Refundable {
        currency,
        charged_minor,
        tax_minor,
        shipping_minor,
        ledger_minor,
        returns_pending_minor,
        order_level_refunded: order_level > 0,
        site_allows,
        lines,
    })
}

async fn lines_of(
    conn: &mut AnyConnection,
    refund_id: i64,
) -> StoreResult<Vec<SatisfactionRefundLineRecord>> {
    Ok(sqlx::query_as(
        "SELECT refund_id, line_item_id, amount_minor FROM satisfaction_refund_lines \
         WHERE refund_id = $1 ORDER BY position",
    )
    .bind(refund_id)
    .fetch_all(&mut *conn)
    .await?)
}

impl Store {
    /// What is left to refund of the site's order `order_id`, and the order's status
    /// (`None`: not one of the site's).
    pub async fn order_refundable(
        &self,
        site_id: &SiteId,
        order_id: i64,
    ) -> StoreResult<Option<(Refundable, String)>> {
        let mut conn = self.read.acquire().await?;
        let order: Option<(String, i64, i64, String, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT currency, {CHARGED}, order_offer_discount_minor, status, {SITE_ALLOWS} \
                 FROM orders WHERE id = $1 AND site_id = $2"
            )))
            .bind(order_id)
            .bind(site_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        let Some((currency, charged, order_offer, status, allows)) = order else {
            return Ok(None);
        };
        let refundable = count_refundable(
            &mut conn,
            order_id,
            currency,
            charged,
            order_offer,
            allows != 0,
        )
        .await?;
        Ok(Some((refundable, status)))
    }

    /// Gives back what `new.request` asks for, if the order still has it: one transaction
    /// holding the order's row counts the ledger and the returns, checks the request
    /// (`refunds::plan_refund`) and writes the refund, its lines, its ledger row and its
    /// `refund.created` event. The refusal when the order has no such amount left.
    pub async fn create_satisfaction_refund(
        &self,
        new: &NewSatisfactionRefund<'_>,
        now: UnixSeconds,
    ) -> StoreResult<Result<CreatedRefund, RefundError>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        // Takes the order's row for the rest of the transaction: refunds (and returns) of one
        // order take turns.
        let order: Option<(String, i64, i64, String, i64)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "UPDATE orders SET submitted_at = submitted_at WHERE id = $1 AND site_id = $2 \
                 RETURNING currency, {CHARGED}, order_offer_discount_minor, payment_source_id, \
                 {SITE_ALLOWS}"
            )))
            .bind(new.order_id)
            .bind(new.site_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some((currency, charged, order_offer, source, allows)) = order else {
            return Ok(Err(RefundError::RequisitionNotFound));
        };
        let refundable = count_refundable(
            &mut tx,
            new.order_id,
            currency.clone(),
            charged,
            order_offer,
            allows != 0,
        )
        .await?;
        let plan = match refunds::plan_refund(new.request, &refundable) {
            Ok(plan) => plan,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO satisfaction_refunds (site_id, order_id, type, category, reason, \
             comments, currency, amount_minor, generated_by, staff_user_id, api_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(new.site_id.as_str())
        .bind(new.order_id)
        .bind(new.request.kind.as_str())
        .bind(new.request.category.as_str())
        .bind(new.request.reason)
        .bind(new.request.comments.as_str())
        .bind(&currency)
        .bind(plan.total_minor)
        .bind(new.author.generated_by)
        .bind(new.author.actor.staff_user_id)
        .bind(new.author.actor.api_key.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (position, (line, amount)) in plan.lines.iter().enumerate() {
            sqlx::query(
                "INSERT INTO satisfaction_refund_lines \
                 (refund_id, line_item_id, position, amount_minor) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(line)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(amount)
            .execute(&mut *tx)
            .await?;
        }
        let ledger: LedgerRecord = sqlx::query_as(
            "INSERT INTO refunds (site_id, satisfaction_refund_id, order_id, amount_minor, \
             currency, payment_source_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id, return_id, satisfaction_refund_id, order_id, amount_minor, \
             currency, payment_source_id, created_at",
        )
        .bind(new.site_id.as_str())
        .bind(id)
        .bind(new.order_id)
        .bind(plan.total_minor)
        .bind(&currency)
        .bind(&source)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let refund: SatisfactionRefundRecord = sqlx::query_as(select_refunds!("WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let lines = lines_of(&mut tx, id).await?;
        let payload = refund_payload(&refund, &lines, &ledger);
        let before = json!({
            "chargedMinor": refundable.charged_minor,
            "refundedMinor": refundable.ledger_minor,
            "availableMinor": refundable.order_available_minor(),
        });
        crate::audit::append_audit(
            &mut tx,
            &AuditEntry {
                site_id: new.site_id,
                actor: new.author.actor,
                action: REFUND_CREATED,
                subject_type: "order",
                subject_id: &new.order_id.to_string(),
                order_id: Some(new.order_id),
                before: Some(before),
                after: Some(payload.clone()),
                at: now,
            },
        )
        .await?;
        crate::events::append_event(&mut tx, new.site_id, REFUND_CREATED, &payload, now).await?;
        tx.commit().await?;
        Ok(Ok(CreatedRefund {
            refund,
            lines,
            ledger,
        }))
    }

    /// Whether a site accepts satisfaction refunds.
    pub async fn set_site_satisfaction_refunds(
        &self,
        site_id: &SiteId,
        allowed: bool,
    ) -> StoreResult<()> {
        let done = sqlx::query("UPDATE sites SET satisfaction_refunds = $1 WHERE id = $2")
            .bind(i64::from(allowed))
            .bind(site_id.as_str())
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(crate::StoreError::NotFound(format!("site {site_id}")));
        }
        Ok(())
    }

    /// The satisfaction refunds of the site's order, oldest first.
    pub async fn satisfaction_refunds(
        &self,
        site_id: &SiteId,
        order_id: i64,
    ) -> StoreResult<Vec<SatisfactionRefundRecord>> {
        Ok(sqlx::query_as(select_refunds!(
            "WHERE site_id = $1 AND order_id = $2 ORDER BY id"
        ))
        .bind(site_id.as_str())
        .bind(order_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// The lines of an order's satisfaction refunds, by refund and in each refund's order.
    pub async fn satisfaction_refund_lines(
        &self,
        order_id: i64,
    ) -> StoreResult<Vec<SatisfactionRefundLineRecord>> {
        Ok(sqlx::query_as(
            "SELECT sl.refund_id, sl.line_item_id, sl.amount_minor \
             FROM satisfaction_refund_lines sl \
             JOIN satisfaction_refunds s ON s.id = sl.refund_id \
             WHERE s.order_id = $1 ORDER BY sl.refund_id, sl.position",
        )
        .bind(order_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// The charge ledger's rows of an order (returns' refunds and satisfaction refunds),
    /// oldest first.
    pub async fn order_ledger(&self, order_id: i64) -> StoreResult<Vec<LedgerRecord>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT_LEDGER} WHERE order_id = $1 ORDER BY id"
        )))
        .bind(order_id)
        .fetch_all(&self.read)
        .await?)
    }
}

fn refund_payload(
    r: &SatisfactionRefundRecord,
    lines: &[SatisfactionRefundLineRecord],
    ledger: &LedgerRecord,
) -> serde_json::Value {
    json!({
        "id": r.id,
        "orderId": r.order_id,
        "type": r.kind.as_str(),
        "category": r.category.as_str(),
        "reason": r.reason,
        "comments": r.comments,
        "currency": r.currency,
        "amountMinor": r.amount_minor,
        "generatedBy": r.generated_by,
        "staffUserId": r.staff_user_id,
        "lines": lines.iter().map(|l| json!({
            "lineItemId": l.line_item_id,
            "amountMinor": l.amount_minor,
        })).collect::<Vec<_>>(),
        "ledger": {
            "id": ledger.id,
            "paymentSourceId": ledger.payment_source_id,
        },
    })
}
