//! What every handler shares. Cloning is cheap (handles and `Arc`s).

use crate::auth::{PasswordHasher, TokenVerifier};
use crate::config::{OperationsSettings, TokenSettings, WebConfig};
use crate::store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
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
