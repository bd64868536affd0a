//! Body extractors of the Shopper API handlers, refusing with the documented error shape.

use super::error::{Code, ShopperApiError};
use super::shopper_api::bad_request;
use super::tolerant;
use super::xml;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A JSON request body as `T`: a body sent as another media type is a 415, one that does not
/// parse as `T` a 400, both in the Shopper API error shape.
pub struct AppJson<T>(pub T);

/// Like [`AppJson`] for endpoints whose body is optional: an empty (or all-whitespace) body,
/// and a JSON body that says nothing (`null`, `""`, `[]`, `{}`: what storefronts post when they
/// have nothing to send), is `None`.
pub struct OptionalJson<T>(pub Option<T>);

/// The body of an action that takes its parameters in the query: refused unless empty (or a
/// JSON body that says nothing: `{}`, `[]`, `""`, `null`), rather than silently ignoring what a
/// client meant to send.
pub struct NoBody;

/// Parses `body` as JSON, or XML by its `Content-Type` (read as the JSON it renders, see
/// [`xml::to_json`]), into `T` (read tolerantly, see [`super::tolerant`]); anything else is
/// the documented 415 or 400 (naming the field).
pub fn parse_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ShopperApiError> {
    match media_type(headers)? {
        BodyFormat::Json => tolerant::from_slice(body),
        BodyFormat::Xml => tolerant::from_value(read_xml(body)?, ""),
    }
}

enum BodyFormat {
    Json,
    Xml,
}

/// The body's format by its `Content-Type` (none: JSON); any other media type is the
/// documented 415.
fn media_type(headers: &HeaderMap) -> Result<BodyFormat, ShopperApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.is_empty() || content_type.contains("json") {
        Ok(BodyFormat::Json)
    } else if content_type.contains("xml") {
        Ok(BodyFormat::Xml)
    } else {
        Err(ShopperApiError::new(
            Code::UnsupportedMediaType,
            "send the body as application/json or application/xml",
        ))
    }
}

fn read_xml(body: &Bytes) -> Result<Value, ShopperApiError> {
    xml::to_json(body).map_err(|e| bad_request(format!("invalid XML body: {e}")))
}

/// Like [`parse_json`], `None` for an empty body or one that says nothing
/// ([`tolerant::is_nothing`]).
pub fn parse_optional_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<T>, ShopperApiError> {
    parse_optional_value(headers, body)?
        .map(|v| tolerant::from_value(v, ""))
        .transpose()
}

/// An optional JSON body as a value, `None` when it says nothing.
pub fn parse_optional_value(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Option<Value>, ShopperApiError> {
    if is_empty(body) {
        return Ok(None);
    }
    let value = match media_type(headers)? {
        BodyFormat::Json => tolerant::from_slice(body)?,
        // `<cart/>` is `{"cart": ""}`, which handlers read as an empty cart.
        BodyFormat::Xml => read_xml(body)?,
    };
    Ok(Some(value).filter(|v| !tolerant::is_nothing(v)))
}

fn is_empty(body: &Bytes) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// The request's headers and body; a body refused by the size limit keeps axum's rejection
/// (which the documented-rejection hook rewrites).
async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<(HeaderMap, Bytes), Response> {
    let headers = req.headers().clone();
    let body = Bytes::from_request(req, state)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((headers, body))
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (headers, body) = read(req, state).await?;
        parse_json(&headers, &body)
            .map(AppJson)
            .map_err(IntoResponse::into_response)
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (headers, body) = read(req, state).await?;
        parse_optional_json(&headers, &body)
            .map(OptionalJson)
            .map_err(IntoResponse::into_response)
    }
}

impl<S: Send + Sync> FromRequest<S> for NoBody {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (_, body) = read(req, state).await?;
        let says_nothing =
            || serde_json::from_slice::<Value>(&body).is_ok_and(|v| tolerant::is_nothing(&v));
        if is_empty(&body) || says_nothing() {
            Ok(NoBody)
        } else {
            Err(
                bad_request("this action takes no body: send its parameters in the query string")
                    .into_response(),
            )
        }
    }
}
