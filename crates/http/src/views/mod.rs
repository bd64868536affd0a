//! The documented response shapes as types: what the cart, order and address handlers render.
//! Field names and values are the wire format; the handlers fill them, serde writes them.

pub mod address;
pub mod admin_orders;
pub mod cart;
pub mod cart_offers;
pub mod catalog;
pub mod financing;
pub mod line;
pub mod money;
pub mod offers;
pub mod order;
pub mod payment_methods;
pub mod purchase_plans;
pub mod refunds;
pub mod returns;
pub mod sites;
pub mod subscriptions;
pub mod tasks;
pub mod tax_registrations;
pub mod wish_lists;

use crate::shopper_api::ApiQuery;
use serde::Serialize;
use shopkeeper_domain::access_policy;
use utoipa::ToSchema;

/// `{"uri": ...}`: a link to a resource. Nothing else in its schema, so that an expanded
/// resource (which has a `uri` too) does not also match the link in a `oneOf`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    pub uri: String,
}

/// The link to `path` (a concrete path, with its query if any) when the router serves
/// `method` on the route pattern `route`; `None` otherwise, so an answer never links to a
/// route that is not there.
pub fn served_link(q: &ApiQuery, method: &str, route: &str, path: &str) -> Option<Link> {
    access_policy::serves(method, route).then(|| Link { uri: q.uri(path) })
}

/// A product's `productType` as the docs spell it: `PHYSICAL`, or `DOWNLOAD` for what the
/// catalog keeps as `DIGITAL`.
pub fn wire_product_type(stored: &str) -> &'static str {
    if stored == "PHYSICAL" {
        "PHYSICAL"
    } else {
        "DOWNLOAD"
    }
}

/// `{}`: where the documented shape shows an empty object rather than null. Its schema allows
/// no property, so that the object it stands in for does not also match it in a `oneOf`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// `{"uri", "id"}`
#[derive(Debug, Serialize, ToSchema)]
pub struct IdLink {
    pub uri: String,
    pub id: i64,
}

/// The link to a variation's base product, with its id (storefronts group lines by it).
pub fn parent_product(q: &ApiQuery, base_product_id: Option<i64>) -> Option<IdLink> {
    base_product_id.map(|b| IdLink {
        uri: q.uri(&format!("/v1/shoppers/me/products/{b}")),
        id: b,
    })
}

/// `{"attribute": [...]}`
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct CustomAttributes {
    pub attribute: Vec<CustomAttribute>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomAttribute {
    pub name: String,
    pub value: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl CustomAttributes {
    /// A product's stored attributes, in the docs' shape.
    pub fn of(stored: &shopkeeper_domain::catalog::CustomAttributes) -> Self {
        CustomAttributes {
            attribute: stored
                .0
                .iter()
                .map(|a| CustomAttribute {
                    name: a.name.clone(),
                    value: a.value.clone(),
                    kind: a.kind.clone(),
                })
                .collect(),
        }
    }
}
