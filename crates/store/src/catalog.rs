//! Products, categories and volume prices of a site's catalog.

use super::{Engine, Store, StoreError, StoreResult};
use serde::Serialize;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::catalog::{CategoryInput, CustomAttributes, NewProduct, Page};
use shopkeeper_domain::subscriptions::Plan;
use shopkeeper_domain::time::UnixSeconds;
use sqlx::{Any, Connection, Transaction};
use std::collections::HashMap;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub base_product_id: Option<i64>,
    pub sku: String,
    pub name: String,
    pub display_name: String,
    pub short_description: String,
    pub long_description: String,
    pub product_type: String,
    pub keywords: String,
    pub thumbnail_image: Option<String>,
    pub product_image: Option<String>,
    pub currency: String,
    pub list_price_minor: i64,
    pub sale_price_minor: i64,
    pub available_quantity: Option<i64>,
    /// JSON object of the variation's attributes (`{}` for a base product).
    pub variation_attributes: String,
    pub manufacturer_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub custom_attributes: CustomAttributes,
    /// `Some`: a subscription product.
    #[sqlx(try_from = "Option<String>")]
    pub subscription_plan: StoredPlan,
    /// Priced by the caller's private store (set by the reader, never stored): its plan price
    /// replaces the volume tiers.
    #[sqlx(skip)]
    pub plan_priced: bool,
}

/// A product's subscription plan column: JSON, NULL for a product that is not one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredPlan(pub Option<Plan>);

impl TryFrom<Option<String>> for StoredPlan {
    type Error = serde_json::Error;
    fn try_from(json: Option<String>) -> Result<Self, Self::Error> {
        json.map(|j| serde_json::from_str(&j))
            .transpose()
            .map(StoredPlan)
    }
}

impl StoredPlan {
    pub(crate) fn to_json(&self) -> Option<String> {
        self.0
            .as_ref()
            .map(|p| serde_json::to_string(p).expect("a plan serialises"))
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CategoryRecord {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub parent_id: Option<i64>,
    pub name: String,
    pub display_name: String,
    pub short_description: String,
    pub long_description: String,
    pub thumbnail_image: Option<String>,
    /// Products in the category, kept by product_categories' triggers (migration 0046).
    pub product_count: i64,
}

#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct VolumePrice {
    pub min_quantity: i64,
    pub unit_price_minor: i64,
}

/// Rows an import created and updated.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub created: usize,
    pub updated: usize,
}

impl Tally {
    pub(crate) fn count(&mut self, created: bool) {
        if created {
            self.created += 1;
        } else {
            self.updated += 1;
        }
    }

    pub fn add(&mut self, other: Tally) {
        self.created += other.created;
        self.updated += other.updated;
    }

    pub fn total(&self) -> usize {
        self.created + self.updated
    }
}

/// What one committed batch of an import wrote.
#[derive(Debug, Default)]
pub struct ImportedBatch {
    pub products: Tally,
    pub variations: Tally,
    /// Id of each base product of the batch, in order.
    pub product_ids: Vec<i64>,
}

macro_rules! select_products {
    ($tail:literal) => {
        concat!(
            "SELECT p.id, p.site_id, p.base_product_id, p.sku, p.name, p.display_name, \
             p.short_description, p.long_description, p.product_type, p.keywords, \
             p.thumbnail_image, p.product_image, p.currency, p.list_price_minor, \
             p.sale_price_minor, p.available_quantity, p.variation_attributes, \
             p.manufacturer_name, p.custom_attributes, p.subscription_plan FROM products p ",
            $tail
        )
    };
}

macro_rules! select_categories {
    ($tail:literal) => {
        concat!(
            "SELECT c.id, c.site_id, c.parent_id, c.name, c.display_name, c.short_description, \
             c.long_description, c.thumbnail_image, c.product_count FROM categories c ",
            $tail
        )
    };
}

/// `%keyword%` for LIKE, with the pattern characters escaped.
fn like_pattern(keyword: &str) -> String {
    let mut out = String::from("%");
    for c in keyword.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Store {
    /// Base products of a site (variations are listed under their base), optionally those
    /// whose name, display name, sku or keywords contain `keyword`.
    pub async fn products(
        &self,
        site_id: &SiteId,
        keyword: Option<&str>,
        page: Page,
    ) -> StoreResult<(Vec<ProductRecord>, i64)> {
        let pattern = keyword.map(like_pattern).unwrap_or_default();
        let rows = sqlx::query_as(select_products!(
            "WHERE p.site_id = $1 AND p.base_product_id IS NULL AND ($2 = '' \
             OR LOWER(p.name) LIKE $2 ESCAPE '\\' OR LOWER(p.display_name) LIKE $2 ESCAPE '\\' \
             OR LOWER(p.sku) LIKE $2 ESCAPE '\\' OR LOWER(p.keywords) LIKE $2 ESCAPE '\\') \
             ORDER BY p.id LIMIT $3 OFFSET $4"
        ))
        .bind(site_id.as_str())
        .bind(&pattern)
        .bind(page.size)
        .bind(page.offset())
        .fetch_all(&self.read)
        .await?;
        let (total,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM products p WHERE p.site_id = $1 AND p.base_product_id IS NULL \
             AND ($2 = '' OR LOWER(p.name) LIKE $2 ESCAPE '\\' \
             OR LOWER(p.display_name) LIKE $2 ESCAPE '\\' OR LOWER(p.sku) LIKE $2 ESCAPE '\\' \
             OR LOWER(p.keywords) LIKE $2 ESCAPE '\\')",
        )
        .bind(site_id.as_str())
        .bind(&pattern)
        .fetch_one(&self.read)
        .await?;
        Ok((rows, total))
    }

    /// The id of the site's product with that sku (its `externalReferenceId`).
    pub async fn product_id_by_sku(&self, site_id: &SiteId, sku: &str) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM products WHERE site_id = $1 AND sku = $2")
                .bind(site_id.as_str())
                .bind(sku)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub async fn product(&self, site_id: &SiteId, id: i64) -> StoreResult<Option<ProductRecord>> {
        Ok(
            sqlx::query_as(select_products!("WHERE p.site_id = $1 AND p.id = $2"))
                .bind(site_id.as_str())
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub async fn variations(&self, base_id: i64) -> StoreResult<Vec<ProductRecord>> {
        Ok(sqlx::query_as(select_products!(
            "WHERE p.base_product_id = $1 ORDER BY p.id"
        ))
        .bind(base_id)
        .fetch_all(&self.read)
        .await?)
    }

    /// Which of `ids` are base products with variations (a shopper buys one of those
    /// variations, never the base itself). One query for a whole page of products.
    pub async fn with_variations(&self, ids: &[i64]) -> StoreResult<Vec<i64>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT DISTINCT base_product_id FROM products WHERE base_product_id IN ({})",
            placeholders.join(", ")
        );
        // Audited: only `$n` placeholders are formatted in; every id is bound.
        let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql));
        for id in ids {
            query = query.bind(*id);
        }
        Ok(query.fetch_all(&self.read).await?)
    }

    pub async fn volume_prices(&self, product_id: i64) -> StoreResult<Vec<VolumePrice>> {
        Ok(sqlx::query_as(
            "SELECT min_quantity, unit_price_minor FROM product_volume_prices \
             WHERE product_id = $1 ORDER BY min_quantity",
        )
        .bind(product_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn product_categories(&self, product_id: i64) -> StoreResult<Vec<CategoryRecord>> {
        Ok(sqlx::query_as(select_categories!(
            "JOIN product_categories pc ON pc.category_id = c.id \
             WHERE pc.product_id = $1 ORDER BY c.id"
        ))
        .bind(product_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn categories(&self, site_id: &SiteId) -> StoreResult<Vec<CategoryRecord>> {
        Ok(
            sqlx::query_as(select_categories!("WHERE c.site_id = $1 ORDER BY c.id"))
                .bind(site_id.as_str())
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn category(&self, site_id: &SiteId, id: i64) -> StoreResult<Option<CategoryRecord>> {
        Ok(
            sqlx::query_as(select_categories!("WHERE c.site_id = $1 AND c.id = $2"))
                .bind(site_id.as_str())
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// A page of the category's products, in product order (its total is the record's
    /// `product_count`).
    pub async fn category_products(
        &self,
        category_id: i64,
        page: Page,
    ) -> StoreResult<Vec<ProductRecord>> {
        Ok(sqlx::query_as(select_products!(
            // Ordered by the index's column (the same ids) so the page walks
            // product_categories_category_product and stops, instead of sorting the category.
            "JOIN product_categories pc ON pc.product_id = p.id \
             WHERE pc.category_id = $1 ORDER BY pc.product_id LIMIT $2 OFFSET $3"
        ))
        .bind(category_id)
        .bind(page.size)
        .bind(page.offset())
        .fetch_all(&self.read)
        .await?)
    }

    /// Creates or updates an import's categories (matched by name) in one transaction, parents
    /// listed before their children.
    pub async fn import_categories(
        &self,
        site_id: &SiteId,
        categories: &[CategoryInput],
        now: UnixSeconds,
    ) -> StoreResult<Tally> {
        let mut attempt = 0;
        let mut writer;
        let mut tx = loop {
            writer = self.writer().await?;
            match begin_import(&mut writer, self.engine).await {
                Ok(tx) => break tx,
                Err(e) if lock_busy(&e) && attempt < IMPORT_LOCK_RETRIES => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        };
        let mut tally = Tally::default();
        for c in categories {
            let parent = match &c.parent {
                None => None,
                Some(name) => Some(
                    category_id(&mut tx, site_id, name)
                        .await?
                        .ok_or_else(|| StoreError::NotFound(format!("parent category {name:?}")))?,
                ),
            };
            let display = c.display_name.as_deref().unwrap_or(&c.name);
            let existing = category_id(&mut tx, site_id, &c.name).await?;
            match existing {
                Some(id) => {
                    sqlx::query(
                        "UPDATE categories SET parent_id = $1, display_name = $2, \
                         short_description = $3, long_description = $4, thumbnail_image = $5 \
                         WHERE id = $6",
                    )
                    .bind(parent)
                    .bind(display)
                    .bind(&c.short_description)
                    .bind(&c.long_description)
                    .bind(&c.thumbnail_image)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO categories (site_id, parent_id, name, display_name, \
                         short_description, long_description, thumbnail_image, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(site_id.as_str())
                    .bind(parent)
                    .bind(&c.name)
                    .bind(display)
                    .bind(&c.short_description)
                    .bind(&c.long_description)
                    .bind(&c.thumbnail_image)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tally.count(existing.is_none());
        }
        tx.commit().await?;
        Ok(tally)
    }

    /// Creates or updates one batch of an import's products and their variations (matched by
    /// sku) in one transaction: the whole batch or nothing of it. `batch` numbers it from 1.
    pub async fn import_products(
        &self,
        site_id: &SiteId,
        batch: usize,
        products: &[NewProduct],
        now: UnixSeconds,
    ) -> StoreResult<ImportedBatch> {
        let mut attempt = 0;
        let mut writer;
        let mut tx = loop {
            writer = self.writer().await?;
            match begin_import(&mut writer, self.engine).await {
                Ok(tx) => break tx,
                Err(e) if lock_busy(&e) && attempt < IMPORT_LOCK_RETRIES => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        };
        // Categories are few; one read instead of one per product and category.
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT name, id FROM categories WHERE site_id = $1")
                .bind(site_id.as_str())
                .fetch_all(&mut *tx)
                .await?;
        let categories: HashMap<String, i64> = rows.into_iter().collect();
        let mut done = ImportedBatch::default();
        for p in products {
            let (id, created) = upsert_product(&mut tx, site_id, p, None, &categories, now).await?;
            done.products.count(created);
            done.product_ids.push(id);
            for v in &p.variations {
                let (_, created) =
                    upsert_product(&mut tx, site_id, v, Some(id), &categories, now).await?;
                done.variations.count(created);
            }
        }
        #[cfg(debug_assertions)]
        failpoint(&mut tx, batch, done.product_ids.last().copied()).await?;
        #[cfg(not(debug_assertions))]
        let _ = batch;
        tx.commit().await?;
        Ok(done)
    }
}

/// How many times an import waits again for SQLite's write lock after another process (a
/// server under load) kept it for a whole `busy_timeout`: nothing of the batch was written
/// yet, so waiting again is safe.
const IMPORT_LOCK_RETRIES: usize = 12;

/// An import's transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a
/// transaction that read first and wrote later would fail outright (`SQLITE_BUSY_SNAPSHOT`)
/// had a server on the same file written in between.
async fn begin_import(
    writer: &mut super::WriteConnection,
    engine: Engine,
) -> sqlx::Result<Transaction<'_, Any>> {
    match engine {
        Engine::Sqlite => writer.connection.begin_with("BEGIN IMMEDIATE").await,
        Engine::Postgres => writer.begin().await,
    }
}

/// SQLite's `SQLITE_BUSY`: the write lock stayed taken for the whole `busy_timeout`.
fn lock_busy(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("5"))
}

/// Debug builds only: `SHOPKEEPER_IMPORT_FAIL_AT_BATCH=N` makes batch N break a foreign key
/// before it commits, so that the tests see an import fail midway the way a constraint makes
/// it fail (nothing of that batch kept).
#[cfg(debug_assertions)]
async fn failpoint(
    tx: &mut Transaction<'_, Any>,
    batch: usize,
    product: Option<i64>,
) -> StoreResult<()> {
    let wanted = std::env::var("SHOPKEEPER_IMPORT_FAIL_AT_BATCH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    if let (Some(product), true) = (product, wanted == Some(batch)) {
        sqlx::query("INSERT INTO product_categories (product_id, category_id) VALUES ($1, -1)")
            .bind(product)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

async fn category_id(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    name: &str,
) -> StoreResult<Option<i64>> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM categories WHERE site_id = $1 AND name = $2")
            .bind(site_id.as_str())
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|r| r.0))
}

async fn upsert_product(
    tx: &mut Transaction<'_, Any>,
    site_id: &SiteId,
    p: &NewProduct,
    base: Option<i64>,
    categories: &HashMap<String, i64>,
    now: UnixSeconds,
) -> StoreResult<(i64, bool)> {
    let attributes = serde_json::to_string(&p.attributes).expect("a string map serialises");
    let custom_attributes = p.custom_attributes.to_json();
    let existing: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM products WHERE site_id = $1 AND sku = $2")
            .bind(site_id.as_str())
            .bind(&p.sku)
            .fetch_optional(&mut **tx)
            .await?;
    let (id, created) = match existing {
        Some((id,)) => {
            sqlx::query(
                "UPDATE products SET base_product_id = $1, name = $2, display_name = $3, \
                 short_description = $4, long_description = $5, product_type = $6, \
                 keywords = $7, thumbnail_image = $8, product_image = $9, currency = $10, \
                 list_price_minor = $11, sale_price_minor = $12, available_quantity = $13, \
                 variation_attributes = $14, manufacturer_name = $15, custom_attributes = $16 \
                 WHERE id = $17",
            )
            .bind(base)
            .bind(&p.name)
            .bind(&p.display_name)
            .bind(&p.short_description)
            .bind(&p.long_description)
            .bind(p.product_type)
            .bind(&p.keywords)
            .bind(&p.thumbnail_image)
            .bind(&p.product_image)
            .bind(&p.currency)
            .bind(p.list_price_minor)
            .bind(p.sale_price_minor)
            .bind(p.available_quantity)
            .bind(&attributes)
            .bind(&p.manufacturer_name)
            .bind(&custom_attributes)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            (id, false)
        }
        None => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO products (site_id, base_product_id, sku, name, display_name, \
                 short_description, long_description, product_type, keywords, thumbnail_image, \
                 product_image, currency, list_price_minor, sale_price_minor, \
                 available_quantity, variation_attributes, manufacturer_name, custom_attributes, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
                 $14, $15, $16, $17, $18, $19) RETURNING id",
            )
            .bind(site_id.as_str())
            .bind(base)
            .bind(&p.sku)
            .bind(&p.name)
            .bind(&p.display_name)
            .bind(&p.short_description)
            .bind(&p.long_description)
            .bind(p.product_type)
            .bind(&p.keywords)
            .bind(&p.thumbnail_image)
            .bind(&p.product_image)
            .bind(&p.currency)
            .bind(p.list_price_minor)
            .bind(p.sale_price_minor)
            .bind(p.available_quantity)
            .bind(&attributes)
            .bind(&p.manufacturer_name)
            .bind(&custom_attributes)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
            (id, true)
        }
    };
    sqlx::query("UPDATE products SET subscription_plan = $1 WHERE id = $2")
        .bind(StoredPlan(p.subscription.clone()).to_json())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if !created {
        sqlx::query("DELETE FROM product_categories WHERE product_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM product_volume_prices WHERE product_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    for name in &p.categories {
        let category = *categories
            .get(name)
            .ok_or_else(|| StoreError::NotFound(format!("category {name:?} of {:?}", p.sku)))?;
        sqlx::query("INSERT INTO product_categories (product_id, category_id) VALUES ($1, $2)")
            .bind(id)
            .bind(category)
            .execute(&mut **tx)
            .await?;
    }
    for (min_quantity, unit) in &p.volume_prices {
        sqlx::query(
            "INSERT INTO product_volume_prices (product_id, min_quantity, unit_price_minor) \
             VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(min_quantity)
        .bind(unit)
        .execute(&mut **tx)
        .await?;
    }
    Ok((id, created))
}
