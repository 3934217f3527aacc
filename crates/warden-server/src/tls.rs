//! Optional TLS for the API (`server.tls_cert` and `server.tls_key`, PEM): rustls with the
//! ring provider, TLS 1.2 and 1.3. Handshakes run on their own tasks with a time limit, so
//! a slow or broken client never holds up accepting the others; a failed handshake is
//! counted in the log and dropped.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::ConfigError;

/// Time allowed for a TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Handshaken connections waiting to be served.
const BACKLOG: usize = 1024;
/// Handshakes in progress at once; more connections wait to be accepted.
const HANDSHAKES: usize = 256;

/// Reads the certificate chain and key; an error names the key and the file.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, ConfigError> {
    let bad = |k: &str, p: &Path, reason: String| ConfigError::Invalid {
        key: k.into(),
        reason: format!("{}: {reason}", p.display()),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad("server.tls_cert", cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad("server.tls_cert", cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad(
            "server.tls_cert",
            cert,
            "no certificate in the file".into(),
        ));
    }
    let key_der =
        PrivateKeyDer::from_pem_file(key).map_err(|e| bad("server.tls_key", key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad("server.tls_cert", cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            bad(
                "server.tls_key",
                key,
                format!("does not match the certificate: {e}"),
            )
        })?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// A listener whose connections are TLS, for `axum::serve`.
pub struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    /// Accepts on `listener` and runs handshakes in the background (inside the runtime).
    pub fn new(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, rx) = mpsc::channel(BACKLOG);
        let slots = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES));
        tokio::spawn(async move {
            loop {
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (tcp, addr) = match listener.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, then go on.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                if tx.is_closed() {
                    return;
                }
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            // A server too busy to take it within the handshake time
                            // drops it rather than piling connections up.
                            let _ = tx.send_timeout((tls, addr), HANDSHAKE).await;
                        }
                        Ok(Err(e)) => tracing::warn!("TLS handshake with {addr} failed: {e}"),
                        Err(_) => tracing::warn!("TLS handshake with {addr} timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accepting task ended (the runtime is shutting down): never resolve.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
