//! Open streams per token (`server.max_streams_per_token`): each stream holds a slot for as
//! long as it is connected, so one credential cannot hold an unbounded number of
//! connections and store cursors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::auth::Credential;
use crate::state::Metrics;

/// Slots in use, by token id.
#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<Credential, usize>>,
}

/// One open stream; dropping it frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    metrics: Arc<Metrics>,
    credential: Credential,
}

impl StreamSlots {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Credential, usize>> {
        // Counts only: each update is one step, so a poisoned lock is still consistent.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for `credential`, or `None` when it already holds `max`.
    pub fn take(
        self: &Arc<Self>,
        credential: &Credential,
        max: usize,
        metrics: &Arc<Metrics>,
    ) -> Option<StreamSlot> {
        let mut open = self.lock();
        let n = open.entry(credential.clone()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        metrics.stream_clients(1);
        Some(StreamSlot {
            slots: self.clone(),
            metrics: metrics.clone(),
            credential: credential.clone(),
        })
    }

    /// The Warden tokens with streams open.
    pub fn tokens(&self) -> Vec<i64> {
        self.lock()
            .keys()
            .filter_map(|c| match c {
                Credential::Token(id) => Some(*id),
                Credential::Jwt(_) => None,
            })
            .collect()
    }

    /// Streams open with this credential.
    pub fn open(&self, credential: &Credential) -> usize {
        self.lock().get(credential).copied().unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.metrics.stream_clients(-1);
        let mut open = self.slots.lock();
        if let Some(n) = open.get_mut(&self.credential) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.credential);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_at_most_its_slots_and_gets_them_back() {
        let (slots, metrics) = (
            Arc::new(StreamSlots::default()),
            Arc::new(Metrics::default()),
        );
        let (one, two) = (Credential::Token(1), Credential::Jwt("alice".into()));
        let held: Vec<_> = (0..3)
            .filter_map(|_| slots.take(&one, 2, &metrics))
            .collect();
        assert_eq!(held.len(), 2);
        assert!(
            slots.take(&two, 2, &metrics).is_some(),
            "other credentials have their own"
        );
        assert_eq!(slots.tokens(), vec![1]);
        drop(held);
        assert_eq!(slots.open(&one), 0);
        assert!(slots.take(&one, 2, &metrics).is_some());
    }
}
