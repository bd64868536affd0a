//! The background clean-up: expired access tokens, spent refresh tokens, and ended or expired
//! sessions (with their session tokens) are deleted in bounded batches, one short transaction
//! each, yielding between batches so requests are never stuck behind a long purge.

use crate::config::OperationsSettings;
use crate::domain::time::now;
use crate::instruments;
use crate::state::AppState;
use crate::store::{Purged, StoreResult};
use std::time::Duration;

/// Runs clean-up passes every `cleanup_interval_seconds` until the task is dropped.
pub async fn run(state: AppState, settings: OperationsSettings) {
    let mut ticks = tokio::time::interval(Duration::from_secs(
        settings.cleanup_interval_seconds.max(1),
    ));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match purge_once(&state, &settings).await {
            Ok(p) if p.total() > 0 => tracing::debug!(
                access_tokens = p.access_tokens,
                refresh_tokens = p.refresh_tokens,
                sessions = p.sessions,
                "clean-up pass"
            ),
            Ok(_) => {}
            // A failing pass is retried at the next tick; the server keeps serving.
            Err(e) => tracing::warn!(error = %e, "clean-up pass failed"),
        }
    }
}

/// One full pass: batches until every table has nothing left to delete.
pub async fn purge_once(state: &AppState, settings: &OperationsSettings) -> StoreResult<Purged> {
    let batch = settings.cleanup_batch.max(1);
    let mut total = Purged::default();
    loop {
        let at = now();
        let store = &state.store;
        let access = store.purge_expired_access_tokens(at, batch).await?;
        let refresh = store
            .purge_spent_refresh_tokens(at, at - settings.consumed_refresh_retention_seconds, batch)
            .await?;
        let (sessions, revoked) = store.purge_dead_sessions(at, batch).await?;
        if !revoked.is_empty() {
            state.verifier.forget(&revoked);
        }
        for (table, n) in [
            ("access_tokens", access),
            ("refresh_tokens", refresh),
            ("shopper_sessions", sessions),
        ] {
            metrics::counter!(instruments::CLEANUP_DELETED, "table" => table).increment(n);
        }
        total.access_tokens += access;
        total.refresh_tokens += refresh;
        total.sessions += sessions;
        total.revoked.extend(revoked);
        let batch = batch as u64;
        if access < batch && refresh < batch && sessions < batch {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}
