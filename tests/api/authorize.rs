//! `GET /oauth20/authorize`, the hosted sign-in page and `grant_type=authorization_code`,
//! driven over HTTP the way a browser would (cookies kept, redirects inspected).

use crate::helpers::*;
use reqwest::{Client, Response};
use serde_json::Value;
use std::collections::HashMap;

pub(crate) const REDIRECT: &str = "https://shop.example.com/callback";
const VERIFIER: &str = "a-long-random-verifier-of-at-least-43-chars-0123456789";

fn location(r: &Response) -> String {
    assert_eq!(r.status(), 302, "expected a redirect");
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Splits `uri?query` or `uri#fragment` into the base and its decoded parameters.
fn split(location: &str, sep: char) -> (String, HashMap<String, String>) {
    let (base, rest) = location
        .split_once(sep)
        .unwrap_or_else(|| panic!("no {sep} in {location}"));
    (
        base.to_owned(),
        form_urlencoded::parse(rest.as_bytes())
            .into_owned()
            .collect(),
    )
}

async fn authorize(app: &TestApp, http: &Client, query: &[(&str, &str)]) -> Response {
    http.get(app.url("/oauth20/authorize"))
        .query(query)
        .send()
        .await
        .unwrap()
}

/// The implicit flow's request of the app's public key, to the test redirect.
pub(crate) fn implicit_request(app: &TestApp) -> Vec<(&str, &str)> {
    vec![
        ("client_id", app.public_key.as_str()),
        ("response_type", "token"),
        ("redirect_uri", REDIRECT),
    ]
}

/// A session token for the browser's session (`SessionToken`, which sets its cookie).
async fn session_token(app: &TestApp, http: &Client) -> String {
    let r = http
        .get(app.url(&format!("/store/{SITE}/SessionToken")))
        .send()
        .await
        .unwrap();
    ok_json(r).await["session_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The password grant of a session token (`dr_session_token`) through the public key.
async fn session_token_grant(app: &TestApp, st: &str) -> Response {
    app.public_token(&[("grant_type", "password"), ("dr_session_token", st)])
        .await
}

/// The code flow's request of `key` with the S256 PKCE `challenge`, to the test redirect.
pub(crate) fn pkce_code_request<'a>(key: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", key),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// `pkce_code_request` with the state `xyz`.
fn code_request<'a>(key: &'a str, challenge: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut query = pkce_code_request(key, challenge);
    query.push(("state", "xyz"));
    query
}

/// Follows `/authorize` to the sign-in page, then posts the form; returns the post's answer.
pub(crate) async fn sign_in(
    app: &TestApp,
    http: &Client,
    query: &[(&str, &str)],
    username: &str,
    password: &str,
) -> Response {
    sign_in_form(app, http, query, username, password)
        .await
        .send()
        .await
        .unwrap()
}

/// Follows `/authorize` to the sign-in page; returns the form's post, filled in, unsent
/// (for posts sent concurrently).
pub(crate) async fn sign_in_form(
    app: &TestApp,
    http: &Client,
    query: &[(&str, &str)],
    username: &str,
    password: &str,
) -> reqwest::RequestBuilder {
    let to_page = location(&authorize(app, http, query).await);
    assert!(
        to_page.starts_with(&app.url("/oauth20/sign-in?")),
        "{to_page}"
    );
    let page = http.get(&to_page).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf = form_csrf_token(&page.text().await.unwrap());
    let mut form: Vec<(&str, &str)> = query.to_vec();
    form.push(("username", username));
    form.push(("password", password));
    form.push(("csrf_token", &csrf));
    http.post(app.url("/oauth20/sign-in")).form(&form)
}

/// `GET /oauth20/sign-in` for `query`, from a client without cookies.
async fn sign_in_page(app: &TestApp, query: &[(&str, &str)]) -> Response {
    let page = app.http.get(app.url("/oauth20/sign-in")).query(query);
    page.send().await.unwrap()
}

/// The test shopper signs in on the hosted page for `query`: the code its redirect carries.
async fn signed_in_code(app: &TestApp, http: &Client, query: &[(&str, &str)]) -> String {
    let r = sign_in(app, http, query, SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    split(&location(&r), '?').1["code"].clone()
}

/// The test shopper signs in on the hosted page for `query`: its redirect's fragment.
async fn signed_in_fragment(
    app: &TestApp,
    http: &Client,
    query: &[(&str, &str)],
) -> HashMap<String, String> {
    let r = sign_in(app, http, query, SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    split(&location(&r), '#').1
}

/// `grant_type=authorization_code` of `code` with its PKCE `verifier`, to the test redirect.
pub(crate) async fn redeem(app: &TestApp, code: &str, verifier: &str) -> Response {
    app.public_token(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ])
    .await
}

#[tokio::test]
async fn implicit_flow_returns_a_full_token_in_the_fragment() {
    let app = spawn_app().await;
    let http = browser();
    let r = sign_in(
        &app,
        &http,
        &[
            ("client_id", &app.public_key),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("state", "s1"),
        ],
        SHOPPER_USERNAME,
        SHOPPER_PASSWORD,
    )
    .await;
    let (base, fragment) = split(&location(&r), '#');
    assert_eq!(base, REDIRECT);
    assert_eq!(fragment["token_type"], "bearer");
    assert_eq!(fragment["state"], "s1");
    assert_eq!(fragment["expires_in"], SITE_TTL.to_string());
    assert!(!fragment.contains_key("refresh_token"));
    let info = app.session_of(&fragment["access_token"]).await;
    assert_eq!(info["authenticated"], "true");
    assert_eq!(info["userId"], app.shopper_id.to_string());
}

#[tokio::test]
async fn code_flow_with_pkce_and_rfc9207_iss() {
    let app = spawn_app().await;
    let http = browser();
    let ch = pkce_challenge(VERIFIER);
    let r = sign_in(
        &app,
        &http,
        &code_request(&app.public_key, &ch),
        SHOPPER_USERNAME,
        SHOPPER_PASSWORD,
    )
    .await;
    let (base, query) = split(&location(&r), '?');
    assert_eq!(base, REDIRECT);
    assert_eq!(query["state"], "xyz");
    assert_eq!(query["iss"], app.address, "iss is the public URL");
    let pair = TokenPair::from(ok_json(redeem(&app, &query["code"], VERIFIER).await).await);
    assert_eq!(app.session_of(&pair.access).await["authenticated"], "true");
    // The refresh token works like any other.
    ok_json(app.refresh(&pair.refresh).await).await;
}

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_the_tokens_it_produced() {
    let app = spawn_app().await;
    let ch = pkce_challenge(VERIFIER);
    let code = signed_in_code(&app, &browser(), &code_request(&app.public_key, &ch)).await;
    let pair = TokenPair::from(ok_json(redeem(&app, &code, VERIFIER).await).await);
    assert_eq!(app.access_tokens(&pair.access).await.status(), 200);
    assert_oauth_error(redeem(&app, &code, VERIFIER).await, 400, "invalid_grant").await;
    assert_eq!(app.access_tokens(&pair.access).await.status(), 401);
    assert_oauth_error(app.refresh(&pair.refresh).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn verifier_mismatch_and_wrong_redirect_are_invalid_grant() {
    let app = spawn_app().await;
    let ch = pkce_challenge(VERIFIER);
    let wrong = "another-verifier-that-is-long-enough-to-be-valid-xxxxxx";
    let code = signed_in_code(&app, &browser(), &code_request(&app.public_key, &ch)).await;
    assert_oauth_error(redeem(&app, &code, wrong).await, 400, "invalid_grant").await;
    // A code presented wrongly is spent.
    assert_oauth_error(redeem(&app, &code, VERIFIER).await, 400, "invalid_grant").await;

    let code = signed_in_code(&app, &browser(), &code_request(&app.public_key, &ch)).await;
    let other_redirect = app
        .public_token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://shop.example.com/callback/"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_oauth_error(other_redirect, 400, "invalid_grant").await;
    // Missing verifier.
    let code = signed_in_code(&app, &browser(), &code_request(&app.public_key, &ch)).await;
    let no_verifier = app
        .public_token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_oauth_error(no_verifier, 400, "invalid_grant").await;
}

#[tokio::test]
async fn expired_code_is_refused() {
    let app = spawn_app_with(|s| s.web.code_ttl_seconds = 1).await;
    let ch = pkce_challenge(VERIFIER);
    let code = signed_in_code(&app, &browser(), &code_request(&app.public_key, &ch)).await;
    app.advance_clock(2).await;
    assert_oauth_error(redeem(&app, &code, VERIFIER).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn dr_limited_token_carries_the_session_and_stops_working() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await;
    let before = app.session_of(&guest.access).await;
    let fragment = signed_in_fragment(
        &app,
        &browser(),
        &[
            ("client_id", &app.public_key),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("dr_limited_token", &guest.access),
        ],
    )
    .await;
    let after = app.session_of(&fragment["access_token"]).await;
    assert_eq!(after["sessionId"], before["sessionId"]);
    assert_eq!(after["cartId"], before["cartId"], "the cart comes along");
    assert_eq!(after["authenticated"], "true");
    assert_eq!(app.access_tokens(&guest.access).await.status(), 401);
    assert_oauth_error(app.refresh(&guest.refresh).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_message_on_the_page() {
    let app = spawn_app().await;
    let query = implicit_request(&app);
    let wrong = sign_in(&app, &browser(), &query, SHOPPER_USERNAME, "wrong password").await;
    let unknown = sign_in(
        &app,
        &browser(),
        &query,
        "nobody@example.com",
        "wrong password",
    )
    .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    let a = wrong.text().await.unwrap();
    let b = unknown.text().await.unwrap();
    let message = "We could not sign you in with that username or e-mail address and password.";
    assert!(a.contains(message) && b.contains(message));
}

#[tokio::test]
async fn the_form_needs_its_csrf_token() {
    let app = spawn_app().await;
    let http = browser();
    let query = implicit_request(&app);
    http.get(app.url("/oauth20/sign-in"))
        .query(&query)
        .send()
        .await
        .unwrap();
    let mut form = query.to_vec();
    form.extend([
        ("username", SHOPPER_USERNAME),
        ("password", SHOPPER_PASSWORD),
        ("csrf_token", "00"),
    ]);
    let r = http
        .post(app.url("/oauth20/sign-in"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("location").is_none());
}

#[tokio::test]
async fn sign_in_page_has_security_headers_and_labelled_fields() {
    let app = spawn_app().await;
    let r = sign_in_page(
        &app,
        &[
            ("client_id", app.public_key.as_str()),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("state", "<script>alert(1)</script>"),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("<label for=\"username\">"));
    assert!(html.contains("<label for=\"password\">"));
    assert!(
        !html.contains("<script>alert(1)</script>"),
        "state is escaped"
    );
    assert!(html.contains(SITE), "site title");
}

#[tokio::test]
async fn site_branding_shows_on_the_page() {
    let app = spawn_app().await;
    app.state
        .store
        .set_site_branding(&site_id(), Some("Acme Outfitters"), "#aa3300")
        .await
        .unwrap();
    let html = sign_in_page(&app, &implicit_request(&app))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Acme Outfitters"));
    assert!(html.contains("#aa3300"));
}

// ---- error paths of /oauth20/authorize ----

async fn assert_error_page(r: Response, status: u16) {
    assert_eq!(r.status(), status);
    assert!(r.headers().get("location").is_none(), "never a redirect");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn unknown_key_or_unregistered_redirect_gets_our_error_page() {
    let app = spawn_app().await;
    let http = browser();
    let unknown = authorize(
        &app,
        &http,
        &[
            ("client_id", "nosuchkey"),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_error_page(unknown, 400).await;
    for bad in [
        "https://evil.example.com/callback",
        "https://shop.example.com/callback/",
        "https://shop.example.com/callback?x=1",
        "HTTPS://shop.example.com/callback",
    ] {
        let r = authorize(
            &app,
            &http,
            &[
                ("client_id", &app.public_key),
                ("response_type", "token"),
                ("redirect_uri", bad),
            ],
        )
        .await;
        assert_error_page(r, 400).await;
    }
    let missing = authorize(
        &app,
        &http,
        &[("client_id", &app.public_key), ("response_type", "token")],
    )
    .await;
    assert_error_page(missing, 400).await;
}

async fn redirected_error(r: Response, sep: char) -> HashMap<String, String> {
    let (base, params) = split(&location(&r), sep);
    assert_eq!(base, REDIRECT);
    params
}

#[tokio::test]
async fn unsupported_response_type_goes_back_to_the_client() {
    let app = spawn_app().await;
    let r = authorize(
        &app,
        &browser(),
        &[
            ("client_id", &app.public_key),
            ("response_type", "id_token"),
            ("redirect_uri", REDIRECT),
            ("state", "s"),
        ],
    )
    .await;
    let p = redirected_error(r, '?').await;
    assert_eq!(p["error"], "unsupported_response_type");
    assert_eq!(p["state"], "s");
}

#[tokio::test]
async fn code_requests_need_s256_pkce_for_public_keys() {
    let app = spawn_app().await;
    let http = browser();
    let base = [
        ("client_id", app.public_key.as_str()),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
    ];
    let p = redirected_error(authorize(&app, &http, &base).await, '?').await;
    assert_eq!(p["error"], "invalid_request");
    let mut plain = base.to_vec();
    plain.extend([
        ("code_challenge", VERIFIER),
        ("code_challenge_method", "plain"),
    ]);
    let p = redirected_error(authorize(&app, &http, &plain).await, '?').await;
    assert_eq!(p["error"], "invalid_request");
    assert_eq!(p["iss"], app.address);
}

#[tokio::test]
async fn invalid_dr_limited_token_goes_back_in_the_fragment() {
    let app = spawn_app().await;
    let full = app.shopper_pair().await;
    for token in ["not-a-token", full.access.as_str()] {
        let r = authorize(
            &app,
            &browser(),
            &[
                ("client_id", &app.public_key),
                ("response_type", "token"),
                ("redirect_uri", REDIRECT),
                ("dr_limited_token", token),
            ],
        )
        .await;
        let p = redirected_error(r, '#').await;
        assert_eq!(p["error"], "invalid_request");
    }
}

#[tokio::test]
async fn per_key_flows_are_enforced() {
    let app = spawn_app().await;
    let flows = shopkeeper::domain::authorize::FlowSet::parse("code").unwrap();
    app.state
        .store
        .set_client_flows(&app.public_api_key(), &flows)
        .await
        .unwrap();
    let r = authorize(&app, &browser(), &implicit_request(&app)).await;
    assert_eq!(
        redirected_error(r, '#').await["error"],
        "unauthorized_client"
    );
    let r = app.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    assert_oauth_error(r, 400, "unauthorized_client").await;
    // Guest tokens stay available.
    app.anonymous_pair().await;
}

#[tokio::test]
async fn strict_profile_refuses_implicit_and_password_but_not_code_or_guests() {
    let app = spawn_app_with(|s| {
        s.web.profile = shopkeeper::domain::authorize::Profile::Strict;
    })
    .await;
    let r = authorize(&app, &browser(), &implicit_request(&app)).await;
    assert_eq!(
        redirected_error(r, '#').await["error"],
        "unauthorized_client"
    );
    let r = app.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    assert_oauth_error(r, 400, "unauthorized_client").await;
    app.anonymous_pair().await;
    let ch = pkce_challenge(VERIFIER);
    let code = signed_in_code(&app, &browser(), &code_request(&app.public_key, &ch)).await;
    ok_json(redeem(&app, &code, VERIFIER).await).await;
}

#[tokio::test]
async fn browser_session_from_session_token_continues_signed_in() {
    let app = spawn_app().await;
    let http = browser();
    let st = session_token(&app, &http).await;
    let guest = TokenPair::from(ok_json(session_token_grant(&app, &st).await).await);
    let before = app.session_of(&guest.access).await;
    let fragment = signed_in_fragment(&app, &http, &implicit_request(&app)).await;
    let after = app.session_of(&fragment["access_token"]).await;
    assert_eq!(
        after["sessionId"], before["sessionId"],
        "the cookie's session was signed in"
    );
    // The old session token stopped working; a new one from the cookie joins the signed-in
    // session, but only with a limited token: a session token is reachable cross-site (JSONP).
    assert_oauth_error(session_token_grant(&app, &st).await, 400, "invalid_grant").await;
    let st2 = session_token(&app, &http).await;
    let joined = TokenPair::from(ok_json(session_token_grant(&app, &st2).await).await);
    let info = app.session_of(&joined.access).await;
    assert_eq!(info["sessionId"], before["sessionId"]);
    assert_eq!(info["authenticated"], "false");
}

#[tokio::test]
async fn confidential_keys_may_skip_pkce_but_must_prove_their_secret() {
    let app = spawn_app().await;
    let client = shopkeeper::provision::create_client(
        &app.state.store,
        SITE,
        shopkeeper::domain::ClientKind::Confidential,
        &[REDIRECT.to_owned()],
        app.now(),
    )
    .await
    .unwrap();
    let query = [
        ("client_id", client.api_key.as_str()),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
    ];
    let code = signed_in_code(&app, &browser(), &query).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let without_secret = app.token_with(&client.api_key, None, &form).await;
    assert_oauth_error(without_secret, 401, "invalid_client").await;
    let with_secret = app
        .token_with(&client.api_key, client.secret.as_deref(), &form)
        .await;
    let pair = TokenPair::from(ok_json(with_secret).await);
    assert_eq!(app.session_of(&pair.access).await["authenticated"], "true");
}

#[tokio::test]
async fn a_code_is_bound_to_the_key_it_was_issued_to() {
    let app = spawn_app().await;
    let other = shopkeeper::provision::create_client(
        &app.state.store,
        SITE,
        shopkeeper::domain::ClientKind::Public,
        &[REDIRECT.to_owned()],
        app.now(),
    )
    .await
    .unwrap();
    let ch = pkce_challenge(VERIFIER);
    let code = signed_in_code(&app, &browser(), &code_request(&app.public_key, &ch)).await;
    let r = app
        .token_with(
            &other.api_key,
            None,
            &[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_oauth_error(r, 400, "invalid_grant").await;
}

/// Session tokens, the cookie handle and codes are stored only as hashes.
#[tokio::test]
async fn browser_flow_secrets_are_not_stored_in_clear() {
    let app = spawn_app().await;
    let http = browser();
    let first = http
        .get(app.url(&format!("/store/{SITE}/SessionToken")))
        .send()
        .await
        .unwrap();
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    let handle = cookie
        .strip_prefix("shopkeeper_session=")
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let st = ok_json(first).await["session_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ch = pkce_challenge(VERIFIER);
    let code = signed_in_code(&app, &http, &code_request(&app.public_key, &ch)).await;

    let image = database_image(&app).await;
    let contains = |needle: &[u8]| image.windows(needle.len()).any(|w| w == needle);
    assert!(
        contains(app.public_key.as_bytes()),
        "the scan reads the database"
    );
    assert!(
        contains(ch.as_bytes()),
        "the PKCE challenge (not a secret) is stored"
    );
    for secret in [&handle, &st, &code] {
        assert!(!contains(secret.as_bytes()), "a secret in clear");
        assert!(
            !contains(&hex::decode(secret).unwrap()),
            "a secret as raw bytes"
        );
    }
}

// Session fixation through the browser cookie: an attacker's `SessionToken` cookie must not
// lead to the session a victim signs in on with the attacker's limited token.

/// The attacker's browser (its cookie jar holds the session cookie C) and the limited token L
/// that `SessionToken?apiKey=` gave it in C's session.
async fn attacker_cookie_and_limited_token(app: &TestApp) -> (Client, TokenPair) {
    let attacker = browser();
    let pair = TokenPair::from(ok_json(browser_limited_token(app, &attacker).await).await);
    (attacker, pair)
}

async fn browser_limited_token(app: &TestApp, http: &Client) -> Response {
    http.get(app.url(&format!(
        "/store/{SITE}/SessionToken?apiKey={}&format=json",
        app.public_key
    )))
    .send()
    .await
    .unwrap()
}

/// The session the browser's cookie now leads to (through `SessionToken?apiKey=`).
async fn browser_session_info(app: &TestApp, http: &Client) -> Value {
    let pair = TokenPair::from(ok_json(browser_limited_token(app, http).await).await);
    app.session_of(&pair.access).await
}

/// After the victim signed in on `victim_session` (the attacker's L's): the attacker's cookie
/// leads elsewhere (a new guest session, with another cart).
async fn assert_attacker_cookie_lost_the_session(
    app: &TestApp,
    attacker: &Client,
    victim_session: &Value,
) {
    let seen = browser_session_info(app, attacker).await;
    assert_ne!(
        seen["sessionId"], victim_session["sessionId"],
        "the attacker's cookie still leads to the signed-in session"
    );
    assert_ne!(seen["cartId"], victim_session["cartId"]);
    assert_eq!(seen["authenticated"], "false");
}

#[tokio::test]
async fn hosted_implicit_sign_in_unlinks_other_browsers_from_the_session() {
    let app = spawn_app().await;
    let (attacker, limited) = attacker_cookie_and_limited_token(&app).await;
    // The victim's own browser, with a guest session of its own.
    let victim = browser();
    browser_session_info(&app, &victim).await;
    let fragment = signed_in_fragment(
        &app,
        &victim,
        &[
            ("client_id", &app.public_key),
            ("response_type", "token"),
            ("redirect_uri", REDIRECT),
            ("dr_limited_token", &limited.access),
        ],
    )
    .await;
    let signed_in = app.session_of(&fragment["access_token"]).await;
    assert_eq!(signed_in["authenticated"], "true");
    assert_attacker_cookie_lost_the_session(&app, &attacker, &signed_in).await;
    // The victim's browser continues in the signed-in session.
    assert_eq!(
        browser_session_info(&app, &victim).await["sessionId"],
        signed_in["sessionId"]
    );
    // And the victim's full token still works.
    assert_eq!(
        app.access_tokens(&fragment["access_token"]).await.status(),
        200
    );
}

#[tokio::test]
async fn hosted_code_sign_in_unlinks_other_browsers_from_the_session() {
    let app = spawn_app().await;
    let (attacker, limited) = attacker_cookie_and_limited_token(&app).await;
    // A fresh browser, no cookie yet: the sign-in gives it one.
    let victim = browser();
    let ch = pkce_challenge(VERIFIER);
    let mut query = code_request(&app.public_key, &ch);
    query.push(("dr_limited_token", &limited.access));
    let code = signed_in_code(&app, &victim, &query).await;
    let pair = TokenPair::from(ok_json(redeem(&app, &code, VERIFIER).await).await);
    let signed_in = app.session_of(&pair.access).await;
    assert_eq!(signed_in["authenticated"], "true");
    assert_attacker_cookie_lost_the_session(&app, &attacker, &signed_in).await;
    assert_eq!(
        browser_session_info(&app, &victim).await["sessionId"],
        signed_in["sessionId"]
    );
}

#[tokio::test]
async fn password_grant_sign_in_unlinks_every_browser_from_the_session() {
    let app = spawn_app().await;
    let (attacker, limited) = attacker_cookie_and_limited_token(&app).await;
    let full = app
        .shopper_pair_linked("dr_limited_token", &limited.access)
        .await;
    let signed_in = app.session_of(&full.access).await;
    assert_eq!(signed_in["authenticated"], "true");
    assert_attacker_cookie_lost_the_session(&app, &attacker, &signed_in).await;
    // The session and its tokens stay the shopper's.
    assert_eq!(app.access_tokens(&full.access).await.status(), 200);
}

// Login CSRF by cookie tossing: the sign-in form's token is bound to the browser it was shown
// to, and over HTTPS its cookie is `__Host-` prefixed.

/// The value of the cookie `name` that a response sets.
fn set_cookie_value(r: &Response, name: &str) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no {name} cookie set"))
        .to_owned()
}

fn form_csrf_token(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form has a CSRF token")
        .to_owned()
}

/// Shows the sign-in form to a browser sending `cookies`; returns the CSRF cookie it sets
/// (named `csrf_cookie`) and the form's token.
async fn form_for(
    app: &TestApp,
    query: &[(&str, &str)],
    cookies: &str,
    csrf_cookie: &str,
) -> (String, String) {
    let mut request = app.http.get(app.url("/oauth20/sign-in")).query(query);
    if !cookies.is_empty() {
        request = request.header("cookie", cookies);
    }
    let page = request.send().await.unwrap();
    assert_eq!(page.status(), 200);
    let nonce = set_cookie_value(&page, csrf_cookie);
    (nonce, form_csrf_token(&page.text().await.unwrap()))
}

/// Posts the sign-in form (the test shopper's credentials) with exactly `cookies`.
async fn post_form(app: &TestApp, query: &[(&str, &str)], cookies: &str, token: &str) -> Response {
    let mut form = query.to_vec();
    form.extend([
        ("username", SHOPPER_USERNAME),
        ("password", SHOPPER_PASSWORD),
        ("csrf_token", token),
    ]);
    app.http
        .post(app.url("/oauth20/sign-in"))
        .header("cookie", cookies)
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_form_token_minted_in_another_browser_is_refused_with_its_tossed_cookie() {
    let app = spawn_app().await;
    let query = implicit_request(&app);
    // The attacker's browser: a form, its CSRF cookie and token.
    let (attacker_nonce, attacker_token) = form_for(&app, &query, "", "shopkeeper_csrf").await;
    // The victim's browser has a session cookie of its own (it visited the shop).
    let visit = app.get(&format!("/store/{SITE}/SessionToken")).await;
    let victim_handle = set_cookie_value(&visit, "shopkeeper_session");
    // The attacker tosses their CSRF cookie into the victim's browser and makes it post
    // their form (their credentials): refused, the form again with a message.
    let tossed = format!("shopkeeper_session={victim_handle}; shopkeeper_csrf={attacker_nonce}");
    let r = post_form(&app, &query, &tossed, &attacker_token).await;
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("location").is_none());
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("This form was not issued to this browser")
    );
    // The pair works in the browser it was minted for, and the victim's own form works too.
    let own = post_form(
        &app,
        &query,
        &format!("shopkeeper_csrf={attacker_nonce}"),
        &attacker_token,
    )
    .await;
    assert_eq!(own.status(), 302);
    let victim_cookies = format!("shopkeeper_session={victim_handle}");
    let (nonce, token) = form_for(&app, &query, &victim_cookies, "shopkeeper_csrf").await;
    let own = post_form(
        &app,
        &query,
        &format!("{victim_cookies}; shopkeeper_csrf={nonce}"),
        &token,
    )
    .await;
    assert_eq!(own.status(), 302);
}

#[tokio::test]
async fn over_https_the_csrf_cookie_is_host_prefixed_and_only_it_is_accepted() {
    let app = spawn_app_with(|s| s.web.public_url = Some("https://auth.example.com".into())).await;
    let query = implicit_request(&app);
    let page = sign_in_page(&app, &query).await;
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-shopkeeper_csrf="), "{cookie}");
    let attributes: Vec<&str> = cookie.split(';').skip(1).map(str::trim).collect();
    for wanted in ["Secure", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(attributes.contains(&wanted), "{wanted}: {cookie}");
    }
    assert!(
        !attributes
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "{cookie}"
    );
    let nonce = set_cookie_value(&page, "__Host-shopkeeper_csrf");
    let token = form_csrf_token(&page.text().await.unwrap());
    // The unprefixed name is what a sibling subdomain could toss: not accepted.
    let r = post_form(&app, &query, &format!("shopkeeper_csrf={nonce}"), &token).await;
    assert_eq!(r.status(), 403);
    let r = post_form(
        &app,
        &query,
        &format!("__Host-shopkeeper_csrf={nonce}"),
        &token,
    )
    .await;
    assert_eq!(r.status(), 302);
}
