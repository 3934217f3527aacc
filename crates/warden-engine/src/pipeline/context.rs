//! Each user's last few events, kept so that an alert carries the events that led to it
//! (the alert page's timeline). Bounded: at most [`ContextLimits::per_user`] events of at
//! most [`ContextLimits::max_event_bytes`] each, for about [`ContextLimits::max_users`]
//! users — when the table fills, the users not seen since the previous fill are forgotten
//! (two generations: a cheap approximation of least-recently-used).

use std::collections::{HashMap, VecDeque};

use warden_event::UserActivity;

/// How much context is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextLimits {
    /// Events kept per user.
    pub per_user: usize,
    /// Larger events (raw bytes) are not kept.
    pub max_event_bytes: usize,
    /// Users kept per generation.
    pub max_users: usize,
}

impl Default for ContextLimits {
    fn default() -> Self {
        ContextLimits {
            per_user: 5,
            max_event_bytes: 4096,
            max_users: 100_000,
        }
    }
}

/// The recent events of every user of one tenant.
#[derive(Debug, Default)]
pub struct RecentEvents {
    limits: ContextLimits,
    current: HashMap<String, VecDeque<UserActivity>>,
    previous: HashMap<String, VecDeque<UserActivity>>,
}

impl RecentEvents {
    pub fn new(limits: ContextLimits) -> Self {
        RecentEvents {
            limits,
            ..RecentEvents::default()
        }
    }

    /// The user's recent events (oldest first), then `event` remembered after them
    /// (unless its raw form, `size` bytes, is too large). Copies are made only when
    /// `want_context`: most events raise no alert.
    pub fn push(
        &mut self,
        event: &UserActivity,
        size: usize,
        want_context: bool,
    ) -> Vec<UserActivity> {
        let l = self.limits;
        if l.per_user == 0 || (size > l.max_event_bytes && !want_context) {
            return Vec::new();
        }
        let user = event.user_id.as_str();
        if !self.current.contains_key(user) {
            if self.current.len() >= l.max_users {
                self.previous = std::mem::take(&mut self.current);
            }
            let carried = self.previous.remove(user).unwrap_or_default();
            self.current.insert(user.to_owned(), carried);
        }
        let Some(ring) = self.current.get_mut(user) else {
            return Vec::new();
        };
        let before = if want_context {
            ring.iter().cloned().collect()
        } else {
            Vec::new()
        };
        if size <= l.max_event_bytes {
            if ring.len() >= l.per_user {
                ring.pop_front();
            }
            ring.push_back(event.clone());
        }
        before
    }

    /// Users remembered.
    pub fn users(&self) -> usize {
        self.current.len() + self.previous.len()
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
    fn the_last_events_per_user() {
        let mut r = RecentEvents::new(ContextLimits::default());
        for i in 0..8 {
            r.push(&ev("ana", i), 100, false);
        }
        r.push(&ev("bob", 100), 100, false);
        let before = r.push(&ev("ana", 8), 100, true);
        let times: Vec<i64> = before.iter().map(|e| e.timestamp.0).collect();
        assert_eq!(times, [3, 4, 5, 6, 7]);
        assert!(r.push(&ev("cy", 0), 100, true).is_empty());
    }

    #[test]
    fn oversized_events_are_not_kept_and_users_are_bounded() {
        let mut r = RecentEvents::new(ContextLimits {
            max_users: 2,
            ..ContextLimits::default()
        });
        r.push(&ev("ana", 1), 5000, false);
        assert!(r.push(&ev("ana", 2), 10, true).is_empty());
        for u in ["b", "c", "d", "e", "f"] {
            r.push(&ev(u, 1), 10, false);
        }
        assert!(r.users() <= 4, "{}", r.users());
    }
}
