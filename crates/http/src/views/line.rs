//! A cart's or an order's line item: its product and its pricing.

use super::money::Money;
use super::{CustomAttributes, IdLink};
use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::catalog::formatted;
use utoipa::ToSchema;

/// The product of a cart's or an order's line item.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineProduct<'a> {
    pub uri: String,
    /// A variation's base product.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_product: Option<IdLink>,
    pub id: i64,
    pub name: &'a str,
    pub display_name: &'a str,
    pub short_description: &'a str,
    /// `PHYSICAL` (ships) or `DIGITAL`, from the catalog.
    pub product_type: &'a str,
    pub sku: &'a str,
    pub thumbnail_image: &'a Option<String>,
    /// Shopkeeper keeps no custom attributes: always an empty `attribute` list (storefronts
    /// read the list).
    pub custom_attributes: CustomAttributes,
}

/// The `pricing` object of a cart's or an order's line item: unit and line amounts at list
/// and at the price paid (sale or volume tier), with their en_US display strings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinePricing<'a> {
    pub list_price: Money<'a>,
    pub list_price_with_quantity: Money<'a>,
    pub sale_price: Money<'a>,
    pub sale_price_with_quantity: Money<'a>,
    pub formatted_list_price: String,
    pub formatted_list_price_with_quantity: String,
    pub formatted_sale_price: String,
    pub formatted_sale_price_with_quantity: String,
    /// What the sale or volume price takes off the line at list price.
    pub total_discount_with_quantity: Money<'a>,
    pub formatted_total_discount_with_quantity: String,
    /// The line's share of the tax (`domain::checkout::line_taxes`): on its goods, and on
    /// shipping; over all lines they add up to the cart's or the order's `tax`.
    pub product_tax: Money<'a>,
    pub shipping_tax: Money<'a>,
    /// A cart's line: the rate of the country the goods go to (an order does not keep it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub tax_rate: Option<Value>,
    /// No landed costs here: always zero in the line's currency.
    pub import_tax: Money<'a>,
    pub formatted_import_tax: String,
    pub import_duty: Money<'a>,
    pub formatted_import_duty: String,
}

impl<'a> LinePricing<'a> {
    /// `quantity` units at `unit` (minor units) with the list price `list`, and the line's
    /// `(product, shipping)` tax.
    pub fn new(
        list: i64,
        unit: i64,
        quantity: i64,
        currency: &'a str,
        (product_tax, shipping_tax): (i64, i64),
    ) -> Self {
        let discount = (list - unit) * quantity;
        LinePricing {
            list_price: Money::new(list, currency),
            list_price_with_quantity: Money::new(list * quantity, currency),
            sale_price: Money::new(unit, currency),
            sale_price_with_quantity: Money::new(unit * quantity, currency),
            formatted_list_price: formatted(list, currency),
            formatted_list_price_with_quantity: formatted(list * quantity, currency),
            formatted_sale_price: formatted(unit, currency),
            formatted_sale_price_with_quantity: formatted(unit * quantity, currency),
            total_discount_with_quantity: Money::new(discount, currency),
            formatted_total_discount_with_quantity: formatted(discount, currency),
            product_tax: Money::new(product_tax, currency),
            shipping_tax: Money::new(shipping_tax, currency),
            tax_rate: None,
            import_tax: Money::new(0, currency),
            formatted_import_tax: formatted(0, currency),
            import_duty: Money::new(0, currency),
            formatted_import_duty: formatted(0, currency),
        }
    }
}
