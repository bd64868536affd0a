//! The request layer: every request's span, its metrics (by route template) and its one log
//! line.

use crate::response_hook::{HookLayer, ResponseHook};
use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{Method, Request};
use axum::response::Response;
use metrics::{Counter, Histogram};
use shopkeeper_services::instruments::{HTTP_DURATION, HTTP_REQUESTS, Handles};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};
use tower_http::request_id::RequestId;

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
    LazyLock::new(Handles::default);

/// The route a request matched, noted inside the router (where axum knows it) for
/// [`RequestsLayer`] outside it, which also sees the answers of the layers around the router
/// (the request timeout's 408).
#[derive(Clone, Default)]
struct RouteSlot(Arc<OnceLock<MatchedPath>>);

/// Inside the router: hands the matched route template to [`RequestsLayer`]. A plain function
/// for tower's `MapRequestLayer`: no future of its own.
pub fn note_route(request: Request<Body>) -> Request<Body> {
    let extensions = request.extensions();
    if let (Some(slot), Some(route)) = (
        extensions.get::<RouteSlot>(),
        extensions.get::<MatchedPath>(),
    ) {
        let _ = slot.0.set(route.clone());
    }
    request
}

/// Around the router: every request gets a `request` span (its request id, on every line
/// logged while serving it), is counted and timed by route template (never the raw path:
/// bounded labels, and no id or token from a path in a label or the log) and status, and
/// ends with one `info` line on the `shopkeeper::request` target: method, route, status,
/// latency_ms (a number) and request_id. Never the query string, a header or a body.
pub type RequestsLayer = HookLayer<RequestNote>;

/// What the request layer keeps from a request until its answer.
pub struct RequestNote {
    method: &'static str,
    route: RouteSlot,
    request_id: Option<axum::http::HeaderValue>,
    span: Option<tracing::Span>,
    started: Instant,
}

impl ResponseHook for RequestNote {
    fn from_request<B>(request: &mut Request<B>) -> Self {
        let route = RouteSlot::default();
        request.extensions_mut().insert(route.clone());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.header_value().clone());
        let id_text = request_id.as_ref().and_then(|v| v.to_str().ok());
        let span = tracing::info_span!("request", request_id = id_text.unwrap_or(""));
        Self {
            method: method_label(request.method()),
            route,
            request_id,
            span: Some(span),
            started: Instant::now(),
        }
    }

    fn take_span(&mut self) -> tracing::Span {
        self.span.take().unwrap_or_else(tracing::Span::none)
    }

    fn on_response(self, response: Response) -> Response {
        let latency = self.started.elapsed();
        let status = response.status().as_u16();
        let route = self.route.0.get().map_or("unmatched", MatchedPath::as_str);
        record_request(self.method, route, status, latency);
        tracing::info!(
            target: "shopkeeper::request",
            method = self.method,
            route,
            status,
            latency_ms = latency_ms(latency),
            request_id = self
                .request_id
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or(""),
            "request"
        );
        response
    }
}

/// Milliseconds with microsecond precision: a number in JSON logs, not a "12 ms" string.
fn latency_ms(latency: Duration) -> f64 {
    latency.as_micros() as f64 / 1000.0
}

fn record_request(method: &'static str, route: &str, status: u16, latency: Duration) {
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
            duration.record(latency.as_secs_f64());
        },
    );
}
