//! A site's offers, their coupon codes and the points of promotion (POPs) that show them.

use super::cart_write::{CartWriter, start_cart_write};
use super::{Store, StoreError, StoreResult, Tally};
use serde::Serialize;
use shopkeeper_domain::SessionId;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::offer_import::ValidOffers;
use shopkeeper_domain::offers::{
    CouponCode, DiscountLevel, DiscountOverride, NewOffer, Offer, OfferId, OfferType, Reduction,
    Trigger, TriggerRefusal, check_trigger,
};
use shopkeeper_domain::time::UnixSeconds;
use sqlx::{Any, AnyConnection, Row, Transaction};
use std::collections::{HashMap, HashSet};

/// An offer as stored, with what pricing needs (`pricing`) and what the API shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OfferRecord {
    pub id: OfferId,
    #[serde(serialize_with = "serialize_site")]
    pub site_id: SiteId,
    pub name: String,
    #[serde(skip)]
    pub pricing: Offer,
    pub total_limit: Option<i64>,
    pub per_shopper_limit: Option<i64>,
    pub uses: i64,
    pub external_reference_id: Option<String>,
    pub sales_pitch: String,
    pub image: Option<String>,
    pub coupon_codes: Vec<String>,
}

fn serialize_site<S: serde::Serializer>(site: &SiteId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(site.as_str())
}

#[derive(sqlx::FromRow)]
struct OfferRow {
    id: i64,
    site_id: String,
    name: String,
    offer_type: String,
    discount_level: String,
    trigger_kind: String,
    percent_off_bp: Option<i64>,
    amount_off_currency: Option<String>,
    amount_off_minor: Option<i64>,
    minimum_order_currency: Option<String>,
    minimum_order_minor: Option<i64>,
    shipping_option_ids: String,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    enabled: i64,
    total_limit: Option<i64>,
    per_shopper_limit: Option<i64>,
    uses: i64,
    external_reference_id: Option<String>,
    sales_pitch: String,
    image: Option<String>,
}

const OFFER_COLUMNS: &str = "id, site_id, name, offer_type, discount_level, trigger_kind, \
     percent_off_bp, amount_off_currency, amount_off_minor, minimum_order_currency, \
     minimum_order_minor, shipping_option_ids, starts_at, ends_at, enabled, total_limit, \
     per_shopper_limit, uses, external_reference_id, sales_pitch, image";

fn corrupt(what: &str, id: i64) -> StoreError {
    StoreError::Database(format!("offer {id}: the stored {what} is not valid").into())
}

impl OfferRow {
    fn into_record(
        self,
        product_ids: Vec<i64>,
        category_ids: Vec<i64>,
        coupon_codes: Vec<String>,
    ) -> StoreResult<OfferRecord> {
        let id = self.id;
        let reduction = match (
            self.percent_off_bp,
            self.amount_off_currency,
            self.amount_off_minor,
        ) {
            (Some(bp), None, None) => Some(Reduction::PercentOff(bp)),
            (None, Some(currency), Some(minor)) => Some(Reduction::AmountOff { currency, minor }),
            (None, None, None) => None,
            _ => return Err(corrupt("reduction", id)),
        };
        let minimum_order = match (self.minimum_order_currency, self.minimum_order_minor) {
            (Some(currency), Some(minor)) => Some((currency, minor)),
            (None, None) => None,
            _ => return Err(corrupt("minimum order", id)),
        };
        let pricing = Offer {
            id,
            offer_type: OfferType::parse(&self.offer_type).ok_or_else(|| corrupt("type", id))?,
            level: DiscountLevel::parse(&self.discount_level)
                .ok_or_else(|| corrupt("level", id))?,
            trigger: Trigger::parse(&self.trigger_kind).ok_or_else(|| corrupt("trigger", id))?,
            reduction,
            product_ids,
            category_ids,
            minimum_order,
            shipping_option_ids: serde_json::from_str(&self.shipping_option_ids)
                .map_err(|_| corrupt("shipping options", id))?,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            enabled: self.enabled != 0,
        };
        Ok(OfferRecord {
            id,
            site_id: SiteId::parse(&self.site_id).map_err(|_| corrupt("site", id))?,
            name: self.name,
            pricing,
            total_limit: self.total_limit,
            per_shopper_limit: self.per_shopper_limit,
            uses: self.uses,
            external_reference_id: self.external_reference_id,
            sales_pitch: self.sales_pitch,
            image: self.image,
            coupon_codes,
        })
    }
}

/// A coupon code and the offers it triggers.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct CouponRecord {
    pub code: String,
    pub offer_id: OfferId,
    pub secondary_offer_id: Option<OfferId>,
}

/// A point of promotion and its offers, in their rank.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PopRecord {
    pub name: String,
    pub offer_ids: Vec<OfferId>,
}

fn conflict_or(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict(_) => StoreError::Conflict(what()),
        other => other,
    }
}

/// The ids a query of `offer_id` lists (`offer_products`, `offer_categories`).
async fn offer_ids_in(
    conn: &mut AnyConnection,
    sql: &'static str,
    offer_id: OfferId,
) -> StoreResult<Vec<i64>> {
    Ok(sqlx::query_scalar(sql)
        .bind(offer_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// An offer's products and categories, read on `conn`.
async fn scope_on(conn: &mut AnyConnection, id: OfferId) -> StoreResult<(Vec<i64>, Vec<i64>)> {
    let products = offer_ids_in(
        conn,
        "SELECT product_id FROM offer_products WHERE offer_id = $1 ORDER BY product_id",
        id,
    )
    .await?;
    let categories = offer_ids_in(
        conn,
        "SELECT category_id FROM offer_categories WHERE offer_id = $1 ORDER BY category_id",
        id,
    )
    .await?;
    Ok((products, categories))
}

/// An offer a cart brought in, and the coupon code it came by (`None`: named by id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartTrigger {
    pub offer_id: OfferId,
    pub coupon_code: Option<String>,
    /// The storefront's description of it (`customDescription`).
    pub custom_description: Option<String>,
    /// The discounts the storefront put in place of the offer's own (`overrideDiscount`).
    pub overrides: Vec<DiscountOverride>,
}

/// What a storefront says with an offer it applies by name besides its id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerDetails {
    pub custom_description: Option<String>,
    pub overrides: Vec<DiscountOverride>,
}

/// The offers that may price a cart, as pricing sees them (their windows are judged by the
/// arbitration), read on the cart's own connection: the site's enabled always-triggered
/// offers (none after DELETE eligible-offers, none the shopper removed) and the enabled offers
/// the cart triggered, each with uses left; and the cart's triggers. Arbitration runs at every
/// pricing (`reconciling-conflicting-offers.md`), a submit's included: an offer used up by
/// then is not in it, and one used up by a concurrent submit is refused at redemption.
pub(crate) async fn cart_offers(
    conn: &mut AnyConnection,
    site_id: &SiteId,
    session_id: &SessionId,
    offers_reset: bool,
) -> StoreResult<(Vec<Offer>, Vec<CartTrigger>)> {
    let rows: Vec<(i64, Option<String>, Option<String>, String)> = sqlx::query_as(
        "SELECT offer_id, coupon_code, custom_description, overrides FROM cart_offer_triggers \
         WHERE session_id = $1 ORDER BY offer_id",
    )
    .bind(session_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let mut triggers = Vec::with_capacity(rows.len());
    for (offer_id, coupon_code, custom_description, overrides) in rows {
        triggers.push(CartTrigger {
            offer_id,
            coupon_code,
            custom_description,
            overrides: serde_json::from_str(&overrides)
                .map_err(|_| corrupt("cart's overrides", offer_id))?,
        });
    }
    let sql = format!(
        "SELECT {OFFER_COLUMNS} FROM offers WHERE site_id = $1 AND enabled = 1 \
         AND (total_limit IS NULL OR uses < total_limit) AND ( \
           (trigger_kind = 'always' \
            AND $3 = 0 \
            AND NOT EXISTS (SELECT 1 FROM cart_offer_exclusions x \
                            WHERE x.session_id = $2 AND x.offer_id = offers.id)) \
           OR id IN (SELECT offer_id FROM cart_offer_triggers WHERE session_id = $2)) \
         ORDER BY id"
    );
    let rows: Vec<OfferRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(site_id.as_str())
        .bind(session_id.as_str())
        .bind(i64::from(offers_reset))
        .fetch_all(&mut *conn)
        .await?;
    // Pricing needs no coupon codes: two reads an offer on a cart read, not three.
    let mut offers = Vec::with_capacity(rows.len());
    for row in rows {
        let (products, categories) = scope_on(conn, row.id).await?;
        let offer = row.into_record(products, categories, Vec::new())?.pricing;
        match triggers.iter().find(|t| t.offer_id == offer.id) {
            Some(t) => offers.extend(offer.with_overrides(&t.overrides)),
            None => offers.push(offer),
        }
    }
    Ok((offers, triggers))
}

/// Forgets what a cart did to its offers (when it becomes an order).
pub(crate) async fn clear_cart_offers(
    conn: &mut AnyConnection,
    session_id: &SessionId,
) -> StoreResult<()> {
    for sql in [
        "DELETE FROM cart_offer_triggers WHERE session_id = $1",
        "DELETE FROM cart_offer_exclusions WHERE session_id = $1",
        "UPDATE carts SET offers_reset = 0 WHERE session_id = $1",
    ] {
        sqlx::query(sql)
            .bind(session_id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The offers a code triggers, read on `conn`.
async fn coupon_on(
    conn: &mut AnyConnection,
    site_id: &SiteId,
    code: &CouponCode,
) -> StoreResult<Option<CouponRecord>> {
    Ok(sqlx::query_as(
        "SELECT code, offer_id, secondary_offer_id FROM coupon_codes \
         WHERE site_id = $1 AND code = $2",
    )
    .bind(site_id.as_str())
    .bind(code.as_str())
    .fetch_optional(&mut *conn)
    .await?)
}

/// An offer's definition and uses, read in a cart write's transaction.
async fn offer_on(
    conn: &mut AnyConnection,
    site_id: &SiteId,
    id: OfferId,
) -> StoreResult<Option<OfferRecord>> {
    let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE site_id = $1 AND id = $2");
    let row: Option<OfferRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(site_id.as_str())
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => {
            let (products, categories) = scope_on(conn, row.id).await?;
            Ok(Some(row.into_record(products, categories, Vec::new())?))
        }
        None => Ok(None),
    }
}

/// Whether a cart may bring `offer` in by `by`: its state, window and uses (the shopper's
/// counted when the cart has a signed-in shopper; a guest's e-mail is known at submit).
async fn may_trigger(
    conn: &mut AnyConnection,
    offer: &OfferRecord,
    by: Trigger,
    shopper_id: Option<i64>,
    now: UnixSeconds,
) -> StoreResult<Result<(), TriggerRefusal>> {
    let shopper_uses = match (shopper_id, offer.per_shopper_limit) {
        (Some(id), Some(_)) => {
            let (used,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM offer_redemptions WHERE offer_id = $1 AND shopper_key = $2",
            )
            .bind(offer.id)
            .bind(format!("shopper:{id}"))
            .fetch_one(&mut *conn)
            .await?;
            used
        }
        _ => 0,
    };
    Ok(check_trigger(
        &offer.pricing,
        by,
        now,
        (offer.uses, offer.total_limit),
        (shopper_uses, offer.per_shopper_limit),
    ))
}

/// The first coupon code of `triggers` that can no longer be used, and why.
pub(crate) async fn lapsed_code(
    conn: &mut AnyConnection,
    site_id: &SiteId,
    triggers: &[CartTrigger],
    shopper_id: Option<i64>,
    now: UnixSeconds,
) -> StoreResult<Option<(String, TriggerRefusal)>> {
    for t in triggers {
        let Some(code) = &t.coupon_code else { continue };
        let refusal = match offer_on(conn, site_id, t.offer_id).await? {
            Some(offer) => may_trigger(conn, &offer, Trigger::Coupon, shopper_id, now)
                .await?
                .err(),
            None => Some(TriggerRefusal::Unknown),
        };
        if let Some(refusal) = refusal {
            return Ok(Some((code.clone(), refusal)));
        }
    }
    Ok(None)
}

async fn write_trigger(
    conn: &mut AnyConnection,
    session_id: &SessionId,
    offer_id: OfferId,
    code: Option<&str>,
    details: &TriggerDetails,
    now: UnixSeconds,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO cart_offer_triggers (session_id, offer_id, coupon_code, created_at, \
         custom_description, overrides) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (session_id, offer_id) DO UPDATE SET coupon_code = excluded.coupon_code, \
         custom_description = excluded.custom_description, overrides = excluded.overrides",
    )
    .bind(session_id.as_str())
    .bind(offer_id)
    .bind(code)
    .bind(now)
    .bind(details.custom_description.as_deref())
    .bind(serde_json::to_string(&details.overrides).expect("overrides serialise"))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Checks that every id of `ids` is a row of `table` on `site` (`products`, `categories`).
async fn all_on_site(
    tx: &mut Transaction<'_, Any>,
    table: &'static str,
    site_id: &SiteId,
    ids: &[i64],
) -> StoreResult<()> {
    for id in ids {
        let sql = match table {
            "products" => "SELECT COUNT(*) FROM products WHERE site_id = $1 AND id = $2",
            _ => "SELECT COUNT(*) FROM categories WHERE site_id = $1 AND id = $2",
        };
        let (found,): (i64,) = sqlx::query_as(sql)
            .bind(site_id.as_str())
            .bind(*id)
            .fetch_one(&mut **tx)
            .await?;
        if found == 0 {
            let what = if table == "products" {
                "product"
            } else {
                "category"
            };
            return Err(StoreError::NotFound(format!(
                "{what} {id} of site {site_id}"
            )));
        }
    }
    Ok(())
}

/// Writes the offer's products, categories and codes (after clearing them on an update).
async fn write_scope(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    id: OfferId,
    offer: &NewOffer,
    now: UnixSeconds,
) -> StoreResult<()> {
    all_on_site(tx, "products", site_id, &offer.pricing.product_ids).await?;
    all_on_site(tx, "categories", site_id, &offer.pricing.category_ids).await?;
    for sql in [
        "DELETE FROM offer_products WHERE offer_id = $1",
        "DELETE FROM offer_categories WHERE offer_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    for product in &offer.pricing.product_ids {
        sqlx::query(
            "INSERT INTO offer_products (offer_id, product_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(*product)
        .execute(&mut **tx)
        .await?;
    }
    for category in &offer.pricing.category_ids {
        sqlx::query(
            "INSERT INTO offer_categories (offer_id, category_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(*category)
        .execute(&mut **tx)
        .await?;
    }
    for code in &offer.coupon_codes {
        // A code the offer has already is kept as it is; another offer's is a conflict.
        let holder: Option<i64> = sqlx::query_scalar(
            "SELECT offer_id FROM coupon_codes WHERE site_id = $1 AND code = $2",
        )
        .bind(site_id.as_str())
        .bind(code.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        if holder != Some(id) {
            add_code(tx, site_id, code, id, None, now).await?;
        }
    }
    Ok(())
}

async fn add_code(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    code: &CouponCode,
    offer_id: OfferId,
    secondary: Option<OfferId>,
    now: UnixSeconds,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO coupon_codes (site_id, code, offer_id, secondary_offer_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(site_id.as_str())
    .bind(code.as_str())
    .bind(offer_id)
    .bind(secondary)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map_err(|e| {
        conflict_or(e, || {
            format!("coupon code {code} already exists on {site_id}")
        })
    })?;
    Ok(())
}

/// Inserts an offer with its scope; its id.
async fn insert_offer(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    offer: &NewOffer,
    now: UnixSeconds,
) -> StoreResult<OfferId> {
    let row = bind_definition(
        sqlx::query(
            "INSERT INTO offers (name, offer_type, discount_level, trigger_kind, \
             percent_off_bp, amount_off_currency, amount_off_minor, minimum_order_currency, \
             minimum_order_minor, shipping_option_ids, starts_at, ends_at, enabled, \
             total_limit, per_shopper_limit, external_reference_id, sales_pitch, image, \
             site_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20) RETURNING id",
        ),
        offer,
    )
    .bind(site_id.as_str())
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| {
        conflict_or(e, || {
            format!(
                "an offer with externalReferenceId {:?} already exists on {site_id}",
                offer.external_reference_id.as_deref().unwrap_or_default()
            )
        })
    })?;
    let id: i64 = row.try_get(0)?;
    write_scope(tx, site_id, id, offer, now).await?;
    Ok(id)
}

/// Replaces an offer's definition and scope (its uses and codes stay; new codes are added).
async fn update_offer_in(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    id: OfferId,
    offer: &NewOffer,
    now: UnixSeconds,
) -> StoreResult<()> {
    let done = bind_definition(
        sqlx::query(
            "UPDATE offers SET name = $1, offer_type = $2, discount_level = $3, \
             trigger_kind = $4, percent_off_bp = $5, amount_off_currency = $6, \
             amount_off_minor = $7, minimum_order_currency = $8, minimum_order_minor = $9, \
             shipping_option_ids = $10, starts_at = $11, ends_at = $12, enabled = $13, \
             total_limit = $14, per_shopper_limit = $15, external_reference_id = $16, \
             sales_pitch = $17, image = $18, updated_at = $19 \
             WHERE site_id = $20 AND id = $21",
        ),
        offer,
    )
    .bind(now)
    .bind(site_id.as_str())
    .bind(id)
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict_or(e, || "another offer has that externalReferenceId".into()))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "offer {id} of site {site_id}"
        )));
    }
    write_scope(tx, site_id, id, offer, now).await
}

/// The site's offer of an `externalReferenceId`.
async fn offer_by_reference(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    erid: &str,
) -> StoreResult<Option<OfferId>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM offers WHERE site_id = $1 AND external_reference_id = $2",
    )
    .bind(site_id.as_str())
    .bind(erid)
    .fetch_optional(&mut **tx)
    .await?)
}

/// The ids of the rows `sql` finds by each of `names` (`$1` the site, `$2` the name), in
/// order; a name with none is an error naming it (`what`).
async fn ids_named(
    tx: &mut Transaction<'_, Any>,
    sql: &'static str,
    what: &str,
    site_id: &SiteId,
    names: &[String],
) -> StoreResult<Vec<i64>> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let id: Option<i64> = sqlx::query_scalar(sql)
            .bind(site_id.as_str())
            .bind(name.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        ids.push(
            id.ok_or_else(|| StoreError::NotFound(format!("{what} {name:?} of site {site_id}")))?,
        );
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// Binds a definition's 18 columns, `name` to `image` in the order the insert and update name them
/// (`$1` to `$18`), for the insert and the update alike.
fn bind_definition<'q>(query: AnyQuery<'q>, offer: &'q NewOffer) -> AnyQuery<'q> {
    let p = &offer.pricing;
    let (percent, amount_currency, amount_minor) = match &p.reduction {
        Some(Reduction::PercentOff(bp)) => (Some(*bp), None, None),
        Some(Reduction::AmountOff { currency, minor }) => {
            (None, Some(currency.as_str()), Some(*minor))
        }
        None => (None, None, None),
    };
    query
        .bind(offer.name.as_str())
        .bind(p.offer_type.as_str())
        .bind(p.level.as_str())
        .bind(p.trigger.as_str())
        .bind(percent)
        .bind(amount_currency)
        .bind(amount_minor)
        .bind(p.minimum_order.as_ref().map(|(c, _)| c.as_str()))
        .bind(p.minimum_order.as_ref().map(|(_, m)| *m))
        .bind(serde_json::to_string(&p.shipping_option_ids).expect("ids serialise"))
        .bind(p.starts_at)
        .bind(p.ends_at)
        .bind(i64::from(p.enabled))
        .bind(offer.total_limit)
        .bind(offer.per_shopper_limit)
        .bind(offer.external_reference_id.as_deref())
        .bind(offer.sales_pitch.as_str())
        .bind(offer.image.as_deref())
}

impl Store {
    /// Creates an offer with its products, categories and coupon codes, in one transaction.
    pub async fn create_offer(
        &self,
        site_id: &SiteId,
        offer: &NewOffer,
        now: UnixSeconds,
    ) -> StoreResult<OfferRecord> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let id = insert_offer(&mut tx, site_id, offer, now).await?;
        tx.commit().await?;
        drop(writer);
        self.offer(site_id, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("offer {id}")))
    }

    /// Replaces an offer's definition (its uses and existing coupon codes stay; new codes are
    /// added).
    pub async fn update_offer(
        &self,
        site_id: &SiteId,
        id: OfferId,
        offer: &NewOffer,
        now: UnixSeconds,
    ) -> StoreResult<OfferRecord> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        update_offer_in(&mut tx, site_id, id, offer, now).await?;
        tx.commit().await?;
        drop(writer);
        self.offer(site_id, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("offer {id}")))
    }

    /// Writes an import file's offers and points of promotion in one transaction, after its
    /// products: each offer's products found by sku and categories by name, the offer matched
    /// to the site's by `externalReferenceId` (updated, its uses and codes kept, new codes
    /// added) or created; each POP created if new, its offers replaced by the file's, in the
    /// file's order. Returns the offers and the POPs created and updated.
    pub async fn import_offers(
        &self,
        site_id: &SiteId,
        offers: &ValidOffers,
        now: UnixSeconds,
    ) -> StoreResult<(Tally, Tally)> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let (mut offer_tally, mut pop_tally) = (Tally::default(), Tally::default());
        for item in &offers.offers {
            let mut offer = item.offer.clone();
            offer.pricing.product_ids = ids_named(
                &mut tx,
                "SELECT id FROM products WHERE site_id = $1 AND sku = $2",
                "product with sku",
                site_id,
                &item.products,
            )
            .await?;
            offer.pricing.category_ids = ids_named(
                &mut tx,
                "SELECT id FROM categories WHERE site_id = $1 AND name = $2",
                "category",
                site_id,
                &item.categories,
            )
            .await?;
            let erid = item.external_reference_id();
            match offer_by_reference(&mut tx, site_id, erid).await? {
                Some(id) => {
                    offer.pricing.id = id;
                    update_offer_in(&mut tx, site_id, id, &offer, now).await?;
                    offer_tally.count(false);
                }
                None => {
                    insert_offer(&mut tx, site_id, &offer, now).await?;
                    offer_tally.count(true);
                }
            }
        }
        for pop in &offers.pops {
            let created = sqlx::query(
                "INSERT INTO points_of_promotion (site_id, name, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(site_id.as_str())
            .bind(pop.name.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            pop_tally.count(created);
            sqlx::query("DELETE FROM pop_offers WHERE site_id = $1 AND pop_name = $2")
                .bind(site_id.as_str())
                .bind(pop.name.as_str())
                .execute(&mut *tx)
                .await?;
            for (rank, erid) in pop.offers.iter().enumerate() {
                let id = offer_by_reference(&mut tx, site_id, erid)
                    .await?
                    .ok_or_else(|| {
                        StoreError::NotFound(format!(
                            "offer with externalReferenceId {erid:?} of site {site_id}"
                        ))
                    })?;
                sqlx::query(
                    "INSERT INTO pop_offers (site_id, pop_name, offer_id, rank) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(site_id.as_str())
                .bind(pop.name.as_str())
                .bind(id)
                .bind(rank as i64 + 1)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok((offer_tally, pop_tally))
    }

    /// Which of `skus` the site's products have (an import's offers may name products the
    /// file does not list).
    pub async fn skus_present(
        &self,
        site_id: &SiteId,
        skus: impl IntoIterator<Item = &str>,
    ) -> StoreResult<HashSet<String>> {
        let mut found = HashSet::new();
        let mut conn = self.read.acquire().await?;
        for sku in skus {
            let (n,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM products WHERE site_id = $1 AND sku = $2")
                    .bind(site_id.as_str())
                    .bind(sku)
                    .fetch_one(&mut *conn)
                    .await?;
            if n > 0 {
                found.insert(sku.to_owned());
            }
        }
        Ok(found)
    }

    /// The `externalReferenceId`s of the site's offers.
    pub async fn offer_references(&self, site_id: &SiteId) -> StoreResult<HashSet<String>> {
        let erids: Vec<String> = sqlx::query_scalar(
            "SELECT external_reference_id FROM offers \
             WHERE site_id = $1 AND external_reference_id IS NOT NULL",
        )
        .bind(site_id.as_str())
        .fetch_all(&self.read)
        .await?;
        Ok(erids.into_iter().collect())
    }

    /// Which of `codes` (upper-case) the site has, each with the `externalReferenceId` of the
    /// offer it triggers (`None`: an offer without one).
    pub async fn coupon_holders(
        &self,
        site_id: &SiteId,
        codes: impl IntoIterator<Item = &str>,
    ) -> StoreResult<HashMap<String, Option<String>>> {
        let mut holders = HashMap::new();
        let mut conn = self.read.acquire().await?;
        for code in codes {
            let holder: Option<(Option<String>,)> = sqlx::query_as(
                "SELECT o.external_reference_id FROM coupon_codes c \
                 JOIN offers o ON o.id = c.offer_id WHERE c.site_id = $1 AND c.code = $2",
            )
            .bind(site_id.as_str())
            .bind(code)
            .fetch_optional(&mut *conn)
            .await?;
            if let Some((erid,)) = holder {
                holders.insert(code.to_owned(), erid);
            }
        }
        Ok(holders)
    }

    /// Turns an offer on or off (off: it never applies, and shows nowhere).
    pub async fn set_offer_enabled(
        &self,
        site_id: &SiteId,
        id: OfferId,
        enabled: bool,
        now: UnixSeconds,
    ) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE offers SET enabled = $3, updated_at = $4 WHERE site_id = $1 AND id = $2",
        )
        .bind(site_id.as_str())
        .bind(id)
        .bind(i64::from(enabled))
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "offer {id} of site {site_id}"
            )));
        }
        Ok(())
    }

    pub async fn offer(&self, site_id: &SiteId, id: OfferId) -> StoreResult<Option<OfferRecord>> {
        let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE site_id = $1 AND id = $2");
        let row: Option<OfferRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(site_id.as_str())
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(row) => Ok(Some(self.complete(row).await?)),
            None => Ok(None),
        }
    }

    /// Every offer of a site, by id.
    pub async fn offers(&self, site_id: &SiteId) -> StoreResult<Vec<OfferRecord>> {
        let sql = format!("SELECT {OFFER_COLUMNS} FROM offers WHERE site_id = $1 ORDER BY id");
        let rows: Vec<OfferRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(site_id.as_str())
            .fetch_all(&self.read)
            .await?;
        let mut offers = Vec::with_capacity(rows.len());
        for row in rows {
            offers.push(self.complete(row).await?);
        }
        Ok(offers)
    }

    /// The site's offers a shopper may be shown, by id: enabled, not coupon-triggered, with
    /// uses left (their windows and where each shows are the domain's `Offer::shown`).
    pub async fn offers_for_shoppers(&self, site_id: &SiteId) -> StoreResult<Vec<OfferRecord>> {
        let sql = format!(
            "SELECT {OFFER_COLUMNS} FROM offers WHERE site_id = $1 AND enabled = 1 \
             AND trigger_kind <> 'coupon' AND (total_limit IS NULL OR uses < total_limit) \
             ORDER BY id"
        );
        let rows: Vec<OfferRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(site_id.as_str())
            .fetch_all(&self.read)
            .await?;
        let mut conn = self.read.acquire().await?;
        let mut offers = Vec::with_capacity(rows.len());
        for row in rows {
            // Shoppers never see codes: two reads an offer, not three.
            let (products, categories) = scope_on(&mut conn, row.id).await?;
            offers.push(row.into_record(products, categories, Vec::new())?);
        }
        Ok(offers)
    }

    /// An offer row with its products, categories and coupon codes.
    async fn complete(&self, row: OfferRow) -> StoreResult<OfferRecord> {
        let mut conn = self.read.acquire().await?;
        let (products, categories) = scope_on(&mut conn, row.id).await?;
        let codes: Vec<String> =
            sqlx::query_scalar("SELECT code FROM coupon_codes WHERE offer_id = $1 ORDER BY code")
                .bind(row.id)
                .fetch_all(&mut *conn)
                .await?;
        row.into_record(products, categories, codes)
    }

    /// The offers a code triggers, if the site has the code.
    pub async fn coupon(
        &self,
        site_id: &SiteId,
        code: &CouponCode,
    ) -> StoreResult<Option<CouponRecord>> {
        coupon_on(&mut *self.read.acquire().await?, site_id, code).await
    }

    /// Adds a code for an offer of the site (and its secondary offer).
    pub async fn add_coupon_code(
        &self,
        site_id: &SiteId,
        code: &CouponCode,
        offer_id: OfferId,
        secondary: Option<OfferId>,
        now: UnixSeconds,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        for id in std::iter::once(offer_id).chain(secondary) {
            let (found,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM offers WHERE site_id = $1 AND id = $2")
                    .bind(site_id.as_str())
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            if found == 0 {
                return Err(StoreError::NotFound(format!(
                    "offer {id} of site {site_id}"
                )));
            }
        }
        add_code(&mut tx, site_id, code, offer_id, secondary, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a point of promotion (a named place a storefront shows offers in).
    pub async fn create_pop(
        &self,
        site_id: &SiteId,
        name: &str,
        now: UnixSeconds,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO points_of_promotion (site_id, name, created_at) VALUES ($1, $2, $3)",
        )
        .bind(site_id.as_str())
        .bind(name)
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await
        .map_err(|e| conflict_or(e, || format!("point of promotion {name} on {site_id}")))?;
        Ok(())
    }

    /// Puts an offer of the site in a POP, after the offers it has (again: moved last).
    pub async fn add_offer_to_pop(
        &self,
        site_id: &SiteId,
        name: &str,
        offer_id: OfferId,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let (pops,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM points_of_promotion WHERE site_id = $1 AND name = $2",
        )
        .bind(site_id.as_str())
        .bind(name)
        .fetch_one(&mut *tx)
        .await?;
        if pops == 0 {
            return Err(StoreError::NotFound(format!(
                "point of promotion {name} of site {site_id}"
            )));
        }
        let (offers,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM offers WHERE site_id = $1 AND id = $2")
                .bind(site_id.as_str())
                .bind(offer_id)
                .fetch_one(&mut *tx)
                .await?;
        if offers == 0 {
            return Err(StoreError::NotFound(format!(
                "offer {offer_id} of site {site_id}"
            )));
        }
        sqlx::query(
            "DELETE FROM pop_offers WHERE site_id = $1 AND pop_name = $2 AND offer_id = $3",
        )
        .bind(site_id.as_str())
        .bind(name)
        .bind(offer_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO pop_offers (site_id, pop_name, offer_id, rank) VALUES ($1, $2, $3, \
             (SELECT COALESCE(MAX(rank), 0) + 1 FROM pop_offers WHERE site_id = $1 AND pop_name = $2))",
        )
        .bind(site_id.as_str())
        .bind(name)
        .bind(offer_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies a coupon code to a cart: its offer (and its secondary offer, when that one
    /// can apply too) is triggered for the cart until it is submitted. The use is counted at
    /// submit, not here. Returns the code as stored.
    pub async fn apply_coupon(
        &self,
        w: CartWriter<'_>,
        site_id: &SiteId,
        code: &CouponCode,
        now: UnixSeconds,
    ) -> StoreResult<Result<CouponRecord, TriggerRefusal>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let Some(coupon) = coupon_on(&mut tx, site_id, code).await? else {
            return Ok(Err(TriggerRefusal::Unknown));
        };
        let shopper = w.full_token_shopper;
        let Some(primary) = offer_on(&mut tx, site_id, coupon.offer_id).await? else {
            return Ok(Err(TriggerRefusal::Unknown));
        };
        if let Err(refusal) = may_trigger(&mut tx, &primary, Trigger::Coupon, shopper, now).await? {
            return Ok(Err(refusal));
        }
        start_cart_write(&mut tx, w).await?;
        write_trigger(
            &mut tx,
            w.session_id,
            primary.id,
            Some(&coupon.code),
            &TriggerDetails::default(),
            now,
        )
        .await?;
        if let Some(id) = coupon.secondary_offer_id {
            if let Some(secondary) = offer_on(&mut tx, site_id, id).await? {
                if may_trigger(&mut tx, &secondary, Trigger::Coupon, shopper, now)
                    .await?
                    .is_ok()
                {
                    write_trigger(
                        &mut tx,
                        w.session_id,
                        id,
                        Some(&coupon.code),
                        &TriggerDetails::default(),
                        now,
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(Ok(coupon))
    }

    /// Triggers an offer for a cart by naming it (`offerId`: a promotional URL's offer).
    pub async fn trigger_offer(
        &self,
        w: CartWriter<'_>,
        site_id: &SiteId,
        offer_id: OfferId,
        details: &TriggerDetails,
        now: UnixSeconds,
    ) -> StoreResult<Result<OfferRecord, TriggerRefusal>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let Some(offer) = offer_on(&mut tx, site_id, offer_id).await? else {
            return Ok(Err(TriggerRefusal::Unknown));
        };
        let shopper = w.full_token_shopper;
        if let Err(refusal) =
            may_trigger(&mut tx, &offer, Trigger::PromotionalUrl, shopper, now).await?
        {
            return Ok(Err(refusal));
        }
        start_cart_write(&mut tx, w).await?;
        write_trigger(&mut tx, w.session_id, offer.id, None, details, now).await?;
        tx.commit().await?;
        Ok(Ok(offer))
    }

    /// Takes an offer out of a cart: the trigger that brought it in, or, for an
    /// always-triggered offer, the offer itself (until the cart is submitted).
    pub async fn remove_cart_offer(&self, w: CartWriter<'_>, offer_id: OfferId) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        let dropped =
            sqlx::query("DELETE FROM cart_offer_triggers WHERE session_id = $1 AND offer_id = $2")
                .bind(w.session_id.as_str())
                .bind(offer_id)
                .execute(&mut *tx)
                .await?;
        if dropped.rows_affected() == 0 {
            sqlx::query(
                "INSERT INTO cart_offer_exclusions (session_id, offer_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(w.session_id.as_str())
            .bind(offer_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE eligible-offers`: the cart drops every code and named offer, and takes no
    /// always-triggered offer until it is submitted.
    pub async fn reset_cart_offers(&self, w: CartWriter<'_>) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        clear_cart_offers(&mut tx, w.session_id).await?;
        sqlx::query("UPDATE carts SET offers_reset = 1 WHERE session_id = $1")
            .bind(w.session_id.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The offer of the site with that external reference id.
    pub async fn offer_id_by_reference(
        &self,
        site_id: &SiteId,
        reference: &str,
    ) -> StoreResult<Option<OfferId>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM offers WHERE site_id = $1 AND external_reference_id = $2",
        )
        .bind(site_id.as_str())
        .bind(reference)
        .fetch_optional(&self.read)
        .await?)
    }

    /// The offers a session's cart brought in (by code or by name), by id.
    pub async fn cart_offer_ids(&self, session_id: &SessionId) -> StoreResult<Vec<OfferId>> {
        Ok(sqlx::query_scalar(
            "SELECT offer_id FROM cart_offer_triggers WHERE session_id = $1 ORDER BY offer_id",
        )
        .bind(session_id.as_str())
        .fetch_all(&self.read)
        .await?)
    }

    /// The site's POP of that name, with its offers in rank order.
    pub async fn pop(&self, site_id: &SiteId, name: &str) -> StoreResult<Option<PopRecord>> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT name FROM points_of_promotion WHERE site_id = $1 AND name = $2",
        )
        .bind(site_id.as_str())
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        let Some(name) = found else {
            return Ok(None);
        };
        let offer_ids = self.pop_offer_ids(site_id, &name).await?;
        Ok(Some(PopRecord { name, offer_ids }))
    }

    async fn pop_offer_ids(&self, site_id: &SiteId, name: &str) -> StoreResult<Vec<OfferId>> {
        Ok(sqlx::query_scalar(
            "SELECT offer_id FROM pop_offers WHERE site_id = $1 AND pop_name = $2 \
             ORDER BY rank, offer_id",
        )
        .bind(site_id.as_str())
        .bind(name)
        .fetch_all(&self.read)
        .await?)
    }

    /// The site's POPs with their offers in rank order.
    pub async fn pops(&self, site_id: &SiteId) -> StoreResult<Vec<PopRecord>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM points_of_promotion WHERE site_id = $1 ORDER BY name",
        )
        .bind(site_id.as_str())
        .fetch_all(&self.read)
        .await?;
        let mut pops = Vec::with_capacity(names.len());
        for name in names {
            let offer_ids = self.pop_offer_ids(site_id, &name).await?;
            pops.push(PopRecord { name, offer_ids });
        }
        Ok(pops)
    }
}
