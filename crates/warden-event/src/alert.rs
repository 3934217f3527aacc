//! The one alert every detector produces and every consumer reads: the store, the live
//! stream, the outputs (syslog, files, SIEMs, webhooks), the dashboard and the CLI.
//!
//! An [`Alert`] says who or what it is about ([`Alert::subject`] and typed
//! [`Entity`]s), which detector raised it ([`Detector`]), how bad it is (score, level,
//! confidence), why (anomalies with their contributions, an explanation, ATT&CK tags),
//! what to do (recommended actions), which events it rests on ([`Evidence`], by stable
//! reference, with the event itself when it was kept) and, in [`AlertDetail`], what only
//! that detector knows (the UEBA [`ThreatScore`], the Sigma [`RuleMatch`], the
//! [`FlowFinding`], the [`NetworkFinding`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Anomaly, AnomalyType, ThreatLevel, ThreatScore};

/// The tenant of single-tenant runs (the CLI, a service without tokens per tenant).
pub const DEFAULT_TENANT: &str = "default";

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub tenant: String,
    /// Stable identity of this detection of this event: the same detection replayed gets
    /// the same key, so stores and SIEMs never hold it twice.
    pub key: String,
    /// A digest of what the event says ([`content_digest`]), part of the alert's
    /// [`identity`](Alert::identity) so that another event sent first under the same ids
    /// cannot make this detection a duplicate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// When it happened (the event's time), RFC 3339 UTC.
    pub timestamp: String,
    /// Who or what the alert is about: a user id, `host:NAME`, an IP address.
    pub subject: String,
    /// Every entity involved, typed (the subject first).
    #[serde(default)]
    pub entities: Vec<Entity>,
    pub detector: Detector,
    pub level: ThreatLevel,
    /// 0–100, one decimal.
    pub score: f32,
    /// `[0, 1]`.
    pub confidence: f32,
    /// Anomalies behind the score, strongest first.
    pub anomalies: Vec<Anomaly>,
    pub explanation: String,
    #[serde(default)]
    pub recommended_actions: Vec<String>,
    /// The events the alert rests on: the one that raised it first.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// ATT&CK techniques and tactics (`T1110`, `T1059.001`, `execution`).
    #[serde(default)]
    pub attack: Vec<String>,
    pub detail: AlertDetail,
}

/// The kinds of entities alerts name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    User,
    Host,
    Ip,
    Process,
}

/// One entity an alert involves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entity {
    pub kind: EntityKind,
    pub value: String,
}

impl Entity {
    pub fn new(kind: EntityKind, value: impl Into<String>) -> Self {
        Entity {
            kind,
            value: value.into(),
        }
    }
}

/// The families of detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectorKind {
    /// Behavioural baselines (with the activity models' ensemble).
    Ueba,
    /// A model scoring on its own.
    Model,
    /// A Sigma rule or correlation.
    Sigma,
    /// Network detection: a flow model (`detector.id` is the model) or a rule-based
    /// network finder (`network/<finder>`).
    Flow,
    /// An entity-graph finder.
    Graph,
    /// Command-line and script analysis.
    Payload,
}

impl DetectorKind {
    pub const ALL: [DetectorKind; 6] = [
        Self::Ueba,
        Self::Model,
        Self::Sigma,
        Self::Flow,
        Self::Graph,
        Self::Payload,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ueba => "ueba",
            Self::Model => "model",
            Self::Sigma => "sigma",
            Self::Flow => "flow",
            Self::Graph => "graph",
            Self::Payload => "payload",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The live stream's channel for this detector's alerts (every alert is also on
    /// `threat`).
    pub fn channel(self) -> &'static str {
        match self {
            Self::Ueba | Self::Model => "behavior",
            Self::Flow => "network",
            Self::Payload => "payload",
            Self::Sigma | Self::Graph => "threat",
        }
    }
}

/// Which detector raised an alert: its family and, within it, which one (the rule id,
/// the model's label).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Detector {
    pub kind: DetectorKind,
    pub id: String,
}

/// A stable reference to an event, whatever carried it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "ref", rename_all = "snake_case")]
pub enum EventRef {
    /// An event with its own id (`event_id` of a user activity).
    EventId { event_id: String },
    /// A Windows event record: its computer and record number.
    Record {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        computer: Option<String>,
        record_id: u64,
    },
    /// A line of an input (a file, a request body).
    Line { source: String, line: u64 },
    /// An event with nothing stable in it but its content: a hash of it.
    Hash { hash: String },
    /// A network connection or transaction by its Zeek `uid` (the same in every Zeek log
    /// of that connection: `conn`, `dns`, `http`, …).
    Connection { uid: String },
}

/// Why an event is in an alert's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceRole {
    /// The event that raised the alert.
    Trigger,
    /// An event before it, shown as context (the user's previous events).
    Context,
    /// An earlier event whose anomaly joined the score (the detector cites it: session
    /// compounding); the alert is about it too.
    Contributor,
}

/// One event an alert rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub role: EvidenceRole,
    /// Where to find it again.
    pub reference: EventRef,
    /// When it happened, RFC 3339 UTC, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The event itself, when it was kept (bounded in size by whoever keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
}

/// What only the detector that raised the alert knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertDetail {
    /// The behavioural score, exactly as `warden detect` writes it.
    Ueba(Box<ThreatScore>),
    Sigma(RuleMatch),
    Flow(FlowFinding),
    Graph(GraphFinding),
    Payload(Box<PayloadFinding>),
    Network(NetworkFinding),
}

/// What a rule-based network finder found (scans, beaconing, DNS tunnelling, generated
/// names, long connections, large transfers out): who, to where, over which time, on how
/// many records. The numbers are in the alert's explanation; the records it rests on are
/// its evidence, by Zeek `uid`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkFinding {
    /// `port_scan`, `host_scan`, `beaconing`, `dns_tunnelling`, `dga_queries`,
    /// `long_connection` or `large_transfer`.
    pub finder: String,
    /// The source address.
    pub source: String,
    /// A host, `host:port/proto`, `port N` (a sweep) or a domain, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The first and last records, RFC 3339 UTC.
    pub first_seen: String,
    pub last_seen: String,
    /// Records it rests on in all (the evidence cites the first few).
    pub records: u64,
    /// What Zeek's application logs say of the cited connections (joined by `uid`).
    #[serde(default, skip_serializing_if = "NetworkContext::is_empty")]
    pub context: NetworkContext,
}

/// What the application logs (`ssl`, `http`, `notice`) say of a finding's connections,
/// the first few distinct values of each kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkContext {
    /// TLS server names (SNI) and HTTP hosts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_names: Vec<String>,
    /// Server certificate subjects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
    /// Why a certificate did not validate (`self signed certificate`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_certificates: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ja3: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_agents: Vec<String>,
    /// Zeek notices (`SSL::Invalid_Server_Cert`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// Cited connections that were TLS without a server name.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tls_without_name: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl NetworkContext {
    pub fn is_empty(&self) -> bool {
        *self == NetworkContext::default()
    }
}

/// What payload analysis found in a command line or script.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PayloadFinding {
    /// `sh`, `bash`, `cmd` or `powershell`.
    pub shell: String,
    /// `ALLOW`, `QUARANTINE` or `BLOCK`.
    pub action: String,
    /// The text as submitted (cut to [`PayloadFinding::MAX_TEXT`] bytes).
    pub text: String,
    /// The fully decoded text, when it differs (cut the same way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
    /// The decoders of each layer after the first, in order.
    #[serde(default)]
    pub decoders: Vec<String>,
    /// Each view's score (0–100), `None` for a view that did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic: Option<f32>,
    pub signatures: f32,
    /// The analysis job, when the text came through one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<i64>,
}

impl PayloadFinding {
    /// Longest text kept in an alert.
    pub const MAX_TEXT: usize = 4096;
}

/// What an entity-graph finder found: the steps of a path or pattern, in time order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphFinding {
    /// The finder (`lateral_movement`, `privilege_escalation`, `credential_misuse`,
    /// `attack_progression`).
    pub finder: String,
    pub steps: Vec<GraphStep>,
}

/// One step of a graph finding: an edge of the entity graph as it was used at a time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphStep {
    /// RFC 3339 UTC.
    pub timestamp: String,
    /// `logon`, `remote_execution`, `credential_access`, `group_change`, `privilege`,
    /// `connection`, `process`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Where the step starts (a host, an IP, a process), when it has a direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Where it arrives (a host, a group, an IP, a process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Whether this edge had never been seen before the step.
    #[serde(default)]
    pub first_seen: bool,
    /// The ATT&CK tactic the step shows, when one clearly does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tactic: Option<String>,
    /// The facts, in words.
    pub detail: String,
}

/// A Sigma rule (or correlation) that matched, as the engine reported it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleMatch {
    pub rule_id: String,
    pub rule_title: String,
    /// The rule's level (`informational` … `critical`).
    pub level: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub computer: Option<String>,
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub event_id: Option<i64>,
    #[serde(default)]
    pub record_id: Option<u64>,
    #[serde(default)]
    pub file: Option<String>,
    /// The fields that matched and their values; for a correlation, the group and the
    /// aggregate.
    #[serde(default)]
    pub details: serde_json::Map<String, Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub correlation: bool,
}

/// A network flow a model found anomalous.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowFinding {
    /// The model's registry name and version, or file name.
    pub model: String,
    /// Its kind (`isolation_forest`, `gbdt`, …).
    pub model_kind: String,
    /// The flows' format (`nsl-kdd`, `unsw-nb15`, `zeek-conn`).
    pub format: String,
    pub score: f64,
    pub threshold: f64,
    /// The features that weighed most, strongest first.
    #[serde(default)]
    pub top_features: Vec<FeatureShare>,
    /// Multi-class models: the most probable class and its probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicted_class: Option<(String, f64)>,
}

/// One feature's share of a model's verdict.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureShare {
    pub feature: String,
    pub share: f64,
    pub value: f32,
}

impl Alert {
    /// What stores deduplicate on: the key and, when known, the digest of the event's
    /// content — the same event replayed has the same identity; another event under the
    /// same ids does not.
    pub fn identity(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}#{d}", self.key),
            None => self.key.clone(),
        }
    }

    /// The alert of a behavioural score; `tenant` owns it. Entities beyond the user (an
    /// IP, a device's host) are added by whoever knows the activity.
    pub fn from_threat_score(tenant: &str, s: &ThreatScore) -> Alert {
        let reference = match &s.event_id {
            Some(id) => EventRef::EventId {
                event_id: id.clone(),
            },
            None => EventRef::Hash {
                hash: content_hash(&[&s.user_id, &s.timestamp]),
            },
        };
        let mut attack: Vec<String> = Vec::new();
        for a in &s.anomalies {
            if let Some(t) = ueba_technique(a.kind)
                && !attack.iter().any(|x| x == t)
            {
                attack.push(t.to_owned());
            }
        }
        Alert {
            tenant: tenant.to_owned(),
            key: s.event_id.clone().unwrap_or_default(),
            digest: None,
            timestamp: s.timestamp.clone(),
            subject: s.user_id.clone(),
            entities: vec![Entity::new(EntityKind::User, &s.user_id)],
            detector: Detector {
                kind: DetectorKind::Ueba,
                id: "ueba".into(),
            },
            level: s.threat_level,
            score: s.threat_score,
            confidence: s.confidence,
            anomalies: s.anomalies.clone(),
            explanation: s.explanation.clone(),
            recommended_actions: s.recommended_actions.clone(),
            evidence: std::iter::once(Evidence {
                role: EvidenceRole::Trigger,
                reference,
                timestamp: Some(s.timestamp.clone()),
                event: None,
            })
            .chain(s.cited_events.iter().map(|id| Evidence {
                role: EvidenceRole::Contributor,
                reference: EventRef::EventId {
                    event_id: id.clone(),
                },
                timestamp: None,
                event: None,
            }))
            .collect(),
            attack,
            detail: AlertDetail::Ueba(Box::new(s.clone())),
        }
    }

    /// Anomaly types behind the score, strongest first (for filters and indexes).
    pub fn primary_anomalies(&self) -> Vec<AnomalyType> {
        if let AlertDetail::Ueba(s) = &self.detail {
            return s.primary_anomalies.clone();
        }
        let mut out: Vec<AnomalyType> = Vec::new();
        for a in &self.anomalies {
            if !out.contains(&a.kind) {
                out.push(a.kind);
            }
        }
        out
    }

    /// The live stream's channel for this alert.
    pub fn channel(&self) -> &'static str {
        self.detector.kind.channel()
    }

    /// The behavioural score, when a behavioural detector raised the alert.
    pub fn threat_score(&self) -> Option<&ThreatScore> {
        match &self.detail {
            AlertDetail::Ueba(s) => Some(s),
            _ => None,
        }
    }

    /// Adds an entity unless it is already named.
    pub fn add_entity(&mut self, kind: EntityKind, value: &str) {
        let value = value.trim();
        if value.is_empty() || value == "-" {
            return;
        }
        if !self
            .entities
            .iter()
            .any(|e| e.kind == kind && e.value == value)
        {
            self.entities.push(Entity::new(kind, value));
        }
    }

    /// The first entity of a kind.
    pub fn entity(&self, kind: EntityKind) -> Option<&str> {
        self.entities
            .iter()
            .find(|e| e.kind == kind)
            .map(|e| e.value.as_str())
    }
}

/// The ATT&CK technique a behavioural anomaly points to, where one clearly does.
fn ueba_technique(t: AnomalyType) -> Option<&'static str> {
    match t {
        // Valid Accounts: someone else signing in with the user's credentials.
        AnomalyType::ImpossibleTravel | AnomalyType::NewLocation | AnomalyType::NewDevice => {
            Some("T1078")
        }
        // Brute Force (guessing, spraying, stuffing).
        AnomalyType::FailedLoginBurst => Some("T1110"),
        // Data from Information Repositories.
        AnomalyType::UnusualResources => Some("T1213"),
        // Exfiltration Over Alternative Protocol / Web Service is too specific to claim
        // from a volume alone; the tactic is what the volume shows.
        AnomalyType::UnusualVolume => Some("exfiltration"),
        _ => None,
    }
}

/// A collision-resistant digest of an event's content for alert identities (the first 128
/// bits of SHA-256, hex; parts length-prefixed so they cannot run into each other). An
/// identity must include what the event says, not only the ids a shipper chose: otherwise
/// an event sent first under the same ids would make the real detection a "duplicate"
/// that is never stored or notified.
pub fn content_digest(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// FNV-1a (64 bits) over parts separated by a zero byte, as 16 hex digits: stable across
/// builds and platforms, so keys built from it can be persisted. Not collision-resistant:
/// for names and grouping, not for identities an adversary could aim at
/// ([`content_digest`]).
pub fn content_hash(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// ATT&CK ids and tactics from Sigma tags: `attack.t1059.001` → `T1059.001`,
/// `attack.execution` → `execution`; other tags are dropped.
pub fn attack_from_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let Some(rest) = t.strip_prefix("attack.").filter(|r| !r.is_empty()) else {
            continue;
        };
        // Bytes, not a slice of the text: a tag is the rule author's, any characters.
        let b = rest.as_bytes();
        let is_technique = b.first().is_some_and(|c| c.eq_ignore_ascii_case(&b't'))
            && b.get(1..5)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        let v = if is_technique {
            rest.to_ascii_uppercase()
        } else {
            rest.to_owned()
        };
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score() -> ThreatScore {
        ThreatScore {
            event_id: Some("e1".into()),
            user_id: "alice".into(),
            timestamp: "2026-04-02T01:58:06Z".into(),
            threat_score: 91.0,
            threat_level: ThreatLevel::Critical,
            primary_anomalies: vec![AnomalyType::ImpossibleTravel, AnomalyType::NewDevice],
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
            explanation: "CRITICAL".into(),
            learning: false,
            anomalies: vec![
                Anomaly {
                    kind: AnomalyType::ImpossibleTravel,
                    confidence: 1.0,
                    contribution: 60.0,
                    detail: "far".into(),
                },
                Anomaly {
                    kind: AnomalyType::NewDevice,
                    confidence: 0.8,
                    contribution: 31.0,
                    detail: "new".into(),
                },
            ],
            cited_events: Vec::new(),
            features: None,
        }
    }

    #[test]
    fn a_behavioural_score_becomes_an_alert_that_keeps_it_whole() {
        let s = score();
        let a = Alert::from_threat_score("acme", &s);
        assert_eq!(a.tenant, "acme");
        assert_eq!(a.key, "e1");
        assert_eq!(a.subject, "alice");
        assert_eq!(a.entity(EntityKind::User), Some("alice"));
        assert_eq!(a.detector.kind, DetectorKind::Ueba);
        assert_eq!(a.channel(), "behavior");
        assert_eq!(a.level, ThreatLevel::Critical);
        assert_eq!(a.attack, vec!["T1078".to_owned()]);
        assert_eq!(a.threat_score(), Some(&s));
        assert_eq!(
            a.primary_anomalies(),
            vec![AnomalyType::ImpossibleTravel, AnomalyType::NewDevice]
        );
        assert_eq!(
            a.evidence[0].reference,
            EventRef::EventId {
                event_id: "e1".into()
            }
        );
    }

    #[test]
    fn an_alert_round_trips_through_json_with_its_detail_named() {
        let mut a = Alert::from_threat_score("default", &score());
        a.add_entity(EntityKind::Ip, "203.0.113.9");
        a.add_entity(EntityKind::Ip, "203.0.113.9");
        a.add_entity(EntityKind::Host, "-");
        assert_eq!(
            a.entities.len(),
            2,
            "duplicates and placeholders are not added"
        );
        let v = serde_json::to_value(&a).unwrap_or_default();
        assert_eq!(v["detector"]["kind"], "ueba");
        assert_eq!(v["detail"]["ueba"]["user_id"], "alice");
        assert_eq!(v["evidence"][0]["reference"]["ref"], "event_id");
        assert_eq!(v["entities"][1]["kind"], "ip");
        let back: Alert = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, a);
    }

    #[test]
    fn a_rule_match_carries_no_behavioural_fields() {
        let a = Alert {
            tenant: "t".into(),
            key: "sigma:r1:7".into(),
            digest: None,
            timestamp: "2026-04-02T01:58:06Z".into(),
            subject: "host:dc1".into(),
            entities: vec![Entity::new(EntityKind::Host, "dc1")],
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
            explanation: "HIGH".into(),
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
                ..RuleMatch::default()
            }),
        };
        let v = serde_json::to_value(&a).unwrap_or_default();
        assert!(v.get("isolation_forest_score").is_none());
        assert!(v["detail"].get("ueba").is_none());
        assert_eq!(v["detail"]["sigma"]["rule_id"], "r1");
        assert_eq!(a.attack, vec!["T1059.001", "execution"]);
        assert_eq!(a.primary_anomalies(), vec![AnomalyType::RuleMatch]);
        assert_eq!(a.channel(), "threat");
        assert!(a.threat_score().is_none());
    }

    #[test]
    fn content_digests_are_stable_and_separate_their_parts() {
        assert_eq!(content_digest(&["ab"]), content_digest(&["ab"]));
        assert_ne!(content_digest(&["a", "b"]), content_digest(&["ab"]));
        assert_eq!(content_digest(&[""]).len(), 32);
    }

    #[test]
    fn content_hashes_are_stable_and_separate_their_parts() {
        assert_eq!(content_hash(&["ab"]), content_hash(&["ab"]));
        assert_ne!(content_hash(&["a", "b"]), content_hash(&["ab"]));
        assert_eq!(content_hash(&[""]), "cbf29ce484222325");
        for k in DetectorKind::ALL {
            assert_eq!(DetectorKind::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn attack_tags_of_any_characters_read_without_panic() {
        let tags: Vec<String> = [
            "attack.t1059.001",
            "attack.T1003",
            "attack.t123é",
            "attack.tééé",
            "attack.t",
            "attack.",
            "attack.execution",
            "attack.t1059.001",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            attack_from_tags(&tags),
            ["T1059.001", "T1003", "t123é", "tééé", "t", "execution"]
        );
    }
}
