//! The catalog: products (with pricing, volume pricing, inventory status, variations and
//! categories), the category tree and product search. Token optional throughout.

use super::access::{Caller, TokenOptional};
use super::purchase_plans;
use super::shopper_api::{
    ApiQuery, ApiResult, Found, PathResource, bad_request, not_found, path_id,
};
use super::views::Link;
use super::views::catalog::{
    CATEGORIES, Categories, CategoriesEnvelope, CategoryEnvelope, CategoryView, Expandable,
    InventoryStatus, InventoryStatusEnvelope, InventoryStatuses, InventoryStatusesEnvelope,
    PRODUCTS, ProductEnvelope, ProductItem, ProductPricing, ProductPricingEnvelope, ProductSummary,
    ProductView, Products, ProductsEnvelope, Variations, VariationsEnvelope, VolumePricing,
    VolumePricingEnvelope, product_path,
};
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::catalog::{Expand, Page};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{CategoryRecord, ProductRecord, VolumePrice};
use std::collections::HashMap;

async fn product(state: &AppState, site: &SiteId, id: i64) -> ApiResult<ProductRecord> {
    state
        .store
        .product(site, id)
        .await?
        .ok_or_else(|| not_found(format!("product {id}")))
}

impl PathResource<TokenOptional> for ProductRecord {
    async fn find(state: &AppState, caller: &TokenOptional, raw_id: &str) -> ApiResult<Self> {
        let mut p = product(state, caller.0.site_id(), path_id(raw_id, "product")?).await?;
        in_plan(state, &caller.0, std::slice::from_mut(&mut p)).await?;
        Ok(p)
    }
}

/// The products at the prices the caller sees: a private store's plan prices replace the sale
/// prices of the products it covers for a session authorized into it.
pub(crate) async fn in_plan(
    state: &AppState,
    caller: &Caller,
    products: &mut [ProductRecord],
) -> ApiResult<()> {
    if let Some(plan) = purchase_plans::plan_pricing(state, caller).await? {
        for p in products.iter_mut().filter(|p| plan.covers(p.id)) {
            p.sale_price_minor = plan.unit_price(p.id, p.sale_price_minor);
            p.plan_priced = true;
        }
    }
    Ok(())
}

/// The product's volume tiers as the caller pays them: none where a plan price replaces them.
pub(crate) async fn tiers(state: &AppState, p: &ProductRecord) -> ApiResult<Vec<VolumePrice>> {
    if p.plan_priced {
        return Ok(Vec::new());
    }
    Ok(state.store.volume_prices(p.id).await?)
}

/// A request on the product its path names.
type Product = Found<TokenOptional, ProductRecord>;

/// What the views of `products` need beyond their rows, read once for the whole set: which
/// are base products with variations, and (when expanded) volume tiers, categories and
/// variations.
#[derive(Default)]
pub(crate) struct Related {
    with_variations: Vec<i64>,
    tiers: HashMap<i64, Vec<VolumePrice>>,
    categories: HashMap<i64, Vec<CategoryRecord>>,
    variations: HashMap<i64, Vec<ProductRecord>>,
    variations_with_variations: Vec<i64>,
}

fn wants_volume_pricing(expand: &Expand) -> bool {
    expand.has("volumePricing") || expand.has("volume-pricing")
}

impl Related {
    pub(crate) async fn read(
        state: &AppState,
        products: &[ProductRecord],
        expand: &Expand,
        full: bool,
    ) -> ApiResult<Self> {
        let ids: Vec<i64> = products.iter().map(|p| p.id).collect();
        let mut related = Related {
            with_variations: state.store.with_variations(&ids).await?,
            ..Related::default()
        };
        if !full {
            return Ok(related);
        }
        for p in products {
            if wants_volume_pricing(expand) {
                related.tiers.insert(p.id, tiers(state, p).await?);
            }
            if expand.has("categories") {
                related
                    .categories
                    .insert(p.id, state.store.product_categories(p.id).await?);
            }
            if expand.has("variations") && p.base_product_id.is_none() {
                let variations = state.store.variations(p.id).await?;
                let ids: Vec<i64> = variations.iter().map(|v| v.id).collect();
                related
                    .variations_with_variations
                    .extend(state.store.with_variations(&ids).await?);
                related.variations.insert(p.id, variations);
            }
        }
        Ok(related)
    }

    pub(crate) fn has_variations(&self, id: i64) -> bool {
        self.with_variations.contains(&id) || self.variations_with_variations.contains(&id)
    }
}

/// The product, its parts expanded as `expand` names them.
pub(crate) fn product_view<'a>(
    q: &ApiQuery,
    p: &'a ProductRecord,
    expand: &Expand,
    related: &'a Related,
) -> ProductView<'a> {
    let path = product_path(p.id);
    let mut view = ProductView::new(q, p, related.has_variations(p.id));
    // The docs' product answers show `pricing` inline without `expand`: it is served so
    // (it costs no read); its `volumePricing` stays a link unless `expand` names it.
    let mut pricing = ProductPricing::new(q, p);
    if let Some(tiers) = related.tiers.get(&p.id) {
        pricing.volume_pricing = Expandable::Expanded(VolumePricing::new(q, p, tiers));
    }
    view.pricing = Expandable::Expanded(pricing);
    if expand.has("inventoryStatus") || expand.has("inventory-status") {
        view.inventory_status = Expandable::Expanded(InventoryStatus::new(q, p));
    }
    if let Some(categories) = related.categories.get(&p.id) {
        view.categories = Expandable::Expanded(Categories {
            uri: q.uri(&format!("{path}/categories")),
            category: categories
                .iter()
                .map(|c| CategoryView::summary(q, c))
                .collect(),
        });
    }
    if let Some(variations) = related.variations.get(&p.id) {
        view.variations = Expandable::Expanded(Variations {
            uri: q.uri(&format!("{path}/variations")),
            product: variations
                .iter()
                .map(|v| {
                    ProductItem::Summary(ProductSummary::new(q, v, related.has_variations(v.id)))
                })
                .collect(),
        });
    }
    view
}

/// Full product objects when `expand` names `product` (or `all`), summaries otherwise.
fn product_items<'a>(
    q: &ApiQuery,
    products: &'a [ProductRecord],
    expand: &Expand,
    related: &'a Related,
) -> Vec<ProductItem<'a>> {
    products
        .iter()
        .map(|p| {
            if expand.has("product") {
                ProductItem::Full(Box::new(product_view(q, p, expand, related)))
            } else {
                ProductItem::Summary(ProductSummary::new(q, p, related.has_variations(p.id)))
            }
        })
        .collect()
}

/// The `nextPage`/`previousPage` links of a list, as typed links.
pub(crate) fn page_link(links: &Value, which: &str) -> Option<Link> {
    links[which]["uri"].as_str().map(|uri| Link {
        uri: uri.to_owned(),
    })
}

/// A page of products in the documented list shape.
async fn product_list(
    state: &AppState,
    q: &ApiQuery,
    path: &str,
    products: &[ProductRecord],
    total: i64,
    page: Page,
    extra_query: &str,
) -> ApiResult<Response> {
    let expand = Expand::parse(q.get("expand"));
    let related = Related::read(state, products, &expand, expand.has("product")).await?;
    let links = q.page_links(path, page, total, extra_query);
    Ok(q.respond_with(&ProductsEnvelope {
        products: Products {
            uri: q.uri(path),
            product: product_items(q, products, &expand, &related),
            total_results: total,
            total_result_pages: (total + page.size - 1) / page.size,
            page_number: page.number,
            page_size: page.size,
            next_page: page_link(&links, "nextPage"),
            previous_page: page_link(&links, "previousPage"),
        },
    }))
}

fn keyword_query(keyword: Option<&str>) -> String {
    keyword
        .map(|k| {
            format!(
                "&keyword={}",
                form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>()
            )
        })
        .unwrap_or_default()
}

/// The page of the site's products matching `keyword` (all of them without one), as the list
/// at `path`.
async fn products_matching(
    state: &AppState,
    caller: &Caller,
    q: &ApiQuery,
    path: &str,
    keyword: Option<&str>,
    page: Page,
) -> ApiResult<Response> {
    let (mut products, total) = state
        .store
        .products(caller.site_id(), keyword, page)
        .await?;
    let extra = keyword_query(keyword);
    in_plan(state, caller, &mut products).await?;
    product_list(state, q, path, &products, total, page, &extra).await
}

/// `GET /v1/shoppers/me/products[?keyword=]`
pub async fn list_products(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let page = q.page()?;
    let keyword = q.get("keyword").filter(|k| !k.trim().is_empty());
    products_matching(&state, &caller, &q, PRODUCTS, keyword, page).await
}

/// `GET /v1/shoppers/me/product-search?keyword=`
pub async fn search_products(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let page = q.page()?;
    let keyword = q
        .get("keyword")
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| bad_request("keyword is required"))?;
    let path = "/v1/shoppers/me/product-search";
    products_matching(&state, &caller, &q, path, Some(keyword), page).await
}

/// `GET /v1/shoppers/me/products/{id}`
pub async fn get_product(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Product,
) -> ApiResult<Response> {
    let expand = Expand::parse(q.get("expand"));
    let one = std::slice::from_ref(&p);
    let related = Related::read(&state, one, &expand, true).await?;
    let product = product_view(&q, &p, &expand, &related);
    Ok(q.respond_with(&ProductEnvelope { product }))
}

/// `GET /v1/shoppers/me/products/{id}/pricing`
pub async fn get_pricing(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Product,
) -> ApiResult<Response> {
    // The docs' pricing answer shows `volumePricing` inline without `expand`.
    let mut pricing = ProductPricing::new(&q, &p);
    let tiers = tiers(&state, &p).await?;
    pricing.volume_pricing = Expandable::Expanded(VolumePricing::new(&q, &p, &tiers));
    Ok(q.respond_with(&ProductPricingEnvelope { pricing }))
}

/// `GET /v1/shoppers/me/products/{id}/pricing/volume-pricing`
pub async fn get_volume_pricing(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Product,
) -> ApiResult<Response> {
    let tiers = tiers(&state, &p).await?;
    let volume_pricing = VolumePricing::new(&q, &p, &tiers);
    Ok(q.respond_with(&VolumePricingEnvelope { volume_pricing }))
}

/// `GET /v1/shoppers/me/products/{id}/inventory-status`
pub async fn get_inventory_status(Found { q, item: p, .. }: Product) -> ApiResult<Response> {
    let inventory_status = InventoryStatus::new(&q, &p);
    Ok(q.respond_with(&InventoryStatusEnvelope { inventory_status }))
}

/// Most products one `products/inventory-status` request may name.
const MAX_INVENTORY_IDS: usize = 100;

/// `GET /v1/shoppers/me/products/inventory-status?productIds=1,2`; without `productIds` (as
/// the docs call it) the collection names no product and is empty.
pub async fn list_inventory_status(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let raw = q.get("productIds").unwrap_or_default();
    let ids: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .collect();
    if ids.len() > MAX_INVENTORY_IDS {
        return Err(bad_request(format!(
            "productIds names more than {MAX_INVENTORY_IDS} products"
        )));
    }
    let mut products = Vec::with_capacity(ids.len());
    for id in ids {
        let id: i64 = id
            .parse()
            .map_err(|_| bad_request(format!("productIds: {id:?} is not a product id")))?;
        products.push(product(&state, caller.site_id(), id).await?);
    }
    Ok(q.respond_with(&InventoryStatusesEnvelope {
        products: InventoryStatuses {
            uri: q.uri(&format!("{PRODUCTS}/inventory-status")),
            inventory_status: products
                .iter()
                .map(|p| InventoryStatus::new(&q, p))
                .collect(),
        },
    }))
}

/// `GET /v1/shoppers/me/products/{id}/variations`
pub async fn get_variations(
    State(state): State<AppState>,
    Found {
        access: TokenOptional(caller),
        q,
        item: p,
    }: Product,
) -> ApiResult<Response> {
    let mut variations = state.store.variations(p.id).await?;
    in_plan(&state, &caller, &mut variations).await?;
    let expand = Expand::parse(q.get("expand"));
    let related = Related::read(&state, &variations, &expand, expand.has("product")).await?;
    Ok(q.respond_with(&VariationsEnvelope {
        variations: Variations {
            uri: q.uri(&format!("{}/variations", product_path(p.id))),
            product: product_items(&q, &variations, &expand, &related),
        },
    }))
}

/// `GET /v1/shoppers/me/products/{id}/categories`
pub async fn get_product_categories(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Product,
) -> ApiResult<Response> {
    let categories = state.store.product_categories(p.id).await?;
    Ok(q.respond_with(&CategoriesEnvelope {
        categories: Categories {
            uri: q.uri(&format!("{}/categories", product_path(p.id))),
            category: categories
                .iter()
                .map(|c| CategoryView::summary(&q, c))
                .collect(),
        },
    }))
}

/// `GET /v1/shoppers/me/categories`: the tree from its roots.
pub async fn list_categories(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let all = state.store.categories(caller.site_id()).await?;
    Ok(q.respond_with(&CategoriesEnvelope {
        categories: Categories {
            uri: q.uri(CATEGORIES),
            category: all
                .iter()
                .filter(|c| c.parent_id.is_none())
                .map(|c| CategoryView::tree(&q, &all, c))
                .collect(),
        },
    }))
}

impl PathResource<TokenOptional> for CategoryRecord {
    async fn find(state: &AppState, caller: &TokenOptional, raw_id: &str) -> ApiResult<Self> {
        let id = path_id(raw_id, "category")?;
        state
            .store
            .category(caller.0.site_id(), id)
            .await?
            .ok_or_else(|| not_found(format!("category {id}")))
    }
}

/// A request on the category its path names.
type Category = Found<TokenOptional, CategoryRecord>;

/// `GET /v1/shoppers/me/categories/{id}`
pub async fn get_category(
    State(state): State<AppState>,
    Found {
        access: TokenOptional(caller),
        q,
        item: c,
    }: Category,
) -> ApiResult<Response> {
    let all = state.store.categories(caller.site_id()).await?;
    let category = CategoryView::tree(&q, &all, &c);
    Ok(q.respond_with(&CategoryEnvelope { category }))
}

/// `GET /v1/shoppers/me/categories/{id}/products`
pub async fn get_category_products(
    State(state): State<AppState>,
    Found {
        access: TokenOptional(caller),
        q,
        item: c,
    }: Category,
) -> ApiResult<Response> {
    let page = q.page()?;
    let mut products = state.store.category_products(c.id, page).await?;
    in_plan(&state, &caller, &mut products).await?;
    let path = format!("{CATEGORIES}/{}/products", c.id);
    product_list(&state, &q, &path, &products, c.product_count, page, "").await
}
