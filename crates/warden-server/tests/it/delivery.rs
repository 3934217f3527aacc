//! Webhook delivery against hostile destinations and receivers: a resolver that rebinds a
//! name to loopback between the check and the connection cannot make a delivery reach
//! loopback; one tenant's tar-pit webhook does not delay another tenant's deliveries; a
//! failing receiver opens its circuit and is tried again after the cool-down.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::destinations::Resolve;
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

/// Answers a public address, then loopback, then public again… (DNS rebinding).
struct Rebinding {
    calls: AtomicUsize,
}

impl Resolve for Rebinding {
    fn lookup<'a>(
        &'a self,
        _host: &'a str,
        _port: u16,
    ) -> Pin<Box<dyn std::future::Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let ip: IpAddr = if n.is_multiple_of(2) {
            [192, 0, 2, 1].into() // TEST-NET-1: public, unreachable here
        } else {
            [127, 0, 0, 1].into()
        };
        Box::pin(async move { Ok(vec![ip]) })
    }
}

/// A receiver that records the alert ids it gets (answering `status`).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<i64>>>,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

async fn receive(State(r): State<Receiver>, body: Bytes) -> StatusCode {
    if r.failing.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let (Ok(mut g), Some(id)) = (r.got.lock(), v["alert_id"].as_i64()) {
        g.push(id);
    }
    StatusCode::OK
}

async fn start_receiver(r: Receiver) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r);
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A receiver that accepts connections and never answers.
async fn start_tar_pit() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = listener.accept().await {
            held.push(c);
        }
    });
    addr
}

async fn call(router: &axum::Router, method: &str, uri: &str, token: &str, body: Value) -> Value {
    let bytes = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    common::oneshot(router, method, uri, Some(token), "application/json", bytes)
        .await
        .2
}

fn metric(text: &str, name: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebinding_resolver_cannot_lead_a_delivery_to_loopback() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (admin, _) =
        create_token(&store, Scope::Admin, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = ServiceConfig::default();
    cfg.server.webhook_timeout_secs = 1;
    cfg.server.webhook_backoff_ms = 10;
    cfg.server.webhook_retries = 3;
    let mut state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    let resolver = Arc::new(Rebinding {
        calls: AtomicUsize::new(0),
    });
    state.resolver = resolver.clone();
    let loopback = Receiver::default();
    let port = start_receiver(loopback.clone()).await.port();
    let server = common::start(state.clone()).await;
    let router = app(state);

    // Registration resolves once: the public answer.
    let url = format!("http://hooks.rebind.test:{port}/hook");
    let created = call(&router, "POST", "/v1/webhooks", &admin, json!({"url": url})).await;
    assert!(created["id"].is_i64(), "{created}");
    let test = call(
        &router,
        "POST",
        &format!("/v1/webhooks/{}/test", created["id"]),
        &admin,
        Value::Null,
    )
    .await;
    // The test delivery resolved again and got loopback: refused, saying nothing of it.
    assert_eq!(test["delivered"], json!(false), "{test}");
    let error = test["error"].as_str().unwrap_or("");
    assert!(
        error.contains("internal address") && !error.contains("127."),
        "{test}"
    );

    let answer = call(
        &router,
        "POST",
        "/v1/detect/realtime",
        &admin,
        common::events_of(&["examples/activity.jsonl"]),
    )
    .await;
    assert!(!common::alert_ids(&answer).is_empty());
    // Let the worker go through its attempts: each resolves once and connects only to
    // what that resolution gave (refused when loopback, unreachable when public).
    let mut dead = 0;
    for _ in 0..100 {
        let letters = call(
            &router,
            "GET",
            "/v1/webhooks/dead-letters",
            &admin,
            Value::Null,
        )
        .await;
        dead = letters["dead_letters"].as_array().map_or(0, Vec::len);
        if dead > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(dead > 0, "the first delivery was given up on");
    assert!(
        resolver.calls.load(Ordering::SeqCst) >= 5,
        "every attempt resolved again"
    );
    assert_eq!(
        loopback.got.lock().map(|g| g.len()).unwrap_or(99),
        0,
        "nothing reached loopback"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tar_pit_webhook_of_one_tenant_does_not_delay_another_tenant() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (slow, _) =
        create_token(&store, Scope::Admin, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let (fast, _) =
        create_token(&store, Scope::Admin, "globex", "t").unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = ServiceConfig::default();
    cfg.server.webhook_allow_private = true;
    cfg.server.webhook_timeout_secs = 60;
    let state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    let server = common::start(state.clone()).await;
    let router = app(state);
    let pit = start_tar_pit().await;
    let good = Receiver::default();
    let good_addr = start_receiver(good.clone()).await;
    for (token, addr) in [(&slow, pit), (&fast, good_addr)] {
        let url = format!("http://{addr}/hook");
        let created = call(&router, "POST", "/v1/webhooks", token, json!({"url": url})).await;
        assert!(created["id"].is_i64(), "{created}");
    }
    // Many alerts for the tar pit first, then the other tenant's.
    for _ in 0..3 {
        call(
            &router,
            "POST",
            "/v1/detect/realtime",
            &slow,
            common::events_of(&["examples/activity.jsonl"]),
        )
        .await;
    }
    let answer = call(
        &router,
        "POST",
        "/v1/detect/realtime",
        &fast,
        common::events_of(&["examples/activity.jsonl"]),
    )
    .await;
    let mut want = common::alert_ids(&answer);
    want.sort_unstable();
    assert!(!want.is_empty());
    // Delivered while the tar pit holds its first delivery (for up to 60 s).
    let mut got = Vec::new();
    for _ in 0..50 {
        got = good.got.lock().map(|g| g.clone()).unwrap_or_default();
        if got.len() >= want.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        got, want,
        "every alert of the other tenant, in order, at once"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_opens_its_circuit_and_gets_everything_once_back() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (admin, _) =
        create_token(&store, Scope::Admin, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = ServiceConfig::default();
    cfg.server.webhook_allow_private = true;
    cfg.server.webhook_backoff_ms = 10;
    cfg.server.webhook_retries = 20;
    cfg.server.webhook_circuit_failures = 3;
    cfg.server.webhook_circuit_secs = 2;
    let state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    let server = common::start(state.clone()).await;
    let router = app(state);
    let rx = Receiver::default();
    rx.failing.store(true, Ordering::SeqCst);
    let addr = start_receiver(rx.clone()).await;
    let url = format!("http://{addr}/hook");
    call(&router, "POST", "/v1/webhooks", &admin, json!({"url": url})).await;
    let answer = call(
        &router,
        "POST",
        "/v1/detect/realtime",
        &admin,
        common::events_of(&["examples/activity.jsonl"]),
    )
    .await;
    let want = common::alert_ids(&answer);
    let mut open = None;
    for _ in 0..50 {
        let text = common::get_raw(server.addr, "/metrics").await;
        open = metric(&text, "warden_webhook_circuits_open");
        if open == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, Some(1), "the circuit opened");
    let text = common::get_raw(server.addr, "/metrics").await;
    let failures = metric(&text, "warden_webhook_failures_total").unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let text = common::get_raw(server.addr, "/metrics").await;
    assert_eq!(
        metric(&text, "warden_webhook_failures_total"),
        Some(failures),
        "no attempt while the circuit is open"
    );
    rx.failing.store(false, Ordering::SeqCst);
    let mut got = Vec::new();
    for _ in 0..100 {
        got = rx.got.lock().map(|g| g.clone()).unwrap_or_default();
        if got.len() >= want.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got, want, "everything, in order, once the receiver is back");
    let text = common::get_raw(server.addr, "/metrics").await;
    assert_eq!(metric(&text, "warden_webhook_circuits_open"), Some(0));
    server.stop().await;
}
