//! The defences' per-node state: failed-password counters (per username and per client
//! address) and request-rate cells (per API key and per client address). Kept in memory on
//! each node, bounded in size; the rules themselves are pure (`domain::throttle`,
//! `domain::rate`, `domain::client_address`).
//!
//! In memory rather than in the database on purpose: a failed sign-in or a token request
//! must not cost a write, and the benchmark's tens of thousands of token requests per second
//! must not queue on one row. A deployment of N nodes behind a round-robin balancer therefore
//! grants an attacker up to N times the allowance (SECURITY.md says so); the cap on waits
//! and the Argon2 cost per guess still hold on every node.

use crate::clock::Clock;
use crate::settings::SecuritySettings;
use http::HeaderMap;
use moka::sync::Cache;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::client_address::{ProxyHeader, client_address};
use shopkeeper_domain::rate::RateQuota;
use shopkeeper_domain::throttle::{FailureRecord, ThrottlePolicy, retry_after_seconds};
use std::borrow::Borrow;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most usernames and addresses remembered per table; the least recently used go first.
const MAX_TRACKED: u64 = 200_000;

/// A refusal: wait this many whole seconds (for `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// A keyed table of failure records under one policy.
struct FailureTable {
    policy: ThrottlePolicy,
    records: Cache<String, Arc<Mutex<FailureRecord>>>,
}

impl FailureTable {
    fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            records: Cache::builder()
                .max_capacity(MAX_TRACKED)
                // A record idle for the reset period is forgotten by the rule anyway.
                .time_to_idle(Duration::from_millis(policy.reset_ms.max(1)))
                .build(),
        }
    }

    /// The record of `key`, made empty if there is none.
    fn cell(&self, key: String) -> Arc<Mutex<FailureRecord>> {
        self.records.get_with(key, Default::default)
    }

    fn refund(&self, key: &str) {
        if let Some(cell) = self.records.get(key) {
            let mut record = lock(&cell);
            *record = self.policy.refund(&record);
        }
    }

    fn clear(&self, key: &str) {
        self.records.invalidate(key);
    }
}

fn lock(cell: &Mutex<FailureRecord>) -> std::sync::MutexGuard<'_, FailureRecord> {
    cell.lock().unwrap_or_else(|p| p.into_inner())
}

/// A password check that may go ahead, already counted as a failure of its username (or
/// account) and its address. Settle it with [`failed`](Self::failed) or
/// [`succeeded`](Self::succeeded); dropped unsettled (an error, or the request went away
/// before the answer) the attempt is refunded, as no one learnt its outcome.
#[must_use = "settle the attempt with failed() or succeeded()"]
pub struct SignInReservation<'a> {
    guard: &'a Guard,
    user_key: String,
    address_key: String,
    settled: bool,
}

impl SignInReservation<'_> {
    /// A wrong password (or unknown username: the same to an observer): the count stays.
    pub fn failed(mut self) {
        self.settled = true;
    }

    /// A correct password clears the account's failures. The address keeps its earlier
    /// count (only this attempt is refunded; the count decays with the reset period): an
    /// attacker holding one valid account must not be able to wipe the record of their
    /// guesses at others.
    pub fn succeeded(mut self) {
        self.settled = true;
        self.guard.by_username.clear(&self.user_key);
        self.guard.by_address.refund(&self.address_key);
    }
}

impl Drop for SignInReservation<'_> {
    fn drop(&mut self) {
        if !self.settled {
            self.guard.by_username.refund(&self.user_key);
            self.guard.by_address.refund(&self.address_key);
        }
    }
}

/// A keyed table of GCRA cells under one quota: by API key (`String`) or by client address
/// (`IpAddr`, kept as the address itself, so a check formats nothing).
struct RateTable<K> {
    quota: RateQuota,
    cells: Cache<K, Arc<AtomicU64>>,
}

impl<K: Hash + Eq + Send + Sync + 'static> RateTable<K> {
    fn new(limit: u32, period: Duration) -> Option<Self> {
        let quota = RateQuota::new(limit, period.as_nanos().min(u64::MAX as u128) as u64)?;
        Some(Self {
            quota,
            cells: Cache::builder()
                .max_capacity(MAX_TRACKED)
                // After a full idle period a key's allowance is whole again: forgetting it
                // then changes nothing.
                .time_to_idle(period.max(Duration::from_millis(1)))
                .build(),
        })
    }

    fn check<Q>(&self, key: &Q, now_ns: u64) -> Result<(), u64>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let cell = match self.cells.get(key) {
            Some(cell) => cell,
            None => self
                .cells
                .get_with(key.to_owned(), || Arc::new(AtomicU64::new(0))),
        };
        let mut tat = cell.load(Ordering::Relaxed);
        loop {
            let next = self.quota.check(tat, now_ns)?;
            match cell.compare_exchange_weak(tat, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(current) => tat = current,
            }
        }
    }
}

pub struct Guard {
    /// Waits and allowances run on it, so a test clock moved forward ends them.
    clock: Clock,
    trusted_proxies: Vec<IpAddr>,
    proxy_header: ProxyHeader,
    by_username: FailureTable,
    by_address: FailureTable,
    rate_by_key: Option<RateTable<String>>,
    rate_by_address: Option<RateTable<IpAddr>>,
    order_lookups_by_address: Option<RateTable<IpAddr>>,
}

impl Guard {
    pub fn new(settings: &SecuritySettings, clock: Clock) -> Self {
        let policy = |free_failures| ThrottlePolicy {
            free_failures,
            step_ms: settings.throttle_step_seconds.saturating_mul(1000),
            max_wait_ms: settings.throttle_max_wait_seconds.saturating_mul(1000),
            reset_ms: settings.throttle_reset_seconds.saturating_mul(1000),
        };
        let period = Duration::from_millis(settings.rate_limit_period_ms.max(1));
        Self {
            clock,
            trusted_proxies: settings.trusted_proxies.clone(),
            proxy_header: settings.forwarded_header.into(),
            by_username: FailureTable::new(policy(settings.throttle_user_failures)),
            by_address: FailureTable::new(policy(settings.throttle_ip_failures)),
            rate_by_key: RateTable::new(settings.rate_limit_per_key, period),
            rate_by_address: RateTable::new(settings.rate_limit_per_ip, period),
            order_lookups_by_address: RateTable::new(
                settings.order_lookup_per_ip,
                Duration::from_millis(settings.order_lookup_period_ms.max(1)),
            ),
        }
    }

    fn now_ms(&self) -> u64 {
        self.clock.monotonic_ns() / 1_000_000
    }

    fn now_ns(&self) -> u64 {
        self.clock.monotonic_ns()
    }

    /// The client's address: the peer, or what trusted proxies say in the configured header.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if self.trusted_proxies.is_empty() {
            return peer;
        }
        let lines: Vec<&str> = headers
            .get_all(self.proxy_header.name())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        client_address(peer, self.proxy_header, &lines, &self.trusted_proxies)
    }

    /// Whose failures an attempt counts against: the account the typed identifier names
    /// (`account`: its username or e-mail address, found without regard to case, so every
    /// spelling of either shares the account's one count and a sign-in clears that account's
    /// count only), or for an identifier no account has, the typed text case-folded (an
    /// attacker varying case gets no fresh allowance, and probing unknown names is throttled).
    fn username_key(site_id: &SiteId, account: Option<i64>, typed_identifier: &str) -> String {
        match account {
            Some(id) => format!("{site_id}\n#{id}"),
            None => format!("{site_id}\n={}", typed_identifier.to_lowercase()),
        }
    }

    /// Before checking a password: refused with the wait when the username (account) or the
    /// address must wait; otherwise the attempt is counted as a failure of both at once,
    /// before the check, so that concurrent attempts cannot all pass this point before any
    /// of them has failed. The caller settles the returned reservation with the outcome.
    pub fn reserve_sign_in(
        &self,
        site_id: &SiteId,
        account: Option<i64>,
        typed_identifier: &str,
        ip: IpAddr,
    ) -> Result<SignInReservation<'_>, RetryAfter> {
        let user_key = Self::username_key(site_id, account, typed_identifier);
        let address_key = ip.to_string();
        let user_cell = self.by_username.cell(user_key.clone());
        let address_cell = self.by_address.cell(address_key.clone());
        // Both records change together or not at all. This is the only place that holds two
        // records, always the username's first: no lock order cycle.
        let mut user = lock(&user_cell);
        let mut address = lock(&address_cell);
        // The time under the locks: an attempt that waited for them must not compare an
        // older `now` with a failure stamped by the attempt it waited for.
        let now = self.now_ms();
        let by_user = self.by_username.policy.retry_after(&user, now);
        let by_address = self.by_address.policy.retry_after(&address, now);
        if let Some(ms) = by_user.max(by_address) {
            return Err(RetryAfter(retry_after_seconds(ms)));
        }
        *user = self.by_username.policy.after_failure(&user, now);
        *address = self.by_address.policy.after_failure(&address, now);
        Ok(SignInReservation {
            guard: self,
            user_key,
            address_key,
            settled: false,
        })
    }

    /// One request of `key` against `table` (none: the limit is off).
    fn rate_check<K, Q>(&self, table: &Option<RateTable<K>>, key: &Q) -> Result<(), RetryAfter>
    where
        K: Hash + Eq + Send + Sync + Borrow<Q> + 'static,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        match table {
            None => Ok(()),
            Some(table) => table
                .check(key, self.now_ns())
                .map_err(|ns| RetryAfter(retry_after_seconds(ns.div_ceil(1_000_000)))),
        }
    }

    /// One request on a rate-limited endpoint from `ip`.
    pub fn rate_check_address(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        self.rate_check(&self.rate_by_address, &ip)
    }

    /// One request on a rate-limited endpoint naming `api_key`, as presented: a key of any
    /// shape counts, so made-up keys are limited too.
    pub fn rate_check_key(&self, api_key: &str) -> Result<(), RetryAfter> {
        self.rate_check(&self.rate_by_key, api_key)
    }

    /// One order look-up from `ip` (its own quota: `--order-lookup-per-ip`).
    pub fn order_lookup_check(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        self.rate_check(&self.order_lookups_by_address, &ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guard on the system clock that allows two failed sign-ins per account (and plenty
    /// per address), and the address the tests sign in from.
    fn two_failures_per_account() -> (Guard, IpAddr) {
        let settings = SecuritySettings {
            throttle_user_failures: 2,
            throttle_ip_failures: 100,
            ..SecuritySettings::default()
        };
        (
            Guard::new(&settings, Clock::system()),
            "203.0.113.7".parse().unwrap(),
        )
    }

    fn site() -> SiteId {
        SiteId::parse("s").unwrap()
    }

    /// Attempts held at once (concurrent checks) use up the allowance before any has failed;
    /// the count is per account, and an attempt dropped unsettled is refunded.
    #[test]
    fn sign_in_reservations_count_per_account_before_the_check() {
        let (guard, ip) = two_failures_per_account();
        let held: Vec<_> = (0..3)
            .map(|_| {
                guard
                    .reserve_sign_in(&site(), Some(1), "target", ip)
                    .unwrap()
            })
            .collect();
        assert!(
            guard
                .reserve_sign_in(&site(), Some(1), "target", ip)
                .is_err()
        );
        // Another account, whatever its name, has its own count, and its sign-in clears
        // only that.
        guard
            .reserve_sign_in(&site(), Some(2), "TARGET", ip)
            .unwrap()
            .succeeded();
        assert!(
            guard
                .reserve_sign_in(&site(), Some(1), "target", ip)
                .is_err()
        );
        // Unsettled attempts (errors, requests gone) are refunded.
        drop(held);
        guard
            .reserve_sign_in(&site(), Some(1), "target", ip)
            .unwrap()
            .failed();
        // A name no account has is counted case-folded.
        for typed in ["Nobody", "NOBODY", "nobody"] {
            guard
                .reserve_sign_in(&site(), None, typed, ip)
                .unwrap()
                .failed();
        }
        assert!(guard.reserve_sign_in(&site(), None, "noBody", ip).is_err());
    }

    /// An account's count is one whatever names it: failures typed as its e-mail address and
    /// as its username (both resolved to the account by the caller) add up.
    #[test]
    fn failures_through_any_name_of_an_account_add_up() {
        let (guard, ip) = two_failures_per_account();
        for typed in ["Jane@Example.com", "jane", "JANE@example.COM"] {
            guard
                .reserve_sign_in(&site(), Some(7), typed, ip)
                .unwrap()
                .failed();
        }
        assert!(guard.reserve_sign_in(&site(), Some(7), "jane", ip).is_err());
        // The same text naming no account has a count of its own.
        assert!(guard.reserve_sign_in(&site(), None, "jane", ip).is_ok());
    }

    /// Waits and allowances follow the clock: moving a test clock past a wait ends it, with
    /// no time passing.
    #[test]
    fn moving_the_clock_ends_a_wait_and_renews_an_allowance() {
        let clock = Clock::test();
        let guard = Guard::new(
            &SecuritySettings {
                throttle_user_failures: 1,
                throttle_ip_failures: 100,
                throttle_step_seconds: 60,
                throttle_max_wait_seconds: 60,
                rate_limit_per_ip: 1,
                rate_limit_period_ms: 60_000,
                ..SecuritySettings::default()
            },
            clock.clone(),
        );
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..2 {
            guard
                .reserve_sign_in(&site(), Some(1), "jane", ip)
                .unwrap()
                .failed();
        }
        assert_eq!(
            guard.reserve_sign_in(&site(), Some(1), "jane", ip).err(),
            Some(RetryAfter(60))
        );
        assert!(guard.rate_check_address(ip).is_ok());
        assert!(guard.rate_check_address(ip).is_err());

        clock.set_offset_ms(61_000).unwrap();
        assert!(guard.reserve_sign_in(&site(), Some(1), "jane", ip).is_ok());
        assert!(guard.rate_check_address(ip).is_ok());
    }

    /// Each address has its own rate cell: IPv6 (the longest form, and an IPv4-mapped one)
    /// as well as IPv4.
    #[test]
    fn each_address_is_rate_limited_on_its_own() {
        let settings = SecuritySettings {
            rate_limit_per_ip: 1,
            rate_limit_period_ms: 60_000,
            ..SecuritySettings::default()
        };
        let guard = Guard::new(&settings, Clock::system());
        let longest: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe".parse().unwrap();
        let mapped: IpAddr = "::ffff:255.255.255.254".parse().unwrap();
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        for ip in [longest, mapped, v4] {
            assert!(guard.rate_check_address(ip).is_ok(), "{ip}: first request");
            assert!(guard.rate_check_address(ip).is_err(), "{ip}: over the rate");
        }
    }
}
