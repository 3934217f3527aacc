//! Bounds on what an alert carries from its event. Every string of an alert may come from
//! an event a client sent (a user name, a computer name, a matched command line), and an
//! alert is written to the store, the stream, the outputs and the webhooks — several times
//! when one event raises several alerts. An alert whose JSON is larger than
//! [`MAX_ALERT_BYTES`] has each of its strings cut to [`MAX_ALERT_STRING`] bytes (at a
//! character boundary, saying how much was cut), so a 16 MB field costs its 16 MB once, in
//! the request, and not again per alert and per destination.

use serde_json::Value;

use crate::Alert;

/// An alert's JSON size past which its strings are bounded.
pub const MAX_ALERT_BYTES: usize = 256 * 1024;
/// Most bytes of one string of a bounded alert.
pub const MAX_ALERT_STRING: usize = 4 * 1024;

/// `a` with its strings bounded when it is too large (see the module docs).
pub fn bounded(a: Alert) -> Alert {
    let Ok(text) = serde_json::to_vec(&a) else {
        return a;
    };
    if text.len() <= MAX_ALERT_BYTES {
        return a;
    }
    let Ok(mut v) = serde_json::from_slice::<Value>(&text) else {
        return a;
    };
    drop(text);
    cut_strings(&mut v, MAX_ALERT_STRING);
    serde_json::from_value(v).unwrap_or(a)
}

/// Cuts every string of `v` longer than [`MAX_ALERT_STRING`] (for answers that echo
/// events).
pub fn cut_value(v: &mut Value) {
    cut_strings(v, MAX_ALERT_STRING);
}

/// `s` cut to at most `max` bytes (plus a note of what was cut), at a character boundary.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [{} more bytes]", &s[..end], s.len() - end)
}

fn cut_strings(v: &mut Value, max: usize) {
    match v {
        Value::String(s) if s.len() > max => *s = cut(s, max),
        Value::Array(items) => items.iter_mut().for_each(|i| cut_strings(i, max)),
        Value::Object(map) => map.values_mut().for_each(|i| cut_strings(i, max)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ThreatLevel, ThreatScore};

    #[test]
    fn a_huge_field_is_cut_and_a_normal_alert_untouched() {
        let s: ThreatScore = serde_json::from_value(serde_json::json!({
            "event_id": "e1", "user_id": "ana", "timestamp": "2026-04-02T01:00:00Z",
            "threat_score": 80.0, "threat_level": "HIGH", "primary_anomalies": [],
            "confidence": 0.9, "behavioral_deviation_score": 0.1, "recommended_actions": [],
            "impossible_travel_detected": false, "unusual_time_detected": false,
            "unusual_volume_detected": false, "unusual_resources_detected": false,
            "isolation_forest_score": null, "lstm_autoencoder_score": null,
            "xgboost_ensemble_score": null, "learning": false,
            "explanation": "x", "anomalies": []
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let normal = Alert::from_threat_score("acme", &s);
        assert_eq!(bounded(normal.clone()), normal);
        let mut huge = normal;
        huge.subject = "é".repeat(1 << 20);
        huge.explanation = "y".repeat(1 << 20);
        let b = bounded(huge);
        assert!(
            b.subject.len() < MAX_ALERT_STRING + 64,
            "{}",
            b.subject.len()
        );
        assert!(b.subject.ends_with("more bytes]"));
        assert!(serde_json::to_vec(&b).map_or(0, |t| t.len()) < MAX_ALERT_BYTES);
        assert_eq!(b.level, ThreatLevel::High);
        assert_eq!(cut("abc", 2), "ab… [1 more bytes]");
    }
}
