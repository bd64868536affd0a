//! The job runner's rules: the states a job row moves through, and what a failed attempt
//! leads to (a retry after an exponential, capped backoff; for a recurring job, its next
//! occurrence; for a one-off job out of attempts, the dead state an operator looks at).

/// A job row's `state` column (the migration's CHECK names the same four).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for its `run_at`.
    Queued,
    /// Claimed by a node until its lease expires.
    Running,
    /// A one-off job that completed.
    Done,
    /// A one-off job that failed on its last attempt.
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 4] = [Self::Queued, Self::Running, Self::Done, Self::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Dead => "dead",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// A stored state, as read back: anything but the four names is refused.
impl TryFrom<String> for JobState {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        Self::parse(&raw).ok_or_else(|| format!("not a job state: {raw:?}"))
    }
}

/// How long a failed attempt waits before the next: `base_ms` doubled per attempt already
/// made, at most `cap_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base_ms: i64,
    pub cap_ms: i64,
}

impl Backoff {
    /// One second, then 2, 4, 8 ... up to an hour.
    pub const DEFAULT: Backoff = Backoff {
        base_ms: 1_000,
        cap_ms: 3_600_000,
    };

    /// The wait after the `attempt`-th attempt (1-based) failed.
    pub fn delay_ms(self, attempt: u32) -> i64 {
        let doublings = attempt.saturating_sub(1).min(62);
        self.base_ms
            .max(1)
            .saturating_mul(1_i64 << doublings)
            .min(self.cap_ms.max(1))
    }
}

/// What a failed (or abandoned) attempt leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Queued again at this time (milliseconds), its attempts kept.
    RetryAt(i64),
    /// A recurring job out of attempts: its next regular occurrence, attempts counted afresh.
    NextOccurrence(i64),
    /// A one-off job out of attempts.
    Dead,
}

/// The rule: attempt `attempt` (1-based) of at most `max_attempts` failed at `now_ms`. A
/// recurring job (`every_ms`) is never dead: once out of attempts it waits for its next run.
pub fn after_failure(
    attempt: u32,
    max_attempts: u32,
    backoff: Backoff,
    every_ms: Option<i64>,
    now_ms: i64,
) -> AfterFailure {
    if attempt < max_attempts.max(1) {
        return AfterFailure::RetryAt(now_ms.saturating_add(backoff.delay_ms(attempt)));
    }
    match every_ms {
        Some(every) => AfterFailure::NextOccurrence(now_ms.saturating_add(every.max(1))),
        None => AfterFailure::Dead,
    }
}

/// A job claimed again after its lease expired (its node died mid-run) has already used an
/// attempt per claim: past `max_attempts` it is not run again.
pub fn attempts_exhausted(attempt: u32, max_attempts: u32) -> bool {
    attempt > max_attempts.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_its_base_up_to_its_cap() {
        let b = Backoff {
            base_ms: 1_000,
            cap_ms: 10_000,
        };
        let delays: Vec<i64> = (1..=6).map(|a| b.delay_ms(a)).collect();
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
        // Far past any real attempt count the shift cannot overflow.
        assert_eq!(b.delay_ms(u32::MAX), 10_000);
        assert_eq!(Backoff::DEFAULT.delay_ms(40), 3_600_000);
    }

    #[test]
    fn a_failure_before_the_last_attempt_is_retried_after_the_backoff() {
        let b = Backoff::DEFAULT;
        assert_eq!(
            after_failure(1, 5, b, None, 50_000),
            AfterFailure::RetryAt(51_000)
        );
        assert_eq!(
            after_failure(3, 5, b, Some(60_000), 50_000),
            AfterFailure::RetryAt(54_000)
        );
    }

    #[test]
    fn the_last_attempt_kills_a_one_off_job_and_reschedules_a_recurring_one() {
        let b = Backoff::DEFAULT;
        assert_eq!(after_failure(5, 5, b, None, 50_000), AfterFailure::Dead);
        assert_eq!(after_failure(9, 5, b, None, 50_000), AfterFailure::Dead);
        assert_eq!(
            after_failure(5, 5, b, Some(60_000), 50_000),
            AfterFailure::NextOccurrence(110_000)
        );
        // At least one attempt, whatever the setting says.
        assert_eq!(after_failure(1, 0, b, None, 0), AfterFailure::Dead);
    }

    #[test]
    fn a_reclaim_past_the_last_attempt_is_exhausted() {
        assert!(!attempts_exhausted(5, 5));
        assert!(attempts_exhausted(6, 5));
        assert!(attempts_exhausted(2, 0));
    }

    #[test]
    fn states_round_trip_through_their_column_text() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobState::parse("lost"), None);
        assert_eq!(JobState::try_from("dead".to_owned()), Ok(JobState::Dead));
        assert!(JobState::try_from("Dead".to_owned()).is_err());
    }
}
