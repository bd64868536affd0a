//! `GET /v1/shoppers/token?apiKey=KEY[&sessionToken=T]`: the older documented way to get a
//! limited token with an API key alone. Under `/v1`, so errors use the nested shape.

use super::access::TokenOptional;
use super::error::{Code, OAuthError, ShopperApiError};
use super::params::Params;
use super::token::token_json;
use axum::extract::{ConnectInfo, State};
use axum::http::Uri;
use axum::response::Response;
use shopkeeper_domain::SessionToken;
use shopkeeper_services::instruments::TokenFlow;
use shopkeeper_services::oauth;
use shopkeeper_services::state::AppState;
use std::net::SocketAddr;

#[utoipa::path(
    get,
    path = "/v1/shoppers/token",
    tag = "shopper-api",
    description = "A limited (guest) token for an API key alone. Access: API key only.",
    params(
        ("apiKey" = Option<String>, Query, description = "The API key (or an `apiKey` header)"),
        ("sessionToken" = Option<String>, Query, description = "Join the session of a `SessionToken`"),
    ),
    responses(
        (status = 200, description = "A limited token pair", body = shopkeeper_services::oauth::TokenResponse),
        (status = 400, description = "Malformed request or invalid session token", body = super::error::ShopperApiErrorBody),
        (status = 401, description = "Missing or invalid API key", body = super::error::ShopperApiErrorBody),
        (status = 503, description = "Database unavailable", body = super::error::ShopperApiErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    TokenOptional(caller): TokenOptional,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    uri: Uri,
) -> Result<Response, ShopperApiError> {
    // A token-optional row of the access table: the extractor has checked the API key (or
    // the token, whose key then names the client).
    let params = Params::from_query(uri.query())
        .map_err(|e| ShopperApiError::new(Code::InvalidRequest, e.0))?;
    let client = state
        .store
        .client(caller.api_key(), state.clock.now_millis())
        .await
        .map_err(|e| ShopperApiError::from(OAuthError::from(e)))?
        .filter(|c| !c.disabled)
        .ok_or_else(|| ShopperApiError::new(Code::InvalidClient, "invalid apiKey"))?;
    let session = match params.get("sessionToken") {
        None => None,
        Some(raw) => {
            let invalid =
                || ShopperApiError::new(Code::InvalidRequest, "invalid or expired sessionToken");
            let token = SessionToken::parse(raw).ok_or_else(invalid)?;
            let session = state
                .store
                .session_by_session_token(&token.hash())
                .await
                .map_err(|e| ShopperApiError::from(OAuthError::from(e)))?
                .filter(|s| s.is_live(state.clock.now()) && s.site_id == client.site_id)
                .ok_or_else(invalid)?;
            Some((session.id, session.shopper_id))
        }
    };
    let flow = match session {
        Some(_) => TokenFlow::ShoppersTokenJoin,
        None => TokenFlow::ShoppersToken,
    };
    let response = oauth::issue_anonymous(&state, &client, session, Some(peer.ip().to_string()))
        .await
        .map_err(|e| ShopperApiError::from(OAuthError::from(e)))?;
    shopkeeper_services::instruments::token_issued(flow, &client.api_key);
    Ok(token_json(response))
}
