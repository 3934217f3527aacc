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

/// Eight days of a small company, then a stolen admin account's path (records 9001-9003).
fn company() -> Vec<Value> {
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
    events
}

async fn send(r: &axum::Router, token: &str, events: &[Value]) {
    common::detect_in_batches(r, token, events, 200).await;
}

async fn get(r: &axum::Router, token: &str, uri: &str) -> (StatusCode, Value) {
    let (s, _, v) = common::oneshot(r, "GET", uri, Some(token), "", Vec::new()).await;
    (s, v)
}

#[tokio::test]
async fn windows_logons_sent_to_the_service_raise_a_graph_alert_with_its_evidence() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let r = app(AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}")));
    send(&r, &token, &company()).await;
    let alerts = common::stored_alerts(&r, &token).await;
    let graph: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["alert"]["detector"]["kind"] == "graph")
        .collect();
    assert!(!graph.is_empty(), "{alerts:?}");
    let top = graph
        .iter()
        .find(|a| matches!(a["alert"]["level"].as_str(), Some("HIGH" | "CRITICAL")))
        .unwrap_or_else(|| panic!("no HIGH graph alert: {alerts:?}"));
    assert_eq!(top["alert"]["subject"], "adm1");
    let cited: Vec<u64> = top["alert"]["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["reference"]["record_id"].as_u64())
        .collect();
    // The stored alert of the level reached follows the path as it grows (the third hop
    // came after the level was reached).
    assert!(
        [9_001, 9_002, 9_003].iter().all(|r| cited.contains(r)),
        "{cited:?}"
    );
}

#[tokio::test]
async fn the_graph_answers_questions_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("w.db");
    let store = warden_store::Store::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let (other, _) =
        create_token(&store, Scope::Read, "other", "r").unwrap_or_else(|e| panic!("{e}"));
    let st = AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}"));
    let r = app(st.clone());
    send(&r, &token, &company()).await;

    let (s, v) = get(&r, &token, "/v1/graph/stats").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["edges"].as_u64().unwrap_or(0) >= 10, "{v}");
    assert_eq!(
        v["edges_by_kind"]["remote_logon"].as_u64().map(|n| n > 0),
        Some(true),
        "{v}"
    );
    let (s, v) = get(
        &r,
        &token,
        "/v1/graph/path?from=host:WS-4&to=host:SRV-2,host:SRV-1",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["paths"][0]["target"], "host:SRV-1", "{v}");
    // u4 reaches SRV-1 from WS-4 every day; the stolen account went on to SRV-2.
    assert_eq!(v["paths"][1]["hops"], 2, "{v}");
    let (s, v) = get(&r, &token, "/v1/graph/neighbours?entity=account:adm1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["edges"].as_array().is_some_and(|e| e.len() >= 4), "{v}");
    let (s, v) = get(
        &r,
        &token,
        "/v1/graph/new-edges?since=2026-05-28T00:00:00Z&kind=remote_logon",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // An entity the graph does not hold is a 404 naming it; bad questions name their
    // field; another tenant sees its own (empty) graph.
    let (s, v) = get(&r, &token, "/v1/graph/neighbours?entity=host:NOPE").await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("host:NOPE")),
        "{v}"
    );
    let (s, v) = get(
        &r,
        &token,
        "/v1/graph/path?from=host:WS-4&to=host:SRV-1,host:NOPE",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = get(&r, &token, "/v1/graph/neighbours?entity=host:WS-1&depth=9").await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("depth")),
        "{v}"
    );
    let (s, v) = get(&r, &other, "/v1/graph/stats").await;
    assert_eq!((s, v["edges"].as_u64()), (StatusCode::OK, Some(0)), "{v}");
    let (s, _, _) = common::oneshot(
        &r,
        "GET",
        "/v1/graph/export?format=json",
        Some(&token),
        "",
        Vec::new(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // Saved (as the service does every interval and at shutdown), then a new process.
    let edges = {
        let (_, v) = get(&r, &token, "/v1/graph/stats").await;
        v["edges"].as_u64()
    };
    let saved = warden_server::baselines::flush_graphs(&st).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(saved, 1);
    drop((r, st));
    let store = warden_store::Store::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let r = app(AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}")));
    let (s, v) = get(&r, &token, "/v1/graph/stats").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["edges"].as_u64(), edges, "{v}");
    assert!(v["learning_until"].is_string(), "{v}");
}

#[tokio::test]
async fn with_the_graph_off_its_routes_say_how_to_turn_it_on() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = ServiceConfig::default();
    cfg.graph.enabled = false;
    let r = app(AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}")));
    send(&r, &token, &company()).await;
    let (s, v) = get(&r, &token, "/v1/graph/stats").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("[graph]")),
        "{v}"
    );
    let (_, v) = get(&r, &token, "/v1/alerts?limit=100").await;
    assert!(
        v["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["detector"] != "graph")),
        "{v}"
    );
}

/// Server-Sent Events blocks (event name, id, data) from a streaming response until one
/// satisfies `done` (or 10 s).
async fn read_until(
    body: axum::body::Body,
    done: impl Fn(&(String, Option<String>, Value)) -> bool,
) -> Vec<(String, Option<String>, Value)> {
    use http_body_util::BodyExt;
    let mut body = body;
    let mut text = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let frame = tokio::time::timeout_at(deadline, body.frame()).await;
        let Ok(Some(Ok(frame))) = frame else {
            return out;
        };
        if let Some(data) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(data));
        }
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::to_owned)
            };
            let Some(data) = field("data: ") else {
                continue;
            };
            let m = (
                field("event: ").unwrap_or_default(),
                field("id: "),
                serde_json::from_str(&data).unwrap_or(Value::Null),
            );
            let stop = done(&m);
            out.push(m);
            if stop {
                return out;
            }
        }
    }
}

#[tokio::test]
async fn a_graph_alert_that_grows_is_sent_again_on_the_stream_as_an_update() {
    use tower::ServiceExt;
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (write, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let (read, _) =
        create_token(&store, Scope::Read, "acme", "r").unwrap_or_else(|e| panic!("{e}"));
    let r = app(AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}")));
    let events = company();
    let (before, last_hop) = events.split_at(events.len() - 1);
    send(&r, &write, before).await;
    let (_, v) = get(&r, &read, "/v1/alerts?limit=100").await;
    let graph_ids: Vec<i64> = v["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["alert"]["detector"]["kind"] == "graph")
        .filter_map(|a| a["id"].as_i64())
        .collect();
    let newest = graph_ids.iter().max().copied().expect("a graph alert");
    let req = axum::http::Request::builder()
        .uri("/v1/stream?after=0")
        .header("accept", "text/event-stream")
        .header("authorization", format!("Bearer {read}"))
        .body(axum::body::Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = r
        .clone()
        .oneshot(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::OK);
    let reader = tokio::spawn(read_until(resp.into_body(), |(event, _, _)| {
        event == "alert.updated"
    }));
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    send(&r, &write, last_hop).await;
    let got = reader.await.unwrap_or_else(|e| panic!("{e}"));
    let (event, id, update) = got.last().cloned().expect("messages");
    assert_eq!(event, "alert.updated", "{got:?}");
    assert_eq!(id, None, "an update does not move the resume point");
    assert_eq!(update["updated"], true);
    assert!(
        graph_ids.contains(&update["alert_id"].as_i64().unwrap_or(0)),
        "{update}"
    );
    assert!(update["alert_id"].as_i64() <= Some(newest));
    // It came after the alert itself, which was sent once, as an alert.
    let first = got
        .iter()
        .position(|(e, _, m)| e == "alert" && m["alert_id"] == update["alert_id"])
        .expect("the alert before its update");
    assert!(first < got.len() - 1);
    let (_, one) = get(&r, &read, &format!("/v1/alerts/{}", update["alert_id"])).await;
    assert_eq!(one["alert"]["alert"]["explanation"], update["explanation"]);
}
