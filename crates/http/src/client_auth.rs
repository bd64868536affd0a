//! Reading a request's client credentials (header and form): the token endpoint's, and those
//! of the endpoints that need an authenticated client, introspection and revocation.

use super::error::OAuthError;
use super::params::Params;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use shopkeeper_services::auth::{AuthenticatedClient, PresentedClient};
use shopkeeper_services::state::AppState;

/// The merged request parameters (query and form body).
pub fn form_params(headers: &HeaderMap, uri: &Uri, body: &Bytes) -> Result<Params, OAuthError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("invalid"));
    Params::parse(uri.query(), content_type, body).map_err(|e| OAuthError::invalid_request(e.0))
}

/// The client credentials a request presents: `Authorization` (Basic or Bearer) or
/// `client_id`/`client_secret`.
pub fn presented_client(
    headers: &HeaderMap,
    params: &Params,
) -> Result<PresentedClient, OAuthError> {
    let authorization = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| OAuthError::invalid_client("malformed Authorization header"))?,
        ),
    };
    Ok(PresentedClient::parse(
        authorization,
        params.get("client_id"),
        params.get("client_secret"),
    )?)
}

/// Authenticates the client from `Authorization: Basic` or `client_id`/`client_secret`.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<AuthenticatedClient, OAuthError> {
    let presented = presented_client(headers, params)?;
    if matches!(presented, PresentedClient::Bearer(_)) {
        // A bearer token names a key but proves nothing a browser could not hold.
        return Err(OAuthError::invalid_client(
            "authenticate with the API key (Basic), not a bearer token",
        ));
    }
    Ok(presented
        .authenticate(&state.store, &state.verifier)
        .await?)
}

/// The form of an authenticated client's request about a token (introspection, revocation):
/// the merged parameters and the client, read and checked before the handler runs.
pub struct ClientForm {
    pub params: Params,
    pub client: AuthenticatedClient,
}

impl FromRequest<AppState> for ClientForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let uri = req.uri().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let params = form_params(&headers, &uri, &body).map_err(IntoResponse::into_response)?;
        let client = authenticate(state, &headers, &params)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self { params, client })
    }
}

impl ClientForm {
    /// The `token` the request is about (RFC 7009 and RFC 7662 both require it).
    pub fn token(&self) -> Result<&str, OAuthError> {
        self.params
            .get("token")
            .ok_or_else(|| OAuthError::invalid_request("missing parameter token"))
    }
}
