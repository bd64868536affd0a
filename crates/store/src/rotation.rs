//! The refresh-token rotation rule, written once for both write paths (sqlx on PostgreSQL,
//! the rusqlite group writer on SQLite): consume the presented token, extend its session, and
//! undo the consumption if the session has ended. Each driver only says how to run the four
//! statements ([`RotationStatements`]).

use shopkeeper_domain::time::UnixSeconds;

use crate::StoreResult;

/// Consumes a current refresh token ($3) at $1, keeping its successor's prefix ($2); changes no
/// row if the token is unknown or was consumed before.
pub(crate) const CONSUME_REFRESH_TOKEN: &str = "UPDATE refresh_tokens SET consumed_at = $1, \
     successor_at_millis = $2 WHERE token_hash = $3 AND consumed_at IS NULL";
/// Why [`CONSUME_REFRESH_TOKEN`] changed nothing: the token's consumption, if it exists.
pub(crate) const READ_REFRESH_CONSUMPTION: &str =
    "SELECT consumed_at, successor_at_millis FROM refresh_tokens WHERE token_hash = $1";
/// Undoes [`CONSUME_REFRESH_TOKEN`] when the token's session turns out to have ended.
pub(crate) const UNDO_REFRESH_CONSUMPTION: &str = "UPDATE refresh_tokens SET consumed_at = NULL, \
     successor_at_millis = NULL WHERE token_hash = $1";
/// Extends a live session ($3) at a new issue ($1) to a new expiry ($2); changes no row if
/// the session has ended or expired.
pub(crate) const TOUCH_SESSION: &str = "UPDATE shopper_sessions SET last_accessed = $1, \
     expires_at = $2 WHERE id = $3 AND ended_at IS NULL AND expires_at > $1";

#[derive(Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was current and is now consumed; the new pair is stored.
    Rotated,
    /// The token had already been consumed `at` this time, and its successor pair given this
    /// time-ordered prefix (`None` when consumed before successors were time-ordered).
    AlreadyConsumed {
        at: UnixSeconds,
        successor_at: Option<u64>,
    },
    /// No such refresh token (never issued, expired and cleaned up, or revoked).
    Unknown,
}

/// One rotation as the rule sees it.
pub(crate) struct Rotation<'a> {
    pub old_hash: &'a [u8],
    pub session_id: &'a str,
    /// The new pair's issue time and its refresh token's expiry (the session's new expiry).
    pub issued_at: UnixSeconds,
    pub refresh_expires_at: UnixSeconds,
    /// The successor pair's time-ordered prefix, kept on the consumed row.
    pub successor_at_millis: i64,
}

/// The four statements of a rotation on one driver, inside that driver's transaction.
pub(crate) trait RotationStatements {
    /// [`CONSUME_REFRESH_TOKEN`]; the number of rows changed.
    async fn consume(&mut self, r: &Rotation<'_>) -> StoreResult<u64>;
    /// [`READ_REFRESH_CONSUMPTION`]: `(consumed_at, successor_at_millis)` if the token exists.
    async fn read_consumption(
        &mut self,
        r: &Rotation<'_>,
    ) -> StoreResult<Option<(Option<i64>, Option<i64>)>>;
    /// [`TOUCH_SESSION`]; the number of rows changed.
    async fn touch_session(&mut self, r: &Rotation<'_>) -> StoreResult<u64>;
    /// [`UNDO_REFRESH_CONSUMPTION`].
    async fn undo_consumption(&mut self, r: &Rotation<'_>) -> StoreResult<()>;
}

/// Consumes a refresh token and extends its session, or says why not. A token whose session
/// has ended stays unconsumed, as if never presented.
pub(crate) async fn rotate(
    tx: &mut impl RotationStatements,
    r: &Rotation<'_>,
) -> StoreResult<RefreshOutcome> {
    if tx.consume(r).await? == 0 {
        return Ok(refusal(tx.read_consumption(r).await?));
    }
    if tx.touch_session(r).await? == 0 {
        // The session is gone: undo the consumption (alone, it would have rolled back).
        tx.undo_consumption(r).await?;
        return Ok(RefreshOutcome::Unknown);
    }
    Ok(RefreshOutcome::Rotated)
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

/// Runs a future that never waits (the rusqlite statements are synchronous) to its end, so
/// the synchronous group writer shares the async rule.
pub(crate) fn complete_now<T>(future: impl std::future::Future<Output = T>) -> T {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => value,
        Poll::Pending => unreachable!("a synchronous statement never waits"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted driver: the rows each statement changes or finds.
    struct Script {
        consumed: u64,
        existing: Option<(Option<i64>, Option<i64>)>,
        touched: u64,
        undone: bool,
    }

    impl RotationStatements for Script {
        async fn consume(&mut self, _: &Rotation<'_>) -> StoreResult<u64> {
            Ok(self.consumed)
        }
        async fn read_consumption(
            &mut self,
            _: &Rotation<'_>,
        ) -> StoreResult<Option<(Option<i64>, Option<i64>)>> {
            Ok(self.existing)
        }
        async fn touch_session(&mut self, _: &Rotation<'_>) -> StoreResult<u64> {
            Ok(self.touched)
        }
        async fn undo_consumption(&mut self, _: &Rotation<'_>) -> StoreResult<()> {
            self.undone = true;
            Ok(())
        }
    }

    fn run(script: &mut Script) -> RefreshOutcome {
        let r = Rotation {
            old_hash: b"old",
            session_id: "s",
            issued_at: 100,
            refresh_expires_at: 200,
            successor_at_millis: 100_000,
        };
        complete_now(rotate(script, &r)).unwrap()
    }

    fn script(consumed: u64, existing: Option<(Option<i64>, Option<i64>)>, touched: u64) -> Script {
        Script {
            consumed,
            existing,
            touched,
            undone: false,
        }
    }

    #[test]
    fn a_current_token_of_a_live_session_rotates() {
        let mut s = script(1, None, 1);
        assert_eq!(run(&mut s), RefreshOutcome::Rotated);
        assert!(!s.undone);
    }

    #[test]
    fn a_consumed_token_says_when_and_its_successor() {
        let mut s = script(0, Some((Some(90), Some(90_000))), 1);
        assert_eq!(
            run(&mut s),
            RefreshOutcome::AlreadyConsumed {
                at: 90,
                successor_at: Some(90_000)
            }
        );
    }

    #[test]
    fn an_unknown_token_is_unknown() {
        assert_eq!(run(&mut script(0, None, 1)), RefreshOutcome::Unknown);
    }

    #[test]
    fn a_token_of_an_ended_session_is_left_unconsumed() {
        let mut s = script(1, None, 0);
        assert_eq!(run(&mut s), RefreshOutcome::Unknown);
        assert!(s.undone);
    }
}
