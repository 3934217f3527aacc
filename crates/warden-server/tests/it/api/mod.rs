//! The service through its real HTTP stack (`app()` with `oneshot`, and a real listener):
//! authentication and scopes, tenants, batch detection in JSON and JSON Lines with a bad
//! record, durable and idempotent alerts, pagination, triage and bulk changes with the
//! audit log, body and rate limits, health and metrics. What clients read back is in
//! [`reading`].

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common;
use common::{assert_invalid, events_body, sample_lines};

mod reading;

struct Api {
    state: AppState,
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
        router: app(state.clone()),
        state,
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

/// An event from the far future (an activity in the year 9999, a Zeek record in seconds
/// of the year 3237, Windows events dated so in any field a detector reads) is refused in
/// its place, naming its timestamp; the others are scored. With the bound off they are
/// taken.
#[tokio::test]
async fn events_dated_far_after_the_servers_clock_are_refused_in_their_place() {
    let lines: Vec<String> = sample_lines().into_iter().take(5).collect();
    let mut future: Value = serde_json::from_str(&lines[0]).unwrap_or(Value::Null);
    future["event_id"] = json!("from-the-future");
    future["timestamp"] = json!("9999-12-31T23:59:59Z");
    let zeek = json!({"_path": "conn", "ts": 40_000_000_000.0, "uid": "C1",
        "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", "id.resp_p": 445});
    // A flat Sysmon document dated by its UtcTime alone; a Windows event whose
    // @timestamp is now but whose TimeCreated (what the graph reads) is not.
    let sysmon = json!({"EventID": 4624, "Hostname": "WS-1", "TargetUserName": "a",
        "LogonType": "3", "UtcTime": "9999-01-01 00:00:00.000"});
    let mixed = json!({"@timestamp": "2026-12-01T00:00:00Z", "Event": {"System": {
        "EventID": 4624, "Computer": "WS-2", "TimeCreated": {"#attributes":
        {"SystemTime": "9999-01-01T00:00:00Z"}}}, "EventData": {"TargetUserName": "b"}}});
    let mut batch = lines.clone();
    batch.insert(2, future.to_string());
    batch.push(zeek.to_string());
    batch.push(sysmon.to_string());
    batch.push(mixed.to_string());
    let body = (batch.join("\n") + "\n").into_bytes();
    let post = |api: Api, body: Vec<u8>| async move {
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
        b
    };
    let b = post(api(), body.clone()).await;
    assert_eq!(
        (b["accepted"].clone(), b["rejected"].clone()),
        (json!(5), json!(4)),
        "{b}"
    );
    let results = b["results"].as_array().cloned().unwrap_or_default();
    for (i, year) in [
        (2, "9999-12-31"),
        (6, "3237-"),
        (7, "9999-01-01"),
        (8, "9999-01-01"),
    ] {
        let why = results[i]["error"]["message"].as_str().unwrap_or_default();
        assert!(
            why.starts_with(&format!("field `timestamp`: {year}")) && why.contains("clock"),
            "{why}"
        );
    }
    let mut open = ServiceConfig::default();
    open.server.max_future_secs = 0;
    let b = post(api_with(open), body).await;
    assert_eq!(b["rejected"], 0, "{b}");
}

/// Every answer is never sniffed as another type nor framed; API answers are never
/// cached; a dashboard file keeps its own policy; no HSTS without TLS.
#[tokio::test]
async fn answers_carry_the_security_headers() {
    let api = api();
    let header = |h: &axum::http::HeaderMap, k: &str| {
        h.get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    for (uri, token) in [
        ("/v1/whoami", Some(api.read.as_str())),
        ("/v1/alerts", None),
        ("/v1/no-such-route", Some(api.read.as_str())),
    ] {
        let (_, h, _) = call(&api, "GET", uri, token, "application/json", Vec::new()).await;
        assert_eq!(header(&h, "x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(header(&h, "x-frame-options"), "DENY", "{uri}");
        assert_eq!(header(&h, "cache-control"), "no-store", "{uri}");
        assert_eq!(
            header(&h, "content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'",
            "{uri}"
        );
        assert_eq!(header(&h, "strict-transport-security"), "", "{uri}");
    }
    let (_, h, _) = call(&api, "GET", "/healthz", None, "", Vec::new()).await;
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    let (s, h, _) = call(&api, "GET", "/ui/", None, "", Vec::new()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(header(&h, "content-security-policy").contains("script-src 'self'"));
    assert_eq!(header(&h, "cache-control"), "no-cache");
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
