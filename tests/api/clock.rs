//! The test clock: a server started with the test-only `--test-clock` flag lets tests move its
//! clock (`POST /__test/clock`) instead of sleeping, every node of a database sharing it; a
//! server started without the flag has no such route and reads no such setting.

use crate::helpers::*;
use crate::multinode::{launch_node_with, provision_via_cli, wait_until_serving};

const ROUTE: &str = "/__test/clock";

#[tokio::test]
async fn without_the_flag_the_clock_route_does_not_exist_and_the_stored_offset_is_ignored() {
    let app = spawn_app_with(|s| s.test_clock = false).await;
    let r = app
        .http
        .post(app.url(ROUTE))
        .json(&serde_json::json!({ "advanceSeconds": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // An offset left in the database (by a test server once run on it) moves nothing here.
    let pair = app.anonymous_pair().await;
    app.state
        .store
        .add_to_server_setting(
            shopkeeper::clock::TEST_CLOCK_SETTING,
            (SITE_TTL + 60) * 1000,
        )
        .await
        .unwrap();
    assert_eq!(app.access_tokens(&pair.access).await.status(), 200);
    assert!(!app.state.clock.is_test());
    assert_eq!(app.state.clock.offset_ms(), 0);
}

#[tokio::test]
async fn moving_the_clock_expires_an_access_token_without_waiting() {
    let app = spawn_app().await;
    let pair = app.anonymous_pair().await;
    assert_eq!(app.access_tokens(&pair.access).await.status(), 200);

    let started = std::time::Instant::now();
    let moved = advance_clock_of(&app.http, &app.address, SITE_TTL as u64 + 1).await;
    assert_eq!(moved["offsetMs"], (SITE_TTL + 1) * 1000, "{moved}");
    assert!(moved["now"].as_i64().unwrap() >= app.now() - 1, "{moved}");
    let r = app.access_tokens(&pair.access).await;
    assert_oauth_error(r, 401, "invalid_token").await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(SITE_TTL as u64),
        "it took the token's lifetime"
    );
    // Moves add up.
    let moved = advance_clock_of(&app.http, &app.address, 5).await;
    assert_eq!(moved["offsetMs"], (SITE_TTL + 6) * 1000, "{moved}");
}

#[tokio::test]
async fn a_bad_move_is_refused() {
    let app = spawn_app().await;
    for body in [
        serde_json::json!({ "advanceSeconds": -5 }),
        serde_json::json!({ "advanceSeconds": "soon" }),
        serde_json::json!({}),
    ] {
        let r = app
            .http
            .post(app.url(ROUTE))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
    }
    assert_eq!(app.state.clock.offset_ms(), 0);
}

/// Two processes on one PostgreSQL database, one started with the flag and one with its
/// environment variable: a move on A is seen by the next request on B, which refuses the
/// token A issued once the moved clock is past its expiry.
#[tokio::test]
async fn two_nodes_on_one_database_share_one_clock() {
    let Some(db) = postgres_database_or_skip("shared test clock").await else {
        return;
    };
    let api_key = provision_via_cli(&db).await;
    let mut a = launch_node_with(&db, &["--test-clock"], &[]);
    let mut b = launch_node_with(&db, &[], &[("SHOPKEEPER_TEST_CLOCK", "true")]);
    wait_until_serving(&mut a).await;
    wait_until_serving(&mut b).await;
    for node in [&a, &b] {
        assert!(
            node.log().contains("--test-clock is on"),
            "no warning at start: {}",
            node.log()
        );
    }
    let http = reqwest::Client::new();
    let pair = TokenPair::from(
        ok_json(
            http.post(a.url("/oauth20/token"))
                .basic_auth(&api_key, None::<&str>)
                .form(&[("grant_type", "password")])
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    let check = |node: &crate::multinode::Node| {
        http.get(node.url("/oauth20/access-tokens"))
            .bearer_auth(&pair.access)
            .send()
    };
    assert_eq!(check(&b).await.unwrap().status(), 200);

    let moved = advance_clock_of(&http, &a.address, SITE_TTL as u64 + 1).await;
    assert_oauth_error(check(&b).await.unwrap(), 401, "invalid_token").await;
    let seen_by_b = advance_clock_of(&http, &b.address, 0).await;
    assert_eq!(seen_by_b["offsetMs"], moved["offsetMs"], "{seen_by_b}");
}
