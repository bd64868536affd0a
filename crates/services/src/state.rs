//! What every handler shares.

use crate::auth::{PasswordHasher, TokenVerifier};
use crate::settings::{OperationsSettings, TokenSettings, WebConfig};
use shopkeeper_store::Store;
use std::ops::Deref;
use std::sync::Arc;

/// The state handed to every handler: one `Arc` around [`SharedState`]. axum clones the state
/// for each request (several times, through the extractors), so a clone must be one atomic
/// increment, not one per field and cache handle (it showed in profiles of the check path).
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl AppState {
    pub fn new(shared: SharedState) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub struct SharedState {
    /// The time every rule reads (the system clock, or a test clock; see `clock`).
    pub clock: crate::clock::Clock,
    pub store: Store,
    pub verifier: TokenVerifier,
    pub hasher: PasswordHasher,
    pub tokens: Arc<TokenSettings>,
    /// HMAC key from which a refresh token's successor pair is derived (see `oauth::refresh`).
    pub refresh_key: Arc<[u8; 32]>,
    /// Public URL, profile and code lifetime (set from the bound address at start).
    pub web: Arc<WebConfig>,
    /// Issuer, clean-up and shutdown settings (defaults unless `Application::build` set them).
    pub operations: Arc<OperationsSettings>,
    /// Renders the process's Prometheus metrics for `/metrics`.
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Brute-force counters and rate-limit cells (per node; see `guard`).
    pub guard: Arc<crate::guard::Guard>,
}
