//! The Admin API's asynchronous mode: an asynchronous call writes its task and the task's job
//! in one transaction ([`submit`]) and answers at once with the `PUBLISHED` task. The job
//! runner (one `admin.task` job per task, on whichever node claims it) then moves the task
//! to `PROCESSING` and does its work, which ends the task `COMPLETED` or `FAILED` in the
//! work's own transaction ([`run`]).
//!
//! Exactly once: the runner's lease gives the job to one node at a time, and a node that dies
//! leaves it to another once the lease expires. The work holds the task's row and checks it
//! is still `PROCESSING` before it changes anything, and ends the task in the same
//! transaction, so a task that finished is never worked on again, whichever node dies where.
//! The failpoint `job:admin.task:mid_step` aborts the process between `PROCESSING` and the
//! work (the crash test).
//!
//! A new asynchronous call adds a `TaskRequest` variant (domain), its work in the store (a
//! transaction ending with the task), and an arm in [`work`].

use crate::failpoint::failpoint;
use crate::state::AppState;
use shopkeeper_domain::SiteId;
pub use shopkeeper_domain::admin_tasks::JOB_KIND;
use shopkeeper_domain::admin_tasks::{INTERNAL_ERROR, TaskError, TaskRequest};
use shopkeeper_store::audit::Actor;
use shopkeeper_store::{AdminTaskRecord, JobRecord, NewAdminTask, StoreResult, TaskOutcome};

/// The failpoint between `PROCESSING` and the work.
pub const MID_STEP: &str = "job:admin.task:mid_step";

fn now_ms(state: &AppState) -> i64 {
    i64::try_from(state.clock.now_millis()).unwrap_or(i64::MAX)
}

/// Writes a `PUBLISHED` task for `request` of the site, asked for by `actor`, with its job;
/// the task to answer with.
pub async fn submit(
    state: &AppState,
    site_id: &SiteId,
    request: &TaskRequest,
    actor: &Actor,
) -> StoreResult<AdminTaskRecord> {
    state
        .store
        .create_admin_task(
            &NewAdminTask {
                site_id,
                request,
                api_key: &actor.api_key,
                staff_user_id: actor.staff_user_id,
                max_attempts: state.operations.job_max_attempts.max(1),
            },
            now_ms(state),
        )
        .await
}

/// The `admin.task` job's handler: one task, named by the job's payload `{"taskId"}`; `job`
/// is the job as claimed (its attempt and attempts allowed). An error is the job runner's
/// (retried later).
pub async fn run(state: AppState, job: JobRecord) -> Result<(), String> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload)
        .map_err(|e| format!("an admin.task job's payload: {e}"))?;
    let Some(task_id) = payload["taskId"].as_str() else {
        return Err("an admin.task job without a taskId".to_owned());
    };
    let store = &state.store;
    let Some(task) = store
        .start_admin_task(task_id, now_ms(&state))
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err(format!("task {task_id} does not exist"));
    };
    if task.status.is_final() {
        // Finished by an earlier attempt whose node died before the job was completed.
        return Ok(());
    }
    failpoint(MID_STEP);
    match work(&state, &task).await {
        Ok(outcome) => {
            if let Some(outcome) = outcome {
                tracing::info!(
                    task = %task.id,
                    request_type = task.request_type.as_str(),
                    completed = matches!(outcome, TaskOutcome::Completed(_)),
                    "admin task finished"
                );
            }
            Ok(())
        }
        Err(error) => {
            if job.attempts >= job.max_attempts {
                // No attempt is left: the task fails instead of staying PROCESSING forever.
                let failed = TaskOutcome::Failed(vec![TaskError::new(
                    INTERNAL_ERROR,
                    "The task could not be carried out. Try again later.",
                )]);
                store
                    .finish_admin_task(&task.id, &failed, now_ms(&state))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Err(error)
        }
    }
}

/// Does a task's work, which ends the task in its own transaction; `None` when the task was
/// finished meanwhile (nothing done). An error leaves the task `PROCESSING` for the job's
/// next attempt.
async fn work(state: &AppState, task: &AdminTaskRecord) -> Result<Option<TaskOutcome>, String> {
    let now = now_ms(state);
    let request = match task.task_request() {
        Ok(request) => request,
        Err(e) => {
            let failed = TaskOutcome::Failed(vec![TaskError::new(INTERNAL_ERROR, e)]);
            let done = state
                .store
                .finish_admin_task(&task.id, &failed, now)
                .await
                .map_err(|e| e.to_string())?;
            return Ok(done.then_some(failed));
        }
    };
    match request {
        TaskRequest::RefundReturn {
            order_id,
            return_id,
        } => state
            .store
            .refund_return_for_task(task, order_id, return_id, now)
            .await
            .map_err(|e| e.to_string()),
    }
}
