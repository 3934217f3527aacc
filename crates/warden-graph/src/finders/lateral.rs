//! Lateral movement and credential misuse: logons of an account from a source it never
//! used, weighed by what the source and destination are to the rest of the network, then
//! joined into chains (a destination becomes the next source) and fan-outs (one source,
//! many destinations), with the remote execution seen on each destination and the
//! credential access seen on the source cited beside the hops.
//!
//! What keeps legitimate administration quiet is learned, not listed: the jump host is a
//! hub (several privileged accounts log on *from* it) and an entry point (they reach it
//! from their workstations); a backup or deployment account reaches the hosts it always
//! reaches; a helpdesk account comes from its usual workstation.

use rustc_hash::FxHashMap;
use warden_event::Timestamp;

use super::finding::{Finding, Step};
use super::profile::Role;
use super::{Cx, Hit};
use crate::event::{GraphEvent, logon_type};
use crate::graph::{EdgeKey, NodeId};

/// How long a chain waits for its next hop.
pub const CHAIN_WINDOW_MS: i64 = 12 * 3_600_000;
/// How long after a logon a process on the destination counts as its remote execution.
const EXECUTION_WINDOW_MS: i64 = 15 * 60_000;
/// How long before a hop credential access on its source is cited.
const CREDENTIAL_WINDOW_MS: i64 = 12 * 3_600_000;

struct Chain {
    finding: Finding,
    sources: Vec<NodeId>,
    reached: Vec<NodeId>,
    links: u32,
    ntlm_hops: u32,
    hops: u32,
    cited_credential_access: bool,
    executed_on: Vec<NodeId>,
    last: Timestamp,
    /// The strongest hop so far: hops add only what they exceed it by.
    max_hop: f32,
    /// Destinations new for the account, beyond the first.
    new_destinations: u32,
    ntlm_bonus: bool,
}

/// Points for each further destination new for the account (a fan-out), at most
/// `FANOUT_CAP` of them.
const FANOUT_POINTS: f32 = 5.0;
const FANOUT_CAP: u32 = 4;
/// Points for each time a destination became the next source, at most `LINK_CAP` times.
const LINK_POINTS: f32 = 12.0;
const LINK_CAP: u32 = 3;

/// The finder's state.
#[derive(Default)]
pub struct Lateral {
    chains: Vec<Chain>,
    by_account: FxHashMap<NodeId, Vec<usize>>,
    /// (account, destination) → (chain, time of arrival).
    arrivals: FxHashMap<(NodeId, NodeId), (usize, Timestamp)>,
    /// destination → (chain, time of arrival): for processes whose event names no
    /// account, or the machine's own (older 4688 events name the subject, not the user).
    arrivals_by_host: FxHashMap<NodeId, (usize, Timestamp)>,
    /// host → the last credential access seen on it.
    credential_access: FxHashMap<NodeId, Step>,
}

/// What the profile says about one hop, before the hop is learned.
struct HopFacts {
    points: f32,
    why: String,
    new_destination: bool,
    link_counts: bool,
}

fn hop_facts(cx: &Cx<'_>, key: &EdgeKey, new_source: bool) -> HopFacts {
    let (acct, src, dst) = (key.actor, key.src, key.dst);
    let p = cx.profile;
    let privileged = p.is_privileged(acct);
    let src_role = p.role(src);
    let src_name = cx.name(src);
    let dst_name = cx.name(dst);
    let mut why = Vec::new();
    let mut points = source_points(src_role, p.is_owner(src, acct), src_name, &mut why);
    if !new_source {
        points = 0.0;
    }
    if src_role == Role::Workstation && p.is_entry_point(dst) {
        points = points.min(4.0);
        why.clear();
        why.push(format!(
            "{dst_name} is where privileged accounts usually arrive from workstations"
        ));
    }
    if !privileged {
        points *= 0.5;
    } else if points > 0.0 {
        why.push("with a privileged account".to_owned());
    }
    let ntlm_from_workstation = key.ntlm() && privileged && src_role == Role::Workstation;
    let new_destination = !p.account_destinations.contains(&(acct, dst));
    let someone_elses_machine = src_role == Role::Workstation && privileged;
    let peers = if new_destination {
        p.peers_reaching(acct, dst)
    } else {
        0
    };
    if points > 0.0 && new_destination && src_role != Role::Hub && peers > 0 {
        // New for the account, usual for its peers: a teammate's ordinary host.
        points += 2.0;
        why.push(format!(
            "first logon of the account to {dst_name}, a host {peers} of its peers reach"
        ));
    } else if points > 0.0 && new_destination && src_role != Role::Hub {
        points += 8.0;
        why.push(format!("first logon of the account to {dst_name}"));
    } else if points > 0.0 && !new_destination && !ntlm_from_workstation && !someone_elses_machine {
        // The hosts it always reaches, from somewhere new: a service moving, a new laptop.
        points *= 0.5;
        why.push(format!("{dst_name} is a host it usually reaches"));
    }
    if points > 0.0 && p.role(dst) == Role::DomainController {
        points += 12.0;
        why.push(format!("{dst_name} is a domain controller"));
    }
    if points > 0.0 && ntlm_from_workstation {
        points += 12.0;
        why.push("over NTLM from a workstation (the pass-the-hash pattern)".to_owned());
    }
    HopFacts {
        points,
        why: why.join(", "),
        new_destination,
        // A jump host passing an admin on is the path, not a hop onward.
        link_counts: src_role != Role::Hub && !p.is_entry_point(src),
    }
}

/// What a hop's source alone says: an admin arriving from a workstation they do not use,
/// or a server that reaches no others, weighs most; their own workstation or a jump host
/// little.
fn source_points(role: Role, owner: bool, name: &str, why: &mut Vec<String>) -> f32 {
    match role {
        Role::Workstation if owner => 8.0,
        Role::Workstation => {
            why.push(format!("from {name}, a workstation it is not a user of"));
            30.0
        }
        Role::Server => {
            why.push(format!(
                "from {name}, a server that is not used to reach others"
            ));
            30.0
        }
        Role::DomainController => 25.0,
        Role::Unknown => {
            why.push(format!("from {name}, a source never seen before"));
            20.0
        }
        Role::Hub => 4.0,
    }
}

/// The step a remote logon is in a chain (its points set when it is added).
fn hop_step(
    cx: &Cx<'_>,
    e: &GraphEvent,
    key: &EdgeKey,
    facts: &HopFacts,
    new_source: bool,
) -> Step {
    let acct_name = cx.name(key.actor).to_owned();
    let (src_name, dst_name) = (cx.name(key.src).to_owned(), cx.name(key.dst).to_owned());
    let lt = key.logon_type();
    Step {
        time: e.time,
        kind: "logon",
        account: Some(acct_name.clone()),
        from: Some(src_name.clone()),
        to: Some(dst_name.clone()),
        first_seen: new_source,
        tactic: Some("lateral_movement"),
        technique: Some(if key.ntlm() { "T1550.002" } else { "T1021" }),
        detail: format!(
            "{acct_name} logged on to {dst_name} from {src_name} ({} logon{}){}{}",
            logon_type::name(lt),
            if key.ntlm() { ", NTLM" } else { "" },
            if facts.why.is_empty() { "" } else { ": " },
            facts.why
        ),
        reference: e.reference.clone(),
        points: facts.points,
    }
}

impl Chain {
    /// The bonuses a hop that continues this chain earns: a link (from a host the chain
    /// reached) and breadth (a new destination, for hops suspicious on their own — not an
    /// admin's ordinary rounds from the jump host).
    fn grow_by(&mut self, key: &EdgeKey, facts: &HopFacts, linked: bool) {
        if linked && facts.link_counts {
            self.links += 1;
            if self.links <= LINK_CAP {
                self.finding.bonus += LINK_POINTS;
            }
        }
        if facts.new_destination && facts.points >= 10.0 && !self.reached.contains(&key.dst) {
            self.new_destinations += 1;
            if self.new_destinations <= FANOUT_CAP {
                self.finding.bonus += FANOUT_POINTS;
            }
        }
    }
}

impl Lateral {
    /// A remote logon; `key` is its edge (source → destination, actor the account).
    /// Returns whether the hop is suspicious enough to be kept out of what is learned as
    /// normal (an attacker's path must not become the account's habit).
    pub fn logon(
        &mut self,
        cx: &Cx<'_>,
        e: &GraphEvent,
        key: &EdgeKey,
        hits: &mut Vec<Hit>,
    ) -> bool {
        let acct = key.actor;
        let acct_name = cx.name(acct).to_owned();
        if acct_name.ends_with('$') {
            return false;
        }
        let continues = self.open_chain(acct, key.src, e.time);
        let new_source = !cx.profile.account_sources.contains(&(acct, key.src));
        let facts = hop_facts(cx, key, new_source || continues.is_some());
        if facts.points < 10.0 && continues.is_none() {
            return false;
        }
        if facts.points <= 0.0 {
            return false;
        }
        let step = hop_step(cx, e, key, &facts, new_source);
        let idx = match continues {
            Some((i, linked)) => {
                self.chains[i].grow_by(key, &facts, linked);
                i
            }
            None => self.open(acct, &acct_name, e),
        };
        self.add_hop(cx, idx, step, &facts, key, e);
        hits.push(Hit::Lateral(idx));
        let suspicious = facts.points >= 20.0;
        if suspicious {
            hits.push(Hit::Moved {
                from: key.src,
                to: key.dst,
                step: self.chains[idx].finding.steps.last().map(|s| Step {
                    points: facts.points,
                    ..s.clone()
                }),
            });
        }
        suspicious
    }

    /// A new chain for `acct`, opened by a hop at `e`; its index.
    fn open(&mut self, acct: NodeId, acct_name: &str, e: &GraphEvent) -> usize {
        let mut finding = Finding::new("lateral_movement", acct_name.to_owned(), &e.reference);
        finding.headline = format!("{acct_name} moved between hosts in a way it never had.");
        self.chains.push(Chain {
            finding,
            sources: Vec::new(),
            reached: Vec::new(),
            links: 0,
            ntlm_hops: 0,
            hops: 0,
            cited_credential_access: false,
            executed_on: Vec::new(),
            last: e.time,
            max_hop: 0.0,
            new_destinations: 0,
            ntlm_bonus: false,
        });
        let i = self.chains.len() - 1;
        self.by_account.entry(acct).or_default().push(i);
        i
    }

    /// The hop `step` added to chain `idx`: its points, the NTLM bonus, the hosts, the
    /// credential access it follows, the finder's name and headline, where it arrived.
    fn add_hop(
        &mut self,
        cx: &Cx<'_>,
        idx: usize,
        step: Step,
        facts: &HopFacts,
        key: &EdgeKey,
        e: &GraphEvent,
    ) {
        let c = &mut self.chains[idx];
        // A hop adds what it exceeds the strongest before it by: breadth is counted by
        // the fan-out and link bonuses, not by summing hops.
        let points = (facts.points - c.max_hop).max(0.0);
        c.max_hop = c.max_hop.max(facts.points);
        c.finding.push(Step { points, ..step });
        c.hops += 1;
        c.ntlm_hops += u32::from(key.ntlm());
        if c.ntlm_hops >= 3 && !c.ntlm_bonus {
            c.ntlm_bonus = true;
            c.finding.bonus += 10.0;
        }
        c.last = c.last.max(e.time);
        if !c.sources.contains(&key.src) {
            c.sources.push(key.src);
        }
        if !c.reached.contains(&key.dst) {
            c.reached.push(key.dst);
        }
        if !c.cited_credential_access
            && let Some(ca) = self.credential_access.get(&key.src)
            && ca.time <= e.time
            && e.time.0.saturating_sub(ca.time.0) <= CREDENTIAL_WINDOW_MS
        {
            c.finding.push(ca.clone());
            c.cited_credential_access = true;
        }
        c.finding.finder = if c.links == 0 && c.ntlm_hops == c.hops && c.hops >= 2 {
            "credential_misuse"
        } else {
            "lateral_movement"
        };
        c.finding.headline = headline(cx, c);
        let acct = key.actor;
        self.arrivals.insert((acct, key.dst), (idx, e.time));
        self.arrivals_by_host.insert(key.dst, (idx, e.time));
    }

    /// The open chain of `acct` a hop from `src` continues: `(chain, whether src is a
    /// host the chain reached)`; a hop from a source the chain already used is a fan-out.
    fn open_chain(&self, acct: NodeId, src: NodeId, t: Timestamp) -> Option<(usize, bool)> {
        let list = self.by_account.get(&acct)?;
        let open = |&&i: &&usize| t.0.saturating_sub(self.chains[i].last.0) <= CHAIN_WINDOW_MS;
        list.iter()
            .rev()
            .filter(open)
            .find(|&&i| self.chains[i].reached.contains(&src))
            .map(|&i| (i, true))
            .or_else(|| {
                list.iter()
                    .rev()
                    .filter(open)
                    .find(|&&i| self.chains[i].sources.contains(&src))
                    .map(|&i| (i, false))
            })
    }

    /// A process started on `host` by `acct`: cited when it is remote execution shortly
    /// after the account arrived there on a chain.
    /// `acct` is `None` when the event names no account or the machine's own.
    pub fn process(
        &mut self,
        e: &GraphEvent,
        acct: Option<NodeId>,
        host: NodeId,
        how: &'static str,
        command: &str,
        hits: &mut Vec<Hit>,
    ) {
        let arrival = match acct {
            Some(a) => self.arrivals.get(&(a, host)),
            None => self.arrivals_by_host.get(&host),
        };
        let Some(&(i, at)) = arrival else {
            return;
        };
        if e.time.0.saturating_sub(at.0) > EXECUTION_WINDOW_MS || e.time < at {
            return;
        }
        let what = if command.trim().is_empty() {
            match &e.action {
                crate::event::Action::ProcessStart { image, .. } => crate::event::image_name(image),
                _ => String::new(),
            }
        } else {
            truncate(command, 120).to_owned()
        };
        let c = &mut self.chains[i];
        let first_here = !c.executed_on.contains(&host);
        if first_here {
            c.executed_on.push(host);
        }
        let host_name = e.host.clone();
        c.finding.push(Step {
            time: e.time,
            kind: "remote_execution",
            account: e.account.clone(),
            from: None,
            to: host_name.clone(),
            first_seen: false,
            tactic: Some("execution"),
            technique: Some("T1569.002"),
            detail: format!(
                "remote execution on {} by {how}: {}",
                host_name.as_deref().unwrap_or("?"),
                what
            ),
            reference: e.reference.clone(),
            points: if first_here { 12.0 } else { 0.0 },
        });
        c.last = c.last.max(e.time);
        hits.push(Hit::Lateral(i));
    }

    /// Credential access seen on a host: cited by hops that leave it.
    pub fn credential_access(&mut self, host: NodeId, step: Step) {
        self.credential_access.insert(
            host,
            Step {
                points: 20.0,
                ..step
            },
        );
    }

    pub fn finding(&mut self, i: usize) -> Option<&mut Finding> {
        self.chains.get_mut(i).map(|c| &mut c.finding)
    }

    /// Forgets chains and arrivals older than the window before `now` (bounded memory).
    pub fn expire(&mut self, now: Timestamp) -> Vec<Finding> {
        let mut closed = Vec::new();
        let stale = |c: &Chain| now.0.saturating_sub(c.last.0) > 2 * CHAIN_WINDOW_MS;
        if !self.chains.iter().any(stale) {
            return closed;
        }
        let mut keep = Vec::with_capacity(self.chains.len());
        let mut remap = vec![usize::MAX; self.chains.len()];
        for (i, c) in std::mem::take(&mut self.chains).into_iter().enumerate() {
            if stale(&c) {
                closed.push(c.finding);
            } else {
                remap[i] = keep.len();
                keep.push(c);
            }
        }
        self.chains = keep;
        for list in self.by_account.values_mut() {
            list.retain_mut(|i| {
                *i = remap[*i];
                *i != usize::MAX
            });
        }
        self.by_account.retain(|_, l| !l.is_empty());
        self.arrivals.retain(|_, (i, _)| {
            *i = remap[*i];
            *i != usize::MAX
        });
        self.arrivals_by_host.retain(|_, (i, _)| {
            *i = remap[*i];
            *i != usize::MAX
        });
        self.credential_access
            .retain(|_, s| now.0.saturating_sub(s.time.0) <= CREDENTIAL_WINDOW_MS);
        closed
    }
}

fn headline(cx: &Cx<'_>, c: &Chain) -> String {
    let acct = c.finding.subject.as_str();
    let hosts: Vec<&str> = c.reached.iter().map(|&h| cx.name(h)).collect();
    let origin = c.sources.first().map_or("?", |&s| cx.name(s));
    let minutes = c
        .finding
        .steps
        .iter()
        .map(|s| s.time.0)
        .max()
        .zip(c.finding.steps.iter().map(|s| s.time.0).min())
        .map_or(0, |(a, b)| a.saturating_sub(b) / 60_000);
    let how = if c.links > 0 {
        format!("hopped {} time(s) onward", c.links)
    } else {
        "fanned out".to_owned()
    };
    format!(
        "{acct} logged on from {origin} to {} within {minutes} min and {how}: {}.",
        hosts.len(),
        hosts.join(" → ")
    )
}

pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
