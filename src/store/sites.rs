use super::{Store, StoreError, StoreResult};
use crate::domain::time::now;
use crate::domain::{SessionTtl, SiteId};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SiteRecord {
    pub id: String,
    pub session_ttl: i64,
    pub locale: String,
    pub currency: String,
}

impl Store {
    pub async fn create_site(&self, id: &SiteId, ttl: SessionTtl) -> StoreResult<SiteRecord> {
        sqlx::query("INSERT INTO sites (id, session_ttl, created_at) VALUES ($1, $2, $3)")
            .bind(id.as_str())
            .bind(ttl.seconds())
            .bind(now())
            .execute(&self.write)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("site {id}")),
                other => other,
            })?;
        self.site(id.as_str())
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("site {id}")))
    }

    pub async fn site(&self, id: &str) -> StoreResult<Option<SiteRecord>> {
        Ok(
            sqlx::query_as("SELECT id, session_ttl, locale, currency FROM sites WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub async fn sites(&self) -> StoreResult<Vec<SiteRecord>> {
        Ok(
            sqlx::query_as("SELECT id, session_ttl, locale, currency FROM sites ORDER BY id")
                .fetch_all(&self.read)
                .await?,
        )
    }

    pub async fn set_site_session_ttl(&self, id: &str, ttl: SessionTtl) -> StoreResult<()> {
        let done = sqlx::query("UPDATE sites SET session_ttl = $1 WHERE id = $2")
            .bind(ttl.seconds())
            .bind(id)
            .execute(&self.write)
            .await?;
        // Cached clients carry their site's settings.
        self.client_cache.invalidate_all();
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("site {id}")));
        }
        Ok(())
    }
}
