//! Who may call what on the Admin API: the one table of admin routes, with the credential
//! each needs and its mode, beside the Shopper API's (`access_policy`). The admin router is
//! built from this table, the `Admin` extractor enforces the matched row, and a test walks it.
//!
//! Access as the docs give it (`master/getting-started/sending-api-calls.md`,
//! `roles-and-permissions.md`): product and subscription management need only a confidential
//! key with Admin APIs permission; refunds need that key *and* `/auth` with a Customer Service
//! role; sites need the Site Manager role.

pub use crate::access_policy::Provided;
use crate::staff::{self, Role};

/// The credential a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAccess {
    /// A confidential API key with Admin APIs permission, with its secret
    /// (`Authorization: Basic base64(key:secret)`), or a staff token of such a key.
    Key,
    /// A staff user's token from `POST /auth` (made with such a key) whose user holds one of
    /// these roles.
    Staff(&'static [Role]),
}

/// The docs' "Mode": a sync call answers with the result, an async one at once with a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Sync,
    Async,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminRoute {
    pub method: &'static str,
    /// axum path syntax.
    pub path: &'static str,
    pub access: AdminAccess,
    pub mode: Mode,
    pub provided: Provided,
}

impl AdminRoute {
    pub fn is_provided(&self) -> bool {
        self.provided == Provided::Yes
    }
}

const fn admin_row(
    method: &'static str,
    path: &'static str,
    access: AdminAccess,
    mode: Mode,
    provided: Provided,
) -> AdminRoute {
    AdminRoute {
        method,
        path,
        access,
        mode,
        provided,
    }
}

use AdminAccess::{Key, Staff};
use Mode::{Async, Sync};
use Provided::Yes;

/// Reading the audit trail: customer service reads an order's log; who did what as a staff
/// user is for the Customer Service Director and the Site Manager.
const AUDITORS: &[Role] = &[Role::CustomerServiceDirector, Role::SiteManager];

/// The table. Beyond the docs, rows say so in a comment.
#[rustfmt::skip] // one row a line, so the table reads as a table
pub const ADMIN_ROUTES: &[AdminRoute] = &[
    // Beyond the docs: the order log ("Global Commerce records users' activities in the order
    // log", refunds/authorization.md) and each staff user's actions.
    admin_row("GET", "/v1/orders/{orderId}/log", Staff(staff::CUSTOMER_SERVICE), Sync, Yes),
    admin_row("GET", "/v1/staff-users/{username}/log", Staff(AUDITORS), Sync, Yes),
    // The asynchronous calls' tasks (`admin-apis-reference/tasks.md`). The docs show product
    // tasks at /v1/products/tasks; this serves every task, whatever its request type.
    admin_row("GET", "/v1/tasks", Key, Sync, Yes),
    admin_row("GET", "/v1/tasks/{taskId}", Key, Sync, Yes),
    // Beyond the docs: the merchant's side of the returns shoppers ask for (paths after the
    // Shopper API's); a refund is asynchronous, answered with its task.
    admin_row("GET", "/v1/orders/{orderId}/returns", Staff(staff::CUSTOMER_SERVICE), Sync, Yes),
    admin_row("POST", "/v1/orders/{orderId}/returns/{returnId}/accept", Staff(staff::CUSTOMER_SERVICE), Sync, Yes),
    admin_row("POST", "/v1/orders/{orderId}/returns/{returnId}/reject", Staff(staff::CUSTOMER_SERVICE), Sync, Yes),
    admin_row("POST", "/v1/orders/{orderId}/returns/{returnId}/refund", Staff(staff::CUSTOMER_SERVICE), Async, Yes),
    // Order management (`available-admin-api-calls.md`): an order's details and invoices.
    admin_row("GET", "/v1/orders/{orderId}", Key, Sync, Yes),
    admin_row("GET", "/v1/orders/{orderId}/invoices", Key, Sync, Yes),
    admin_row("GET", "/v1/orders/{orderId}/invoices/{receiptId}", Key, Sync, Yes),
    // File management: a file's content (the invoice's `fileId`).
    admin_row("GET", "/files/{fileId}/content", Key, Sync, Yes),
    // Sites: a site's authorized countries (`admin-apis/sites/`). The PUTs are beyond the
    // docs, which set them in Global Commerce's UI.
    admin_row("GET", "/v1/sites/{siteId}/authorized-billing-countries", Staff(staff::SITE_MANAGER), Sync, Yes),
    admin_row("PUT", "/v1/sites/{siteId}/authorized-billing-countries", Staff(staff::SITE_MANAGER), Sync, Yes),
    admin_row("GET", "/v1/sites/{siteId}/authorized-shipping-countries", Staff(staff::SITE_MANAGER), Sync, Yes),
    admin_row("PUT", "/v1/sites/{siteId}/authorized-shipping-countries", Staff(staff::SITE_MANAGER), Sync, Yes),
    // Refunds (`admin-apis/refunds/`, paths as `available-admin-api-calls.md` writes them,
    // without `/v1`): `/auth` with a Customer Service role (`refunds/authorization.md`).
    admin_row("GET", "/orders/{orderId}/refunds", Staff(staff::CUSTOMER_SERVICE), Sync, Yes),
    admin_row("POST", "/orders/{orderId}/refunds", Staff(staff::CUSTOMER_SERVICE), Sync, Yes),
    admin_row("GET", "/orders/{orderId}/refunds/schema", Staff(staff::CUSTOMER_SERVICE), Sync, Yes),
    admin_row("GET", "/orders/{orderId}/refunds-available", Staff(staff::CUSTOMER_SERVICE), Sync, Yes),
];

/// The row of a routed (method, path), if any.
pub fn admin_route(method: &str, path: &str) -> Option<&'static AdminRoute> {
    ADMIN_ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
}

/// Whether a request path is one of the Admin API's (a `{param}` segment matches any one
/// segment), provided or not: its bare rejections take the Admin error shape.
pub fn is_admin_path(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    ADMIN_ROUTES.iter().any(|route| {
        let mut template = route.path.split('/');
        let mut given = path.split('/');
        loop {
            match (template.next(), given.next()) {
                (None, None) => return true,
                (Some(t), Some(g)) if t.starts_with('{') || t == g => {}
                _ => return false,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unique_and_staff_rows_name_roles() {
        for (i, a) in ADMIN_ROUTES.iter().enumerate() {
            for b in &ADMIN_ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} {} twice",
                    a.method,
                    a.path
                );
            }
            if let AdminAccess::Staff(roles) = a.access {
                assert!(!roles.is_empty(), "{} {} names no role", a.method, a.path);
            }
            assert!(a.path.starts_with('/'));
        }
        assert!(admin_route("GET", "/v1/orders/{orderId}/log").is_some());
        assert!(is_admin_path("/v1/orders/42/log"));
        assert!(is_admin_path("/v1/orders/42/log/"));
        assert!(!is_admin_path("/v1/orders/42/log/more"));
        assert!(!is_admin_path("/v1/shoppers/me/orders/42"));
        assert!(admin_route("DELETE", "/v1/orders/{orderId}/log").is_none());
    }
}
