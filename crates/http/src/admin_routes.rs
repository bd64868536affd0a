//! The Admin API router, built from `domain::admin_policy::ADMIN_ROUTES` as the Shopper API's is
//! from its table: every provided row gets its handler, nothing else is routed. Building it
//! panics if the table and [`handler`] disagree, so every test run checks them. Admin routes
//! are server-to-server: no CORS layer, so browsers cannot call them cross-origin.

use super::{
    admin_error::AdminError, admin_orders, admin_refunds, admin_returns, admin_sites, admin_tasks,
    audit_log,
};
use axum::Router;
use axum::routing::{MethodRouter, get, post, put};
use shopkeeper_domain::admin_policy::{ADMIN_ROUTES, AdminRoute};
use shopkeeper_services::state::AppState;
use std::collections::BTreeMap;

/// The handler of a row. Providing a row = its line in the table + one arm here.
pub fn handler(method: &str, path: &str) -> Option<MethodRouter<AppState>> {
    Some(match (method, path) {
        ("GET", "/v1/orders/{orderId}/log") => get(audit_log::order_log),
        ("GET", "/v1/staff-users/{username}/log") => get(audit_log::staff_log),
        ("GET", "/v1/tasks") => get(admin_tasks::list_tasks),
        ("GET", "/v1/tasks/{taskId}") => get(admin_tasks::get_task),
        ("GET", "/v1/orders/{orderId}/returns") => get(admin_returns::list_returns),
        ("POST", "/v1/orders/{orderId}/returns/{returnId}/accept") => {
            post(admin_returns::accept_return)
        }
        ("POST", "/v1/orders/{orderId}/returns/{returnId}/reject") => {
            post(admin_returns::reject_return)
        }
        ("POST", "/v1/orders/{orderId}/returns/{returnId}/refund") => {
            post(admin_returns::refund_return)
        }
        ("GET", "/v1/orders/{orderId}") => get(admin_orders::get_order),
        ("GET", "/v1/orders/{orderId}/invoices") => get(admin_orders::list_invoices),
        ("GET", "/v1/orders/{orderId}/invoices/{receiptId}") => get(admin_orders::get_invoice),
        ("GET", "/files/{fileId}/content") => get(admin_orders::file_content),
        ("GET", "/v1/sites/{siteId}/authorized-billing-countries") => {
            get(admin_sites::get_billing_countries)
        }
        ("PUT", "/v1/sites/{siteId}/authorized-billing-countries") => {
            put(admin_sites::put_billing_countries)
        }
        ("GET", "/v1/sites/{siteId}/authorized-shipping-countries") => {
            get(admin_sites::get_shipping_countries)
        }
        ("PUT", "/v1/sites/{siteId}/authorized-shipping-countries") => {
            put(admin_sites::put_shipping_countries)
        }
        ("GET", "/orders/{orderId}/refunds") => get(admin_refunds::list_refunds),
        ("POST", "/orders/{orderId}/refunds") => post(admin_refunds::create_refund),
        ("GET", "/orders/{orderId}/refunds/schema") => get(admin_refunds::refund_schema),
        ("GET", "/orders/{orderId}/refunds-available") => get(admin_refunds::refunds_available),
        _ => return None,
    })
}

/// A method the path does not serve: 405 in the Admin shape.
async fn method_not_allowed() -> AdminError {
    AdminError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        None,
        "The method is not allowed on this resource.",
    )
}

pub fn admin_api_router() -> Router<AppState> {
    let mut paths: BTreeMap<&str, MethodRouter<AppState>> = BTreeMap::new();
    for route in ADMIN_ROUTES {
        match (route.is_provided(), handler(route.method, route.path)) {
            (true, Some(h)) => {
                let router = paths.entry(route.path).or_default();
                *router = std::mem::take(router).merge(h);
            }
            (true, None) => panic!("admin table row {route:?} is provided but has no handler"),
            (false, Some(_)) => {
                panic!("admin table row {route:?} has a handler but is not provided")
            }
            (false, None) => {}
        }
    }
    paths
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods.fallback(method_not_allowed))
        })
}

/// The provided rows, for the README's table and the OpenAPI check.
pub fn provided_rows() -> impl Iterator<Item = &'static AdminRoute> {
    ADMIN_ROUTES.iter().filter(|r| r.is_provided())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_matches_table() {
        let _ = admin_api_router();
        for method in ["GET", "POST", "PUT", "DELETE"] {
            for route in ADMIN_ROUTES {
                assert_eq!(
                    handler(method, route.path).is_some(),
                    ADMIN_ROUTES
                        .iter()
                        .any(|r| r.method == method && r.path == route.path && r.is_provided()),
                    "{method} {}",
                    route.path
                );
            }
        }
    }
}
