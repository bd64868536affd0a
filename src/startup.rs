//! Building the application: store, shared state, router, listener; and running it until a
//! shutdown signal, finishing in-flight requests.

use crate::auth::{PasswordHasher, TokenVerifier};
use crate::config::{
    DatabaseSettings, HashingSettings, OperationsSettings, ServeSettings, TokenSettings, WebConfig,
    WebSettings,
};
use crate::domain::secret::random_hex;
use crate::housekeeping;
use crate::http;
use crate::provision::{self, Demo};
use crate::state::AppState;
use crate::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub struct Application {
    listener: TcpListener,
    state: AppState,
}

/// Builds the shared state on an open store.
pub async fn build_state(
    store: Store,
    tokens: &TokenSettings,
    hashing: &HashingSettings,
) -> anyhow::Result<AppState> {
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
    Ok(AppState {
        verifier: TokenVerifier::new(store.clone(), tokens),
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
    })
}

impl Application {
    /// Opens the database (migrating it), creates the demo data on an empty database unless
    /// told not to, and binds the listener. Returns the demo data when it was created.
    pub async fn build(
        settings: &ServeSettings,
        database: &DatabaseSettings,
    ) -> anyhow::Result<(Self, Option<Demo>)> {
        let store = Store::connect(database).await?;
        let mut state = build_state(store, &settings.tokens, &settings.hashing).await?;
        state.operations = Arc::new(settings.operations.clone());
        let demo = if !settings.no_demo && state.store.is_empty().await? {
            Some(provision::create_demo(&state.store, &state.hasher).await?)
        } else {
            None
        };
        let listener = TcpListener::bind(settings.listen).await?;
        state.web = Arc::new(WebConfig::resolve(&settings.web, listener.local_addr()?)?);
        Ok((Self { listener, state }, demo))
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
    /// (for at most the configured shutdown timeout), and closes the database pools. The
    /// clean-up task runs alongside and stops with the server.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let store = self.state.store.clone();
        let drain = Duration::from_secs(self.state.operations.shutdown_timeout_seconds);
        let cleanup = tokio::spawn(housekeeping::run(
            self.state.clone(),
            (*self.state.operations).clone(),
        ));
        let app = http::router(self.state);
        let stopping = Arc::new(tokio::sync::Notify::new());
        let signal = {
            let stopping = stopping.clone();
            async move {
                shutdown_signal().await;
                stopping.notify_one();
            }
        };
        let serve = axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal);
        let outcome = tokio::select! {
            served = serve => served,
            () = async { stopping.notified().await; tokio::time::sleep(drain).await } => {
                tracing::warn!("in-flight requests outlived the shutdown timeout; stopping anyway");
                Ok(())
            }
        };
        cleanup.abort();
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
