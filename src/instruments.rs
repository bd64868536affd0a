//! Prometheus metrics: the names, the recorder, and the request middleware.
//!
//! The `metrics` facade has one process-wide recorder; it is installed once, on the first
//! server built in the process, and every server in the process (tests start several) records
//! into and renders from it. Labels that tell servers apart (the API key) keep tests exact.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const HTTP_REQUESTS: &str = "shopkeeper_http_requests_total";
pub const HTTP_DURATION: &str = "shopkeeper_http_request_duration_seconds";
pub const TOKENS_ISSUED: &str = "shopkeeper_tokens_issued_total";
pub const LEGACY_FLOW_USE: &str = "shopkeeper_legacy_flow_uses_total";
pub const FAILED_SIGN_INS: &str = "shopkeeper_failed_sign_ins_total";
pub const LIVE_SESSIONS: &str = "shopkeeper_live_sessions";
pub const CLEANUP_DELETED: &str = "shopkeeper_cleanup_deleted_rows_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often histogram samples are folded into their buckets.
const UPKEEP_PERIOD: Duration = Duration::from_secs(5);

/// The recorder keeps each histogram sample (8 bytes a request) until it is folded into the
/// buckets, which a scrape does; with no one scraping `/metrics` they would pile up for the
/// life of the process (hundreds of MB an hour at full load). A thread of its own, so that it
/// serves the one process-wide recorder whatever runtime is running.
fn start_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_PERIOD);
                handle.run_upkeep();
            }
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "could not start the metrics upkeep thread");
    }
}

/// The process's recorder handle, installing the recorder on first use.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(HTTP_DURATION.to_owned()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            start_upkeep(handle.clone());
            // Fails only if another recorder was installed first (an embedding program's);
            // then that one receives the measurements and this handle renders nothing.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            handle
        })
        .clone()
}

/// Counts and times every request by route template (never the raw path: bounded labels,
/// and no token in a path ends up in a label) and status.
pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// A token pair issued: by grant (`password`, `anonymous`, `client_credentials`,
/// `refresh_token`, `implicit`, ...) and API key.
pub fn token_issued(grant: &'static str, api_key: &str) {
    metrics::counter!(TOKENS_ISSUED, "grant" => grant, "api_key" => api_key.to_owned())
        .increment(1);
}

/// A legacy flow (`password`, `implicit`) used by an API key: what to migrate away from.
pub fn legacy_flow_used(flow: &'static str, api_key: &str) {
    metrics::counter!(LEGACY_FLOW_USE, "flow" => flow, "api_key" => api_key.to_owned())
        .increment(1);
}

/// A shopper sign-in refused (wrong username or password).
pub fn failed_sign_in(api_key: &str) {
    metrics::counter!(FAILED_SIGN_INS, "api_key" => api_key.to_owned()).increment(1);
}
