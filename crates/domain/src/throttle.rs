//! Brute-force throttling of password checks, as pure arithmetic on milliseconds: after a
//! few free failures each further failure adds one step to the wait, up to a cap; failures
//! are forgotten a reset period after the last one. The cap is what keeps an attacker from
//! locking a shopper out for good: the worst they can do is make each try wait `max_wait`.

/// The schedule (all times in milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed before any wait.
    pub free_failures: u32,
    pub step_ms: u64,
    pub max_wait_ms: u64,
    pub reset_ms: u64,
}

/// What is remembered about one username or address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureRecord {
    pub failures: u32,
    /// When the last failure happened (milliseconds on the caller's clock).
    pub last_failure_ms: u64,
}

impl ThrottlePolicy {
    /// The wait that `failures` consecutive failures impose after the last one.
    pub fn wait_after(&self, failures: u32) -> u64 {
        let over = failures.saturating_sub(self.free_failures) as u64;
        over.saturating_mul(self.step_ms).min(self.max_wait_ms)
    }

    /// How long from `now_ms` a new attempt must still wait; `None` when it may go ahead.
    pub fn retry_after(&self, record: &FailureRecord, now_ms: u64) -> Option<u64> {
        let wait = self.wait_after(record.failures);
        // Within the free failures there is no wait, whatever the clocks say (a caller's `now`
        // may be read a moment before another attempt stamped the record).
        if wait == 0 || self.forgotten(record, now_ms) {
            return None;
        }
        let until = record.last_failure_ms.saturating_add(wait);
        (until > now_ms).then(|| until - now_ms)
    }

    /// The record after one more failure at `now_ms` (a forgotten record starts again).
    pub fn after_failure(&self, record: &FailureRecord, now_ms: u64) -> FailureRecord {
        let previous = if self.forgotten(record, now_ms) {
            0
        } else {
            record.failures
        };
        FailureRecord {
            failures: previous.saturating_add(1),
            last_failure_ms: now_ms.max(record.last_failure_ms),
        }
    }

    /// The record with one failure taken back: an attempt is counted as a failure when it
    /// starts (so concurrent attempts cannot all pass the check before any has failed) and
    /// refunded when its password turns out right or it never got an answer. The time of the
    /// last failure stays (a refund never shortens the memory of the others).
    pub fn refund(&self, record: &FailureRecord) -> FailureRecord {
        FailureRecord {
            failures: record.failures.saturating_sub(1),
            last_failure_ms: record.last_failure_ms,
        }
    }

    fn forgotten(&self, record: &FailureRecord, now_ms: u64) -> bool {
        now_ms.saturating_sub(record.last_failure_ms) >= self.reset_ms
    }
}

/// Whole seconds for a `Retry-After` header: rounded up, at least 1.
pub fn retry_after_seconds(wait_ms: u64) -> u64 {
    wait_ms.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: ThrottlePolicy = ThrottlePolicy {
        free_failures: 3,
        step_ms: 60_000,
        max_wait_ms: 900_000,
        reset_ms: 12 * 3_600_000,
    };

    #[test]
    fn waits_grow_by_one_step_per_failure_past_the_allowance_up_to_the_cap() {
        let waits: Vec<u64> = (0..25).map(|n| POLICY.wait_after(n)).collect();
        assert_eq!(&waits[..6], &[0, 0, 0, 0, 60_000, 120_000]);
        assert_eq!(waits[18], 900_000);
        assert_eq!(waits[24], 900_000);
    }

    #[test]
    fn a_record_is_forgotten_after_the_reset_period() {
        let record = FailureRecord {
            failures: 10,
            last_failure_ms: 1_000,
        };
        assert!(POLICY.retry_after(&record, 1_000).is_some());
        assert_eq!(POLICY.retry_after(&record, 1_000 + POLICY.reset_ms), None);
        let next = POLICY.after_failure(&record, 1_000 + POLICY.reset_ms);
        assert_eq!(next.failures, 1);
    }

    /// Counting each attempt before its check and refunding the right ones gives the same
    /// waits as counting failures after their checks, however many run at once: the
    /// allowance is `free_failures + 1` checks, then the wait.
    #[test]
    fn reserved_attempts_stop_at_the_allowance_and_refunds_undo_them() {
        let mut record = FailureRecord::default();
        let mut admitted = 0;
        for _ in 0..50 {
            if POLICY.retry_after(&record, 5_000).is_none() {
                record = POLICY.after_failure(&record, 5_000);
                admitted += 1;
            }
        }
        assert_eq!(admitted, POLICY.free_failures + 1);
        let refunded = POLICY.refund(&record);
        assert_eq!(refunded.failures, POLICY.free_failures);
        assert_eq!(POLICY.retry_after(&refunded, 5_000), None);
        assert_eq!(POLICY.refund(&FailureRecord::default()).failures, 0);
    }

    /// Concurrent attempts read the clock before they take the record, so one may see a
    /// last failure stamped a moment after its own `now`: within the allowance that is no
    /// reason to wait.
    #[test]
    fn a_failure_stamped_after_now_imposes_no_wait_within_the_allowance() {
        let record = FailureRecord {
            failures: POLICY.free_failures,
            last_failure_ms: 10_000,
        };
        assert_eq!(POLICY.retry_after(&record, 9_999), None);
        let over = FailureRecord {
            failures: POLICY.free_failures + 1,
            ..record
        };
        assert!(POLICY.retry_after(&over, 9_999).is_some());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_seconds(1), 1);
        assert_eq!(retry_after_seconds(1000), 1);
        assert_eq!(retry_after_seconds(1001), 2);
        assert_eq!(retry_after_seconds(0), 1);
    }
}
