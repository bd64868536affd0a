use super::{Store, StoreResult};
use crate::domain::SecretHash;
use crate::domain::secret::random_hex;
use crate::domain::time::UnixSeconds;

/// A shopper session: the state tokens are linked to (the cart lives here). It outlives any
/// one access token: it lasts as long as its newest refresh token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: String,
    pub site_id: String,
    pub api_key: String,
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
}

impl SessionRecord {
    pub fn is_live(&self, now: UnixSeconds) -> bool {
        self.ended_at.is_none() && self.expires_at > now
    }
}

pub struct NewSession<'a> {
    pub site_id: &'a str,
    pub api_key: &'a str,
    pub shopper_id: Option<i64>,
    pub locale: &'a str,
    pub currency: &'a str,
    pub client_ip: Option<String>,
}

impl NewSession<'_> {
    pub(super) fn fresh_ids() -> (String, String, String) {
        // Session id and tag are identifiers, not secrets: possession of them grants nothing.
        (random_hex(16), random_hex(8), random_hex(8))
    }
}

/// `SELECT <columns> FROM ...` followed by the given literal tail (sqlx wants literal SQL).
macro_rules! select_sessions {
    ($tail:literal) => {
        concat!(
            "SELECT ",
            "ss.id, ss.site_id, ss.api_key, ss.shopper_id, \
     sh.external_reference_id, ss.cart_id, ss.session_tag, ss.locale, ss.currency, \
     ss.client_ip, ss.created_at, ss.last_accessed, ss.expires_at, ss.ended_at \
     FROM shopper_sessions ss LEFT JOIN shoppers sh ON sh.id = ss.shopper_id",
            " ",
            $tail
        )
    };
}

impl Store {
    pub async fn session(&self, id: &str) -> StoreResult<Option<SessionRecord>> {
        Ok(sqlx::query_as(select_sessions!("WHERE ss.id = $1"))
            .bind(id)
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
        session_id: &str,
        hash: &SecretHash,
        now: UnixSeconds,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO session_tokens (token_hash, session_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(hash.as_bytes().to_vec())
        .bind(session_id)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }
}
