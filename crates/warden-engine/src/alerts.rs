//! Detector outputs as [`Alert`]s: a Sigma detection scored by its rule's level and
//! explained by the rule and the fields that matched; a network flow a model found
//! anomalous, explained by the features that weighed most. (A behavioural score becomes an
//! alert through [`Alert::from_threat_score`].)

use serde_json::Value;
use warden_event::{
    Alert, AlertDetail, Anomaly, AnomalyType, Detector, DetectorKind, EntityKind, EventRef,
    Evidence, EvidenceRole, FeatureShare, FlowFinding, LogEvent, RuleMatch, ThreatLevel,
    attack_from_tags,
};
use warden_sigma::Level;

use crate::config::Actions;
use crate::models::FlowAssessment;
use crate::sigma::SigmaAlert;

/// Log events larger than this (as JSON) are not kept in an alert's evidence (the rule's
/// fields are).
pub const MAX_EVIDENCE_BYTES: usize = 16 * 1024;

/// The score and level of a rule's detection.
pub fn level_score(l: Level) -> (f32, ThreatLevel) {
    match l {
        Level::Informational => (10.0, ThreatLevel::Low),
        Level::Low => (30.0, ThreatLevel::Low),
        Level::Medium => (50.0, ThreatLevel::Medium),
        Level::High => (75.0, ThreatLevel::High),
        Level::Critical => (95.0, ThreatLevel::Critical),
    }
}

/// The recommended actions of a level.
pub fn actions_for(actions: &Actions, level: ThreatLevel) -> Vec<String> {
    match level {
        ThreatLevel::Low => actions.low.clone(),
        ThreatLevel::Medium => actions.medium.clone(),
        ThreatLevel::High => actions.high.clone(),
        ThreatLevel::Critical => actions.critical.clone(),
    }
}

/// Who a log event is about: its user when it names one.
fn log_user(doc: &Value) -> Option<String> {
    const USER_PATHS: [&str; 8] = [
        "/Event/EventData/User",
        "/Event/EventData/TargetUserName",
        "/Event/EventData/SubjectUserName",
        "/User",
        "/TargetUserName",
        "/SubjectUserName",
        "/user/name",
        "/winlog/user/name",
    ];
    USER_PATHS
        .iter()
        .filter_map(|p| doc.pointer(p).and_then(Value::as_str))
        .find(|u| !u.is_empty() && *u != "-")
        .map(str::to_owned)
}

/// The first text value among JSON pointers.
fn text_at(doc: &Value, pointers: &[&str]) -> Option<String> {
    pointers
        .iter()
        .filter_map(|p| doc.pointer(p).and_then(Value::as_str))
        .find(|v| !v.is_empty() && *v != "-")
        .map(str::to_owned)
}

/// The matched rule as the alert's detail.
pub fn rule_match(a: &SigmaAlert) -> RuleMatch {
    RuleMatch {
        rule_id: a.rule_id.clone(),
        rule_title: a.rule_title.clone(),
        level: a.level.clone(),
        tags: a.tags.clone(),
        computer: a.computer.clone(),
        channel: a.channel.clone(),
        event_id: a.event_id,
        record_id: a.record_id,
        file: a.file.clone(),
        details: a.details.clone(),
        correlation: a.correlation,
    }
}

fn rule_sentence(a: &SigmaAlert) -> String {
    let fields: Vec<String> = a
        .details
        .iter()
        .take(6)
        .map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            let v: String = v.chars().take(160).collect();
            format!("{k}={v}")
        })
        .collect();
    let attack: Vec<&str> = a
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack."))
        .collect();
    let mut detail = format!(
        "Sigma {} \"{}\" ({}, level {}) matched",
        if a.correlation { "correlation" } else { "rule" },
        a.rule_title,
        a.rule_id,
        a.level
    );
    if let Some(c) = &a.computer {
        detail.push_str(&format!(" on {c}"));
    }
    match (&a.channel, a.event_id) {
        (Some(ch), Some(id)) => detail.push_str(&format!(" ({ch}, EventID {id})")),
        (Some(ch), None) => detail.push_str(&format!(" ({ch})")),
        (None, Some(id)) => detail.push_str(&format!(" (EventID {id})")),
        (None, None) => {}
    }
    if !fields.is_empty() {
        detail.push_str(&format!(": {}", fields.join(", ")));
    }
    if !attack.is_empty() {
        detail.push_str(&format!("; ATT&CK {}", attack.join(", ")));
    }
    detail
}

/// A Sigma detection on a log event as an alert: scored by the rule's level, explained by
/// the rule and the fields that matched, with the event as evidence (when it is small
/// enough to keep). `now` is used when the event carries no time.
pub fn from_sigma(
    tenant: &str,
    a: &SigmaAlert,
    event: Option<&LogEvent>,
    actions: &Actions,
    now: &str,
) -> Alert {
    let level = Level::parse(&a.level).unwrap_or_default();
    let (score, threat_level) = level_score(level);
    let detail = rule_sentence(a);
    let doc = event.map(|e| &e.doc);
    let user = doc.and_then(log_user);
    let subject = user.clone().unwrap_or_else(|| {
        a.computer
            .as_ref()
            .map_or_else(|| "unknown".into(), |c| format!("host:{c}"))
    });
    let timestamp = if a.timestamp.is_empty() {
        now.to_owned()
    } else {
        a.timestamp.clone()
    };
    let reference = sigma_reference(a, event, &timestamp, &subject);
    // The key: the rule and the record (or a hash of the event), so a replayed event is
    // never stored twice; the digest of the event's content joins it in the identity.
    let record = record_of(&reference, doc, &timestamp, &subject);
    // What the event says belongs to its identity too: an event sent first under the same
    // record id cannot make this detection a duplicate.
    let text = doc.map(ToString::to_string);
    let kept = doc.filter(|_| text.as_ref().is_some_and(|t| t.len() <= MAX_EVIDENCE_BYTES));
    let mut alert = Alert {
        tenant: tenant.to_owned(),
        key: format!("sigma:{}:{record}", a.rule_id),
        digest: text.map(|t| warden_event::content_digest(&[&t])),
        timestamp: timestamp.clone(),
        subject,
        entities: Vec::new(),
        detector: Detector {
            kind: DetectorKind::Sigma,
            id: a.rule_id.clone(),
        },
        level: threat_level,
        score,
        confidence: 1.0,
        anomalies: vec![Anomaly {
            kind: AnomalyType::RuleMatch,
            confidence: 1.0,
            contribution: score,
            detail: detail.clone(),
        }],
        explanation: format!(
            "{} ({score:.1}): rule match (+{score:.1}) — {detail}.",
            threat_level.as_str()
        ),
        recommended_actions: actions_for(actions, threat_level),
        evidence: vec![Evidence {
            role: EvidenceRole::Trigger,
            reference,
            timestamp: (!a.timestamp.is_empty()).then(|| a.timestamp.clone()),
            event: kept.cloned(),
        }],
        attack: attack_from_tags(&a.tags),
        detail: AlertDetail::Sigma(rule_match(a)),
    };
    add_sigma_entities(&mut alert, a, user.as_deref(), doc);
    alert
}

/// Where a Sigma detection's event is: its record (with its computer), else its line in
/// a named input, else a hash of the rule, time and subject.
fn sigma_reference(
    a: &SigmaAlert,
    event: Option<&LogEvent>,
    timestamp: &str,
    subject: &str,
) -> EventRef {
    match (event, a.record_id) {
        (_, Some(record_id)) => EventRef::Record {
            computer: a.computer.clone(),
            record_id,
        },
        (Some(e), None) => e.reference(a.computer.as_deref()),
        // An exported event without its record id: its file and line.
        (None, None) => match (&a.file, a.line) {
            (Some(source), Some(line)) => EventRef::Line {
                source: source.clone(),
                line,
            },
            _ => EventRef::Hash {
                hash: warden_event::content_hash(&[&a.rule_id, timestamp, subject]),
            },
        },
    }
}

/// The record part of a Sigma alert's key: the record id, else a hash of the event (or
/// of its place, or its time and subject when it was not kept).
fn record_of(reference: &EventRef, doc: Option<&Value>, timestamp: &str, subject: &str) -> String {
    match reference {
        EventRef::Record { record_id, .. } => record_id.to_string(),
        EventRef::Hash { hash } => hash.clone(),
        EventRef::Line { source, line } if doc.is_none() => {
            warden_event::content_hash(&[source, &line.to_string()])
        }
        EventRef::Line { .. } | EventRef::EventId { .. } | EventRef::Connection { .. } => doc
            .map_or_else(
                || warden_event::content_hash(&[timestamp, subject]),
                |d| warden_event::content_hash(&[&d.to_string()]),
            ),
    }
}

/// The entities a Sigma alert names: its user and computer, those the event names, and
/// a correlation's group (a user, a host) from its details.
fn add_sigma_entities(alert: &mut Alert, a: &SigmaAlert, user: Option<&str>, doc: Option<&Value>) {
    if let Some(u) = user {
        alert.add_entity(EntityKind::User, u);
    }
    if let Some(c) = &a.computer {
        alert.add_entity(EntityKind::Host, c);
    }
    if let Some(d) = doc {
        add_log_entities(alert, d);
    }
    for (k, v) in &a.details {
        let Some(v) = v.as_str() else { continue };
        match k.as_str() {
            "TargetUserName" | "SubjectUserName" | "User" => {
                alert.add_entity(EntityKind::User, v);
            }
            "Computer" | "Workstation" | "WorkstationName" => {
                alert.add_entity(EntityKind::Host, v);
            }
            "IpAddress" | "SourceIp" | "DestinationIp" => alert.add_entity(EntityKind::Ip, v),
            _ => {}
        }
    }
}

/// IPs and processes a Windows, Sysmon or ECS event names.
fn add_log_entities(alert: &mut Alert, doc: &Value) {
    let ip = text_at(
        doc,
        &[
            "/Event/EventData/IpAddress",
            "/Event/EventData/SourceIp",
            "/IpAddress",
            "/SourceIp",
            "/source/ip",
        ],
    );
    if let Some(ip) = ip.filter(|i| i.parse::<std::net::IpAddr>().is_ok()) {
        alert.add_entity(EntityKind::Ip, &ip);
    }
    let process = text_at(
        doc,
        &[
            "/Event/EventData/Image",
            "/Event/EventData/NewProcessName",
            "/Image",
            "/NewProcessName",
            "/process/executable",
        ],
    );
    if let Some(p) = process {
        alert.add_entity(EntityKind::Process, &p);
    }
}

/// Where a flow came from, for its alert.
#[derive(Debug, Clone, Default)]
pub struct FlowSource<'a> {
    /// The model's registry name and version, or file name.
    pub model: &'a str,
    /// The flows' format name.
    pub format: &'a str,
    /// The input and line the flow was read from.
    pub source: &'a str,
    pub line: u64,
    /// The raw line (hashed into the alert's key, so a replay is stored once).
    pub raw: &'a str,
    /// The flow's endpoints, when its format carries them (Zeek).
    pub src_ip: Option<&'a str>,
    pub dst_ip: Option<&'a str>,
    /// When the flow happened, when its format carries it; else `now`.
    pub timestamp: Option<String>,
}

/// How far above its threshold a flow's score lies, as a 0–100 threat score: the
/// threshold itself maps to the bottom of MEDIUM, twice the threshold's distance to the
/// top of the scale to CRITICAL.
fn flow_score(score: f64, threshold: f64) -> f32 {
    let span = (1.0 - threshold).max(1e-6);
    let above = ((score - threshold) / span).clamp(0.0, 1.0);
    let s = 20.0 + 80.0 * above.sqrt();
    ((s * 10.0).round() / 10.0) as f32
}

/// An anomalous network flow as an alert on the `network` channel.
pub fn from_flow(
    tenant: &str,
    a: &FlowAssessment,
    src: &FlowSource<'_>,
    levels: &warden_event::LevelThresholds,
    actions: &Actions,
    now: &str,
) -> Alert {
    let score = flow_score(a.score, a.threshold);
    let level = ThreatLevel::from_score(score, levels);
    let timestamp = src.timestamp.clone().unwrap_or_else(|| now.to_owned());
    let subject = match (src.src_ip, src.dst_ip) {
        (Some(s), _) => s.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => format!("flow:{}:{}", src.source, src.line),
    };
    let detail = format!(
        "{} scored {:.3} (threshold {:.3}): {}",
        src.model, a.score, a.threshold, a.explanation
    );
    let mut alert = Alert {
        tenant: tenant.to_owned(),
        key: format!(
            "flow:{}:{}",
            src.model,
            warden_event::content_hash(&[src.raw])
        ),
        digest: Some(warden_event::content_digest(&[src.raw])),
        timestamp: timestamp.clone(),
        subject,
        entities: Vec::new(),
        detector: Detector {
            kind: DetectorKind::Flow,
            id: src.model.to_owned(),
        },
        level,
        score,
        confidence: ((a.score / a.threshold.max(1e-6)).min(2.0) / 2.0) as f32,
        anomalies: vec![Anomaly {
            kind: AnomalyType::NetworkAnomaly,
            confidence: 1.0,
            contribution: score,
            detail: detail.clone(),
        }],
        explanation: format!(
            "{} ({score:.1}): network anomaly (+{score:.1}) — {detail}.",
            level.as_str()
        ),
        recommended_actions: actions_for(actions, level),
        evidence: vec![Evidence {
            role: EvidenceRole::Trigger,
            reference: EventRef::Line {
                source: src.source.to_owned(),
                line: src.line,
            },
            timestamp: src.timestamp.clone(),
            event: (src.raw.len() <= MAX_EVIDENCE_BYTES)
                .then(|| serde_json::json!({"line": src.line, "flow": src.raw})),
        }],
        attack: Vec::new(),
        detail: AlertDetail::Flow(flow_finding(a, src)),
    };
    for ip in [src.src_ip, src.dst_ip].into_iter().flatten() {
        alert.add_entity(EntityKind::Ip, ip);
    }
    alert
}

/// What the flow model found, as the alert's detail.
fn flow_finding(a: &FlowAssessment, src: &FlowSource<'_>) -> FlowFinding {
    FlowFinding {
        model: src.model.to_owned(),
        model_kind: a.model.to_owned(),
        format: src.format.to_owned(),
        score: a.score,
        threshold: a.threshold,
        top_features: a
            .top_features
            .iter()
            .map(|c| FeatureShare {
                feature: c.feature.clone(),
                share: c.share,
                value: c.value,
            })
            .collect(),
        predicted_class: a.predicted_class.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(record: Option<u64>) -> SigmaAlert {
        SigmaAlert {
            timestamp: "2026-03-01T10:00:00Z".into(),
            timestamp_ms: Some(0),
            rule_id: "r-1".into(),
            rule_title: "Whoami".into(),
            level: "high".into(),
            tags: vec!["attack.t1033".into(), "attack.discovery".into()],
            computer: Some("WS1".into()),
            channel: Some("Security".into()),
            event_id: Some(4688),
            record_id: record,
            line: None,
            provider: None,
            file: None,
            details: serde_json::Map::new(),
            correlation: false,
            level_rank: Level::High,
            rule_index: 0,
            captured: Vec::new(),
            hidden: false,
        }
    }

    #[test]
    fn a_detection_is_an_alert_about_its_user_with_the_event_as_evidence() {
        let doc = serde_json::json!({"Event": {"EventData": {"SubjectUserName": "ana",
            "NewProcessName": "C:\\Windows\\System32\\whoami.exe", "IpAddress": "10.0.0.5"}}});
        let ev = LogEvent::of(doc.clone());
        let a = from_sigma(
            "acme",
            &detection(Some(42)),
            Some(&ev),
            &Actions::default(),
            "now",
        );
        assert_eq!(a.key, "sigma:r-1:42");
        assert_eq!(a.subject, "ana");
        assert_eq!((a.score, a.level), (75.0, ThreatLevel::High));
        assert_eq!(a.entity(EntityKind::Host), Some("WS1"));
        assert_eq!(a.entity(EntityKind::Ip), Some("10.0.0.5"));
        assert!(a.entity(EntityKind::Process).is_some());
        assert_eq!(a.attack, vec!["T1033", "discovery"]);
        assert_eq!(a.evidence[0].event.as_ref(), Some(&doc));
        assert!(matches!(a.detail, AlertDetail::Sigma(ref r) if r.event_id == Some(4688)));
        assert!(!a.recommended_actions.is_empty());
    }

    #[test]
    fn without_a_record_id_the_key_is_a_hash_of_the_event() {
        let ev = LogEvent::of(serde_json::json!({"CommandLine": "x"}));
        let a = from_sigma("t", &detection(None), Some(&ev), &Actions::default(), "n");
        let b = from_sigma("t", &detection(None), Some(&ev), &Actions::default(), "n");
        assert_eq!(a.key, b.key, "a replay has the same key");
        assert_eq!(a.subject, "host:WS1");
        assert!(a.key.starts_with("sigma:r-1:"));
    }

    #[test]
    fn flow_scores_grow_with_the_distance_above_the_threshold() {
        assert_eq!(flow_score(0.6, 0.6), 20.0);
        assert!(flow_score(0.7, 0.6) > 50.0);
        assert_eq!(flow_score(1.0, 0.6), 100.0);
        assert_eq!(flow_score(0.1, 0.6), 20.0);
    }
}
