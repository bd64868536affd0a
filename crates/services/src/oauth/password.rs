//! Checking a shopper's username (or e-mail address) and password, for both password paths
//! (the password grant and the hosted sign-in), under the brute-force throttle (`guard`).

use super::TokenError;
use crate::guard::RetryAfter;
use crate::instruments::{self, SignInFlow, SignInRefusal};
use crate::state::AppState;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use shopkeeper_store::{ClientRecord, ShopperRecord};
use std::net::IpAddr;

/// The password as the shopper typed it: base64-decoded when `client` sends passwords that
/// way (a per-key setting), as the password grant, sign-up and `/me` all read it; `None` when
/// it is not base64 of UTF-8 text.
pub fn typed_password(client: &ClientRecord, sent: String) -> Option<String> {
    if !client.password_base64 {
        return Some(sent);
    }
    STANDARD
        .decode(sent.as_bytes())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

/// What a password check found.
pub enum PasswordCheck {
    /// The password is the shopper's.
    Verified(ShopperRecord),
    /// Wrong password or unknown username or address (the same to the caller, and in timing).
    Refused,
    /// Too many failures for this account (or typed name) or address: not checked.
    Throttled(RetryAfter),
}

/// Looks the account up (a username, or an e-mail address that is no username, each without
/// regard to case, as both are unique: `Store::shopper_for_sign_in`), reserves the attempt
/// with the throttle before any hash is spent (so concurrent guesses get no more checks than
/// sequential ones), verifies the password (against a dummy hash for an unknown identifier:
/// equal timing) and settles the reservation: a failure stays counted, a success clears the
/// account's count only. The throttle counts the account found, however it was named, so
/// guesses through the username and through the address add up on one count.
pub async fn check_password(
    state: &AppState,
    client: &ClientRecord,
    identifier: &str,
    password: String,
    address: IpAddr,
    flow: SignInFlow,
) -> Result<PasswordCheck, TokenError> {
    let shopper = state
        .store
        .shopper_for_sign_in(&client.site_id, identifier)
        .await?;
    let reservation = match state.guard.reserve_sign_in(
        &client.site_id,
        shopper.as_ref().map(|s| s.id),
        identifier,
        address,
    ) {
        Ok(reservation) => reservation,
        Err(wait) => {
            instruments::failed_sign_in(flow, SignInRefusal::Throttled, &client.api_key);
            return Ok(PasswordCheck::Throttled(wait));
        }
    };
    let stored = shopper.as_ref().and_then(|s| s.password_hash.clone());
    // An error here drops the reservation unsettled, which refunds it.
    let verified = state
        .hasher
        .verify(password, stored, &client.api_key)
        .await?;
    Ok(match shopper {
        Some(shopper) if verified => {
            reservation.succeeded();
            PasswordCheck::Verified(shopper)
        }
        _ => {
            reservation.failed();
            let reason = SignInRefusal::of_lookup(shopper.is_some());
            instruments::failed_sign_in(flow, reason, &client.api_key);
            PasswordCheck::Refused
        }
    })
}
