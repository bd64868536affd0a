//! The Shopper API router, built from `domain::access_policy::ROUTES`: every provided row
//! gets its handler (and its `.json` twin), and nothing else is routed here. Building it
//! panics if the table and [`handler`] disagree, so every test run checks them.

use super::{catalog, shoppers, shoppers_token, site};
use crate::domain::access_policy::{ROUTES, Route};
use crate::state::AppState;
use axum::Router;
use axum::routing::{MethodRouter, delete, get, post};

/// The handler of a row. Providing a row = flip it to `Yes` in the table + one line here.
pub fn handler(method: &str, path: &str) -> Option<MethodRouter<AppState>> {
    use catalog as c;
    use shoppers as s;
    Some(match (method, path) {
        ("POST", "/v1/shoppers") => post(s::create),
        ("GET", "/v1/shoppers/me") => get(s::get_me),
        ("POST", "/v1/shoppers/me") => post(s::update_me),
        ("GET", "/v1/shoppers/me/account") => get(s::get_account),
        ("GET", "/v1/shoppers/me/addresses") => get(s::list_addresses),
        ("POST", "/v1/shoppers/me/addresses") => post(s::save_address),
        ("GET", "/v1/shoppers/me/addresses/{id}") => get(s::get_address),
        ("DELETE", "/v1/shoppers/me/addresses/{id}") => delete(s::delete_address),
        ("GET", "/v1/shoppers/me/categories") => get(c::list_categories),
        ("GET", "/v1/shoppers/me/categories/{id}") => get(c::get_category),
        ("GET", "/v1/shoppers/me/categories/{id}/products") => get(c::get_category_products),
        ("GET", "/v1/shoppers/me/product-search") => get(c::search_products),
        ("GET", "/v1/shoppers/me/products") => get(c::list_products),
        ("GET", "/v1/shoppers/me/products/inventory-status") => get(c::list_inventory_status),
        ("GET", "/v1/shoppers/me/products/{id}") => get(c::get_product),
        ("GET", "/v1/shoppers/me/products/{id}/categories") => get(c::get_product_categories),
        ("GET", "/v1/shoppers/me/products/{id}/inventory-status") => get(c::get_inventory_status),
        ("GET", "/v1/shoppers/me/products/{id}/pricing") => get(c::get_pricing),
        ("GET", "/v1/shoppers/me/products/{id}/pricing/volume-pricing") => {
            get(c::get_volume_pricing)
        }
        ("GET", "/v1/shoppers/me/products/{id}/variations") => get(c::get_variations),
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
    let mut router = Router::new();
    for route in ROUTES {
        let handler = handler(route.method, route.path);
        match (route.is_provided(), handler) {
            (true, Some(h)) => {
                for path in served_paths(route) {
                    router = router.route(&path, h.clone());
                }
            }
            (true, None) => panic!("access table row {route:?} is provided but has no handler"),
            (false, Some(_)) => {
                panic!("access table row {route:?} has a handler but is not provided")
            }
            (false, None) => {}
        }
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

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
