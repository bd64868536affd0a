use super::column::StoredOptionalKey;
use super::{Store, StoreResult};
use quick_cache::sync::Cache;
use shopkeeper_domain::secret::random_hex;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{ApiKey, SecretHash, SessionId, SiteId};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How stale a session snapshot may be when another process or node changed the session.
/// Changes made through this store drop the snapshot at once.
pub const SESSION_SNAPSHOT_TTL: Duration = Duration::from_secs(1);

/// A snapshot and when (on the caller's clock, milliseconds) it was read, so that its age
/// follows the clock the tests move.
#[derive(Clone)]
pub(super) struct Snapshot {
    read_at_millis: u64,
    session: Arc<SessionRecord>,
}

/// Recently read sessions, for the read-only views a bearer check answers from
/// (`GET /v1/shoppers/me`, `GET /oauth20/access-tokens`): with the token's principal already
/// cached, this makes those checks need no database read at all. Every write to a session
/// through this store forgets its snapshot after committing; a generation counter keeps a read
/// that raced such a write from caching what it read (the same scheme as the token cache).
/// Handlers that change state (the cart, checkout) never read from here.
#[derive(Clone)]
pub(super) struct SessionSnapshots {
    cache: Arc<Cache<SessionId, Snapshot>>,
    generation: Arc<AtomicU64>,
}

impl SessionSnapshots {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            cache: Arc::new(Cache::new(capacity)),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Called after a write to session `id` committed.
    pub(super) fn forget(&self, id: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.cache.remove(id);
    }

    /// Called after a write that may change any session's view (a shopper row's fields).
    pub(super) fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.cache.clear();
    }
}

/// A shopper session: the state tokens are linked to (the cart lives here). It outlives any
/// one access token: it lasts as long as its newest refresh token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    #[sqlx(try_from = "String")]
    pub id: SessionId,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    /// None until a key has used the session.
    #[sqlx(try_from = "StoredOptionalKey")]
    pub api_key: Option<ApiKey>,
    pub shopper_id: Option<i64>,
    pub external_reference_id: Option<String>,
    pub cart_id: String,
    pub session_tag: String,
    pub locale: String,
    pub currency: String,
    pub client_ip: Option<String>,
    pub created_at: i64,
    pub last_accessed: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
    /// The private store the session was authorized into, and the address it proved.
    pub purchase_plan_id: Option<i64>,
    pub purchase_plan_email: Option<String>,
}

impl SessionRecord {
    pub fn is_live(&self, now: UnixSeconds) -> bool {
        self.ended_at.is_none() && self.expires_at > now
    }
}

pub struct NewSession<'a> {
    pub site_id: &'a SiteId,
    /// None for a session no key has used yet.
    pub api_key: Option<&'a ApiKey>,
    pub shopper_id: Option<i64>,
    pub locale: &'a str,
    pub currency: &'a str,
    pub client_ip: Option<String>,
    /// When the session starts (milliseconds since the epoch), which its id sorts by.
    pub created_at_millis: u64,
}

impl NewSession<'_> {
    pub(super) fn fresh_ids(&self) -> (SessionId, String, String) {
        // Session id and tag are identifiers, not secrets: possession of them grants nothing.
        (
            SessionId::new_at(self.created_at_millis),
            random_hex(8),
            random_hex(8),
        )
    }
}

/// `SELECT <columns> FROM ...` followed by the given literal tail (sqlx wants literal SQL).
macro_rules! select_sessions {
    ($tail:literal) => {
        concat!(
            "SELECT ",
            "ss.id, ss.site_id, ss.api_key, ss.shopper_id, \
     sh.external_reference_id, ss.cart_id, ss.session_tag, ss.locale, ss.currency, \
     ss.client_ip, ss.created_at, ss.last_accessed, ss.expires_at, ss.ended_at, \
     ss.purchase_plan_id, ss.purchase_plan_email \
     FROM shopper_sessions ss LEFT JOIN shoppers sh ON sh.id = ss.shopper_id",
            " ",
            $tail
        )
    };
}

impl Store {
    /// The session as the read-only views show it: from memory when it was read within
    /// [`SESSION_SNAPSHOT_TTL`] and not changed since through this store, else from the
    /// database. Never use it to decide a write. `now_millis` is the caller's clock.
    pub async fn session_snapshot(
        &self,
        id: &SessionId,
        now_millis: u64,
    ) -> StoreResult<Option<Arc<SessionRecord>>> {
        if let Some(hit) = self.snapshots.cache.get(id) {
            let age = now_millis.saturating_sub(hit.read_at_millis);
            if age < SESSION_SNAPSHOT_TTL.as_millis() as u64 {
                return Ok(Some(hit.session));
            }
        }
        let generation = self.snapshots.generation.load(Ordering::Acquire);
        let Some(record) = self.session(id).await? else {
            return Ok(None);
        };
        let record = Arc::new(record);
        if self.snapshots.generation.load(Ordering::Acquire) == generation {
            let snapshot = Snapshot {
                read_at_millis: now_millis,
                session: record.clone(),
            };
            self.snapshots.cache.insert(id.clone(), snapshot);
            // A write that committed while inserting: drop what may predate it.
            if self.snapshots.generation.load(Ordering::Acquire) != generation {
                self.snapshots.cache.remove(id);
            }
        }
        Ok(Some(record))
    }

    pub async fn session(&self, id: &SessionId) -> StoreResult<Option<SessionRecord>> {
        Ok(sqlx::query_as(select_sessions!("WHERE ss.id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.read)
            .await?)
    }

    /// The session a `SessionToken` value belongs to, if that value is still current.
    pub async fn session_by_session_token(
        &self,
        hash: &SecretHash,
    ) -> StoreResult<Option<SessionRecord>> {
        Ok(sqlx::query_as(select_sessions!(
            "JOIN session_tokens st ON st.session_id = ss.id \
             WHERE st.token_hash = $1"
        ))
        .bind(hash.as_bytes().to_vec())
        .fetch_optional(&self.read)
        .await?)
    }

    /// Links a new session token (given as its hash) to a live session.
    pub async fn add_session_token(
        &self,
        session_id: &SessionId,
        hash: &SecretHash,
        now: UnixSeconds,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO session_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(hash.as_bytes().to_vec())
        .bind(session_id.as_str())
        .bind(now)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(())
    }
}
