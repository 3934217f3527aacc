//! Evaluation against labels: how many attack scenarios were caught, at which level, with the
//! right anomaly named; how many normal events and hard-negative scenarios alerted.
//!
//! A label is `normal`, `attack:<kind>` or `benign:<kind>` (a legitimate but unusual
//! behaviour). A scenario is one labelled kind for one user on one (UTC) day, or, where the
//! labels name scenario instances ([`Evaluator::with_instances`]), one instance. A scenario is
//! detected at a level when at least one of its events scored at that level or above, or is
//! cited by a score at that level or above as an event whose anomaly joined it (session
//! compounding: the alert rests on the earlier events it cites, so a session that crosses
//! UTC midnight is one alert for both days' events). A normal event cited by an alert counts
//! as a false positive at that alert's level the same way. `alerted_high_cited` says how
//! many scenarios reached HIGH only through a citation.

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
    /// The highest level one of its own events scored, citations aside.
    own_level: Option<ThreatLevel>,
    top_primary: Vec<AnomalyType>,
}

impl ScenarioAcc {
    /// Takes a score of one of its events, or of an event that cites one of them.
    fn take(&mut self, score: f32, level: ThreatLevel, primary: &[AnomalyType]) {
        if self.max_level.is_none() || score > self.max_score {
            self.max_score = score;
            self.top_primary = primary.to_vec();
        }
        self.max_level = self.max_level.max(Some(level));
    }
}

type ScenarioKey = (String, String, String);

/// Most citations of events not seen yet that are held.
const MAX_PENDING_CITATIONS: usize = 100_000;

/// What a citing score passes on to the events it cites.
#[derive(Debug, Clone)]
struct Citation {
    score: f32,
    level: ThreatLevel,
    primary: Vec<AnomalyType>,
}

/// Accumulates scores of labelled events.
#[derive(Debug)]
pub struct Evaluator {
    labels: HashMap<String, String>,
    /// `event_id → scenario instance`, where the labels name instances.
    instances: HashMap<String, String>,
    scenarios: HashMap<ScenarioKey, ScenarioAcc>,
    /// The scenario of each attack or hard-negative event seen, for citations.
    scenario_of: HashMap<String, ScenarioKey>,
    /// The level of each normal event seen that had anomalies (only those can be cited),
    /// raised to the level of the alerts that cited it.
    normal_levels: HashMap<String, ThreatLevel>,
    /// Citations of events not seen yet (scores need not arrive in event order).
    pending: HashMap<String, Citation>,
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
            instances: HashMap::new(),
            scenarios: HashMap::new(),
            scenario_of: HashMap::new(),
            normal_levels: HashMap::new(),
            pending: HashMap::new(),
            normal_events: 0,
            normal_medium: 0,
            normal_high: 0,
            unlabelled: 0,
            unrecognised: 0,
        }
    }

    /// Scenario instances named by the labels (`event_id → instance`): the events of one
    /// instance are one scenario whatever their days, so an attack that runs past midnight
    /// UTC is one scenario, not two.
    pub fn with_instances(mut self, instances: HashMap<String, String>) -> Self {
        self.instances = instances;
        self
    }

    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    pub fn observe(&mut self, s: &ThreatScore) {
        if s.threat_level >= ThreatLevel::Medium {
            let c = Citation {
                score: s.threat_score,
                level: s.threat_level,
                primary: s.primary_anomalies.clone(),
            };
            for id in &s.cited_events {
                self.cite(id, &c, true);
            }
        }
        let Some(id) = s.event_id.as_ref() else {
            self.unlabelled += 1;
            return;
        };
        let Some(label) = self.labels.get(id) else {
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
            if !s.anomalies.is_empty() {
                self.normal_levels.insert(id.clone(), s.threat_level);
            }
        } else {
            let when = match self.instances.get(id) {
                Some(instance) => format!("#{instance}"),
                None => s.timestamp.get(..10).unwrap_or("").to_owned(),
            };
            let key = (label.clone(), s.user_id.clone(), when);
            let acc = self.scenarios.entry(key.clone()).or_default();
            acc.take(s.threat_score, s.threat_level, &s.primary_anomalies);
            acc.own_level = acc.own_level.max(Some(s.threat_level));
            self.scenario_of.insert(id.clone(), key);
        }
        if let Some(c) = self.pending.remove(id) {
            self.cite(id, &c, false);
        }
    }

    /// An alert at `c.level` cites event `id`: its scenario, or the normal event, counts at
    /// that level too.
    fn cite(&mut self, id: &str, c: &Citation, may_wait: bool) {
        if let Some(key) = self.scenario_of.get(id) {
            if let Some(acc) = self.scenarios.get_mut(key) {
                acc.take(c.score, c.level, &c.primary);
            }
        } else if let Some(own) = self.normal_levels.get_mut(id) {
            if *own < ThreatLevel::Medium {
                self.normal_medium += 1;
            }
            if *own < ThreatLevel::High && c.level >= ThreatLevel::High {
                self.normal_high += 1;
            }
            *own = (*own).max(c.level);
        } else if may_wait
            && self.labels.contains_key(id)
            && self.pending.len() < MAX_PENDING_CITATIONS
        {
            let keep = self.pending.get(id).is_none_or(|p| p.level < c.level);
            if keep {
                self.pending.insert(id.to_owned(), c.clone());
            }
        }
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
            r.alerted_high_cited +=
                u64::from(high && acc.own_level.is_none_or(|l| l < ThreatLevel::High));
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
                t.alerted_high_cited += r.alerted_high_cited;
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
    /// Scenarios at HIGH only because an alert at HIGH cited one of their events.
    pub alerted_high_cited: u64,
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
            cited_events: Vec::new(),
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
        assert_eq!(r.attacks_total.alerted_high_cited, 0);
    }

    fn citing(id: &str, user: &str, day: &str, s: f32, cites: &[&str]) -> ThreatScore {
        let mut sc = score(id, user, day, s, vec![AnomalyType::UnusualResources]);
        sc.cited_events = cites.iter().map(|c| c.to_string()).collect();
        sc
    }

    #[test]
    fn a_named_instance_is_one_scenario_across_midnight() {
        let labels: HashMap<String, String> = ["a1", "a2", "a3"]
            .into_iter()
            .map(|id| (id.to_owned(), "attack:unusual_resources".to_owned()))
            .collect();
        let day_of = |e: &mut Evaluator| {
            e.observe(&score("a1", "u1", "2026-04-01", 60.0, vec![]));
            e.observe(&score("a2", "u1", "2026-04-02", 30.0, vec![]));
            e.observe(&score("a3", "u1", "2026-04-02", 20.0, vec![]));
            let r = e.report();
            let it = &r.attacks["unusual_resources"];
            (it.scenarios, it.alerted_high)
        };
        // By day: the part after midnight is a scenario of its own, missed at HIGH.
        assert_eq!(day_of(&mut Evaluator::new(labels.clone())), (2, 1));
        // Named as one instance, it is one scenario, detected.
        let one: HashMap<String, String> = ["a1", "a2", "a3"]
            .into_iter()
            .map(|id| (id.to_owned(), "ur-u1-33".to_owned()))
            .collect();
        assert_eq!(
            day_of(&mut Evaluator::new(labels.clone()).with_instances(one)),
            (1, 1)
        );
        // Two instances on one day stay two scenarios.
        let two: HashMap<String, String> = [("a1", "x"), ("a2", "y"), ("a3", "y")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        assert_eq!(
            day_of(&mut Evaluator::new(labels).with_instances(two)),
            (2, 1)
        );
    }

    #[test]
    fn an_alert_counts_for_the_events_it_cites() {
        let labels: HashMap<String, String> = [
            ("a1", "attack:unusual_resources"),
            ("a2", "attack:unusual_resources"),
            ("n1", "normal"),
            ("n2", "normal"),
            ("n3", "normal"),
            ("b1", "benign:role_change"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let mut e = Evaluator::new(labels);
        // A session across UTC midnight: the first day's event is MEDIUM on its own, the
        // second day's reaches HIGH citing it. Both days' scenarios are detected.
        let mut first = score("a1", "u1", "2026-04-01", 30.0, vec![]);
        first.anomalies.push(warden_event::Anomaly {
            kind: AnomalyType::UnusualResources,
            confidence: 0.5,
            contribution: 30.0,
            detail: String::new(),
        });
        e.observe(&first);
        e.observe(&citing("a2", "u1", "2026-04-02", 60.0, &["a1"]));
        // A normal event with an anomaly, LOW on its own, cited by a HIGH alert: a false
        // positive at HIGH (and at MEDIUM), once however often it is cited.
        let mut quiet = score("n1", "u2", "2026-04-01", 10.0, vec![]);
        quiet.anomalies = first.anomalies.clone();
        e.observe(&quiet);
        e.observe(&citing("n2", "u2", "2026-04-01", 55.0, &["n1"]));
        e.observe(&citing("n3", "u2", "2026-04-01", 58.0, &["n1"]));
        // A citation that arrives before the event it cites still counts; a LOW score
        // cites nothing that counts.
        e.observe(&citing("zz", "u3", "2026-04-03", 70.0, &["b1"]));
        e.observe(&score("b1", "u3", "2026-04-03", 15.0, vec![]));
        e.observe(&citing("zz2", "u3", "2026-04-03", 5.0, &["a1"]));
        let r = e.report();
        let ur = &r.attacks["unusual_resources"];
        assert_eq!((ur.scenarios, ur.alerted_high), (2, 2));
        assert_eq!(ur.alerted_high_cited, 1);
        assert_eq!(ur.type_named_high, 2);
        assert_eq!((r.normal.alerts_medium, r.normal.alerts_high), (3, 3));
        assert_eq!(r.hard_negatives["role_change"].alerted_high, 1);
        assert_eq!(r.hard_negatives_total.alerted_high_cited, 1);
    }
}
