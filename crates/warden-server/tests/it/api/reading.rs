//! What clients read back through the service: the alert stream (replay, resume, live),
//! exports, trends, the dashboard's views and a user's behaviour, the API document, incidents,
//! an alert's event context, and a field refused in its place.

use super::*;
use warden_event::{Alert, AlertDetail, Detector, DetectorKind, GraphFinding, ThreatLevel};

/// Reads Server-Sent Events from a streaming response until `n` alerts arrived (or 10 s).
async fn read_events(body: Body, n: usize) -> Vec<Value> {
    let mut body = body;
    let mut text = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while out.len() < n {
        let frame = tokio::time::timeout_at(deadline, body.frame()).await;
        let Ok(Some(Ok(frame))) = frame else { break };
        if let Some(data) = frame.data_ref() {
            text.push_str(&String::from_utf8_lossy(data));
        }
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let id = block
                .lines()
                .find_map(|l| l.strip_prefix("id: "))
                .map(str::to_owned);
            let data = block.lines().find_map(|l| l.strip_prefix("data: "));
            if let (Some(id), Some(data)) = (id, data) {
                let mut v: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                v["sse_id"] = json!(id);
                out.push(v);
            }
        }
    }
    out
}

async fn open_stream(api: &Api, query: &str, last_event_id: Option<i64>) -> Body {
    let mut req = Request::builder()
        .uri(format!("/v1/stream{query}"))
        .header(header::ACCEPT, "text/event-stream")
        .header(header::AUTHORIZATION, format!("Bearer {}", api.read));
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id.to_string());
    }
    let resp = api
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), StatusCode::OK);
    resp.into_body()
}

#[tokio::test]
async fn the_stream_replays_resumes_without_gaps_and_goes_live() {
    let api = api();
    let b = ingest_sample(&api).await;
    let mut ids: Vec<i64> = common::alert_ids(&b);
    ids.sort_unstable();
    assert!(ids.len() > 5);

    // From the start: everything stored, in order, the sequence number being the id.
    let got = read_events(open_stream(&api, "?after=0", None).await, ids.len()).await;
    let seqs: Vec<i64> = got.iter().filter_map(|m| m["seq"].as_i64()).collect();
    assert_eq!(seqs, ids);
    assert!(
        got.iter()
            .all(|m| m["sse_id"] == json!(m["seq"].to_string()))
    );

    // Resume after the third (a dropped connection): the rest, no duplicate, no gap.
    let resumed = read_events(open_stream(&api, "", Some(ids[2])).await, ids.len() - 3).await;
    let seqs: Vec<i64> = resumed.iter().filter_map(|m| m["seq"].as_i64()).collect();
    assert_eq!(seqs, ids[3..].to_vec());

    // Live: connected at the end, then a new batch arrives.
    let live = open_stream(&api, "", ids.last().copied()).await;
    let reader = tokio::spawn(read_events(live, 2));
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let lines: Vec<String> = ["history.jsonl", "attack.jsonl"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(dir.join(f))
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let (_, b) = send_json(
        &api,
        "POST",
        "/v1/detect/realtime",
        &api.write,
        events_body(&lines),
    )
    .await;
    let new_ids: Vec<i64> = common::alert_ids(&b);
    assert!(new_ids.len() >= 2);
    let live_got = reader.await.unwrap_or_default();
    let seqs: Vec<i64> = live_got.iter().filter_map(|m| m["seq"].as_i64()).collect();
    assert_eq!(seqs, new_ids[..2].to_vec());

    // Filters apply on the server.
    let critical = read_events(
        open_stream(&api, "?after=0&min_level=critical", None).await,
        1,
    )
    .await;
    assert!(critical.iter().all(|m| m["threat_level"] == "CRITICAL"));
    let (s, b) = get(&api, "/v1/stream?channels=bogus", Some(&api.read)).await;
    assert_invalid(s, &b, "channels");
}

#[tokio::test]
async fn export_trends_dashboard_and_a_users_behaviour() {
    let api = api();
    let b = ingest_sample(&api).await;
    let alerts = b["alerts"].as_array().cloned().unwrap_or_default();
    let total = alerts.len();

    // Export: every alert, as CSV (a header and one row each) and as a JSON array.
    let (s, h, csv) = call(
        &api,
        "GET",
        "/v1/alerts/export?format=csv",
        Some(&api.read),
        "",
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let text = csv.as_str().unwrap_or("").to_owned();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.records().filter(Result::is_ok).count(), total);
    assert!(text.starts_with("id,timestamp,user_id,threat_level"));
    let (s, _, json_export) = call(
        &api,
        "GET",
        "/v1/alerts/export?format=json&level=high",
        Some(&api.read),
        "",
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let high = alerts
        .iter()
        .filter(|a| a["level"] == "HIGH" || a["level"] == "CRITICAL")
        .count();
    assert_eq!(json_export.as_array().map_or(usize::MAX, Vec::len), high);
    let (s, b) = get(&api, "/v1/alerts/export?format=xml", Some(&api.read)).await;
    assert_invalid(s, &b, "format");

    // Trends: buckets that add up to the alerts, per level and type.
    for g in ["hour", "day", "week"] {
        let (s, t) = get(
            &api,
            &format!("/v1/analytics/trends?granularity={g}"),
            Some(&api.read),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{t}");
        let buckets = t["buckets"].as_array().cloned().unwrap_or_default();
        let sum: u64 = buckets.iter().filter_map(|b| b["total"].as_u64()).sum();
        assert_eq!(sum as usize, total, "{g}");
        for b in &buckets {
            let by_level: u64 = b["by_level"]
                .as_object()
                .map_or(0, |m| m.values().filter_map(Value::as_u64).sum());
            assert_eq!(Some(by_level), b["total"].as_u64());
        }
    }
    let (s, _) = get(
        &api,
        "/v1/analytics/trends?granularity=minute",
        Some(&api.read),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Dashboard: totals match the alerts; the top entity is a user with alerts.
    let (s, d) = get(&api, "/v1/analytics/dashboard", Some(&api.read)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(d["alerts"]["total"].as_u64(), Some(total as u64));
    assert_eq!(d["alerts"]["by_status"]["new"].as_u64(), Some(total as u64));
    assert_eq!(
        d["system"]["events_in"].as_u64(),
        Some(sample_lines().len() as u64)
    );
    let top_user = d["alerts"]["top_entities"][0][0]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(!top_user.is_empty());

    // Behaviour of that user: baseline learned, recent alerts, risk by day.
    let (s, v) = send_json(
        &api,
        "POST",
        "/v1/analyze/behavior",
        &api.read,
        json!({"user_id": top_user}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["baseline"]["events"].as_u64().is_some_and(|n| n > 0));
    assert!(!v["recent_alerts"].as_array().is_none_or(Vec::is_empty));
    assert!(!v["risk_trend"].as_array().is_none_or(Vec::is_empty));
    let (s, _) = send_json(
        &api,
        "POST",
        "/v1/analyze/behavior",
        &api.read,
        json!({"user_id": "nobody"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Another tenant learns nothing about this user.
    let (s, _) = send_json(
        &api,
        "POST",
        "/v1/analyze/behavior",
        &api.other_tenant,
        json!({"user_id": top_user}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let api = api();
    let (s, doc) = get(&api, "/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    for (path, method) in [
        ("/v1/detect/realtime", "post"),
        ("/v1/alerts", "get"),
        ("/v1/alerts/{id}", "get"),
        ("/v1/alerts/{id}", "patch"),
        ("/v1/alerts/bulk", "post"),
        ("/v1/alerts/export", "get"),
        ("/v1/analytics/trends", "get"),
        ("/v1/analytics/dashboard", "get"),
        ("/v1/analyze/behavior", "post"),
        ("/v1/audit", "get"),
        ("/v1/stream", "get"),
        ("/v1/monitor/network", "post"),
        ("/v1/models", "get"),
        ("/v1/rules", "get"),
        ("/v1/whoami", "get"),
        ("/v1/payload/analyze", "post"),
        ("/v1/payload/jobs", "post"),
        ("/v1/payload/jobs/{id}", "get"),
        ("/v1/webhooks", "get"),
        ("/v1/webhooks", "post"),
        ("/v1/webhooks/{id}", "delete"),
        ("/v1/webhooks/{id}/test", "post"),
        ("/v1/webhooks/dead-letters", "get"),
        ("/v1/webhooks/dead-letters/{id}/replay", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} undocumented"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let params: Vec<String> = doc["paths"]["/v1/alerts"]["get"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    for p in [
        "level",
        "user",
        "anomaly_type",
        "status",
        "from",
        "to",
        "cursor",
        "limit",
    ] {
        assert!(params.contains(&p.to_owned()), "{p} missing: {params:?}");
    }
    assert!(doc["paths"]["/v1/alerts/bulk"]["post"]["requestBody"].is_object());
}

#[tokio::test]
async fn incidents_group_alerts_and_take_status_changes_for_all_of_them() {
    let api = api();
    let b = ingest_sample(&api).await;
    let total = b["alerts"].as_array().map_or(0, Vec::len);
    let (s, inc) = get(&api, "/v1/incidents?limit=1000", Some(&api.read)).await;
    assert_eq!(s, StatusCode::OK, "{inc}");
    let list = inc["incidents"].as_array().cloned().unwrap_or_default();
    assert!(
        !list.is_empty() && list.len() < total,
        "grouped: {} incidents for {total} alerts",
        list.len()
    );
    let covered: u64 = list.iter().filter_map(|i| i["alerts"].as_u64()).sum();
    assert_eq!(
        covered as usize, total,
        "every alert in exactly one incident"
    );
    let big = list
        .iter()
        .max_by_key(|i| i["alerts"].as_u64().unwrap_or(0))
        .cloned()
        .unwrap_or(Value::Null);
    let id = big["id"].as_i64().unwrap_or(0);
    let n = big["alerts"].as_u64().unwrap_or(0);
    assert!(n >= 2);
    let (s, one) = get(&api, &format!("/v1/incidents/{id}"), Some(&api.read)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["alerts"].as_array().map_or(0, Vec::len) as u64, n);
    let (s, after) = send_json(
        &api,
        "PATCH",
        &format!("/v1/incidents/{id}"),
        &api.write,
        json!({"status": "resolved", "assignee": "ana"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(after["incident"]["status"], "resolved");
    for a in big["alert_ids"].as_array().cloned().unwrap_or_default() {
        let (_, one) = get(&api, &format!("/v1/alerts/{a}"), Some(&api.read)).await;
        assert_eq!(one["alert"]["status"], "resolved");
        assert_eq!(one["alert"]["assignee"], "ana");
    }
    // One audit entry for the incident, however many alerts it holds.
    let (_, audit) = get(&api, "/v1/audit?limit=1000", Some(&api.admin)).await;
    let entries = audit["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["target"], format!("incident:{id}"));
    let detail = entries[0]["detail"].as_str().unwrap_or_default();
    assert!(detail.ends_with(&format!("({n} alerts)")), "{detail}");
    assert_eq!(
        get(
            &api,
            &format!("/v1/incidents/{id}"),
            Some(&api.other_tenant)
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (s, b) = get(&api, "/v1/incidents?window=5", Some(&api.read)).await;
    assert_invalid(s, &b, "window");
    let (_, doc) = get(&api, "/v1/openapi.json", None).await;
    assert!(doc["paths"]["/v1/incidents/{id}"]["patch"].is_object());
}

/// A graph alert of user `ana` at `ts`, as the store keeps one.
fn stored_alert(key: &str, ts: &str) -> Alert {
    Alert {
        tenant: "acme".into(),
        key: key.into(),
        digest: None,
        timestamp: ts.into(),
        subject: "ana".into(),
        entities: vec![],
        detector: Detector {
            kind: DetectorKind::Graph,
            id: "lateral_movement".into(),
        },
        level: ThreatLevel::High,
        score: 60.0,
        confidence: 0.8,
        anomalies: vec![],
        explanation: "test".into(),
        recommended_actions: vec![],
        evidence: vec![],
        attack: vec![],
        detail: AlertDetail::Graph(GraphFinding {
            finder: "lateral_movement".into(),
            steps: vec![],
        }),
    }
}

/// A trend answers with its latest 2,000 buckets at most, oldest first, and says when
/// older ones were left out.
#[tokio::test]
async fn a_trend_holds_its_latest_buckets_at_most() {
    let api = api();
    let start = warden_event::Timestamp::parse_rfc3339("2026-01-01T00:00:00Z")
        .unwrap_or_else(|| panic!("a time"));
    let alerts: Vec<Alert> = (0..2100i64)
        .map(|h| {
            let t = warden_event::Timestamp(start.millis() + h * 3_600_000);
            stored_alert(&format!("h{h}"), &t.to_rfc3339())
        })
        .collect();
    api.state
        .store()
        .save_alerts(None, &alerts)
        .unwrap_or_else(|e| panic!("{e}"));
    let (s, t) = get(
        &api,
        "/v1/analytics/trends?granularity=hour",
        Some(&api.read),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let buckets = t["buckets"].as_array().cloned().unwrap_or_default();
    assert_eq!((buckets.len(), t["truncated"].clone()), (2000, json!(true)));
    let names: Vec<String> = buckets
        .iter()
        .map(|b| b["bucket"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "oldest first");
    let (_, day) = get(
        &api,
        "/v1/analytics/trends?granularity=day",
        Some(&api.read),
    )
    .await;
    assert_eq!(day["truncated"], json!(false));
    let sum: u64 = day["buckets"]
        .as_array()
        .map_or(0, |b| b.iter().filter_map(|x| x["total"].as_u64()).sum());
    assert_eq!(sum, 2100);
}

/// An incident of 2,500 alerts (one user, a minute apart): its answer lists every id and
/// holds the first 1,000 alerts in full; a change reaches all 2,500 (written 1,000 at a
/// time) with one audit entry.
#[tokio::test]
async fn a_large_incident_is_answered_in_part_and_changed_whole() {
    let api = api();
    let alerts: Vec<Alert> = (0..2500)
        .map(|i| {
            stored_alert(
                &format!("k{i}"),
                &format!("2026-05-28T{:02}:{:02}:00Z", i / 60 % 24, i % 60),
            )
        })
        .collect();
    api.state
        .store()
        .save_alerts(None, &alerts[..1440])
        .unwrap_or_else(|e| panic!("{e}"));
    // The next day's 1,060, still a minute apart across midnight: one incident.
    let next_day: Vec<Alert> = alerts[1440..]
        .iter()
        .map(|a| Alert {
            timestamp: a.timestamp.replace("2026-05-28", "2026-05-29"),
            ..a.clone()
        })
        .collect();
    api.state
        .store()
        .save_alerts(None, &next_day)
        .unwrap_or_else(|e| panic!("{e}"));
    let (s, inc) = get(&api, "/v1/incidents", Some(&api.read)).await;
    assert_eq!(s, StatusCode::OK, "{inc}");
    let list = inc["incidents"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{inc}");
    let id = list[0]["id"].as_i64().unwrap_or(0);
    let (s, one) = get(&api, &format!("/v1/incidents/{id}"), Some(&api.read)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        one["incident"]["alert_ids"].as_array().map_or(0, Vec::len),
        2500
    );
    assert_eq!(one["alerts"].as_array().map_or(0, Vec::len), 1000);
    assert_eq!(one["alerts_not_shown"], 1500);
    let (s, after) = send_json(
        &api,
        "PATCH",
        &format!("/v1/incidents/{id}"),
        &api.write,
        json!({"status": "acknowledged"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{after}");
    assert_eq!(after["incident"]["status"], "acknowledged");
    let (_, page) = get(&api, "/v1/alerts?status=new&limit=1000", Some(&api.read)).await;
    assert_eq!(
        page["alerts"].as_array().map_or(0, Vec::len),
        0,
        "every alert changed"
    );
    let (_, audit) = get(&api, "/v1/audit?limit=1000", Some(&api.admin)).await;
    let entries = audit["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{audit}");
    let detail = entries[0]["detail"].as_str().unwrap_or_default();
    assert!(detail.ends_with("(2500 alerts)"), "{detail}");
}

#[tokio::test]
async fn an_alert_keeps_its_event_and_the_events_before_it() {
    let api = api();
    ingest_sample(&api).await;
    let (_, page) = get(&api, "/v1/alerts?limit=1000", Some(&api.read)).await;
    let alerts = page["alerts"].as_array().cloned().unwrap_or_default();
    assert!(!alerts.is_empty());
    let mut with_history = 0;
    for a in &alerts {
        let (_, one) = get(&api, &format!("/v1/alerts/{}", a["id"]), Some(&api.read)).await;
        let alert = &one["alert"]["alert"];
        if one["alert"]["detector"] == "graph" {
            // The graph's progression of an account: the behavioural steps it cites.
            assert_eq!(
                alert["detail"]["graph"]["finder"], "attack_progression",
                "{alert}"
            );
            continue;
        }
        let evidence = alert["evidence"].as_array().cloned().unwrap_or_default();
        let trigger = &evidence[0];
        assert_eq!(trigger["role"], "trigger", "{alert}");
        assert_eq!(trigger["reference"]["event_id"], a["event_id"], "{alert}");
        assert_eq!(trigger["event"]["event_id"], a["event_id"], "{alert}");
        assert_eq!(trigger["event"]["user_id"], a["user_id"]);
        assert_eq!(trigger["event"]["timestamp"], a["timestamp"]);
        assert_eq!(one["alert"]["detector"], "ueba");
        assert_eq!(alert["detail"]["ueba"]["event_id"], a["event_id"]);
        let before: Vec<serde_json::Value> = evidence[1..]
            .iter()
            .inspect(|e| assert_eq!(e["role"], "context"))
            .map(|e| e["event"].clone())
            .collect();
        assert!(before.len() <= warden_engine::pipeline::ContextLimits::default().per_user);
        // The events before it: the same user's, in time order, all earlier.
        assert!(before.iter().all(|e| e["user_id"] == a["user_id"]
            && e["timestamp"].as_str().is_some_and(|t| t.ends_with('Z'))));
        assert!(
            before
                .windows(2)
                .all(|w| w[0]["timestamp"].as_str() <= w[1]["timestamp"].as_str())
        );
        assert!(
            before
                .iter()
                .all(|e| e["timestamp"].as_str() <= a["timestamp"].as_str())
        );
        with_history += usize::from(!before.is_empty());
    }
    assert!(
        with_history * 2 > alerts.len(),
        "most users have history before their alert"
    );
}

#[tokio::test]
async fn an_overlong_user_id_is_refused_in_its_place() {
    let api = api();
    let long = "u".repeat(300);
    let body = json!({"events": [
        {"user_id": long, "activity_type": "login", "timestamp": "2026-04-01T00:00:00Z"},
        {"user_id": "ana", "activity_type": "login", "timestamp": "2026-04-01T00:00:00Z"},
    ]});
    let (s, _, v) = call(
        &api,
        "POST",
        "/v1/detect/realtime",
        Some(&api.write),
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["results"][0]["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("user_id")),
        "{v}"
    );
    assert!(
        v["results"][1]["score"].is_object(),
        "its neighbour is scored: {v}"
    );
}
