//! Redirect-URI registration check and matching: a match is always an exact string match,
//! and a URI that passes registration has no fragment and no whitespace.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shopkeeper::domain::authorize::redirect_uri_registered;
use shopkeeper::provision::check_redirect_uri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\n');
    let presented = parts.next().unwrap_or_default();
    let registered: Vec<String> = parts.map(str::to_owned).collect();
    if check_redirect_uri(presented).is_ok() {
        assert!(!presented.contains('#'));
        assert!(!presented.chars().any(char::is_whitespace));
        assert!(presented.contains("://"));
    }
    let matched = redirect_uri_registered(&registered, presented);
    assert_eq!(matched, registered.iter().any(|r| r.as_bytes() == presented.as_bytes()));
});
