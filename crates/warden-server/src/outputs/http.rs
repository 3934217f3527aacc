//! HTTP outputs: the Splunk HTTP Event Collector and the Elasticsearch / OpenSearch `_bulk`
//! API (ECS-shaped documents). Alerts are sent in batches (what is waiting in the output's
//! queue, up to `batch`) with one request each; delivery is idempotent where the receiver
//! allows it — the Elasticsearch document id is `<tenant>-<alert id>` with `create`, so a
//! retried batch never indexes an alert twice.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::routes::stream::Published;

/// A secret from the configuration: either the value itself or `env:NAME`, read from the
/// environment when the output starts (so the file need not hold it). Never printed.
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

/// One Splunk HEC event (`/services/collector/event` accepts them one after another).
pub fn hec_event(p: &Published, host: &str, index: Option<&str>, sourcetype: &str) -> Value {
    let time = warden_event::Timestamp::parse_rfc3339(&p.score.timestamp)
        .map_or(0.0, |t| t.0 as f64 / 1000.0);
    let mut ev = json!({
        "time": time,
        "host": host,
        "source": "warden",
        "sourcetype": sourcetype,
        "event": {
            "alert_id": p.id,
            "tenant": p.tenant,
            "threat_level": p.level.as_str(),
            "score": p.score,
        },
    });
    if let Some(i) = index {
        ev["index"] = json!(i);
    }
    ev
}

/// The ECS document of one alert (Elastic Common Schema 8: `event.kind: alert`).
pub fn ecs_document(p: &Published, host: &str) -> Value {
    let s = &p.score;
    json!({
        "@timestamp": s.timestamp,
        "message": s.explanation,
        "event": {
            "kind": "alert",
            "category": ["iam"],
            "type": ["info"],
            "module": "warden",
            "dataset": "warden.alert",
            "id": p.id.to_string(),
            "severity": super::format::severity(p.level),
            "risk_score": s.threat_score,
            "reason": s.explanation,
        },
        "user": {"name": s.user_id},
        "rule": {
            "name": p.primary.first().map_or("behavioral_alert", String::as_str),
            "category": "behavior",
        },
        "threat": {"indicator": {"confidence": confidence_label(s.confidence)}},
        "observer": {"vendor": "Warden", "product": "Warden", "type": "ueba", "hostname": host},
        "labels": {"tenant": p.tenant, "threat_level": p.level.as_str()},
        "tags": p.primary,
        "warden": s,
    })
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

/// The `_bulk` body for a batch: `create` with a stable id, then the document.
pub fn bulk_body(batch: &[std::sync::Arc<Published>], index: &str, host: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for p in batch {
        let action = json!({"create": {"_index": index, "_id": format!("{}-{}", p.tenant, p.id)}});
        for v in [action, ecs_document(p, host)] {
            if serde_json::to_writer(&mut out, &v).is_ok() {
                out.push(b'\n');
            }
        }
    }
    out
}

/// What a request carries besides its body.
pub struct Request {
    pub url: String,
    pub content_type: &'static str,
    /// `Authorization` header value.
    pub authorization: Option<String>,
    pub timeout: Duration,
}

/// Sends one request; `Ok` only for a 2xx answer the receiver did not reject.
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
            r = r.header("Authorization", a);
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
}
