//! SQLite: the group writer's own connection to the database file.
//!
//! Through sqlx, every statement of a batch was a round trip between the writer thread and
//! sqlx's connection thread (two thread wake-ups each), and a batch of new sessions had to be
//! folded into one huge statement to keep those trips few. Here the writer thread calls SQLite
//! itself: a batch is one `BEGIN IMMEDIATE`, a few cached prepared statements per job, one
//! `COMMIT`, with no thread in between, and the rotations are decided one by one, in batch
//! order, exactly as separate requests would be.
//!
//! The store's other writes keep using sqlx's one-connection write pool. This connection
//! writes only while it holds the store's write turn (`WriteTurn`), which the pool's users
//! take too, so the two never contend for SQLite's write lock.

use super::{
    CONSUME_REFRESH_TOKEN, Done, Job, PendingPair, PendingRotation, READ_REFRESH_CONSUMPTION,
    UNDO_REFRESH_CONSUMPTION, Work, refusal,
};
use crate::store::tokens::{RefreshOutcome, TOUCH_SESSION};
use crate::store::{StoreError, StoreResult, WriteTurn};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::sync::LazyLock;

pub(in crate::store) struct DirectWriter {
    conn: Connection,
    /// Held while this connection writes.
    turn: WriteTurn,
}

impl DirectWriter {
    /// Opens the database file with `pragmas`: the settings of the pool's writer connection.
    pub fn open(file: &str, pragmas: &str, turn: WriteTurn) -> rusqlite::Result<Self> {
        let conn = Connection::open(file)?;
        conn.execute_batch(pragmas)?;
        Ok(Self { conn, turn })
    }

    /// Writes a batch in one transaction; returns one outcome per job, in order, once it is
    /// committed. On any error nothing of the batch is kept.
    pub(super) async fn write(&mut self, batch: &[Job]) -> StoreResult<Vec<Done>> {
        let _turn = self.turn.take().await?;
        Ok(write_in_one_transaction(&mut self.conn, batch)?)
    }
}

/// The one-row INSERTs of a session and its tokens, built once (`prepare_cached` finds the
/// prepared statement by its text).
static INSERT_SESSION: LazyLock<String> =
    LazyLock::new(|| super::multi_row_insert(super::INSERT_SESSIONS, 1, super::SESSION_COLUMNS));
static INSERT_ACCESS_TOKEN: LazyLock<String> =
    LazyLock::new(|| super::multi_row_insert(super::INSERT_ACCESS_TOKENS, 1, super::TOKEN_COLUMNS));
static INSERT_REFRESH_TOKEN: LazyLock<String> = LazyLock::new(|| {
    super::multi_row_insert(super::INSERT_REFRESH_TOKENS, 1, super::TOKEN_COLUMNS)
});

fn write_in_one_transaction(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<Vec<Done>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    {
        let mut insert_session = tx.prepare_cached(&INSERT_SESSION)?;
        let mut insert_access = tx.prepare_cached(&INSERT_ACCESS_TOKEN)?;
        let mut insert_refresh = tx.prepare_cached(&INSERT_REFRESH_TOKEN)?;
        let mut insert_pair = |session_id: &str, p: &PendingPair| -> rusqlite::Result<()> {
            insert_access.execute(params![
                p.access_hash,
                session_id,
                p.api_key,
                p.full_access,
                p.issued_at,
                p.access_expires_at
            ])?;
            insert_refresh.execute(params![
                p.refresh_hash,
                session_id,
                p.api_key,
                p.full_access,
                p.issued_at,
                p.refresh_expires_at
            ])?;
            Ok(())
        };
        for job in batch {
            match &job.work {
                Work::Start(s) => {
                    let p = &s.pair;
                    insert_session.execute(params![
                        s.id,
                        s.site_id,
                        s.api_key,
                        s.shopper_id,
                        s.cart_id,
                        s.session_tag,
                        s.locale,
                        s.currency,
                        s.client_ip,
                        p.issued_at,
                        p.issued_at,
                        p.refresh_expires_at
                    ])?;
                    insert_pair(&s.id, p)?;
                    outcomes.push(Done::Started);
                }
                Work::Rotate(r) => {
                    let outcome = consume(&tx, r)?;
                    if outcome == RefreshOutcome::Rotated {
                        insert_pair(&r.session_id, &r.pair)?;
                    }
                    outcomes.push(Done::Rotation(outcome));
                }
            }
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// Consumes a refresh token and extends its session, or says why not: the statements of the
/// one-by-one rotation on PostgreSQL (`super::consume`), in this transaction. A token presented
/// twice in one batch is consumed by its first presentation; the later ones find it consumed,
/// as a request right after it would.
fn consume(tx: &rusqlite::Transaction, r: &PendingRotation) -> rusqlite::Result<RefreshOutcome> {
    let consumed = tx.prepare_cached(CONSUME_REFRESH_TOKEN)?.execute(params![
        r.pair.issued_at,
        r.successor_at_millis,
        r.old_hash
    ])?;
    if consumed == 0 {
        let row = tx
            .prepare_cached(READ_REFRESH_CONSUMPTION)?
            .query_row(params![r.old_hash], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        return Ok(refusal(row));
    }
    let touched = tx.prepare_cached(TOUCH_SESSION)?.execute(params![
        r.pair.issued_at,
        r.pair.refresh_expires_at,
        r.session_id
    ])?;
    if touched == 0 {
        // The session is gone: undo the consumption (alone, it would have rolled back).
        tx.prepare_cached(UNDO_REFRESH_CONSUMPTION)?
            .execute(params![r.old_hash])?;
        return Ok(RefreshOutcome::Unknown);
    }
    Ok(RefreshOutcome::Rotated)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::*;
        match e.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked | CannotOpen | SystemIoFailure | DiskFull) => {
                StoreError::Unavailable(Box::new(e))
            }
            Some(ConstraintViolation)
                if matches!(
                    e.sqlite_error().map(|f| f.extended_code),
                    Some(rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
                        | Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
                ) =>
            {
                StoreError::Conflict(e.to_string())
            }
            _ => StoreError::Database(Box::new(e)),
        }
    }
}
