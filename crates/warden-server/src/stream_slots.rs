//! Open streams per token (`server.max_streams_per_token`) and per tenant
//! (`server.max_streams_per_tenant`): each stream holds a slot for as long as it is
//! connected, so neither one credential nor one tenant with many tokens can hold an
//! unbounded number of connections, store cursors and broadcast receivers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::auth::Credential;
use crate::state::Metrics;

/// Slots in use, by credential and by tenant.
#[derive(Debug, Default)]
pub struct StreamSlots {
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    by_credential: HashMap<Credential, usize>,
    by_tenant: HashMap<String, usize>,
}

/// How many streams one credential, and one tenant, may hold.
#[derive(Debug, Clone, Copy)]
pub struct StreamLimits {
    pub per_token: usize,
    pub per_tenant: usize,
}

/// Why a stream was refused: which bound it met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Token(usize),
    Tenant(usize),
}

/// One open stream; dropping it frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    slots: Arc<StreamSlots>,
    metrics: Arc<Metrics>,
    credential: Credential,
    tenant: String,
}

impl StreamSlots {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // Counts only: each update is one step, so a poisoned lock is still consistent.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for `credential` of `tenant`, or which bound it met.
    pub fn take(
        self: &Arc<Self>,
        credential: &Credential,
        tenant: &str,
        limits: StreamLimits,
        metrics: &Arc<Metrics>,
    ) -> Result<StreamSlot, Full> {
        let mut open = self.lock();
        if open.by_credential.get(credential).copied().unwrap_or(0) >= limits.per_token {
            return Err(Full::Token(limits.per_token));
        }
        if open.by_tenant.get(tenant).copied().unwrap_or(0) >= limits.per_tenant {
            return Err(Full::Tenant(limits.per_tenant));
        }
        *open.by_credential.entry(credential.clone()).or_insert(0) += 1;
        *open.by_tenant.entry(tenant.to_owned()).or_insert(0) += 1;
        metrics.stream_clients(1);
        Ok(StreamSlot {
            slots: self.clone(),
            metrics: metrics.clone(),
            credential: credential.clone(),
            tenant: tenant.to_owned(),
        })
    }

    /// The Warden tokens with streams open.
    pub fn tokens(&self) -> Vec<i64> {
        self.lock()
            .by_credential
            .keys()
            .filter_map(|c| match c {
                Credential::Token(id) => Some(*id),
                Credential::Jwt(_) => None,
            })
            .collect()
    }

    /// Streams open with this credential.
    pub fn open(&self, credential: &Credential) -> usize {
        self.lock()
            .by_credential
            .get(credential)
            .copied()
            .unwrap_or(0)
    }

    /// Streams open of this tenant.
    pub fn open_of_tenant(&self, tenant: &str) -> usize {
        self.lock().by_tenant.get(tenant).copied().unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        self.metrics.stream_clients(-1);
        let mut open = self.slots.lock();
        release(&mut open.by_credential, &self.credential);
        release(&mut open.by_tenant, &self.tenant);
    }
}

/// One slot of `key` given back; a key with none left is forgotten.
fn release<K: std::hash::Hash + Eq>(counts: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = counts.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            counts.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: StreamLimits = StreamLimits {
        per_token: 2,
        per_tenant: 100,
    };

    #[test]
    fn a_tenant_holds_at_most_its_slots_whatever_its_tokens() {
        let (slots, metrics) = (
            Arc::new(StreamSlots::default()),
            Arc::new(Metrics::default()),
        );
        let limits = StreamLimits {
            per_token: 2,
            per_tenant: 5,
        };
        let held: Vec<_> = (0..10)
            .filter_map(|i| {
                slots
                    .take(&Credential::Token(i), "acme", limits, &metrics)
                    .ok()
            })
            .collect();
        assert_eq!(held.len(), 5);
        assert_eq!(
            slots
                .take(&Credential::Token(99), "acme", limits, &metrics)
                .err(),
            Some(Full::Tenant(5))
        );
        assert!(
            slots
                .take(&Credential::Token(99), "globex", limits, &metrics)
                .is_ok(),
            "another tenant has its own"
        );
        drop(held);
        assert_eq!(slots.open_of_tenant("acme"), 0);
        assert!(
            slots
                .take(&Credential::Token(99), "acme", limits, &metrics)
                .is_ok()
        );
    }

    #[test]
    fn a_token_holds_at_most_its_slots_and_gets_them_back() {
        let (slots, metrics) = (
            Arc::new(StreamSlots::default()),
            Arc::new(Metrics::default()),
        );
        let (one, two) = (Credential::Token(1), Credential::Jwt("alice".into()));
        let held: Vec<_> = (0..3)
            .filter_map(|_| slots.take(&one, "acme", LIMITS, &metrics).ok())
            .collect();
        assert_eq!(held.len(), 2);
        assert!(
            slots.take(&two, "acme", LIMITS, &metrics).is_ok(),
            "other credentials have their own"
        );
        assert_eq!(slots.tokens(), vec![1]);
        drop(held);
        assert_eq!(slots.open(&one), 0);
        assert!(slots.take(&one, "acme", LIMITS, &metrics).is_ok());
    }
}
