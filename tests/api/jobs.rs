//! The job runner, on the engine the suite runs on: two nodes on one database run a job once;
//! a lease that expired goes to another node and the old holder can finish nothing; failures
//! retry with backoff and then die; and a real server killed at a failpoint in the middle of
//! the clean-up job runs it again after a restart, completing it once.

use crate::helpers::*;
use shopkeeper::config::DatabaseSettings;
use shopkeeper::domain::jobs::{AfterFailure, JobState};
use shopkeeper::jobs::JobRunner;
use shopkeeper::state::AppState;
use shopkeeper::store::{NewJob, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn now_ms() -> i64 {
    shopkeeper::clock::Clock::system().now_millis() as i64
}

fn job<'a>(kind: &'a str, key: Option<&'a str>, max_attempts: u32) -> NewJob<'a> {
    NewJob {
        kind,
        unique_key: key,
        payload: "{}",
        run_at_ms: now_ms(),
        max_attempts,
    }
}

/// A second node on the app's database: its own store (pools, and on SQLite its own write
/// turn, as another process would have) and state.
async fn second_node(app: &TestApp) -> AppState {
    second_node_on(app, app.state.clock.clone()).await
}

/// [`second_node`] with a clock of its own, as another process would have.
async fn second_node_on(app: &TestApp, clock: shopkeeper::clock::Clock) -> AppState {
    let mut database = DatabaseSettings::new(app.database_url.clone());
    database.pool_size = 4;
    let store = Store::connect(&database).await.unwrap();
    let settings = test_settings();
    let shared =
        shopkeeper::startup::build_state(store, &settings.tokens, &settings.hashing, clock)
            .await
            .unwrap();
    AppState::new(shared)
}

/// Runs of each job id, counted by the handlers of both nodes.
type Runs = Arc<Mutex<HashMap<i64, Vec<String>>>>;

fn counting_runner(state: &AppState, kind: &str, runs: &Runs) -> JobRunner {
    let runner = JobRunner::new(state);
    let node = runner.owner().to_owned();
    let runs = runs.clone();
    runner.handle(kind, move |ctx| {
        let (runs, node) = (runs.clone(), node.clone());
        async move {
            runs.lock()
                .unwrap()
                .entry(ctx.lease.job.id)
                .or_default()
                .push(node);
            Ok(())
        }
    })
}

/// A node's runner claims by the test clock all nodes share: a move made through another
/// node (here the app's HTTP route) makes a job due on it without any request reaching it.
#[tokio::test]
async fn a_runner_claims_by_the_clock_another_node_moved() {
    let app = spawn_app().await;
    let other = second_node_on(&app, shopkeeper::clock::Clock::test()).await;
    let runs: Runs = Arc::default();
    let runner = counting_runner(&other, "test:later", &runs);
    let mut later = job("test:later", None, 3);
    later.run_at_ms = now_ms() + 3_600_000;
    let id = app.state.store.enqueue_job(&later, now_ms()).await.unwrap();
    assert_eq!(runner.run_due().await.unwrap(), 0, "not due for an hour");
    app.advance_clock(7_200).await;
    assert_eq!(runner.run_due().await.unwrap(), 1, "due on the moved clock");
    assert_eq!(runs.lock().unwrap().get(&id).map(Vec::len), Some(1));
}

#[tokio::test]
async fn two_nodes_looking_at_once_run_each_job_once() {
    let app = spawn_app().await;
    let other = second_node(&app).await;
    let store = &app.state.store;
    let runs: Runs = Arc::default();
    let a = Arc::new(counting_runner(&app.state, "test:once", &runs));
    let b = Arc::new(counting_runner(&other, "test:once", &runs));
    let mut ids = Vec::new();
    // Rounds of one job, then of several: both nodes look at the same moment each time; a
    // claim that races only now and then still meets one of forty rounds.
    let rounds = std::iter::repeat_n(1, 40).chain([4, 16]);
    for jobs in rounds {
        let mut round = Vec::new();
        for _ in 0..jobs {
            round.push(
                store
                    .enqueue_job(&job("test:once", None, 3), now_ms())
                    .await
                    .unwrap(),
            );
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let looks: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .map(|runner| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    runner.run_due().await.unwrap()
                })
            })
            .collect();
        let mut claimed = 0;
        for look in looks {
            claimed += look.await.unwrap();
        }
        assert_eq!(claimed, jobs, "each job claimed by one node");
        ids.extend(round);
    }
    let runs = runs.lock().unwrap().clone();
    for id in &ids {
        assert_eq!(runs.get(id).map(Vec::len), Some(1), "job {id}: {runs:?}");
        let row = store.job(*id).await.unwrap().unwrap();
        assert_eq!(
            (row.state(), row.runs),
            (Some(JobState::Done), 1),
            "{row:?}"
        );
    }
    assert_eq!(runs.len(), ids.len());
}

#[tokio::test]
async fn an_expired_lease_goes_to_another_node_and_the_old_holder_finishes_nothing() {
    let app = spawn_app().await;
    let other = second_node(&app).await;
    let id = app
        .state
        .store
        .enqueue_job(&job("test:lease", None, 3), now_ms())
        .await
        .unwrap();
    let t = now_ms();
    let held = app
        .state
        .store
        .claim_jobs("test:lease", "node-a", t, 60_000, 10)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert!(
        other
            .store
            .claim_jobs("test:lease", "node-b", t + 59_999, 60_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "a held lease is not claimed"
    );
    // Past the lease (node A died, or hung): node B takes the job over.
    let taken = other
        .store
        .claim_jobs("test:lease", "node-b", t + 60_000, 60_000, 10)
        .await
        .unwrap();
    assert_eq!((taken[0].attempt(), taken[0].owner()), (2, "node-b"));
    let store = &app.state.store;
    assert!(
        !store
            .complete_job(&held[0], t + 60_001, None)
            .await
            .unwrap()
    );
    assert!(
        !store
            .fail_job(&held[0], t + 60_001, "late", AfterFailure::Dead)
            .await
            .unwrap()
    );
    assert!(
        !store
            .extend_job_lease(&held[0], t + 60_001, t + 999_999)
            .await
            .unwrap()
    );
    assert!(
        other
            .store
            .complete_job(&taken[0], t + 60_002, None)
            .await
            .unwrap()
    );
    let row = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (row.state(), row.runs, row.attempts),
        (Some(JobState::Done), 1, 2)
    );
}

#[tokio::test]
async fn a_failing_job_is_retried_after_a_backoff_and_dies_after_its_last_attempt() {
    let app = spawn_app().await;
    let store = &app.state.store;
    let runner = JobRunner::new(&app.state).handle("test:fails", |_ctx| async {
        Err::<(), _>("the far end said no".to_owned())
    });
    let retried = store
        .enqueue_job(&job("test:fails", Some("retried"), 3), now_ms())
        .await
        .unwrap();
    let before = now_ms();
    assert_eq!(runner.run_due().await.unwrap(), 1);
    let row = store.job(retried).await.unwrap().unwrap();
    assert_eq!(row.state(), Some(JobState::Queued), "{row:?}");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.last_error.as_deref(), Some("the far end said no"));
    // The first retry waits a second (the backoff's base), measured from the failure.
    assert!(
        row.run_at_ms >= before + 1_000 && row.run_at_ms <= now_ms() + 1_000,
        "{row:?}"
    );
    assert_eq!(runner.run_due().await.unwrap(), 0, "not due again yet");

    let last = store
        .enqueue_job(&job("test:fails", Some("last"), 1), now_ms())
        .await
        .unwrap();
    assert_eq!(runner.run_due().await.unwrap(), 1);
    let row = store.job(last).await.unwrap().unwrap();
    assert_eq!(
        (row.state(), row.runs),
        (Some(JobState::Dead), 0),
        "{row:?}"
    );
}

#[tokio::test]
async fn the_clean_up_is_one_recurring_job_whichever_nodes_schedule_it() {
    let app = spawn_app().await;
    let other = second_node(&app).await;
    // Both nodes schedule it (the app's runner did at its start); one row.
    JobRunner::standard(&other).schedule().await.unwrap();
    JobRunner::standard(&app.state).schedule().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // The app's runner takes its first pass at start; the row then waits for the next.
    let row = loop {
        let row = app
            .state
            .store
            .job_by_key("cleanup")
            .await
            .unwrap()
            .unwrap();
        if row.runs >= 1 {
            break row;
        }
        assert!(Instant::now() < deadline, "no clean-up pass ran: {row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(row.kind, "cleanup");
    assert_eq!(row.state(), Some(JobState::Queued), "{row:?}");
    assert!(
        row.run_at_ms > now_ms() + 30_000,
        "next pass a minute on: {row:?}"
    );
}

// --- a real server killed at a failpoint ------------------------------------------------

/// `shopkeeper serve` with short job leases and looks, and `failpoint` armed if given.
fn serve(database: &str, port: u16, failpoint: Option<&str>) -> std::process::Child {
    serve_with(database, port, failpoint, &[])
}

/// [`serve`] with more arguments (`--test-clock`, a setting).
pub(crate) fn serve_with(
    database: &str,
    port: u16,
    failpoint: Option<&str>,
    args: &[&str],
) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_shopkeeper"));
    command
        .args(["--database", database, "serve", "--no-demo"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--job-lease-ms", "1500", "--job-poll-interval-ms", "100"])
        .args(args)
        .env("SHOPKEEPER_LOG", "warn")
        .env_remove(shopkeeper::failpoint::FAILPOINT_VAR)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(name) = failpoint {
        command.env(shopkeeper::failpoint::FAILPOINT_VAR, name);
    }
    // SAFETY: only async-signal-safe setrlimit between fork and exec: the aborted server
    // must not leave a core file behind.
    unsafe {
        command.pre_exec(|| {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            Ok(())
        });
    }
    command.spawn().unwrap()
}

#[tokio::test]
async fn a_clean_up_killed_mid_pass_runs_again_after_a_restart_and_completes_once() {
    let dir = tempfile::tempdir().unwrap();
    let database = suite_database(&dir.path().join("jobs.db")).await;
    let port = free_port();
    // The first pass starts at once and the server aborts between its two steps.
    let mut crashed = serve(&database, port, Some("job:cleanup:mid_step"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = crashed.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the failpoint never fired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGABRT), "{status:?}");

    let store = Store::connect_existing(&DatabaseSettings::new(database.clone()))
        .await
        .unwrap();
    let row = store.job_by_key("cleanup").await.unwrap().unwrap();
    assert_eq!(row.state(), Some(JobState::Running), "{row:?}");
    assert_eq!((row.attempts, row.runs), (1, 0), "{row:?}");

    let mut restarted = serve(&database, port, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    let row = loop {
        let row = store.job_by_key("cleanup").await.unwrap().unwrap();
        if row.runs > 0 {
            break row;
        }
        assert!(
            Instant::now() < deadline,
            "the pass never completed: {row:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Completed once, by the new node, which took it over after the dead node's lease; the
    // next pass is a regular one.
    assert_eq!(row.runs, 1, "{row:?}");
    assert_eq!(row.state(), Some(JobState::Queued), "{row:?}");
    assert_eq!(
        (row.attempts, row.lease_owner.as_deref()),
        (0, None),
        "{row:?}"
    );
    assert!(row.run_at_ms > now_ms() + 30_000, "{row:?}");
    let http = reqwest::Client::new();
    let metrics = send_text(http.get(format!("http://127.0.0.1:{port}/metrics"))).await;
    let completed = metric_sample(
        &metrics,
        "shopkeeper_job_runs_total",
        &[("kind", "cleanup"), ("outcome", "completed")],
    );
    assert_eq!(completed, Some(1.0), "{metrics}");
    restarted.kill().ok();
    restarted.wait().ok();
    store.close().await;
}
