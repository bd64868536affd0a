//! The token codec: parsing presented access/refresh and session tokens never panics, what
//! parses round-trips, and a token's hash is the hash of what it exposes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shopkeeper::domain::{SecretHash, SessionToken, TokenValue};

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(token) = TokenValue::parse(raw) {
        assert_eq!(token.expose(), raw);
        assert!(token.hash().ct_eq(&SecretHash::of(raw)));
        assert_eq!(TokenValue::parse(token.expose()), Some(token));
    }
    if let Some(token) = SessionToken::parse(raw) {
        assert!(token.expose().eq_ignore_ascii_case(raw));
        assert_eq!(SessionToken::parse(token.expose()), Some(token.clone()));
        assert_eq!(
            SessionToken::parse(&raw.to_ascii_lowercase()).map(|t| t.hash()),
            Some(token.hash())
        );
    }
    if data.len() >= 32 {
        let hash = SecretHash::from_slice(&data[..32]).unwrap();
        assert!(hash.ct_eq(&hash));
    }
});
