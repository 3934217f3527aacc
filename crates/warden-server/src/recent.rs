//! Each user's last few events, kept in memory so that an alert can be stored with the
//! events that led to it (the alert page's timeline). Bounded: at most [`PER_USER`] events
//! of at most [`MAX_EVENT_BYTES`] each, and about [`MAX_USERS`] users across tenants — when
//! the table fills, the users not seen since the previous fill are forgotten (two
//! generations: a cheap approximation of least-recently-used).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use serde_json::Value;

/// Events kept per user.
pub const PER_USER: usize = 5;
/// Larger events are not kept as context.
pub const MAX_EVENT_BYTES: usize = 4096;
/// Users kept across tenants (per generation).
pub const MAX_USERS: usize = 100_000;

type Key = (String, String);

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<Key, VecDeque<Value>>,
    previous: HashMap<Key, VecDeque<Value>>,
}

/// The recent events of every (tenant, user).
#[derive(Debug, Default)]
pub struct RecentEvents {
    inner: Mutex<Generations>,
}

/// A batch's view: what was recent before each event, and the events to remember.
pub struct Batch<'a> {
    tenant: &'a str,
    g: std::sync::MutexGuard<'a, Generations>,
}

impl RecentEvents {
    /// Locks the table for one batch (events are taken in order).
    pub fn batch<'a>(&'a self, tenant: &'a str) -> Option<Batch<'a>> {
        self.inner.lock().ok().map(|g| Batch { tenant, g })
    }
}

impl Batch<'_> {
    /// The user's recent events (oldest first), then `event` remembered after them.
    pub fn push(&mut self, user: &str, event: &Value, want_context: bool) -> Vec<Value> {
        let key = (self.tenant.to_owned(), user.to_owned());
        let g = &mut *self.g;
        let ring = match g.current.get_mut(&key) {
            Some(r) => r,
            None => {
                if g.current.len() >= MAX_USERS {
                    g.previous = std::mem::take(&mut g.current);
                }
                let carried = g.previous.remove(&key).unwrap_or_default();
                g.current.entry(key).or_insert(carried)
            }
        };
        let before = if want_context {
            ring.iter().cloned().collect()
        } else {
            Vec::new()
        };
        if event.to_string().len() <= MAX_EVENT_BYTES {
            if ring.len() == PER_USER {
                ring.pop_front();
            }
            ring.push_back(event.clone());
        }
        before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_last_events_per_user_and_tenant() {
        let r = RecentEvents::default();
        let mut b = r.batch("acme").unwrap_or_else(|| panic!("lock"));
        for i in 0..8 {
            b.push("ana", &json!({"n": i}), false);
        }
        b.push("bob", &json!({"n": 100}), false);
        let before = b.push("ana", &json!({"n": 8}), true);
        assert_eq!(before, (3..8).map(|i| json!({"n": i})).collect::<Vec<_>>());
        drop(b);
        let mut other = r.batch("globex").unwrap_or_else(|| panic!("lock"));
        assert!(
            other.push("ana", &json!({"n": 0}), true).is_empty(),
            "tenants apart"
        );
    }

    #[test]
    fn oversized_events_are_not_kept() {
        let r = RecentEvents::default();
        let mut b = r.batch("acme").unwrap_or_else(|| panic!("lock"));
        b.push("ana", &json!({"blob": "x".repeat(MAX_EVENT_BYTES)}), false);
        assert!(b.push("ana", &json!({}), true).is_empty());
    }
}
