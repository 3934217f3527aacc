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
        let h = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(stable_hash)
        };
        Self {
            location: h(&a.location),
            country: a.country().map(stable_hash),
            device: h(&a.device_fingerprint).or_else(|| h(&a.device_name)),
            user_agent: h(&a.user_agent),
            resource: h(&a.resource_accessed),
            network: a.ip_address.as_deref().map(network_key),
        }
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
