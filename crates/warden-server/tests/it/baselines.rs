//! Baselines survive a restart: a tenant's users learnt before a shutdown are known after
//! it (the behaviour route answers without new events, and a new event is scored against
//! the mature baseline), and tenants stay apart.

use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig};

use crate::common;

async fn serve(db: &std::path::Path) -> common::Running {
    let store = warden_store::Store::open(db).unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}"));
    common::start(state).await
}

async fn behavior(addr: std::net::SocketAddr, token: &str, user: &str) -> Value {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = json!({"user_id": user}).to_string();
    let mut c = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let req = format!(
        "POST /v1/analyze/behavior HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    c.write_all(req.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    let _ = c.read_to_string(&mut answer).await;
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baselines_learnt_before_a_restart_are_there_after_it() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("w.db");
    let (acme, globex) = {
        let store = warden_store::Store::open(&db).unwrap_or_else(|e| panic!("{e}"));
        let a = create_token(&store, Scope::Write, "acme", "a").unwrap_or_else(|e| panic!("{e}"));
        let g = create_token(&store, Scope::Write, "globex", "g").unwrap_or_else(|e| panic!("{e}"));
        (a.0, g.0)
    };
    let lines = common::sample_lines();
    let user = serde_json::from_str::<Value>(&lines[0]).unwrap_or(Value::Null)["user_id"]
        .as_str()
        .unwrap_or("")
        .to_owned();

    let server = serve(&db).await;
    let addr = server.addr;
    let answer = common::post_raw(
        addr,
        &acme,
        "/v1/detect/realtime",
        &(lines.join("\n") + "\n"),
    )
    .await;
    assert_eq!(answer["accepted"], json!(lines.len()), "{answer}");
    let before = behavior(addr, &acme, &user).await;
    let events_before = before["baseline"]["events"].clone();
    assert!(events_before.as_u64().is_some_and(|n| n > 10), "{before}");
    server.stop().await;

    // Saved at shutdown.
    {
        let store = warden_store::Store::open(&db).unwrap_or_else(|e| panic!("{e}"));
        let (users, _) = store
            .load_tenant_baselines("acme")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(users.len() > 5, "{} users saved", users.len());
        let (none, _) = store
            .load_tenant_baselines("globex")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(none.is_empty());
    }

    // A new process knows the user without being sent anything.
    let server = serve(&db).await;
    let addr = server.addr;
    let after = behavior(addr, &acme, &user).await;
    assert_eq!(after["baseline"]["events"], events_before, "{after}");
    // Another tenant does not see it.
    let theirs = behavior(addr, &globex, &user).await;
    assert_eq!(theirs["error"]["code"], "not_found", "{theirs}");
    // And a new event of the user is scored against the mature baseline.
    let mut next: Value =
        serde_json::from_str(lines.last().map_or("{}", String::as_str)).unwrap_or(Value::Null);
    next["user_id"] = json!(user);
    next["event_id"] = json!("after-restart-1");
    next["timestamp"] = json!("2026-06-01T10:00:00Z");
    let answer = common::post_raw(addr, &acme, "/v1/detect/realtime", &format!("{next}\n")).await;
    assert_eq!(answer["results"][0]["score"]["learning"], false, "{answer}");
    server.stop().await;
}
