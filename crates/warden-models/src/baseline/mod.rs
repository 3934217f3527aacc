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
//! - [`codec`]: the versioned binary format these are persisted in.

pub mod codec;
mod keys;
mod population;
mod profile;
mod recent;

pub use keys::ActivityKeys;
pub use population::{Population, PopulationKind};
pub use profile::{Position, ProfileCaps, UserProfile, log_volume};
pub use recent::{RecentActivity, Ring};

/// Everything Warden keeps about one user.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserState {
    pub profile: UserProfile,
    pub recent: RecentActivity,
}

impl UserState {
    /// Approximate bytes held, heap included (for the memory-per-user budget).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.profile.heap_bytes()
    }
}
