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
//! - [`SessionNotes`]: the moderate anomalies of the current session, which compound.
//! - [`PeerIndex`]: which resources are used together, so that a user's peers are the
//!   other users of the resources they work with.
//! - [`codec`]: the versioned binary format these are persisted in, and [`v1`], the shapes
//!   of format version 1 that older stores and checkpoints hold.

pub mod codec;
mod keys;
mod peers;
mod population;
mod profile;
mod recent;
mod session;
mod transfers;
pub mod v1;

pub use keys::{ActivityKeys, HashMemo};
pub use peers::{AnchorRule, MAX_PAIRS_PER_RESOURCE, PeerIndex, PeerView};
pub use population::{Population, PopulationKind};
pub use profile::{Position, ProfileCaps, UserProfile, log_volume};
pub use recent::{RecentActivity, Ring};
pub use session::{
    HeldHours, HeldTransfer, HeldTransfers, MAX_HELD_TRANSFERS, MAX_SESSION_NOTES, SessionNote,
    SessionNotes,
};
pub use transfers::{TransferKind, TransferProfile};

/// `s` cut to at most `max` bytes at a character boundary: the names and ids a baseline
/// keeps for explanations are bounded, so that a hostile input cannot make it grow.
pub(crate) fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Everything Warden keeps about one user.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserState {
    pub profile: UserProfile,
    pub recent: RecentActivity,
    /// Since format version 2.
    pub transfers: TransferProfile,
    /// Whether the user's resources are counted in the population's [`PeerIndex`] (users
    /// of format version 1 join it at their next learned event). Since format version 2.
    pub peer_indexed: bool,
    /// The current session's moderate anomalies. Since format version 2.
    pub session: SessionNotes,
    /// Hours of this session's events at hours unusual for the user, counted into the
    /// profile when the session ends, so that an odd-hours session does not make its own
    /// hour usual while it runs. Not persisted: a restart counts at most one session's
    /// events of each user in no hour.
    #[serde(skip)]
    pub held_hours: HeldHours,
    /// This session's unusual transfers, learned in every way but their size until the
    /// session ends (the same way as `held_hours`), so that the first part of a large
    /// transfer does not make the next parts look usual. Not persisted either.
    #[serde(skip)]
    pub held_transfers: HeldTransfers,
    /// Whether the current session was opened by a successful authentication (a login or a
    /// VPN connection) rather than by activity resumed after a pause. Not persisted: after
    /// a restart the session under way counts as not opened by one.
    #[serde(skip)]
    pub session_authenticated: bool,
    /// One of the user's own everyday resources — one that defines a peer group — used in
    /// the current session: the user is at their usual work in it, so a first access to
    /// what that group never uses is added to their role rather than a change of role.
    /// Not persisted: after a restart the session under way has none until the next such
    /// event.
    #[serde(skip)]
    pub session_work: Option<u64>,
    /// When the user last signed out (a successful logout with nothing after it), epoch
    /// seconds: a sign-in long enough after it starts a new session. Not persisted: after a
    /// restart the next sign-in starts one only after the session gap.
    #[serde(skip)]
    pub signed_out_at: Option<u32>,
    /// When the current session was opened by a sign-in after the user signed out: when
    /// they had signed out (epoch seconds). Not persisted.
    #[serde(skip)]
    pub session_after_sign_out: Option<u32>,
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
    /// Ends the session's hold on its odd hours: counted into the profile, or dropped when
    /// the session alerted at the quarantine level (what an alerting session did is not
    /// learned).
    pub fn release_held(&mut self, population: &mut Population, learn: bool) {
        if learn {
            self.held_hours.release_into(&mut self.profile.hours);
        } else {
            self.held_hours = HeldHours::default();
        }
        for t in self.held_transfers.take() {
            if learn {
                self.learn_transfer_size(population, t);
            }
        }
    }

    /// Learns a transfer's size into the profile, the per-kind statistics and the
    /// resource's usual sizes.
    pub fn learn_transfer_size(&mut self, population: &mut Population, t: HeldTransfer) {
        self.profile.learn_volume(t.gb);
        if let Some(kind) = t.kind {
            self.transfers.learn_kind(kind, t.gb);
            if let Some(resource) = t.resource {
                population.learn_volume(resource, kind, log_volume(t.gb));
            }
        }
    }

    /// Approximate bytes held, heap included (for the memory-per-user budget).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.profile.heap_bytes()
            + self.session.heap_bytes()
            + self.held_transfers.heap_bytes()
    }

    /// Keeps the population's peer index in step with the user's resources, after the
    /// profile learned an event: `seen` is what the resource set did with `resource`.
    pub fn index_peers(
        &mut self,
        population: &mut Population,
        resource: Option<(u64, &str, crate::stats::Observed)>,
    ) {
        if !self.peer_indexed {
            if self.profile.resources.is_empty() {
                return;
            }
            // A user joins with their first learned resource, or, migrated from format 1,
            // with their whole set: only this event's name is known, the others keep the
            // names the index has from other users.
            let named = resource.map(|(key, name, _)| (key, name));
            population.peers.add_user(&self.profile.resources, |k| {
                named.filter(|(key, _)| *key == k).map(|(_, name)| name)
            });
            self.peer_indexed = true;
            return;
        }
        if let Some((key, name, seen)) = resource {
            population
                .peers
                .follow(key, seen, &self.profile.resources, name);
        }
    }
}
