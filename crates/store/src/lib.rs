//! The only module that talks to the database. SQL is written once with `$N` placeholders,
//! which both SQLite and PostgreSQL accept, and runs through sqlx's `Any` driver; only the
//! migrations and connection set-up differ per engine.
//!
//! SQLite allows one writer at a time, so on SQLite every write goes through a pool of exactly
//! one connection, or through the group writer's own connection, and the two take turns (see
//! [`WriteTurn`]): writers queue instead of failing with `SQLITE_BUSY`, and reads run in
//! parallel on the read pool (WAL mode).

pub mod audit;
pub mod settings;

mod admin_returns;
mod admin_tasks;
mod authorized_countries;
mod batch;
mod cart_write;
mod catalog;
mod checkout;
mod clients;
mod column;
mod error;
mod events;
mod files;
mod financing;
mod housekeeping;
mod jobs;
mod notify;
mod offers;
mod payment_methods;
mod profiles;
mod purchase_plans;
mod refunds;
mod returns;
mod rotation;
mod sessions;
mod shoppers;
mod sites;
mod staff;
mod subscriptions;
mod tax_registrations;
mod tokens;
mod web;
mod wish_lists;

pub use admin_tasks::{AdminTaskRecord, NewAdminTask, TaskOutcome, TaskPage, task_job_key};
pub use audit::{Actor, AuditEntry, AuditRecord};
pub use authorized_countries::{CountriesChange, CountriesChanged};
pub use cart_write::CartWriter;
pub use catalog::{CategoryRecord, ImportedBatch, ProductRecord, StoredPlan, Tally, VolumePrice};
pub use checkout::{
    CartSnapshot, FromAccount, NewPaymentSource, OrderLineRecord, OrderRecord, PaymentOptionFields,
    PaymentSourceRecord, SubmitFailure,
};
pub use clients::{ClientRecord, NewClient};
pub use error::{DatabaseError, StoreError, StoreResult};
pub use events::EventRecord;
pub use files::{FileMeta, FileRecord, NewInvoice};
pub use financing::FinancingTermRecord;
pub use housekeeping::{Purged, SessionPurge, TableCounts};
pub use jobs::{JobLease, JobRecord, NewJob};
pub use notify::{REVOCATION_CHANNEL, RevocationListener};
pub use offers::{CartTrigger, CouponRecord, OfferRecord, PopRecord, TriggerDetails};
pub use payment_methods::PaymentMethodRecord;
pub use profiles::{AddressRecord, ProfileFields, ProfileRecord};
pub use purchase_plans::{
    NewPlanRule, PlanPrice, PlanRuleRecord, PlanSettings, PurchasePlanRecord,
};
pub use refunds::{
    CreatedRefund, LedgerRecord, NewSatisfactionRefund, RefundAuthor, SatisfactionRefundLineRecord,
    SatisfactionRefundRecord,
};
pub use returns::{NewReturn, RefundRecord, ReturnActionRefusal, ReturnLineRecord, ReturnRecord};
pub use rotation::RefreshOutcome;
pub use sessions::{NewSession, SESSION_SNAPSHOT_TTL, SessionRecord};
pub use shoppers::{
    NewShopper, ShopperRecord, TAKEN_EMAIL, TAKEN_EXTERNAL_REFERENCE, TAKEN_USERNAME,
};
pub use sites::SiteRecord;
pub use staff::{StaffChange, StaffTokenRecord, StaffUserRecord};
pub use subscriptions::{
    Cancelled, ChargeRecord, RenewalResult, SubscriptionChange, SubscriptionRecord, Updated,
};
pub use tokens::{AccessTokenRecord, NewTokenPair, RefreshTokenRecord};
pub use web::{
    AuthorizationCodeRecord, BrowserHandle, CodeRedemption, NewAuthorizationCode, RedeemedCheckout,
    SiteBranding,
};
pub use wish_lists::{WishListProductRecord, WishListRecord};

use crate::settings::DatabaseSettings;
use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The turn to write to SQLite, which the group writer (on a connection of its own) and the
/// users of the write pool take one at a time, so that they never meet SQLite's write lock
/// and its busy-wait sleeps; SQLite's lock and `busy_timeout` still order writers of other
/// processes (the CLI), and would keep every write correct without turns.
///
/// A permit rather than the write pool's one connection: sqlx pings a connection each time
/// it goes back to its pool, a round trip to its connection thread that the group writer
/// paid on every batch, on the path of every grant.
#[derive(Clone)]
pub(crate) struct WriteTurn(Arc<Semaphore>);

impl WriteTurn {
    fn new() -> Self {
        Self(Arc::new(Semaphore::new(1)))
    }

    /// Waits for the turn; it passes on when the permit is dropped.
    pub async fn take(&self) -> StoreResult<OwnedSemaphorePermit> {
        self.0
            .clone()
            .acquire_owned()
            .await
            .map_err(|closed| StoreError::Unavailable(Box::new(closed)))
    }
}

/// A connection of the write pool, held together with the write turn on SQLite.
pub(crate) struct WriteConnection {
    // Fields drop in order: the connection goes back to its pool before the turn passes on.
    connection: PoolConnection<Any>,
    _turn: Option<OwnedSemaphorePermit>,
}

impl WriteConnection {
    pub async fn begin(&mut self) -> sqlx::Result<sqlx::Transaction<'_, Any>> {
        sqlx::Connection::begin(&mut *self.connection).await
    }
}

impl Deref for WriteConnection {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.connection
    }
}

impl DerefMut for WriteConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.connection
    }
}

#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    write: AnyPool,
    engine: Engine,
    /// For the connection that listens to other nodes' revocations (PostgreSQL only).
    url: std::sync::Arc<str>,
    /// SQLite only: taken by every write through `write` (see [`Store::writer`]) and by the
    /// group writer.
    write_turn: Option<WriteTurn>,
    /// Group commit for new sessions and refresh rotations (see `batch/`).
    group_writer: batch::GroupWriter,
    /// API clients by key (with their site's settings), for at most [`CLIENT_CACHE_TTL`]:
    /// every token request looks its client up. Writes through this store drop the entry at
    /// once; a change made by another process (the CLI, another node) shows within the TTL.
    client_cache: Arc<quick_cache::sync::Cache<shopkeeper_domain::ApiKey, CachedClient>>,
    /// Bumped by every client change through this store (with the cache entry's removal), so
    /// that the token check, which remembers a key's verdict for a second, sees a disable
    /// made here at once.
    client_changes: Arc<std::sync::atomic::AtomicU64>,
    /// Sessions for the read-only views of a bearer check (see `sessions.rs`).
    snapshots: sessions::SessionSnapshots,
}

/// On the SQLite writer: checkpoint inline only once the WAL holds this many pages (~40 MB).
/// SQLite's default (1,000) makes every thousandth page's commit copy the WAL into the
/// database and fsync it while all writers wait.
const WRITER_AUTOCHECKPOINT: &str = "PRAGMA wal_autocheckpoint = 10000";

/// Every SQLite connection, the group writer's own included: wait up to 5 s for another
/// process's write lock, and enforce foreign keys.
const SQLITE_CONNECTION_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;";

/// How often the background task copies the WAL into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(100);

/// WAL frames (4 KiB pages) past which the background task finishes a checkpoint holding the
/// write turn, so that the next commit starts the WAL over; well under the writer's backstop
/// (`WRITER_AUTOCHECKPOINT`), which it keeps from firing under steady load.
const RESTART_AFTER_FRAMES: i64 = 4_000;

/// Copies committed WAL pages into the database file from a read connection, beside the
/// writer instead of inside one of its commits. `PASSIVE` never blocks the writer or readers;
/// it copies what it can and the next round continues. Stops when the pool closes.
///
/// Under continuous writes a passive pass never copies everything (there are always frames
/// newer than the pass), so the WAL could only start over when the writer's backstop
/// checkpoint ran inside a commit: copying up to a tick's worth of frames and fsyncing the
/// database while every grant waited, several times a second (docs/benchmarks.md).
/// Instead, once the WAL is long, a second pass runs right after the first while holding the
/// write turn: it copies only the frames the first one missed, and the WAL restarts at the
/// next commit.
async fn run_checkpoints(read: AnyPool, turn: WriteTurn) {
    let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if read.is_closed() {
            return;
        }
        if let Err(e) = checkpoint_round(&read, &turn, RESTART_AFTER_FRAMES).await {
            if read.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "background WAL checkpoint failed; retrying");
        }
    }
}

/// A passive checkpoint, and when it found at least `restart_after` frames in the WAL, a
/// second one holding the write turn. Returns the frames the first one found. Both run on
/// one read connection, taken before the turn: writers never wait for the read pool.
async fn checkpoint_round(
    read: &AnyPool,
    turn: &WriteTurn,
    restart_after: i64,
) -> StoreResult<i64> {
    let mut connection = read.acquire().await?;
    let frames = passive_checkpoint(&mut connection).await?;
    if frames >= restart_after {
        let _turn = turn.take().await?;
        passive_checkpoint(&mut connection).await?;
    }
    Ok(frames)
}

/// One passive checkpoint; returns the frames in the WAL.
async fn passive_checkpoint(connection: &mut AnyConnection) -> sqlx::Result<i64> {
    let (_busy, frames, _copied): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(connection)
            .await?;
    Ok(frames)
}

/// The SQLite group writer's own connection, to the file the write pool has open, with the
/// writer connection's settings.
async fn direct_writer(
    write: &AnyPool,
    synchronous: &str,
    turn: WriteTurn,
) -> anyhow::Result<batch::DirectWriter> {
    let (file,): (String,) =
        sqlx::query_as("SELECT file FROM pragma_database_list WHERE name = 'main'")
            .fetch_one(write)
            .await?;
    // An in-memory database is private to its connection: the writer could not share it.
    anyhow::ensure!(
        !file.is_empty(),
        "SQLite needs a database file (sqlite://FILE)"
    );
    let pragmas = format!("{SQLITE_CONNECTION_PRAGMAS} {synchronous} {WRITER_AUTOCHECKPOINT};");
    Ok(batch::DirectWriter::open(&file, &pragmas, turn)?)
}

/// The migrations of this binary for `engine`.
fn migrator(engine: Engine) -> &'static sqlx::migrate::Migrator {
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    match engine {
        Engine::Sqlite => &SQLITE,
        Engine::Postgres => &POSTGRES,
    }
}

/// The query for shoppers of one site whose `$column` values are equal once the database
/// folds them (`lower()`, as the unique index compares them).
macro_rules! clashes_of {
    ($column:literal) => {
        concat!(
            "SELECT s.site_id, c.folded, s.",
            $column,
            " AS value, s.id FROM shoppers s \
             JOIN (SELECT site_id, lower(",
            $column,
            ") AS folded FROM shoppers WHERE ",
            $column,
            " IS NOT NULL GROUP BY site_id, lower(",
            $column,
            ") HAVING COUNT(*) > 1) c \
             ON c.site_id = s.site_id AND c.folded = lower(s.",
            $column,
            ") ORDER BY s.site_id, c.folded, s.id"
        )
    };
}

/// What opening a database that does not exist yet does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// Create it (`serve`, `migrate`).
    Create,
    /// Refuse, naming it (every other command).
    Refuse,
}

/// A missing SQLite file, named with its absolute path (a relative one resolves against the
/// folder the command runs in, the usual surprise).
fn refuse_missing_sqlite_file(url: &str) -> anyhow::Result<()> {
    use sqlx::sqlite::SqliteConnectOptions;
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| anyhow::anyhow!("invalid database URL {url:?}: {e}"))?;
    let file = options.get_filename();
    if url.contains(":memory:") || url.contains("mode=memory") || file.exists() {
        return Ok(());
    }
    let absolute = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    anyhow::bail!(
        "no database at {} (--database {url}): run `shopkeeper serve` or `shopkeeper migrate` \
         to create one, or give --database the path of the existing one",
        absolute.display()
    )
}

/// Whether Shopkeeper's migrations ever ran on this database.
async fn has_schema(write: &AnyPool, engine: Engine) -> anyhow::Result<bool> {
    let query = match engine {
        Engine::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Engine::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let (count,): (i64,) = sqlx::query_as(query).fetch_one(write).await?;
    Ok(count > 0)
}

/// A database URL fit for a message: without its password.
pub fn display_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

/// A migration that adds a unique index the rows already stored may break, so it is checked
/// for clashes before it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Uniqueness {
    /// 0012: usernames unique per site without regard to case.
    Usernames,
    /// 0016: e-mail addresses unique per site without regard to case.
    Emails,
}

impl Uniqueness {
    /// In the order they are applied.
    const ALL: [Uniqueness; 2] = [Uniqueness::Usernames, Uniqueness::Emails];

    fn version(self) -> i64 {
        match self {
            Uniqueness::Usernames => 12,
            Uniqueness::Emails => 16,
        }
    }

    /// Every clash, grouped by site and folded value, oldest shopper first in each group.
    /// The column is one of two fixed names, never input.
    async fn clashes(self, write: &AnyPool) -> StoreResult<Vec<Clash>> {
        let sql = match self {
            Uniqueness::Usernames => clashes_of!("username"),
            Uniqueness::Emails => clashes_of!("email"),
        };
        Ok(sqlx::query_as(sql).fetch_all(write).await?)
    }

    /// The refusal for this migration's clashes, and the command that resolves one (for the
    /// newer shopper of the first group).
    fn report(self, clashes: &[Clash]) -> String {
        let (mut report, fix) = match self {
            Uniqueness::Usernames => (
                String::from(
                    "usernames must be unique per site without regard to case (migration \
                     0012), but these shoppers' usernames differ only in case:",
                ),
                "rename all but one shopper of each group, e.g. `shopkeeper shopper rename \
                 --site {site} --id {id} --username NEW`",
            ),
            Uniqueness::Emails => (
                String::from(
                    "e-mail addresses must be unique per site without regard to case \
                     (migration 0016), but these shoppers share one:",
                ),
                "give all but one shopper of each group another address or none, e.g. \
                 `shopkeeper shopper set-email --site {site} --id {id} --email NEW` (or \
                 `--clear`)",
            ),
        };
        let mut example = None;
        for (n, clash) in clashes.iter().enumerate() {
            let same_group = n > 0
                && clashes[n - 1].site_id == clash.site_id
                && clashes[n - 1].folded == clash.folded;
            if same_group {
                example.get_or_insert(clash);
            } else {
                report.push_str(&format!("\n  site {}:", clash.site_id));
            }
            report.push_str(&format!(" {:?} (shopper id {})", clash.value, clash.id));
        }
        if let Some(c) = example {
            let fix = fix
                .replace("{site}", &c.site_id)
                .replace("{id}", &c.id.to_string());
            report.push_str(&format!("\n{fix}"));
        }
        report
    }
}

/// What to do when stored rows clash with a uniqueness migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MigrationMode {
    /// Refuse, naming the clashes (the server, and every CLI command but the repairs).
    All,
    /// Apply everything before the first migration whose rows clash and stop there (the
    /// repairs: `shopper rename`, `shopper set-email`).
    StopBeforeClashes,
}

/// Applies the migrations. Before 0012 (a unique index on `(site_id, lower(username))`) and
/// 0016 (the same on e-mail addresses) are applied, the database is brought up to the version
/// before 0012 and searched for rows that would break either: creating the index over them
/// would fail with a bare constraint error, so the start stops instead with the list of them
/// (both kinds at once) and the commands that resolve them. Once a migration is applied its
/// search never runs again.
async fn migrate(write: &AnyPool, engine: Engine, mode: MigrationMode) -> anyhow::Result<()> {
    let migrator = migrator(engine);
    migrator
        .run_to(Uniqueness::ALL[0].version() - 1, write)
        .await?;
    let mut reports = Vec::new();
    let mut first_blocked = None;
    for uniqueness in Uniqueness::ALL {
        let (applied,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = $1")
                .bind(uniqueness.version())
                .fetch_one(write)
                .await?;
        if applied > 0 {
            continue;
        }
        let clashes = uniqueness.clashes(write).await?;
        if !clashes.is_empty() {
            first_blocked.get_or_insert(uniqueness.version());
            reports.push(uniqueness.report(&clashes));
        }
    }
    match first_blocked {
        None => migrator.run(write).await?,
        Some(version) if mode == MigrationMode::StopBeforeClashes => {
            migrator.run_to(version - 1, write).await?
        }
        Some(_) => anyhow::bail!("{}\nthen start again", reports.join("\n")),
    }
    Ok(())
}

/// A shopper whose username (or e-mail address) equals another's of the same site without
/// regard to case.
#[derive(Debug, sqlx::FromRow)]
struct Clash {
    site_id: String,
    /// The value as the database folds it (`lower()`, as the index compares them).
    folded: String,
    /// The value as stored.
    value: String,
    id: i64,
}

/// How stale a cached API client may be when another process changed it.
pub const CLIENT_CACHE_TTL: Duration = Duration::from_secs(1);

/// A cached client and when (on the caller's clock, milliseconds) it was read: the TTL is a
/// rule the clock moves.
#[derive(Clone)]
struct CachedClient {
    read_at_millis: u64,
    client: Option<Arc<ClientRecord>>,
}

impl Store {
    /// Connects, creating the SQLite file if needed, and applies the migrations. With several
    /// nodes on one PostgreSQL, the migrator's advisory lock makes one node apply them while
    /// the others wait. Refuses, naming them, shoppers whose usernames or e-mail addresses
    /// differ only in case (see `migrate`).
    pub async fn connect(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        Self::open(settings, MigrationMode::All, Missing::Create).await
    }

    /// Like [`Store::connect`], but a database that does not exist yet (a missing SQLite
    /// file, a PostgreSQL database without Shopkeeper's schema) is refused, naming it, instead
    /// of created: an operator's command run from the wrong folder must not leave an empty
    /// database behind and then report "not found".
    pub async fn connect_existing(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        Self::open(settings, MigrationMode::All, Missing::Refuse).await
    }

    /// Like [`Store::connect`], but on a database whose usernames (or e-mail addresses) clash
    /// without regard to case it stops before the migration that forbids that (0012, 0016)
    /// instead of refusing, so that the clashes can be resolved (`shopkeeper shopper rename`,
    /// `shopkeeper shopper set-email`). Only for those repairs: the server refuses such a
    /// database.
    pub async fn connect_for_repair(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        Self::open(settings, MigrationMode::StopBeforeClashes, Missing::Refuse).await
    }

    async fn open(
        settings: &DatabaseSettings,
        mode: MigrationMode,
        missing: Missing,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let engine = if settings.url.starts_with("sqlite:") {
            Engine::Sqlite
        } else if settings.url.starts_with("postgres:") || settings.url.starts_with("postgresql:") {
            Engine::Postgres
        } else {
            anyhow::bail!("unsupported database URL (use sqlite://FILE or postgres://...)");
        };
        if engine == Engine::Sqlite && missing == Missing::Refuse {
            refuse_missing_sqlite_file(&settings.url)?;
        }
        let url = match engine {
            Engine::Sqlite if !settings.url.contains("mode=") => {
                let sep = if settings.url.contains('?') { '&' } else { '?' };
                let mode = match missing {
                    Missing::Create => "rwc",
                    Missing::Refuse => "rw",
                };
                format!("{}{sep}mode={mode}", settings.url)
            }
            _ => settings.url.clone(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let statement_timeout = settings.statement_timeout_ms.to_string();
        let synchronous = settings.sqlite_synchronous.pragma();
        let build = |max: u32, writer: bool| {
            let statement_timeout = statement_timeout.clone();
            AnyPoolOptions::new()
                .max_connections(max)
                // A connection to a local SQLite file does not go stale; pinging it before
                // each use was a round trip to its thread on every query.
                .test_before_acquire(engine == Engine::Postgres)
                .acquire_timeout(Duration::from_millis(settings.acquire_timeout_ms.max(1)))
                .after_connect(move |conn, _meta| {
                    let statement_timeout = statement_timeout.clone();
                    Box::pin(async move {
                        match engine {
                            Engine::Sqlite => {
                                // A commit is in the WAL (NORMAL) or fsynced (FULL) before
                                // it is acknowledged.
                                conn.execute(SQLITE_CONNECTION_PRAGMAS).await?;
                                conn.execute(synchronous).await?;
                                if writer {
                                    // Checkpoints run beside the writer (see
                                    // `run_checkpoints`); this is the backstop should they
                                    // fall behind, so the WAL stays bounded either way.
                                    conn.execute(WRITER_AUTOCHECKPOINT).await?;
                                }
                            }
                            Engine::Postgres => {
                                // Bounds every statement, so a wedged server cannot hold a
                                // request (and its pooled connection) forever.
                                sqlx::query("SELECT set_config('statement_timeout', $1, false)")
                                    .bind(statement_timeout)
                                    .execute(&mut *conn)
                                    .await?;
                            }
                        }
                        Ok(())
                    })
                })
        };
        let cannot_open = || format!("cannot open the database {}", display_url(&settings.url));
        let (read, write) = match engine {
            Engine::Sqlite => {
                let write = build(1, true)
                    .connect_with(options.clone())
                    .await
                    .with_context(cannot_open)?;
                write.execute("PRAGMA journal_mode = WAL").await?;
                let read = build(settings.pool_size.max(1), false)
                    .connect_with(options)
                    .await
                    .with_context(cannot_open)?;
                (read, write)
            }
            Engine::Postgres => {
                let pool = build(settings.pool_size.max(2), true)
                    .connect_with(options)
                    .await
                    .with_context(cannot_open)?;
                (pool.clone(), pool)
            }
        };
        if missing == Missing::Refuse && !has_schema(&write, engine).await? {
            anyhow::bail!(
                "the database {} has no Shopkeeper schema: run `shopkeeper migrate` (or \
                 `shopkeeper serve`) to create it, or give the right --database",
                display_url(&settings.url)
            );
        }
        migrate(&write, engine, mode).await?;
        let write_turn = (engine == Engine::Sqlite).then(WriteTurn::new);
        if let Some(turn) = &write_turn {
            tokio::spawn(run_checkpoints(read.clone(), turn.clone()));
        }
        let direct = match &write_turn {
            Some(turn) => Some(direct_writer(&write, synchronous, turn.clone()).await?),
            None => None,
        };
        Ok(Self {
            write_turn,
            group_writer: batch::GroupWriter::start(write.clone(), direct),
            client_cache: Arc::new(quick_cache::sync::Cache::new(10_000)),
            client_changes: Arc::default(),
            snapshots: sessions::SessionSnapshots::new(50_000),
            read,
            write,
            engine,
            url: settings.url.as_str().into(),
        })
    }

    /// The newest migration applied to this database.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        let (version,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.read)
                .await?;
        Ok(version.unwrap_or(0))
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A connection for writing, with the write turn on SQLite.
    async fn writer(&self) -> StoreResult<WriteConnection> {
        let turn = match &self.write_turn {
            Some(turn) => Some(turn.take().await?),
            None => None,
        };
        Ok(WriteConnection {
            connection: self.write.acquire().await?,
            _turn: turn,
        })
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
        // One turn for the write and the read of what won.
        let mut writer = self.writer().await?;
        sqlx::query(
            "INSERT INTO server_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(make())
        .execute(&mut *writer)
        .await?;
        let value: (String,) = sqlx::query_as("SELECT value FROM server_settings WHERE name = $1")
            .bind(name)
            .fetch_one(&mut *writer)
            .await?;
        Ok(value.0)
    }

    /// The stored server-wide value `name`, if any.
    pub async fn server_setting(&self, name: &str) -> StoreResult<Option<String>> {
        let value: Option<(String,)> =
            sqlx::query_as("SELECT value FROM server_settings WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.read)
                .await?;
        Ok(value.map(|v| v.0))
    }

    /// Adds `delta` to the whole number stored as `name` (none yet: 0) in one statement, so
    /// that nodes adding at once lose no addition; returns the new value.
    pub async fn add_to_server_setting(&self, name: &str, delta: i64) -> StoreResult<i64> {
        let mut writer = self.writer().await?;
        let (value,): (String,) = sqlx::query_as(
            "INSERT INTO server_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE \
             SET value = CAST(CAST(server_settings.value AS BIGINT) + $3 AS TEXT) \
             RETURNING value",
        )
        .bind(name)
        .bind(delta.to_string())
        .bind(delta)
        .fetch_one(&mut *writer)
        .await?;
        value
            .parse()
            .map_err(|_| StoreError::Conflict(format!("server setting {name} is not a number")))
    }

    /// True when no site exists yet (a first start).
    pub async fn is_empty(&self) -> StoreResult<bool> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM sites")
            .fetch_one(&self.read)
            .await?;
        Ok(n == 0)
    }
}

/// A store on a fresh SQLite file, for the store's unit tests (the folder goes with the guard).
#[cfg(test)]
pub(crate) async fn scratch_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let store = Store::connect(&DatabaseSettings::new(url)).await.unwrap();
    (dir, store)
}

#[cfg(test)]
mod tests {
    use super::batch::{PendingPair, PendingRotation};
    use super::*;

    /// A write through the write pool and a batch of the group writer never overlap: the
    /// batch waits for the turn the pool's user holds, and runs once it is given back.
    #[tokio::test]
    async fn the_group_writer_waits_for_the_write_turn() {
        let (_dir, store) = scratch_store().await;

        let held = store.writer().await.unwrap();
        let group_writer = store.group_writer.clone();
        let mut rotation = tokio::spawn(async move {
            group_writer
                .rotate(PendingRotation {
                    old_hash: vec![7; 32],
                    session_id: "no-such-session".into(),
                    successor_at_millis: 0,
                    pair: PendingPair {
                        api_key: "no-such-client".into(),
                        full_access: 0,
                        issued_at: 0,
                        access_hash: vec![8; 32],
                        access_expires_at: 0,
                        refresh_hash: vec![9; 32],
                        refresh_expires_at: 0,
                    },
                })
                .await
        });
        let waited = tokio::time::timeout(Duration::from_millis(300), &mut rotation).await;
        assert!(waited.is_err(), "the batch ran while the turn was held");

        drop(held);
        let outcome = tokio::time::timeout(Duration::from_secs(10), rotation)
            .await
            .expect("the batch runs once the turn is given back")
            .unwrap()
            .unwrap();
        assert!(matches!(outcome, RefreshOutcome::Unknown));
    }

    /// Under continuous writes a checkpoint round that finds the WAL long copies the rest of it
    /// holding the write turn, so the next commit starts the WAL over. Without the turn,
    /// commits landing after the copy keep the WAL growing until the writer's own backstop
    /// checkpoint, which runs inside a commit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_wal_starts_over_under_continuous_writes() {
        let (_dir, store) = scratch_store().await;
        let turn = store.write_turn.clone().expect("SQLite has a write turn");
        // The store's own checkpoint task may hold a read lock just when the first commit
        // after the round would start the WAL over, which then waits for the next round.
        let mut tries = Vec::new();
        for attempt in 0..3 {
            let (found, after, commits) = round_amid_writes(&store, &turn, attempt).await;
            if after < found {
                return;
            }
            tries.push((found, after, commits));
        }
        panic!("the WAL never started over: (frames before, frames after, commits) {tries:?}");
    }

    /// Writes until the WAL holds 400 frames, runs a round that takes the turn, stops the
    /// writes; returns the frames the round found, the frames in the WAL once the writes
    /// stopped, and how many commits there were.
    async fn round_amid_writes(store: &Store, turn: &WriteTurn, attempt: u32) -> (i64, i64, u64) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = Arc::new(AtomicBool::new(false));
        let writes = {
            let (store, stop) = (store.clone(), stop.clone());
            tokio::spawn(async move {
                let value = "x".repeat(3_000);
                let mut n = 0_u64;
                while !stop.load(Ordering::Relaxed) {
                    let mut writer = store.writer().await.unwrap();
                    sqlx::query("INSERT INTO server_settings (name, value) VALUES ($1, $2)")
                        .bind(format!("wal-test-{attempt}-{n}"))
                        .bind(value.as_str())
                        .execute(&mut *writer)
                        .await
                        .unwrap();
                    n += 1;
                }
                n
            })
        };
        let mut frames = 0;
        for _ in 0..500 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            frames = checkpoint_round(&store.read, turn, i64::MAX).await.unwrap();
            if frames >= 400 {
                break;
            }
        }
        assert!(
            frames >= 400,
            "the writes did not fill the WAL: {frames} frames"
        );
        let found = checkpoint_round(&store.read, turn, 1).await.unwrap();
        stop.store(true, Ordering::Relaxed);
        let commits = writes.await.unwrap();
        let after = passive_checkpoint(&mut store.read.acquire().await.unwrap())
            .await
            .unwrap();
        (found, after, commits)
    }
}
