//! Behavioural baselines: what Warden learns per user and across the organisation.
//!
//! - [`UserProfile`]: the learned, slowly changing picture of one user (hours, weekdays,
//!   locations, devices, agents, resources, networks, data volume). Only events that did not
//!   alert are learned, so an attacker cannot teach the baseline their behaviour.
//! - [`RecentActivity`]: short windows updated by every event (failed logins, event rate,
//!   the current session), which detection needs whatever the outcome.
//! - [`Population`]: how many users know each resource, location and country, so that
//!   "new to this user, and nobody in the organisation uses it" can be told apart from
//!   "new to this user, but common among colleagues".
//! - [`TransferProfile`]: the user's transfer volumes per kind and per session.
//! - [`codec`]: the versioned binary format these are persisted in, and [`v1`], the shapes
//!   of format version 1 that older stores and checkpoints hold.

pub mod codec;
mod keys;
mod population;
mod profile;
mod recent;
mod transfers;
pub mod v1;

pub use keys::ActivityKeys;
pub use population::{Population, PopulationKind};
pub use profile::{Position, ProfileCaps, UserProfile, log_volume};
pub use recent::{RecentActivity, Ring};
pub use transfers::{TransferKind, TransferProfile};

/// Everything Warden keeps about one user.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserState {
    pub profile: UserProfile,
    pub recent: RecentActivity,
    /// Since format version 2.
    pub transfers: TransferProfile,
}

impl codec::Persisted for UserState {
    fn from_older(version: u16, body: &[u8]) -> Option<Result<Self, postcard::Error>> {
        (version == 1).then(|| postcard::from_bytes::<v1::UserStateV1>(body).map(Self::from))
    }
}

impl codec::Persisted for Population {
    fn from_older(version: u16, body: &[u8]) -> Option<Result<Self, postcard::Error>> {
        (version == 1).then(|| postcard::from_bytes::<v1::PopulationV1>(body).map(Self::from))
    }
}

impl UserState {
    /// Approximate bytes held, heap included (for the memory-per-user budget).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.profile.heap_bytes()
    }
}
