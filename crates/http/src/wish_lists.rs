//! A signed-in shopper's wish lists (seed 003's five `shoppers/me/wish-lists` rows, full
//! token). The docs describe nothing of them, so the design follows the rest of the API
//! (README, "Wish lists"): named lists of the site's products, one of them the default, each
//! product shown as a cart line shows it, priced as the shopper's cart would price it, and
//! linked to the cart's own add route. Another shopper's list is a 404.

use super::access::{Caller, Full};
use super::catalog;
use super::error::ShopperApiError;
use super::extract::OptionalJson;
use super::shopper_api::{ApiQuery, ApiResult, bad_request, not_found, path_id};
use super::tolerant::{self, one_or_many, opt_bool, opt_i64, opt_object, opt_text};
use super::views::wish_lists::{
    ShownProduct, WISH_LISTS, WishListEnvelope, WishListView, WishLists, WishListsEnvelope,
};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use shopkeeper_domain::wish_lists::{
    self, MAX_WISH_LIST_PRODUCTS, ProductChange, WishListInput, WishListRefusal,
};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{WishListProductRecord, WishListRecord};
use std::collections::HashMap;

/// Every refusal of the rules is a request the shopper can correct: the documented 400
/// `invalid-request`, naming the field or the limit.
impl From<WishListRefusal> for ShopperApiError {
    fn from(refusal: WishListRefusal) -> Self {
        bad_request(refusal.to_string())
    }
}

/// The shopper's default list among `lists`.
fn default_of(lists: &[WishListRecord]) -> Option<i64> {
    let flags: Vec<(i64, bool)> = lists.iter().map(|l| (l.id, l.is_default)).collect();
    wish_lists::default_list(&flags)
}

/// The products on `items` as the caller sees them: the catalog's record at the session's
/// prices (a private store's plan price replaces the sale and volume prices), the volume tiers
/// and whether each is a base product with variations. One read per distinct product.
async fn shown_products(
    state: &AppState,
    full: &Full,
    items: &[WishListProductRecord],
) -> ApiResult<HashMap<i64, ShownProduct>> {
    let mut ids: Vec<i64> = items.iter().map(|i| i.product_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut records = Vec::with_capacity(ids.len());
    for id in &ids {
        if let Some(p) = state.store.product(&full.0.site_id, *id).await? {
            records.push(p);
        }
    }
    catalog::in_plan(state, &Caller::Token(full.0.clone()), &mut records).await?;
    let with_variations = state.store.with_variations(&ids).await?;
    let mut shown = HashMap::with_capacity(records.len());
    for record in records {
        let tiers = catalog::tiers(state, &record)
            .await?
            .into_iter()
            .map(|t| (t.min_quantity, t.unit_price_minor))
            .collect();
        shown.insert(
            record.id,
            ShownProduct {
                has_variations: with_variations.contains(&record.id),
                tiers,
                record,
            },
        );
    }
    Ok(shown)
}

/// `{"wishList": ...}` of the shopper's list `id` (else the route's 404), answered with
/// `status`.
async fn one_list(
    state: &AppState,
    full: &Full,
    q: &ApiQuery,
    id: i64,
    status: StatusCode,
) -> ApiResult<Response> {
    let lists = state.store.wish_lists(full.shopper_id()).await?;
    let list = lists
        .iter()
        .find(|l| l.id == id)
        .ok_or_else(|| not_found(format!("wish list {id}")))?;
    let items = state
        .store
        .wish_list_products(full.shopper_id(), Some(id))
        .await?;
    let shown = shown_products(state, full, &items).await?;
    let is_default = default_of(&lists) == Some(id);
    let mut response = q.respond_with(&WishListEnvelope {
        wish_list: WishListView::new(q, list, is_default, &items, &shown),
    });
    *response.status_mut() = status;
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&q.uri(&format!("{WISH_LISTS}/{id}")))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /v1/shoppers/me/wish-lists`: the shopper's lists, oldest first, with their products.
pub async fn list_wish_lists(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
) -> ApiResult<Response> {
    let lists = state.store.wish_lists(full.shopper_id()).await?;
    let items = state
        .store
        .wish_list_products(full.shopper_id(), None)
        .await?;
    let shown = shown_products(&state, &full, &items).await?;
    let default = default_of(&lists);
    let wish_list = lists
        .iter()
        .map(|l| WishListView::new(&q, l, default == Some(l.id), &items, &shown))
        .collect();
    Ok(q.respond_with(&WishListsEnvelope {
        wish_lists: WishLists {
            uri: q.uri(WISH_LISTS),
            total_results: lists.len(),
            wish_list,
        },
    }))
}

/// `GET /v1/shoppers/me/wish-lists/{id}`
pub async fn get_wish_list(
    State(state): State<AppState>,
    full: Full,
    Path(raw): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let id = path_id(&raw, "wish list")?;
    one_list(&state, &full, &q, id, StatusCode::OK).await
}

/// `GET /v1/shoppers/me/wish-lists/default`: the list the shopper made their default, else
/// their oldest; a shopper without any list gets one (named "Wish list").
pub async fn get_default_wish_list(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
) -> ApiResult<Response> {
    let id = state
        .store
        .default_wish_list(full.shopper_id(), state.clock.now())
        .await?;
    one_list(&state, &full, &q, id, StatusCode::OK).await
}

/// `{"wishList": {"id", "name", "isDefault", "products": {"product": [{"id", "quantity"}]}}}`
/// (or the bare object). The answer's own fields (`uri`, `pricing`, ...) may come back and
/// are ignored, so a storefront can post back what it read.
#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a wish list object {\"id\", \"name\", \"isDefault\", \"products\"}"
)]
pub struct WishListWire {
    #[serde(default, deserialize_with = "opt_i64")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "opt_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_bool")]
    is_default: Option<bool>,
    #[serde(default, deserialize_with = "opt_object")]
    products: Option<ProductsWire>,
}

#[derive(Debug, Deserialize)]
#[serde(expecting = "an object {\"product\": [...]}")]
pub struct ProductsWire {
    #[serde(default, deserialize_with = "one_or_many")]
    product: Vec<ProductWire>,
}

/// A product to add or update: `id` (or `productId`) and `quantity` (`0` removes it).
#[derive(Debug, Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a product object {\"id\", \"quantity\"}"
)]
pub struct ProductWire {
    #[serde(default, deserialize_with = "opt_i64")]
    id: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    product_id: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    quantity: Option<i64>,
}

const WHAT_TO_SEND: &str = "give a wishList: {\"wishList\": {\"name\"}} creates one, \
                            {\"wishList\": {\"id\", \"products\": {\"product\": [{\"id\", \
                            \"quantity\"}]}}} updates one";

/// The body as the list's id (`None`: a new list) and the checked input; every product it
/// names is checked to be one of the site's (else the 404 adding it to the cart answers).
async fn read_body(
    state: &AppState,
    full: &Full,
    body: Option<Value>,
) -> ApiResult<(Option<i64>, WishListInput)> {
    let body = body.ok_or_else(|| bad_request(WHAT_TO_SEND))?;
    let (inner, at) = tolerant::unwrap_envelope(body, "wishList");
    if tolerant::is_nothing(&inner) {
        return Err(bad_request(WHAT_TO_SEND));
    }
    let wire: WishListWire = tolerant::from_value(inner, at)?;
    let id = match wire.id {
        Some(id) if id <= 0 => return Err(not_found(format!("wish list {id}"))),
        other => other,
    };
    let name = wire
        .name
        .as_deref()
        .map(wish_lists::check_name)
        .transpose()?;
    let wanted = wire.products.map(|p| p.product).unwrap_or_default();
    if wanted.len() > MAX_WISH_LIST_PRODUCTS {
        return Err(bad_request(format!(
            "wishList.products.product: at most {MAX_WISH_LIST_PRODUCTS} products a request"
        )));
    }
    let mut products = Vec::with_capacity(wanted.len());
    for (i, p) in wanted.into_iter().enumerate() {
        let product_id = p
            .id
            .or(p.product_id)
            .ok_or_else(|| bad_request(format!("wishList.products.product[{i}].id is required")))?;
        let quantity = p.quantity.map(wish_lists::check_quantity).transpose()?;
        products.push(ProductChange {
            product_id,
            quantity,
        });
    }
    let mut checked: Vec<i64> = Vec::new();
    // Removing a product is always possible; adding one needs the site to have it.
    for change in products.iter().filter(|c| c.quantity != Some(0)) {
        if checked.contains(&change.product_id) {
            continue;
        }
        if change.product_id <= 0
            || state
                .store
                .product(&full.0.site_id, change.product_id)
                .await?
                .is_none()
        {
            return Err(not_found(format!("product {}", change.product_id)));
        }
        checked.push(change.product_id);
    }
    Ok((
        id,
        WishListInput {
            name,
            make_default: wire.is_default == Some(true),
            products,
        },
    ))
}

/// `POST /v1/shoppers/me/wish-lists`: a body without `id` creates a list (`201 Created`,
/// `Location` naming it; `name` required, `isDefault` and `products` optional); a body with
/// the `id` of one of the shopper's lists updates it (`200`): renames it, makes it the
/// default, and adds products or sets their quantities (`0` removes one).
pub async fn post_wish_lists(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
    OptionalJson(body): OptionalJson<Value>,
) -> ApiResult<Response> {
    let (id, input) = read_body(&state, &full, body).await?;
    let now = state.clock.now();
    match id {
        None => {
            let name = input.name.clone().ok_or(WishListRefusal::NameMissing)?;
            let id = state
                .store
                .create_wish_list(full.shopper_id(), &name, &input, now)
                .await??;
            one_list(&state, &full, &q, id, StatusCode::CREATED).await
        }
        Some(id) => {
            state
                .store
                .update_wish_list(full.shopper_id(), id, &input, now)
                .await?
                .ok_or_else(|| not_found(format!("wish list {id}")))??;
            one_list(&state, &full, &q, id, StatusCode::OK).await
        }
    }
}

/// `DELETE /v1/shoppers/me/wish-lists?id=ID`: deletes that list with its products (`204`).
/// The list is named in the query, as the seed's row has no `{id}`; without one the answer
/// is a 400 rather than every list deleted.
pub async fn delete_wish_list(
    State(state): State<AppState>,
    full: Full,
    q: ApiQuery,
) -> ApiResult<StatusCode> {
    let raw = q
        .get("id")
        .map(str::trim)
        .filter(|raw| !raw.is_empty())
        .ok_or_else(|| bad_request("name the wish list to delete: ?id=ID"))?;
    let id = raw
        .parse::<i64>()
        .map_err(|_| bad_request("id must be a wish list's id (a whole number)"))?;
    if id > 0 && state.store.delete_wish_list(full.shopper_id(), id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(format!("wish list {id}")))
    }
}
