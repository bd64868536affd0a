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
use std::collections::{HashMap, HashSet};
use tokio::sync::{mpsc, oneshot};

/// Most requests one transaction writes; bounded by the engines' bind-parameter limits
/// (SQLite 32766, PostgreSQL 65535) with room to spare: at most 24 parameters per new
/// session (its row and its pair's).
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

/// Binds a new session's own fields: the first nine columns of [`INSERT_SESSIONS`] and of the
/// SQLite `session_starts` view.
fn bind_session_fields<'q>(q: BatchQuery<'q>, s: &PendingSession) -> BatchQuery<'q> {
    q.bind(s.id.clone())
        .bind(s.site_id.clone())
        .bind(s.api_key.clone())
        .bind(s.shopper_id)
        .bind(s.cart_id.clone())
        .bind(s.session_tag.clone())
        .bind(s.locale.clone())
        .bind(s.currency.clone())
        .bind(s.client_ip.clone())
}

/// Binds a new session's row, in [`INSERT_SESSIONS`]'s column order.
fn bind_session<'q>(q: BatchQuery<'q>, s: &PendingSession) -> BatchQuery<'q> {
    bind_session_fields(q, s)
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
    format!("{head} {}", values_list(rows, width, engine))
}

/// `VALUES ($1, ...), ($k, ...)`: placeholders only, as for [`multi_row_insert`].
fn values_list(rows: usize, width: usize, engine: Engine) -> String {
    values_list_after(0, rows, width, engine)
}

/// [`values_list`] whose PostgreSQL placeholders start after `$preceding` (for a statement
/// with several lists).
fn values_list_after(preceding: usize, rows: usize, width: usize, engine: Engine) -> String {
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
    if only_starts {
        return match engine {
            Engine::Sqlite => start_sessions_in_one_sqlite_statement(write, batch).await,
            Engine::Postgres => start_sessions_in_one_postgres_statement(write, batch).await,
        };
    }
    let mut tx = write.begin().await?;
    // Rotations first: each decides whether its pair is written at all.
    let rotations: Vec<&PendingRotation> = batch
        .iter()
        .filter_map(|job| match &job.work {
            Work::Rotate(r) => Some(r),
            Work::Start(_) => None,
        })
        .collect();
    let mut rotated = Vec::with_capacity(rotations.len());
    match engine {
        Engine::Sqlite if !rotations.is_empty() => {
            rotated = consume_together(&mut tx, &rotations).await?;
        }
        _ => {
            for r in &rotations {
                rotated.push(consume(&mut tx, r).await?);
            }
        }
    }
    let mut rotated = rotated.into_iter();
    let outcomes: Vec<Done> = batch
        .iter()
        .map(|job| match &job.work {
            Work::Start(_) => Done::Started,
            Work::Rotate(_) => Done::Rotation(rotated.next().expect("one outcome per rotation")),
        })
        .collect();

    let sessions: Vec<&PendingSession> = batch
        .iter()
        .filter_map(|job| match &job.work {
            Work::Start(s) => Some(s),
            Work::Rotate(_) => None,
        })
        .collect();
    if !sessions.is_empty() {
        let sql = multi_row_insert(INSERT_SESSIONS, sessions.len(), SESSION_COLUMNS, engine);
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
            let sql = multi_row_insert(head, pairs.len(), TOKEN_COLUMNS, engine);
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

/// SQLite, a batch of new sessions only (the usual batch under anonymous and client-credentials
/// load): one multi-row INSERT into the `session_starts` view, whose trigger writes each
/// session with its pair. A single statement is its own transaction, so the batch costs one
/// round trip to the database thread and no statement journal; it is committed (or, on any
/// failure, wholly undone) when the statement returns.
async fn start_sessions_in_one_sqlite_statement(
    write: &AnyPool,
    batch: &[Job],
) -> StoreResult<Vec<Done>> {
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
        q = bind_session_fields(q, s)
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

/// SQLite: decides all of a batch's rotations together, in a fixed handful of statements
/// however many there are (one by one, each cost two or three round trips to sqlx's database
/// thread, and the refresh grant waited on all of them). The outcomes are those of [`consume`]
/// run on each rotation in batch order:
/// 1. every presented token still unconsumed is consumed (`UPDATE ... FROM (VALUES ...)`);
/// 2. the sessions of those are extended where still live;
/// 3. consumptions whose session has ended are undone (such a token stays as if never
///    presented), and the tokens that were not consumed are read to say why.
///
/// A token presented twice in one batch is decided by its first presentation; the later ones
/// get what a request right after it would: `AlreadyConsumed` by that rotation, or the same
/// refusal.
async fn consume_together(
    tx: &mut Transaction<'static, Any>,
    rotations: &[&PendingRotation],
) -> StoreResult<Vec<RefreshOutcome>> {
    let mut first_presentation: HashMap<&[u8], usize> = HashMap::new();
    let mut unique: Vec<&PendingRotation> = Vec::with_capacity(rotations.len());
    for (i, r) in rotations.iter().enumerate() {
        first_presentation
            .entry(r.old_hash.as_slice())
            .or_insert_with(|| {
                unique.push(r);
                i
            });
    }

    let sql = format!(
        "UPDATE refresh_tokens SET consumed_at = v.at, successor_at_millis = v.successor \
         FROM (SELECT column1 AS hash, column2 AS at, column3 AS successor FROM ({})) AS v \
         WHERE refresh_tokens.token_hash = v.hash AND refresh_tokens.consumed_at IS NULL \
         RETURNING refresh_tokens.token_hash",
        values_list(unique.len(), 3, Engine::Sqlite)
    );
    let mut q = sqlx::query_as::<_, (Vec<u8>,)>(sqlx::AssertSqlSafe(sql));
    for r in &unique {
        q = q
            .bind(r.old_hash.as_slice())
            .bind(r.pair.issued_at)
            .bind(r.successor_at_millis);
    }
    let consumed: HashSet<Vec<u8>> = q
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(|(h,)| h)
        .collect();

    let to_touch: Vec<&PendingRotation> = unique
        .iter()
        .copied()
        .filter(|r| consumed.contains(&r.old_hash))
        .collect();
    let mut touched: HashSet<String> = HashSet::new();
    if !to_touch.is_empty() {
        let sql = format!(
            "UPDATE shopper_sessions SET last_accessed = v.at, expires_at = v.expires \
             FROM (SELECT column1 AS id, column2 AS at, column3 AS expires FROM ({})) AS v \
             WHERE shopper_sessions.id = v.id AND shopper_sessions.ended_at IS NULL \
             AND shopper_sessions.expires_at > v.at RETURNING shopper_sessions.id",
            values_list(to_touch.len(), 3, Engine::Sqlite)
        );
        let mut q = sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql));
        for r in &to_touch {
            q = q
                .bind(r.session_id.as_str())
                .bind(r.pair.issued_at)
                .bind(r.pair.refresh_expires_at);
        }
        touched = q
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
    }

    // Consumed, but the session has ended: undo (alone, the rotation would have rolled back).
    let orphaned: Vec<&PendingRotation> = to_touch
        .iter()
        .copied()
        .filter(|r| !touched.contains(&r.session_id))
        .collect();
    if !orphaned.is_empty() {
        let sql = format!(
            "UPDATE refresh_tokens SET consumed_at = NULL, successor_at_millis = NULL \
             WHERE token_hash IN (SELECT column1 FROM ({}))",
            values_list(orphaned.len(), 1, Engine::Sqlite)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in &orphaned {
            q = q.bind(r.old_hash.as_slice());
        }
        q.execute(&mut **tx).await?;
    }

    // Not consumed now: consumed before, or unknown.
    let refused: Vec<&PendingRotation> = unique
        .iter()
        .copied()
        .filter(|r| !consumed.contains(&r.old_hash))
        .collect();
    let mut earlier: HashMap<Vec<u8>, (Option<i64>, Option<i64>)> = HashMap::new();
    if !refused.is_empty() {
        let sql = format!(
            "SELECT token_hash, consumed_at, successor_at_millis FROM refresh_tokens \
             WHERE token_hash IN (SELECT column1 FROM ({}))",
            values_list(refused.len(), 1, Engine::Sqlite)
        );
        let mut q =
            sqlx::query_as::<_, (Vec<u8>, Option<i64>, Option<i64>)>(sqlx::AssertSqlSafe(sql));
        for r in &refused {
            q = q.bind(r.old_hash.as_slice());
        }
        earlier = q
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .map(|(h, at, successor)| (h, (at, successor)))
            .collect();
    }

    let decide = |r: &PendingRotation| -> RefreshOutcome {
        if consumed.contains(&r.old_hash) {
            if touched.contains(&r.session_id) {
                RefreshOutcome::Rotated
            } else {
                RefreshOutcome::Unknown
            }
        } else {
            refusal(earlier.get(&r.old_hash).copied())
        }
    };
    Ok(rotations
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let first = first_presentation[r.old_hash.as_slice()];
            let decided = decide(rotations[first]);
            if first == i {
                return decided;
            }
            match decided {
                RefreshOutcome::Rotated => RefreshOutcome::AlreadyConsumed {
                    at: rotations[first].pair.issued_at,
                    successor_at: u64::try_from(rotations[first].successor_at_millis).ok(),
                },
                refused => refused,
            }
        })
        .collect())
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
        values_list_after(0, rows, SESSION_COLUMNS, Engine::Postgres),
        values_list_after(
            SESSION_COLUMNS * rows,
            rows,
            TOKEN_COLUMNS,
            Engine::Postgres
        ),
        values_list_after(
            (SESSION_COLUMNS + TOKEN_COLUMNS) * rows,
            rows,
            TOKEN_COLUMNS,
            Engine::Postgres
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

/// Why a presented refresh token was not consumed, from its row (`consumed_at`,
/// `successor_at_millis`), or `None` when there is no such token.
fn refusal(row: Option<(Option<i64>, Option<i64>)>) -> RefreshOutcome {
    match row {
        Some((Some(at), successor_at)) => RefreshOutcome::AlreadyConsumed {
            at,
            successor_at: successor_at.and_then(|ms| u64::try_from(ms).ok()),
        },
        _ => RefreshOutcome::Unknown,
    }
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
        return Ok(refusal(row));
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
    fn later_lists_continue_the_numbering_on_postgres() {
        assert_eq!(
            super::values_list_after(4, 2, 1, Engine::Postgres),
            "VALUES ($5),($6)"
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

/// The set-based rotation (SQLite) decides exactly what one-by-one rotation does, on a batch
/// with every case in it: a token presented twice, a token consumed earlier, an unknown one,
/// one whose session has ended meanwhile, and two tokens of one session.
#[cfg(test)]
mod set_based_rotation {
    use super::*;
    use crate::config::DatabaseSettings;
    use crate::domain::time::now;
    use crate::domain::{SecretHash, SessionTtl, SiteId};
    use crate::store::{NewSession, NewTokenPair, Store};

    fn pair(api_key: &str, access: u8, refresh: u8, at: i64) -> PendingPair {
        PendingPair {
            api_key: api_key.to_owned(),
            full_access: 0,
            issued_at: at,
            access_hash: vec![access; 32],
            access_expires_at: at + 3600,
            refresh_hash: vec![refresh; 32],
            refresh_expires_at: at + 86_400,
        }
    }

    async fn state(tx: &mut Transaction<'static, Any>) -> Vec<String> {
        let tokens: Vec<(Vec<u8>, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT token_hash, consumed_at, successor_at_millis FROM refresh_tokens \
             ORDER BY token_hash",
        )
        .fetch_all(&mut **tx)
        .await
        .unwrap();
        let sessions: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT id, last_accessed, expires_at FROM shopper_sessions ORDER BY id",
        )
        .fetch_all(&mut **tx)
        .await
        .unwrap();
        tokens
            .iter()
            .map(|t| format!("{t:?}"))
            .chain(sessions.iter().map(|s| format!("{s:?}")))
            .collect()
    }

    #[tokio::test]
    async fn decides_what_one_by_one_rotation_decides() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = Store::connect(&DatabaseSettings::new(url)).await.unwrap();
        let site = SiteId::parse("site").unwrap();
        store.create_site(&site, SessionTtl::DEFAULT).await.unwrap();
        let at = now();
        let mut sessions = Vec::new();
        // Sessions 1..=4 with refresh tokens [10+n; 32]; session 2 gets a second one below.
        for n in 1..=4u8 {
            let id = store
                .start_session(
                    NewSession {
                        site_id: "site",
                        api_key: "key",
                        shopper_id: None,
                        locale: "en_US",
                        currency: "USD",
                        client_ip: None,
                    },
                    &NewTokenPair {
                        access_hash: SecretHash([n; 32]),
                        refresh_hash: SecretHash([10 + n; 32]),
                        api_key: "key",
                        full_access: false,
                        issued_at: at - 10,
                        access_expires_at: at + 3600,
                        refresh_expires_at: at + 86_400,
                    },
                )
                .await
                .unwrap();
            sessions.push(id);
        }
        let rotation = |old: u8, session: usize, new: u8, successor: i64| PendingRotation {
            old_hash: vec![old; 32],
            session_id: sessions[session - 1].clone(),
            successor_at_millis: successor,
            pair: pair("key", new, new + 100, at),
        };
        // Token 13 was consumed by an earlier rotation; session 2 also holds token 20.
        let mut tx = store.write.begin().await.unwrap();
        consume(&mut tx, &rotation(13, 3, 30, 7)).await.unwrap();
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, api_key, full_access, \
             issued_at, expires_at) VALUES ($1, $2, 'key', 0, $3, $4)",
        )
        .bind(vec![20u8; 32])
        .bind(sessions[1].as_str())
        .bind(at - 10)
        .bind(at + 86_400)
        .execute(&mut *tx)
        .await
        .unwrap();
        // Session 4 has ended, its refresh token still there.
        sqlx::query("UPDATE shopper_sessions SET ended_at = $1 WHERE id = $2")
            .bind(at)
            .bind(sessions[3].as_str())
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let batch = [
            rotation(11, 1, 40, 1_000),
            rotation(11, 1, 41, 1_001),
            rotation(12, 2, 42, 1_002),
            rotation(13, 3, 43, 1_003),
            rotation(14, 4, 44, 1_004),
            rotation(99, 1, 45, 1_005),
            rotation(20, 2, 46, 1_006),
            rotation(12, 2, 47, 1_007),
        ];
        let rotations: Vec<&PendingRotation> = batch.iter().collect();

        let mut one_by_one = store.write.begin().await.unwrap();
        let mut expected = Vec::new();
        for r in &rotations {
            expected.push(consume(&mut one_by_one, r).await.unwrap());
        }
        let expected_state = state(&mut one_by_one).await;
        one_by_one.rollback().await.unwrap();

        let mut together = store.write.begin().await.unwrap();
        let outcomes = consume_together(&mut together, &rotations).await.unwrap();
        let together_state = state(&mut together).await;
        together.rollback().await.unwrap();

        assert_eq!(outcomes, expected);
        assert_eq!(together_state, expected_state);
        // And the cases are what they say they are.
        assert_eq!(outcomes[0], RefreshOutcome::Rotated);
        assert_eq!(
            outcomes[1],
            RefreshOutcome::AlreadyConsumed {
                at,
                successor_at: Some(1_000)
            }
        );
        assert_eq!(
            outcomes[3],
            RefreshOutcome::AlreadyConsumed {
                at,
                successor_at: Some(7)
            }
        );
        assert_eq!(outcomes[4], RefreshOutcome::Unknown, "session ended");
        assert_eq!(outcomes[5], RefreshOutcome::Unknown, "never issued");
        assert_eq!(
            outcomes[6],
            RefreshOutcome::Rotated,
            "a second token of session 2"
        );
    }
}
