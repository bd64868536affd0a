//! Deleting what has expired, counting what is live, and telling whether the schema is current.
//! Each purge function deletes at most `batch` rows in one short transaction, so on SQLite's
//! single writer a purge never holds the write lock for long: requests queue behind one small
//! batch at most.

use super::{Store, StoreResult};
use crate::domain::SecretHash;
use crate::domain::time::UnixSeconds;

/// Rows one purge pass deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Purged {
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    pub sessions: u64,
    /// Access tokens deleted with their sessions, some possibly not yet expired: the check
    /// cache must drop them.
    pub revoked: Vec<SecretHash>,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.access_tokens + self.refresh_tokens + self.sessions
    }
}

/// Row counts of the token tables (for tests and operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableCounts {
    pub sessions: i64,
    pub access_tokens: i64,
    pub refresh_tokens: i64,
    pub session_tokens: i64,
}

// The clean-up pass's searches. Each is an index search (tested: `purge_queries_search_indexes`),
// never a scan: they run under the write turn, so a scan of a large table would stall every
// write while it lasts.
const SELECT_EXPIRED_ACCESS_TOKENS: &str =
    "SELECT token_hash FROM access_tokens WHERE expires_at <= $1 LIMIT $2";
const SELECT_SPENT_REFRESH_TOKENS: &str = "SELECT token_hash FROM refresh_tokens \
     WHERE expires_at <= $1 OR consumed_at <= $2 LIMIT $3";
/// `ended_at <= now` rather than `IS NOT NULL`: the same rows (a session ends at the time of
/// its ending), but a comparison the planner can answer from the partial `ended_at` index.
const SELECT_DEAD_SESSIONS: &str =
    "SELECT id FROM shopper_sessions WHERE expires_at <= $1 OR ended_at <= $1 LIMIT $2";

fn hashes(rows: Vec<(Vec<u8>,)>) -> Vec<SecretHash> {
    rows.into_iter()
        .filter_map(|(b,)| SecretHash::from_slice(&b))
        .collect()
}

impl Store {
    /// Deletes up to `batch` expired access tokens.
    pub async fn purge_expired_access_tokens(
        &self,
        now: UnixSeconds,
        batch: i64,
    ) -> StoreResult<u64> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM access_tokens WHERE token_hash IN ({SELECT_EXPIRED_ACCESS_TOKENS})"
        )))
        .bind(now)
        .bind(batch)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes up to `batch` refresh tokens that expired, or were consumed at or before
    /// `consumed_before` (after which a replay is simply unknown rather than detected).
    pub async fn purge_spent_refresh_tokens(
        &self,
        now: UnixSeconds,
        consumed_before: UnixSeconds,
        batch: i64,
    ) -> StoreResult<u64> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM refresh_tokens WHERE token_hash IN ({SELECT_SPENT_REFRESH_TOKENS})"
        )))
        .bind(now)
        .bind(consumed_before)
        .bind(batch)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes up to `batch` ended or expired sessions with every token still linked to them;
    /// returns how many sessions went and the access tokens deleted with them.
    pub async fn purge_dead_sessions(
        &self,
        now: UnixSeconds,
        batch: i64,
    ) -> StoreResult<(u64, Vec<SecretHash>)> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        // Ids first, then per id: the set cannot shift under a concurrent end_session
        // between statements.
        let ids: Vec<(String,)> = sqlx::query_as(SELECT_DEAD_SESSIONS)
            .bind(now)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
        let mut revoked = Vec::new();
        for (id,) in &ids {
            let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
                "DELETE FROM access_tokens WHERE session_id = $1 RETURNING token_hash",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            revoked.extend(hashes(rows));
            sqlx::query("DELETE FROM refresh_tokens WHERE session_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM session_tokens WHERE session_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // The session's cart (issue 5) goes with it; its orders stay (no FK).
            sqlx::query("DELETE FROM cart_line_items WHERE session_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM carts WHERE session_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM shopper_sessions WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        for (id,) in &ids {
            self.snapshots.forget(id);
        }
        Ok((ids.len() as u64, revoked))
    }

    pub async fn table_counts(&self) -> StoreResult<TableCounts> {
        let (sessions, access_tokens, refresh_tokens, session_tokens): (i64, i64, i64, i64) =
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM shopper_sessions), \
                 (SELECT COUNT(*) FROM access_tokens), \
                 (SELECT COUNT(*) FROM refresh_tokens), \
                 (SELECT COUNT(*) FROM session_tokens)",
            )
            .fetch_one(&self.read)
            .await?;
        Ok(TableCounts {
            sessions,
            access_tokens,
            refresh_tokens,
            session_tokens,
        })
    }

    /// Sessions neither ended nor expired (the `live sessions` gauge).
    pub async fn live_sessions(&self, now: UnixSeconds) -> StoreResult<i64> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM shopper_sessions WHERE ended_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .fetch_one(&self.read)
        .await?;
        Ok(n)
    }

    /// How many of this binary's migrations the database has not applied successfully
    /// (0 when the schema is current; readiness requires it).
    pub async fn pending_migrations(&self) -> StoreResult<usize> {
        let known = super::migrator(self.engine).migrations.len();
        let (applied,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.read)
                .await?;
        Ok(known.saturating_sub(usize::try_from(applied).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clean-up pass's searches run under the write turn: on a large table a full scan
    /// would stall every write for as long as it takes, so each must be an index search.
    #[tokio::test]
    async fn purge_queries_search_indexes() {
        let (_dir, store) = super::super::scratch_store().await;
        for (query, table) in [
            (SELECT_EXPIRED_ACCESS_TOKENS, "access_tokens"),
            (SELECT_SPENT_REFRESH_TOKENS, "refresh_tokens"),
            (SELECT_DEAD_SESSIONS, "shopper_sessions"),
        ] {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {query}")))
                    .bind(1_i64)
                    .bind(2_i64)
                    .bind(3_i64)
                    .fetch_all(&store.read)
                    .await
                    .unwrap();
            let steps: Vec<&str> = plan.iter().map(|(_, _, _, step)| step.as_str()).collect();
            assert!(
                steps
                    .iter()
                    .any(|s| s.starts_with(&format!("SEARCH {table} USING INDEX")))
                    && !steps.iter().any(|s| s.starts_with("SCAN")),
                "{query}: {steps:?}"
            );
        }
    }
}
