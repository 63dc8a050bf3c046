//! Wiring of a running server: open the store, restore the core from it,
//! run the stale monitor and the HTTP API, and on shutdown stop accepting,
//! finish requests in flight and flush the store.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, ApiOptions, AppState, CorsPolicy};
use crate::config::Settings;
use crate::core::{
    AlertPolicy, Channel, ChannelKind, ChannelSource, Clock, Core, CoreConfig, Journal,
    StalePolicy, SystemClock,
};
use crate::storage::{self, Store, StoreError, StoreOptions};

/// Why a server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
}

/// A server running in the background of this process.
pub struct Server {
    addr: SocketAddr,
    core: Core,
    store: Arc<dyn Store>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), ServerError>>,
}

impl Server {
    /// Opens the store and starts the monitor and the API on `settings.listen`.
    pub async fn start(settings: &Settings) -> Result<Server, ServerError> {
        Server::start_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// The same with an injected clock (tests).
    pub async fn start_with_clock(
        settings: &Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Server, ServerError> {
        let store = storage::open(
            &settings.store,
            StoreOptions {
                retention: settings.retention,
                durability: settings.durability,
            },
        )
        .await?;
        let snapshot = store.load().await?;
        let restored = snapshot.services.len();
        let journal: Arc<dyn Journal> = store.clone();
        let core = Core::new(
            CoreConfig {
                stale: StalePolicy {
                    default_threshold_secs: settings.stale_threshold_secs,
                },
                alerts: AlertPolicy {
                    bad: settings.alert_statuses.clone(),
                },
                task_stall_after_secs: settings.task_stall_after_secs,
                environment_channels: environment_channels(settings),
            },
            snapshot,
            journal,
            clock,
        );
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: settings.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(ServerError::Serve)?;
        tracing::info!(%addr, store = %store.describe(), restored, "laneswap server listening");
        if !settings.api_tokens.is_empty() {
            tracing::info!(
                tokens = settings.api_tokens.len(),
                "the API requires bearer tokens"
            );
        } else if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "the API is open to the network without tokens: set LANESWAP_API_TOKENS to require them");
        }

        let (stop, stopped) = watch::channel(false);
        // Other nodes on the same database: take their changes in.
        if let Some(mut remote) = store.remote_changes() {
            let core = core.clone();
            let mut stopping = stopped.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        changes = remote.recv() => match changes {
                            Some(changes) => core.absorb(changes),
                            None => return,
                        },
                        _ = stopping.wait_for(|stopped| *stopped) => return,
                    }
                }
            });
        }
        let monitor = tokio::spawn(core.clone().run_monitor(wait_for(stopped.clone())));
        let deliveries = crate::notify::delivery::spawn(
            core.clone(),
            store.clone(),
            settings.delivery.clone(),
            stopped.clone(),
        );
        let state = AppState {
            core: core.clone(),
            store: store.clone(),
            options: ApiOptions {
                max_body_bytes: settings.max_body_bytes,
                heartbeat_reply_events: settings.heartbeat_reply_events,
            },
            cors: Arc::new(CorsPolicy::from_list(&settings.cors_origins)),
            operator: Arc::from(settings.operator.as_str()),
            tokens: Arc::new(settings.api_tokens.clone()),
            stopping: stopped.clone(),
        };
        let flush = store.clone();
        let task = tokio::spawn(async move {
            let served = api::serve(listener, state, wait_for(stopped)).await;
            let _ = monitor.await;
            let _ = deliveries.await;
            flush.close().await?;
            tracing::info!("store flushed, server stopped");
            served.map_err(ServerError::Serve)
        });
        Ok(Server {
            addr,
            core,
            store,
            stop,
            task,
        })
    }

    /// The address the API listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://addr`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Stops accepting, finishes requests in flight, flushes the store.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        let _ = self.stop.send(true);
        self.task
            .await
            .unwrap_or_else(|e| Err(ServerError::Serve(std::io::Error::other(e.to_string()))))
    }

    /// Runs until `signal` resolves, then shuts down cleanly.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> Result<(), ServerError> {
        signal.await;
        tracing::info!("shutdown requested, finishing requests and flushing the store");
        self.shutdown().await
    }
}

/// The channels `LANESWAP_DISCORD_WEBHOOK` and the config file define.
fn environment_channels(settings: &Settings) -> Vec<Channel> {
    let now = chrono::Utc::now();
    let mut channels: Vec<Channel> = settings
        .discord_webhook
        .iter()
        .map(|url| Channel {
            id: "default".to_string(),
            name: "Discord (LANESWAP_DISCORD_WEBHOOK)".to_string(),
            kind: ChannelKind::Discord,
            url: url.clone(),
            levels: Default::default(),
            services: Default::default(),
            enabled: true,
            source: ChannelSource::Environment,
            broken: None,
            created_at: now,
            updated_at: now,
        })
        .collect();
    channels.extend(settings.file_webhooks.iter().cloned());
    channels
}

async fn wait_for(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
