//! `[ingest.geoip]` in the service: activities posted with only an address are placed
//! before they are scored, so a login from the other side of the world half an hour after
//! the usual place is impossible travel; a database that cannot be read stops the service
//! at start naming the key.

use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

fn test_db() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/geoip/city-asn-test.mmdb")
}

#[tokio::test]
async fn logins_with_only_an_address_are_placed_and_travel_is_judged() {
    let mut cfg = ServiceConfig::default();
    cfg.ingest.geoip.database = Some(test_db());
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let router = app(AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}")));
    let mut lines = Vec::new();
    for day in 1..=21 {
        for hour in [9, 10] {
            lines.push(
                json!({"event_id": format!("d{day}h{hour}"), "user_id": "ana",
                "activity_type": "login", "ip_address": "81.2.69.160",
                "timestamp": format!("2026-11-{day:02}T{hour:02}:00:00Z")})
                .to_string(),
            );
        }
    }
    lines.push(
        json!({"event_id": "far", "user_id": "ana", "activity_type": "login",
        "ip_address": "1.1.1.1", "timestamp": "2026-11-21T10:30:00Z"})
        .to_string(),
    );
    let (status, _, answer) = common::oneshot(
        &router,
        "POST",
        "/v1/detect/realtime",
        Some(&token),
        "application/x-ndjson",
        lines.join("\n").into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let ids = common::alert_ids(&answer);
    assert!(!ids.is_empty(), "{answer}");
    let last = ids.last().copied().unwrap_or_default();
    let (_, _, answer) = common::oneshot(
        &router,
        "GET",
        &format!("/v1/alerts/{last}"),
        Some(&token),
        "application/json",
        Vec::new(),
    )
    .await;
    let alert = &answer["alert"];
    let why = alert["explanation"].as_str().unwrap_or_default();
    assert!(
        why.contains("Sydney, AU") && why.contains("London, GB") && why.contains("km/h"),
        "{alert}"
    );
    assert_eq!(alert["event_id"], Value::from("far"));
}

#[test]
fn a_database_that_cannot_be_read_names_the_key() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = dir.path().join("city.mmdb");
    std::fs::write(&bad, b"nothing").unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = ServiceConfig::default();
    cfg.ingest.geoip.database = Some(bad);
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let e = AppState::new(cfg, store)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.starts_with("ingest.geoip.database: "), "{e}");
    let mut cfg = ServiceConfig::default();
    cfg.ingest.geoip.database = Some(dir.path().join("missing.mmdb"));
    let e = cfg
        .validate()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("geoip.database") && e.contains("no such file"),
        "{e}"
    );
}
