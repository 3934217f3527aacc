//! Hashed identities of one activity's attributes, computed once per event.

use crate::stats::{stable_hash, stable_hash_bytes};
use std::net::IpAddr;
use warden_event::UserActivity;

/// Stable hashes of the attributes baselines count. `None` where the field is absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivityKeys {
    pub location: Option<u64>,
    pub country: Option<u64>,
    pub device: Option<u64>,
    pub user_agent: Option<u64>,
    pub resource: Option<u64>,
    /// The /24 (IPv4) or /48 (IPv6) network of the address.
    pub network: Option<u64>,
}

impl ActivityKeys {
    pub fn of(a: &UserActivity) -> Self {
        Self::with_user_agent_hash(a, stable_hash)
    }

    /// [`ActivityKeys::of`], the user agent's hash looked up in `memo` first: user agents
    /// are the longest attribute and one fleet has few of them, so on a stream most events
    /// repeat one already hashed.
    pub fn of_memo(a: &UserActivity, memo: &mut HashMemo) -> Self {
        Self::with_user_agent_hash(a, |s| memo.hash(s))
    }

    fn with_user_agent_hash(a: &UserActivity, mut ua: impl FnMut(&str) -> u64) -> Self {
        Self {
            location: trimmed(&a.location).map(stable_hash),
            country: a.country().map(stable_hash),
            device: trimmed(&a.device_fingerprint)
                .or_else(|| trimmed(&a.device_name))
                .map(stable_hash),
            user_agent: trimmed(&a.user_agent).map(&mut ua),
            resource: trimmed(&a.resource_accessed).map(stable_hash),
            network: a.ip_address.as_deref().map(network_key),
        }
    }
}

fn trimmed(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Remembered [`stable_hash`]es of strings that repeat, at most [`HashMemo::MAX`] of them
/// (forgotten all at once when full, so a stream of distinct strings costs one allocation
/// each and memory stays bounded).
#[derive(Debug, Default)]
pub struct HashMemo {
    hashes: rustc_hash::FxHashMap<Box<str>, u64>,
}

impl HashMemo {
    pub const MAX: usize = 4096;

    pub fn hash(&mut self, s: &str) -> u64 {
        if let Some(&h) = self.hashes.get(s) {
            return h;
        }
        let h = stable_hash(s);
        if self.hashes.len() >= Self::MAX {
            self.hashes.clear();
        }
        self.hashes.insert(s.into(), h);
        h
    }
}

/// Hash of the network an address belongs to; unparseable addresses hash as given.
/// Hashes the prefix bytes directly: this runs for every event.
pub fn network_key(ip: &str) -> u64 {
    let mut buf = [0u8; 8];
    let prefix: &[u8] = match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            buf[0] = 4;
            buf[1..4].copy_from_slice(&v4.octets()[..3]);
            &buf[..4]
        }
        Ok(IpAddr::V6(v6)) => {
            buf[0] = 6;
            buf[1..7].copy_from_slice(&v6.octets()[..6]);
            &buf[..7]
        }
        Err(_) => return stable_hash(ip.trim()),
    };
    stable_hash_bytes(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memo_gives_the_same_keys_and_stays_bounded() {
        let mut a = UserActivity {
            user_agent: Some(" Mozilla/5.0 (X11) ".into()),
            location: Some("Paris, FR".into()),
            device_fingerprint: Some("ab12".into()),
            ..UserActivity::default()
        };
        let mut memo = HashMemo::default();
        assert_eq!(ActivityKeys::of_memo(&a, &mut memo), ActivityKeys::of(&a));
        assert_eq!(ActivityKeys::of_memo(&a, &mut memo), ActivityKeys::of(&a));
        for i in 0..HashMemo::MAX + 10 {
            a.user_agent = Some(format!("agent {i}"));
            assert_eq!(ActivityKeys::of_memo(&a, &mut memo), ActivityKeys::of(&a));
        }
        assert!(memo.hashes.len() <= HashMemo::MAX);
    }

    #[test]
    fn networks_group_neighbours() {
        assert_eq!(network_key("10.1.2.3"), network_key("10.1.2.200"));
        assert_ne!(network_key("10.1.2.3"), network_key("10.1.3.3"));
        assert_eq!(
            network_key("2001:db8:1:2::1"),
            network_key("2001:db8:1:ffff::9")
        );
        assert_eq!(network_key("not-an-ip"), stable_hash("not-an-ip"));
    }
}
