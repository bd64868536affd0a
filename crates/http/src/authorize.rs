//! `GET /oauth20/authorize` and the hosted sign-in page (`GET`/`POST /oauth20/sign-in`).
//!
//! The authorization request travels with the browser: `/authorize` checks it and redirects
//! to the sign-in page with the same parameters, which renders them as hidden fields; the
//! post is checked again from scratch. Nothing is stored until a shopper has signed in.
//! An unknown key or an unregistered redirect URI gets an error page here, never a redirect
//! (RFC 6749 §4.1.2.1); every later failure goes back to the redirect URI. The pages wear the
//! site's branding (title, brand colour with text kept at WCAG AA contrast, `lang` from its
//! locale) as soon as the request names a known key, and speak to shoppers: the technical
//! reason of an error page is folded away under "details for the site's developers".

use super::browser;
use super::error::internal;
use super::look::Look;
use super::params::Params;
use askama::Template;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use shopkeeper_domain::authorize::{ResponseType, flow_refusal, valid_code_challenge};
use shopkeeper_domain::csrf::CsrfVerdict;
use shopkeeper_domain::secret::random_hex;
use shopkeeper_domain::site::shop_link;
use shopkeeper_domain::{ApiKey, SecretHash, SessionId};
use shopkeeper_services::auth::{AccessLevel, VerifyError};
use shopkeeper_services::instruments::SignInFlow;
use shopkeeper_services::oauth::authorize::{claim_session_for, issue_signed_in, mint_code};
use shopkeeper_services::oauth::password::{PasswordCheck, check_password};
use shopkeeper_services::state::AppState;
use shopkeeper_store::{ClientRecord, StoreError};
use std::net::SocketAddr;
use std::sync::Arc;

/// The authorization request parameters carried from `/authorize` to the sign-in form.
const CARRIED: [&str; 8] = [
    "client_id",
    "checkout",
    "response_type",
    "redirect_uri",
    "state",
    "dr_limited_token",
    "code_challenge",
    "code_challenge_method",
];

/// A checked authorization request.
struct AuthorizeRequest {
    client: Arc<ClientRecord>,
    response_type: ResponseType,
    redirect_uri: String,
    state: Option<String>,
    /// The session of `dr_limited_token`, which the signing-in shopper takes over.
    limited_session: Option<SessionId>,
    code_challenge: Option<String>,
    /// A sign-in from the hosted web checkout (`checkout=1`): no token or code; the browser
    /// goes back to the checkout, signed in, its cart kept.
    checkout: bool,
}

/// Where a failure is reported.
enum Failure {
    /// On our own error page: the redirect URI cannot be trusted.
    Page(PageFailure),
    /// Back to the client's redirect URI.
    Redirect(Redirect),
}

impl Failure {
    /// An error page of a request whose key is known wears that key's site's branding.
    fn for_client(self, client: &Arc<ClientRecord>) -> Self {
        match self {
            Failure::Page(mut page) => {
                page.client.get_or_insert_with(|| client.clone());
                Failure::Page(page)
            }
            redirect => redirect,
        }
    }
}

/// An error page: what the shopper reads, and the precise reason for the site's developers.
struct PageFailure {
    status: StatusCode,
    heading: &'static str,
    /// For shoppers: no OAuth terms.
    message: &'static str,
    /// The technical reason, folded away on the page (and logged at debug). Never a secret,
    /// and never request input beyond a parameter's name.
    detail: Option<String>,
    /// The key the request named, once known: its site's branding and a link back to its
    /// shop (`domain::site::shop_link`).
    client: Option<Arc<ClientRecord>>,
}

impl PageFailure {
    /// A sign-in link (or form) that cannot be used: no or an unknown key, a redirect URI
    /// that is not registered, malformed parameters.
    fn bad_link(detail: impl Into<String>, client: Option<&Arc<ClientRecord>>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            heading: "This sign-in link does not work",
            message: "The link that brought you here is incomplete or not meant for this \
                      shop, so you cannot sign in from it.",
            detail: Some(detail.into()),
            client: client.cloned(),
        }
    }

    /// Our fault (the database, say); the reason is in the log at error.
    fn server() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            heading: "Something went wrong",
            message: "Something went wrong on our side. Please try again in a moment.",
            detail: None,
            client: None,
        }
    }
}

struct Redirect {
    uri: String,
    in_fragment: bool,
    params: Vec<(&'static str, String)>,
}

impl Redirect {
    fn error(
        uri: &str,
        in_fragment: bool,
        code: &'static str,
        description: impl Into<String>,
        state: Option<&str>,
        iss: Option<&str>,
    ) -> Self {
        let mut params = vec![
            ("error", code.to_owned()),
            ("error_description", description.into()),
        ];
        if let Some(s) = state {
            params.push(("state", s.to_owned()));
        }
        if let Some(iss) = iss {
            params.push(("iss", iss.to_owned()));
        }
        Self {
            uri: uri.to_owned(),
            in_fragment,
            params,
        }
    }

    fn location(&self) -> String {
        let mut encoded = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.params {
            encoded.append_pair(k, v);
        }
        let encoded = encoded.finish();
        let separator = if self.in_fragment {
            '#'
        } else if self.uri.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}{encoded}", self.uri)
    }

    fn into_response(self) -> Response {
        let mut r = StatusCode::FOUND.into_response();
        let location = HeaderValue::from_str(&self.location())
            .unwrap_or_else(|_| HeaderValue::from_static("/"));
        r.headers_mut().insert(header::LOCATION, location);
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r.headers_mut().insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        r
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    look: &'a Look,
    style_nonce: &'a str,
    error: Option<&'a str>,
    hidden: Vec<(&'static str, String)>,
    csrf_token: &'a str,
    username: &'a str,
}

#[derive(Template)]
#[template(path = "oauth_error.html")]
struct ErrorPage<'a> {
    look: &'a Look,
    style_nonce: &'a str,
    heading: &'a str,
    message: &'a str,
    detail: Option<&'a str>,
}

/// The look of `client`'s site; with `link_back`, also the link back to its shop (from the
/// key's registered redirect URIs only).
async fn site_look(
    state: &AppState,
    client: &ClientRecord,
    link_back: bool,
) -> Result<Look, StoreError> {
    let branding = state.store.site_branding(&client.site_id).await?;
    let link = if link_back {
        shop_link(&state.store.redirect_uris(&client.api_key).await?)
    } else {
        None
    };
    Ok(Look::of_site(branding.as_ref(), link))
}

async fn error_page(state: &AppState, failure: PageFailure) -> Response {
    if let Some(detail) = &failure.detail {
        tracing::debug!(
            reason = %detail,
            api_key = failure.client.as_ref().map(|c| c.api_key.as_str()),
            "sign-in request refused"
        );
    }
    let look = match &failure.client {
        Some(client) => site_look(state, client, true).await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "the error page's branding could not be read");
            Look::neutral()
        }),
        None => Look::neutral(),
    };
    let nonce = random_hex(16);
    let page = ErrorPage {
        look: &look,
        style_nonce: &nonce,
        heading: failure.heading,
        message: failure.message,
        detail: failure.detail.as_deref(),
    };
    match page.render() {
        Ok(html) => browser::secure_html((failure.status, Html(html)).into_response(), &nonce),
        Err(e) => internal(e).into_response(),
    }
}

async fn failure_response(state: &AppState, failure: Failure) -> Response {
    match failure {
        Failure::Page(page) => error_page(state, page).await,
        Failure::Redirect(r) => r.into_response(),
    }
}

fn server_failure(e: impl std::fmt::Display) -> Failure {
    tracing::error!(error = %e, "authorize failed");
    Failure::Page(PageFailure::server())
}

/// Checks an authorization request (from `/authorize` or the sign-in form).
async fn check(state: &AppState, params: &Params) -> Result<AuthorizeRequest, Failure> {
    let page = |detail: &str| Failure::Page(PageFailure::bad_link(detail, None));
    let key = params
        .get("client_id")
        .ok_or_else(|| page("The request names no API key (client_id)."))?;
    let key = ApiKey::parse(key).ok_or_else(|| page("The API key (client_id) is not known."))?;
    let client = state
        .store
        .client(&key, state.clock.now_millis())
        .await
        .map_err(server_failure)?
        .filter(|c| !c.disabled)
        .ok_or_else(|| page("The API key (client_id) is not known."))?;
    // From here the key is known: its site's page, with a way back to its shop.
    let page = |detail: &str| Failure::Page(PageFailure::bad_link(detail, Some(&client)));
    // The web checkout's own sign-in: it returns to our checkout pages, never to a client,
    // and issues nothing (the browser's session cookie carries the signed-in session).
    if params.get("checkout") == Some("1") {
        return Ok(AuthorizeRequest {
            client,
            response_type: ResponseType::Code,
            redirect_uri: String::new(),
            state: None,
            limited_session: None,
            code_challenge: None,
            checkout: true,
        });
    }
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| page("The request names no redirect_uri."))?;
    // Exact string match against the registered URIs (no prefix or normalisation).
    let registered = state
        .store
        .redirect_uris(&client.api_key)
        .await
        .map_err(server_failure)?;
    if !shopkeeper_domain::authorize::redirect_uri_registered(&registered, redirect_uri) {
        return Err(page(
            "The redirect_uri is not registered for this API key (it must equal one of the \
             key's registered redirect URIs character for character).",
        ));
    }
    let client_state = params.get("state");
    let response_type = params.get("response_type").and_then(ResponseType::parse);
    let iss = state.web.public_url.as_str();
    let Some(response_type) = response_type else {
        return Err(Failure::Redirect(Redirect::error(
            redirect_uri,
            false,
            "unsupported_response_type",
            "response_type must be token or code",
            client_state,
            Some(iss),
        )));
    };
    let in_fragment = response_type == ResponseType::Token;
    let iss_param = (!in_fragment).then_some(iss);
    let fail = |code: &'static str, description: &str| {
        Failure::Redirect(Redirect::error(
            redirect_uri,
            in_fragment,
            code,
            description,
            client_state,
            iss_param,
        ))
    };
    if let Some(reason) = flow_refusal(state.web.profile, &client.flows(), response_type.flow()) {
        return Err(fail("unauthorized_client", &reason));
    }
    let code_challenge = match response_type {
        ResponseType::Token => None,
        ResponseType::Code => {
            match (
                params.get("code_challenge"),
                params.get("code_challenge_method"),
            ) {
                (Some(c), Some("S256")) if valid_code_challenge(c) => Some(c.to_owned()),
                (Some(_), Some("S256")) => {
                    return Err(fail("invalid_request", "code_challenge is malformed"));
                }
                (Some(_), _) => {
                    return Err(fail(
                        "invalid_request",
                        "code_challenge_method must be S256",
                    ));
                }
                (None, Some(_)) => {
                    return Err(fail("invalid_request", "code_challenge is missing"));
                }
                (None, None) if client.kind == shopkeeper_domain::ClientKind::Public => {
                    return Err(fail(
                        "invalid_request",
                        "PKCE (code_challenge with S256) is required for public keys",
                    ));
                }
                (None, None) => None,
            }
        }
    };
    let limited_session = match params.get("dr_limited_token") {
        None => None,
        Some(token) => {
            let invalid = || {
                fail(
                    "invalid_request",
                    "dr_limited_token is not a valid limited access token of this site",
                )
            };
            let principal = match state.verifier.verify(token).await {
                Ok(p) => p,
                Err(VerifyError::Invalid) => return Err(invalid()),
                Err(VerifyError::Store(e)) => return Err(server_failure(e)),
            };
            if principal.level != AccessLevel::Limited || principal.site_id != client.site_id {
                return Err(invalid());
            }
            Some(principal.session_id.clone())
        }
    };
    Ok(AuthorizeRequest {
        response_type,
        redirect_uri: redirect_uri.to_owned(),
        state: client_state.map(str::to_owned),
        limited_session,
        code_challenge,
        client,
        checkout: false,
    })
}

fn carried(params: &Params) -> Vec<(&'static str, String)> {
    CARRIED
        .iter()
        .filter_map(|name| params.get(name).map(|v| (*name, v.to_owned())))
        .collect()
}

/// `GET /oauth20/authorize`: checks the request and sends the browser to the sign-in page.
#[utoipa::path(
    get,
    path = "/oauth20/authorize",
    tag = "oauth",
    description = "Starts a browser sign-in (implicit `response_type=token` or `code` with PKCE \
                   S256); `dr_limited_token` carries a guest session. Unknown key or redirect URI: \
                   an HTML error page, never a redirect. Access: an API key (`client_id`).",
    responses(
        (status = 302, description = "To the hosted sign-in page, or back to the redirect URI with an error"),
        (status = 400, description = "HTML error page (unknown key, unregistered redirect URI, malformed request)", content_type = "text/html"),
        (status = 429, description = "Throttled", content_type = "text/html"),
    )
)]
pub async fn authorize(State(state): State<AppState>, uri: Uri) -> Response {
    let params = match Params::from_query(uri.query()) {
        Ok(p) => p,
        Err(e) => return error_page(&state, PageFailure::bad_link(e.0, None)).await,
    };
    if let Err(failure) = check(&state, &params).await {
        return failure_response(&state, failure).await;
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in carried(&params) {
        query.append_pair(k, &v);
    }
    let location = format!(
        "{}/oauth20/sign-in?{}",
        state.web.public_url,
        query.finish()
    );
    Redirect {
        uri: location,
        in_fragment: false,
        params: Vec::new(),
    }
    .into_response_plain()
}

impl Redirect {
    /// A redirect to `uri` as it is (no parameters appended).
    fn into_response_plain(self) -> Response {
        let mut r = StatusCode::FOUND.into_response();
        match HeaderValue::from_str(&self.uri) {
            Ok(v) => {
                r.headers_mut().insert(header::LOCATION, v);
            }
            Err(e) => return internal(e).into_response(),
        }
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

/// The sign-in form of a checked request, as the page and each refusal of a post show it.
#[derive(Clone, Copy)]
struct SignInForm<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    request: &'a AuthorizeRequest,
    params: &'a Params,
}

impl SignInForm<'_> {
    /// Renders the form, with a fresh CSRF nonce cookie.
    async fn render(self, status: StatusCode, error: Option<&str>, username: &str) -> Response {
        let SignInForm {
            state,
            headers,
            request,
            params,
        } = self;
        let look = match site_look(state, &request.client, false).await {
            Ok(look) => look,
            Err(e) => return failure_response(state, server_failure(e)).await,
        };
        let nonce = random_hex(32);
        let style_nonce = random_hex(16);
        let csrf = browser::csrf_token(state, headers, &nonce);
        let page = SignInPage {
            look: &look,
            style_nonce: &style_nonce,
            error,
            hidden: carried(params),
            csrf_token: &csrf,
            username,
        };
        let html = match page.render() {
            Ok(html) => html,
            Err(e) => return internal(e).into_response(),
        };
        let mut response = browser::secure_html((status, Html(html)).into_response(), &style_nonce);
        response
            .headers_mut()
            .insert(header::SET_COOKIE, browser::csrf_cookie(state, &nonce));
        response
    }
}

/// `GET /oauth20/sign-in`: the hosted sign-in page.
#[utoipa::path(
    get,
    path = "/oauth20/sign-in",
    tag = "oauth",
    description = "The hosted sign-in page (HTML form with a CSRF token). Access: none (the \
                   authorize parameters it carries are checked again).",
    responses(
        (status = 200, description = "The form", content_type = "text/html"),
        (status = 302, description = "Back to the redirect URI with an error"),
        (status = 400, description = "HTML error page", content_type = "text/html"),
    )
)]
pub async fn sign_in_page(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let params = match Params::from_query(uri.query()) {
        Ok(p) => p,
        Err(e) => return error_page(&state, PageFailure::bad_link(e.0, None)).await,
    };
    match check(&state, &params).await {
        Ok(request) => {
            let form = SignInForm {
                state: &state,
                headers: &headers,
                request: &request,
                params: &params,
            };
            form.render(StatusCode::OK, None, "").await
        }
        Err(failure) => failure_response(&state, failure).await,
    }
}

/// The one message for every failed sign-in: it must not tell an unknown username from a
/// wrong password.
const BAD_CREDENTIALS: &str =
    "We could not sign you in with that username or e-mail address and password.";

/// `POST /oauth20/sign-in`: checks the form, the shopper's password, then answers the client.
#[utoipa::path(
    post,
    path = "/oauth20/sign-in",
    tag = "oauth",
    description = "Submits the hosted sign-in form. Access: the shopper's username or e-mail \
                   address and password plus the form's CSRF token.",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "The form: username, password, csrf and the carried authorize parameters"),
    responses(
        (status = 302, description = "Signed in: back to the redirect URI with a token or code"),
        (status = 400, description = "HTML error page", content_type = "text/html"),
        (status = 401, description = "Wrong username (or e-mail address) or password: the form again", content_type = "text/html"),
        (status = 403, description = "Bad CSRF token: the form again", content_type = "text/html"),
        (status = 429, description = "Throttled: the form again", content_type = "text/html"),
    )
)]
pub async fn sign_in_submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let params = match Params::parse(None, content_type, &body) {
        Ok(p) => p,
        Err(e) => return error_page(&state, PageFailure::bad_link(e.0, None)).await,
    };
    let request = match check(&state, &params).await {
        Ok(r) => r,
        Err(failure) => return failure_response(&state, failure).await,
    };
    let form = SignInForm {
        state: &state,
        headers: &headers,
        request: &request,
        params: &params,
    };
    let username = params.get("username").unwrap_or("").trim();
    let refusal = match browser::csrf_check(&state, &headers, params.get("csrf_token")) {
        CsrfVerdict::Valid => None,
        CsrfVerdict::Expired => Some("This form has expired. Please sign in again."),
        CsrfVerdict::Mismatch => Some(
            "This form was not issued to this browser, or its cookies have changed. \
             Please sign in again.",
        ),
    };
    if let Some(message) = refusal {
        return form
            .render(StatusCode::FORBIDDEN, Some(message), username)
            .await;
    }
    let password = params.get("password").unwrap_or("");
    if username.is_empty() || password.is_empty() || username.len() > 1024 || password.len() > 1024
    {
        return form
            .render(
                StatusCode::UNAUTHORIZED,
                Some("Enter your username or e-mail address, and your password."),
                username,
            )
            .await;
    }
    let client = &request.client;
    let address = state.guard.client_ip(peer.ip(), &headers);
    let (password, flow) = (password.to_owned(), SignInFlow::HostedPage);
    let checked = check_password(&state, client, username, password, address, flow).await;
    let shopper = match checked {
        Ok(PasswordCheck::Verified(shopper)) => shopper,
        Ok(PasswordCheck::Refused) => {
            return form
                .render(StatusCode::UNAUTHORIZED, Some(BAD_CREDENTIALS), username)
                .await;
        }
        // The page again, with the wait: no hash was spent.
        Ok(PasswordCheck::Throttled(wait)) => {
            let message = format!(
                "Too many failed sign-ins. Please try again in {} seconds.",
                wait.0
            );
            let mut response = form
                .render(StatusCode::TOO_MANY_REQUESTS, Some(&message), username)
                .await;
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&wait.0.to_string()).expect("digits are a header value"),
            );
            return response;
        }
        Err(e) => {
            let failure = server_failure(e).for_client(&request.client);
            return failure_response(&state, failure).await;
        }
    };
    match complete(&state, &request, shopper.id, &headers, peer).await {
        Ok(r) => r,
        Err(failure) => failure_response(&state, failure.for_client(&request.client)).await,
    }
}

/// After a successful sign-in: take over the session, point the browser at it, and send the
/// token (implicit) or a code back to the client.
async fn complete(
    state: &AppState,
    request: &AuthorizeRequest,
    shopper_id: i64,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<Response, Failure> {
    let client = &request.client;
    let at = state.clock.now();
    let handle = browser::cookie(headers, browser::session_cookie_name(state));
    let mut candidates: Vec<SessionId> = request.limited_session.iter().cloned().collect();
    if let Some(h) = &handle {
        let from_cookie = state
            .store
            .browser_session(&SecretHash::of(h), &client.site_id)
            .await
            .map_err(server_failure)?;
        if let Some(s) = from_cookie.filter(|s| s.is_live(at)) {
            candidates.push(s.id);
        }
    }
    // The browser continues in the signed-in session; no other browser does.
    let (handle, set_cookie) = match handle {
        Some(h) => (h, false),
        None => (browser::new_handle().0, true),
    };
    let session_id = claim_session_for(
        state,
        client,
        shopper_id,
        &candidates,
        Some(peer.ip().to_string()),
        &SecretHash::of(&handle),
    )
    .await
    .map_err(server_failure)?;

    if request.checkout {
        let location = format!(
            "{}/store/{}/checkout/address",
            state.web.public_url, client.site_id
        );
        let mut response = axum::response::Redirect::to(&location).into_response();
        if set_cookie {
            response.headers_mut().insert(
                header::SET_COOKIE,
                browser::session_cookie(state, &handle, state.tokens.refresh_ttl_seconds),
            );
        }
        return Ok(response);
    }
    let mut params: Vec<(&'static str, String)> = Vec::new();
    let in_fragment = match request.response_type {
        ResponseType::Token => {
            let token = issue_signed_in(state, client, session_id, shopper_id)
                .await
                .map_err(server_failure)?;
            // The refresh token stays out of the fragment: an implicit client is a browser.
            params.push(("access_token", token.access_token));
            params.push(("token_type", "bearer".to_owned()));
            params.push(("expires_in", token.expires_in.to_string()));
            true
        }
        ResponseType::Code => {
            let code = mint_code(
                state,
                client,
                &request.redirect_uri,
                request.code_challenge.as_deref(),
                &session_id,
                shopper_id,
            )
            .await
            .map_err(server_failure)?;
            params.push(("code", code));
            false
        }
    };
    if let Some(s) = &request.state {
        params.push(("state", s.clone()));
    }
    if !in_fragment {
        params.push(("iss", state.web.public_url.clone()));
    }
    let mut response = Redirect {
        uri: request.redirect_uri.clone(),
        in_fragment,
        params,
    }
    .into_response();
    if set_cookie {
        response.headers_mut().insert(
            header::SET_COOKIE,
            browser::session_cookie(state, &handle, state.tokens.refresh_ttl_seconds),
        );
    }
    Ok(response)
}
