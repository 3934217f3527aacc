//! Open streams per token (`server.max_streams_per_token`): each stream holds a slot for as
//! long as it is connected, so one credential cannot hold an unbounded number of
//! connections and store cursors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::state::Metrics;

/// Slots in use, by token id.
#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<HashMap<i64, usize>>,
}

/// One open stream; dropping it frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    metrics: Arc<Metrics>,
    token_id: i64,
}

impl StreamSlots {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, usize>> {
        // Counts only: each update is one step, so a poisoned lock is still consistent.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for `token_id`, or `None` when it already holds `max`.
    pub fn take(
        self: &Arc<Self>,
        token_id: i64,
        max: usize,
        metrics: &Arc<Metrics>,
    ) -> Option<StreamSlot> {
        let mut open = self.lock();
        let n = open.entry(token_id).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        metrics.stream_clients(1);
        Some(StreamSlot {
            slots: self.clone(),
            metrics: metrics.clone(),
            token_id,
        })
    }

    /// The tokens with streams open.
    pub fn tokens(&self) -> Vec<i64> {
        self.lock().keys().copied().collect()
    }

    /// Streams open with this token.
    pub fn open(&self, token_id: i64) -> usize {
        self.lock().get(&token_id).copied().unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.metrics.stream_clients(-1);
        let mut open = self.slots.lock();
        if let Some(n) = open.get_mut(&self.token_id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.token_id);
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
        let held: Vec<_> = (0..3).filter_map(|_| slots.take(1, 2, &metrics)).collect();
        assert_eq!(held.len(), 2);
        assert!(
            slots.take(2, 2, &metrics).is_some(),
            "other tokens have their own"
        );
        drop(held);
        assert_eq!(slots.open(1), 0);
        assert!(slots.take(1, 2, &metrics).is_some());
    }
}
