//! Alert bodies written before schema 7 held a ThreatScore (with, for the service, the
//! event that raised it, the user's events before it and, for a rule match, the rule's
//! detection beside it). They are read back as [`Alert`]s, so every reader sees one shape
//! whatever the age of the row.

use serde_json::Value;
use warden_event::{
    Alert, AlertDetail, Detector, DetectorKind, EventRef, Evidence, EvidenceRole, RuleMatch,
    ThreatScore, attack_from_tags,
};

/// A stored body as an alert's JSON: as it is when it is already one, upgraded when it is a
/// ThreatScore, `null` when it is neither (or left out of a listing).
pub fn alert_body(body: &str, tenant: &str, detector: &str) -> Value {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return Value::Null;
    };
    if v.get("detector").is_some() && v.get("detail").is_some() {
        return v;
    }
    match upgrade(&v, tenant, detector) {
        Some(a) => serde_json::to_value(a).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

fn upgrade(v: &Value, tenant: &str, detector: &str) -> Option<Alert> {
    let score: ThreatScore = serde_json::from_value(v.clone()).ok()?;
    let mut a = Alert::from_threat_score(tenant, &score);
    let event = v.get("event").filter(|e| e.is_object()).cloned();
    if let Some(t) = a.evidence.first_mut() {
        t.event = event;
    }
    if let Some(before) = v.get("context_events").and_then(Value::as_array) {
        a.evidence.extend(before.iter().map(|e| {
            Evidence {
                role: EvidenceRole::Context,
                reference: match e.get("event_id").and_then(Value::as_str) {
                    Some(id) => EventRef::EventId {
                        event_id: id.to_owned(),
                    },
                    None => EventRef::Hash {
                        hash: warden_event::content_hash(&[&e.to_string()]),
                    },
                },
                timestamp: e
                    .get("timestamp")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                event: Some(e.clone()),
            }
        }));
    }
    if detector == DetectorKind::Sigma.as_str() {
        let rule: RuleMatch = v
            .get("rule")
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_default();
        a.detector = Detector {
            kind: DetectorKind::Sigma,
            id: rule.rule_id.clone(),
        };
        a.attack = attack_from_tags(&rule.tags);
        if let Some(t) = a.evidence.first_mut()
            && let Some(record_id) = rule.record_id
        {
            t.reference = EventRef::Record {
                computer: rule.computer.clone(),
                record_id,
            };
        }
        a.detail = AlertDetail::Sigma(rule);
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCORE: &str = r#"{"event_id":"e1","user_id":"ana","timestamp":"2026-04-02T01:00:00Z",
        "threat_score":60.0,"threat_level":"HIGH","primary_anomalies":["new_device"],
        "confidence":0.9,"isolation_forest_score":null,"lstm_autoencoder_score":null,
        "xgboost_ensemble_score":null,"impossible_travel_detected":false,
        "unusual_time_detected":false,"unusual_volume_detected":false,
        "unusual_resources_detected":false,"behavioral_deviation_score":0.2,
        "recommended_actions":[],"explanation":"x","learning":false,"anomalies":[]"#;

    #[test]
    fn a_stored_threat_score_reads_as_an_alert_with_its_events() {
        let body = format!(
            r#"{SCORE},"event":{{"user_id":"ana"}},"context_events":[{{"event_id":"e0","timestamp":"t"}}]}}"#
        );
        let v = alert_body(&body, "acme", "ueba");
        assert_eq!(v["tenant"], "acme");
        assert_eq!(v["detector"]["kind"], "ueba");
        assert_eq!(v["detail"]["ueba"]["event_id"], "e1");
        assert_eq!(v["evidence"][0]["event"]["user_id"], "ana");
        assert_eq!(v["evidence"][1]["role"], "context");
        assert_eq!(v["evidence"][1]["reference"]["event_id"], "e0");
    }

    #[test]
    fn a_stored_rule_match_reads_as_a_sigma_alert() {
        let body = format!(
            r#"{SCORE},"rule":{{"rule_id":"r1","rule_title":"T","level":"high","tags":["attack.t1033"],"record_id":7,"computer":"WS1","details":{{}}}},"event":{{"EventID":1}}}}"#
        );
        let v = alert_body(&body, "acme", "sigma");
        assert_eq!(v["detector"]["id"], "r1");
        assert_eq!(v["detail"]["sigma"]["rule_title"], "T");
        assert!(v["detail"].get("ueba").is_none());
        assert_eq!(v["attack"][0], "T1033");
        assert_eq!(v["evidence"][0]["reference"]["record_id"], 7);
        assert_eq!(alert_body("null", "t", "ueba"), Value::Null);
        assert_eq!(alert_body("not json", "t", "ueba"), Value::Null);
    }
}
