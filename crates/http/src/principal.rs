//! The one extractor that turns `Authorization: Bearer` or `?token=` into a verified
//! [`Principal`]. Every protected route takes it (or a type built on it) in its signature.

use super::error::{OAuthError, ShopperApiError};
use super::params::Params;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use shopkeeper_services::auth::Principal;
use shopkeeper_services::state::AppState;
use std::sync::Arc;

/// Any valid access token (limited or full).
#[derive(Debug, Clone)]
pub struct Bearer(pub Arc<Principal>);

/// A bearer rejection, rendered in the error shape of the API family the path belongs to.
#[derive(Debug)]
pub struct BearerRejection {
    error: OAuthError,
    shopper_api: bool,
}

impl IntoResponse for BearerRejection {
    fn into_response(self) -> Response {
        if self.shopper_api {
            ShopperApiError::from(self.error).into_response()
        } else {
            self.error.into_response()
        }
    }
}

/// The token a request presents: header or `token` query parameter; both must agree.
///
/// More than one `Authorization` header is refused (400): the header is not a list (RFC 9110
/// §11.6.2), and taking either one would let a proxy and Shopkeeper disagree on who is
/// calling. (The quick-start collection's "Submit Cart" declares both a Bearer auth and a
/// literal `Authorization` header; Postman/newman sends only the Bearer one.)
pub fn presented_token(parts: &Parts) -> Result<Option<String>, OAuthError> {
    if parts.headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Err(OAuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    let from_header = match parts.headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| OAuthError::invalid_request("malformed Authorization header"))?;
            match value.trim().split_once(' ') {
                Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                    Some(token.trim().to_owned())
                }
                // Basic credentials (an API key) are not a token; other routes read them.
                _ => None,
            }
        }
    };
    let from_query = Params::from_query(parts.uri.query())
        .map_err(|e| OAuthError::invalid_request(e.0))?
        .get("token")
        .map(str::to_owned);
    match (from_header, from_query) {
        (Some(h), Some(q)) if h != q => Err(OAuthError::invalid_request(
            "the Authorization header and the token parameter disagree",
        )),
        (h, q) => Ok(h.or(q)),
    }
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = BearerRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let shopper_api = parts.uri.path().starts_with("/v1/");
        let reject = |error: OAuthError| BearerRejection { error, shopper_api };
        let token = presented_token(parts)
            .map_err(reject)?
            .ok_or_else(|| reject(OAuthError::invalid_token("an access token is required")))?;
        let principal = state
            .verifier
            .verify(&token)
            .await
            .map_err(|e| reject(e.into()))?;
        Ok(Bearer(principal))
    }
}
