//! Serving https directly: `[tls] cert_file` and `key_file` (PEM), reloaded
//! when either file changes, so certificate renewals need no restart.
//!
//! TLS handshakes run in their own tasks with a time limit; only finished
//! connections reach the HTTP server, so a slow or silent client cannot
//! hold up everyone else's accept.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete its handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the certificate files are checked for changes.
const RELOAD_CHECK: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
#[error("cannot load the TLS certificate ({cert}) or key ({key}): {reason}")]
pub struct TlsError {
    cert: String,
    key: String,
    reason: String,
}

/// The current certificate, swapped in place when the files change.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<(Arc<CertifiedKey>, Option<SystemTime>)>,
}

fn modified(paths: [&Path; 2]) -> Option<SystemTime> {
    paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .max()
}

fn load(cert_file: &Path, key_file: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let error = |reason: String| TlsError {
        cert: cert_file.display().to_string(),
        key: key_file.display().to_string(),
        reason,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| error(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("no certificate in the file".to_string()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| error(e.to_string()))?;
    let signing_key =
        rustls::crypto::ring::sign::any_supported_type(&key).map_err(|e| error(e.to_string()))?;
    Ok(Arc::new(CertifiedKey::new(certs, signing_key)))
}

impl ReloadingCert {
    pub fn open(cert_file: &Path, key_file: &Path) -> Result<Arc<Self>, TlsError> {
        let key = load(cert_file, key_file)?;
        Ok(Arc::new(Self {
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            current: RwLock::new((key, modified([cert_file, key_file]))),
        }))
    }

    /// Reloads if the files changed; a broken new pair keeps the old one.
    fn reload_if_changed(&self) {
        let now = modified([&self.cert_file, &self.key_file]);
        let seen = self.current.read().map(|c| c.1).unwrap_or(None);
        if now == seen {
            return;
        }
        match load(&self.cert_file, &self.key_file) {
            Ok(key) => {
                if let Ok(mut current) = self.current.write() {
                    *current = (key, now);
                }
                tracing::info!(cert = %self.cert_file.display(), "reloaded the TLS certificate");
            }
            Err(error) => tracing::warn!(%error, "keeping the previous TLS certificate"),
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|current| current.0.clone())
    }
}

/// The peer of a TLS connection, as axum's `ConnectInfo` reports it.
impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TlsListener>>
    for crate::client_addr::Peer
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, TlsListener>) -> Self {
        crate::client_addr::Peer(*stream.remote_addr())
    }
}

/// An axum listener that hands out finished TLS connections.
pub struct TlsListener {
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(listener: TcpListener, cert: Arc<ReloadingCert>) -> std::io::Result<Self> {
        crate::install_crypto_provider();
        let local = listener.local_addr()?;
        let mut config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_cert_resolver(cert.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let (sender, connections) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, connection_sender) = (acceptor.clone(), sender.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = connection_sender.send((tls, peer)).await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
                if sender.is_closed() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(RELOAD_CHECK);
            loop {
                ticker.tick().await;
                cert.reload_if_changed();
            }
        });
        Ok(Self { connections, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The acceptor task only ends with the listener; wait forever.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
