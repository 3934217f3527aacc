//! CEF and LEEF rendering of an alert whose strings come from an event: always one line,
//! and every CEF header field and extension value reads back as written (the escaping
//! holds whatever the strings contain).
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use warden_event::{Alert, Detector, DetectorKind, Entity, EntityKind, ThreatLevel};
use warden_outputs::Delivery;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{1}');
    let subject = parts.next().unwrap_or("").to_owned();
    let explanation = parts.next().unwrap_or("").to_owned();
    let rule = parts.next().unwrap_or("").to_owned();
    let host = parts.next().unwrap_or("").to_owned();
    let alert = Alert {
        tenant: "acme".into(),
        key: format!("k:{rule}"),
        digest: None,
        timestamp: "2026-04-02T01:58:06Z".into(),
        subject: subject.clone(),
        entities: vec![
            Entity::new(EntityKind::User, &subject),
            Entity::new(EntityKind::Host, &host),
        ],
        detector: Detector {
            kind: DetectorKind::Sigma,
            id: rule,
        },
        level: ThreatLevel::High,
        score: 75.0,
        confidence: 0.9,
        anomalies: Vec::new(),
        explanation,
        recommended_actions: Vec::new(),
        evidence: Vec::new(),
        attack: vec!["T1059".into()],
        detail: warden_event::AlertDetail::Graph(warden_event::GraphFinding::default()),
    };
    let d = Delivery::new(Some(7), Arc::new(alert));
    for line in [warden_outputs::format::cef(&d), warden_outputs::format::leef(&d)] {
        assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
    }
});
