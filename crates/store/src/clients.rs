use super::column::{StoredFlag, StoredKind, flag};
use super::{Store, StoreError, StoreResult};
use shopkeeper_domain::authorize::FlowSet;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{ApiKey, ClientKind, Permissions, SecretHash, SiteId};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// An API client as the token endpoint needs it: with its site's session TTL, so one read
/// answers a token request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClientRecord {
    #[sqlx(try_from = "String")]
    pub api_key: ApiKey,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    #[sqlx(try_from = "StoredKind")]
    pub kind: ClientKind,
    pub secret_hash: Option<Vec<u8>>,
    /// The password grant's password arrives base64-encoded.
    #[sqlx(try_from = "StoredFlag")]
    pub password_base64: bool,
    #[sqlx(try_from = "StoredFlag")]
    pub disabled: bool,
    pub session_ttl: i64,
    pub site_locale: String,
    pub site_currency: String,
    /// Space-separated flows this key may use (see `domain::authorize::FlowSet`).
    pub flows: String,
    /// Set when the key was disabled: tokens issued at or before it never work again.
    pub tokens_revoked_at: Option<i64>,
    /// The site is itself a private store (its storefront plan is on).
    #[sqlx(try_from = "StoredFlag")]
    pub site_private: bool,
    /// ... and its storefront plan needs authorization to browse.
    #[sqlx(try_from = "StoredFlag")]
    pub site_browse_gated: bool,
    /// Which APIs the key may call.
    #[sqlx(try_from = "String")]
    pub permissions: Permissions,
}

impl ClientRecord {
    pub fn secret_hash(&self) -> Option<SecretHash> {
        self.secret_hash.as_deref().and_then(SecretHash::from_slice)
    }

    /// Whether a token of this key issued at `issued_at` may still be used.
    /// Shopper tokens need the key's Shopper APIs permission.
    pub fn accepts_token_issued_at(&self, issued_at: i64) -> bool {
        !self.disabled
            && self.permissions.shopper
            && self.tokens_revoked_at.is_none_or(|at| issued_at > at)
    }

    pub fn flows(&self) -> FlowSet {
        FlowSet::from_stored(&self.flows)
    }
}

pub struct NewClient<'a> {
    pub api_key: &'a ApiKey,
    pub site_id: &'a SiteId,
    pub kind: ClientKind,
    pub secret_hash: Option<SecretHash>,
    pub redirect_uris: &'a [String],
    pub password_base64: bool,
    pub permissions: Permissions,
}

/// A key's lists kept in tables of their own.
#[derive(Clone, Copy)]
enum ClientList {
    RedirectUris,
    AllowedOrigins,
}

impl ClientList {
    fn delete(self) -> &'static str {
        match self {
            Self::RedirectUris => "DELETE FROM client_redirect_uris WHERE api_key = $1",
            Self::AllowedOrigins => "DELETE FROM client_allowed_origins WHERE api_key = $1",
        }
    }

    fn insert(self) -> &'static str {
        match self {
            Self::RedirectUris => "INSERT INTO client_redirect_uris (api_key, uri) VALUES ($1, $2)",
            Self::AllowedOrigins => {
                "INSERT INTO client_allowed_origins (api_key, origin) VALUES ($1, $2)"
            }
        }
    }
}

/// `SELECT <columns> FROM ...` followed by the given literal tail (sqlx wants literal SQL).
macro_rules! select_clients {
    ($tail:literal) => {
        concat!("SELECT ", "c.api_key, c.site_id, c.kind, c.secret_hash, c.password_base64, \
     c.disabled, s.session_ttl, s.locale AS site_locale, s.currency AS site_currency, c.flows, c.tokens_revoked_at, c.permissions, \
     CAST(CASE WHEN sp.id IS NOT NULL THEN 1 ELSE 0 END AS BIGINT) AS site_private, \
     CAST(COALESCE(sp.auth_required_to_browse, 0) AS BIGINT) AS site_browse_gated \
     FROM api_clients c JOIN sites s ON s.id = c.site_id \
     LEFT JOIN purchase_plans sp ON sp.id = s.storefront_plan_id AND sp.enabled = 1", " ", $tail)
    };
}

impl Store {
    pub async fn create_client(&self, new: NewClient<'_>, now: UnixSeconds) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let site: Option<(String,)> = sqlx::query_as("SELECT id FROM sites WHERE id = $1")
            .bind(new.site_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if site.is_none() {
            return Err(StoreError::NotFound(format!("site {}", new.site_id)));
        }
        sqlx::query(
            "INSERT INTO api_clients (api_key, site_id, kind, secret_hash, password_base64, \
             created_at, permissions) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new.api_key.as_str())
        .bind(new.site_id.as_str())
        .bind(new.kind.as_str())
        .bind(new.secret_hash.map(|h| h.as_bytes().to_vec()))
        .bind(flag(new.password_base64))
        .bind(now)
        .bind(new.permissions.to_stored())
        .execute(&mut *tx)
        .await?;
        for uri in new.redirect_uris {
            sqlx::query("INSERT INTO client_redirect_uris (api_key, uri) VALUES ($1, $2)")
                .bind(new.api_key.as_str())
                .bind(uri)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.forget_client(Some(new.api_key));
        Ok(())
    }

    /// Drops a cached client (`None`: all of them, after a site's settings changed) and counts
    /// the change (see [`Store::client_changes`]).
    pub(super) fn forget_client(&self, api_key: Option<&ApiKey>) {
        match api_key {
            Some(key) => {
                self.client_cache.remove(key);
            }
            None => self.client_cache.clear(),
        }
        self.client_changes.fetch_add(1, Ordering::AcqRel);
    }

    /// How many client changes this store has made: a token check that remembered a key's
    /// verdict asks again when this moved.
    pub fn client_changes(&self) -> u64 {
        self.client_changes.load(Ordering::Acquire)
    }

    /// Shared rather than copied out of the cache: every token request looks its client up.
    /// `now_millis` is the caller's clock, against which a cached entry's age is measured.
    pub async fn client(
        &self,
        api_key: &ApiKey,
        now_millis: u64,
    ) -> StoreResult<Option<Arc<ClientRecord>>> {
        if let Some(hit) = self.client_cache.get(api_key) {
            let age = now_millis.saturating_sub(hit.read_at_millis);
            if age < super::CLIENT_CACHE_TTL.as_millis() as u64 {
                return Ok(hit.client);
            }
        }
        let row: Option<Arc<ClientRecord>> =
            sqlx::query_as::<_, ClientRecord>(select_clients!("WHERE c.api_key = $1"))
                .bind(api_key.as_str())
                .fetch_optional(&self.read)
                .await?
                .map(Arc::new);
        // Unknown keys are cached too (as None): a flood of made-up keys costs no reads.
        self.client_cache.insert(
            api_key.clone(),
            super::CachedClient {
                read_at_millis: now_millis,
                client: row.clone(),
            },
        );
        Ok(row)
    }

    pub async fn clients(&self, site_id: Option<&SiteId>) -> StoreResult<Vec<ClientRecord>> {
        Ok(sqlx::query_as(select_clients!(
            "WHERE ($1 IS NULL OR c.site_id = $1) ORDER BY c.created_at"
        ))
        .bind(site_id.map(SiteId::as_str))
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn redirect_uris(&self, api_key: &ApiKey) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT uri FROM client_redirect_uris WHERE api_key = $1 ORDER BY uri")
                .bind(api_key.as_str())
                .fetch_all(&self.read)
                .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// The origins allowed to call `SessionToken?apiKey=` with this key (none: any).
    pub async fn allowed_origins(&self, api_key: &ApiKey) -> StoreResult<Vec<String>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT origin FROM client_allowed_origins WHERE api_key = $1 ORDER BY origin",
        )
        .bind(api_key.as_str())
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Replaces a key's allowed origins (an empty list allows any).
    pub async fn set_allowed_origins(
        &self,
        api_key: &ApiKey,
        origins: &[String],
    ) -> StoreResult<()> {
        self.replace_client_list(ClientList::AllowedOrigins, api_key, origins)
            .await
    }

    /// Replaces a key's registered redirect URIs (an empty list: no browser flow can finish).
    pub async fn set_redirect_uris(&self, api_key: &ApiKey, uris: &[String]) -> StoreResult<()> {
        self.replace_client_list(ClientList::RedirectUris, api_key, uris)
            .await?;
        self.forget_client(Some(api_key));
        Ok(())
    }

    async fn replace_client_list(
        &self,
        list: ClientList,
        api_key: &ApiKey,
        values: &[String],
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let known: Option<(String,)> =
            sqlx::query_as("SELECT api_key FROM api_clients WHERE api_key = $1")
                .bind(api_key.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("client {api_key}")));
        }
        sqlx::query(list.delete())
            .bind(api_key.as_str())
            .execute(&mut *tx)
            .await?;
        for value in values {
            sqlx::query(list.insert())
                .bind(api_key.as_str())
                .bind(value)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Disables a key, marks every token issued to it so far as revoked (so none works again,
    /// even if the key is enabled again and a node still caches it) and, in the same
    /// transaction, deletes them. Returns the deleted access
    /// tokens' hashes for the nodes' check caches. (Scans the token tables by key: an
    /// operator's rare action, not worth an index that every grant would pay for.)
    pub async fn disable_client(
        &self,
        api_key: &ApiKey,
        now: UnixSeconds,
    ) -> StoreResult<Vec<SecretHash>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let done = sqlx::query(
            "UPDATE api_clients SET disabled = 1, tokens_revoked_at = $1 WHERE api_key = $2",
        )
        .bind(now)
        .bind(api_key.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("client {api_key}")));
        }
        let revoked: Vec<(Vec<u8>,)> =
            sqlx::query_as("DELETE FROM access_tokens WHERE api_key = $1 RETURNING token_hash")
                .bind(api_key.as_str())
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE api_key = $1")
            .bind(api_key.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM staff_tokens WHERE api_key = $1")
            .bind(api_key.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.forget_client(Some(api_key));
        Ok(revoked
            .into_iter()
            .filter_map(|(b,)| SecretHash::from_slice(&b))
            .collect())
    }

    /// Replaces a key's permissions. Taking the Shopper APIs away revokes every shopper token
    /// of the key (as a disable does, so none works if it is given back); taking the Admin
    /// APIs away deletes its staff tokens. Returns the revoked access tokens' hashes for the
    /// check caches.
    pub async fn set_client_permissions(
        &self,
        api_key: &ApiKey,
        permissions: Permissions,
        now: UnixSeconds,
    ) -> StoreResult<Vec<SecretHash>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let done = sqlx::query("UPDATE api_clients SET permissions = $1 WHERE api_key = $2")
            .bind(permissions.to_stored())
            .bind(api_key.as_str())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("client {api_key}")));
        }
        let mut revoked: Vec<(Vec<u8>,)> = Vec::new();
        if !permissions.shopper {
            sqlx::query("UPDATE api_clients SET tokens_revoked_at = $1 WHERE api_key = $2")
                .bind(now)
                .bind(api_key.as_str())
                .execute(&mut *tx)
                .await?;
            revoked =
                sqlx::query_as("DELETE FROM access_tokens WHERE api_key = $1 RETURNING token_hash")
                    .bind(api_key.as_str())
                    .fetch_all(&mut *tx)
                    .await?;
            sqlx::query("DELETE FROM refresh_tokens WHERE api_key = $1")
                .bind(api_key.as_str())
                .execute(&mut *tx)
                .await?;
        }
        if !permissions.admin {
            sqlx::query("DELETE FROM staff_tokens WHERE api_key = $1")
                .bind(api_key.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.forget_client(Some(api_key));
        Ok(revoked
            .into_iter()
            .filter_map(|(b,)| SecretHash::from_slice(&b))
            .collect())
    }

    pub async fn enable_client(&self, api_key: &ApiKey) -> StoreResult<()> {
        self.update_client(
            "UPDATE api_clients SET disabled = $1 WHERE api_key = $2",
            flag(false),
            api_key,
        )
        .await
    }

    pub async fn set_client_password_base64(&self, api_key: &ApiKey, on: bool) -> StoreResult<()> {
        self.update_client(
            "UPDATE api_clients SET password_base64 = $1 WHERE api_key = $2",
            flag(on),
            api_key,
        )
        .await
    }

    pub async fn set_client_flows(&self, api_key: &ApiKey, flows: &FlowSet) -> StoreResult<()> {
        let done = sqlx::query("UPDATE api_clients SET flows = $1 WHERE api_key = $2")
            .bind(flows.to_stored())
            .bind(api_key.as_str())
            .execute(&mut *self.writer().await?)
            .await?;
        self.forget_client(Some(api_key));
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("client {api_key}")));
        }
        Ok(())
    }

    /// Replaces a confidential client's secret; the old one stops working at once.
    pub async fn set_client_secret(&self, api_key: &ApiKey, hash: SecretHash) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE api_clients SET secret_hash = $1 WHERE api_key = $2 AND kind = 'confidential'",
        )
        .bind(hash.as_bytes().to_vec())
        .bind(api_key.as_str())
        .execute(&mut *self.writer().await?)
        .await?;
        self.forget_client(Some(api_key));
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!(
                "confidential client {api_key}"
            )));
        }
        Ok(())
    }

    async fn update_client(
        &self,
        sql: &'static str,
        value: i64,
        api_key: &ApiKey,
    ) -> StoreResult<()> {
        let done = sqlx::query(sql)
            .bind(value)
            .bind(api_key.as_str())
            .execute(&mut *self.writer().await?)
            .await?;
        self.forget_client(Some(api_key));
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("client {api_key}")));
        }
        Ok(())
    }
}
