//! Bearer token verification: the one place where a presented access token becomes a
//! principal. It runs on every protected request, so it does no write and, once a token has
//! been seen, no database round trip: verified tokens are cached in memory by hash.
//! Every revocation goes through [`TokenVerifier::forget`], so a revoked token stops working
//! at once on this node.

use crate::domain::SecretHash;
use crate::domain::TokenValue;
use crate::domain::time::{UnixSeconds, now};
use crate::store::{AccessTokenRecord, Store, StoreError};
use moka::sync::Cache;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessLevel {
    /// Anonymous (guest) shopper: seed 003's limited access token.
    Limited,
    /// A signed-in shopper: seed 003's full access token.
    Full,
}

impl AccessLevel {
    pub fn from_full_flag(full: bool) -> Self {
        if full {
            AccessLevel::Full
        } else {
            AccessLevel::Limited
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::Limited => "limited",
            AccessLevel::Full => "full",
        }
    }
}

/// Who is calling: the verified facts behind an access token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_hash: SecretHash,
    pub session_id: String,
    pub site_id: String,
    pub api_key: String,
    pub shopper_id: Option<i64>,
    pub level: AccessLevel,
    pub issued_at: UnixSeconds,
    pub expires_at: UnixSeconds,
}

impl Principal {
    fn from_record(token_hash: SecretHash, r: AccessTokenRecord) -> Self {
        Self {
            token_hash,
            session_id: r.session_id,
            site_id: r.site_id,
            api_key: r.api_key,
            shopper_id: r.shopper_id,
            level: AccessLevel::from_full_flag(r.full_access != 0),
            issued_at: r.issued_at,
            expires_at: r.expires_at,
        }
    }

    pub fn seconds_left(&self, at: UnixSeconds) -> i64 {
        (self.expires_at - at).max(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the access token is invalid, expired or revoked")]
    Invalid,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct TokenVerifier {
    store: Store,
    cache: Cache<SecretHash, Arc<Principal>>,
    /// Bumped by every revocation; a check that read the database across a bump drops what
    /// it cached, so a revocation racing a cache fill cannot leave a revoked token cached.
    revocations: Arc<AtomicU64>,
}

impl TokenVerifier {
    pub fn new(store: Store, capacity: u64) -> Self {
        Self {
            store,
            cache: Cache::builder()
                .max_capacity(capacity)
                // Idle entries leave memory; a later check simply reads the row again.
                .time_to_idle(Duration::from_secs(15 * 60))
                .build(),
            revocations: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Verifies a presented token string (any shape: malformed is simply invalid).
    pub async fn verify(&self, presented: &str) -> Result<Arc<Principal>, VerifyError> {
        let token = TokenValue::parse(presented).ok_or(VerifyError::Invalid)?;
        self.verify_hash(token.hash()).await
    }

    pub async fn verify_hash(&self, hash: SecretHash) -> Result<Arc<Principal>, VerifyError> {
        let at = now();
        if let Some(p) = self.cache.get(&hash) {
            return if p.expires_at > at {
                Ok(p)
            } else {
                self.cache.invalidate(&hash);
                Err(VerifyError::Invalid)
            };
        }
        let epoch = self.revocations.load(Ordering::Acquire);
        let record = self
            .store
            .access_token(&hash)
            .await?
            .ok_or(VerifyError::Invalid)?;
        if record.expires_at <= at {
            return Err(VerifyError::Invalid);
        }
        let principal = Arc::new(Principal::from_record(hash, record));
        self.cache.insert(hash, principal.clone());
        if self.revocations.load(Ordering::Acquire) != epoch {
            self.cache.invalidate(&hash);
        }
        Ok(principal)
    }

    /// Remembers a token just issued, so its first check needs no database read.
    pub fn remember(&self, principal: Principal) {
        self.cache.insert(principal.token_hash, Arc::new(principal));
    }

    /// Drops revoked tokens from the cache; called with what every revocation returns.
    pub fn forget(&self, hashes: &[SecretHash]) {
        self.revocations.fetch_add(1, Ordering::AcqRel);
        for h in hashes {
            self.cache.invalidate(h);
        }
    }
}
