//! Satisfaction refunds over the Admin API (`admin-apis/refunds/`): the request's types,
//! categories and reason codes, its amounts parsed exactly into minor units, what is left to
//! refund per line and per order, and the documented error scenarios
//! (`refund-error-scenarios.md`) with their messages. Pure: the store runs [`plan_refund`]
//! inside the transaction that holds the order's row and counts the charge ledger.
//!
//! The model: an order's payment source was charged `total - store credit`; every refund
//! (a satisfaction refund, or a return's) is a row of the one charge ledger and gives money
//! back to that source, so the ledger never sums above the charge. A line-level refund
//! (`productRefund`, `PRODUCT_LEVEL_PRODUCT`) gives back at most what the line paid
//! (`checkout::lines_paid`) less what satisfaction refunds of the line and returns holding
//! its units (asked for or refunded) take; an order-level one (`orderRefund`,
//! `ORDER_LEVEL_PRODUCT`) at most what is left of the charge. Once an order has an
//! order-level satisfaction refund it takes no further refund (the documented "second
//! refund" scenario, and `REQUISITION_HAS_ORDER_LEVEL_SATISFACTION_REFUND` for returns).

use crate::catalog::{parse_amount, valid_currency};
use serde_json::Value;

/// The standard refund reason codes (`refund-reason-codes.md`): the code, its description and
/// whether the docs mark it required. A site cannot configure its own list here.
pub const REASON_CODES: [(&str, &str, bool); 25] = [
    ("FRAUD", "Fraud", true),
    ("MISSING_ITEMS_FROM_ORDER", "Missing Items From Order", true),
    ("NEVER_RECEIVED", "Never Received", true),
    ("CANCELLED_BUT_SHIPPED", "Cancelled But Shipped", false),
    ("CANT_DOWNLOAD", "Cannot Download", false),
    (
        "CHARGEBACK_AVOIDANCE",
        "DO NOT SELECT - System Initiated Chargeback Avoidance",
        false,
    ),
    ("CUSTOMER_ERROR", "Customer Error", false),
    (
        "CUSTOMER_SATISFACTION_ISSUE",
        "Customer Satisfaction Issue",
        false,
    ),
    ("DAMAGED_PRODUCT", "Damaged Product", false),
    ("DELAYED_SHIPPING", "Delayed Shipping", false),
    ("DUPLICATE_ORDER", "Duplicate Order", false),
    (
        "FEE_CHARGED_INCORRECTLY",
        "Fee Amount Charged Incorrectly",
        false,
    ),
    ("FEE_EXEMPT_CUSTOMER", "Fee Exempt Customer", false),
    ("MATCH_PROMOTIONAL_PRICE", "Match Promotional Price", false),
    (
        "ORDERED_WITHOUT_PERMISSION",
        "Ordered Without Permission",
        false,
    ),
    ("ORDER_PROCESSING_ERROR", "Order Processing Error", false),
    ("PHONE_ORDER_ERROR", "Phone Order Error", false),
    (
        "PRODUCT_SHOULD_NOT_HAVE_FEE",
        "Product Should Not Have a Fee",
        false,
    ),
    ("PRODUCT_TRIALWARE", "Trialware", false),
    ("REFUSED_ORDER", "Refused Order", false),
    ("TAX_EXEMPT", "Tax Exempt", false),
    (
        "UNABLE_TO_SHIP_TO_COUNTRY",
        "Unable To Ship To Country",
        false,
    ),
    ("UNDELIVERABLE_ADDRESS", "Undeliverable Address", false),
    ("VENDOR_APPROVED_REFUND", "Vendor Approved Refund", false),
    ("WRONG_PRODUCT", "Wrong Product", false),
];

/// The reason code as stored (`'static`), if `raw` is one.
pub fn reason_code(raw: &str) -> Option<&'static str> {
    REASON_CODES
        .iter()
        .map(|(code, _, _)| *code)
        .find(|code| *code == raw)
}

/// Longest `comments` kept.
pub const MAX_COMMENTS_CHARS: usize = 1000;

/// Lines one request may name (a bound on the work one request does).
pub const MAX_REFUND_LINES: usize = 100;

/// The request's `type`: a line-item level refund (`productRefund`, as the docs' example) or
/// an order-level one (`orderRefund`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundKind {
    LineItem,
    Order,
}

impl RefundKind {
    pub const REQUEST_TYPES: [&'static str; 2] = ["productRefund", "orderRefund"];

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "productRefund" => Some(RefundKind::LineItem),
            "orderRefund" => Some(RefundKind::Order),
            _ => None,
        }
    }

    /// The request's `type` that names it.
    pub fn request_type(self) -> &'static str {
        match self {
            RefundKind::LineItem => "productRefund",
            RefundKind::Order => "orderRefund",
        }
    }

    /// The refund's `type` in answers (`LineItemLevelSatisfactionRefund`,
    /// `OrderLevelSatisfactionRefund`, as the docs' answer and order files name them).
    pub fn as_str(self) -> &'static str {
        match self {
            RefundKind::LineItem => "LineItemLevelSatisfactionRefund",
            RefundKind::Order => "OrderLevelSatisfactionRefund",
        }
    }

    pub fn from_stored(raw: &str) -> Option<Self> {
        [RefundKind::LineItem, RefundKind::Order]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }
}

impl TryFrom<String> for RefundKind {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        RefundKind::from_stored(&raw).ok_or_else(|| format!("unknown refund type {raw:?}"))
    }
}

/// The request's `category`: what the money is given back for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundCategory {
    /// A line's product (`PRODUCT_LEVEL_PRODUCT`, the docs' example).
    ProductLevelProduct,
    /// A line's fees (`PRODUCT_LEVEL_FEE`): this store charges no fees on lines, so every
    /// fee type is unresolvable ("Unable to resolve fee type for the line item.").
    ProductLevelFee,
    /// The order as a whole (`ORDER_LEVEL_PRODUCT`), up to what is left of its charge.
    OrderLevelProduct,
}

impl RefundCategory {
    pub const ALL: [RefundCategory; 3] = [
        RefundCategory::ProductLevelProduct,
        RefundCategory::ProductLevelFee,
        RefundCategory::OrderLevelProduct,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefundCategory::ProductLevelProduct => "PRODUCT_LEVEL_PRODUCT",
            RefundCategory::ProductLevelFee => "PRODUCT_LEVEL_FEE",
            RefundCategory::OrderLevelProduct => "ORDER_LEVEL_PRODUCT",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    /// The kind of refund the category belongs to.
    pub fn kind(self) -> RefundKind {
        match self {
            RefundCategory::ProductLevelProduct | RefundCategory::ProductLevelFee => {
                RefundKind::LineItem
            }
            RefundCategory::OrderLevelProduct => RefundKind::Order,
        }
    }
}

impl TryFrom<String> for RefundCategory {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, String> {
        RefundCategory::parse(&raw).ok_or_else(|| format!("unknown refund category {raw:?}"))
    }
}

/// A documented refund error scenario (`refund-error-scenarios.md`). [`RefundError::message`]
/// is the documented message, [`RefundError::subcode`] the Admin API error's subcode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundError {
    /// The order is not one of the site's ("The provided Site ID was invalid or unresolved").
    RequisitionNotFound,
    /// A line id that is not one of the order's.
    LineItemNotFound,
    InvalidType,
    InvalidReason,
    InvalidCategory,
    /// The amount's currency is not the order's.
    CurrencyMismatch,
    /// Not an ISO 4217 code.
    InvalidCurrencyCode,
    /// Zero or less.
    InvalidAmount,
    /// More than is left to refund.
    ExceedsRefundable,
    /// Not a plain decimal with at most the currency's decimals.
    AmountFormat,
    InvalidFeeType,
    ReasonEmpty,
    CategoryEmpty,
    LineItemsEmpty,
    FeeListEmpty,
    /// The order already had an order-level satisfaction refund.
    SecondRefundNotAllowed,
    /// The site does not accept satisfaction refunds.
    SiteNotAllowed,
    /// A body that is not the documented object (not JSON, a field of the wrong type, too
    /// many lines, over-long comments): not a documented scenario; `String` says what.
    Malformed(String),
}

impl RefundError {
    /// The documented message.
    pub fn message(&self) -> String {
        match self {
            RefundError::RequisitionNotFound => "It cannot resolve the requisition.".into(),
            RefundError::LineItemNotFound => "Cannot resolve the line item.".into(),
            RefundError::InvalidType => "Invalid refund type.".into(),
            RefundError::InvalidReason => "Invalid refund reason.".into(),
            RefundError::InvalidCategory => "Invalid refund category.".into(),
            RefundError::CurrencyMismatch => {
                "Currency in the request does not match with the requisition or lineItem.".into()
            }
            RefundError::InvalidCurrencyCode => "The currency code is invalid.".into(),
            RefundError::InvalidAmount => "Invalid refund amount.".into(),
            RefundError::ExceedsRefundable => {
                "The requested refund amount is greater than the refundable amount.".into()
            }
            RefundError::AmountFormat => {
                "The refund amount is not a valid currency amount. valid format is (####.##)."
                    .into()
            }
            RefundError::InvalidFeeType => "Unable to resolve fee type for the line item.".into(),
            RefundError::ReasonEmpty => "Refund Reason can not be empty.".into(),
            RefundError::CategoryEmpty => "The Refund Category can not be empty.".into(),
            RefundError::LineItemsEmpty => "Requisition Line Items can not be empty.".into(),
            RefundError::FeeListEmpty => "Line Item's Fee List can not be empty.".into(),
            RefundError::SecondRefundNotAllowed => "This order does not allow a second refund. \
                 Additional refunds require that you perform a manual refund."
                .into(),
            RefundError::SiteNotAllowed => {
                "The site is not allowed to accept a satisfaction refund for the requisition."
                    .into()
            }
            RefundError::Malformed(why) => why.clone(),
        }
    }

    /// The Admin API error's subcode.
    pub fn subcode(&self) -> &'static str {
        match self {
            RefundError::RequisitionNotFound => "requisition-not-found",
            RefundError::LineItemNotFound => "line-item-not-found",
            RefundError::InvalidType => "invalid-refund-type",
            RefundError::InvalidReason => "invalid-refund-reason",
            RefundError::InvalidCategory => "invalid-refund-category",
            RefundError::CurrencyMismatch => "currency-mismatch",
            RefundError::InvalidCurrencyCode => "invalid-currency-code",
            RefundError::InvalidAmount => "invalid-refund-amount",
            RefundError::ExceedsRefundable => "refund-amount-exceeds-refundable-amount",
            RefundError::AmountFormat => "invalid-refund-amount-format",
            RefundError::InvalidFeeType => "invalid-fee-type",
            RefundError::ReasonEmpty => "refund-reason-empty",
            RefundError::CategoryEmpty => "refund-category-empty",
            RefundError::LineItemsEmpty => "line-items-empty",
            RefundError::FeeListEmpty => "fee-list-empty",
            RefundError::SecondRefundNotAllowed => "second-refund-not-allowed",
            RefundError::SiteNotAllowed => "satisfaction-refund-not-allowed",
            RefundError::Malformed(_) => "invalid-request-body",
        }
    }

    /// Whether the answer is a 404 (the order is not found); every other one is a 400.
    pub fn not_found(&self) -> bool {
        matches!(self, RefundError::RequisitionNotFound)
    }
}

/// A parsed request: what to give back, in minor units of the order's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub kind: RefundKind,
    pub category: RefundCategory,
    pub reason: &'static str,
    pub comments: String,
    /// Line-level: `(line id, amount)` in the request's order; empty for an order-level one.
    pub lines: Vec<(i64, i64)>,
    /// Order-level: the amount; for a line-level one the sum of its lines.
    pub amount_minor: i64,
}

fn text<'a>(body: &'a Value, field: &str) -> Result<Option<&'a str>, RefundError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(_) => Err(RefundError::Malformed(format!("{field} must be a string"))),
    }
}

/// `{"value": 139.23, "currency": "EUR"}` in minor units of `currency` (the order's). The
/// value is a JSON number as the docs write it, or the same digits as a string. A JSON
/// number reaches here as the shortest decimal text that reads back as the same binary
/// double (serde_json's `to_string`), which is the text the client wrote for any amount of
/// up to 15 significant digits, more than the largest accepted amount has.
pub fn parse_refund_amount(raw: Option<&Value>, currency: &str) -> Result<i64, RefundError> {
    let Some(Value::Object(amount)) = raw else {
        return Err(RefundError::InvalidAmount);
    };
    if let Some(code) = amount.get("currency").filter(|c| !c.is_null()) {
        let Some(code) = code.as_str() else {
            return Err(RefundError::InvalidCurrencyCode);
        };
        if !valid_currency(code) {
            return Err(RefundError::InvalidCurrencyCode);
        }
        if code != currency {
            return Err(RefundError::CurrencyMismatch);
        }
    }
    let text = match amount.get("value") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        None | Some(Value::Null) => return Err(RefundError::InvalidAmount),
        Some(_) => return Err(RefundError::AmountFormat),
    };
    if let Some(negative) = text.strip_prefix('-') {
        // A negative amount in the documented format is "0 or less", not a bad format.
        return match parse_amount(&Value::String(negative.to_string()), currency) {
            Ok(_) => Err(RefundError::InvalidAmount),
            Err(_) => Err(RefundError::AmountFormat),
        };
    }
    match parse_amount(&Value::String(text), currency) {
        Ok(0) => Err(RefundError::InvalidAmount),
        Ok(minor) => Ok(minor),
        Err(_) => Err(RefundError::AmountFormat),
    }
}

fn line_id(raw: Option<&Value>) -> Result<i64, RefundError> {
    let id = match raw {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    id.filter(|id| *id > 0).ok_or(RefundError::LineItemNotFound)
}

/// Parses the documented body against the order's `currency`, in the order the scenarios
/// are checked: type, reason, category (and that it fits the type), then the lines or the
/// order's amount. Whether the lines are the order's and the amounts are left to refund is
/// [`plan_refund`]'s, inside the store's transaction.
pub fn parse_request(body: &Value, currency: &str) -> Result<RefundRequest, RefundError> {
    if !body.is_object() {
        return Err(RefundError::Malformed(
            "the body must be a JSON object".into(),
        ));
    }
    let kind = text(body, "type")?
        .and_then(RefundKind::parse)
        .ok_or(RefundError::InvalidType)?;
    let reason = match text(body, "reason")? {
        None | Some("") => return Err(RefundError::ReasonEmpty),
        Some(raw) => reason_code(raw).ok_or(RefundError::InvalidReason)?,
    };
    let category = match text(body, "category")? {
        None | Some("") => return Err(RefundError::CategoryEmpty),
        Some(raw) => RefundCategory::parse(raw)
            .filter(|c| c.kind() == kind)
            .ok_or(RefundError::InvalidCategory)?,
    };
    let comments = text(body, "comments")?.unwrap_or("").to_string();
    if comments.chars().count() > MAX_COMMENTS_CHARS {
        return Err(RefundError::Malformed(format!(
            "comments are at most {MAX_COMMENTS_CHARS} characters"
        )));
    }
    let items = match body.get("lineItems") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            return Err(RefundError::Malformed("lineItems must be an array".into()));
        }
    };
    match kind {
        RefundKind::Order => {
            let amount_minor = parse_refund_amount(body.get("refundAmount"), currency)?;
            Ok(RefundRequest {
                kind,
                category,
                reason,
                comments,
                lines: Vec::new(),
                amount_minor,
            })
        }
        RefundKind::LineItem => {
            if items.is_empty() {
                return Err(RefundError::LineItemsEmpty);
            }
            if items.len() > MAX_REFUND_LINES {
                return Err(RefundError::Malformed(format!(
                    "a refund names at most {MAX_REFUND_LINES} line items"
                )));
            }
            let mut lines = Vec::with_capacity(items.len());
            for item in &items {
                if !item.is_object() {
                    return Err(RefundError::Malformed(
                        "each line item must be an object".into(),
                    ));
                }
                let id = line_id(item.get("lineItemId"))?;
                if category == RefundCategory::ProductLevelFee {
                    let fees = item
                        .get("lineItemFees")
                        .and_then(Value::as_array)
                        .filter(|fees| !fees.is_empty())
                        .ok_or(RefundError::FeeListEmpty)?;
                    // No line of this store carries a fee: no fee type resolves.
                    let _ = fees;
                    return Err(RefundError::InvalidFeeType);
                }
                let amount = parse_refund_amount(item.get("refundAmount"), currency)?;
                lines.push((id, amount));
            }
            let amount_minor = lines
                .iter()
                .try_fold(0i64, |sum, (_, a)| sum.checked_add(*a))
                .ok_or(RefundError::ExceedsRefundable)?;
            Ok(RefundRequest {
                kind,
                category,
                reason,
                comments,
                lines,
                amount_minor,
            })
        }
    }
}

/// A line of the order as the refund rules see it (all minor units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundableLine {
    pub id: i64,
    /// What the line paid for its goods (`checkout::lines_paid`).
    pub paid_minor: i64,
    /// What satisfaction refunds of the line gave back.
    pub satisfaction_refunded_minor: i64,
    /// What refunded returns of its units gave back.
    pub returns_refunded_minor: i64,
    /// What returns still holding its units (asked for or accepted, not yet refunded) will
    /// give back.
    pub returns_pending_minor: i64,
}

impl RefundableLine {
    /// What the line gave back so far (`amountRefunded`).
    pub fn refunded_minor(&self) -> i64 {
        self.satisfaction_refunded_minor + self.returns_refunded_minor
    }

    /// What is left of the line, before the order's cap.
    fn left_minor(&self) -> i64 {
        (self.paid_minor
            - self.satisfaction_refunded_minor
            - self.returns_refunded_minor
            - self.returns_pending_minor)
            .max(0)
    }
}

/// An order as the refund rules see it, counted under its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refundable {
    pub currency: String,
    /// What the order's payment source was charged (its total less store credit).
    pub charged_minor: i64,
    /// The order's tax and shipping, as stored (shown by part in `refunds-available`).
    pub tax_minor: i64,
    pub shipping_minor: i64,
    /// The sum of the charge ledger's rows of the order (every refund given back).
    pub ledger_minor: i64,
    /// What returns holding units but not yet refunded will give back.
    pub returns_pending_minor: i64,
    /// Whether the order had an order-level satisfaction refund.
    pub order_level_refunded: bool,
    /// Whether the order's site accepts satisfaction refunds.
    pub site_allows: bool,
    pub lines: Vec<RefundableLine>,
}

impl Refundable {
    /// What is left of the charge to give back (`amountAvailableForRefund` of the order).
    pub fn order_available_minor(&self) -> i64 {
        if self.order_level_refunded || !self.site_allows {
            return 0;
        }
        (self.charged_minor - self.ledger_minor - self.returns_pending_minor).max(0)
    }

    /// What a line-level refund may still give back for `line`.
    pub fn line_available_minor(&self, line: &RefundableLine) -> i64 {
        line.left_minor().min(self.order_available_minor())
    }
}

/// What a refund writes: its lines (line id, amount; one per line, in the request's order)
/// and its total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPlan {
    pub lines: Vec<(i64, i64)>,
    pub total_minor: i64,
}

/// Checks `request` against what is left of the order: the lines are the order's, each
/// line's amounts (a line named twice counts once with their sum) within what is left of it,
/// and the total within what is left of the charge.
pub fn plan_refund(request: &RefundRequest, order: &Refundable) -> Result<RefundPlan, RefundError> {
    if !order.site_allows {
        return Err(RefundError::SiteNotAllowed);
    }
    if order.order_level_refunded {
        return Err(RefundError::SecondRefundNotAllowed);
    }
    let mut lines: Vec<(i64, i64)> = Vec::new();
    for (id, amount) in &request.lines {
        if !order.lines.iter().any(|l| l.id == *id) {
            return Err(RefundError::LineItemNotFound);
        }
        match lines.iter_mut().find(|(l, _)| l == id) {
            Some((_, sum)) => {
                *sum = sum
                    .checked_add(*amount)
                    .ok_or(RefundError::ExceedsRefundable)?;
            }
            None => lines.push((*id, *amount)),
        }
    }
    for (id, amount) in &lines {
        let line = order
            .lines
            .iter()
            .find(|l| l.id == *id)
            .ok_or(RefundError::LineItemNotFound)?;
        if *amount > line.left_minor() {
            return Err(RefundError::ExceedsRefundable);
        }
    }
    if request.amount_minor > order.order_available_minor() {
        return Err(RefundError::ExceedsRefundable);
    }
    Ok(RefundPlan {
        lines,
        total_minor: request.amount_minor,
    })
}

/// The refund's `status`: given back at once to the simulated payment source, with nothing
/// to come back (the return states' `RefundedWithoutReturn`).
pub const REFUNDED_STATUS: &str = "RefundedWithoutReturn";

/// The `policy` of a satisfaction refund: nothing comes back.
pub const POLICY: &str = "NothingRequired";

/// The `origin` of a refund made over the Admin API.
pub const ORIGIN: &str = "CUSTOMER_SERVICE";

/// The draft-04 JSON Schema of the request body (`GET orders/{orderId}/refunds/schema`) for an
/// order in `currency`: the types, categories and reason codes accepted, the amount's form,
/// and which of `lineItems` and `refundAmount` each type needs.
pub fn request_schema(currency: &str) -> Value {
    let decimals = crate::catalog::currency_exponent(currency);
    let pattern = if decimals == 0 {
        "^[0-9]+$".to_string()
    } else {
        format!("^[0-9]+(\\.[0-9]{{1,{decimals}}})?$")
    };
    let amount = serde_json::json!({
        "type": "object",
        "required": ["value"],
        "properties": {
            "value": {
                "description": format!(
                    "More than 0, at most {decimals} decimals (####.##); a JSON number or \
                     the same digits as a string"
                ),
                "oneOf": [
                    {"type": "number", "exclusiveMinimum": true, "minimum": 0},
                    {"type": "string", "pattern": pattern}
                ]
            },
            "currency": {"type": "string", "enum": [currency]}
        }
    });
    let reasons: Vec<&str> = REASON_CODES.iter().map(|(code, _, _)| *code).collect();
    let line_categories = [
        RefundCategory::ProductLevelProduct.as_str(),
        RefundCategory::ProductLevelFee.as_str(),
    ];
    serde_json::json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "Satisfaction refund",
        "type": "object",
        "required": ["type", "category", "reason"],
        "properties": {
            "type": {"type": "string", "enum": RefundKind::REQUEST_TYPES},
            "category": {
                "type": "string",
                "enum": RefundCategory::ALL.map(RefundCategory::as_str)
            },
            "reason": {"type": "string", "enum": reasons},
            "comments": {"type": "string", "maxLength": MAX_COMMENTS_CHARS},
            "refundAmount": amount,
            "lineItems": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_REFUND_LINES,
                "items": {
                    "type": "object",
                    "required": ["lineItemId", "refundAmount"],
                    "properties": {
                        "lineItemId": {"type": ["string", "integer"]},
                        "refundAmount": amount,
                        "lineItemFees": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["feeType", "refundAmount"],
                                "properties": {
                                    "feeType": {"type": "string"},
                                    "refundAmount": amount
                                }
                            }
                        }
                    }
                }
            }
        },
        "oneOf": [
            {
                "description": "A line-item level refund: each line and what it gives back",
                "properties": {
                    "type": {"enum": [RefundKind::LineItem.request_type()]},
                    "category": {"enum": line_categories}
                },
                "required": ["lineItems"]
            },
            {
                "description": "An order-level refund: the amount, up to what is left of the charge",
                "properties": {
                    "type": {"enum": [RefundKind::Order.request_type()]},
                    "category": {"enum": [RefundCategory::OrderLevelProduct.as_str()]}
                },
                "required": ["refundAmount"]
            }
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line_body(amount: Value) -> Value {
        json!({
            "type": "productRefund",
            "category": "PRODUCT_LEVEL_PRODUCT",
            "reason": "CUSTOMER_SATISFACTION_ISSUE",
            "comments": "Test Product Refund",
            "lineItems": [{"lineItemId": "51274910082", "refundAmount": amount}]
        })
    }

    fn parse_line(amount: Value) -> Result<RefundRequest, RefundError> {
        parse_request(&line_body(amount), "EUR")
    }

    #[test]
    fn the_docs_example_parses_exactly() {
        let r = parse_line(json!({"value": 139.23, "currency": "EUR"})).unwrap();
        assert_eq!(r.kind, RefundKind::LineItem);
        assert_eq!(r.category, RefundCategory::ProductLevelProduct);
        assert_eq!(r.reason, "CUSTOMER_SATISFACTION_ISSUE");
        assert_eq!(r.comments, "Test Product Refund");
        assert_eq!(r.lines, vec![(51274910082, 13923)]);
        assert_eq!(r.amount_minor, 13923);
    }

    #[test]
    fn amounts_parse_to_exact_minor_units() {
        let minor =
            |v: Value| parse_refund_amount(Some(&json!({"value": v, "currency": "EUR"})), "EUR");
        assert_eq!(minor(json!(0.1)), Ok(10));
        assert_eq!(minor(json!(0.29)), Ok(29));
        assert_eq!(minor(json!(1.15)), Ok(115));
        assert_eq!(minor(json!(20)), Ok(2000));
        assert_eq!(minor(json!(5.0)), Ok(500));
        assert_eq!(minor(json!("139.23")), Ok(13923));
        assert_eq!(minor(json!(99999999.99)), Ok(9_999_999_999));
        assert_eq!(minor(json!(1.234)), Err(RefundError::AmountFormat));
        assert_eq!(minor(json!("1.2.3")), Err(RefundError::AmountFormat));
        assert_eq!(minor(json!("1e3")), Err(RefundError::AmountFormat));
        assert_eq!(minor(json!(1e21)), Err(RefundError::AmountFormat));
        assert_eq!(minor(json!(true)), Err(RefundError::AmountFormat));
        assert_eq!(minor(json!(0)), Err(RefundError::InvalidAmount));
        assert_eq!(minor(json!(0.0)), Err(RefundError::InvalidAmount));
        assert_eq!(minor(json!(-5)), Err(RefundError::InvalidAmount));
        assert_eq!(minor(json!(-0.5)), Err(RefundError::InvalidAmount));
        assert_eq!(minor(json!("-1.234")), Err(RefundError::AmountFormat));
        assert_eq!(minor(Value::Null), Err(RefundError::InvalidAmount));
        // JPY has no decimals; BHD three.
        let jpy = |v: Value| parse_refund_amount(Some(&json!({"value": v})), "JPY");
        assert_eq!(jpy(json!(100)), Ok(100));
        assert_eq!(jpy(json!(100.5)), Err(RefundError::AmountFormat));
        let bhd = |v: Value| parse_refund_amount(Some(&json!({"value": v})), "BHD");
        assert_eq!(bhd(json!(1.234)), Ok(1234));
    }

    #[test]
    fn currencies_are_checked() {
        assert_eq!(
            parse_line(json!({"value": 1, "currency": "USD"})),
            Err(RefundError::CurrencyMismatch)
        );
        assert_eq!(
            parse_line(json!({"value": 1, "currency": "EURO"})),
            Err(RefundError::InvalidCurrencyCode)
        );
        assert_eq!(
            parse_line(json!({"value": 1, "currency": 5})),
            Err(RefundError::InvalidCurrencyCode)
        );
        assert_eq!(parse_line(json!({"value": 1})).unwrap().amount_minor, 100);
        assert_eq!(parse_line(json!(1)), Err(RefundError::InvalidAmount));
    }

    #[test]
    fn each_scenario_is_found_in_order() {
        let mut b = line_body(json!({"value": 1}));
        b["type"] = json!("refund");
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::InvalidType));
        b["type"] = json!("productRefund");
        b["reason"] = json!("");
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::ReasonEmpty));
        b.as_object_mut().unwrap().remove("reason");
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::ReasonEmpty));
        b["reason"] = json!("BORED");
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::InvalidReason));
        b["reason"] = json!("FRAUD");
        b["category"] = json!(" ");
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::CategoryEmpty));
        b["category"] = json!("PRODUCT_LEVEL_TAX");
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::InvalidCategory));
        // A category of the other type.
        b["category"] = json!("ORDER_LEVEL_PRODUCT");
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::InvalidCategory));
        b["category"] = json!("PRODUCT_LEVEL_PRODUCT");
        b["lineItems"] = json!([]);
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::LineItemsEmpty));
        b["lineItems"] = json!([{"lineItemId": "x", "refundAmount": {"value": 1}}]);
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::LineItemNotFound));
        b["category"] = json!("PRODUCT_LEVEL_FEE");
        b["lineItems"] = json!([{"lineItemId": 7, "refundAmount": {"value": 1}}]);
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::FeeListEmpty));
        b["lineItems"][0]["lineItemFees"] =
            json!([{"feeType": "RECYCLING", "refundAmount": {"value": 1, "currency": "EUR"}}]);
        assert_eq!(parse_request(&b, "EUR"), Err(RefundError::InvalidFeeType));
        assert!(matches!(
            parse_request(&json!([1]), "EUR"),
            Err(RefundError::Malformed(_))
        ));
    }

    #[test]
    fn an_order_level_request_takes_its_own_amount() {
        let body = json!({
            "type": "orderRefund", "category": "ORDER_LEVEL_PRODUCT", "reason": "DUPLICATE_ORDER",
            "refundAmount": {"value": "10.50", "currency": "USD"}
        });
        let r = parse_request(&body, "USD").unwrap();
        assert_eq!(r.kind, RefundKind::Order);
        assert_eq!(r.amount_minor, 1050);
        assert!(r.lines.is_empty());
        let mut bad = body.clone();
        bad.as_object_mut().unwrap().remove("refundAmount");
        assert_eq!(parse_request(&bad, "USD"), Err(RefundError::InvalidAmount));
    }

    #[test]
    fn every_documented_reason_code_is_accepted() {
        assert_eq!(REASON_CODES.len(), 25);
        for (code, _, _) in REASON_CODES {
            assert_eq!(reason_code(code), Some(code));
        }
        assert_eq!(reason_code("fraud"), None);
    }

    fn order() -> Refundable {
        Refundable {
            currency: "USD".into(),
            charged_minor: 10_000,
            tax_minor: 0,
            shipping_minor: 0,
            ledger_minor: 0,
            returns_pending_minor: 0,
            order_level_refunded: false,
            site_allows: true,
            lines: vec![
                RefundableLine {
                    id: 1,
                    paid_minor: 6_000,
                    satisfaction_refunded_minor: 0,
                    returns_refunded_minor: 0,
                    returns_pending_minor: 0,
                },
                RefundableLine {
                    id: 2,
                    paid_minor: 3_000,
                    satisfaction_refunded_minor: 0,
                    returns_refunded_minor: 0,
                    returns_pending_minor: 0,
                },
            ],
        }
    }

    fn lines(lines: &[(i64, i64)]) -> RefundRequest {
        RefundRequest {
            kind: RefundKind::LineItem,
            category: RefundCategory::ProductLevelProduct,
            reason: "FRAUD",
            comments: String::new(),
            lines: lines.to_vec(),
            amount_minor: lines.iter().map(|l| l.1).sum(),
        }
    }

    fn whole(amount: i64) -> RefundRequest {
        RefundRequest {
            kind: RefundKind::Order,
            category: RefundCategory::OrderLevelProduct,
            reason: "FRAUD",
            comments: String::new(),
            lines: Vec::new(),
            amount_minor: amount,
        }
    }

    #[test]
    fn a_line_gives_back_at_most_what_it_paid_less_what_it_gave() {
        let mut o = order();
        assert_eq!(
            plan_refund(&lines(&[(1, 6_000)]), &o).unwrap().total_minor,
            6_000
        );
        assert_eq!(
            plan_refund(&lines(&[(1, 6_001)]), &o),
            Err(RefundError::ExceedsRefundable)
        );
        // Named twice: the sum counts.
        assert_eq!(
            plan_refund(&lines(&[(1, 3_000), (1, 3_001)]), &o),
            Err(RefundError::ExceedsRefundable)
        );
        assert_eq!(
            plan_refund(&lines(&[(1, 1_000), (1, 500), (2, 1)]), &o)
                .unwrap()
                .lines,
            vec![(1, 1_500), (2, 1)]
        );
        assert_eq!(
            plan_refund(&lines(&[(3, 1)]), &o),
            Err(RefundError::LineItemNotFound)
        );
        // Earlier satisfaction refunds, refunded returns and returns still pending all count.
        o.lines[0].satisfaction_refunded_minor = 1_000;
        o.lines[0].returns_refunded_minor = 2_000;
        o.lines[0].returns_pending_minor = 2_000;
        o.ledger_minor = 3_000;
        o.returns_pending_minor = 2_000;
        assert_eq!(o.line_available_minor(&o.lines[0]), 1_000);
        assert_eq!(o.lines[0].refunded_minor(), 3_000);
        assert!(plan_refund(&lines(&[(1, 1_000)]), &o).is_ok());
        assert_eq!(
            plan_refund(&lines(&[(1, 1_001)]), &o),
            Err(RefundError::ExceedsRefundable)
        );
    }

    #[test]
    fn the_order_gives_back_at_most_its_charge() {
        let mut o = order();
        assert_eq!(o.order_available_minor(), 10_000);
        assert!(plan_refund(&whole(10_000), &o).is_ok());
        assert_eq!(
            plan_refund(&whole(10_001), &o),
            Err(RefundError::ExceedsRefundable)
        );
        // A charge mostly given back caps a line below what it paid.
        o.ledger_minor = 9_500;
        assert_eq!(o.line_available_minor(&o.lines[1]), 500);
        assert_eq!(
            plan_refund(&lines(&[(2, 501)]), &o),
            Err(RefundError::ExceedsRefundable)
        );
        // Nothing follows an order-level refund.
        o.ledger_minor = 100;
        o.order_level_refunded = true;
        assert_eq!(o.order_available_minor(), 0);
        assert_eq!(
            plan_refund(&lines(&[(2, 1)]), &o),
            Err(RefundError::SecondRefundNotAllowed)
        );
        // A site that does not accept them: nothing is available, and the documented refusal.
        let mut o = order();
        o.site_allows = false;
        assert_eq!(o.order_available_minor(), 0);
        assert_eq!(plan_refund(&whole(1), &o), Err(RefundError::SiteNotAllowed));
    }

    #[test]
    fn the_schema_names_what_the_parser_accepts() {
        let schema = request_schema("EUR");
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-04/schema#");
        let p = &schema["properties"];
        assert_eq!(p["reason"]["enum"].as_array().unwrap().len(), 25);
        assert_eq!(p["type"]["enum"], json!(["productRefund", "orderRefund"]));
        assert_eq!(
            p["category"]["enum"],
            json!([
                "PRODUCT_LEVEL_PRODUCT",
                "PRODUCT_LEVEL_FEE",
                "ORDER_LEVEL_PRODUCT"
            ])
        );
        assert_eq!(
            p["refundAmount"]["properties"]["value"]["oneOf"][1]["pattern"],
            "^[0-9]+(\\.[0-9]{1,2})?$"
        );
        assert_eq!(
            request_schema("JPY")["properties"]["refundAmount"]["properties"]["value"]["oneOf"][1]
                ["pattern"],
            "^[0-9]+$"
        );
        // Each enum value parses.
        for t in RefundKind::REQUEST_TYPES {
            assert!(RefundKind::parse(t).is_some());
        }
    }

    #[test]
    fn every_error_has_its_documented_message() {
        assert_eq!(
            RefundError::ExceedsRefundable.message(),
            "The requested refund amount is greater than the refundable amount."
        );
        assert_eq!(
            RefundError::AmountFormat.message(),
            "The refund amount is not a valid currency amount. valid format is (####.##)."
        );
        assert!(RefundError::RequisitionNotFound.not_found());
        assert!(!RefundError::InvalidAmount.not_found());
    }
}
