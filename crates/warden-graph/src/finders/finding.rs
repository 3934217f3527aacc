//! A finding as the finders build it — the steps of a path or pattern, each citing its
//! event and the points it adds — and its translation into Warden's one [`Alert`].

use warden_event::{
    Alert, AlertDetail, Anomaly, AnomalyType, Detector, DetectorKind, Entity, EntityKind, EventRef,
    Evidence, EvidenceRole, GraphFinding, GraphStep, LevelThresholds, ThreatLevel, Timestamp,
    content_hash,
};

/// One step of a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub time: Timestamp,
    /// `logon`, `remote_execution`, `credential_access`, `group_change`, `privilege`,
    /// `connection`, `process`.
    pub kind: &'static str,
    pub account: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub first_seen: bool,
    pub tactic: Option<&'static str>,
    pub technique: Option<&'static str>,
    pub detail: String,
    pub reference: EventRef,
    /// Points this step adds to the finding's score (0 for context).
    pub points: f32,
}

/// A finding in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub finder: &'static str,
    /// Stable for the finding's life: its alert key.
    pub id: String,
    /// A user id or `host:NAME`.
    pub subject: String,
    pub steps: Vec<Step>,
    /// Points beyond the steps' own (chain length, fan-out).
    pub bonus: f32,
    /// The sentence that opens the explanation.
    pub headline: String,
    /// The level last reported, and how many steps the finding had then: it is reported
    /// again when it rises or grows.
    pub reported: Option<ThreatLevel>,
    pub reported_steps: usize,
}

/// Most steps a finding keeps (a fan-out to hundreds of hosts cites the first ones).
pub const MAX_STEPS: usize = 64;

impl Finding {
    pub fn new(finder: &'static str, subject: String, first: &EventRef) -> Self {
        let id = content_hash(&[finder, &subject, &format!("{first:?}")]);
        Finding {
            finder,
            id,
            subject,
            steps: Vec::new(),
            bonus: 0.0,
            headline: String::new(),
            reported: None,
            reported_steps: 0,
        }
    }

    pub fn push(&mut self, step: Step) {
        if self.steps.len() < MAX_STEPS
            && !self
                .steps
                .iter()
                .any(|s| s.reference == step.reference && s.kind == step.kind)
        {
            self.steps.push(step);
        }
    }

    pub fn score(&self) -> f32 {
        let s: f32 = self.steps.iter().map(|s| s.points).sum::<f32>() + self.bonus;
        (s.clamp(0.0, 100.0) * 10.0).round() / 10.0
    }

    pub fn level(&self) -> ThreatLevel {
        ThreatLevel::from_score(self.score(), &LevelThresholds::default())
    }

    pub fn last_time(&self) -> Timestamp {
        self.steps.iter().map(|s| s.time).max().unwrap_or_default()
    }

    /// The alert of this finding, as it stands.
    pub fn to_alert(&self, tenant: &str) -> Alert {
        let mut steps = self.steps.clone();
        steps.sort_by_key(|s| s.time);
        let score = self.score();
        let first = steps.first().map_or(Timestamp::default(), |s| s.time);
        let entities = self.entities(&steps);
        let anomalies: Vec<Anomaly> = steps
            .iter()
            .filter(|s| s.points > 0.0)
            .map(|s| Anomaly {
                kind: AnomalyType::GraphPattern,
                confidence: (s.points / 40.0).clamp(0.1, 1.0),
                contribution: s.points,
                detail: s.detail.clone(),
            })
            .collect();
        let attack = attack_ids(&steps);
        let evidence = steps
            .iter()
            .map(|s| Evidence {
                role: if s.points > 0.0 {
                    EvidenceRole::Trigger
                } else {
                    EvidenceRole::Context
                },
                reference: s.reference.clone(),
                timestamp: Some(s.time.to_rfc3339()),
                event: None,
            })
            .collect();
        let level = self.level();
        Alert {
            tenant: tenant.to_owned(),
            key: content_hash(&[tenant, "graph", &self.id]),
            digest: None,
            timestamp: first.to_rfc3339(),
            subject: self.subject.clone(),
            entities,
            detector: Detector {
                kind: DetectorKind::Graph,
                id: self.finder.to_owned(),
            },
            level,
            score,
            confidence: (0.5 + score / 200.0).min(0.99),
            anomalies,
            explanation: self.explanation(&steps),
            recommended_actions: actions(self.finder, level),
            evidence,
            attack,
            detail: AlertDetail::Graph(GraphFinding {
                finder: self.finder.to_owned(),
                steps: steps.iter().map(graph_step).collect(),
            }),
        }
    }

    /// The entities an alert of this finding names: its subject, then each step's account
    /// and ends (addresses, processes, hosts), once each.
    fn entities(&self, steps: &[Step]) -> Vec<Entity> {
        let mut entities = Vec::new();
        let mut add = |kind, v: &str| {
            let e = Entity::new(kind, v);
            if !v.is_empty() && !entities.contains(&e) {
                entities.push(e);
            }
        };
        match self.subject.strip_prefix("host:") {
            Some(h) => add(EntityKind::Host, h),
            None => add(EntityKind::User, &self.subject),
        }
        for s in steps {
            if let Some(a) = &s.account {
                add(EntityKind::User, a);
            }
            for h in [&s.from, &s.to].into_iter().flatten() {
                let kind = if h.parse::<std::net::IpAddr>().is_ok() {
                    EntityKind::Ip
                } else if h.contains('@') {
                    EntityKind::Process
                } else {
                    EntityKind::Host
                };
                add(kind, h);
            }
        }
        entities
    }

    fn explanation(&self, steps: &[Step]) -> String {
        let mut out = self.headline.clone();
        for s in steps.iter().filter(|s| s.points > 0.0 || s.kind != "logon") {
            out.push_str(&format!(" {} {}.", s.time.to_rfc3339(), s.detail));
        }
        out
    }
}

fn graph_step(s: &Step) -> GraphStep {
    GraphStep {
        timestamp: s.time.to_rfc3339(),
        kind: s.kind.to_owned(),
        account: s.account.clone(),
        from: s.from.clone(),
        to: s.to.clone(),
        first_seen: s.first_seen,
        tactic: s.tactic.map(str::to_owned),
        detail: s.detail.clone(),
    }
}

fn actions(finder: &str, level: ThreatLevel) -> Vec<String> {
    let mut a = match finder {
        "lateral_movement" | "credential_misuse" => vec![
            "Confirm with the account's owner whether these logons were theirs".to_owned(),
            "Reset the account's password and revoke its sessions and tickets".to_owned(),
            "Examine the first source host for credential theft (LSASS access, new services)"
                .to_owned(),
        ],
        "privilege_escalation" => vec![
            "Check who granted the membership or privilege and whether it was approved".to_owned(),
            "Remove the membership and review what the account did with it".to_owned(),
        ],
        _ => vec![
            "Isolate the host and collect its memory and disk for investigation".to_owned(),
            "Review every step cited and the accounts used on the host".to_owned(),
        ],
    };
    if level >= ThreatLevel::High {
        a.insert(
            0,
            "Open an incident: the path crosses several hosts".to_owned(),
        );
    }
    a
}

/// The ATT&CK techniques and tactics of the steps, in order, once each.
fn attack_ids(steps: &[Step]) -> Vec<String> {
    let mut attack: Vec<String> = Vec::new();
    for s in steps {
        for t in [s.technique, s.tactic].into_iter().flatten() {
            if !attack.iter().any(|a| a == t) {
                attack.push(t.to_owned());
            }
        }
    }
    attack
}
