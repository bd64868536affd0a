//! Bearer secrets (access, refresh and session tokens, client secrets) and their hashes.
//!
//! Every such secret is ≥ 256 bits of randomness, so a plain SHA-256 is a sufficient one-way
//! function: a stolen database dump yields no usable token, and verifying costs microseconds
//! (Argon2id is for shoppers' low-entropy passwords only).

use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

/// SHA-256 of a secret; the only form in which secrets are stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time equality, for comparing a presented secret with a stored hash.
    pub fn ct_eq(&self, other: &SecretHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// An opaque access or refresh token (or client secret): 256 random bits as 64 lowercase hex
/// characters, like the real API's tokens. Its `Debug` never prints the value.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenValue(String);

impl TokenValue {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    /// Wraps bytes that were derived elsewhere (the refresh grace pair) in the token format.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(hex::encode(bytes))
    }

    /// A presented token: only its shape is checked here; whether it exists is the store's word.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl fmt::Debug for TokenValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenValue(<redacted>)")
    }
}

/// A session token of the `SessionToken` site action: 32 uppercase hex characters (128 bits),
/// the format the real action returns.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(hex::encode_upper(bytes))
    }

    /// Accepts either case: clients are known to lowercase it.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(raw.to_ascii_uppercase()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash::of(&self.0)
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// Random lowercase hex identifier of `bytes` bytes (session ids, API keys).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_documented_shape() {
        let t = TokenValue::generate();
        assert_eq!(t.expose().len(), 64);
        assert!(TokenValue::parse(t.expose()).is_some());
        assert_ne!(t, TokenValue::generate());
        let s = SessionToken::generate();
        assert_eq!(s.expose().len(), 32);
        assert!(s.expose().bytes().all(|b| !b.is_ascii_lowercase()));
    }

    #[test]
    fn parse_rejects_other_shapes() {
        assert!(TokenValue::parse("abc").is_none());
        assert!(TokenValue::parse(&"G".repeat(64)).is_none());
        assert!(TokenValue::parse(&"A".repeat(64)).is_none());
        assert_eq!(
            SessionToken::parse(&"ab".repeat(16)).unwrap().expose(),
            "AB".repeat(16)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let t = TokenValue::generate();
        assert!(!format!("{t:?}").contains(t.expose()));
    }

    #[test]
    fn hash_comparison() {
        let a = SecretHash::of("x");
        assert!(a.ct_eq(&SecretHash::of("x")));
        assert!(!a.ct_eq(&SecretHash::of("y")));
    }
}
