//! Money: an amount in a currency, and a cart's or an order's totals.

use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::catalog::{amount_value, formatted};
use shopkeeper_domain::checkout::Totals;

/// `{"currency": "USD", "value": 19.99}` (the value a JSON number when it reads as one).
#[derive(Debug, Serialize)]
pub struct Money<'a> {
    pub currency: &'a str,
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
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pricing<'a> {
    pub subtotal: Money<'a>,
    pub discount: Money<'a>,
    pub shipping_and_handling: Money<'a>,
    pub tax: Money<'a>,
    pub order_total: Money<'a>,
    pub formatted_subtotal: String,
    pub formatted_discount: String,
    pub formatted_shipping_and_handling: String,
    pub formatted_tax: String,
    pub formatted_order_total: String,
}

impl<'a> Pricing<'a> {
    pub fn new(t: &Totals, currency: &'a str) -> Self {
        Pricing {
            subtotal: Money::new(t.subtotal, currency),
            discount: Money::new(t.discount, currency),
            shipping_and_handling: Money::new(t.shipping, currency),
            tax: Money::new(t.tax, currency),
            order_total: Money::new(t.total, currency),
            formatted_subtotal: formatted(t.subtotal, currency),
            formatted_discount: formatted(t.discount, currency),
            formatted_shipping_and_handling: formatted(t.shipping, currency),
            formatted_tax: formatted(t.tax, currency),
            formatted_order_total: formatted(t.total, currency),
        }
    }
}
