//! Cross-node revocation messages over PostgreSQL LISTEN/NOTIFY. Each node caches verified
//! access tokens in memory; when one node revokes tokens it publishes their hashes here, and
//! every node (itself included) drops them from its cache. On SQLite there is only one node,
//! so publishing is a no-op and there is nothing to listen to.

use super::{Engine, Store, StoreError, StoreResult};
use shopkeeper_domain::SecretHash;
use sqlx::postgres::{PgListener, PgPoolOptions};
use std::time::Duration;

/// The NOTIFY channel carrying revoked access-token hashes (hex, comma-separated). An empty
/// payload is a heartbeat: it proves the listening connection still receives.
pub const REVOCATION_CHANNEL: &str = "shopkeeper_revoked_tokens";

/// NOTIFY payloads must stay under 8000 bytes; 64 hex chars + a comma each.
const HASHES_PER_MESSAGE: usize = 100;

impl Store {
    /// Tells every node that these access tokens are revoked (an empty slice: a heartbeat).
    pub async fn publish_revocations(&self, hashes: &[SecretHash]) -> StoreResult<()> {
        if self.engine != Engine::Postgres {
            return Ok(());
        }
        let mut payloads: Vec<String> = hashes
            .chunks(HASHES_PER_MESSAGE)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|h| hex::encode(h.as_bytes()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        if payloads.is_empty() {
            payloads.push(String::new());
        }
        for payload in payloads {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(REVOCATION_CHANNEL)
                .bind(payload)
                .execute(&mut *self.writer().await?)
                .await?;
        }
        Ok(())
    }

    /// Opens a dedicated connection listening to [`REVOCATION_CHANNEL`] (PostgreSQL only).
    pub async fn listen_revocations(
        &self,
        connect_timeout: Duration,
    ) -> StoreResult<RevocationListener> {
        if self.engine != Engine::Postgres {
            return Err(StoreError::NotFound(
                "revocation channel (only PostgreSQL has one)".into(),
            ));
        }
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(connect_timeout)
            .connect(&self.url)
            .await?;
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(REVOCATION_CHANNEL).await?;
        Ok(RevocationListener { listener })
    }
}

pub struct RevocationListener {
    listener: PgListener,
}

impl RevocationListener {
    /// The next message's hashes (empty for a heartbeat). `None` when the connection was
    /// lost: messages may have been missed, so the caller must assume anything was revoked.
    /// Malformed entries (not sent by Shopkeeper) are skipped.
    pub async fn next(&mut self) -> StoreResult<Option<Vec<SecretHash>>> {
        let Some(message) = self.listener.try_recv().await? else {
            return Ok(None);
        };
        Ok(Some(parse_payload(message.payload())))
    }
}

fn parse_payload(payload: &str) -> Vec<SecretHash> {
    payload
        .split(',')
        .filter_map(|h| hex::decode(h).ok())
        .filter_map(|b| SecretHash::from_slice(&b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_hashes_and_skips_junk() {
        let a = SecretHash::of("a");
        let b = SecretHash::of("b");
        let payload = format!("{},zz,{}", hex::encode(a.0), hex::encode(b.0));
        assert_eq!(parse_payload(&payload), vec![a, b]);
        assert!(parse_payload("").is_empty());
    }
}
