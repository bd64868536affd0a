//! The services' settings: every duration a rule depends on is here, so tests can shrink
//! them to seconds.

use clap::Args;
use shopkeeper_domain::authorize::Profile;
use shopkeeper_domain::client_address::ProxyHeader;
use std::net::SocketAddr;

#[derive(Debug, Clone, Args)]
pub struct TokenSettings {
    /// Lifetime of refresh tokens (and of the session behind them), in seconds. One year by
    /// default, as the Token page documents.
    #[arg(long, env = "SHOPKEEPER_REFRESH_TTL", default_value_t = 365 * 24 * 3600)]
    pub refresh_ttl_seconds: i64,
    /// How long a consumed refresh token may be replayed and still get the same new pair
    /// (concurrent tabs). After it, a replay revokes the session.
    #[arg(long, env = "SHOPKEEPER_REFRESH_GRACE", default_value_t = 10)]
    pub refresh_grace_seconds: i64,
    /// Most access tokens whose check is answered from memory.
    #[arg(long, env = "SHOPKEEPER_TOKEN_CACHE", default_value_t = 50_000)]
    pub token_cache_capacity: u64,
    /// Longest a verified token stays in a node's memory before its row is read again. A
    /// backstop only: revocations reach every node's cache at once (LISTEN/NOTIFY on
    /// PostgreSQL), this bounds staleness if a revoking node died before telling the others.
    #[arg(long, env = "SHOPKEEPER_TOKEN_CACHE_TTL", default_value_t = 60)]
    pub token_cache_ttl_seconds: u64,
    /// PostgreSQL: every node sends a heartbeat on the revocation channel this often (ms).
    /// A node that hears nothing for three periods assumes its listener is cut off, empties
    /// its token cache and stops caching until it listens again.
    #[arg(
        long,
        env = "SHOPKEEPER_REVOCATION_HEARTBEAT_MS",
        default_value_t = 1000
    )]
    pub revocation_heartbeat_ms: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            refresh_ttl_seconds: 365 * 24 * 3600,
            refresh_grace_seconds: 10,
            token_cache_capacity: 50_000,
            token_cache_ttl_seconds: 60,
            revocation_heartbeat_ms: 1000,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct HashingSettings {
    /// Password hashes computed at once, each on its own hashing thread. Defaults to the
    /// number of cores less one (at least one), leaving a core for everything else.
    #[arg(long, env = "SHOPKEEPER_HASHING_THREADS", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub hashing_threads: Option<usize>,
    /// Argon2id memory cost in KiB (OWASP's 19 MiB by default).
    #[arg(long, env = "SHOPKEEPER_ARGON2_MEMORY_KIB", default_value_t = 19 * 1024)]
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    #[arg(long, env = "SHOPKEEPER_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,
}

impl Default for HashingSettings {
    fn default() -> Self {
        Self {
            hashing_threads: None,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
        }
    }
}

impl HashingSettings {
    pub fn threads(&self) -> usize {
        self.hashing_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get().saturating_sub(1).max(1))
                .unwrap_or(1)
        })
    }
}

/// `--profile`: the domain's `Profile` by name (the domain crate knows no clap).
fn parse_profile(raw: &str) -> Result<Profile, String> {
    match raw {
        "compatible" => Ok(Profile::Compatible),
        "strict" => Ok(Profile::Strict),
        _ => Err(format!("{raw:?} is not a profile: compatible or strict")),
    }
}

/// The browser-facing side: the external URL, the OAuth profile, authorization codes.
#[derive(Debug, Clone, Args)]
pub struct WebSettings {
    /// External base URL (e.g. `https://auth.example.com`): gives `iss`, absolute links and
    /// whether cookies are `Secure`. Derived from the listen address when not given.
    #[arg(long, env = "SHOPKEEPER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// `compatible` (every flow a key allows) or `strict` (no password grant with shopper
    /// credentials and no implicit flow, as OAuth 2.1 and RFC 9700 ask).
    #[arg(
        long,
        env = "SHOPKEEPER_PROFILE",
        value_parser = parse_profile,
        default_value = "compatible"
    )]
    pub profile: Profile,
    /// Lifetime of an authorization code, in seconds.
    #[arg(long, env = "SHOPKEEPER_CODE_TTL", default_value_t = 60)]
    pub code_ttl_seconds: i64,
    /// How long the hosted sign-in form (its CSRF token) may be posted after it was shown,
    /// in seconds.
    #[arg(long, env = "SHOPKEEPER_SIGN_IN_FORM_TTL", default_value_t = 3600)]
    pub sign_in_form_ttl_seconds: i64,
    /// The Commerce API's answer format when a request names none (no `Accept`, or `*/*`, and
    /// no `format=`): `json`, or `xml`, the documented default (OAuth answers JSON either way).
    #[arg(
        long,
        env = "SHOPKEEPER_DEFAULT_FORMAT",
        value_enum,
        default_value_t = WireFormat::Json
    )]
    pub default_format: WireFormat,
}

/// The formats the API answers in (`--default-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WireFormat {
    Json,
    Xml,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            profile: Profile::Compatible,
            code_ttl_seconds: 60,
            sign_in_form_ttl_seconds: 3600,
            default_format: WireFormat::Json,
        }
    }
}

/// [`WebSettings`] resolved against the bound address.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Without a trailing slash.
    pub public_url: String,
    pub profile: Profile,
    pub code_ttl_seconds: i64,
    pub sign_in_form_ttl_seconds: i64,
    pub default_format: WireFormat,
}

impl WebConfig {
    pub fn resolve(settings: &WebSettings, bound: SocketAddr) -> anyhow::Result<Self> {
        let public_url = match &settings.public_url {
            Some(raw) => public_url(raw)?,
            // Links, the issuer and cookies are built from this URL alone (never from a
            // request's Host header): on a non-loopback address the bound address is not what
            // clients reach, so guessing it would only hand out wrong links.
            None if bound.ip().is_loopback() => format!("http://{bound}"),
            None => anyhow::bail!(
                "listening on {bound}, which is not a loopback address, needs --public-url \
                 (SHOPKEEPER_PUBLIC_URL): the external URL clients use, from which links, the \
                 OAuth issuer and cookies are built (e.g. --public-url https://shop.example.com)"
            ),
        };
        Ok(Self {
            public_url,
            profile: settings.profile,
            code_ttl_seconds: settings.code_ttl_seconds.max(1),
            sign_in_form_ttl_seconds: settings.sign_in_form_ttl_seconds.max(1),
            default_format: settings.default_format,
        })
    }

    /// Cookies are `Secure` (and may be `SameSite=None`) only when served over HTTPS.
    pub fn https(&self) -> bool {
        url::Url::parse(&self.public_url).is_ok_and(|url| url.scheme() == "https")
    }
}

/// `--public-url` as links and the issuer will spell it: an absolute http(s) URL with a host and
/// no credentials, query or fragment, in the URL standard's serialisation (lowercase scheme and
/// host, default port dropped), without a trailing slash.
fn public_url(raw: &str) -> anyhow::Result<String> {
    let refused =
        || anyhow::anyhow!("--public-url must be an http(s) URL without query or fragment");
    let url = url::Url::parse(raw.trim()).map_err(|_| refused())?;
    let bare = url.has_host()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    if !(matches!(url.scheme(), "http" | "https") && bare) {
        return Err(refused());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}
/// Operating the server: the job runner and the clean-up, shutdown.
#[derive(Debug, Clone, Args)]
pub struct OperationsSettings {
    /// Seconds between clean-up passes deleting expired tokens and dead sessions.
    #[arg(long, env = "SHOPKEEPER_CLEANUP_INTERVAL", default_value_t = 60)]
    pub cleanup_interval_seconds: u64,
    /// Most rows one clean-up transaction deletes per table.
    #[arg(long, env = "SHOPKEEPER_CLEANUP_BATCH", default_value_t = 500)]
    pub cleanup_batch: i64,
    /// How long a consumed refresh token is kept so that its replay is recognised as theft
    /// (and ends the session); after it the row is deleted and a replay is merely unknown.
    #[arg(long, env = "SHOPKEEPER_CONSUMED_REFRESH_RETENTION", default_value_t = 24 * 3600)]
    pub consumed_refresh_retention_seconds: i64,
    /// On SIGTERM, how long in-flight requests may take before the server stops anyway.
    #[arg(long, env = "SHOPKEEPER_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout_seconds: u64,
    /// Milliseconds between two looks of the job runner for due jobs (the clean-up and the
    /// background work after it).
    #[arg(long, env = "SHOPKEEPER_JOB_POLL_INTERVAL_MS", default_value_t = 1000)]
    pub job_poll_interval_ms: u64,
    /// How long a node's claim on a job lasts without being renewed (it is renewed every
    /// third of it while the job runs): a node that dies mid-job leaves it to another node
    /// after at most this many milliseconds.
    #[arg(long, env = "SHOPKEEPER_JOB_LEASE_MS", default_value_t = 30_000)]
    pub job_lease_ms: u64,
    /// Attempts a job gets before it is given up (a recurring one then waits for its next
    /// occurrence); between attempts it waits 1 s, 2 s, 4 s ... at most an hour.
    #[arg(long, env = "SHOPKEEPER_JOB_MAX_ATTEMPTS", default_value_t = 5)]
    pub job_max_attempts: u32,
    /// Seconds between two looks for subscription renewals that are due.
    #[arg(long, env = "SHOPKEEPER_RENEWAL_INTERVAL", default_value_t = 60)]
    pub renewal_interval_seconds: u64,
    /// Shopkeeper's own retries of a declined renewal, in days after the term's expiration
    /// (each before the grace date), for plans that set no retry interval of their own.
    #[arg(
        long,
        env = "SHOPKEEPER_RENEWAL_RETRY_DAYS",
        value_delimiter = ',',
        default_values_t = [1, 3, 5]
    )]
    pub renewal_retry_days: Vec<u32>,
}

impl Default for OperationsSettings {
    fn default() -> Self {
        Self {
            cleanup_interval_seconds: 60,
            cleanup_batch: 500,
            consumed_refresh_retention_seconds: 24 * 3600,
            shutdown_timeout_seconds: 30,
            job_poll_interval_ms: 1000,
            job_lease_ms: 30_000,
            job_max_attempts: 5,
            renewal_interval_seconds: 60,
            renewal_retry_days: vec![1, 3, 5],
        }
    }
}

/// Defences: brute-force throttling of password checks, request rate limits, connection and
/// request limits. Every duration is a setting so tests can shrink it to seconds.
#[derive(Debug, Clone, Args)]
pub struct SecuritySettings {
    /// Peers whose `--forwarded-header` is believed (comma-separated IPs of your load
    /// balancers or reverse proxies). Without it the TCP peer is the client address.
    #[arg(long, env = "SHOPKEEPER_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The header your trusted proxies name the client in: `x-forwarded-for`, or `forwarded`
    /// (RFC 7239). Only this one is read: a proxy passes the other on as the client wrote it.
    #[arg(long, env = "SHOPKEEPER_FORWARDED_HEADER", value_enum, default_value_t = ForwardedHeader::XForwardedFor)]
    pub forwarded_header: ForwardedHeader,
    /// Failed password checks per username allowed before sign-in for it is delayed.
    #[arg(long, env = "SHOPKEEPER_THROTTLE_USER_FAILURES", default_value_t = 5)]
    pub throttle_user_failures: u32,
    /// Failed password checks per client address allowed before sign-ins from it are delayed
    /// (higher: many shoppers may share an address behind NAT).
    #[arg(long, env = "SHOPKEEPER_THROTTLE_IP_FAILURES", default_value_t = 30)]
    pub throttle_ip_failures: u32,
    /// Each failure past the allowance adds this many seconds to the wait (Keycloak: 60).
    #[arg(long, env = "SHOPKEEPER_THROTTLE_STEP", default_value_t = 60)]
    pub throttle_step_seconds: u64,
    /// The longest wait, in seconds (Keycloak: 15 minutes): an attacker can slow a sign-in,
    /// never lock it out for good.
    #[arg(long, env = "SHOPKEEPER_THROTTLE_MAX_WAIT", default_value_t = 900)]
    pub throttle_max_wait_seconds: u64,
    /// Failures are forgotten this many seconds after the last one (Keycloak: 12 hours).
    #[arg(long, env = "SHOPKEEPER_THROTTLE_RESET", default_value_t = 12 * 3600)]
    pub throttle_reset_seconds: u64,
    /// Requests per API key per rate period on `/oauth20/token` and `SessionToken`; 0 turns
    /// the limit off. Generous by default (a load test from one key must not hit it).
    #[arg(long, env = "SHOPKEEPER_RATE_LIMIT_PER_KEY", default_value_t = 200_000)]
    pub rate_limit_per_key: u32,
    /// Requests per client address per rate period on the same endpoints; 0 turns it off.
    #[arg(long, env = "SHOPKEEPER_RATE_LIMIT_PER_IP", default_value_t = 200_000)]
    pub rate_limit_per_ip: u32,
    /// The rate period in milliseconds (the burst allowed is one period's worth).
    #[arg(long, env = "SHOPKEEPER_RATE_LIMIT_PERIOD_MS", default_value_t = 1000)]
    pub rate_limit_period_ms: u64,
    /// Commerce (Shopper) API requests per API key per `--api-rate-period-ms` (a second): the
    /// docs' per-key quota, 100 being their production default (10 mimics an evaluation key);
    /// 0 turns it off. A request beyond it is answered the documented 409
    /// `rate-limit-quota-exceeded`.
    #[arg(long, env = "SHOPKEEPER_API_RATE_PER_KEY", default_value_t = 100)]
    pub api_rate_per_key: u32,
    /// The quota's period in milliseconds (the burst allowed is one period's worth).
    #[arg(long, env = "SHOPKEEPER_API_RATE_PERIOD_MS", default_value_t = 1000)]
    pub api_rate_period_ms: u64,
    /// Order look-ups (`POST /v1/shoppers/order-lookup`) per client address per
    /// `--order-lookup-period-ms`; 0 turns the limit off. Order ids are sequential: without it
    /// anyone could try (order id, email) pairs at full speed.
    #[arg(long, env = "SHOPKEEPER_ORDER_LOOKUP_PER_IP", default_value_t = 10)]
    pub order_lookup_per_ip: u32,
    /// The order look-up rate period in milliseconds (a burst of `--order-lookup-per-ip`
    /// passes, then one look-up per period / limit).
    #[arg(
        long,
        env = "SHOPKEEPER_ORDER_LOOKUP_PERIOD_MS",
        default_value_t = 60_000
    )]
    pub order_lookup_period_ms: u64,
    /// A connection must send a request's complete headers within this many milliseconds
    /// (stops slowloris clients holding connections open).
    #[arg(
        long,
        env = "SHOPKEEPER_HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000
    )]
    pub header_read_timeout_ms: u64,
    /// Longest a request may take from headers read to response, in milliseconds (a slow
    /// body counts); the client then gets 408.
    #[arg(long, env = "SHOPKEEPER_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Most header fields in one request (more: 431).
    #[arg(long, env = "SHOPKEEPER_MAX_HEADERS", default_value_t = 64)]
    pub max_headers: usize,
    /// Most bytes of request line and headers together (more: 431); at least 8192.
    #[arg(long, env = "SHOPKEEPER_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,
}

impl Default for SecuritySettings {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::XForwardedFor,
            throttle_user_failures: 5,
            throttle_ip_failures: 30,
            throttle_step_seconds: 60,
            throttle_max_wait_seconds: 900,
            throttle_reset_seconds: 12 * 3600,
            rate_limit_per_key: 200_000,
            rate_limit_per_ip: 200_000,
            rate_limit_period_ms: 1000,
            api_rate_per_key: 100,
            api_rate_period_ms: 1000,
            order_lookup_per_ip: 10,
            order_lookup_period_ms: 60_000,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_headers: 64,
            max_header_bytes: 16 * 1024,
        }
    }
}

/// `--forwarded-header`: the command line's names for [`ProxyHeader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ForwardedHeader {
    XForwardedFor,
    Forwarded,
}

impl From<ForwardedHeader> for ProxyHeader {
    fn from(header: ForwardedHeader) -> Self {
        match header {
            ForwardedHeader::XForwardedFor => Self::XForwardedFor,
            ForwardedHeader::Forwarded => Self::Forwarded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_url_is_an_http_url_without_query_fragment_or_credentials() {
        assert_eq!(
            public_url("https://shop.example.com/").unwrap(),
            "https://shop.example.com"
        );
        assert_eq!(
            public_url("HTTPS://Shop.Example.com:443/shop/").unwrap(),
            "https://shop.example.com/shop"
        );
        assert_eq!(
            public_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in [
            "shop.example.com",
            "ftp://x.com",
            "https://x.com/?a=1",
            "https://x.com/#f",
            "https://u:p@x.com",
            "https://x .com",
            "mailto:a@x.com",
        ] {
            assert!(public_url(bad).is_err(), "{bad}");
        }
    }
}
