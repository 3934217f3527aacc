//! Models in the service: an activity model from the registry joins every tenant's
//! ensemble and is replaced when a new version is activated, without a restart; a flow
//! model scores `POST /v1/monitor/network` with explanations and per-line errors; models
//! of the wrong kind are refused at start naming the key.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::models::ModelsSection;
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

fn fixture(name: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/models")
        .join(name)
        .display()
        .to_string()
}

/// NSL-KDD rows shaped like the ones the fixture forest was trained on: ordinary web
/// traffic, and a SYN flood to a private service.
fn nsl_row(attack: bool) -> String {
    let (bytes, count, rate, service) = if attack {
        (55_000, 450, "0.95", "private")
    } else {
        (220, 6, "0.02", "http")
    };
    let mut f: Vec<String> = vec!["0".into(), "tcp".into(), service.into(), "SF".into()];
    f.push(bytes.to_string());
    f.push((bytes * 2).to_string());
    f.extend((6..22).map(|_| "0".to_owned()));
    f.push(count.to_string());
    f.push(count.to_string());
    f.extend((24..41).map(|_| rate.to_owned()));
    f.push("unknown".into());
    f.push("20".into());
    f.join(",")
}

#[tokio::test]
async fn network_flows_are_scored_and_explained_by_line() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (write, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let (read, _) =
        create_token(&store, Scope::Read, "acme", "r").unwrap_or_else(|e| panic!("{e}"));
    let cfg = ServiceConfig {
        models: ModelsSection {
            network: Some(fixture("iforest-nsl-kdd-v3.wmdl")),
            ..ModelsSection::default()
        },
        ..ServiceConfig::default()
    };
    let r = app(AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}")));
    let body = [
        nsl_row(false),
        nsl_row(true),
        "0,tcp,http".into(),
        nsl_row(true),
    ]
    .join("\n");
    let (s, _, v) = common::oneshot(
        &r,
        "POST",
        "/v1/monitor/network",
        Some(&read),
        "text/plain",
        body.clone().into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, _, v) = common::oneshot(
        &r,
        "POST",
        "/v1/monitor/network",
        Some(&write),
        "text/plain",
        body.into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["format"], "nsl-kdd");
    assert_eq!(v["scored"], 3);
    assert_eq!(v["rejected"], 1);
    assert_eq!(v["errors"][0]["line"], 3, "{v}");
    assert!(
        v["errors"][0]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("42")),
        "{v}"
    );
    let lines: Vec<u64> = v["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["line"].as_u64())
        .collect();
    assert!(
        lines.contains(&2) && lines.contains(&4),
        "both floods are anomalous: {v}"
    );
    let a = &v["results"][0]["assessment"];
    assert!(
        a["explanation"]
            .as_str()
            .is_some_and(|e| e.starts_with("anomalous flow")),
        "{a}"
    );
    assert!(
        !a["top_features"].as_array().is_some_and(Vec::is_empty),
        "{a}"
    );

    // ?all=true returns every scored flow.
    let body = [nsl_row(false), nsl_row(true)].join("\n");
    let (_, _, v) = common::oneshot(
        &r,
        "POST",
        "/v1/monitor/network?all=true",
        Some(&write),
        "text/plain",
        body.into_bytes(),
    )
    .await;
    assert_eq!(v["results"].as_array().map(Vec::len), Some(2), "{v}");

    // The model is listed, with its training figures and a drift state.
    let (s, _, v) = common::oneshot(
        &r,
        "GET",
        "/v1/models",
        Some(&read),
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let m = &v["models"][0];
    assert_eq!(m["slot"], "network");
    assert_eq!(m["kind"], "iforest");
    assert_eq!(m["format"], "nsl-kdd");
    assert_eq!(m["drift"]["status"], "unknown", "5 scores are too few: {m}");
    assert_eq!(m["drift"]["scores"], 5);

    let (_, _, ready) = common::oneshot(&r, "GET", "/readyz", None, "text/plain", Vec::new()).await;
    assert_eq!(
        ready["checks"]["models"],
        json!({"activity": 0, "network": true}),
        "{ready}"
    );
    let (_, _, metrics) =
        common::oneshot(&r, "GET", "/metrics", None, "text/plain", Vec::new()).await;
    assert!(
        metrics
            .as_str()
            .is_some_and(|m| m.contains("warden_network_flows_total{outcome=\"rejected\"} 1")),
        "{metrics}"
    );
}

#[tokio::test]
async fn without_a_network_model_the_route_says_so() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (write, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let r = app(AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}")));
    let (s, _, v) = common::oneshot(
        &r,
        "POST",
        "/v1/monitor/network",
        Some(&write),
        "text/plain",
        nsl_row(true).into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("[models] network")),
        "{v}"
    );
    let (_, _, v) = common::oneshot(
        &r,
        "GET",
        "/v1/models",
        Some(&write),
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!(v["models"], json!([]));
}

#[test]
fn models_of_the_wrong_kind_are_refused_naming_the_key() {
    let load = |models: ModelsSection| {
        let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        AppState::new(
            ServiceConfig {
                models,
                ..ServiceConfig::default()
            },
            store,
        )
        .err()
        .map(|e| e.to_string())
    };
    let e = load(ModelsSection {
        activity: vec![fixture("iforest-nsl-kdd-v3.wmdl")],
        ..ModelsSection::default()
    });
    assert!(
        e.as_deref()
            .is_some_and(|e| e.starts_with("models.activity")),
        "{e:?}"
    );
    let e = load(ModelsSection {
        network: Some(fixture("gbdt-activity-v3.wmdl")),
        ..ModelsSection::default()
    });
    assert!(
        e.as_deref()
            .is_some_and(|e| e.starts_with("models.network") && e.contains("activity model")),
        "{e:?}"
    );
    let e = load(ModelsSection {
        activity: vec![
            fixture("gbdt-activity-v3.wmdl"),
            fixture("gbdt-activity-v3.wmdl"),
        ],
        ..ModelsSection::default()
    });
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("a second trees model")),
        "{e:?}"
    );
    let e = load(ModelsSection {
        activity: vec!["registry:nothing-here".into()],
        ..ModelsSection::default()
    });
    assert!(
        e.as_deref()
            .is_some_and(|e| e.contains("no active version")),
        "{e:?}"
    );
    assert!(
        load(ModelsSection {
            activity: vec![
                fixture("gbdt-activity-v3.wmdl"),
                fixture("seqae-activity-v3.wmdl")
            ],
            ..ModelsSection::default()
        })
        .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_model_joins_the_ensemble_and_is_swapped_when_activated() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("w.db");
    let bytes = std::fs::read(fixture("gbdt-activity-v3.wmdl")).unwrap_or_else(|e| panic!("{e}"));
    let token = {
        let store = warden_store::Store::open(&db).unwrap_or_else(|e| panic!("{e}"));
        let v = store
            .register_model("trees", "gbdt", "activity", &bytes, &json!({}))
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .activate_model("trees", v)
            .unwrap_or_else(|e| panic!("{e}"));
        create_token(&store, Scope::Write, "acme", "t")
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    };
    let mut cfg = ServiceConfig {
        models: ModelsSection {
            activity: vec!["registry:trees".into()],
            reload_secs: 1,
            ..ModelsSection::default()
        },
        ..ServiceConfig::default()
    };
    // Every event asked about, so every one shows the trees' score.
    cfg.ueba.ensemble.only_when_decisive = false;
    let store = warden_store::Store::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    let server = common::start(state).await;
    let addr = server.addr;

    let answer = common::post_raw(
        addr,
        &token,
        "/v1/detect/realtime",
        &common::repo_file("examples/activity.jsonl"),
    )
    .await;
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    assert!(results.len() > 100, "{answer}");
    assert!(
        results
            .iter()
            .all(|r| r["score"]["xgboost_ensemble_score"].as_f64().is_some()),
        "every event scored by the trees model"
    );
    let models = common::get_json(addr, &token, "/v1/models").await;
    assert_eq!(
        models["models"][0]["registry"],
        json!({"name": "trees", "version": 1}),
        "{models}"
    );
    assert_eq!(models["models"][0]["slot"], "trees");
    assert!(
        models["ensemble"]["calls"]
            .as_u64()
            .is_some_and(|c| c >= results.len() as u64),
        "{models}"
    );
    assert!(
        models["models"][0]["drift"]["scores"]
            .as_u64()
            .is_some_and(|n| n >= 200)
    );

    // A new version is activated: the running service picks it up.
    {
        let store = warden_store::Store::open(&db).unwrap_or_else(|e| panic!("{e}"));
        let v = store
            .register_model("trees", "gbdt", "activity", &bytes, &json!({}))
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .activate_model("trees", v)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut version = Value::Null;
    for _ in 0..60 {
        version =
            common::get_json(addr, &token, "/v1/models").await["models"][0]["registry"]["version"]
                .clone();
        if version == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(version, 2);
    server.stop().await;
}

/// The first Server-Sent Event's data of a streaming response (10 s at most).
async fn first_event(body: axum::body::Body) -> Value {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let frame = tokio::time::timeout_at(deadline, body.frame()).await;
        let Ok(Some(Ok(frame))) = frame else {
            return Value::Null;
        };
        if let Some(data) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(data));
        }
        if let Some(line) = text.lines().find_map(|l| l.strip_prefix("data: ")) {
            return serde_json::from_str(line).unwrap_or(Value::Null);
        }
    }
}

#[tokio::test]
async fn anomalous_flows_are_alerts_listed_streamed_on_network_and_delivered() {
    use tower::ServiceExt;
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (write, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let (read, _) =
        create_token(&store, Scope::Read, "acme", "r").unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("flows.jsonl");
    let cfg = ServiceConfig {
        models: ModelsSection {
            network: Some(fixture("iforest-nsl-kdd-v3.wmdl")),
            ..ModelsSection::default()
        },
        outputs: vec![warden_outputs::OutputConfig::File {
            name: "flows".into(),
            path: file.clone(),
            min_level: warden_event::ThreatLevel::Low,
            queue: 100,
            retries: 1,
        }],
        ..ServiceConfig::default()
    };
    let r = app(AppState::new(cfg, store)
        .unwrap_or_else(|e| panic!("{e}"))
        .with_outputs());
    // A client on the network channel only, before the flows arrive.
    let stream = r
        .clone()
        .oneshot(
            axum::http::Request::builder()
                .uri("/v1/stream?channels=network")
                .header("authorization", format!("Bearer {read}"))
                .body(axum::body::Body::empty())
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let body = [nsl_row(false), nsl_row(true)].join("\n");
    let (s, _, v) = common::oneshot(
        &r,
        "POST",
        "/v1/monitor/network",
        Some(&write),
        "text/plain",
        body.clone().into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let stored = v["alerts"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        stored.len(),
        1,
        "the flood is an alert, the web flow is not: {v}"
    );
    assert_eq!(stored[0]["line"], 2);
    let id = stored[0]["id"].as_i64().unwrap_or(0);
    // Listed by anomaly type, with the flow as evidence and the model's detail.
    let (_, _, page) = common::oneshot(
        &r,
        "GET",
        "/v1/alerts?anomaly_type=network_anomaly",
        Some(&read),
        "application/json",
        Vec::new(),
    )
    .await;
    let listed = &page["alerts"][0];
    assert_eq!(listed["id"], id, "{page}");
    assert_eq!(listed["detector"], "flow");
    assert_eq!(listed["channel"], "network");
    let a = &listed["alert"];
    assert_eq!(a["detail"]["flow"]["format"], "nsl-kdd", "{a}");
    assert!(a["detail"]["flow"]["score"].as_f64() >= a["detail"]["flow"]["threshold"].as_f64());
    assert_eq!(a["evidence"][0]["reference"]["line"], 2);
    assert_eq!(a["evidence"][0]["event"]["flow"], nsl_row(true));
    // Streamed on the network channel.
    let m = first_event(stream.into_body()).await;
    assert_eq!(m["alert_id"], id, "{m}");
    assert_eq!(m["channel"], "network");
    assert_eq!(m["primary_anomalies"], json!(["network_anomaly"]));
    // Delivered to the output.
    let mut delivered = String::new();
    for _ in 0..100 {
        delivered = std::fs::read_to_string(&file).unwrap_or_default();
        if !delivered.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let line: Value = serde_json::from_str(delivered.trim()).unwrap_or(Value::Null);
    assert_eq!(line["alert_id"], id, "{delivered}");
    assert_eq!(line["alert"]["detector"]["kind"], "flow");
    // NSL-KDD rows carry no time of their own: the same row sent again is another flow
    // (Zeek flows, which have their time and endpoints, are recognised on replay).
    let (_, _, again) = common::oneshot(
        &r,
        "POST",
        "/v1/monitor/network",
        Some(&write),
        "text/plain",
        body.into_bytes(),
    )
    .await;
    assert_ne!(again["alerts"][0]["id"], id);
    assert_eq!(again["alerts"][0]["new"], true);
}

/// A tenant's pipeline is locked while a batch is scored or its graph walked. Asking for
/// the models (which reads the ensemble's counters from that pipeline) waits for it off
/// the async workers: with one worker, another request is answered while the lock is
/// still held, and the models' answer comes once it is released.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_request_waiting_for_a_busy_pipeline_holds_no_async_worker() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (read, _) =
        create_token(&store, Scope::Read, "acme", "r").unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}"));
    let pipeline =
        warden_server::tenants::pipeline(&state, "acme").unwrap_or_else(|e| panic!("{e:?}"));
    let r = app(state);

    let (locked, released) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let holder = {
        let (locked, released) = (locked.clone(), released.clone());
        std::thread::spawn(move || {
            let guard = pipeline.lock().unwrap_or_else(|p| p.into_inner());
            locked.store(true, Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(2));
            released.store(true, Ordering::SeqCst);
            drop(guard);
        })
    };
    while !locked.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let models = {
        let (r, read) = (r.clone(), read.clone());
        tokio::spawn(async move {
            common::oneshot(
                &r,
                "GET",
                "/v1/models",
                Some(&read),
                "application/json",
                Vec::new(),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let health = {
        let r = r.clone();
        tokio::spawn(async move {
            let answer = common::oneshot(&r, "GET", "/healthz", None, "", Vec::new()).await;
            (answer.0, released.load(Ordering::SeqCst))
        })
    };
    let (status, released_first) = health.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, StatusCode::OK);
    assert!(
        !released_first,
        "answered only once the pipeline was released"
    );
    let (status, _, b) = models.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, StatusCode::OK, "{b}");
    assert!(b["ensemble"]["calls"].is_number(), "{b}");
    holder.join().unwrap_or_else(|_| panic!("holder"));
}
