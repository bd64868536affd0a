//! Order returns (`shopper-apis-reference/returns/`): the documented reason codes, the return
//! period, which lines may be returned and how many units, what each returned unit gives back,
//! and the states a return goes through. Pure: the store runs [`plan_return`] inside the
//! transaction that counts the earlier returns.

use crate::time::UnixSeconds;

/// The standard reason codes (`return-reason-codes.md`, "Standard return reason codes"). A
/// site cannot configure its own list here, so these are the codes a request may give.
pub const REASON_CODES: [&str; 25] = [
    "FRAUD",
    "MISSING_ITEMS_FROM_ORDER",
    "NEVER_RECEIVED",
    "CANCELLED_BUT_SHIPPED",
    "CANT_DOWNLOAD",
    "CHARGEBACK_AVOIDANCE",
    "CUSTOMER_ERROR",
    "CUSTOMER_SATISFACTION_ISSUE",
    "DAMAGED_PRODUCT",
    "DELAYED_SHIPPING",
    "DUPLICATE_ORDER",
    "FEE_CHARGED_INCORRECTLY",
    "FEE_EXEMPT_CUSTOMER",
    "MATCH_PROMOTIONAL_PRICE",
    "ORDERED_WITHOUT_PERMISSION",
    "ORDER_PROCESSING_ERROR",
    "PHONE_ORDER_ERROR",
    "PRODUCT_SHOULD_NOT_HAVE_FEE",
    "PRODUCT_TRIALWARE",
    "REFUSED_ORDER",
    "TAX_EXEMPT",
    "UNABLE_TO_SHIP_TO_COUNTRY",
    "UNDELIVERABLE_ADDRESS",
    "VENDOR_APPROVED_REFUND",
    "WRONG_PRODUCT",
];

/// The documented default return period (`return-period.md`), in days; a site may set its own.
pub const DEFAULT_RETURN_PERIOD_DAYS: i64 = 30;

/// The longest return period a site may set, in days (ten years).
pub const MAX_RETURN_PERIOD_DAYS: i64 = 3650;

/// A site's return period in days, checked: 0 (no returns) to [`MAX_RETURN_PERIOD_DAYS`].
pub fn check_period_days(days: i64) -> Result<i64, String> {
    if (0..=MAX_RETURN_PERIOD_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err(format!(
            "a return period is 0 to {MAX_RETURN_PERIOD_DAYS} days, not {days}"
        ))
    }
}

/// Lines one request may name (a bound on the work one request does).
pub const MAX_RETURN_LINES: usize = 100;

/// Longest `comments` kept.
pub const MAX_COMMENTS_CHARS: usize = 1000;

const DAY: i64 = 86_400;

/// A return's state, named as the docs name them: `PendingProductReturn` (the shopper asked),
/// `ReturnAcknowledged` (the merchant accepted it), `RefundedWithoutReturn` (refunded: these
/// are digital goods, nothing comes back), `Refused` (the merchant turned it down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnStatus {
    PendingProductReturn,
    ReturnAcknowledged,
    RefundedWithoutReturn,
    Refused,
}

impl ReturnStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnStatus::PendingProductReturn => "PendingProductReturn",
            ReturnStatus::ReturnAcknowledged => "ReturnAcknowledged",
            ReturnStatus::RefundedWithoutReturn => "RefundedWithoutReturn",
            ReturnStatus::Refused => "Refused",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            ReturnStatus::PendingProductReturn,
            ReturnStatus::ReturnAcknowledged,
            ReturnStatus::RefundedWithoutReturn,
            ReturnStatus::Refused,
        ]
        .into_iter()
        .find(|s| s.as_str() == raw)
    }

    /// Whether the return's units count against what is left to return (a refused one's
    /// units may be asked for again).
    pub fn holds_units(self) -> bool {
        self != ReturnStatus::Refused
    }
}

impl TryFrom<String> for ReturnStatus {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        ReturnStatus::parse(&raw).ok_or_else(|| format!("unknown return status {raw:?}"))
    }
}

/// What the merchant does to a return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnAction {
    Accept,
    Refuse,
    Refund,
}

impl ReturnAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnAction::Accept => "accept",
            ReturnAction::Refuse => "refuse",
            ReturnAction::Refund => "refund",
        }
    }
}

/// The state `action` takes a return in `from` to, or `None` when it may not: accept and
/// refuse a pending return; refund a pending or accepted one.
pub fn transition(from: ReturnStatus, action: ReturnAction) -> Option<ReturnStatus> {
    use ReturnAction::*;
    use ReturnStatus::*;
    match (from, action) {
        (PendingProductReturn, Accept) => Some(ReturnAcknowledged),
        (PendingProductReturn, Refuse) => Some(Refused),
        (PendingProductReturn | ReturnAcknowledged, Refund) => Some(RefundedWithoutReturn),
        _ => None,
    }
}

/// A line of the order as the return rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnableLine {
    pub id: i64,
    /// Units bought.
    pub quantity: i64,
    /// What the line cost: unit price × quantity less its item offer's discount, in minor
    /// units.
    pub paid_minor: i64,
    /// A subscription product's line (`return-eligibility.md`: not returnable).
    pub subscription: bool,
    /// Units already asked for in returns that hold them.
    pub already_requested: i64,
    /// What those returns give back, in minor units.
    pub already_requested_minor: i64,
}

/// A line the shopper asks to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WantedLine {
    pub line_id: i64,
    pub quantity: i64,
}

/// A line of the return to write: its units and what they give back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedLine {
    pub line_id: i64,
    pub quantity: i64,
    pub amount_minor: i64,
}

/// Why a return is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnRefusal {
    // The request itself (400).
    UnknownReason(String),
    NoLines,
    TooManyLines,
    CommentsTooLong,
    DuplicateLine(i64),
    QuantityBelowOne(i64),
    UnknownLine(i64),
    // The order's state (409).
    PeriodOver {
        ended_at: UnixSeconds,
    },
    Subscription(i64),
    OverReturn {
        line_id: i64,
        wanted: i64,
        left: i64,
    },
    /// The order had an order-level satisfaction refund
    /// (`REQUISITION_HAS_ORDER_LEVEL_SATISFACTION_REFUND`).
    OrderLevelSatisfactionRefund,
    /// The line had a line-item level satisfaction refund
    /// (`LINE_ITEM_HAS_LINE_LEVEL_SATISFACTION_REFUND`).
    LineLevelSatisfactionRefund(i64),
}

impl ReturnRefusal {
    /// Refused because of what was returned before or when, not because of the request's form.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            ReturnRefusal::PeriodOver { .. }
                | ReturnRefusal::Subscription(_)
                | ReturnRefusal::OverReturn { .. }
                | ReturnRefusal::OrderLevelSatisfactionRefund
                | ReturnRefusal::LineLevelSatisfactionRefund(_)
        )
    }
}

impl std::fmt::Display for ReturnRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReturnRefusal::UnknownReason(r) => write!(
                f,
                "return.reason {r:?} is not a return reason code (e.g. DUPLICATE_ORDER, \
                 CUSTOMER_ERROR, WRONG_PRODUCT)"
            ),
            ReturnRefusal::NoLines => write!(
                f,
                "return.returnLineItems.returnLineItem must name at least one line item"
            ),
            ReturnRefusal::TooManyLines => write!(
                f,
                "return.returnLineItems.returnLineItem: at most {MAX_RETURN_LINES} lines a request"
            ),
            ReturnRefusal::CommentsTooLong => write!(
                f,
                "return.comments: at most {MAX_COMMENTS_CHARS} characters"
            ),
            ReturnRefusal::DuplicateLine(id) => {
                write!(f, "line item {id} is named more than once in the return")
            }
            ReturnRefusal::QuantityBelowOne(id) => {
                write!(f, "line item {id}: quantity must be at least 1")
            }
            ReturnRefusal::UnknownLine(id) => write!(f, "line item {id} is not in this order"),
            ReturnRefusal::PeriodOver { ended_at } => write!(
                f,
                "the order's return period ended at {}",
                crate::time::iso8601(*ended_at)
            ),
            ReturnRefusal::Subscription(id) => {
                write!(f, "line item {id} is a subscription: it cannot be returned")
            }
            ReturnRefusal::OverReturn {
                line_id,
                wanted,
                left,
            } => write!(
                f,
                "line item {line_id}: {wanted} units asked for, {left} left to return"
            ),
            ReturnRefusal::OrderLevelSatisfactionRefund => write!(
                f,
                "REQUISITION_HAS_ORDER_LEVEL_SATISFACTION_REFUND: the order has an order-level \
                 satisfaction refund, so its line items are not eligible for return"
            ),
            ReturnRefusal::LineLevelSatisfactionRefund(id) => write!(
                f,
                "LINE_ITEM_HAS_LINE_LEVEL_SATISFACTION_REFUND: line item {id} has a line-item \
                 level satisfaction refund, so it is not eligible for return"
            ),
        }
    }
}

/// The reason code as the docs spell it, else the refusal.
pub fn check_reason(raw: &str) -> Result<&'static str, ReturnRefusal> {
    let wanted = raw.trim();
    REASON_CODES
        .iter()
        .copied()
        .find(|code| *code == wanted)
        .ok_or_else(|| ReturnRefusal::UnknownReason(raw.to_owned()))
}

/// When the return period of an order submitted at `submitted_at` ends: nothing ships here,
/// so the period runs from the submit date (`return-period.md`'s formula for digital goods).
pub fn period_end(submitted_at: UnixSeconds, period_days: i64) -> UnixSeconds {
    submitted_at.saturating_add(period_days.max(0).saturating_mul(DAY))
}

/// What `n` more units of a line give back after returns holding `before` units asked for
/// `before_minor`: the line's cost up to `before + n` units, less what those returns hold, so
/// that the line's units together give back exactly what it cost, whichever returns were
/// refused in between (floors of cumulative shares, never a float).
pub fn units_amount(paid_minor: i64, quantity: i64, before: i64, before_minor: i64, n: i64) -> i64 {
    if quantity <= 0 {
        return 0;
    }
    let units = (before + n).clamp(0, quantity);
    let up_to = i128::from(paid_minor) * i128::from(units) / i128::from(quantity);
    i64::try_from((up_to - i128::from(before_minor)).max(0)).unwrap_or(0)
}

/// Checks the lines a shopper asks to return against the order's lines and what was asked for
/// before; the lines to write, in the request's order.
/// Whether satisfaction refunds (`domain::refunds`) keep the `wanted` lines from being
/// returned, as the docs' error codes say: none of an order with an order-level one, and no
/// line with a line-item level one. (What such a refund gave back is then never asked for
/// again through a return, so the charge ledger stays within the charge.)
pub fn check_satisfaction_refunds(
    wanted: &[WantedLine],
    order_level: bool,
    refunded_lines: &[i64],
) -> Result<(), ReturnRefusal> {
    if order_level {
        return Err(ReturnRefusal::OrderLevelSatisfactionRefund);
    }
    match wanted.iter().find(|w| refunded_lines.contains(&w.line_id)) {
        Some(w) => Err(ReturnRefusal::LineLevelSatisfactionRefund(w.line_id)),
        None => Ok(()),
    }
}

pub fn plan_return(
    lines: &[ReturnableLine],
    wanted: &[WantedLine],
    submitted_at: UnixSeconds,
    period_days: i64,
    now: UnixSeconds,
) -> Result<Vec<PlannedLine>, ReturnRefusal> {
    if wanted.is_empty() {
        return Err(ReturnRefusal::NoLines);
    }
    if wanted.len() > MAX_RETURN_LINES {
        return Err(ReturnRefusal::TooManyLines);
    }
    for (i, w) in wanted.iter().enumerate() {
        if wanted[..i].iter().any(|o| o.line_id == w.line_id) {
            return Err(ReturnRefusal::DuplicateLine(w.line_id));
        }
        if w.quantity < 1 {
            return Err(ReturnRefusal::QuantityBelowOne(w.line_id));
        }
    }
    let ended_at = period_end(submitted_at, period_days);
    let mut planned = Vec::with_capacity(wanted.len());
    for w in wanted {
        let line = lines
            .iter()
            .find(|l| l.id == w.line_id)
            .ok_or(ReturnRefusal::UnknownLine(w.line_id))?;
        if line.subscription {
            return Err(ReturnRefusal::Subscription(line.id));
        }
        if now >= ended_at {
            return Err(ReturnRefusal::PeriodOver { ended_at });
        }
        let left = (line.quantity - line.already_requested).max(0);
        if w.quantity > left {
            return Err(ReturnRefusal::OverReturn {
                line_id: line.id,
                wanted: w.quantity,
                left,
            });
        }
        planned.push(PlannedLine {
            line_id: line.id,
            quantity: w.quantity,
            amount_minor: units_amount(
                line.paid_minor,
                line.quantity,
                line.already_requested,
                line.already_requested_minor,
                w.quantity,
            ),
        });
    }
    Ok(planned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: i64, quantity: i64, paid: i64, before: i64) -> ReturnableLine {
        ReturnableLine {
            id,
            quantity,
            paid_minor: paid,
            subscription: false,
            already_requested: before,
            already_requested_minor: units_amount(paid, quantity, 0, 0, before),
        }
    }

    fn want(line_id: i64, quantity: i64) -> WantedLine {
        WantedLine { line_id, quantity }
    }

    const T0: i64 = 1_700_000_000;

    #[test]
    fn satisfaction_refunds_keep_their_lines_from_returns() {
        assert!(check_satisfaction_refunds(&[want(1, 1)], false, &[2]).is_ok());
        assert_eq!(
            check_satisfaction_refunds(&[want(1, 1), want(2, 1)], false, &[2]),
            Err(ReturnRefusal::LineLevelSatisfactionRefund(2))
        );
        let order_level = check_satisfaction_refunds(&[want(1, 1)], true, &[]).unwrap_err();
        assert!(order_level.is_conflict());
        assert!(
            order_level
                .to_string()
                .starts_with("REQUISITION_HAS_ORDER_LEVEL_SATISFACTION_REFUND")
        );
    }

    #[test]
    fn reasons_are_the_documented_codes() {
        assert_eq!(check_reason("DUPLICATE_ORDER"), Ok("DUPLICATE_ORDER"));
        assert_eq!(check_reason(" WRONG_PRODUCT "), Ok("WRONG_PRODUCT"));
        assert!(check_reason("duplicate_order").is_err());
        assert!(check_reason("I_CHANGED_MY_MIND").is_err());
        assert!(check_reason("").is_err());
    }

    #[test]
    fn amounts_are_exact_shares_of_what_the_line_cost() {
        // 3 units for 10.00 (an offer took 0.50 off 3 × 3.50).
        assert_eq!(units_amount(1000, 3, 0, 0, 1), 333);
        assert_eq!(units_amount(1000, 3, 1, 333, 1), 333);
        assert_eq!(units_amount(1000, 3, 2, 666, 1), 334);
        assert_eq!(units_amount(1000, 3, 0, 0, 3), 1000);
        assert_eq!(units_amount(1999, 1, 0, 0, 1), 1999);
        assert_eq!(units_amount(1000, 0, 0, 0, 1), 0);
        assert_eq!(units_amount(i64::MAX, 2, 0, 0, 2), i64::MAX);
        // 2 units (666) asked, then 1 (334), then the first return refused: the 2 units asked
        // again give back what is left of the line's 1000, not 667.
        assert_eq!(units_amount(1000, 3, 1, 334, 2), 666);
    }

    #[test]
    fn a_return_plans_each_line_with_its_amount() {
        let lines = [line(1, 2, 2000, 0), line(2, 3, 1000, 1)];
        let planned = plan_return(&lines, &[want(2, 2), want(1, 1)], T0, 30, T0 + 10).unwrap();
        assert_eq!(
            planned,
            vec![
                PlannedLine {
                    line_id: 2,
                    quantity: 2,
                    amount_minor: 667
                },
                PlannedLine {
                    line_id: 1,
                    quantity: 1,
                    amount_minor: 1000
                },
            ]
        );
    }

    #[test]
    fn quantities_are_at_least_one_and_at_most_what_is_left() {
        let lines = [line(1, 2, 2000, 1)];
        assert_eq!(
            plan_return(&lines, &[want(1, 0)], T0, 30, T0),
            Err(ReturnRefusal::QuantityBelowOne(1))
        );
        assert_eq!(
            plan_return(&lines, &[want(1, 2)], T0, 30, T0),
            Err(ReturnRefusal::OverReturn {
                line_id: 1,
                wanted: 2,
                left: 1
            })
        );
        assert!(plan_return(&lines, &[want(1, 1)], T0, 30, T0).is_ok());
        let all_gone = [line(1, 2, 2000, 2)];
        assert!(plan_return(&all_gone, &[want(1, 1)], T0, 30, T0).is_err());
    }

    #[test]
    fn lines_are_named_once_and_must_be_the_orders() {
        let lines = [line(1, 2, 2000, 0)];
        assert_eq!(
            plan_return(&lines, &[want(1, 1), want(1, 1)], T0, 30, T0),
            Err(ReturnRefusal::DuplicateLine(1))
        );
        assert_eq!(
            plan_return(&lines, &[want(9, 1)], T0, 30, T0),
            Err(ReturnRefusal::UnknownLine(9))
        );
        assert_eq!(
            plan_return(&lines, &[], T0, 30, T0),
            Err(ReturnRefusal::NoLines)
        );
    }

    #[test]
    fn the_period_runs_from_the_submit_date() {
        let lines = [line(1, 1, 100, 0)];
        let end = T0 + 30 * DAY;
        assert_eq!(period_end(T0, 30), end);
        assert!(plan_return(&lines, &[want(1, 1)], T0, 30, end - 1).is_ok());
        let refused = plan_return(&lines, &[want(1, 1)], T0, 30, end).unwrap_err();
        assert_eq!(refused, ReturnRefusal::PeriodOver { ended_at: end });
        assert!(refused.is_conflict());
        assert!(plan_return(&lines, &[want(1, 1)], T0, 60, end).is_ok());
    }

    #[test]
    fn a_sites_period_is_zero_to_ten_years() {
        assert_eq!(check_period_days(0), Ok(0));
        assert_eq!(check_period_days(30), Ok(30));
        assert_eq!(check_period_days(3650), Ok(3650));
        assert!(check_period_days(-1).is_err());
        assert!(check_period_days(3651).is_err());
        // No period: nothing may be returned.
        let lines = [line(1, 1, 100, 0)];
        assert!(plan_return(&lines, &[want(1, 1)], T0, 0, T0).is_err());
    }

    #[test]
    fn subscription_lines_are_not_returnable() {
        let mut sub = line(1, 1, 100, 0);
        sub.subscription = true;
        let refused = plan_return(&[sub], &[want(1, 1)], T0, 30, T0).unwrap_err();
        assert_eq!(refused, ReturnRefusal::Subscription(1));
        assert!(refused.is_conflict());
    }

    #[test]
    fn states_move_as_the_merchant_acts() {
        use ReturnAction::*;
        use ReturnStatus::*;
        assert_eq!(
            transition(PendingProductReturn, Accept),
            Some(ReturnAcknowledged)
        );
        assert_eq!(transition(PendingProductReturn, Refuse), Some(Refused));
        assert_eq!(
            transition(ReturnAcknowledged, Refund),
            Some(RefundedWithoutReturn)
        );
        assert_eq!(
            transition(PendingProductReturn, Refund),
            Some(RefundedWithoutReturn)
        );
        assert_eq!(transition(ReturnAcknowledged, Refuse), None);
        assert_eq!(transition(RefundedWithoutReturn, Refund), None);
        assert_eq!(transition(Refused, Accept), None);
        assert!(!Refused.holds_units());
        assert!(RefundedWithoutReturn.holds_units());
        for s in [
            PendingProductReturn,
            ReturnAcknowledged,
            RefundedWithoutReturn,
            Refused,
        ] {
            assert_eq!(ReturnStatus::parse(s.as_str()), Some(s));
        }
    }
}
