//! Timestamps are whole seconds since the Unix epoch everywhere (database and rules), so that
//! both SQLite and PostgreSQL store them as plain integers.

use std::time::{SystemTime, UNIX_EPOCH};

pub type UnixSeconds = i64;

pub fn now() -> UnixSeconds {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Milliseconds since the Unix epoch (for identifiers that sort by creation time).
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// ISO-8601 (RFC 3339, UTC) rendering used by the documented `access-tokens` fields.
pub fn iso8601(at: UnixSeconds) -> String {
    time::OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
