//! The service through its real HTTP stack (`app()` with `oneshot`, and a real listener):
//! authentication and scopes, tenants, batch detection in JSON and JSON Lines with a bad
//! record, durable and idempotent alerts, pagination, triage and bulk changes with the
//! audit log, body and rate limits, health and metrics.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;
use common::{assert_invalid, events_body, sample_lines};

struct Api {
    router: axum::Router,
    read: String,
    write: String,
    admin: String,
    other_tenant: String,
}

fn api_with(config: ServiceConfig) -> Api {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let tok = |scope, tenant| {
        create_token(&store, scope, tenant, "test")
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    };
    let (read, write, admin) = (
        tok(Scope::Read, "acme"),
        tok(Scope::Write, "acme"),
        tok(Scope::Admin, "acme"),
    );
    let other_tenant = tok(Scope::Admin, "globex");
    let state = AppState::new(config, store).unwrap_or_else(|e| panic!("{e}"));
    Api {
        router: app(state),
        read,
        write,
        admin,
        other_tenant,
    }
}

fn api() -> Api {
    api_with(ServiceConfig::default())
}

/// `(status, headers, body as JSON or a string)`.
async fn call(
    api: &Api,
    method: &str,
    uri: &str,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    common::oneshot(&api.router, method, uri, token, content_type, body).await
}

async fn get(api: &Api, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
    let (s, _, b) = call(api, "GET", uri, token, "application/json", Vec::new()).await;
    (s, b)
}

async fn send_json(
    api: &Api,
    method: &str,
    uri: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let (s, _, b) = call(
        api,
        method,
        uri,
        Some(token),
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    (s, b)
}

/// Posts the shipped sample as one batch; returns the answer.
async fn ingest_sample(api: &Api) -> Value {
    let (s, b) = send_json(
        api,
        "POST",
        "/v1/detect/realtime",
        &api.write,
        events_body(&sample_lines()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

#[tokio::test]
async fn tokens_and_scopes_guard_every_route_but_health() {
    let api = api();
    assert_eq!(get(&api, "/healthz", None).await.0, StatusCode::OK);
    assert_eq!(get(&api, "/readyz", None).await.0, StatusCode::OK);
    let (s, h, b) = call(&api, "GET", "/v1/alerts", None, "application/json", vec![]).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(h.contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(b["error"]["code"], "unauthorized");
    assert_eq!(
        get(&api, "/v1/alerts", Some("wdn_not-a-token")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&api, "/v1/alerts", Some(&api.read)).await.0,
        StatusCode::OK
    );
    // Read may not ingest; write may not read the audit log.
    let (s, b) = send_json(
        &api,
        "POST",
        "/v1/detect/realtime",
        &api.read,
        json!({"events": []}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("needs write")
    );
    assert_eq!(
        get(&api, "/v1/audit", Some(&api.write)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&api, "/v1/audit", Some(&api.admin)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        get(&api, "/v1/nothing-here", Some(&api.admin)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_batch_is_scored_in_order_and_its_alerts_are_stored_once() {
    let api = api();
    let lines = sample_lines();
    let body = events_body(&lines);
    let (s, first) = send_json(
        &api,
        "POST",
        "/v1/detect/realtime",
        &api.write,
        body.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["accepted"], lines.len());
    assert_eq!(first["rejected"], 0);
    let results = first["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), lines.len());
    for (i, r) in results.iter().enumerate() {
        assert_eq!(r["index"], i);
        let sent: Value = serde_json::from_str(&lines[i]).unwrap_or(Value::Null);
        assert_eq!(r["score"]["event_id"], sent["event_id"], "same order");
    }
    let alerts = first["alerts"].as_array().cloned().unwrap_or_default();
    assert!(!alerts.is_empty(), "the sample has alerts");
    assert!(alerts.iter().all(|a| a["new"] == true));
    // The alerts are in the store already, listed newest first.
    let (_, listed) = get(&api, "/v1/alerts?limit=1000", Some(&api.read)).await;
    let stored = listed["alerts"].as_array().map_or(0, Vec::len);
    assert_eq!(stored, alerts.len());

    // Replaying the batch (a client retry after a lost answer) stores nothing twice.
    let (_, again) = send_json(&api, "POST", "/v1/detect/realtime", &api.write, body).await;
    let again_alerts = again["alerts"].as_array().cloned().unwrap_or_default();
    let ids = |v: &[Value]| v.iter().map(|a| a["id"].clone()).collect::<Vec<_>>();
    // Every alert of the first run is matched by the replay's (baselines learned in between
    // can only lower scores), with the same id and no new row.
    for a in &again_alerts {
        if ids(&alerts).contains(&a["id"]) {
            assert_eq!(a["new"], false);
        }
    }
    let (_, listed) = get(&api, "/v1/alerts?limit=1000", Some(&api.read)).await;
    let new_in_replay = again_alerts.iter().filter(|a| a["new"] == true).count();
    assert_eq!(
        listed["alerts"].as_array().map_or(0, Vec::len),
        stored + new_in_replay
    );

    // Another tenant sees none of it.
    let (_, theirs) = get(&api, "/v1/alerts", Some(&api.other_tenant)).await;
    assert_eq!(theirs["alerts"].as_array().map_or(1, Vec::len), 0);
    let id = alerts[0]["id"].clone();
    assert_eq!(
        get(&api, &format!("/v1/alerts/{id}"), Some(&api.other_tenant))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (s, _) = send_json(
        &api,
        "PATCH",
        &format!("/v1/alerts/{id}"),
        &api.other_tenant,
        json!({"status": "resolved"}),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, metrics) = get(&api, "/metrics", None).await;
    let text = metrics.as_str().unwrap_or("");
    assert!(
        text.contains(&format!("warden_events_in_total {}", 2 * lines.len())),
        "{text}"
    );
}

#[tokio::test]
async fn json_lines_with_a_bad_record_lose_nothing_else() {
    let api = api();
    let mut lines: Vec<String> = sample_lines().into_iter().take(20).collect();
    lines.insert(
        7,
        "{\"user_id\": \"x\", \"timestamp\": \"not a time\"}".into(),
    );
    lines.insert(3, "this is not json".into());
    let body = (lines.join("\n") + "\n").into_bytes();
    let (s, _, b) = call(
        &api,
        "POST",
        "/v1/detect/realtime",
        Some(&api.write),
        "application/x-ndjson",
        body,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["accepted"], 20);
    assert_eq!(b["rejected"], 2);
    let results = b["results"].as_array().cloned().unwrap_or_default();
    assert!(results[3]["error"]["message"].is_string());
    assert!(
        results[8]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("timestamp"),
        "{}",
        results[8]
    );
    assert!(results[4]["score"].is_object());
    // A body that is not a batch at all is a 400 naming the field.
    let (s, b) = send_json(
        &api,
        "POST",
        "/v1/detect/realtime",
        &api.write,
        json!({"evnts": []}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["field"], "events");
}

#[tokio::test]
async fn pages_triage_bulk_changes_and_the_audit_log() {
    let api = api();
    let b = ingest_sample(&api).await;
    let total = b["alerts"].as_array().map_or(0, Vec::len);
    assert!(total > 5);
    // Cursor pagination visits every alert once.
    let mut seen = Vec::new();
    let mut uri = "/v1/alerts?limit=5".to_owned();
    loop {
        let (s, page) = get(&api, &uri, Some(&api.read)).await;
        assert_eq!(s, StatusCode::OK);
        seen.extend(
            page["alerts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|a| a["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/v1/alerts?limit=5&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    // Sorted by score (highest first) and by event time (oldest first): every alert once,
    // in order, across pages; the count matches.
    for (sort, key) in [
        ("sort=score", "threat_score"),
        ("sort=time&order=asc", "timestamp"),
    ] {
        let mut rows: Vec<Value> = Vec::new();
        let mut uri = format!("/v1/alerts?limit=7&count=true&{sort}");
        loop {
            let (s, page) = get(&api, &uri, Some(&api.read)).await;
            assert_eq!(s, StatusCode::OK, "{page}");
            assert!(rows.len() <= total, "{uri}: {page}");
            assert_eq!(page["total"], json!(total), "{sort}");
            rows.extend(page["alerts"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => uri = format!("/v1/alerts?limit=7&count=true&{sort}&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(rows.len(), total, "{sort}");
        let mut ids: Vec<i64> = rows.iter().filter_map(|a| a["id"].as_i64()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), total, "{sort}: no duplicates");
        let ordered = rows.windows(2).all(|w| {
            if key == "threat_score" {
                w[0][key].as_f64() >= w[1][key].as_f64()
            } else {
                w[0][key].as_str() <= w[1][key].as_str()
            }
        });
        assert!(ordered, "{sort}");
    }
    // Exact levels, and a time bound written with an offset.
    let (_, high) = get(&api, "/v1/alerts?levels=HIGH&limit=1000", Some(&api.read)).await;
    assert!(
        high["alerts"]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["threat_level"] == "HIGH")),
        "{high}"
    );
    let (_, utc) = get(
        &api,
        "/v1/alerts?to=2026-04-20T12:00:00Z&count=true&limit=1",
        Some(&api.read),
    )
    .await;
    let (_, offset) = get(
        &api,
        "/v1/alerts?to=2026-04-20T14:00:00%2B02:00&count=true&limit=1",
        Some(&api.read),
    )
    .await;
    assert_eq!(
        utc["total"], offset["total"],
        "the same instant, written two ways"
    );
    // A cursor of another order is a position this listing does not have; a malformed
    // one is a 400.
    let (s, b) = get(&api, "/v1/alerts?sort=score&cursor=12", Some(&api.read)).await;
    assert_eq!(
        (s, b["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("not_found"))
    );
    let (s, b) = get(&api, "/v1/alerts?sort=score&cursor=x~y", Some(&api.read)).await;
    assert_invalid(s, &b, "cursor");
    let (s, b) = get(&api, "/v1/alerts?levels=HIGH,nope", Some(&api.read)).await;
    assert_invalid(s, &b, "levels");
    let (s, b) = get(
        &api,
        "/v1/alerts?level=critical&anomaly_type=impossible_travel",
        Some(&api.read),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        b["alerts"]
            .as_array()
            .is_some_and(|a| a.iter().all(|x| x["threat_level"] == "CRITICAL"))
    );
    let (s, b) = get(&api, "/v1/alerts?level=severe", Some(&api.read)).await;
    assert_invalid(s, &b, "level");

    // One alert: its explanation, then a triage change.
    let id = seen[0].clone();
    let (s, one) = get(&api, &format!("/v1/alerts/{id}"), Some(&api.read)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        one["alert"]["explanation"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    let (s, b) = send_json(
        &api,
        "PATCH",
        &format!("/v1/alerts/{id}"),
        &api.write,
        json!({"status": "closed"}),
    )
    .await;
    assert_invalid(s, &b, "status");
    let (s, b) = send_json(
        &api,
        "PATCH",
        &format!("/v1/alerts/{id}"),
        &api.write,
        json!({"status": "acknowledged", "assignee": "ana"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["alert"]["status"], "acknowledged");
    assert_eq!(b["alert"]["assignee"], "ana");

    // Bulk: resolve the next three (and one id that does not exist).
    let ids: Vec<Value> = seen[1..4].to_vec();
    let mut with_unknown = ids.clone();
    with_unknown.push(json!(999_999));
    let (s, b) = send_json(
        &api,
        "POST",
        "/v1/alerts/bulk",
        &api.write,
        json!({"action": "update_status", "status": "false_positive", "ids": with_unknown}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["updated"], json!(ids));
    assert_eq!(b["not_found"], json!([999_999]));
    let (_, b) = get(&api, "/v1/alerts?status=false_positive", Some(&api.read)).await;
    assert_eq!(b["alerts"].as_array().map_or(0, Vec::len), 3);
    let (s, b) = send_json(
        &api,
        "POST",
        "/v1/alerts/bulk",
        &api.write,
        json!({"action": "delete", "ids": [1]}),
    )
    .await;
    assert_invalid(s, &b, "action");

    // Every change is in the audit log, newest first, with who made it.
    let (_, audit) = get(&api, "/v1/audit", Some(&api.admin)).await;
    let entries = audit["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 4);
    assert!(
        entries[0]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("status=false_positive")
    );
    assert!(
        entries[3]["detail"]
            .as_str()
            .unwrap_or("")
            .contains("assignee=ana")
    );
    assert!(
        entries
            .iter()
            .all(|e| e["actor"].as_str().is_some_and(|a| a.starts_with("token:")))
    );
    // One alert's history.
    let target = entries[3]["target"].as_str().unwrap_or("").to_owned();
    let (_, one) = get(
        &api,
        &format!("/v1/audit?target={target}"),
        Some(&api.admin),
    )
    .await;
    let one = one["entries"].as_array().cloned().unwrap_or_default();
    assert!(!one.is_empty() && one.len() < entries.len(), "{one:?}");
    assert!(one.iter().all(|e| e["target"] == json!(target)));
    let (_, who) = get(&api, "/v1/whoami", Some(&api.read)).await;
    assert_eq!(who["scope"], "read");
    assert_eq!(who["tenant"], "acme");
    let (_, theirs) = get(&api, "/v1/audit", Some(&api.other_tenant)).await;
    assert_eq!(theirs["entries"].as_array().map_or(1, Vec::len), 0);
}

#[tokio::test]
async fn oversized_bodies_are_413_and_floods_are_429() {
    let mut cfg = ServiceConfig::default();
    cfg.server.body_limit_bytes = 1024;
    cfg.server.batch_limit_bytes = 4096;
    cfg.server.rate_limit_per_minute = 2;
    let api = api_with(cfg);
    let big = events_body(&sample_lines()[..40]);
    let (s, b) = send_json(&api, "POST", "/v1/detect/realtime", &api.write, big).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{b}");
    assert_eq!(b["error"]["code"], "too_large");
    let (s, _) = send_json(
        &api,
        "PATCH",
        "/v1/alerts/1",
        &api.write,
        json!({"classification": "x".repeat(2000)}),
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // The 413 above took one of the two requests a minute; one more passes, then 429.
    let small = events_body(&sample_lines()[..2]);
    let (s, _) = send_json(
        &api,
        "POST",
        "/v1/detect/realtime",
        &api.write,
        small.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, h, b) = call(
        &api,
        "POST",
        "/v1/detect/realtime",
        Some(&api.write),
        "application/json",
        small.to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    let retry: u64 = h
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!((1..=60).contains(&retry));
    // Reads are not rate limited.
    assert_eq!(
        get(&api, "/v1/alerts", Some(&api.read)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_real_listener_serves_and_shuts_down_gracefully() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Read, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(warden_server::run(listener, state, async {
        let _ = stopped.await;
    }));
    let mut conn = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    conn.read_to_string(&mut answer)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"status\":\"ok\""));
    // A client following the stream must not hold the shutdown up.
    let mut follower = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    follower
        .write_all(
            format!("GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut head = [0u8; 64];
    let n = follower.read(&mut head).await.unwrap_or(0);
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"));
    let _ = stop.send(());
    let done = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(matches!(done, Ok(Ok(Ok(())))), "server stopped cleanly");
}

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
