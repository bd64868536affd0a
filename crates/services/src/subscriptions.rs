//! Renewals: a recurring job (on the one job runner, whichever node claims it) that looks for
//! the subscriptions whose billing attempt or lapse is due by the shared clock and runs each in
//! its own transaction (`Store::attempt_renewal`). Moving the clock only makes them due.

use crate::failpoint::failpoint;
use crate::state::AppState;
use shopkeeper_store::RenewalResult;

/// The renewals' job kind: a recurring job run every `renewal_interval_seconds`.
pub const JOB_KIND: &str = "subscription-renewals";

/// Most subscriptions one look renews (the rest wait for the next look).
const BATCH: i64 = 200;

/// One look: every due subscription, one transaction each. A declined charge is not a job
/// failure (it is recorded and scheduled again by the subscription's own attempts); only a
/// database error fails the job, which the runner retries.
pub async fn run_pass(state: AppState) -> Result<(), String> {
    let now = state.clock.now();
    let retry_days = state.operations.renewal_retry_days.clone();
    let due = state
        .store
        .due_subscriptions(now, BATCH)
        .await
        .map_err(|e| e.to_string())?;
    for id in due {
        let result = state
            .store
            .attempt_renewal(id, now, &retry_days, &|| {
                failpoint("job:subscription-renewals:mid_step")
            })
            .await
            .map_err(|e| e.to_string())?;
        if result != RenewalResult::Skipped {
            tracing::info!(subscription = id, ?result, "subscription billing attempt");
        }
    }
    Ok(())
}
