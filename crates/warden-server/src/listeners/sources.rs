//! Per-source bounds of a listener: a token bucket of messages per second for each sending
//! address (UDP drops past it; TCP reads slower, so the sender's own buffer holds the
//! excess and nothing is lost), and the connections each address holds open.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most addresses tracked; past it, the buckets that are full again are forgotten.
const MAX_SOURCES: usize = 100_000;

/// Messages per second per address; a second's worth may come at once.
#[derive(Debug)]
pub struct SourceRates {
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl SourceRates {
    /// `per_second` = 0: no limit.
    pub fn new(per_second: u32) -> Self {
        SourceRates {
            per_second: f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one message from `ip`'s bucket; `false` when it is empty (the message is
    /// dropped).
    pub fn try_take(&self, ip: IpAddr) -> bool {
        self.take(ip, 1, false).is_zero()
    }

    /// Takes `n` messages, borrowing ahead: how long the sender should wait before it is
    /// read again.
    pub fn take_or_wait(&self, ip: IpAddr, n: usize) -> Duration {
        self.take(ip, n, true)
    }

    fn take(&self, ip: IpAddr, n: usize, borrow: bool) -> Duration {
        if self.per_second <= 0.0 || n == 0 {
            return Duration::ZERO;
        }
        let cap = self.per_second;
        let now = Instant::now();
        let Ok(mut b) = self.buckets.lock() else {
            return Duration::ZERO;
        };
        if b.len() >= MAX_SOURCES && !b.contains_key(&ip) {
            let rate = self.per_second;
            b.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < cap
            });
        }
        let entry = b.entry(ip).or_insert((cap, now));
        let tokens = (entry.0 + now.duration_since(entry.1).as_secs_f64() * cap).min(cap);
        let want = n as f64;
        if tokens >= want {
            *entry = (tokens - want, now);
            return Duration::ZERO;
        }
        if !borrow {
            *entry = (tokens, now);
            return Duration::from_secs(1);
        }
        let left = tokens - want;
        *entry = (left, now);
        Duration::from_secs_f64(-left / self.per_second)
    }
}

/// Connections open per address, under a total and a per-address cap.
#[derive(Debug)]
pub struct ConnectionCaps {
    total: usize,
    per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl ConnectionCaps {
    pub fn new(total: usize, per_address: usize) -> Self {
        ConnectionCaps {
            total,
            per_address,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a new connection from `ip`, or says no.
    pub fn admit(&self, ip: IpAddr) -> bool {
        let Ok(mut open) = self.open.lock() else {
            return false;
        };
        let all: usize = open.values().sum();
        let mine = open.get(&ip).copied().unwrap_or(0);
        if all >= self.total || mine >= self.per_address {
            return false;
        }
        *open.entry(ip).or_insert(0) += 1;
        true
    }

    /// A connection from `ip` closed.
    pub fn release(&self, ip: IpAddr) {
        if let Ok(mut open) = self.open.lock()
            && let Some(n) = open.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_gets_its_rate_and_others_are_not_held_by_it() {
        let r = SourceRates::new(10);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let taken = (0..20).filter(|_| r.try_take(a)).count();
        assert_eq!(taken, 10);
        assert!(r.try_take(b));
        // Borrowing ahead: 10 more than the bucket holds is a second's wait.
        let wait = r.take_or_wait(b, 19);
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        assert!(SourceRates::new(0).try_take(a));
    }

    #[test]
    fn connections_are_capped_per_address_and_in_all() {
        let c = ConnectionCaps::new(3, 2);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        assert!(c.admit(a) && c.admit(a) && !c.admit(a));
        assert!(c.admit(b) && !c.admit(b));
        c.release(a);
        assert!(c.admit(b) && !c.admit(a));
    }
}
