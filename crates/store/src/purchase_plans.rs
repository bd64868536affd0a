//! Private stores (purchase plans): the merchant's plans with their access rules, prices and
//! limits; the plan a session was authorized into; the units each purchaser bought in a plan,
//! counted in the submit's transaction.

use super::column::{StoredFlag, flag};
use super::{Store, StoreError, StoreResult};
use shopkeeper_domain::purchase_plans::{AccessMethod, AccessRule, PlanPricing, is_open};
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{SessionId, SiteId};
use sqlx::{Any, AnyConnection, Transaction};
use std::collections::HashMap;

/// A plan as stored, with its target market's name and whether it is its site's storefront.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PurchasePlanRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub name: String,
    pub brand_display_name: String,
    pub brand_logo_image: String,
    pub target_market_id: i64,
    pub target_market_name: String,
    #[sqlx(try_from = "StoredFlag")]
    pub auth_required_to_browse: bool,
    pub discount_bp: Option<i64>,
    pub max_quantity_per_shopper: Option<i64>,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    #[sqlx(try_from = "StoredFlag")]
    pub enabled: bool,
    /// The site is this private store (`sites.storefront_plan_id`).
    #[sqlx(try_from = "StoredFlag")]
    pub storefront: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl PurchasePlanRecord {
    pub fn is_open(&self, now: UnixSeconds) -> bool {
        is_open(self.enabled, self.starts_at, self.ends_at, now)
    }
}

/// An access rule as stored: the PIN only as its Argon2id hash.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlanRuleRecord {
    pub plan_id: i64,
    pub method: String,
    pub value: String,
    pub pin_hash: Option<String>,
}

impl PlanRuleRecord {
    /// The rule as the domain matches it (`None`: a method this build does not know).
    pub fn rule(&self) -> Option<AccessRule> {
        Some(AccessRule {
            method: AccessMethod::parse(&self.method)?,
            value: self.value.clone(),
        })
    }
}

/// A rule to add: the value normalized, the PIN already hashed.
#[derive(Debug, Clone)]
pub struct NewPlanRule {
    pub method: AccessMethod,
    pub value: String,
    pub pin_hash: Option<String>,
}

/// A plan's settings, as created or changed (`None` in a change: leave as is).
#[derive(Debug, Clone, Default)]
pub struct PlanSettings {
    pub name: Option<String>,
    pub brand_display_name: Option<String>,
    pub brand_logo_image: Option<String>,
    pub target_market: Option<String>,
    pub auth_required_to_browse: Option<bool>,
    /// `Some(None)`: no discount.
    pub discount_bp: Option<Option<i64>>,
    pub max_quantity_per_shopper: Option<Option<i64>>,
    pub starts_at: Option<Option<i64>>,
    pub ends_at: Option<Option<i64>>,
    pub enabled: Option<bool>,
    /// Make the site this private store (`Some(false)`: no longer).
    pub storefront: Option<bool>,
    pub add_rules: Vec<NewPlanRule>,
    pub remove_rules: Vec<(AccessMethod, String)>,
}

/// One product's price or limit in a plan (an import's `purchasePlans[].prices`).
#[derive(Debug, Clone)]
pub struct PlanPrice {
    pub product_id: i64,
    pub unit_price_minor: Option<i64>,
    pub max_quantity: Option<i64>,
}

/// `SELECT <plan columns> FROM ...` followed by the given literal tail (sqlx wants literal SQL).
macro_rules! select_plans {
    ($tail:literal) => {
        concat!(
            "SELECT p.id, p.site_id, p.name, p.brand_display_name, \
     p.brand_logo_image, p.target_market_id, m.name AS target_market_name, \
     p.auth_required_to_browse, p.discount_bp, p.max_quantity_per_shopper, p.starts_at, \
     p.ends_at, p.enabled, \
     CAST(CASE WHEN s.storefront_plan_id = p.id THEN 1 ELSE 0 END AS BIGINT) AS storefront, \
     p.created_at, p.updated_at \
     FROM purchase_plans p JOIN target_markets m ON m.id = p.target_market_id \
     JOIN sites s ON s.id = p.site_id",
            " ",
            $tail
        )
    };
}

fn conflict_or(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(what()),
        other => other,
    }
}

async fn target_market(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    name: &str,
) -> StoreResult<i64> {
    sqlx::query(
        "INSERT INTO target_markets (site_id, name) VALUES ($1, $2) \
         ON CONFLICT (site_id, name) DO NOTHING",
    )
    .bind(site_id.as_str())
    .bind(name)
    .execute(&mut **tx)
    .await?;
    Ok(
        sqlx::query_scalar("SELECT id FROM target_markets WHERE site_id = $1 AND name = $2")
            .bind(site_id.as_str())
            .bind(name)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// The plan's pricing, from its row and its prices.
pub(super) async fn plan_pricing(
    conn: &mut AnyConnection,
    plan: &PurchasePlanRecord,
) -> StoreResult<PlanPricing> {
    let rows: Vec<(i64, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT product_id, unit_price_minor, max_quantity FROM purchase_plan_prices \
         WHERE plan_id = $1",
    )
    .bind(plan.id)
    .fetch_all(&mut *conn)
    .await?;
    let mut pricing = PlanPricing {
        plan_id: plan.id,
        target_market_id: plan.target_market_id,
        discount_bp: plan.discount_bp,
        max_quantity: plan.max_quantity_per_shopper,
        ..PlanPricing::default()
    };
    for (product_id, price, limit) in rows {
        if let Some(p) = price {
            pricing.prices.insert(product_id, p);
        }
        if let Some(l) = limit {
            pricing.product_limits.insert(product_id, l);
        }
    }
    Ok(pricing)
}

/// The plan a session is authorized into, with the address it proved, while the plan is open.
pub(super) async fn session_plan(
    conn: &mut AnyConnection,
    session_id: &SessionId,
    now: UnixSeconds,
) -> StoreResult<Option<(PurchasePlanRecord, Option<String>)>> {
    Ok(session_standing(conn, session_id, now).await?.plan)
}

/// A session's standing in its site's private stores, as a cart reads it.
pub(super) struct Standing {
    /// The plan the session is in, with the address it proved, while the plan is open.
    pub plan: Option<(PurchasePlanRecord, Option<String>)>,
    /// The site is itself a private store (its storefront plan is switched on).
    pub private_site: bool,
}

/// The session's standing: one read, and one more only for a session in a plan.
pub(super) async fn session_standing(
    conn: &mut AnyConnection,
    session_id: &SessionId,
    now: UnixSeconds,
) -> StoreResult<Standing> {
    let row: Option<(Option<i64>, Option<String>, i64)> = sqlx::query_as(
        "SELECT ss.purchase_plan_id, ss.purchase_plan_email, \
         CAST(CASE WHEN sp.id IS NOT NULL THEN 1 ELSE 0 END AS BIGINT) \
         FROM shopper_sessions ss JOIN sites s ON s.id = ss.site_id \
         LEFT JOIN purchase_plans sp ON sp.id = s.storefront_plan_id AND sp.enabled = 1 \
         WHERE ss.id = $1",
    )
    .bind(session_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some((plan_id, email, private_site)) = row else {
        return Ok(Standing {
            plan: None,
            private_site: false,
        });
    };
    let plan = match plan_id {
        Some(id) => {
            let plan: Option<PurchasePlanRecord> = sqlx::query_as(select_plans!("WHERE p.id = $1"))
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
            plan.filter(|p| p.is_open(now)).map(|p| (p, email))
        }
        None => None,
    };
    Ok(Standing {
        plan,
        private_site: private_site != 0,
    })
}

/// Units of each product `purchaser` bought in the plan.
pub(super) async fn bought(
    conn: &mut AnyConnection,
    plan_id: i64,
    purchaser: &str,
) -> StoreResult<HashMap<i64, i64>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT product_id, quantity FROM purchase_plan_purchases \
         WHERE plan_id = $1 AND purchaser = $2",
    )
    .bind(plan_id)
    .bind(purchaser)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Counts an order's units against its purchaser's in the plan, in the submit's transaction.
/// The update is conditional on the limit: of concurrent submits that would pass it together,
/// the first to commit counts and the others match no row (PostgreSQL makes them wait on the
/// row, SQLite writes one at a time). Returns the product refused and what its purchaser had
/// already bought.
pub(super) async fn count_purchases(
    tx: &mut AnyConnection,
    plan_id: i64,
    purchaser: &str,
    units: &[(i64, i64, Option<i64>)],
) -> StoreResult<Result<(), (i64, i64, i64)>> {
    for &(product_id, quantity, limit) in units {
        let cap = limit.unwrap_or(i64::MAX);
        let done = sqlx::query(
            "INSERT INTO purchase_plan_purchases (plan_id, purchaser, product_id, quantity) \
             SELECT $1, $2, $3, $4 WHERE $4 <= $5 \
             ON CONFLICT (plan_id, purchaser, product_id) DO UPDATE \
             SET quantity = purchase_plan_purchases.quantity + excluded.quantity \
             WHERE purchase_plan_purchases.quantity + excluded.quantity <= $5",
        )
        .bind(plan_id)
        .bind(purchaser)
        .bind(product_id)
        .bind(quantity)
        .bind(cap)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            let had: Option<i64> = sqlx::query_scalar(
                "SELECT quantity FROM purchase_plan_purchases \
                 WHERE plan_id = $1 AND purchaser = $2 AND product_id = $3",
            )
            .bind(plan_id)
            .bind(purchaser)
            .bind(product_id)
            .fetch_optional(&mut *tx)
            .await?;
            return Ok(Err((product_id, cap, had.unwrap_or(0))));
        }
    }
    Ok(Ok(()))
}

impl Store {
    /// Creates a plan with its rules (its name new on the site).
    pub async fn create_purchase_plan(
        &self,
        site_id: &SiteId,
        settings: &PlanSettings,
        now: UnixSeconds,
    ) -> StoreResult<PurchasePlanRecord> {
        let name = settings
            .name
            .as_deref()
            .ok_or_else(|| StoreError::NotFound("a plan's name".into()))?;
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let site: Option<String> = sqlx::query_scalar("SELECT id FROM sites WHERE id = $1")
            .bind(site_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if site.is_none() {
            return Err(StoreError::NotFound(format!("site {site_id}")));
        }
        let market = target_market(
            &mut tx,
            site_id,
            settings.target_market.as_deref().unwrap_or(name),
        )
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO purchase_plans (site_id, name, brand_display_name, brand_logo_image, \
             target_market_id, auth_required_to_browse, discount_bp, max_quantity_per_shopper, \
             starts_at, ends_at, enabled, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
        )
        .bind(site_id.as_str())
        .bind(name)
        .bind(settings.brand_display_name.clone().unwrap_or_default())
        .bind(settings.brand_logo_image.clone().unwrap_or_default())
        .bind(market)
        .bind(flag(settings.auth_required_to_browse.unwrap_or(false)))
        .bind(settings.discount_bp.flatten())
        .bind(settings.max_quantity_per_shopper.flatten())
        .bind(settings.starts_at.flatten())
        .bind(settings.ends_at.flatten())
        .bind(flag(settings.enabled.unwrap_or(true)))
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| conflict_or(e, || format!("the site already has a plan named {name:?}")))?;
        write_rules(&mut tx, id, settings).await?;
        if settings.storefront == Some(true) {
            set_storefront(&mut tx, site_id, Some(id)).await?;
        }
        tx.commit().await?;
        drop(writer);
        self.plan_changed(site_id, id).await
    }

    /// Changes a plan's settings and rules.
    pub async fn update_purchase_plan(
        &self,
        site_id: &SiteId,
        id: i64,
        settings: &PlanSettings,
        now: UnixSeconds,
    ) -> StoreResult<PurchasePlanRecord> {
        let Some(current) = self.purchase_plan(site_id, id).await? else {
            return Err(StoreError::NotFound(format!(
                "purchase plan {id} of site {site_id}"
            )));
        };
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let market = match &settings.target_market {
            Some(name) => target_market(&mut tx, site_id, name).await?,
            None => current.target_market_id,
        };
        let name = settings.name.clone().unwrap_or(current.name.clone());
        sqlx::query(
            "UPDATE purchase_plans SET name = $1, brand_display_name = $2, \
             brand_logo_image = $3, target_market_id = $4, auth_required_to_browse = $5, \
             discount_bp = $6, max_quantity_per_shopper = $7, starts_at = $8, ends_at = $9, \
             enabled = $10, updated_at = $11 WHERE id = $12 AND site_id = $13",
        )
        .bind(&name)
        .bind(
            settings
                .brand_display_name
                .clone()
                .unwrap_or(current.brand_display_name),
        )
        .bind(
            settings
                .brand_logo_image
                .clone()
                .unwrap_or(current.brand_logo_image),
        )
        .bind(market)
        .bind(flag(
            settings
                .auth_required_to_browse
                .unwrap_or(current.auth_required_to_browse),
        ))
        .bind(settings.discount_bp.unwrap_or(current.discount_bp))
        .bind(
            settings
                .max_quantity_per_shopper
                .unwrap_or(current.max_quantity_per_shopper),
        )
        .bind(settings.starts_at.unwrap_or(current.starts_at))
        .bind(settings.ends_at.unwrap_or(current.ends_at))
        .bind(flag(settings.enabled.unwrap_or(current.enabled)))
        .bind(now)
        .bind(id)
        .bind(site_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_or(e, || format!("the site already has a plan named {name:?}")))?;
        for (method, value) in &settings.remove_rules {
            sqlx::query(
                "DELETE FROM purchase_plan_rules WHERE plan_id = $1 AND method = $2 AND value = $3",
            )
            .bind(id)
            .bind(method.as_str())
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        write_rules(&mut tx, id, settings).await?;
        match settings.storefront {
            Some(true) => set_storefront(&mut tx, site_id, Some(id)).await?,
            Some(false) if current.storefront => set_storefront(&mut tx, site_id, None).await?,
            _ => {}
        }
        tx.commit().await?;
        drop(writer);
        self.plan_changed(site_id, id).await
    }

    /// After a plan's change committed: sites' private-store flags are cached with their keys,
    /// so the cache is dropped; the plan as it now is.
    async fn plan_changed(&self, site_id: &SiteId, id: i64) -> StoreResult<PurchasePlanRecord> {
        self.forget_client(None);
        self.purchase_plan(site_id, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("purchase plan {id}")))
    }

    pub async fn purchase_plan(
        &self,
        site_id: &SiteId,
        id: i64,
    ) -> StoreResult<Option<PurchasePlanRecord>> {
        Ok(
            sqlx::query_as(select_plans!("WHERE p.site_id = $1 AND p.id = $2"))
                .bind(site_id.as_str())
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub async fn purchase_plans(&self, site_id: &SiteId) -> StoreResult<Vec<PurchasePlanRecord>> {
        Ok(
            sqlx::query_as(select_plans!("WHERE p.site_id = $1 ORDER BY p.id"))
                .bind(site_id.as_str())
                .fetch_all(&self.read)
                .await?,
        )
    }

    /// The site's storefront plan, if the site is a private store.
    pub async fn storefront_plan(
        &self,
        site_id: &SiteId,
    ) -> StoreResult<Option<PurchasePlanRecord>> {
        Ok(sqlx::query_as(select_plans!(
            "WHERE p.site_id = $1 AND s.storefront_plan_id = p.id"
        ))
        .bind(site_id.as_str())
        .fetch_optional(&self.read)
        .await?)
    }

    /// The rules of the site's plans (of one plan, when `plan_id` is given).
    pub async fn purchase_plan_rules(
        &self,
        site_id: &SiteId,
        plan_id: Option<i64>,
    ) -> StoreResult<Vec<PlanRuleRecord>> {
        Ok(sqlx::query_as(
            "SELECT r.plan_id, r.method, r.value, r.pin_hash FROM purchase_plan_rules r \
             JOIN purchase_plans p ON p.id = r.plan_id \
             WHERE p.site_id = $1 AND ($2 = 0 OR p.id = $2) ORDER BY r.plan_id, r.id",
        )
        .bind(site_id.as_str())
        .bind(plan_id.unwrap_or(0))
        .fetch_all(&self.read)
        .await?)
    }

    /// The plan's prices and limits, as a cart or the catalog applies them.
    pub async fn purchase_plan_pricing(
        &self,
        plan: &PurchasePlanRecord,
    ) -> StoreResult<PlanPricing> {
        let mut conn = self.read.acquire().await?;
        plan_pricing(&mut conn, plan).await
    }

    /// The plan a session is authorized into and the address it proved, while it is open.
    pub async fn session_purchase_plan(
        &self,
        session_id: &SessionId,
        now: UnixSeconds,
    ) -> StoreResult<Option<(PurchasePlanRecord, Option<String>)>> {
        let mut conn = self.read.acquire().await?;
        session_plan(&mut conn, session_id, now).await
    }

    /// Units of each product `purchaser` (a `Purchaser::key`) bought in the plan.
    pub async fn purchase_plan_bought(
        &self,
        plan_id: i64,
        purchaser: &str,
    ) -> StoreResult<HashMap<i64, i64>> {
        let mut conn = self.read.acquire().await?;
        bought(&mut conn, plan_id, purchaser).await
    }

    /// Binds the session to the plan it proved eligibility for (replacing any other plan).
    pub async fn authorize_session_plan(
        &self,
        session_id: &SessionId,
        plan_id: i64,
        proven_email: Option<&str>,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        sqlx::query(
            "UPDATE shopper_sessions SET purchase_plan_id = $1, purchase_plan_email = $2 \
             WHERE id = $3",
        )
        .bind(plan_id)
        .bind(proven_email)
        .bind(session_id.as_str())
        .execute(&mut *writer)
        .await?;
        drop(writer);
        self.snapshots.forget(session_id.as_str());
        Ok(())
    }

    /// Sets prices and limits of products in a plan (an import), replacing the products'
    /// earlier entries, in one transaction.
    pub async fn set_purchase_plan_prices(
        &self,
        site_id: &SiteId,
        plan_id: i64,
        prices: &[PlanPrice],
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM purchase_plans WHERE id = $1 AND site_id = $2")
                .bind(plan_id)
                .bind(site_id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!("purchase plan {plan_id}")));
        }
        for p in prices {
            sqlx::query(
                "INSERT INTO purchase_plan_prices (plan_id, product_id, unit_price_minor, \
                 max_quantity) VALUES ($1, $2, $3, $4) ON CONFLICT (plan_id, product_id) \
                 DO UPDATE SET unit_price_minor = excluded.unit_price_minor, \
                 max_quantity = excluded.max_quantity",
            )
            .bind(plan_id)
            .bind(p.product_id)
            .bind(p.unit_price_minor)
            .bind(p.max_quantity)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The plan's prices, by product.
    pub async fn purchase_plan_prices(&self, plan_id: i64) -> StoreResult<Vec<PlanPrice>> {
        let rows: Vec<(i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT product_id, unit_price_minor, max_quantity FROM purchase_plan_prices \
             WHERE plan_id = $1 ORDER BY product_id",
        )
        .bind(plan_id)
        .fetch_all(&self.read)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(product_id, unit_price_minor, max_quantity)| PlanPrice {
                product_id,
                unit_price_minor,
                max_quantity,
            })
            .collect())
    }
}

async fn write_rules(
    tx: &mut Transaction<'_, Any>,
    plan_id: i64,
    settings: &PlanSettings,
) -> StoreResult<()> {
    for rule in &settings.add_rules {
        // A rule given again replaces its PIN (a new code for the same identifier).
        sqlx::query(
            "INSERT INTO purchase_plan_rules (plan_id, method, value, pin_hash) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (plan_id, method, value) \
             DO UPDATE SET pin_hash = excluded.pin_hash",
        )
        .bind(plan_id)
        .bind(rule.method.as_str())
        .bind(&rule.value)
        .bind(&rule.pin_hash)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn set_storefront(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    plan_id: Option<i64>,
) -> StoreResult<()> {
    sqlx::query("UPDATE sites SET storefront_plan_id = $1 WHERE id = $2")
        .bind(plan_id)
        .bind(site_id.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
