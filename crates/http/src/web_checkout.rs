//! The hosted web checkout (`managing-web-checkout.md`): `GET`/`POST
//! /v1/shoppers/me/carts/active/web-checkout` answer `302 Found` to Shopkeeper's own checkout
//! pages, and the pages take the shopper from the cart to the order's confirmation.
//!
//! The transfer never puts the token in a URL. The answer's location carries a one-time handle
//! (256 bits, stored only as its hash, valid for the authorization codes' lifetime); its first
//! use links a fresh browser session cookie to the token's session and answers `303` to the
//! cart page; any later use, an expired handle or another site's is refused with a page. The
//! pages act for the session through that cookie: as its shopper only when the handle came from
//! a full token or the shopper signed in in this browser. Every figure comes from the cart's
//! pricing (`domain::checkout::price_cart`), and every write goes through the same service as
//! the API's, so a refusal is the API's own, explained on the page with the cart unchanged.
//! Forms post back to their page (then `303` to the next), each with a CSRF token bound to the
//! browser's session cookie.

use super::access::Limited;
use super::browser;
use super::carts::{self, CartBody};
use super::error::ShopperApiError;
use super::extract::OptionalJson;
use super::look::Look;
use super::payments::{CreditCardInput, Owner, OwnerAddress, PaymentsError, create_card_source};
use super::shopper_api::{ApiQuery, ApiResult, bad_request};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use shopkeeper_domain::catalog::formatted;
use shopkeeper_domain::checkout::order::PricedCart;
use shopkeeper_domain::checkout::{SHIPPING_OPTIONS, Totals};
use shopkeeper_domain::csrf::{self, CsrfVerdict, FormBrowser};
use shopkeeper_domain::secret::random_hex;
use shopkeeper_domain::shopper::AddressInput;
use shopkeeper_domain::{SecretHash, SiteId};
use shopkeeper_services::auth::{AccessLevel, Principal};
use shopkeeper_services::checkout::{self as service, CheckoutError};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{BrowserHandle, SessionRecord};
use std::collections::HashMap;

/// Where the pages live: under the site, beside its `SessionToken` action.
fn checkout_path(site: &SiteId, page: &str) -> String {
    format!("/store/{site}/checkout/{page}")
}

// --- the transfer (`web-checkout`) ----------------------------------------------------------

/// Mints the one-time handle for the caller's session and answers `302` to the pages.
async fn transfer(state: &AppState, p: &Principal) -> ApiResult<Response> {
    let (handle, hash) = browser::new_handle();
    let now = state.clock.now();
    state
        .store
        .create_checkout_handle(
            BrowserHandle {
                hash: &hash,
                site_id: &p.site_id,
            },
            &p.session_id,
            p.level == AccessLevel::Full,
            now,
            now + state.web.code_ttl_seconds,
        )
        .await?;
    let location = format!(
        "{}{}?h={handle}",
        state.web.public_url,
        checkout_path(&p.site_id, "enter")
    );
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("hex handle and a checked public URL"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// `GET /v1/shoppers/me/carts/active/web-checkout[?productId=&quantity=]`: the product given
/// is added first; `themeId`, `externalReferenceId` and `fields` are taken and ignored (a site
/// has one look: its branding).
pub async fn get_web_checkout(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
) -> ApiResult<Response> {
    if let Some(raw) = q.get("productId") {
        let product: i64 = raw
            .parse()
            .map_err(|_| bad_request(format!("productId: {raw:?} is not a product id")))?;
        let quantity = match q.get("quantity") {
            Some(raw) => raw
                .parse()
                .map_err(|_| bad_request(format!("quantity: {raw:?} is not a number")))?,
            None => 1,
        };
        service::add_lines(
            &state.store,
            &p,
            &[(product, quantity)],
            &HashMap::new(),
            state.clock.now(),
        )
        .await?;
    }
    transfer(&state, &p).await
}

/// `POST /v1/shoppers/me/carts/active/web-checkout`: the cart body (and query) as
/// `POST carts/active` takes them, written with the same checks (a 4xx leaves the cart as it
/// was), then the transfer.
pub async fn post_web_checkout(
    State(state): State<AppState>,
    Limited(p): Limited,
    q: ApiQuery,
    body: OptionalJson<CartBody>,
) -> ApiResult<Response> {
    carts::update_cart(State(state.clone()), Limited(p.clone()), q, body).await?;
    transfer(&state, &p).await
}

// --- the browser's session ------------------------------------------------------------------

/// A browser on the pages: its session cookie's handle and the session it acts for.
struct Browser {
    handle: String,
    principal: Principal,
    look: Look,
}

/// Why a page cannot be shown: answered as a page.
struct PageRefusal {
    status: StatusCode,
    heading: &'static str,
    message: String,
}

impl PageRefusal {
    fn no_session() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            heading: "Your checkout has ended",
            message: "This browser has no checkout in progress, or it expired. Go back to the \
                      shop and start the checkout again."
                .into(),
        }
    }
}

#[derive(Template)]
#[template(path = "checkout_message.html")]
struct MessagePage<'a> {
    look: &'a Look,
    style_nonce: &'a str,
    heading: &'a str,
    message: &'a str,
}

async fn site_look(state: &AppState, site: &SiteId) -> Look {
    match state.store.site_branding(site).await {
        Ok(branding) => Look::of_site(branding.as_ref(), None),
        Err(e) => {
            tracing::error!(error = %e, "the checkout page's branding could not be read");
            Look::neutral()
        }
    }
}

/// A page of ours, with its security headers.
fn html_page(status: StatusCode, html: Result<String, askama::Error>, nonce: &str) -> Response {
    match html {
        Ok(html) => browser::secure_html((status, Html(html)).into_response(), nonce),
        Err(e) => super::error::internal(e).into_response(),
    }
}

async fn refusal_page(state: &AppState, site: &SiteId, refusal: PageRefusal) -> Response {
    let look = site_look(state, site).await;
    let nonce = random_hex(16);
    let page = MessagePage {
        look: &look,
        style_nonce: &nonce,
        heading: refusal.heading,
        message: &refusal.message,
    };
    html_page(refusal.status, page.render(), &nonce)
}

fn site_id(raw: &str) -> Option<SiteId> {
    SiteId::parse(raw).ok()
}

/// The browser's checkout: its cookie's live session on this site, which a key has used.
async fn browser_of(
    state: &AppState,
    site: &SiteId,
    headers: &HeaderMap,
) -> Result<Browser, PageRefusal> {
    let handle = browser::cookie(headers, browser::session_cookie_name(state))
        .ok_or_else(PageRefusal::no_session)?;
    let now = state.clock.now();
    let (session, full) = state
        .store
        .browser_session_link(&SecretHash::of(&handle), site)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "a checkout page's session could not be read");
            PageRefusal {
                status: StatusCode::SERVICE_UNAVAILABLE,
                heading: "The shop is unavailable",
                message: "Please try again in a moment.".into(),
            }
        })?
        .filter(|(s, _)| s.is_live(now))
        .ok_or_else(PageRefusal::no_session)?;
    let principal = principal_of(&handle, session, full).ok_or_else(PageRefusal::no_session)?;
    Ok(Browser {
        handle,
        principal,
        look: site_look(state, site).await,
    })
}

/// The session as the services take it: acting for its shopper only when the browser may.
fn principal_of(handle: &str, s: SessionRecord, full: bool) -> Option<Principal> {
    let level = if full && s.shopper_id.is_some() {
        AccessLevel::Full
    } else {
        AccessLevel::Limited
    };
    Some(Principal {
        token_hash: SecretHash::of(handle),
        session_id: s.id,
        site_id: s.site_id,
        api_key: s.api_key?,
        shopper_id: s.shopper_id,
        level,
        issued_at: s.created_at,
        expires_at: s.expires_at,
    })
}

/// The CSRF token of the browser's forms: bound to its session cookie, until the sign-in
/// form's lifetime passes.
fn form_token(state: &AppState, handle: &str) -> String {
    let browser = FormBrowser {
        nonce: handle,
        session_handle: Some(handle),
    };
    csrf::csrf_token(
        state.refresh_key.as_ref(),
        browser,
        state.clock.now() + state.web.sign_in_form_ttl_seconds,
    )
}

fn form_token_valid(state: &AppState, handle: &str, presented: &str) -> bool {
    let browser = FormBrowser {
        nonce: handle,
        session_handle: Some(handle),
    };
    csrf::check_csrf_token(
        state.refresh_key.as_ref(),
        browser,
        presented,
        state.clock.now(),
    ) == CsrfVerdict::Valid
}

#[derive(Debug, Deserialize)]
pub struct EnterQuery {
    h: Option<String>,
}

/// The failures every checkout route shares, in `/openapi.json`: an unknown site or path is the
/// API's error body, a browser's own refusal a page.
struct PageFailures;

impl utoipa::IntoResponses for PageFailures {
    fn responses()
    -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let page_or_error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "text/html",
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .build(),
                )
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ShopperApiErrorBody")))
                        .build(),
                )
                .build()
                .into()
        };
        [
            (
                "404",
                page_or_error(
                    "Unknown site or path (the documented error shape), or no such order: a page",
                ),
            ),
            ("503", page_or_error("The database is unavailable: a page")),
        ]
        .into_iter()
        .map(|(status, response)| (status.to_owned(), response))
        .collect()
    }
}

/// `GET /store/{siteId}/checkout/enter?h=HANDLE`: redeems the handle once, sets a fresh session
/// cookie for its session and answers `303` to the cart page.
#[utoipa::path(
    get,
    path = "/store/{site_id}/checkout/enter",
    tag = "web-checkout",
    params(("site_id" = String, Path, description = "The site id")),
    description = "Redeems the one-time handle of a `web-checkout` answer (`?h=`): sets the browser's session cookie and sends it to the cart page. Access: the handle, once, before it expires.",
    responses(
        (status = 303, description = "To the cart page, with the session cookie"),
        (status = 400, description = "Used, expired or unknown handle: a page; or a malformed request", content((String = "text/html"), (crate::error::ShopperApiErrorBody = "application/json"))),
        PageFailures,
    )
)]
pub async fn enter(
    State(state): State<AppState>,
    Path(raw_site): Path<String>,
    Query(query): Query<EnterQuery>,
) -> Response {
    let Some(site) = site_id(&raw_site) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let refused = || PageRefusal {
        status: StatusCode::BAD_REQUEST,
        heading: "This checkout link cannot be used",
        message: "It has expired or was already used. Go back to the shop and start the \
                  checkout again."
            .into(),
    };
    let handle = query
        .h
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(handle) = handle else {
        return refusal_page(&state, &site, refused()).await;
    };
    let (cookie_handle, cookie_hash) = browser::new_handle();
    let redeemed = state
        .store
        .redeem_checkout_handle(
            &SecretHash::of(&handle),
            BrowserHandle {
                hash: &cookie_hash,
                site_id: &site,
            },
            state.clock.now(),
        )
        .await;
    match redeemed {
        Ok(Some(_)) => {
            let mut response = Redirect::to(&checkout_path(&site, "cart")).into_response();
            let ttl = state.tokens.refresh_ttl_seconds;
            response.headers_mut().insert(
                header::SET_COOKIE,
                browser::session_cookie(&state, &cookie_handle, ttl),
            );
            browser::html_security_headers(response, HeaderValue::from_static("default-src 'none'"))
        }
        Ok(None) => refusal_page(&state, &site, refused()).await,
        Err(e) => {
            tracing::error!(error = %e, "a checkout handle could not be redeemed");
            let refusal = PageRefusal {
                status: StatusCode::SERVICE_UNAVAILABLE,
                heading: "The shop is unavailable",
                message: "Please try again in a moment.".into(),
            };
            refusal_page(&state, &site, refusal).await
        }
    }
}

// --- what the pages show --------------------------------------------------------------------

/// A cart line as the pages show it.
struct PageLine {
    id: i64,
    name: String,
    sku: String,
    quantity: i64,
    unit_price: String,
    total: String,
}

/// The cart's totals as the pages show them (the API's `pricing`, formatted the same way).
struct PageTotals {
    subtotal: String,
    discount: Option<String>,
    shipping: Option<String>,
    tax: String,
    total: String,
}

impl PageTotals {
    fn of(t: &Totals, currency: &str) -> Self {
        Self {
            subtotal: formatted(t.subtotal, currency),
            discount: (t.discount > 0).then(|| formatted(t.discount, currency)),
            shipping: (t.shipping > 0).then(|| formatted(t.shipping, currency)),
            tax: formatted(t.tax, currency),
            total: formatted(t.total, currency),
        }
    }
}

fn page_lines(pr: &PricedCart<'_>) -> Vec<PageLine> {
    pr.lines
        .iter()
        .map(|l| PageLine {
            id: l.line.id,
            name: l.line.display_name.clone(),
            sku: l.line.sku.clone(),
            quantity: l.pricing.quantity,
            unit_price: formatted(l.unit_price_minor(), &pr.currency),
            total: formatted(l.sale_total_minor(), &pr.currency),
        })
        .collect()
}

/// The steps, for the navigation every page shows.
const STEPS: [(&str, &str); 5] = [
    ("cart", "Cart"),
    ("address", "Address"),
    ("shipping", "Shipping"),
    ("payment", "Payment"),
    ("review", "Review"),
];

struct Step {
    href: String,
    label: &'static str,
    current: bool,
}

fn steps(site: &SiteId, current: &str) -> Vec<Step> {
    STEPS
        .iter()
        .map(|(page, label)| Step {
            href: checkout_path(site, page),
            label,
            current: *page == current,
        })
        .collect()
}

/// What the cart is missing before it can be submitted: the first step to finish.
fn first_unfinished(pr: &PricedCart<'_>, has_source: bool) -> &'static str {
    if pr.lines.is_empty() {
        "cart"
    } else if pr.billing.is_none() || (pr.physical() && pr.shipping.is_none()) {
        "address"
    } else if !has_source && !pr.paid_by_credit() {
        "payment"
    } else {
        "review"
    }
}

/// The refusal of a service, as the API words it (its description) and its status.
fn explain(e: CheckoutError) -> (StatusCode, String) {
    let error = ShopperApiError::from(e);
    (error.status, error.description)
}

#[derive(Template)]
#[template(path = "checkout_cart.html")]
struct CartPage<'a> {
    look: &'a Look,
    style_nonce: &'a str,
    steps: Vec<Step>,
    action: String,
    csrf_token: &'a str,
    error: Option<&'a str>,
    lines: Vec<PageLine>,
    totals: PageTotals,
    next: String,
}

#[derive(Template)]
#[template(path = "checkout_address.html")]
struct AddressPage<'a> {
    look: &'a Look,
    style_nonce: &'a str,
    steps: Vec<Step>,
    action: String,
    csrf_token: &'a str,
    error: Option<&'a str>,
    /// The signed-in shopper's saved addresses: (id, one-line summary).
    saved: Vec<(i64, String)>,
    form: AddressForm,
    /// The hosted sign-in page for this checkout, for a guest.
    sign_in: Option<String>,
}

#[derive(Template)]
#[template(path = "checkout_shipping.html")]
struct ShippingPage<'a> {
    look: &'a Look,
    style_nonce: &'a str,
    steps: Vec<Step>,
    action: String,
    csrf_token: &'a str,
    error: Option<&'a str>,
    /// (id, description, cost, chosen)
    options: Vec<(i64, &'static str, String, bool)>,
}

#[derive(Template)]
#[template(path = "checkout_payment.html")]
struct PaymentPage<'a> {
    look: &'a Look,
    style_nonce: &'a str,
    steps: Vec<Step>,
    action: String,
    csrf_token: &'a str,
    error: Option<&'a str>,
    name: String,
    total: String,
}

#[derive(Template)]
#[template(path = "checkout_review.html")]
struct ReviewPage<'a> {
    look: &'a Look,
    style_nonce: &'a str,
    steps: Vec<Step>,
    action: String,
    csrf_token: &'a str,
    error: Option<&'a str>,
    lines: Vec<PageLine>,
    totals: PageTotals,
    billing: Option<String>,
    shipping: Option<String>,
    shipping_method: Option<&'static str>,
    payment: Option<String>,
}

#[derive(Template)]
#[template(path = "checkout_confirmation.html")]
struct ConfirmationPage<'a> {
    look: &'a Look,
    style_nonce: &'a str,
    order_id: i64,
    lines: Vec<PageLine>,
    totals: PageTotals,
    email: Option<String>,
}

fn one_line(a: &shopkeeper_domain::address::PostalAddress) -> String {
    let name = [a.first_name.as_deref(), a.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let mut parts = vec![];
    if !name.is_empty() {
        parts.push(name);
    }
    parts.push(a.line1.clone());
    parts.push(
        [
            Some(a.city.as_str()),
            a.country_subdivision.as_deref(),
            a.postal_code.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" "),
    );
    parts.push(a.country.clone());
    parts.join(", ")
}

// --- the forms ------------------------------------------------------------------------------

/// Every form's post: its CSRF token and what it asks.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PagePost {
    csrf_token: Option<String>,
    action: Option<String>,
    line: Option<i64>,
    quantity: Option<String>,
    code: Option<String>,
    saved: Option<String>,
    option: Option<i64>,
    #[serde(flatten)]
    address: AddressForm,
    #[serde(flatten)]
    card: CardForm,
}

/// The address form's fields (one address, for billing and shipping).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct AddressForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    line1: String,
    #[serde(default)]
    line2: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    country: String,
}

impl AddressForm {
    fn of(a: &shopkeeper_domain::address::PostalAddress) -> Self {
        Self {
            first_name: a.first_name.clone().unwrap_or_default(),
            last_name: a.last_name.clone().unwrap_or_default(),
            email: a.email_address.clone().unwrap_or_default(),
            line1: a.line1.clone(),
            line2: a.line2.clone().unwrap_or_default(),
            city: a.city.clone(),
            region: a.country_subdivision.clone().unwrap_or_default(),
            postal_code: a.postal_code.clone().unwrap_or_default(),
            country: a.country.clone(),
        }
    }

    fn input(&self) -> AddressInput {
        let text = |s: &str| {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        };
        AddressInput {
            first_name: text(&self.first_name),
            last_name: text(&self.last_name),
            email_address: text(&self.email),
            line1: text(&self.line1),
            line2: text(&self.line2),
            city: text(&self.city),
            country_subdivision: text(&self.region),
            postal_code: text(&self.postal_code),
            country: text(&self.country).map(|c| c.to_uppercase()),
            ..AddressInput::default()
        }
    }
}

/// The test card form's fields. Never logged, never echoed back: a page that refuses them
/// shows the form empty again.
#[derive(Default, Deserialize, utoipa::ToSchema)]
pub struct CardForm {
    #[serde(default)]
    card_name: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    card_exp_month: String,
    #[serde(default)]
    card_exp_year: String,
    #[serde(default)]
    card_cvv: String,
}

impl std::fmt::Debug for CardForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CardForm { .. }")
    }
}

// --- the pages ------------------------------------------------------------------------------

/// Reads the browser's session and cart, or answers the refusal page.
macro_rules! checkout {
    ($state:expr, $raw_site:expr, $headers:expr) => {{
        let Some(site) = site_id(&$raw_site) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        match browser_of(&$state, &site, &$headers).await {
            Ok(b) => (site, b),
            Err(refusal) => return refusal_page(&$state, &site, refusal).await,
        }
    }};
}

/// A page render of a given step, with an optional error (status and words).
struct Shown {
    status: StatusCode,
    error: Option<String>,
}

impl Shown {
    fn ok() -> Self {
        Self {
            status: StatusCode::OK,
            error: None,
        }
    }

    fn refused((status, error): (StatusCode, String)) -> Self {
        Self {
            status,
            error: Some(error),
        }
    }
}

async fn show(state: &AppState, site: &SiteId, b: &Browser, page: &str, shown: Shown) -> Response {
    let nonce = random_hex(16);
    let token = form_token(state, &b.handle);
    let now = state.clock.now();
    let read = match service::read_cart(&state.store, &b.principal, now).await {
        Ok(read) => read,
        Err(e) => {
            let (status, message) = explain(e);
            let refusal = PageRefusal {
                status,
                heading: "Your cart could not be read",
                message,
            };
            return refusal_page(state, site, refusal).await;
        }
    };
    let pr = read.priced();
    let error = shown.error.as_deref();
    let action = checkout_path(site, page);
    let html = match page {
        "cart" => CartPage {
            look: &b.look,
            style_nonce: &nonce,
            steps: steps(site, page),
            action,
            csrf_token: &token,
            error,
            lines: page_lines(&pr),
            totals: PageTotals::of(&pr.totals, &pr.currency),
            next: checkout_path(site, "address"),
        }
        .render(),
        "address" => {
            let saved = match b.principal.acting_shopper() {
                Some(shopper) => state
                    .store
                    .addresses(shopper)
                    .await
                    .unwrap_or_default()
                    .iter()
                    .map(|a| (a.id, one_line(&a.saved.address)))
                    .collect(),
                None => Vec::new(),
            };
            let form = pr.billing.as_ref().map(AddressForm::of).unwrap_or_default();
            let sign_in = b.principal.acting_shopper().is_none().then(|| {
                format!(
                    "/oauth20/sign-in?client_id={}&checkout=1",
                    b.principal.api_key
                )
            });
            AddressPage {
                look: &b.look,
                style_nonce: &nonce,
                steps: steps(site, page),
                action,
                csrf_token: &token,
                error,
                saved,
                form,
                sign_in,
            }
            .render()
        }
        "shipping" => {
            let chosen = pr.shipping_option.map(|o| o.id);
            ShippingPage {
                look: &b.look,
                style_nonce: &nonce,
                steps: steps(site, page),
                action,
                csrf_token: &token,
                error,
                options: SHIPPING_OPTIONS
                    .iter()
                    .map(|o| {
                        (
                            o.id,
                            o.description,
                            formatted(o.cost_minor(&pr.currency), &pr.currency),
                            Some(o.id) == chosen,
                        )
                    })
                    .collect(),
            }
            .render()
        }
        "payment" => PaymentPage {
            look: &b.look,
            style_nonce: &nonce,
            steps: steps(site, page),
            action,
            csrf_token: &token,
            error,
            name: pr
                .billing
                .as_ref()
                .map(|a| {
                    [a.first_name.as_deref(), a.last_name.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default(),
            total: formatted(pr.totals.total, &pr.currency),
        }
        .render(),
        _ => ReviewPage {
            look: &b.look,
            style_nonce: &nonce,
            steps: steps(site, "review"),
            action,
            csrf_token: &token,
            error,
            lines: page_lines(&pr),
            totals: PageTotals::of(&pr.totals, &pr.currency),
            billing: pr.billing.as_ref().map(one_line),
            shipping: pr.shipping.as_ref().map(one_line),
            shipping_method: pr.shipping_option.map(|o| o.description),
            payment: read
                .snapshot
                .source
                .as_ref()
                .map(|s| format!("{} ending in {}", s.brand, s.last_four)),
        }
        .render(),
    };
    html_page(shown.status, html, &nonce)
}

/// `GET /store/{siteId}/checkout`: back into a checkout in progress, at its first unfinished
/// step.
#[utoipa::path(
    get,
    path = "/store/{site_id}/checkout",
    tag = "web-checkout",
    params(("site_id" = String, Path, description = "The site id")),
    description = "Back into the browser's checkout, at its first unfinished step. Access: the browser's session cookie.",
    responses(
        (status = 303, description = "To the first unfinished step"),
        (status = 400, description = "No checkout in this browser: a page; or a malformed request", content((String = "text/html"), (crate::error::ShopperApiErrorBody = "application/json"))),
        PageFailures,
    )
)]
pub async fn resume(
    State(state): State<AppState>,
    Path(raw_site): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (site, b) = checkout!(state, raw_site, headers);
    let page = match service::read_cart(&state.store, &b.principal, state.clock.now()).await {
        Ok(read) => {
            let pr = read.priced();
            first_unfinished(&pr, read.snapshot.source.is_some())
        }
        Err(_) => "cart",
    };
    Redirect::to(&checkout_path(&site, page)).into_response()
}

/// A stale or mistyped step: back into the checkout where it stands.
fn stale_step(raw_site: &str) -> Response {
    match site_id(raw_site) {
        Some(site) => Redirect::to(&format!("/store/{site}/checkout")).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `GET /store/{siteId}/checkout/{page}`
#[utoipa::path(
    get,
    path = "/store/{site_id}/checkout/{page}",
    tag = "web-checkout",
    params(("site_id" = String, Path, description = "The site id"),
        ("page" = String, Path, description = "cart, address, shipping, payment or review")),
    description = "A checkout page: `cart`, `address`, `shipping`, `payment` or `review`. Access: the browser's session cookie.",
    responses(
        (status = 200, description = "The page", content_type = "text/html"),
        (status = 303, description = "A stale or unknown step: back into the checkout"),
        (status = 400, description = "No checkout in this browser: a page; or a malformed request", content((String = "text/html"), (crate::error::ShopperApiErrorBody = "application/json"))),
        PageFailures,
    )
)]
pub async fn get_page(
    State(state): State<AppState>,
    Path((raw_site, page)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !STEPS.iter().any(|(p, _)| *p == page) {
        return stale_step(&raw_site);
    }
    let (site, b) = checkout!(state, raw_site, headers);
    show(&state, &site, &b, &page, Shown::ok()).await
}

/// `POST /store/{siteId}/checkout/{page}`: the page's form; `303` to the next step, or the same
/// page again with the refusal explained.
#[utoipa::path(
    post,
    path = "/store/{site_id}/checkout/{page}",
    tag = "web-checkout",
    params(("site_id" = String, Path, description = "The site id"),
        ("page" = String, Path, description = "cart, address, shipping, payment or review")),
    description = "A checkout page's form (with its CSRF token). Access: the browser's session cookie.",
    responses(
        (status = 303, description = "To the next step (or the order's confirmation); a stale step: back into the checkout"),
        (status = 400, description = "Refused: the page again, explained; or a malformed request", content((String = "text/html"), (crate::error::ShopperApiErrorBody = "application/json"))),
        (status = 403, description = "Bad CSRF token: the page again", content_type = "text/html"),
        (status = 409, description = "Refused (out of stock, declined card, ...): the page again, explained", content_type = "text/html"),
        (status = 413, description = "The body is too large", body = crate::error::ShopperApiErrorBody),
        (status = 415, description = "Not a form post", body = crate::error::ShopperApiErrorBody),
        (status = 422, description = "A form field of the wrong type", body = crate::error::ShopperApiErrorBody),
        PageFailures,
    )
)]
pub async fn post_page(
    State(state): State<AppState>,
    Path((raw_site, page)): Path<(String, String)>,
    headers: HeaderMap,
    Form(post): Form<PagePost>,
) -> Response {
    if !STEPS.iter().any(|(p, _)| *p == page) {
        return stale_step(&raw_site);
    }
    let (site, b) = checkout!(state, raw_site, headers);
    let valid = post
        .csrf_token
        .as_deref()
        .is_some_and(|t| form_token_valid(&state, &b.handle, t));
    if !valid {
        let shown = Shown {
            status: StatusCode::FORBIDDEN,
            error: Some(
                "This form has expired or did not come from this checkout. Nothing was \
                 changed: please try again."
                    .into(),
            ),
        };
        return show(&state, &site, &b, &page, shown).await;
    }
    let outcome = match page.as_str() {
        "cart" => post_cart(&state, &b, &post).await.map(|()| None),
        "address" => post_address(&state, &b, &post).await.map(Some),
        "shipping" => post_shipping(&state, &b, &post)
            .await
            .map(|()| Some("payment")),
        "payment" => post_payment(&state, &b, &post)
            .await
            .map(|()| Some("review")),
        _ => match service::submit(&state.store, &b.principal, state.clock.now()).await {
            Ok(order) => {
                let path = format!("{}/{order}", checkout_path(&site, "orders"));
                return Redirect::to(&path).into_response();
            }
            Err(e) => Err(explain(e)),
        },
    };
    match outcome {
        Ok(Some(next)) => Redirect::to(&checkout_path(&site, next)).into_response(),
        Ok(None) => Redirect::to(&checkout_path(&site, &page)).into_response(),
        Err(refused) => show(&state, &site, &b, &page, Shown::refused(refused)).await,
    }
}

type PostResult<T> = Result<T, (StatusCode, String)>;

async fn post_cart(state: &AppState, b: &Browser, post: &PagePost) -> PostResult<()> {
    let p = &b.principal;
    let now = state.clock.now();
    match post.action.as_deref() {
        Some("quantity") => {
            let line = post
                .line
                .ok_or((StatusCode::BAD_REQUEST, "No line was named.".to_owned()))?;
            let quantity: i64 = post
                .quantity
                .as_deref()
                .and_then(|q| q.trim().parse().ok())
                .ok_or((
                    StatusCode::BAD_REQUEST,
                    "The quantity must be a whole number.".to_owned(),
                ))?;
            if quantity == 0 {
                service::delete_line(&state.store, p, line)
                    .await
                    .map_err(explain)?;
            } else {
                service::set_line_quantity(&state.store, p, line, quantity, now)
                    .await
                    .map_err(explain)?;
            }
        }
        Some("remove") => {
            let line = post
                .line
                .ok_or((StatusCode::BAD_REQUEST, "No line was named.".to_owned()))?;
            service::delete_line(&state.store, p, line)
                .await
                .map_err(explain)?;
        }
        Some("coupon") => {
            let code = post.code.as_deref().unwrap_or_default().trim();
            if code.is_empty() {
                return Err((StatusCode::BAD_REQUEST, "Enter a coupon code.".to_owned()));
            }
            service::apply_coupon(&state.store, p, code, now)
                .await
                .map_err(explain)?;
        }
        _ => return Err((StatusCode::BAD_REQUEST, "Unknown action.".to_owned())),
    }
    Ok(())
}

/// Sets the one address for billing and shipping (a saved one, or the form's); the next step
/// is shipping when something ships, else payment.
async fn post_address(state: &AppState, b: &Browser, post: &PagePost) -> PostResult<&'static str> {
    let p = &b.principal;
    let chosen = match (post.saved.as_deref(), p.acting_shopper()) {
        (Some(raw), Some(shopper)) if raw != "new" => {
            let id: i64 = raw
                .parse()
                .map_err(|_| (StatusCode::BAD_REQUEST, "Unknown address.".to_owned()))?;
            let saved = state
                .store
                .addresses(shopper)
                .await
                .map_err(|e| explain(CheckoutError::Store(e)))?;
            let found = saved
                .into_iter()
                .find(|a| a.id == id)
                .ok_or((StatusCode::NOT_FOUND, "Unknown address.".to_owned()))?;
            found.saved.address
        }
        _ => {
            post.address
                .input()
                .validate()
                .map_err(|e| explain(CheckoutError::Field(e)))?
                .address
        }
    };
    let (_, ships) = service::shipping_context(&state.store, p)
        .await
        .map_err(explain)?;
    // Both uses checked before either is written.
    service::check_countries(
        &state.store,
        p,
        Some(&chosen),
        Some(&chosen).filter(|_| ships),
    )
    .await
    .map_err(explain)?;
    service::apply_valid_address(&state.store, p, true, &chosen)
        .await
        .map_err(explain)?;
    if ships {
        service::apply_valid_address(&state.store, p, false, &chosen)
            .await
            .map_err(explain)?;
    }
    Ok(if ships { "shipping" } else { "payment" })
}

async fn post_shipping(state: &AppState, b: &Browser, post: &PagePost) -> PostResult<()> {
    let id = post.option.ok_or((
        StatusCode::BAD_REQUEST,
        "Choose a shipping option.".to_owned(),
    ))?;
    service::apply_shipping_option(&state.store, &b.principal, id)
        .await
        .map_err(explain)
}

async fn post_payment(state: &AppState, b: &Browser, post: &PagePost) -> PostResult<()> {
    let p = &b.principal;
    let read = service::read_cart(&state.store, p, state.clock.now())
        .await
        .map_err(explain)?;
    let billing = read.priced().billing.clone().ok_or((
        StatusCode::CONFLICT,
        "Enter your address before paying.".to_owned(),
    ))?;
    let card = &post.card;
    let refused = |e: PaymentsError| (e.status(), e.message().to_owned());
    let owner = Owner::of_cardholder(
        card.card_name.trim(),
        billing.email_address.as_deref().unwrap_or_default(),
        OwnerAddress {
            line1: billing.line1.clone(),
            line2: billing.line2.clone(),
            city: billing.city.clone(),
            state: billing.country_subdivision.clone(),
            postal_code: billing.postal_code.clone(),
            country: billing.country.clone(),
        },
    )
    .map_err(refused)?;
    let number = |raw: &str, what: &str| {
        raw.trim().parse::<i64>().map_err(|_| {
            (
                StatusCode::BAD_REQUEST,
                format!("The card's expiration {what} must be a number."),
            )
        })
    };
    let input = CreditCardInput {
        number: card
            .card_number
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
        expiration_month: number(&card.card_exp_month, "month")?,
        expiration_year: number(&card.card_exp_year, "year")?,
        cvv: Some(card.card_cvv.trim().to_owned()).filter(|c| !c.is_empty()),
    };
    let source = create_card_source(state, &p.site_id, &owner, &input, false)
        .await
        .map_err(refused)?;
    service::apply_source(&state.store, p, &source.id)
        .await
        .map_err(explain)
}

/// `GET /store/{siteId}/checkout/orders/{orderId}`: the order's confirmation, for the browser
/// whose session placed it.
#[utoipa::path(
    get,
    path = "/store/{site_id}/checkout/orders/{order_id}",
    tag = "web-checkout",
    params(("site_id" = String, Path, description = "The site id"),
        ("order_id" = i64, Path, description = "The order id")),
    description = "The order's confirmation, for the browser whose session placed it. Access: the browser's session cookie.",
    responses(
        (status = 200, description = "The page", content_type = "text/html"),
        (status = 400, description = "No checkout in this browser: a page; or a malformed request", content((String = "text/html"), (crate::error::ShopperApiErrorBody = "application/json"))),
        PageFailures,
    )
)]
pub async fn confirmation(
    State(state): State<AppState>,
    Path((raw_site, raw_order)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (site, b) = checkout!(state, raw_site, headers);
    let p = &b.principal;
    let not_found = PageRefusal {
        status: StatusCode::NOT_FOUND,
        heading: "Order not found",
        message: "This browser placed no such order.".into(),
    };
    let Ok(order_id) = raw_order.parse::<i64>() else {
        return refusal_page(&state, &site, not_found).await;
    };
    let order = state
        .store
        .order_visible(&p.site_id, &p.session_id, p.acting_shopper(), order_id)
        .await;
    let Ok(Some(order)) = order else {
        return refusal_page(&state, &site, not_found).await;
    };
    let lines = state.store.order_lines(order.id).await.unwrap_or_default();
    let nonce = random_hex(16);
    let page = ConfirmationPage {
        look: &b.look,
        style_nonce: &nonce,
        order_id: order.id,
        lines: lines
            .iter()
            .map(|l| PageLine {
                id: l.id,
                name: l.display_name.clone(),
                sku: l.sku.clone(),
                quantity: l.quantity,
                unit_price: formatted(l.unit_price_minor, &order.currency),
                total: formatted(l.unit_price_minor * l.quantity, &order.currency),
            })
            .collect(),
        totals: PageTotals::of(
            &Totals {
                subtotal: order.subtotal_minor,
                discount: order.discount_minor,
                shipping: order.shipping_minor,
                tax: order.tax_minor,
                total: order.total_minor,
            },
            &order.currency,
        ),
        email: order.email.clone(),
    };
    html_page(StatusCode::OK, page.render(), &nonce)
}
