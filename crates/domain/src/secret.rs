//! Bearer secrets (access, refresh and session tokens, client secrets) and their hashes.
//!
//! Every such secret is ≥ 256 bits of randomness, so a plain SHA-256 is a sufficient one-way
//! function: a stolen database dump yields no usable token, and verifying costs microseconds
//! (Argon2id is for shoppers' low-entropy passwords only).
//!
//! The randomness comes from `rand::thread_rng()`: a ChaCha12 CSPRNG per thread, seeded and
//! periodically reseeded from the operating system. Asking the kernel (`OsRng`) for every
//! token and id cost a `getrandom` system call each, five per new session.

use rand::{Rng, RngCore};
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

/// An opaque access or refresh token (or client secret, or authorization code) in lowercase
/// hex, like the real API's tokens. Its `Debug` never prints the value.
///
/// Two shapes:
/// - **random** (64 characters): 256 random bits; client secrets, authorization codes, and
///   bearer tokens issued before time-ordered ones existed. Stored as SHA-256 of the text.
/// - **time-ordered bearer** (80 characters): the issue time in milliseconds as 8 big-endian
///   bytes, then 256 random bits. Stored under [`TokenValue::hash`]'s time-ordered key.
///
/// The lengths never overlap, so a presented token says which it is.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenValue(String);

/// Bytes of a time-ordered bearer token's issue-time prefix.
const TIME_PREFIX: usize = 8;
/// Hex characters of a random token and of a time-ordered one.
const RANDOM_LEN: usize = 64;
const TIME_ORDERED_LEN: usize = 2 * TIME_PREFIX + 64;

impl TokenValue {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(lower_hex(&bytes))
    }

    /// A bearer token issued at `at_millis`: time-ordered, so that its stored key (see
    /// [`TokenValue::hash`]) sorts by issue time.
    pub fn generate_time_ordered(at_millis: u64) -> Self {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self::time_ordered_from_bytes(at_millis, &bytes)
    }

    /// Wraps random bytes that were derived elsewhere (the refresh grace pair) in the
    /// time-ordered format, with `at_millis` as its issue time.
    pub fn time_ordered_from_bytes(at_millis: u64, bytes: &[u8; 32]) -> Self {
        let mut raw = [0u8; TIME_PREFIX + 32];
        raw[..TIME_PREFIX].copy_from_slice(&at_millis.to_be_bytes());
        raw[TIME_PREFIX..].copy_from_slice(bytes);
        Self(lower_hex(&raw))
    }

    /// Wraps derived bytes in the random (64-character) format: the refresh grace pair of a
    /// token consumed before time-ordered successors existed.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(lower_hex(bytes))
    }

    /// A presented token: only its shape is checked here; whether it exists is the store's word.
    pub fn parse(raw: &str) -> Option<Self> {
        (matches!(raw.len(), RANDOM_LEN | TIME_ORDERED_LEN)
            && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .then(|| Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The clear value, given up (for the one response that hands the token out).
    pub fn into_exposed(self) -> String {
        self.0
    }

    /// The key the token is stored and looked up under.
    ///
    /// A random token's is SHA-256 of its text. A time-ordered token's is its 8-byte issue-time
    /// prefix followed by the first 24 bytes of SHA-256 of its whole text: still one-way (192
    /// bits of hash; the prefix gives away only the issue time, which the row records anyway),
    /// but keys sort by issue time, so new rows append to the right edge of the primary-key
    /// index instead of dirtying a random index page each. On SQLite that page, copied into
    /// the write-ahead log at every commit, was the largest single cost of issuing a token.
    pub fn hash(&self) -> SecretHash {
        let digest = SecretHash::of(&self.0);
        if self.0.len() != TIME_ORDERED_LEN {
            return digest;
        }
        let mut key = [0u8; 32];
        hex::decode_to_slice(&self.0[..2 * TIME_PREFIX], &mut key[..TIME_PREFIX])
            .expect("parsed or generated as lowercase hex");
        key[TIME_PREFIX..].copy_from_slice(&digest.0[..32 - TIME_PREFIX]);
        SecretHash(key)
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
        rand::thread_rng().fill_bytes(&mut bytes);
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
    rand::thread_rng().fill_bytes(&mut buf);
    lower_hex(&buf)
}

/// What a PIN is made of: upper-case letters and digits without those read as one another
/// (`0`/`O`, `1`/`I`): 32 characters, 5 bits each.
pub const PIN_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A random PIN of `len` characters of [`PIN_ALPHABET`] (8 characters: 40 bits), for a
/// private store's access code or invitation; stored only as its Argon2id hash.
pub fn random_pin(len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(PIN_ALPHABET[rng.gen_range(0..PIN_ALPHABET.len())]))
        .collect()
}

/// `bytes` as lowercase hex, like `hex::encode`, which builds its string one `char` at a time
/// on the grant's hot path (docs/benchmarks.md): this fills one buffer.
fn lower_hex(bytes: &[u8]) -> String {
    let mut text = vec![0u8; 2 * bytes.len()];
    hex::encode_to_slice(bytes, &mut text).expect("the buffer is twice the input");
    String::from_utf8(text).expect("hex digits are ASCII")
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
    fn pins_use_only_the_unambiguous_alphabet() {
        let pin = random_pin(8);
        assert_eq!(pin.len(), 8);
        assert!(pin.bytes().all(|b| PIN_ALPHABET.contains(&b)), "{pin}");
        assert_ne!(random_pin(16), random_pin(16));
    }

    #[test]
    fn lower_hex_matches_the_hex_crate() {
        for bytes in [&[][..], &[0x00, 0x0f, 0xa5, 0xff][..], &[7u8; 40][..]] {
            assert_eq!(lower_hex(bytes), hex::encode(bytes));
        }
    }

    #[test]
    fn time_ordered_tokens_have_keys_that_sort_by_issue_time() {
        let earlier = TokenValue::generate_time_ordered(1_700_000_000_000);
        let later = TokenValue::generate_time_ordered(1_700_000_000_001);
        assert_eq!(earlier.expose().len(), 80);
        assert!(
            earlier
                .expose()
                .starts_with(&hex::encode(1_700_000_000_000u64.to_be_bytes()))
        );
        assert_eq!(TokenValue::parse(earlier.expose()), Some(earlier.clone()));
        assert!(earlier.hash().0 < later.hash().0);
        // One-way past the prefix: the key's tail is the digest of the text, not the text.
        let key = earlier.hash();
        assert_eq!(&key.0[..8], &1_700_000_000_000u64.to_be_bytes());
        assert_eq!(&key.0[8..], &SecretHash::of(earlier.expose()).0[..24]);
        // Same millisecond, different tokens, different keys.
        let twin = TokenValue::generate_time_ordered(1_700_000_000_000);
        assert_ne!(earlier.hash(), twin.hash());
    }

    #[test]
    fn random_tokens_keep_the_plain_digest_as_key() {
        let t = TokenValue::generate();
        assert_eq!(t.hash(), SecretHash::of(t.expose()));
    }

    #[test]
    fn parse_rejects_other_shapes() {
        assert!(TokenValue::parse("abc").is_none());
        assert!(TokenValue::parse(&"G".repeat(64)).is_none());
        assert!(TokenValue::parse(&"A".repeat(64)).is_none());
        assert!(TokenValue::parse(&"a".repeat(72)).is_none());
        assert!(TokenValue::parse(&"a".repeat(80)).is_some());
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
