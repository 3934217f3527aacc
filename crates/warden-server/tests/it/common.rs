//! What the service's test files share: the repository's sample data, and one request
//! through the router without a socket.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

/// A file of the repository (relative to its root), as text.
pub fn repo_file(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shipped sample's lines (`examples/activity.jsonl`).
pub fn sample_lines() -> Vec<String> {
    repo_file("examples/activity.jsonl")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `{"events": [...]}` of JSON lines.
pub fn events_body(lines: &[String]) -> Value {
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    json!({ "events": events })
}

/// `{"events": [...]}` of the JSON Lines files named (relative to the repository root).
pub fn events_of(files: &[&str]) -> Value {
    let lines: Vec<String> = files
        .iter()
        .flat_map(|f| repo_file(f).lines().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    events_body(&lines)
}

/// One request through `router`: `(status, headers, body as JSON, or as a string)`.
pub async fn oneshot(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, content_type);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    // As from a client on this host (what a real listener sets for every request).
    let req = req.extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        40_000,
    ))));
    let req = req.body(Body::from(body)).unwrap_or_else(|e| panic!("{e}"));
    let resp = router
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, body)
}

/// Asserts a 400 that names `field`.
pub fn assert_invalid(status: StatusCode, body: &Value, field: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["field"], json!(field), "{body}");
}

/// A JSON Lines POST over a real connection (for servers started with `warden_server::run`).
pub async fn post_raw(addr: std::net::SocketAddr, token: &str, path: &str, body: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    c.read_to_string(&mut answer)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    // A chunked body: the JSON sits between the chunk size line and the final 0.
    let start = json.find('{').unwrap_or(0);
    let end = json.rfind('}').map_or(json.len(), |e| e + 1);
    serde_json::from_str(&json[start..end]).unwrap_or(Value::Null)
}

/// A GET without a token over a real connection; the whole answer, headers included.
pub async fn get_raw(addr: std::net::SocketAddr, path: &str) -> String {
    get_with(addr, path, None).await
}

/// A GET with a token over a real connection; the body as JSON.
pub async fn get_json(addr: std::net::SocketAddr, token: &str, path: &str) -> Value {
    let answer = get_with(addr, path, Some(token)).await;
    serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or("")).unwrap_or(Value::Null)
}

async fn get_with(addr: std::net::SocketAddr, path: &str, token: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    c.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    c.read_to_string(&mut answer)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    answer
}

/// A service on a real listener (`127.0.0.1:0`), until [`Running::stop`].
pub struct Running {
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `state` with `warden_server::run` (outputs, webhooks, savers started).
pub async fn start(state: warden_server::AppState) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(warden_server::run(listener, state, async {
        let _ = stopped.await;
    }));
    Running { addr, stop, handle }
}

impl Running {
    /// Shuts the service down gracefully and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.await;
    }
}

/// The ids of the alerts a `/v1/detect/realtime` answer stored, in its order.
pub fn alert_ids(answer: &Value) -> Vec<i64> {
    answer["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_i64())
        .collect()
}

/// Posts `events` (JSON documents or activities) to `/v1/detect/realtime` in batches of
/// `batch`, asserting each is answered 200.
pub async fn detect_in_batches(router: &axum::Router, token: &str, events: &[Value], batch: usize) {
    for chunk in events.chunks(batch) {
        let body = serde_json::json!({ "events": chunk });
        let (s, _, v) = oneshot(
            router,
            "POST",
            "/v1/detect/realtime",
            Some(token),
            "application/json",
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
}

/// The tenant's stored alert records (the first 100), asserting the listing is answered.
pub async fn stored_alerts(router: &axum::Router, token: &str) -> Vec<Value> {
    let (s, _, v) = oneshot(
        router,
        "GET",
        "/v1/alerts?limit=100",
        Some(token),
        "",
        Vec::new(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["alerts"].as_array().cloned().unwrap_or_default()
}
