//! Hostile clients against a real listener: a connection flood from one address, a
//! slow-loris that never finishes its head, a flood that fills the global cap, a body that
//! stalls, and slow TLS handshakes. After each, a normal request from another address
//! is answered within a second.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use warden_server::{AppState, ServiceConfig};

use crate::common;

fn state_with(tune: impl FnOnce(&mut ServiceConfig)) -> AppState {
    let mut cfg = ServiceConfig::default();
    tune(&mut cfg);
    cfg.validate().unwrap_or_else(|e| panic!("{e}"));
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"))
}

/// A connection from `source` (any address of the loopback network) to `addr`.
async fn connect_from(source: [u8; 4], addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(addr).await
}

/// `GET /healthz` from `source`, answered within a second.
async fn healthz_from(source: [u8; 4], addr: SocketAddr) -> String {
    get_from(source, addr, "/healthz").await
}

/// `GET path` from `source`, answered within a second.
async fn get_from(source: [u8; 4], addr: SocketAddr, path: &str) -> String {
    let exchange = async {
        let mut c = connect_from(source, addr).await?;
        c.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut answer = String::new();
        c.read_to_string(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(Duration::from_secs(1), exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(e)) => panic!("{path} from {source:?}: {e}"),
        Err(_) => panic!("{path} from {source:?}: no answer within a second"),
    }
}

/// Whether the server closes `c` within `within` (reads end or fail).
async fn closed_within(c: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let read = async {
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, read).await.is_ok()
}

/// `n` connections from `source`, each with half a request line sent.
async fn partial_requests(source: [u8; 4], addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..n {
        if let Ok(mut c) = connect_from(source, addr).await {
            let _ = c.write_all(b"GET /heal").await;
            held.push(c);
        }
    }
    held
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_address_does_not_lock_out_the_others() {
    let server = common::start(state_with(|c| {
        c.server.max_connections_per_address = 50;
    }))
    .await;
    let held = partial_requests([127, 0, 0, 1], server.addr, 300).await;
    assert_eq!(held.len(), 300, "the kernel accepts them all");
    let answer = healthz_from([127, 0, 0, 2], server.addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let metrics = get_from([127, 0, 0, 3], server.addr, "/metrics").await;
    assert!(
        metric(
            &metrics,
            "warden_connections_refused_total{cap=\"per_address\"}"
        ) >= 250,
        "{metrics}"
    );
    drop(held);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_loris_is_closed_when_its_head_is_late() {
    let server = common::start(state_with(|c| {
        c.server.header_read_timeout_secs = 1;
    }))
    .await;
    let mut loris = connect_from([127, 0, 0, 1], server.addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    loris
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // One header byte every 200 ms: never idle, never done.
    let drip = async {
        for _ in 0..50 {
            if loris.write_all(b"X").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    };
    let cut = tokio::time::timeout(Duration::from_secs(8), drip).await;
    assert!(
        matches!(cut, Ok(true)) || closed_within(&mut loris, Duration::from_secs(3)).await,
        "the slow head was not cut off"
    );
    let answer = healthz_from([127, 0, 0, 2], server.addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_global_cap_refuses_then_recovers_when_heads_time_out() {
    let server = common::start(state_with(|c| {
        c.server.max_connections = 20;
        c.server.max_connections_per_address = 1_000;
        c.server.header_read_timeout_secs = 1;
    }))
    .await;
    let mut held = partial_requests([127, 0, 0, 1], server.addr, 20).await;
    // Let the server admit all twenty before the next one comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = connect_from([127, 0, 0, 2], server.addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = refused
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(
        closed_within(&mut refused, Duration::from_millis(500)).await,
        "a connection over the global cap is closed at once"
    );
    // The partial heads time out and free their places.
    for c in &mut held {
        assert!(closed_within(c, Duration::from_secs(3)).await);
    }
    let answer = healthz_from([127, 0, 0, 2], server.addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let metrics = common::get_raw(server.addr, "/metrics").await;
    assert!(
        metric(&metrics, "warden_connections_refused_total{cap=\"global\"}") >= 1,
        "{metrics}"
    );
    assert!(
        metric(&metrics, "warden_connections_timed_out_total") >= 20,
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408() {
    let state = state_with(|c| c.server.body_read_timeout_secs = 1);
    let (token, _) = {
        let store = state.store.lock().unwrap_or_else(|e| panic!("{e}"));
        warden_server::auth::create_token(&store, warden_server::auth::Scope::Write, "t", "")
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let server = common::start(state).await;
    let mut c = connect_from([127, 0, 0, 1], server.addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /v1/detect/realtime HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"events\": ["
    );
    c.write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), c.read(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("no answer to a stalled body"))
        .unwrap_or(0);
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    server.stop().await;
}

/// `GET path` through the router as from `client`, with an optional bearer token.
async fn get_as(
    router: &axum::Router,
    client: [u8; 4],
    path: &str,
    bearer: Option<&str>,
) -> (axum::http::StatusCode, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = axum::http::Request::builder().uri(path);
    if let Some(b) = bearer {
        req = req.header("authorization", format!("Bearer {b}"));
    }
    let req = req
        .extension(axum::extract::ConnectInfo(SocketAddr::from((client, 5000))))
        .body(axum::body::Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = resp.status();
    let body = resp.into_body().collect().await.map(|b| b.to_bytes());
    (
        status,
        String::from_utf8_lossy(&body.unwrap_or_default()).into_owned(),
    )
}

#[tokio::test]
async fn operational_figures_are_for_operators_only() {
    let remote = [203, 0, 113, 5];
    let open = warden_server::app(state_with(|_| {}));
    let (status, _) = get_as(&open, remote, "/metrics", None).await;
    assert_eq!(status, axum::http::StatusCode::UNAUTHORIZED);
    let (status, ready) = get_as(&open, remote, "/readyz", None).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    assert_eq!(ready, r#"{"status":"ready"}"#, "no cross-tenant figures");
    let (status, ready) = get_as(&open, [127, 0, 0, 1], "/readyz", None).await;
    assert!(
        status.is_success() && ready.contains("tenants_loaded"),
        "{ready}"
    );
    assert_eq!(
        get_as(&open, [127, 0, 0, 1], "/metrics", None).await.0,
        axum::http::StatusCode::OK
    );

    let secret = "scrape-secret-0123456789";
    let guarded = warden_server::app(state_with(|c| c.server.metrics_token = Some(secret.into())));
    let (status, text) = get_as(&guarded, remote, "/metrics", Some(secret)).await;
    assert!(
        status.is_success() && text.contains("warden_connections_open"),
        "{text}"
    );
    for (client, bearer) in [
        (remote, Some("scrape-secret-012345678X")),
        (remote, None),
        ([127, 0, 0, 1], None),
    ] {
        let (status, _) = get_as(&guarded, client, "/metrics", bearer).await;
        assert_eq!(
            status,
            axum::http::StatusCode::UNAUTHORIZED,
            "{client:?} {bearer:?}"
        );
    }
}
