//! Offers and points of promotion (POPs), read by shoppers: the offer lists (`offers`,
//! `products/{id}/offers`), an offer with its product and category offers, and the POPs of the
//! site, of a product and of the cart with their offers. Token optional, but the cart's
//! (limited: a cart is a session's).
//!
//! What a shopper is shown is decided in one place, [`shown_to`]: in force (enabled, in its
//! window by the server's clock, uses left), never coupon-triggered, and promotional-URL offers
//! only in POP lists and at their own uri — except the offers the shopper's cart brought in
//! (a code it applied, an offer it named), which its offer lists and their uris show.

use super::access::{Caller, Limited, TokenOptional};
use super::catalog::{Related, page_link, product_view};
use super::shopper_api::{ApiQuery, ApiResult, not_found, path_id};
use super::views::offers::{
    CategoryOfferView, CategoryOffers, CategoryOffersEnvelope, OFFERS, OfferBrief, OfferEnvelope,
    OfferItem, OfferProduct, OfferView, Offers, OffersEnvelope, PopEnvelope, PopView, Pops,
    PopsEnvelope, ProductBrief, ProductOfferEnvelope, ProductOfferView, ProductOffers,
    ProductOffersEnvelope, offer_path, pops_path,
};
use axum::extract::{Path, State};
use axum::response::Response;
use shopkeeper_domain::SiteId;
use shopkeeper_domain::catalog::{Expand, Page};
use shopkeeper_domain::offers::{Offer, OfferId, Showing};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{CategoryRecord, OfferRecord, PopRecord, ProductRecord};
use std::collections::HashMap;

/// The offers `caller`'s cart brought in, by a coupon code it applied or by naming them
/// (`offerId`): an API key alone has none.
async fn brought_in(state: &AppState, caller: &Caller) -> ApiResult<Vec<OfferId>> {
    Ok(match caller {
        Caller::Token(p) => state.store.cart_offer_ids(&p.session_id).await?,
        Caller::ApiKey { .. } => Vec::new(),
    })
}

/// Whether a caller whose cart brought in `brought_in` is shown `offer` where `showing` says,
/// at `now`: the domain's rule (`Offer::shown`: in force, never a coupon offer,
/// promotional-URL offers not in the offer lists), except that the offers the cart brought in
/// are in its offer lists and at their uris (`how-to-use-offers.md`: "All user-triggered
/// coupon code offers"; never in POP lists, which leave coupon offers out); and uses left.
pub fn shown_to(brought_in: &[OfferId], offer: &OfferRecord, showing: Showing, now: i64) -> bool {
    let by_the_cart = showing != Showing::PointOfPromotion
        && brought_in.contains(&offer.id)
        && offer.pricing.in_force(now);
    (offer.pricing.shown(showing, now) || by_the_cart)
        && offer.total_limit.is_none_or(|limit| offer.uses < limit)
}

/// The site's offers `caller` is shown where `showing` says, by id.
pub async fn visible_offers(
    state: &AppState,
    caller: &Caller,
    showing: Showing,
) -> ApiResult<Vec<OfferRecord>> {
    let now = state.clock.now();
    let brought_in = brought_in(state, caller).await?;
    let mut offers = state.store.offers_for_shoppers(caller.site_id()).await?;
    // Coupon offers are not among the site's offers for shoppers: the cart's own are read.
    for id in &brought_in {
        if !offers.iter().any(|o| o.id == *id)
            && let Some(offer) = state.store.offer(caller.site_id(), *id).await?
        {
            offers.push(offer);
        }
    }
    offers.sort_by_key(|o| o.id);
    offers.retain(|o| shown_to(&brought_in, o, showing, now));
    Ok(offers)
}

/// The offer `raw_id` names, if the caller may see it at its uri; else the route's 404.
async fn visible_offer(state: &AppState, caller: &Caller, raw_id: &str) -> ApiResult<OfferRecord> {
    let id = path_id(raw_id, "offer")?;
    let now = state.clock.now();
    let brought_in = brought_in(state, caller).await?;
    state
        .store
        .offer(caller.site_id(), id)
        .await?
        .filter(|o| shown_to(&brought_in, o, Showing::OfferUri, now))
        .ok_or_else(|| not_found(format!("offer {id}")))
}

async fn product(state: &AppState, site: &SiteId, raw_id: &str) -> ApiResult<ProductRecord> {
    let id = path_id(raw_id, "product")?;
    state
        .store
        .product(site, id)
        .await?
        .ok_or_else(|| not_found(format!("product {id}")))
}

/// The offer a path names with its products read, and the request's `expand`.
async fn offer_with_products(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    q: &ApiQuery,
) -> ApiResult<(OfferRecord, Loaded, Expand)> {
    let o = visible_offer(state, caller, raw_id).await?;
    let loaded = Loaded::read(state, caller.site_id(), &[&o]).await?;
    Ok((o, loaded, Expand::parse(q.get("expand"))))
}

/// A POP name segment (`.json` accepted, as on every path).
async fn pop(state: &AppState, site: &SiteId, raw: &str) -> ApiResult<PopRecord> {
    let name = raw.strip_suffix(".json").unwrap_or(raw);
    state
        .store
        .pop(site, name)
        .await?
        .ok_or_else(|| not_found(format!("point of promotion {name}")))
}

/// The products whose offers a read is about: none (the site's), a product, or the cart's.
enum Scope {
    Site,
    /// Product ids with their categories.
    Products(Vec<(i64, Vec<i64>)>),
}

impl Scope {
    async fn of_products(state: &AppState, ids: Vec<i64>) -> ApiResult<Self> {
        let mut products = Vec::with_capacity(ids.len());
        for id in ids {
            let categories = state.store.product_categories(id).await?;
            products.push((id, categories.iter().map(|c| c.id).collect()));
        }
        Ok(Scope::Products(products))
    }

    /// An offer covering one of the scope's products, or every product.
    fn covers(&self, offer: &Offer) -> bool {
        match self {
            Scope::Site => true,
            Scope::Products(products) => {
                (offer.product_ids.is_empty() && offer.category_ids.is_empty())
                    || products.iter().any(|(id, cats)| offer.covers(*id, cats))
            }
        }
    }
}

/// What the views of some offers need beyond their rows: their products, and the catalog's
/// related data of those products (for `addProductToCart` and the expanded product).
struct Loaded {
    products: HashMap<i64, ProductRecord>,
    related: Related,
}

impl Loaded {
    async fn read(state: &AppState, site: &SiteId, offers: &[&OfferRecord]) -> ApiResult<Self> {
        let mut products = HashMap::new();
        for o in offers {
            for id in &o.pricing.product_ids {
                if !products.contains_key(id) {
                    if let Some(p) = state.store.product(site, *id).await? {
                        products.insert(*id, p);
                    }
                }
            }
        }
        let list: Vec<ProductRecord> = products.values().cloned().collect();
        let related = Related::read(state, &list, &Expand::default(), false).await?;
        Ok(Loaded { products, related })
    }

    /// The product offers of `o`, by product id.
    fn product_offers<'a>(
        &'a self,
        q: &ApiQuery,
        o: &'a OfferRecord,
        expand: &Expand,
        only: Option<i64>,
    ) -> Vec<ProductOfferView<'a>> {
        o.pricing
            .product_ids
            .iter()
            .filter(|id| only.is_none_or(|only| **id == only))
            .filter_map(|id| self.products.get(id))
            .map(|p| {
                let has_variations = self.related.has_variations(p.id);
                let product = if expand.has("product") {
                    let inventory = Expand::parse(Some("inventoryStatus"));
                    OfferProduct::Full(Box::new(product_view(q, p, &inventory, &self.related)))
                } else {
                    OfferProduct::Brief(ProductBrief::new(q, p))
                };
                ProductOfferView::new(q, o, p, has_variations, product)
            })
            .collect()
    }
}

/// A page of `offers` in the documented list shape at `path`: briefs, or full offers with
/// `expand=offer` (or `all`).
async fn offer_list(
    state: &AppState,
    q: &ApiQuery,
    site: &SiteId,
    path: &str,
    offers: &[OfferRecord],
) -> ApiResult<Response> {
    let page: Page = q.page()?;
    let total = offers.len() as i64;
    let on_page: Vec<&OfferRecord> = offers
        .iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.size).unwrap_or(0))
        .collect();
    let expand = Expand::parse(q.get("expand"));
    let full = expand.has("offer");
    let loaded = if full {
        Loaded::read(state, site, &on_page).await?
    } else {
        Loaded {
            products: HashMap::new(),
            related: Related::default(),
        }
    };
    let links = q.page_links(path, page, total, "");
    let offer = on_page
        .iter()
        .map(|o| {
            if full {
                let product_offers = loaded.product_offers(q, o, &expand, None);
                OfferItem::Full(Box::new(OfferView::new(q, o, product_offers)))
            } else {
                OfferItem::Brief(OfferBrief::new(q, o))
            }
        })
        .collect();
    Ok(q.respond_with(&OffersEnvelope {
        offers: Offers {
            uri: q.uri(path),
            offer,
            total_results: total,
            total_result_pages: (total + page.size - 1) / page.size,
            page_number: page.number,
            page_size: page.size,
            next_page: page_link(&links, "nextPage"),
            previous_page: page_link(&links, "previousPage"),
        },
    }))
}

/// `GET /v1/shoppers/me/offers`
pub async fn list_offers(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    let offers = visible_offers(&state, &caller, Showing::OfferList).await?;
    offer_list(&state, &q, caller.site_id(), OFFERS, &offers).await
}

/// `GET /v1/shoppers/me/products/{id}/offers`: the listed offers that cover the product.
pub async fn list_product_offers(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path(raw_id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let p = product(&state, caller.site_id(), &raw_id).await?;
    let scope = Scope::of_products(&state, vec![p.id]).await?;
    let mut offers = visible_offers(&state, &caller, Showing::OfferList).await?;
    offers.retain(|o| scope.covers(&o.pricing));
    let path = format!("/v1/shoppers/me/products/{}/offers", p.id);
    offer_list(&state, &q, caller.site_id(), &path, &offers).await
}

/// `GET /v1/shoppers/me/offers/{id}`: the full offer, its product offers inline.
pub async fn get_offer(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path(raw_id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let (o, loaded, expand) = offer_with_products(&state, &caller, &raw_id, &q).await?;
    let product_offers = loaded.product_offers(&q, &o, &expand, None);
    let offer = OfferView::new(&q, &o, product_offers);
    Ok(q.respond_with(&OfferEnvelope { offer }))
}

/// `GET /v1/shoppers/me/offers/{id}/product-offers`
pub async fn get_product_offers(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path(raw_id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let (o, loaded, expand) = offer_with_products(&state, &caller, &raw_id, &q).await?;
    Ok(q.respond_with(&ProductOffersEnvelope {
        product_offers: ProductOffers {
            uri: q.uri(&format!("{}/product-offers", offer_path(o.id))),
            product_offer: loaded.product_offers(&q, &o, &expand, None),
        },
    }))
}

/// `GET /v1/shoppers/me/offers/{id}/product-offers/{productId}`: the product offer is named
/// by its product's id.
pub async fn get_product_offer(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path((raw_id, raw_product)): Path<(String, String)>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let product_id = path_id(&raw_product, "product offer")?;
    let (o, loaded, expand) = offer_with_products(&state, &caller, &raw_id, &q).await?;
    let product_offer = loaded
        .product_offers(&q, &o, &expand, Some(product_id))
        .into_iter()
        .next()
        .ok_or_else(|| not_found(format!("product offer {product_id} of offer {}", o.id)))?;
    Ok(q.respond_with(&ProductOfferEnvelope { product_offer }))
}

/// `GET /v1/shoppers/me/offers/{id}/category-offers` (no docs sample: shaped like
/// `product-offers`).
pub async fn get_category_offers(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path(raw_id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let o = visible_offer(&state, &caller, &raw_id).await?;
    let mut categories: Vec<CategoryRecord> = Vec::new();
    for id in &o.pricing.category_ids {
        if let Some(c) = state.store.category(caller.site_id(), *id).await? {
            categories.push(c);
        }
    }
    Ok(q.respond_with(&CategoryOffersEnvelope {
        category_offers: CategoryOffers {
            uri: q.uri(&format!("{}/category-offers", offer_path(o.id))),
            category_offer: categories
                .iter()
                .map(|c| CategoryOfferView::new(&q, c))
                .collect(),
        },
    }))
}

// --- points of promotion --------------------------------------------------------------------

/// The offers POPs may show the caller in `scope`, by id.
async fn pop_candidates(
    state: &AppState,
    caller: &Caller,
    scope: &Scope,
) -> ApiResult<HashMap<i64, OfferRecord>> {
    Ok(visible_offers(state, caller, Showing::PointOfPromotion)
        .await?
        .into_iter()
        .filter(|o| scope.covers(&o.pricing))
        .map(|o| (o.id, o))
        .collect())
}

/// The offers of `candidates` that `pop` shows, in the POP's rank.
fn pop_offers(pop: &PopRecord, candidates: &HashMap<i64, OfferRecord>) -> Vec<OfferRecord> {
    pop.offer_ids
        .iter()
        .filter_map(|id| candidates.get(id).cloned())
        .collect()
}

/// The distinct types of `offers`, in their order.
fn offer_types(offers: &[OfferRecord]) -> Vec<&'static str> {
    let mut types = Vec::new();
    for o in offers {
        let t = o.pricing.offer_type.as_str();
        if !types.contains(&t) {
            types.push(t);
        }
    }
    types
}

async fn pop_list(
    state: &AppState,
    q: &ApiQuery,
    caller: &Caller,
    base: &str,
    scope: &Scope,
) -> ApiResult<Response> {
    let pops = state.store.pops(caller.site_id()).await?;
    let candidates = pop_candidates(state, caller, scope).await?;
    Ok(q.respond_with(&PopsEnvelope {
        point_of_promotions: Pops {
            uri: q.uri(base),
            point_of_promotion: pops
                .iter()
                .map(|pop| {
                    let types = offer_types(&pop_offers(pop, &candidates));
                    PopView::new(q, base, &pop.name, types)
                })
                .collect(),
        },
    }))
}

async fn one_pop(
    state: &AppState,
    q: &ApiQuery,
    caller: &Caller,
    base: &str,
    raw_name: &str,
    scope: &Scope,
) -> ApiResult<Response> {
    let pop = pop(state, caller.site_id(), raw_name).await?;
    let candidates = pop_candidates(state, caller, scope).await?;
    let types = offer_types(&pop_offers(&pop, &candidates));
    Ok(q.respond_with(&PopEnvelope {
        point_of_promotion: PopView::new(q, base, &pop.name, types),
    }))
}

async fn one_pop_offers(
    state: &AppState,
    q: &ApiQuery,
    caller: &Caller,
    base: &str,
    raw_name: &str,
    scope: &Scope,
) -> ApiResult<Response> {
    let pop = pop(state, caller.site_id(), raw_name).await?;
    let candidates = pop_candidates(state, caller, scope).await?;
    let offers = pop_offers(&pop, &candidates);
    let path = format!("{base}/{}/offers", pop.name);
    offer_list(state, q, caller.site_id(), &path, &offers).await
}

/// `GET /v1/shoppers/me/point-of-promotions`
pub async fn list_pops(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    q: ApiQuery,
) -> ApiResult<Response> {
    pop_list(&state, &q, &caller, &pops_path(None, false), &Scope::Site).await
}

/// `GET /v1/shoppers/me/point-of-promotions/{popName}`
pub async fn get_pop(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path(name): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let base = pops_path(None, false);
    one_pop(&state, &q, &caller, &base, &name, &Scope::Site).await
}

/// `GET /v1/shoppers/me/point-of-promotions/{popName}/offers`
pub async fn get_pop_offers(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path(name): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let base = pops_path(None, false);
    one_pop_offers(&state, &q, &caller, &base, &name, &Scope::Site).await
}

/// A product's POP routes: the product, and its scope.
async fn product_scope(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
) -> ApiResult<(String, Scope)> {
    let p = product(state, caller.site_id(), raw_id).await?;
    let scope = Scope::of_products(state, vec![p.id]).await?;
    Ok((pops_path(Some(p.id), false), scope))
}

/// `GET /v1/shoppers/me/products/{id}/point-of-promotions`
pub async fn list_product_pops(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path(raw_id): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let (base, scope) = product_scope(&state, &caller, &raw_id).await?;
    pop_list(&state, &q, &caller, &base, &scope).await
}

/// `GET /v1/shoppers/me/products/{id}/point-of-promotions/{popName}`
pub async fn get_product_pop(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path((raw_id, name)): Path<(String, String)>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let (base, scope) = product_scope(&state, &caller, &raw_id).await?;
    one_pop(&state, &q, &caller, &base, &name, &scope).await
}

/// `GET /v1/shoppers/me/products/{id}/point-of-promotions/{popName}/offers`: the POP's
/// offers that cover the product (or every product).
pub async fn get_product_pop_offers(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    Path((raw_id, name)): Path<(String, String)>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let (base, scope) = product_scope(&state, &caller, &raw_id).await?;
    one_pop_offers(&state, &q, &caller, &base, &name, &scope).await
}

/// The cart's POP routes: the caller, and the scope of the cart's products.
async fn cart_scope(state: &AppState, principal: Limited) -> ApiResult<(Caller, Scope)> {
    let lines = state.store.cart_lines(&principal.0.session_id).await?;
    let ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
    let scope = Scope::of_products(state, ids).await?;
    Ok((Caller::Token(principal.0), scope))
}

/// `GET /v1/shoppers/me/carts/active/point-of-promotions`
pub async fn list_cart_pops(
    State(state): State<AppState>,
    principal: Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    let (caller, scope) = cart_scope(&state, principal).await?;
    pop_list(&state, &q, &caller, &pops_path(None, true), &scope).await
}

/// `GET /v1/shoppers/me/carts/active/point-of-promotions/{popName}`
pub async fn get_cart_pop(
    State(state): State<AppState>,
    principal: Limited,
    Path(name): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let (caller, scope) = cart_scope(&state, principal).await?;
    one_pop(&state, &q, &caller, &pops_path(None, true), &name, &scope).await
}

/// `GET /v1/shoppers/me/carts/active/point-of-promotions/{popName}/offers`: the POP's offers
/// that cover a product in the cart (or every product).
pub async fn get_cart_pop_offers(
    State(state): State<AppState>,
    principal: Limited,
    Path(name): Path<String>,
    q: ApiQuery,
) -> ApiResult<Response> {
    let (caller, scope) = cart_scope(&state, principal).await?;
    one_pop_offers(&state, &q, &caller, &pops_path(None, true), &name, &scope).await
}
