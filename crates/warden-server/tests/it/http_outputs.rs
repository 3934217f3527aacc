//! The HTTP outputs through a real server: a Splunk HEC receiver and an Elasticsearch
//! `_bulk` receiver in the test check authentication and parse every body back. The bulk
//! receiver indexes the first batch and then fails the answer, so the output retries a
//! batch that was partly delivered: every alert must end up indexed exactly once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use warden_outputs::OutputConfig;
use warden_outputs::Secret;
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig};

use crate::common;

#[derive(Clone, Default)]
struct Receivers {
    hec: Arc<Mutex<Vec<Value>>>,
    /// Documents by `_id`, and how many times an id was offered.
    docs: Arc<Mutex<BTreeMap<String, (Value, usize)>>>,
    bulk_failed_once: Arc<AtomicBool>,
}

fn auth(headers: &HeaderMap) -> &str {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn hec(State(r): State<Receivers>, headers: HeaderMap, body: Bytes) -> Response {
    if auth(&headers) != "Splunk hec-token-0123" {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"text": "Invalid token", "code": 4})),
        )
            .into_response();
    }
    // HEC takes JSON objects one after another.
    let events: Vec<Value> = serde_json::Deserializer::from_slice(&body)
        .into_iter::<Value>()
        .map(|v| v.unwrap_or(Value::Null))
        .collect();
    if let Ok(mut g) = r.hec.lock() {
        g.extend(events);
    }
    Json(json!({"text": "Success", "code": 0})).into_response()
}

async fn bulk(State(r): State<Receivers>, headers: HeaderMap, body: Bytes) -> Response {
    if auth(&headers) != "ApiKey es-key-4567"
        || headers.get("content-type").and_then(|v| v.to_str().ok()) != Some("application/x-ndjson")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    let mut items = Vec::new();
    let mut errors = false;
    if let Ok(mut docs) = r.docs.lock() {
        for pair in lines.chunks(2) {
            let id = pair[0]["create"]["_id"].as_str().unwrap_or("").to_owned();
            let entry = docs.entry(id).or_insert((pair[1].clone(), 0));
            entry.1 += 1;
            if entry.1 > 1 {
                errors = true;
                items.push(json!({"create": {"status": 409, "error": {"type": "version_conflict_engine_exception"}}}));
            } else {
                items.push(json!({"create": {"status": 201}}));
            }
        }
    }
    // The first batch is indexed but its answer is lost.
    if !r.bulk_failed_once.swap(true, Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(json!({"took": 1, "errors": errors, "items": items})).into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_splunk_hec_and_elasticsearch_bulk_once_each() {
    let receivers = Receivers::default();
    let rx_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rx_addr = rx_listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let router = axum::Router::new()
        .route("/services/collector/event", post(hec))
        .route("/_bulk", post(bulk))
        .with_state(receivers.clone());
    tokio::spawn(async move { axum::serve(rx_listener, router).await });

    let outputs = vec![
        OutputConfig::SplunkHec {
            name: "splunk".into(),
            url: format!("http://{rx_addr}/services/collector/event"),
            token: Secret::new("hec-token-0123"),
            index: Some("security".into()),
            sourcetype: "warden:alert".into(),
            min_level: warden_event::ThreatLevel::Medium,
            queue: 10_000,
            retries: 3,
            batch: 20,
            timeout_secs: 5,
        },
        OutputConfig::Elasticsearch {
            name: "elastic".into(),
            url: format!("http://{rx_addr}/"),
            index: "warden-alerts".into(),
            api_key: Some(Secret::new("es-key-4567")),
            username: None,
            password: None,
            min_level: warden_event::ThreatLevel::Medium,
            queue: 10_000,
            retries: 3,
            batch: 500,
            timeout_secs: 5,
        },
    ];
    let cfg = ServiceConfig {
        outputs,
        ..ServiceConfig::default()
    };
    cfg.validate().unwrap_or_else(|e| panic!("{e}"));
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    let server = common::start(state).await;
    let addr = server.addr;

    let body = common::repo_file("examples/activity.jsonl");
    let answer = common::post_raw(addr, &token, "/v1/detect/realtime", &body).await;
    let alerts: Vec<i64> = common::alert_ids(&answer);
    assert!(alerts.len() > 5, "{answer}");

    // Until both outputs report every alert delivered (the retried batch included).
    let delivered = |m: &str, output: &str| {
        m.contains(&format!(
            "warden_output_delivered_total{{output=\"{output}\"}} {}",
            alerts.len()
        ))
    };
    let mut metrics = String::new();
    for _ in 0..200 {
        metrics = common::get_raw(addr, "/metrics").await;
        if delivered(&metrics, "elastic") && delivered(&metrics, "splunk") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        delivered(&metrics, "elastic") && delivered(&metrics, "splunk"),
        "{metrics}"
    );

    // Splunk: one event per alert, with index, sourcetype and the alert inside.
    let hec_events = receivers.hec.lock().map(|g| g.clone()).unwrap_or_default();
    assert_eq!(hec_events.len(), alerts.len());
    for ev in &hec_events {
        assert_eq!(ev["index"], "security");
        assert_eq!(ev["sourcetype"], "warden:alert");
        assert!(ev["time"].as_f64().is_some_and(|t| t > 1.7e9), "{ev}");
        assert_eq!(ev["event"]["tenant"], "acme");
    }
    let mut hec_ids: Vec<i64> = hec_events
        .iter()
        .filter_map(|e| e["event"]["alert_id"].as_i64())
        .collect();
    hec_ids.sort_unstable();
    assert_eq!(hec_ids, alerts);

    // Elasticsearch: every alert once, under `<tenant>-<id>`, as an ECS document, although
    // the first batch was sent twice.
    let docs = receivers.docs.lock().map(|g| g.clone()).unwrap_or_default();
    let mut want: Vec<String> = alerts.iter().map(|id| format!("acme-{id}")).collect();
    want.sort();
    assert_eq!(docs.keys().cloned().collect::<Vec<_>>(), want);
    assert!(
        docs.values().any(|(_, offered)| *offered == 2),
        "the failed batch was retried"
    );
    for (doc, _) in docs.values() {
        assert_eq!(doc["event"]["kind"], "alert");
        assert_eq!(doc["event"]["module"], "warden");
        assert!(doc["@timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(doc["user"]["name"].as_str().is_some_and(|u| !u.is_empty()));
        assert!(doc["event"]["risk_score"].as_f64().is_some());
        assert_eq!(doc["labels"]["tenant"], "acme");
        assert_eq!(doc["message"], doc["warden"]["explanation"]);
    }

    assert!(metrics.contains("warden_output_retries_total{output=\"elastic\"} 1"));
    assert!(metrics.contains("warden_output_failed_total{output=\"splunk\"} 0"));
    server.stop().await;
}

#[test]
fn http_outputs_are_validated_with_the_key_named() {
    let hec = |url: &str, token: &str| ServiceConfig {
        outputs: vec![OutputConfig::SplunkHec {
            name: "splunk".into(),
            url: url.into(),
            token: Secret::new(token),
            index: None,
            sourcetype: "warden:alert".into(),
            min_level: warden_event::ThreatLevel::Medium,
            queue: 10,
            retries: 1,
            batch: 10,
            timeout_secs: 5,
        }],
        ..ServiceConfig::default()
    };
    let e = hec("splunk:8088", "t").validate().unwrap_err().to_string();
    assert!(e.contains("outputs.splunk") && e.contains("http"), "{e}");
    let e = hec("https://splunk:8088", "env:WARDEN_NO_SUCH_VARIABLE_SET")
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("outputs.splunk.token") && e.contains("WARDEN_NO_SUCH_VARIABLE_SET"),
        "{e}"
    );
    assert!(hec("https://splunk:8088", "t").validate().is_ok());
    let toml_text = r#"
        [[outputs]]
        kind = "elasticsearch"
        name = "es"
        url = "https://es:9200"
        username = "warden"
        password = "pw"
    "#;
    let cfg: ServiceConfig = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.validate().is_ok());
    assert!(
        !format!("{cfg:?}").contains("\"pw\""),
        "secrets are not printed"
    );
}
