//! The catalog: products (summaries in lists, the full product, its pricing, volume-pricing
//! tiers and inventory status) and categories.

use super::line::{LineProduct, line_product_parts};
use super::money::Money;
use super::{IdLink, Link, parent_product, served_link};
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use serde_json::Value;
use shopkeeper_domain::catalog::{IN_STOCK, discount_description, formatted, inventory_status};
use shopkeeper_domain::checkout::{LineForPricing, MAX_LINE_QUANTITY};
use shopkeeper_store::{CategoryRecord, ProductRecord, VolumePrice};
use utoipa::ToSchema;

pub const PRODUCTS: &str = "/v1/shoppers/me/products";
pub const CATEGORIES: &str = "/v1/shoppers/me/categories";
const LINE_ITEMS: &str = "/v1/shoppers/me/carts/active/line-items";
use super::cart::CART;

pub fn product_path(id: i64) -> String {
    format!("{PRODUCTS}/{id}")
}

/// What a shopper can put in a cart: in stock, and not a base product with variations (one
/// of its variations is bought instead).
pub fn purchasable(p: &ProductRecord, has_variations: bool) -> bool {
    !has_variations && inventory_status(p.available_quantity) == IN_STOCK
}

/// The two ways to add a product to the cart: `POST` either link.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddProductToCart {
    pub uri: String,
    pub cart_uri: String,
}

impl AddProductToCart {
    /// Present only for a product a shopper can buy, and while both routes are served.
    pub fn new(q: &ApiQuery, p: &ProductRecord, has_variations: bool) -> Option<Self> {
        let line_items = served_link(
            q,
            "POST",
            LINE_ITEMS,
            &format!("{LINE_ITEMS}?productId={}", p.id),
        )?;
        let cart = served_link(q, "POST", CART, &format!("{CART}?productId={}", p.id))?;
        purchasable(p, has_variations).then_some(AddProductToCart {
            uri: line_items.uri,
            cart_uri: cart.uri,
        })
    }
}

/// The pricing a product list shows for each product.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricingSummary {
    pub uri: String,
    pub formatted_list_price: String,
    pub formatted_sale_price_with_quantity: String,
}

/// A product in a list (without `expand=product`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductSummary<'a> {
    pub uri: String,
    pub id: i64,
    pub display_name: &'a str,
    pub thumbnail_image: &'a Option<String>,
    pub pricing: PricingSummary,
    /// The product's variations (an empty list for a product without any), as the full
    /// product links them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variations: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_product_to_cart: Option<AddProductToCart>,
}

impl<'a> ProductSummary<'a> {
    pub fn new(q: &ApiQuery, p: &'a ProductRecord, has_variations: bool) -> Self {
        ProductSummary {
            uri: q.uri(&product_path(p.id)),
            id: p.id,
            display_name: &p.display_name,
            thumbnail_image: &p.thumbnail_image,
            pricing: PricingSummary {
                uri: q.uri(&format!("{}/pricing", product_path(p.id))),
                formatted_list_price: formatted(p.list_price_minor, &p.currency),
                formatted_sale_price_with_quantity: formatted(p.sale_price_minor, &p.currency),
            },
            variations: served_link(
                q,
                "GET",
                &format!("{PRODUCTS}/{{id}}/variations"),
                &format!("{}/variations", product_path(p.id)),
            ),
            add_product_to_cart: AddProductToCart::new(q, p, has_variations),
        }
    }
}

/// `{"product": ...}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductEnvelope<'a> {
    pub product: ProductView<'a>,
}

/// The full product; linked parts are objects with only `uri` unless `expand` names them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductView<'a> {
    /// What a cart's or an order's line shows of a product too.
    #[serde(flatten)]
    pub product: LineProduct<'a>,
    /// The quantities one cart line of it may have.
    pub minimum_quantity: i64,
    pub maximum_quantity: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_product: Option<IdLink>,
    /// A variation's attributes (`{"color": "red"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub variation_attributes: Option<Value>,
    pub pricing: Expandable<ProductPricing<'a>>,
    pub inventory_status: Expandable<InventoryStatus>,
    pub variations: Expandable<Variations<'a>>,
    pub categories: Expandable<Categories<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_product_to_cart: Option<AddProductToCart>,
}

impl<'a> ProductView<'a> {
    /// The product with every part a link; the handler expands the parts `expand` names.
    pub fn new(q: &ApiQuery, p: &'a ProductRecord, has_variations: bool) -> Self {
        let path = product_path(p.id);
        let link = |part: &str| Link {
            uri: q.uri(&format!("{path}/{part}")),
        };
        let product = LineProduct::new(
            q,
            line_product_parts!(p, id: p.id, site: p.site_id.as_str(), has_variations: has_variations),
        );
        ProductView {
            product,
            minimum_quantity: 1,
            maximum_quantity: MAX_LINE_QUANTITY,
            base_product: parent_product(q, p.base_product_id),
            variation_attributes: p.base_product_id.map(|_| {
                serde_json::from_str(&p.variation_attributes)
                    .unwrap_or_else(|_| Value::Object(Default::default()))
            }),
            pricing: Expandable::Link(link("pricing")),
            inventory_status: Expandable::Link(link("inventory-status")),
            variations: Expandable::Link(link("variations")),
            categories: Expandable::Link(link("categories")),
            add_product_to_cart: AddProductToCart::new(q, p, has_variations),
        }
    }
}

/// A part of a resource: expanded, or the link to it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Expandable<T> {
    Expanded(T),
    Link(Link),
}

/// A product in a list: the full product with `expand=product`, else its summary.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(no_recursion)]
pub enum ProductItem<'a> {
    Full(Box<ProductView<'a>>),
    Summary(ProductSummary<'a>),
}

/// `{"pricing": ...}`
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPricingEnvelope<'a> {
    pub pricing: ProductPricing<'a>,
}

/// A product's price for one unit.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductPricing<'a> {
    pub uri: String,
    pub list_price: Money<'a>,
    pub sale_price_with_quantity: Money<'a>,
    pub formatted_list_price: String,
    pub formatted_sale_price_with_quantity: String,
    /// No suggested retail price is kept: the list price.
    pub msrp_price: Money<'a>,
    pub formatted_msrp_price: String,
    /// The unit price a shopper commits to (no loans or subscriptions here): the sale price.
    pub commitment_price: Money<'a>,
    pub formatted_commitment_price: String,
    /// Catalog prices are before tax.
    pub list_price_includes_tax: bool,
    pub volume_pricing: Expandable<VolumePricing<'a>>,
}

impl<'a> ProductPricing<'a> {
    pub fn new(q: &ApiQuery, p: &'a ProductRecord) -> Self {
        let path = product_path(p.id);
        ProductPricing {
            uri: q.uri(&format!("{path}/pricing")),
            list_price: Money::new(p.list_price_minor, &p.currency),
            sale_price_with_quantity: Money::new(p.sale_price_minor, &p.currency),
            formatted_list_price: formatted(p.list_price_minor, &p.currency),
            formatted_sale_price_with_quantity: formatted(p.sale_price_minor, &p.currency),
            msrp_price: Money::new(p.list_price_minor, &p.currency),
            formatted_msrp_price: formatted(p.list_price_minor, &p.currency),
            commitment_price: Money::new(p.sale_price_minor, &p.currency),
            formatted_commitment_price: formatted(p.sale_price_minor, &p.currency),
            list_price_includes_tax: false,
            volume_pricing: Expandable::Link(Link {
                uri: q.uri(&format!("{path}/pricing/volume-pricing")),
            }),
        }
    }
}

/// `{"volumePricing": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumePricingEnvelope<'a> {
    pub volume_pricing: VolumePricing<'a>,
}

/// A product's price by quantity: `tier`s of quantities sharing one unit price (what a cart
/// line of that quantity pays), up to the largest quantity a line may have.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumePricing<'a> {
    pub uri: String,
    pub product: Link,
    pub tier: Vec<Tier<'a>>,
    /// The lowest and the highest unit price of the tiers (one price when they are equal).
    pub formatted_sales_price_range: String,
    /// The stored tiers as they were imported (`minQuantity`, `unitPrice`): the demo
    /// storefront reads these.
    pub price_point: Vec<PricePoint<'a>>,
}

impl<'a> VolumePricing<'a> {
    pub fn new(q: &ApiQuery, p: &'a ProductRecord, tiers: &[VolumePrice]) -> Self {
        let cur = p.currency.as_str();
        let path = product_path(p.id);
        let stored: Vec<(i64, i64)> = tiers
            .iter()
            .map(|t| (t.min_quantity, t.unit_price_minor))
            .collect();
        // Where the unit price can change: 1 and every stored minimum within a line's limit.
        let mut starts: Vec<i64> = std::iter::once(1)
            .chain(stored.iter().map(|(min, _)| *min))
            .filter(|n| (1..=MAX_LINE_QUANTITY).contains(n))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        let tier: Vec<Tier<'a>> = starts
            .iter()
            .enumerate()
            .map(|(i, &from)| {
                let to = starts.get(i + 1).map_or(MAX_LINE_QUANTITY, |next| next - 1);
                let unit = LineForPricing {
                    quantity: from,
                    list_price_minor: p.list_price_minor,
                    sale_price_minor: p.sale_price_minor,
                    volume_prices: stored.clone(),
                    physical: false,
                }
                .unit_price_minor();
                Tier::new(from, to, p.list_price_minor, unit, cur)
            })
            .collect();
        let units = tier.iter().map(|t| t.unit_minor);
        let (low, high) = (units.clone().min(), units.max());
        VolumePricing {
            uri: q.uri(&format!("{path}/pricing/volume-pricing")),
            product: Link { uri: q.uri(&path) },
            formatted_sales_price_range: match (low, high) {
                (Some(l), Some(h)) if l == h => formatted(l, cur),
                (Some(l), Some(h)) => format!("{}-{}", formatted(l, cur), formatted(h, cur)),
                _ => String::new(),
            },
            tier,
            price_point: tiers
                .iter()
                .map(|t| PricePoint {
                    min_quantity: t.min_quantity,
                    unit_price: Money::new(t.unit_price_minor, cur),
                    formatted_unit_price: formatted(t.unit_price_minor, cur),
                })
                .collect(),
        }
    }
}

/// Quantities `from`..=`to` of one product and what `from` of them cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tier<'a> {
    pub from: i64,
    pub to: i64,
    pub pricing: TierPricing<'a>,
    #[serde(skip)]
    unit_minor: i64,
}

impl<'a> Tier<'a> {
    fn new(from: i64, to: i64, list: i64, unit: i64, currency: &'a str) -> Self {
        let discount = (list - unit) * from;
        Tier {
            from,
            to,
            unit_minor: unit,
            pricing: TierPricing {
                list_price: Money::new(list, currency),
                list_price_with_quantity: Money::new(list * from, currency),
                sale_price_with_quantity: Money::new(unit * from, currency),
                formatted_list_price: formatted(list, currency),
                formatted_list_price_with_quantity: formatted(list * from, currency),
                formatted_sale_price_with_quantity: formatted(unit * from, currency),
                total_discount_with_quantity: Money::new(discount, currency),
                formatted_total_discount_with_quantity: formatted(discount, currency),
                discount_description: discount_description(list, unit),
                list_price_includes_tax: false,
                msrp_price: Money::new(list, currency),
                formatted_msrp_price: formatted(list, currency),
                fee_pricing: FeePricing {
                    sale_price_with_fees_and_quantity: Money::new(unit * from, currency),
                    formatted_sale_price_with_fees_and_quantity: formatted(unit * from, currency),
                },
            },
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TierPricing<'a> {
    pub list_price: Money<'a>,
    pub list_price_with_quantity: Money<'a>,
    pub sale_price_with_quantity: Money<'a>,
    pub formatted_list_price: String,
    pub formatted_list_price_with_quantity: String,
    pub formatted_sale_price_with_quantity: String,
    pub total_discount_with_quantity: Money<'a>,
    pub formatted_total_discount_with_quantity: String,
    /// The percentage the tier's unit price is below list (`"20%"`), `null` at list price.
    pub discount_description: Option<String>,
    pub list_price_includes_tax: bool,
    /// No suggested retail price is kept: the list price.
    pub msrp_price: Money<'a>,
    pub formatted_msrp_price: String,
    /// No fees here: the sale price with quantity.
    pub fee_pricing: FeePricing<'a>,
}

/// What a quantity costs with its fees (Shopkeeper charges none).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeePricing<'a> {
    pub sale_price_with_fees_and_quantity: Money<'a>,
    pub formatted_sale_price_with_fees_and_quantity: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricePoint<'a> {
    pub min_quantity: i64,
    pub unit_price: Money<'a>,
    pub formatted_unit_price: String,
}

/// `{"inventoryStatus": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryStatusEnvelope {
    pub inventory_status: InventoryStatus,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryStatus {
    pub uri: String,
    pub product: InventoryProduct,
    /// `null` when the product's stock is not tracked (it is always in stock).
    pub available_quantity: Option<i64>,
    pub available_quantity_is_estimated: bool,
    pub product_is_in_stock: bool,
    pub product_is_allows_backorders: bool,
    pub product_is_tracked: bool,
    pub status: &'static str,
    pub status_is_estimated: bool,
}

impl InventoryStatus {
    pub fn new(q: &ApiQuery, p: &ProductRecord) -> Self {
        let status = inventory_status(p.available_quantity);
        InventoryStatus {
            uri: q.uri(&format!("{}/inventory-status", product_path(p.id))),
            product: InventoryProduct {
                uri: q.uri(&product_path(p.id)),
                id: p.id,
                external_reference_id: p.sku.clone(),
                company_id: p.site_id.as_str().to_owned(),
            },
            available_quantity: p.available_quantity,
            available_quantity_is_estimated: false,
            product_is_in_stock: status == IN_STOCK,
            product_is_allows_backorders: false,
            product_is_tracked: p.available_quantity.is_some(),
            status,
            status_is_estimated: false,
        }
    }
}

/// The product an inventory status is of, as the line products name it: its SKU as the
/// merchant's reference and its site as the company.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryProduct {
    pub uri: String,
    pub id: i64,
    pub external_reference_id: String,
    pub company_id: String,
}

/// `{"products": {"uri", "inventoryStatus": [...]}}` (the docs' envelope of this list)
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryStatusesEnvelope {
    pub products: InventoryStatuses,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryStatuses {
    pub uri: String,
    pub inventory_status: Vec<InventoryStatus>,
}

/// `{"products": {...}}`: a page of products.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductsEnvelope<'a> {
    pub products: Products<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Products<'a> {
    pub uri: String,
    pub product: Vec<ProductItem<'a>>,
    pub total_results: i64,
    pub total_result_pages: i64,
    pub page_number: i64,
    pub page_size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_page: Option<Link>,
}

/// `{"variations": {"uri", "product": [...]}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct VariationsEnvelope<'a> {
    pub variations: Variations<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Variations<'a> {
    pub uri: String,
    pub product: Vec<ProductItem<'a>>,
}

/// `{"categories": {"uri", "category": [...]}}`
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoriesEnvelope<'a> {
    pub categories: Categories<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Categories<'a> {
    pub uri: String,
    pub category: Vec<CategoryView<'a>>,
}

/// `{"category": ...}`
#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryEnvelope<'a> {
    pub category: CategoryView<'a>,
}

/// A category; in the tree (`categories`, `categories/{id}`) with its products link, its
/// parent and its sub-categories.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(no_recursion)]
pub struct CategoryView<'a> {
    pub uri: String,
    pub id: i64,
    pub name: &'a str,
    pub display_name: &'a str,
    pub short_description: &'a str,
    pub long_description: &'a str,
    /// `null` when the import gave none.
    pub thumbnail_image: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub products: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_category: Option<IdLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<SubCategories<'a>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(no_recursion)]
pub struct SubCategories<'a> {
    pub category: Vec<CategoryView<'a>>,
}

impl<'a> CategoryView<'a> {
    /// The category alone: `uri`, `id`, `name`, `displayName` and its products link.
    pub fn summary(q: &ApiQuery, c: &'a CategoryRecord) -> Self {
        CategoryView {
            uri: q.uri(&format!("{CATEGORIES}/{}", c.id)),
            id: c.id,
            name: &c.name,
            display_name: &c.display_name,
            short_description: &c.short_description,
            long_description: &c.long_description,
            thumbnail_image: &c.thumbnail_image,
            products: served_link(
                q,
                "GET",
                &format!("{CATEGORIES}/{{id}}/products"),
                &format!("{CATEGORIES}/{}/products", c.id),
            ),
            parent_category: None,
            categories: None,
        }
    }

    /// The category with its sub-tree out of `all` (the site's categories are few).
    pub fn tree(q: &ApiQuery, all: &'a [CategoryRecord], c: &'a CategoryRecord) -> Self {
        CategoryView {
            products: Some(Link {
                uri: q.uri(&format!("{CATEGORIES}/{}/products", c.id)),
            }),
            parent_category: c.parent_id.map(|parent| IdLink {
                uri: q.uri(&format!("{CATEGORIES}/{parent}")),
                id: parent,
            }),
            categories: Some(SubCategories {
                category: all
                    .iter()
                    .filter(|x| x.parent_id == Some(c.id))
                    .map(|x| CategoryView::tree(q, all, x))
                    .collect(),
            }),
            ..CategoryView::summary(q, c)
        }
    }
}
