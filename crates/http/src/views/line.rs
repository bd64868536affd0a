//! A cart's or an order's line item: its product and its pricing.

use super::money::Money;
use super::{CustomAttributes, IdLink, parent_product, wire_product_type};
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::catalog::{
    self, IN_STOCK, discount_description, formatted, inventory_status,
};
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
    pub long_description: &'a str,
    /// `PHYSICAL` (ships) or `DOWNLOAD` (the catalog's `DIGITAL`), as the docs spell them.
    pub product_type: &'static str,
    pub sku: &'a str,
    /// The merchant's own reference for the product: its SKU.
    pub external_reference_id: &'a str,
    /// Shopkeeper's sites sell under their own part numbers: the SKU.
    pub manufacturer_part_number: &'a str,
    /// The catalog's `manufacturerName`; `null` when the import gave none, as the docs show.
    pub manufacturer_name: Option<&'a str>,
    pub keywords: &'a str,
    pub thumbnail_image: &'a Option<String>,
    pub product_image: &'a Option<String>,
    /// The site the product belongs to (Shopkeeper has no companies above sites).
    pub company_id: &'a str,
    /// Every stored product is shown.
    pub displayable_product: bool,
    /// In stock now (a line never holds a base product with variations).
    pub purchasable: bool,
    /// The catalog's custom attributes (a variation's own attributes among them); an empty
    /// `attribute` list when it has none (storefronts read the list).
    pub custom_attributes: CustomAttributes,
}

/// What a line knows of its product (a cart line or an order line, joined with the catalog).
pub struct LineProductParts<'a> {
    pub product_id: i64,
    pub base_product_id: Option<i64>,
    pub name: &'a str,
    pub display_name: &'a str,
    pub short_description: &'a str,
    pub long_description: &'a str,
    pub product_type: &'a str,
    pub sku: &'a str,
    pub keywords: &'a str,
    pub thumbnail_image: &'a Option<String>,
    pub product_image: &'a Option<String>,
    pub site_id: &'a str,
    pub available_quantity: Option<i64>,
    /// A base product with variations (bought through them, never itself; never on a line).
    pub has_variations: bool,
    pub manufacturer_name: Option<&'a str>,
    pub custom_attributes: &'a catalog::CustomAttributes,
}

/// The [`LineProductParts`] of a record with the catalog's field names (a cart line, an order
/// line, a product): one list of fields for the three.
macro_rules! line_product_parts {
    ($r:expr, id: $id:expr, site: $site:expr, has_variations: $has_variations:expr) => {
        $crate::views::line::LineProductParts {
            product_id: $id,
            base_product_id: $r.base_product_id,
            name: &$r.name,
            display_name: &$r.display_name,
            short_description: &$r.short_description,
            long_description: &$r.long_description,
            product_type: &$r.product_type,
            sku: &$r.sku,
            keywords: &$r.keywords,
            thumbnail_image: &$r.thumbnail_image,
            product_image: &$r.product_image,
            site_id: $site,
            available_quantity: $r.available_quantity,
            has_variations: $has_variations,
            manufacturer_name: $r.manufacturer_name.as_deref(),
            custom_attributes: &$r.custom_attributes,
        }
    };
}
pub(crate) use line_product_parts;

impl<'a> LineProduct<'a> {
    pub fn new(q: &ApiQuery, p: LineProductParts<'a>) -> Self {
        LineProduct {
            uri: q.uri(&format!("/v1/shoppers/me/products/{}", p.product_id)),
            parent_product: parent_product(q, p.base_product_id),
            id: p.product_id,
            name: p.name,
            display_name: p.display_name,
            short_description: p.short_description,
            long_description: p.long_description,
            product_type: wire_product_type(p.product_type),
            sku: p.sku,
            external_reference_id: p.sku,
            manufacturer_part_number: p.sku,
            manufacturer_name: p.manufacturer_name,
            keywords: p.keywords,
            thumbnail_image: p.thumbnail_image,
            product_image: p.product_image,
            company_id: p.site_id,
            displayable_product: true,
            purchasable: !p.has_variations && inventory_status(p.available_quantity) == IN_STOCK,
            custom_attributes: CustomAttributes::of(p.custom_attributes),
        }
    }
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
    /// The unit price the shopper commits to (no loans or subscriptions here): the price paid.
    pub commitment_price: Money<'a>,
    pub formatted_commitment_price: String,
    /// What the sale or volume price takes off the line at list price.
    pub total_discount_with_quantity: Money<'a>,
    pub formatted_total_discount_with_quantity: String,
    /// The percentage the price paid is below list (`"20%"`), `null` at list price.
    pub discount_description: Option<String>,
    /// The line's share of the tax (`domain::checkout::line_taxes`): on its goods, and on
    /// shipping; over all lines they add up to the cart's or the order's `tax`.
    pub product_tax: Money<'a>,
    pub shipping_tax: Money<'a>,
    /// The line's whole tax: `productTax` + `shippingTax`.
    pub tax: Money<'a>,
    /// The rate of the country the goods go to (a cart's now, an order's when placed; orders
    /// placed before the rate was kept have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<f64>)]
    pub tax_rate: Option<Value>,
    /// No fees here (Shopkeeper charges none): zero in the line's currency.
    pub fee_tax: Money<'a>,
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
            commitment_price: Money::new(unit, currency),
            formatted_commitment_price: formatted(unit, currency),
            total_discount_with_quantity: Money::new(discount, currency),
            formatted_total_discount_with_quantity: formatted(discount, currency),
            discount_description: discount_description(list, unit),
            product_tax: Money::new(product_tax, currency),
            shipping_tax: Money::new(shipping_tax, currency),
            tax: Money::new(product_tax + shipping_tax, currency),
            tax_rate: None,
            fee_tax: Money::new(0, currency),
            import_tax: Money::new(0, currency),
            formatted_import_tax: formatted(0, currency),
            import_duty: Money::new(0, currency),
            formatted_import_duty: formatted(0, currency),
        }
    }

    /// The line after its item offer: `sale_total` for the `quantity` units listed at `list`
    /// (the unit sale price is the total's share, half up, as `pricing.md` defines it:
    /// `salePriceWithQuantity ÷ quantity`).
    pub fn after_offer(
        mut self,
        list: i64,
        quantity: i64,
        sale_total: i64,
        currency: &'a str,
    ) -> Self {
        let unit = (sale_total + quantity / 2) / quantity.max(1);
        let discount = list * quantity - sale_total;
        self.sale_price = Money::new(unit, currency);
        self.formatted_sale_price = formatted(unit, currency);
        self.sale_price_with_quantity = Money::new(sale_total, currency);
        self.formatted_sale_price_with_quantity = formatted(sale_total, currency);
        self.total_discount_with_quantity = Money::new(discount, currency);
        self.formatted_total_discount_with_quantity = formatted(discount, currency);
        self.discount_description = discount_description(list * quantity, sale_total);
        self
    }
}
