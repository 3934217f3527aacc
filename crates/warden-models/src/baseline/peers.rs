//! [`PeerIndex`]: who uses what together — peer groups inferred from behaviour.
//!
//! The peers of a user, for a resource new to them, are the other users of the resources
//! the user works with every day: "0 of 41 other users of `repo` have used `payroll`". The
//! index counts, for every pair of resources, the users whose baselines hold both, and for
//! every resource the users holding it; roles are never read from names or directories.
//! This follows a change of role by itself: once a user works with a new team's resources,
//! that team's other resources are common among their new peers.
//!
//! Memory grows with the resources and the pairs used together, not with the users; the
//! pairs of each resource are bounded ([`MAX_PAIRS_PER_RESOURCE`]), past which new pairs
//! are not counted (they then look rarer, never more common, than they are).

use crate::stats::{BoundedCounter, Observed};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Most resources counted as used together with one resource.
pub const MAX_PAIRS_PER_RESOURCE: usize = 4096;
/// Longest resource name kept for explanations, in bytes.
const MAX_NAME_BYTES: usize = 64;

/// Resource co-use counts; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PeerIndex {
    /// Indexed users holding each resource.
    holders: FxHashMap<u64, u32>,
    /// For each resource, indexed users holding it and each other resource.
    pairs: FxHashMap<u64, FxHashMap<u64, u32>>,
    /// Names of the indexed resources, for explanations.
    names: FxHashMap<u64, String>,
}

/// What a user's peers say about a resource new to the user.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerView {
    /// The user's resource whose other users are the peers.
    pub anchor: u64,
    /// Its name, when known.
    pub anchor_name: Option<String>,
    /// Other users of the anchor.
    pub peers: u32,
    /// Of them, those whose baselines hold the new resource.
    pub with_resource: u32,
}

impl PeerView {
    /// Share of the peers that use the resource, `[0, 1]`.
    pub fn share(&self) -> f64 {
        f64::from(self.with_resource) / f64::from(self.peers.max(1))
    }
}

/// Which of a user's resources can define their peers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnchorRule {
    /// Learned uses of the resource by the user.
    pub min_uses: u32,
    /// Other users of it (a group of fewer is no peer group).
    pub min_peers: u32,
    /// Largest share of all users holding it: what everyone uses (mail) says nothing of a
    /// role.
    pub max_share: f64,
}

impl AnchorRule {
    /// Whether a resource the user has used `uses` times, held by `holders` of `users`
    /// indexed users (the user among them), defines the user's peer group.
    pub fn defines(&self, uses: u32, holders: u32, users: u32) -> bool {
        let share = f64::from(holders) / f64::from(users.max(1));
        uses >= self.min_uses
            && holders.saturating_sub(1) >= self.min_peers
            && share <= self.max_share
    }
}

impl PeerIndex {
    /// Adds a user's whole resource set (a user not indexed yet).
    pub fn add_user<'n>(&mut self, set: &BoundedCounter, name_of: impl Fn(u64) -> Option<&'n str>) {
        let keys: Vec<u64> = set.iter().map(|c| c.key).collect();
        for &k in &keys {
            self.add_holder(k, name_of(k));
            for &other in keys.iter().filter(|o| **o != k) {
                self.bump(k, other);
            }
        }
    }

    /// Applies what an indexed user's set did with `key`; `set` is the set afterwards.
    pub fn follow(&mut self, key: u64, seen: Observed, set: &BoundedCounter, name: &str) {
        let others = || set.iter().map(|c| c.key).filter(move |k| *k != key);
        match seen {
            Observed::Known => return,
            Observed::Added => {}
            Observed::Replaced { evicted } => {
                self.remove_holder(evicted);
                for other in others() {
                    self.drop_pair(evicted, other);
                    self.drop_pair(other, evicted);
                }
            }
        }
        self.add_holder(key, Some(name));
        for other in others() {
            self.bump(key, other);
            self.bump(other, key);
        }
    }

    /// Indexed users holding `resource`.
    pub fn holders(&self, resource: u64) -> u32 {
        self.holders.get(&resource).copied().unwrap_or(0)
    }

    /// Indexed users holding both resources.
    pub fn both(&self, a: u64, b: u64) -> u32 {
        self.pairs
            .get(&a)
            .and_then(|m| m.get(&b))
            .copied()
            .unwrap_or(0)
    }

    pub fn name(&self, resource: u64) -> Option<&str> {
        self.names.get(&resource).map(String::as_str)
    }

    /// The peers most familiar with `resource` among the groups the user's everyday
    /// resources define (`users` indexed in all, for the share rule); `None` when none of
    /// the user's resources defines a peer group.
    pub fn view(
        &self,
        user_set: &BoundedCounter,
        resource: u64,
        users: u32,
        rule: AnchorRule,
    ) -> Option<PeerView> {
        self.view_of_holder(user_set, resource, users, rule, false)
    }

    /// [`Self::view`] for a user who may already hold `resource` (`holds`: then the index
    /// counts them among its users in every group, and they are not their own peer).
    pub fn view_of_holder(
        &self,
        user_set: &BoundedCounter,
        resource: u64,
        users: u32,
        rule: AnchorRule,
        holds: bool,
    ) -> Option<PeerView> {
        let own = u32::from(holds);
        user_set
            .iter()
            .filter(|c| c.key != resource)
            .filter_map(|c| {
                let holders = self.holders(c.key);
                rule.defines(c.count, holders, users).then(|| PeerView {
                    anchor: c.key,
                    anchor_name: None,
                    peers: holders.saturating_sub(1),
                    with_resource: self.both(c.key, resource).saturating_sub(own),
                })
            })
            .max_by(|a, b| a.share().total_cmp(&b.share()).then(a.peers.cmp(&b.peers)))
            .map(|mut v| {
                v.anchor_name = self.name(v.anchor).map(str::to_owned);
                v
            })
    }

    /// Entries held: resources and pairs.
    pub fn len(&self) -> (usize, usize) {
        (
            self.holders.len(),
            self.pairs.values().map(FxHashMap::len).sum(),
        )
    }

    /// Approximate heap bytes (hash tables at their capacity, names).
    pub fn heap_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(u64, u32)>() + 1;
        self.holders.capacity() * entry
            + self
                .pairs
                .values()
                .map(|m| m.capacity() * entry + std::mem::size_of::<(u64, FxHashMap<u64, u32>)>())
                .sum::<usize>()
            + self
                .names
                .values()
                .map(|n| n.capacity() + std::mem::size_of::<(u64, String)>())
                .sum::<usize>()
    }

    /// Counts one more holder of `key`; its name (cut to [`MAX_NAME_BYTES`]) is kept when
    /// the index has none yet.
    fn add_holder(&mut self, key: u64, name: Option<&str>) {
        *self.holders.entry(key).or_default() += 1;
        if let Some(n) = name {
            self.names
                .entry(key)
                .or_insert_with(|| super::cut(n.trim(), MAX_NAME_BYTES).to_owned());
        }
    }

    fn remove_holder(&mut self, key: u64) {
        if let Some(n) = self.holders.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.holders.remove(&key);
                self.pairs.remove(&key);
                self.names.remove(&key);
            }
        }
    }

    fn bump(&mut self, a: u64, b: u64) {
        let m = self.pairs.entry(a).or_default();
        if let Some(n) = m.get_mut(&b) {
            *n += 1;
        } else if m.len() < MAX_PAIRS_PER_RESOURCE {
            m.insert(b, 1);
        }
    }

    fn drop_pair(&mut self, a: u64, b: u64) {
        if let Some(m) = self.pairs.get_mut(&a)
            && let Some(n) = m.get_mut(&b)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::stable_hash;

    const RULE: AnchorRule = AnchorRule {
        min_uses: 3,
        min_peers: 3,
        max_share: 0.6,
    };

    #[test]
    fn what_defines_a_peer_group() {
        // 3 uses, 4 holders (the user and 3 peers) of 10 users: a group.
        assert!(RULE.defines(3, 4, 10));
        assert!(
            !RULE.defines(2, 4, 10),
            "too few uses: not the user's everyday work"
        );
        assert!(!RULE.defines(3, 3, 10), "two peers are no group");
        assert!(
            !RULE.defines(3, 7, 10),
            "what 70 % use says nothing of a role"
        );
        assert!(RULE.defines(3, 6, 10), "60 % is the bound");
        assert!(!RULE.defines(3, 4, 0) && !RULE.defines(0, 0, 0));
    }

    /// A user's set: each named resource used `uses` times.
    fn set(names: &[&str], uses: u32) -> BoundedCounter {
        let mut s = BoundedCounter::default();
        for n in names {
            for _ in 0..uses {
                s.observe(stable_hash(n), 24);
            }
        }
        s
    }

    /// Indexes users through `follow`, one resource at a time, as they are learned.
    fn index(users: &[(Vec<&str>, u32)]) -> PeerIndex {
        let mut idx = PeerIndex::default();
        for (names, uses) in users {
            let mut s = BoundedCounter::default();
            for n in names {
                for _ in 0..*uses {
                    let seen = s.observe(stable_hash(n), 24);
                    idx.follow(stable_hash(n), seen, &s, n);
                }
            }
        }
        idx
    }

    fn company() -> Vec<(Vec<&'static str>, u32)> {
        let mut users = Vec::new();
        for _ in 0..6 {
            users.push((vec!["mail", "repo", "build", "tracker"], 5));
        }
        for _ in 0..5 {
            users.push((vec!["mail", "ledger", "payroll"], 5));
        }
        users
    }

    #[test]
    fn groups_form_from_resources_used_together() {
        let mut users = company();
        users.push((vec!["mail", "repo", "build"], 5));
        let idx = index(&users);
        let engineer = set(&["mail", "repo", "build"], 5);
        let users = 12;
        let payroll = idx
            .view(&engineer, stable_hash("payroll"), users, RULE)
            .unwrap();
        assert_eq!(payroll.with_resource, 0);
        assert_eq!(payroll.peers, 6, "the other users of repo or build");
        assert!(matches!(
            payroll.anchor_name.as_deref(),
            Some("repo" | "build")
        ));
        let tracker = idx
            .view(&engineer, stable_hash("tracker"), users, RULE)
            .unwrap();
        assert_eq!((tracker.with_resource, tracker.peers), (6, 6));
        // Everyone uses mail: it defines no group, so a user with mail alone has no peers.
        assert_eq!(
            idx.view(&set(&["mail"], 9), stable_hash("payroll"), users, RULE),
            None
        );
    }

    #[test]
    fn a_role_change_brings_new_peers() {
        let mut users = company();
        // An engineer who moved to finance: a few weeks of ledger work on top.
        users.push((vec!["mail", "repo", "build", "ledger"], 5));
        let idx = index(&users);
        let mover = set(&["mail", "repo", "build", "ledger"], 5);
        let payroll = idx.view(&mover, stable_hash("payroll"), 13, RULE).unwrap();
        assert_eq!(payroll.anchor_name.as_deref(), Some("ledger"));
        assert_eq!((payroll.with_resource, payroll.peers), (5, 5));
        // Before the ledger became everyday work (two uses), the engineers are the peers.
        let new = set(&["mail", "repo", "build"], 5);
        let mut new = new;
        new.observe(stable_hash("ledger"), 24);
        new.observe(stable_hash("ledger"), 24);
        let early = idx.view(&new, stable_hash("payroll"), 13, RULE).unwrap();
        assert_eq!(early.with_resource, 0);
    }

    #[test]
    fn a_group_of_one_is_no_peer_group() {
        let idx = index(&[(vec!["mail", "lab-scope"], 9), (vec!["mail", "repo"], 9)]);
        let alone = set(&["mail", "lab-scope"], 9);
        assert_eq!(idx.view(&alone, stable_hash("repo"), 2, RULE), None);
    }

    #[test]
    fn evictions_and_whole_sets_keep_counts_in_step() {
        let mut idx = PeerIndex::default();
        let s = set(&["a", "b", "c"], 2);
        idx.add_user(&s, |_| None);
        assert_eq!(idx.both(stable_hash("a"), stable_hash("c")), 1);
        let mut s = s;
        // A full set of three: `d` replaces the rarest.
        let seen = s.observe(stable_hash("d"), 3);
        let Observed::Replaced { evicted } = seen else {
            panic!("{seen:?}")
        };
        idx.follow(stable_hash("d"), seen, &s, "d");
        assert_eq!(idx.holders(evicted), 0);
        assert_eq!(idx.len().0, 3);
        let kept: Vec<u64> = s.iter().map(|c| c.key).collect();
        for a in &kept {
            for b in kept.iter().filter(|b| *b != a) {
                assert_eq!(idx.both(*a, *b), 1);
            }
            assert_eq!(idx.both(*a, evicted), 0);
        }
        assert_eq!(idx.name(stable_hash("d")), Some("d"));
    }
}
