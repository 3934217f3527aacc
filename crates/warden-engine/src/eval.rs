//! Evaluation against labels: how many attack scenarios were caught, at which level, with the
//! right anomaly named; how many normal events and hard-negative scenarios alerted.
//!
//! A label is `normal`, `attack:<kind>` or `benign:<kind>` (a legitimate but unusual
//! behaviour). A scenario is one labelled kind for one user on one (UTC) day. A scenario is
//! detected at a level when at least one of its events scored at that level or above.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use warden_event::{AnomalyType, ThreatLevel, ThreatScore};

/// The anomaly types that correctly name an attack kind.
pub fn expected_types(kind: &str) -> Vec<AnomalyType> {
    match kind {
        "account_takeover" => vec![
            AnomalyType::NewDevice,
            AnomalyType::NewLocation,
            AnomalyType::ImpossibleTravel,
        ],
        "credential_stuffing" | "brute_force" | "password_spraying" => {
            vec![AnomalyType::FailedLoginBurst]
        }
        "exfiltration" | "data_exfiltration" => vec![AnomalyType::UnusualVolume],
        other => AnomalyType::parse(other).into_iter().collect(),
    }
}

#[derive(Debug, Default)]
struct ScenarioAcc {
    max_score: f32,
    max_level: Option<ThreatLevel>,
    top_primary: Vec<AnomalyType>,
}

/// Accumulates scores of labelled events.
#[derive(Debug)]
pub struct Evaluator {
    labels: HashMap<String, String>,
    scenarios: HashMap<(String, String, String), ScenarioAcc>,
    normal_events: u64,
    normal_medium: u64,
    normal_high: u64,
    unlabelled: u64,
    unrecognised: u64,
}

impl Evaluator {
    /// `labels` maps `event_id` to its label.
    pub fn new(labels: HashMap<String, String>) -> Self {
        Self {
            labels,
            scenarios: HashMap::new(),
            normal_events: 0,
            normal_medium: 0,
            normal_high: 0,
            unlabelled: 0,
            unrecognised: 0,
        }
    }

    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    pub fn observe(&mut self, s: &ThreatScore) {
        let Some(label) = s.event_id.as_ref().and_then(|id| self.labels.get(id)) else {
            self.unlabelled += 1;
            return;
        };
        let known =
            label == "normal" || label.starts_with("attack:") || label.starts_with("benign:");
        if !known {
            // A typo or a scheme we do not know: counting it as an attack would skew rates.
            self.unrecognised += 1;
            return;
        }
        if label == "normal" {
            self.normal_events += 1;
            self.normal_medium += u64::from(s.threat_level >= ThreatLevel::Medium);
            self.normal_high += u64::from(s.threat_level >= ThreatLevel::High);
            return;
        }
        let day = s.timestamp.get(..10).unwrap_or("").to_owned();
        let acc = self
            .scenarios
            .entry((label.clone(), s.user_id.clone(), day))
            .or_default();
        if acc.max_level.is_none() || s.threat_score > acc.max_score {
            acc.max_score = s.threat_score;
            acc.top_primary = s.primary_anomalies.clone();
        }
        acc.max_level = acc.max_level.max(Some(s.threat_level));
    }

    pub fn report(&self) -> EvalReport {
        let mut attacks: BTreeMap<String, KindReport> = BTreeMap::new();
        let mut benign: BTreeMap<String, KindReport> = BTreeMap::new();
        for ((label, _, _), acc) in &self.scenarios {
            let (map, kind) = match label.split_once(':') {
                Some(("attack", k)) => (&mut attacks, k),
                Some(("benign", k)) => (&mut benign, k),
                _ => continue,
            };
            let r = map.entry(kind.to_owned()).or_default();
            let level = acc.max_level.unwrap_or(ThreatLevel::Low);
            r.scenarios += 1;
            r.alerted_medium += u64::from(level >= ThreatLevel::Medium);
            let high = level >= ThreatLevel::High;
            r.alerted_high += u64::from(high);
            let expected = expected_types(kind);
            if high && acc.top_primary.iter().any(|t| expected.contains(t)) {
                r.type_named_high += 1;
            }
        }
        for r in attacks.values_mut().chain(benign.values_mut()) {
            r.finish();
        }
        let total = |m: &BTreeMap<String, KindReport>| {
            let mut t = KindReport::default();
            for r in m.values() {
                t.scenarios += r.scenarios;
                t.alerted_medium += r.alerted_medium;
                t.alerted_high += r.alerted_high;
                t.type_named_high += r.type_named_high;
            }
            t.finish();
            t
        };
        EvalReport {
            labelled_events: self.normal_events + self.scenarios.len() as u64,
            unlabelled_events: self.unlabelled,
            unrecognised_labels: self.unrecognised,
            normal: NormalReport {
                events: self.normal_events,
                alerts_medium: self.normal_medium,
                alerts_high: self.normal_high,
                fpr_medium: ratio(self.normal_medium, self.normal_events),
                fpr_high: ratio(self.normal_high, self.normal_events),
            },
            attacks_total: total(&attacks),
            attacks,
            hard_negatives_total: total(&benign),
            hard_negatives: benign,
        }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Results for one kind of scenario (or all of them).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct KindReport {
    pub scenarios: u64,
    pub alerted_medium: u64,
    pub alerted_high: u64,
    pub rate_medium: f64,
    pub rate_high: f64,
    /// Scenarios alerted at HIGH whose strongest event names an expected anomaly type.
    pub type_named_high: u64,
    /// `type_named_high / alerted_high`.
    pub type_accuracy_high: f64,
}

impl KindReport {
    fn finish(&mut self) {
        self.rate_medium = ratio(self.alerted_medium, self.scenarios);
        self.rate_high = ratio(self.alerted_high, self.scenarios);
        self.type_accuracy_high = ratio(self.type_named_high, self.alerted_high);
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct NormalReport {
    pub events: u64,
    pub alerts_medium: u64,
    pub alerts_high: u64,
    pub fpr_medium: f64,
    pub fpr_high: f64,
}

/// The evaluation, as printed and written by `--metrics-out`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EvalReport {
    /// Labelled normal events plus labelled scenarios.
    pub labelled_events: u64,
    pub unlabelled_events: u64,
    /// Events whose label is neither `normal` nor `attack:…` / `benign:…`.
    pub unrecognised_labels: u64,
    pub normal: NormalReport,
    pub attacks_total: KindReport,
    pub attacks: BTreeMap<String, KindReport>,
    pub hard_negatives_total: KindReport,
    pub hard_negatives: BTreeMap<String, KindReport>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score(id: &str, user: &str, day: &str, s: f32, primary: Vec<AnomalyType>) -> ThreatScore {
        ThreatScore {
            event_id: Some(id.into()),
            user_id: user.into(),
            timestamp: format!("{day}T10:00:00Z"),
            threat_score: s,
            threat_level: ThreatLevel::from_score(s, &Default::default()),
            primary_anomalies: primary,
            confidence: 1.0,
            isolation_forest_score: None,
            lstm_autoencoder_score: None,
            xgboost_ensemble_score: None,
            models_unavailable: Vec::new(),
            models_sampled: false,
            impossible_travel_detected: false,
            unusual_time_detected: false,
            unusual_volume_detected: false,
            unusual_resources_detected: false,
            behavioral_deviation_score: 0.0,
            recommended_actions: vec![],
            explanation: String::new(),
            learning: false,
            anomalies: vec![],
            features: None,
        }
    }

    #[test]
    fn scenarios_rates_and_types() {
        let labels: HashMap<String, String> = [
            ("n1", "normal"),
            ("n2", "normal"),
            ("a1", "attack:impossible_travel"),
            ("a2", "attack:impossible_travel"),
            ("a3", "attack:unusual_time"),
            ("b1", "benign:legit_travel"),
            ("x1", "Normal"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let mut e = Evaluator::new(labels);
        e.observe(&score("n1", "u1", "2026-04-01", 5.0, vec![]));
        e.observe(&score(
            "n2",
            "u1",
            "2026-04-01",
            55.0,
            vec![AnomalyType::UnusualTime],
        ));
        e.observe(&score(
            "a1",
            "u2",
            "2026-04-02",
            30.0,
            vec![AnomalyType::NewLocation],
        ));
        e.observe(&score(
            "a2",
            "u2",
            "2026-04-02",
            85.0,
            vec![AnomalyType::ImpossibleTravel],
        ));
        e.observe(&score(
            "a3",
            "u3",
            "2026-04-02",
            25.0,
            vec![AnomalyType::UnusualTime],
        ));
        e.observe(&score("b1", "u4", "2026-04-03", 10.0, vec![]));
        e.observe(&score("zz", "u4", "2026-04-03", 10.0, vec![]));
        e.observe(&score("x1", "u4", "2026-04-03", 90.0, vec![]));
        let r = e.report();
        assert_eq!(r.normal.events, 2);
        assert_eq!(r.normal.alerts_high, 1);
        assert_eq!(r.unlabelled_events, 1);
        assert_eq!(r.unrecognised_labels, 1);
        let it = &r.attacks["impossible_travel"];
        assert_eq!(
            (it.scenarios, it.alerted_high, it.type_named_high),
            (1, 1, 1)
        );
        let ut = &r.attacks["unusual_time"];
        assert_eq!((ut.alerted_medium, ut.alerted_high), (1, 0));
        assert_eq!(r.attacks_total.scenarios, 2);
        assert!((r.attacks_total.rate_high - 0.5).abs() < 1e-12);
        assert_eq!(r.hard_negatives["legit_travel"].alerted_medium, 0);
    }
}
