//! The job runner: the one place background work runs. Every node runs one; each look for due
//! work claims jobs with a lease (see `store::jobs`), so a job runs on one node at a time, and
//! a node that dies mid-job leaves it to whichever node looks after the lease expires. A job
//! completes at most once per occurrence: completing needs the lease still held. Handlers must
//! tolerate being run again after a crash (at-least-once), which the clean-up does by nature.
//!
//! Failpoints (`SHOPKEEPER_FAILPOINT=<name>`) abort the process at a named point, so the
//! crash tests can kill a node between two steps of a job; unset, they cost one comparison.

use crate::failpoint::failpoint;
use crate::instruments;
use crate::state::AppState;
use shopkeeper_domain::jobs::{AfterFailure, Backoff, after_failure, attempts_exhausted};
use shopkeeper_store::{JobLease, NewJob, StoreResult};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Most jobs of one kind a node claims per look.
const CLAIM_BATCH: i64 = 16;

/// What a handler gets: the server's state and the job as claimed.
pub struct JobContext {
    pub state: AppState,
    pub lease: JobLease,
}

/// A handler's verdict on one attempt; an error is recorded on the job and retried.
pub type JobResult = Result<(), String>;

type Handler = dyn Fn(JobContext) -> Pin<Box<dyn Future<Output = JobResult> + Send>> + Send + Sync;

struct Kind {
    handler: Arc<Handler>,
    /// A recurring job: one row under the kind's name, queued again this long after each run.
    every_ms: Option<i64>,
}

/// Runs the handlers of the kinds registered with it.
pub struct JobRunner {
    state: AppState,
    /// This process's name on the leases it takes.
    owner: String,
    kinds: BTreeMap<String, Kind>,
}

impl JobRunner {
    /// A runner with no kinds.
    pub fn new(state: &AppState) -> Self {
        Self {
            state: state.clone(),
            owner: format!(
                "{}-{}",
                std::process::id(),
                shopkeeper_domain::secret::random_hex(6)
            ),
            kinds: BTreeMap::new(),
        }
    }

    /// The server's runner: every kind of background work.
    pub fn standard(state: &AppState) -> Self {
        let every = i64::try_from(state.operations.cleanup_interval_seconds.max(1))
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let renewals = i64::try_from(state.operations.renewal_interval_seconds.max(1))
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        Self::new(state)
            .recurring(crate::housekeeping::JOB_KIND, every, |ctx| {
                crate::housekeeping::run_pass(ctx.state)
            })
            .recurring(crate::subscriptions::JOB_KIND, renewals, |ctx| {
                crate::subscriptions::run_pass(ctx.state)
            })
            .handle(crate::admin_tasks::JOB_KIND, |ctx| {
                crate::admin_tasks::run(ctx.state, ctx.lease.job)
            })
            .handle(crate::invoices::JOB_KIND, |ctx| {
                crate::invoices::run(ctx.state, ctx.lease.job.payload)
            })
    }

    /// Registers the handler of a kind of one-off job.
    pub fn handle<F, Fut>(mut self, kind: &str, handler: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        self.kinds.insert(
            kind.to_owned(),
            Kind {
                handler: Arc::new(move |ctx| Box::pin(handler(ctx))),
                every_ms: None,
            },
        );
        self
    }

    /// Registers a recurring job: one row keyed by `kind` (whichever node starts first
    /// enqueues it), run every `every_ms` by whichever node claims it.
    pub fn recurring<F, Fut>(self, kind: &str, every_ms: i64, handler: F) -> Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let mut runner = self.handle(kind, handler);
        if let Some(k) = runner.kinds.get_mut(kind) {
            k.every_ms = Some(every_ms.max(1));
        }
        runner
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn now_ms(&self) -> i64 {
        i64::try_from(self.state.clock.now_millis()).unwrap_or(i64::MAX)
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.state.operations.job_lease_ms.max(1)).unwrap_or(i64::MAX)
    }

    /// For the jobs this runner enqueues; a claimed job carries its own.
    fn max_attempts(&self) -> u32 {
        self.state.operations.job_max_attempts.max(1)
    }

    /// Enqueues each recurring job unless it exists (due now when it is new).
    pub async fn schedule(&self) -> StoreResult<()> {
        let now = self.now_ms();
        for (kind, k) in &self.kinds {
            if k.every_ms.is_some() {
                let job = NewJob {
                    kind,
                    unique_key: Some(kind),
                    payload: "{}",
                    run_at_ms: now,
                    max_attempts: self.max_attempts(),
                };
                self.state.store.enqueue_job(&job, now).await?;
            }
        }
        Ok(())
    }

    /// One look: claims the due jobs of every registered kind and runs them one after the
    /// other. Returns how many it claimed.
    pub async fn run_due(&self) -> StoreResult<usize> {
        // A test clock takes the offset all nodes share, so every kind sees a move made on
        // any node (the system clock reads nothing).
        self.state.clock.refresh(&self.state.store).await?;
        let mut claimed = 0;
        for (kind, k) in &self.kinds {
            let leases = self
                .state
                .store
                .claim_jobs(
                    kind,
                    &self.owner,
                    self.now_ms(),
                    self.lease_ms(),
                    CLAIM_BATCH,
                )
                .await?;
            claimed += leases.len();
            for lease in leases {
                self.run_one(kind, k, lease).await?;
            }
        }
        Ok(claimed)
    }

    async fn run_one(&self, kind: &str, k: &Kind, lease: JobLease) -> StoreResult<()> {
        failpoint(&format!("job:{kind}:after_claim"));
        let store = &self.state.store;
        let attempt = lease.attempt();
        let max_attempts = u32::try_from(lease.job.max_attempts).unwrap_or(1);
        if attempts_exhausted(attempt, max_attempts) {
            // Claimed again after its node died on the last attempt: not run once more.
            let now = self.now_ms();
            let after = after_failure(attempt, max_attempts, Backoff::DEFAULT, k.every_ms, now);
            store
                .fail_job(
                    &lease,
                    now,
                    "its node stopped during the last attempt",
                    after,
                )
                .await?;
            record(kind, outcome_of(after));
            return Ok(());
        }
        let mut work = tokio::spawn((k.handler)(JobContext {
            state: self.state.clone(),
            lease: lease.clone(),
        }));
        // The lease is renewed while the work runs, so a long pass keeps its claim.
        let mut renew = tokio::time::interval(Duration::from_millis(
            u64::try_from(self.lease_ms() / 3).unwrap_or(1).max(1),
        ));
        renew.tick().await;
        let result = loop {
            tokio::select! {
                joined = &mut work => break joined,
                _ = renew.tick() => {
                    let now = self.now_ms();
                    let held = store.extend_job_lease(&lease, now, now + self.lease_ms()).await;
                    if matches!(held, Ok(false)) {
                        work.abort();
                        tracing::warn!(job = lease.job.id, kind, "job lease lost; stopping it");
                        record(kind, "lost");
                        return Ok(());
                    }
                }
            }
        };
        let now = self.now_ms();
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(join) => Some(format!("the handler panicked: {join}")),
        };
        let finished = match error {
            None => {
                failpoint(&format!("job:{kind}:before_complete"));
                let next = k.every_ms.map(|every| now.saturating_add(every));
                let done = store.complete_job(&lease, now, next).await?;
                record(kind, if done { "completed" } else { "lost" });
                done
            }
            Some(error) => {
                let after = after_failure(attempt, max_attempts, Backoff::DEFAULT, k.every_ms, now);
                tracing::warn!(job = lease.job.id, kind, attempt, %error, ?after, "job failed");
                let done = store.fail_job(&lease, now, &error, after).await?;
                record(kind, if done { outcome_of(after) } else { "lost" });
                done
            }
        };
        if !finished {
            tracing::warn!(
                job = lease.job.id,
                kind,
                "job finished after its lease went to another node"
            );
        }
        Ok(())
    }

    /// Looks for due jobs every `--job-poll-interval-ms` until the task is dropped.
    pub async fn run(self) {
        let mut ticks = tokio::time::interval(Duration::from_millis(
            self.state.operations.job_poll_interval_ms.max(1),
        ));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut scheduled = false;
        loop {
            ticks.tick().await;
            if !scheduled {
                match self.schedule().await {
                    Ok(()) => scheduled = true,
                    Err(e) => {
                        tracing::warn!(error = %e, "scheduling recurring jobs failed; retrying");
                        continue;
                    }
                }
            }
            // A failing look is retried at the next tick; the server keeps serving.
            if let Err(e) = self.run_due().await {
                tracing::warn!(error = %e, "looking for due jobs failed");
            }
        }
    }
}

fn outcome_of(after: AfterFailure) -> &'static str {
    match after {
        AfterFailure::Dead => "dead",
        AfterFailure::RetryAt(_) | AfterFailure::NextOccurrence(_) => "failed",
    }
}

fn record(kind: &str, outcome: &'static str) {
    metrics::counter!(instruments::JOB_RUNS, "kind" => kind.to_owned(), "outcome" => outcome)
        .increment(1);
}
