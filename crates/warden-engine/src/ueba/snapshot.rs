//! The engine's whole learned state as one value: every user's baseline and short windows,
//! the population's counts and the failures per source network. A scale-out worker
//! checkpoints one per partition, and a worker that takes the partition over continues from
//! it exactly where the last one stopped: the same events then score the same.
//!
//! Caches (the name matchers' verdicts) and counters are not part of it; the sequence
//! model's windows are not either, so an engine with a sequence model installed is refused
//! by [`UebaEngine::snapshot`](super::UebaEngine::snapshot).

use serde::{Deserialize, Serialize};
use warden_models::baseline::v1::{PopulationV1, UserStateV1};
use warden_models::baseline::{Population, UserState};

use super::SourceTracker;

/// What an engine has learned; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineSnapshot {
    /// Users sorted by id, so that the same state always encodes to the same bytes.
    pub users: Vec<(String, UserState)>,
    pub population: Population,
    pub sources: SourceTracker,
}

impl EngineSnapshot {
    pub fn user_count(&self) -> usize {
        self.users.len()
    }
}

/// An [`EngineSnapshot`] whose baselines are in format version 1 (see
/// [`warden_models::baseline::v1`]), as older checkpoints hold it; it converts into today's
/// (and from today's, as version 1 would have written it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineSnapshotV1 {
    users: Vec<(String, UserStateV1)>,
    population: PopulationV1,
    sources: SourceTracker,
}

impl From<EngineSnapshotV1> for EngineSnapshot {
    fn from(old: EngineSnapshotV1) -> Self {
        EngineSnapshot {
            users: old
                .users
                .into_iter()
                .map(|(id, state)| (id, state.into()))
                .collect(),
            population: old.population.into(),
            sources: old.sources,
        }
    }
}

impl From<&EngineSnapshot> for EngineSnapshotV1 {
    fn from(s: &EngineSnapshot) -> Self {
        EngineSnapshotV1 {
            users: s
                .users
                .iter()
                .map(|(id, state)| (id.clone(), state.into()))
                .collect(),
            population: (&s.population).into(),
            sources: s.sources.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::UebaEngine;
    use super::super::tests::{DAY, HOUR, LAGOS, LONDON, event};
    use crate::UebaConfig;
    use warden_event::UserActivity;

    /// Three users over four weeks, with failures from one network and a trip to Lagos.
    fn stream() -> Vec<UserActivity> {
        let mut out = Vec::new();
        for d in 0..28i64 {
            for h in 8..18i64 {
                for (i, u) in ["ana", "bo", "cy"].iter().enumerate() {
                    let at = if d == 25 && *u == "bo" {
                        &LAGOS
                    } else {
                        &LONDON
                    };
                    let mut a = event(u, 1_772_409_600_000 + d * DAY + h * HOUR + i as i64, at);
                    a.success = !(d == 26 && h == 9);
                    out.push(a);
                }
            }
        }
        out
    }

    #[test]
    fn a_restored_engine_scores_the_rest_as_the_original_does() {
        let events = stream();
        let cut = events.len() * 2 / 3;
        let mut whole = UebaEngine::new(UebaConfig::default()).unwrap();
        let mut first = UebaEngine::new(UebaConfig::default()).unwrap();
        for a in &events[..cut] {
            whole.score(a, false);
            first.score(a, false);
        }
        let snap = first.snapshot().unwrap();
        assert_eq!(snap.user_count(), 3);
        // Through bytes, as a checkpoint travels.
        let bytes = postcard::to_allocvec(&snap).unwrap();
        let back: super::EngineSnapshot = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back, snap);
        let mut resumed = UebaEngine::from_snapshot(UebaConfig::default(), back).unwrap();
        let mut alerted = 0;
        for a in &events[cut..] {
            let (x, y) = (whole.score(a, true), resumed.score(a, true));
            assert_eq!(x, y, "{:?}", a.event_id);
            alerted += usize::from(x.threat_score >= 40.0);
        }
        assert!(alerted > 0, "the tail holds anomalies to compare");
    }
}
