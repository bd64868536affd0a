//! Deleting what has expired, counting what is live, and telling whether the schema is current.
//! Each purge function deletes at most `batch` rows in one short transaction, so on SQLite's
//! single writer a purge never holds the write lock for long: requests queue behind one small
//! batch at most.

use super::{Store, StoreError, StoreResult};
use shopkeeper_domain::SecretHash;
use shopkeeper_domain::time::UnixSeconds;
use std::collections::HashSet;

/// Rows one purge pass deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Purged {
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    pub authorization_codes: u64,
    pub sessions: u64,
    /// Dead sessions the database refused to delete, with why (counted, retried next pass).
    pub failed_sessions: Vec<(String, String)>,
    /// Access tokens deleted with their sessions, some possibly not yet expired: the check
    /// cache must drop them.
    pub revoked: Vec<SecretHash>,
}

impl Purged {
    pub fn total(&self) -> u64 {
        self.access_tokens + self.refresh_tokens + self.authorization_codes + self.sessions
    }
}

/// What one batch of [`Store::purge_dead_sessions`] did.
#[derive(Debug, Default)]
pub struct SessionPurge {
    pub deleted: Vec<String>,
    /// Access tokens deleted with the sessions: the check cache must drop them.
    pub revoked: Vec<SecretHash>,
    /// Sessions the database refused to delete, with its reason.
    pub failed: Vec<(String, String)>,
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
const SELECT_EXPIRED_CODES: &str =
    "SELECT code_hash FROM authorization_codes WHERE expires_at <= $1 LIMIT $2";

/// Every table whose rows name a shopper session (besides `access_tokens`, whose hashes the
/// purge returns), children before parents: a dead session goes with all of them, or the
/// foreign keys refuse it. The unit test `every_table_that_references_sessions_is_purged`
/// reads the schema's foreign keys, so a new table cannot be forgotten here.
const SESSION_DEPENDENTS: &[&str] = &[
    "refresh_tokens",
    "session_tokens",
    "browser_sessions",
    "key_cart_handles",
    "checkout_handles",
    "authorization_codes",
    "cart_line_items",
    "cart_offer_triggers",
    "cart_offer_exclusions",
    "carts",
];

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

    /// Deletes up to `batch` expired authorization codes (a replay after expiry is refused as
    /// unknown, so nothing needs them any more).
    pub async fn purge_expired_codes(&self, now: UnixSeconds, batch: i64) -> StoreResult<u64> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM authorization_codes WHERE code_hash IN ({SELECT_EXPIRED_CODES})"
        )))
        .bind(now)
        .bind(batch)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes up to `batch` ended or expired sessions (other than those in `skip`) with every
    /// row that hangs off them. The batch goes in one transaction; if the database refuses
    /// it (a row something unexpected still references), each session is retried in a
    /// transaction of its own, so one bad row cannot stop the rest: the ones still refused
    /// are returned in `failed` for the caller to count and skip for the rest of its pass.
    pub async fn purge_dead_sessions(
        &self,
        now: UnixSeconds,
        batch: i64,
        skip: &HashSet<String>,
    ) -> StoreResult<SessionPurge> {
        let limit = batch.saturating_add(i64::try_from(skip.len()).unwrap_or(i64::MAX));
        let ids: Vec<String> = sqlx::query_as::<_, (String,)>(SELECT_DEAD_SESSIONS)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .filter(|id| !skip.contains(id))
            .take(usize::try_from(batch).unwrap_or(usize::MAX))
            .collect();
        let mut purge = SessionPurge::default();
        match self.delete_sessions(now, &ids).await {
            Ok(revoked) => {
                purge.deleted = ids;
                purge.revoked = revoked;
            }
            Err(StoreError::Database(e)) if ids.len() > 1 => {
                tracing::debug!(error = %e, "clean-up batch refused; deleting one by one");
                for id in ids {
                    match self.delete_sessions(now, std::slice::from_ref(&id)).await {
                        Ok(revoked) => {
                            purge.revoked.extend(revoked);
                            purge.deleted.push(id);
                        }
                        Err(StoreError::Database(e)) => purge.failed.push((id, e.to_string())),
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(StoreError::Database(e)) => {
                purge.failed = ids.into_iter().map(|id| (id, e.to_string())).collect();
            }
            Err(e) => return Err(e),
        }
        for id in &purge.deleted {
            self.snapshots.forget(id);
        }
        Ok(purge)
    }

    /// One transaction: for each session still dead at `now` (checked again inside it), its
    /// dependents, children first, then the session.
    async fn delete_sessions(
        &self,
        now: UnixSeconds,
        ids: &[String],
    ) -> StoreResult<Vec<SecretHash>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let mut revoked = Vec::new();
        for id in ids {
            let dead: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM shopper_sessions WHERE id = $1 \
                 AND (expires_at <= $2 OR ended_at <= $2)",
            )
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            if dead.is_none() {
                continue;
            }
            let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
                "DELETE FROM access_tokens WHERE session_id = $1 RETURNING token_hash",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            revoked.extend(hashes(rows));
            for table in SESSION_DEPENDENTS {
                // Table names are this file's constants, not input.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE session_id = $1"
                )))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM shopper_sessions WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(revoked)
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
            (SELECT_EXPIRED_CODES, "authorization_codes"),
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

    /// A table added later with a foreign key to `shopper_sessions` would make every purge of
    /// a session that has such a row fail: the purge's list must name every one.
    #[tokio::test]
    async fn every_table_that_references_sessions_is_purged() {
        let (_dir, store) = super::super::scratch_store().await;
        let referencing: Vec<(String,)> = sqlx::query_as(
            "SELECT m.name FROM sqlite_master m, pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table' AND f.\"table\" = 'shopper_sessions' ORDER BY m.name",
        )
        .fetch_all(&store.read)
        .await
        .unwrap();
        let mut referencing: Vec<String> = referencing.into_iter().map(|(t,)| t).collect();
        referencing.sort();
        let mut purged: Vec<String> = SESSION_DEPENDENTS
            .iter()
            .chain(&["access_tokens"])
            .map(|t| (*t).to_owned())
            .collect();
        purged.sort();
        assert_eq!(referencing, purged);
    }
}
