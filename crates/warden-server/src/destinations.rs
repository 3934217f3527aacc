//! Where webhooks may send: tenants' admins register webhook URLs through the API, so the
//! service must not become a way into the network it runs in. By default a URL whose host
//! is — or resolves to — a loopback, private, link-local, shared (CGNAT), benchmarking,
//! reserved, unspecified or multicast address, or an IPv6 form that carries one (mapped,
//! compatible, NAT64, 6to4, Teredo, site-local), is refused (`server.webhook_allow_private`
//! lifts this), and `server.webhook_allowed_hosts`, when set, limits webhooks to those hosts
//! (`hooks.example.com`, or `*.example.com` for its subdomains).
//!
//! [`resolve`] is the only way to a destination: it resolves the name once, refuses it if
//! any address is internal, and returns the addresses checked — the delivery connects to
//! those ([`crate::delivery`]), never resolving again, so a name re-pointed between the
//! check and the connection (DNS rebinding) cannot lead it inside. Checked when a webhook
//! is registered and again for each delivery. What a caller is told is generic; the
//! addresses go to the server's log only.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;

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
                || seg[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::/96 (deprecated)
                || seg[..3] == [0x64, 0xff9b, 1] // local-use NAT64 64:ff9b:1::/48
                || seg[..2] == [0x2001, 0] // Teredo 2001::/32: carries an IPv4 address
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
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
        || a >= 240 // reserved 240/4 (and broadcast)
        || (a == 100 && (64..128).contains(&b)) // shared address space 100.64/10
        || (a == 198 && (18..20).contains(&b)) // benchmarking 198.18/15
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments 192.0.0/24
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

/// Resolves host names to addresses. The service uses the system's resolver; tests put
/// in one they control.
pub trait Resolve: Send + Sync {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>>;
}

/// The system's resolver (`getaddrinfo` on Tokio's blocking pool).
#[derive(Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send + 'a>> {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host, port))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// A destination that passed the checks: where to connect, and what to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub https: bool,
    /// The host as written (for `Host:` and the TLS server name).
    pub host: String,
    pub port: u16,
    /// Path and query (`/hook?x=1`).
    pub path: String,
    /// The addresses checked: the only ones a delivery connects to.
    pub addrs: Vec<SocketAddr>,
}

/// Why a destination is refused. The texts are what API callers see: they never name an
/// address the name resolved to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not an http:// or https:// URL with a host")]
    NotAUrl,
    #[error("{0} is not among server.webhook_allowed_hosts")]
    NotAllowed(String),
    #[error("the host does not resolve")]
    Unresolved,
    #[error(
        "the host is or resolves to an internal address; set server.webhook_allow_private to allow it"
    )]
    Internal,
}

/// Checks `url` under `cfg` and resolves it once (see the module docs).
pub async fn resolve(
    url: &str,
    cfg: &ServerConfig,
    resolver: &dyn Resolve,
) -> Result<Destination, Refused> {
    let uri: Uri = url.parse().map_err(|_| Refused::NotAUrl)?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(Refused::NotAUrl),
    };
    let host = uri
        .host()
        .ok_or(Refused::NotAUrl)?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if host.is_empty() {
        return Err(Refused::NotAUrl);
    }
    if !host_allowed(&host, &cfg.webhook_allowed_hosts) {
        return Err(Refused::NotAllowed(host));
    }
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let ips: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match resolver.lookup(&host, port).await {
            Ok(ips) if !ips.is_empty() => ips,
            Ok(_) => return Err(Refused::Unresolved),
            Err(e) => {
                tracing::debug!("webhook host {host} does not resolve: {e}");
                return Err(Refused::Unresolved);
            }
        },
    };
    if !cfg.webhook_allow_private
        && let Some(ip) = ips.iter().find(|ip| is_internal(**ip))
    {
        tracing::warn!("webhook destination {host} refused: it resolves to {ip}");
        return Err(Refused::Internal);
    }
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    Ok(Destination {
        https,
        host,
        port,
        path,
        addrs: ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, cfg: &ServerConfig) -> Result<Destination, Refused> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        rt.block_on(resolve(url, cfg, &SystemResolver))
    }

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
            "http://[::7f00:1]/",
            "http://[::a00:1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[fec0::1]/",
            "http://198.18.0.1/",
            "http://198.19.255.1/",
            "http://240.0.0.1/",
            "http://255.255.255.255/",
            "http://192.0.0.8/",
        ] {
            let e = check(url, &cfg).err();
            assert!(
                matches!(e, Some(Refused::Internal | Refused::Unresolved)),
                "{url}: {e:?}"
            );
            // What the caller reads names no address.
            let text = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(!text.contains("127.") && !text.contains("10."), "{text}");
        }
        let ok = check("https://203.0.113.7:8443/hook?x=1", &cfg).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (ok.https, ok.port, ok.path.as_str(), ok.addrs.len()),
            (true, 8443, "/hook?x=1", 1)
        );
        assert_eq!(check("ftp://203.0.113.7/", &cfg), Err(Refused::NotAUrl));
    }

    #[test]
    fn the_operator_decides() {
        let mut cfg = ServerConfig {
            webhook_allow_private: true,
            ..ServerConfig::default()
        };
        assert!(check("http://127.0.0.1:9000/hook", &cfg).is_ok());
        cfg.webhook_allowed_hosts = vec!["hooks.example.com".into(), "*.corp.example".into()];
        assert!(matches!(
            check("https://corp.example/a", &cfg),
            Err(Refused::NotAllowed(_))
        ));
        assert!(matches!(
            check("https://evilcorp.example/a", &cfg),
            Err(Refused::NotAllowed(_))
        ));
        let e = check("http://127.0.0.1:9000/hook", &cfg)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("webhook_allowed_hosts")));
        assert!(host_allowed(
            "siem.corp.example",
            &cfg.webhook_allowed_hosts
        ));
        assert!(!host_allowed("corp.example", &cfg.webhook_allowed_hosts));
    }
}
