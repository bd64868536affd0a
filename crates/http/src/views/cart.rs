//! The cart, its line items, shipping options and the submit's answer.

use super::address::AddressOrLink;
use super::money::{Money, Pricing};
use super::{Empty, Link};
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use shopkeeper_domain::catalog::formatted;
use shopkeeper_domain::checkout::ShippingOption;
use shopkeeper_domain::checkout::order::{PricedCart, PricedLine};
use shopkeeper_store::PaymentSourceRecord;

pub const CART: &str = "/v1/shoppers/me/carts/active";

/// `{"cart": ...}`
#[derive(Debug, Serialize)]
pub struct CartEnvelope<'a> {
    pub cart: CartView<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CartView<'a> {
    pub uri: String,
    pub id: &'a str,
    pub line_items: LineItems<'a>,
    pub total_items_in_cart: i64,
    pub billing_address: AddressOrLink<'a>,
    pub shipping_address: AddressOrLink<'a>,
    pub payment_method: PaymentMethodOrEmpty<'a>,
    pub shipping_options: Link,
    pub shipping_method: Option<ShippingMethod>,
    pub pricing: Pricing<'a>,
    pub submit_cart: Link,
}

impl<'a> CartView<'a> {
    pub fn new(
        q: &ApiQuery,
        cart_id: &'a str,
        pr: &'a PricedCart<'a>,
        source: Option<&'a PaymentSourceRecord>,
    ) -> Self {
        CartView {
            uri: q.uri(CART),
            id: cart_id,
            line_items: LineItems::new(q, pr),
            total_items_in_cart: pr.total_items(),
            billing_address: AddressOrLink::new(
                q.uri(&format!("{CART}/billing-address")),
                "billingAddress",
                pr.billing.as_ref(),
            ),
            shipping_address: AddressOrLink::new(
                q.uri(&format!("{CART}/shipping-address")),
                "shippingAddress",
                pr.shipping.as_ref(),
            ),
            payment_method: match source {
                Some(s) => PaymentMethodOrEmpty::Method(PaymentMethod::new(s)),
                None => PaymentMethodOrEmpty::Empty(Empty {}),
            },
            shipping_options: Link {
                uri: q.uri(&format!("{CART}/shipping-options")),
            },
            shipping_method: pr.shipping_option.map(|o| ShippingMethod {
                code: o.id,
                description: o.description,
            }),
            pricing: Pricing::new(&pr.totals, &pr.currency),
            submit_cart: Link {
                uri: q.uri(&format!("{CART}/submit-cart")),
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ShippingMethod {
    pub code: i64,
    pub description: &'static str,
}

/// `{"lineItems": ...}`
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemsEnvelope<'a> {
    pub line_items: LineItems<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItems<'a> {
    pub uri: String,
    pub line_item: Vec<LineItem<'a>>,
}

impl<'a> LineItems<'a> {
    pub fn new(q: &ApiQuery, pr: &'a PricedCart<'a>) -> Self {
        LineItems {
            uri: q.uri(&format!("{CART}/line-items")),
            line_item: pr
                .lines
                .iter()
                .map(|l| LineItem::new(q, l, &pr.currency))
                .collect(),
        }
    }
}

/// `{"lineItem": ...}`
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineItemEnvelope<'a> {
    pub line_item: LineItem<'a>,
}

#[derive(Debug, Serialize)]
pub struct LineItem<'a> {
    pub uri: String,
    pub id: i64,
    pub quantity: i64,
    pub product: LineProduct<'a>,
    pub pricing: LinePricing<'a>,
}

impl<'a> LineItem<'a> {
    pub fn new(q: &ApiQuery, line: &PricedLine<'a>, currency: &'a str) -> Self {
        let (r, unit) = (line.line, line.unit_price_minor());
        LineItem {
            uri: q.uri(&format!("{CART}/line-items/{}", r.id)),
            id: r.id,
            quantity: r.quantity,
            product: LineProduct {
                uri: q.uri(&format!("/v1/shoppers/me/products/{}", r.product_id)),
                id: r.product_id,
                name: &r.name,
                display_name: &r.display_name,
                short_description: &r.short_description,
                sku: &r.sku,
                thumbnail_image: &r.thumbnail_image,
            },
            pricing: LinePricing {
                formatted_list_price: Some(formatted(r.list_price_minor, currency)),
                ..LinePricing::new(r.list_price_minor, unit, r.quantity, currency)
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LineProduct<'a> {
    pub uri: String,
    pub id: i64,
    pub name: &'a str,
    pub display_name: &'a str,
    pub short_description: &'a str,
    pub sku: &'a str,
    pub thumbnail_image: &'a Option<String>,
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

/// The applied source, or `{}` when there is none.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum PaymentMethodOrEmpty<'a> {
    Method(PaymentMethod<'a>),
    Empty(Empty),
}

/// A payment source as a cart (or a saved payment option) shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentMethod<'a> {
    #[serde(rename = "type")]
    pub source_type: &'a str,
    pub source_id: &'a str,
    pub reusable: bool,
    pub credit_card: CreditCard<'a>,
}

impl<'a> PaymentMethod<'a> {
    pub fn new(s: &'a PaymentSourceRecord) -> Self {
        PaymentMethod {
            source_type: &s.source_type,
            source_id: &s.id,
            reusable: s.reusable,
            credit_card: CreditCard {
                brand: &s.brand,
                last_four_digits: &s.last_four,
                expiration_month: s.expiration_month,
                expiration_year: s.expiration_year,
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreditCard<'a> {
    pub brand: &'a str,
    pub last_four_digits: &'a str,
    pub expiration_month: i64,
    pub expiration_year: i64,
}

/// `{"shippingOptions": {"uri", "shippingOption": [...]}}`
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOptionsEnvelope<'a> {
    pub shipping_options: ShippingOptions<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOptions<'a> {
    pub uri: String,
    pub shipping_option: Vec<ShippingOptionView<'a>>,
}

/// `{"shippingOption": ...}`
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOptionEnvelope<'a> {
    pub shipping_option: ShippingOptionView<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOptionView<'a> {
    pub uri: String,
    pub id: i64,
    pub description: &'static str,
    pub cost: Money<'a>,
    pub formatted_cost: String,
}

impl<'a> ShippingOptionView<'a> {
    pub fn new(q: &ApiQuery, o: &ShippingOption, currency: &'a str) -> Self {
        ShippingOptionView {
            uri: q.uri(&format!("{CART}/shipping-options/{}", o.id)),
            id: o.id,
            description: o.description,
            cost: Money::new(o.cost_minor(currency), currency),
            formatted_cost: formatted(o.cost_minor(currency), currency),
        }
    }
}

/// `{"submitCart": {"uri", "order": {"uri", "id"}}}`
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitCartEnvelope {
    pub submit_cart: SubmitCart,
}

#[derive(Debug, Serialize)]
pub struct SubmitCart {
    pub uri: String,
    pub order: OrderRef,
}

#[derive(Debug, Serialize)]
pub struct OrderRef {
    pub uri: String,
    pub id: i64,
}
