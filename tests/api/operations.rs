//! Probes, metrics and the clean-up task.
use crate::helpers::*;
use shopkeeper::domain::SessionTtl;
use std::time::{Duration, Instant};

#[tokio::test]
async fn healthz_and_readyz_answer_when_the_database_is_current() {
    let app = spawn_app().await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status(), 200);
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.state.store.close().await;
    let r = app.get("/readyz").await;
    assert_eq!(r.status(), 503);
}

#[tokio::test]
async fn requests_carry_a_request_id_header() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let r = app.get("/healthz").await;
        let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let uuid = uuid::Uuid::parse_str(&id).expect("a UUID");
        assert_eq!(uuid.get_version(), Some(uuid::Version::Random));
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "each request gets its own id");
    let r = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn metrics_count_tokens_by_flow_and_key_requests_and_failed_sign_ins() {
    let app = spawn_app().await;
    app.anonymous_pair().await;
    app.anonymous_pair().await;
    let pair = app.shopper_pair().await;
    app.refresh(&pair.refresh).await;
    let r = app.password_grant(SHOPPER_USERNAME, "wrong").await;
    assert_eq!(r.status(), 400);

    let text = app.metrics_text().await;
    let key = app.public_key.as_str();
    let issued = |flow| {
        metric_sample(
            &text,
            "shopkeeper_tokens_issued_total",
            &[("api_key", key), ("flow", flow)],
        )
    };
    assert_eq!(issued("password_guest"), Some(2.0), "{text}");
    assert_eq!(issued("password"), Some(1.0));
    assert_eq!(issued("refresh_token"), Some(1.0));
    assert_eq!(
        metric_sample(
            &text,
            "shopkeeper_legacy_flow_uses_total",
            &[("api_key", key), ("flow", "password")]
        ),
        Some(3.0)
    );
    assert_eq!(
        metric_sample(
            &text,
            "shopkeeper_failed_sign_ins_total",
            &[
                ("api_key", key),
                ("flow", "password_grant"),
                ("reason", "bad_password")
            ]
        ),
        Some(1.0)
    );
    // Requests by route template and status, with a latency histogram.
    assert!(
        metric_sample(
            &text,
            "shopkeeper_http_requests_total",
            // POST: the recorder is the process's, and a browser test's preflights (OPTIONS)
            // count under the same route and status.
            &[
                ("method", "POST"),
                ("route", "/oauth20/token"),
                ("status", "200")
            ]
        )
        .unwrap()
            >= 4.0
    );
    assert!(
        text.contains("shopkeeper_http_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert!(metric_sample(&text, "shopkeeper_live_sessions", &[]).is_some());
}

#[tokio::test]
async fn invented_methods_share_one_metrics_label() {
    let app = spawn_app().await;
    let brew = reqwest::Method::from_bytes(b"BREW").unwrap();
    let r = app
        .http
        .request(brew, app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let text = app.metrics_text().await;
    assert!(
        metric_sample(
            &text,
            "shopkeeper_http_requests_total",
            &[
                ("method", "other"),
                ("route", "/healthz"),
                ("status", "405")
            ]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        !text.contains("BREW"),
        "a client-chosen method became a label"
    );
}

#[tokio::test]
async fn a_steady_stream_of_short_lived_tokens_does_not_grow_the_database() {
    let app = spawn_app_with(|s| {
        s.tokens.refresh_ttl_seconds = 1;
        s.operations.cleanup_interval_seconds = 1;
        s.operations.cleanup_batch = 7; // several batches per pass
    })
    .await;
    app.state
        .store
        .set_site_session_ttl(&site_id(), SessionTtl::from_seconds(1).unwrap())
        .await
        .unwrap();
    const ROUNDS: usize = 8;
    const PER_ROUND: usize = 25;
    let mut most_sessions = 0;
    for _ in 0..ROUNDS {
        for _ in 0..PER_ROUND {
            app.anonymous_pair().await;
        }
        let counts = app.state.store.table_counts().await.unwrap();
        most_sessions = most_sessions.max(counts.sessions);
        // The round's tokens and sessions expire, and the move wakes the clean-up; the next
        // round starts once it has begun deleting (the stream is paced by the clean-up, not by
        // a real-time sleep).
        app.advance_clock(2).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        while app.state.store.table_counts().await.unwrap().sessions >= counts.sessions {
            assert!(
                Instant::now() < deadline,
                "no clean-up pass after the clock moved"
            );
            tokio::task::yield_now().await;
        }
    }
    let issued = (ROUNDS * PER_ROUND) as i64;
    assert!(
        most_sessions <= issued / 2,
        "sessions peaked at {most_sessions} of {issued} issued: clean-up is not keeping up"
    );
    // Once the stream stops, everything expired goes.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let c = app.state.store.table_counts().await.unwrap();
        if c.sessions == 0 && c.access_tokens == 0 && c.refresh_tokens == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "rows left after the stream: {c:?}"
        );
        app.advance_clock(1).await;
    }
}

#[tokio::test]
async fn clean_up_keeps_live_sessions_and_their_tokens() {
    let app = spawn_app_with(|s| s.operations.cleanup_interval_seconds = 1).await;
    let pair = app.anonymous_pair().await;
    let used = app.shopper_pair().await;
    let next = TokenPair::from(ok_json(app.refresh(&used.refresh).await).await);
    clean_up_passes(&app).await;
    assert_eq!(app.access_tokens(&pair.access).await.status(), 200);
    assert_eq!(app.access_tokens(&next.access).await.status(), 200);
    ok_json(app.refresh(&pair.refresh).await).await;
}

/// Moves the clock until a clean-up pass has run after the move: a token of a one-second site,
/// made for the purpose, is deleted once it expired (moving the clock wakes the clean-up).
async fn clean_up_passes(app: &TestApp) {
    let key = app.site_with_public_key("brief", Some(1)).await;
    ok_json(
        app.token_with(&key, None, &[("grant_type", "password")])
            .await,
    )
    .await;
    let with_it = app.state.store.table_counts().await.unwrap().access_tokens;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        app.advance_clock(2).await;
        if app.state.store.table_counts().await.unwrap().access_tokens < with_it {
            return;
        }
        assert!(Instant::now() < deadline, "no clean-up pass ran");
    }
}

/// Rows of `table` (the test's own SQL on the app's database, either engine).
async fn count_rows(app: &TestApp, table: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    // Table names are the test's constants.
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    n
}

/// Dead sessions that browsers (`SessionToken`'s cookie) and authorization codes point to are
/// deleted with those rows; a session the database refuses to delete (here: a row of a table
/// the clean-up does not know holds it) is counted in /metrics and the rest of the pass goes
/// on. Time moves by the pass's `at`, not by waiting or by short lifetimes that a slow run
/// could outlast.
#[tokio::test]
async fn clean_up_survives_sessions_that_browsers_codes_and_unknown_rows_point_to() {
    let app = spawn_app().await;
    // Three browsers with a SessionToken cookie each (a session, its browser row and its
    // session token); a hosted code-flow sign-in (a code naming the session).
    let mut browser_tokens = Vec::new();
    for _ in 0..3 {
        let browser = browser();
        let body = ok_json(
            browser
                .get(app.url(&format!(
                    "/store/{SITE}/SessionToken?apiKey={}",
                    app.public_key
                )))
                .send()
                .await
                .unwrap(),
        )
        .await;
        browser_tokens.push(body["access_token"].as_str().unwrap().to_owned());
    }
    let verifier = "a-long-random-verifier-of-at-least-43-chars-0123456789";
    let challenge = pkce_challenge(verifier);
    let signed_in = crate::authorize::sign_in(
        &app,
        &browser(),
        &[
            ("client_id", app.public_key.as_str()),
            ("response_type", "code"),
            ("redirect_uri", crate::authorize::REDIRECT),
            ("state", "s"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ],
        SHOPPER_USERNAME,
        SHOPPER_PASSWORD,
    )
    .await;
    assert_eq!(signed_in.status(), 302);
    assert!(count_rows(&app, "browser_sessions").await >= 3);
    assert_eq!(count_rows(&app, "authorization_codes").await, 1);

    // A row the clean-up knows nothing of holds the first browser's session.
    let held = app
        .state
        .verifier
        .verify(&browser_tokens[0])
        .await
        .unwrap()
        .session_id
        .to_string();
    {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut db = sqlx::AnyConnection::connect(&app.database_url)
            .await
            .unwrap();
        sqlx::query(
            "CREATE TABLE planted_child (session_id TEXT NOT NULL REFERENCES shopper_sessions(id))",
        )
        .execute(&mut db)
        .await
        .unwrap();
        sqlx::query("INSERT INTO planted_child (session_id) VALUES ($1)")
            .bind(&held)
            .execute(&mut db)
            .await
            .unwrap();
        db.close().await.unwrap();
    }
    let failures_before = metric_sample(
        &app.metrics_text().await,
        "shopkeeper_cleanup_failures_total",
        &[],
    )
    .unwrap_or(0.0);

    // The pass runs as of a time when every session made here has expired (the refresh
    // lifetime, one year, bounds them all).
    let later = app.now() + 2 * 366 * 24 * 3600;
    let mut operations = app.state.operations.as_ref().clone();
    operations.cleanup_batch = 2; // the held session fails inside a batch, others beside it
    let pass = shopkeeper::housekeeping::purge_once_at(&app.state, &operations, later)
        .await
        .expect("one undeletable session does not fail the pass");
    assert_eq!(
        pass.failed_sessions
            .iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>(),
        vec![&held]
    );
    assert_eq!(
        pass.sessions, 3,
        "two browsers' and the sign-in's: {pass:?}"
    );
    assert_eq!(
        count_rows(&app, "shopper_sessions").await,
        1,
        "only the held one is left"
    );
    assert_eq!(count_rows(&app, "browser_sessions").await, 1);
    assert_eq!(count_rows(&app, "authorization_codes").await, 0);
    assert_eq!(count_rows(&app, "access_tokens").await, 0);
    let failures_after = metric_sample(
        &app.metrics_text().await,
        "shopkeeper_cleanup_failures_total",
        &[],
    )
    .unwrap();
    assert!(failures_after >= failures_before + 1.0);

    // The next pass fails on the same row again, and still finishes.
    let again = shopkeeper::housekeeping::purge_once_at(&app.state, &operations, later)
        .await
        .unwrap();
    assert_eq!(again.failed_sessions.len(), 1);
}
