//! Logging set-up. Nothing logs tokens, secrets or passwords: the request line and span carry
//! the route template and request id (never the path's values or the query string), and
//! secret-bearing types redact themselves in `Debug`.

use crate::config::LogFormat;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The level when `SHOPKEEPER_LOG` is unset: one line per request and what goes wrong.
const DEFAULT_DIRECTIVES: &str = "info";

/// Libraries whose `debug` output is noise to an operator (sqlx logs every statement, the
/// HTTP and I/O stacks every connection event): kept at `warn` unless `SHOPKEEPER_LOG` names
/// the target itself (`SHOPKEEPER_LOG=debug,sqlx=debug`).
const QUIET_TARGETS: &[&str] = &[
    "sqlx",
    "hyper",
    "hyper_util",
    "tower",
    "tower_http",
    "mio",
    "tokio_util",
];

/// The filter directives for a `SHOPKEEPER_LOG` value (or none): the operator's directives,
/// then `TARGET=warn` for each quiet library they do not name. A more specific directive
/// wins in an `EnvFilter`, so `sqlx::query=debug` still shows statements.
fn directives(from_env: Option<&str>) -> String {
    let given = from_env
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_DIRECTIVES);
    let named: Vec<&str> = given
        .split(',')
        .filter_map(|d| d.split(['[', '=']).next())
        .map(str::trim)
        .collect();
    let mut all = given.to_owned();
    for target in QUIET_TARGETS {
        if !named.contains(target) {
            all.push(',');
            all.push_str(target);
            all.push_str("=warn");
        }
    }
    all
}

pub fn init(format: LogFormat) {
    let from_env = std::env::var("SHOPKEEPER_LOG").ok();
    let (filter, rejected) = match EnvFilter::builder().parse(directives(from_env.as_deref())) {
        Ok(filter) => (filter, None),
        Err(e) => (EnvFilter::new(directives(None)), Some(e.to_string())),
    };
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
    if let Some(error) = rejected {
        tracing::warn!(%error, "SHOPKEEPER_LOG is not a valid filter; logging at the default level");
    }
}

#[cfg(test)]
mod tests {
    use super::directives;

    #[test]
    fn quiet_libraries_stay_at_warn_unless_named() {
        let d = directives(None);
        assert!(d.starts_with("info,"), "{d}");
        assert!(d.contains(",sqlx=warn") && d.contains(",hyper=warn"), "{d}");

        let d = directives(Some("debug"));
        assert!(d.starts_with("debug,") && d.contains(",sqlx=warn"), "{d}");

        // Naming a library gives the operator's level, not ours as well.
        let d = directives(Some("debug,sqlx=debug"));
        assert!(!d.contains("sqlx=warn"), "{d}");
        assert!(d.contains(",hyper=warn"), "{d}");

        // A narrower target keeps the library's default for the rest of it.
        let d = directives(Some("info,sqlx::query[statement]=debug"));
        assert!(d.contains(",sqlx=warn"), "{d}");

        assert_eq!(directives(Some("  ")), directives(None));
    }

    #[test]
    fn the_directives_parse() {
        for given in [None, Some("debug"), Some("warn,shopkeeper::request=off")] {
            tracing_subscriber::EnvFilter::builder()
                .parse(directives(given))
                .unwrap();
        }
    }
}
