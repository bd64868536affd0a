//! Money: an amount in a currency, and a cart's or an order's totals.

use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::catalog::{amount_value, formatted};
use shopkeeper_domain::checkout::Totals;
use utoipa::ToSchema;

/// `{"currency": "USD", "value": 19.99}` (the value a JSON number when it reads as one).
#[derive(Debug, Serialize, ToSchema)]
pub struct Money<'a> {
    pub currency: &'a str,
    /// The exact decimal amount (from integer minor units), as a JSON number.
    #[schema(value_type = f64)]
    pub value: Value,
}

impl<'a> Money<'a> {
    pub fn new(minor: i64, currency: &'a str) -> Self {
        Money {
            currency,
            value: amount_value(minor, currency),
        }
    }
}

/// The `pricing` object of a cart or an order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pricing<'a> {
    pub subtotal: Money<'a>,
    pub subtotal_with_discount: Money<'a>,
    pub discount: Money<'a>,
    pub shipping_and_handling: Money<'a>,
    pub tax: Money<'a>,
    /// No landed costs here: always zero in the cart's currency.
    pub import_tax_and_duty: Money<'a>,
    pub order_total: Money<'a>,
    pub formatted_subtotal: String,
    pub formatted_subtotal_with_discount: String,
    pub formatted_discount: String,
    pub formatted_shipping_and_handling: String,
    pub formatted_tax: String,
    pub formatted_import_tax_and_duty: String,
    pub formatted_order_total: String,
}

impl<'a> Pricing<'a> {
    pub fn new(t: &Totals, currency: &'a str) -> Self {
        let with_discount = t.subtotal - t.discount;
        Pricing {
            subtotal: Money::new(t.subtotal, currency),
            subtotal_with_discount: Money::new(with_discount, currency),
            discount: Money::new(t.discount, currency),
            shipping_and_handling: Money::new(t.shipping, currency),
            tax: Money::new(t.tax, currency),
            import_tax_and_duty: Money::new(0, currency),
            order_total: Money::new(t.total, currency),
            formatted_subtotal: formatted(t.subtotal, currency),
            formatted_subtotal_with_discount: formatted(with_discount, currency),
            formatted_discount: formatted(t.discount, currency),
            formatted_shipping_and_handling: formatted(t.shipping, currency),
            formatted_tax: formatted(t.tax, currency),
            formatted_import_tax_and_duty: formatted(0, currency),
            formatted_order_total: formatted(t.total, currency),
        }
    }
}
