//! TLS for the API: a client that trusts the test CA gets answers over HTTPS; a plain
//! HTTP client gets none; half a configuration or a key that is not a key stops the service
//! at start naming the key.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use warden_server::{AppState, ServiceConfig};

use crate::common;

fn tls_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/tls")
        .join(name)
}

fn tls_config() -> ServiceConfig {
    let mut cfg = ServiceConfig::default();
    cfg.server.tls_cert = Some(tls_file("server.pem"));
    cfg.server.tls_key = Some(tls_file("server.key"));
    cfg
}

/// A TLS client that trusts the test CA.
pub fn connector() -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(tls_file("ca.pem")).unwrap_or_else(|e| panic!("{e}")) {
        roots
            .add(c.unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap_or_else(|e| panic!("{e}"))
    .with_root_certificates(roots)
    .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(client))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_handshakes_from_one_address_do_not_starve_tls_clients() {
    let mut cfg = tls_config();
    cfg.server.max_connections_per_address = 20;
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    let server = common::start(state).await;
    // 300 connections that never start their handshake.
    let mut idle = Vec::new();
    for _ in 0..300 {
        if let Ok(c) = tokio::net::TcpStream::connect(server.addr).await {
            idle.push(c);
        }
    }
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
    socket
        .bind(std::net::SocketAddr::from(([127, 0, 0, 2], 0)))
        .unwrap_or_else(|e| panic!("{e}"));
    let exchange = async {
        let tcp = socket.connect(server.addr).await?;
        let name = ServerName::try_from("localhost").map_err(std::io::Error::other)?;
        let mut tls = connector().connect(name, tcp).await?;
        tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut answer = String::new();
        let _ = tls.read_to_string(&mut answer).await;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(1), exchange)
        .await
        .unwrap_or_else(|_| panic!("no TLS answer within a second"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(idle);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_over_tls_and_not_in_clear() {
    let cfg = tls_config();
    cfg.validate().unwrap_or_else(|e| panic!("{e}"));
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    let server = common::start(state).await;
    let addr = server.addr;

    let connector = connector();
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let name = ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
    let mut tls = connector
        .connect(name, tcp)
        .await
        .unwrap_or_else(|e| panic!("the handshake: {e}"));
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    let _ = tls.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""), "{answer}");
    // Browsers that reached it over TLS are told to use nothing else.
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{answer}"
    );

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let mut got = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        plain.read_to_end(&mut got),
    )
    .await;
    assert!(!String::from_utf8_lossy(&got).contains("HTTP/1.1 200"));

    server.stop().await;
}

#[test]
fn half_a_tls_configuration_or_a_bad_key_is_refused_naming_the_key() {
    let mut cfg = tls_config();
    cfg.server.tls_key = None;
    let e = cfg.validate().unwrap_err().to_string();
    assert!(e.starts_with("server.tls_cert"), "{e}");
    let mut cfg = tls_config();
    cfg.server.tls_key = Some(tls_file("ca.pem"));
    let e = cfg.validate().unwrap_err().to_string();
    assert!(
        e.starts_with("server.tls_key") && e.contains("ca.pem"),
        "{e}"
    );
    let mut cfg = tls_config();
    cfg.server.tls_cert = Some(tls_file("missing.pem"));
    let e = cfg.validate().unwrap_err().to_string();
    assert!(
        e.starts_with("server.tls_cert") && e.contains("missing.pem"),
        "{e}"
    );
}
