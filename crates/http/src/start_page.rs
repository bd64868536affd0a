//! The start page at `/`: a small storefront for the demo site, written in plain HTML and
//! JavaScript against the public API from the browser (it doubles as a living example for
//! integrators), and an API reference rendered in the browser from `/openapi.json`.
//!
//! The files live in `web/` and are compiled into the binary; the page learns the demo site's
//! public values (its public API key, its payments public key, the redirect URI of its
//! hosted sign-in) from `GET /start/config.json`. Without a demo site or key the page shows the
//! commands that create them.

use super::browser::html_security_headers;
use super::error::OAuthError;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shopkeeper_domain::authorize::{Flow, flow_refusal};
use shopkeeper_domain::{ApiKey, ClientKind, SiteId};
use shopkeeper_services::settings::WebConfig;
use shopkeeper_services::state::AppState;

/// The site the start page shops in: the one a first start creates.
pub const DEMO_SITE: &str = "demo";

/// Scripts, styles and requests from this origin only; no inline code (so an injected
/// `<script>` runs nothing), no framing, forms posting nowhere else.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                        connect-src 'self'; img-src 'self' data:; form-action 'self'; \
                        base-uri 'none'; frame-ancestors 'none'";

const START_HTML: &str = include_str!("../web/index.html");
const API_REFERENCE_HTML: &str = include_str!("../web/api-reference.html");
const START_JS: &str = include_str!("../web/start.js");
const API_REFERENCE_JS: &str = include_str!("../web/api-reference.js");
const STYLE_CSS: &str = include_str!("../web/style.css");

/// The redirect URI of the start page's sign-in: the page itself, on the public URL.
pub fn redirect_uri(web: &WebConfig) -> String {
    format!("{}/", web.public_url)
}

fn page(html: &'static str) -> Response {
    let response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    html_security_headers(response, HeaderValue::from_static(PAGE_CSP))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Small files that change with the binary: revalidate rather than cache stale.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(
    get,
    path = "/",
    tag = "start-page",
    description = "The start page: a demo storefront on the public API (catalog, cart, guest \
                   checkout with a test card, hosted sign-in, the order). Access: none.",
    responses((status = 200, description = "The page", body = String, content_type = "text/html"))
)]
pub async fn start_page() -> Response {
    page(START_HTML)
}

#[utoipa::path(
    get,
    path = "/api-reference",
    tag = "start-page",
    description = "A readable API reference, rendered in the browser from `/openapi.json`. \
                   Access: none.",
    responses((status = 200, description = "The page", body = String, content_type = "text/html"))
)]
pub async fn api_reference() -> Response {
    page(API_REFERENCE_HTML)
}

#[utoipa::path(
    get,
    path = "/start/start.js",
    tag = "start-page",
    description = "The start page's script. Access: none.",
    responses((status = 200, description = "JavaScript", body = String, content_type = "text/javascript"))
)]
pub async fn start_js() -> Response {
    asset("text/javascript; charset=utf-8", START_JS)
}

#[utoipa::path(
    get,
    path = "/start/api-reference.js",
    tag = "start-page",
    description = "The API reference page's script. Access: none.",
    responses((status = 200, description = "JavaScript", body = String, content_type = "text/javascript"))
)]
pub async fn api_reference_js() -> Response {
    asset("text/javascript; charset=utf-8", API_REFERENCE_JS)
}

#[utoipa::path(
    get,
    path = "/start/style.css",
    tag = "start-page",
    description = "The pages' style sheet. Access: none.",
    responses((status = 200, description = "CSS", body = String, content_type = "text/css"))
)]
pub async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

/// What the start page needs to call the API as the demo site's storefront. Every value is
/// public: a storefront's page carries them anyway.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StartConfig {
    /// The site the page shops in.
    pub site_id: &'static str,
    /// A public API key of the site (absent: the site has none enabled).
    pub api_key: Option<String>,
    /// The site's payments public key, the bearer of `POST /payments/sources`.
    pub payments_public_key: Option<String>,
    /// The redirect URI of the page's hosted sign-in (the page on the public URL); absent when
    /// no enabled public key of the site has it registered with the code flow allowed.
    pub redirect_uri: Option<String>,
    /// Commands that would set up what is missing, in order; empty when all is there.
    pub setup: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/start/config.json",
    tag = "start-page",
    description = "The demo site's public values for the start page, or the commands that \
                   create what is missing. Access: none.",
    responses(
        (status = 200, description = "The page's configuration", body = StartConfig),
        (status = 503, description = "Database unavailable", body = super::error::OAuthErrorBody),
    )
)]
pub async fn config(State(state): State<AppState>) -> Result<Response, OAuthError> {
    let config = start_config(&state).await?;
    let mut response = Json(config).into_response();
    // Keys can be created, disabled or rotated at any time.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn start_config(state: &AppState) -> Result<StartConfig, shopkeeper_store::StoreError> {
    let redirect = redirect_uri(&state.web);
    let new_key = format!(
        "shopkeeper client create --site {DEMO_SITE} --kind public --redirect-uri {redirect}"
    );
    let demo = SiteId::parse(DEMO_SITE).expect("the demo site's id is a site id");
    let Some(site) = state.store.site(&demo).await? else {
        return Ok(StartConfig {
            site_id: DEMO_SITE,
            api_key: None,
            payments_public_key: None,
            redirect_uri: None,
            setup: vec![
                format!("shopkeeper site create --id {DEMO_SITE}"),
                new_key,
                format!("shopkeeper catalog import catalog.json --site {DEMO_SITE}"),
            ],
        });
    };
    // The first enabled public key that can sign in from this page, else the first one.
    let mut chosen: Option<(ApiKey, bool)> = None;
    for client in state.store.clients(Some(&demo)).await? {
        if client.kind != ClientKind::Public || client.disabled {
            continue;
        }
        let registered = state.store.redirect_uris(&client.api_key).await?;
        let signs_in = registered.contains(&redirect)
            && flow_refusal(state.web.profile, &client.flows(), Flow::Code).is_none();
        if signs_in {
            chosen = Some((client.api_key, true));
            break;
        }
        chosen.get_or_insert((client.api_key, false));
    }
    let (api_key, signs_in) = match chosen {
        Some((key, signs_in)) => (Some(key.to_string()), signs_in),
        None => (None, false),
    };
    // Every site has a payments key (migration 0005 gave the older ones theirs).
    let setup = if signs_in { Vec::new() } else { vec![new_key] };
    Ok(StartConfig {
        site_id: DEMO_SITE,
        api_key,
        payments_public_key: site.payments_public_key,
        redirect_uri: signs_in.then_some(redirect),
        setup,
    })
}
