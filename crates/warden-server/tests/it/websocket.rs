//! The stream as a WebSocket: messages in order, acknowledgements, a client that stops
//! acknowledging stops receiving (its backlog stays in the store), resume after a reconnect,
//! and the socket closed on shutdown.

use std::time::Duration;

use axum::http::header;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: std::net::SocketAddr, token: &str, query: &str) -> Ws {
    let mut req = format!("ws://{addr}/v1/stream{query}")
        .into_client_request()
        .unwrap_or_else(|e| panic!("{e}"));
    req.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    tokio_tungstenite::connect_async(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .0
}

/// The next JSON text message, or `None` after `wait`.
async fn next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(t.as_str()).ok(),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Err(_) => return None,
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => panic!("{e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_flow_resume_and_close_on_shutdown() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}"));
    let router = app(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(warden_server::run(listener, state, async {
        let _ = stopped.await;
    }));

    let (_, _, b) = common::oneshot(
        &router,
        "POST",
        "/v1/detect/realtime",
        Some(&token),
        "application/x-ndjson",
        common::repo_file("examples/activity.jsonl").into_bytes(),
    )
    .await;
    let mut ids: Vec<i64> = common::alert_ids(&b);
    ids.sort_unstable();
    assert!(ids.len() >= 8);

    // A window of 3: three messages, then nothing until an ack.
    let mut ws = connect(addr, &token, "?after=0&window=3").await;
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(
            next(&mut ws, Duration::from_secs(5))
                .await
                .map(|m| m["seq"].clone()),
        );
    }
    assert_eq!(
        got,
        ids[..3].iter().map(|i| Some(json!(i))).collect::<Vec<_>>()
    );
    assert!(
        next(&mut ws, Duration::from_millis(300)).await.is_none(),
        "paused until acknowledged"
    );
    ws.send(Message::Text(json!({"ack": ids[2]}).to_string().into()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let m = next(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(m.map(|m| m["seq"].clone()), Some(json!(ids[3])));
    // A malformed ack is answered, not fatal.
    ws.send(Message::Text("hello".into()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut saw_error = false;
    for _ in 0..4 {
        match next(&mut ws, Duration::from_secs(2)).await {
            Some(m) if m["error"]["field"] == "ack" => saw_error = true,
            _ => {}
        }
        if saw_error {
            break;
        }
    }
    assert!(saw_error);
    drop(ws);

    // Resume after the last acknowledged: the rest, in order.
    let mut ws = connect(addr, &token, &format!("?after={}", ids[3])).await;
    let mut rest = Vec::new();
    while rest.len() < ids.len() - 4 {
        match next(&mut ws, Duration::from_secs(5)).await {
            Some(m) => rest.push(m["seq"].as_i64().unwrap_or(-1)),
            None => break,
        }
    }
    assert_eq!(rest, ids[4..].to_vec());

    // Shutdown closes the socket and the server stops.
    let _ = stop.send(());
    assert!(next(&mut ws, Duration::from_secs(10)).await.is_none());
    let done = tokio::time::timeout(Duration::from_secs(10), server).await;
    assert!(matches!(done, Ok(Ok(Ok(())))));
}
