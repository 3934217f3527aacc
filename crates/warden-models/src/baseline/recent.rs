//! Short-term state: the windows detection needs for every event, alerting or not.

use serde::{Deserialize, Serialize};

/// The last `N` times (seconds since the epoch) something happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ring<const N: usize> {
    #[serde(with = "serde_arrays")]
    times: [u32; N],
    head: u8,
    len: u8,
}

impl<const N: usize> Default for Ring<N> {
    fn default() -> Self {
        Self {
            times: [0; N],
            head: 0,
            len: 0,
        }
    }
}

impl<const N: usize> Ring<N> {
    pub fn push(&mut self, secs: u32) {
        // `head` and `len` may come from a stored blob: never trust them as indices.
        let head = self.head as usize % N;
        self.times[head] = secs;
        self.head = ((head + 1) % N) as u8;
        self.len = (self.len as usize + 1).min(N) as u8;
    }

    /// How many recorded times fall in `(now - window, now]`.
    pub fn count_since(&self, now: u32, window_secs: u32) -> usize {
        let from = now.saturating_sub(window_secs);
        self.iter().filter(|t| *t > from && *t <= now).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.times[..(self.len as usize).min(N)].iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

/// serde cannot derive for `[u32; N]` with a const generic `N`; this writes it as a tuple.
mod serde_arrays {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer, const N: usize>(a: &[u32; N], s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(N)?;
        for v in a {
            t.serialize_element(v)?;
        }
        t.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u32; N], D::Error> {
        struct V<const N: usize>;
        impl<'de, const N: usize> Visitor<'de> for V<N> {
            type Value = [u32; N];
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "{N} integers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = [0u32; N];
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| A::Error::invalid_length(i, &self))?;
                }
                Ok(out)
            }
        }
        d.deserialize_tuple(N, V::<N>)
    }
}

/// Short windows kept for every user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecentActivity {
    /// Failed authentication attempts.
    pub failures: Ring<32>,
    /// Network of the latest failed attempt (to link a later success to the same source).
    pub last_failure_network: Option<u64>,
    /// Every event, for the short-term activity rate.
    pub events: Ring<16>,
    /// Start of the current session (events less than the session gap apart).
    pub session_start: u32,
    /// Whether the current session began at an hour usual for this user.
    pub session_started_usual: bool,
    pub last_event: u32,
}

impl RecentActivity {
    /// Records an event at `secs`; returns whether it started a new session: the first
    /// event, one more than `session_gap_secs` after the last, or one that `starts` a session
    /// whatever the gap (a sign-in after the user signed out).
    pub fn touch(&mut self, secs: u32, session_gap_secs: u32, starts: bool) -> bool {
        let new_session = starts
            || self.events.is_empty()
            || secs.saturating_sub(self.last_event) > session_gap_secs;
        if new_session {
            self.session_start = secs;
        }
        self.events.push(secs);
        self.last_event = self.last_event.max(secs);
        new_session
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_counts_window_and_wraps() {
        let mut r: Ring<4> = Ring::default();
        for t in [10, 20, 30, 40, 50, 60] {
            r.push(t);
        }
        assert_eq!(r.iter().count(), 4);
        assert_eq!(r.count_since(60, 25), 3); // 40, 50, 60
        assert_eq!(r.count_since(60, 1000), 4);
    }

    #[test]
    fn corrupt_positions_never_panic() {
        let mut r: Ring<4> = Ring {
            times: [1, 2, 3, 4],
            head: 200,
            len: 250,
        };
        assert_eq!(r.iter().count(), 4);
        r.push(9);
        assert_eq!(r.count_since(9, 100), 4);
    }

    #[test]
    fn sessions_split_on_gaps() {
        let mut s = RecentActivity::default();
        assert!(s.touch(1000, 3600, false));
        assert!(!s.touch(2000, 3600, false));
        assert!(s.touch(10_000, 3600, false));
        assert_eq!(s.session_start, 10_000);
        assert!(s.touch(10_100, 3600, true), "a forced start");
        assert_eq!(s.session_start, 10_100);
    }
}
