//! Webhooks end to end: a receiver in the test checks every signature; alerts arrive as
//! they are stored; a failing receiver gets retries, then dead letters, which are listed and
//! replayed once it recovers; the API keeps secrets out of listings and tenants apart.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;
use common::{assert_invalid, events_of};

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, Value)>>>,
    fail: Arc<AtomicBool>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if r.fail.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let sig = headers
        .get("x-warden-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // Verified here with the secret the test chose, independently of the server's code.
    let mut mac =
        Hmac::<Sha256>::new_from_slice(b"a-shared-secret-0123").unwrap_or_else(|e| panic!("{e}"));
    mac.update(&body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if sig != format!("sha256={expected}") {
        return StatusCode::UNAUTHORIZED;
    }
    if let Ok(mut g) = r.got.lock() {
        g.push((sig, v));
    }
    StatusCode::NO_CONTENT
}

async fn call(
    router: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let (s, _, b) =
        common::oneshot(router, method, uri, Some(token), "application/json", body).await;
    (s, b)
}

async fn wait_until(mut ok: impl FnMut() -> bool) {
    for _ in 0..200 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_deliveries_retries_dead_letters_and_replay() {
    let rx = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let hook_url = format!(
        "http://{}/hook",
        listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
    );
    let receiver_app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(rx.clone());
    tokio::spawn(async move { axum::serve(listener, receiver_app).await });

    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (admin, _) =
        create_token(&store, Scope::Admin, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let (other, _) =
        create_token(&store, Scope::Admin, "globex", "t").unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = ServiceConfig::default();
    // The receiver is on loopback, which webhooks may not reach by default.
    cfg.server.webhook_allow_private = true;
    cfg.server.webhook_backoff_ms = 10;
    cfg.server.webhook_retries = 2;
    // Retries and dead letters here, not the circuit breaker (tests/it/delivery.rs).
    cfg.server.webhook_circuit_failures = 1_000;
    let state = AppState::new(cfg, store)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_outputs();
    let router = app(state);

    let (s, b) = call(
        &router,
        "POST",
        "/v1/webhooks",
        &admin,
        json!({"url": "ftp://x"}),
    )
    .await;
    assert_invalid(s, &b, "url");
    let (s, created) = call(
        &router,
        "POST",
        "/v1/webhooks",
        &admin,
        json!({"url": hook_url, "secret": "a-shared-secret-0123", "min_level": "medium"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let id = created["id"].as_i64().unwrap_or(0);
    let (_, listed) = call(&router, "GET", "/v1/webhooks", &admin, Value::Null).await;
    assert_eq!(listed["webhooks"][0]["url"], json!(hook_url));
    assert!(
        !listed.to_string().contains("a-shared-secret"),
        "secrets are never listed"
    );
    let (_, theirs) = call(&router, "GET", "/v1/webhooks", &other, Value::Null).await;
    assert_eq!(theirs["webhooks"], json!([]));

    // Test delivery, signed.
    let (_, t) = call(
        &router,
        "POST",
        &format!("/v1/webhooks/{id}/test"),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(t["delivered"], true, "{t}");
    // Alerts as they are stored.
    let (s, b) = call(
        &router,
        "POST",
        "/v1/detect/realtime",
        &admin,
        events_of(&["examples/activity.jsonl"]),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<i64> = common::alert_ids(&b);
    assert!(ids.len() > 3);
    wait_until(|| rx.got.lock().map(|g| g.len()).unwrap_or(0) > ids.len()).await;
    let got: Vec<Value> = rx
        .got
        .lock()
        .map(|g| g.iter().map(|(_, v)| v.clone()).collect())
        .unwrap_or_default();
    assert_eq!(got[0]["event"], "test");
    let delivered: Vec<i64> = got[1..]
        .iter()
        .filter_map(|v| v["alert_id"].as_i64())
        .collect();
    assert_eq!(delivered, ids, "every alert, in order, signed");
    assert!(got[1]["alert"]["explanation"].is_string());
    assert_eq!(got[1]["alert"]["detector"]["kind"], "ueba");

    // The receiver fails: retries, then dead letters.
    rx.fail.store(true, Ordering::SeqCst);
    let (_, b) = call(
        &router,
        "POST",
        "/v1/detect/realtime",
        &admin,
        events_of(&["tests/data/history.jsonl", "tests/data/attack.jsonl"]),
    )
    .await;
    let failed = b["alerts"].as_array().map_or(0, Vec::len);
    assert!(failed >= 1);
    let mut letters = Value::Null;
    for _ in 0..200 {
        letters = call(
            &router,
            "GET",
            "/v1/webhooks/dead-letters",
            &admin,
            Value::Null,
        )
        .await
        .1;
        if letters["dead_letters"].as_array().map_or(0, Vec::len) == failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list = letters["dead_letters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(list.len(), failed, "{letters}");
    assert_eq!(list[0]["attempts"], 3, "1 try + 2 retries");
    assert!(list[0]["error"].as_str().unwrap_or("").contains("500"));

    // It recovers: replay delivers the kept body.
    rx.fail.store(false, Ordering::SeqCst);
    let before = rx.got.lock().map(|g| g.len()).unwrap_or(0);
    let letter = list[0]["id"].as_i64().unwrap_or(0);
    let (_, r) = call(
        &router,
        "POST",
        &format!("/v1/webhooks/dead-letters/{letter}/replay"),
        &admin,
        Value::Null,
    )
    .await;
    assert_eq!(r["delivered"], true, "{r}");
    assert_eq!(rx.got.lock().map(|g| g.len()).unwrap_or(0), before + 1);
    let (_, after) = call(
        &router,
        "GET",
        "/v1/webhooks/dead-letters",
        &admin,
        Value::Null,
    )
    .await;
    assert!(after["dead_letters"][0]["replayed_at"].is_string());
    assert_eq!(
        call(
            &router,
            "POST",
            &format!("/v1/webhooks/dead-letters/{letter}/replay"),
            &other,
            Value::Null
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // Deleting: another tenant cannot; the owner can, once.
    assert_eq!(
        call(
            &router,
            "DELETE",
            &format!("/v1/webhooks/{id}"),
            &other,
            Value::Null
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(
            &router,
            "DELETE",
            &format!("/v1/webhooks/{id}"),
            &admin,
            Value::Null
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        call(
            &router,
            "DELETE",
            &format!("/v1/webhooks/{id}"),
            &admin,
            Value::Null
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, audit) = call(&router, "GET", "/v1/audit", &admin, Value::Null).await;
    let actions: Vec<String> = audit["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    assert!(
        actions.contains(&"webhook.create".into())
            && actions.contains(&"webhook.delete".into())
            && actions.contains(&"dead_letter.replay".into())
    );
}

#[tokio::test]
async fn webhooks_cannot_reach_internal_addresses_by_default() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (admin, _) =
        create_token(&store, Scope::Admin, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let router =
        app(AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}")));
    for url in [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://10.0.0.8/",
    ] {
        let (s, b) = call(&router, "POST", "/v1/webhooks", &admin, json!({"url": url})).await;
        assert_invalid(s, &b, "url");
        assert!(
            b["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("webhook_allow_private")),
            "{b}"
        );
    }
    let (_, listed) = call(&router, "GET", "/v1/webhooks", &admin, Value::Null).await;
    assert_eq!(listed["webhooks"], json!([]), "{listed}");
}
