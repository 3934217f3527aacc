//! Sigma rules in the service: a Windows event posted beside user activities in one batch
//! is matched by the rules and stored as a `rule_match` alert (once, even when the batch is
//! replayed); the loaded and skipped rules are listed with the reasons.

use axum::http::StatusCode;
use serde_json::{Value, json};
use warden_server::auth::{Scope, create_token};
use warden_server::rules::SigmaSection;
use warden_server::{AppState, ServiceConfig, app};

use crate::common;

fn repo(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[tokio::test]
async fn log_events_are_matched_by_the_rules_and_stored_as_alerts() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let cfg = ServiceConfig {
        sigma: SigmaSection {
            rules: vec![repo("tests/data/sigma"), repo("tests/data/sigma-bad")],
            mapping: None,
        },
        ..ServiceConfig::default()
    };
    let r = app(AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}")));
    // The first of the records (pretty JSON objects one after another).
    let sysmon: Value = serde_json::Deserializer::from_str(&common::repo_file(
        "tests/data/evtx/system_restore_disabled.json",
    ))
    .into_iter::<Value>()
    .next()
    .and_then(Result::ok)
    .unwrap_or(Value::Null);
    let activity: Value = serde_json::from_str(
        common::repo_file("examples/activity.jsonl")
            .lines()
            .next()
            .unwrap_or("{}"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let body = json!({"events": [activity, sysmon, {"user_id": 5}]});
    let send = || {
        common::oneshot(
            &r,
            "POST",
            "/v1/detect/realtime",
            Some(&token),
            "application/json",
            body.to_string().into_bytes(),
        )
    };
    let (s, _, v) = send().await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["results"][0]["score"].is_object(),
        "the activity is scored: {v}"
    );
    assert!(
        v["results"][2]["error"].is_object(),
        "a bad activity is still an error: {v}"
    );
    let titles: Vec<&str> = v["results"][1]["detections"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["rule_title"].as_str())
        .collect();
    assert_eq!(
        titles,
        [
            "Reg.exe Writes A Policy Value",
            "System Restore Disabled Through The Registry"
        ],
        "{v}"
    );
    // One alert per detection, at the rule's level.
    let alert = v["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["index"] == 1 && a["level"] == "HIGH")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(alert["level"], "HIGH", "{v}");
    assert_eq!(alert["new"], true);

    // Stored as an alert with the rule's explanation.
    let (_, _, one) = common::oneshot(
        &r,
        "GET",
        &format!("/v1/alerts/{}", alert["id"]),
        Some(&token),
        "application/json",
        Vec::new(),
    )
    .await;
    let a = &one["alert"];
    assert_eq!(a["primary_anomalies"], json!(["rule_match"]), "{one}");
    assert!(
        a["explanation"]
            .as_str()
            .is_some_and(|e| e.contains("System Restore Disabled") && e.contains("t1490")),
        "{one}"
    );
    assert_eq!(a["detector"], "sigma");
    assert_eq!(a["channel"], "threat");
    let body = &a["alert"];
    assert_eq!(body["anomalies"][0]["type"], "rule_match");
    assert!(
        body["detail"].get("ueba").is_none(),
        "no behavioural fields"
    );
    assert_eq!(body["attack"], json!(["impact", "T1490"]), "{body}");
    assert_eq!(
        body["entities"],
        json!([
            {"kind": "user", "value": "swachchhanda\\xodih"},
            {"kind": "host", "value": "swachchhanda"},
            {"kind": "process", "value": "C:\\WINDOWS\\system32\\reg.exe"}
        ]),
        "{body}"
    );
    // The detection itself, structured, and the event it matched.
    let rule = &body["detail"]["sigma"];
    assert_eq!(
        rule["rule_title"], "System Restore Disabled Through The Registry",
        "{one}"
    );
    assert_eq!(rule["computer"], "swachchhanda");
    assert!(
        rule["tags"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("attack.t1490")))
    );
    assert!(rule["details"]["TargetObject"].is_string(), "{rule}");
    let trigger = &body["evidence"][0];
    assert_eq!(trigger["event"]["Event"]["System"]["EventRecordID"], 35579);
    assert_eq!(trigger["reference"]["record_id"], 35579, "{trigger}");

    // A replay stores nothing twice.
    let (_, _, again) = send().await;
    let replayed = again["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["index"] == 1 && a["level"] == "HIGH")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(replayed["id"], alert["id"]);
    assert_eq!(replayed["new"], false);

    // The rule set: loaded, searchable, skipped with reasons.
    let (s, _, rules) = common::oneshot(
        &r,
        "GET",
        "/v1/rules",
        Some(&token),
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(rules["loaded"].as_u64().is_some_and(|n| n >= 5), "{rules}");
    let skipped = rules["skipped"].as_array().cloned().unwrap_or_default();
    assert!(skipped.len() >= 4, "{rules}");
    assert!(
        skipped
            .iter()
            .all(|s| s["reason"].as_str().is_some_and(|r| !r.is_empty())),
        "{rules}"
    );
    let (_, _, some) = common::oneshot(
        &r,
        "GET",
        "/v1/rules?q=restore&limit=5",
        Some(&token),
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!(some["total"], 1, "{some}");
    assert_eq!(some["rules"][0]["level"], "high");
    let (s, _, bad) = common::oneshot(
        &r,
        "GET",
        "/v1/rules?limit=0",
        Some(&token),
        "application/json",
        Vec::new(),
    )
    .await;
    common::assert_invalid(s, &bad, "limit");
    // The search's limit is the schema's `maxLength`: 200 characters, however many bytes
    // they take (`Ω` is two), and one more is refused.
    let search = |n: usize| {
        let path = format!("/v1/rules?q={}", "%CE%A9".repeat(n));
        let (r, token) = (&r, &token);
        async move {
            common::oneshot(r, "GET", &path, Some(token), "application/json", Vec::new()).await
        }
    };
    let (s, _, ok) = search(200).await;
    assert_eq!(s, StatusCode::OK, "{ok}");
    assert_eq!(ok["total"], 0, "{ok}");
    let (s, _, bad) = search(201).await;
    common::assert_invalid(s, &bad, "q");
}

#[test]
fn a_missing_rule_folder_stops_the_service_naming_the_key() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let cfg = ServiceConfig {
        sigma: SigmaSection {
            rules: vec![repo("tests/data/no-such-rules")],
            mapping: None,
        },
        ..ServiceConfig::default()
    };
    let e = AppState::new(cfg, store).err().map(|e| e.to_string());
    assert!(
        e.as_deref()
            .is_some_and(|e| e.starts_with("sigma.rules") && e.contains("no-such-rules")),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_event_with_a_huge_field_makes_small_alerts() {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "w").unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = ServiceConfig {
        sigma: SigmaSection {
            rules: vec![repo("tests/data/sigma")],
            mapping: None,
        },
        ..ServiceConfig::default()
    };
    cfg.server.alert_level = warden_event::ThreatLevel::Low;
    let r = app(AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}")));
    let mut sysmon: Value = serde_json::Deserializer::from_str(&common::repo_file(
        "tests/data/evtx/system_restore_disabled.json",
    ))
    .into_iter::<Value>()
    .next()
    .and_then(Result::ok)
    .unwrap_or(Value::Null);
    // A 2 MB computer name: every alert names the computer.
    sysmon["Event"]["System"]["Computer"] = json!("W".repeat(2 << 20));
    let body = json!({"events": [sysmon]}).to_string().into_bytes();
    let (s, _, v) = common::oneshot(
        &r,
        "POST",
        "/v1/detect/realtime",
        Some(&token),
        "application/json",
        body,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<i64> = common::alert_ids(&v);
    assert!(
        ids.len() >= 2,
        "{}",
        &v.to_string()[..500.min(v.to_string().len())]
    );
    for id in ids {
        let (_, _, one) = common::oneshot(
            &r,
            "GET",
            &format!("/v1/alerts/{id}"),
            Some(&token),
            "application/json",
            Vec::new(),
        )
        .await;
        let size = one["alert"]["alert"].to_string().len();
        assert!(size < 256 * 1024, "alert {id} is {size} bytes");
        assert!(one.to_string().contains("more bytes]"), "the cut is said");
    }
}
