//! The background clean-up: expired access tokens, spent refresh tokens, and ended or expired
//! sessions (with their session tokens) are deleted in bounded batches, one short transaction
//! each, yielding between batches so requests are never stuck behind a long purge.

use crate::instruments;
use crate::settings::OperationsSettings;
use crate::state::AppState;
use shopkeeper_domain::time::UnixSeconds;
use shopkeeper_store::{Purged, StoreResult};
use std::collections::HashSet;

/// The clean-up's job kind: a recurring job run every `cleanup_interval_seconds` by one node
/// at a time (see `jobs`).
pub const JOB_KIND: &str = "cleanup";

/// One pass as the job runner's clean-up job: logged, and failed (retried with backoff) when
/// the database refuses it.
pub async fn run_pass(state: AppState) -> Result<(), String> {
    match purge_once(&state, &state.operations).await {
        Ok(p) => {
            if p.total() > 0 {
                tracing::debug!(
                    access_tokens = p.access_tokens,
                    refresh_tokens = p.refresh_tokens,
                    authorization_codes = p.authorization_codes,
                    sessions = p.sessions,
                    failed_sessions = p.failed_sessions.len(),
                    "clean-up pass"
                );
            }
            Ok(())
        }
        Err(e) => Err(format!("clean-up pass failed: {e}")),
    }
}

/// One full pass at the current time.
pub async fn purge_once(state: &AppState, settings: &OperationsSettings) -> StoreResult<Purged> {
    purge_once_at(state, settings, state.clock.now()).await
}

/// One full pass as of `at`: batches until every table has nothing left to delete. A dead
/// session the database refuses to delete is counted (`CLEANUP_FAILURES`), logged and skipped
/// for the rest of the pass, so it cannot stop the clean-up of everything else.
pub async fn purge_once_at(
    state: &AppState,
    settings: &OperationsSettings,
    at: UnixSeconds,
) -> StoreResult<Purged> {
    let batch = settings.cleanup_batch.max(1);
    let mut total = Purged::default();
    let mut failed: HashSet<String> = HashSet::new();
    let store = &state.store;
    loop {
        let access = store.purge_expired_access_tokens(at, batch).await?;
        let refresh = store
            .purge_spent_refresh_tokens(at, at - settings.consumed_refresh_retention_seconds, batch)
            .await?;
        let codes = store.purge_expired_codes(at, batch).await?;
        let staff = store.purge_expired_staff_tokens(at, batch).await?;
        crate::failpoint::failpoint("job:cleanup:mid_step");
        let sessions = store.purge_dead_sessions(at, batch, &failed).await?;
        if !sessions.revoked.is_empty() {
            state.verifier.forget(&sessions.revoked);
        }
        let deleted = sessions.deleted.len() as u64;
        for (table, n) in [
            ("access_tokens", access),
            ("refresh_tokens", refresh),
            ("authorization_codes", codes),
            ("staff_tokens", staff),
            ("shopper_sessions", deleted),
        ] {
            metrics::counter!(instruments::CLEANUP_DELETED, "table" => table).increment(n);
        }
        metrics::counter!(instruments::CLEANUP_FAILURES, "table" => "shopper_sessions")
            .increment(sessions.failed.len() as u64);
        for (id, why) in &sessions.failed {
            tracing::warn!(session = %id, error = %why, "clean-up could not delete a dead session");
            failed.insert(id.clone());
        }
        total.access_tokens += access;
        total.refresh_tokens += refresh;
        total.authorization_codes += codes;
        total.sessions += deleted;
        total.revoked.extend(sessions.revoked);
        total
            .failed_sessions
            .extend(sessions.failed.iter().cloned());
        let batch = batch as u64;
        let sessions_seen = deleted + sessions.failed.len() as u64;
        if access < batch
            && refresh < batch
            && codes < batch
            && staff < batch
            && sessions_seen < batch
        {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}
