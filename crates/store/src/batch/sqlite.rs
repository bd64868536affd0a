//! SQLite: the group writer's own connection to the database file.
//!
//! Through sqlx, every statement of a batch was a round trip between the writer thread and
//! sqlx's connection thread (two thread wake-ups each), and a batch of new sessions had to be
//! folded into one huge statement to keep those trips few. Here the writer thread calls SQLite
//! itself: a batch is one `BEGIN IMMEDIATE`, multi-row INSERTs for its new sessions, a few
//! cached prepared statements per rotation, one `COMMIT`, with no thread in between, and the
//! rotations are decided one by one, in batch order, exactly as separate requests would be.
//!
//! The store's other writes keep using sqlx's one-connection write pool. This connection
//! writes only while it holds the store's write turn (`WriteTurn`), which the pool's users
//! take too, so the two never contend for SQLite's write lock.

use super::{Done, Job, PendingPair, Work};
use crate::rotation::{
    CONSUME_REFRESH_TOKEN, READ_REFRESH_CONSUMPTION, RefreshOutcome, Rotation, RotationStatements,
    TOUCH_SESSION, UNDO_REFRESH_CONSUMPTION, complete_now, rotate,
};
use crate::{StoreResult, WriteTurn};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use std::sync::LazyLock;

pub(crate) struct DirectWriter {
    conn: Connection,
    /// Held while this connection writes.
    turn: WriteTurn,
}

impl DirectWriter {
    /// Opens the database file with `pragmas`: the settings of the pool's writer connection.
    pub fn open(file: &str, pragmas: &str, turn: WriteTurn) -> rusqlite::Result<Self> {
        let conn = Connection::open(file)?;
        conn.execute_batch(pragmas)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { conn, turn })
    }

    /// Writes a batch in one transaction; returns one outcome per job, in order, once it is
    /// committed. On any error nothing of the batch is kept.
    pub(super) async fn write(&mut self, batch: &[Job]) -> StoreResult<Vec<Done>> {
        let _turn = self.turn.take().await?;
        write_in_one_transaction(&mut self.conn, batch)
    }
}

/// New sessions are written with multi-row INSERTs of these many rows (a batch of 20 is
/// 16 + 4): few statement shapes to keep prepared, and every row after a statement's first
/// appends through cursors that are already at the right edge of the table and its indexes.
/// With one statement per row, each row's insert into each of the 11 B-trees a new session
/// touches started with a seek from the root (the measured saving: docs/benchmarks.md).
const CHUNKS: [usize; 9] = [256, 128, 64, 32, 16, 8, 4, 2, 1];
/// Prepared statements the connection keeps: three tables times the chunk sizes, and the
/// handful of rotation statements.
pub(super) const STATEMENT_CACHE: usize = 3 * CHUNKS.len() + 8;

/// The multi-row INSERTs for every chunk size, built once (`prepare_cached` finds the
/// prepared statement by its text).
struct MultiRowInserts {
    sessions: Vec<String>,
    access_tokens: Vec<String>,
    refresh_tokens: Vec<String>,
}

static INSERTS: LazyLock<MultiRowInserts> = LazyLock::new(|| {
    let shapes = |head: &str, width: usize| -> Vec<String> {
        CHUNKS
            .iter()
            .map(|&rows| super::multi_row_insert(head, rows, width))
            .collect()
    };
    MultiRowInserts {
        sessions: shapes(super::INSERT_SESSIONS, super::SESSION_COLUMNS),
        access_tokens: shapes(super::INSERT_ACCESS_TOKENS, super::TOKEN_COLUMNS),
        refresh_tokens: shapes(super::INSERT_REFRESH_TOKENS, super::TOKEN_COLUMNS),
    }
});

/// Splits `rows` into runs of [`CHUNKS`] sizes, largest first: (index into `CHUNKS`, run).
fn chunked<T>(mut rows: &[T]) -> impl Iterator<Item = (usize, &[T])> {
    std::iter::from_fn(move || {
        let shape = CHUNKS.iter().position(|&size| size <= rows.len())?;
        let (run, rest) = rows.split_at(CHUNKS[shape]);
        rows = rest;
        Some((shape, run))
    })
}

/// Binds `values` as the parameters from `*next` on, advancing it.
fn bind_row(
    statement: &mut rusqlite::CachedStatement<'_>,
    next: &mut usize,
    values: &[&dyn rusqlite::ToSql],
) -> rusqlite::Result<()> {
    for value in values {
        statement.raw_bind_parameter(*next, value)?;
        *next += 1;
    }
    Ok(())
}

fn write_in_one_transaction(conn: &mut Connection, batch: &[Job]) -> StoreResult<Vec<Done>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The new sessions first, all together: nothing else in the batch can refer to them.
    let starts = super::new_sessions(batch);
    for (shape, run) in chunked(&starts) {
        let mut insert = tx.prepare_cached(&INSERTS.sessions[shape])?;
        let mut next = 1;
        for s in run {
            bind_row(
                &mut insert,
                &mut next,
                &[
                    &s.id,
                    &s.site_id,
                    &s.api_key,
                    &s.shopper_id,
                    &s.cart_id,
                    &s.session_tag,
                    &s.locale,
                    &s.currency,
                    &s.client_ip,
                    &s.pair.issued_at,
                    &s.pair.issued_at,
                    &s.pair.refresh_expires_at,
                ],
            )?;
        }
        insert.raw_execute()?;
    }
    for refresh in [false, true] {
        let shapes = if refresh {
            &INSERTS.refresh_tokens
        } else {
            &INSERTS.access_tokens
        };
        for (shape, run) in chunked(&starts) {
            let mut insert = tx.prepare_cached(&shapes[shape])?;
            let mut next = 1;
            for s in run {
                let p = &s.pair;
                let (hash, expires_at) = if refresh {
                    (&p.refresh_hash, p.refresh_expires_at)
                } else {
                    (&p.access_hash, p.access_expires_at)
                };
                bind_row(
                    &mut insert,
                    &mut next,
                    &[
                        hash,
                        &s.id,
                        &p.api_key,
                        &p.full_access,
                        &p.issued_at,
                        &expires_at,
                    ],
                )?;
            }
            insert.raw_execute()?;
        }
    }
    // Then the rotations, one by one in batch order, as separate requests would be decided.
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch {
        match &job.work {
            Work::Start(_) => outcomes.push(Done::Started),
            Work::Rotate(r) => {
                let outcome = complete_now(rotate(&mut &tx, &r.rule()))?;
                if outcome == RefreshOutcome::Rotated {
                    insert_pair(&tx, &r.session_id, &r.pair)?;
                }
                outcomes.push(Done::Rotation(outcome));
            }
        }
    }
    tx.commit()?;
    Ok(outcomes)
}

/// The two token rows of a rotation's successor pair (one-row INSERTs).
fn insert_pair(
    tx: &rusqlite::Transaction,
    session_id: &str,
    p: &PendingPair,
) -> rusqlite::Result<()> {
    let one_row = CHUNKS.len() - 1;
    tx.prepare_cached(&INSERTS.access_tokens[one_row])?
        .execute(params![
            p.access_hash,
            session_id,
            p.api_key,
            p.full_access,
            p.issued_at,
            p.access_expires_at
        ])?;
    tx.prepare_cached(&INSERTS.refresh_tokens[one_row])?
        .execute(params![
            p.refresh_hash,
            session_id,
            p.api_key,
            p.full_access,
            p.issued_at,
            p.refresh_expires_at
        ])?;
    Ok(())
}

/// The rotation's statements through rusqlite, in the batch's transaction (cached statements).
impl RotationStatements for &rusqlite::Transaction<'_> {
    async fn consume(&mut self, r: &Rotation<'_>) -> StoreResult<u64> {
        let changed = self
            .prepare_cached(CONSUME_REFRESH_TOKEN)?
            .execute(params![r.issued_at, r.successor_at_millis, r.old_hash])?;
        Ok(changed as u64)
    }

    async fn read_consumption(
        &mut self,
        r: &Rotation<'_>,
    ) -> StoreResult<Option<(Option<i64>, Option<i64>)>> {
        Ok(self
            .prepare_cached(READ_REFRESH_CONSUMPTION)?
            .query_row(params![r.old_hash], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?)
    }

    async fn touch_session(&mut self, r: &Rotation<'_>) -> StoreResult<u64> {
        let changed = self.prepare_cached(TOUCH_SESSION)?.execute(params![
            r.issued_at,
            r.refresh_expires_at,
            r.session_id
        ])?;
        Ok(changed as u64)
    }

    async fn undo_consumption(&mut self, r: &Rotation<'_>) -> StoreResult<()> {
        self.prepare_cached(UNDO_REFRESH_CONSUMPTION)?
            .execute(params![r.old_hash])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{INSERTS, chunked};

    /// Every multi-row shape, up to the largest (3,072 parameters), is valid against the
    /// migrated schema; a batch only meets the largest under full load.
    #[tokio::test]
    async fn every_insert_shape_prepares() {
        let (dir, _store) = crate::scratch_store().await;
        let conn = rusqlite::Connection::open(dir.path().join("db.sqlite")).unwrap();
        for sql in INSERTS
            .sessions
            .iter()
            .chain(&INSERTS.access_tokens)
            .chain(&INSERTS.refresh_tokens)
        {
            conn.prepare(sql)
                .unwrap_or_else(|e| panic!("{e}: {}", &sql[..60]));
        }
    }

    #[test]
    fn chunks_cover_every_row_in_order_largest_first() {
        for n in [0_usize, 1, 2, 3, 20, 255, 256, 300, 511] {
            let rows: Vec<usize> = (0..n).collect();
            let runs: Vec<&[usize]> = chunked(&rows).map(|(_, run)| run).collect();
            assert_eq!(runs.concat(), rows, "{n} rows");
            let sizes: Vec<usize> = runs.iter().map(|r| r.len()).collect();
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{n}: {sizes:?}");
            assert!(sizes.iter().all(|s| s.is_power_of_two()), "{n}: {sizes:?}");
        }
        let twenty: Vec<u8> = vec![0; 20];
        let sizes: Vec<usize> = chunked(&twenty).map(|(_, run)| run.len()).collect();
        assert_eq!(sizes, [16, 4]);
    }
}
