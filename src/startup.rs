//! Building the application: store, shared state, router, listener; and running it until a
//! shutdown signal, finishing in-flight requests.

use crate::auth::{PasswordHasher, TokenVerifier};
use crate::clock::Clock;
use crate::config::{
    DatabaseSettings, HashingSettings, OperationsSettings, SecuritySettings, ServeSettings,
    TokenSettings, WebConfig, WebSettings,
};
use crate::domain::secret::random_hex;
use crate::http;
use crate::jobs;
use crate::provision::{self, Demo};
use crate::state::{AppState, SharedState};
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// Connection limits and timeouts applied while serving.
    security: SecuritySettings,
}

/// Builds the shared state on an open store.
pub async fn build_state(
    store: Store,
    tokens: &TokenSettings,
    hashing: &HashingSettings,
    clock: Clock,
) -> anyhow::Result<SharedState> {
    let hasher = {
        let hashing = hashing.clone();
        tokio::task::spawn_blocking(move || PasswordHasher::new(&hashing)).await??
    };
    // One HMAC key for all nodes, created by whichever starts first.
    let key_hex = store
        .server_setting_or_init("refresh_hmac_key", || random_hex(32))
        .await?;
    let key: [u8; 32] = hex::decode(key_hex)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("stored refresh_hmac_key is not 32 bytes"))?;
    // A test clock starts where the other nodes' clock is.
    clock.refresh(&store).await?;
    Ok(SharedState {
        verifier: TokenVerifier::new(store.clone(), tokens, clock.clone()),
        store,
        hasher,
        tokens: Arc::new(tokens.clone()),
        refresh_key: Arc::new(key),
        web: Arc::new(WebConfig::resolve(
            &WebSettings::default(),
            ([127, 0, 0, 1], 8080).into(),
        )?),
        operations: Arc::new(OperationsSettings::default()),
        metrics: crate::instruments::handle(),
        guard: Arc::new(crate::guard::Guard::new(
            &crate::config::SecuritySettings::default(),
            clock.clone(),
        )),
        clock,
    })
}

impl Application {
    /// Opens the database (migrating it), creates the demo data on an empty database unless
    /// told not to, and binds the listener. Returns the demo data when it was created.
    pub async fn build(
        settings: &ServeSettings,
        database: &DatabaseSettings,
    ) -> anyhow::Result<(Self, Option<Demo>)> {
        // Settings that cannot work are refused before the database is touched, and the
        // address is taken before the demo data is made: a start that cannot listen must not
        // create (and print) credentials nobody sees served.
        WebConfig::resolve(&settings.web, settings.listen)?;
        let listener = TcpListener::bind(settings.listen).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}: {e} (another server there? choose an address with --listen)",
                settings.listen
            )
        })?;
        let clock = if settings.test_clock {
            tracing::warn!(
                "--test-clock is on: POST /__test/clock moves this server's clock (and every \
                 node's on this database); for tests only, never in production"
            );
            Clock::test()
        } else {
            Clock::system()
        };
        let store = Store::connect(database).await?;
        let mut state =
            build_state(store, &settings.tokens, &settings.hashing, clock.clone()).await?;
        state.operations = Arc::new(settings.operations.clone());
        state.guard = Arc::new(crate::guard::Guard::new(&settings.security, clock));
        // The demo's public key registers the start page on the public URL, which the bound
        // port completes.
        state.web = Arc::new(WebConfig::resolve(&settings.web, listener.local_addr()?)?);
        let demo = if !settings.no_demo && state.store.is_empty().await? {
            let start_page = crate::http::start_page::redirect_uri(&state.web);
            let now = state.clock.now();
            Some(provision::create_demo(&state.store, &state.hasher, &start_page, now).await?)
        } else {
            let demo = crate::domain::SiteId::parse(crate::http::start_page::DEMO_SITE)
                .map_err(anyhow::Error::msg)?;
            if !settings.no_demo && state.store.site(&demo).await?.is_some() {
                tracing::info!(
                    "the demo site exists: `shopkeeper demo show` prints its keys again \
                     (with a new shopper password and key secret)"
                );
            }
            None
        };
        Ok((
            Self {
                listener,
                state: AppState::new(state),
                security: settings.security.clone(),
            },
            demo,
        ))
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then stops accepting, lets in-flight requests finish
    /// (for at most the configured shutdown timeout), and closes the database pools. The job
    /// runner (the clean-up and other background work) runs alongside and stops with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let store = self.state.store.clone();
        let drain = Duration::from_secs(self.state.operations.shutdown_timeout_seconds);
        let jobs = tokio::spawn(jobs::JobRunner::standard(&self.state).run());
        let security = self.security;
        // Every request must finish within the request timeout (a slow body included).
        let app = http::app(
            self.state,
            Duration::from_millis(security.request_timeout_ms.max(1)),
        );
        // HTTP/1.1 only, with the header read timeout (slowloris) and header limits that
        // axum::serve does not expose.
        let mut http1 = hyper::server::conn::http1::Builder::new();
        http1
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(Duration::from_millis(
                security.header_read_timeout_ms.max(1),
            ))
            .max_headers(security.max_headers.max(1))
            .max_buf_size(security.max_header_bytes.max(8192));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let signal = shutdown_signal();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            // Out of file descriptors and the like: back off, keep serving.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    // The peer address for `ConnectInfo`, as axum::serve would add it.
                    let service = hyper_util::service::TowerToHyperService::new(
                        tower::ServiceExt::map_request(
                            app.clone(),
                            move |request: axum::http::Request<hyper::body::Incoming>| {
                                let mut request = request.map(axum::body::Body::new);
                                request
                                    .extensions_mut()
                                    .insert(axum::extract::ConnectInfo(peer));
                                request
                            },
                        ),
                    );
                    let connection = graceful.watch(
                        http1.serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                    );
                    tokio::spawn(async move {
                        if let Err(e) = connection.await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                () = &mut signal => break,
            }
        }
        // Stop accepting; idle connections close, busy ones finish their request.
        drop(self.listener);
        let outcome = tokio::select! {
            () = graceful.shutdown() => Ok(()),
            () = tokio::time::sleep(drain) => {
                tracing::warn!("in-flight requests outlived the shutdown timeout; stopping anyway");
                Ok(())
            }
        };
        jobs.abort();
        // Every acknowledged write was committed before its response was sent; closing waits
        // for connections in use to be returned.
        store.close().await;
        outcome
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
