//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations.
//!
//! Adding a route: annotate its handler with `#[utoipa::path(...)]` (method, path, access in
//! `description`, every status with its error body) and list the handler in `paths(...)`
//! below. Shopper API resources need nothing here: every provided row of the access table
//! (`domain::access_policy::ROUTES`) becomes an operation with its access level
//! (`ShopperApiTable`), so the document cannot drift from the table the router is built from.
//! `tests/api/openapi.rs` fails if a routed path is missing here, or a documented path is not
//! routed.

use super::views::address::{AddressSuggestionEnvelope, AddressSuggestionsEnvelope};
use super::views::cart::{
    CartEnvelope, LineItemEnvelope, LineItemsEnvelope, ShippingOptionEnvelope,
    ShippingOptionsEnvelope,
};
use super::views::cart_offers::AppliedOffersEnvelope;
use super::views::catalog::{
    CategoriesEnvelope, CategoryEnvelope, CategoryView, InventoryStatusEnvelope,
    InventoryStatusesEnvelope, ProductEnvelope, ProductItem, ProductPricingEnvelope,
    ProductSummary, ProductView, ProductsEnvelope, SubCategories, VariationsEnvelope,
    VolumePricingEnvelope,
};
use super::views::offers::{
    CategoryOffersEnvelope, OfferBrief, OfferEnvelope, OfferItem, OfferProduct, OfferView,
    OffersEnvelope, PopEnvelope, PopsEnvelope, ProductBrief, ProductOfferEnvelope,
    ProductOffersEnvelope,
};
use super::views::order::{
    OrderEnvelope, OrderLineEnvelope, OrderLinesEnvelope, OrdersEnvelope, PaymentOptionEnvelope,
    PaymentOptionsEnvelope, SubmitCartEnvelope,
};
use super::views::subscriptions::{
    SubscriptionEnvelope, SubscriptionOrdersEnvelope, SubscriptionView, SubscriptionsEnvelope,
};
use super::views::wish_lists::{WishListEnvelope, WishListsEnvelope};
use super::{
    access_tokens, admin_orders, admin_refunds, admin_returns, admin_sites, admin_tasks, audit_log,
    authorize, introspect, metadata, operations, payments, revoke, session_token, shoppers_token,
    staff_auth, start_page, token, web_checkout,
};
use axum::http::header;
use axum::response::IntoResponse;
use shopkeeper_domain::access_policy::{self, Level};
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Shopkeeper",
        description = "Self-hosted OAuth 2.0 token service and Shopper API of the Global \
                       Commerce (Digital River) Shopper API. OAuth endpoints answer errors as \
                       `{error, error_description}`; `/v1` Shopper API resources as \
                       `{errors: {error: [{relation, code, description}]}}`. Every answer of \
                       the OAuth, payments and Shopper API resources is also served as XML \
                       (`Accept: application/xml`, `format=xml` or a `.xml` path), Shopper API \
                       GETs as JSONP (`callback=`), and the cart's writes by `GET` with \
                       `method=post|delete` (README, \"Formats\")."
    ),
    paths(
        token::token,
        introspect::introspect,
        revoke::revoke,
        staff_auth::sign_in,
        staff_auth::sign_out,
        audit_log::order_log,
        audit_log::staff_log,
        admin_tasks::list_tasks,
        admin_tasks::get_task,
        admin_returns::list_returns,
        admin_returns::accept_return,
        admin_returns::reject_return,
        admin_returns::refund_return,
        admin_orders::get_order,
        admin_orders::list_invoices,
        admin_orders::get_invoice,
        admin_orders::file_content,
        admin_sites::get_billing_countries,
        admin_sites::put_billing_countries,
        admin_sites::get_shipping_countries,
        admin_sites::put_shipping_countries,
        admin_refunds::create_refund,
        admin_refunds::list_refunds,
        admin_refunds::refunds_available,
        admin_refunds::refund_schema,
        access_tokens::get,
        access_tokens::delete,
        shoppers_token::get,
        payments::create_source,
        metadata::metadata,
        operations::healthz,
        operations::readyz,
        operations::metrics,
        openapi_json,
        authorize::authorize,
        authorize::sign_in_page,
        authorize::sign_in_submit,
        session_token::get,
        web_checkout::enter,
        web_checkout::resume,
        web_checkout::get_page,
        web_checkout::post_page,
        web_checkout::confirmation,
        start_page::start_page,
        start_page::api_reference,
        start_page::config,
        start_page::start_js,
        start_page::api_reference_js,
        start_page::style_css,
    ),
    components(schemas(
        CartEnvelope,
        AddressSuggestionsEnvelope,
        AddressSuggestionEnvelope,
        AppliedOffersEnvelope,
        SubscriptionsEnvelope,
        SubscriptionEnvelope,
        crate::views::purchase_plans::PurchasePlanView,
        crate::views::purchase_plans::PurchasePlansEnvelope,
        crate::views::payment_methods::AvailablePaymentMethods,
        crate::views::financing::FinancingView,
        crate::views::tax_registrations::TaxRegistrationsSchema,
        SubscriptionView,
        SubscriptionOrdersEnvelope,
        crate::subscriptions::PendingActionsEnvelope,
        WishListsEnvelope,
        WishListEnvelope,
        crate::views::returns::ReturnsEnvelope,
        crate::views::returns::NewReturnEnvelope,
        LineItemsEnvelope,
        LineItemEnvelope,
        ShippingOptionsEnvelope,
        ShippingOptionEnvelope,
        SubmitCartEnvelope,
        OrdersEnvelope,
        OrderEnvelope,
        OrderLinesEnvelope,
        OrderLineEnvelope,
        PaymentOptionsEnvelope,
        PaymentOptionEnvelope,
        ProductsEnvelope,
        ProductEnvelope,
        ProductPricingEnvelope,
        VolumePricingEnvelope,
        InventoryStatusEnvelope,
        InventoryStatusesEnvelope,
        VariationsEnvelope,
        CategoriesEnvelope,
        CategoryEnvelope,
        OffersEnvelope,
        OfferEnvelope,
        ProductOffersEnvelope,
        ProductOfferEnvelope,
        CategoryOffersEnvelope,
        PopsEnvelope,
        PopEnvelope,
        // Recursive parts (referenced, not inlined).
        ProductItem,
        ProductView,
        ProductSummary,
        CategoryView,
        SubCategories,
        OfferItem,
        OfferView,
        OfferBrief,
        OfferProduct,
        ProductBrief,
    )),
    modifiers(&SecuritySchemes, &Aliases, &ShopperApiTable, &ApiQuota, &XmlTwins),
    tags(
        (name = "oauth", description = "The OAuth 2.0 token service"),
        (name = "admin", description = "The Admin API (the merchant's side) and staff sign-in"),
        (name = "shopper-api", description = "Shopper API resources"),
        (name = "operations", description = "Probes, metrics, metadata"),
        (name = "payments", description = "Test-mode payment sources"),
        (name = "start-page", description = "The demo storefront at / and this reference, rendered"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key_basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some(
                        "The API key as user name; a confidential key's secret as password",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Paths that the documented API also answers under a `.json` suffix: same operation.
const ALIASES: &[(&str, &str)] = &[
    ("/oauth20/token", "/oauth20/token.json"),
    ("/v1/shoppers/token", "/v1/shoppers/token.json"),
];

struct Aliases;

impl Modify for Aliases {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, alias) in ALIASES {
            let Some(item) = openapi.paths.paths.get(*path).cloned() else {
                continue;
            };
            let mut item = item;
            for op in operations_mut(&mut item) {
                // Operation ids must stay unique.
                op.operation_id = op.operation_id.as_ref().map(|id| format!("{id}_json"));
            }
            openapi.paths.paths.insert((*alias).to_owned(), item);
        }
    }
}

/// The typed view (`views/`) a Shopper API route answers with on success, by its row in the
/// access table: the name of its schema in `components.schemas`.
pub fn response_view(method: &str, path: &str) -> Option<String> {
    use crate::views::cart::CART;
    use utoipa::ToSchema;
    let name = match (method, path.strip_prefix(CART)) {
        ("GET" | "POST", Some("")) => CartEnvelope::name(),
        (
            "POST",
            Some(
                "/apply-billing-address"
                | "/apply-shipping-address"
                | "/apply-payment-method"
                | "/apply-shipping-option"
                | "/apply-shopper"
                | "/tax-registrations",
            ),
        ) => CartEnvelope::name(),
        ("GET", Some("/tax-registrations/schema")) => {
            crate::views::tax_registrations::TaxRegistrationsSchema::name()
        }
        ("GET" | "POST", Some("/line-items")) => LineItemsEnvelope::name(),
        ("GET" | "POST", Some("/line-items/{id}")) => LineItemEnvelope::name(),
        ("GET", Some("/billing-address/suggestions" | "/shipping-address/suggestions")) => {
            AddressSuggestionsEnvelope::name()
        }
        (
            "GET",
            Some("/billing-address/suggestions/{id}" | "/shipping-address/suggestions/{id}"),
        ) => AddressSuggestionEnvelope::name(),
        ("GET", Some("/shipping-options")) => ShippingOptionsEnvelope::name(),
        ("GET", Some("/shipping-options/{id}")) => ShippingOptionEnvelope::name(),
        ("POST", Some("/submit-cart")) => SubmitCartEnvelope::name(),
        ("GET", Some("/applied-offers")) => AppliedOffersEnvelope::name(),
        ("GET", Some("/payment-methods")) => {
            crate::views::payment_methods::AvailablePaymentMethods::name()
        }
        ("GET", Some("/point-of-promotions")) => PopsEnvelope::name(),
        ("GET", Some("/point-of-promotions/{popName}")) => PopEnvelope::name(),
        ("GET", Some("/point-of-promotions/{popName}/offers")) => OffersEnvelope::name(),
        _ => match (method, path) {
            ("GET", "/v1/shoppers/me/purchase-plan") => {
                crate::views::purchase_plans::PurchasePlanView::name()
            }
            ("GET", "/v1/shoppers/me/purchase-plan/search") => {
                crate::views::purchase_plans::PurchasePlansEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/wish-lists") => WishListsEnvelope::name(),
            ("GET", "/v1/shoppers/me/wish-lists/{id}" | "/v1/shoppers/me/wish-lists/default")
            | ("POST", "/v1/shoppers/me/wish-lists") => WishListEnvelope::name(),
            ("GET", "/v1/shoppers/me/subscriptions") => SubscriptionsEnvelope::name(),
            ("GET", "/v1/shoppers/me/subscriptions/{id}") => SubscriptionEnvelope::name(),
            ("GET", "/v1/subscriptions/{id}") => SubscriptionView::name(),
            ("GET", "/v1/subscriptions/{id}/orders") => SubscriptionOrdersEnvelope::name(),
            ("GET", "/v1/subscriptions/{id}/pending-actions") => {
                crate::subscriptions::PendingActionsEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/orders") | ("POST", "/v1/shoppers/order-lookup") => {
                OrdersEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/orders/{id}") => OrderEnvelope::name(),
            ("GET", "/v1/shoppers/me/orders/{id}/returns") => {
                crate::views::returns::ReturnsEnvelope::name()
            }
            ("POST", "/v1/shoppers/me/orders/{id}/returns") => {
                crate::views::returns::NewReturnEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/orders/{id}/line-items") => OrderLinesEnvelope::name(),
            ("GET", "/v1/shoppers/me/orders/{id}/line-items/{lineItemId}") => {
                OrderLineEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/payment-options") => PaymentOptionsEnvelope::name(),
            ("GET", "/v1/shoppers/me/payment-options/{id}")
            | ("POST", "/v1/shoppers/me/payment-options") => PaymentOptionEnvelope::name(),
            (
                "GET",
                "/v1/shoppers/me/products"
                | "/v1/shoppers/me/product-search"
                | "/v1/shoppers/me/categories/{id}/products",
            ) => ProductsEnvelope::name(),
            ("GET", "/v1/shoppers/me/products/{id}") => ProductEnvelope::name(),
            ("GET", "/v1/shoppers/me/products/{id}/pricing") => ProductPricingEnvelope::name(),
            ("GET", "/v1/shoppers/me/products/{id}/financing") => {
                crate::views::financing::FinancingView::name()
            }
            ("GET", "/v1/shoppers/me/products/{id}/pricing/volume-pricing") => {
                VolumePricingEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/products/{id}/inventory-status") => {
                InventoryStatusEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/products/inventory-status") => {
                InventoryStatusesEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/products/{id}/variations") => VariationsEnvelope::name(),
            ("GET", "/v1/shoppers/me/products/{id}/categories" | "/v1/shoppers/me/categories") => {
                CategoriesEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/categories/{id}") => CategoryEnvelope::name(),
            (
                "GET",
                "/v1/shoppers/me/offers"
                | "/v1/shoppers/me/products/{id}/offers"
                | "/v1/shoppers/me/point-of-promotions/{popName}/offers"
                | "/v1/shoppers/me/products/{id}/point-of-promotions/{popName}/offers",
            ) => OffersEnvelope::name(),
            ("GET", "/v1/shoppers/me/offers/{id}") => OfferEnvelope::name(),
            ("GET", "/v1/shoppers/me/offers/{id}/product-offers") => ProductOffersEnvelope::name(),
            ("GET", "/v1/shoppers/me/offers/{id}/product-offers/{productId}") => {
                ProductOfferEnvelope::name()
            }
            ("GET", "/v1/shoppers/me/offers/{id}/category-offers") => {
                CategoryOffersEnvelope::name()
            }
            (
                "GET",
                "/v1/shoppers/me/point-of-promotions"
                | "/v1/shoppers/me/products/{id}/point-of-promotions",
            ) => PopsEnvelope::name(),
            (
                "GET",
                "/v1/shoppers/me/point-of-promotions/{popName}"
                | "/v1/shoppers/me/products/{id}/point-of-promotions/{popName}",
            ) => PopEnvelope::name(),
            _ => return None,
        },
    };
    Some(name.into_owned())
}

/// One operation per provided row of the access table that no handler annotation documents
/// already.
struct ShopperApiTable;

impl Modify for ShopperApiTable {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
        use utoipa::openapi::security::SecurityRequirement;
        use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};

        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ShopperApiErrorBody")))
                        .build(),
                )
                .build()
        };
        // The route's typed view when it has one, else an undescribed JSON body.
        let success = |description: &str, view: &Option<String>| {
            let content = match view {
                Some(name) => ContentBuilder::new().schema(Some(Ref::from_schema_name(name))),
                None => ContentBuilder::new(),
            };
            ResponseBuilder::new()
                .description(description)
                .content("application/json", content.build())
                .build()
        };
        for route in access_policy::ROUTES.iter().filter(|r| r.is_provided()) {
            let method = match route.method {
                "GET" => HttpMethod::Get,
                "POST" => HttpMethod::Post,
                "PUT" => HttpMethod::Put,
                "DELETE" => HttpMethod::Delete,
                _ => continue,
            };
            let documented = openapi
                .paths
                .paths
                .get(route.path)
                .is_some_and(|item| match method {
                    HttpMethod::Get => item.get.is_some(),
                    HttpMethod::Post => item.post.is_some(),
                    HttpMethod::Put => item.put.is_some(),
                    _ => item.delete.is_some(),
                });
            if documented {
                continue;
            }
            let id = format!(
                "{}{}",
                route.method.to_lowercase(),
                route.path.replace(['/', '{', '}', '-', '.'], "_")
            );
            let mut op = OperationBuilder::new()
                .operation_id(Some(id))
                .tag("shopper-api")
                .description(Some(format!(
                    "Shopper API resource (seed 003). Access: {}. Also answers with a `.json` \
                     suffix.",
                    route.level.as_str()
                )));
            for segment in route.path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    op = op.parameter(
                        ParameterBuilder::new()
                            .name(name)
                            .parameter_in(ParameterIn::Path)
                            .required(Required::True)
                            .schema(Some(
                                utoipa::openapi::ObjectBuilder::new()
                                    .schema_type(utoipa::openapi::schema::Type::String),
                            ))
                            .build(),
                    );
                }
            }
            let view = response_view(route.method, route.path);
            op = match route.method {
                // The web checkout transfers the browser, as the docs say: `302 Found`.
                _ if route.path.ends_with("/web-checkout") => op.response(
                    "302",
                    ResponseBuilder::new()
                        .description("Found: Location names the hosted checkout (a one-time link)")
                        .build(),
                ),
                // The Transparent Commerce purchase answers as the docs do: no body, `Location`.
                "POST" if route.path.ends_with("/purchase") => op.response(
                    "201",
                    ResponseBuilder::new()
                        .description("Ordered; Location names the order")
                        .build(),
                ),
                // Saved addresses answer as the docs do: no body, `Location` naming it.
                "POST" if route.path.starts_with("/v1/shoppers/me/addresses") => op.response(
                    "204",
                    ResponseBuilder::new()
                        .description("Saved; Location names the address")
                        .build(),
                ),
                // The cart's addresses: `PUT` answers as the docs do, no body.
                "PUT" => op.response(
                    "204",
                    ResponseBuilder::new()
                        .description("Set on the cart; GET it to read it")
                        .build(),
                ),
                "POST" => op
                    .response("200", success("Done", &view))
                    .response("201", success("Created", &view)),
                "DELETE" => op
                    .response("200", success("Deleted", &None))
                    .response("204", ResponseBuilder::new().description("Deleted").build()),
                _ => op.response("200", success("The resource", &view)),
            };
            op = op
                .response("400", error("Malformed request or invalid field"))
                .response("401", error("No usable credential, or an invalid token"))
                .response("403", error("A limited token on a full-access route"))
                .response("404", error("No such resource"))
                .response("409", error("Conflict with the resource's state"))
                .response("503", error("Database unavailable"));
            if route.level != Level::TokenOptional {
                op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
            }
            openapi
                .paths
                .add_path_operation(route.path, vec![method], op.build());
        }
    }
}

/// A path's operations, to change each.
fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.delete,
    ]
    .into_iter()
    .flatten()
}

/// Every Shopper API operation may answer the per-key quota's documented 409 (`access`
/// counts each request): listed, or named beside the operation's own 409s.
struct ApiQuota;

impl Modify for ApiQuota {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

        const QUOTA: &str = "`rate-limit-quota-exceeded`: the API key's quota \
                             (`--api-rate-per-key` a second) is used up; `Retry-After` says \
                             when to retry";
        let refused = ResponseBuilder::new()
            .description(QUOTA)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ShopperApiErrorBody")))
                    .build(),
            )
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !path.starts_with("/v1/") {
                continue;
            }
            for op in operations_mut(item) {
                match op.responses.responses.get_mut("409") {
                    Some(RefOr::T(own)) => {
                        own.description = format!("{}; or {QUOTA}", own.description)
                    }
                    Some(RefOr::Ref(_)) => {}
                    None => {
                        op.responses
                            .responses
                            .insert("409".to_owned(), refused.clone().into());
                    }
                }
            }
        }
    }
}

/// Every JSON body of the resources that speak XML (`formats`) is offered as
/// `application/xml` too, with the same schema (the XML is the JSON's rendering): answers of
/// the Shopper API, OAuth's token resources and payments, and the Shopper API's request bodies.
struct XmlTwins;

impl XmlTwins {
    fn speaks_xml(path: &str) -> bool {
        path.starts_with("/v1/")
            || path.starts_with("/payments/")
            || path.starts_with("/store/")
            || (path.starts_with("/oauth20/")
                && !matches!(path, "/oauth20/authorize" | "/oauth20/sign-in"))
    }
}

impl Modify for XmlTwins {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        const JSON: &str = "application/json";
        const XML: &str = "application/xml";
        for (path, item) in openapi.paths.paths.iter_mut() {
            if !Self::speaks_xml(path) {
                continue;
            }
            for op in operations_mut(item) {
                for response in op.responses.responses.values_mut() {
                    if let RefOr::T(response) = response {
                        if let Some(json) = response.content.get(JSON).cloned() {
                            response.content.insert(XML.to_owned(), json);
                        }
                    }
                }
                if !path.starts_with("/v1/") {
                    continue;
                }
                if let Some(body) = op.request_body.as_mut() {
                    if let Some(json) = body.content.get(JSON).cloned() {
                        body.content.insert(XML.to_owned(), json);
                    }
                }
            }
        }
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the generated document serialises")
    })
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    description = "This OpenAPI 3.1 document. Access: none.",
    responses((status = 200, description = "The document", content_type = "application/json"))
)]
pub async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
