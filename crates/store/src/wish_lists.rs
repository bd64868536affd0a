//! A signed-in shopper's wish lists and their products (`domain::wish_lists` decides; this
//! file writes). Every write takes turns on the shopper's row (a no-op update inside its
//! transaction), so a count checked in it still holds at commit on PostgreSQL; on SQLite the
//! write turn already serialises writers. Wish lists are the shopper's own notes, nothing a
//! merchant acts on: no event is appended.

use super::column::{StoredFlag, flag};
use super::{Store, StoreResult};
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::wish_lists::{
    self, DEFAULT_NAME, ProductWrite, WishListInput, WishListRefusal,
};
use sqlx::{Any, Transaction};

/// One of a shopper's wish lists.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WishListRecord {
    pub id: i64,
    pub shopper_id: i64,
    pub name: String,
    /// Flagged as the default by the shopper (see `domain::wish_lists::default_list` for the
    /// default when none is).
    #[sqlx(try_from = "StoredFlag")]
    pub is_default: bool,
    pub created_at: UnixSeconds,
    pub updated_at: UnixSeconds,
}

/// A product on a wish list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WishListProductRecord {
    pub wish_list_id: i64,
    pub product_id: i64,
    pub quantity: i64,
    pub added_at: UnixSeconds,
}

/// Takes the shopper's row for the rest of `tx`: writes to one shopper's lists take turns.
/// False when there is no such shopper.
async fn take_shopper(tx: &mut Transaction<'_, Any>, shopper_id: i64) -> StoreResult<bool> {
    let done = sqlx::query("UPDATE shoppers SET created_at = created_at WHERE id = $1")
        .bind(shopper_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

async fn count_lists(tx: &mut Transaction<'_, Any>, shopper_id: i64) -> StoreResult<usize> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM wish_lists WHERE shopper_id = $1")
        .bind(shopper_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Clears the default flag of the shopper's lists (before one is flagged).
async fn clear_default(tx: &mut Transaction<'_, Any>, shopper_id: i64) -> StoreResult<()> {
    sqlx::query("UPDATE wish_lists SET is_default = 0 WHERE shopper_id = $1 AND is_default <> 0")
        .bind(shopper_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_list(
    tx: &mut Transaction<'_, Any>,
    shopper_id: i64,
    name: &str,
    is_default: bool,
    now: UnixSeconds,
) -> StoreResult<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO wish_lists (shopper_id, name, is_default, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(shopper_id)
    .bind(name)
    .bind(flag(is_default))
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

async fn write_products(
    tx: &mut Transaction<'_, Any>,
    list_id: i64,
    writes: &[ProductWrite],
    now: UnixSeconds,
) -> StoreResult<()> {
    for write in writes {
        match *write {
            ProductWrite::Add {
                product_id,
                quantity,
            } => {
                sqlx::query(
                    "INSERT INTO wish_list_products (wish_list_id, product_id, quantity, \
                     added_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(list_id)
                .bind(product_id)
                .bind(quantity)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
            ProductWrite::Set {
                product_id,
                quantity,
            } => {
                sqlx::query(
                    "UPDATE wish_list_products SET quantity = $1 \
                     WHERE wish_list_id = $2 AND product_id = $3",
                )
                .bind(quantity)
                .bind(list_id)
                .bind(product_id)
                .execute(&mut **tx)
                .await?;
            }
            ProductWrite::Remove { product_id } => {
                sqlx::query(
                    "DELETE FROM wish_list_products WHERE wish_list_id = $1 AND product_id = $2",
                )
                .bind(list_id)
                .bind(product_id)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

const SELECT_LISTS: &str = "SELECT id, shopper_id, name, is_default, created_at, updated_at \
                            FROM wish_lists WHERE shopper_id = $1 ORDER BY id";

impl Store {
    /// The shopper's wish lists, oldest first.
    pub async fn wish_lists(&self, shopper_id: i64) -> StoreResult<Vec<WishListRecord>> {
        Ok(sqlx::query_as(SELECT_LISTS)
            .bind(shopper_id)
            .fetch_all(&self.read)
            .await?)
    }

    /// The products on the shopper's lists (on list `only` when given), in the order they
    /// were added.
    pub async fn wish_list_products(
        &self,
        shopper_id: i64,
        only: Option<i64>,
    ) -> StoreResult<Vec<WishListProductRecord>> {
        const ALL: &str = "SELECT p.wish_list_id, p.product_id, p.quantity, p.added_at \
                           FROM wish_list_products p JOIN wish_lists w ON w.id = p.wish_list_id \
                           WHERE w.shopper_id = $1 ORDER BY p.added_at, p.product_id";
        const ONE: &str = "SELECT p.wish_list_id, p.product_id, p.quantity, p.added_at \
                           FROM wish_list_products p JOIN wish_lists w ON w.id = p.wish_list_id \
                           WHERE w.shopper_id = $1 AND w.id = $2 \
                           ORDER BY p.added_at, p.product_id";
        let rows = match only {
            Some(id) => {
                sqlx::query_as(ONE)
                    .bind(shopper_id)
                    .bind(id)
                    .fetch_all(&self.read)
                    .await?
            }
            None => {
                sqlx::query_as(ALL)
                    .bind(shopper_id)
                    .fetch_all(&self.read)
                    .await?
            }
        };
        Ok(rows)
    }

    /// The id of the shopper's default list; a shopper without any list gets one, named
    /// [`DEFAULT_NAME`] and flagged as the default.
    pub async fn default_wish_list(&self, shopper_id: i64, now: UnixSeconds) -> StoreResult<i64> {
        let flags = |lists: &[WishListRecord]| -> Vec<(i64, bool)> {
            lists.iter().map(|l| (l.id, l.is_default)).collect()
        };
        let lists = self.wish_lists(shopper_id).await?;
        if let Some(id) = wish_lists::default_list(&flags(&lists)) {
            return Ok(id);
        }
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        if !take_shopper(&mut tx, shopper_id).await? {
            return Err(crate::StoreError::NotFound("shopper".into()));
        }
        // Another request may have made one since the read above.
        let lists: Vec<WishListRecord> = sqlx::query_as(SELECT_LISTS)
            .bind(shopper_id)
            .fetch_all(&mut *tx)
            .await?;
        let id = match wish_lists::default_list(&flags(&lists)) {
            Some(id) => id,
            None => insert_list(&mut tx, shopper_id, DEFAULT_NAME, true, now).await?,
        };
        tx.commit().await?;
        Ok(id)
    }

    /// Creates a list named `name` with `input`'s products (checked against the limits in
    /// the transaction): its id, or the refusal.
    pub async fn create_wish_list(
        &self,
        shopper_id: i64,
        name: &str,
        input: &WishListInput,
        now: UnixSeconds,
    ) -> StoreResult<Result<i64, WishListRefusal>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        if !take_shopper(&mut tx, shopper_id).await? {
            return Err(crate::StoreError::NotFound("shopper".into()));
        }
        if let Err(refusal) = wish_lists::may_create(count_lists(&mut tx, shopper_id).await?) {
            return Ok(Err(refusal));
        }
        let writes = match wish_lists::plan_writes(&[], &input.products) {
            Ok(writes) => writes,
            Err(refusal) => return Ok(Err(refusal)),
        };
        if input.make_default {
            clear_default(&mut tx, shopper_id).await?;
        }
        let id = insert_list(&mut tx, shopper_id, name, input.make_default, now).await?;
        write_products(&mut tx, id, &writes, now).await?;
        tx.commit().await?;
        Ok(Ok(id))
    }

    /// Applies `input` to the shopper's list `id`: its name, its default flag, its products.
    /// `None` when the shopper has no such list.
    pub async fn update_wish_list(
        &self,
        shopper_id: i64,
        id: i64,
        input: &WishListInput,
        now: UnixSeconds,
    ) -> StoreResult<Option<Result<(), WishListRefusal>>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        if !take_shopper(&mut tx, shopper_id).await? {
            return Ok(None);
        }
        let own: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM wish_lists WHERE id = $1 AND shopper_id = $2")
                .bind(id)
                .bind(shopper_id)
                .fetch_optional(&mut *tx)
                .await?;
        if own.is_none() {
            return Ok(None);
        }
        let current: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT product_id, quantity FROM wish_list_products WHERE wish_list_id = $1",
        )
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
        let writes = match wish_lists::plan_writes(&current, &input.products) {
            Ok(writes) => writes,
            Err(refusal) => return Ok(Some(Err(refusal))),
        };
        if let Some(name) = &input.name {
            sqlx::query("UPDATE wish_lists SET name = $1 WHERE id = $2")
                .bind(name)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if input.make_default {
            clear_default(&mut tx, shopper_id).await?;
            sqlx::query("UPDATE wish_lists SET is_default = 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        write_products(&mut tx, id, &writes, now).await?;
        sqlx::query("UPDATE wish_lists SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(Ok(())))
    }

    /// Deletes the shopper's list `id` with its products; false when they have no such list.
    pub async fn delete_wish_list(&self, shopper_id: i64, id: i64) -> StoreResult<bool> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        if !take_shopper(&mut tx, shopper_id).await? {
            return Ok(false);
        }
        sqlx::query(
            "DELETE FROM wish_list_products WHERE wish_list_id IN \
             (SELECT id FROM wish_lists WHERE id = $1 AND shopper_id = $2)",
        )
        .bind(id)
        .bind(shopper_id)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM wish_lists WHERE id = $1 AND shopper_id = $2")
            .bind(id)
            .bind(shopper_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
