//! What the browser-facing flows keep: browser sessions (the `SessionToken` cookie's handle),
//! sessions started without tokens, authorization codes and the sign-in page's branding.

use super::column::optional_key;
use super::sessions::{NewSession, SessionRecord};
use super::tokens::revoke_before_sign_in;
use super::{Store, StoreError, StoreResult};
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{ApiKey, SecretHash, SessionId, SiteId};
use sqlx::{Any, Transaction};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SiteBranding {
    #[sqlx(try_from = "String")]
    pub id: SiteId,
    pub display_name: Option<String>,
    pub brand_color: String,
    /// The site's locale (`en_US`): the hosted pages' `lang`.
    pub locale: String,
}

pub struct NewAuthorizationCode<'a> {
    pub code_hash: SecretHash,
    pub api_key: &'a ApiKey,
    pub redirect_uri: &'a str,
    pub code_challenge: Option<&'a str>,
    pub session_id: &'a SessionId,
    pub shopper_id: i64,
    pub created_at: UnixSeconds,
    pub expires_at: UnixSeconds,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthorizationCodeRecord {
    #[sqlx(try_from = "String")]
    pub api_key: ApiKey,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    #[sqlx(try_from = "String")]
    pub session_id: SessionId,
    pub shopper_id: i64,
    pub expires_at: i64,
}

#[derive(Debug)]
pub enum CodeRedemption {
    /// First use: the code is now consumed.
    Fresh(AuthorizationCodeRecord),
    /// The code had been used before: a replay.
    Replayed(AuthorizationCodeRecord),
    Unknown,
}

fn blob(hash: &SecretHash) -> Vec<u8> {
    hash.as_bytes().to_vec()
}

/// A browser handle on a site: the signing-in browser of a hosted sign-in.
#[derive(Debug, Clone, Copy)]
pub struct BrowserHandle<'a> {
    pub hash: &'a SecretHash,
    pub site_id: &'a SiteId,
}

/// Points a browser handle at a session (a new handle, or one that led elsewhere).
/// `full_access`: the browser acts for the session's shopper (it signed in, or came from a
/// full token's web checkout).
async fn link_handle(
    tx: &mut Transaction<'_, Any>,
    handle: BrowserHandle<'_>,
    session_id: &SessionId,
    now: UnixSeconds,
    full_access: bool,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO browser_sessions (handle_hash, site_id, session_id, created_at, \
         full_access) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (handle_hash) \
         DO UPDATE SET site_id = excluded.site_id, session_id = excluded.session_id, \
         full_access = excluded.full_access",
    )
    .bind(blob(handle.hash))
    .bind(handle.site_id.as_str())
    .bind(session_id.as_str())
    .bind(now)
    .bind(i64::from(full_access))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a new session with no token yet; its id.
async fn insert_session(
    tx: &mut Transaction<'_, Any>,
    new: &NewSession<'_>,
    now: UnixSeconds,
    expires_at: UnixSeconds,
) -> StoreResult<SessionId> {
    let (id, cart_id, tag) = new.fresh_ids();
    sqlx::query(
        "INSERT INTO shopper_sessions (id, site_id, api_key, shopper_id, cart_id, \
         session_tag, locale, currency, client_ip, created_at, last_accessed, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(id.as_str())
    .bind(new.site_id.as_str())
    .bind(optional_key(new.api_key))
    .bind(new.shopper_id)
    .bind(&cart_id)
    .bind(&tag)
    .bind(new.locale)
    .bind(new.currency)
    .bind(new.client_ip.as_deref())
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// What a checkout handle was redeemed for: the session and whether the browser acts for its
/// shopper.
#[derive(Debug, Clone)]
pub struct RedeemedCheckout {
    pub session_id: SessionId,
    pub full_access: bool,
}

impl Store {
    /// Starts a session with no token yet (the `SessionToken` action without an API key, or a
    /// sign-in with nothing to continue) and, if given, links a browser handle to it.
    pub async fn start_tokenless_session(
        &self,
        new: NewSession<'_>,
        now: UnixSeconds,
        expires_at: UnixSeconds,
        browser_handle: Option<&SecretHash>,
    ) -> StoreResult<SessionId> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let id = insert_session(&mut tx, &new, now, expires_at).await?;
        if let Some(hash) = browser_handle {
            let handle = BrowserHandle {
                hash,
                site_id: new.site_id,
            };
            link_handle(&mut tx, handle, &id, now, false).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Starts the anonymous session of a browser on a key-only cart (`api_key` alone, seed
    /// 003's "Access Carts with API Key Only") and links the cookie's hash to it, for that key
    /// only.
    pub async fn start_key_cart_session(
        &self,
        new: NewSession<'_>,
        now: UnixSeconds,
        expires_at: UnixSeconds,
        handle: &SecretHash,
    ) -> StoreResult<SessionId> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let id = insert_session(&mut tx, &new, now, expires_at).await?;
        sqlx::query(
            "INSERT INTO key_cart_handles (handle_hash, api_key, session_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(blob(handle))
        // The session's own key (`NOT NULL`: a key-only session always names one).
        .bind(optional_key(new.api_key))
        .bind(id.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The session a key-only cart cookie's hash points to, if it was issued for `api_key`
    /// (live or not: the caller decides). A cookie of another key leads nowhere.
    pub async fn key_cart_session(
        &self,
        handle: &SecretHash,
        api_key: &ApiKey,
    ) -> StoreResult<Option<SessionRecord>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT session_id FROM key_cart_handles WHERE handle_hash = $1 AND api_key = $2",
        )
        .bind(blob(handle))
        .bind(api_key.as_str())
        .fetch_optional(&self.read)
        .await?;
        match row.and_then(|(id,)| SessionId::parse(&id)) {
            Some(id) => self.session(&id).await,
            None => Ok(None),
        }
    }

    /// The session a browser handle points to on a site (live or not: the caller decides).
    pub async fn browser_session(
        &self,
        handle: &SecretHash,
        site_id: &SiteId,
    ) -> StoreResult<Option<SessionRecord>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT session_id FROM browser_sessions WHERE handle_hash = $1 AND site_id = $2",
        )
        .bind(blob(handle))
        .bind(site_id.as_str())
        .fetch_optional(&self.read)
        .await?;
        // A handle that leads to no well-formed session id leads nowhere.
        match row.and_then(|(id,)| SessionId::parse(&id)) {
            Some(id) => self.session(&id).await,
            None => Ok(None),
        }
    }

    /// The session a browser handle points to on a site and whether the browser acts for its
    /// shopper (live or not: the caller decides).
    pub async fn browser_session_link(
        &self,
        handle: &SecretHash,
        site_id: &SiteId,
    ) -> StoreResult<Option<(SessionRecord, bool)>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT session_id, full_access FROM browser_sessions \
             WHERE handle_hash = $1 AND site_id = $2",
        )
        .bind(blob(handle))
        .bind(site_id.as_str())
        .fetch_optional(&self.read)
        .await?;
        let Some((id, full)) = row else {
            return Ok(None);
        };
        match SessionId::parse(&id) {
            Some(id) => Ok(self.session(&id).await?.map(|s| (s, full != 0))),
            None => Ok(None),
        }
    }

    /// Stores a web checkout's one-time handle (its hash) for the token's session.
    pub async fn create_checkout_handle(
        &self,
        handle: BrowserHandle<'_>,
        session_id: &SessionId,
        full_access: bool,
        now: UnixSeconds,
        expires_at: UnixSeconds,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        sqlx::query(
            "INSERT INTO checkout_handles (handle_hash, site_id, session_id, full_access, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(blob(handle.hash))
        .bind(handle.site_id.as_str())
        .bind(session_id.as_str())
        .bind(i64::from(full_access))
        .bind(now)
        .bind(expires_at)
        .execute(&mut *writer)
        .await?;
        Ok(())
    }

    /// Redeems a checkout handle once, before it expires, on its site: in one transaction it is
    /// marked used (a conditional update: of two redemptions one wins) and `browser` (a fresh
    /// handle) is linked to its session. `None`: unknown, used, expired or another site's.
    pub async fn redeem_checkout_handle(
        &self,
        handle: &SecretHash,
        browser: BrowserHandle<'_>,
        now: UnixSeconds,
    ) -> StoreResult<Option<RedeemedCheckout>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "UPDATE checkout_handles SET consumed_at = $1 \
             WHERE handle_hash = $2 AND site_id = $3 AND consumed_at IS NULL \
             AND expires_at > $1 RETURNING session_id, full_access",
        )
        .bind(now)
        .bind(blob(handle))
        .bind(browser.site_id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((session_id, full)) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let Some(session_id) = SessionId::parse(&session_id) else {
            tx.rollback().await?;
            return Ok(None);
        };
        link_handle(&mut tx, browser, &session_id, now, full != 0).await?;
        tx.commit().await?;
        Ok(Some(RedeemedCheckout {
            session_id,
            full_access: full != 0,
        }))
    }

    /// A shopper takes over a live session (its cart included) on the hosted page: everything
    /// issued for it before — access, refresh and session tokens — is revoked, every other
    /// browser handle leading to it is unlinked, and `browser` (the signing-in browser) now
    /// leads to it. `NotFound` if the session is gone or another shopper's. Returns the
    /// revoked access token hashes.
    pub async fn claim_session(
        &self,
        session_id: &SessionId,
        shopper_id: i64,
        now: UnixSeconds,
        expires_at: UnixSeconds,
        browser: BrowserHandle<'_>,
    ) -> StoreResult<Vec<SecretHash>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let done = sqlx::query(
            "UPDATE shopper_sessions SET shopper_id = $1, last_accessed = $2, \
             expires_at = CASE WHEN expires_at > $3 THEN expires_at ELSE $3 END \
             WHERE id = $4 AND ended_at IS NULL AND expires_at > $2 \
             AND (shopper_id IS NULL OR shopper_id = $1)",
        )
        .bind(shopper_id)
        .bind(now)
        .bind(expires_at)
        .bind(session_id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("session {session_id}")));
        }
        let revoked =
            revoke_before_sign_in(&mut tx, session_id.as_str(), Some(browser.hash)).await?;
        link_handle(&mut tx, browser, session_id, now, true).await?;
        tx.commit().await?;
        self.snapshots.forget(session_id.as_str());
        Ok(revoked)
    }

    pub async fn create_authorization_code(
        &self,
        new: NewAuthorizationCode<'_>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO authorization_codes (code_hash, api_key, redirect_uri, code_challenge, \
             session_id, shopper_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(blob(&new.code_hash))
        .bind(new.api_key.as_str())
        .bind(new.redirect_uri)
        .bind(new.code_challenge)
        .bind(new.session_id.as_str())
        .bind(new.shopper_id)
        .bind(new.created_at)
        .bind(new.expires_at)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }

    /// Consumes a code atomically: of two concurrent redemptions exactly one is `Fresh`.
    pub async fn redeem_authorization_code(
        &self,
        hash: &SecretHash,
        now: UnixSeconds,
    ) -> StoreResult<CodeRedemption> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let consumed = sqlx::query(
            "UPDATE authorization_codes SET consumed_at = $1 \
             WHERE code_hash = $2 AND consumed_at IS NULL",
        )
        .bind(now)
        .bind(blob(hash))
        .execute(&mut *tx)
        .await?;
        let record: Option<AuthorizationCodeRecord> = sqlx::query_as(
            "SELECT api_key, redirect_uri, code_challenge, session_id, shopper_id, expires_at \
             FROM authorization_codes WHERE code_hash = $1",
        )
        .bind(blob(hash))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(match record {
            None => CodeRedemption::Unknown,
            Some(r) if consumed.rows_affected() == 1 => CodeRedemption::Fresh(r),
            Some(r) => CodeRedemption::Replayed(r),
        })
    }

    pub async fn site_branding(&self, site_id: &SiteId) -> StoreResult<Option<SiteBranding>> {
        Ok(
            sqlx::query_as("SELECT id, display_name, brand_color, locale FROM sites WHERE id = $1")
                .bind(site_id.as_str())
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Sets the sign-in page's title and colour (the colour is checked by the caller).
    pub async fn set_site_branding(
        &self,
        site_id: &SiteId,
        display_name: Option<&str>,
        brand_color: &str,
    ) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE sites SET display_name = $1, brand_color = $2 WHERE id = $3")
                .bind(display_name)
                .bind(brand_color)
                .bind(site_id.as_str())
                .execute(&mut *self.writer().await?)
                .await?;
        // Cached clients carry their site's settings.
        self.forget_client(None);
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("site {site_id}")));
        }
        Ok(())
    }
}
