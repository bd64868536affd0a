use super::{Store, StoreError, StoreResult};
use serde::Serialize;
use shopkeeper_domain::secret::random_hex;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{SessionTtl, SiteId};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SiteRecord {
    #[sqlx(try_from = "String")]
    pub id: SiteId,
    pub session_ttl: i64,
    pub locale: String,
    pub currency: String,
    /// The bearer of `POST /payments/sources` for this site (DigitalRiver.js-style sources).
    pub payments_public_key: Option<String>,
}

impl Store {
    pub async fn create_site(
        &self,
        id: &SiteId,
        ttl: SessionTtl,
        now: UnixSeconds,
    ) -> StoreResult<SiteRecord> {
        // The site and the payment methods a new site offers, together.
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        sqlx::query(
            "INSERT INTO sites (id, session_ttl, created_at, payments_public_key) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id.as_str())
        .bind(ttl.seconds())
        .bind(now)
        .bind(format!("pk_test_{}", random_hex(16)))
        .execute(&mut *tx)
        .await
        .map_err(|e| match StoreError::from(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("site {id}")),
            other => other,
        })?;
        crate::payment_methods::insert_defaults(&mut tx, id).await?;
        tx.commit().await?;
        drop(writer);
        self.site(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("site {id}")))
    }

    pub async fn site(&self, id: &SiteId) -> StoreResult<Option<SiteRecord>> {
        Ok(
            sqlx::query_as("SELECT id, session_ttl, locale, currency, payments_public_key FROM sites WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub async fn sites(&self) -> StoreResult<Vec<SiteRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, session_ttl, locale, currency, payments_public_key FROM sites ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn set_site_session_ttl(&self, id: &SiteId, ttl: SessionTtl) -> StoreResult<()> {
        let done = sqlx::query("UPDATE sites SET session_ttl = $1 WHERE id = $2")
            .bind(ttl.seconds())
            .bind(id.as_str())
            .execute(&mut *self.writer().await?)
            .await?;
        // Cached clients carry their site's settings.
        self.forget_client(None);
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("site {id}")));
        }
        Ok(())
    }

    /// Sets a site's locale: the default of its new sessions and the `lang` of its hosted
    /// pages (the caller checks the value).
    pub async fn set_site_locale(&self, id: &SiteId, locale: &str) -> StoreResult<()> {
        let done = sqlx::query("UPDATE sites SET locale = $1 WHERE id = $2")
            .bind(locale)
            .bind(id.as_str())
            .execute(&mut *self.writer().await?)
            .await?;
        // Cached clients carry their site's settings.
        self.forget_client(None);
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("site {id}")));
        }
        Ok(())
    }

    /// Whether the site opens its carts to an API key alone (seed 003's "Access Carts with
    /// API Key Only"; off unless set). An unknown site: no.
    pub async fn site_key_only_carts(&self, id: &SiteId) -> StoreResult<bool> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT key_only_carts FROM sites WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some_and(|(on,)| on != 0))
    }

    /// Opens (or closes) a site's carts to an API key alone. Closing it leaves the key-only
    /// sessions in place, unreachable until it is opened again or they expire.
    pub async fn set_site_key_only_carts(&self, id: &SiteId, on: bool) -> StoreResult<()> {
        let done = sqlx::query("UPDATE sites SET key_only_carts = $1 WHERE id = $2")
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
