//! HTTP outputs: the Splunk HTTP Event Collector and the Elasticsearch / OpenSearch `_bulk`
//! API (ECS-shaped documents), and the sending shared with webhooks. Alerts are sent in
//! batches (what is waiting in the output's queue, up to `batch`) with one request each;
//! delivery is idempotent where the receiver allows it — the Elasticsearch document id is
//! stable ([`document_id`]) and written with `create`, so a retried batch never indexes an
//! alert twice.
//!
//! Requests are made with `ureq` on Tokio's blocking pool, one at a time per output.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_event::{Alert, AlertDetail, AnomalyType, DetectorKind, EntityKind};

use crate::Delivery;
use crate::format::{severity, signature};

/// A secret from the configuration: either the value itself or `env:NAME`, read from the
/// environment when it is used (so the file need not hold it). Never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(v: impl Into<String>) -> Self {
        Secret(v.into())
    }

    /// The value, with `env:NAME` looked up; an error names the variable.
    pub fn resolve(&self) -> Result<String, String> {
        match self.0.strip_prefix("env:") {
            Some(var) => {
                std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))
            }
            None => Ok(self.0.clone()),
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The alert as a JSON value, its numbers as they are written: going through the text
/// keeps `0.9` from becoming `0.8999999761581421` (a `Value` widens `f32` to `f64`).
pub(crate) fn alert_value(a: &Alert) -> Value {
    serde_json::to_string(a)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

/// An `f32` as the JSON number it is written as (`66.5`, `91.3`).
fn f32_value(x: f32) -> Value {
    x.to_string()
        .parse::<f64>()
        .map_or(Value::Null, Value::from)
}

/// One Splunk HEC event (`/services/collector/event` accepts them one after another).
pub fn hec_event(d: &Delivery, host: &str, index: Option<&str>, sourcetype: &str) -> Value {
    let a = &d.alert;
    let time =
        warden_event::Timestamp::parse_rfc3339(&a.timestamp).map_or(0.0, |t| t.0 as f64 / 1000.0);
    let mut ev = json!({
        "time": time,
        "host": host,
        "source": "warden",
        "sourcetype": sourcetype,
        "event": {
            "alert_id": d.id,
            "tenant": a.tenant,
            "threat_level": a.level.as_str(),
            "alert": alert_value(a),
        },
    });
    if let Some(i) = index {
        ev["index"] = json!(i);
    }
    ev
}

/// ECS `event.category` of a detector's alerts.
fn category(kind: DetectorKind) -> Value {
    match kind {
        DetectorKind::Ueba | DetectorKind::Model => json!(["iam"]),
        DetectorKind::Flow => json!(["network", "intrusion_detection"]),
        DetectorKind::Sigma | DetectorKind::Graph | DetectorKind::Payload => {
            json!(["intrusion_detection"])
        }
    }
}

/// ECS `rule.name`: a Sigma rule's title, else the strongest anomaly type, else the
/// detector's family.
fn rule_name(a: &Alert) -> String {
    match &a.detail {
        AlertDetail::Sigma(r) if !r.rule_title.is_empty() => r.rule_title.clone(),
        _ => signature(a).to_owned(),
    }
}

/// The ECS document of one alert (Elastic Common Schema 8: `event.kind: alert`), the whole
/// alert under `warden`.
pub fn ecs_document(d: &Delivery, host: &str) -> Value {
    let a = &d.alert;
    let primary: Vec<&str> = a
        .primary_anomalies()
        .into_iter()
        .map(AnomalyType::as_str)
        .collect();
    let mut doc = json!({
        "@timestamp": a.timestamp,
        "message": a.explanation,
        "event": {
            "kind": "alert",
            "category": category(a.detector.kind),
            "type": ["info"],
            "module": "warden",
            "dataset": "warden.alert",
            "id": d.external_id(),
            "severity": severity(a.level),
            "risk_score": f32_value(a.score),
            "reason": a.explanation,
        },
        "rule": {
            "name": rule_name(a),
            "id": a.detector.id,
            "category": a.detector.kind.as_str(),
        },
        "threat": {"indicator": {"confidence": confidence_label(a.confidence)}},
        "observer": {"vendor": "Warden", "product": "Warden", "type": "ids", "hostname": host},
        "labels": {
            "tenant": a.tenant,
            "threat_level": a.level.as_str(),
            "detector": a.detector.kind.as_str(),
        },
        "tags": primary,
        "warden": alert_value(a),
    });
    if let Some(u) = a.entity(EntityKind::User) {
        doc["user"] = json!({ "name": u });
    }
    if let Some(h) = a.entity(EntityKind::Host) {
        doc["host"] = json!({ "name": h });
    }
    // `source.ip` is an `ip` field: anything else would make the cluster refuse the
    // document.
    if let Some(ip) = a
        .entity(EntityKind::Ip)
        .and_then(|ip| ip.parse::<IpAddr>().ok())
    {
        doc["source"] = json!({ "ip": ip.to_string() });
    }
    let techniques: Vec<&str> = a
        .attack
        .iter()
        .map(String::as_str)
        .filter(|t| t.starts_with('T'))
        .collect();
    if !techniques.is_empty() {
        doc["threat"]["framework"] = json!("MITRE ATT&CK");
        doc["threat"]["technique"] = json!({ "id": techniques });
    }
    doc
}

/// ECS `threat.indicator.confidence` is one of Low, Medium, High.
fn confidence_label(c: f32) -> &'static str {
    if c >= 0.8 {
        "High"
    } else if c >= 0.5 {
        "Medium"
    } else {
        "Low"
    }
}

/// The Elasticsearch document id of an alert: `<tenant>-<store id>`, or for an alert that
/// was not stored `<tenant>-<hash of its key, detector, time and subject>`.
pub fn document_id(d: &Delivery) -> String {
    match d.id {
        Some(id) => format!("{}-{id}", d.alert.tenant),
        None => format!("{}-{}", d.alert.tenant, crate::content_key(&d.alert)),
    }
}

/// The `_bulk` body for a batch: `create` with a stable id, then the document.
pub fn bulk_body(batch: &[Delivery], index: &str, host: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for d in batch {
        let action = json!({"create": {"_index": index, "_id": document_id(d)}});
        for v in [action, ecs_document(d, host)] {
            if serde_json::to_writer(&mut out, &v).is_ok() {
                out.push(b'\n');
            }
        }
    }
    out
}

/// What a request carries besides its body (no `Debug`: it holds credentials).
#[derive(Clone)]
pub struct Request {
    pub url: String,
    pub content_type: &'static str,
    /// `Authorization` header value.
    pub authorization: Option<String>,
    /// Further headers (a webhook's signature).
    pub headers: Vec<(&'static str, String)>,
    pub timeout: Duration,
}

/// Sends one POST; `Ok` only for a 2xx answer that `check` accepts.
pub async fn send(
    req: Request,
    body: Vec<u8>,
    check: fn(&str) -> Result<(), String>,
) -> std::io::Result<()> {
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(req.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let mut r = agent
            .post(&req.url)
            .header("Content-Type", req.content_type);
        if let Some(a) = &req.authorization {
            r = r.header("Authorization", a.as_str());
        }
        for (name, value) in &req.headers {
            r = r.header(*name, value.as_str());
        }
        let mut resp = r.send(&body[..]).map_err(std::io::Error::other)?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(std::io::Error::other(format!(
                "the receiver answered {status}: {}",
                text.chars().take(200).collect::<String>()
            )));
        }
        check(&text).map_err(std::io::Error::other)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// Any 2xx answer will do (webhooks).
pub fn any_ok(_text: &str) -> Result<(), String> {
    Ok(())
}

/// HEC answers `{"text":"Success","code":0}`.
pub fn hec_ok(text: &str) -> Result<(), String> {
    match serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("code")?.as_i64())
    {
        Some(0) | None => Ok(()),
        Some(c) => Err(format!("HEC refused the batch (code {c}): {text}")),
    }
}

/// `_bulk` answers 200 even when items fail: look at each; an item that already exists
/// (409, from an earlier attempt) counts as delivered.
pub fn bulk_ok(text: &str) -> Result<(), String> {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Err("the _bulk answer is not JSON".into());
    };
    if v.get("errors").and_then(Value::as_bool) != Some(true) {
        return Ok(());
    }
    let failed: Vec<String> = v
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.as_object()?.values().next().cloned())
        .filter(|i| {
            i.get("status")
                .and_then(Value::as_u64)
                .is_some_and(|s| s != 409 && !(200..300).contains(&s))
        })
        .map(|i| {
            i.get("error")
                .map_or_else(|| i.to_string(), Value::to_string)
        })
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} documents refused, first: {}",
            failed.len(),
            failed[0]
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{sigma, ueba};

    #[test]
    fn bulk_answers() {
        assert!(bulk_ok(r#"{"errors":false,"items":[]}"#).is_ok());
        let dup = r#"{"errors":true,"items":[{"create":{"status":409,"error":{"type":"version_conflict_engine_exception"}}},{"create":{"status":201}}]}"#;
        assert!(
            bulk_ok(dup).is_ok(),
            "an alert indexed by an earlier attempt is delivered"
        );
        let bad = r#"{"errors":true,"items":[{"create":{"status":400,"error":{"type":"mapper_parsing_exception"}}}]}"#;
        let e = bulk_ok(bad).unwrap_err();
        assert!(e.contains("mapper_parsing_exception"), "{e}");
        assert!(bulk_ok("<html>").is_err());
    }

    #[test]
    fn hec_answers() {
        assert!(hec_ok(r#"{"text":"Success","code":0}"#).is_ok());
        assert!(hec_ok(r#"{"text":"Invalid token","code":4}"#).is_err());
    }

    #[test]
    fn secrets_from_the_environment_and_never_printed() {
        assert_eq!(Secret::new("abc").resolve().as_deref(), Ok("abc"));
        assert!(
            Secret::new("env:WARDEN_TEST_SURELY_UNSET_VAR")
                .resolve()
                .unwrap_err()
                .contains("WARDEN_TEST_SURELY_UNSET_VAR")
        );
        assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
    }

    #[test]
    fn the_ecs_document_of_a_behavioural_alert() {
        let doc = ecs_document(&ueba("impossible travel", "eve"), "sensor1");
        assert_eq!(doc["@timestamp"], "2026-03-31T23:33:20Z");
        assert_eq!(doc["event"]["kind"], "alert");
        assert_eq!(doc["event"]["category"], json!(["iam"]));
        assert_eq!(doc["event"]["severity"], 8);
        assert_eq!(doc["event"]["risk_score"], json!(66.5));
        assert_eq!(doc["event"]["id"], "42");
        assert_eq!(doc["rule"]["name"], "impossible_travel");
        assert_eq!(doc["rule"]["id"], "ueba");
        assert_eq!(doc["user"]["name"], "eve");
        assert!(doc.get("host").is_none() && doc.get("source").is_none());
        assert_eq!(doc["threat"]["technique"]["id"], json!(["T1078"]));
        assert_eq!(doc["message"], "impossible travel");
        assert_eq!(doc["observer"]["hostname"], "sensor1");
        assert_eq!(doc["tags"], json!(["impossible_travel"]));
        // The whole alert, its numbers as written.
        assert_eq!(doc["warden"]["key"], "e|1=x");
        assert_eq!(doc["warden"]["confidence"], json!(0.9));
        assert_eq!(doc["warden"]["detail"]["ueba"]["user_id"], "eve");
    }

    #[test]
    fn the_ecs_document_of_a_rule_match() {
        let doc = ecs_document(&sigma(), "sensor1");
        assert_eq!(doc["event"]["category"], json!(["intrusion_detection"]));
        assert_eq!(doc["event"]["risk_score"], json!(75.0));
        assert_eq!(doc["event"]["id"], "sigma:r1:7");
        assert_eq!(doc["rule"]["name"], "Suspicious PowerShell | encoded");
        assert_eq!(doc["rule"]["id"], "r1");
        assert_eq!(doc["host"]["name"], "dc1");
        assert_eq!(doc["source"]["ip"], "10.0.0.5");
        assert!(doc.get("user").is_none(), "no user entity, no user.name");
        // Tactics are not techniques.
        assert_eq!(doc["threat"]["technique"]["id"], json!(["T1059.001"]));
        assert_eq!(doc["threat"]["framework"], "MITRE ATT&CK");
        assert_eq!(doc["labels"]["tenant"], "t");
        assert_eq!(doc["warden"]["detector"]["kind"], "sigma");
        assert_eq!(doc["warden"]["attack"], json!(["T1059.001", "execution"]));
    }

    #[test]
    fn a_source_that_is_not_an_address_is_left_out() {
        let mut d = sigma();
        let mut a = (*d.alert).clone();
        a.entities = vec![warden_event::Entity::new(EntityKind::Ip, "not-an-ip")];
        d.alert = std::sync::Arc::new(a);
        assert!(ecs_document(&d, "h").get("source").is_none());
    }

    #[test]
    fn bulk_ids_are_stable_with_and_without_a_store_id() {
        let batch = [ueba("x", "eve"), sigma()];
        let body = bulk_body(&batch, "warden-alerts", "sensor1");
        let text = String::from_utf8(body).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0]["create"]["_index"], "warden-alerts");
        assert_eq!(lines[0]["create"]["_id"], "acme-42");
        assert_eq!(lines[1]["event"]["kind"], "alert");
        let a = &batch[1].alert;
        let hash = warden_event::content_hash(&[&a.key, &a.detector.id, &a.timestamp, &a.subject]);
        assert_eq!(lines[2]["create"]["_id"], format!("t-{hash}"));
        assert_eq!(lines[3]["rule"]["id"], "r1");
        // The same alert again gets the same id: a retried batch creates nothing twice.
        assert_eq!(document_id(&sigma()), format!("t-{hash}"));
    }

    #[test]
    fn a_hec_event_wraps_the_alert() {
        let ev = hec_event(
            &ueba("x", "eve"),
            "sensor1",
            Some("security"),
            "warden:alert",
        );
        assert_eq!(ev["time"], json!(1_775_000_000.0));
        assert_eq!(ev["host"], "sensor1");
        assert_eq!(ev["index"], "security");
        assert_eq!(ev["sourcetype"], "warden:alert");
        assert_eq!(ev["event"]["alert_id"], 42);
        assert_eq!(ev["event"]["tenant"], "acme");
        assert_eq!(ev["event"]["threat_level"], "HIGH");
        assert_eq!(ev["event"]["alert"]["subject"], "eve");
        let ev = hec_event(&sigma(), "sensor1", None, "warden:alert");
        assert!(ev.get("index").is_none());
        assert_eq!(ev["event"]["alert_id"], Value::Null);
    }
}
