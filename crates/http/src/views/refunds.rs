//! Refunds as the Admin API's docs show them (`admin-apis/refunds/`): `{"refunds": [...]}`
//! for the order's refunds (`GET`) and the new one (`POST`), each with its totals as
//! `{value, formattedValue}` and its lines; and what is left to refund
//! (`refunds-available`): per line and for the order, `amount`, `amountAvailableForRefund`
//! and `amountRefunded`.

use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::catalog::{amount_value, formatted};
use shopkeeper_domain::checkout::{allocate, line_taxes};
use shopkeeper_domain::refunds::{self, Refundable};
use shopkeeper_domain::time::iso8601;
use shopkeeper_store::{OrderLineRecord, SatisfactionRefundLineRecord, SatisfactionRefundRecord};
use utoipa::ToSchema;

/// `{"value": 139.23, "formattedValue": "139.23 EUR"}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    /// The exact decimal amount (from integer minor units), as a JSON number.
    #[schema(value_type = f64)]
    pub value: Value,
    pub formatted_value: String,
}

impl Amount {
    pub fn new(minor: i64, currency: &str) -> Self {
        Amount {
            value: amount_value(minor, currency),
            formatted_value: formatted(minor, currency),
        }
    }
}

/// `{"refunds": [...]}`
#[derive(Debug, Serialize, ToSchema)]
pub struct RefundsEnvelope {
    pub refunds: Vec<RefundView>,
}

/// One satisfaction refund.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    pub id: String,
    /// `RefundedWithoutReturn`: the money went back to the payment source at once, and
    /// nothing comes back.
    pub status: &'static str,
    pub reason: String,
    pub comments: String,
    /// `LineItemLevelSatisfactionRefund` or `OrderLevelSatisfactionRefund`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The request's category (`PRODUCT_LEVEL_PRODUCT`, `ORDER_LEVEL_PRODUCT`).
    pub category: &'static str,
    pub generation_date: String,
    /// The staff user who made it.
    pub generated_by: String,
    /// `CUSTOMER_SERVICE`.
    pub origin: &'static str,
    /// `NothingRequired`.
    pub policy: &'static str,
    pub currency: String,
    pub total_refunded: Amount,
    pub outstanding: Amount,
    pub total_requested: Amount,
    /// The lines a line-item level refund gave back for (empty for an order-level one).
    pub line_items: Vec<RefundLineView>,
}

/// A line of a refund.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundLineView {
    pub status: &'static str,
    /// Always 0: nothing comes back for a satisfaction refund.
    pub expected_quantity: i64,
    pub returned_quantity: i64,
    /// `Physical` or `Download`: the product's kind.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `Nothing Required`.
    pub notes: &'static str,
    pub date: String,
    pub product: RefundProduct,
    pub line_item_id: String,
    /// What the refund gave back for the line.
    pub refund_amount: Amount,
}

/// `{"companyId", "id", "externalId"}`: the site, the product's id and its SKU.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundProduct {
    pub company_id: String,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

impl RefundView {
    pub fn new(
        r: &SatisfactionRefundRecord,
        lines: &[SatisfactionRefundLineRecord],
        order_lines: &[OrderLineRecord],
    ) -> Self {
        let currency = r.currency.as_str();
        let date = iso8601(r.created_at);
        let line_items = lines
            .iter()
            .filter(|l| l.refund_id == r.id)
            .map(|l| {
                let ordered = order_lines.iter().find(|o| o.id == l.line_item_id);
                RefundLineView {
                    status: refunds::REFUNDED_STATUS,
                    expected_quantity: 0,
                    returned_quantity: 0,
                    kind: if ordered.is_some_and(|o| o.product_type == "PHYSICAL") {
                        "Physical"
                    } else {
                        "Download"
                    },
                    notes: "Nothing Required",
                    date: date.clone(),
                    product: RefundProduct {
                        company_id: r.site_id.to_string(),
                        id: ordered
                            .map(|o| o.product_id.to_string())
                            .unwrap_or_default(),
                        external_id: ordered.map(|o| o.sku.clone()),
                    },
                    line_item_id: l.line_item_id.to_string(),
                    refund_amount: Amount::new(l.amount_minor, currency),
                }
            })
            .collect();
        RefundView {
            id: r.id.to_string(),
            status: refunds::REFUNDED_STATUS,
            reason: r.reason.clone(),
            comments: r.comments.clone(),
            kind: r.kind.as_str(),
            category: r.category.as_str(),
            generation_date: date,
            generated_by: r.generated_by.clone(),
            origin: refunds::ORIGIN,
            policy: refunds::POLICY,
            currency: r.currency.clone(),
            total_refunded: Amount::new(r.amount_minor, currency),
            outstanding: Amount::new(0, currency),
            total_requested: Amount::new(r.amount_minor, currency),
            line_items,
        }
    }
}

/// `{"amount", "amountAvailableForRefund", "amountRefunded"}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub amount: Amount,
    pub amount_available_for_refund: Amount,
    pub amount_refunded: Amount,
}

impl Availability {
    fn new(amount: i64, available: i64, refunded: i64, currency: &str) -> Self {
        Availability {
            amount: Amount::new(amount, currency),
            amount_available_for_refund: Amount::new(available, currency),
            amount_refunded: Amount::new(refunded, currency),
        }
    }
}

/// The parts of a price. Refunds here give back goods (a line) or any of the charge (the
/// order) and are counted in `total` only: each other part shows its amount (the line's share
/// of the order's tax and shipping, split as the order's lines show them; no duties or fees
/// here, so 0), with nothing available or refunded against the part by itself.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundPrice {
    pub total: Availability,
    pub total_tax: Availability,
    pub total_shipping: Availability,
    pub total_shipping_tax: Availability,
    pub total_duties_and_tariffs: Availability,
    pub total_duties_and_tariffs_tax: Availability,
    pub total_fee: Availability,
    pub total_fee_tax: Availability,
}

impl RefundPrice {
    /// `total`, and the parts' amounts `(tax, shipping, shipping tax)`.
    fn new(
        total: Availability,
        (tax, shipping, shipping_tax): (i64, i64, i64),
        currency: &str,
    ) -> Self {
        let part = |amount: i64| Availability::new(amount, 0, 0, currency);
        RefundPrice {
            total,
            total_tax: part(tax),
            total_shipping: part(shipping),
            total_shipping_tax: part(shipping_tax),
            total_duties_and_tariffs: part(0),
            total_duties_and_tariffs_tax: part(0),
            total_fee: part(0),
            total_fee_tax: part(0),
        }
    }
}

/// A line of `refunds-available`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailableLine {
    pub line_item_id: String,
    /// `amount`: what the line paid; `amountRefunded`: what satisfaction refunds and
    /// refunded returns gave back for it; `amountAvailableForRefund`: what a line-item level
    /// refund may still give back.
    pub price: RefundPrice,
    pub product: RefundProduct,
    /// Null, as the docs show.
    #[schema(value_type = Option<String>)]
    pub status: Option<String>,
}

/// `GET orders/{orderId}/refunds-available`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundsAvailable {
    pub currency: String,
    pub line_items: Vec<AvailableLine>,
    /// `amount`: what the payment source was charged; `amountRefunded`: the ledger's sum;
    /// `amountAvailableForRefund`: what an order-level refund may still give back.
    pub price: RefundPrice,
    /// The order's status (`Submitted`).
    pub status: String,
}

impl RefundsAvailable {
    pub fn new(site: &str, status: &str, r: &Refundable, order_lines: &[OrderLineRecord]) -> Self {
        let currency = r.currency.as_str();
        // Each line's part of the order's tax (on its goods, on shipping) and shipping, as the
        // order's own lines split them: shipping falls on the lines that ship.
        let ships = |id: i64| {
            order_lines
                .iter()
                .any(|o| o.id == id && o.product_type == "PHYSICAL")
        };
        let shares: Vec<(i64, bool)> = r
            .lines
            .iter()
            .map(|l| (l.paid_minor, ships(l.id)))
            .collect();
        let taxes = line_taxes(r.tax_minor, r.shipping_minor, &shares);
        let shipped: Vec<i64> = shares
            .iter()
            .map(|(paid, ships)| if *ships { (*paid).max(1) } else { 0 })
            .collect();
        let shipping = allocate(r.shipping_minor, &shipped);
        let line_items = r
            .lines
            .iter()
            .zip(taxes.iter().zip(&shipping))
            .map(|(l, ((product_tax, shipping_tax), shipping))| {
                let ordered = order_lines.iter().find(|o| o.id == l.id);
                AvailableLine {
                    line_item_id: l.id.to_string(),
                    price: RefundPrice::new(
                        Availability::new(
                            l.paid_minor,
                            r.line_available_minor(l),
                            l.refunded_minor(),
                            currency,
                        ),
                        (*product_tax, *shipping, *shipping_tax),
                        currency,
                    ),
                    product: RefundProduct {
                        company_id: site.to_string(),
                        id: ordered
                            .map(|o| o.product_id.to_string())
                            .unwrap_or_default(),
                        external_id: ordered.map(|o| o.sku.clone()),
                    },
                    status: None,
                }
            })
            .collect();
        RefundsAvailable {
            currency: r.currency.clone(),
            line_items,
            price: RefundPrice::new(
                Availability::new(
                    r.charged_minor,
                    r.order_available_minor(),
                    r.ledger_minor,
                    currency,
                ),
                (
                    taxes.iter().map(|t| t.0).sum(),
                    r.shipping_minor,
                    taxes.iter().map(|t| t.1).sum(),
                ),
                currency,
            ),
            status: status.to_string(),
        }
    }
}
