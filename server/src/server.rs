//! Binding, serving and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use url::Url;

use crate::config::Config;
use crate::state::AppState;
use crate::tls::{ReloadingCert, TlsListener};

/// Why the gateway cannot listen.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    #[error("cannot listen on {addr}: {source}; is another process using the port?")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// The sockets (and certificate) a gateway serves on, bound before the app
/// opens so that a taken port fails at once.
pub struct Listeners {
    main: TcpListener,
    /// `[metrics] listen`: `/metrics` served apart (plain http).
    metrics: Option<TcpListener>,
    /// Present when serving https.
    tls: Option<Arc<ReloadingCert>>,
}

impl Listeners {
    pub async fn bind(config: &Config) -> Result<Self, ListenError> {
        let main = TcpListener::bind(config.listen)
            .await
            .map_err(|source| ListenError::Bind {
                addr: config.listen,
                source,
            })?;
        let metrics = match config.metrics.listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| ListenError::Bind { addr, source })?,
            ),
            None => None,
        };
        let tls = match &config.tls {
            Some(tls) => Some(ReloadingCert::open(&tls.cert_file, &tls.key_file)?),
            None => None,
        };
        Ok(Self { main, metrics, tls })
    }

    /// The configured `public_url`, else the bound address.
    pub fn public_url(&self, config: &Config) -> Result<Url, ListenError> {
        if let Some(url) = &config.public_url {
            return Ok(url.clone());
        }
        let bind_error = |source| ListenError::Bind {
            addr: config.listen,
            source,
        };
        let local = self.main.local_addr().map_err(bind_error)?;
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        Url::parse(&format!("{scheme}://{local}/"))
            .map_err(|e| bind_error(std::io::Error::other(e)))
    }
}

/// A bound, ready-to-serve gateway.
pub struct Server {
    listener: TcpListener,
    app: AppState,
    /// Present when serving https.
    tls: Option<Arc<ReloadingCert>>,
    /// `[metrics] listen`: `/metrics` served apart (plain http).
    metrics: Option<TcpListener>,
}

impl Server {
    pub fn new(listeners: Listeners, app: AppState) -> Self {
        Self {
            listener: listeners.main,
            app,
            tls: listeners.tls,
            metrics: listeners.metrics,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.app.config.listen)
    }

    /// The address of the separate metrics listener, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn app(&self) -> &AppState {
        &self.app
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish
    /// for at most the configured grace period.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Server {
            listener,
            app,
            tls,
            metrics,
        } = self;
        let grace = app.config.server.shutdown_grace;
        let maintenance = crate::maintenance::spawn(&app.registry, &app.config.gc);
        let stopping = Arc::new(Notify::new());
        let notify = stopping.clone();
        let service = crate::router(app.clone())
            .into_make_service_with_connect_info::<crate::client_addr::Peer>();
        // The metrics listener stops when the main one starts stopping.
        let (stopped, mut metrics_stop) = tokio::sync::watch::channel(false);
        let metrics = metrics.map(|listener| {
            let service = crate::router::metrics_router(app.clone());
            tokio::spawn(
                axum::serve(listener, service)
                    .with_graceful_shutdown(async move {
                        let _ = metrics_stop.wait_for(|stopped| *stopped).await;
                    })
                    .into_future(),
            )
        });
        let stop = async move {
            shutdown.await;
            let _ = stopped.send(true);
            notify.notify_one();
        };
        let mut serving = match tls {
            None => tokio::spawn(
                axum::serve(listener, service)
                    .with_graceful_shutdown(stop)
                    .into_future(),
            ),
            Some(cert) => {
                let listener = TlsListener::new(listener, cert)?;
                tokio::spawn(
                    axum::serve(listener, service)
                        .with_graceful_shutdown(stop)
                        .into_future(),
                )
            }
        };
        let result = tokio::select! {
            done = &mut serving => done,
            () = stopping.notified() => {
                tracing::info!(grace = ?grace, "shutting down: finishing in-flight requests");
                match tokio::time::timeout(grace, &mut serving).await {
                    Ok(done) => done,
                    Err(_) => {
                        tracing::warn!("grace period over: closing remaining connections");
                        serving.abort();
                        Ok(Ok(()))
                    }
                }
            }
        };
        for task in maintenance {
            task.abort();
        }
        if let Some(metrics) = metrics {
            metrics.abort();
            let _ = metrics.await;
        }
        app.db.close().await;
        result.unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Resolves on SIGINT or SIGTERM.
///
/// The handlers are installed by [`ShutdownSignal::install`], before the
/// gateway says it is serving: a signal that arrives any time after that
/// line starts a graceful shutdown instead of killing the process.
pub struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignal {
    pub fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let interrupt = signal(SignalKind::interrupt())?;
            let terminate = match signal(SignalKind::terminate()) {
                Ok(term) => Some(term),
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the gateway");
                    None
                }
            };
            Ok(Self {
                interrupt,
                terminate,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    pub async fn wait(self) {
        #[cfg(unix)]
        {
            let Self {
                mut interrupt,
                terminate,
            } = self;
            match terminate {
                Some(mut terminate) => {
                    tokio::select! {
                        _ = interrupt.recv() => {},
                        _ = terminate.recv() => {},
                    }
                }
                None => {
                    interrupt.recv().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
