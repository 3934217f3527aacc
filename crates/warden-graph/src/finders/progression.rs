//! Attack progression: the ATT&CK tactics one foothold shows over a day — on the host
//! itself and on every host reached from it by a suspicious hop — in kill-chain order.
//! Each new tactic adds to the finding; the finding cites every step. Behavioural
//! anomalies of user activity name an account and no host: their campaign is the
//! account's.

use rustc_hash::FxHashMap;
use warden_event::Timestamp;

use super::finding::{Finding, Step};
use super::tactics::rank;
use super::{Cx, Hit};
use crate::graph::NodeId;

/// How long one campaign stays open after its first step.
const WINDOW_MS: i64 = 24 * 3_600_000;
/// Distinct tactics before a campaign is reported.
const MIN_TACTICS: usize = 2;
/// Steps cited per tactic.
const STEPS_PER_TACTIC: usize = 3;

struct Campaign {
    finding: Finding,
    tactics: Vec<&'static str>,
    started: Timestamp,
}

#[derive(Default)]
pub struct Progression {
    campaigns: FxHashMap<NodeId, Campaign>,
    /// host → (campaign root, since): hosts reached from a foothold belong to its campaign.
    root_of: FxHashMap<NodeId, (NodeId, Timestamp)>,
}

impl Progression {
    fn root(&self, host: NodeId, t: Timestamp) -> NodeId {
        match self.root_of.get(&host) {
            Some(&(root, since)) if t.0.saturating_sub(since.0) <= WINDOW_MS => root,
            _ => host,
        }
    }

    /// A suspicious hop `from` → `to`: `to` joins `from`'s campaign.
    pub fn moved(
        &mut self,
        cx: &Cx<'_>,
        from: NodeId,
        to: NodeId,
        step: Step,
        hits: &mut Vec<Hit>,
    ) {
        let root = self.root(from, step.time);
        if root != to {
            self.root_of.insert(to, (root, step.time));
        }
        self.step(cx, from, step, hits);
    }

    /// A tactic step seen on `host` (or on an account, for behaviour that names no host).
    pub fn step(&mut self, cx: &Cx<'_>, host: NodeId, step: Step, hits: &mut Vec<Hit>) {
        let Some(tactic) = step.tactic else {
            return;
        };
        let root = self.root(host, step.time);
        let stale = self
            .campaigns
            .get(&root)
            .is_some_and(|c| step.time.0.saturating_sub(c.started.0) > WINDOW_MS);
        if stale {
            self.campaigns.remove(&root);
        }
        let root_name = cx.name(root).to_owned();
        let root_kind = cx.graph.node(root).kind.as_str();
        let c = self.campaigns.entry(root).or_insert_with(|| {
            // An account's campaign is about the account, as its other alerts are; a
            // host's is named as a host (not to be taken for a user).
            let subject = if root_kind == "account" {
                root_name.clone()
            } else {
                format!("{root_kind}:{root_name}")
            };
            let mut finding = Finding::new("attack_progression", subject, &step.reference);
            finding.headline = String::new();
            Campaign {
                finding,
                tactics: Vec::new(),
                started: step.time,
            }
        });
        let new_tactic = !c.tactics.contains(&tactic);
        // A tactic seen again is evidence already given: its first few steps are cited,
        // not every repeat (a password-spraying burst is dozens of detections).
        if !new_tactic
            && c.finding
                .steps
                .iter()
                .filter(|s| s.tactic == Some(tactic))
                .count()
                >= STEPS_PER_TACTIC
        {
            return;
        }
        let forward = c
            .tactics
            .last()
            .is_none_or(|last| rank(tactic) >= rank(last));
        let points = match (new_tactic, c.tactics.len()) {
            (false, _) => 0.0,
            (true, 0) => 10.0,
            (true, _) if forward => 16.0,
            (true, _) => 12.0,
        };
        if new_tactic {
            c.tactics.push(tactic);
        }
        c.finding.push(Step { points, ..step });
        let whose = if root_kind == "account" {
            format!("The account {root_name}")
        } else {
            format!("From the foothold {root_name}, the attack")
        };
        c.finding.headline = format!(
            "{whose} went through {} tactics: {}.",
            c.tactics.len(),
            c.tactics.join(" → ")
        );
        if c.tactics.len() >= MIN_TACTICS {
            hits.push(Hit::Progression(root));
        }
    }

    pub fn finding(&mut self, root: NodeId) -> Option<&mut Finding> {
        self.campaigns.get_mut(&root).map(|c| &mut c.finding)
    }

    pub fn expire(&mut self, now: Timestamp) {
        self.campaigns
            .retain(|_, c| now.0.saturating_sub(c.started.0) <= 2 * WINDOW_MS);
        self.root_of
            .retain(|_, (_, since)| now.0.saturating_sub(since.0) <= WINDOW_MS);
    }
}
