//! The clock every rule reads. In production it is the system clock; a server started with the
//! test-only `--test-clock` flag runs on the system clock plus an offset that black-box tests
//! move (instead of sleeping), and that all nodes share through the database.

use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_store::{Store, StoreResult};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The `server_settings` row holding the shared test clock's offset (milliseconds); read and
/// written only by servers started with `--test-clock`.
pub const TEST_CLOCK_SETTING: &str = "test_clock_offset_ms";

/// Cheap to clone: one `Arc`.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    mode: Mode,
    /// The start of [`Clock::monotonic_ns`].
    started: Instant,
}

#[derive(Debug)]
enum Mode {
    System,
    /// Milliseconds added to the system clock.
    Test {
        offset_ms: AtomicI64,
    },
}

impl Clock {
    pub fn system() -> Self {
        Self::with(Mode::System)
    }

    /// A clock tests can move; never built without the test-only flag.
    pub fn test() -> Self {
        Self::with(Mode::Test {
            offset_ms: AtomicI64::new(0),
        })
    }

    fn with(mode: Mode) -> Self {
        Self(Arc::new(Inner {
            mode,
            started: Instant::now(),
        }))
    }

    pub fn is_test(&self) -> bool {
        matches!(self.0.mode, Mode::Test { .. })
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> u64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        system.saturating_add(self.offset_ms()).max(0) as u64
    }

    /// Nanoseconds since this clock was made, on the monotonic clock plus the test offset: for
    /// rules that measure short intervals (the rate limits, the sign-in throttle), which a
    /// step of the wall clock must not disturb.
    pub fn monotonic_ns(&self) -> u64 {
        let elapsed = self.0.started.elapsed().as_nanos().min(i64::MAX as u128) as i64;
        elapsed
            .saturating_add(self.offset_ms().saturating_mul(1_000_000))
            .max(0) as u64
    }

    /// Whole seconds since the Unix epoch, the unit of every stored timestamp.
    pub fn now(&self) -> UnixSeconds {
        (self.now_millis() / 1000) as UnixSeconds
    }

    /// The test clock's offset from the system clock (0 on the system clock).
    pub fn offset_ms(&self) -> i64 {
        match &self.0.mode {
            Mode::System => 0,
            Mode::Test { offset_ms } => offset_ms.load(Ordering::Relaxed),
        }
    }

    /// Sets the test clock's offset (as read from the database); refused on the system clock.
    pub fn set_offset_ms(&self, offset: i64) -> Result<(), NotATestClock> {
        match &self.0.mode {
            Mode::System => Err(NotATestClock),
            Mode::Test { offset_ms } => {
                offset_ms.store(offset, Ordering::Relaxed);
                Ok(())
            }
        }
    }
}

impl Clock {
    /// A test clock takes the offset all nodes share from the database (before a request, or
    /// before background work reads the time); the system clock reads nothing.
    pub async fn refresh(&self, store: &Store) -> StoreResult<()> {
        if !self.is_test() {
            return Ok(());
        }
        if let Some(stored) = store.server_setting(TEST_CLOCK_SETTING).await? {
            // Only this module writes the row; anything unreadable counts as no offset.
            let _ = self.set_offset_ms(stored.parse().unwrap_or(0));
        }
        Ok(())
    }

    /// Moves a test clock forward by `ms` for every node on `store`: the shared offset is
    /// read, advanced and written back, and this node takes it at once. Returns the offset.
    pub async fn advance(&self, store: &Store, ms: u64) -> Result<i64, AdvanceError> {
        if !self.is_test() {
            return Err(AdvanceError::NotATestClock(NotATestClock));
        }
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        let offset = store
            .add_to_server_setting(TEST_CLOCK_SETTING, ms)
            .await
            .map_err(AdvanceError::Store)?;
        self.set_offset_ms(offset)?;
        Ok(offset)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AdvanceError {
    #[error(transparent)]
    NotATestClock(#[from] NotATestClock),
    #[error(transparent)]
    Store(shopkeeper_store::StoreError),
}

/// Moving the clock of a server not started with `--test-clock`.
#[derive(Debug, thiserror::Error)]
#[error("the clock can only be moved on a server started with --test-clock")]
pub struct NotATestClock;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_cannot_be_moved() {
        let clock = Clock::system();
        assert!(clock.set_offset_ms(60_000).is_err());
        assert_eq!(clock.offset_ms(), 0);
    }

    #[test]
    fn a_test_clock_moves_by_its_offset() {
        let clock = Clock::test();
        let before = clock.now();
        clock.set_offset_ms(3_600_000).unwrap();
        let after = clock.now();
        assert!(
            (3600..=3602).contains(&(after - before)),
            "{before} -> {after}"
        );
        assert_eq!(clock.offset_ms(), 3_600_000);
    }

    #[test]
    fn the_monotonic_reading_moves_with_the_offset() {
        let clock = Clock::test();
        let before = clock.monotonic_ns();
        clock.set_offset_ms(2_000).unwrap();
        let after = clock.monotonic_ns();
        assert!(after - before >= 2_000_000_000, "{before} -> {after}");
    }
}
