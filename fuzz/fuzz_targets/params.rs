//! Request-parameter parsing and merging (query + form or JSON body): never panics; what it
//! accepts respects the documented limits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shopkeeper::http::params::{MAX_NAME_LEN, MAX_VALUE_LEN, Params};

fuzz_target!(|data: &[u8]| {
    // First byte picks the content type, then the rest splits into query and body at the
    // first 0xFF byte.
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let content_type = match kind % 5 {
        0 => None,
        1 => Some("application/x-www-form-urlencoded"),
        2 => Some("application/json"),
        3 => Some("application/json; charset=utf-8"),
        _ => Some("text/plain"),
    };
    let (query, body) = match rest.iter().position(|&b| b == 0xFF) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&rest[..0], rest),
    };
    let query = std::str::from_utf8(query).ok();
    if let Ok(params) = Params::parse(query, content_type, body) {
        for name in ["grant_type", "username", "password", "client_id", "refresh_token"] {
            if let Some(v) = params.get(name) {
                assert!(v.len() <= MAX_VALUE_LEN && name.len() <= MAX_NAME_LEN);
            }
        }
    }
});
