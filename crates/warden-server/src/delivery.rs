//! One webhook POST to a [`Destination`] that [`crate::destinations::resolve`] checked: the
//! connection goes to the addresses checked (never a fresh resolution), takes no proxy
//! from the environment, follows no redirect, and has one time limit for everything
//! (connect, TLS, request, answer). HTTPS trusts the Mozilla roots (`webpki-roots`) and
//! checks the certificate against the host as written. Errors are what an API caller may
//! read: generic, naming no address.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use crate::destinations::Destination;

/// Why a delivery failed, as API callers and dead letters read it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failed {
    #[error("could not connect to the receiver")]
    Connect,
    #[error("the TLS handshake with the receiver failed")]
    Tls,
    #[error("the receiver did not answer in time")]
    Timeout,
    #[error("the HTTP exchange with the receiver failed")]
    Http,
    #[error("the receiver answered {0}")]
    Status(u16),
    #[error("{0}")]
    Refused(#[from] crate::destinations::Refused),
}

/// POSTs `body` with `headers`; the status on a 2xx answer.
pub async fn post(
    dest: &Destination,
    headers: &[(&str, &str)],
    body: Bytes,
    timeout: Duration,
) -> Result<u16, Failed> {
    match tokio::time::timeout(timeout, exchange(dest, headers, body)).await {
        Ok(r) => r,
        Err(_) => Err(Failed::Timeout),
    }
}

async fn exchange(
    dest: &Destination,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<u16, Failed> {
    let tcp = connect(dest).await?;
    let status = if dest.https {
        let name = ServerName::try_from(dest.host.clone()).map_err(|_| Failed::Tls)?;
        let tls = tls_connector()
            .ok_or(Failed::Tls)?
            .connect(name, tcp)
            .await
            .map_err(|_| Failed::Tls)?;
        send(TokioIo::new(tls), dest, headers, body).await?
    } else {
        send(TokioIo::new(tcp), dest, headers, body).await?
    };
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(Failed::Status(status))
    }
}

/// The first of the checked addresses that accepts.
async fn connect(dest: &Destination) -> Result<TcpStream, Failed> {
    for addr in &dest.addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => tracing::debug!("webhook {}: connecting to {addr}: {e}", dest.host),
        }
    }
    Err(Failed::Connect)
}

async fn send<I>(
    io: I,
    dest: &Destination,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Result<u16, Failed>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io)
        .await
        .map_err(|_| Failed::Http)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let authority = if (dest.https && dest.port == 443) || (!dest.https && dest.port == 80) {
        host_for_header(&dest.host)
    } else {
        format!("{}:{}", host_for_header(&dest.host), dest.port)
    };
    let mut req = Request::post(dest.path.as_str())
        .header("host", authority)
        .header("user-agent", concat!("warden/", env!("CARGO_PKG_VERSION")))
        .header("content-length", body.len());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(body)).map_err(|_| Failed::Http)?;
    let resp = sender.send_request(req).await.map_err(|_| Failed::Http)?;
    Ok(resp.status().as_u16())
}

/// IPv6 literals go in brackets in `Host:`.
fn host_for_header(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

fn tls_connector() -> Option<tokio_rustls::TlsConnector> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
            .map_err(|e| tracing::error!("TLS client configuration: {e}"))
            .ok()
    });
    config.clone().map(tokio_rustls::TlsConnector::from)
}
