//! The merchant's staff: managing their accounts (the CLI) and signing them in (`POST /auth`,
//! `sending-api-calls.md`) for the Admin API. A staff token is 256 random bits, kept only as
//! its SHA-256, bound to the confidential Admin key it was issued through; it is never a
//! shopper token (the Shopper API's verifier does not know the table) and shopper tokens are
//! never staff tokens. Sign-ins go through the shoppers' brute-force throttle.

use crate::auth::PasswordHasher;
use crate::guard::RetryAfter;
use crate::state::AppState;
use shopkeeper_domain::staff::{Roles, check_username};
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_domain::{SecretHash, SiteId, TokenValue};
use shopkeeper_store::{ClientRecord, StaffChange, StaffTokenRecord, StaffUserRecord, Store};
use std::net::IpAddr;

/// How long a staff token lives (the shoppers' access tokens' hour).
pub const STAFF_TOKEN_TTL_SECONDS: i64 = 3600;

/// A staff password: as long as a shopper's at least.
fn check_password(password: &str) -> anyhow::Result<()> {
    const MIN: usize = 12;
    if password.chars().count() < MIN || password.len() > 1024 {
        anyhow::bail!("a staff password has {MIN} to 1024 characters");
    }
    Ok(())
}

pub async fn create_staff_user(
    store: &Store,
    hasher: &PasswordHasher,
    site_id: &SiteId,
    username: &str,
    password: &str,
    roles: &Roles,
    now: UnixSeconds,
) -> anyhow::Result<StaffUserRecord> {
    check_username(username).map_err(anyhow::Error::msg)?;
    check_password(password)?;
    let hash = hasher.hash(password.to_owned()).await?;
    Ok(store
        .create_staff_user(site_id, username, &hash, roles, now)
        .await?)
}

pub async fn set_staff_password(
    store: &Store,
    hasher: &PasswordHasher,
    site_id: &SiteId,
    username: &str,
    password: &str,
    now: UnixSeconds,
) -> anyhow::Result<StaffUserRecord> {
    check_password(password)?;
    let hash = hasher.hash(password.to_owned()).await?;
    Ok(store
        .update_staff_user(site_id, username, StaffChange::PasswordHash(&hash), now)
        .await?)
}

/// A staff token as `POST /auth` hands it out.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StaffTokenResponse {
    pub access_token: String,
    #[schema(value_type = String, example = "bearer")]
    pub token_type: &'static str,
    pub expires_in: i64,
}

/// Why a sign-in was refused.
#[derive(Debug)]
pub enum StaffSignInError {
    /// Unknown user, wrong password or disabled user: one answer for all, in equal time.
    Refused,
    Throttled(RetryAfter),
    Internal(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for StaffSignInError {
    fn from(e: E) -> Self {
        StaffSignInError::Internal(e.into())
    }
}

/// Checks a staff user's password for `client` (a confidential key with Admin APIs permission,
/// already authenticated with its secret) under the sign-in throttle, and issues a token.
pub async fn sign_in(
    state: &AppState,
    client: &ClientRecord,
    username: &str,
    password: String,
    address: IpAddr,
) -> Result<StaffTokenResponse, StaffSignInError> {
    let user = state.store.staff_user(&client.site_id, username).await?;
    // Counted by the typed name (staff sign in by username only), apart from shoppers' names.
    let reservation = state
        .guard
        .reserve_sign_in(
            &client.site_id,
            None,
            &format!("staff\n{username}"),
            address,
        )
        .map_err(StaffSignInError::Throttled)?;
    let usable = user.as_ref().filter(|u| !u.disabled);
    let stored = usable.map(|u| u.password_hash.clone());
    let verified = state
        .hasher
        .verify(password, stored, &client.api_key)
        .await?;
    let Some(user) = usable.filter(|_| verified) else {
        reservation.failed();
        return Err(StaffSignInError::Refused);
    };
    reservation.succeeded();
    let token = TokenValue::generate();
    let now = state.clock.now();
    state
        .store
        .insert_staff_token(
            &SecretHash::of(token.expose()),
            user.id,
            &client.api_key,
            now,
            now + STAFF_TOKEN_TTL_SECONDS,
        )
        .await?;
    tracing::info!(staff_user = user.id, api_key = %client.api_key, "staff sign-in");
    Ok(StaffTokenResponse {
        access_token: token.into_exposed(),
        token_type: "bearer",
        expires_in: STAFF_TOKEN_TTL_SECONDS,
    })
}

/// The live staff token `presented` is, if any: its user enabled, its key still enabled with
/// Admin APIs permission.
pub async fn verify_staff_token(
    state: &AppState,
    presented: &str,
) -> anyhow::Result<Option<(StaffTokenRecord, std::sync::Arc<ClientRecord>)>> {
    let Some(token) = TokenValue::parse(presented) else {
        return Ok(None);
    };
    let Some(record) = state
        .store
        .staff_token(&SecretHash::of(token.expose()), state.clock.now())
        .await?
    else {
        return Ok(None);
    };
    let client = state
        .store
        .client(&record.api_key, state.clock.now_millis())
        .await?
        .filter(|c| !c.disabled && c.permissions.admin && c.site_id == record.site_id);
    Ok(client.map(|c| (record, c)))
}

/// Signs a staff token out; whether it was live.
pub async fn sign_out(state: &AppState, presented: &str) -> anyhow::Result<bool> {
    let Some(token) = TokenValue::parse(presented) else {
        return Ok(false);
    };
    Ok(state
        .store
        .delete_staff_token(&SecretHash::of(token.expose()))
        .await?)
}
