//! Optional TLS for the API (`server.tls_cert` and `server.tls_key`, PEM): rustls with the
//! ring provider, TLS 1.2 and 1.3. Handshakes run in each connection's own task under its
//! time limit and connection caps ([`crate::connections`]), so a slow or broken client
//! never holds up the others.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ConfigError;

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
