//! Timestamps are whole seconds since the Unix epoch everywhere (database and rules), so that
//! both SQLite and PostgreSQL store them as plain integers. The domain never reads a clock:
//! every rule takes `now` from its caller.

pub type UnixSeconds = i64;

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
