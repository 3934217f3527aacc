//! Sigma rules in the service (`[sigma]`): log events posted to `/v1/detect/realtime` (any
//! JSON event that is not a user activity — Sysmon, Windows Security, EVTX as JSON, ECS…)
//! are matched by the native engine, correlations kept per tenant, and each detection is
//! stored as an alert of type `rule_match` scored by the rule's level. `GET /v1/rules`
//! lists what loaded and what was skipped, with the reason.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_engine::sigma::{DocContext, SigmaAlert, SigmaDetector};
use warden_event::{Anomaly, AnomalyType, ThreatLevel, ThreatScore};
use warden_sigma::ruleset::RuleSetBuilder;
use warden_sigma::{Level, Mapping, RuleSet};

use crate::config::ConfigError;

/// `[sigma]` in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigmaSection {
    /// Rule files or folders (searched for `.yml`/`.yaml`).
    pub rules: Vec<PathBuf>,
    /// A log-source mapping file replacing the built-in one (`warden rules mapping`).
    pub mapping: Option<PathBuf>,
}

/// The loaded rule set and one detector (correlation state) per tenant.
pub struct ServiceRules {
    pub set: Arc<RuleSet>,
    /// One detector per tenant, each behind its own lock: a tenant's large batch never
    /// holds up another's matching.
    detectors: Mutex<HashMap<String, Arc<Mutex<SigmaDetector>>>>,
    pub loaded_at: String,
}

impl ServiceRules {
    /// Loads `[sigma]`; `None` when no rules are configured. Rules that do not load are
    /// skipped and reported (`GET /v1/rules`); a folder that does not exist is an error.
    pub fn load(cfg: &SigmaSection) -> Result<Option<ServiceRules>, ConfigError> {
        if cfg.rules.is_empty() {
            return Ok(None);
        }
        let bad = |key: &str, reason: String| ConfigError::Invalid {
            key: key.into(),
            reason,
        };
        let mapping = match &cfg.mapping {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| bad("sigma.mapping", format!("{}: {e}", p.display())))?;
                Mapping::parse(&text)
                    .map_err(|e| bad("sigma.mapping", format!("{}: {e}", p.display())))?
            }
            None => Mapping::builtin(),
        };
        let mut b = RuleSetBuilder::new(mapping);
        for p in &cfg.rules {
            if !p.exists() {
                return Err(bad(
                    "sigma.rules",
                    format!("{} does not exist", p.display()),
                ));
            }
            b.add_path(p);
        }
        Ok(Some(ServiceRules {
            set: Arc::new(b.build()),
            detectors: Mutex::new(HashMap::new()),
            loaded_at: crate::outputs::now_rfc3339(),
        }))
    }

    /// Detections for one tenant's log events, in order: per event, its alerts.
    pub fn detect(
        &self,
        tenant: &str,
        docs: &[&Value],
        max_tenants: usize,
    ) -> Vec<Vec<SigmaAlert>> {
        let none = || docs.iter().map(|_| Vec::new()).collect();
        let detector = {
            let Ok(mut d) = self.detectors.lock() else {
                return none();
            };
            if !d.contains_key(tenant) && d.len() >= max_tenants {
                return none();
            }
            d.entry(tenant.to_owned())
                .or_insert_with(|| Arc::new(Mutex::new(SigmaDetector::new(self.set.clone()))))
                .clone()
        };
        let Ok(mut det) = detector.lock() else {
            return none();
        };
        docs.iter()
            .map(|doc| det.process(doc, &DocContext::default()))
            .collect()
    }

    /// `GET /v1/rules`: counts, skipped rules with reasons, and a page of the loaded rules
    /// whose title, id or tags contain `q`.
    pub fn describe(&self, q: Option<&str>, limit: usize, offset: usize) -> Value {
        let set = &self.set;
        let q = q.map(str::to_lowercase);
        let mut by_level: BTreeMap<&str, usize> = BTreeMap::new();
        let mut matching = Vec::new();
        for r in set.rules().iter().filter(|r| !r.hidden) {
            *by_level.entry(r.meta.level.as_str()).or_default() += 1;
            let hit = q.as_deref().is_none_or(|q| {
                r.meta.title.to_lowercase().contains(q)
                    || r.meta
                        .id
                        .as_deref()
                        .is_some_and(|i| i.to_lowercase().contains(q))
                    || r.meta.tags.iter().any(|t| t.to_lowercase().contains(q))
            });
            if hit {
                matching.push(r);
            }
        }
        let rules: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|r| {
                json!({
                    "id": r.meta.id,
                    "title": r.meta.title,
                    "level": r.meta.level.as_str(),
                    "status": r.meta.status,
                    "tags": r.meta.tags,
                    "logsource": {"product": r.logsource.product, "category": r.logsource.category, "service": r.logsource.service},
                    "correlation": r.correlation,
                    "file": r.meta.file.as_ref().map(|f| f.display().to_string()),
                    "notes": r.notes,
                })
            })
            .collect();
        let skipped: Vec<Value> = set
            .skipped()
            .iter()
            .map(|s| {
                json!({
                    "file": s.file.as_ref().map(|f| f.display().to_string()),
                    "rule_id": s.id,
                    "title": s.title,
                    "reason": s.error.to_string(),
                })
            })
            .collect();
        json!({
            "loaded": set.detection_rules(),
            "correlations": set.correlations().len(),
            "files": set.files(),
            "loaded_at": self.loaded_at,
            "by_level": by_level,
            "skipped": skipped,
            "total": matching.len(),
            "offset": offset,
            "rules": rules,
        })
    }
}

/// Whether a JSON event is a user activity (scored by the behavioural engine) rather than
/// a log event (matched by the rules): it names an activity type or a user id.
pub fn is_activity(v: &Value) -> bool {
    v.get("activity_type").is_some() || v.get("user_id").is_some()
}

/// The score and level of a rule's detection.
fn level_score(l: Level) -> (f32, ThreatLevel) {
    match l {
        Level::Informational => (10.0, ThreatLevel::Low),
        Level::Low => (30.0, ThreatLevel::Low),
        Level::Medium => (50.0, ThreatLevel::Medium),
        Level::High => (75.0, ThreatLevel::High),
        Level::Critical => (95.0, ThreatLevel::Critical),
    }
}

/// Who a log event is about: its user when it names one, else its host.
fn subject(doc: &Value, a: &SigmaAlert) -> String {
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
        .or_else(|| a.computer.as_ref().map(|c| format!("host:{c}")))
        .unwrap_or_else(|| "unknown".into())
}

/// FNV-1a over the event's JSON: a stable key for an event without a record id, so a
/// replayed batch stores nothing twice.
fn stable_key(doc: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in doc.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// A detection as an alert: scored by the rule's level, explained by the rule and the
/// fields that matched.
pub fn to_score(
    a: &SigmaAlert,
    doc: &Value,
    actions: &warden_engine::config::Actions,
    now: &str,
) -> ThreatScore {
    let level = Level::parse(&a.level).unwrap_or_default();
    let (score, threat_level) = level_score(level);
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
    let record = a
        .record_id
        .map_or_else(|| stable_key(doc), |r| r.to_string());
    let recommended = match threat_level {
        ThreatLevel::Low => &actions.low,
        ThreatLevel::Medium => &actions.medium,
        ThreatLevel::High => &actions.high,
        ThreatLevel::Critical => &actions.critical,
    };
    ThreatScore {
        event_id: Some(format!("sigma:{}:{record}", a.rule_id)),
        user_id: subject(doc, a),
        timestamp: if a.timestamp.is_empty() {
            now.to_owned()
        } else {
            a.timestamp.clone()
        },
        threat_score: score,
        threat_level,
        primary_anomalies: vec![AnomalyType::RuleMatch],
        confidence: 1.0,
        isolation_forest_score: None,
        lstm_autoencoder_score: None,
        xgboost_ensemble_score: None,
        models_unavailable: Vec::new(),
        impossible_travel_detected: false,
        unusual_time_detected: false,
        unusual_volume_detected: false,
        unusual_resources_detected: false,
        behavioral_deviation_score: 0.0,
        recommended_actions: recommended.clone(),
        explanation: format!(
            "{} ({score:.1}): rule match (+{score:.1}) — {detail}.",
            threat_level.as_str()
        ),
        learning: false,
        anomalies: vec![Anomaly {
            kind: AnomalyType::RuleMatch,
            confidence: 1.0,
            contribution: score,
            detail,
        }],
        features: None,
    }
}
