//! The event outbox: an event is written by [`append_event`] inside the transaction of the
//! change it records, so it exists exactly when the change does. Each site's events are
//! numbered 1, 2, 3 ... without gaps: the number comes from the site's row in
//! `event_sequences`, incremented in the same transaction (a rollback takes it back; on
//! PostgreSQL the row lock makes concurrent writers of one site take numbers in commit order,
//! on SQLite the single writer does).

use super::{Store, StoreResult};
use serde::Serialize;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::events::new_event_id;
use shopkeeper_domain::time::UnixSeconds;
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct EventRecord {
    /// Stable and unique across nodes (a UUIDv7).
    pub id: String,
    #[sqlx(try_from = "String")]
    pub site_id: SiteId,
    /// The site's sequence number: 1, 2, 3 ... without gaps.
    pub seq: i64,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub event_type: String,
    /// JSON.
    pub payload: String,
    pub created_at: i64,
}

/// Appends an event to the outbox inside the caller's transaction; returns its sequence
/// number. Take it last in the transaction: on PostgreSQL the site's counter row stays locked
/// until the commit.
pub(crate) async fn append_event(
    conn: &mut AnyConnection,
    site_id: &SiteId,
    event_type: &str,
    payload: &serde_json::Value,
    at: UnixSeconds,
) -> StoreResult<i64> {
    let (seq,): (i64,) = sqlx::query_as(
        "INSERT INTO event_sequences (site_id, last_seq) VALUES ($1, 1) \
         ON CONFLICT (site_id) DO UPDATE SET last_seq = event_sequences.last_seq + 1 \
         RETURNING last_seq",
    )
    .bind(site_id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO events (id, site_id, seq, type, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_event_id(
        u64::try_from(at).unwrap_or(0).saturating_mul(1000),
    ))
    .bind(site_id.as_str())
    .bind(seq)
    .bind(event_type)
    .bind(payload.to_string())
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(seq)
}

impl Store {
    /// Up to `limit` of the site's events numbered after `after_seq`, in order.
    pub async fn events_after(
        &self,
        site_id: &SiteId,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, site_id, seq, type, payload, created_at FROM events \
             WHERE site_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(site_id.as_str())
        .bind(after_seq)
        .bind(limit.max(0))
        .fetch_all(&self.read)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopkeeper_domain::SessionTtl;

    async fn site(store: &Store, id: &str) -> SiteId {
        let id = SiteId::parse(id).unwrap();
        store
            .create_site(&id, SessionTtl::from_seconds(60).unwrap(), 1_700_000_000)
            .await
            .unwrap();
        id
    }

    /// Appends in a transaction of its own, committed or rolled back.
    async fn append(store: &Store, site_id: &SiteId, commit: bool) -> i64 {
        let mut writer = store.writer().await.unwrap();
        let mut tx = writer.begin().await.unwrap();
        let seq = append_event(&mut tx, site_id, "test.happened", &serde_json::json!({}), 7)
            .await
            .unwrap();
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
        seq
    }

    #[tokio::test]
    async fn each_site_numbers_its_events_without_gaps_and_a_rollback_takes_its_number_back() {
        let (_dir, store) = crate::scratch_store().await;
        let (one_site, two_site) = (site(&store, "one").await, site(&store, "two").await);
        assert_eq!(append(&store, &one_site, true).await, 1);
        assert_eq!(append(&store, &one_site, false).await, 2);
        assert_eq!(append(&store, &one_site, true).await, 2);
        assert_eq!(append(&store, &two_site, true).await, 1);
        let one = store.events_after(&one_site, 0, 10).await.unwrap();
        assert_eq!(one.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(one[0].event_type, "test.happened");
        assert_ne!(one[0].id, one[1].id);
        assert_eq!(store.events_after(&one_site, 1, 10).await.unwrap().len(), 1);
        assert_eq!(store.events_after(&one_site, 0, 1).await.unwrap()[0].seq, 1);
        assert_eq!(store.events_after(&two_site, 0, 10).await.unwrap().len(), 1);
    }
}
