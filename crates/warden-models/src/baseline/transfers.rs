//! [`TransferProfile`]: how much data a user moves, per kind of transfer and per session.
//!
//! A user's downloads, file reads and API calls differ by orders of magnitude, so one
//! distribution of all their transfers is wide and a download a hundred times the usual
//! one hides in it. Each kind therefore has its own log-scale statistics. The session's
//! running total is judged against the totals of the user's past sessions, so data taken in
//! several moderate pieces adds up to the anomaly it is.

use super::log_volume;
use crate::stats::RunningStats;
use serde::{Deserialize, Serialize};
use warden_event::ActivityType;

/// The kinds of transfer with statistics of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferKind {
    // The order is the index of each kind's statistics in persisted arrays.
    Download,
    Upload,
    FileAccess,
    /// API calls and anything else that moves data, logins and VPN connections excepted.
    Other,
}

impl TransferKind {
    /// The kind of an activity; `None` for sign-ins, sign-outs and VPN connections, whose
    /// sizes are protocol overhead, not data.
    pub fn of(t: &ActivityType) -> Option<Self> {
        match t {
            ActivityType::Download => Some(Self::Download),
            ActivityType::Upload => Some(Self::Upload),
            ActivityType::FileAccess => Some(Self::FileAccess),
            ActivityType::ApiCall | ActivityType::Other => Some(Self::Other),
            ActivityType::Login | ActivityType::Logout | ActivityType::VpnConnect => None,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Plural noun for explanations ("downloads").
    pub fn noun(self) -> &'static str {
        match self {
            Self::Download => "downloads",
            Self::Upload => "uploads",
            Self::FileAccess => "file reads",
            Self::Other => "transfers of this kind",
        }
    }
}

/// A user's transfer volumes; see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TransferProfile {
    /// `ln(1 + MB)` per learned event, by [`TransferKind`].
    by_kind: [RunningStats; 4],
    /// `ln(1 + MB)` of whole sessions' totals, learned when a session that raised no alert
    /// at the quarantine level ends.
    pub sessions: RunningStats,
    /// Gigabytes moved so far in the current session.
    pub session_gb: f64,
    /// Events of the current session that moved data.
    pub session_transfers: u16,
    /// Whether the current session raised an alert at the quarantine level (its total is
    /// then not learned).
    pub session_flagged: bool,
}

impl TransferProfile {
    /// The learned statistics of one kind.
    pub fn of_kind(&self, kind: TransferKind) -> &RunningStats {
        &self.by_kind[kind.index()]
    }

    /// Learns one event's volume into its kind.
    pub fn learn(&mut self, activity: &ActivityType, gb: f64) {
        if let Some(kind) = TransferKind::of(activity) {
            self.learn_kind(kind, gb);
        }
    }

    /// Learns a transfer of a known kind.
    pub fn learn_kind(&mut self, kind: TransferKind, gb: f64) {
        self.by_kind[kind.index()].push(log_volume(gb));
    }

    /// Ends the current session: its total is learned unless it was flagged or empty.
    pub fn close_session(&mut self) {
        if self.session_transfers > 0 && !self.session_flagged {
            self.sessions.push(log_volume(self.session_gb));
        }
        self.session_gb = 0.0;
        self.session_transfers = 0;
        self.session_flagged = false;
    }

    /// Adds an event's volume to the current session.
    pub fn add_to_session(&mut self, gb: f64) {
        if gb.is_finite() && gb > 0.0 {
            self.session_gb += gb;
            self.session_transfers = self.session_transfers.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_learned_apart() {
        let mut t = TransferProfile::default();
        for _ in 0..10 {
            t.learn(&ActivityType::Download, 0.5);
            t.learn(&ActivityType::ApiCall, 0.001);
            t.learn(&ActivityType::Login, 0.0001);
        }
        assert_eq!(t.of_kind(TransferKind::Download).n, 10);
        assert_eq!(t.of_kind(TransferKind::Other).n, 10);
        assert_eq!(t.of_kind(TransferKind::Upload).n, 0);
        assert!(t.of_kind(TransferKind::Download).mean > t.of_kind(TransferKind::Other).mean + 5.0);
    }

    #[test]
    fn sessions_are_learned_when_they_end_unflagged() {
        let mut t = TransferProfile::default();
        t.add_to_session(0.2);
        t.add_to_session(0.3);
        t.add_to_session(f64::NAN);
        assert_eq!(t.session_transfers, 2);
        t.close_session();
        assert_eq!(t.sessions.n, 1);
        assert!((t.sessions.mean - log_volume(0.5)).abs() < 1e-9);
        assert_eq!(t.session_gb, 0.0);

        t.add_to_session(9.0);
        t.session_flagged = true;
        t.close_session();
        assert_eq!(t.sessions.n, 1, "a flagged session is not learned");
        assert!(!t.session_flagged);

        t.close_session();
        assert_eq!(t.sessions.n, 1, "an empty session is not learned");
    }
}
