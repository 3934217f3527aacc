//! TLS for syslog (`transport = "tls"`, RFC 5425): rustls with the ring provider, TLS 1.2
//! and 1.3, the collector's certificate checked against the CA certificates of `tls_ca`
//! (PEM) or, without one, the Mozilla roots (`webpki-roots`), for the name in
//! `tls_server_name` or the host part of the address.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;

/// What a TLS connection needs: the connector and the name to check.
pub(crate) struct Tls {
    pub(crate) connector: TlsConnector,
    pub(crate) server_name: ServerName<'static>,
}

/// The connector for `server_name`, trusting the CAs in `ca` (PEM) or the Mozilla roots;
/// an error names the file or the name.
pub(crate) fn connector(ca: Option<&Path>, server_name: &str) -> Result<Tls, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(path) => {
            let bad = |e: String| format!("tls_ca {}: {e}", path.display());
            let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
            for cert in certs {
                let cert = cert.map_err(|e| bad(e.to_string()))?;
                roots.add(cert).map_err(|e| bad(e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(bad("no certificate in the file".into()));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let server_name = ServerName::try_from(server_name.to_owned())
        .map_err(|_| format!("tls_server_name `{server_name}`: not a DNS name or an IP address"))?;
    Ok(Tls {
        connector: TlsConnector::from(Arc::new(config)),
        server_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_reads_the_ca_or_takes_the_mozilla_roots() {
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/tls/ca.pem");
        assert!(connector(Some(Path::new(ca)), "localhost").is_ok());
        assert!(connector(None, "siem.example").is_ok());
        assert!(connector(None, "127.0.0.1").is_ok());
        let e = connector(Some(Path::new("/surely/not/here/ca.pem")), "x")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("tls_ca /surely/not/here/ca.pem: "), "{e}");
        let e = connector(None, "not a name").err().unwrap_or_default();
        assert!(e.contains("not a DNS name"), "{e}");
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "nothing here\n").unwrap_or_else(|e| panic!("{e}"));
        let e = connector(Some(&empty), "localhost")
            .err()
            .unwrap_or_default();
        assert!(e.contains("no certificate in the file"), "{e}");
    }
}
