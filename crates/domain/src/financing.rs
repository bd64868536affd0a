//! Financing (`product-discovery/financing.md`): a site's terms (a number of months at an
//! annual rate) and what each costs for a product's price: the monthly payment and the total
//! repayable. Pure and exact: money in integer minor units, no floating point.
//!
//! **The rule.** A term is an annuity: `n` equal monthly payments at the monthly rate
//! `r = annual rate / 12` (nominal, compounded monthly) repay the credit `P`:
//! `M = P·r·(1+r)ⁿ / ((1+r)ⁿ − 1)`; at a rate of zero, `M = P / n`.
//!
//! **Rounding.** Both figures are rounded *up* to the currency's minor unit: the monthly payment
//! `⌈M⌉` (so `n` payments repay the credit, never less), and the total repayable `⌈n·M⌉` (from the
//! exact `M`, not from the rounded payment). This is the rule that reproduces the docs' own
//! figures (`individual-products.md`: 7.20 USD at 9.9 % over 12 months → `0.64` a month,
//! `7.60` in total; the exact values are 0.63266 and 7.5919, so rounding half up would say 0.63
//! and 7.59).
//!
//! **Exactly.** `(1+r)ⁿ` has far more digits than `rust_decimal`'s 28 for any real term (its
//! numerator is `(120000 + rate_bp)ⁿ`), so a decimal power would round inside the formula and
//! could put a figure on the wrong side of a cent. The ceilings are decided instead on exact
//! integers: with `S = 120000` (basis points a year → a month), `A = (S + b)ⁿ`, `B = Sⁿ`,
//! `M = P·b·A / (S·(A − B))`, and the least `q` with `q·S·(A − B) ≥ P·b·A` is `⌈M⌉`. The
//! integers are a few hundred 32-bit limbs at most ([`MAX_MONTHS`]); [`Big`] is the little
//! unsigned arithmetic that needs (multiply by a word, subtract, compare), no crate.

use rust_decimal::Decimal;
use std::cmp::Ordering;

/// The longest term: 50 years.
pub const MAX_MONTHS: i64 = 600;
/// The highest annual rate, in basis points: 100 %.
pub const MAX_RATE_BP: i64 = 10_000;
/// The longest description a term may carry.
pub const MAX_DESCRIPTION: usize = 200;

/// Basis points a year over twelve months: the monthly rate is `rate_bp / MONTHLY_SCALE`.
const MONTHLY_SCALE: u64 = 120_000;

/// A term as the store keeps it, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub months: u32,
    /// The annual (nominal) rate in basis points: 990 = 9.9 %.
    pub rate_bp: u32,
}

impl Term {
    /// A term from an operator's (or a row's) figures: 1..=600 months, 0..=10000 basis points.
    pub fn new(months: i64, rate_bp: i64) -> Result<Self, String> {
        if !(1..=MAX_MONTHS).contains(&months) {
            return Err(format!("months must be 1-{MAX_MONTHS}, not {months}"));
        }
        if !(0..=MAX_RATE_BP).contains(&rate_bp) {
            return Err(format!(
                "the rate must be 0-{MAX_RATE_BP} basis points (990 = 9.9 %), not {rate_bp}"
            ));
        }
        Ok(Term {
            months: months as u32,
            rate_bp: rate_bp as u32,
        })
    }

    /// The annual rate as a fraction (`0.099`), the docs' `interestRatePct`.
    pub fn rate_fraction(&self) -> Decimal {
        Decimal::new(i64::from(self.rate_bp), 4).normalize()
    }

    /// The annual rate in percent (`9.9`), the docs' `interestRatePctForDisplay`.
    pub fn rate_percent(&self) -> Decimal {
        Decimal::new(i64::from(self.rate_bp), 2).normalize()
    }

    /// The docs' `description` of a term without one of its own: `"9.9% for 12 months"`.
    pub fn default_description(&self) -> String {
        let unit = if self.months == 1 { "month" } else { "months" };
        format!("{}% for {} {unit}", self.rate_percent(), self.months)
    }

    /// What the term costs for a credit of `credit_minor` (the price, in minor units; a
    /// negative one counts as nothing, and none counts above the catalog's largest amount, so
    /// every figure fits an `i64`: at most twice the credit times 600 months).
    pub fn quote(&self, credit_minor: i64) -> Quote {
        let credit = credit_minor.clamp(0, crate::catalog::MAX_AMOUNT_MINOR) as u64;
        let n = u64::from(self.months);
        if self.rate_bp == 0 || credit == 0 {
            return Quote {
                credit_minor: credit as i64,
                monthly_minor: credit.div_ceil(n) as i64,
                total_minor: credit as i64,
            };
        }
        let b = u64::from(self.rate_bp);
        let a = Big::pow(MONTHLY_SCALE + b, self.months);
        let den = a
            .minus(&Big::pow(MONTHLY_SCALE, self.months))
            .times(MONTHLY_SCALE);
        let per_month = a.times(credit).times(b);
        let monthly = ceil_div(&per_month, &den);
        let total = ceil_div(&per_month.times(n), &den);
        Quote {
            credit_minor: credit as i64,
            monthly_minor: monthly as i64,
            total_minor: total as i64,
        }
    }
}

/// A term's figures for one credit, in the credit's minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// What is lent: the price (`creditAmount`).
    pub credit_minor: i64,
    /// `⌈M⌉` (`monthlyPaymentAmount`).
    pub monthly_minor: i64,
    /// `⌈n·M⌉` (`totalRepayable`).
    pub total_minor: i64,
}

/// A term's description as an operator gives it: trimmed, 1..=200 characters, one line.
pub fn check_description(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.is_empty() || text.chars().count() > MAX_DESCRIPTION {
        return Err(format!(
            "the description must be 1-{MAX_DESCRIPTION} characters"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err("the description must be one line of text".into());
    }
    Ok(text.to_owned())
}

/// `⌈num / den⌉` for `den > 0`, when it fits a `u64` (every quote's does: it is at most the
/// credit times 2 times the months).
fn ceil_div(num: &Big, den: &Big) -> u64 {
    let covers = |q: u64| den.times(q).compare(num) != Ordering::Less;
    if covers(0) {
        return 0;
    }
    let mut hi = 1u64;
    while !covers(hi) {
        hi = hi.checked_mul(2).expect("a quote fits 64 bits");
    }
    // covers(hi), !covers(lo)
    let mut lo = hi / 2;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if covers(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// An unsigned integer of any size: little-endian 32-bit limbs without high zero limbs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut limbs = vec![v as u32, (v >> 32) as u32];
        trim(&mut limbs);
        Big(limbs)
    }

    fn pow(base: u64, exponent: u32) -> Big {
        (0..exponent).fold(Big::from_u64(1), |acc, _| acc.times(base))
    }

    fn times(&self, m: u64) -> Big {
        let mut out = Vec::with_capacity(self.0.len() + 2);
        let mut carry: u128 = 0;
        for &limb in &self.0 {
            let v = u128::from(limb) * u128::from(m) + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        while carry > 0 {
            out.push(carry as u32);
            carry >>= 32;
        }
        trim(&mut out);
        Big(out)
    }

    /// `self − other`, for `self ≥ other`.
    fn minus(&self, other: &Big) -> Big {
        debug_assert!(self.compare(other) != Ordering::Less);
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for (i, &limb) in self.0.iter().enumerate() {
            let mut v = i64::from(limb) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            out.push(v as u32);
        }
        trim(&mut out);
        Big(out)
    }

    fn compare(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

fn trim(limbs: &mut Vec<u32>) {
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(credit: i64, months: i64, rate_bp: i64) -> (i64, i64) {
        let q = Term::new(months, rate_bp).unwrap().quote(credit);
        assert_eq!(q.credit_minor, credit.max(0));
        (q.monthly_minor, q.total_minor)
    }

    #[test]
    fn the_docs_figures_come_out() {
        // individual-products.md: 7.20 USD, 9.9 %, 12 months → $0.64 a month, $7.60 in all.
        assert_eq!(quote(720, 12, 990), (64, 760));
        // financing.md's example term (4.5 % over 120 months) on the same 7.20: its
        // `formattedMonthlyPaymentAmount` "$0.08" (its other figures do not belong together:
        // every `value` there is 19.99). The exact total is 8.9544.
        assert_eq!(quote(720, 120, 450), (8, 896));
    }

    #[test]
    fn hand_checked_figures() {
        // 1,000.00 at 12 % over 12 months: r = 1 %, M = 88.84878867…, n·M = 1,066.1854…
        assert_eq!(quote(100_000, 12, 1200), (8885, 106_619));
        // 89.00 at 9.9 % over 24 months: M = 4.10279…, n·M = 98.4670…
        assert_eq!(quote(8900, 24, 990), (411, 9847));
        // One month: the credit and a month's interest, 100.00 × 1.01 exactly.
        assert_eq!(quote(10_000, 1, 1200), (10_100, 10_100));
    }

    #[test]
    fn interest_free_terms_split_the_price_rounding_up() {
        assert_eq!(quote(3999, 6, 0), (667, 3999));
        assert_eq!(quote(1200, 12, 0), (100, 1200));
        // A stored price beyond the catalog's largest amount is quoted at that amount: the
        // dearest term on it still fits, no panic.
        let dearest = Term::new(600, 10_000).unwrap();
        assert_eq!(
            dearest.quote(i64::MAX),
            dearest.quote(crate::catalog::MAX_AMOUNT_MINOR)
        );
        assert_eq!(quote(0, 12, 990), (0, 0));
        assert_eq!(quote(-5, 12, 990), (0, 0));
    }

    #[test]
    fn a_payment_exactly_on_a_minor_unit_is_not_rounded_up() {
        // 1 month at 12 %: M = P·1.01 exactly; for P = 100, 101 with nothing to round.
        assert_eq!(quote(100, 1, 1200), (101, 101));
        // 2 months at 0 %: 10.00 / 2 = 5.00 exactly.
        assert_eq!(quote(1000, 2, 0), (500, 1000));
    }

    /// The same annuity in rust_decimal (28 significant digits): the exact ceilings are never
    /// more than a minor unit away from it, over a grid of credits, rates and terms.
    #[test]
    fn the_exact_figures_agree_with_a_decimal_annuity() {
        for credit in [1i64, 99, 720, 3999, 8900, 123_456, 99_999_999] {
            for rate_bp in [1i64, 99, 450, 990, 1999, 3600, 10_000] {
                for months in [1i64, 2, 3, 6, 12, 24, 36, 60, 120] {
                    let r = Decimal::new(rate_bp, 4) / Decimal::from(12);
                    let x = (0..months).fold(Decimal::ONE, |x, _| x * (Decimal::ONE + r));
                    let m = Decimal::from(credit) * r * x / (x - Decimal::ONE);
                    let (monthly, total) = quote(credit, months, rate_bp);
                    let approx_monthly = m.ceil();
                    let approx_total = (m * Decimal::from(months)).ceil();
                    let near = |a: i64, b: Decimal| (Decimal::from(a) - b).abs() <= Decimal::ONE;
                    assert!(near(monthly, approx_monthly), "{credit} {rate_bp} {months}");
                    assert!(near(total, approx_total), "{credit} {rate_bp} {months}");
                    // And the ceilings hold: n payments cover the total, one unit less does not.
                    assert!(monthly * months >= total && total >= credit);
                    assert!((monthly - 1) * months < total);
                }
            }
        }
    }

    #[test]
    fn the_longest_term_at_the_highest_rate_is_computed() {
        let (monthly, total) = quote(100_000_000_000, MAX_MONTHS, MAX_RATE_BP);
        // r = 1/12 a month over 600 months: M ≈ P·r (the loan barely amortises).
        assert!(monthly > 100_000_000_000 / 12 && monthly < 100_000_000_000 / 12 + 2);
        assert!(total <= monthly * MAX_MONTHS);
    }

    #[test]
    fn terms_are_checked() {
        assert!(Term::new(0, 990).is_err());
        assert!(Term::new(601, 990).is_err());
        assert!(Term::new(12, -1).is_err());
        assert!(Term::new(12, 10_001).is_err());
        let t = Term::new(12, 990).unwrap();
        assert_eq!(t.rate_fraction().to_string(), "0.099");
        assert_eq!(t.rate_percent().to_string(), "9.9");
        assert_eq!(t.default_description(), "9.9% for 12 months");
        assert_eq!(
            Term::new(1, 0).unwrap().default_description(),
            "0% for 1 month"
        );
        assert_eq!(
            Term::new(6, 1250).unwrap().rate_fraction().to_string(),
            "0.125"
        );
        assert!(check_description("").is_err());
        assert!(check_description("a\nb").is_err());
        assert_eq!(check_description(" 0% APR ").unwrap(), "0% APR");
    }

    #[test]
    fn big_arithmetic() {
        let a = Big::pow(10, 30);
        let b = Big::pow(10, 29).times(10);
        assert_eq!(a.compare(&b), Ordering::Equal);
        assert_eq!(a.minus(&Big::pow(10, 29)), Big::pow(10, 29).times(9));
        assert_eq!(Big::from_u64(0), Big(Vec::new()));
        assert_eq!(
            Big::from_u64(u64::MAX)
                .times(u64::MAX)
                .minus(&Big::from_u64(1))
                .compare(&a),
            Ordering::Greater
        );
        assert_eq!(ceil_div(&Big::from_u64(10), &Big::from_u64(3)), 4);
        assert_eq!(ceil_div(&Big::from_u64(9), &Big::from_u64(3)), 3);
    }
}
