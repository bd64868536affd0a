//! The database settings (flags > environment > defaults).

use clap::{Args, ValueEnum};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://shopkeeper.db";

#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// Database URL: `sqlite://FILE` (embedded default) or `postgres://...`.
    #[arg(long = "database", env = "SHOPKEEPER_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub url: String,
    /// Connections per node: the read pool on SQLite (which always writes through one
    /// connection), the one pool on PostgreSQL. On PostgreSQL keep nodes × (this + 1 for the
    /// revocation listener) below the server's `max_connections`.
    #[arg(
        long,
        env = "SHOPKEEPER_DB_POOL_SIZE",
        default_value_t = 8,
        global = true
    )]
    pub pool_size: u32,
    /// Longest wait for a pooled connection, in milliseconds. While the database is down a
    /// request waits at most this long, then answers 503 `temporarily_unavailable`.
    #[arg(
        long,
        env = "SHOPKEEPER_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 5000,
        global = true
    )]
    pub acquire_timeout_ms: u64,
    /// PostgreSQL only: longest a single statement may run, in milliseconds (the server's
    /// `statement_timeout`, set on every connection); 0 disables it.
    #[arg(
        long,
        env = "SHOPKEEPER_DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 5000,
        global = true
    )]
    pub statement_timeout_ms: u64,
    /// SQLite only: when a commit reaches the disk. `normal` (WAL): a commit is in the
    /// database's write-ahead log before its answer is sent, so it survives the process being
    /// killed; the last commits before a power loss or OS crash may be rolled back. `full`:
    /// every commit is also fsynced first (survives power loss; token grants share one fsync
    /// per group-commit batch, see docs/benchmarks.md).
    #[arg(
        long,
        env = "SHOPKEEPER_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value_t = SqliteSynchronous::Normal,
        global = true
    )]
    pub sqlite_synchronous: SqliteSynchronous,
}

/// SQLite's `PRAGMA synchronous` levels that keep a committed row across a process kill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSynchronous {
    Normal,
    Full,
}

impl SqliteSynchronous {
    pub fn pragma(self) -> &'static str {
        match self {
            SqliteSynchronous::Normal => "PRAGMA synchronous = NORMAL;",
            SqliteSynchronous::Full => "PRAGMA synchronous = FULL;",
        }
    }
}

impl DatabaseSettings {
    /// The defaults for `url` (what the CLI would use without flags).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 8,
            acquire_timeout_ms: 5000,
            statement_timeout_ms: 5000,
            sqlite_synchronous: SqliteSynchronous::Normal,
        }
    }
}
