//! The token side of the hosted sign-in: taking over a session for a shopper who signed in
//! in the browser, minting authorization codes and redeeming them.

use super::TokenError;
use super::issue::{TokenResponse, join_session};
use crate::auth::AccessLevel;
use crate::auth::AuthenticatedClient;
use crate::instruments::{self, TokenFlow};
use crate::state::AppState;
use shopkeeper_domain::authorize::pkce_matches;
use shopkeeper_domain::grant::GrantError;
use shopkeeper_domain::{ClientKind, SecretHash, SessionId, TokenValue};
use shopkeeper_store::{
    BrowserHandle, ClientRecord, CodeRedemption, NewAuthorizationCode, NewSession, StoreError,
};

/// A shopper signed in on the hosted page: the first of `candidates` (the `dr_limited_token`'s
/// session, then the browser's own session) that can be taken over becomes theirs, cart
/// included, and everything issued for it before stops working, as does every other browser
/// handle leading to it; otherwise a new session. Either way the signing-in browser's handle
/// (`browser`) leads to it afterwards, in the same transaction. Returns the session id.
pub async fn claim_session_for(
    state: &AppState,
    client: &ClientRecord,
    shopper_id: i64,
    candidates: &[SessionId],
    client_ip: Option<String>,
    browser: &SecretHash,
) -> Result<SessionId, TokenError> {
    let at = state.clock.now();
    let expires_at = at + client.session_ttl;
    let handle = BrowserHandle {
        hash: browser,
        site_id: &client.site_id,
    };
    for session_id in candidates {
        match state
            .store
            .claim_session(session_id, shopper_id, at, expires_at, handle)
            .await
        {
            Ok(revoked) => {
                state.verifier.forget(&revoked);
                return Ok(session_id.clone());
            }
            // Ended meanwhile, or another shopper's: their state must not carry over.
            Err(StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(state
        .store
        .start_tokenless_session(
            NewSession {
                site_id: &client.site_id,
                api_key: Some(&client.api_key),
                shopper_id: Some(shopper_id),
                locale: &client.site_locale,
                currency: &client.site_currency,
                client_ip,
                created_at_millis: state.clock.now_millis(),
            },
            at,
            expires_at,
            Some(browser),
        )
        .await?)
}

/// A full token pair in a session a shopper has just claimed (the implicit flow's answer).
pub async fn issue_signed_in(
    state: &AppState,
    client: &ClientRecord,
    session_id: SessionId,
    shopper_id: i64,
) -> Result<TokenResponse, TokenError> {
    let issued = join_session(
        state,
        client,
        session_id,
        Some(shopper_id),
        AccessLevel::Full,
    )
    .await?;
    instruments::token_issued(TokenFlow::Implicit, &client.api_key);
    Ok(issued)
}

/// Mints a single-use code for a claimed session; returns the clear code (shown once).
pub async fn mint_code(
    state: &AppState,
    client: &ClientRecord,
    redirect_uri: &str,
    code_challenge: Option<&str>,
    session_id: &SessionId,
    shopper_id: i64,
) -> Result<String, TokenError> {
    let code = TokenValue::generate();
    let at = state.clock.now();
    state
        .store
        .create_authorization_code(NewAuthorizationCode {
            code_hash: code.hash(),
            api_key: &client.api_key,
            redirect_uri,
            code_challenge,
            session_id,
            shopper_id,
            created_at: at,
            expires_at: at + state.web.code_ttl_seconds,
        })
        .await?;
    Ok(code.expose().to_owned())
}

/// `grant_type=authorization_code`. A replayed code means it leaked: the session it produced
/// tokens for is ended, so those tokens (and any refreshed from them) stop working.
pub(super) async fn redeem_code(
    state: &AppState,
    client: &AuthenticatedClient,
    code: &str,
    redirect_uri: &str,
    code_verifier: Option<&str>,
) -> Result<TokenResponse, TokenError> {
    const INVALID: GrantError = GrantError::InvalidGrant("invalid, expired or used code");
    let record = &client.record;
    if client.kind() == ClientKind::Confidential && !client.secret_verified {
        return Err(TokenError::InvalidClient(
            "a confidential client must authenticate with its secret",
        ));
    }
    let code = TokenValue::parse(code).ok_or(INVALID)?;
    let at = state.clock.now();
    let row = match state
        .store
        .redeem_authorization_code(&code.hash(), at)
        .await?
    {
        CodeRedemption::Unknown => return Err(INVALID.into()),
        CodeRedemption::Replayed(row) => {
            if row.api_key == record.api_key {
                let revoked = state.store.end_session(&row.session_id, at).await?;
                state.verifier.forget(&revoked);
                tracing::warn!(session_id = %row.session_id, "authorization code replayed; session revoked");
            }
            return Err(INVALID.into());
        }
        CodeRedemption::Fresh(row) => row,
    };
    // Every binding is checked after the code is consumed: a code presented wrongly once is
    // spent, so it cannot be probed.
    if row.api_key != record.api_key || row.expires_at <= at {
        return Err(INVALID.into());
    }
    if row.redirect_uri != redirect_uri {
        return Err(GrantError::InvalidGrant(
            "redirect_uri does not match the authorization request",
        )
        .into());
    }
    match (row.code_challenge.as_deref(), code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(verifier, challenge) => {}
        (Some(_), _) => {
            return Err(GrantError::InvalidGrant(
                "code_verifier does not match the code_challenge",
            )
            .into());
        }
        (None, Some(_)) => {
            return Err(
                GrantError::InvalidGrant("no code_challenge was sent for this code").into(),
            );
        }
        (None, None) => {}
    }
    join_session(
        state,
        record,
        row.session_id,
        Some(row.shopper_id),
        AccessLevel::Full,
    )
    .await
}
