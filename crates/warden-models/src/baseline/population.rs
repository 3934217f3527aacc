//! Organisation-wide rarity: how many users' baselines hold each resource, location and
//! country; and each resource's usual transfer size.

use super::{PeerIndex, TransferKind};
use crate::stats::{Observed, RunningStats};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The attributes tracked across users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopulationKind {
    Resource,
    Location,
    Country,
}

/// Counts of users per attribute value, kept in step with the users' bounded sets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Population {
    /// Users with at least one learned event.
    pub users: u32,
    resources: FxHashMap<u64, u32>,
    locations: FxHashMap<u64, u32>,
    countries: FxHashMap<u64, u32>,
    /// `ln(1 + MB)` of the learned transfers of each resource some user's baseline holds,
    /// by [`TransferKind`] (since format version 2).
    resource_volumes: FxHashMap<u64, [RunningStats; 4]>,
    /// Resources used together: the peer groups (since format version 2).
    pub peers: PeerIndex,
}

impl Population {
    /// A population from format version 1's counts; resource volumes start empty.
    pub(super) fn from_parts(
        users: u32,
        resources: FxHashMap<u64, u32>,
        locations: FxHashMap<u64, u32>,
        countries: FxHashMap<u64, u32>,
    ) -> Self {
        Self {
            users,
            resources,
            locations,
            countries,
            resource_volumes: FxHashMap::default(),
            peers: PeerIndex::default(),
        }
    }

    /// The user count and the counts per resource, location and country.
    #[allow(clippy::type_complexity)]
    pub fn counts(
        &self,
    ) -> (
        u32,
        &FxHashMap<u64, u32>,
        &FxHashMap<u64, u32>,
        &FxHashMap<u64, u32>,
    ) {
        (
            self.users,
            &self.resources,
            &self.locations,
            &self.countries,
        )
    }

    /// Learns one transfer's size (`ln(1 + MB)`) of a resource that a baseline holds.
    pub fn learn_volume(&mut self, resource: u64, kind: TransferKind, log_mb: f64) {
        if self.resources.contains_key(&resource) {
            self.resource_volumes.entry(resource).or_default()[kind.index()].push(log_mb);
        }
    }

    /// The learned sizes of a resource's transfers of one kind.
    pub fn resource_volume(&self, resource: u64, kind: TransferKind) -> Option<&RunningStats> {
        self.resource_volumes
            .get(&resource)
            .map(|kinds| &kinds[kind.index()])
    }

    fn map(&mut self, kind: PopulationKind) -> &mut FxHashMap<u64, u32> {
        match kind {
            PopulationKind::Resource => &mut self.resources,
            PopulationKind::Location => &mut self.locations,
            PopulationKind::Country => &mut self.countries,
        }
    }

    /// Applies what a user's set did with a key.
    pub fn follow(&mut self, kind: PopulationKind, key: u64, seen: Observed) {
        match seen {
            Observed::Known => {}
            Observed::Added => *self.map(kind).entry(key).or_default() += 1,
            Observed::Replaced { evicted } => {
                let map = self.map(kind);
                *map.entry(key).or_default() += 1;
                let mut gone = false;
                if let Some(n) = map.get_mut(&evicted) {
                    *n = n.saturating_sub(1);
                    gone = *n == 0;
                }
                if gone {
                    map.remove(&evicted);
                    if kind == PopulationKind::Resource {
                        // Bounded like the counts: only resources a baseline holds.
                        self.resource_volumes.remove(&evicted);
                    }
                }
            }
        }
    }

    /// Users whose baseline holds `key`.
    pub fn users_with(&self, kind: PopulationKind, key: u64) -> u32 {
        let map = match kind {
            PopulationKind::Resource => &self.resources,
            PopulationKind::Location => &self.locations,
            PopulationKind::Country => &self.countries,
        };
        map.get(&key).copied().unwrap_or(0)
    }

    /// Share of users whose baseline holds `key`, `[0, 1]` (0 when no users are known).
    pub fn share(&self, kind: PopulationKind, key: u64) -> f64 {
        if self.users == 0 {
            return 0.0;
        }
        f64::from(self.users_with(kind, key)) / f64::from(self.users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_additions_and_evictions() {
        let mut p = Population {
            users: 4,
            ..Default::default()
        };
        p.follow(PopulationKind::Resource, 7, Observed::Added);
        p.follow(PopulationKind::Resource, 7, Observed::Added);
        p.follow(PopulationKind::Resource, 7, Observed::Known);
        assert_eq!(p.users_with(PopulationKind::Resource, 7), 2);
        assert!((p.share(PopulationKind::Resource, 7) - 0.5).abs() < 1e-12);
        p.follow(
            PopulationKind::Resource,
            9,
            Observed::Replaced { evicted: 7 },
        );
        assert_eq!(p.users_with(PopulationKind::Resource, 7), 1);
        assert_eq!(p.users_with(PopulationKind::Resource, 9), 1);
        assert_eq!(p.users_with(PopulationKind::Location, 9), 0);
    }
}
