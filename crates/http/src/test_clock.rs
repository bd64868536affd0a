//! The test clock's route and middleware, installed only on a server started with the
//! test-only `--test-clock` flag: black-box tests move the clock instead of sleeping. Not part
//! of the API (not in `/openapi.json`): without the flag the route does not exist.

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use shopkeeper_services::clock::AdvanceError;
use shopkeeper_services::state::AppState;

/// Where tests move the clock.
pub const PATH: &str = "/__test/clock";

/// Adds the route, and the middleware that gives every request the clock all nodes share, to
/// `router` when the server runs on a test clock; returns it unchanged otherwise.
pub fn install(router: Router<AppState>, state: &AppState) -> Router<AppState> {
    if !state.clock.is_test() {
        return router;
    }
    router
        .route(PATH, post(advance))
        .layer(middleware::from_fn_with_state(state.clone(), refresh))
}

/// Takes the shared offset before the request reads the clock, so that a move made on one
/// node is seen by the next request on any other.
async fn refresh(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Err(e) = state.clock.refresh(&state.store).await {
        // The request still runs, on this node's last known offset (a database outage is
        // answered by the handler as it would be without the flag).
        tracing::warn!(error = %e, "could not read the shared test clock");
    }
    next.run(request).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Advance {
    /// Seconds to move every node's clock forward (0 reads it).
    advance_seconds: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Moved {
    /// How far the clock is ahead of the system clock.
    offset_ms: i64,
    /// The clock's time, in seconds since the Unix epoch.
    now: i64,
}

async fn advance(State(state): State<AppState>, Json(body): Json<Advance>) -> Response {
    let ms = body.advance_seconds.saturating_mul(1000);
    match state.clock.advance(&state.store, ms).await {
        Ok(offset_ms) => Json(Moved {
            offset_ms,
            now: state.clock.now(),
        })
        .into_response(),
        Err(AdvanceError::NotATestClock(e)) => {
            (StatusCode::NOT_FOUND, e.to_string()).into_response()
        }
        Err(AdvanceError::Store(e)) => {
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
    }
}
