//! The tenant's entity graph in the service: Windows logons sent to the detect route build
//! it, and a stolen admin account's path comes back as a stored alert of kind `graph`.

use axum::http::StatusCode;
use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

fn logon(secs: i64, record: u64, acct: &str, src: &str, dst: &str, lt: u32) -> Value {
    let time = warden_event::Timestamp(1_780_000_000_000 + secs * 1000).to_rfc3339();
    json!({"Event": {"System": {"EventID": 4624, "Channel": "Security",
        "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
        "Computer": format!("{dst}.corp.local"), "EventRecordID": record,
        "TimeCreated": {"#attributes": {"SystemTime": time}}},
        "EventData": {"TargetUserName": acct, "LogonType": lt, "WorkstationName": src,
            "AuthenticationPackageName": "Kerberos", "IpAddress": "10.0.0.1"}}})
}

fn privileged(secs: i64, record: u64, acct: &str, host: &str) -> Value {
    let time = warden_event::Timestamp(1_780_000_000_000 + secs * 1000).to_rfc3339();
    json!({"Event": {"System": {"EventID": 4672, "Channel": "Security",
        "Computer": format!("{host}.corp.local"), "EventRecordID": record,
        "TimeCreated": {"#attributes": {"SystemTime": time}}},
        "EventData": {"SubjectUserName": acct, "PrivilegeList": "SeDebugPrivilege"}}})
}

#[tokio::test]
async fn windows_logons_sent_to_the_service_raise_a_graph_alert_with_its_evidence() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let r = app(AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}")));
    let mut events = Vec::new();
    let mut rec = 0u64;
    for day in 0..8 {
        let t0 = day * 86_400 + 8 * 3600;
        for u in 1..=5 {
            let ws = format!("WS-{u}");
            rec += 2;
            events.push(logon(t0 + u, rec, &format!("u{u}"), &ws, &ws, 2));
            events.push(logon(
                t0 + 600 + u,
                rec + 1,
                &format!("u{u}"),
                &ws,
                "SRV-1",
                3,
            ));
        }
        for a in 1..=3 {
            rec += 2;
            let t = t0 + 1800 + a * 60;
            events.push(logon(
                t,
                rec,
                &format!("adm{a}"),
                &format!("WS-{a}"),
                "JUMP",
                10,
            ));
            events.push(privileged(t, rec + 1, &format!("adm{a}"), "JUMP"));
        }
    }
    let t = 8 * 86_400 + 10 * 3600;
    events.push(logon(t, 9_001, "adm1", "WS-4", "WS-5", 3));
    events.push(logon(t + 1800, 9_002, "adm1", "WS-5", "SRV-1", 3));
    events.push(logon(t + 3600, 9_003, "adm1", "SRV-1", "SRV-2", 3));
    for chunk in events.chunks(200) {
        let body = json!({ "events": chunk });
        let (s, _, v) = common::oneshot(
            &r,
            "POST",
            "/v1/detect/realtime",
            Some(&token),
            "application/json",
            body.to_string().into_bytes(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, _, v) = common::oneshot(
        &r,
        "GET",
        "/v1/alerts?limit=100",
        Some(&token),
        "",
        Vec::new(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let alerts = v["alerts"].as_array().cloned().unwrap_or_default();
    let graph: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["alert"]["detector"]["kind"] == "graph")
        .collect();
    assert!(!graph.is_empty(), "{v}");
    let top = graph
        .iter()
        .find(|a| matches!(a["alert"]["level"].as_str(), Some("HIGH" | "CRITICAL")))
        .unwrap_or_else(|| panic!("no HIGH graph alert: {v}"));
    assert_eq!(top["alert"]["subject"], "adm1");
    let cited: Vec<u64> = top["alert"]["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["reference"]["record_id"].as_u64())
        .collect();
    assert!(
        cited.contains(&9_001) && cited.contains(&9_002),
        "{cited:?}"
    );
}
