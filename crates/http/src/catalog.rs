//! The catalog: products (with pricing, volume pricing, inventory status, variations and
//! categories), the category tree and product search. Token optional throughout.

use super::access::TokenOptional;
use super::shopper_api::{
    ApiQuery, ApiResult, Found, PathResource, bad_request, not_found, path_id,
};
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use shopkeeper_domain::SiteId;
use shopkeeper_domain::catalog::{Expand, IN_STOCK, Page, formatted, inventory_status, money};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{CategoryRecord, ProductRecord};

const PRODUCTS: &str = "/v1/shoppers/me/products";
const CATEGORIES: &str = "/v1/shoppers/me/categories";

fn product_path(id: i64) -> String {
    format!("{PRODUCTS}/{id}")
}

async fn product(state: &AppState, site: &SiteId, id: i64) -> ApiResult<ProductRecord> {
    state
        .store
        .product(site, id)
        .await?
        .ok_or_else(|| not_found(format!("product {id}")))
}

impl PathResource<TokenOptional> for ProductRecord {
    async fn find(state: &AppState, caller: &TokenOptional, raw_id: &str) -> ApiResult<Self> {
        product(state, caller.0.site_id(), path_id(raw_id, "product")?).await
    }
}

/// A request on the product its path names.
type Product = Found<TokenOptional, ProductRecord>;

fn pricing_body(q: &ApiQuery, p: &ProductRecord) -> Value {
    json!({
        "uri": q.uri(&format!("{}/pricing", product_path(p.id))),
        "listPrice": money(p.list_price_minor, &p.currency),
        "salePriceWithQuantity": money(p.sale_price_minor, &p.currency),
        "formattedListPrice": formatted(p.list_price_minor, &p.currency),
        "formattedSalePriceWithQuantity": formatted(p.sale_price_minor, &p.currency),
        "listPriceIncludesTax": false,
        "volumePricing": q.link(&format!("{}/pricing/volume-pricing", product_path(p.id))),
    })
}

async fn volume_pricing_body(
    state: &AppState,
    q: &ApiQuery,
    p: &ProductRecord,
) -> ApiResult<Value> {
    let tiers = state.store.volume_prices(p.id).await?;
    let points: Vec<Value> = tiers
        .iter()
        .map(|t| {
            json!({
                "minQuantity": t.min_quantity,
                "unitPrice": money(t.unit_price_minor, &p.currency),
                "formattedUnitPrice": formatted(t.unit_price_minor, &p.currency),
            })
        })
        .collect();
    Ok(json!({
        "uri": q.uri(&format!("{}/pricing/volume-pricing", product_path(p.id))),
        "product": q.link(&product_path(p.id)),
        "pricePoint": points,
    }))
}

fn inventory_body(q: &ApiQuery, p: &ProductRecord) -> Value {
    let status = inventory_status(p.available_quantity);
    json!({
        "uri": q.uri(&format!("{}/inventory-status", product_path(p.id))),
        "product": {"uri": q.uri(&product_path(p.id)), "id": p.id},
        "availableQuantity": p.available_quantity,
        "availableQuantityIsEstimated": false,
        "productIsInStock": status == IN_STOCK,
        "productIsAllowsBackorders": false,
        "productIsTracked": p.available_quantity.is_some(),
        "status": status,
        "statusIsEstimated": false,
    })
}

fn category_summary(q: &ApiQuery, c: &CategoryRecord) -> Value {
    json!({
        "uri": q.uri(&format!("{CATEGORIES}/{}", c.id)),
        "id": c.id,
        "name": c.name,
        "displayName": c.display_name,
    })
}

/// The product object; linked sub-resources are expanded when `expand` names them.
async fn product_body(
    state: &AppState,
    q: &ApiQuery,
    p: &ProductRecord,
    expand: &Expand,
) -> ApiResult<Value> {
    let path = product_path(p.id);
    let mut body = json!({
        "uri": q.uri(&path),
        "id": p.id,
        "name": p.name,
        "displayName": p.display_name,
        "shortDescription": p.short_description,
        "longDescription": p.long_description,
        "sku": p.sku,
        "productType": p.product_type,
        "keywords": p.keywords,
        "thumbnailImage": p.thumbnail_image,
        "productImage": p.product_image,
        "purchasable": inventory_status(p.available_quantity) == IN_STOCK,
        "pricing": q.link(&format!("{path}/pricing")),
        "inventoryStatus": q.link(&format!("{path}/inventory-status")),
        "variations": q.link(&format!("{path}/variations")),
        "categories": q.link(&format!("{path}/categories")),
    });
    let obj = body.as_object_mut().expect("an object literal");
    if let Some(base) = p.base_product_id {
        obj.insert(
            "baseProduct".into(),
            json!({"uri": q.uri(&product_path(base)), "id": base}),
        );
        let attributes: Value =
            serde_json::from_str(&p.variation_attributes).unwrap_or_else(|_| json!({}));
        obj.insert("variationAttributes".into(), attributes);
    }
    if expand.has("pricing") {
        let mut pricing = pricing_body(q, p);
        if expand.has("volumePricing") || expand.has("volume-pricing") {
            pricing["volumePricing"] = volume_pricing_body(state, q, p).await?;
        }
        obj.insert("pricing".into(), pricing);
    }
    if expand.has("inventoryStatus") || expand.has("inventory-status") {
        obj.insert("inventoryStatus".into(), inventory_body(q, p));
    }
    if expand.has("categories") {
        let categories = state.store.product_categories(p.id).await?;
        obj.insert(
            "categories".into(),
            json!({
                "uri": q.uri(&format!("{path}/categories")),
                "category": categories.iter().map(|c| category_summary(q, c)).collect::<Vec<_>>(),
            }),
        );
    }
    if expand.has("variations") && p.base_product_id.is_none() {
        let variations = state.store.variations(p.id).await?;
        let mut list = Vec::new();
        for v in &variations {
            list.push(product_summary(q, v));
        }
        obj.insert(
            "variations".into(),
            json!({"uri": q.uri(&format!("{path}/variations")), "product": list}),
        );
    }
    Ok(body)
}

fn product_summary(q: &ApiQuery, p: &ProductRecord) -> Value {
    json!({
        "uri": q.uri(&product_path(p.id)),
        "id": p.id,
        "displayName": p.display_name,
        "thumbnailImage": p.thumbnail_image,
    })
}

/// Full product objects when `expand` names `product` (or `all`), links with a summary
/// otherwise.
async fn product_items(
    state: &AppState,
    q: &ApiQuery,
    products: &[ProductRecord],
) -> ApiResult<Vec<Value>> {
    let expand = Expand::parse(q.get("expand"));
    let mut items = Vec::with_capacity(products.len());
    for p in products {
        items.push(if expand.has("product") {
            product_body(state, q, p, &expand).await?
        } else {
            product_summary(q, p)
        });
    }
    Ok(items)
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
) -> ApiResult<Value> {
    let items = product_items(state, q, products).await?;
    let mut list = json!({
        "uri": q.uri(path),
        "product": items,
        "totalResults": total,
        "totalResultPages": (total + page.size - 1) / page.size,
        "pageNumber": page.number,
        "pageSize": page.size,
    });
    if let Value::Object(links) = q.page_links(path, page, total, extra_query) {
        list.as_object_mut().expect("object").extend(links);
    }
    Ok(json!({ "products": list }))
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
    q: &ApiQuery,
    site: &SiteId,
    path: &str,
    keyword: Option<&str>,
    page: Page,
) -> ApiResult<Response> {
    let (products, total) = state.store.products(site, keyword, page).await?;
    let extra = keyword_query(keyword);
    let body = product_list(state, q, path, &products, total, page, &extra).await?;
    Ok(q.respond(body))
}

/// `GET /v1/shoppers/me/products[?keyword=]`
pub async fn list_products(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let page = q.page()?;
    let keyword = q.get("keyword").filter(|k| !k.trim().is_empty());
    products_matching(&state, &q, caller.site_id(), PRODUCTS, keyword, page).await
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
        .ok_or_else(|| bad_request("missing-parameter", "keyword is required"))?;
    let path = "/v1/shoppers/me/product-search";
    products_matching(&state, &q, caller.site_id(), path, Some(keyword), page).await
}

/// `GET /v1/shoppers/me/products/{id}`
pub async fn get_product(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Product,
) -> ApiResult<Response> {
    let body = product_body(&state, &q, &p, &Expand::parse(q.get("expand"))).await?;
    Ok(q.respond(json!({ "product": body })))
}

/// `GET /v1/shoppers/me/products/{id}/pricing`
pub async fn get_pricing(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Product,
) -> ApiResult<Response> {
    let mut pricing = pricing_body(&q, &p);
    if Expand::parse(q.get("expand")).has("volumePricing") {
        pricing["volumePricing"] = volume_pricing_body(&state, &q, &p).await?;
    }
    Ok(q.respond(json!({ "pricing": pricing })))
}

/// `GET /v1/shoppers/me/products/{id}/pricing/volume-pricing`
pub async fn get_volume_pricing(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Product,
) -> ApiResult<Response> {
    Ok(q.respond(json!({ "volumePricing": volume_pricing_body(&state, &q, &p).await? })))
}

/// `GET /v1/shoppers/me/products/{id}/inventory-status`
pub async fn get_inventory_status(Found { q, item: p, .. }: Product) -> ApiResult<Response> {
    Ok(q.respond(json!({ "inventoryStatus": inventory_body(&q, &p) })))
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
        return Err(bad_request(
            "invalid-parameter",
            format!("productIds names more than {MAX_INVENTORY_IDS} products"),
        ));
    }
    let mut statuses = Vec::with_capacity(ids.len());
    for id in ids {
        let id: i64 = id.parse().map_err(|_| {
            bad_request(
                "invalid-parameter",
                format!("productIds: {id:?} is not a product id"),
            )
        })?;
        let p = product(&state, caller.site_id(), id).await?;
        statuses.push(inventory_body(&q, &p));
    }
    Ok(q.respond(json!({"inventoryStatuses": {
        "uri": q.uri(&format!("{PRODUCTS}/inventory-status")),
        "inventoryStatus": statuses,
    }})))
}

/// `GET /v1/shoppers/me/products/{id}/variations`
pub async fn get_variations(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Product,
) -> ApiResult<Response> {
    let variations = state.store.variations(p.id).await?;
    let items = product_items(&state, &q, &variations).await?;
    Ok(q.respond(json!({"variations": {
        "uri": q.uri(&format!("{}/variations", product_path(p.id))),
        "product": items,
    }})))
}

/// `GET /v1/shoppers/me/products/{id}/categories`
pub async fn get_product_categories(
    State(state): State<AppState>,
    Found { q, item: p, .. }: Product,
) -> ApiResult<Response> {
    let categories = state.store.product_categories(p.id).await?;
    Ok(q.respond(json!({"categories": {
        "uri": q.uri(&format!("{}/categories", product_path(p.id))),
        "category": categories.iter().map(|c| category_summary(&q, c)).collect::<Vec<_>>(),
    }})))
}

/// A category with its sub-tree (the site's categories are few; built in memory).
fn category_tree(q: &ApiQuery, all: &[CategoryRecord], c: &CategoryRecord) -> Value {
    let children: Vec<Value> = all
        .iter()
        .filter(|x| x.parent_id == Some(c.id))
        .map(|x| category_tree(q, all, x))
        .collect();
    let mut body = category_summary(q, c);
    let obj = body.as_object_mut().expect("object");
    obj.insert(
        "products".into(),
        q.link(&format!("{CATEGORIES}/{}/products", c.id)),
    );
    if let Some(parent) = c.parent_id {
        obj.insert(
            "parentCategory".into(),
            json!({"uri": q.uri(&format!("{CATEGORIES}/{parent}")), "id": parent}),
        );
    }
    obj.insert("categories".into(), json!({ "category": children }));
    body
}

/// `GET /v1/shoppers/me/categories`: the tree from its roots.
pub async fn list_categories(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let all = state.store.categories(caller.site_id()).await?;
    let roots: Vec<Value> = all
        .iter()
        .filter(|c| c.parent_id.is_none())
        .map(|c| category_tree(&q, &all, c))
        .collect();
    Ok(q.respond(json!({"categories": {"uri": q.uri(CATEGORIES), "category": roots}})))
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
    Ok(q.respond(json!({ "category": category_tree(&q, &all, &c) })))
}

/// `GET /v1/shoppers/me/categories/{id}/products`
pub async fn get_category_products(
    State(state): State<AppState>,
    Found { q, item: c, .. }: Category,
) -> ApiResult<Response> {
    let page = q.page()?;
    let (products, total) = state.store.category_products(c.id, page).await?;
    let path = format!("{CATEGORIES}/{}/products", c.id);
    let body = product_list(&state, &q, &path, &products, total, page, "").await?;
    Ok(q.respond(body))
}
