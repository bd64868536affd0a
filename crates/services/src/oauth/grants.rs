use super::TokenError;
use super::issue::{self, MintedPair, TokenResponse};
use super::password::PasswordCheck;
use crate::auth::{AccessLevel, AuthenticatedClient, VerifyError};
use crate::instruments::{self, SignInFlow, TokenFlow};
use crate::state::AppState;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shopkeeper_domain::authorize::{Flow, flow_refusal};
use shopkeeper_domain::grant::{
    Grant, GrantError, GrantRequest, ReplayVerdict, SessionLink, refresh_replay,
};
use shopkeeper_domain::{ClientKind, SessionId, TokenValue};
use shopkeeper_store::{ClientRecord, RefreshOutcome};

/// The session a request links to, as far as the grant needs it.
struct LinkedSession {
    id: SessionId,
    shopper_id: Option<i64>,
}

/// Runs one token request for an authenticated client, counting what it issues.
pub async fn exchange(
    state: &AppState,
    client: AuthenticatedClient,
    request: GrantRequest,
    client_ip: Option<String>,
) -> Result<TokenResponse, TokenError> {
    let flow = match &request.grant {
        Grant::AnonymousPassword => TokenFlow::PasswordGuest,
        Grant::Password { .. } => TokenFlow::Password,
        Grant::ClientCredentials { .. } => TokenFlow::ClientCredentials,
        Grant::RefreshToken { .. } => TokenFlow::RefreshToken,
        Grant::AuthorizationCode { .. } => TokenFlow::AuthorizationCode,
    };
    let api_key = client.record.api_key.clone();
    let response = run_grant(state, client, request, client_ip).await?;
    instruments::token_issued(flow, &api_key);
    Ok(response)
}

async fn run_grant(
    state: &AppState,
    client: AuthenticatedClient,
    request: GrantRequest,
    client_ip: Option<String>,
) -> Result<TokenResponse, TokenError> {
    let record = &client.record;
    match request.grant {
        Grant::AnonymousPassword => {
            let linked = resolve_link(state, record, &request.link).await?;
            anonymous(state, record, linked, client_ip).await
        }
        Grant::Password { username, password } => {
            check_flow(state, record, Flow::Password)?;
            let password = super::password::typed_password(record, password)
                .ok_or(GrantError::InvalidGrant("invalid username or password"))?;
            let address = client_ip
                .as_deref()
                .and_then(|ip| ip.parse::<std::net::IpAddr>().ok())
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            let shopper = match super::password::check_password(
                state,
                record,
                &username,
                password,
                address,
                SignInFlow::PasswordGrant,
            )
            .await?
            {
                PasswordCheck::Verified(shopper) => shopper,
                PasswordCheck::Refused => {
                    return Err(GrantError::InvalidGrant("invalid username or password").into());
                }
                PasswordCheck::Throttled(wait) => return Err(TokenError::Throttled(wait)),
            };
            let mut linked = resolve_link(state, record, &request.link).await?;
            if linked.is_none() {
                // A limited bearer on a password grant upgrades like dr_limited_token.
                if let Some(b) = client
                    .bearer
                    .as_ref()
                    .filter(|b| b.level == AccessLevel::Limited)
                {
                    linked = Some(LinkedSession {
                        id: b.session_id.clone(),
                        shopper_id: b.shopper_id,
                    });
                }
            }
            issue::sign_in(state, record, shopper.id, linked.map(|l| l.id), client_ip).await
        }
        Grant::ClientCredentials {
            external_reference_id,
        } => {
            check_flow(state, record, Flow::ClientCredentials)?;
            if client.kind() == ClientKind::Public {
                return Err(TokenError::UnauthorizedClient(
                    "client_credentials is for confidential clients",
                ));
            }
            if !client.secret_verified {
                return Err(TokenError::InvalidClient(
                    "client_credentials requires the client secret",
                ));
            }
            let linked = resolve_link(state, record, &request.link).await?;
            match external_reference_id {
                None => anonymous(state, record, linked, client_ip).await,
                Some(reference) => {
                    let shopper = state
                        .store
                        .shopper_by_external_reference(&record.site_id, &reference)
                        .await?
                        .ok_or(GrantError::InvalidGrant("unknown dr_external_reference_id"))?;
                    issue::sign_in(state, record, shopper.id, linked.map(|l| l.id), client_ip).await
                }
            }
        }
        Grant::RefreshToken { refresh_token } => refresh(state, record, &refresh_token).await,
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            check_flow(state, record, Flow::Code)?;
            super::authorize::redeem_code(
                state,
                &client,
                &code,
                &redirect_uri,
                code_verifier.as_deref(),
            )
            .await
        }
    }
}

/// The server's profile and the key's own flows must both allow the flow.
fn check_flow(state: &AppState, record: &ClientRecord, flow: Flow) -> Result<(), TokenError> {
    match flow_refusal(state.web.profile, &record.flows(), flow) {
        None => Ok(()),
        Some(reason) => Err(TokenError::UnauthorizedClientOwned(reason)),
    }
}

async fn anonymous(
    state: &AppState,
    record: &ClientRecord,
    linked: Option<LinkedSession>,
    client_ip: Option<String>,
) -> Result<TokenResponse, TokenError> {
    issue::issue_anonymous(
        state,
        record,
        linked.map(|l| (l.id, l.shopper_id)),
        client_ip,
    )
    .await
}

/// Resolves `dr_session_token` / `dr_limited_token` to the session they name, on the
/// client's site.
async fn resolve_link(
    state: &AppState,
    client: &ClientRecord,
    link: &SessionLink,
) -> Result<Option<LinkedSession>, TokenError> {
    let at = state.clock.now();
    let by_session_token = match &link.session_token {
        None => None,
        Some(token) => {
            let session = state
                .store
                .session_by_session_token(&token.hash())
                .await?
                .filter(|s| s.is_live(at) && s.site_id == client.site_id)
                .ok_or(GrantError::InvalidGrant("invalid or expired session token"))?;
            Some(LinkedSession {
                id: session.id,
                shopper_id: session.shopper_id,
            })
        }
    };
    let by_limited_token = match &link.limited_token {
        None => None,
        Some(token) => {
            let principal = match state.verifier.verify(token).await {
                Ok(p) => p,
                Err(VerifyError::Invalid) => return Err(GrantError::DrLimitedTokenInvalid.into()),
                Err(VerifyError::Store(e)) => return Err(e.into()),
            };
            if principal.level != AccessLevel::Limited || principal.site_id != client.site_id {
                return Err(GrantError::DrLimitedTokenInvalid.into());
            }
            Some(LinkedSession {
                id: principal.session_id.clone(),
                shopper_id: principal.shopper_id,
            })
        }
    };
    match (by_session_token, by_limited_token) {
        (Some(a), Some(b)) if a.id != b.id => Err(GrantError::InvalidRequest(
            "dr_session_token and dr_limited_token name different sessions".into(),
        )
        .into()),
        (a, b) => Ok(a.or(b)),
    }
}

/// Refresh with rotation. The successor pair is derived from the consumed token with an HMAC
/// under the server's key, so a replay inside the grace window (two tabs refreshing at once)
/// gets the very same pair without the server ever storing it in clear. A replay after the
/// window is treated as theft: the whole session is revoked.
async fn refresh(
    state: &AppState,
    client: &ClientRecord,
    presented: &str,
) -> Result<TokenResponse, TokenError> {
    let unknown = GrantError::InvalidGrant("invalid, expired or revoked refresh token");
    let token = TokenValue::parse(presented).ok_or(GrantError::InvalidGrant(
        "invalid, expired or revoked refresh token",
    ))?;
    let old_hash = token.hash();
    let row = state
        .store
        .refresh_token(&old_hash)
        .await?
        .filter(|r| r.api_key == client.api_key && r.expires_at > state.clock.now())
        .ok_or(GrantError::InvalidGrant(
            "invalid, expired or revoked refresh token",
        ))?;
    let level = AccessLevel::from_full_flag(row.full_access);
    let successor_at = state.clock.now_millis();
    let (access, refresh) = successor_pair(&state.refresh_key, &token, Some(successor_at));
    let minted = MintedPair::new(state, client, level, access, refresh);
    match state
        .store
        .rotate_refresh_token(
            &old_hash,
            &row.session_id,
            successor_at,
            &minted.rows(client),
        )
        .await?
    {
        RefreshOutcome::Rotated => {
            Ok(minted.respond(state, client, row.session_id, row.shopper_id))
        }
        RefreshOutcome::Unknown => Err(unknown.into()),
        RefreshOutcome::AlreadyConsumed {
            at: consumed_at,
            successor_at,
        } => {
            let at = state.clock.now();
            match refresh_replay(consumed_at, at, state.tokens.refresh_grace_seconds) {
                ReplayVerdict::SamePair => {
                    // The pair stored at the first rotation (derived again with the issue
                    // time it was given then); if it has since been revoked, so is this answer.
                    let (access, refresh) =
                        successor_pair(&state.refresh_key, &token, successor_at);
                    let current = state
                        .store
                        .access_token(&access.hash())
                        .await?
                        .filter(|t| t.expires_at > at)
                        .ok_or(unknown)?;
                    Ok(TokenResponse {
                        access_token: access.expose().to_owned(),
                        token_type: "bearer",
                        expires_in: current.expires_at - at,
                        refresh_token: refresh.expose().to_owned(),
                    })
                }
                ReplayVerdict::RevokeSession => {
                    let revoked = state.store.end_session(&row.session_id, at).await?;
                    state.verifier.forget(&revoked);
                    tracing::warn!(
                        session_id = %row.session_id,
                        "refresh token replayed after the grace window; session revoked"
                    );
                    Err(GrantError::InvalidGrant(
                        "refresh token reuse detected; the session has been revoked",
                    )
                    .into())
                }
            }
        }
    }
}

/// The pair that succeeds `consumed`, derived rather than random so that a replay inside the
/// grace window can be answered with it again. `issued_at_millis` is the pair's time-ordered
/// prefix, recorded with the consumption; `None` only for a token consumed before successors
/// were time-ordered, whose pair was derived in the random format.
fn successor_pair(
    key: &[u8; 32],
    consumed: &TokenValue,
    issued_at_millis: Option<u64>,
) -> (TokenValue, TokenValue) {
    let derive = |label: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(label);
        mac.update(consumed.expose().as_bytes());
        let bytes: [u8; 32] = mac.finalize().into_bytes().into();
        match issued_at_millis {
            Some(at) => TokenValue::time_ordered_from_bytes(at, &bytes),
            None => TokenValue::from_bytes(&bytes),
        }
    };
    (derive(b"access\0"), derive(b"refresh\0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successor_pair_is_deterministic_and_distinct() {
        let key = [7u8; 32];
        let t = TokenValue::generate_time_ordered(1_700_000_000_000);
        let (a1, r1) = successor_pair(&key, &t, Some(1_700_000_000_500));
        let (a2, r2) = successor_pair(&key, &t, Some(1_700_000_000_500));
        assert_eq!(a1, a2);
        assert_eq!(r1, r2);
        assert_ne!(a1, r1);
        assert_eq!(a1.expose().len(), 80);
        let (a3, _) = successor_pair(&[8u8; 32], &t, Some(1_700_000_000_500));
        assert_ne!(a1, a3);
        let (a4, _) = successor_pair(&key, &t, Some(1_700_000_000_501));
        assert_ne!(a1.hash(), a4.hash());
        // A token consumed before successors were time-ordered: the random format.
        let (legacy, _) = successor_pair(&key, &t, None);
        assert_eq!(legacy.expose().len(), 64);
    }
}
