//! Group commit for the hottest write: starting a session with its first token pair (every
//! anonymous, client-credentials and credentialed grant without a session link).
//!
//! Requests queue on a channel; one writer task takes whatever has queued up (at most
//! `MAX_BATCH`), writes all of it with three multi-row INSERTs in one transaction, commits once
//! and only then answers every request. Each answer still means "committed": nothing is
//! acknowledged before the transaction that holds it is durable, but one commit (one fsync on
//! SQLite) serves a whole batch instead of one grant.

use super::{Engine, StoreError, StoreResult};
use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

/// Most sessions one transaction writes; bounded by the engines' bind-parameter limits
/// (SQLite 32766, PostgreSQL 65535) with room to spare: 12 parameters per session row.
const MAX_BATCH: usize = 256;

/// An owned new session + pair, ready to be written by the batch writer.
pub(super) struct PendingSession {
    pub id: String,
    pub site_id: String,
    pub api_key: String,
    pub shopper_id: Option<i64>,
    pub cart_id: String,
    pub session_tag: String,
    pub locale: String,
    pub currency: String,
    pub client_ip: Option<String>,
    pub issued_at: i64,
    pub access_hash: Vec<u8>,
    pub access_expires_at: i64,
    pub refresh_hash: Vec<u8>,
    pub refresh_expires_at: i64,
    pub full_access: i64,
}

struct Job {
    session: PendingSession,
    reply: oneshot::Sender<StoreResult<()>>,
}

#[derive(Clone)]
pub(super) struct SessionWriter {
    jobs: mpsc::Sender<Job>,
}

impl SessionWriter {
    pub fn start(write: AnyPool, engine: Engine) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(write, engine, rx));
        Self { jobs }
    }

    /// Writes the session and its pair; returns once they are committed.
    pub async fn write(&self, session: PendingSession) -> StoreResult<()> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Unavailable(sqlx::Error::PoolClosed);
        self.jobs
            .send(Job { session, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn run(write: AnyPool, engine: Engine, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let result = write_batch(&write, engine, &batch).await;
        for job in batch.drain(..) {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(shared_error(e)),
            };
            let _ = job.reply.send(answer);
        }
    }
}

/// Every job of a failed batch gets the failure; `sqlx::Error` is not `Clone`, so it is
/// restated with the same consequence (503 when the database is unavailable, 500 otherwise).
fn shared_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(_) => StoreError::Unavailable(sqlx::Error::PoolTimedOut),
        other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
    }
}

/// `INSERT INTO table (cols) VALUES ($1, ...), ($k, ...)` for `rows` rows of `width` columns.
/// Only placeholders are generated; no value is ever put into the SQL text.
///
/// SQLite gets anonymous `?` placeholders: binding a numbered one makes sqlx ask SQLite for
/// its name, a linear search of the statement's parameter list, which is quadratic over the
/// thousands of parameters of a full batch (it showed in profiles of the writer thread).
fn multi_row_insert(head: &str, rows: usize, width: usize, engine: Engine) -> String {
    let mut sql = String::with_capacity(head.len() + rows * width * 5);
    sql.push_str(head);
    sql.push_str(" VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 0..width {
            if c > 0 {
                sql.push(',');
            }
            n += 1;
            match engine {
                Engine::Sqlite => sql.push('?'),
                Engine::Postgres => {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

async fn write_batch(write: &AnyPool, engine: Engine, batch: &[Job]) -> StoreResult<()> {
    let rows = batch.len();
    let mut tx = write.begin().await?;

    let sql = multi_row_insert(
        "INSERT INTO shopper_sessions (id, site_id, api_key, shopper_id, cart_id, session_tag, \
         locale, currency, client_ip, created_at, last_accessed, expires_at)",
        rows,
        12,
        engine,
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for Job { session: s, .. } in batch {
        q = q
            .bind(s.id.as_str())
            .bind(s.site_id.as_str())
            .bind(s.api_key.as_str())
            .bind(s.shopper_id)
            .bind(s.cart_id.as_str())
            .bind(s.session_tag.as_str())
            .bind(s.locale.as_str())
            .bind(s.currency.as_str())
            .bind(s.client_ip.as_deref())
            .bind(s.issued_at)
            .bind(s.issued_at)
            .bind(s.refresh_expires_at);
    }
    q.execute(&mut *tx).await?;

    for (table, refresh) in [("access_tokens", false), ("refresh_tokens", true)] {
        let head = if refresh {
            "INSERT INTO refresh_tokens (token_hash, session_id, api_key, full_access, \
             issued_at, expires_at)"
        } else {
            "INSERT INTO access_tokens (token_hash, session_id, api_key, full_access, \
             issued_at, expires_at)"
        };
        debug_assert!(head.contains(table));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(multi_row_insert(head, rows, 6, engine)));
        for Job { session: s, .. } in batch {
            let (hash, expires_at) = if refresh {
                (&s.refresh_hash, s.refresh_expires_at)
            } else {
                (&s.access_hash, s.access_expires_at)
            };
            q = q
                .bind(hash.clone())
                .bind(s.id.as_str())
                .bind(s.api_key.as_str())
                .bind(s.full_access)
                .bind(s.issued_at)
                .bind(expires_at);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Engine, multi_row_insert};

    #[test]
    fn placeholders_are_numbered_across_rows_on_postgres() {
        assert_eq!(
            multi_row_insert("INSERT INTO t (a, b)", 2, 2, Engine::Postgres),
            "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)"
        );
    }

    #[test]
    fn placeholders_are_positional_on_sqlite() {
        assert_eq!(
            multi_row_insert("INSERT INTO t (a, b)", 2, 2, Engine::Sqlite),
            "INSERT INTO t (a, b) VALUES (?,?),(?,?)"
        );
    }
}
