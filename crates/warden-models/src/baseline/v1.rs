//! The shapes of baseline format version 1, read to migrate what older stores and
//! checkpoints hold. Each converts into today's type with what version 1 did not know
//! (transfer volumes per kind and per session, the resources' usual sizes) starting empty
//! and learned from the next events on. They convert back from today's types too (what
//! version 1 would have written), so migrations are tested on real bytes.

use super::{Population, RecentActivity, UserProfile, UserState};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// [`UserState`] as format version 1 wrote it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserStateV1 {
    profile: UserProfile,
    recent: RecentActivity,
}

impl From<UserStateV1> for UserState {
    fn from(old: UserStateV1) -> Self {
        UserState {
            profile: old.profile,
            recent: old.recent,
            transfers: Default::default(),
            peer_indexed: false,
            session: Default::default(),
            held_hours: Default::default(),
            held_transfers: Default::default(),
            session_authenticated: false,
            session_work: None,
            signed_out_at: None,
            session_after_sign_out: None,
        }
    }
}

impl From<&UserState> for UserStateV1 {
    fn from(s: &UserState) -> Self {
        UserStateV1 {
            profile: s.profile.clone(),
            recent: s.recent.clone(),
        }
    }
}

/// [`Population`] as format version 1 wrote it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PopulationV1 {
    users: u32,
    resources: FxHashMap<u64, u32>,
    locations: FxHashMap<u64, u32>,
    countries: FxHashMap<u64, u32>,
}

impl From<PopulationV1> for Population {
    fn from(old: PopulationV1) -> Self {
        Population::from_parts(old.users, old.resources, old.locations, old.countries)
    }
}

impl From<&Population> for PopulationV1 {
    fn from(p: &Population) -> Self {
        let (users, resources, locations, countries) = p.counts();
        PopulationV1 {
            users,
            resources: resources.clone(),
            locations: locations.clone(),
            countries: countries.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::codec;
    use crate::baseline::{ActivityKeys, ProfileCaps, TransferKind};
    use crate::stats::Observed;
    use warden_event::{ActivityType, Timestamp, UserActivity};

    fn repo_key() -> u64 {
        crate::stats::stable_hash("repo")
    }

    /// A version 1 blob, as version 1 wrote it: header, then the postcard body.
    fn v1_blob<T: Serialize>(value: &T) -> Vec<u8> {
        let mut out = b"WBL\x00".to_vec();
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&postcard::to_allocvec(value).unwrap());
        out
    }

    #[test]
    fn version_1_baselines_are_migrated() {
        let mut state = UserState::default();
        let mut pop = Population::default();
        for d in 1..=9 {
            let mut a = UserActivity::new(
                "u",
                ActivityType::Download,
                Timestamp(1_775_000_000_000 + d * 86_400_000),
            );
            a.resource_accessed = Some("repo".into());
            a.data_transferred_gb = 0.2;
            let keys = ActivityKeys::of(&a);
            state
                .profile
                .learn(&a, &keys, &ProfileCaps::default(), &mut pop);
            state
                .transfers
                .learn(&a.activity_type, a.data_transferred_gb);
            pop.learn_volume(keys.resource.unwrap(), TransferKind::Download, 5.3);
        }
        pop.users = 1;
        state.recent.failures.push(7);

        let back: UserState =
            codec::decode(&v1_blob(&UserStateV1::from(&state)), "baseline").unwrap();
        assert_eq!(back.profile, state.profile);
        assert_eq!(back.recent, state.recent);
        assert_eq!(back.transfers, Default::default(), "learned from now on");

        // A migrated user joins the peer index at their next learned event, named by it.
        let mut migrated = back.clone();
        let mut pop2 = pop.clone();
        migrated.index_peers(&mut pop2, Some((repo_key(), "repo", Observed::Known)));
        assert!(migrated.peer_indexed);
        assert_eq!(pop2.peers.holders(repo_key()), 1);
        assert_eq!(pop2.peers.name(repo_key()), Some("repo"));

        let back: Population =
            codec::decode(&v1_blob(&PopulationV1::from(&pop)), "population").unwrap();
        assert_eq!(back.counts(), pop.counts());
        let repo = crate::stats::stable_hash("repo");
        assert_eq!(
            pop.resource_volume(repo, TransferKind::Download).unwrap().n,
            9
        );
        assert!(back.resource_volume(repo, TransferKind::Download).is_none());
    }
}
