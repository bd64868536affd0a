//! Probes and metrics for operators: `/healthz`, `/readyz`, `/metrics`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_services::instruments;
use shopkeeper_services::state::AppState;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    description = "Liveness: the process answers. Access: none.",
    responses((status = 200, description = "Up", body = String, content_type = "text/plain"))
)]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    description = "Readiness: the database answers and every migration is applied. Access: none.",
    responses(
        (status = 200, description = "Ready", body = String, content_type = "text/plain"),
        (status = 503, description = "Not ready", body = String, content_type = "text/plain"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let unready = |why: &'static str| (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    if state.store.ping().await.is_err() {
        return unready("database unreachable");
    }
    match state.store.pending_migrations().await {
        Ok(0) => "ready".into_response(),
        Ok(_) => unready("migrations pending"),
        Err(_) => unready("migration state unreadable"),
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    description = "Prometheus metrics. Access: none (bind the listener privately or filter at \
                   the proxy if that matters).",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    // Computed at scrape time: a count query per scrape, not per request.
    if let Ok(live) = state.store.live_sessions(state.clock.now()).await {
        metrics::gauge!(instruments::LIVE_SESSIONS).set(live as f64);
    }
    instruments::collect_process_metrics();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}
