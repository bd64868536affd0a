//! `GET /store/{siteId}/SessionToken`: JSON, JSONP, the cookie, errors, and the session token
//! → `dr_session_token` → same session path.

use crate::helpers::*;
use reqwest::Client;
use serde_json::Value;

async fn session_token(app: &TestApp, http: &Client, query: &str) -> reqwest::Response {
    http.get(app.url(&format!("/store/{SITE}/SessionToken{query}")))
        .send()
        .await
        .unwrap()
}

fn is_session_token(v: &Value) -> String {
    let t = v["session_token"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(t.len(), 32, "{t}");
    assert!(
        t.bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)),
        "{t}"
    );
    t.to_owned()
}

#[tokio::test]
async fn json_answer_sets_an_httponly_lax_cookie_holding_no_token() {
    let app = spawn_app().await;
    let r = session_token(&app, &browser(), "?format=json").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    let token = is_session_token(&body);
    assert!(cookie.starts_with("shopkeeper_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP public URL: {cookie}"
    );
    assert!(
        !cookie.contains(&token),
        "the cookie must not carry the token"
    );
}

#[tokio::test]
async fn https_public_url_makes_the_cookie_samesite_none_secure() {
    let app = spawn_app_with(|s| s.web.public_url = Some("https://auth.example.com".into())).await;
    let r = session_token(&app, &browser(), "?format=json").await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("SameSite=None"), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    // `__Host-`: no sibling subdomain can set (toss) a handle of its own into the browser.
    assert!(cookie.starts_with("__Host-shopkeeper_session="), "{cookie}");
    assert!(
        cookie.contains("Path=/;") && !cookie.contains("Domain"),
        "{cookie}"
    );
}

/// Over HTTPS only the `__Host-` cookie leads to a session: a handle tossed in under the
/// plain name (which a sibling subdomain could set) is ignored.
#[tokio::test]
async fn over_https_a_session_handle_under_the_plain_name_is_ignored() {
    let app = spawn_app_with(|s| s.web.public_url = Some("https://auth.example.com".into())).await;
    let first = session_token(&app, &reqwest::Client::new(), "?format=json").await;
    let set = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    let handle = set
        .split(';')
        .next()
        .and_then(|kv| kv.split_once('='))
        .map(|(_, v)| v.to_owned())
        .unwrap();
    let session_token_with = |cookie: String| {
        let app = &app;
        async move {
            app.http
                .get(app.url(&format!(
                    "/store/{SITE}/SessionToken?apiKey={}",
                    app.public_key
                )))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
        }
    };
    let genuine = session_token_with(format!("__Host-shopkeeper_session={handle}")).await;
    assert!(
        genuine.headers().get("set-cookie").is_none(),
        "the handle is known"
    );
    let tossed = session_token_with(format!("shopkeeper_session={handle}")).await;
    assert!(
        tossed.headers().get("set-cookie").is_some(),
        "a plain-named handle starts a new browser session over HTTPS"
    );
}

#[tokio::test]
async fn session_token_joins_the_same_session_and_the_cookie_is_reused() {
    let app = spawn_app().await;
    let http = browser();
    let first = is_session_token(&ok_json(session_token(&app, &http, "?format=json").await).await);
    let second = is_session_token(&ok_json(session_token(&app, &http, "?format=json").await).await);
    let a = TokenPair::from(
        ok_json(
            app.public_token(&[("grant_type", "password"), ("dr_session_token", &first)])
                .await,
        )
        .await,
    );
    let b = TokenPair::from(
        ok_json(
            app.public_token(&[("grant_type", "password"), ("dr_session_token", &second)])
                .await,
        )
        .await,
    );
    let sa = app.session_of(&a.access).await;
    let sb = app.session_of(&b.access).await;
    assert_eq!(
        sa["sessionId"], sb["sessionId"],
        "the cookie kept the session"
    );
    assert_eq!(sa["authenticated"], "false");

    // Another browser (no cookie) gets another session.
    let other = is_session_token(&ok_json(session_token(&app, &browser(), "").await).await);
    let c = TokenPair::from(
        ok_json(
            app.public_token(&[("grant_type", "password"), ("dr_session_token", &other)])
                .await,
        )
        .await,
    );
    assert_ne!(
        app.session_of(&c.access).await["sessionId"],
        sa["sessionId"]
    );
}

#[tokio::test]
async fn with_api_key_a_limited_token_in_the_browser_session() {
    let app = spawn_app().await;
    let http = browser();
    let st = is_session_token(&ok_json(session_token(&app, &http, "").await).await);
    let body = ok_json(
        session_token(
            &app,
            &http,
            &format!("?apiKey={}&format=json", app.public_key),
        )
        .await,
    )
    .await;
    let pair = TokenPair::from(body);
    assert_eq!(pair.expires_in, SITE_TTL);
    let joined = TokenPair::from(
        ok_json(
            app.public_token(&[("grant_type", "password"), ("dr_session_token", &st)])
                .await,
        )
        .await,
    );
    assert_eq!(
        app.session_of(&pair.access).await["sessionId"],
        app.session_of(&joined.access).await["sessionId"]
    );

    let bad = session_token(&app, &http, "?apiKey=nosuchkey").await;
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["errors"]["error"][0]["code"], "invalid_client");
}

#[tokio::test]
async fn jsonp_wraps_the_answer_and_refuses_script_in_the_callback() {
    let app = spawn_app().await;
    let r = session_token(&app, &browser(), "?format=json&callback=jQuery3310_17.done").await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let text = r.text().await.unwrap();
    let inner = text
        .strip_prefix("/**/jQuery3310_17.done(")
        .and_then(|t| t.strip_suffix(");"))
        .unwrap_or_else(|| panic!("{text}"));
    is_session_token(&serde_json::from_str(inner).unwrap());

    for bad in ["alert(1)//", "a;b", "x</script>", "1abc", "a..b"] {
        let r = app
            .http
            .get(app.url(&format!("/store/{SITE}/SessionToken")))
            .query(&[("callback", bad)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body["errors"]["error"][0]["code"], "invalid-request",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn unknown_site_is_a_nested_404() {
    let app = spawn_app().await;
    for site in ["nosuchsite", "bad%20site"] {
        let r = app
            .get(&format!("/store/{site}/SessionToken?format=json"))
            .await;
        assert_eq!(r.status(), 404, "{site}");
        assert!(r.headers().get("set-cookie").is_none());
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"]["error"][0]["code"], "resource-not-found");
    }
}

#[tokio::test]
async fn session_token_stops_working_when_the_shopper_signs_in_on_the_session() {
    let app = spawn_app().await;
    let http = browser();
    let st = is_session_token(&ok_json(session_token(&app, &http, "").await).await);
    let full = app.shopper_pair_linked("dr_session_token", &st).await;
    assert_eq!(app.session_of(&full.access).await["authenticated"], "true");
    assert_oauth_error(
        app.public_token(&[("grant_type", "password"), ("dr_session_token", &st)])
            .await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn session_tokens_expire_with_their_session() {
    let app = spawn_app().await;
    let key = app.site_with_public_key("brief", Some(1)).await;
    let body = ok_json(app.get("/store/brief/SessionToken").await).await;
    let st = is_session_token(&body);
    app.advance_clock(2).await;
    let r = app
        .token_with(
            &key,
            None,
            &[("grant_type", "password"), ("dr_session_token", &st)],
        )
        .await;
    assert_oauth_error(r, 400, "invalid_grant").await;
}
