//! Alerts for the tests: a behavioural one (with a store id) and a Sigma one (without).

use std::sync::Arc;

use warden_event::{
    Alert, AlertDetail, Anomaly, AnomalyType, Detector, DetectorKind, Entity, EntityKind, EventRef,
    Evidence, EvidenceRole, RuleMatch, ThreatLevel, ThreatScore, attack_from_tags,
};

use crate::Delivery;

/// A HIGH behavioural alert of `user` (tenant `acme`, store id 42, key `e|1=x`, score
/// 66.5, impossible travel → ATT&CK T1078).
pub(crate) fn ueba(explanation: &str, user: &str) -> Delivery {
    let s = ThreatScore {
        event_id: Some("e|1=x".into()),
        user_id: user.to_owned(),
        timestamp: "2026-03-31T23:33:20Z".into(),
        threat_score: 66.5,
        threat_level: ThreatLevel::High,
        primary_anomalies: vec![AnomalyType::ImpossibleTravel],
        confidence: 0.9,
        isolation_forest_score: None,
        lstm_autoencoder_score: None,
        xgboost_ensemble_score: None,
        models_unavailable: Vec::new(),
        models_sampled: false,
        impossible_travel_detected: true,
        unusual_time_detected: false,
        unusual_volume_detected: false,
        unusual_resources_detected: false,
        behavioral_deviation_score: 0.7,
        recommended_actions: vec!["block the session".into()],
        explanation: explanation.to_owned(),
        learning: false,
        anomalies: vec![Anomaly {
            kind: AnomalyType::ImpossibleTravel,
            confidence: 1.0,
            contribution: 66.5,
            detail: "far".into(),
        }],
        cited_events: Vec::new(),
        features: None,
    };
    Delivery::new(Some(42), Arc::new(Alert::from_threat_score("acme", &s)))
}

/// A HIGH Sigma alert about host `dc1` seen from 10.0.0.5 (tenant `t`, no store id, key
/// `sigma:r1:7`, rule `r1` "Suspicious PowerShell | encoded", T1059.001 and execution).
pub(crate) fn sigma() -> Delivery {
    let a = Alert {
        tenant: "t".into(),
        key: "sigma:r1:7".into(),
        digest: None,
        timestamp: "2026-04-02T01:58:06Z".into(),
        subject: "host:dc1".into(),
        entities: vec![
            Entity::new(EntityKind::Host, "dc1"),
            Entity::new(EntityKind::Ip, "10.0.0.5"),
        ],
        detector: Detector {
            kind: DetectorKind::Sigma,
            id: "r1".into(),
        },
        level: ThreatLevel::High,
        score: 75.0,
        confidence: 1.0,
        anomalies: vec![Anomaly {
            kind: AnomalyType::RuleMatch,
            confidence: 1.0,
            contribution: 75.0,
            detail: "matched".into(),
        }],
        explanation: "HIGH: encoded PowerShell on dc1".into(),
        recommended_actions: Vec::new(),
        evidence: vec![Evidence {
            role: EvidenceRole::Trigger,
            reference: EventRef::Record {
                computer: Some("dc1".into()),
                record_id: 7,
            },
            timestamp: None,
            event: Some(serde_json::json!({"EventID": 4688})),
        }],
        attack: attack_from_tags(&["attack.t1059.001".into(), "attack.execution".into()]),
        detail: AlertDetail::Sigma(RuleMatch {
            rule_id: "r1".into(),
            rule_title: "Suspicious PowerShell | encoded".into(),
            level: "high".into(),
            ..RuleMatch::default()
        }),
    };
    Delivery::new(None, Arc::new(a))
}

/// An alert below every default level.
pub(crate) fn low() -> Delivery {
    let mut a = (*sigma().alert).clone();
    a.level = ThreatLevel::Low;
    a.key = "sigma:r1:8".into();
    Delivery::new(None, Arc::new(a))
}
