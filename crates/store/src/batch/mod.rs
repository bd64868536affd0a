//! Group commit for the hottest writes: starting a session with its first token pair (every
//! anonymous, client-credentials and credentialed grant without a session link) and rotating a
//! refresh token (the refresh grant).
//!
//! Requests queue on a channel; one writer task takes whatever has queued up (at most
//! `MAX_BATCH`), writes all of it in one transaction (the rotations' checks one by one, in
//! batch order), commits once and only then answers every request. On SQLite the writer calls
//! SQLite directly on a connection of its own (`sqlite.rs`); on PostgreSQL it sends multi-row
//! statements through sqlx. Each answer still means "committed": nothing is acknowledged
//! before the transaction that holds it is durable, but one commit serves a whole batch
//! instead of one grant. A statement that fails fails the whole batch (every request in it
//! gets the error; nothing of it is kept).

mod sqlite;

use super::{StoreError, StoreResult};
use crate::rotation::{
    CONSUME_REFRESH_TOKEN, READ_REFRESH_CONSUMPTION, RefreshOutcome, Rotation, RotationStatements,
    TOUCH_SESSION, UNDO_REFRESH_CONSUMPTION,
};
pub(super) use sqlite::DirectWriter;
use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

/// Most requests one transaction writes. On PostgreSQL a batch of new sessions is one
/// statement, so this is bounded by its bind-parameter limit (65535) with room to spare: 24
/// parameters per new session (its row and its pair's).
const MAX_BATCH: usize = 256;

const INSERT_SESSIONS: &str = "INSERT INTO shopper_sessions (id, site_id, api_key, shopper_id, \
     cart_id, session_tag, locale, currency, client_ip, created_at, last_accessed, expires_at)";
const SESSION_COLUMNS: usize = 12;
const INSERT_ACCESS_TOKENS: &str = "INSERT INTO access_tokens (token_hash, session_id, api_key, \
     full_access, issued_at, expires_at)";
const INSERT_REFRESH_TOKENS: &str = "INSERT INTO refresh_tokens (token_hash, session_id, \
     api_key, full_access, issued_at, expires_at)";
const TOKEN_COLUMNS: usize = 6;

type BatchQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// Binds a new session's row, in [`INSERT_SESSIONS`]'s column order.
fn bind_session<'q>(q: BatchQuery<'q>, s: &PendingSession) -> BatchQuery<'q> {
    q.bind(s.id.clone())
        .bind(s.site_id.clone())
        .bind(s.api_key.clone())
        .bind(s.shopper_id)
        .bind(s.cart_id.clone())
        .bind(s.session_tag.clone())
        .bind(s.locale.clone())
        .bind(s.currency.clone())
        .bind(s.client_ip.clone())
        .bind(s.pair.issued_at)
        .bind(s.pair.issued_at)
        .bind(s.pair.refresh_expires_at)
}

/// Binds the access (or refresh) token row of a pair, in [`INSERT_ACCESS_TOKENS`]'s (or
/// [`INSERT_REFRESH_TOKENS`]'s) column order.
fn bind_token<'q>(
    q: BatchQuery<'q>,
    session_id: &str,
    p: &PendingPair,
    refresh: bool,
) -> BatchQuery<'q> {
    let (hash, expires_at) = if refresh {
        (&p.refresh_hash, p.refresh_expires_at)
    } else {
        (&p.access_hash, p.access_expires_at)
    };
    q.bind(hash.clone())
        .bind(session_id.to_owned())
        .bind(p.api_key.clone())
        .bind(p.full_access)
        .bind(p.issued_at)
        .bind(expires_at)
}

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
    /// Starts the writer: on SQLite's own connection when `direct` is given, else (PostgreSQL)
    /// through the `write` pool.
    pub fn start(write: AnyPool, direct: Option<DirectWriter>) -> Self {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        match direct {
            Some(direct) => writer_runtime().spawn(run_direct(direct, rx)),
            None => tokio::spawn(run_through_sqlx(write, rx)),
        };
        Self { jobs }
    }

    async fn submit(&self, work: Work) -> StoreResult<Done> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Unavailable(Box::new(sqlx::Error::PoolClosed));
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

/// The SQLite writer loop runs on a thread of its own: its SQLite calls block, and on the shared
/// runtime the one writer, which all issuance funnels through, would wait behind every HTTP
/// task queued on the workers. One runtime thread per process serves every store's writer
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

async fn run_direct(mut direct: DirectWriter, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let written = direct.write(&batch).await;
        answer(&mut batch, written);
    }
}

async fn run_through_sqlx(write: AnyPool, mut rx: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let written = write_batch(&write, &batch).await;
        answer(&mut batch, written);
    }
}

/// The new sessions of a batch, in batch order.
fn new_sessions(batch: &[Job]) -> Vec<&PendingSession> {
    batch
        .iter()
        .filter_map(|job| match &job.work {
            Work::Start(s) => Some(s),
            Work::Rotate(_) => None,
        })
        .collect()
}

/// Answers every job of a written (or failed) batch and empties it.
fn answer(batch: &mut Vec<Job>, written: StoreResult<Vec<Done>>) {
    match written {
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

/// Every job of a failed batch gets the failure; the database errors are not `Clone`, so it is
/// restated with the same consequence (503 when the database is unavailable, 500 otherwise).
fn shared_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(e) => StoreError::Unavailable(e.to_string().into()),
        StoreError::Conflict(what) => StoreError::Conflict(what.clone()),
        StoreError::NotFound(what) => StoreError::NotFound(what.clone()),
        StoreError::Database(e) => StoreError::Database(e.to_string().into()),
    }
}

/// `INSERT INTO table (cols) VALUES ($1, ...), ($k, ...)` for `rows` rows of `width` columns.
/// Only placeholders are generated; no value is ever put into the SQL text.
fn multi_row_insert(head: &str, rows: usize, width: usize) -> String {
    format!("{head} {}", values_list_after(0, rows, width))
}

/// `VALUES ($k, ...), ...`: placeholders only, as for [`multi_row_insert`], numbered from
/// `$preceding + 1` (for a statement with several lists).
fn values_list_after(preceding: usize, rows: usize, width: usize) -> String {
    let mut sql = String::with_capacity(8 + rows * width * 5);
    sql.push_str("VALUES ");
    let mut n = preceding;
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
            sql.push('$');
            sql.push_str(&n.to_string());
        }
        sql.push(')');
    }
    sql
}

/// PostgreSQL: writes a batch in one transaction, rotations first (each decides whether its
/// pair is written at all), then the new sessions and every pair with multi-row INSERTs.
async fn write_batch(write: &AnyPool, batch: &[Job]) -> StoreResult<Vec<Done>> {
    if batch.iter().all(|job| matches!(job.work, Work::Start(_))) {
        return start_sessions_in_one_postgres_statement(write, batch).await;
    }
    let mut tx = write.begin().await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        outcomes.push(match &job.work {
            Work::Start(_) => Done::Started,
            Work::Rotate(r) => Done::Rotation(crate::rotation::rotate(&mut tx, &r.rule()).await?),
        });
    }

    let sessions = new_sessions(batch);
    if !sessions.is_empty() {
        let sql = multi_row_insert(INSERT_SESSIONS, sessions.len(), SESSION_COLUMNS);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for s in &sessions {
            q = bind_session(q, s);
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
                INSERT_REFRESH_TOKENS
            } else {
                INSERT_ACCESS_TOKENS
            };
            let sql = multi_row_insert(head, pairs.len(), TOKEN_COLUMNS);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (session_id, p) in &pairs {
                q = bind_token(q, session_id, p, refresh);
            }
            q.execute(&mut *tx).await?;
        }
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// PostgreSQL, a batch of new sessions only: the three multi-row INSERTs as one statement
/// (data-modifying `WITH`), so the batch is one round trip to the server instead of five
/// (BEGIN, three INSERTs, COMMIT), and one implicit transaction: committed, or wholly undone,
/// when the statement returns. The tokens' foreign keys to the new sessions are checked at the
/// end of the statement, when the sessions are there.
async fn start_sessions_in_one_postgres_statement(
    write: &AnyPool,
    batch: &[Job],
) -> StoreResult<Vec<Done>> {
    let rows = batch.len();
    let sql = format!(
        "WITH sessions AS ({INSERT_SESSIONS} {}), access AS ({INSERT_ACCESS_TOKENS} {}) \
         {INSERT_REFRESH_TOKENS} {}",
        values_list_after(0, rows, SESSION_COLUMNS),
        values_list_after(SESSION_COLUMNS * rows, rows, TOKEN_COLUMNS),
        values_list_after(
            (SESSION_COLUMNS + TOKEN_COLUMNS) * rows,
            rows,
            TOKEN_COLUMNS
        ),
    );
    let sessions: Vec<&PendingSession> = batch
        .iter()
        .map(|job| match &job.work {
            Work::Start(s) => s,
            Work::Rotate(_) => unreachable!("only called for batches of new sessions"),
        })
        .collect();
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for s in &sessions {
        q = bind_session(q, s);
    }
    for refresh in [false, true] {
        for s in &sessions {
            q = bind_token(q, &s.id, &s.pair, refresh);
        }
    }
    q.execute(write).await?;
    Ok(batch.iter().map(|_| Done::Started).collect())
}

impl PendingRotation {
    pub(crate) fn rule(&self) -> Rotation<'_> {
        Rotation {
            old_hash: &self.old_hash,
            session_id: &self.session_id,
            issued_at: self.pair.issued_at,
            refresh_expires_at: self.pair.refresh_expires_at,
            successor_at_millis: self.successor_at_millis,
        }
    }
}

/// The rotation's statements through sqlx, in the batch's transaction.
impl RotationStatements for Transaction<'_, Any> {
    async fn consume(&mut self, r: &Rotation<'_>) -> StoreResult<u64> {
        let consume = sqlx::query(CONSUME_REFRESH_TOKEN).bind(r.issued_at);
        let consume = consume
            .bind(r.successor_at_millis)
            .bind(r.old_hash.to_vec());
        Ok(consume.execute(&mut **self).await?.rows_affected())
    }

    async fn read_consumption(
        &mut self,
        r: &Rotation<'_>,
    ) -> StoreResult<Option<(Option<i64>, Option<i64>)>> {
        Ok(sqlx::query_as(READ_REFRESH_CONSUMPTION)
            .bind(r.old_hash.to_vec())
            .fetch_optional(&mut **self)
            .await?)
    }

    async fn touch_session(&mut self, r: &Rotation<'_>) -> StoreResult<u64> {
        let touch = sqlx::query(TOUCH_SESSION).bind(r.issued_at);
        let touch = touch
            .bind(r.refresh_expires_at)
            .bind(r.session_id.to_owned());
        Ok(touch.execute(&mut **self).await?.rows_affected())
    }

    async fn undo_consumption(&mut self, r: &Rotation<'_>) -> StoreResult<()> {
        sqlx::query(UNDO_REFRESH_CONSUMPTION)
            .bind(r.old_hash.to_vec())
            .execute(&mut **self)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{multi_row_insert, values_list_after};

    #[test]
    fn placeholders_are_numbered_across_rows() {
        assert_eq!(
            multi_row_insert("INSERT INTO t (a, b)", 2, 2),
            "INSERT INTO t (a, b) VALUES ($1,$2),($3,$4)"
        );
    }

    #[test]
    fn later_lists_continue_the_numbering() {
        assert_eq!(values_list_after(4, 2, 1), "VALUES ($5),($6)");
    }
}
