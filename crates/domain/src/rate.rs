//! Request rate limiting as the generic cell rate algorithm (GCRA): one number per key, the
//! "theoretical arrival time" of the next request. A request is allowed while that time is
//! at most one period ahead of now, which allows a burst of `limit` requests and then
//! `limit` per period. Pure: the caller supplies the clock and stores the number.

/// `limit` requests per `period_ns`, bursting up to `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateQuota {
    /// Time one request "costs".
    emission_ns: u64,
    /// How far ahead of now the arrival time may run.
    tolerance_ns: u64,
}

impl RateQuota {
    /// `None` when `limit` is 0 (no limit).
    pub fn new(limit: u32, period_ns: u64) -> Option<Self> {
        (limit > 0).then(|| Self {
            emission_ns: (period_ns / limit as u64).max(1),
            tolerance_ns: period_ns.max(1),
        })
    }

    /// Decides a request arriving at `now_ns` against the stored arrival time `tat_ns`:
    /// `Ok(new tat)` to store, or `Err(wait_ns)` until a request would be allowed.
    pub fn check(&self, tat_ns: u64, now_ns: u64) -> Result<u64, u64> {
        let next = tat_ns.max(now_ns).saturating_add(self.emission_ns);
        let ahead = next - now_ns;
        if ahead > self.tolerance_ns {
            Err(ahead - self.tolerance_ns)
        } else {
            Ok(next)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_limit_passes_then_one_per_emission_interval() {
        let quota = RateQuota::new(3, 3_000).unwrap();
        let mut tat = 0;
        for _ in 0..3 {
            tat = quota.check(tat, 10_000).unwrap();
        }
        assert_eq!(quota.check(tat, 10_000), Err(1_000));
        assert!(quota.check(tat, 11_000).is_ok());
    }

    #[test]
    fn zero_means_unlimited() {
        assert_eq!(RateQuota::new(0, 1_000), None);
    }
}
