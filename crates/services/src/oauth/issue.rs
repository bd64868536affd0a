//! Minting token pairs and attaching them to sessions.

use super::TokenError;
use crate::auth::{AccessLevel, Principal};
use crate::state::AppState;
use serde::Serialize;
use shopkeeper_domain::grant::GrantError;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{SecretHash, SessionId, TokenValue};
use shopkeeper_store::{ClientRecord, NewSession, NewTokenPair, StoreError};

/// The token endpoint's success body: flat, as every real client reads it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    #[schema(value_type = String, example = "bearer")]
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
}

/// A freshly minted pair: the clear values (returned once) and what the store keeps.
pub(super) struct MintedPair {
    pub access: TokenValue,
    /// The access token's stored key, computed once: the row and the check cache both need it.
    access_hash: SecretHash,
    pub refresh: TokenValue,
    pub level: AccessLevel,
    pub issued_at: UnixSeconds,
    pub access_expires_at: UnixSeconds,
    pub refresh_expires_at: UnixSeconds,
}

impl MintedPair {
    pub fn new(
        state: &AppState,
        client: &ClientRecord,
        level: AccessLevel,
        access: TokenValue,
        refresh: TokenValue,
    ) -> Self {
        let issued_at = state.clock.now();
        Self {
            access_hash: access.hash(),
            access,
            refresh,
            level,
            issued_at,
            access_expires_at: issued_at + client.session_ttl,
            refresh_expires_at: issued_at + state.tokens.refresh_ttl_seconds,
        }
    }

    pub fn random(state: &AppState, client: &ClientRecord, level: AccessLevel) -> Self {
        let at = state.clock.now_millis();
        Self::new(
            state,
            client,
            level,
            TokenValue::generate_time_ordered(at),
            TokenValue::generate_time_ordered(at),
        )
    }

    pub fn rows<'a>(&self, client: &'a ClientRecord) -> NewTokenPair<'a> {
        NewTokenPair {
            access_hash: self.access_hash,
            refresh_hash: self.refresh.hash(),
            api_key: &client.api_key,
            full_access: self.level == AccessLevel::Full,
            issued_at: self.issued_at,
            access_expires_at: self.access_expires_at,
            refresh_expires_at: self.refresh_expires_at,
        }
    }

    /// Caches the new access token for its checks and renders the response.
    pub fn respond(
        self,
        state: &AppState,
        client: &ClientRecord,
        session_id: SessionId,
        shopper_id: Option<i64>,
    ) -> TokenResponse {
        state.verifier.remember(Principal {
            token_hash: self.access_hash,
            session_id,
            site_id: client.site_id.clone(),
            api_key: client.api_key.clone(),
            shopper_id,
            level: self.level,
            issued_at: self.issued_at,
            expires_at: self.access_expires_at,
        });
        TokenResponse {
            access_token: self.access.into_exposed(),
            token_type: "bearer",
            expires_in: self.access_expires_at - self.issued_at,
            refresh_token: self.refresh.into_exposed(),
        }
    }
}

/// Starts a new session and issues its first pair.
pub(super) async fn start_session(
    state: &AppState,
    client: &ClientRecord,
    shopper_id: Option<i64>,
    client_ip: Option<String>,
) -> Result<TokenResponse, TokenError> {
    let level = AccessLevel::from_full_flag(shopper_id.is_some());
    let minted = MintedPair::random(state, client, level);
    let session_id = state
        .store
        .start_session(
            NewSession {
                site_id: &client.site_id,
                api_key: Some(&client.api_key),
                shopper_id,
                locale: &client.site_locale,
                currency: &client.site_currency,
                client_ip,
                created_at_millis: state.clock.now_millis(),
            },
            &minted.rows(client),
        )
        .await?;
    Ok(minted.respond(state, client, session_id, shopper_id))
}

/// Issues a pair at `level` in an existing session.
pub(crate) async fn join_session(
    state: &AppState,
    client: &ClientRecord,
    session_id: SessionId,
    shopper_id: Option<i64>,
    level: AccessLevel,
) -> Result<TokenResponse, TokenError> {
    let minted = MintedPair::random(state, client, level);
    match state
        .store
        .join_session(&session_id, &minted.rows(client))
        .await
    {
        Ok(()) => Ok(minted.respond(state, client, session_id, shopper_id)),
        Err(StoreError::NotFound(_)) => {
            Err(GrantError::InvalidGrant("the session has ended").into())
        }
        Err(e) => Err(e.into()),
    }
}

/// A shopper signs in: on the linked session when there is one (it keeps its id and cart,
/// and everything issued for it before is revoked), otherwise on a new session.
pub(super) async fn sign_in(
    state: &AppState,
    client: &ClientRecord,
    shopper_id: i64,
    linked_session: Option<SessionId>,
    client_ip: Option<String>,
) -> Result<TokenResponse, TokenError> {
    if let Some(session_id) = linked_session {
        let minted = MintedPair::random(state, client, AccessLevel::Full);
        match state
            .store
            .sign_in_session(&session_id, shopper_id, &minted.rows(client))
            .await
        {
            Ok(revoked) => {
                state.verifier.forget(&revoked);
                return Ok(minted.respond(state, client, session_id, Some(shopper_id)));
            }
            // The session ended meanwhile, or another shopper is signed in on it: their state
            // must not carry over, so this shopper gets a session of their own.
            Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    start_session(state, client, Some(shopper_id), client_ip).await
}

/// `GET /v1/shoppers/token`, the `SessionToken` action with an API key and the anonymous grants:
/// a limited token, in the given session or a new one.
///
/// Always limited, even when a shopper is signed in on the joined session: a session token
/// reaches the browser through a cross-site JSONP call that any page can make, so holding one
/// must never amount to holding the shopper's account. Full access needs credentials (password,
/// the hosted sign-in, or a confidential key with an external reference id).
pub async fn issue_anonymous(
    state: &AppState,
    client: &ClientRecord,
    session: Option<(SessionId, Option<i64>)>,
    client_ip: Option<String>,
) -> Result<TokenResponse, TokenError> {
    match session {
        Some((id, shopper)) => join_session(state, client, id, shopper, AccessLevel::Limited).await,
        None => start_session(state, client, None, client_ip).await,
    }
}
