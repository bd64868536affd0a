//! Tax identifiers on the cart (`carts.customer_type`, `carts.tax_registrations`) and the site
//! setting that allows them (`sites.tax_id_management`, "Global Tax ID Management").

use super::cart_write::{CartWriter, start_cart_write};
use super::{Store, StoreError, StoreResult};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::tax_registrations::{CustomerType, Registration};

impl Store {
    /// Sets the cart's customer type and tax identifiers (checked by the caller against the
    /// country's schema), replacing those it had.
    pub async fn set_tax_registrations(
        &self,
        w: CartWriter<'_>,
        customer_type: CustomerType,
        registrations: &[Registration],
    ) -> StoreResult<()> {
        let json =
            serde_json::to_string(registrations).map_err(|e| StoreError::Database(Box::new(e)))?;
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        sqlx::query(
            "UPDATE carts SET customer_type = $1, tax_registrations = $2 WHERE session_id = $3",
        )
        .bind(customer_type.as_str())
        .bind(json)
        .bind(w.session_id.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes the cart's tax identifiers and its customer type (back to `I`).
    pub async fn clear_tax_registrations(&self, w: CartWriter<'_>) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        start_cart_write(&mut tx, w).await?;
        sqlx::query(
            "UPDATE carts SET customer_type = NULL, tax_registrations = '[]' \
             WHERE session_id = $1",
        )
        .bind(w.session_id.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the site has Global Tax ID Management on (a new site has).
    pub async fn site_tax_id_management(&self, id: &SiteId) -> StoreResult<bool> {
        let on: Option<i64> =
            sqlx::query_scalar("SELECT tax_id_management FROM sites WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.read)
                .await?;
        Ok(on.is_none_or(|v| v != 0))
    }

    /// Switches the site's Global Tax ID Management.
    pub async fn set_site_tax_id_management(&self, id: &SiteId, on: bool) -> StoreResult<()> {
        let done = sqlx::query("UPDATE sites SET tax_id_management = $1 WHERE id = $2")
            .bind(i64::from(on))
            .bind(id.as_str())
            .execute(&mut *self.writer().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("site {id}")));
        }
        Ok(())
    }
}
