//! What an operator sees: one log line per request at the default level (route template,
//! numeric latency, request id; no query string or token), tokens and failed sign-ins counted
//! by flow, a `# HELP` for every metric, and the process metrics.
//!
//! The log test runs the real binary on SQLite (logging is process-wide, and nothing here
//! depends on the engine); the metrics tests run on the suite's engine.
use crate::authorize::{implicit_request, pkce_code_request, redeem, sign_in};
use crate::helpers::*;
use serde_json::Value;
use std::collections::HashMap;

#[tokio::test]
async fn each_request_logs_one_line_with_route_template_numeric_latency_and_request_id() {
    // The default level: what an operator gets without asking.
    let server = LoggingBinary::start(None).await;
    let base = server.base.clone();
    let public = server.demo_str("/demo/public_client/api_key");

    let http = reqwest::Client::new();
    let pair: Value = send_json(
        http.post(format!("{base}/oauth20/token"))
            .basic_auth(&public, None::<&str>)
            .form(&[("grant_type", "password")]),
    )
    .await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    // The token in the query string, an id in the path: neither may reach the log.
    let r = http
        .get(format!(
            "{base}/v1/shoppers/me/carts/active/line-items/424242?token={access}&expand=all"
        ))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();

    let logs = server.stop();
    assert!(!logs.contains(&access), "the token was logged");

    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    // Driver noise (sqlx statements, connection chatter) is off by default.
    for line in &lines {
        let target = line["target"].as_str().unwrap_or("");
        assert!(
            !["sqlx", "hyper", "tower"]
                .iter()
                .any(|noisy| target.starts_with(noisy)),
            "{line}"
        );
    }
    let request_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "shopkeeper::request")
        .collect();
    let ours: Vec<&&Value> = request_lines
        .iter()
        .filter(|l| l["fields"]["request_id"] == request_id.as_str())
        .collect();
    assert_eq!(ours.len(), 1, "one line per request: {logs}");
    let line = ours[0];
    assert_eq!(line["level"], "INFO", "{line}");
    let fields = &line["fields"];
    assert_eq!(fields["method"], "GET", "{line}");
    assert_eq!(
        fields["route"], "/v1/shoppers/me/carts/active/line-items/{id}",
        "{line}"
    );
    assert_eq!(fields["status"].as_u64(), Some(u64::from(status)), "{line}");
    let latency = fields["latency_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("latency_ms is not a number: {line}"));
    assert!((0.0..60_000.0).contains(&latency), "{line}");
    let text = line.to_string();
    for leaked in ["424242", "?", "expand", "token="] {
        assert!(!text.contains(leaked), "{leaked} in {text}");
    }

    // The token request and the health checks have theirs, with their own ids.
    let token_line = request_lines
        .iter()
        .find(|l| l["fields"]["route"] == "/oauth20/token")
        .unwrap_or_else(|| panic!("no line for the token request: {logs}"));
    assert_eq!(token_line["fields"]["method"], "POST");
    assert_eq!(token_line["fields"]["status"].as_u64(), Some(200));
    assert!(
        token_line["fields"]["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty() && id != request_id)
    );
    assert!(
        request_lines
            .iter()
            .any(|l| l["fields"]["route"] == "/healthz")
    );
}

/// The value of `name{labels}` in a scrape, 0 when the series is not there yet.
fn count(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metric_sample(text, name, labels).unwrap_or(0.0)
}

/// The decoded parameters after `sep` in a redirect's `Location`.
fn redirect_params(r: &reqwest::Response, sep: char) -> HashMap<String, String> {
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap();
    let (_, rest) = location.split_once(sep).unwrap();
    form_urlencoded::parse(rest.as_bytes())
        .into_owned()
        .collect()
}

#[tokio::test]
async fn every_flow_that_issues_tokens_is_counted_under_its_flow() {
    let app = spawn_app().await;
    let key = app.public_key.as_str();

    // The password grant, as a guest and as a shopper; a refresh; client credentials.
    app.anonymous_pair().await;
    let pair = app.shopper_pair().await;
    ok_json(app.refresh(&pair.refresh).await).await;
    ok_json(
        app.confidential_token(&[("grant_type", "client_credentials")])
            .await,
    )
    .await;

    // The implicit flow through the hosted sign-in.
    let implicit = implicit_request(&app);
    let r = sign_in(
        &app,
        &browser(),
        &implicit,
        SHOPPER_USERNAME,
        SHOPPER_PASSWORD,
    )
    .await;
    assert!(redirect_params(&r, '#').contains_key("access_token"));

    // The code flow: the code, then its redemption.
    let verifier = "a-long-random-verifier-of-at-least-43-chars-0123456789";
    let challenge = pkce_challenge(verifier);
    let code_query = pkce_code_request(key, &challenge);
    let r = sign_in(
        &app,
        &browser(),
        &code_query,
        SHOPPER_USERNAME,
        SHOPPER_PASSWORD,
    )
    .await;
    let code = redirect_params(&r, '?')["code"].clone();
    ok_json(redeem(&app, &code, verifier).await).await;

    // The SessionToken site action with a key, and the session token it hands a page
    // without one, joined through /v1/shoppers/token.
    let page = browser();
    let action = app.url(&format!("/store/{SITE}/SessionToken"));
    let with_key = ok_json(
        page.get(&action)
            .query(&[("apiKey", key)])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(with_key["access_token"].is_string(), "{with_key}");
    let session = ok_json(page.get(&action).send().await.unwrap()).await;
    let session_token = session["session_token"].as_str().unwrap();
    let shoppers_token = app.url("/v1/shoppers/token");
    for query in [
        vec![("apiKey", key)],
        vec![("apiKey", key), ("sessionToken", session_token)],
    ] {
        let r = app
            .http
            .get(&shoppers_token)
            .query(&query)
            .send()
            .await
            .unwrap();
        ok_json(r).await;
    }

    let text = app.metrics_text().await;
    let issued = |flow, key| {
        count(
            &text,
            "shopkeeper_tokens_issued_total",
            &[("flow", flow), ("api_key", key)],
        )
    };
    for flow in [
        "password_guest",
        "password",
        "refresh_token",
        "implicit",
        "authorization_code",
        "session_token_action",
        "shoppers_token",
        "shoppers_token_join",
    ] {
        assert_eq!(issued(flow, key), 1.0, "{flow}: {text}");
    }
    assert_eq!(
        issued("client_credentials", &app.confidential_key),
        1.0,
        "{text}"
    );
    let legacy = |flow| {
        count(
            &text,
            "shopkeeper_legacy_flow_uses_total",
            &[("flow", flow), ("api_key", key)],
        )
    };
    assert_eq!(legacy("password"), 2.0, "guest and shopper: {text}");
    assert_eq!(legacy("implicit"), 1.0, "{text}");
}

#[tokio::test]
async fn failed_sign_ins_are_counted_by_flow_and_reason() {
    // One free failure: the second starts the wait, the third is throttled.
    let app = spawn_app_with(|s| throttle_accounts(s, 1, 30, 60)).await;
    let key = app.public_key.as_str();
    let page = implicit_request(&app);
    assert_eq!(
        app.password_grant(SHOPPER_USERNAME, "wrong").await.status(),
        400
    );
    assert_eq!(
        app.password_grant("nobody@example.com", "wrong")
            .await
            .status(),
        400
    );
    let r = sign_in(&app, &browser(), &page, SHOPPER_USERNAME, "wrong").await;
    assert_eq!(r.status(), 401);
    let r = sign_in(&app, &browser(), &page, "ghost@example.com", "wrong").await;
    assert_eq!(r.status(), 401);
    let r = sign_in(&app, &browser(), &page, SHOPPER_USERNAME, SHOPPER_PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        app.password_grant(SHOPPER_USERNAME, "wrong").await.status(),
        429
    );

    let text = app.metrics_text().await;
    let failed = |flow, reason| {
        count(
            &text,
            "shopkeeper_failed_sign_ins_total",
            &[("flow", flow), ("reason", reason), ("api_key", key)],
        )
    };
    for flow in ["password_grant", "hosted_page"] {
        for reason in ["bad_password", "unknown_user", "throttled"] {
            assert_eq!(failed(flow, reason), 1.0, "{flow} {reason}: {text}");
        }
    }
}

#[tokio::test]
async fn every_metric_has_help_and_the_process_metrics_are_there() {
    let app = spawn_app().await;
    // Something for every metric of the server's own.
    app.anonymous_pair().await;
    app.shopper_pair().await;
    let r = app.password_grant(SHOPPER_USERNAME, "wrong").await;
    assert_eq!(r.status(), 400);
    shopkeeper::housekeeping::purge_once_at(&app.state, &app.state.operations, app.now())
        .await
        .unwrap();
    let text = app.metrics_text().await;

    let typed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    for name in &typed {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# HELP {name} ")) && l.len() > name.len() + 8),
            "{name} has no # HELP line: {text}"
        );
    }
    for name in [
        "shopkeeper_http_requests_total",
        "shopkeeper_http_request_duration_seconds",
        "shopkeeper_tokens_issued_total",
        "shopkeeper_legacy_flow_uses_total",
        "shopkeeper_failed_sign_ins_total",
        "shopkeeper_password_verifications_total",
        "shopkeeper_live_sessions",
        "shopkeeper_cleanup_deleted_rows_total",
        "shopkeeper_cleanup_failures_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_threads",
        "process_start_time_seconds",
    ] {
        assert!(typed.contains(&name), "{name} not scraped: {text}");
    }
    assert!(text.contains("# TYPE process_cpu_seconds_total counter"));

    let value = |name| metric_sample(&text, name, &[]).unwrap();
    assert!(value("process_resident_memory_bytes") > 1e6, "{text}");
    assert!(value("process_open_fds") >= 3.0, "{text}");
    assert!(value("process_max_fds") >= value("process_open_fds"));
    // The test process runs the runtime's workers and the hashing thread at least.
    assert!(value("process_threads") >= 2.0, "{text}");
    // The process's start time is the system's, whatever the server's clock says.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = value("process_start_time_seconds");
    assert!(
        started <= now + 1.0 && started > now - 24.0 * 3600.0,
        "{started} vs {now}"
    );
}

#[tokio::test]
async fn a_request_cut_off_by_the_time_limit_is_counted_under_its_route_with_an_id() {
    let app = spawn_app_with(|s| s.security.request_timeout_ms = 300).await;
    // A route no other test stalls: the series is the process's, shared by every app.
    let cut_off = |text: &str| {
        count(
            text,
            "shopkeeper_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/oauth20/introspect"),
                ("status", "408"),
            ],
        )
    };
    let before = cut_off(&app.metrics_text().await);
    let answer = app
        .answer_to_stalled_body("/oauth20/introspect", "token")
        .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("x-request-id: "), "{answer}");
    assert!(cut_off(&app.metrics_text().await) >= before + 1.0);
}
