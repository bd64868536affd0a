//! Prometheus metrics: the names, the recorder, and the request middleware.
//!
//! The `metrics` facade has one process-wide recorder; it is installed once, on the first
//! server built in the process, and every server in the process (tests start several) records
//! into and renders from it. Labels that tell servers apart (the API key) keep tests exact.

use crate::http::response_hook::{HookLayer, ResponseHook};
use axum::extract::MatchedPath;
use axum::http::Method;
use axum::response::Response;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{LazyLock, OnceLock, PoisonError, RwLock};
use std::time::{Duration, Instant};

pub const HTTP_REQUESTS: &str = "shopkeeper_http_requests_total";
pub const HTTP_DURATION: &str = "shopkeeper_http_request_duration_seconds";
pub const TOKENS_ISSUED: &str = "shopkeeper_tokens_issued_total";
pub const LEGACY_FLOW_USE: &str = "shopkeeper_legacy_flow_uses_total";
pub const FAILED_SIGN_INS: &str = "shopkeeper_failed_sign_ins_total";
pub const PASSWORD_VERIFICATIONS: &str = "shopkeeper_password_verifications_total";
pub const LIVE_SESSIONS: &str = "shopkeeper_live_sessions";
pub const CLEANUP_DELETED: &str = "shopkeeper_cleanup_deleted_rows_total";
/// Dead sessions a clean-up pass could not delete (retried on the next pass).
pub const CLEANUP_FAILURES: &str = "shopkeeper_cleanup_failures_total";

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

/// Handles of labelled metrics by a fixed part and a text part, made on first use. Asking
/// the recorder for a handle copies every label of its key, several allocations for each
/// request's metrics; a handle once held only counts. Both parts are bounded (route
/// templates, methods, statuses, grants, API keys), and so is the map.
struct Handles<Fixed, V> {
    by: RwLock<HashMap<Fixed, HashMap<String, V>>>,
}

impl<Fixed: Hash + Eq + Copy, V> Handles<Fixed, V> {
    fn new() -> Self {
        Self {
            by: RwLock::new(HashMap::new()),
        }
    }

    fn with<R>(
        &self,
        fixed: Fixed,
        text: &str,
        make: impl FnOnce() -> V,
        use_handle: impl FnOnce(&V) -> R,
    ) -> R {
        {
            let by = self.by.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(handle) = by.get(&fixed).and_then(|texts| texts.get(text)) {
                return use_handle(handle);
            }
        }
        let mut by = self.by.write().unwrap_or_else(PoisonError::into_inner);
        let handle = by
            .entry(fixed)
            .or_default()
            .entry(text.to_owned())
            .or_insert_with(make);
        use_handle(handle)
    }
}

/// The method as a label: methods outside HTTP's own set are all "other", so a client cannot
/// make new series by inventing methods.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "other",
    }
}

/// A request's counter and duration histogram.
type RequestHandles = (Counter, Histogram);
/// Request handles by (method, status) and route template.
static REQUEST_HANDLES: LazyLock<Handles<(&'static str, u16), RequestHandles>> =
    LazyLock::new(Handles::new);
/// Issued tokens by grant and API key.
static TOKENS_ISSUED_HANDLES: LazyLock<Handles<&'static str, Counter>> =
    LazyLock::new(Handles::new);
/// Legacy flow uses by flow and API key.
static LEGACY_FLOW_HANDLES: LazyLock<Handles<&'static str, Counter>> = LazyLock::new(Handles::new);

/// Counts and times every request by route template (never the raw path: bounded labels,
/// and no token in a path ends up in a label) and status. It goes inside the router, which
/// sets the matched route.
pub type TrackRequestsLayer = HookLayer<RequestTiming>;

/// What request metrics keep from a request until its response.
pub struct RequestTiming {
    route: Option<MatchedPath>,
    method: &'static str,
    started: Instant,
}

impl ResponseHook for RequestTiming {
    fn from_request<B>(request: &axum::http::Request<B>) -> Self {
        Self {
            route: request.extensions().get::<MatchedPath>().cloned(),
            method: method_label(request.method()),
            started: Instant::now(),
        }
    }

    fn on_response(self, response: Response) -> Response {
        let route = self.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        record_request(self.method, route, response.status().as_u16(), self.started);
        response
    }
}

fn record_request(method: &'static str, route: &str, status: u16, started: Instant) {
    REQUEST_HANDLES.with(
        (method, status),
        route,
        || {
            let route = route.to_owned();
            (
                metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status.to_string()),
                metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route),
            )
        },
        |(requests, duration)| {
            requests.increment(1);
            duration.record(started.elapsed().as_secs_f64());
        },
    );
}

/// A token pair issued: by grant (`password`, `anonymous`, `client_credentials`,
/// `refresh_token`, `implicit`, ...) and API key.
pub fn token_issued(grant: &'static str, api_key: &str) {
    TOKENS_ISSUED_HANDLES.with(
        grant,
        api_key,
        || metrics::counter!(TOKENS_ISSUED, "grant" => grant, "api_key" => api_key.to_owned()),
        |issued| issued.increment(1),
    );
}

/// A legacy flow (`password`, `implicit`) used by an API key: what to migrate away from.
pub fn legacy_flow_used(flow: &'static str, api_key: &str) {
    LEGACY_FLOW_HANDLES.with(
        flow,
        api_key,
        || metrics::counter!(LEGACY_FLOW_USE, "flow" => flow, "api_key" => api_key.to_owned()),
        |uses| uses.increment(1),
    );
}

/// A shopper sign-in refused (wrong username or password).
pub fn failed_sign_in(api_key: &str) {
    metrics::counter!(FAILED_SIGN_INS, "api_key" => api_key.to_owned()).increment(1);
}

/// A shopper password really checked (one Argon2id verification, counted when it runs), by
/// the API key of the sign-in: what the brute-force throttle lets through.
pub fn password_verified(api_key: &str) {
    metrics::counter!(PASSWORD_VERIFICATIONS, "api_key" => api_key.to_owned()).increment(1);
}
