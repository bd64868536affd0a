//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations.
//!
//! Adding a route: annotate its handler with `#[utoipa::path(...)]` (method, path, access in
//! `description`, every status with its error body) and list the handler in `paths(...)`
//! below. `tests/api/openapi.rs` fails if a path routed in `http/mod.rs` is missing here, or
//! a documented path is not routed.

use super::{
    access_tokens, introspect, metadata, operations, payments, revoke, shoppers_token, token,
};
use axum::http::header;
use axum::response::IntoResponse;
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
                       `{errors: {error: [{relation, code, description}]}}`."
    ),
    paths(
        token::token,
        introspect::introspect,
        revoke::revoke,
        access_tokens::get,
        access_tokens::delete,
        shoppers_token::get,
        payments::create_source,
        metadata::metadata,
        operations::healthz,
        operations::readyz,
        operations::metrics,
        openapi_json,
    ),
    modifiers(&SecuritySchemes, &Aliases),
    tags(
        (name = "oauth", description = "The OAuth 2.0 token service"),
        (name = "shopper-api", description = "Shopper API resources"),
        (name = "operations", description = "Probes, metrics, metadata"),
        (name = "payments", description = "Test-mode payment sources"),
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
            for op in [&mut item.get, &mut item.post, &mut item.delete]
                .into_iter()
                .flatten()
            {
                // Operation ids must stay unique.
                op.operation_id = op.operation_id.as_ref().map(|id| format!("{id}_json"));
            }
            openapi.paths.paths.insert((*alias).to_owned(), item);
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
