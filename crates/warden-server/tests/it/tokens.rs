//! Credentials that can be withdrawn: a token revoked through the API is refused at once
//! and its SSE and WebSocket streams close; one revoked in the store by another process is
//! refused (and its streams closed) within the cache lifetime; expired tokens are refused
//! and audited; rotation with and without a grace period; another tenant's tokens are out
//! of reach; streams per token are capped.

use std::time::Duration;

use axum::http::{StatusCode, header};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use warden_server::auth::{Scope, create_token, create_token_expiring};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

struct Setup {
    state: AppState,
    router: axum::Router,
    admin: String,
    other_admin: String,
}

fn setup(tune: impl FnOnce(&mut ServiceConfig)) -> Setup {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (admin, _) =
        create_token(&store, Scope::Admin, "acme", "a").unwrap_or_else(|e| panic!("{e}"));
    let (other_admin, _) =
        create_token(&store, Scope::Admin, "globex", "g").unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = ServiceConfig::default();
    tune(&mut cfg);
    let state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    Setup {
        router: app(state.clone()),
        state,
        admin,
        other_admin,
    }
}

async fn call(s: &Setup, method: &str, uri: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let (status, _, b) = common::oneshot(
        &s.router,
        method,
        uri,
        Some(token),
        "application/json",
        bytes,
    )
    .await;
    (status, b)
}

/// A new read token of acme through the API: (token, id).
async fn new_reader(s: &Setup, extra: Value) -> (String, i64) {
    let mut body = json!({"scope": "read", "label": "analyst"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, b) = call(s, "POST", "/v1/tokens", &s.admin, body).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    (
        b["token"].as_str().unwrap_or_default().to_owned(),
        b["id"].as_i64().unwrap_or_default(),
    )
}

async fn whoami(s: &Setup, token: &str) -> StatusCode {
    call(s, "GET", "/v1/whoami", token, Value::Null).await.0
}

/// An SSE stream over a real connection, its head read.
pub(crate) async fn open_sse(addr: std::net::SocketAddr, token: &str) -> tokio::net::TcpStream {
    let mut c = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c.write_all(
        format!("GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n")
            .as_bytes(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut head = vec![0u8; 1024];
    let n = c.read(&mut head).await.unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    c
}

/// Whether the server ends the SSE response within `wait` (the chunked body's last chunk,
/// or the connection closing).
pub(crate) async fn sse_ends(c: &mut tokio::net::TcpStream, wait: Duration) -> bool {
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match c.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) if String::from_utf8_lossy(&buf[..n]).contains("0\r\n\r\n") => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(wait, read).await.is_ok()
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_ws(addr: std::net::SocketAddr, token: &str) -> Ws {
    let mut req = format!("ws://{addr}/v1/stream")
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

/// The close frame's code and reason, if the server closes within `wait`.
async fn ws_closed(ws: &mut Ws, wait: Duration) -> Option<(u16, String)> {
    let read = async {
        while let Some(m) = ws.next().await {
            if let Ok(Message::Close(frame)) = m {
                return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
            }
        }
        None
    };
    tokio::time::timeout(wait, read).await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_refused_at_once_and_its_streams_close() {
    let s = setup(|_| {});
    let (reader, id) = new_reader(&s, json!({})).await;
    assert_eq!(whoami(&s, &reader).await, StatusCode::OK);
    let server = common::start(s.state.clone()).await;
    let mut sse = open_sse(server.addr, &reader).await;
    let mut ws = open_ws(server.addr, &reader).await;
    // Another tenant's admin cannot see or revoke it.
    let (status, _) = call(
        &s,
        "DELETE",
        &format!("/v1/tokens/{id}"),
        &s.other_admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = call(&s, "GET", "/v1/tokens", &s.other_admin, Value::Null).await;
    assert!(!listed.to_string().contains("analyst"), "{listed}");

    let (status, b) = call(
        &s,
        "DELETE",
        &format!("/v1/tokens/{id}"),
        &s.admin,
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, b["state"].clone()),
        (StatusCode::OK, json!("revoked")),
        "{b}"
    );
    assert_eq!(whoami(&s, &reader).await, StatusCode::UNAUTHORIZED);
    assert!(
        sse_ends(&mut sse, Duration::from_secs(2)).await,
        "the SSE stream ends"
    );
    let closed = ws_closed(&mut ws, Duration::from_secs(2)).await;
    assert_eq!(closed, Some((1008, "token revoked".to_owned())));

    let (_, audit) = call(&s, "GET", "/v1/audit", &s.admin, Value::Null).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"token.create") && actions.contains(&"token.revoke"),
        "{audit}"
    );
    let metrics = common::get_raw(server.addr, "/metrics").await;
    assert!(
        metrics.contains("warden_auth_failures_total{reason=\"revoked\"} 1"),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_in_the_store_reaches_requests_and_streams_within_the_cache_lifetime() {
    let s = setup(|c| c.server.token_cache_secs = 1);
    let (reader, id) = new_reader(&s, json!({})).await;
    assert_eq!(whoami(&s, &reader).await, StatusCode::OK, "now cached");
    let server = common::start(s.state.clone()).await;
    let mut sse = open_sse(server.addr, &reader).await;
    // As `warden token revoke` does, from another process: the store only.
    let revoked = s.state.store().revoke_token(id, None);
    assert!(matches!(revoked, Ok(Some(_))));
    assert!(
        sse_ends(&mut sse, Duration::from_secs(4)).await,
        "the sweep closes the stream"
    );
    assert_eq!(whoami(&s, &reader).await, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused_and_audited() {
    let s = setup(|_| {});
    let past = warden_event::Timestamp(warden_event::Timestamp::now().0 - 60_000);
    let (old, id) = {
        let store = s.state.store();
        create_token_expiring(&store, Scope::Read, "acme", "old", Some(past))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(whoami(&s, &old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(whoami(&s, &old).await, StatusCode::UNAUTHORIZED);
    let (_, audit) = call(&s, "GET", "/v1/audit", &s.admin, Value::Null).await;
    let refused: Vec<&Value> = audit["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "auth.refused")
        .collect();
    assert_eq!(refused.len(), 1, "audited once a minute per token: {audit}");
    assert_eq!(refused[0]["target"], json!(format!("token:{id}")));
    assert_eq!(refused[0]["detail"], json!("expired"));
    let (_, listed) = call(&s, "GET", "/v1/tokens", &s.admin, Value::Null).await;
    let state = listed["tokens"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["id"] == json!(id))
        .map(|t| t["state"].clone());
    assert_eq!(state, Some(json!("expired")));

    // A short-lived token works, then its stream ends when it expires.
    let (brief, _) = new_reader(&s, json!({"expires_in": "2s"})).await;
    assert_eq!(whoami(&s, &brief).await, StatusCode::OK);
    let server = common::start(s.state.clone()).await;
    let mut ws = open_ws(server.addr, &brief).await;
    let closed = ws_closed(&mut ws, Duration::from_secs(5)).await;
    assert_eq!(closed, Some((1008, "token expired".to_owned())));
    assert_eq!(whoami(&s, &brief).await, StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_replaces_a_token_at_once_or_after_a_grace_period() {
    let s = setup(|_| {});
    let (first, id) = new_reader(&s, json!({})).await;
    let (status, b) = call(
        &s,
        "POST",
        &format!("/v1/tokens/{id}/rotate"),
        &s.admin,
        json!({"grace": "1h"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let second = b["token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        (b["replaces"].clone(), b["scope"].clone()),
        (json!(id), json!("read"))
    );
    assert_eq!(whoami(&s, &first).await, StatusCode::OK, "within its grace");
    assert_eq!(whoami(&s, &second).await, StatusCode::OK);
    let second_id = b["id"].as_i64().unwrap_or_default();
    let (status, b) = call(
        &s,
        "POST",
        &format!("/v1/tokens/{second_id}/rotate"),
        &s.admin,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    assert_eq!(
        whoami(&s, &second).await,
        StatusCode::UNAUTHORIZED,
        "no grace: at once"
    );
    let third = b["token"].as_str().unwrap_or_default().to_owned();
    assert_eq!(whoami(&s, &third).await, StatusCode::OK);
    for (body, field) in [
        (json!({"grace": "forever"}), "grace"),
        (json!({"grace": "99999w"}), "grace"),
        (json!({"expires_in": "0s"}), "expires_in"),
    ] {
        let (status, b) = call(
            &s,
            "POST",
            &format!("/v1/tokens/{id}/rotate"),
            &s.admin,
            body,
        )
        .await;
        common::assert_invalid(status, &b, field);
    }
    let (status, _) = call(
        &s,
        "POST",
        &format!("/v1/tokens/{second_id}/rotate"),
        &s.admin,
        Value::Null,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a revoked token is not rotated"
    );
    // Only admins manage tokens.
    let (status, _) = call(&s, "GET", "/v1/tokens", &third, Value::Null).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A rotation with a grace period adds a token (the old one lives on through its grace), so
/// it counts toward the tenant's 1,000 as a new one does: rotating in a loop cannot pile up
/// live tokens. A rotation without one replaces the token at once and needs no room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotations_count_toward_the_tenants_tokens() {
    let s = setup(|_| {});
    let (_, id) = new_reader(&s, json!({})).await;
    let (status, b) = call(
        &s,
        "POST",
        &format!("/v1/tokens/{id}/rotate"),
        &s.admin,
        json!({"grace": "3650d"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let newest = b["id"].as_i64().unwrap_or_default();
    // The tenant holds 3 now (its admin, the old reader, the new one): fill to 1,000.
    let filler: Vec<i64> = {
        let store = s.state.store();
        (3..1000)
            .map(|i| {
                create_token(&store, Scope::Read, "acme", &format!("r{i}"))
                    .unwrap_or_else(|e| panic!("{e}"))
                    .1
            })
            .collect()
    };
    for (uri, body) in [
        (
            format!("/v1/tokens/{newest}/rotate"),
            json!({"grace": "3650d"}),
        ),
        ("/v1/tokens".to_owned(), json!({"scope": "read"})),
    ] {
        let (status, b) = call(&s, "POST", &uri, &s.admin, body).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{uri}: {b}");
        assert_eq!(b["error"]["code"], "quota_exceeded", "{uri}: {b}");
    }
    // Replaced at once, the token count does not change.
    let uri = format!("/v1/tokens/{newest}/rotate");
    let (status, b) = call(&s, "POST", &uri, &s.admin, Value::Null).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    // An expired token rotated comes back to life: that needs room.
    let expired = {
        let store = s.state.store();
        let past = Some(warden_event::Timestamp(1_000_000));
        create_token_expiring(&store, Scope::Read, "acme", "old", past)
            .unwrap_or_else(|e| panic!("{e}"))
            .1
    };
    let uri = format!("/v1/tokens/{expired}/rotate");
    let (status, b) = call(&s, "POST", &uri, &s.admin, Value::Null).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{b}");
    // Another tenant's room is its own.
    let (status, b) = call(
        &s,
        "POST",
        "/v1/tokens",
        &s.other_admin,
        json!({"scope": "read"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    // Tokens that no longer work make room: revoked ones are kept for the audit log but do
    // not count, so a tenant that rotates its tokens for years never runs out.
    {
        let store = s.state.store();
        for id in &filler {
            assert!(store.revoke_token(*id, None).ok().flatten().is_some());
        }
    }
    let (status, b) = call(&s, "POST", "/v1/tokens", &s.admin, json!({"scope": "read"})).await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let uri = "/v1/tokens?state=ended&limit=1000";
    let (status, b) = call(&s, "GET", uri, &s.admin, Value::Null).await;
    assert_eq!(status, StatusCode::OK, "{b}");
    let revoked = b["tokens"]
        .as_array()
        .map_or(0, |t| t.iter().filter(|t| t["state"] == "revoked").count());
    assert!(revoked >= filler.len(), "{revoked} revoked tokens listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_per_token_are_capped() {
    let s = setup(|c| c.server.max_streams_per_token = 2);
    let (reader, _) = new_reader(&s, json!({})).await;
    let server = common::start(s.state.clone()).await;
    let _one = open_sse(server.addr, &reader).await;
    let _two = open_ws(server.addr, &reader).await;
    let (status, b) = call(&s, "GET", "/v1/stream", &reader, Value::Null).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(b["error"]["code"], json!("too_many_streams"));
    let (other, _) = new_reader(&s, json!({})).await;
    let _three = open_sse(server.addr, &other).await;
    server.stop().await;
}

/// Many tokens do not make many streams: the tenant's are capped whatever tokens hold
/// them, and another tenant's are its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_per_tenant_are_capped_whatever_the_tokens() {
    let s = setup(|c| c.server.max_streams_per_tenant = 3);
    let server = common::start(s.state.clone()).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let (reader, _) = new_reader(&s, json!({})).await;
        open.push(open_sse(server.addr, &reader).await);
    }
    let (fourth, _) = new_reader(&s, json!({})).await;
    let (status, b) = call(&s, "GET", "/v1/stream", &fourth, Value::Null).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(b["error"]["code"], json!("too_many_streams"));
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("tenant"),
        "{b}"
    );
    let _globex = open_sse(server.addr, &s.other_admin).await;
    assert_eq!(s.state.stream_slots.open_of_tenant("acme"), 3);
    server.stop().await;
}

#[tokio::test]
async fn tokens_are_listed_a_page_at_a_time_and_by_state() {
    let s = setup(|_| {});
    let mut made = Vec::new();
    for k in 0..5 {
        let (st, b) = call(
            &s,
            "POST",
            "/v1/tokens",
            &s.admin,
            json!({"scope": "read", "label": format!("r{k}")}),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED, "{b}");
        made.push(b["id"].clone());
    }
    let (st, _) = call(
        &s,
        "DELETE",
        &format!("/v1/tokens/{}", made[1]),
        &s.admin,
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let ids = |b: &Value| -> Vec<Value> {
        b["tokens"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["id"].clone())
            .collect()
    };
    // The admin's own token and the five, two at a time, in id order; another tenant's
    // never.
    let mut seen = Vec::new();
    let mut uri = "/v1/tokens?limit=2".to_owned();
    loop {
        let (st, b) = call(&s, "GET", &uri, &s.admin, Value::Null).await;
        assert_eq!(st, StatusCode::OK, "{b}");
        assert!(ids(&b).len() <= 2, "{b}");
        seen.extend(ids(&b));
        match b["next_after"].as_i64() {
            Some(after) => uri = format!("/v1/tokens?limit=2&after={after}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen[1..], made[..]);
    // Those that still work, and those that ended.
    let (_, live) = call(&s, "GET", "/v1/tokens?state=live", &s.admin, Value::Null).await;
    assert_eq!(ids(&live).len(), 5, "{live}");
    assert!(!ids(&live).contains(&made[1]));
    assert_eq!(live["next_after"], Value::Null);
    let (_, ended) = call(&s, "GET", "/v1/tokens?state=ended", &s.admin, Value::Null).await;
    assert_eq!(ids(&ended), [made[1].clone()], "{ended}");
    assert_eq!(ended["tokens"][0]["state"], json!("revoked"));
    // Bad parameters are named.
    for (uri, field) in [
        ("/v1/tokens?state=gone", "state"),
        ("/v1/tokens?limit=0", "limit"),
        ("/v1/tokens?limit=1001", "limit"),
        ("/v1/tokens?after=-1", "after"),
        ("/v1/tokens?after=x", "query"),
        ("/v1/tokens?page=2", "query"),
    ] {
        let (st, b) = call(&s, "GET", uri, &s.admin, Value::Null).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{uri}: {b}");
        assert_eq!(b["error"]["field"], json!(field), "{uri}: {b}");
    }
}
