//! Offers and points of promotion (POPs) as shoppers read them (`how-to-use-offers.md`, the POP
//! pages): offer lists, the offer, its product offers (a product at the price the offer gives
//! it) and category offers, and POPs.

use super::catalog::{AddProductToCart, PRODUCTS, ProductView, product_path, purchasable};
use super::money::Money;
use super::{Empty, Link, served_link};
use crate::shopper_api::ApiQuery;
use serde::Serialize;
use shopkeeper_domain::catalog::{discount_description, formatted};
use shopkeeper_domain::offers::{DiscountLevel, Offer};
use shopkeeper_store::{CategoryRecord, OfferRecord, ProductRecord};
use utoipa::ToSchema;

pub const OFFERS: &str = "/v1/shoppers/me/offers";
pub const POPS: &str = "/v1/shoppers/me/point-of-promotions";
const LINE_ITEMS: &str = "/v1/shoppers/me/carts/active/line-items";
use super::cart::CART;

pub fn offer_path(id: i64) -> String {
    format!("{OFFERS}/{id}")
}

/// An offer's sales pitch as the docs' list of strings: one entry a line of what the merchant
/// wrote (none for an empty pitch).
pub fn sales_pitch(stored: &str) -> Vec<String> {
    stored
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `{"offers": {...}}`: a page of offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct OffersEnvelope<'a> {
    pub offers: Offers<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Offers<'a> {
    pub uri: String,
    pub offer: Vec<OfferItem<'a>>,
    pub total_results: i64,
    pub total_result_pages: i64,
    pub page_number: i64,
    pub page_size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page: Option<Link>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_page: Option<Link>,
}

/// An offer in a list: the full offer with `expand=offer` (or `all`), else its brief.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(no_recursion)]
pub enum OfferItem<'a> {
    Full(Box<OfferView<'a>>),
    Brief(OfferBrief<'a>),
}

/// `categoryOffers`: the link to them when the offer covers categories, else `{}` (as every
/// docs sample shows it).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CategoryOffersPart {
    Link(Link),
    None(Empty),
}

impl CategoryOffersPart {
    fn of(q: &ApiQuery, o: &OfferRecord) -> Self {
        if o.pricing.category_ids.is_empty() {
            CategoryOffersPart::None(Empty {})
        } else {
            CategoryOffersPart::Link(Link {
                uri: q.uri(&format!("{}/category-offers", offer_path(o.id))),
            })
        }
    }
}

/// An offer as the docs' lists show it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfferBrief<'a> {
    pub uri: String,
    pub id: i64,
    pub name: &'a str,
    /// `Always Triggered` or `User Triggered`.
    pub trigger: &'static str,
    pub product_offers: Link,
    pub category_offers: CategoryOffersPart,
    /// Bundles are not provided: always `{}`.
    pub offer_bundle_groups: Empty,
}

impl<'a> OfferBrief<'a> {
    pub fn new(q: &ApiQuery, o: &'a OfferRecord) -> Self {
        OfferBrief {
            uri: q.uri(&offer_path(o.id)),
            id: o.id,
            name: &o.name,
            trigger: o.pricing.trigger.wire(),
            product_offers: Link {
                uri: q.uri(&format!("{}/product-offers", offer_path(o.id))),
            },
            category_offers: CategoryOffersPart::of(q, o),
            offer_bundle_groups: Empty {},
        }
    }
}

/// `{"offer": ...}`
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferEnvelope<'a> {
    pub offer: OfferView<'a>,
}

/// The full offer (`offers/{id}`), its product offers inline.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OfferView<'a> {
    pub uri: String,
    pub id: i64,
    pub name: &'a str,
    /// `Discount`, `Shipping Cost Discount`, `Cross-sell`, `Up-sell`, `FeatureProducts`,
    /// `Banner`.
    #[serde(rename = "type")]
    pub offer_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<&'a str>,
    pub trigger: &'static str,
    /// Always a list (the docs' offer samples; Jungo reads `string[]`).
    pub sales_pitch: Vec<String>,
    pub product_offers: ProductOffers<'a>,
    pub category_offers: CategoryOffersPart,
    pub offer_bundle_groups: Empty,
}

impl<'a> OfferView<'a> {
    pub fn new(
        q: &ApiQuery,
        o: &'a OfferRecord,
        product_offers: Vec<ProductOfferView<'a>>,
    ) -> Self {
        OfferView {
            uri: q.uri(&offer_path(o.id)),
            id: o.id,
            name: &o.name,
            offer_type: o.pricing.offer_type.as_str(),
            image: o.image.as_deref(),
            trigger: o.pricing.trigger.wire(),
            sales_pitch: sales_pitch(&o.sales_pitch),
            product_offers: ProductOffers {
                uri: q.uri(&format!("{}/product-offers", offer_path(o.id))),
                product_offer: product_offers,
            },
            category_offers: CategoryOffersPart::of(q, o),
            offer_bundle_groups: Empty {},
        }
    }
}

/// `{"productOffers": {...}}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOffersEnvelope<'a> {
    pub product_offers: ProductOffers<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOffers<'a> {
    pub uri: String,
    pub product_offer: Vec<ProductOfferView<'a>>,
}

/// `{"productOffer": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOfferEnvelope<'a> {
    pub product_offer: ProductOfferView<'a>,
}

/// The product of a product offer: its brief, or the catalog's product (its inventory status
/// expanded) with `expand=all`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
#[schema(no_recursion)]
pub enum OfferProduct<'a> {
    Full(Box<ProductView<'a>>),
    Brief(ProductBrief<'a>),
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductBrief<'a> {
    pub uri: String,
    pub id: i64,
    pub display_name: &'a str,
    pub thumbnail_image: &'a Option<String>,
}

impl<'a> ProductBrief<'a> {
    pub fn new(q: &ApiQuery, p: &'a ProductRecord) -> Self {
        ProductBrief {
            uri: q.uri(&product_path(p.id)),
            id: p.id,
            display_name: &p.display_name,
            thumbnail_image: &p.thumbnail_image,
        }
    }
}

/// A product of an offer, at the price the offer gives it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOfferView<'a> {
    pub uri: String,
    /// The product's id (a product offer is named by its product).
    pub id: i64,
    pub product: OfferProduct<'a>,
    /// Adds the product under this offer; only for a product a shopper can buy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_product_to_cart: Option<AddProductToCart>,
    /// The offer's, as a list (the docs show a string here, their offers a list: one shape).
    pub sales_pitch: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<&'a str>,
    pub pricing: ProductOfferPricing<'a>,
}

impl<'a> ProductOfferView<'a> {
    pub fn new(
        q: &ApiQuery,
        o: &'a OfferRecord,
        p: &'a ProductRecord,
        has_variations: bool,
        product: OfferProduct<'a>,
    ) -> Self {
        let query = format!("?productId={}&offerId={}", p.id, o.id);
        let add = served_link(q, "POST", LINE_ITEMS, &format!("{LINE_ITEMS}{query}"))
            .zip(served_link(q, "POST", CART, &format!("{CART}{query}")));
        ProductOfferView {
            uri: q.uri(&format!("{}/product-offers/{}", offer_path(o.id), p.id)),
            id: p.id,
            product,
            add_product_to_cart: add.filter(|_| purchasable(p, has_variations)).map(
                |(line_items, cart)| AddProductToCart {
                    uri: line_items.uri,
                    cart_uri: cart.uri,
                },
            ),
            sales_pitch: sales_pitch(&o.sales_pitch),
            image: o.image.as_deref(),
            pricing: ProductOfferPricing::new(&o.pricing, p),
        }
    }
}

/// What one unit of the product costs under the offer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOfferPricing<'a> {
    pub list_price: Money<'a>,
    pub list_price_with_quantity: Money<'a>,
    /// The catalog price less what this offer takes off one unit (other offers aside).
    pub sale_price_with_quantity: Money<'a>,
    pub formatted_list_price: String,
    pub formatted_list_price_with_quantity: String,
    pub formatted_sale_price_with_quantity: String,
    pub total_discount_with_quantity: Money<'a>,
    pub formatted_total_discount_with_quantity: String,
    /// The percentage below list (`"20%"`), `null` at list price.
    pub discount_description: Option<String>,
    /// `"false"`, a string, as the docs' product offers show it.
    pub list_price_includes_tax: &'static str,
}

/// What `offer` makes one unit of `p` cost: the catalog's price less what an item-level
/// reduction takes off it, by the pricing's own rounding (`Reduction::off`). Order and shipping
/// offers, merchandising offers without a reduction and a reduction in another currency leave
/// the catalog price.
pub fn offer_unit_price(offer: &Offer, p: &ProductRecord) -> i64 {
    let base = p.sale_price_minor;
    let off = match (&offer.reduction, offer.level) {
        (Some(r), DiscountLevel::Item) => r.off(base, &p.currency).unwrap_or(0),
        _ => 0,
    };
    base - off
}

impl<'a> ProductOfferPricing<'a> {
    pub fn new(offer: &Offer, p: &'a ProductRecord) -> Self {
        let cur = p.currency.as_str();
        let list = p.list_price_minor;
        let sale = offer_unit_price(offer, p);
        let discount = (list - sale).max(0);
        ProductOfferPricing {
            list_price: Money::new(list, cur),
            list_price_with_quantity: Money::new(list, cur),
            sale_price_with_quantity: Money::new(sale, cur),
            formatted_list_price: formatted(list, cur),
            formatted_list_price_with_quantity: formatted(list, cur),
            formatted_sale_price_with_quantity: formatted(sale, cur),
            total_discount_with_quantity: Money::new(discount, cur),
            formatted_total_discount_with_quantity: formatted(discount, cur),
            discount_description: discount_description(list, sale),
            list_price_includes_tax: "false",
        }
    }
}

/// `{"categoryOffers": {...}}` (no docs sample: shaped like `productOffers`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryOffersEnvelope<'a> {
    pub category_offers: CategoryOffers<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryOffers<'a> {
    pub uri: String,
    pub category_offer: Vec<CategoryOfferView<'a>>,
}

/// A category an offer covers, linked to the category.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryOfferView<'a> {
    pub uri: String,
    pub id: i64,
    pub display_name: &'a str,
}

impl<'a> CategoryOfferView<'a> {
    pub fn new(q: &ApiQuery, c: &'a CategoryRecord) -> Self {
        CategoryOfferView {
            uri: q.uri(&format!("/v1/shoppers/me/categories/{}", c.id)),
            id: c.id,
            display_name: &c.display_name,
        }
    }
}

/// Where a POP is read: the site's (`point-of-promotions`), a product's
/// (`products/{id}/point-of-promotions`) or the cart's (`carts/active/point-of-promotions`).
pub fn pops_path(product: Option<i64>, cart: bool) -> String {
    match (product, cart) {
        (_, true) => format!("{CART}/point-of-promotions"),
        (Some(id), false) => format!("{PRODUCTS}/{id}/point-of-promotions"),
        (None, false) => POPS.to_owned(),
    }
}

/// `{"pointOfPromotions": {...}}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PopsEnvelope<'a> {
    pub point_of_promotions: Pops<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pops<'a> {
    pub uri: String,
    pub point_of_promotion: Vec<PopView<'a>>,
}

/// `{"pointOfPromotion": ...}`
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PopEnvelope<'a> {
    pub point_of_promotion: PopView<'a>,
}

/// A POP (no docs sample; Jungo's `PointOfPromotion`): its name as `id`, the types of the
/// offers it shows here, and the link to them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PopView<'a> {
    pub uri: String,
    pub id: &'a str,
    pub offer_types: Vec<&'static str>,
    pub offers: Link,
}

impl<'a> PopView<'a> {
    /// `base` is the POP list's path (`pops_path`).
    pub fn new(q: &ApiQuery, base: &str, name: &'a str, offer_types: Vec<&'static str>) -> Self {
        let path = format!("{base}/{name}");
        PopView {
            uri: q.uri(&path),
            id: name,
            offer_types,
            offers: Link {
                uri: q.uri(&format!("{path}/offers")),
            },
        }
    }
}
