//! Durable jobs for the job runner. A node claims due jobs with a lease (a claim is one
//! `UPDATE ... RETURNING`: on PostgreSQL its search locks with `FOR UPDATE SKIP LOCKED`, so
//! two nodes never claim one row and neither waits for the other; on SQLite it runs under the
//! write turn and SQLite's write lock). Finishing a job names the lease it holds (owner and
//! attempt): a node whose lease expired and was claimed again finishes nothing. Every time is
//! passed in, in milliseconds, by the caller's clock.

use super::{Engine, Store, StoreResult};
use shopkeeper_domain::jobs::{AfterFailure, JobState};

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    pub kind: &'a str,
    /// At most one job per key exists: enqueueing under a taken key adds nothing.
    pub unique_key: Option<&'a str>,
    /// JSON.
    pub payload: &'a str,
    pub run_at_ms: i64,
    pub max_attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub unique_key: Option<String>,
    pub payload: String,
    /// Read through `JobState`'s `TryFrom<String>`: a row in any other state is refused.
    #[sqlx(try_from = "String")]
    pub state: JobState,
    pub run_at_ms: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub runs: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at_ms: Option<i64>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl JobRecord {
    /// The state, as callers that predate the typed field ask for it (every row read has
    /// one: a row in an unknown state is refused as it is read).
    pub fn state(&self) -> Option<JobState> {
        Some(self.state)
    }
}

/// A claimed job: the row as claimed, whose `lease_owner` and `attempts` are the lease.
#[derive(Debug, Clone)]
pub struct JobLease {
    pub job: JobRecord,
}

impl JobLease {
    pub fn owner(&self) -> &str {
        self.job.lease_owner.as_deref().unwrap_or_default()
    }

    /// This claim's attempt number (1-based).
    pub fn attempt(&self) -> u32 {
        u32::try_from(self.job.attempts).unwrap_or(u32::MAX)
    }
}

const JOB_COLUMNS: &str = "id, kind, unique_key, payload, state, run_at_ms, attempts, \
     max_attempts, runs, lease_owner, lease_expires_at_ms, last_error, created_at_ms, \
     updated_at_ms";

/// The lease a finishing node must still hold.
const HELD: &str = "id = $1 AND state = 'running' AND lease_owner = $2 AND attempts = $3";

/// Due jobs of one kind: queued ones whose time came, running ones whose lease expired (their
/// node died or hung).
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, \
             lease_expires_at_ms = $2, updated_at_ms = $3 WHERE id IN (SELECT id FROM jobs \
             WHERE kind = $4 AND ((state = 'queued' AND run_at_ms <= $3) \
             OR (state = 'running' AND lease_expires_at_ms <= $3)) \
             ORDER BY run_at_ms, id LIMIT $5 ",
            $lock,
            ") RETURNING id, kind, unique_key, payload, state, run_at_ms, attempts, \
             max_attempts, runs, lease_owner, lease_expires_at_ms, last_error, created_at_ms, \
             updated_at_ms"
        )
    };
}
const CLAIM_POSTGRES: &str = claim_sql!("FOR UPDATE SKIP LOCKED");
const CLAIM_SQLITE: &str = claim_sql!("");

/// [`Store::enqueue_job`] on a connection the caller holds: inside a transaction, the job
/// exists exactly when the caller's change does (an asynchronous admin call's task and its
/// job are written together).
pub(crate) async fn enqueue_job_on(
    writer: &mut sqlx::AnyConnection,
    job: &NewJob<'_>,
    now_ms: i64,
) -> StoreResult<i64> {
    let inserted: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO jobs (kind, unique_key, payload, state, run_at_ms, max_attempts, \
             created_at_ms, updated_at_ms) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6) \
             ON CONFLICT (unique_key) DO NOTHING RETURNING id",
    )
    .bind(job.kind)
    .bind(job.unique_key)
    .bind(job.payload)
    .bind(job.run_at_ms)
    .bind(i64::from(job.max_attempts.max(1)))
    .bind(now_ms)
    .fetch_optional(&mut *writer)
    .await?;
    if let Some((id,)) = inserted {
        return Ok(id);
    }
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM jobs WHERE unique_key = $1")
        .bind(job.unique_key)
        .fetch_one(&mut *writer)
        .await?;
    Ok(id)
}

impl Store {
    /// Enqueues a job, or, when its key is taken, leaves the existing one as it is. Returns
    /// the id of the job under the key (new or not).
    pub async fn enqueue_job(&self, job: &NewJob<'_>, now_ms: i64) -> StoreResult<i64> {
        let mut writer = self.writer().await?;
        enqueue_job_on(&mut writer, job, now_ms).await
    }

    /// Claims up to `limit` due jobs of `kind` for `owner` until `now_ms + lease_ms`, each
    /// with its attempt count raised by one.
    pub async fn claim_jobs(
        &self,
        kind: &str,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<JobLease>> {
        let sql = match self.engine {
            Engine::Postgres => CLAIM_POSTGRES,
            Engine::Sqlite => CLAIM_SQLITE,
        };
        let mut jobs: Vec<JobRecord> = sqlx::query_as(sql)
            .bind(owner)
            .bind(now_ms.saturating_add(lease_ms.max(1)))
            .bind(now_ms)
            .bind(kind)
            .bind(limit.max(1))
            .fetch_all(&mut *self.writer().await?)
            .await?;
        jobs.sort_by_key(|j| (j.run_at_ms, j.id));
        Ok(jobs.into_iter().map(|job| JobLease { job }).collect())
    }

    /// Moves a held lease's expiry to `until_ms`; false when the lease is no longer held.
    pub async fn extend_job_lease(
        &self,
        lease: &JobLease,
        now_ms: i64,
        until_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET lease_expires_at_ms = $4, updated_at_ms = $5 WHERE {HELD}"
        )))
        .bind(lease.job.id)
        .bind(lease.owner())
        .bind(lease.job.attempts)
        .bind(until_ms)
        .bind(now_ms)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a completed run: a recurring job is queued again for `next_run_at_ms` with its
    /// attempts counted afresh; a one-off job is done. False (and nothing written) when the
    /// lease is no longer held.
    pub async fn complete_job(
        &self,
        lease: &JobLease,
        now_ms: i64,
        next_run_at_ms: Option<i64>,
    ) -> StoreResult<bool> {
        let set = match next_run_at_ms {
            Some(_) => "state = 'queued', run_at_ms = $4, attempts = 0",
            // The same column set either way: PostgreSQL refuses a parameter no clause uses.
            None => "state = 'done', run_at_ms = $4",
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET {set}, runs = runs + 1, lease_owner = NULL, \
             lease_expires_at_ms = NULL, last_error = NULL, updated_at_ms = $5 WHERE {HELD}"
        )))
        .bind(lease.job.id)
        .bind(lease.owner())
        .bind(lease.job.attempts)
        .bind(next_run_at_ms.unwrap_or(lease.job.run_at_ms))
        .bind(now_ms)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt and what follows it (see `domain::jobs::after_failure`).
    /// False (and nothing written) when the lease is no longer held.
    pub async fn fail_job(
        &self,
        lease: &JobLease,
        now_ms: i64,
        error: &str,
        after: AfterFailure,
    ) -> StoreResult<bool> {
        let (set, run_at) = match after {
            AfterFailure::RetryAt(at) => ("state = 'queued', run_at_ms = $4", at),
            AfterFailure::NextOccurrence(at) => {
                ("state = 'queued', run_at_ms = $4, attempts = 0", at)
            }
            AfterFailure::Dead => ("state = 'dead', run_at_ms = $4", lease.job.run_at_ms),
        };
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET {set}, lease_owner = NULL, lease_expires_at_ms = NULL, \
             last_error = $5, updated_at_ms = $6 WHERE {HELD}"
        )))
        .bind(lease.job.id)
        .bind(lease.owner())
        .bind(lease.job.attempts)
        .bind(run_at)
        .bind(error)
        .bind(now_ms)
        .execute(&mut *self.writer().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn job(&self, id: i64) -> StoreResult<Option<JobRecord>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await?)
    }

    pub async fn job_by_key(&self, unique_key: &str) -> StoreResult<Option<JobRecord>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE unique_key = $1"
        )))
        .bind(unique_key)
        .fetch_optional(&self.read)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shopkeeper_domain::jobs::AfterFailure;

    fn one_off<'a>(key: Option<&'a str>, run_at_ms: i64) -> NewJob<'a> {
        NewJob {
            kind: "test",
            unique_key: key,
            payload: "{}",
            run_at_ms,
            max_attempts: 3,
        }
    }

    #[tokio::test]
    async fn enqueue_under_a_taken_key_adds_nothing() {
        let (_dir, store) = crate::scratch_store().await;
        let a = store.enqueue_job(&one_off(Some("k"), 10), 0).await.unwrap();
        let b = store.enqueue_job(&one_off(Some("k"), 99), 0).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(store.job(a).await.unwrap().unwrap().run_at_ms, 10);
        let c = store.enqueue_job(&one_off(None, 10), 0).await.unwrap();
        let d = store.enqueue_job(&one_off(None, 10), 0).await.unwrap();
        assert_ne!(c, d, "jobs without a key are all kept");
    }

    #[tokio::test]
    async fn a_due_job_is_claimed_once_and_completed_by_its_lease_holder() {
        let (_dir, store) = crate::scratch_store().await;
        let id = store.enqueue_job(&one_off(None, 1_000), 0).await.unwrap();
        assert!(
            store
                .claim_jobs("test", "a", 999, 500, 10)
                .await
                .unwrap()
                .is_empty(),
            "not due yet"
        );
        assert!(
            store
                .claim_jobs("other", "a", 1_000, 500, 10)
                .await
                .unwrap()
                .is_empty(),
            "another kind"
        );
        let leases = store.claim_jobs("test", "a", 1_000, 500, 10).await.unwrap();
        assert_eq!(leases.len(), 1);
        let lease = &leases[0];
        assert_eq!((lease.job.id, lease.attempt(), lease.owner()), (id, 1, "a"));
        assert_eq!(lease.job.lease_expires_at_ms, Some(1_500));
        // Held: nobody else claims it.
        assert!(
            store
                .claim_jobs("test", "b", 1_499, 500, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.extend_job_lease(lease, 1_400, 2_000).await.unwrap());
        assert!(
            store
                .claim_jobs("test", "b", 1_600, 500, 10)
                .await
                .unwrap()
                .is_empty(),
            "the extended lease holds"
        );
        assert!(store.complete_job(lease, 1_700, None).await.unwrap());
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Done);
        assert_eq!((job.runs, job.lease_owner), (1, None));
        assert!(
            !store.complete_job(lease, 1_800, None).await.unwrap(),
            "a finished lease finishes nothing again"
        );
        assert_eq!(store.job(id).await.unwrap().unwrap().runs, 1);
    }

    #[tokio::test]
    async fn an_expired_lease_is_reclaimed_and_the_old_holder_finishes_nothing() {
        let (_dir, store) = crate::scratch_store().await;
        let id = store.enqueue_job(&one_off(None, 0), 0).await.unwrap();
        let crashed = store.claim_jobs("test", "a", 0, 100, 10).await.unwrap();
        let reclaimed = store.claim_jobs("test", "b", 100, 100, 10).await.unwrap();
        assert_eq!(reclaimed.len(), 1);
        assert_eq!((reclaimed[0].attempt(), reclaimed[0].owner()), (2, "b"));
        assert!(!store.complete_job(&crashed[0], 150, None).await.unwrap());
        assert!(
            !store
                .fail_job(&crashed[0], 150, "late", AfterFailure::Dead)
                .await
                .unwrap()
        );
        assert!(!store.extend_job_lease(&crashed[0], 150, 900).await.unwrap());
        assert!(store.complete_job(&reclaimed[0], 150, None).await.unwrap());
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!((job.state, job.runs, job.attempts), (JobState::Done, 1, 2));
    }

    #[tokio::test]
    async fn failures_retry_at_their_time_then_the_job_dies() {
        let (_dir, store) = crate::scratch_store().await;
        let id = store.enqueue_job(&one_off(None, 0), 0).await.unwrap();
        let lease = store.claim_jobs("test", "a", 0, 100, 10).await.unwrap();
        assert!(
            store
                .fail_job(&lease[0], 10, "boom", AfterFailure::RetryAt(1_010))
                .await
                .unwrap()
        );
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Queued);
        assert_eq!((job.run_at_ms, job.attempts), (1_010, 1));
        assert_eq!(job.last_error.as_deref(), Some("boom"));
        assert!(
            store
                .claim_jobs("test", "a", 1_009, 100, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let lease = store.claim_jobs("test", "a", 1_010, 100, 10).await.unwrap();
        assert_eq!(lease[0].attempt(), 2);
        assert!(
            store
                .fail_job(&lease[0], 1_020, "again", AfterFailure::Dead)
                .await
                .unwrap()
        );
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Dead);
        assert_eq!(job.runs, 0);
        assert!(
            store
                .claim_jobs("test", "a", i64::MAX / 2, 100, 10)
                .await
                .unwrap()
                .is_empty(),
            "a dead job is never claimed"
        );
    }

    #[tokio::test]
    async fn a_recurring_job_is_queued_again_with_fresh_attempts() {
        let (_dir, store) = crate::scratch_store().await;
        let id = store
            .enqueue_job(&one_off(Some("every"), 0), 0)
            .await
            .unwrap();
        let lease = store.claim_jobs("test", "a", 0, 100, 10).await.unwrap();
        assert!(
            store
                .complete_job(&lease[0], 5, Some(60_005))
                .await
                .unwrap()
        );
        let job = store.job_by_key("every").await.unwrap().unwrap();
        assert_eq!(job.id, id);
        assert_eq!(job.state, JobState::Queued);
        assert_eq!((job.run_at_ms, job.attempts, job.runs), (60_005, 0, 1));
        let lease = store
            .claim_jobs("test", "a", 60_005, 100, 10)
            .await
            .unwrap();
        assert!(
            store
                .fail_job(
                    &lease[0],
                    60_010,
                    "x",
                    AfterFailure::NextOccurrence(120_010)
                )
                .await
                .unwrap()
        );
        let job = store.job(id).await.unwrap().unwrap();
        assert_eq!((job.run_at_ms, job.attempts, job.runs), (120_010, 0, 1));
    }
}
