//! Money: an amount in a currency, a line's prices, and a cart's or an order's totals.

use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::catalog::{format_amount, formatted};
use shopkeeper_domain::checkout::Totals;

/// `{"currency": "USD", "value": 19.99}` (the value a JSON number when it reads as one).
#[derive(Debug, Serialize)]
pub struct Money<'a> {
    pub currency: &'a str,
    pub value: Value,
}

impl<'a> Money<'a> {
    pub fn new(minor: i64, currency: &'a str) -> Self {
        let text = format_amount(minor, currency);
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Money { currency, value }
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

/// The `pricing` object of a cart's or an order's line item.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LinePricing<'a> {
    pub list_price: Money<'a>,
    pub sale_price: Money<'a>,
    pub list_price_with_quantity: Money<'a>,
    pub sale_price_with_quantity: Money<'a>,
    /// A cart's line shows it; the documented order line does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted_list_price: Option<String>,
    pub formatted_sale_price_with_quantity: String,
}

impl<'a> LinePricing<'a> {
    /// `quantity` units at `unit` (minor units) with the list price `list`.
    pub fn new(list: i64, unit: i64, quantity: i64, currency: &'a str) -> Self {
        LinePricing {
            list_price: Money::new(list, currency),
            sale_price: Money::new(unit, currency),
            list_price_with_quantity: Money::new(list * quantity, currency),
            sale_price_with_quantity: Money::new(unit * quantity, currency),
            formatted_list_price: None,
            formatted_sale_price_with_quantity: formatted(unit * quantity, currency),
        }
    }
}
