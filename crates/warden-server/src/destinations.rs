//! Where webhooks may send: tenants' admins register webhook URLs through the API, so the
//! service must not become a way into the network it runs in. By default a URL whose host
//! is — or resolves to — a loopback, private, link-local, shared (CGNAT), unspecified or
//! multicast address is refused (`server.webhook_allow_private` lifts this), and
//! `server.webhook_allowed_hosts`, when set, limits webhooks to those hosts (`hooks.example.com`,
//! or `*.example.com` for its subdomains). Checked when a webhook is registered and again
//! before each delivery (a name can be re-pointed in between).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

use axum::http::Uri;

use crate::config::ServerConfig;

/// An address a webhook must not reach unless private destinations are allowed.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let seg = v6.segments();
            // IPv4 carried in IPv6: NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return internal_v4(Ipv4Addr::new(
                    (seg[6] >> 8) as u8,
                    seg[6] as u8,
                    (seg[7] >> 8) as u8,
                    seg[7] as u8,
                ));
            }
            if seg[0] == 0x2002 {
                return internal_v4(Ipv4Addr::new(
                    (seg[1] >> 8) as u8,
                    seg[1] as u8,
                    (seg[2] >> 8) as u8,
                    seg[2] as u8,
                ));
            }
            let first = seg[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || v6 == Ipv6Addr::UNSPECIFIED
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64/10
}

fn host_allowed(host: &str, allowed: &[String]) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|a| match a.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            None => host.eq_ignore_ascii_case(a),
        })
}

/// Whether `url` may receive webhooks under `cfg`; the reason when not. Resolves the host
/// (blocking: call it off the async threads).
pub fn check(url: &str, cfg: &ServerConfig) -> Result<(), String> {
    let uri: Uri = url.parse().map_err(|_| "not a URL".to_owned())?;
    let host = uri
        .host()
        .ok_or_else(|| "the URL has no host".to_owned())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if !host_allowed(&host, &cfg.webhook_allowed_hosts) {
        return Err(format!("{host} is not among server.webhook_allowed_hosts"));
    }
    if cfg.webhook_allow_private {
        return Ok(());
    }
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .map(|a| a.ip())
            .collect(),
    };
    match addrs.iter().find(|ip| is_internal(**ip)) {
        Some(ip) => Err(format!(
            "{host} is an internal address ({ip}); set server.webhook_allow_private to allow it"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_by_default() {
        let cfg = ServerConfig::default();
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://10.1.2.3/",
            "https://192.168.0.10/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://localhost:8080/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:7f00:1::]/",
        ] {
            let e = check(url, &cfg).unwrap_err();
            assert!(
                e.contains("internal address") || e.contains("resolve"),
                "{url}: {e}"
            );
        }
        assert!(
            check("https://203.0.113.7/hook", &cfg).is_ok(),
            "a public address"
        );
    }

    #[test]
    fn the_operator_decides() {
        let mut cfg = ServerConfig {
            webhook_allow_private: true,
            ..ServerConfig::default()
        };
        assert!(check("http://127.0.0.1:9000/hook", &cfg).is_ok());
        cfg.webhook_allowed_hosts = vec!["hooks.example.com".into(), "*.corp.example".into()];
        assert!(check("https://hooks.example.com/a", &cfg).is_ok());
        assert!(check("https://siem.corp.example/a", &cfg).is_ok());
        assert!(check("https://corp.example/a", &cfg).is_err());
        assert!(check("https://evilcorp.example/a", &cfg).is_err());
        let e = check("http://127.0.0.1:9000/hook", &cfg).unwrap_err();
        assert!(e.contains("webhook_allowed_hosts"), "{e}");
    }
}
