//! The subscriptions shoppers buy: written with the order that buys them (in the submit's
//! transaction), read by their shopper, cancelled by them. Each state change appends its event
//! to the outbox in the same transaction.

use super::column::{StoredFlag, StoredSubscriptionPlan, StoredSubscriptionState};
use super::{Store, StoreResult};
use serde_json::{Value, json};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::catalog::amount_value;
use shopkeeper_domain::checkout::TestOutcome;
use shopkeeper_domain::checkout::order::{NewOrder, NewOrderLine};
use shopkeeper_domain::checkout::tax_minor;
use shopkeeper_domain::events::{
    ORDER_SUBMITTED, SUBSCRIPTION_CANCELLED, SUBSCRIPTION_CREATED, SUBSCRIPTION_PAYMENT_FAILED,
    SUBSCRIPTION_RENEWED, SUBSCRIPTION_TRIAL_CONVERTED, SUBSCRIPTION_UPDATED,
};
use shopkeeper_domain::subscriptions::{
    AttemptOutcome, Plan, SubscriptionState, after_decline, iso8601_millis,
};
use shopkeeper_domain::time::UnixSeconds;
use sqlx::AnyConnection;

/// A subscription as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubscriptionRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub shopper_id: i64,
    pub product_id: i64,
    pub order_id: i64,
    #[sqlx(try_from = "StoredSubscriptionState")]
    pub state: SubscriptionState,
    #[sqlx(try_from = "StoredFlag")]
    pub auto_renewal: bool,
    #[sqlx(try_from = "StoredSubscriptionPlan")]
    pub plan: Plan,
    pub current_quantity: i64,
    pub renewal_quantity: i64,
    pub currency: String,
    pub renewal_unit_price_minor: i64,
    pub payment_source_id: String,
    pub ship_to_address: Option<String>,
    pub billing_agreement_id: String,
    pub period: i64,
    pub activation_at: i64,
    pub next_renewal_at: i64,
    pub expiration_at: i64,
    pub grace_at: i64,
    pub cancelled_at: Option<i64>,
    pub created_at: i64,
    /// When the next billing attempt (auto) or lapse check (manual) is due.
    pub next_attempt_at: Option<i64>,
    /// Billing attempts the coming term has had.
    pub attempts: i64,
    /// The locale of the order that bought it (joined).
    pub locale: Option<String>,
    /// The product's sku and display name (joined).
    pub sku: String,
    pub display_name: String,
}

impl SubscriptionRecord {
    pub fn ship_to(&self) -> Option<PostalAddress> {
        self.ship_to_address
            .as_deref()
            .and_then(|a| serde_json::from_str(a).ok())
    }

    /// The docs' subscription object as events carry it (`data.object` of
    /// `subscription-renewed-event.md`; the outbox keeps the event's type beside it).
    pub fn event_object(&self) -> Value {
        json!({
            "id": self.id.to_string(),
            "siteId": self.site_id.as_str(),
            "state": self.state.as_str(),
            "autoRenewal": self.auto_renewal,
            "currentQuantity": self.current_quantity,
            "renewalQuantity": self.renewal_quantity,
            "creationDate": iso8601_millis(self.created_at),
            "activationDate": iso8601_millis(self.activation_at),
            "nextRenewalDate": iso8601_millis(self.next_renewal_at),
            "expirationDate": iso8601_millis(self.expiration_at),
            "graceDate": iso8601_millis(self.grace_at),
            "cancellationDate": self.cancelled_at.map(iso8601_millis),
            "shopper": {"id": self.shopper_id.to_string()},
            "product": {"id": self.product_id.to_string(), "sku": self.sku,
                        "displayName": self.display_name},
            "renewalPrice": {
                "unitPrice": amount_value(self.renewal_unit_price_minor, &self.currency),
                "currency": self.currency,
                "locked": false,
            },
            "locale": self.locale.as_deref().unwrap_or("en_US"),
            "duration": self.plan.term.days_from(self.activation_at),
            "frequency": self.plan.term.days_from(self.activation_at),
            "term": {"termUnit": self.plan.term.unit.as_str(), "termLength": self.plan.term.length},
        })
    }
}

const SELECT: &str = "SELECT s.id, s.site_id, s.shopper_id, s.product_id, s.order_id, s.state, \
     s.auto_renewal, s.plan, s.current_quantity, s.renewal_quantity, s.currency, \
     s.renewal_unit_price_minor, s.payment_source_id, s.ship_to_address, \
     s.billing_agreement_id, s.period, s.activation_at, s.next_renewal_at, s.expiration_at, \
     s.grace_at, s.cancelled_at, s.created_at, s.next_attempt_at, s.attempts, o.locale, \
     p.sku, p.display_name \
     FROM subscriptions s JOIN products p ON p.id = s.product_id \
     JOIN orders o ON o.id = s.order_id ";

async fn one_on(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<SubscriptionRecord>> {
    let sql = format!("{SELECT} WHERE s.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Writes the subscription a line of a new order buys, and its `subscription.created` event,
/// in the submit's transaction. `plan` is the line's product's; the renewal price is the
/// plan's, else what the order paid a unit (a trial's: the list price).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn create_on(
    conn: &mut AnyConnection,
    site_id: &SiteId,
    shopper_id: i64,
    order_id: i64,
    order: &NewOrder,
    line: &NewOrderLine,
    plan: &Plan,
    now: UnixSeconds,
) -> StoreResult<i64> {
    let dates = plan.dates(now, 1);
    // The line may choose manual renewal, or auto (renewals charge the reusable source the
    // rules required).
    let info = line.subscription_info.clone().unwrap_or_default();
    let auto_renewal = info.auto_renewal.unwrap_or(plan.auto_renewal);
    // A trial paid nothing: its renewals cost the product's list price unless the plan says.
    let paid = match plan.free_trial_days {
        0 => line.unit_price_minor,
        _ => line.list_price_minor,
    };
    let renewal_price = plan.renewal_price_minor.unwrap_or(paid);
    let agreement = shopkeeper_domain::events::new_event_id(u64::try_from(now).unwrap_or(0) * 1000);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO subscriptions (site_id, shopper_id, product_id, order_id, state, \
         auto_renewal, plan, current_quantity, renewal_quantity, currency, \
         renewal_unit_price_minor, payment_source_id, ship_to_address, billing_agreement_id, \
         activation_at, next_renewal_at, expiration_at, grace_at, created_at, updated_at, \
         next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $18, $15) RETURNING id",
    )
    .bind(site_id.as_str())
    .bind(shopper_id)
    .bind(line.product_id)
    .bind(order_id)
    .bind(plan.starting_state().as_str())
    .bind(i64::from(auto_renewal))
    .bind(serde_json::to_string(plan).expect("a plan serialises"))
    .bind(line.quantity)
    .bind(&order.currency)
    .bind(renewal_price)
    .bind(&order.payment_source_id)
    .bind(
        order
            .shipping_address
            .as_ref()
            .map(|a| serde_json::to_string(a).unwrap_or_default()),
    )
    .bind(agreement)
    .bind(dates.activation)
    .bind(dates.next_renewal)
    .bind(dates.expiration)
    .bind(dates.grace)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    if let Some(terms) = &info.terms {
        sqlx::query("UPDATE subscriptions SET terms = $1 WHERE id = $2")
            .bind(terms)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    let created = one_on(conn, id)
        .await?
        .expect("the subscription just written");
    let payload = json!({"object": created.event_object()});
    super::events::append_event(conn, site_id, SUBSCRIPTION_CREATED, &payload, now).await?;
    Ok(id)
}

/// One billing attempt of the charge ledger.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChargeRecord {
    pub period: i64,
    pub attempt: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub payment_source_id: String,
    pub outcome: String,
    pub decline_reason: Option<String>,
    pub order_id: Option<i64>,
    pub created_at: i64,
}

/// What one renewal attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewalResult {
    Renewed {
        order_id: i64,
    },
    /// Declined; another attempt is scheduled.
    Declined,
    /// Declined with no attempt left, or a manual renewal past its grace date.
    Cancelled,
    /// Not due any more (another node or run took it), or a manual one not lapsed yet.
    Skipped,
}

async fn set_next_attempt(
    conn: &mut AnyConnection,
    id: i64,
    at: UnixSeconds,
    now: UnixSeconds,
) -> StoreResult<()> {
    sqlx::query("UPDATE subscriptions SET next_attempt_at = $1, updated_at = $2 WHERE id = $3")
        .bind(at)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `s` is `Cancelled` at `now`, with its event.
async fn cancel_on(
    conn: &mut AnyConnection,
    s: &SubscriptionRecord,
    now: UnixSeconds,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE subscriptions SET state = 'Cancelled', cancelled_at = $1, updated_at = $1 \
         WHERE id = $2",
    )
    .bind(now)
    .bind(s.id)
    .execute(&mut *conn)
    .await?;
    let cancelled = one_on(conn, s.id)
        .await?
        .expect("the cancelled subscription");
    let payload = json!({"object": cancelled.event_object()});
    super::events::append_event(conn, &s.site_id, SUBSCRIPTION_CANCELLED, &payload, now)
        .await
        .map(|_| ())
}

/// Writes the renewal order of `s`: its product at the renewal price and quantity, the tax of
/// where it goes (its ship-to address, else the buying order's billing address), charged
/// merchant-initiated to its source, billed as the order that bought it was.
async fn renewal_order(
    conn: &mut AnyConnection,
    s: &SubscriptionRecord,
    subtotal: i64,
    now: UnixSeconds,
) -> StoreResult<i64> {
    let (billing,): (String,) = sqlx::query_as("SELECT billing_address FROM orders WHERE id = $1")
        .bind(s.order_id)
        .fetch_one(&mut *conn)
        .await?;
    let billing_address: Option<PostalAddress> = serde_json::from_str(&billing).ok();
    let country = s
        .ship_to()
        .or(billing_address)
        .map(|a| a.country)
        .unwrap_or_default();
    let rate: Option<i64> =
        sqlx::query_scalar("SELECT rate_bp FROM tax_rates WHERE site_id = $1 AND country = $2")
            .bind(s.site_id.as_str())
            .bind(&country)
            .fetch_optional(&mut *conn)
            .await?;
    let rate = rate.unwrap_or(0);
    let tax = tax_minor(subtotal, rate);
    let (order_id,): (i64,) = sqlx::query_as(
        "INSERT INTO orders (site_id, session_id, shopper_id, email, currency, subtotal_minor, \
         discount_minor, shipping_minor, tax_minor, total_minor, billing_address, \
         shipping_address, payment_source_id, card_brand, card_last_four, status, \
         submitted_at, tax_rate_bp, charge_type, locale) \
         SELECT site_id, session_id, shopper_id, email, $1, $2, 0, 0, $3, $4, billing_address, \
         $5, $6, card_brand, card_last_four, 'Submitted', $7, $8, 'merchant_initiated', locale \
         FROM orders WHERE id = $9 RETURNING id",
    )
    .bind(&s.currency)
    .bind(subtotal)
    .bind(tax)
    .bind(subtotal + tax)
    .bind(&s.ship_to_address)
    .bind(&s.payment_source_id)
    .bind(now)
    .bind(rate)
    .bind(s.order_id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO order_line_items (order_id, product_id, sku, display_name, quantity, \
         list_price_minor, unit_price_minor) \
         SELECT $1, p.id, p.sku, p.display_name, $2, p.list_price_minor, $3 \
         FROM products p WHERE p.id = $4",
    )
    .bind(order_id)
    .bind(s.renewal_quantity)
    .bind(s.renewal_unit_price_minor)
    .bind(s.product_id)
    .execute(&mut *conn)
    .await?;
    // An order like any other for the merchant's systems (the submit's `order.submitted`
    // fields), naming the subscription it renews.
    let payload = json!({
        "orderId": order_id,
        "siteId": s.site_id.as_str(),
        "shopperId": s.shopper_id,
        "currency": s.currency,
        "subtotalMinor": subtotal,
        "discountMinor": 0,
        "shippingMinor": 0,
        "taxMinor": tax,
        "totalMinor": subtotal + tax,
        "lineCount": 1,
        "storeCreditSourceId": null,
        "storeCreditMinor": 0,
        "offers": [],
        "chargeType": "merchant_initiated",
        "subscriptionId": s.id.to_string(),
    });
    super::files::enqueue_invoice(conn, order_id, now).await?;
    super::events::append_event(conn, &s.site_id, ORDER_SUBMITTED, &payload, now).await?;
    Ok(order_id)
}

/// A change a shopper asks of their subscription (`/v1/subscriptions/{id}/…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriptionChange {
    /// `renewal-type`: auto (`true`) or manual renewal.
    AutoRenewal(bool),
    /// `renewal-quantity`: what the next renewals charge for (the current term keeps its own).
    RenewalQuantity(i64),
    /// `payment-source` / `payment-option`: the reusable source renewals charge. A
    /// subscription waiting on a declined renewal is attempted again at once ("Retry On
    /// Account Update").
    PaymentSource(String),
    /// `ship-to-address`.
    ShipTo(Box<PostalAddress>),
}

/// What `update_subscription` did.
#[derive(Debug)]
pub enum Updated {
    Now,
    /// It is `Cancelled`: nothing changes any more.
    Cancelled,
}

/// What `cancel` did.
#[derive(Debug)]
pub enum Cancelled {
    /// Now cancelled (it was live).
    Now(SubscriptionRecord),
    /// It already was: nothing changed.
    Already(SubscriptionRecord),
}

impl Store {
    /// A shopper's subscriptions on a site, newest first.
    pub async fn subscriptions_of(
        &self,
        site_id: &SiteId,
        shopper_id: i64,
    ) -> StoreResult<Vec<SubscriptionRecord>> {
        let sql = format!("{SELECT} WHERE s.site_id = $1 AND s.shopper_id = $2 ORDER BY s.id DESC");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(site_id.as_str())
            .bind(shopper_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// One of a shopper's subscriptions (`None` for an unknown id or another shopper's).
    pub async fn subscription_of(
        &self,
        site_id: &SiteId,
        shopper_id: i64,
        id: i64,
    ) -> StoreResult<Option<SubscriptionRecord>> {
        let sql = format!("{SELECT} WHERE s.site_id = $1 AND s.shopper_id = $2 AND s.id = $3");
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(site_id.as_str())
            .bind(shopper_id)
            .bind(id)
            .fetch_optional(&self.read)
            .await?)
    }

    /// The ids of the orders of a subscription: the one that bought it, then its renewals.
    pub async fn subscription_order_ids(&self, id: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT order_id FROM subscriptions WHERE id = $1 UNION \
             SELECT order_id FROM subscription_charges WHERE subscription_id = $1 \
             AND order_id IS NOT NULL ORDER BY 1",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    /// A subscription's charge ledger: every billing attempt, oldest first.
    pub async fn subscription_charges(&self, id: i64) -> StoreResult<Vec<ChargeRecord>> {
        Ok(sqlx::query_as(
            "SELECT period, attempt, amount_minor, currency, payment_source_id, outcome, \
             decline_reason, order_id, created_at FROM subscription_charges \
             WHERE subscription_id = $1 ORDER BY period, attempt",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Live subscriptions whose billing attempt (auto renewal) or lapse (manual renewal) is
    /// due at `now`, most overdue first.
    pub async fn due_subscriptions(&self, now: UnixSeconds, limit: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM subscriptions WHERE state <> 'Cancelled' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.read)
        .await?)
    }

    /// One due subscription's billing attempt, in one transaction: claims it (still due: on
    /// PostgreSQL a second node waits on the row, then finds it done), charges its source,
    /// writes the ledger row — unique per term and attempt, and one approved per term, so a
    /// term is paid exactly once whoever runs it and however often — and then either the
    /// renewal order and the next term, or the next attempt, or the cancellation after the
    /// last, each with its event. A manual-renewal subscription past its grace date lapses.
    /// `before_commit` runs just before the commit (the crash tests' failpoint).
    pub async fn attempt_renewal(
        &self,
        id: i64,
        now: UnixSeconds,
        retry_days: &[u32],
        before_commit: &(dyn Fn() + Send + Sync),
    ) -> StoreResult<RenewalResult> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let claimed = sqlx::query(
            "UPDATE subscriptions SET updated_at = $1 WHERE id = $2 AND state <> 'Cancelled' \
             AND next_attempt_at <= $1",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let Some(s) = one_on(&mut tx, id)
            .await?
            .filter(|_| claimed.rows_affected() == 1)
        else {
            return Ok(RenewalResult::Skipped);
        };
        if !s.auto_renewal {
            // The shopper renews by hand; past the grace date the subscription lapses.
            if now < s.grace_at {
                set_next_attempt(&mut tx, id, s.grace_at, now).await?;
                tx.commit().await?;
                return Ok(RenewalResult::Skipped);
            }
            cancel_on(&mut tx, &s, now).await?;
            before_commit();
            tx.commit().await?;
            return Ok(RenewalResult::Cancelled);
        }
        let period = s.period + 1;
        let attempt = s.attempts + 1;
        let amount = s.renewal_unit_price_minor * s.renewal_quantity;
        let source: Option<(String, String)> =
            sqlx::query_as("SELECT test_outcome, state FROM payment_sources WHERE id = $1")
                .bind(&s.payment_source_id)
                .fetch_optional(&mut *tx)
                .await?;
        // A renewal is a merchant-initiated charge of the stored source.
        let charged = match &source {
            Some((outcome, state)) if state == "chargeable" => {
                TestOutcome::parse(outcome).charge(true)
            }
            _ => Err("payment_source_unavailable"),
        };
        let order_id = match charged {
            Ok(()) => Some(renewal_order(&mut tx, &s, amount, now).await?),
            Err(_) => None,
        };
        sqlx::query(
            "INSERT INTO subscription_charges (subscription_id, period, attempt, amount_minor, \
             currency, payment_source_id, outcome, decline_reason, order_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(period)
        .bind(attempt)
        .bind(amount)
        .bind(&s.currency)
        .bind(&s.payment_source_id)
        .bind(if order_id.is_some() {
            "approved"
        } else {
            "declined"
        })
        .bind(charged.err())
        .bind(order_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let result = match order_id {
            Some(order_id) => {
                let periods = u32::try_from(period).unwrap_or(u32::MAX);
                let dates = s.plan.dates(s.activation_at, periods);
                sqlx::query(
                    "UPDATE subscriptions SET state = 'Subscribed', period = $1, \
                     current_quantity = renewal_quantity, next_renewal_at = $2, \
                     expiration_at = $3, grace_at = $4, next_attempt_at = $2, attempts = 0, \
                     updated_at = $5 WHERE id = $6",
                )
                .bind(period)
                .bind(dates.next_renewal)
                .bind(dates.expiration)
                .bind(dates.grace)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                let renewed = one_on(&mut tx, id)
                    .await?
                    .expect("the renewed subscription");
                let payload =
                    json!({"object": renewed.event_object(), "orderId": order_id.to_string()});
                // The end of a free trial is its conversion (`subscription-trial-converted-event.md`).
                let event = match s.state {
                    SubscriptionState::FreeTrial => SUBSCRIPTION_TRIAL_CONVERTED,
                    _ => SUBSCRIPTION_RENEWED,
                };
                super::events::append_event(&mut tx, &s.site_id, event, &payload, now).await?;
                RenewalResult::Renewed { order_id }
            }
            None => {
                let attempts = s.plan.attempts(s.expiration_at, s.grace_at, retry_days);
                let made = usize::try_from(attempt).unwrap_or(usize::MAX);
                let payload = json!({"object": s.event_object(), "attempt": attempt});
                super::events::append_event(
                    &mut tx,
                    &s.site_id,
                    SUBSCRIPTION_PAYMENT_FAILED,
                    &payload,
                    now,
                )
                .await?;
                match after_decline(&attempts, made, now) {
                    AttemptOutcome::RetryAt(next) => {
                        sqlx::query(
                            "UPDATE subscriptions SET state = 'PendingRenewal', attempts = $1, \
                             next_attempt_at = $2, updated_at = $3 WHERE id = $4",
                        )
                        .bind(attempt)
                        .bind(next)
                        .bind(now)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                        RenewalResult::Declined
                    }
                    AttemptOutcome::GiveUp | AttemptOutcome::Renewed => {
                        sqlx::query("UPDATE subscriptions SET attempts = $1 WHERE id = $2")
                            .bind(attempt)
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        cancel_on(&mut tx, &s, now).await?;
                        RenewalResult::Cancelled
                    }
                }
            }
        };
        before_commit();
        tx.commit().await?;
        Ok(result)
    }

    /// Applies a shopper's change to one of their live subscriptions, with a
    /// `subscription.updated` event naming the previous values (`previousAttributes`), in one
    /// transaction. `None`: no such subscription of the shopper.
    pub async fn update_subscription(
        &self,
        site_id: &SiteId,
        shopper_id: i64,
        id: i64,
        change: &SubscriptionChange,
        now: UnixSeconds,
    ) -> StoreResult<Option<Updated>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        // The claim on the row first (a renewal attempt in flight waits, or is waited for).
        sqlx::query("UPDATE subscriptions SET updated_at = $1 WHERE id = $2 AND shopper_id = $3")
            .bind(now)
            .bind(id)
            .bind(shopper_id)
            .execute(&mut *tx)
            .await?;
        let Some(before) = one_on(&mut tx, id)
            .await?
            .filter(|r| r.site_id == *site_id && r.shopper_id == shopper_id)
        else {
            return Ok(None);
        };
        if before.state == SubscriptionState::Cancelled {
            return Ok(Some(Updated::Cancelled));
        }
        let previous = match change {
            SubscriptionChange::AutoRenewal(on) => {
                sqlx::query("UPDATE subscriptions SET auto_renewal = $1 WHERE id = $2")
                    .bind(i64::from(*on))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                json!({"autoRenewal": before.auto_renewal})
            }
            SubscriptionChange::RenewalQuantity(q) => {
                sqlx::query("UPDATE subscriptions SET renewal_quantity = $1 WHERE id = $2")
                    .bind(q)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                json!({"renewalQuantity": before.renewal_quantity})
            }
            SubscriptionChange::PaymentSource(source) => {
                sqlx::query(
                    "UPDATE subscriptions SET payment_source_id = $1, next_attempt_at = \
                     CASE WHEN state = 'PendingRenewal' THEN $2 ELSE next_attempt_at END \
                     WHERE id = $3",
                )
                .bind(source)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                json!({"paymentOption": {"sourceId": before.payment_source_id}})
            }
            SubscriptionChange::ShipTo(address) => {
                sqlx::query("UPDATE subscriptions SET ship_to_address = $1 WHERE id = $2")
                    .bind(serde_json::to_string(address).unwrap_or_default())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                json!({"shipToAddress": before.ship_to()})
            }
        };
        let after = one_on(&mut tx, id)
            .await?
            .expect("the updated subscription");
        let payload = json!({"object": after.event_object(), "previousAttributes": previous});
        super::events::append_event(&mut tx, site_id, SUBSCRIPTION_UPDATED, &payload, now).await?;
        tx.commit().await?;
        Ok(Some(Updated::Now))
    }

    /// Cancels one of a shopper's live subscriptions: `Cancelled` now, no more renewals, its
    /// dates (the service already paid for) unchanged; `subscription.cancelled` in the same
    /// transaction. `None`: no such subscription of the shopper.
    pub async fn cancel_subscription(
        &self,
        site_id: &SiteId,
        shopper_id: i64,
        id: i64,
        now: UnixSeconds,
    ) -> StoreResult<Option<Cancelled>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let done = sqlx::query(
            "UPDATE subscriptions SET state = $1, cancelled_at = $2, updated_at = $2 \
             WHERE site_id = $3 AND shopper_id = $4 AND id = $5 AND state <> $1",
        )
        .bind(SubscriptionState::Cancelled.as_str())
        .bind(now)
        .bind(site_id.as_str())
        .bind(shopper_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let Some(record) = one_on(&mut tx, id)
            .await?
            .filter(|r| r.site_id == *site_id && r.shopper_id == shopper_id)
        else {
            return Ok(None);
        };
        if done.rows_affected() == 0 {
            return Ok(Some(Cancelled::Already(record)));
        }
        let payload = json!({"object": record.event_object()});
        super::events::append_event(&mut tx, site_id, SUBSCRIPTION_CANCELLED, &payload, now)
            .await?;
        tx.commit().await?;
        Ok(Some(Cancelled::Now(record)))
    }
}
