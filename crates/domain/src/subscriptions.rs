//! Subscriptions, pure: the plan a subscription product sells (its term, auto or manual
//! renewal, trial, grace period, billing attempts, renewal price), the states the docs name
//! (`subscription-state.md`), and the dates of a term (`subscription-lifecycle.md`):
//! "Expiration Date = Activation Date + Purchased Duration", "Grace Date = Expiration Date +
//! Grace Period", "Activation Date < Renewal Date <= Expiration Date <= Grace Date".
//!
//! Months and years are calendar ones, always counted from the original activation (a term
//! bought on 31 January ends on 28 or 29 February, the next on 31 March: no drift at month
//! ends).

use crate::time::UnixSeconds;
use serde::{Deserialize, Serialize};
use time::{Month, OffsetDateTime};

const DAY: i64 = 86_400;

/// A subscription's `state` (`subscription-state.md`: "`Subscribed`, `PendingActivation`,
/// `Cancelled`, `PendingRenewal`, and `FreeTrial`").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubscriptionState {
    Subscribed,
    PendingActivation,
    Cancelled,
    /// "An intermediate state when a subscription is getting renewed": a billing attempt for
    /// the next term failed and more are scheduled.
    PendingRenewal,
    FreeTrial,
}

impl SubscriptionState {
    pub const ALL: [SubscriptionState; 5] = [
        SubscriptionState::Subscribed,
        SubscriptionState::PendingActivation,
        SubscriptionState::Cancelled,
        SubscriptionState::PendingRenewal,
        SubscriptionState::FreeTrial,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            SubscriptionState::Subscribed => "Subscribed",
            SubscriptionState::PendingActivation => "PendingActivation",
            SubscriptionState::Cancelled => "Cancelled",
            SubscriptionState::PendingRenewal => "PendingRenewal",
            SubscriptionState::FreeTrial => "FreeTrial",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Whether the subscription still runs (renews, takes actions).
    pub fn is_live(self) -> bool {
        self != SubscriptionState::Cancelled
    }
}

/// The unit of a term, as the docs' `term.termUnit` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TermUnit {
    Days,
    Months,
    Years,
}

impl TermUnit {
    pub const fn as_str(self) -> &'static str {
        match self {
            TermUnit::Days => "DAYS",
            TermUnit::Months => "MONTHS",
            TermUnit::Years => "YEARS",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim().to_ascii_uppercase();
        let raw = raw.strip_suffix('S').unwrap_or(&raw);
        match raw {
            "DAY" => Some(TermUnit::Days),
            "MONTH" => Some(TermUnit::Months),
            "YEAR" => Some(TermUnit::Years),
            _ => None,
        }
    }
}

/// What one renewal buys: `length` days, months or years (`term.termLength`, `termUnit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Term {
    pub unit: TermUnit,
    pub length: u32,
}

/// The longest term: 10 years (or as many months or days).
pub const MAX_TERM_DAYS: u32 = 3_660;

impl Term {
    /// `length` ≥ 1 and at most about ten years.
    pub fn new(unit: TermUnit, length: u32) -> Option<Self> {
        let days = match unit {
            TermUnit::Days => length,
            TermUnit::Months => length.saturating_mul(31),
            TermUnit::Years => length.saturating_mul(366),
        };
        (length >= 1 && days <= MAX_TERM_DAYS).then_some(Term { unit, length })
    }

    /// The end of the `periods`-th term after `anchor` (the activation): calendar months and
    /// years from the anchor's day, clamped to the month's last day; days as 86 400 s.
    pub fn end(self, anchor: UnixSeconds, periods: u32) -> UnixSeconds {
        let n = i64::from(self.length) * i64::from(periods);
        match self.unit {
            TermUnit::Days => anchor + n * DAY,
            TermUnit::Months => add_months(anchor, n),
            TermUnit::Years => add_months(anchor, n * 12),
        }
    }

    /// The docs' `duration`/`frequency`: the term's days from `anchor`.
    pub fn days_from(self, anchor: UnixSeconds) -> i64 {
        (self.end(anchor, 1) - anchor) / DAY
    }
}

/// `at` plus `months` calendar months, the day clamped to the target month's last day.
fn add_months(at: UnixSeconds, months: i64) -> UnixSeconds {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(at) else {
        return at;
    };
    let index = i64::from(t.year()) * 12 + i64::from(u8::from(t.month())) - 1 + months;
    let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
    let Ok(year) = i32::try_from(year) else {
        return at;
    };
    let Ok(month) = Month::try_from(month as u8) else {
        return at;
    };
    let day = t.day().min(month.length(year));
    time::Date::from_calendar_date(year, month, day)
        .map(|d| d.with_time(t.time()).assume_utc().unix_timestamp())
        .unwrap_or(at)
}

/// What a subscription product sells, per the catalog (stored as this JSON, snake case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub term: Term,
    /// `isAutomatic`: renewals are charged to the stored source without the shopper.
    pub auto_renewal: bool,
    /// `freeTrialPeriod` in days (0: none): the first term costs nothing and lasts this long.
    pub free_trial_days: u32,
    /// `gracePeriod` in days: service (and billing attempts) after the expiration date.
    pub grace_days: u32,
    /// Billing attempts before the expiration date, in days before it, latest last (the
    /// docs' `numOfDaysPriorExpirationForRenewal…`); empty: one attempt on the day.
    pub attempt_days_before: Vec<u32>,
    /// Days between billing attempts after the expiration date, until the grace date
    /// (`postExpirationBillingAttemptIntervalInDays`; 0: none after expiry).
    pub retry_interval_days: u32,
    /// What a renewal charges a unit, in the product's currency (`None`: its price at
    /// purchase).
    pub renewal_price_minor: Option<i64>,
}

/// The longest grace period and trial: a year.
pub const MAX_GRACE_DAYS: u32 = 366;

/// A refused plan definition (the catalog import names the product).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(pub String);

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a cart line says of the subscription it buys (`lineItem.subscriptionInfo`,
/// `providing-subscription-information.md`): auto or manual renewal, and the renewal terms
/// shown to the shopper.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_renewal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms: Option<String>,
}

/// The longest `terms` (`400-bad-request.md`: "Terms cannot exceed a length of 4000
/// characters.").
pub const MAX_TERMS: usize = 4000;

/// A term's dates (`subscription-lifecycle.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dates {
    pub activation: UnixSeconds,
    /// When the next renewal's first billing attempt is due.
    pub next_renewal: UnixSeconds,
    pub expiration: UnixSeconds,
    /// No service after it; billing attempts stop there and the subscription is cancelled.
    pub grace: UnixSeconds,
}

impl Plan {
    /// The dates of the term that ends `periods` terms after `activation` (`periods` = 1: the
    /// first paid term; a trial's term ends after its days).
    pub fn dates(&self, activation: UnixSeconds, periods: u32) -> Dates {
        let expiration = self.expiration(activation, periods);
        let first_attempt = self.attempt_days_before.first().copied().unwrap_or(0);
        Dates {
            activation,
            next_renewal: expiration - i64::from(first_attempt) * DAY,
            expiration,
            grace: expiration + i64::from(self.grace_days) * DAY,
        }
    }

    /// The end of the term numbered `periods` (the trial, when there is one, is term 1).
    pub fn expiration(&self, activation: UnixSeconds, periods: u32) -> UnixSeconds {
        match self.free_trial_days {
            0 => self.term.end(activation, periods),
            days => {
                let trial_end = activation + i64::from(days) * DAY;
                self.term.end(trial_end, periods.saturating_sub(1))
            }
        }
    }

    /// The billing attempts for the term that ends at `expiration` (its grace date `grace`),
    /// in order: the plan's before the expiration (one on the day when it names none), then
    /// the retries after it — every `retry_interval_days` of the plan when it has one
    /// (`postExpirationBillingAttemptIntervalInDays`), else Shopkeeper's own `retry_days`
    /// after the expiration — each before the grace date. At most one attempt a day.
    pub fn attempts(
        &self,
        expiration: UnixSeconds,
        grace: UnixSeconds,
        retry_days: &[u32],
    ) -> Vec<UnixSeconds> {
        let mut at: Vec<UnixSeconds> = if self.attempt_days_before.is_empty() {
            vec![expiration]
        } else {
            self.attempt_days_before
                .iter()
                .map(|d| expiration - i64::from(*d) * DAY)
                .collect()
        };
        let retries: Vec<i64> = match self.retry_interval_days {
            0 => retry_days.iter().map(|d| i64::from(*d)).collect(),
            every => (1..)
                .map(|k| k * i64::from(every))
                .take_while(|d| *d * DAY < grace - expiration)
                .collect(),
        };
        at.extend(
            retries
                .into_iter()
                .filter(|d| *d > 0)
                .map(|d| expiration + d * DAY)
                .filter(|t| *t < grace),
        );
        at.sort_unstable();
        at.dedup_by(|a, b| (*a - *b).abs() < DAY);
        at
    }

    /// The state a new subscription starts in.
    pub fn starting_state(&self) -> SubscriptionState {
        if self.free_trial_days > 0 {
            SubscriptionState::FreeTrial
        } else {
            SubscriptionState::Subscribed
        }
    }
}

/// Whole days, for the docs' `duration` and `frequency`.
pub fn days(seconds: i64) -> i64 {
    seconds / DAY
}

/// `at` as the docs write subscription dates (`2020-06-12T06:49:21.000Z`).
pub fn iso8601_millis(at: UnixSeconds) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].000Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// What a billing attempt for a renewal decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The charge went through: the next term starts at the expiration.
    Renewed,
    /// Declined, and `next` is when the next attempt is due (`PendingRenewal`).
    RetryAt(UnixSeconds),
    /// Declined with no attempt left before the grace date: `Cancelled`.
    GiveUp,
}

/// After the `made`-th attempt of a term's `attempts` (1 for the first) was declined at
/// `now`: the next one due (never before `now`), or none left.
pub fn after_decline(attempts: &[UnixSeconds], made: usize, now: UnixSeconds) -> AttemptOutcome {
    match attempts.get(made) {
        Some(next) => AttemptOutcome::RetryAt((*next).max(now)),
        None => AttemptOutcome::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn at(y: i32, m: u8, d: u8) -> UnixSeconds {
        time::Date::from_calendar_date(y, Month::try_from(m).unwrap(), d)
            .unwrap()
            .midnight()
            .assume_utc()
            .unix_timestamp()
    }

    #[test]
    fn months_count_from_the_activation_and_clamp_to_the_month_end() {
        let monthly = Term::new(TermUnit::Months, 1).unwrap();
        let jan31 = at(2027, 1, 31);
        assert_eq!(monthly.end(jan31, 1), at(2027, 2, 28));
        // Not 28 March: each end counts from the activation, not from the last end.
        assert_eq!(monthly.end(jan31, 2), at(2027, 3, 31));
        assert_eq!(monthly.end(at(2028, 1, 31), 1), at(2028, 2, 29));
        assert_eq!(monthly.end(at(2027, 11, 15), 2), at(2028, 1, 15));
        let yearly = Term::new(TermUnit::Years, 1).unwrap();
        assert_eq!(yearly.end(at(2028, 2, 29), 1), at(2029, 2, 28));
        assert_eq!(yearly.days_from(at(2027, 3, 1)), 366);
        let weekly = Term::new(TermUnit::Days, 7).unwrap();
        assert_eq!(weekly.end(jan31, 3), jan31 + 21 * DAY);
        assert_eq!(Term::new(TermUnit::Days, 0), None);
        assert_eq!(Term::new(TermUnit::Years, 11), None);
    }

    fn plan(value: Value) -> Plan {
        let term: Term = serde_json::from_value(value["term"].clone()).unwrap();
        Plan {
            term,
            auto_renewal: true,
            free_trial_days: value["freeTrialPeriod"].as_u64().unwrap_or(0) as u32,
            grace_days: value["gracePeriodDays"].as_u64().unwrap_or(0) as u32,
            attempt_days_before: value["billingAttemptDaysBeforeExpiration"]
                .as_array()
                .map(|a| a.iter().map(|d| d.as_u64().unwrap() as u32).collect())
                .unwrap_or_default(),
            retry_interval_days: 0,
            renewal_price_minor: None,
        }
    }

    #[test]
    fn a_terms_dates_hold_the_lifecycles_invariants() {
        let p = plan(json!({"term": {"unit": "MONTHS", "length": 1},
            "gracePeriodDays": 7, "billingAttemptDaysBeforeExpiration": [3]}));
        let start = at(2027, 1, 10) + 3_600;
        let d = p.dates(start, 1);
        assert_eq!(d.expiration, at(2027, 2, 10) + 3_600);
        assert_eq!(d.next_renewal, d.expiration - 3 * DAY);
        assert_eq!(d.grace, d.expiration + 7 * DAY);
        assert!(d.activation < d.next_renewal && d.next_renewal <= d.expiration);
        assert!(d.expiration <= d.grace);
        assert_eq!(p.starting_state(), SubscriptionState::Subscribed);
        // A 14-day trial is the first term; paid terms follow it.
        let trial = plan(json!({"term": {"unit": "MONTHS", "length": 1},
            "freeTrialPeriod": 14}));
        assert_eq!(trial.starting_state(), SubscriptionState::FreeTrial);
        assert_eq!(trial.expiration(start, 1), start + 14 * DAY);
        assert_eq!(
            trial.expiration(start, 2),
            Term::new(TermUnit::Months, 1)
                .unwrap()
                .end(start + 14 * DAY, 1)
        );
        assert_eq!(
            iso8601_millis(at(2020, 6, 12) + 6 * 3_600 + 49 * 60 + 21),
            "2020-06-12T06:49:21.000Z"
        );
    }

    #[test]
    fn billing_attempts_come_before_the_expiration_then_retry_until_the_grace_date() {
        let exp = at(2027, 3, 1);
        let grace = exp + 7 * DAY;
        let mut p = plan(json!({"term": {"unit": "MONTHS", "length": 1},
            "billingAttemptDaysBeforeExpiration": [3]}));
        // Shopkeeper's own retries (1, 3 and 9 days after; 9 is past the grace date).
        assert_eq!(
            p.attempts(exp, grace, &[1, 3, 9]),
            vec![exp - 3 * DAY, exp + DAY, exp + 3 * DAY]
        );
        // The plan's interval wins over them: every 2 days before the grace date.
        p.retry_interval_days = 2;
        assert_eq!(
            p.attempts(exp, grace, &[1]),
            vec![exp - 3 * DAY, exp + 2 * DAY, exp + 4 * DAY, exp + 6 * DAY]
        );
        // No attempt named: one on the expiration day; no grace: no retry.
        p.attempt_days_before.clear();
        assert_eq!(p.attempts(exp, exp, &[1, 2]), vec![exp]);
        let attempts = p.attempts(exp, grace, &[]);
        assert_eq!(
            after_decline(&attempts, 1, exp),
            AttemptOutcome::RetryAt(exp + 2 * DAY)
        );
        // A late runner is not sent back in time.
        assert_eq!(
            after_decline(&attempts, 1, exp + 5 * DAY),
            AttemptOutcome::RetryAt(exp + 5 * DAY)
        );
        assert_eq!(
            after_decline(&attempts, attempts.len(), exp),
            AttemptOutcome::GiveUp
        );
    }

    #[test]
    fn states_are_the_docs_five() {
        for s in SubscriptionState::ALL {
            assert_eq!(SubscriptionState::parse(s.as_str()), Some(s));
        }
        assert_eq!(SubscriptionState::parse("Active"), None);
        assert!(!SubscriptionState::Cancelled.is_live());
    }
}
