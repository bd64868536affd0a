//! The `Authorization` header parser of client authentication: never panics, and a Basic
//! header that parses names a well-formed key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shopkeeper::auth::PresentedClient;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(PresentedClient::Basic { key, .. }) = PresentedClient::parse(Some(header), None, None)
    {
        assert!(!key.as_str().is_empty());
    }
    // Header and parameters together must agree or be refused, never panic.
    let _ = PresentedClient::parse(Some(header), Some(header), Some(header));
});
