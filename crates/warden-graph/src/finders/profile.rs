//! What the graph has learned about its entities, as the finders need it: which sources
//! each account logs on from, which hosts it reaches, which accounts hold privileges, and
//! the roles of hosts — all inferred from the events, never from names.
//!
//! Roles:
//! - **domain controller**: a host that issues Kerberos tickets;
//! - **hub**: a host several privileged accounts log on *from* (a jump host, a management
//!   or backup server, a scanner);
//! - **workstation**: a host a few accounts log on to interactively (its owners);
//! - **server**: a host others log on to over the network;
//! - **entry point**: a host privileged accounts routinely reach from workstations (the
//!   jump host seen from the other side).

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use warden_event::Timestamp;

use crate::graph::NodeId;

/// Distinct privileged accounts that make a host a hub (or an entry point).
pub const HUB_ACCOUNTS: u32 = 3;
/// Most interactive accounts a workstation has.
const WORKSTATION_OWNERS: usize = 3;

/// The role of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    DomainController,
    Hub,
    Workstation,
    Server,
    Unknown,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::DomainController => "domain controller",
            Role::Hub => "hub",
            Role::Workstation => "workstation",
            Role::Server => "server",
            Role::Unknown => "host",
        }
    }
}

/// Per-host facts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HostFacts {
    /// Accounts seen logging on interactively (at most a few are kept).
    pub owners: Vec<NodeId>,
    pub owners_overflow: bool,
    pub tickets_issued: u32,
    /// Distinct accounts that logged on to it over the network.
    pub remote_in_accounts: u32,
    /// Distinct privileged accounts that used it as a source.
    pub privileged_out_accounts: u32,
    /// Distinct privileged accounts that reached it from workstations.
    pub privileged_entries: u32,
}

/// Per-account facts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AccountFacts {
    pub first_seen: Option<Timestamp>,
    /// When it first logged on with special privileges.
    pub privileged_since: Option<Timestamp>,
    pub logons: u32,
}

/// Everything learned.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Profile {
    pub hosts: FxHashMap<NodeId, HostFacts>,
    pub accounts: FxHashMap<NodeId, AccountFacts>,
    /// (account, source) pairs of remote logons.
    pub account_sources: FxHashSet<(NodeId, NodeId)>,
    /// (account, destination) pairs of remote logons.
    pub account_destinations: FxHashSet<(NodeId, NodeId)>,
    /// (destination, account) pairs of privileged arrivals from workstations.
    pub privileged_entries: FxHashSet<(NodeId, NodeId)>,
    /// How many hosts each (signal, program) was seen on: a program that reads LSASS or
    /// talks to the internet on many machines is part of the fleet, not an intruder.
    pub prevalence: FxHashMap<(u8, Box<str>), u32>,
    prevalence_seen: FxHashSet<(u8, Box<str>, NodeId)>,
    /// `account_destinations` indexed both ways, for peer groups (rebuilt on load, bounded
    /// per entry: a host every account reaches says nothing of anyone's peers).
    #[serde(skip)]
    by_account: FxHashMap<NodeId, Vec<NodeId>>,
    #[serde(skip)]
    by_destination: FxHashMap<NodeId, Vec<NodeId>>,
}

/// Signals whose programs are counted across the fleet.
pub mod signal {
    pub const LSASS_READ: u8 = 1;
    pub const OUTBOUND: u8 = 2;
}

/// Most destinations kept per account, and accounts per destination, for peer groups.
const PEER_INDEX_CAP: usize = 512;
/// Two accounts are peers when they share at least this many destinations…
const PEER_MIN_SHARED: usize = 2;
/// …and this share of the destinations either reaches (Jaccard).
const PEER_MIN_JACCARD: f32 = 0.3;

/// Hosts a program must be seen on, with a signal, to be the fleet's own.
pub const FLEET_HOSTS: u32 = 3;
/// Most distinct (signal, program, host) triples counted.
const MAX_PREVALENCE: usize = 1_000_000;

impl Profile {
    pub fn role(&self, host: NodeId) -> Role {
        let Some(h) = self.hosts.get(&host) else {
            return Role::Unknown;
        };
        if h.tickets_issued > 0 {
            Role::DomainController
        } else if h.privileged_out_accounts >= HUB_ACCOUNTS {
            Role::Hub
        } else if !h.owners.is_empty() && !h.owners_overflow {
            Role::Workstation
        } else if h.remote_in_accounts > 0 {
            Role::Server
        } else {
            Role::Unknown
        }
    }

    /// Counts `program` showing `signal` on `host`.
    pub fn seen_program(&mut self, signal: u8, program: &str, host: NodeId) {
        if self.prevalence_seen.len() >= MAX_PREVALENCE {
            return;
        }
        if self.prevalence_seen.insert((signal, program.into(), host)) {
            *self.prevalence.entry((signal, program.into())).or_default() += 1;
        }
    }

    /// Whether `program` shows `signal` on enough hosts to be the fleet's own.
    pub fn is_fleet_program(&self, signal: u8, program: &str) -> bool {
        self.prevalence
            .get(&(signal, Box::from(program)))
            .is_some_and(|&n| n >= FLEET_HOSTS)
    }

    pub fn is_owner(&self, host: NodeId, account: NodeId) -> bool {
        self.hosts
            .get(&host)
            .is_some_and(|h| h.owners.contains(&account))
    }

    pub fn is_entry_point(&self, host: NodeId) -> bool {
        self.hosts
            .get(&host)
            .is_some_and(|h| h.privileged_entries >= HUB_ACCOUNTS)
    }

    pub fn is_privileged(&self, account: NodeId) -> bool {
        self.accounts
            .get(&account)
            .is_some_and(|a| a.privileged_since.is_some())
    }

    pub fn account(&self, account: NodeId) -> Option<&AccountFacts> {
        self.accounts.get(&account)
    }

    pub fn seen_account(&mut self, account: NodeId, t: Timestamp) -> &mut AccountFacts {
        let a = self.accounts.entry(account).or_default();
        a.first_seen = Some(a.first_seen.map_or(t, |f| f.min(t)));
        a
    }

    pub fn interactive_logon(&mut self, account: NodeId, host: NodeId, t: Timestamp) {
        self.seen_account(account, t).logons += 1;
        let h = self.hosts.entry(host).or_default();
        if !h.owners.contains(&account) {
            if h.owners.len() < WORKSTATION_OWNERS {
                h.owners.push(account);
            } else {
                h.owners_overflow = true;
            }
        }
    }

    pub fn privileged(&mut self, account: NodeId, t: Timestamp) {
        let a = self.seen_account(account, t);
        a.privileged_since = Some(a.privileged_since.map_or(t, |p| p.min(t)));
    }

    pub fn ticket_issued(&mut self, dc: NodeId) {
        let h = self.hosts.entry(dc).or_default();
        h.tickets_issued = h.tickets_issued.saturating_add(1);
    }

    fn index_destination(&mut self, account: NodeId, dst: NodeId) {
        let dests = self.by_account.entry(account).or_default();
        if dests.len() < PEER_INDEX_CAP {
            dests.push(dst);
        }
        let accounts = self.by_destination.entry(dst).or_default();
        if accounts.len() < PEER_INDEX_CAP {
            accounts.push(account);
        }
    }

    /// Rebuilds what is not saved (the peer indexes) after loading.
    pub fn reindex(&mut self) {
        self.by_account.clear();
        self.by_destination.clear();
        let mut pairs: Vec<(NodeId, NodeId)> = self.account_destinations.iter().copied().collect();
        pairs.sort_unstable();
        for (account, dst) in pairs {
            self.index_destination(account, dst);
        }
    }

    /// How many of `account`'s peers reach `dst`. Peers are learned from behaviour, not
    /// names: accounts whose usual destinations overlap this one's (at least two shared,
    /// and a Jaccard similarity of 0.3) — the other members of a team, the other
    /// administrators of a server group.
    pub fn peers_reaching(&self, account: NodeId, dst: NodeId) -> usize {
        let Some(mine) = self.by_account.get(&account) else {
            return 0;
        };
        if mine.len() < PEER_MIN_SHARED {
            return 0;
        }
        let mine_set: FxHashSet<NodeId> = mine.iter().copied().collect();
        let Some(others) = self.by_destination.get(&dst) else {
            return 0;
        };
        others
            .iter()
            .filter(|&&other| other != account)
            .filter(|other| {
                let theirs = self.by_account.get(other).map_or(&[][..], Vec::as_slice);
                let shared = theirs.iter().filter(|d| mine_set.contains(d)).count();
                let union = mine.len() + theirs.len() - shared;
                shared >= PEER_MIN_SHARED
                    && union > 0
                    && shared as f32 / union as f32 >= PEER_MIN_JACCARD
            })
            .count()
    }

    /// Learns one remote logon `account`: `src` → `dst`.
    pub fn remote_logon(&mut self, account: NodeId, src: NodeId, dst: NodeId, t: Timestamp) {
        let privileged = self.is_privileged(account);
        let from_workstation = self.role(src) == Role::Workstation;
        self.seen_account(account, t).logons += 1;
        if self.account_sources.insert((account, src)) && privileged {
            let h = self.hosts.entry(src).or_default();
            h.privileged_out_accounts += 1;
        }
        if self.account_destinations.insert((account, dst)) {
            let h = self.hosts.entry(dst).or_default();
            h.remote_in_accounts += 1;
            self.index_destination(account, dst);
        }
        if privileged && from_workstation && self.privileged_entries.insert((dst, account)) {
            let h = self.hosts.entry(dst).or_default();
            h.privileged_entries += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_behaviour() {
        let mut p = Profile::default();
        let t = Timestamp(0);
        // hosts 10 (workstation of 1), 11 (server), 12 (jump host), 13 (DC)
        p.interactive_logon(1, 10, t);
        assert_eq!(p.role(10), Role::Workstation);
        for admin in [2, 3, 4] {
            // Each admin from the workstation of its everyday account.
            p.interactive_logon(admin + 100, admin + 30, t);
            p.privileged(admin, t);
            p.remote_logon(admin, admin + 30, 12, t);
            p.remote_logon(admin, 12, 11, t);
        }
        assert_eq!(p.role(32), Role::Workstation);
        assert_eq!(p.role(11), Role::Server);
        assert_eq!(p.role(12), Role::Hub);
        assert!(p.is_entry_point(12));
        assert!(!p.is_entry_point(11));
        p.ticket_issued(13);
        assert_eq!(p.role(13), Role::DomainController);
        assert_eq!(p.role(99), Role::Unknown);
        for u in 20..30 {
            p.interactive_logon(u, 14, t);
        }
        assert_ne!(
            p.role(14),
            Role::Workstation,
            "a shared host is not a workstation"
        );
    }

    #[test]
    fn peers_are_accounts_that_reach_the_same_hosts() {
        let mut p = Profile::default();
        let t = Timestamp(0);
        // A team (1, 2, 3) on servers 50..54; 3 also on 60. An outsider (9) on 70, 71, 60.
        for a in [1, 2, 3] {
            for s in 50..54 {
                p.remote_logon(a, 40, s, t);
            }
        }
        p.remote_logon(3, 40, 60, t);
        for s in [70, 71, 60] {
            p.remote_logon(9, 40, s, t);
        }
        assert_eq!(p.peers_reaching(1, 60), 1, "its teammate 3 reaches 60");
        assert_eq!(p.peers_reaching(9, 50), 0, "no peer of 9 reaches 50");
        assert_eq!(p.peers_reaching(1, 99), 0);
        // Rebuilt the same after a save and load.
        let mut q: Profile = postcard::from_bytes(&postcard::to_allocvec(&p).unwrap()).unwrap();
        assert_eq!(q.peers_reaching(1, 60), 0, "not saved");
        q.reindex();
        assert_eq!(q.peers_reaching(1, 60), 1);
    }
}
