//! What the other detectors found, as graph events for the progression finder: a Sigma
//! detection's ATT&CK tactics on its host, and a behavioural score's strong anomalies on
//! the user's account. Only strong findings (high level or above) are steps: medium rules
//! fire on ordinary administration all day, and their tactics made a progression of
//! routine work (measured in docs/benchmarks.md). The graph detector runs after the rules and the behavioural
//! engine, so it reads their verdicts for the same record.

use warden_event::{AnomalyType, EventRef, ThreatLevel, ThreatScore, Timestamp, UserActivity};
use warden_graph::GraphEvent;
use warden_graph::event::{Action, normalize_account, normalize_host};
use warden_sigma::Level;

use crate::sigma::SigmaAlert;

/// A Sigma detection of high level or above as a graph event: its host, time,
/// reference and ATT&CK tags. `fallback` is the reference of an event with no record id
/// (its file and line). Detections without a tactic tag say nothing of progression.
pub fn detection_event(d: &SigmaAlert, fallback: EventRef) -> Option<GraphEvent> {
    if d.level_rank < Level::High {
        return None;
    }
    let time = Timestamp(d.timestamp_ms?);
    let reference = match d.record_id {
        Some(record_id) => EventRef::Record {
            computer: d.computer.clone(),
            record_id,
        },
        None => fallback,
    };
    let (mut tactics, mut techniques) = (Vec::new(), Vec::new());
    for t in warden_event::attack_from_tags(&d.tags) {
        if t.starts_with('T') && t[1..].starts_with(|c: char| c.is_ascii_digit()) {
            techniques.push(t);
        } else {
            tactics.push(t);
        }
    }
    if tactics.is_empty() {
        return None;
    }
    let mut e = GraphEvent::new(
        time,
        Action::Detection {
            what: format!("rule \"{}\" matched", d.rule_title),
            tactics,
            techniques,
        },
        reference,
    );
    e.host = d.computer.as_deref().and_then(normalize_host);
    Some(e)
}

/// The ATT&CK tactic and technique a behavioural anomaly stands for, when it stands for
/// one: a sign-in from where the account cannot be, or a new place (valid accounts in
/// someone else's hands), a burst of failed logins (brute force), resources the user
/// never touched (collection from repositories), an unusual volume out (exfiltration).
/// Unusual hours and model scores name no step of an attack on their own.
pub fn anomaly_tactic(kind: AnomalyType) -> Option<(&'static str, &'static str)> {
    match kind {
        AnomalyType::ImpossibleTravel | AnomalyType::NewLocation => {
            Some(("initial_access", "T1078"))
        }
        AnomalyType::FailedLoginBurst => Some(("credential_access", "T1110")),
        AnomalyType::UnusualResources => Some(("collection", "T1213")),
        AnomalyType::UnusualVolume => Some(("exfiltration", "T1567")),
        _ => None,
    }
}

/// A behavioural score of HIGH or above, past the user's learning period, as a
/// graph event about the user's account, one tactic per anomaly that stands for one.
pub fn anomaly_event(s: &ThreatScore, a: &UserActivity) -> Option<GraphEvent> {
    if s.learning || s.threat_level < ThreatLevel::High {
        return None;
    }
    let (mut tactics, mut techniques) = (Vec::new(), Vec::new());
    let mut kinds = Vec::new();
    for &kind in &s.primary_anomalies {
        if let Some((tactic, technique)) = anomaly_tactic(kind)
            && !tactics.iter().any(|t| t == tactic)
        {
            tactics.push(tactic.to_owned());
            techniques.push(technique.to_owned());
            kinds.push(kind.as_str());
        }
    }
    if tactics.is_empty() {
        return None;
    }
    let mut e = GraphEvent::new(
        a.timestamp,
        Action::Detection {
            what: format!(
                "behaviour scored {} ({:.0}: {})",
                s.threat_level.as_str(),
                s.threat_score,
                kinds.join(", ")
            ),
            tactics,
            techniques,
        },
        a.reference(),
    );
    e.account = normalize_account(&a.user_id);
    e.account.as_ref()?;
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::ActivityType;

    fn score(level: ThreatLevel, anomalies: Vec<AnomalyType>) -> ThreatScore {
        ThreatScore {
            event_id: Some("e9".into()),
            user_id: "u0042".into(),
            timestamp: "2026-03-09T02:00:00Z".into(),
            threat_score: 61.0,
            threat_level: level,
            primary_anomalies: anomalies,
            confidence: 0.9,
            isolation_forest_score: None,
            lstm_autoencoder_score: None,
            xgboost_ensemble_score: None,
            models_unavailable: Vec::new(),
            models_sampled: false,
            impossible_travel_detected: false,
            unusual_time_detected: false,
            unusual_volume_detected: true,
            unusual_resources_detected: false,
            behavioral_deviation_score: 0.5,
            recommended_actions: Vec::new(),
            explanation: String::new(),
            learning: false,
            anomalies: Vec::new(),
            cited_events: Vec::new(),
            features: None,
        }
    }

    fn activity() -> UserActivity {
        let t = Timestamp::parse_rfc3339("2026-03-09T02:00:00Z").unwrap();
        let mut a = UserActivity::new("u0042", ActivityType::Download, t);
        a.event_id = Some("e9".into());
        a
    }

    #[test]
    fn strong_anomalies_become_tactics_of_the_account() {
        let s = score(
            ThreatLevel::High,
            vec![
                AnomalyType::UnusualVolume,
                AnomalyType::UnusualTime,
                AnomalyType::UnusualResources,
            ],
        );
        let e = anomaly_event(&s, &activity()).unwrap();
        assert_eq!(e.account.as_deref(), Some("u0042"));
        assert_eq!(e.host, None);
        let Action::Detection {
            what,
            tactics,
            techniques,
        } = &e.action
        else {
            panic!("not a detection: {:?}", e.action);
        };
        assert_eq!(tactics, &["exfiltration", "collection"]);
        assert_eq!(techniques, &["T1567", "T1213"]);
        assert!(
            what.contains("HIGH") && what.contains("unusual_volume"),
            "{what}"
        );
        assert_eq!(
            e.reference,
            EventRef::EventId {
                event_id: "e9".into()
            }
        );
    }

    #[test]
    fn weak_learning_or_tacticless_scores_are_not_steps() {
        let a = activity();
        let low = score(ThreatLevel::Low, vec![AnomalyType::UnusualVolume]);
        assert!(anomaly_event(&low, &a).is_none());
        let mut learning = score(ThreatLevel::High, vec![AnomalyType::UnusualVolume]);
        learning.learning = true;
        assert!(anomaly_event(&learning, &a).is_none());
        let time_only = score(ThreatLevel::High, vec![AnomalyType::UnusualTime]);
        assert!(anomaly_event(&time_only, &a).is_none());
    }
}
