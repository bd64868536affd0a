//! Brute-force throttling, rate limits and connection limits, with every duration shrunk
//! through configuration so the tests run in seconds.

use crate::authorize::{implicit_request, sign_in, sign_in_form};
use crate::helpers::*;
use reqwest::Response;
use shopkeeper::config::ServeSettings;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn retry_after(r: &Response) -> u64 {
    r.headers()
        .get("retry-after")
        .expect("a 429 names its wait")
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A 429 in the token endpoint's flat shape; returns its Retry-After.
async fn assert_throttled(r: Response) -> u64 {
    let wait = retry_after(&r);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_oauth_error(r, 429, "too_many_requests").await;
    wait
}

/// Lets `seconds` pass on the server's clock (rounded up to whole seconds).
async fn pause(app: &TestApp, seconds: f64) {
    app.advance_clock(seconds.ceil() as u64).await;
}

#[tokio::test]
async fn password_grant_waits_grow_to_the_cap_and_success_clears_them() {
    let app = spawn_app_with(|s| {
        throttle_accounts(s, 2, 1, 2);
        s.security.throttle_ip_failures = 1000;
    })
    .await;
    shopkeeper::provision::create_shopper(
        &app.state.store,
        &app.state.hasher,
        SITE,
        "other@example.com",
        "other password",
        None,
        app.now(),
    )
    .await
    .unwrap();

    // Two free failures: no wait.
    for _ in 0..2 {
        assert_oauth_error(
            app.password_grant(SHOPPER_USERNAME, "wrong").await,
            400,
            "invalid_grant",
        )
        .await;
    }
    // The third starts a 1 s wait: even the right password is refused meanwhile, and
    // varying the username's case does not escape it.
    assert_oauth_error(
        app.password_grant(SHOPPER_USERNAME, "wrong").await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        assert_throttled(app.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD).await).await,
        1
    );
    assert_eq!(
        assert_throttled(
            app.password_grant("JANE@Example.com", SHOPPER_PASSWORD)
                .await
        )
        .await,
        1
    );
    // Another shopper signs in undisturbed.
    ok_json(
        app.password_grant("other@example.com", "other password")
            .await,
    )
    .await;

    // The wait grows by a step...
    pause(&app, 1.2).await;
    assert_oauth_error(
        app.password_grant(SHOPPER_USERNAME, "wrong").await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        assert_throttled(app.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD).await).await,
        2
    );
    // ...up to the cap, which holds.
    pause(&app, 2.2).await;
    assert_oauth_error(
        app.password_grant(SHOPPER_USERNAME, "wrong").await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        assert_throttled(app.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD).await).await,
        2
    );

    // After the wait the right password works and clears the count: one more failure is
    // free again.
    pause(&app, 2.2).await;
    ok_json(app.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD).await).await;
    assert_oauth_error(
        app.password_grant(SHOPPER_USERNAME, "wrong").await,
        400,
        "invalid_grant",
    )
    .await;
    ok_json(app.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD).await).await;
}

#[tokio::test]
async fn hosted_sign_in_is_throttled_with_the_page_and_shares_the_count_with_the_grant() {
    let app = spawn_app_with(|s| throttle_accounts(s, 1, 30, 60)).await;
    let query = implicit_request(&app);
    for _ in 0..2 {
        let r = sign_in(&app, &browser(), &query, SHOPPER_USERNAME, "wrong").await;
        assert_eq!(r.status(), 401);
    }
    let r = sign_in(&app, &browser(), &query, SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert_eq!(retry_after(&r), 30);
    assert!(
        r.headers().get("location").is_none(),
        "no redirect, no token"
    );
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let html = r.text().await.unwrap();
    assert!(html.contains("Too many failed sign-ins"), "{html}");
    assert!(
        html.contains("name=\"csrf_token\""),
        "the form is shown again"
    );

    // The same username on the password grant waits too.
    assert_eq!(
        assert_throttled(app.password_grant(SHOPPER_USERNAME, SHOPPER_PASSWORD).await).await,
        30
    );
}

/// Argon2id verifications counted for the app's public key (both password paths use it).
async fn verifications(app: &TestApp) -> f64 {
    metric_sample(
        &app.metrics_text().await,
        "shopkeeper_password_verifications_total",
        &[("api_key", app.public_key.as_str())],
    )
    .unwrap_or(0.0)
}

/// Many wrong guesses for one username at the same instant, half on the password grant and
/// half on the hosted sign-in: no more passwords are checked than the documented allowance
/// (5 free failures, and the one that starts the wait), however the guesses interleave; the
/// rest are refused with 429 and `Retry-After` before any hash. (Checked before failures
/// were counted, 100 parallel guesses got 42 checks.)
#[tokio::test]
async fn parallel_wrong_passwords_get_no_more_checks_than_the_allowance() {
    const GUESSES: usize = 60;
    let app = spawn_app().await;
    let allowance = shopkeeper::config::SecuritySettings::default().throttle_user_failures + 1;
    let query = implicit_request(&app);
    let before = verifications(&app).await;

    // Every request ready to go (the hosted ones with their page and CSRF token), then all
    // released at once.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(GUESSES));
    let mut guesses = Vec::new();
    for n in 0..GUESSES {
        let (hosted, request) = if n % 2 == 0 {
            let form = [
                ("grant_type", "password"),
                ("username", SHOPPER_USERNAME),
                ("password", "wrong guess"),
            ];
            (false, app.public_token_request(&form))
        } else {
            let browser = browser();
            let form = sign_in_form(&app, &browser, &query, SHOPPER_USERNAME, "wrong guess");
            (true, form.await)
        };
        let barrier = barrier.clone();
        guesses.push(tokio::spawn(async move {
            barrier.wait().await;
            (hosted, request.send().await.unwrap())
        }));
    }
    let (mut refused, mut throttled) = (0, 0);
    for guess in guesses {
        let (hosted, r) = guess.await.unwrap();
        match (hosted, r.status().as_u16()) {
            (false, 400) => {
                assert_oauth_error(r, 400, "invalid_grant").await;
                refused += 1;
            }
            (true, 401) => refused += 1,
            (false, 429) => {
                assert!(assert_throttled(r).await >= 1);
                throttled += 1;
            }
            (true, 429) => {
                assert!(retry_after(&r) >= 1);
                throttled += 1;
            }
            (hosted, status) => panic!("hosted {hosted}: unexpected {status}"),
        }
    }
    let checked = verifications(&app).await - before;
    assert!(
        checked <= allowance as f64,
        "{checked} passwords checked; the allowance is {allowance}"
    );
    assert_eq!(checked, refused as f64, "every check answered, none other");
    assert_eq!(refused + throttled, GUESSES);
    assert!(refused >= 1, "the first guesses are checked");
}

/// The throttle counts per account: a sign-in clears only the count of the account that
/// signed in, even when another account's name looks the same to the throttle. `İx` and
/// `i̇x` (i + combining dot) are two accounts to both databases (whose lower() differ), but
/// one name once lower-cased in Rust, which is how the throttle used to key them: signing in
/// as one cleared the other's failures.
#[tokio::test]
async fn signing_in_as_another_account_does_not_clear_a_count() {
    let app = spawn_app_with(|s| throttle_accounts(s, 1, 60, 60)).await;
    let (victim, look_alike) = ("i\u{307}x@example.com", "\u{130}x@example.com");
    assert_eq!(victim.to_lowercase(), look_alike.to_lowercase());
    for username in [victim, look_alike] {
        shopkeeper::provision::create_shopper(
            &app.state.store,
            &app.state.hasher,
            SITE,
            username,
            "a long password",
            None,
            app.now(),
        )
        .await
        .unwrap_or_else(|e| panic!("{username}: {e}"));
    }
    // One free failure for the victim...
    assert_oauth_error(
        app.password_grant(victim, "wrong").await,
        400,
        "invalid_grant",
    )
    .await;
    // ...the other account signs in...
    ok_json(app.password_grant(look_alike, "a long password").await).await;
    // ...and the victim's count still stands: the next failure starts the wait.
    assert_oauth_error(
        app.password_grant(victim, "wrong").await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        assert_throttled(app.password_grant(victim, "a long password").await).await,
        60
    );
}

/// Two free failures per address, then a minute's wait; the test's own address a trusted proxy.
fn address_throttle(s: &mut ServeSettings, trusted_proxy: bool) {
    s.security.throttle_user_failures = 100;
    s.security.throttle_ip_failures = 2;
    s.security.throttle_step_seconds = 60;
    if trusted_proxy {
        s.security.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    }
}

async fn password_from(app: &TestApp, forwarded_for: &str, username: &str, pw: &str) -> Response {
    password_via(app, ("x-forwarded-for", forwarded_for), username, pw).await
}

async fn password_via(app: &TestApp, header: (&str, &str), username: &str, pw: &str) -> Response {
    app.http
        .post(app.url("/oauth20/token"))
        .basic_auth(&app.public_key, None::<&str>)
        .header(header.0, header.1)
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", pw),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn address_throttle_believes_forwarded_for_only_from_trusted_proxies() {
    let configure = |trusted: bool| move |s: &mut ServeSettings| address_throttle(s, trusted);
    // Behind a trusted proxy: the forwarded address is the client.
    let app = spawn_app_with(configure(true)).await;
    for n in 0..3 {
        let r = password_from(&app, "203.0.113.5", &format!("guess{n}@example.com"), "x").await;
        assert_oauth_error(r, 400, "invalid_grant").await;
    }
    let r = password_from(&app, "203.0.113.5", SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    assert_eq!(assert_throttled(r).await, 60);
    // A spoofed hop left of the proxy's does not help: the rightmost untrusted one counts.
    let r = password_from(
        &app,
        "198.51.100.1, 203.0.113.5",
        SHOPPER_USERNAME,
        SHOPPER_PASSWORD,
    )
    .await;
    assert_eq!(r.status(), 429);
    let r = password_from(&app, "203.0.113.6", SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    ok_json(r).await;

    // Without trusted proxies, rotating X-Forwarded-For changes nothing: the peer counts.
    let app = spawn_app_with(configure(false)).await;
    for n in 0..3 {
        let r = password_from(&app, &format!("203.0.113.{n}"), &format!("g{n}@x.com"), "x").await;
        assert_oauth_error(r, 400, "invalid_grant").await;
    }
    let r = password_from(&app, "203.0.113.99", SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    assert_eq!(r.status(), 429);
}

#[tokio::test]
async fn address_throttle_reads_rfc_7239_forwarded_when_configured() {
    let app = spawn_app_with(|s| {
        address_throttle(s, true);
        s.security.forwarded_header = shopkeeper::config::ForwardedHeader::Forwarded;
    })
    .await;
    let client = ("forwarded", "for=6.6.6.6, for=203.0.113.5;proto=https");
    for n in 0..3 {
        let r = password_via(&app, client, &format!("guess{n}@example.com"), "x").await;
        assert_oauth_error(r, 400, "invalid_grant").await;
    }
    let r = password_via(&app, client, SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    assert_eq!(assert_throttled(r).await, 60);
    // Another address (IPv6, quoted and bracketed as RFC 7239 writes it) has its own count.
    let other = ("forwarded", r#"for="[2001:db8::5]:4711""#);
    ok_json(password_via(&app, other, SHOPPER_USERNAME, SHOPPER_PASSWORD).await).await;
    // X-Forwarded-For is not read under this setting: the peer (no failures) counts.
    let r = password_from(&app, "203.0.113.5", SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    ok_json(r).await;
}

#[tokio::test]
async fn token_endpoint_limits_each_key_and_each_address() {
    let app = spawn_app_with(|s| {
        s.security.rate_limit_per_key = 3;
        s.security.rate_limit_per_ip = 5;
        s.security.rate_limit_period_ms = 60_000;
    })
    .await;
    for _ in 0..3 {
        ok_json(app.public_token(&[("grant_type", "password")]).await).await;
    }
    let wait = assert_throttled(app.public_token(&[("grant_type", "password")]).await).await;
    assert!((1..=60).contains(&wait), "{wait}");
    // The other key has its own allowance, until the address's runs out (5 in all, the
    // refused request above counted too).
    ok_json(
        app.confidential_token(&[("grant_type", "client_credentials")])
            .await,
    )
    .await;
    assert_throttled(
        app.confidential_token(&[("grant_type", "client_credentials")])
            .await,
    )
    .await;
}

#[tokio::test]
async fn session_token_is_rate_limited_in_the_nested_shape() {
    let app = spawn_app_with(|s| {
        s.security.rate_limit_per_key = 2;
        s.security.rate_limit_period_ms = 60_000;
    })
    .await;
    let url = app.url(&format!("/store/{SITE}/SessionToken"));
    for _ in 0..2 {
        let r = app
            .http
            .get(&url)
            .query(&[("apiKey", app.public_key.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = app
        .http
        .get(&url)
        .query(&[("apiKey", app.public_key.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(retry_after(&r) >= 1);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"]["error"][0]["code"], "rate-limit-quota-exceeded",
        "{body}"
    );
    // Without a key only the (generous) address limit applies.
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 200);
}

/// The docs' per-key quota on the Commerce API: past it, the documented 409
/// `rate-limit-quota-exceeded` in the nested shape, with the wait and the quota. Returns the
/// wait.
async fn assert_over_api_quota(r: Response, limit: &str) -> u64 {
    assert_eq!(r.status(), 409);
    let wait = retry_after(&r);
    assert!(wait >= 1, "{wait}");
    assert_eq!(r.headers()["x-ratelimit-limit"], limit);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body["errors"]["error"][0]["code"], "rate-limit-quota-exceeded",
        "{body}"
    );
    wait
}

#[tokio::test]
async fn the_commerce_api_quota_counts_each_key_and_answers_the_documented_409() {
    // Three a minute: a slow host cannot refill the quota between the requests.
    let app = spawn_app_with(|s| {
        s.security.api_rate_per_key = 3;
        s.security.api_rate_period_ms = 60_000;
    })
    .await;
    let public = app.anonymous_pair().await.access;
    let confidential: serde_json::Value = ok_json(
        app.confidential_token(&[("grant_type", "client_credentials")])
            .await,
    )
    .await;
    let confidential = confidential["access_token"].as_str().unwrap().to_owned();
    let products = "/v1/shoppers/me/products";
    let by_key_alone = || {
        app.http
            .get(app.url(products))
            .query(&[("apiKey", app.public_key.as_str())])
            .send()
    };

    let burst = tokio::join!(
        app.get_as(&public, products),
        app.get_as(&public, products),
        app.get_as(&public, products),
    );
    for r in [burst.0, burst.1, burst.2] {
        assert_eq!(r.status(), 200);
    }
    assert_over_api_quota(app.get_as(&public, products).await, "3").await;
    // Another key has its own quota.
    ok_json(app.get_as(&confidential, products).await).await;

    // A period later the key has its quota again, used as much by the key presented alone
    // as through its tokens.
    app.advance_clock(60).await;
    let burst = tokio::join!(
        app.get_as(&public, products),
        by_key_alone(),
        by_key_alone()
    );
    assert_eq!(burst.0.status(), 200);
    for r in [burst.1.unwrap(), burst.2.unwrap()] {
        assert_eq!(r.status(), 200);
    }
    assert_over_api_quota(by_key_alone().await.unwrap(), "3").await;
    assert_over_api_quota(app.get_as(&public, products).await, "3").await;
}

#[tokio::test]
async fn generous_defaults_let_a_burst_from_one_key_through() {
    let app = spawn_app().await;
    for _ in 0..300 {
        let r = app.public_token(&[("grant_type", "password")]).await;
        assert_eq!(r.status(), 200);
    }
}

fn authority(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_client_trickling_headers_is_disconnected() {
    let app = spawn_app_with(|s| s.security.header_read_timeout_ms = 300).await;
    let mut stream = TcpStream::connect(authority(&app)).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Keep trickling a header line every 100 ms, as slowloris does, from another task.
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for n in 0..100 {
            if writer
                .write_all(format!("X-{n}: a\r\n").as_bytes())
                .await
                .is_err()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    let mut buf = [0u8; 1024];
    // Generous bound: far more than the 300 ms setting, far less than the 10 s trickle.
    let closed = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept a trickling connection open"
    );
    trickle.abort();
    // And it still serves everyone else.
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_request_whose_body_stalls_gets_408() {
    let app = spawn_app_with(|s| s.security.request_timeout_ms = 300).await;
    let answer = app
        .answer_to_stalled_body("/oauth20/token", "grant_type")
        .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn too_many_or_too_large_headers_get_431() {
    let app = spawn_app().await;
    let mut many = TcpStream::connect(authority(&app)).await.unwrap();
    let mut request = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n");
    for n in 0..100 {
        request.push_str(&format!("X-{n}: a\r\n"));
    }
    request.push_str("\r\n");
    many.write_all(request.as_bytes()).await.unwrap();
    let answer = read_to_close(&mut many).await;
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");

    let r = app
        .http
        .get(app.url("/healthz"))
        .header("x-big", "a".repeat(64 * 1024))
        .send()
        .await;
    match r {
        Ok(r) => assert_eq!(r.status(), 431),
        // The server may close before the client finishes writing.
        Err(e) => assert!(e.is_request() || e.is_body() || e.is_connect(), "{e}"),
    }
    assert_eq!(app.get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn a_key_with_allowed_origins_answers_session_token_only_for_those_pages() {
    let app = spawn_app().await;
    let url = app.url(&format!("/store/{SITE}/SessionToken"));
    let get = |origin: Option<&'static str>, referer: Option<&'static str>| {
        let mut r = app
            .http
            .get(&url)
            .query(&[("apiKey", app.public_key.as_str()), ("callback", "cb")]);
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        if let Some(r2) = referer {
            r = r.header("referer", r2);
        }
        r.send()
    };
    // No origins registered: any page (what existing storefronts expect).
    assert_eq!(
        get(None, Some("https://evil.example/"))
            .await
            .unwrap()
            .status(),
        200
    );

    app.state
        .store
        .set_allowed_origins(
            &app.public_api_key(),
            &["https://shop.example.com".to_owned()],
        )
        .await
        .unwrap();
    assert_eq!(
        get(None, Some("https://shop.example.com/cart"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        get(Some("https://shop.example.com"), None)
            .await
            .unwrap()
            .status(),
        200
    );
    for (origin, referer) in [
        (None, Some("https://evil.example/")),
        (None, Some("https://shop.example.com.evil.example/")),
        (
            Some("https://evil.example"),
            Some("https://shop.example.com/"),
        ),
        (None, None),
    ] {
        let r = get(origin, referer).await.unwrap();
        assert_eq!(r.status(), 403, "{origin:?} {referer:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["errors"]["error"][0]["code"], "forbidden");
    }
}
