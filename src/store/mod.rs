//! The only module that talks to the database. SQL is written once with `$N` placeholders,
//! which both SQLite and PostgreSQL accept, and runs through sqlx's `Any` driver; only the
//! migrations and connection set-up differ per engine.
//!
//! SQLite allows one writer at a time, so on SQLite every write goes through a pool of exactly
//! one connection: writers queue in the pool instead of failing with `SQLITE_BUSY`, and reads
//! run in parallel on the read pool (WAL mode).

mod clients;
mod housekeeping;
mod sessions;
mod shoppers;
mod sites;
mod tokens;

pub use clients::{ClientRecord, NewClient};
pub use housekeeping::{Purged, TableCounts};
pub use sessions::{NewSession, SessionRecord};
pub use shoppers::{NewShopper, ShopperRecord};
pub use sites::SiteRecord;
pub use tokens::{AccessTokenRecord, NewTokenPair, RefreshOutcome, RefreshTokenRecord};

use crate::config::DatabaseSettings;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("already exists: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("database unavailable: {0}")]
    Unavailable(sqlx::Error),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                StoreError::Unavailable(e)
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Conflict(db.message().to_owned())
            }
            _ => StoreError::Database(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    engine: Engine,
}

impl Store {
    /// Connects, creating the SQLite file if needed, and applies the migrations. With several
    /// nodes on one PostgreSQL, the migrator's advisory lock makes one node apply them while
    /// the others wait.
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let engine = if settings.url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if settings.url.starts_with("postgres:") || settings.url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            anyhow::bail!("unsupported database URL (use sqlite://FILE or postgres://...)");
        };
        let url = match engine {
            Engine::Sqlite if !settings.url.contains("mode=") => {
                let sep = if settings.url.contains('?') { '&' } else { '?' };
                format!("{}{sep}mode=rwc", settings.url)
            }
            _ => settings.url.clone(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let build = |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(5))
                .after_connect(move |conn, _meta| {
                    Box::pin(async move {
                        if engine == Engine::Sqlite {
                            // FULL: a commit is on disk before it is acknowledged.
                            conn.execute(
                                "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                                 PRAGMA synchronous = FULL;",
                            )
                            .await?;
                        }
                        Ok(())
                    })
                })
        };
        let (read, write) = match engine {
            Engine::Sqlite => {
                let write = build(1).connect_with(options.clone()).await?;
                write.execute("PRAGMA journal_mode = WAL").await?;
                let read = build(settings.pool_size.max(1))
                    .connect_with(options)
                    .await?;
                (read, write)
            }
            Engine::Postgres => {
                let pool = build(settings.pool_size.max(2))
                    .connect_with(options)
                    .await?;
                (pool.clone(), pool)
            }
        };
        match engine {
            Engine::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&write).await?,
            Engine::Postgres => sqlx::migrate!("./migrations/postgres").run(&write).await?,
        }
        Ok(Self {
            read,
            write,
            engine,
        })
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Readiness: the database answers a query.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Returns the stored server-wide value `name`, or stores `make()` if there is none yet.
    /// Every node thereby agrees on the value (first writer wins).
    pub async fn server_setting_or_init(
        &self,
        name: &str,
        make: impl FnOnce() -> String,
    ) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO server_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(make())
        .execute(&self.write)
        .await?;
        let value: (String,) = sqlx::query_as("SELECT value FROM server_settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.write)
            .await?;
        Ok(value.0)
    }

    /// True when no site exists yet (a first start).
    pub async fn is_empty(&self) -> StoreResult<bool> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sites")
            .fetch_one(&self.read)
            .await?;
        Ok(n == 0)
    }
}
