//! The clock every rule reads. In production it is the system clock; a server started with the
//! test-only `--test-clock` flag runs on the system clock plus an offset that black-box tests
//! move (instead of sleeping), and that all nodes share through the database.

use shopkeeper_domain::time::UnixSeconds;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Cheap to clone: one `Arc`.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Mode>);

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
        Self(Arc::new(Mode::System))
    }

    /// A clock tests can move; never built without the test-only flag.
    pub fn test() -> Self {
        Self(Arc::new(Mode::Test {
            offset_ms: AtomicI64::new(0),
        }))
    }

    pub fn is_test(&self) -> bool {
        matches!(*self.0, Mode::Test { .. })
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> u64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let offset = match &*self.0 {
            Mode::System => 0,
            Mode::Test { offset_ms } => offset_ms.load(Ordering::Relaxed),
        };
        system.saturating_add(offset).max(0) as u64
    }

    /// Whole seconds since the Unix epoch, the unit of every stored timestamp.
    pub fn now(&self) -> UnixSeconds {
        (self.now_millis() / 1000) as UnixSeconds
    }

    /// The test clock's offset from the system clock (0 on the system clock).
    pub fn offset_ms(&self) -> i64 {
        match &*self.0 {
            Mode::System => 0,
            Mode::Test { offset_ms } => offset_ms.load(Ordering::Relaxed),
        }
    }

    /// Sets the test clock's offset (as read from the database); refused on the system clock.
    pub fn set_offset_ms(&self, offset: i64) -> Result<(), NotATestClock> {
        match &*self.0 {
            Mode::System => Err(NotATestClock),
            Mode::Test { offset_ms } => {
                offset_ms.store(offset, Ordering::Relaxed);
                Ok(())
            }
        }
    }
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
}
