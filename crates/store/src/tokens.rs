//! Token rows. Each function here is one transaction, so a grant either happens whole or not
//! at all; revocations return the hashes of the access tokens they removed so that the
//! in-memory check cache can drop them at once.

use super::column::{StoredFlag, flag, optional_key};
use super::sessions::NewSession;
use super::{Store, StoreError, StoreResult};
use crate::batch::{PendingPair, PendingRotation, PendingSession};
use crate::rotation::{RefreshOutcome, TOUCH_SESSION};
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{ApiKey, SecretHash, SessionId, SiteId};
use sqlx::{Any, Transaction};

/// The hashes and lifetimes of an access token + refresh token issued together.
#[derive(Debug, Clone)]
pub struct NewTokenPair<'a> {
    pub access_hash: SecretHash,
    pub refresh_hash: SecretHash,
    pub api_key: &'a ApiKey,
    pub full_access: bool,
    pub issued_at: UnixSeconds,
    pub access_expires_at: UnixSeconds,
    pub refresh_expires_at: UnixSeconds,
}

/// An access token with what its check needs from the session.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessTokenRecord {
    #[sqlx(try_from = "String")]
    pub session_id: SessionId,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    #[sqlx(try_from = "String")]
    pub api_key: ApiKey,
    pub shopper_id: Option<i64>,
    #[sqlx(try_from = "StoredFlag")]
    pub full_access: bool,
    pub issued_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefreshTokenRecord {
    #[sqlx(try_from = "String")]
    pub session_id: SessionId,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    pub shopper_id: Option<i64>,
    #[sqlx(try_from = "String")]
    pub api_key: ApiKey,
    #[sqlx(try_from = "StoredFlag")]
    pub full_access: bool,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

fn blob(hash: &SecretHash) -> Vec<u8> {
    hash.as_bytes().to_vec()
}

impl NewTokenPair<'_> {
    fn pending(&self) -> PendingPair {
        PendingPair {
            api_key: self.api_key.as_str().to_owned(),
            full_access: flag(self.full_access),
            issued_at: self.issued_at,
            access_hash: blob(&self.access_hash),
            access_expires_at: self.access_expires_at,
            refresh_hash: blob(&self.refresh_hash),
            refresh_expires_at: self.refresh_expires_at,
        }
    }
}

async fn insert_pair(
    tx: &mut Transaction<'_, Any>,
    session_id: &SessionId,
    pair: &NewTokenPair<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO access_tokens (token_hash, session_id, api_key, full_access, issued_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(blob(&pair.access_hash))
    .bind(session_id.as_str())
    .bind(pair.api_key.as_str())
    .bind(flag(pair.full_access))
    .bind(pair.issued_at)
    .bind(pair.access_expires_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, api_key, full_access, issued_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(blob(&pair.refresh_hash))
    .bind(session_id.as_str())
    .bind(pair.api_key.as_str())
    .bind(flag(pair.full_access))
    .bind(pair.issued_at)
    .bind(pair.refresh_expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes every token of a session (access, refresh, session tokens); returns the access
/// token hashes deleted.
pub(super) async fn delete_session_tokens(
    tx: &mut Transaction<'_, Any>,
    session_id: &str,
) -> StoreResult<Vec<SecretHash>> {
    let rows: Vec<(Vec<u8>,)> =
        sqlx::query_as("DELETE FROM access_tokens WHERE session_id = $1 RETURNING token_hash")
            .bind(session_id)
            .fetch_all(&mut **tx)
            .await?;
    sqlx::query("DELETE FROM refresh_tokens WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM session_tokens WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut **tx)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(b,)| SecretHash::from_slice(&b))
        .collect())
}

/// What every sign-in on an existing session revokes, in the transaction that hands the
/// session to the shopper: every token issued for it before, and every browser handle that
/// leads to it except `keep`, the signing-in browser's own (`None` on the password grant,
/// which has no browser). A cookie obtained before the sign-in (`SessionToken` turns it into
/// tokens) must no more reach the signed-in session than a token does: that would be session
/// fixation. The session and its cart stay. Returns the revoked access token hashes.
pub(super) async fn revoke_before_sign_in(
    tx: &mut Transaction<'_, Any>,
    session_id: &str,
    keep: Option<&SecretHash>,
) -> StoreResult<Vec<SecretHash>> {
    let revoked = delete_session_tokens(tx, session_id).await?;
    // No stored handle is empty, so an empty `keep` keeps none.
    sqlx::query("DELETE FROM browser_sessions WHERE session_id = $1 AND handle_hash <> $2")
        .bind(session_id)
        .bind(keep.map(blob).unwrap_or_default())
        .execute(&mut **tx)
        .await?;
    Ok(revoked)
}

/// Extends a live session to a new refresh token's expiry (`issued_at` is the new pair's issue
/// time); false if the session is gone.
async fn touch_session(
    tx: &mut Transaction<'_, Any>,
    session_id: &SessionId,
    issued_at: UnixSeconds,
    refresh_expires_at: UnixSeconds,
) -> StoreResult<bool> {
    let done = sqlx::query(TOUCH_SESSION)
        .bind(issued_at)
        .bind(refresh_expires_at)
        .bind(session_id.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// Creates a session and its first token pair; returns the session id.
    pub async fn start_session(
        &self,
        new: NewSession<'_>,
        pair: &NewTokenPair<'_>,
    ) -> StoreResult<SessionId> {
        let (id, cart_id, tag) = new.fresh_ids();
        self.group_writer
            .start_session(PendingSession {
                id: id.as_str().to_owned(),
                site_id: new.site_id.as_str().to_owned(),
                api_key: optional_key(new.api_key).to_owned(),
                shopper_id: new.shopper_id,
                cart_id,
                session_tag: tag,
                locale: new.locale.to_owned(),
                currency: new.currency.to_owned(),
                client_ip: new.client_ip,
                pair: pair.pending(),
            })
            .await?;
        Ok(id)
    }

    /// Issues a pair in an existing live session (session-aware tokens).
    pub async fn join_session(
        &self,
        session_id: &SessionId,
        pair: &NewTokenPair<'_>,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        if !touch_session(&mut tx, session_id, pair.issued_at, pair.refresh_expires_at).await? {
            return Err(StoreError::NotFound(format!("session {session_id}")));
        }
        insert_pair(&mut tx, session_id, pair).await?;
        tx.commit().await?;
        self.snapshots.forget(session_id.as_str());
        Ok(())
    }

    /// A shopper signs in on an existing session: the session (and its cart) becomes theirs,
    /// and every token issued for it before — access, refresh and session tokens — is revoked
    /// and every browser handle unlinked (no browser signs in here), so nothing obtained
    /// before the sign-in can ride on the signed-in session.
    /// Fails with `NotFound` if the session is gone or belongs to another shopper.
    pub async fn sign_in_session(
        &self,
        session_id: &SessionId,
        shopper_id: i64,
        pair: &NewTokenPair<'_>,
    ) -> StoreResult<Vec<SecretHash>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let done = sqlx::query(
            "UPDATE shopper_sessions SET shopper_id = $1, last_accessed = $2, expires_at = $3 \
             WHERE id = $4 AND ended_at IS NULL AND expires_at > $2 \
             AND (shopper_id IS NULL OR shopper_id = $1)",
        )
        .bind(shopper_id)
        .bind(pair.issued_at)
        .bind(pair.refresh_expires_at)
        .bind(session_id.as_str())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("session {session_id}")));
        }
        let revoked = revoke_before_sign_in(&mut tx, session_id.as_str(), None).await?;
        insert_pair(&mut tx, session_id, pair).await?;
        tx.commit().await?;
        self.snapshots.forget(session_id.as_str());
        Ok(revoked)
    }

    /// Consumes a refresh token and stores its successor pair, atomically: of two concurrent
    /// rotations of one token exactly one sees `Rotated`. Group-committed (`batch/`).
    pub async fn rotate_refresh_token(
        &self,
        old: &SecretHash,
        session_id: &SessionId,
        successor_at_millis: u64,
        pair: &NewTokenPair<'_>,
    ) -> StoreResult<RefreshOutcome> {
        let outcome = self
            .group_writer
            .rotate(PendingRotation {
                old_hash: blob(old),
                session_id: session_id.as_str().to_owned(),
                successor_at_millis: i64::try_from(successor_at_millis).unwrap_or(i64::MAX),
                pair: pair.pending(),
            })
            .await?;
        if outcome == RefreshOutcome::Rotated {
            self.snapshots.forget(session_id.as_str());
        }
        Ok(outcome)
    }

    /// Ends a session: it and all its tokens stop working. Returns the revoked access tokens.
    pub async fn end_session(
        &self,
        session_id: &SessionId,
        now: UnixSeconds,
    ) -> StoreResult<Vec<SecretHash>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        sqlx::query("UPDATE shopper_sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(now)
            .bind(session_id.as_str())
            .execute(&mut *tx)
            .await?;
        let revoked = delete_session_tokens(&mut tx, session_id.as_str()).await?;
        tx.commit().await?;
        self.snapshots.forget(session_id.as_str());
        Ok(revoked)
    }

    /// Revokes one access token (RFC 7009); the session and its other tokens stay. Returns the
    /// hash when a row was deleted, for the check cache.
    pub async fn revoke_access_token(&self, hash: &SecretHash) -> StoreResult<Vec<SecretHash>> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let rows: Vec<(Vec<u8>,)> =
            sqlx::query_as("DELETE FROM access_tokens WHERE token_hash = $1 RETURNING token_hash")
                .bind(blob(hash))
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .filter_map(|(b,)| SecretHash::from_slice(&b))
            .collect())
    }

    /// The access token with this hash, if it exists and its session has not ended.
    /// Expiry is the caller's rule.
    pub async fn access_token(&self, hash: &SecretHash) -> StoreResult<Option<AccessTokenRecord>> {
        Ok(sqlx::query_as(
            "SELECT t.session_id, ss.site_id, t.api_key, ss.shopper_id, t.full_access, \
             t.issued_at, t.expires_at FROM access_tokens t \
             JOIN shopper_sessions ss ON ss.id = t.session_id \
             WHERE t.token_hash = $1 AND ss.ended_at IS NULL",
        )
        .bind(blob(hash))
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn refresh_token(
        &self,
        hash: &SecretHash,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        Ok(sqlx::query_as(
            "SELECT t.session_id, ss.site_id, t.api_key, ss.shopper_id, t.full_access, \
             t.expires_at, t.consumed_at FROM refresh_tokens t \
             JOIN shopper_sessions ss ON ss.id = t.session_id \
             WHERE t.token_hash = $1 AND ss.ended_at IS NULL",
        )
        .bind(blob(hash))
        .fetch_optional(&self.read)
        .await?)
    }
}
