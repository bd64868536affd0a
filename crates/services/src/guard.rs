//! The defences' per-node state: failed-password counters (per username and per client
//! address), request-rate cells (per API key and per client address) and the Commerce API's
//! per-key quota. Kept in memory on
//! each node, bounded in size; the rules are `domain::throttle`, governor's GCRA for the
//! rates, and `domain::client_address`.
//!
//! In memory rather than in the database on purpose: a failed sign-in or a token request
//! must not cost a write, and the benchmark's tens of thousands of token requests per second
//! must not queue on one row. A deployment of N nodes behind a round-robin balancer therefore
//! grants an attacker up to N times the allowance (SECURITY.md says so); the cap on waits
//! and the Argon2 cost per guess still hold on every node.

use crate::clock::Clock;
use crate::settings::SecuritySettings;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::{Quota, RateLimiter};
use http::HeaderMap;
use quick_cache::sync::{Cache, EntryAction, EntryResult};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::client_address::{ProxyHeader, client_address};
use shopkeeper_domain::throttle::{FailureRecord, ThrottlePolicy, retry_after_seconds};
use smallvec::SmallVec;
use std::convert::Infallible;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most usernames, keys and addresses remembered per table; the coldest go first.
const MAX_TRACKED: usize = 200_000;

/// A refusal: wait this many whole seconds (for `Retry-After`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// A keyed table of failure records under one policy, bounded to `capacity` records. Nothing
/// forgets idle records on a timer: the rule ignores failures older than the reset period (on
/// the project's clock), so a stale record counts as an empty one until evicted.
struct FailureTable {
    policy: ThrottlePolicy,
    records: Cache<String, Arc<Mutex<FailureRecord>>>,
}

impl FailureTable {
    fn new(policy: ThrottlePolicy, capacity: usize) -> Self {
        Self {
            policy,
            records: Cache::new(capacity),
        }
    }

    /// The record of `key`, made empty if there is none.
    fn cell(&self, key: &str) -> Arc<Mutex<FailureRecord>> {
        let Ok(cell) = self
            .records
            .get_or_insert_with(key, || Ok::<_, Infallible>(Arc::default()));
        cell
    }

    fn refund(&self, key: &str) {
        if let Some(cell) = self.records.get(key) {
            let mut record = lock(&cell);
            *record = self.policy.refund(&record);
        }
    }

    fn clear(&self, key: &str) {
        self.records.remove(key);
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

/// Governor reads the time from the project's clock (monotonic, plus a test clock's offset),
/// so moving a test clock renews allowances as it ends waits.
struct RateClock(Clock);

impl governor::clock::Clock for RateClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.0.monotonic_ns())
    }
}

/// Governor's per-key state (the next request's theoretical arrival time) in a bounded cache:
/// a client spraying keys or addresses evicts the least used cells instead of growing memory,
/// and an evicted cell only starts again with a whole allowance. Governor's own keyed stores
/// grow until `retain_recent` is called, which would need a sweep of its own.
struct BoundedCells<K>(Cache<K, Nanos>);

impl<K: Hash + Eq + Clone> StateStore for BoundedCells<K> {
    type Key = K;

    fn measure_and_replace<T, F, E>(&self, key: &K, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // Read, decision and write under the entry's lock: concurrent requests of one key
        // cannot both take its last request.
        let occupied = |_: &K, tat: &mut Nanos| {
            EntryAction::Retain(f(Some(*tat)).map(|(outcome, next)| {
                *tat = next;
                outcome
            }))
        };
        match self.0.entry(key, None, occupied) {
            EntryResult::Retained(decision) => decision,
            EntryResult::Vacant(slot) => {
                let (outcome, next) = f(None)?;
                let _ = slot.insert(next);
                Ok(outcome)
            }
            EntryResult::Removed(..) | EntryResult::Replaced(..) | EntryResult::Timeout => {
                unreachable!("the entry is only ever retained, and waited for without a timeout")
            }
        }
    }
}

/// One quota's keyed rate cells: by API key or by client address (`IpAddr`, kept as the
/// address itself, so a check formats nothing).
type RateTable<K> = RateLimiter<K, BoundedCells<K>, RateClock, NoOpMiddleware<Nanos>>;

/// An API key as presented, as a rate-table key: the keys this server issues (and most
/// others) fit inline, so a check copies them instead of allocating.
type KeyBytes = SmallVec<[u8; 64]>;

/// `limit` requests per `period`, bursting up to `limit`; `None` when `limit` is 0 (no limit).
fn rate_table<K: Hash + Eq + Clone>(
    limit: u32,
    period: Duration,
    clock: &Clock,
    capacity: usize,
) -> Option<RateTable<K>> {
    let limit = NonZeroU32::new(limit)?;
    // Governor's quota is one request per interval: a request's share of the period.
    let interval = (period / limit.get()).max(Duration::from_nanos(1));
    let quota = Quota::with_period(interval)?.allow_burst(limit);
    Some(RateLimiter::new(
        quota,
        BoundedCells(Cache::new(capacity)),
        RateClock(clock.clone()),
    ))
}

pub struct Guard {
    /// Waits and allowances run on it, so a test clock moved forward ends them.
    clock: Clock,
    trusted_proxies: Vec<IpAddr>,
    proxy_header: ProxyHeader,
    by_username: FailureTable,
    by_address: FailureTable,
    rate_by_key: Option<RateTable<KeyBytes>>,
    rate_by_address: Option<RateTable<IpAddr>>,
    order_lookups_by_address: Option<RateTable<IpAddr>>,
    /// The documented per-key quota on the Commerce API: requests per key per second.
    api_rate_per_key: u32,
    api_requests_by_key: Option<RateTable<KeyBytes>>,
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
            trusted_proxies: settings.trusted_proxies.clone(),
            proxy_header: settings.forwarded_header.into(),
            by_username: FailureTable::new(policy(settings.throttle_user_failures), MAX_TRACKED),
            by_address: FailureTable::new(policy(settings.throttle_ip_failures), MAX_TRACKED),
            rate_by_key: rate_table(settings.rate_limit_per_key, period, &clock, MAX_TRACKED),
            rate_by_address: rate_table(settings.rate_limit_per_ip, period, &clock, MAX_TRACKED),
            order_lookups_by_address: rate_table(
                settings.order_lookup_per_ip,
                Duration::from_millis(settings.order_lookup_period_ms.max(1)),
                &clock,
                MAX_TRACKED,
            ),
            api_rate_per_key: settings.api_rate_per_key,
            api_requests_by_key: rate_table(
                settings.api_rate_per_key,
                Duration::from_millis(settings.api_rate_period_ms.max(1)),
                &clock,
                MAX_TRACKED,
            ),
            clock,
        }
    }

    fn now_ms(&self) -> u64 {
        self.clock.monotonic_ns() / 1_000_000
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
        let user_cell = self.by_username.cell(&user_key);
        let address_cell = self.by_address.cell(&address_key);
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
    fn rate_check<K: Hash + Eq + Clone>(
        table: &Option<RateTable<K>>,
        key: &K,
    ) -> Result<(), RetryAfter> {
        let Some(table) = table else {
            return Ok(());
        };
        table.check_key(key).map_err(|refused| {
            let wait = refused.wait_time_from(governor::clock::Clock::now(table.clock()));
            let wait_ms = u64::try_from(wait.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
            RetryAfter(retry_after_seconds(wait_ms))
        })
    }

    /// One request on a rate-limited endpoint from `ip`.
    pub fn rate_check_address(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        Self::rate_check(&self.rate_by_address, &ip)
    }

    /// One request on a rate-limited endpoint naming `api_key`, as presented: a key of any
    /// shape counts, so made-up keys are limited too.
    pub fn rate_check_key(&self, api_key: &str) -> Result<(), RetryAfter> {
        Self::rate_check(&self.rate_by_key, &KeyBytes::from_slice(api_key.as_bytes()))
    }

    /// One order look-up from `ip` (its own quota: `--order-lookup-per-ip`).
    pub fn order_lookup_check(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        Self::rate_check(&self.order_lookups_by_address, &ip)
    }

    /// One Commerce API request of `api_key` (an authenticated caller's key) against the
    /// documented per-key quota, `--api-rate-per-key`.
    pub fn api_quota_check(&self, api_key: &str) -> Result<(), RetryAfter> {
        Self::rate_check(
            &self.api_requests_by_key,
            &KeyBytes::from_slice(api_key.as_bytes()),
        )
    }

    /// The per-key quota in requests per second (0: off), for `X-RateLimit-Limit`.
    pub fn api_rate_per_key(&self) -> u32 {
        self.api_rate_per_key
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

    /// A guard on a test clock, and the clock to move.
    fn on_a_test_clock(settings: SecuritySettings) -> (Guard, Clock) {
        let clock = Clock::test();
        (Guard::new(&settings, clock.clone()), clock)
    }

    /// One free failure per account (plenty per address), then waits of `step_seconds`.
    fn one_free_failure_per_account(step_seconds: u64) -> SecuritySettings {
        SecuritySettings {
            throttle_user_failures: 1,
            throttle_ip_failures: 100,
            throttle_step_seconds: step_seconds,
            throttle_max_wait_seconds: step_seconds,
            ..SecuritySettings::default()
        }
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
        let (guard, clock) = on_a_test_clock(SecuritySettings {
            rate_limit_per_ip: 1,
            rate_limit_period_ms: 60_000,
            ..one_free_failure_per_account(60)
        });
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

    /// A key gets a burst of its limit at once, then a refusal naming the wait until its next
    /// request (one request's share of the period), and that request once the clock has moved.
    #[test]
    fn a_burst_of_the_limit_then_a_refusal_until_the_clock_refills_it() {
        let (guard, clock) = on_a_test_clock(SecuritySettings {
            rate_limit_per_key: 3,
            rate_limit_period_ms: 60_000,
            ..SecuritySettings::default()
        });
        for _ in 0..3 {
            assert!(guard.rate_check_key("key").is_ok());
        }
        assert_eq!(guard.rate_check_key("key"), Err(RetryAfter(20)));
        // Another key, however long, has its own allowance.
        let long = "k".repeat(200);
        assert!(guard.rate_check_key(&long).is_ok());

        clock.set_offset_ms(20_000).unwrap();
        assert!(guard.rate_check_key("key").is_ok());
        assert!(guard.rate_check_key("key").is_err());
        clock.set_offset_ms(80_000).unwrap();
        for _ in 0..3 {
            assert!(guard.rate_check_key("key").is_ok());
        }
        assert!(guard.rate_check_key("key").is_err());
    }

    /// The Commerce API quota is per key and per second, its own table: the token endpoint's
    /// per-key limit neither adds to it nor is used up by it; 0 turns it off.
    #[test]
    fn the_api_quota_is_per_key_per_second_and_apart_from_the_token_limit() {
        let (guard, clock) = on_a_test_clock(SecuritySettings {
            api_rate_per_key: 2,
            rate_limit_per_key: 1,
            rate_limit_period_ms: 60_000,
            ..SecuritySettings::default()
        });
        assert_eq!(guard.api_rate_per_key(), 2);
        assert!(guard.rate_check_key("key").is_ok());
        for _ in 0..2 {
            assert!(guard.api_quota_check("key").is_ok());
        }
        // The next request is due in half a second: Retry-After rounds it up to a whole one.
        assert_eq!(guard.api_quota_check("key"), Err(RetryAfter(1)));
        assert!(guard.api_quota_check("other").is_ok());
        clock.set_offset_ms(1_000).unwrap();
        for _ in 0..2 {
            assert!(guard.api_quota_check("key").is_ok());
        }
        assert!(guard.rate_check_key("key").is_err());

        let off = Guard::new(
            &SecuritySettings {
                api_rate_per_key: 0,
                ..SecuritySettings::default()
            },
            Clock::system(),
        );
        for _ in 0..1_000 {
            assert!(off.api_quota_check("key").is_ok());
        }
    }

    /// More keys than the table holds do not grow it past its bound.
    #[test]
    fn a_rate_table_stays_within_its_capacity() {
        let capacity = 1_000;
        let table =
            rate_table::<u32>(1, Duration::from_secs(60), &Clock::system(), capacity).unwrap();
        for key in 0..50_000 {
            assert!(table.check_key(&key).is_ok());
        }
        let cells = table.into_state_store().0;
        assert!(cells.len() <= capacity, "{} cells", cells.len());
    }

    /// Failures older than the reset period on the project's clock are forgotten: moving a
    /// test clock past it gives the free failures again.
    #[test]
    fn failures_are_forgotten_after_the_reset_period_on_the_clock() {
        let (guard, clock) = on_a_test_clock(SecuritySettings {
            throttle_reset_seconds: 3_600,
            ..one_free_failure_per_account(600)
        });
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let fail = || {
            guard
                .reserve_sign_in(&site(), Some(1), "jane", ip)
                .map(SignInReservation::failed)
        };
        assert!(fail().is_ok() && fail().is_ok());
        assert_eq!(fail(), Err(RetryAfter(600)));
        clock.set_offset_ms(3_600_000).unwrap();
        // One free failure again, then the first step's wait.
        assert!(fail().is_ok() && fail().is_ok());
        assert_eq!(fail(), Err(RetryAfter(600)));
    }

    /// More usernames or addresses than a failure table holds do not grow it past its bound.
    #[test]
    fn a_failure_table_stays_within_its_capacity() {
        let capacity = 1_000;
        let policy = ThrottlePolicy {
            free_failures: 3,
            step_ms: 1_000,
            max_wait_ms: 60_000,
            reset_ms: 3_600_000,
        };
        let table = FailureTable::new(policy, capacity);
        for n in 0..50_000 {
            let cell = table.cell(&format!("user{n}"));
            lock(&cell).failures += 1;
        }
        assert!(
            table.records.len() <= capacity,
            "{} records",
            table.records.len()
        );
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
