//! [`SessionNotes`]: the moderate anomalies found earlier in a user's current session, so
//! that several of them compound into one alert with every contributing event cited.

use serde::{Deserialize, Serialize};
use warden_event::AnomalyType;

/// Most notes kept per session: the strongest are kept.
pub const MAX_SESSION_NOTES: usize = 4;

/// One earlier anomaly of the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionNote {
    /// When, seconds since the epoch.
    pub at: u32,
    pub kind: AnomalyType,
    /// What it is about (the resource's key for a resource; 0 otherwise): two notes of one
    /// kind and one subject are one piece of evidence.
    pub subject: u64,
    /// Its confidence when it was found.
    pub confidence: f32,
    /// The event's id, when it had one (cut to 64 bytes).
    pub event_id: Option<String>,
}

/// The notes of the current session, strongest first; empty (no heap) for most users.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionNotes {
    notes: Vec<SessionNote>,
}

impl SessionNotes {
    pub fn iter(&self) -> impl Iterator<Item = &SessionNote> {
        self.notes.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
    }

    /// Forgets the session (and frees its memory).
    pub fn clear(&mut self) {
        self.notes = Vec::new();
    }

    /// Notes an anomaly. A note of the same kind and subject is replaced when weaker; past
    /// [`MAX_SESSION_NOTES`] the weakest is dropped.
    pub fn note(&mut self, mut note: SessionNote) {
        if let Some(id) = note.event_id.as_mut() {
            let kept = super::cut(id, 64).len();
            id.truncate(kept);
        }
        if let Some(same) = self
            .notes
            .iter_mut()
            .find(|n| n.kind == note.kind && n.subject == note.subject)
        {
            if note.confidence > same.confidence {
                *same = note;
            }
        } else {
            self.notes.push(note);
        }
        self.notes
            .sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        self.notes.truncate(MAX_SESSION_NOTES);
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.notes.capacity() * std::mem::size_of::<SessionNote>()
            + self
                .notes
                .iter()
                .filter_map(|n| n.event_id.as_ref())
                .map(String::capacity)
                .sum::<usize>()
    }
}

/// Most transfers one user's session holds back; later ones are learned at once.
pub const MAX_HELD_TRANSFERS: usize = 16;

/// A transfer of the current session whose size is held back from the baselines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldTransfer {
    pub gb: f64,
    pub kind: Option<super::TransferKind>,
    pub resource: Option<u64>,
}

/// Transfers of the current session learned in every way but their size (empty, no heap,
/// for almost every user).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeldTransfers {
    held: Vec<HeldTransfer>,
}

impl HeldTransfers {
    /// Holds a transfer back; `false` when the session already holds the most it may (the
    /// caller then learns it at once).
    pub fn hold(&mut self, t: HeldTransfer) -> bool {
        if self.held.len() >= MAX_HELD_TRANSFERS {
            return false;
        }
        self.held.push(t);
        true
    }

    /// The held transfers, forgotten (and their memory freed).
    pub fn take(&mut self) -> Vec<HeldTransfer> {
        std::mem::take(&mut self.held)
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.held.capacity() * std::mem::size_of::<HeldTransfer>()
    }
}

/// Per UTC hour, events of the current session learned in every way but their hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeldHours {
    counts: [u8; 24],
}

impl HeldHours {
    /// Takes back the hour of an event the profile just learned: `hours[hour]` moves here.
    pub fn hold(&mut self, hours: &mut [u32; 24], hour: usize) {
        let hour = hour % 24;
        if hours[hour] > 0 && self.counts[hour] < u8::MAX {
            hours[hour] -= 1;
            self.counts[hour] += 1;
        }
    }

    /// Counts the held hours into `hours` and forgets them.
    pub fn release_into(&mut self, hours: &mut [u32; 24]) {
        for (h, c) in hours.iter_mut().zip(self.counts) {
            *h = h.saturating_add(u32::from(c));
        }
        self.counts = [0; 24];
    }

    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|&c| c == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_hours_leave_the_profile_until_released() {
        let mut hours = [0u32; 24];
        hours[9] = 40;
        hours[21] = 1;
        let mut held = HeldHours::default();
        held.hold(&mut hours, 21);
        held.hold(&mut hours, 21); // nothing left to take back
        assert_eq!(hours[21], 0);
        assert!(!held.is_empty());
        held.release_into(&mut hours);
        assert_eq!((hours[9], hours[21]), (40, 1));
        assert!(held.is_empty());
    }

    fn note(kind: AnomalyType, subject: u64, confidence: f32) -> SessionNote {
        SessionNote {
            at: 1,
            kind,
            subject,
            confidence,
            event_id: Some("é".repeat(40)),
        }
    }

    #[test]
    fn same_evidence_is_one_note_and_the_strongest_are_kept() {
        let mut s = SessionNotes::default();
        s.note(note(AnomalyType::UnusualTime, 0, 0.3));
        s.note(note(AnomalyType::UnusualTime, 0, 0.5));
        s.note(note(AnomalyType::UnusualTime, 0, 0.2));
        assert_eq!(s.iter().count(), 1);
        assert_eq!(s.iter().next().unwrap().confidence, 0.5);
        for (k, c) in [(1, 0.4), (2, 0.6), (3, 0.1), (4, 0.7)] {
            s.note(note(AnomalyType::UnusualResources, k, c));
        }
        let kept: Vec<f32> = s.iter().map(|n| n.confidence).collect();
        assert_eq!(kept, vec![0.7, 0.6, 0.5, 0.4]);
        assert!(s.iter().all(|n| n.event_id.as_ref().unwrap().len() <= 64));
        s.clear();
        assert!(s.is_empty());
        assert_eq!(s.heap_bytes(), 0);
    }
}
