//! Order returns, their lines and the refunds ledger (`domain::returns` decides; this file
//! counts and writes). A return request takes turns on its order's row (a no-op update inside
//! its transaction) before it counts the units earlier returns hold, so concurrent requests
//! for the last units give exactly one return on PostgreSQL; on SQLite the write turn already
//! serialises writers. Every return and every change of its state appends its event in the
//! same transaction.

use super::{Store, StoreError, StoreResult};
use serde_json::json;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::checkout::lines_paid;
use shopkeeper_domain::events::{
    RETURN_ACKNOWLEDGED, RETURN_REFUNDED, RETURN_REFUSED, RETURN_REQUESTED,
};
use shopkeeper_domain::refunds::RefundKind;
use shopkeeper_domain::returns::{
    self, PlannedLine, ReturnAction, ReturnRefusal, ReturnStatus, ReturnableLine, WantedLine,
};
use shopkeeper_domain::time::UnixSeconds;
use sqlx::{Any, Transaction};

/// A return of units of an order's lines.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReturnRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub order_id: i64,
    pub shopper_id: i64,
    /// One of the documented reason codes.
    pub reason: String,
    pub comments: String,
    #[sqlx(try_from = "String")]
    pub status: ReturnStatus,
    pub currency: String,
    /// What its lines give back, in minor units.
    pub requested_minor: i64,
    /// What was refunded (0 until it is).
    pub refunded_minor: i64,
    /// The end of the order's return period when it was asked for.
    pub due_at: UnixSeconds,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
    pub refunded_at: Option<UnixSeconds>,
}

/// A line of a return.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReturnLineRecord {
    pub return_id: i64,
    pub line_item_id: i64,
    pub quantity: i64,
    pub amount_minor: i64,
}

/// A row of the refunds ledger.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRecord {
    pub id: i64,
    pub return_id: i64,
    pub order_id: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub payment_source_id: String,
    pub created_at: UnixSeconds,
}

/// A shopper's return request, its reason and comments checked.
#[derive(Debug, Clone)]
pub struct NewReturn<'a> {
    pub site_id: &'a SiteId,
    pub order_id: i64,
    pub shopper_id: i64,
    pub reason: &'static str,
    pub comments: &'a str,
    pub lines: &'a [WantedLine],
}

/// Why a merchant's action on a return was not done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnActionRefusal {
    NotFound,
    NotAllowed { from: ReturnStatus },
}

macro_rules! select_returns {
    ($tail:literal) => {
        concat!(
            "SELECT id, site_id, order_id, shopper_id, reason, comments, status, currency, \
             requested_minor, refunded_minor, due_at, created_at, updated_at, refunded_at \
             FROM order_returns ",
            $tail
        )
    };
}

/// The order's lines as the return rules see them: what each paid (after its item offer and
/// its share of the order offer), whether a subscription was bought with it, and the units and
/// amounts that returns holding them already asked for.
async fn returnable_lines(
    tx: &mut Transaction<'_, Any>,
    order_id: i64,
    order_offer_minor: i64,
) -> StoreResult<Vec<ReturnableLine>> {
    let rows: Vec<(i64, i64, i64, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT l.id, l.quantity, l.unit_price_minor * l.quantity - l.offer_discount_minor, \
         (SELECT COUNT(*) FROM subscriptions s \
          WHERE s.order_id = l.order_id AND s.product_id = l.product_id), \
         (SELECT COUNT(*) FROM products p \
          WHERE p.id = l.product_id AND p.subscription_plan IS NOT NULL), \
         CAST(COALESCE((SELECT SUM(rl.quantity) FROM order_return_lines rl \
          JOIN order_returns r ON r.id = rl.return_id \
          WHERE rl.line_item_id = l.id AND r.status <> $2), 0) AS BIGINT), \
         CAST(COALESCE((SELECT SUM(rl.amount_minor) FROM order_return_lines rl \
          JOIN order_returns r ON r.id = rl.return_id \
          WHERE rl.line_item_id = l.id AND r.status <> $2), 0) AS BIGINT) \
         FROM order_line_items l WHERE l.order_id = $1 ORDER BY l.id",
    )
    .bind(order_id)
    .bind(ReturnStatus::Refused.as_str())
    .fetch_all(&mut **tx)
    .await?;
    let sales: Vec<i64> = rows.iter().map(|r| r.2).collect();
    Ok(rows
        .into_iter()
        .zip(lines_paid(order_offer_minor, &sales))
        .map(
            |((id, quantity, _, subscriptions, plans, units, minor), paid_minor)| ReturnableLine {
                id,
                quantity,
                paid_minor,
                subscription: subscriptions > 0 || plans > 0,
                already_requested: units,
                already_requested_minor: minor,
            },
        )
        .collect())
}

fn return_payload(r: &ReturnRecord, lines: &[ReturnLineRecord]) -> serde_json::Value {
    json!({
        "id": r.id,
        "orderId": r.order_id,
        "shopperId": r.shopper_id,
        "reason": r.reason,
        "status": r.status.as_str(),
        "currency": r.currency,
        "requestedMinor": r.requested_minor,
        "refundedMinor": r.refunded_minor,
        "lines": lines.iter().map(|l| json!({
            "lineItemId": l.line_item_id,
            "quantity": l.quantity,
            "amountMinor": l.amount_minor,
        })).collect::<Vec<_>>(),
    })
}

async fn lines_in(
    tx: &mut Transaction<'_, Any>,
    return_id: i64,
) -> StoreResult<Vec<ReturnLineRecord>> {
    Ok(sqlx::query_as(
        "SELECT return_id, line_item_id, quantity, amount_minor FROM order_return_lines \
         WHERE return_id = $1 ORDER BY position",
    )
    .bind(return_id)
    .fetch_all(&mut **tx)
    .await?)
}

impl Store {
    /// Asks for the return of `new.lines` of an order (the caller checked the order is the
    /// shopper's): counts what earlier returns hold and checks the request in one transaction
    /// holding the order's row; the new return's id, or the refusal.
    pub async fn request_return(
        &self,
        new: &NewReturn<'_>,
        now: UnixSeconds,
    ) -> StoreResult<Result<i64, ReturnRefusal>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        // Takes the order's row for the rest of the transaction: requests for one order's
        // returns take turns.
        let order: Option<(i64, String, i64, i64)> = sqlx::query_as(
            "UPDATE orders SET submitted_at = submitted_at WHERE id = $1 AND site_id = $2 \
             RETURNING submitted_at, currency, \
             (SELECT return_period_days FROM sites WHERE sites.id = orders.site_id), \
             order_offer_discount_minor",
        )
        .bind(new.order_id)
        .bind(new.site_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((submitted_at, currency, period_days, order_offer_minor)) = order else {
            return Err(StoreError::NotFound(format!("order {}", new.order_id)));
        };
        let lines = returnable_lines(&mut tx, new.order_id, order_offer_minor).await?;
        // Satisfaction refunds (`store::refunds`, under the same row) keep their lines, or the
        // whole order, from being returned.
        let refunded: Vec<(i64, String)> = sqlx::query_as(
            "SELECT sl.line_item_id, s.type FROM satisfaction_refunds s \
             LEFT JOIN satisfaction_refund_lines sl ON sl.refund_id = s.id \
             WHERE s.order_id = $1",
        )
        .bind(new.order_id)
        .fetch_all(&mut *tx)
        .await
        .map(|rows: Vec<(Option<i64>, String)>| {
            rows.into_iter()
                .map(|(line, kind)| (line.unwrap_or(0), kind))
                .collect()
        })?;
        let order_level = refunded
            .iter()
            .any(|(_, kind)| kind == RefundKind::Order.as_str());
        let refunded_lines: Vec<i64> = refunded.iter().map(|(line, _)| *line).collect();
        if let Err(refusal) =
            returns::check_satisfaction_refunds(new.lines, order_level, &refunded_lines)
        {
            return Ok(Err(refusal));
        }
        let planned: Vec<PlannedLine> =
            match returns::plan_return(&lines, new.lines, submitted_at, period_days, now) {
                Ok(planned) => planned,
                Err(refusal) => return Ok(Err(refusal)),
            };
        let requested: i64 = planned.iter().map(|l| l.amount_minor).sum();
        let due_at = returns::period_end(submitted_at, period_days);
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO order_returns (site_id, order_id, shopper_id, reason, comments, status, \
             currency, requested_minor, refunded_minor, due_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $10) RETURNING id",
        )
        .bind(new.site_id.as_str())
        .bind(new.order_id)
        .bind(new.shopper_id)
        .bind(new.reason)
        .bind(new.comments)
        .bind(ReturnStatus::PendingProductReturn.as_str())
        .bind(&currency)
        .bind(requested)
        .bind(due_at)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (position, line) in planned.iter().enumerate() {
            sqlx::query(
                "INSERT INTO order_return_lines \
                 (return_id, line_item_id, position, quantity, amount_minor) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(line.line_id)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(line.quantity)
            .bind(line.amount_minor)
            .execute(&mut *tx)
            .await?;
        }
        let record: ReturnRecord = sqlx::query_as(select_returns!("WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let written = lines_in(&mut tx, id).await?;
        let payload = return_payload(&record, &written);
        crate::events::append_event(&mut tx, new.site_id, RETURN_REQUESTED, &payload, now).await?;
        tx.commit().await?;
        Ok(Ok(id))
    }

    /// Sets a site's return period, in days (the caller checked it).
    pub async fn set_site_return_period(&self, site_id: &SiteId, days: i64) -> StoreResult<()> {
        let done = sqlx::query("UPDATE sites SET return_period_days = $1 WHERE id = $2")
            .bind(days)
            .bind(site_id.as_str())
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("site {site_id}")));
        }
        Ok(())
    }

    /// An order's returns, oldest first.
    pub async fn order_returns(&self, order_id: i64) -> StoreResult<Vec<ReturnRecord>> {
        Ok(
            sqlx::query_as(select_returns!("WHERE order_id = $1 ORDER BY id"))
                .bind(order_id)
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// A site's returns (of one order), oldest first.
    pub async fn site_returns(
        &self,
        site_id: &SiteId,
        order_id: Option<i64>,
    ) -> StoreResult<Vec<ReturnRecord>> {
        Ok(sqlx::query_as(select_returns!(
            "WHERE site_id = $1 AND ($2 < 0 OR order_id = $2) ORDER BY id"
        ))
        .bind(site_id.as_str())
        .bind(order_id.unwrap_or(-1))
        .fetch_all(&self.read)
        .await?)
    }

    /// The lines of an order's returns, by return and in each return's order.
    pub async fn return_lines(&self, order_id: i64) -> StoreResult<Vec<ReturnLineRecord>> {
        Ok(sqlx::query_as(
            "SELECT rl.return_id, rl.line_item_id, rl.quantity, rl.amount_minor \
             FROM order_return_lines rl JOIN order_returns r ON r.id = rl.return_id \
             WHERE r.order_id = $1 ORDER BY rl.return_id, rl.position",
        )
        .bind(order_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// The refunds ledger's rows of a return.
    pub async fn refunds_of_return(&self, return_id: i64) -> StoreResult<Vec<RefundRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, return_id, order_id, amount_minor, currency, payment_source_id, \
             created_at FROM refunds WHERE return_id = $1 ORDER BY id",
        )
        .bind(return_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// The merchant's `action` on the site's return `id`, with a conditional write on its
    /// state (a concurrent action finds it moved on); a refund writes the ledger's row for
    /// what the return asked for, to the order's payment source. The return as it is now.
    pub async fn act_on_return(
        &self,
        site_id: &SiteId,
        id: i64,
        action: ReturnAction,
        now: UnixSeconds,
    ) -> StoreResult<Result<ReturnRecord, ReturnActionRefusal>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let acted = act_on(&mut tx, site_id, None, id, action, now).await?;
        if acted.is_ok() {
            tx.commit().await?;
        }
        Ok(acted.map(|a| a.after))
    }
}

/// What a merchant's action did: the state it found, the return as it is now, and the ledger's
/// row of a refund.
#[derive(Debug, Clone)]
pub(crate) struct Acted {
    pub before: ReturnStatus,
    pub after: ReturnRecord,
    pub refund_id: Option<i64>,
}

/// [`Store::act_on_return`] inside the caller's transaction (which commits it), for a return
/// of the site (and of `order_id` when given); its event is appended there too. A refusal
/// wrote nothing.
pub(crate) async fn act_on(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    order_id: Option<i64>,
    id: i64,
    action: ReturnAction,
    now: UnixSeconds,
) -> StoreResult<Result<Acted, ReturnActionRefusal>> {
    let current: Option<ReturnRecord> = sqlx::query_as(select_returns!(
        "WHERE id = $1 AND site_id = $2 AND ($3 < 0 OR order_id = $3)"
    ))
    .bind(id)
    .bind(site_id.as_str())
    .bind(order_id.unwrap_or(-1))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(current) = current else {
        return Ok(Err(ReturnActionRefusal::NotFound));
    };
    let Some(next) = returns::transition(current.status, action) else {
        return Ok(Err(ReturnActionRefusal::NotAllowed {
            from: current.status,
        }));
    };
    let refund = action == ReturnAction::Refund;
    let done = sqlx::query(
        "UPDATE order_returns SET status = $1, updated_at = $2, \
         refunded_minor = CASE WHEN $3 = 1 THEN requested_minor ELSE refunded_minor END, \
         refunded_at = CASE WHEN $3 = 1 THEN $2 ELSE refunded_at END \
         WHERE id = $4 AND status = $5",
    )
    .bind(next.as_str())
    .bind(now)
    .bind(i64::from(refund))
    .bind(id)
    .bind(current.status.as_str())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        // Another action got there first.
        return Ok(Err(ReturnActionRefusal::NotAllowed {
            from: current.status,
        }));
    }
    let record: ReturnRecord = sqlx::query_as(select_returns!("WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    let lines = lines_in(tx, id).await?;
    let mut payload = return_payload(&record, &lines);
    let mut refund_id = None;
    let event = match action {
        ReturnAction::Accept => RETURN_ACKNOWLEDGED,
        ReturnAction::Refuse => RETURN_REFUSED,
        ReturnAction::Refund => {
            let (refund, source): (i64, String) = sqlx::query_as(
                "INSERT INTO refunds (site_id, return_id, order_id, amount_minor, currency, \
                 payment_source_id, created_at) \
                 SELECT $1, r.id, r.order_id, r.requested_minor, r.currency, \
                 o.payment_source_id, $2 FROM order_returns r \
                 JOIN orders o ON o.id = r.order_id WHERE r.id = $3 \
                 RETURNING id, payment_source_id",
            )
            .bind(site_id.as_str())
            .bind(now)
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
            payload["refund"] = json!({
                "id": refund,
                "amountMinor": record.refunded_minor,
                "currency": record.currency,
                "paymentSourceId": source,
            });
            refund_id = Some(refund);
            RETURN_REFUNDED
        }
    };
    crate::events::append_event(tx, site_id, event, &payload, now).await?;
    Ok(Ok(Acted {
        before: current.status,
        after: record,
        refund_id,
    }))
}
