//! HTTP: the router, one module per resource, the error shapes, parameter parsing and the
//! bearer extractor.

pub mod access;
pub mod access_tokens;
pub mod address_suggestions;
pub mod admin;
pub mod admin_error;
pub mod admin_orders;
pub mod admin_refunds;
pub mod admin_returns;
pub mod admin_routes;
pub mod admin_sites;
pub mod admin_tasks;
pub mod audit_log;
pub mod authorize;
pub mod browser;
pub mod cart_offers;
pub mod carts;
pub mod catalog;
pub mod client_auth;
pub mod cors;
pub mod error;
pub mod extract;
pub mod financing;
pub mod formats;
pub mod introspect;
pub mod key_carts;
pub mod limits;
mod look;
pub mod metadata;
pub mod offers;
pub mod openapi;
pub mod operations;
pub mod orders;
pub mod params;
pub mod payment_methods;
pub mod payments;
pub mod principal;
pub mod product_purchase;
pub mod purchase_plans;
pub mod request_metrics;
pub mod response_hook;
pub mod returns;
pub mod revoke;
pub mod routes;
pub mod session_token;
pub mod shopper_api;
pub mod shoppers;
pub mod shoppers_token;
pub mod site;
pub mod staff_auth;
pub mod start_page;
pub mod subscriptions;
pub mod tax_registrations;
pub mod test_clock;
pub mod token;
pub mod tolerant;
pub mod views;
pub mod web_checkout;
pub mod wish_lists;
pub mod xml;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use shopkeeper_services::state::AppState;
use std::convert::Infallible;
use std::time::Duration;
use tower::Service;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;

/// A POST-only OAuth endpoint: any other method gets the OAuth shape's 405.
fn oauth_post<H, T>(handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    post(handler).fallback(token::method_not_allowed)
}

/// Largest request body accepted anywhere (token requests are a few hundred bytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: random (version 4) UUIDs from the thread's CSPRNG. tower-http's
/// `MakeRequestUuid` asks the kernel for each one, a `getrandom` system call per request.
#[derive(Clone, Copy)]
struct MakeRequestUuidV4;

impl MakeRequestId for MakeRequestUuidV4 {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        let text = id.hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

pub fn router(state: AppState) -> Router {
    // Every cross-origin route answers its preflight with its own methods (`cors`); each
    // method router has its own 405 fallback, so the router's fallback (which replaces only
    // default ones) cannot bypass the CORS layer wrapped around it.
    let token_cors = cors::for_methods(&[Method::POST]);
    let token_routes = Router::new()
        .route("/oauth20/token", oauth_post(token::token))
        .route("/oauth20/token.json", oauth_post(token::token))
        .route("/oauth20/introspect", oauth_post(introspect::introspect))
        .route("/oauth20/revoke", oauth_post(revoke::revoke))
        .layer(token_cors);
    // The merchant's side: staff sign-in and the Admin API, server to server (no CORS).
    let admin_routes = Router::new()
        .route(
            "/auth",
            post(staff_auth::sign_in)
                .delete(staff_auth::sign_out)
                .fallback(token::method_not_allowed),
        )
        .merge(admin_routes::admin_api_router());

    let api_routes = Router::new()
        .route(
            "/oauth20/access-tokens",
            get(access_tokens::get)
                .delete(access_tokens::delete)
                .fallback(token::method_not_allowed)
                .layer(cors::for_methods(&[Method::GET, Method::DELETE])),
        )
        // The Shopper API, from the access table (`/v1/shoppers/token` is one of its rows).
        .merge(routes::shopper_api_router())
        // DigitalRiver.js-style payment sources: not a Shopper API route, its own
        // error shape and its own key (the site's payments public key).
        .route(
            "/payments/sources",
            post(payments::create_source)
                .fallback(payments::method_not_allowed)
                .layer(cors::for_methods(&[Method::POST])),
        );

    // Browser-facing routes: pages and the SessionToken site action (no CORS: JSONP and
    // top-level navigations need none).
    let browser_routes = Router::new()
        .route("/oauth20/authorize", get(authorize::authorize))
        .route(
            "/oauth20/sign-in",
            get(authorize::sign_in_page).post(authorize::sign_in_submit),
        )
        .route("/store/{site_id}/SessionToken", get(session_token::get))
        // The hosted web checkout's pages (`web_checkout`).
        .route("/store/{site_id}/checkout", get(web_checkout::resume))
        .route("/store/{site_id}/checkout/enter", get(web_checkout::enter))
        .route(
            "/store/{site_id}/checkout/orders/{order_id}",
            get(web_checkout::confirmation),
        )
        .route(
            "/store/{site_id}/checkout/{page}",
            get(web_checkout::get_page).post(web_checkout::post_page),
        )
        // The start page (a demo storefront on the public API) and the API reference.
        .route("/", get(start_page::start_page))
        .route("/api-reference", get(start_page::api_reference))
        .route("/start/config.json", get(start_page::config))
        .route("/start/start.js", get(start_page::start_js))
        .route("/start/api-reference.js", get(start_page::api_reference_js))
        .route("/start/style.css", get(start_page::style_css));

    let routes = Router::new()
        .merge(token_routes)
        .merge(admin_routes)
        .merge(api_routes)
        .merge(browser_routes)
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/healthz", get(operations::healthz))
        .route("/readyz", get(operations::readyz))
        .route("/metrics", get(operations::metrics));
    // Only with the test-only `--test-clock` flag; not part of the API.
    test_clock::install(routes, &state)
        .fallback(shopper_api::not_found_fallback)
        .method_not_allowed_fallback(shopper_api::method_not_allowed_fallback)
        // Inside the router, where the matched route is known: notes it for the request layer.
        .layer(tower::util::MapRequestLayer::new(
            crate::request_metrics::note_route,
        ))
        .with_state(state)
}

/// The router inside the layers every request passes through once: the format (outermost:
/// XML and JSONP render every answer below it, rejections included, and tunnelling picks the
/// method before routing), the documented shape for bare rejections, the request id, the request span, metrics and log line
/// (`request_metrics::RequestsLayer`: outside the time limit, so a timed-out request is counted
/// and logged too), the request time limit, the body size limit, the Shopper API's trailing
/// slash (`routes::trim_trailing_slash`).
///
/// They wrap the router rather than being added with `Router::layer`, which wraps every
/// route on its own: a route is a boxed service cloned for each request, so each of those
/// layers cost an allocation per request.
pub fn app(
    state: AppState,
    request_timeout: Duration,
) -> impl Service<Request<Body>, Response = Response, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ 'static {
    let default_format = state.web.default_format;
    tower::ServiceBuilder::new()
        .layer(formats::FormatLayer::new(default_format))
        .layer(response_hook::HookLayer::<limits::DocumentedRejection>::new())
        .layer(SetRequestIdLayer::new(
            REQUEST_ID.clone(),
            MakeRequestUuidV4,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(crate::request_metrics::RequestsLayer::new())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        // Before routing, which a `Router::layer` would be too late for.
        .layer(tower::util::MapRequestLayer::new(
            routes::trim_trailing_slash::<Body>,
        ))
        .service(router(state))
}
