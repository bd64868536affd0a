//! Prometheus metrics: the names and their help texts, the recorder, and the counters the
//! services record (tokens issued, sign-ins refused, passwords verified).
//!
//! The `metrics` facade has one process-wide recorder; it is installed once, on the first
//! server built in the process, and every server in the process (tests start several) records
//! into and renders from it. Labels that tell servers apart (the API key) keep tests exact.

use metrics::{Counter, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use shopkeeper_domain::ApiKey;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{LazyLock, OnceLock, PoisonError, RwLock};
use std::time::Duration;

pub const HTTP_REQUESTS: &str = "shopkeeper_http_requests_total";
pub const HTTP_DURATION: &str = "shopkeeper_http_request_duration_seconds";
pub const TOKENS_ISSUED: &str = "shopkeeper_tokens_issued_total";
pub const LEGACY_FLOW_USE: &str = "shopkeeper_legacy_flow_uses_total";
pub const FAILED_SIGN_INS: &str = "shopkeeper_failed_sign_ins_total";
pub const PASSWORD_VERIFICATIONS: &str = "shopkeeper_password_verifications_total";
pub const LIVE_SESSIONS: &str = "shopkeeper_live_sessions";
pub const CLEANUP_DELETED: &str = "shopkeeper_cleanup_deleted_rows_total";
/// Dead sessions a clean-up pass could not delete (retried on the next pass).
pub const CLEANUP_FAILURES: &str = "shopkeeper_cleanup_failures_total";
/// Attempts of background jobs, by kind and outcome.
pub const JOB_RUNS: &str = "shopkeeper_job_runs_total";

/// The `# HELP` text of every metric the server emits (the process_* ones describe
/// themselves). `tests/api/observability.rs` fails on a scraped `# TYPE` without one.
fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its answer's headers, by method and route template."
    );
    describe_counter!(
        TOKENS_ISSUED,
        "Token pairs (or access tokens) issued, by flow and API key."
    );
    describe_counter!(
        LEGACY_FLOW_USE,
        "Tokens issued through a legacy flow (password grant, implicit), by flow and API key: what to migrate away from."
    );
    describe_counter!(
        FAILED_SIGN_INS,
        "Shopper sign-ins refused, by flow (password_grant, hosted_page), reason (bad_password, unknown_user, throttled) and API key."
    );
    describe_counter!(
        PASSWORD_VERIFICATIONS,
        "Argon2id password verifications actually run, by API key."
    );
    describe_gauge!(
        LIVE_SESSIONS,
        "Shopper sessions neither ended nor expired, counted at each scrape."
    );
    describe_counter!(
        CLEANUP_DELETED,
        "Rows deleted by the clean-up task, by table."
    );
    describe_counter!(
        CLEANUP_FAILURES,
        "Dead sessions the clean-up task could not delete (retried on its next pass), by table."
    );
    describe_counter!(
        JOB_RUNS,
        "Background job attempts, by kind and outcome (completed, failed, dead, lost: its lease went to another node)."
    );
    PROCESS.describe();
}

/// The standard `process_*` metrics (CPU seconds, resident and virtual memory, open and
/// maximum file descriptors, threads, start time), read from the OS at each scrape.
static PROCESS: LazyLock<metrics_process::Collector> =
    LazyLock::new(metrics_process::Collector::default);

/// Brings the process metrics up to date; `/metrics` calls it before rendering.
pub fn collect_process_metrics() {
    PROCESS.collect();
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// How often histogram samples are folded into their buckets.
const UPKEEP_PERIOD: Duration = Duration::from_secs(5);

/// The recorder keeps each histogram sample (8 bytes a request) until it is folded into the
/// buckets, which a scrape does; with no one scraping `/metrics` they would pile up for the
/// life of the process (hundreds of MB an hour at full load). A thread of its own, so that it
/// serves the one process-wide recorder whatever runtime is running.
fn start_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_PERIOD);
                handle.run_upkeep();
            }
        });
    if let Err(e) = started {
        tracing::warn!(error = %e, "could not start the metrics upkeep thread");
    }
}

/// The process's recorder handle, installing the recorder on first use.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(HTTP_DURATION.to_owned()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            start_upkeep(handle.clone());
            // Fails only if another recorder was installed first (an embedding program's);
            // then that one receives the measurements and this handle renders nothing.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

/// Handles of labelled metrics by a fixed part and a text part, made on first use. Asking
/// the recorder for a handle copies every label of its key, several allocations for each
/// request's metrics; a handle once held only counts. Both parts are bounded (route
/// templates, methods, statuses, grants, API keys), and so is the map.
pub struct Handles<Fixed, V> {
    by: RwLock<HashMap<Fixed, HashMap<String, V>>>,
}

impl<Fixed: Hash + Eq + Copy, V> Default for Handles<Fixed, V> {
    fn default() -> Self {
        Self {
            by: RwLock::new(HashMap::new()),
        }
    }
}

impl<Fixed: Hash + Eq + Copy, V> Handles<Fixed, V> {
    pub fn with<R>(
        &self,
        fixed: Fixed,
        text: &str,
        make: impl FnOnce() -> V,
        use_handle: impl FnOnce(&V) -> R,
    ) -> R {
        {
            let by = self.by.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(handle) = by.get(&fixed).and_then(|texts| texts.get(text)) {
                return use_handle(handle);
            }
        }
        let mut by = self.by.write().unwrap_or_else(PoisonError::into_inner);
        let handle = by
            .entry(fixed)
            .or_default()
            .entry(text.to_owned())
            .or_insert_with(make);
        use_handle(handle)
    }
}

/// Issued tokens by flow and API key.
static TOKENS_ISSUED_HANDLES: LazyLock<Handles<TokenFlow, Counter>> =
    LazyLock::new(Handles::default);
/// Legacy flow uses by flow and API key.
static LEGACY_FLOW_HANDLES: LazyLock<Handles<&'static str, Counter>> =
    LazyLock::new(Handles::default);

/// Every way the server hands out tokens: the `flow` label of `shopkeeper_tokens_issued_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenFlow {
    /// `grant_type=password` without credentials: a guest.
    PasswordGuest,
    /// `grant_type=password` with a shopper's username and password.
    Password,
    /// `grant_type=client_credentials` (a guest, or a shopper by external reference id).
    ClientCredentials,
    RefreshToken,
    AuthorizationCode,
    /// `/oauth20/authorize?response_type=token` after the hosted sign-in.
    Implicit,
    /// `GET /store/{siteId}/SessionToken?apiKey=`: a limited token in the browser's session.
    SessionTokenAction,
    /// `GET /v1/shoppers/token`: a limited token in a new session.
    ShoppersToken,
    /// `GET /v1/shoppers/token?sessionToken=`: a limited token joining that session.
    ShoppersTokenJoin,
}

impl TokenFlow {
    pub const fn label(self) -> &'static str {
        match self {
            Self::PasswordGuest => "password_guest",
            Self::Password => "password",
            Self::ClientCredentials => "client_credentials",
            Self::RefreshToken => "refresh_token",
            Self::AuthorizationCode => "authorization_code",
            Self::Implicit => "implicit",
            Self::SessionTokenAction => "session_token_action",
            Self::ShoppersToken => "shoppers_token",
            Self::ShoppersTokenJoin => "shoppers_token_join",
        }
    }

    /// The legacy flow this is part of, if any: the password grant (with or without
    /// credentials) and the implicit flow are what to migrate away from.
    const fn legacy(self) -> Option<&'static str> {
        match self {
            Self::PasswordGuest | Self::Password => Some("password"),
            Self::Implicit => Some("implicit"),
            _ => None,
        }
    }
}

/// Tokens issued through `flow` for an API key (and, for a legacy flow, a legacy use).
pub fn token_issued(flow: TokenFlow, api_key: &ApiKey) {
    let api_key = api_key.as_str();
    TOKENS_ISSUED_HANDLES.with(
        flow,
        api_key,
        || metrics::counter!(TOKENS_ISSUED, "flow" => flow.label(), "api_key" => api_key.to_owned()),
        |issued| issued.increment(1),
    );
    if let Some(legacy) = flow.legacy() {
        LEGACY_FLOW_HANDLES.with(
            legacy,
            api_key,
            || metrics::counter!(LEGACY_FLOW_USE, "flow" => legacy, "api_key" => api_key.to_owned()),
            |uses| uses.increment(1),
        );
    }
}

/// Where a shopper typed a password: the `flow` label of `shopkeeper_failed_sign_ins_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFlow {
    /// `grant_type=password` with credentials.
    PasswordGrant,
    /// The hosted sign-in page (`POST /oauth20/sign-in`).
    HostedPage,
}

/// Why a sign-in was refused: the `reason` label (the client is told neither).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    BadPassword,
    UnknownUser,
    /// The brute-force throttle answered before any password was checked.
    Throttled,
}

impl SignInRefusal {
    /// A checked password that was wrong, for a username that was or was not found.
    pub const fn of_lookup(user_found: bool) -> Self {
        if user_found {
            Self::BadPassword
        } else {
            Self::UnknownUser
        }
    }
}

/// A shopper sign-in refused.
pub fn failed_sign_in(flow: SignInFlow, reason: SignInRefusal, api_key: &ApiKey) {
    let flow = match flow {
        SignInFlow::PasswordGrant => "password_grant",
        SignInFlow::HostedPage => "hosted_page",
    };
    let reason = match reason {
        SignInRefusal::BadPassword => "bad_password",
        SignInRefusal::UnknownUser => "unknown_user",
        SignInRefusal::Throttled => "throttled",
    };
    metrics::counter!(FAILED_SIGN_INS, "flow" => flow, "reason" => reason, "api_key" => api_key.to_string())
        .increment(1);
}

/// A shopper password really checked (one Argon2id verification, counted when it runs), by
/// the API key of the sign-in: what the brute-force throttle lets through.
pub fn password_verified(api_key: &ApiKey) {
    metrics::counter!(PASSWORD_VERIFICATIONS, "api_key" => api_key.to_string()).increment(1);
}
