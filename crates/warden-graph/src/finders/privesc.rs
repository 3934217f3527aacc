//! Privilege escalation: an account with a history and no privileges that joins a
//! privileged group, logs on with special privileges for the first time, and then uses
//! them on hosts it never reached — every step cited.
//!
//! A new account (a new administrator's first week) has no history to break: it is
//! learned, not flagged. A group is privileged when it is one of Windows' built-in
//! administrative groups or when privileged accounts are among its members.

use rustc_hash::FxHashMap;
use warden_event::Timestamp;

use super::finding::{Finding, Step};
use super::profile::Role;
use super::{Cx, Hit};
use crate::event::GraphEvent;
use crate::graph::NodeId;

/// How long an account must have been seen, without privileges, for its first privileged
/// logon to count as a change.
const HISTORY_MS: i64 = 2 * 86_400_000;
/// How long an escalation stays open for the uses that follow.
const WINDOW_MS: i64 = 48 * 3_600_000;

/// Built-in administrative groups (their well-known names; SIDs S-1-5-32-544, -548, -549,
/// -551 and the domain's -512, -518, -519).
const ADMIN_GROUPS: [&str; 8] = [
    "administrators",
    "domain admins",
    "enterprise admins",
    "schema admins",
    "account operators",
    "server operators",
    "backup operators",
    "dnsadmins",
];

/// A privileged logon of `name` on `host` as a step of its escalation.
fn privilege_step(e: &GraphEvent, name: &str, host: &str, detail: String, points: f32) -> Step {
    Step {
        time: e.time,
        kind: "privilege",
        account: Some(name.to_owned()),
        from: None,
        to: Some(host.to_owned()),
        first_seen: true,
        tactic: Some("privilege_escalation"),
        technique: Some("T1078"),
        detail,
        reference: e.reference.clone(),
        points,
    }
}

struct Escalation {
    finding: Finding,
    since: Timestamp,
    hosts: Vec<NodeId>,
    first_privilege: bool,
}

#[derive(Default)]
pub struct Privesc {
    open: FxHashMap<NodeId, Escalation>,
    /// Privilege-escalation tool runs per account, to cite when the escalation opens.
    tools: FxHashMap<NodeId, Step>,
}

impl Privesc {
    fn escalation(&mut self, acct: NodeId, name: &str, e: &GraphEvent) -> &mut Escalation {
        let stale = self
            .open
            .get(&acct)
            .is_some_and(|x| e.time.0.saturating_sub(x.since.0) > WINDOW_MS);
        if stale {
            self.open.remove(&acct);
        }
        let tool = self.tools.remove(&acct);
        self.open.entry(acct).or_insert_with(|| {
            let mut finding = Finding::new("privilege_escalation", name.to_owned(), &e.reference);
            finding.headline = format!("{name} gained rights it never had and used them.");
            if let Some(t) = tool.filter(|t| e.time.0.saturating_sub(t.time.0) <= WINDOW_MS) {
                finding.push(t);
            }
            Escalation {
                finding,
                since: e.time,
                hosts: Vec::new(),
                first_privilege: false,
            }
        })
    }

    /// `acct` was added to `group` (node `group_node`) by `by`.
    pub fn group_add(
        &mut self,
        cx: &Cx<'_>,
        e: &GraphEvent,
        acct: NodeId,
        group_node: NodeId,
        group: &str,
        hits: &mut Vec<Hit>,
    ) {
        let lower = group.to_ascii_lowercase();
        let privileged_group = ADMIN_GROUPS.contains(&lower.as_str())
            || cx
                .graph
                .in_edges(group_node)
                .any(|m| m.key.src != acct && cx.profile.is_privileged(m.key.src));
        if !privileged_group || cx.profile.is_privileged(acct) {
            return;
        }
        let name = cx.name(acct).to_owned();
        let by = e.actor.clone().unwrap_or_else(|| "?".into());
        let host = e.host.clone();
        let esc = self.escalation(acct, &name, e);
        esc.finding.push(Step {
            time: e.time,
            kind: "group_change",
            account: Some(name.clone()),
            from: None,
            to: Some(group.to_owned()),
            first_seen: true,
            tactic: Some("privilege_escalation"),
            technique: Some("T1098"),
            detail: format!(
                "{name}, an account without privileges, was added to {group} on {} by {by}",
                host.as_deref().unwrap_or("?")
            ),
            reference: e.reference.clone(),
            points: 25.0,
        });
        hits.push(Hit::Privesc(acct));
    }

    /// A logon of `acct` on `host` with special privileges (4672).
    pub fn privileged_logon(
        &mut self,
        cx: &Cx<'_>,
        e: &GraphEvent,
        acct: NodeId,
        host: NodeId,
        hits: &mut Vec<Hit>,
    ) {
        let name = cx.name(acct).to_owned();
        if name.ends_with('$') {
            return;
        }
        let facts = cx.profile.account(acct);
        let was_privileged = cx.profile.is_privileged(acct);
        let history = facts
            .and_then(|f| f.first_seen)
            .is_some_and(|f| e.time.0.saturating_sub(f.0) >= HISTORY_MS)
            && facts.is_some_and(|f| f.logons >= 3);
        let host_name = cx.name(host).to_owned();
        let role = cx.profile.role(host);
        if !was_privileged {
            if !history {
                return;
            }
            let esc = self.escalation(acct, &name, e);
            esc.first_privilege = true;
            esc.hosts.push(host);
            let detail = format!(
                "{name} logged on to {host_name} with special privileges for the first time \
                 in its history"
            );
            esc.finding
                .push(privilege_step(e, &name, &host_name, detail, 25.0));
            hits.push(Hit::Privesc(acct));
            return;
        }
        let Some(esc) = self.open.get_mut(&acct) else {
            return;
        };
        if e.time.0.saturating_sub(esc.since.0) > WINDOW_MS
            || esc.hosts.contains(&host)
            || esc.hosts.len() >= 16
        {
            return;
        }
        esc.hosts.push(host);
        let dc = role == Role::DomainController;
        let detail = format!(
            "{name} then used the privileges on {host_name}{}",
            if dc { ", a domain controller" } else { "" }
        );
        let points = if dc { 20.0 } else { 10.0 };
        esc.finding
            .push(privilege_step(e, &name, &host_name, detail, points));
        hits.push(Hit::Privesc(acct));
    }

    /// A privilege-escalation tool ran under `acct`: cited when an escalation opens.
    pub fn tool(&mut self, acct: NodeId, step: Step) {
        self.tools.insert(
            acct,
            Step {
                points: 10.0,
                ..step
            },
        );
    }

    pub fn finding(&mut self, acct: NodeId) -> Option<&mut Finding> {
        self.open.get_mut(&acct).map(|e| &mut e.finding)
    }

    pub fn expire(&mut self, now: Timestamp) {
        self.open
            .retain(|_, e| now.0.saturating_sub(e.since.0) <= 2 * WINDOW_MS);
        self.tools
            .retain(|_, s| now.0.saturating_sub(s.time.0) <= WINDOW_MS);
    }
}
