//! Bearer token verification: the one place where a presented access token becomes a
//! principal. It runs on every protected request, so it does no write and, once a token has
//! been seen, no database round trip: verified tokens are cached in memory by hash.
//! Every revocation goes through [`TokenVerifier::forget`], so a revoked token stops working
//! at once on this node, and (PostgreSQL) on every other node within milliseconds.

use crate::clock::Clock;
use crate::settings::TokenSettings;
use quick_cache::sync::Cache;
use shopkeeper_domain::TokenValue;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{ApiKey, SecretHash, SessionId, SiteId};
use shopkeeper_store::{AccessTokenRecord, Engine, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

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
    pub session_id: SessionId,
    pub site_id: SiteId,
    pub api_key: ApiKey,
    pub shopper_id: Option<i64>,
    pub level: AccessLevel,
    pub issued_at: UnixSeconds,
    pub expires_at: UnixSeconds,
}

impl Principal {
    /// The shopper this token acts for: a full token's; a limited token never acts for one,
    /// even in a session a shopper signed in to.
    pub fn acting_shopper(&self) -> Option<i64> {
        match self.level {
            AccessLevel::Full => self.shopper_id,
            AccessLevel::Limited => None,
        }
    }

    fn from_record(token_hash: SecretHash, r: AccessTokenRecord) -> Self {
        Self {
            token_hash,
            session_id: r.session_id,
            site_id: r.site_id,
            api_key: r.api_key,
            shopper_id: r.shopper_id,
            level: AccessLevel::from_full_flag(r.full_access),
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

/// A verified token as the cache keeps it.
#[derive(Clone)]
struct CachedPrincipal {
    principal: Arc<Principal>,
    /// Until when the entry may answer without the database: `token_cache_ttl_seconds` after
    /// it was cached. It bounds how long a revocation another node failed to announce can go
    /// unnoticed (see [`revocation_sync`]).
    fresh_until: UnixSeconds,
    /// Until when the token's key is known to accept it without asking again (the second it
    /// was last asked), provided this store's clients have not changed since
    /// (`client_changes`): a disable on this node shows at once, one elsewhere (another node,
    /// the CLI) within the store's one-second client cache and this second.
    key_checked_until: UnixSeconds,
    client_changes: u64,
}

#[derive(Clone)]
pub struct TokenVerifier {
    store: Store,
    /// Token expiry and the cache's freshness follow it.
    clock: Clock,
    /// Bounded by `token_cache_capacity` entries. Every issued token is inserted here, which
    /// is why the project's caches are quick_cache: moka's insert was the largest user-space
    /// item of a grant's profile (docs/benchmarks.md, "What changed, and what each change
    /// bought").
    cache: Arc<Cache<SecretHash, CachedPrincipal>>,
    fresh_for: i64,
    /// Bumped by every revocation; a check that read the database across a bump drops what
    /// it cached, so a revocation racing a cache fill cannot leave a revoked token cached.
    revocations: Arc<AtomicU64>,
    /// False while this node cannot hear other nodes' revocations (its PostgreSQL listener
    /// is down): checks then read the database every time instead of trusting memory.
    cache_trusted: Arc<AtomicBool>,
    /// Revoked hashes waiting to be published to the other nodes (PostgreSQL only).
    outbox: Option<mpsc::UnboundedSender<Vec<SecretHash>>>,
}

impl TokenVerifier {
    /// A verifier for one node. On PostgreSQL it also starts the two background tasks that
    /// keep the caches of all nodes coherent (see [`revocation_sync`]); it must then be called
    /// inside a Tokio runtime.
    pub fn new(store: Store, settings: &TokenSettings, clock: Clock) -> Self {
        let multi_node = store.engine() == Engine::Postgres;
        let (outbox, inbox) = if multi_node {
            let (tx, rx) = mpsc::unbounded_channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let verifier = Self {
            store,
            clock,
            cache: Arc::new(Cache::new(
                usize::try_from(settings.token_cache_capacity.max(1)).unwrap_or(usize::MAX),
            )),
            fresh_for: i64::try_from(settings.token_cache_ttl_seconds.max(1)).unwrap_or(i64::MAX),
            revocations: Arc::new(AtomicU64::new(0)),
            // With one node (SQLite) nothing else can revoke behind this cache's back.
            cache_trusted: Arc::new(AtomicBool::new(!multi_node)),
            outbox,
        };
        if let Some(inbox) = inbox {
            let heartbeat = Duration::from_millis(settings.revocation_heartbeat_ms.max(10));
            tokio::spawn(revocation_sync::publish(
                verifier.store.clone(),
                inbox,
                heartbeat,
            ));
            tokio::spawn(revocation_sync::listen(verifier.clone(), heartbeat));
        }
        verifier
    }

    /// The clock token expiry is checked against.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Verifies a presented token string (any shape: malformed is simply invalid).
    pub async fn verify(&self, presented: &str) -> Result<Arc<Principal>, VerifyError> {
        let token = TokenValue::parse(presented).ok_or(VerifyError::Invalid)?;
        self.verify_hash(token.hash()).await
    }

    pub async fn verify_hash(&self, hash: SecretHash) -> Result<Arc<Principal>, VerifyError> {
        let at = self.clock.now();
        let trusted = self.cache_trusted.load(Ordering::Acquire);
        if trusted && let Some(cached) = self.cache.get(&hash) {
            if cached.principal.expires_at <= at {
                self.cache.remove(&hash);
                return Err(VerifyError::Invalid);
            }
            if cached.fresh_until > at {
                if cached.key_checked_until > at
                    && cached.client_changes == self.store.client_changes()
                {
                    return Ok(cached.principal);
                }
                let epoch = self.revocations.load(Ordering::Acquire);
                let changes = self.store.client_changes();
                self.check_key(&cached.principal).await?;
                let recheck = CachedPrincipal {
                    key_checked_until: at.saturating_add(1),
                    client_changes: changes,
                    ..cached
                };
                let principal = recheck.principal.clone();
                self.cache_unless_revoked(hash, recheck, epoch);
                return Ok(principal);
            }
            // Cached too long ago to vouch for it: read the row again below (and cache it
            // again only if it is still there).
            self.cache.remove(&hash);
        }
        let epoch = self.revocations.load(Ordering::Acquire);
        let changes = self.store.client_changes();
        let record = self
            .store
            .access_token(&hash)
            .await?
            .ok_or(VerifyError::Invalid)?;
        if record.expires_at <= at {
            return Err(VerifyError::Invalid);
        }
        let principal = Arc::new(Principal::from_record(hash, record));
        self.check_key(&principal).await?;
        if trusted {
            self.cache_unless_revoked(hash, self.cached(principal.clone(), at, changes), epoch);
        }
        Ok(principal)
    }

    /// Caches an entry read across revocation epoch `epoch`; a revocation meanwhile may have
    /// been of this very token, so the entry goes again.
    fn cache_unless_revoked(&self, hash: SecretHash, cached: CachedPrincipal, epoch: u64) {
        self.cache.insert(hash, cached);
        if self.revocations.load(Ordering::Acquire) != epoch {
            self.cache.remove(&hash);
        }
    }

    /// A disabled key's tokens stop at once, and those it had stay dead if it is enabled
    /// again (`ClientRecord::accepts_token_issued_at`), whatever this token cache holds.
    async fn check_key(&self, principal: &Principal) -> Result<(), VerifyError> {
        match self
            .store
            .client(&principal.api_key, self.clock.now_millis())
            .await?
        {
            Some(client) if client.accepts_token_issued_at(principal.issued_at) => Ok(()),
            _ => Err(VerifyError::Invalid),
        }
    }

    /// Remembers a token just issued, so its first check needs no database read.
    pub fn remember(&self, principal: Principal) {
        if self.cache_trusted.load(Ordering::Acquire) {
            // Its key was just checked: the grant authenticated it.
            let cached = self.cached(
                Arc::new(principal),
                self.clock.now(),
                self.store.client_changes(),
            );
            self.cache.insert(cached.principal.token_hash, cached);
        }
    }

    /// An entry for a token whose key was checked at `at`, when the store's clients had
    /// changed `client_changes` times.
    fn cached(
        &self,
        principal: Arc<Principal>,
        at: UnixSeconds,
        client_changes: u64,
    ) -> CachedPrincipal {
        CachedPrincipal {
            principal,
            fresh_until: at.saturating_add(self.fresh_for),
            key_checked_until: at.saturating_add(1),
            client_changes,
        }
    }

    /// Drops revoked tokens from this node's cache and tells the other nodes to do the same;
    /// called with what every revocation returns, after it committed.
    pub fn forget(&self, hashes: &[SecretHash]) {
        self.forget_locally(hashes);
        if let Some(outbox) = &self.outbox
            && !hashes.is_empty()
        {
            // Only fails once the publisher task is gone, i.e. the runtime is shutting down.
            let _ = outbox.send(hashes.to_vec());
        }
    }

    fn forget_locally(&self, hashes: &[SecretHash]) {
        self.revocations.fetch_add(1, Ordering::AcqRel);
        for h in hashes {
            self.cache.remove(h);
        }
    }

    /// Stops trusting (and empties) the cache: revocations may be passing unheard.
    fn distrust_cache(&self) {
        self.cache_trusted.store(false, Ordering::Release);
        self.revocations.fetch_add(1, Ordering::AcqRel);
        self.cache.clear();
    }

    /// Listening again: start from an empty cache, since messages may have been missed.
    fn trust_cache(&self) {
        self.revocations.fetch_add(1, Ordering::AcqRel);
        self.cache.clear();
        self.cache_trusted.store(true, Ordering::Release);
    }

    /// Whether checks are currently answered from memory (false while deaf to other nodes).
    pub fn cache_is_trusted(&self) -> bool {
        self.cache_trusted.load(Ordering::Acquire)
    }
}

/// Keeping every node's token cache coherent on PostgreSQL.
///
/// How stale a node can be: a revocation committed on node A is published by A right after
/// its commit and reaches B's listener within milliseconds. If B's listener connection drops
/// (or hears not even a heartbeat for three heartbeat periods), B empties its cache and reads
/// every token from the database until it listens again. The one gap: A dies between its
/// commit and its NOTIFY; then B may accept the token until `token_cache_ttl_seconds`.
mod revocation_sync {
    use super::*;

    /// Sends queued revocations (retrying while the database is unreachable: a revocation
    /// is never dropped) and a heartbeat every `heartbeat`.
    pub(super) async fn publish(
        store: Store,
        mut inbox: mpsc::UnboundedReceiver<Vec<SecretHash>>,
        heartbeat: Duration,
    ) {
        let mut tick = tokio::time::interval(heartbeat);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let batch = tokio::select! {
                next = inbox.recv() => match next {
                    Some(mut batch) => {
                        while let Ok(more) = inbox.try_recv() {
                            batch.extend(more);
                        }
                        batch
                    }
                    None => return,
                },
                _ = tick.tick() => Vec::new(),
            };
            let mut backoff = Duration::from_millis(50);
            while let Err(e) = store.publish_revocations(&batch).await {
                if batch.is_empty() {
                    break; // a missed heartbeat needs no retry
                }
                tracing::warn!(error = %e, "could not publish revocations; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }

    /// Listens for revocations from every node; on losing the connection, distrusts the
    /// cache and reconnects.
    pub(super) async fn listen(verifier: TokenVerifier, heartbeat: Duration) {
        let silence_limit = heartbeat * 3;
        let mut backoff = Duration::from_millis(50);
        loop {
            match verifier.store.listen_revocations(silence_limit).await {
                Ok(mut listener) => {
                    verifier.trust_cache();
                    backoff = Duration::from_millis(50);
                    loop {
                        match tokio::time::timeout(silence_limit, listener.next()).await {
                            Ok(Ok(Some(hashes))) => verifier.forget_locally(&hashes),
                            Ok(Ok(None)) => {
                                tracing::warn!("revocation listener lost its connection");
                                break;
                            }
                            Ok(Err(e)) => {
                                tracing::warn!(error = %e, "revocation listener failed");
                                break;
                            }
                            Err(_) => {
                                tracing::warn!("revocation listener heard nothing; reconnecting");
                                break;
                            }
                        }
                    }
                    verifier.distrust_cache();
                }
                Err(e) => tracing::warn!(error = %e, "cannot listen for revocations yet"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}
