//! Who may call what: the one table of Shopper API routes (seed 003, with the `/v1` prefix)
//! and the access level each needs. The router is built from this table and a test walks it,
//! so a route cannot be served without a row, nor a row be provided without a route.
//!
//! Seed 003's check marks were lost in the copy; the levels follow the rest of the Global
//! Commerce docs (README.md, "Access levels"). Its typos are normalised (`shopper/me/...` → `shoppers/me/...`,
//! `cart/active/shipping-opionts` → `carts/active/shipping-options`) and its two
//! `wish-lists POST` rows, like its two `shoppers POST` rows, are one route each.

/// The credential a route needs. Ordered: each level accepts everything the next one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// An API key alone (`?apiKey=`, an `apiKey` header or `Basic key[:secret]`), or any valid
    /// access token.
    TokenOptional,
    /// Any valid access token (anonymous or signed-in shopper).
    Limited,
    /// The access token of a signed-in shopper.
    Full,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::TokenOptional => "token optional",
            Level::Limited => "limited",
            Level::Full => "full",
        }
    }
}

/// Whether Shopkeeper serves the row yet. Rows not provided are not routed: they answer 404
/// `resource-not-found` like any unknown path, never 501 or canned data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provided {
    Yes,
    No,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// axum path syntax; a trailing `.json` is accepted on every path as well.
    pub path: &'static str,
    pub level: Level,
    pub provided: Provided,
}

impl Route {
    pub fn is_provided(&self) -> bool {
        self.provided == Provided::Yes
    }
}

use Level::{Full, Limited, TokenOptional};
use Provided::Yes;

const fn row(method: &'static str, path: &'static str, level: Level, provided: Provided) -> Route {
    Route {
        method,
        path,
        level,
        provided,
    }
}

/// The table. To provide a row: flip its `No` to `Yes` and add its handler to
/// `http::routes::handler`.
#[rustfmt::skip] // one row a line, so the table reads as a table
pub const ROUTES: &[Route] = &[
    // Shoppers. Seed 003 lists POST /shoppers twice (login kept by the client / by us).
    row("POST", "/v1/shoppers", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me", Limited, Yes),
    row("POST", "/v1/shoppers/me", Limited, Yes),
    row("GET", "/v1/shoppers/me/account", Full, Yes),
    row("GET", "/v1/shoppers/me/addresses", Full, Yes),
    // "POST (CREATE or UPDATE)": an address with an `id` updates it.
    row("POST", "/v1/shoppers/me/addresses", Full, Yes),
    row("DELETE", "/v1/shoppers/me/addresses/{id}", Full, Yes),
    row("GET", "/v1/shoppers/me/addresses/{id}", Full, Yes),
    // Beyond seed 003: the docs' API reference and real clients (the WordPress plugin's
    // address book) update an address at its own path.
    row("POST", "/v1/shoppers/me/addresses/{id}", Full, Yes),
    // The active cart.
    row("GET", "/v1/shoppers/me/carts/active", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active", Limited, Yes),
    // Beyond seed 003: `managing-offers-in-a-cart/` (the applied offers, removing one, and
    // resetting the eligible ones).
    row("GET", "/v1/shoppers/me/carts/active/applied-offers", Limited, Yes),
    row("DELETE", "/v1/shoppers/me/carts/active/applied-offers/{offerId}", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/apply-billing-address", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/apply-payment-method", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/apply-shipping-address", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/apply-shipping-option", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/apply-shopper", Full, Yes),
    row("GET", "/v1/shoppers/me/carts/active/billing-address", Limited, Yes),
    row("PUT", "/v1/shoppers/me/carts/active/billing-address", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/billing-address/suggestions", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/billing-address/suggestions/{id}", Limited, Yes),
    // Beyond seed 003: `removing-eligible-offers.md`.
    row("DELETE", "/v1/shoppers/me/carts/active/eligible-offers", Limited, Yes),
    row("DELETE", "/v1/shoppers/me/carts/active/line-items", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/line-items", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/line-items", Limited, Yes),
    row("DELETE", "/v1/shoppers/me/carts/active/line-items/{id}", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/line-items/{id}", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/line-items/{id}", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/payment-methods", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/point-of-promotions", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/point-of-promotions/{popName}", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/point-of-promotions/{popName}/offers", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/shipping-address", Limited, Yes),
    row("PUT", "/v1/shoppers/me/carts/active/shipping-address", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/shipping-address/suggestions", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/shipping-address/suggestions/{id}", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/shipping-options", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/shipping-options/{id}", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/submit-cart", Limited, Yes),
    // Beyond seed 003: `configuring-taxes/managing-tax-identifiers.md` (the schema takes an
    // apiKey or a token, `carts/tax-registrations.md`; attaching and removing take a token).
    row("DELETE", "/v1/shoppers/me/carts/active/tax-registrations", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/tax-registrations", Limited, Yes),
    row("GET", "/v1/shoppers/me/carts/active/tax-registrations/schema", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/carts/active/web-checkout", Limited, Yes),
    row("POST", "/v1/shoppers/me/carts/active/web-checkout", Limited, Yes),
    // Catalog.
    row("GET", "/v1/shoppers/me/categories", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/categories/{id}", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/categories/{id}/products", TokenOptional, Yes),
    // Beyond seed 003: how-to-use-offers.md ("Retrieving all offers") lists the offers here.
    row("GET", "/v1/shoppers/me/offers", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/offers/{id}", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/offers/{id}/category-offers", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/offers/{id}/product-offers", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/offers/{id}/product-offers/{productId}", TokenOptional, Yes),
    // Orders.
    row("GET", "/v1/shoppers/me/orders", Limited, Yes),
    row("GET", "/v1/shoppers/me/orders/{id}", Limited, Yes),
    row("GET", "/v1/shoppers/me/orders/{id}/billing-address", Limited, Yes),
    row("GET", "/v1/shoppers/me/orders/{id}/line-items", Limited, Yes),
    row("GET", "/v1/shoppers/me/orders/{id}/line-items/{lineItemId}", Limited, Yes),
    // Returns start from a signed-in shopper's session (`orders-1/returns/`, "Initiate an
    // authenticated session"; `return-flow.md`): full, on the shopper's own orders.
    row("GET", "/v1/shoppers/me/orders/{id}/returns", Full, Yes),
    row("POST", "/v1/shoppers/me/orders/{id}/returns", Full, Yes),
    row("GET", "/v1/shoppers/me/orders/{id}/shipping-address", Limited, Yes),
    row("GET", "/v1/shoppers/me/payment-options", Full, Yes),
    // Beyond seed 003: the docs' shoppers pages and the WordPress plugin save a source as a
    // payment option here.
    row("POST", "/v1/shoppers/me/payment-options", Full, Yes),
    // Beyond seed 003: the WordPress plugin's wallet removes a saved payment option here.
    row("DELETE", "/v1/shoppers/me/payment-options/{id}", Full, Yes),
    row("GET", "/v1/shoppers/me/payment-options/{id}", Full, Yes),
    row("GET", "/v1/shoppers/me/point-of-promotions", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/point-of-promotions/{popName}", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/point-of-promotions/{popName}/offers", TokenOptional, Yes),
    // Product search is not a row of seed 003, but the docs list it as token optional;
    // `products?keyword=` searches as well.
    row("GET", "/v1/shoppers/me/product-search", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/inventory-status", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/{id}", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/{id}/categories", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/{id}/financing", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/{id}/inventory-status", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/{id}/point-of-promotions", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/{id}/point-of-promotions/{popName}", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/{id}/point-of-promotions/{popName}/offers", TokenOptional, Yes),
    // Beyond seed 003: how-to-use-offers.md ("Retrieving all offers for a product"); the
    // WordPress plugin reads each cart line's offers here.
    row("GET", "/v1/shoppers/me/products/{id}/offers", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/{id}/pricing", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/products/{id}/pricing/volume-pricing", TokenOptional, Yes),
    row("POST", "/v1/shoppers/me/products/{id}/purchase", Full, Yes),
    row("GET", "/v1/shoppers/me/products/{id}/variations", TokenOptional, Yes),
    // The docs name only `authorize` (limited) and `search` (token optional); the plan
    // itself is the shopper's session state, so limited like the cart.
    row("GET", "/v1/shoppers/me/purchase-plan", Limited, Yes),
    row("POST", "/v1/shoppers/me/purchase-plan/authorize", Limited, Yes),
    row("GET", "/v1/shoppers/me/purchase-plan/search", TokenOptional, Yes),
    row("GET", "/v1/shoppers/me/subscriptions", Full, Yes),
    row("GET", "/v1/shoppers/me/subscriptions/{id}", Full, Yes),
    // Wish lists: the docs describe none of them (README, "Wish lists"). `DELETE` names the
    // list in `?id=`; the one `POST` creates (a body without an id) or updates (with one).
    row("DELETE", "/v1/shoppers/me/wish-lists", Full, Yes),
    row("GET", "/v1/shoppers/me/wish-lists", Full, Yes),
    row("POST", "/v1/shoppers/me/wish-lists", Full, Yes),
    row("GET", "/v1/shoppers/me/wish-lists/{id}", Full, Yes),
    row("GET", "/v1/shoppers/me/wish-lists/default", Full, Yes),
    // Limited; the handler asks for a full token when the body looks up by card digits.
    row("POST", "/v1/shoppers/order-lookup", Limited, Yes),
    row("GET", "/v1/shoppers/site", TokenOptional, Yes),
    // Seed 003 says `site/settings`; served beside `shoppers/site`, which it belongs to.
    row("GET", "/v1/shoppers/site/settings", TokenOptional, Yes),
    row("GET", "/v1/shoppers/token", TokenOptional, Yes),
    // Beyond seed 003: the subscription resource shoppers and merchants share
    // (`common-shopper-and-admin-apis/subscriptions/`), a shopper's own only.
    row("GET", "/v1/subscriptions/{id}", Full, Yes),
    row("POST", "/v1/subscriptions/{id}/cancel", Full, Yes),
    row("GET", "/v1/subscriptions/{id}/orders", Full, Yes),
    row("POST", "/v1/subscriptions/{id}/payment-option", Full, Yes),
    row("POST", "/v1/subscriptions/{id}/payment-source", Full, Yes),
    row("GET", "/v1/subscriptions/{id}/pending-actions", Full, Yes),
    row("POST", "/v1/subscriptions/{id}/renewal-quantity", Full, Yes),
    row("POST", "/v1/subscriptions/{id}/renewal-type", Full, Yes),
    row("POST", "/v1/subscriptions/{id}/ship-to-address", Full, Yes),
];

/// The row for a method and a route pattern, if any.
pub fn find(method: &str, path: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|r| r.method == method && r.path == path)
}

/// Whether the router serves `method` on the route pattern `path`: a response links to a
/// route only when this holds, so every link it carries can be followed.
pub fn serves(method: &str, path: &str) -> bool {
    find(method, path).is_some_and(Route::is_provided)
}

/// The rows a browser may call by JSONP with the method in the query (`GET …?method=post`,
/// the mini-cart widget's way): the cart, its line items and the shopper's locale and
/// currency, each at its own row's level. Nothing that spends (`submit-cart`, payments),
/// signs in (`apply-shopper`) or deletes an account is here.
pub const TUNNELLED: &[(&str, &str)] = &[
    ("POST", "/v1/shoppers/me"),
    ("POST", "/v1/shoppers/me/carts/active"),
    ("POST", "/v1/shoppers/me/carts/active/line-items"),
    ("DELETE", "/v1/shoppers/me/carts/active/line-items"),
    ("POST", "/v1/shoppers/me/carts/active/line-items/{id}"),
    ("DELETE", "/v1/shoppers/me/carts/active/line-items/{id}"),
];

/// The rows a site may open to an API key alone (`shopkeeper site set-key-only-carts`, seed
/// 003's "Access Carts with API Key Only"): reading and writing the active cart, its line
/// items, its addresses and their suggestions, its shipping options, its offers and points of
/// promotion, its payment methods and applying one. Each browser then has an anonymous session
/// of its own behind a cookie (`http::key_carts`). Not here: `submit-cart` (spends),
/// `web-checkout` (hands the cart to pages that submit it), `apply-shopper` (acts for a shopper)
/// and every row outside the cart.
pub const KEY_ONLY_CART: &[(&str, &str)] = &[
    ("GET", "/v1/shoppers/me/carts/active"),
    ("POST", "/v1/shoppers/me/carts/active"),
    ("GET", "/v1/shoppers/me/carts/active/applied-offers"),
    (
        "DELETE",
        "/v1/shoppers/me/carts/active/applied-offers/{offerId}",
    ),
    ("POST", "/v1/shoppers/me/carts/active/apply-billing-address"),
    ("POST", "/v1/shoppers/me/carts/active/apply-payment-method"),
    (
        "POST",
        "/v1/shoppers/me/carts/active/apply-shipping-address",
    ),
    ("POST", "/v1/shoppers/me/carts/active/apply-shipping-option"),
    ("GET", "/v1/shoppers/me/carts/active/billing-address"),
    ("PUT", "/v1/shoppers/me/carts/active/billing-address"),
    (
        "GET",
        "/v1/shoppers/me/carts/active/billing-address/suggestions",
    ),
    (
        "GET",
        "/v1/shoppers/me/carts/active/billing-address/suggestions/{id}",
    ),
    ("DELETE", "/v1/shoppers/me/carts/active/eligible-offers"),
    ("DELETE", "/v1/shoppers/me/carts/active/line-items"),
    ("GET", "/v1/shoppers/me/carts/active/line-items"),
    ("POST", "/v1/shoppers/me/carts/active/line-items"),
    ("DELETE", "/v1/shoppers/me/carts/active/line-items/{id}"),
    ("GET", "/v1/shoppers/me/carts/active/line-items/{id}"),
    ("POST", "/v1/shoppers/me/carts/active/line-items/{id}"),
    ("GET", "/v1/shoppers/me/carts/active/payment-methods"),
    ("GET", "/v1/shoppers/me/carts/active/point-of-promotions"),
    (
        "GET",
        "/v1/shoppers/me/carts/active/point-of-promotions/{popName}",
    ),
    (
        "GET",
        "/v1/shoppers/me/carts/active/point-of-promotions/{popName}/offers",
    ),
    ("GET", "/v1/shoppers/me/carts/active/shipping-address"),
    ("PUT", "/v1/shoppers/me/carts/active/shipping-address"),
    (
        "GET",
        "/v1/shoppers/me/carts/active/shipping-address/suggestions",
    ),
    (
        "GET",
        "/v1/shoppers/me/carts/active/shipping-address/suggestions/{id}",
    ),
    ("GET", "/v1/shoppers/me/carts/active/shipping-options"),
    ("GET", "/v1/shoppers/me/carts/active/shipping-options/{id}"),
    // The cart's tax identifiers: what the buyer declares, spending nothing.
    ("POST", "/v1/shoppers/me/carts/active/tax-registrations"),
    ("DELETE", "/v1/shoppers/me/carts/active/tax-registrations"),
];

/// Whether the row `(method, pattern)` may run on an API key alone when its site allows it.
pub fn key_only_cart(method: &str, pattern: &str) -> bool {
    KEY_ONLY_CART
        .iter()
        .any(|&(m, p)| m == method && p == pattern)
}

/// Whether a request for the concrete `path` (a `.json` twin too) may tunnel `method`.
pub fn tunnels(method: &str, path: &str) -> bool {
    let path = path.strip_suffix(".json").unwrap_or(path);
    TUNNELLED
        .iter()
        .any(|&(m, pattern)| m == method && matches_pattern(pattern, path))
}

/// `path` matches the route `pattern`, a `{param}` segment standing for any one segment.
fn matches_pattern(pattern: &str, path: &str) -> bool {
    let mut segments = path.split('/');
    pattern.split('/').all(|p| match segments.next() {
        Some(s) => (p.starts_with('{') && !s.is_empty()) || p == s,
        None => false,
    }) && segments.next().is_none()
}

/// The README's table of served routes, generated from [`ROUTES`] (a test checks the README
/// contains it verbatim).
pub fn markdown_table() -> String {
    let mut out = String::from("| method | path | access |\n| --- | --- | --- |\n");
    for r in ROUTES.iter().filter(|r| r.is_provided()) {
        out.push_str(&format!(
            "| {} | `{}` | {} |\n",
            r.method,
            r.path,
            r.level.as_str()
        ));
    }
    out
}

/// The rows not provided yet, as a Markdown list (for the README).
pub fn markdown_not_provided() -> String {
    let mut out = String::new();
    for r in ROUTES.iter().filter(|r| !r.is_provided()) {
        out.push_str(&format!(
            "- {} `{}` ({})\n",
            r.method,
            r.path,
            r.level.as_str()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn rows_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for r in ROUTES {
            assert!(seen.insert((r.method, r.path)), "duplicate row {r:?}");
            assert!(
                r.path.starts_with("/v1/shoppers") || r.path.starts_with("/v1/subscriptions/"),
                "{r:?}"
            );
            assert!(
                ["GET", "POST", "PUT", "DELETE"].contains(&r.method),
                "{r:?}"
            );
            assert!(
                !r.path.ends_with(".json") && !r.path.ends_with('/'),
                "{r:?}"
            );
        }
    }

    #[test]
    fn tunnelled_rows_are_provided_and_never_spend_or_sign_in() {
        for &(method, path) in TUNNELLED {
            assert!(serves(method, path), "{method} {path}");
            for forbidden in ["submit", "apply-", "payment", "purchase", "order"] {
                assert!(!path.contains(forbidden), "{path}");
            }
        }
        assert!(tunnels(
            "DELETE",
            "/v1/shoppers/me/carts/active/line-items/42"
        ));
        assert!(tunnels(
            "POST",
            "/v1/shoppers/me/carts/active/line-items.json"
        ));
        assert!(!tunnels("DELETE", "/v1/shoppers/me"));
        assert!(!tunnels("POST", "/v1/shoppers/me/carts/active/submit-cart"));
        assert!(!tunnels(
            "POST",
            "/v1/shoppers/me/carts/active/line-items/42/x"
        ));
        assert!(!tunnels("POST", "/v1/shoppers/me/carts/active/line-items/"));
        assert!(!tunnels("GET", "/v1/shoppers/me"));
    }

    #[test]
    fn key_only_rows_are_limited_cart_rows_that_never_spend_or_sign_in() {
        for &(method, path) in KEY_ONLY_CART {
            let row = find(method, path).expect("a row of the table");
            assert!(row.is_provided(), "{method} {path}");
            assert_eq!(row.level, Limited, "{method} {path}");
            assert!(path.starts_with("/v1/shoppers/me/carts/active"), "{path}");
            for forbidden in ["submit", "apply-shopper", "web-checkout", "purchase"] {
                assert!(!path.contains(forbidden), "{path}");
            }
        }
        assert!(key_only_cart(
            "POST",
            "/v1/shoppers/me/carts/active/line-items"
        ));
        assert!(!key_only_cart(
            "POST",
            "/v1/shoppers/me/carts/active/submit-cart"
        ));
        assert!(!key_only_cart(
            "POST",
            "/v1/shoppers/me/carts/active/apply-shopper"
        ));
        assert!(!key_only_cart(
            "GET",
            "/v1/shoppers/me/carts/active/web-checkout"
        ));
        assert!(!key_only_cart("GET", "/v1/shoppers/me"));
        // Every Limited cart row is either open to a key or named here with its reason.
        let closed = [
            "/v1/shoppers/me/carts/active/submit-cart",
            "/v1/shoppers/me/carts/active/web-checkout",
        ];
        for r in ROUTES
            .iter()
            .filter(|r| r.level == Limited && r.path.starts_with("/v1/shoppers/me/carts/active"))
        {
            assert!(
                key_only_cart(r.method, r.path) || closed.contains(&r.path),
                "{r:?}"
            );
        }
    }

    #[test]
    fn documented_levels() {
        let level = |m, p| find(m, p).unwrap().level;
        assert_eq!(level("POST", "/v1/shoppers"), TokenOptional);
        assert_eq!(level("GET", "/v1/shoppers/me"), Limited);
        assert_eq!(level("GET", "/v1/shoppers/me/addresses"), Full);
        assert_eq!(
            level("POST", "/v1/shoppers/me/carts/active/apply-shopper"),
            Full
        );
        assert_eq!(
            level("POST", "/v1/shoppers/me/carts/active/line-items"),
            Limited
        );
        assert_eq!(
            level("POST", "/v1/shoppers/me/products/{id}/purchase"),
            Full
        );
        assert_eq!(
            level("GET", "/v1/shoppers/me/products/{id}/pricing"),
            TokenOptional
        );
        assert_eq!(level("GET", "/v1/shoppers/token"), TokenOptional);
        for (method, path) in [
            ("DELETE", "/v1/shoppers/me/wish-lists"),
            ("GET", "/v1/shoppers/me/wish-lists"),
            ("POST", "/v1/shoppers/me/wish-lists"),
            ("GET", "/v1/shoppers/me/wish-lists/{id}"),
            ("GET", "/v1/shoppers/me/wish-lists/default"),
        ] {
            assert_eq!(level(method, path), Full, "{method} {path}");
        }
    }

    #[test]
    fn serves_only_provided_rows() {
        assert!(serves("POST", "/v1/shoppers/me/carts/active/submit-cart"));
        assert!(serves("GET", "/v1/shoppers/me/wish-lists"));
        assert!(serves("GET", "/v1/shoppers/me/wish-lists/default"));
        assert!(serves("GET", "/v1/shoppers/me/orders/{id}/returns"));
        assert!(serves("POST", "/v1/shoppers/me/orders/{id}/returns"));
        assert_eq!(
            find("POST", "/v1/shoppers/me/orders/{id}/returns")
                .unwrap()
                .level,
            Full
        );
        assert!(!serves("GET", "/v1/shoppers/me/no-such-route"));
    }
}
