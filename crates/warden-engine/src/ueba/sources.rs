//! Failed attempts per source network across all accounts: password spraying and credential
//! stuffing try many accounts from one place, one or two attempts each, which per-account
//! counting never sees. Memory is bounded: stale sources are dropped when the table is full.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use warden_models::baseline::Ring;

/// Distinct sources remembered before stale ones are pruned.
const MAX_SOURCES: usize = 65_536;
/// Distinct accounts remembered per source.
const MAX_ACCOUNTS: usize = 32;

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Source {
    attempts: Ring<32>,
    /// (account hash, time of its latest failure from here)
    accounts: Vec<(u64, u32)>,
    last: u32,
}

/// What is known about an event's source network.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceView {
    /// Failed attempts from this source within the window.
    pub attempts: usize,
    /// Distinct accounts with a failed attempt from this source within the window.
    pub accounts: usize,
}

/// Failed attempts per source network.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceTracker {
    sources: FxHashMap<u64, Source>,
}

impl SourceTracker {
    /// Records a failed attempt on `account` from `network` at `secs`.
    pub fn record_failure(&mut self, network: u64, account: u64, secs: u32, keep_secs: u32) {
        if self.sources.len() >= MAX_SOURCES && !self.sources.contains_key(&network) {
            let from = secs.saturating_sub(keep_secs);
            self.sources.retain(|_, s| s.last > from);
            if self.sources.len() >= MAX_SOURCES {
                self.sources.clear();
            }
        }
        let s = self.sources.entry(network).or_default();
        s.attempts.push(secs);
        s.last = s.last.max(secs);
        if let Some(slot) = s.accounts.iter_mut().find(|(a, _)| *a == account) {
            slot.1 = slot.1.max(secs);
        } else if s.accounts.len() < MAX_ACCOUNTS {
            s.accounts.push((account, secs));
        } else if let Some(oldest) = s.accounts.iter_mut().min_by_key(|(_, t)| *t) {
            *oldest = (account, secs);
        }
    }

    /// Failures from `network` in `(secs - window, secs]`.
    pub fn view(&self, network: u64, secs: u32, window_secs: u32) -> SourceView {
        let Some(s) = self.sources.get(&network) else {
            return SourceView::default();
        };
        let from = secs.saturating_sub(window_secs);
        SourceView {
            attempts: s.attempts.count_since(secs, window_secs),
            accounts: s
                .accounts
                .iter()
                .filter(|(_, t)| *t > from && *t <= secs)
                .count(),
        }
    }

    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accounts_and_attempts_in_the_window() {
        let mut t = SourceTracker::default();
        for (i, account) in [1u64, 2, 3, 3, 4].iter().enumerate() {
            t.record_failure(9, *account, 1000 + i as u32 * 10, 3600);
        }
        assert_eq!(
            t.view(9, 1040, 600),
            SourceView {
                attempts: 5,
                accounts: 4
            }
        );
        assert_eq!(t.view(9, 5000, 600), SourceView::default());
        assert_eq!(t.view(8, 1040, 600), SourceView::default());
    }

    #[test]
    fn stays_bounded() {
        let mut t = SourceTracker::default();
        for n in 0..(MAX_SOURCES as u64 + 10) {
            t.record_failure(n, 1, n as u32, 60);
        }
        assert!(t.len() <= MAX_SOURCES);
        for a in 0..100u64 {
            t.record_failure(7, a, 10, 60);
        }
        assert_eq!(t.view(7, 10, 60).accounts, MAX_ACCOUNTS);
    }
}
