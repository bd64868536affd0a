//! Group commit for the hottest writes: starting a session with its first token pair (every
//! anonymous, client-credentials and credentialed grant without a session link) and rotating a
//! refresh token (the refresh grant).
//!
//! Requests queue on a channel; one writer task takes whatever has queued up (at most
//! `MAX_BATCH`), writes all of it in one transaction (the rotations' checks one by one, every
//! new row with multi-row INSERTs), commits once and only then answers every request. Each
//! answer still means "committed": nothing is acknowledged before the transaction that holds
//! it is durable, but one commit serves a whole batch instead of one grant. A statement that
//! fails fails the whole batch (every request in it gets the error; nothing of it is kept).

use super::tokens::{RefreshOutcome, touch_session};
use super::{Engine, StoreError, StoreResult};
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

/// Most requests one transaction writes; bounded by the engines' bind-parameter limits
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
    pub pair: PendingPair,
}

/// The rows of an access + refresh token issued together.
pub(super) struct PendingPair {
    pub api_key: String,
    pub full_access: i64,
    pub issued_at: i64,
    pub access_hash: Vec<u8>,
    pub access_expires_at: i64,
    pub refresh_hash: Vec<u8>,
    pub refresh_expires_at: i64,
}

/// A refresh token to consume and the successor pair to store if that succeeds.
pub(super) struct PendingRotation {
    pub old_hash: Vec<u8>,
    pub session_id: String,
    /// The successor pair's time-ordered prefix, kept with the consumption so that a replay
    /// inside the grace window derives the same pair.
    pub successor_at_millis: i64,
    pub pair: PendingPair,
}

enum Work {
    Start(PendingSession),
    Rotate(PendingRotation),
}

enum Done {
    Started,
    Rotation(RefreshOutcome),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<StoreResult<Done>>,
}

#[derive(Clone)]
pub(super) struct GroupWriter {
    jobs: mpsc::Sender<Job>,
}

impl GroupWriter {
    pub fn start(write: AnyPool, engine: Engine) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        match engine {
            Engine::Sqlite => writer_runtime().spawn(run(write, engine, rx)),
            Engine::Postgres => tokio::spawn(run(write, engine, rx)),
        };
        Self { jobs }
    }

    async fn submit(&self, work: Work) -> StoreResult<Done> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Unavailable(sqlx::Error::PoolClosed);
        self.jobs
            .send(Job { work, reply })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    /// Writes the session and its pair; returns once they are committed.
    pub async fn start_session(&self, session: PendingSession) -> StoreResult<()> {
        self.submit(Work::Start(session)).await.map(|_| ())
    }

    /// Consumes the refresh token and stores the successor pair (if it was current and its
    /// session is live); returns once committed. Of two rotations of one token exactly one
    /// sees `Rotated`, in a batch as across batches.
    pub async fn rotate(&self, rotation: PendingRotation) -> StoreResult<RefreshOutcome> {
        match self.submit(Work::Rotate(rotation)).await? {
            Done::Rotation(outcome) => Ok(outcome),
            Done::Started => unreachable!("a rotation job is answered with its outcome"),
        }
    }
}

/// The SQLite writer loop runs on a thread of its own. A batch is a handful of round trips to
/// sqlx's connection thread; on the shared runtime each reply waited behind every HTTP task
/// queued on the workers, so the one writer, which all issuance funnels through, sat idle
/// between its statements. One runtime thread per process serves every store's writer
/// (tests run many).
fn writer_runtime() -> &'static tokio::runtime::Handle {
    static HANDLE: std::sync::OnceLock<tokio::runtime::Handle> = std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds");
        let handle = runtime.handle().clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || runtime.block_on(std::future::pending::<()>()))
            .expect("the writer thread starts");
        handle
    })
}

async fn run(write: AnyPool, engine: Engine, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match write_batch(&write, engine, &batch).await {
            Ok(outcomes) => {
                for (job, done) in batch.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(done));
                }
            }
            Err(e) => {
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(shared_error(&e)));
                }
            }
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

async fn write_batch(write: &AnyPool, engine: Engine, batch: &[Job]) -> StoreResult<Vec<Done>> {
    let only_starts = batch.iter().all(|job| matches!(job.work, Work::Start(_)));
    if engine == Engine::Sqlite && only_starts {
        return start_sessions_in_one_statement(write, batch).await;
    }
    let mut tx = write.begin().await?;
    // Rotations first, one by one: each decides whether its pair is written at all.
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        outcomes.push(match &job.work {
            Work::Start(_) => Done::Started,
            Work::Rotate(r) => Done::Rotation(consume(&mut tx, r).await?),
        });
    }

    let sessions: Vec<&PendingSession> = batch
        .iter()
        .filter_map(|job| match &job.work {
            Work::Start(s) => Some(s),
            Work::Rotate(_) => None,
        })
        .collect();
    if !sessions.is_empty() {
        let sql = multi_row_insert(
            "INSERT INTO shopper_sessions (id, site_id, api_key, shopper_id, cart_id, \
             session_tag, locale, currency, client_ip, created_at, last_accessed, expires_at)",
            sessions.len(),
            12,
            engine,
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in &sessions {
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
                .bind(s.pair.issued_at)
                .bind(s.pair.issued_at)
                .bind(s.pair.refresh_expires_at);
        }
        q.execute(&mut *tx).await?;
    }

    // Every pair to store: the new sessions' and the successful rotations'.
    let pairs: Vec<(&str, &PendingPair)> = batch
        .iter()
        .zip(&outcomes)
        .filter_map(|(job, done)| match (&job.work, done) {
            (Work::Start(s), _) => Some((s.id.as_str(), &s.pair)),
            (Work::Rotate(r), Done::Rotation(RefreshOutcome::Rotated)) => {
                Some((r.session_id.as_str(), &r.pair))
            }
            (Work::Rotate(_), _) => None,
        })
        .collect();
    if !pairs.is_empty() {
        for refresh in [false, true] {
            let head = if refresh {
                "INSERT INTO refresh_tokens (token_hash, session_id, api_key, full_access, \
                 issued_at, expires_at)"
            } else {
                "INSERT INTO access_tokens (token_hash, session_id, api_key, full_access, \
                 issued_at, expires_at)"
            };
            let sql = multi_row_insert(head, pairs.len(), 6, engine);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (session_id, p) in &pairs {
                let (hash, expires_at) = if refresh {
                    (&p.refresh_hash, p.refresh_expires_at)
                } else {
                    (&p.access_hash, p.access_expires_at)
                };
                q = q
                    .bind(hash.clone())
                    .bind(*session_id)
                    .bind(p.api_key.as_str())
                    .bind(p.full_access)
                    .bind(p.issued_at)
                    .bind(expires_at);
            }
            q.execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// SQLite, a batch of new sessions only (the usual batch under anonymous and client-credentials
/// load): one multi-row INSERT into the `session_starts` view, whose trigger writes each
/// session with its pair. A single statement is its own transaction, so the batch costs one
/// round trip to the database thread and no statement journal; it is committed (or, on any
/// failure, wholly undone) when the statement returns.
async fn start_sessions_in_one_statement(write: &AnyPool, batch: &[Job]) -> StoreResult<Vec<Done>> {
    let sql = multi_row_insert(
        "INSERT INTO session_starts (session_id, site_id, api_key, shopper_id, cart_id, \
         session_tag, locale, currency, client_ip, full_access, issued_at, access_hash, \
         access_expires_at, refresh_hash, refresh_expires_at)",
        batch.len(),
        15,
        Engine::Sqlite,
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for job in batch {
        let Work::Start(s) = &job.work else {
            unreachable!("only called for batches of new sessions")
        };
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
            .bind(s.pair.full_access)
            .bind(s.pair.issued_at)
            .bind(s.pair.access_hash.as_slice())
            .bind(s.pair.access_expires_at)
            .bind(s.pair.refresh_hash.as_slice())
            .bind(s.pair.refresh_expires_at);
    }
    q.execute(write).await?;
    Ok(batch.iter().map(|_| Done::Started).collect())
}

/// Consumes a refresh token and extends its session, or says why not; inside the batch's
/// transaction. A token whose session has ended stays unconsumed, as if never presented.
async fn consume(
    tx: &mut Transaction<'static, Any>,
    r: &PendingRotation,
) -> StoreResult<RefreshOutcome> {
    let consumed = sqlx::query(
        "UPDATE refresh_tokens SET consumed_at = $1, successor_at_millis = $2 \
         WHERE token_hash = $3 AND consumed_at IS NULL",
    )
    .bind(r.pair.issued_at)
    .bind(r.successor_at_millis)
    .bind(r.old_hash.clone())
    .execute(&mut **tx)
    .await?;
    if consumed.rows_affected() == 0 {
        let row: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT consumed_at, successor_at_millis FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(r.old_hash.clone())
        .fetch_optional(&mut **tx)
        .await?;
        return Ok(match row {
            Some((Some(at), successor_at)) => RefreshOutcome::AlreadyConsumed {
                at,
                successor_at: successor_at.and_then(|ms| u64::try_from(ms).ok()),
            },
            _ => RefreshOutcome::Unknown,
        });
    }
    if !touch_session(
        tx,
        &r.session_id,
        r.pair.issued_at,
        r.pair.refresh_expires_at,
    )
    .await?
    {
        // The session is gone: undo the consumption (alone, it would have rolled back).
        sqlx::query(
            "UPDATE refresh_tokens SET consumed_at = NULL, successor_at_millis = NULL \
             WHERE token_hash = $1",
        )
        .bind(r.old_hash.clone())
        .execute(&mut **tx)
        .await?;
        return Ok(RefreshOutcome::Unknown);
    }
    Ok(RefreshOutcome::Rotated)
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
