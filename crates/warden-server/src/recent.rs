//! Each user's last few events, kept in memory so that an alert can be stored with the
//! events that led to it (the alert page's timeline). Bounded: at most [`PER_USER`] events
//! of at most [`MAX_EVENT_BYTES`] each, and about [`MAX_USERS`] users across tenants — when
//! the table fills, the users not seen since the previous fill are forgotten (two
//! generations: a cheap approximation of least-recently-used).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use warden_event::UserActivity;

/// Events kept per user.
pub const PER_USER: usize = 5;
/// Larger events are not kept as context.
pub const MAX_EVENT_BYTES: usize = 4096;
/// Users kept across tenants (per generation).
pub const MAX_USERS: usize = 100_000;

type Key = (String, String);

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<Key, VecDeque<UserActivity>>,
    previous: HashMap<Key, VecDeque<UserActivity>>,
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
    /// The user's recent events (oldest first), then `event` remembered after them
    /// (unless its raw form, `size` bytes, is over [`MAX_EVENT_BYTES`]). Copies are made
    /// only when `want_context`: most events raise no alert.
    pub fn push(
        &mut self,
        event: &UserActivity,
        size: usize,
        want_context: bool,
    ) -> Vec<UserActivity> {
        let user = event.user_id.as_str();
        if size > MAX_EVENT_BYTES && !want_context {
            return Vec::new();
        }
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
        if size <= MAX_EVENT_BYTES {
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
    use warden_event::{ActivityType, Timestamp};

    fn ev(user: &str, n: i64) -> UserActivity {
        UserActivity::new(user, ActivityType::Login, Timestamp(n))
    }

    #[test]
    fn the_last_events_per_user_and_tenant() {
        let r = RecentEvents::default();
        let mut b = r.batch("acme").unwrap_or_else(|| panic!("lock"));
        for i in 0..8 {
            b.push(&ev("ana", i), 100, false);
        }
        b.push(&ev("bob", 100), 100, false);
        let before = b.push(&ev("ana", 8), 100, true);
        let times: Vec<i64> = before.iter().map(|e| e.timestamp.0).collect();
        assert_eq!(times, [3, 4, 5, 6, 7]);
        drop(b);
        let mut other = r.batch("globex").unwrap_or_else(|| panic!("lock"));
        assert!(
            other.push(&ev("ana", 0), 100, true).is_empty(),
            "tenants apart"
        );
    }

    #[test]
    fn oversized_events_are_not_kept() {
        let r = RecentEvents::default();
        let mut b = r.batch("acme").unwrap_or_else(|| panic!("lock"));
        b.push(&ev("ana", 1), MAX_EVENT_BYTES + 1, false);
        assert!(b.push(&ev("ana", 2), 10, true).is_empty());
    }
}
