//! The JSONP callback check: whatever it accepts is safe to write before `(` in a script.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shopkeeper::domain::authorize::valid_jsonp_callback;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    if valid_jsonp_callback(name) {
        assert!(!name.is_empty() && name.len() <= 128);
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.'))
        );
        assert!(!name.starts_with('.') && !name.ends_with('.') && !name.contains(".."));
    }
});
