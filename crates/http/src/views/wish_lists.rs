//! Wish lists as the API shows them (no docs sample: the shapes follow the cart's and the
//! payment options'): `{"wishLists": {"uri", "wishList": [...], "totalResults"}}` and
//! `{"wishList": {"uri", "id", "name", "isDefault", "createdDate", "lastModifiedDate",
//! "products": {"product": [...], "totalResults"}}}`, each product the cart line's product
//! fields with its wanted `quantity`, `addedDate`, `pricing` and `addProductToCart`.

use super::catalog::{AddProductToCart, purchasable};
use super::line::{LineProduct, line_product_parts};
use super::money::Money;
use super::served_link;
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use shopkeeper_domain::catalog::formatted;
use shopkeeper_domain::checkout::LineForPricing;
use shopkeeper_domain::time::iso8601;
use shopkeeper_store::{ProductRecord, WishListProductRecord, WishListRecord};
use utoipa::ToSchema;

pub const WISH_LISTS: &str = "/v1/shoppers/me/wish-lists";
const LINE_ITEMS: &str = "/v1/shoppers/me/carts/active/line-items";
const CART: &str = "/v1/shoppers/me/carts/active";

pub fn wish_list_path(id: i64) -> String {
    format!("{WISH_LISTS}/{id}")
}

/// `{"wishLists": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishListsEnvelope<'a> {
    pub wish_lists: WishLists<'a>,
}

/// The shopper's lists, oldest first, each with its products.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishLists<'a> {
    pub uri: String,
    pub wish_list: Vec<WishListView<'a>>,
    pub total_results: usize,
}

/// `{"wishList": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishListEnvelope<'a> {
    pub wish_list: WishListView<'a>,
}

/// One wish list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishListView<'a> {
    pub uri: String,
    pub id: i64,
    pub name: &'a str,
    /// The shopper's default list (`GET wish-lists/default`): the one they made the default,
    /// else their oldest.
    pub is_default: bool,
    /// RFC 3339, UTC.
    pub created_date: String,
    /// When the list or its products last changed (RFC 3339, UTC).
    pub last_modified_date: String,
    pub products: WishListProducts<'a>,
}

/// The products on a list, in the order they were added.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishListProducts<'a> {
    pub product: Vec<WishListProduct<'a>>,
    pub total_results: usize,
}

/// A product on a list: the product as a cart line shows it, how many the shopper wants and
/// what that costs at the prices the shopper sees now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishListProduct<'a> {
    #[serde(flatten)]
    pub product: LineProduct<'a>,
    pub quantity: i64,
    /// RFC 3339, UTC.
    pub added_date: String,
    pub pricing: WishListPricing<'a>,
    /// `POST` either link to put `quantity` of the product in the cart; only for a product a
    /// shopper can buy now (in stock, not a base product with variations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_product_to_cart: Option<AddProductToCart>,
}

/// A wished-for product's price: per unit and for the wanted quantity, at list price and at
/// the price the cart would charge (sale, volume tier or private-store price).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishListPricing<'a> {
    pub list_price: Money<'a>,
    pub sale_price: Money<'a>,
    pub list_price_with_quantity: Money<'a>,
    pub sale_price_with_quantity: Money<'a>,
    pub formatted_list_price: String,
    pub formatted_sale_price: String,
    pub formatted_list_price_with_quantity: String,
    pub formatted_sale_price_with_quantity: String,
}

/// What a product on a list is shown with: its record (at the caller's prices), its volume
/// tiers (none where a private store's price replaces them) and whether it has variations.
pub struct ShownProduct {
    pub record: ProductRecord,
    pub tiers: Vec<(i64, i64)>,
    pub has_variations: bool,
}

impl<'a> WishListPricing<'a> {
    fn new(p: &'a ShownProduct, quantity: i64) -> Self {
        let r = &p.record;
        let line = LineForPricing {
            quantity,
            list_price_minor: r.list_price_minor,
            sale_price_minor: r.sale_price_minor,
            volume_prices: p.tiers.clone(),
            physical: r.product_type == "PHYSICAL",
        };
        let unit = line.unit_price_minor();
        // Quantities are at most a line's largest and prices are stored minor units: no
        // overflow in practice, saturating rather than wrapping if ever.
        let list_total = r.list_price_minor.saturating_mul(quantity);
        let sale_total = unit.saturating_mul(quantity);
        let cur = r.currency.as_str();
        WishListPricing {
            list_price: Money::new(r.list_price_minor, cur),
            sale_price: Money::new(unit, cur),
            list_price_with_quantity: Money::new(list_total, cur),
            sale_price_with_quantity: Money::new(sale_total, cur),
            formatted_list_price: formatted(r.list_price_minor, cur),
            formatted_sale_price: formatted(unit, cur),
            formatted_list_price_with_quantity: formatted(list_total, cur),
            formatted_sale_price_with_quantity: formatted(sale_total, cur),
        }
    }
}

impl<'a> WishListProduct<'a> {
    pub fn new(q: &ApiQuery, item: &WishListProductRecord, p: &'a ShownProduct) -> Self {
        let r = &p.record;
        let query = format!("?productId={}&quantity={}", r.id, item.quantity);
        let add_product_to_cart = match (
            served_link(q, "POST", LINE_ITEMS, &format!("{LINE_ITEMS}{query}")),
            served_link(q, "POST", CART, &format!("{CART}{query}")),
        ) {
            (Some(line_items), Some(cart)) if purchasable(r, p.has_variations) => {
                Some(AddProductToCart {
                    uri: line_items.uri,
                    cart_uri: cart.uri,
                })
            }
            _ => None,
        };
        WishListProduct {
            product: LineProduct::new(
                q,
                line_product_parts!(r, id: r.id, site: r.site_id.as_str(), has_variations: p.has_variations),
            ),
            quantity: item.quantity,
            added_date: iso8601(item.added_at),
            pricing: WishListPricing::new(p, item.quantity),
            add_product_to_cart,
        }
    }
}

impl<'a> WishListView<'a> {
    /// The list with its products (`products`: the shopper's, of any list; those of others
    /// are left out); a product the catalog no longer shows is left out.
    pub fn new(
        q: &ApiQuery,
        list: &'a WishListRecord,
        is_default: bool,
        products: &[WishListProductRecord],
        shown: &'a std::collections::HashMap<i64, ShownProduct>,
    ) -> Self {
        let product: Vec<WishListProduct<'a>> = products
            .iter()
            .filter(|item| item.wish_list_id == list.id)
            .filter_map(|item| {
                shown
                    .get(&item.product_id)
                    .map(|p| WishListProduct::new(q, item, p))
            })
            .collect();
        WishListView {
            uri: q.uri(&wish_list_path(list.id)),
            id: list.id,
            name: &list.name,
            is_default,
            created_date: iso8601(list.created_at),
            last_modified_date: iso8601(list.updated_at),
            products: WishListProducts {
                total_results: product.len(),
                product,
            },
        }
    }
}
