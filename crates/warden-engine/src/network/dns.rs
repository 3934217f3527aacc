//! DNS: tunnelling — one source asking for many distinct, long or random-looking names
//! under one domain (data carried in the labels) — and generated names (DGA) — one source
//! whose queries for random-looking domains fail (NXDOMAIN) again and again, as malware
//! walking its generated list does. Reverse lookups, `.local`/`.arpa` and service records
//! (`_ldap._tcp…`) are left out.

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Dns, FindingKind, NetFinding, NetworkConfig, level, rfc3339, uids};

/// Shannon entropy of a label, bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Whether a label looks generated: long, high entropy, few vowels or many digits.
pub fn looks_random(label: &str) -> bool {
    let n = label.len();
    if n < 10 {
        return false;
    }
    let vowels = label.bytes().filter(|b| b"aeiou".contains(b)).count() as f64 / n as f64;
    let digits = label.bytes().filter(u8::is_ascii_digit).count() as f64 / n as f64;
    entropy(label) >= 3.3 && (vowels < 0.3 || (digits > 0.15 && digits < 0.9))
}

/// The registered domain of a name (`a.b.example.co.uk` → `example.co.uk`), naively: the
/// last two labels, three when the second-level one is a common public suffix.
pub fn registered_domain(name: &str) -> &str {
    let labels: Vec<&str> = name.rsplitn(4, '.').collect();
    let take = match labels.as_slice() {
        [tld, sld, ..]
            if tld.len() == 2
                && ["co", "com", "net", "org", "gov", "ac", "edu", "ne", "or"].contains(sld) =>
        {
            3
        }
        _ => 2,
    };
    let mut dots = 0;
    for (i, b) in name.bytes().enumerate().rev() {
        if b == b'.' {
            dots += 1;
            if dots == take {
                return &name[i + 1..];
            }
        }
    }
    name
}

fn ignored(q: &str) -> bool {
    q.ends_with(".arpa")
        || q.ends_with(".local")
        || q.starts_with('_')
        || q.contains("._")
        || !q.contains('.')
}

pub fn find(records: &[Dns], c: &NetworkConfig) -> Vec<NetFinding> {
    let mut out = tunnelling(records, c);
    out.extend(dga(records, c));
    out
}

fn tunnelling(records: &[Dns], c: &NetworkConfig) -> Vec<NetFinding> {
    let mut groups: FxHashMap<(&str, &str), Vec<&Dns>> = FxHashMap::default();
    for d in records.iter().filter(|d| !ignored(&d.query)) {
        let domain = registered_domain(&d.query);
        if domain.len() < d.query.len() {
            groups.entry((&d.src, domain)).or_default().push(d);
        }
    }
    let mut out = Vec::new();
    for ((src, domain), list) in groups {
        let subs: FxHashSet<&str> = list
            .iter()
            .map(|d| d.query[..d.query.len() - domain.len()].trim_end_matches('.'))
            .collect();
        if subs.len() < c.dns_tunnel_min_names {
            continue;
        }
        let mut lengths: Vec<usize> = subs.iter().map(|s| s.len()).collect();
        lengths.sort_unstable();
        let median_len = lengths[lengths.len() / 2];
        let mean_entropy = subs.iter().map(|s| entropy(s)).sum::<f64>() / subs.len() as f64;
        let txt = list
            .iter()
            .filter(|d| matches!(d.qtype.as_str(), "TXT" | "NULL" | "CNAME" | "MX"))
            .count();
        if median_len < 20 && mean_entropy < 3.8 {
            continue;
        }
        let points =
            (60.0 + 10.0 * (subs.len() as f64 / c.dns_tunnel_min_names as f64).log2()).min(89.0);
        let (first, last) = (list[0].ts, list[list.len() - 1].ts);
        out.push(NetFinding {
            kind: FindingKind::DnsTunnelling,
            level: level(points),
            score: (points * 10.0).round() / 10.0,
            source: src.to_owned(),
            destination: Some(domain.to_owned()),
            first_seen: rfc3339(first),
            last_seen: rfc3339(last),
            explanation: format!(
                "{src} asked for {} distinct names under {domain} ({} queries, {txt} TXT/NULL/CNAME/MX): median subdomain {median_len} characters, entropy {mean_entropy:.1} bits per character — data carried in DNS labels (thresholds {} names, 20 characters or 3.8 bits)",
                subs.len(),
                list.len(),
                c.dns_tunnel_min_names
            ),
            evidence: uids(list.iter().map(|d| d.uid.as_str())),
            records: list.len(),
            attack: vec![FindingKind::DnsTunnelling.attack().to_owned()],
            context: Default::default(),
        });
    }
    out
}

fn dga(records: &[Dns], c: &NetworkConfig) -> Vec<NetFinding> {
    let mut by_src: FxHashMap<&str, Vec<&Dns>> = FxHashMap::default();
    let mut totals: FxHashMap<&str, usize> = FxHashMap::default();
    for d in records.iter().filter(|d| !ignored(&d.query)) {
        *totals.entry(&d.src).or_default() += 1;
        let domain = registered_domain(&d.query);
        let sld = domain.split('.').next().unwrap_or("");
        if d.rcode == "NXDOMAIN" && looks_random(sld) {
            by_src.entry(&d.src).or_default().push(d);
        }
    }
    let mut out = Vec::new();
    for (src, list) in by_src {
        let names: FxHashSet<&str> = list.iter().map(|d| registered_domain(&d.query)).collect();
        if names.len() < c.dga_min_failures {
            continue;
        }
        let total = totals.get(src).copied().unwrap_or(list.len());
        let points =
            (55.0 + 10.0 * (names.len() as f64 / c.dga_min_failures as f64).log2()).min(85.0);
        let mut examples: Vec<&str> = names.iter().copied().collect();
        examples.sort_unstable();
        examples.truncate(3);
        let (first, last) = (list[0].ts, list[list.len() - 1].ts);
        out.push(NetFinding {
            kind: FindingKind::DgaQueries,
            level: level(points),
            score: (points * 10.0).round() / 10.0,
            source: src.to_owned(),
            destination: None,
            first_seen: rfc3339(first),
            last_seen: rfc3339(last),
            explanation: format!(
                "{src} got NXDOMAIN for {} distinct random-looking domains ({} of its {total} queries; e.g. {}): a generated domain list being walked (threshold {})",
                names.len(),
                list.len(),
                examples.join(", "),
                c.dga_min_failures
            ),
            evidence: uids(list.iter().map(|d| d.uid.as_str())),
            records: list.len(),
            attack: vec![FindingKind::DgaQueries.attack().to_owned()],
            context: Default::default(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(i: usize, src: &str, query: &str, rcode: &str) -> Dns {
        Dns {
            ts: 1e9 + i as f64,
            uid: format!("D{i}"),
            src: src.into(),
            query: query.into(),
            qtype: "TXT".into(),
            rcode: rcode.into(),
        }
    }

    /// Deterministic pseudo-random lowercase text.
    fn noise(seed: usize, len: usize) -> String {
        let mut x = (seed as u64)
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (0..len)
            .map(|_| {
                x = x
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let c = (x >> 33) % 36;
                if c < 26 {
                    (b'a' + c as u8) as char
                } else {
                    (b'0' + (c - 26) as u8) as char
                }
            })
            .collect()
    }

    #[test]
    fn tunnelling_and_dga_are_found_and_ordinary_lookups_are_not() {
        let c = NetworkConfig::default();
        let mut recs: Vec<Dns> = (0..80)
            .map(|i| {
                q(
                    i,
                    "10.0.0.7",
                    &format!("{}.t.exfil.example.com", noise(i, 40)),
                    "NOERROR",
                )
            })
            .collect();
        recs.extend((0..15).map(|i| {
            q(
                100 + i,
                "10.0.0.8",
                &format!("{}.net", noise(1000 + i, 14)),
                "NXDOMAIN",
            )
        }));
        // Ordinary: many names under a CDN, short and readable; a typo that fails.
        let words = [
            "www", "img", "static", "api", "mail", "cdn", "login", "assets",
        ];
        recs.extend((0..80).map(|i| {
            q(
                200 + i,
                "10.0.0.9",
                &format!("{}{}.images.example.org", words[i % 8], i),
                "NOERROR",
            )
        }));
        recs.extend((0..3).map(|i| q(300 + i, "10.0.0.9", "gooogle.com", "NXDOMAIN")));
        let f = find(&recs, &c);
        let kinds: Vec<_> = f.iter().map(|x| (x.kind, x.source.as_str())).collect();
        assert!(
            kinds.contains(&(FindingKind::DnsTunnelling, "10.0.0.7")),
            "{f:#?}"
        );
        assert!(
            kinds.contains(&(FindingKind::DgaQueries, "10.0.0.8")),
            "{f:#?}"
        );
        assert_eq!(f.len(), 2, "{f:#?}");
        let t = f
            .iter()
            .find(|x| x.kind == FindingKind::DnsTunnelling)
            .unwrap();
        assert_eq!(t.destination.as_deref(), Some("example.com"));
    }

    #[test]
    fn names_and_randomness() {
        assert_eq!(registered_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(registered_domain("x.example.com"), "example.com");
        assert_eq!(registered_domain("com"), "com");
        assert!(looks_random("xj4k2qz9wv7p"));
        assert!(!looks_random("microsoft"));
        assert!(!looks_random("googleapis"));
        assert!(ignored("4.3.2.1.in-addr.arpa") && ignored("_ldap._tcp.dc.corp.com"));
    }
}
