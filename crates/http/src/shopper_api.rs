//! What the Shopper API handlers share: their errors, the JSON body reader, the query
//! parameters, links (`uri`), `.json`-tolerant ids, the resource a path's `{id}` names and
//! the 404/405 fallbacks.

use super::error::{Code, OAuthError, ShopperApiError};
use super::params::Params;
use axum::Json;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use shopkeeper_domain::catalog::{Page, select_fields};
use shopkeeper_domain::shopper::FieldError;
use shopkeeper_services::state::AppState;
use shopkeeper_store::StoreError;

pub type ApiResult<T = Response> = Result<T, ShopperApiError>;

pub fn not_found(what: impl std::fmt::Display) -> ShopperApiError {
    ShopperApiError::new(Code::ResourceNotFound, format!("{what} was not found"))
}

/// A refused cart operation: one of the documented 409 codes.
pub fn cart_conflict(code: Code, description: impl Into<String>) -> ShopperApiError {
    debug_assert_eq!(code.status(), StatusCode::CONFLICT);
    ShopperApiError::new(code, description)
}

/// The documented 400 `invalid-request`: a parameter, property or body missing or wrong.
pub fn bad_request(description: impl Into<String>) -> ShopperApiError {
    ShopperApiError::new(Code::InvalidRequest, description)
}

/// A 409 `[resource]-already-exists`.
pub fn conflict(code: Code, description: impl Into<String>) -> ShopperApiError {
    ShopperApiError::new(code, description)
}

impl From<FieldError> for ShopperApiError {
    fn from(e: FieldError) -> Self {
        let code = if e.breaks_password_rule {
            Code::PasswordFailure
        } else {
            Code::InvalidRequest
        };
        ShopperApiError::new(code, e.to_string())
    }
}

impl From<StoreError> for ShopperApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => conflict(
                Code::ResourceAlreadyExists,
                format!("{what} already exists"),
            ),
            StoreError::NotFound(what) => not_found(what),
            other => ShopperApiError::from(OAuthError::from(other)),
        }
    }
}

/// An id path segment; `.json` is accepted on every path, so `42.json` is 42.
pub fn path_id(raw: &str, what: &str) -> ApiResult<i64> {
    raw.strip_suffix(".json")
        .unwrap_or(raw)
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| not_found(format!("{what} {raw:?}")))
}

/// A resource a route's `{id}` segment names, as the caller `A` may see it.
pub trait PathResource<A>: Sized {
    /// The resource `raw_id` names for `access`, or the route's 404.
    fn find(
        state: &AppState,
        access: &A,
        raw_id: &str,
    ) -> impl Future<Output = ApiResult<Self>> + Send;
}

/// A request on the resource its path names: the access level `A`, the query and the
/// resource, read in that order (the order the handlers' own arguments had, so a request wrong
/// in several ways still gets the same error).
pub struct Found<A, T> {
    pub access: A,
    pub q: ApiQuery,
    pub item: T,
}

impl<A, T> FromRequestParts<AppState> for Found<A, T>
where
    A: FromRequestParts<AppState, Rejection = ShopperApiError> + Send + Sync,
    T: PathResource<A> + Send,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let access = A::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Path(raw_id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let q = ApiQuery::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let item = T::find(state, &access, &raw_id)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self { access, q, item })
    }
}

/// The query of a Shopper API request, with the links base: the configured public URL, never
/// the request's `Host` or `X-Forwarded-*` headers, which any client (or a cache in front of
/// us) can set to poison the absolute links of an answer.
pub struct ApiQuery {
    pub params: Params,
    pub base: String,
}

impl FromRequestParts<AppState> for ApiQuery {
    type Rejection = ShopperApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let params = Params::from_query(parts.uri.query()).map_err(|e| bad_request(e.0))?;
        Ok(Self {
            params,
            base: state.web.public_url.clone(),
        })
    }
}

impl ApiQuery {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    pub fn uri(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn link(&self, path: &str) -> Value {
        serde_json::json!({"uri": self.uri(path)})
    }

    pub fn page(&self) -> ApiResult<Page> {
        Page::parse(self.get("pageNumber"), self.get("pageSize")).map_err(bad_request)
    }

    /// `nextPage`/`previousPage` links of a list at `path`.
    pub fn page_links(&self, path: &str, page: Page, total: i64, extra: &str) -> Value {
        let mut links = serde_json::Map::new();
        let at = |n: i64| {
            self.link(&format!(
                "{path}?pageNumber={n}&pageSize={}{extra}",
                page.size
            ))
        };
        if page.has_next(total) {
            links.insert("nextPage".into(), at(page.number + 1));
        }
        if page.number > 1 {
            links.insert("previousPage".into(), at(page.number - 1));
        }
        Value::Object(links)
    }

    /// The response body with `fields` applied.
    pub fn respond(&self, body: Value) -> Response {
        Json(select_fields(body, self.get("fields"))).into_response()
    }

    /// Like [`respond`](Self::respond) for a typed body: serialized straight to the response
    /// unless `fields` asks for a selection.
    pub fn respond_with<T: serde::Serialize>(&self, body: &T) -> Response {
        if self.get("fields").is_some_and(|f| !f.trim().is_empty())
            && let Ok(value) = serde_json::to_value(body)
        {
            return self.respond(value);
        }
        Json(body).into_response()
    }
}

/// Paths nobody serves, and table rows not provided yet.
pub async fn not_found_fallback(uri: Uri) -> Response {
    if uri.path().starts_with("/v1/") {
        not_found(format!("resource {}", uri.path())).into_response()
    } else {
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}

pub async fn method_not_allowed_fallback(uri: Uri) -> Response {
    ShopperApiError::new(
        Code::MethodNotAllowed,
        format!("this method is not allowed on {}", uri.path()),
    )
    .into_response()
}
