//! The hosted sign-in form's CSRF token, as a pure rule. The token is bound to the browser the
//! form was shown to and to an expiry: `EXPIRY.HMAC`, where HMAC (SHA-256, under the server
//! key, hex) covers the SHA-256 of the browser's CSRF cookie nonce, of its session cookie's
//! handle (if it has one) and the expiry, which the token carries in clear. A pair of CSRF
//! cookie and token minted by an attacker in their own browser therefore fails in a victim's
//! browser that has a session cookie of its own (login CSRF by cookie tossing), and any token
//! fails after its expiry.

use crate::time::UnixSeconds;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What identifies the browser a form is shown to.
#[derive(Debug, Clone, Copy)]
pub struct FormBrowser<'a> {
    /// The random nonce of the browser's CSRF cookie (set with the form).
    pub nonce: &'a str,
    /// The browser's session cookie handle, if it has one.
    pub session_handle: Option<&'a str>,
}

/// The verdict on a posted CSRF token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfVerdict {
    Valid,
    /// Minted for this browser, but past its expiry.
    Expired,
    /// Malformed, forged, or minted for another browser.
    Mismatch,
}

fn mac(key: &[u8], browser: FormBrowser<'_>, expires_at: UnixSeconds) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"sign-in csrf v2\0");
    mac.update(&Sha256::digest(browser.nonce.as_bytes()));
    match browser.session_handle {
        Some(handle) => {
            mac.update(&[1]);
            mac.update(&Sha256::digest(handle.as_bytes()));
        }
        None => mac.update(&[0]),
    }
    mac.update(&expires_at.to_be_bytes());
    mac.finalize().into_bytes().into()
}

/// The token for a form shown to `browser`, valid until `expires_at`.
pub fn csrf_token(key: &[u8], browser: FormBrowser<'_>, expires_at: UnixSeconds) -> String {
    format!(
        "{expires_at}.{}",
        hex::encode(mac(key, browser, expires_at))
    )
}

/// Checks a posted token against the browser posting it, at `now`. The MAC is compared in
/// constant time, and before the expiry, so that only a genuine token is ever `Expired`.
pub fn check_csrf_token(
    key: &[u8],
    browser: FormBrowser<'_>,
    presented: &str,
    now: UnixSeconds,
) -> CsrfVerdict {
    let Some((expiry, tag)) = presented.split_once('.') else {
        return CsrfVerdict::Mismatch;
    };
    if expiry.is_empty() || expiry.len() > 18 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return CsrfVerdict::Mismatch;
    }
    let Ok(expires_at) = expiry.parse::<UnixSeconds>() else {
        return CsrfVerdict::Mismatch;
    };
    let Ok(tag) = hex::decode(tag) else {
        return CsrfVerdict::Mismatch;
    };
    let expected = mac(key, browser, expires_at);
    if !bool::from(expected.as_slice().ct_eq(&tag)) {
        return CsrfVerdict::Mismatch;
    }
    if now >= expires_at {
        return CsrfVerdict::Expired;
    }
    CsrfVerdict::Valid
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: UnixSeconds = 1_700_000_000;

    fn victim() -> FormBrowser<'static> {
        FormBrowser {
            nonce: "victim-nonce",
            session_handle: Some("victim-handle"),
        }
    }

    #[test]
    fn a_token_is_valid_for_its_browser_until_its_expiry() {
        let token = csrf_token(KEY, victim(), NOW + 60);
        assert_eq!(
            check_csrf_token(KEY, victim(), &token, NOW),
            CsrfVerdict::Valid
        );
        assert_eq!(
            check_csrf_token(KEY, victim(), &token, NOW + 59),
            CsrfVerdict::Valid
        );
        assert_eq!(
            check_csrf_token(KEY, victim(), &token, NOW + 60),
            CsrfVerdict::Expired
        );
        assert_eq!(
            check_csrf_token(KEY, victim(), &token, NOW + 10_000),
            CsrfVerdict::Expired
        );
    }

    #[test]
    fn a_token_of_another_browser_or_key_is_a_mismatch() {
        let token = csrf_token(KEY, victim(), NOW + 60);
        let other_nonce = FormBrowser {
            nonce: "attacker-nonce",
            ..victim()
        };
        let other_handle = FormBrowser {
            session_handle: Some("attacker-handle"),
            ..victim()
        };
        let no_handle = FormBrowser {
            session_handle: None,
            ..victim()
        };
        for browser in [other_nonce, other_handle, no_handle] {
            assert_eq!(
                check_csrf_token(KEY, browser, &token, NOW),
                CsrfVerdict::Mismatch
            );
        }
        assert_eq!(
            check_csrf_token(b"another key", victim(), &token, NOW),
            CsrfVerdict::Mismatch
        );
    }

    #[test]
    fn an_extended_expiry_or_a_malformed_token_is_a_mismatch() {
        let token = csrf_token(KEY, victim(), NOW + 60);
        let (_, tag) = token.split_once('.').unwrap();
        // Moving the expiry breaks the MAC, even if the token was still valid.
        let extended = format!("{}.{tag}", NOW + 3600);
        assert_eq!(
            check_csrf_token(KEY, victim(), &extended, NOW),
            CsrfVerdict::Mismatch
        );
        for bad in [
            "",
            ".",
            tag,
            &format!(".{tag}"),
            &format!("+{}.{tag}", NOW + 60),
            &format!("{}.{}", NOW + 60, &tag[..62]),
            &format!("{}.{tag}00", NOW + 60),
            &format!("{}.zz{}", NOW + 60, &tag[2..]),
            "99999999999999999999999.00",
        ] {
            assert_eq!(
                check_csrf_token(KEY, victim(), bad, NOW),
                CsrfVerdict::Mismatch,
                "{bad}"
            );
        }
    }
}
