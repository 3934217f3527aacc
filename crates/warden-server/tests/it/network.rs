//! The network finders in the service: Zeek `conn` records sent to the detect route (as
//! Zeek writes them in JSON, with or without `_path`) are kept per tenant, and a port scan
//! comes back as a stored alert citing its connections by `uid`; `[network] pipeline =
//! false` turns the detector off.

use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

const T0: f64 = 1_780_000_000.0;

/// A scan of 40 ports of 10.0.0.2 by 10.9.9.9 (refused), then an hour of ordinary HTTPS
/// connections from 10.0.0.7, one every four minutes (too few to judge as a beacon). Half
/// the records name their log in `_path`.
fn traffic() -> Vec<Value> {
    let conn = |i: usize, ts: f64, src: &str, dst: &str, port: u16, state: &str| {
        let mut c = json!({"ts": ts, "uid": format!("C{i:04}"), "id.orig_h": src,
            "id.orig_p": 50_000 + i, "id.resp_h": dst, "id.resp_p": port, "proto": "tcp",
            "duration": 0.01, "orig_bytes": 0, "resp_bytes": 0, "conn_state": state});
        if i.is_multiple_of(2) {
            c["_path"] = json!("conn");
        }
        c
    };
    let mut v: Vec<Value> = (0..40)
        .map(|p| {
            conn(
                p,
                T0 + p as f64,
                "10.9.9.9",
                "10.0.0.2",
                2000 + p as u16,
                "REJ",
            )
        })
        .collect();
    v.extend((0..15).map(|m| {
        conn(
            100 + m,
            T0 + 60.0 + 240.0 * m as f64,
            "10.0.0.7",
            "10.0.0.3",
            443,
            "SF",
        )
    }));
    v
}

async fn send(r: &axum::Router, token: &str, events: &[Value]) {
    common::detect_in_batches(r, token, events, 50).await;
}

async fn network_alerts(cfg: ServiceConfig) -> Vec<Value> {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let r = app(AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}")));
    // Twice: a replay must not store the scan again.
    send(&r, &token, &traffic()).await;
    send(&r, &token, &traffic()).await;
    common::stored_alerts(&r, &token)
        .await
        .into_iter()
        .filter(|a| a["alert"]["detector"]["kind"] == "flow")
        .map(|a| a["alert"].clone())
        .collect()
}

#[tokio::test]
async fn a_port_scan_sent_as_zeek_records_is_a_stored_alert_citing_its_connections() {
    let alerts = network_alerts(ServiceConfig::default()).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a["detector"]["id"], "network/port_scan");
    assert_eq!(a["subject"], "10.9.9.9");
    assert_eq!(a["tenant"], "acme");
    assert_eq!(a["detail"]["network"]["destination"], "10.0.0.2");
    assert_eq!(a["detail"]["network"]["records"], 40);
    let why = a["explanation"].as_str().unwrap_or_default();
    assert!(why.contains("port scan — 10.9.9.9 tried 40 ports"), "{why}");
    let cited: Vec<&str> = a["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["reference"]["ref"] == "connection")
        .filter_map(|e| e["reference"]["uid"].as_str())
        .collect();
    assert_eq!(cited.len(), 20, "{a}");
    assert!(cited.iter().all(|u| u.starts_with("C00")), "{cited:?}");
    assert!(
        a["attack"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("T1046"))),
        "{a}"
    );
}

#[tokio::test]
async fn the_network_detector_can_be_turned_off() {
    let mut cfg = ServiceConfig::default();
    cfg.network.pipeline = false;
    assert!(network_alerts(cfg).await.is_empty());
}
