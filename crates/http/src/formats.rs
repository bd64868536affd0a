//! The API's formats and browser transports, decided once per request before routing:
//! XML or JSON (`format=`, then a `.xml` path, then `Accept`; with none of them the Commerce
//! API's configured default and OAuth's JSON), JSONP (`callback=` on a Shopper API GET) and
//! method tunnelling (`GET …?method=post`, for the rows of `access_policy::TUNNELLED`).
//!
//! Handlers only ever write JSON: an XML or JSONP answer is the JSON answer rendered again
//! here (`xml::from_json`), so the two formats cannot drift apart. Requests that ask for
//! neither pass straight through, with no allocation on their path.

use super::error::{Code, OAuthError, ShopperApiError};
use super::params::Params;
use super::xml;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_domain::access_policy;
use shopkeeper_domain::authorize::valid_jsonp_callback;
use shopkeeper_services::settings::WireFormat;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// The API families that speak both formats; pages and operations endpoints are not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// `/v1/...`: the Commerce (Shopper) API, nested errors, JSONP and tunnelling.
    ShopperApi,
    /// `/store/{site}/SessionToken`: nested errors, its own JSONP.
    SessionToken,
    /// The OAuth resources: flat errors, JSON unless asked otherwise.
    OAuth,
    /// DigitalRiver.js-style `/payments/sources`.
    Payments,
}

impl Family {
    fn of(path: &str) -> Option<Self> {
        if path.starts_with("/v1/") {
            Some(Self::ShopperApi)
        } else if path.starts_with("/store/") {
            Some(Self::SessionToken)
        } else if path.starts_with("/oauth20/")
            && !matches!(path, "/oauth20/authorize" | "/oauth20/sign-in")
        {
            Some(Self::OAuth)
        } else if path.starts_with("/payments/") {
            Some(Self::Payments)
        } else {
            None
        }
    }

    /// A refusal of the request itself, in the family's error shape.
    fn refuse(self, code: Code, description: &str) -> Response {
        match self {
            Self::OAuth | Self::Payments => {
                OAuthError::new(code.status(), "invalid_request", description).into_response()
            }
            Self::ShopperApi | Self::SessionToken => {
                ShopperApiError::new(code, description).into_response()
            }
        }
    }

    /// The document element of an XML answer whose JSON is not one object field (the flat
    /// OAuth and payments bodies); the Shopper API's answers always are.
    fn root(self, path: &str, failed: bool) -> &'static str {
        match (self, failed) {
            (Self::OAuth, true) => "errors",
            (Self::Payments, true) => "error",
            (Self::Payments, false) => "source",
            (_, false) if path.ends_with("/token") || path.ends_with("/token.json") => "token",
            (Self::OAuth, false) if path.ends_with("/access-tokens") => "accessToken",
            (Self::OAuth, false) if path.ends_with("/introspect") => "introspection",
            _ => "response",
        }
    }
}

/// How an answer leaves: JSON as the handler wrote it, or rendered again.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rendering {
    /// The document element of a flat body follows from the family, path and status.
    Xml { family: Family },
    /// `/**/callback(json);`
    Jsonp { callback: String },
}

/// The layer (see the module docs); `default` is the Commerce API's format when a request
/// names none (`--default-format`).
#[derive(Debug, Clone, Copy)]
pub struct FormatLayer {
    default: WireFormat,
}

impl FormatLayer {
    pub fn new(default: WireFormat) -> Self {
        Self { default }
    }
}

impl<S> Layer<S> for FormatLayer {
    type Service = Formats<S>;
    fn layer(&self, inner: S) -> Formats<S> {
        Formats {
            inner,
            default: self.default,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Formats<S> {
    inner: S,
    default: WireFormat,
}

/// What a request asks of this layer, or its refusal.
fn plan(request: &mut Request<Body>, default: WireFormat) -> Result<Option<Rendering>, Refused> {
    let path = request.uri().path();
    let Some(family) = Family::of(path) else {
        return Ok(None);
    };
    // A `.xml` twin is its path answered in XML (`.json` twins are routes of their own).
    let xml_suffix = path.len() > ".xml".len() && path.ends_with(".xml");
    if xml_suffix {
        let trimmed = path.trim_end_matches(".xml").to_owned();
        super::routes::replace_path(request, &trimmed);
    }
    let query = request.uri().query().unwrap_or("");
    let asks = |name: &str| query.contains(name);
    let params = if asks("format=") || asks("callback=") || asks("method=") {
        Params::from_query(Some(query))
            .map_err(|e| Refused::from(family.refuse(Code::InvalidRequest, &e.0)))?
    } else {
        Params::default()
    };
    let format = match params.get("format").map(str::to_ascii_lowercase).as_deref() {
        Some("xml") => WireFormat::Xml,
        Some("json") => WireFormat::Json,
        Some(_) => {
            return Err(family
                .refuse(Code::InvalidRequest, "format must be json or xml")
                .into());
        }
        None if xml_suffix => WireFormat::Xml,
        None => match accepted(request) {
            Some(format) => format,
            None if family == Family::ShopperApi => default,
            None => WireFormat::Json,
        },
    };
    let mut rendering = match format {
        WireFormat::Xml => Some(Rendering::Xml { family }),
        WireFormat::Json => None,
    };
    if family != Family::ShopperApi || request.method() != Method::GET {
        return Ok(rendering);
    }
    if let Some(callback) = params.get("callback") {
        if !valid_jsonp_callback(callback) {
            return Err(Refused {
                refusal: Box::new(family.refuse(
                    Code::InvalidRequest,
                    "callback must be a JavaScript identifier or dotted path",
                )),
                rendering,
            });
        }
        // A script tag reads JavaScript: JSONP is JSON whatever else was asked.
        rendering = Some(Rendering::Jsonp {
            callback: callback.to_owned(),
        });
    }
    if let Some(method) = params.get("method") {
        if let Err(refusal) = tunnel(request, method) {
            return Err(Refused {
                refusal: Box::new(refusal.into_response()),
                rendering,
            });
        }
    }
    Ok(rendering)
}

/// A request refused before routing, and how the refusal is rendered (a refused tunnel
/// answers its JSONP caller as JSONP).
#[derive(Debug)]
struct Refused {
    refusal: Box<Response>,
    rendering: Option<Rendering>,
}

impl From<Response> for Refused {
    fn from(refusal: Response) -> Self {
        Self {
            refusal: Box::new(refusal),
            rendering: None,
        }
    }
}

/// `GET …?method=post|delete`: the request becomes that method, without a body, when its row
/// may be tunnelled; the route's own access level then applies as to the real method.
fn tunnel(request: &mut Request<Body>, method: &str) -> Result<(), ShopperApiError> {
    let method = method.to_ascii_uppercase();
    if method == "GET" {
        return Ok(());
    }
    let path = request.uri().path().trim_end_matches('/');
    if !access_policy::tunnels(&method, path) {
        return Err(ShopperApiError::new(
            Code::Forbidden,
            format!(
                "{method} cannot be tunnelled to this resource: method= is only for the cart, \
                 its line items and the shopper's locale and currency; send a real {method}"
            ),
        ));
    }
    *request.method_mut() = Method::from_bytes(method.as_bytes()).expect("a row's method");
    *request.body_mut() = Body::empty();
    let headers = request.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
    Ok(())
}

/// The format `Accept` prefers: the highest quality of JSON and XML, the earlier on a tie;
/// `None` when it names neither (no header, `*/*`, `text/html`).
fn accepted(request: &Request<Body>) -> Option<WireFormat> {
    let mut best: Option<(WireFormat, f32)> = None;
    for value in request.headers().get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let format = match media.as_str() {
                "application/json" | "text/json" | "application/javascript" => WireFormat::Json,
                "application/xml" | "text/xml" => WireFormat::Xml,
                _ => continue,
            };
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if quality > 0.0 && best.is_none_or(|(_, q)| quality > q) {
                best = Some((format, quality));
            }
        }
    }
    best.map(|(format, _)| format)
}

const JAVASCRIPT: &str = "application/javascript; charset=utf-8";

/// `json` as the JSONP script calling `callback` (a checked name; no `json`: called empty).
/// `/**/` keeps the body from starting with attacker-chosen bytes (Rosetta Flash).
pub fn jsonp_script(callback: &str, json: &[u8]) -> Vec<u8> {
    let mut script = Vec::with_capacity(json.len() + callback.len() + 8);
    script.extend_from_slice(b"/**/");
    script.extend_from_slice(callback.as_bytes());
    script.push(b'(');
    script.extend_from_slice(json);
    script.extend_from_slice(b");");
    script
}

/// The handler's JSON answer, rendered as asked. Answers that are not JSON (pages, a
/// handler's own JSONP, empty bodies) pass as they are.
async fn render(response: Response, rendering: Rendering, path: String) -> Response {
    if let Rendering::Jsonp { callback } = &rendering {
        if response.status() == StatusCode::NO_CONTENT {
            // A script tag runs a 204's empty body and no callback: call it without an answer.
            let (mut parts, _) = response.into_parts();
            parts.status = StatusCode::OK;
            let script = jsonp_script(callback, b"");
            return finish(parts, JAVASCRIPT, script, &rendering);
        }
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Bodies are the server's own, already in memory.
    let Ok(json) = axum::body::to_bytes(body, usize::MAX).await else {
        return internal();
    };
    let (content_type, bytes) = match &rendering {
        Rendering::Xml { family } => {
            let root = family.root(&path, !parts.status.is_success());
            match xml::from_json(&json, root) {
                Ok(bytes) => (xml::CONTENT_TYPE, bytes),
                Err(_) => return internal(),
            }
        }
        Rendering::Jsonp { callback } => (JAVASCRIPT, jsonp_script(callback, &json)),
    };
    finish(parts, content_type, bytes, &rendering)
}

/// The rendered answer with its media type and the headers its transport needs.
fn finish(
    mut parts: axum::http::response::Parts,
    content_type: &'static str,
    bytes: Vec<u8>,
    rendering: &Rendering,
) -> Response {
    let headers = &mut parts.headers;
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.remove(header::CONTENT_LENGTH);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if matches!(rendering, Rendering::Jsonp { .. }) {
        // The token rides in the script's URL: keep it out of caches and referrers.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    let mut response = Response::from_parts(parts, Body::from(bytes));
    vary_on_accept(&mut response);
    response
}

/// The answer depends on `Accept`: a cache must not serve one format's answer for the other.
fn vary_on_accept(response: &mut Response) {
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
}

fn internal() -> Response {
    ShopperApiError::new(Code::SystemError, "the answer could not be rendered").into_response()
}

impl<S> Service<Request<Body>> for Formats<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Formatted<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let negotiated = Family::of(request.uri().path()).is_some();
        match plan(&mut request, self.default) {
            Err(Refused {
                refusal,
                rendering: None,
            }) => Formatted::Ready {
                response: Some(*refusal),
            },
            Err(Refused {
                refusal,
                rendering: Some(rendering),
            }) => {
                let path = request.uri().path().to_owned();
                Formatted::Rendered {
                    inner: Box::pin(render(*refusal, rendering, path)),
                }
            }
            Ok(None) => Formatted::Direct {
                inner: self.inner.call(request),
                negotiated,
            },
            Ok(Some(rendering)) => {
                let path = request.uri().path().to_owned();
                let answer = self.inner.call(request);
                Formatted::Rendered {
                    inner: Box::pin(async move {
                        let Ok(response) = answer.await;
                        render(response, rendering, path).await
                    }),
                }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer: the inner service's own (no allocation), one rendered again, or a refusal.
    #[project = FormattedProjection]
    pub enum Formatted<F> {
        Direct { #[pin] inner: F, negotiated: bool },
        Rendered { inner: Pin<Box<dyn Future<Output = Response> + Send>> },
        Ready { response: Option<Response> },
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for Formatted<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            FormattedProjection::Direct { inner, negotiated } => {
                let negotiated = *negotiated;
                inner.poll(cx).map(|answer| {
                    answer.map(|mut response| {
                        if negotiated {
                            vary_on_accept(&mut response);
                        }
                        response
                    })
                })
            }
            FormattedProjection::Rendered { inner } => inner.as_mut().poll(cx).map(Ok),
            FormattedProjection::Ready { response } => {
                Poll::Ready(Ok(response.take().expect("polled after it was ready")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, uri: &str, accept: Option<&str>) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(accept) = accept {
            builder = builder.header(header::ACCEPT, accept);
        }
        builder.body(Body::empty()).unwrap()
    }

    fn planned(method: &str, uri: &str, accept: Option<&str>) -> Option<Rendering> {
        plan(&mut request(method, uri, accept), WireFormat::Json).unwrap()
    }

    const XML: Option<Rendering> = Some(Rendering::Xml {
        family: Family::ShopperApi,
    });

    #[test]
    fn format_beats_the_xml_suffix_which_beats_accept() {
        let products = "/v1/shoppers/me/products";
        assert_eq!(planned("GET", products, None), None);
        assert_eq!(planned("GET", products, Some("*/*")), None);
        assert_eq!(planned("GET", products, Some("application/xml")), XML);
        assert_eq!(planned("GET", products, Some("text/xml")), XML);
        assert_eq!(
            planned(
                "GET",
                &format!("{products}?format=json"),
                Some("application/xml")
            ),
            None
        );
        assert_eq!(planned("GET", &format!("{products}?format=XML"), None), XML);
        assert_eq!(
            planned("GET", &format!("{products}.xml?format=json"), None),
            None
        );
        let mut suffixed = request("GET", &format!("{products}.xml?pageSize=1"), None);
        assert_eq!(plan(&mut suffixed, WireFormat::Json).unwrap(), XML);
        assert_eq!(suffixed.uri(), "/v1/shoppers/me/products?pageSize=1");
        // Pages are never rendered again.
        assert_eq!(
            planned("GET", "/oauth20/authorize", Some("application/xml")),
            None
        );
        assert_eq!(planned("GET", "/healthz?format=xml", None), None);
    }

    #[test]
    fn accept_takes_the_preferred_of_json_and_xml() {
        let at = |accept| planned("GET", "/v1/shoppers/me", Some(accept));
        assert_eq!(at("application/json, application/xml"), None);
        assert_eq!(at("application/xml, application/json"), XML);
        assert_eq!(at("application/json;q=0.5, application/xml"), XML);
        assert_eq!(at("application/xml;q=0, application/json;q=0.1"), None);
        assert_eq!(at("text/html, */*;q=0.8"), None);
    }

    #[test]
    fn the_default_applies_to_the_commerce_api_only() {
        let xml_default = |uri| plan(&mut request("GET", uri, Some("*/*")), WireFormat::Xml);
        assert_eq!(xml_default("/v1/shoppers/me").unwrap(), XML);
        assert_eq!(xml_default("/oauth20/access-tokens").unwrap(), None);
        assert_eq!(
            plan(
                &mut request("POST", "/oauth20/token", Some("application/xml")),
                WireFormat::Json
            )
            .unwrap(),
            Some(Rendering::Xml {
                family: Family::OAuth
            })
        );
        // Flat bodies get their document element from the family, path and status.
        assert_eq!(Family::OAuth.root("/oauth20/token", false), "token");
        assert_eq!(Family::OAuth.root("/oauth20/token", true), "errors");
        assert_eq!(Family::Payments.root("/payments/sources", false), "source");
    }

    #[test]
    fn jsonp_only_on_shopper_api_gets_with_a_strict_callback() {
        let jsonp = Some(Rendering::Jsonp {
            callback: "jQuery.cb_1".into(),
        });
        let uri = "/v1/shoppers/me/carts/active?callback=jQuery.cb_1";
        assert_eq!(planned("GET", uri, Some("application/xml")), jsonp);
        assert_eq!(planned("POST", uri, None), None);
        for bad in ["alert(1)", "a-b", "1a", ""] {
            let uri = format!("/v1/shoppers/me?callback={bad}");
            let refused = plan(&mut request("GET", &uri, None), WireFormat::Json)
                .unwrap_err()
                .refusal;
            assert_eq!(refused.status(), 400, "{bad}");
        }
    }

    #[test]
    fn tunnelling_rewrites_only_the_rows_that_allow_it() {
        let mut add = request(
            "GET",
            "/v1/shoppers/me/carts/active/line-items?productId=1&method=post&token=t",
            None,
        );
        add.headers_mut()
            .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
        plan(&mut add, WireFormat::Json).unwrap();
        assert_eq!(add.method(), Method::POST);
        assert!(add.headers().get(header::CONTENT_TYPE).is_none());
        let mut delete = request(
            "GET",
            "/v1/shoppers/me/carts/active/line-items/3/?method=Delete",
            None,
        );
        plan(&mut delete, WireFormat::Json).unwrap();
        assert_eq!(delete.method(), Method::DELETE);
        let mut get = request("GET", "/v1/shoppers/me/orders?method=get", None);
        plan(&mut get, WireFormat::Json).unwrap();
        assert_eq!(get.method(), Method::GET);
        for refused in [
            "/v1/shoppers/me/carts/active/submit-cart?method=post",
            "/v1/shoppers/me/carts/active/apply-shopper?method=post",
            "/v1/shoppers/me/payment-options/1?method=delete",
            "/v1/shoppers/me?method=delete",
            "/v1/shoppers/me/carts/active?method=put",
        ] {
            let answer = plan(&mut request("GET", refused, None), WireFormat::Json).unwrap_err();
            assert_eq!(answer.refusal.status(), 403, "{refused}");
        }
        // A real POST's `method` is not a tunnel.
        let mut post = request(
            "POST",
            "/v1/shoppers/me/carts/active/submit-cart?method=delete",
            None,
        );
        plan(&mut post, WireFormat::Json).unwrap();
        assert_eq!(post.method(), Method::POST);
    }

    #[test]
    fn a_bad_format_is_refused_in_the_family_shape() {
        for uri in ["/v1/shoppers/me?format=yaml", "/oauth20/token?format=yaml"] {
            let refused = plan(&mut request("GET", uri, None), WireFormat::Json)
                .unwrap_err()
                .refusal;
            assert_eq!(refused.status(), 400, "{uri}");
        }
    }
}
