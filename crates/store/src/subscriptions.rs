//! The subscriptions shoppers buy: written with the order that buys them (in the submit's
//! transaction), read by their shopper, cancelled by them. Each state change appends its event
//! to the outbox in the same transaction.

use super::column::{StoredFlag, StoredSubscriptionPlan, StoredSubscriptionState};
use super::{Store, StoreResult};
use serde_json::{Value, json};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::address::PostalAddress;
use shopkeeper_domain::checkout::order::{NewOrder, NewOrderLine};
use shopkeeper_domain::events::{SUBSCRIPTION_CANCELLED, SUBSCRIPTION_CREATED};
use shopkeeper_domain::subscriptions::{Plan, SubscriptionState, iso8601_millis};
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

    /// The docs' subscription object as events carry it (`subscription-created-event.md`).
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
                "unitPrice": self.renewal_unit_price_minor,
                "currency": self.currency,
                "locked": false,
            },
        })
    }
}

const SELECT: &str = "SELECT s.id, s.site_id, s.shopper_id, s.product_id, s.order_id, s.state, \
     s.auto_renewal, s.plan, s.current_quantity, s.renewal_quantity, s.currency, \
     s.renewal_unit_price_minor, s.payment_source_id, s.ship_to_address, \
     s.billing_agreement_id, s.period, s.activation_at, s.next_renewal_at, s.expiration_at, \
     s.grace_at, s.cancelled_at, s.created_at, p.sku, p.display_name \
     FROM subscriptions s JOIN products p ON p.id = s.product_id ";

async fn one_on(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<SubscriptionRecord>> {
    let sql = format!("{SELECT} WHERE s.id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Writes the subscription a line of a new order buys, and its `subscription.created` event,
/// in the submit's transaction. `plan` is the line's product's; the renewal price is the
/// plan's, else what the order paid a unit.
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
    let renewal_price = plan.renewal_price_minor.unwrap_or(line.unit_price_minor);
    let agreement = shopkeeper_domain::events::new_event_id(u64::try_from(now).unwrap_or(0) * 1000);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO subscriptions (site_id, shopper_id, product_id, order_id, state, \
         auto_renewal, plan, current_quantity, renewal_quantity, currency, \
         renewal_unit_price_minor, payment_source_id, ship_to_address, billing_agreement_id, \
         activation_at, next_renewal_at, expiration_at, grace_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
         $17, $18, $18) RETURNING id",
    )
    .bind(site_id.as_str())
    .bind(shopper_id)
    .bind(line.product_id)
    .bind(order_id)
    .bind(plan.starting_state().as_str())
    .bind(i64::from(plan.auto_renewal))
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
    let created = one_on(conn, id)
        .await?
        .expect("the subscription just written");
    let payload = json!({"object": created.event_object()});
    super::events::append_event(conn, site_id, SUBSCRIPTION_CREATED, &payload, now).await?;
    Ok(id)
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

    /// The ids of the orders of a subscription (the one that bought it first).
    pub async fn subscription_order_ids(&self, id: i64) -> StoreResult<Vec<i64>> {
        Ok(
            sqlx::query_scalar(
                "SELECT order_id FROM subscriptions WHERE id = $1 ORDER BY order_id",
            )
            .bind(id)
            .fetch_all(&self.read)
            .await?,
        )
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
