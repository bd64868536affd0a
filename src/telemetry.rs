//! Logging set-up. Nothing logs tokens, secrets or passwords: request spans carry the path
//! (never the query string), and secret-bearing types redact themselves in `Debug`.

use crate::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("SHOPKEEPER_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal: not in log files or collectors (and
        // not formatted into every request span's fields for nobody).
        .with_ansi(std::io::stderr().is_terminal());
    // try_init: tests start several servers in one process.
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
