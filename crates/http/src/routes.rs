//! The Shopper API router, built from `domain::access_policy::ROUTES`: every provided row
//! gets its handler (and its `.json` twin), and nothing else is routed here. Building it
//! panics if the table and [`handler`] disagree, so every test run checks them.

use super::{
    address_suggestions as sg, cart_offers, carts, catalog, cors, financing, key_carts, offers,
    orders, payment_methods, product_purchase, purchase_plans, returns, shopper_api, shoppers,
    shoppers_token, site, subscriptions, tax_registrations as tx, web_checkout, wish_lists,
};
use axum::Router;
use axum::http::uri::PathAndQuery;
use axum::http::{Method, Request, Uri};
use axum::routing::{MethodRouter, delete, get, post, put};
use shopkeeper_domain::access_policy::{self, ROUTES, Route};
use shopkeeper_services::state::AppState;
use std::collections::BTreeMap;

/// A Shopper API path with a trailing slash (`/v1/shoppers/me/payment-options/`, as the
/// WordPress plugin writes some) is the path without it, for every route and method: the
/// slash is trimmed before routing, the query kept. Other paths (OAuth, pages) keep their
/// exact spelling.
pub fn trim_trailing_slash<B>(mut request: Request<B>) -> Request<B> {
    let uri = request.uri();
    let path = uri.path();
    if !path.starts_with("/v1/") || !path.ends_with('/') {
        return request;
    }
    let trimmed = path.trim_end_matches('/').to_owned();
    replace_path(&mut request, &trimmed);
    request
}

/// Sets the request's path, keeping its query (a path that makes no URI leaves it as it was).
pub fn replace_path<B>(request: &mut Request<B>, path: &str) {
    let uri = request.uri();
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    if let Ok(pq) = PathAndQuery::try_from(path_and_query) {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
}

/// The handler of a row. Providing a row = flip it to `Yes` in the table + one line here.
pub fn handler(method: &str, path: &str) -> Option<MethodRouter<AppState>> {
    use cart_offers as co;
    use carts as k;
    use catalog as c;
    use offers as f;
    use orders as o;
    use shoppers as s;
    use subscriptions as sub;
    Some(match (method, path) {
        ("POST", "/v1/shoppers") => post(s::create),
        ("GET", "/v1/shoppers/me") => get(s::get_me),
        ("POST", "/v1/shoppers/me") => post(s::update_me),
        ("GET", "/v1/shoppers/me/account") => get(s::get_account),
        ("GET", "/v1/shoppers/me/addresses") => get(s::list_addresses),
        ("POST", "/v1/shoppers/me/addresses") => post(s::save_address),
        ("GET", "/v1/shoppers/me/addresses/{id}") => get(s::get_address),
        ("POST", "/v1/shoppers/me/addresses/{id}") => post(s::update_address),
        ("DELETE", "/v1/shoppers/me/addresses/{id}") => delete(s::delete_address),
        ("GET", "/v1/shoppers/me/carts/active") => get(k::get_cart),
        ("POST", "/v1/shoppers/me/carts/active") => post(k::update_cart),
        ("POST", "/v1/shoppers/me/carts/active/apply-billing-address") => {
            post(k::apply_address::<k::Billing>)
        }
        ("POST", "/v1/shoppers/me/carts/active/apply-payment-method") => {
            post(k::apply_payment_method)
        }
        ("POST", "/v1/shoppers/me/carts/active/apply-shipping-address") => {
            post(k::apply_address::<k::Shipping>)
        }
        ("POST", "/v1/shoppers/me/carts/active/apply-shipping-option") => {
            post(k::apply_shipping_option)
        }
        ("POST", "/v1/shoppers/me/carts/active/apply-shopper") => post(k::apply_shopper),
        ("GET", "/v1/shoppers/me/carts/active/billing-address") => {
            get(k::get_address::<k::Billing>)
        }
        ("PUT", "/v1/shoppers/me/carts/active/billing-address") => {
            put(k::put_address::<k::Billing>)
        }
        ("GET", "/v1/shoppers/me/carts/active/shipping-address") => {
            get(k::get_address::<k::Shipping>)
        }
        ("GET", "/v1/shoppers/me/carts/active/billing-address/suggestions") => {
            get(sg::list_suggestions::<k::Billing>)
        }
        ("GET", "/v1/shoppers/me/carts/active/billing-address/suggestions/{id}") => {
            get(sg::get_suggestion::<k::Billing>)
        }
        ("GET", "/v1/shoppers/me/carts/active/shipping-address/suggestions") => {
            get(sg::list_suggestions::<k::Shipping>)
        }
        ("GET", "/v1/shoppers/me/carts/active/shipping-address/suggestions/{id}") => {
            get(sg::get_suggestion::<k::Shipping>)
        }
        ("PUT", "/v1/shoppers/me/carts/active/shipping-address") => {
            put(k::put_address::<k::Shipping>)
        }
        ("GET", "/v1/shoppers/me/carts/active/applied-offers") => get(co::list_applied_offers),
        ("DELETE", "/v1/shoppers/me/carts/active/applied-offers/{offerId}") => {
            delete(co::remove_applied_offer)
        }
        ("DELETE", "/v1/shoppers/me/carts/active/eligible-offers") => {
            delete(co::remove_eligible_offers)
        }
        ("GET", "/v1/shoppers/me/carts/active/line-items") => get(k::list_line_items),
        ("POST", "/v1/shoppers/me/carts/active/line-items") => post(k::add_line_items),
        ("DELETE", "/v1/shoppers/me/carts/active/line-items") => delete(k::delete_line_items),
        ("GET", "/v1/shoppers/me/carts/active/line-items/{id}") => get(k::get_line_item),
        ("POST", "/v1/shoppers/me/carts/active/line-items/{id}") => post(k::update_line_item),
        ("DELETE", "/v1/shoppers/me/carts/active/line-items/{id}") => delete(k::delete_line_item),
        ("GET", "/v1/shoppers/me/carts/active/payment-methods") => {
            get(payment_methods::get_payment_methods)
        }
        ("GET", "/v1/shoppers/me/carts/active/shipping-options") => get(k::list_shipping_options),
        ("GET", "/v1/shoppers/me/carts/active/shipping-options/{id}") => {
            get(k::get_shipping_option)
        }
        ("POST", "/v1/shoppers/me/carts/active/submit-cart") => post(k::submit_cart),
        ("POST", "/v1/shoppers/me/carts/active/tax-registrations") => {
            post(tx::post_tax_registrations)
        }
        ("DELETE", "/v1/shoppers/me/carts/active/tax-registrations") => {
            delete(tx::delete_tax_registrations)
        }
        ("GET", "/v1/shoppers/me/carts/active/tax-registrations/schema") => get(tx::get_schema),
        ("GET", "/v1/shoppers/me/carts/active/web-checkout") => get(web_checkout::get_web_checkout),
        ("POST", "/v1/shoppers/me/carts/active/web-checkout") => {
            post(web_checkout::post_web_checkout)
        }
        ("GET", "/v1/shoppers/me/purchase-plan") => get(purchase_plans::get_purchase_plan),
        ("POST", "/v1/shoppers/me/purchase-plan/authorize") => {
            post(purchase_plans::authorize_purchase_plan)
        }
        ("GET", "/v1/shoppers/me/purchase-plan/search") => {
            get(purchase_plans::search_purchase_plans)
        }
        ("GET", "/v1/shoppers/me/subscriptions") => get(sub::list_subscriptions),
        ("GET", "/v1/shoppers/me/subscriptions/{id}") => get(sub::get_subscription),
        ("GET", "/v1/subscriptions/{id}") => get(sub::get_subscription_resource),
        ("POST", "/v1/subscriptions/{id}/cancel") => post(sub::cancel_subscription),
        ("GET", "/v1/subscriptions/{id}/orders") => get(sub::list_subscription_orders),
        ("POST", "/v1/subscriptions/{id}/payment-option") => post(sub::change_payment_option),
        ("POST", "/v1/subscriptions/{id}/payment-source") => post(sub::change_payment_source),
        ("GET", "/v1/subscriptions/{id}/pending-actions") => get(sub::list_pending_actions),
        ("POST", "/v1/subscriptions/{id}/renewal-quantity") => post(sub::change_renewal_quantity),
        ("POST", "/v1/subscriptions/{id}/renewal-type") => post(sub::change_renewal_type),
        ("POST", "/v1/subscriptions/{id}/ship-to-address") => post(sub::change_ship_to_address),
        ("GET", "/v1/shoppers/me/wish-lists") => get(wish_lists::list_wish_lists),
        ("POST", "/v1/shoppers/me/wish-lists") => post(wish_lists::post_wish_lists),
        ("DELETE", "/v1/shoppers/me/wish-lists") => delete(wish_lists::delete_wish_list),
        ("GET", "/v1/shoppers/me/wish-lists/{id}") => get(wish_lists::get_wish_list),
        ("GET", "/v1/shoppers/me/wish-lists/default") => get(wish_lists::get_default_wish_list),
        ("GET", "/v1/shoppers/me/orders") => get(o::list_orders),
        ("GET", "/v1/shoppers/me/orders/{id}") => get(o::get_order),
        ("GET", "/v1/shoppers/me/orders/{id}/billing-address") => get(o::get_order_billing_address),
        ("GET", "/v1/shoppers/me/orders/{id}/line-items") => get(o::get_order_line_items),
        ("GET", "/v1/shoppers/me/orders/{id}/line-items/{lineItemId}") => {
            get(o::get_order_line_item)
        }
        ("GET", "/v1/shoppers/me/orders/{id}/returns") => get(returns::list_returns),
        ("POST", "/v1/shoppers/me/orders/{id}/returns") => post(returns::post_return),
        ("GET", "/v1/shoppers/me/orders/{id}/shipping-address") => {
            get(o::get_order_shipping_address)
        }
        ("GET", "/v1/shoppers/me/payment-options") => get(o::list_payment_options),
        ("POST", "/v1/shoppers/me/payment-options") => post(o::save_payment_option),
        ("GET", "/v1/shoppers/me/payment-options/{id}") => get(o::get_payment_option),
        ("DELETE", "/v1/shoppers/me/payment-options/{id}") => delete(o::delete_payment_option),
        ("POST", "/v1/shoppers/order-lookup") => post(o::order_lookup),
        ("GET", "/v1/shoppers/me/categories") => get(c::list_categories),
        ("GET", "/v1/shoppers/me/categories/{id}") => get(c::get_category),
        ("GET", "/v1/shoppers/me/categories/{id}/products") => get(c::get_category_products),
        ("GET", "/v1/shoppers/me/product-search") => get(c::search_products),
        ("GET", "/v1/shoppers/me/products") => get(c::list_products),
        ("GET", "/v1/shoppers/me/products/inventory-status") => get(c::list_inventory_status),
        ("GET", "/v1/shoppers/me/products/{id}") => get(c::get_product),
        ("GET", "/v1/shoppers/me/products/{id}/categories") => get(c::get_product_categories),
        ("GET", "/v1/shoppers/me/products/{id}/financing") => get(financing::get_financing),
        ("GET", "/v1/shoppers/me/products/{id}/inventory-status") => get(c::get_inventory_status),
        ("GET", "/v1/shoppers/me/products/{id}/pricing") => get(c::get_pricing),
        ("GET", "/v1/shoppers/me/products/{id}/pricing/volume-pricing") => {
            get(c::get_volume_pricing)
        }
        ("GET", "/v1/shoppers/me/products/{id}/variations") => get(c::get_variations),
        ("POST", "/v1/shoppers/me/products/{id}/purchase") => {
            post(product_purchase::purchase_product)
        }
        ("GET", "/v1/shoppers/me/offers") => get(f::list_offers),
        ("GET", "/v1/shoppers/me/offers/{id}") => get(f::get_offer),
        ("GET", "/v1/shoppers/me/offers/{id}/product-offers") => get(f::get_product_offers),
        ("GET", "/v1/shoppers/me/offers/{id}/product-offers/{productId}") => {
            get(f::get_product_offer)
        }
        ("GET", "/v1/shoppers/me/offers/{id}/category-offers") => get(f::get_category_offers),
        ("GET", "/v1/shoppers/me/products/{id}/offers") => get(f::list_product_offers),
        ("GET", "/v1/shoppers/me/point-of-promotions") => get(f::list_pops),
        ("GET", "/v1/shoppers/me/point-of-promotions/{popName}") => get(f::get_pop),
        ("GET", "/v1/shoppers/me/point-of-promotions/{popName}/offers") => get(f::get_pop_offers),
        ("GET", "/v1/shoppers/me/products/{id}/point-of-promotions") => get(f::list_product_pops),
        ("GET", "/v1/shoppers/me/products/{id}/point-of-promotions/{popName}") => {
            get(f::get_product_pop)
        }
        ("GET", "/v1/shoppers/me/products/{id}/point-of-promotions/{popName}/offers") => {
            get(f::get_product_pop_offers)
        }
        ("GET", "/v1/shoppers/me/carts/active/point-of-promotions") => get(f::list_cart_pops),
        ("GET", "/v1/shoppers/me/carts/active/point-of-promotions/{popName}") => {
            get(f::get_cart_pop)
        }
        ("GET", "/v1/shoppers/me/carts/active/point-of-promotions/{popName}/offers") => {
            get(f::get_cart_pop_offers)
        }
        ("GET", "/v1/shoppers/site") => get(site::get_site),
        ("GET", "/v1/shoppers/site/settings") => get(site::get_settings),
        ("GET", "/v1/shoppers/token") => get(shoppers_token::get),
        _ => return None,
    })
}

/// The paths a row is served at: itself and, when its last segment is literal, its `.json`
/// twin (a `{param}` last segment takes `42.json` itself; handlers strip the suffix).
pub fn served_paths(route: &Route) -> Vec<String> {
    let mut paths = vec![route.path.to_owned()];
    if !route.path.ends_with('}') {
        paths.push(format!("{}.json", route.path));
    }
    paths
}

pub fn shopper_api_router() -> Router<AppState> {
    // One method router per served path: its rows' handlers, its own 405 and its CORS layer
    // naming exactly those methods.
    // A path with a key-only cart row (`access_policy::KEY_ONLY_CART`) is also wrapped in
    // `key_carts::layer`, outside its CORS layer.
    let mut paths: BTreeMap<String, (MethodRouter<AppState>, Vec<Method>, bool)> = BTreeMap::new();
    for route in ROUTES {
        let handler = handler(route.method, route.path);
        match (route.is_provided(), handler) {
            (true, Some(h)) => {
                for path in served_paths(route) {
                    let (router, methods, key_only) = paths.entry(path).or_default();
                    *router = std::mem::take(router).merge(h.clone());
                    methods.push(cors::method(route.method));
                    *key_only |= access_policy::key_only_cart(route.method, route.path);
                }
            }
            (true, None) => panic!("access table row {route:?} is provided but has no handler"),
            (false, Some(_)) => {
                panic!("access table row {route:?} has a handler but is not provided")
            }
            (false, None) => {}
        }
    }
    paths.into_iter().fold(
        Router::new(),
        |router, (path, (methods_router, methods, key_only))| {
            let served = methods_router
                .fallback(shopper_api::method_not_allowed_fallback)
                .layer(cors::for_methods(&methods));
            let served = if key_only {
                served.layer(axum::middleware::from_fn(key_carts::layer))
            } else {
                served
            };
            router.route(&path, served)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shopper_api_paths_lose_a_trailing_slash_others_keep_theirs() {
        let trimmed = |uri: &str| {
            let request = Request::builder().uri(uri).body(()).unwrap();
            trim_trailing_slash(request).uri().to_string()
        };
        assert_eq!(
            trimmed("/v1/shoppers/me/payment-options/"),
            "/v1/shoppers/me/payment-options"
        );
        assert_eq!(
            trimmed("/v1/shoppers/me/carts/active/line-items//?productId=1&quantity=2"),
            "/v1/shoppers/me/carts/active/line-items?productId=1&quantity=2"
        );
        assert_eq!(trimmed("/v1/shoppers/me"), "/v1/shoppers/me");
        assert_eq!(trimmed("/oauth20/token/"), "/oauth20/token/");
        assert_eq!(trimmed("/"), "/");
    }

    #[test]
    fn router_matches_table() {
        // Builds (panics on any disagreement) and checks no handler exists without a row.
        let _ = shopper_api_router();
        for method in ["GET", "POST", "PUT", "DELETE"] {
            for route in ROUTES {
                assert_eq!(
                    handler(method, route.path).is_some(),
                    ROUTES
                        .iter()
                        .any(|r| r.method == method && r.path == route.path && r.is_provided()),
                    "{method} {}",
                    route.path
                );
            }
        }
    }
}
