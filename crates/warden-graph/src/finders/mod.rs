//! The finders and the [`Hunter`] that runs them over a stream of [`GraphEvent`]s in one
//! pass: each event is first judged against what the graph and the [`Profile`] knew
//! before it, then learned. Findings are reported as [`Alert`]s each time their level
//! rises or they gain a step (the alert key stays the same, so a consumer keeps the
//! latest; a finding has at most [`finding::MAX_STEPS`] steps).
//!
//! - [`lateral`]: lateral movement and credential misuse (chains and fan-outs of logons
//!   from sources an account never used);
//! - [`privesc`]: privilege escalation;
//! - [`progression`]: ATT&CK tactics a foothold goes through;
//! - [`tactics`]: what a process event shows;
//! - [`profile`]: what is learned (roles, usual sources and destinations, privileges).

pub mod finding;
pub mod lateral;
pub mod privesc;
pub mod profile;
pub mod progression;
pub mod tactics;

use warden_event::{Alert, DEFAULT_TENANT, ThreatLevel, Timestamp};

use crate::event::{Action, GraphEvent, logon_type};
use crate::graph::{EdgeKind, EntityGraph, NodeId, NodeKind};
use finding::{Finding, Step};
use profile::signal::{LSASS_READ, OUTBOUND};
pub use profile::{Profile, Role};

/// How a hunt runs.
#[derive(Debug, Clone)]
pub struct HuntConfig {
    pub tenant: String,
    /// The first stretch of the stream only teaches the graph (no findings): how long,
    /// from the first event. Ignored when `learn_until` is set.
    pub learn_for_ms: i64,
    /// Learn only until this time.
    pub learn_until: Option<Timestamp>,
    /// The lowest level reported.
    pub min_level: ThreatLevel,
}

impl Default for HuntConfig {
    fn default() -> Self {
        HuntConfig {
            tenant: DEFAULT_TENANT.to_owned(),
            learn_for_ms: 7 * 86_400_000,
            learn_until: None,
            min_level: ThreatLevel::Medium,
        }
    }
}

/// What the finders read: the graph and the profile as they were before the event.
pub struct Cx<'a> {
    pub graph: &'a EntityGraph,
    pub profile: &'a Profile,
}

impl Cx<'_> {
    /// The node of the host an event happened on, if the graph has it.
    fn host_of(&self, e: &GraphEvent) -> Option<NodeId> {
        e.host
            .as_deref()
            .and_then(|h| self.graph.find(NodeKind::Host, h))
    }

    pub fn name(&self, n: NodeId) -> &str {
        &self.graph.node(n).name
    }
}

/// A finding an event moved.
#[derive(Debug, Clone)]
pub enum Hit {
    Lateral(usize),
    Privesc(NodeId),
    Progression(NodeId),
    /// A suspicious hop, for the progression finder.
    Moved {
        from: NodeId,
        to: NodeId,
        step: Option<Step>,
    },
}

/// The graph, what it learned, and the finders' state.
pub struct Hunter {
    pub graph: EntityGraph,
    pub profile: Profile,
    config: HuntConfig,
    learn_until: Option<Timestamp>,
    lateral: lateral::Lateral,
    privesc: privesc::Privesc,
    progression: progression::Progression,
    last_expiry: Timestamp,
    latest: Timestamp,
}

impl Hunter {
    pub fn new(config: HuntConfig) -> Self {
        Self::with_graph(config, EntityGraph::new(), Profile::default())
    }

    /// A hunter that starts from a graph (and what was learned with it) built before: it
    /// goes on learning until `learn_for_ms` after the graph's first event (a saved graph
    /// of a long enough history is the baseline, and every new event is judged).
    pub fn with_graph(config: HuntConfig, graph: EntityGraph, profile: Profile) -> Self {
        let first = graph.nodes().map(|(_, n)| n.first).min();
        let learn_until = config
            .learn_until
            .or_else(|| first.map(|f| Timestamp(f.0.saturating_add(config.learn_for_ms))));
        Hunter {
            graph,
            profile,
            config,
            learn_until,
            lateral: lateral::Lateral::default(),
            privesc: privesc::Privesc::default(),
            progression: progression::Progression::default(),
            last_expiry: Timestamp(i64::MIN),
            latest: Timestamp(i64::MIN),
        }
    }

    /// Until when the hunt only learns (known after the first event).
    pub fn learning_until(&self) -> Option<Timestamp> {
        self.learn_until
    }

    /// One event: judged, then learned. Returns the alerts of findings whose level rose.
    pub fn observe(&mut self, e: &GraphEvent) -> Vec<Alert> {
        let until = *self
            .learn_until
            .get_or_insert_with(|| Timestamp(e.time.0.saturating_add(self.config.learn_for_ms)));
        let learning = e.time < until;
        if let Action::Detection { .. } = &e.action {
            let mut hits = Vec::new();
            if !learning {
                self.detection(e, &mut hits);
            }
            return self.report(&hits);
        }
        let Some(touched) = self.graph.add(e) else {
            return Vec::new();
        };
        let key = self.graph.edge(touched.edge).key;
        let mut hits = Vec::new();
        let suspicious = !learning && self.judge(e, &key, &mut hits);
        self.learn(e, &key, suspicious);
        self.latest = self.latest.max(e.time);
        if self.latest.0.saturating_sub(self.last_expiry.0) > 3_600_000 {
            self.expire();
        }
        self.report(&hits)
    }

    /// Runs the finders on one event; says whether it is suspicious enough to be kept out
    /// of what is learned as normal.
    fn judge(&mut self, e: &GraphEvent, key: &crate::graph::EdgeKey, hits: &mut Vec<Hit>) -> bool {
        let mut suspicious = false;
        match &e.action {
            Action::ProcessStart {
                image,
                parent,
                command_line,
            } => self.process_start(e, image, parent, command_line, hits),
            Action::ProcessAccess {
                source_image,
                target_image,
                granted_access,
            } => self.process_access(e, source_image, target_image, granted_access, hits),
            Action::Connection {
                image, dest_port, ..
            } => self.connection(e, image, *dest_port, hits),
            action => {
                let cx = Cx {
                    graph: &self.graph,
                    profile: &self.profile,
                };
                match action {
                    Action::Logon { .. } if key.kind == EdgeKind::RemoteLogon => {
                        suspicious = self.lateral.logon(&cx, e, key, hits);
                    }
                    Action::Privileged => {
                        self.privesc
                            .privileged_logon(&cx, e, key.src, key.dst, hits);
                    }
                    Action::GroupAdd { group } => {
                        self.privesc
                            .group_add(&cx, e, key.src, key.dst, group, hits);
                    }
                    _ => {}
                }
            }
        }
        let cx = Cx {
            graph: &self.graph,
            profile: &self.profile,
        };
        let moved: Vec<_> = hits
            .iter()
            .filter_map(|h| match h {
                Hit::Moved { from, to, step } => step.clone().map(|s| (*from, *to, s)),
                _ => None,
            })
            .collect();
        for (from, to, step) in moved {
            self.progression.moved(&cx, from, to, step, hits);
        }
        suspicious
    }

    /// A process started: remote execution arriving on the host, and a tactic's signal
    /// (credential access, privilege escalation, …) as a step of the host's progression.
    fn process_start(
        &mut self,
        e: &GraphEvent,
        image: &str,
        parent: &str,
        command_line: &str,
        hits: &mut Vec<Hit>,
    ) {
        let cx = Cx {
            graph: &self.graph,
            profile: &self.profile,
        };
        let host = cx.host_of(e);
        // The machine's own account (older 4688 events name the subject) says
        // nothing about who arrived: such processes are matched by host.
        let acct = e
            .account
            .as_deref()
            .filter(|a| !a.ends_with('$'))
            .and_then(|a| cx.graph.find(NodeKind::Account, a));
        if let Some(host) = host
            && let Some(how) = tactics::is_remote_execution(image, parent)
        {
            self.lateral.process(e, acct, host, how, command_line, hits);
        }
        if let (Some(host), Some(sig)) =
            (host, tactics::process_signal(image, parent, command_line))
        {
            let step = signal_step(
                e,
                sig,
                format!(
                    "{} on {}: {}",
                    sig.what,
                    e.host.as_deref().unwrap_or("?"),
                    lateral::truncate(command_line, 160)
                ),
            );
            if sig.tactic == "credential_access" {
                self.lateral.credential_access(host, step.clone());
            }
            if sig.tactic == "privilege_escalation"
                && let Some(acct) = acct
            {
                self.privesc.tool(acct, step.clone());
            }
            self.progression.step(&cx, host, step, hits);
        }
    }

    /// A process opened another (LSASS read by a program the fleet does not read it with):
    /// credential access on the host.
    fn process_access(
        &mut self,
        e: &GraphEvent,
        source_image: &str,
        target_image: &str,
        granted_access: &str,
        hits: &mut Vec<Hit>,
    ) {
        let cx = Cx {
            graph: &self.graph,
            profile: &self.profile,
        };
        let host = cx.host_of(e);
        let program = crate::event::image_name(source_image);
        let sig = tactics::access_signal(target_image, granted_access)
            .filter(|_| !cx.profile.is_fleet_program(LSASS_READ, &program));
        if let (Some(host), Some(sig)) = (host, sig) {
            let step = signal_step(
                e,
                sig,
                format!(
                    "{} on {}: {} opened {} (access {granted_access})",
                    sig.what,
                    e.host.as_deref().unwrap_or("?"),
                    crate::event::image_name(source_image),
                    crate::event::image_name(target_image)
                ),
            );
            self.lateral.credential_access(host, step.clone());
            self.progression.step(&cx, host, step, hits);
        }
    }

    /// A connection out by a program the fleet does not connect with: a step of the host's
    /// progression.
    fn connection(&mut self, e: &GraphEvent, image: &str, dest_port: u16, hits: &mut Vec<Hit>) {
        let cx = Cx {
            graph: &self.graph,
            profile: &self.profile,
        };
        let host = cx.host_of(e);
        let dest = e.dest_ip.as_deref().unwrap_or("");
        let program = crate::event::image_name(image);
        let sig = tactics::connection_signal(image, dest)
            .filter(|_| !cx.profile.is_fleet_program(OUTBOUND, &program));
        if let (Some(host), Some(sig)) = (host, sig) {
            let step = signal_step(
                e,
                sig,
                format!(
                    "{} from {}: {} to {dest}:{dest_port}",
                    sig.what,
                    e.host.as_deref().unwrap_or("?"),
                    crate::event::image_name(image)
                ),
            );
            self.progression.step(&cx, host, step, hits);
        }
    }

    /// Another detector's finding on a host (or about an account): a step of its
    /// progression (one with techniques but no tactic adds nothing).
    fn detection(&mut self, e: &GraphEvent, hits: &mut Vec<Hit>) {
        let Action::Detection {
            what,
            tactics,
            techniques,
        } = &e.action
        else {
            return;
        };
        // The host it matched on; behaviour that names no host belongs to its account.
        let root = match (e.host.as_deref(), e.account.as_deref()) {
            (Some(h), _) => self.graph.intern(NodeKind::Host, h, e.time),
            (None, Some(a)) => self.graph.intern(NodeKind::Account, a, e.time),
            (None, None) => return,
        };
        let place = e.host.as_deref().or(e.account.as_deref()).unwrap_or("?");
        let cx = Cx {
            graph: &self.graph,
            profile: &self.profile,
        };
        // One event is one step, of its first tactic (a rule's tags name every tactic its
        // technique serves; a behavioural score lists its strongest anomaly first): a rule
        // firing again must not walk the kill chain through its own tags.
        if let Some(t) = tactics.iter().find_map(|t| tactics::tactic_named(t)) {
            let step = Step {
                time: e.time,
                kind: "detection",
                account: e.account.clone(),
                from: e.host.clone(),
                to: None,
                first_seen: false,
                tactic: Some(t),
                technique: None,
                detail: format!(
                    "{} on {place}{}",
                    lateral::truncate(what, 200),
                    if techniques.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", techniques.join(", "))
                    }
                ),
                reference: e.reference.clone(),
                points: 0.0,
            };
            self.progression.step(&cx, root, step, hits);
        }
    }

    /// Learns one event as normal behaviour; a suspicious hop teaches only that the
    /// account exists.
    fn learn(&mut self, e: &GraphEvent, key: &crate::graph::EdgeKey, suspicious: bool) {
        let t = e.time;
        match (&e.action, key.kind) {
            (Action::Logon { .. }, EdgeKind::RemoteLogon) if suspicious => {
                self.profile.seen_account(key.actor, t);
            }
            (Action::Logon { .. }, EdgeKind::RemoteLogon) => {
                self.profile.remote_logon(key.actor, key.src, key.dst, t);
            }
            (Action::Logon { logon_type: lt, .. }, EdgeKind::Logon) => {
                if matches!(
                    *lt,
                    logon_type::INTERACTIVE | logon_type::CACHED_INTERACTIVE
                ) {
                    self.profile.interactive_logon(key.src, key.dst, t);
                } else {
                    self.profile.seen_account(key.src, t).logons += 1;
                }
            }
            (Action::Privileged, _) => self.profile.privileged(key.src, t),
            (
                Action::ProcessAccess {
                    source_image,
                    target_image,
                    granted_access,
                },
                _,
            ) => {
                let host = e
                    .host
                    .as_deref()
                    .and_then(|h| self.graph.find(NodeKind::Host, h));
                if let Some(host) = host
                    && tactics::access_signal(target_image, granted_access).is_some()
                {
                    let program = crate::event::image_name(source_image);
                    self.profile.seen_program(LSASS_READ, &program, host);
                }
            }
            // A flow seen on the wire (Zeek) names no program.
            (Action::Connection { image, .. }, _) if !image.is_empty() => {
                let dest = e.dest_ip.as_deref().unwrap_or("");
                if tactics::connection_signal(image, dest).is_some() {
                    let program = crate::event::image_name(image);
                    self.profile.seen_program(OUTBOUND, &program, key.src);
                }
            }
            (Action::Ticket { .. }, _) if key.actor != crate::graph::NO_NODE => {
                self.profile.ticket_issued(key.actor);
            }
            _ => {}
        }
    }

    fn report(&mut self, hits: &[Hit]) -> Vec<Alert> {
        let mut out = Vec::new();
        let min = self.config.min_level;
        let tenant = self.config.tenant.clone();
        for h in hits {
            let f: Option<&mut Finding> = match h {
                Hit::Lateral(i) => self.lateral.finding(*i),
                Hit::Privesc(a) => self.privesc.finding(*a),
                Hit::Progression(r) => self.progression.finding(*r),
                Hit::Moved { .. } => None,
            };
            if let Some(f) = f {
                let level = f.level();
                let grew = f.steps.len() > f.reported_steps;
                if level >= min && (f.reported.is_none_or(|r| level > r) || grew) {
                    f.reported = Some(level);
                    f.reported_steps = f.steps.len();
                    out.push(f.to_alert(&tenant));
                }
            }
        }
        out
    }

    fn expire(&mut self) {
        let now = self.latest;
        self.last_expiry = now;
        self.lateral.expire(now);
        self.privesc.expire(now);
        self.progression.expire(now);
    }
}

fn signal_step(e: &GraphEvent, sig: tactics::Signal, detail: String) -> Step {
    Step {
        time: e.time,
        kind: if sig.tactic == "exfiltration" {
            "connection"
        } else if sig.tactic == "credential_access" {
            "credential_access"
        } else {
            "process"
        },
        account: e.account.clone(),
        from: e.host.clone(),
        to: e.dest_ip.clone(),
        first_seen: false,
        tactic: Some(sig.tactic),
        technique: Some(sig.technique),
        detail,
        reference: e.reference.clone(),
        points: 0.0,
    }
}

#[cfg(test)]
mod tests;
