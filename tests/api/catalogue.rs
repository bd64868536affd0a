//! The bad-input catalogue: malformed requests across every endpoint, each answered with a
//! 4xx in that endpoint's documented error shape (flat OAuth JSON under `/oauth20`, nested
//! JSON under `/v1` and `SessionToken`, HTML on the hosted pages; a bare 4xx only where the
//! request is not HTTP enough to reach a route), never a 5xx; the server stays healthy.

use crate::helpers::*;
use base64::Engine as _;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Clone, Copy, Debug)]
enum Shape {
    /// `{"error", "error_description"}`.
    Flat,
    /// `{"errors": {"error": [{"relation", "code", "description"}]}}`.
    Nested,
    /// The hosted error page or form.
    Html,
}

struct Catalogue<'a> {
    app: &'a TestApp,
    checked: usize,
    failures: Vec<String>,
}

impl<'a> Catalogue<'a> {
    async fn expect(&mut self, name: &str, request: RequestBuilder, shape: Shape) {
        self.checked += 1;
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.failures.push(format!("{name}: no answer ({e})"));
                return;
            }
        };
        if let Err(why) = check_shape(response, shape).await {
            self.failures.push(format!("{name}: {why}"));
        }
    }

    /// A request written byte by byte on a socket: only its status line is judged.
    async fn expect_raw(&mut self, name: &str, raw: &[u8]) {
        self.checked += 1;
        let address = self.app.address.trim_start_matches("http://").to_owned();
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(raw).await.unwrap();
        let mut buf = vec![0u8; 2048];
        let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
            .await
            .map(|r| r.unwrap_or(0))
            .unwrap_or(0);
        let head = String::from_utf8_lossy(&buf[..n]).into_owned();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if !(400..500).contains(&status) {
            self.failures.push(format!(
                "{name}: expected a 4xx, got {:?}",
                head.lines().next()
            ));
        }
    }
}

async fn check_shape(response: Response, shape: Shape) -> Result<(), String> {
    let status = response.status().as_u16();
    if !(400..500).contains(&status) {
        return Err(format!("status {status}"));
    }
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.text().await.map_err(|e| e.to_string())?;
    match shape {
        Shape::Html => (content_type.starts_with("text/html") && body.contains("<html"))
            .then_some(())
            .ok_or_else(|| format!("{status} not HTML: {content_type} {body:.200}")),
        Shape::Flat => {
            let v: Value = serde_json::from_str(&body)
                .map_err(|_| format!("{status} not JSON: {body:.200}"))?;
            (v["error"].is_string() && v["error_description"].is_string())
                .then_some(())
                .ok_or_else(|| format!("{status} not the flat shape: {v}"))
        }
        Shape::Nested => {
            let v: Value = serde_json::from_str(&body)
                .map_err(|_| format!("{status} not JSON: {body:.200}"))?;
            let code = v["errors"]["error"][0]["code"].as_str().unwrap_or_default();
            // Every code is a documented one or a README deviation (`http::error::Code`).
            let known = shopkeeper::http::error::Code::ALL
                .iter()
                .any(|c| c.as_str() == code);
            (known && v["errors"]["error"][0]["description"].is_string())
                .then_some(())
                .ok_or_else(|| format!("{status} not the nested shape with a known code: {v}"))
        }
    }
}

fn basic(raw: &[u8]) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn nested_json(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[tokio::test]
async fn malformed_requests_get_documented_4xx_answers_and_the_server_stays_healthy() {
    let app = spawn_app().await;
    let guest = app.anonymous_pair().await;
    let shopper = app.shopper_pair().await;
    let http = &app.http;
    let u = |p: &str| app.url(p);
    let key = app.public_key.clone();
    let form = "application/x-www-form-urlencoded";
    let mut c = Catalogue {
        app: &app,
        checked: 0,
        failures: Vec::new(),
    };
    let token = || http.post(u("/oauth20/token"));
    let keyed = || token().basic_auth(&key, None::<&str>);
    let with_body = |b: &str| keyed().header("content-type", form).body(b.to_owned());
    let with_json = |b: String| keyed().header("content-type", "application/json").body(b);

    // --- /oauth20/token: client authentication ---
    use Shape::*;
    c.expect(
        "no client",
        token().form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "basic not base64",
        token()
            .header("authorization", "Basic !!!*")
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "basic invalid utf-8",
        token()
            .header("authorization", basic(b"\xff\xfe:x"))
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "basic empty",
        token()
            .header("authorization", "Basic ")
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "basic key with spaces",
        token()
            .header("authorization", basic(b"bad key:"))
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "basic unknown key",
        token()
            .header("authorization", basic(b"nosuchkey:"))
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "basic overlong key",
        token()
            .header("authorization", basic("k".repeat(300).as_bytes()))
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "digest scheme",
        token()
            .header("authorization", "Digest username=x")
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "empty bearer",
        token()
            .header("authorization", "Bearer ")
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "overlong bearer",
        token()
            .bearer_auth("a".repeat(8000))
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "authorization obs-text",
        token()
            .header(
                "authorization",
                HeaderValue::from_bytes(b"Basic \xff\xfe").unwrap(),
            )
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "client_secret without client_id",
        token().form(&[("grant_type", "password"), ("client_secret", "x")]),
        Flat,
    )
    .await;
    c.expect(
        "client_id with bad characters",
        token().form(&[("grant_type", "password"), ("client_id", "a b<c>")]),
        Flat,
    )
    .await;
    c.expect(
        "two different client ids",
        keyed().form(&[("grant_type", "password"), ("client_id", "otherkey")]),
        Flat,
    )
    .await;
    // --- /oauth20/token: bodies ---
    c.expect(
        "text/plain body",
        keyed()
            .header("content-type", "text/plain")
            .body("grant_type=password"),
        Flat,
    )
    .await;
    c.expect(
        "xml body",
        keyed()
            .header("content-type", "application/xml")
            .body("<grant_type>password</grant_type>"),
        Flat,
    )
    .await;
    c.expect(
        "content-type obs-text",
        keyed()
            .header(
                "content-type",
                HeaderValue::from_bytes(b"application/\xff").unwrap(),
            )
            .body("grant_type=password"),
        Flat,
    )
    .await;
    c.expect("truncated json", with_json("{\"grant_type\":".into()), Flat)
        .await;
    c.expect("json array", with_json("[\"password\"]".into()), Flat)
        .await;
    c.expect(
        "json nested object",
        with_json("{\"grant_type\":{\"a\":1}}".into()),
        Flat,
    )
    .await;
    c.expect("json deeply nested", with_json(nested_json(20_000)), Flat)
        .await;
    c.expect(
        "json invalid utf-8",
        keyed()
            .header("content-type", "application/json")
            .body(b"{\"grant_type\":\"\xff\"}".to_vec()),
        Flat,
    )
    .await;
    c.expect(
        "form invalid utf-8",
        keyed()
            .header("content-type", form)
            .body(b"grant_type=pass\xffword".to_vec()),
        Flat,
    )
    .await;
    c.expect(
        "form percent-encoded invalid utf-8",
        with_body("grant_type=%FF%FE"),
        Flat,
    )
    .await;
    c.expect(
        "form bad percent-encoding",
        with_body("grant_type=%zz%"),
        Flat,
    )
    .await;
    c.expect(
        "repeated grant_type",
        with_body("grant_type=password&grant_type=refresh_token"),
        Flat,
    )
    .await;
    let many: String = (0..100).map(|n| format!("p{n}=v&")).collect();
    c.expect(
        "100 parameters",
        with_body(&format!("{many}grant_type=password")),
        Flat,
    )
    .await;
    c.expect(
        "overlong name",
        with_body(&format!("{}=x&grant_type=password", "n".repeat(500))),
        Flat,
    )
    .await;
    c.expect(
        "overlong value",
        with_body(&format!(
            "grant_type=password&username={}",
            "u".repeat(9000)
        )),
        Flat,
    )
    .await;
    c.expect(
        "body over 64 KiB",
        with_body(&format!("grant_type=password&x={}", "a".repeat(70_000))),
        Flat,
    )
    .await;
    c.expect(
        "query and body disagree",
        http.post(u("/oauth20/token?grant_type=refresh_token"))
            .basic_auth(&key, None::<&str>)
            .form(&[("grant_type", "password")]),
        Flat,
    )
    .await;
    c.expect(
        "query bad percent-encoding",
        http.post(u("/oauth20/token?grant_type=%G0"))
            .basic_auth(&key, None::<&str>),
        Flat,
    )
    .await;
    // --- /oauth20/token: grants ---
    c.expect(
        "missing grant_type",
        keyed().form(&[("username", "x")]),
        Flat,
    )
    .await;
    c.expect(
        "empty grant_type",
        keyed().form(&[("grant_type", "")]),
        Flat,
    )
    .await;
    c.expect(
        "unknown grant_type",
        keyed().form(&[("grant_type", "urn:evil")]),
        Flat,
    )
    .await;
    c.expect(
        "username without password",
        keyed().form(&[("grant_type", "password"), ("username", SHOPPER_USERNAME)]),
        Flat,
    )
    .await;
    c.expect(
        "garbage refresh token",
        keyed().form(&[("grant_type", "refresh_token"), ("refresh_token", "zz")]),
        Flat,
    )
    .await;
    c.expect(
        "refresh grant without token",
        keyed().form(&[("grant_type", "refresh_token")]),
        Flat,
    )
    .await;
    c.expect(
        "code grant without code",
        keyed().form(&[("grant_type", "authorization_code")]),
        Flat,
    )
    .await;
    c.expect(
        "garbage dr_session_token",
        keyed().form(&[("grant_type", "password"), ("dr_session_token", "<script>")]),
        Flat,
    )
    .await;
    c.expect(
        "garbage dr_limited_token",
        keyed().form(&[("grant_type", "password"), ("dr_limited_token", "x")]),
        Flat,
    )
    .await;
    c.expect("GET token", http.get(u("/oauth20/token")), Flat)
        .await;
    c.expect("PUT token", http.put(u("/oauth20/token")), Flat)
        .await;
    c.expect(
        "DELETE token.json",
        http.delete(u("/oauth20/token.json")),
        Flat,
    )
    .await;
    c.expect(
        "token.json bad json",
        http.post(u("/oauth20/token.json"))
            .basic_auth(&key, None::<&str>)
            .header("content-type", "application/json")
            .body("{"),
        Flat,
    )
    .await;
    // --- introspection, revocation, access-tokens ---
    c.expect(
        "introspect without client",
        http.post(u("/oauth20/introspect")).form(&[("token", "x")]),
        Flat,
    )
    .await;
    c.expect(
        "introspect bad basic",
        http.post(u("/oauth20/introspect"))
            .header("authorization", "Basic %%%")
            .form(&[("token", "x")]),
        Flat,
    )
    .await;
    c.expect(
        "introspect text/plain",
        http.post(u("/oauth20/introspect"))
            .basic_auth(&app.confidential_key, Some(&app.confidential_secret))
            .header("content-type", "text/plain")
            .body("token=x"),
        Flat,
    )
    .await;
    c.expect(
        "revoke without token",
        http.post(u("/oauth20/revoke"))
            .basic_auth(&key, None::<&str>)
            .form(&[("x", "y")]),
        Flat,
    )
    .await;
    c.expect(
        "revoke bad json",
        http.post(u("/oauth20/revoke"))
            .basic_auth(&key, None::<&str>)
            .header("content-type", "application/json")
            .body("[[["),
        Flat,
    )
    .await;
    c.expect("GET revoke", http.get(u("/oauth20/revoke")), Flat)
        .await;
    c.expect(
        "access-tokens without token",
        http.get(u("/oauth20/access-tokens")),
        Flat,
    )
    .await;
    c.expect(
        "access-tokens garbage bearer",
        http.get(u("/oauth20/access-tokens")).bearer_auth("garbage"),
        Flat,
    )
    .await;
    c.expect(
        "access-tokens overlong bearer",
        http.get(u("/oauth20/access-tokens"))
            .bearer_auth("f".repeat(10_000)),
        Flat,
    )
    .await;
    c.expect(
        "access-tokens ?token= garbage",
        http.get(u("/oauth20/access-tokens?token=%00%01")),
        Flat,
    )
    .await;
    c.expect(
        "DELETE access-tokens bad bearer",
        http.delete(u("/oauth20/access-tokens")).bearer_auth("x"),
        Flat,
    )
    .await;
    c.expect(
        "PATCH access-tokens",
        http.request(Method::PATCH, u("/oauth20/access-tokens")),
        Flat,
    )
    .await;
    // --- the Shopper API ---
    c.expect(
        "shoppers/token without key",
        http.get(u("/v1/shoppers/token")),
        Nested,
    )
    .await;
    c.expect(
        "shoppers/token bad key",
        http.get(u("/v1/shoppers/token?apiKey=bad%20key")),
        Nested,
    )
    .await;
    c.expect(
        "shoppers/token repeated key",
        http.get(u(&format!("/v1/shoppers/token?apiKey={key}&apiKey=x"))),
        Nested,
    )
    .await;
    c.expect(
        "shoppers/token bad sessionToken",
        http.get(u(&format!(
            "/v1/shoppers/token?apiKey={key}&sessionToken=zz"
        ))),
        Nested,
    )
    .await;
    c.expect("me without token", http.get(u("/v1/shoppers/me")), Nested)
        .await;
    c.expect(
        "me garbage bearer",
        http.get(u("/v1/shoppers/me")).bearer_auth("nope"),
        Nested,
    )
    .await;
    c.expect(
        "me bad percent in token",
        http.get(u("/v1/shoppers/me?token=%ZZ")),
        Nested,
    )
    .await;
    c.expect(
        "me limited where full needed",
        http.get(u("/v1/shoppers/me/account"))
            .bearer_auth(&guest.access),
        Nested,
    )
    .await;
    c.expect(
        "POST me truncated json",
        http.post(u("/v1/shoppers/me"))
            .bearer_auth(&shopper.access)
            .header("content-type", "application/json")
            .body("{\"shopper\":"),
        Nested,
    )
    .await;
    c.expect(
        "POST address deep json",
        http.post(u("/v1/shoppers/me/addresses"))
            .bearer_auth(&shopper.access)
            .header("content-type", "application/json")
            .body(nested_json(5_000)),
        Nested,
    )
    .await;
    c.expect(
        "POST address wrong content type",
        http.post(u("/v1/shoppers/me/addresses"))
            .bearer_auth(&shopper.access)
            .header("content-type", "text/plain")
            .body("x"),
        Nested,
    )
    .await;
    c.expect(
        "POST address body over 64 KiB",
        http.post(u("/v1/shoppers/me/addresses"))
            .bearer_auth(&shopper.access)
            .header("content-type", "application/json")
            .body(format!("{{\"a\":\"{}\"}}", "x".repeat(70_000))),
        Nested,
    )
    .await;
    c.expect(
        "address id not a number",
        http.get(u("/v1/shoppers/me/addresses/abc"))
            .bearer_auth(&shopper.access),
        Nested,
    )
    .await;
    c.expect(
        "address id overflow",
        http.get(u("/v1/shoppers/me/addresses/99999999999999999999999"))
            .bearer_auth(&shopper.access),
        Nested,
    )
    .await;
    c.expect(
        "PUT me",
        http.put(u("/v1/shoppers/me")).bearer_auth(&shopper.access),
        Nested,
    )
    .await;
    c.expect("unknown /v1 path", http.get(u("/v1/nothing/here")), Nested)
        .await;
    c.expect(
        "encoded slashes",
        http.get(u("/v1/shoppers/me%2F..%2F..%2Fetc%2Fpasswd")),
        Nested,
    )
    .await;
    c.expect(
        "POST shoppers invalid json",
        http.post(u(&format!("/v1/shoppers?apiKey={key}")))
            .header("content-type", "application/json")
            .body("{\"shopper\": [}"),
        Nested,
    )
    .await;
    // --- SessionToken ---
    let st = |q: &str| http.get(u(&format!("/store/{SITE}/SessionToken{q}")));
    c.expect(
        "callback with parentheses",
        st("?callback=alert(1)"),
        Nested,
    )
    .await;
    c.expect("callback with markup", st("?callback=%3Cscript%3E"), Nested)
        .await;
    c.expect(
        "callback overlong",
        st(&format!("?callback={}", "a".repeat(500))),
        Nested,
    )
    .await;
    c.expect(
        "unknown site",
        http.get(u("/store/no-such-site/SessionToken")),
        Nested,
    )
    .await;
    c.expect(
        "site id with dots",
        http.get(u("/store/..%2F..%2Fetc/SessionToken")),
        Nested,
    )
    .await;
    c.expect("apiKey with bad characters", st("?apiKey=bad!key"), Nested)
        .await;
    c.expect("unknown apiKey", st("?apiKey=nosuchkey"), Nested)
        .await;
    c.expect("query invalid utf-8", st("?apiKey=%FF%FE"), Nested)
        .await;
    // --- hosted pages ---
    c.expect(
        "authorize without parameters",
        http.get(u("/oauth20/authorize")),
        Html,
    )
    .await;
    c.expect(
        "authorize unknown key",
        http.get(u(
            "/oauth20/authorize?client_id=nosuch&response_type=code&redirect_uri=https://x/",
        )),
        Html,
    )
    .await;
    c.expect("authorize unregistered redirect", http.get(u(&format!("/oauth20/authorize?client_id={key}&response_type=token&redirect_uri=https://evil.example/"))), Html).await;
    c.expect("authorize javascript: redirect", http.get(u(&format!("/oauth20/authorize?client_id={key}&response_type=token&redirect_uri=javascript:alert(1)"))), Html).await;
    c.expect(
        "authorize bad percent-encoding",
        http.get(u("/oauth20/authorize?%zz")),
        Html,
    )
    .await;
    c.expect(
        "sign-in page without parameters",
        http.get(u("/oauth20/sign-in")),
        Html,
    )
    .await;
    c.expect(
        "sign-in post wrong content type",
        http.post(u("/oauth20/sign-in"))
            .header("content-type", "application/json")
            .body("{}"),
        Html,
    )
    .await;
    c.expect(
        "sign-in post invalid utf-8",
        http.post(u("/oauth20/sign-in"))
            .header("content-type", form)
            .body(b"client_id=\xff".to_vec()),
        Html,
    )
    .await;
    c.expect(
        "sign-in post without csrf",
        http.post(u("/oauth20/sign-in")).form(&[
            ("client_id", key.as_str()),
            ("response_type", "token"),
            ("redirect_uri", "https://shop.example.com/callback"),
            ("username", "a"),
            ("password", "b"),
        ]),
        Html,
    )
    .await;
    // --- below the routes ---
    let mut many_headers = HeaderMap::new();
    for n in 0..100 {
        many_headers.insert(
            reqwest::header::HeaderName::from_bytes(format!("x-h{n}").as_bytes()).unwrap(),
            HeaderValue::from_static("v"),
        );
    }
    c.expect_raw("not HTTP at all", b"HELLO THERE\r\n\r\n")
        .await;
    c.expect_raw(
        "invalid utf-8 in the path",
        b"GET /v1/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    c.expect_raw(
        "bad content-length",
        b"POST /oauth20/token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    )
    .await;
    c.expect_raw("two content-lengths", b"POST /oauth20/token HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab").await;
    let mut raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
    for n in 0..100 {
        raw.extend_from_slice(format!("X-H{n}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    c.expect_raw("100 headers", &raw).await;
    let mut raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 40_000));
    raw.extend_from_slice(b"\r\n\r\n");
    c.expect_raw("40 KB header", &raw).await;

    assert!(c.checked >= 60, "only {} cases", c.checked);
    assert!(
        c.failures.is_empty(),
        "{} of {} cases failed:\n{}",
        c.failures.len(),
        c.checked,
        c.failures.join("\n")
    );
    // Healthy afterwards: probes and a real token request.
    assert_eq!(http.get(u("/healthz")).send().await.unwrap().status(), 200);
    ok_json(app.public_token(&[("grant_type", "password")]).await).await;
}
