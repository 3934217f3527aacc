//! Long connections (a tunnel or an interactive session held open for hours) and large
//! transfers out (more bytes sent than the host's usual many times over, and more than a
//! floor, so a quiet host's first backup is not an alert on its own).

use rustc_hash::FxHashMap;

use super::{Conn, FindingKind, NetFinding, NetworkConfig, level, rfc3339, uids};

pub fn find(conns: &[Conn], c: &NetworkConfig) -> Vec<NetFinding> {
    let mut out = long_connections(conns, c);
    out.extend(large_transfers(conns, c));
    out
}

fn long_connections(conns: &[Conn], c: &NetworkConfig) -> Vec<NetFinding> {
    // One finding per (source, destination, port): its longest connection.
    let mut longest: FxHashMap<(&str, &str, u16), (&Conn, usize)> = FxHashMap::default();
    for conn in conns
        .iter()
        .filter(|x| x.duration >= c.long_connection_secs)
    {
        let e = longest
            .entry((&conn.src, &conn.dst, conn.dport))
            .or_insert((conn, 0));
        e.1 += 1;
        if conn.duration > e.0.duration {
            e.0 = conn;
        }
    }
    longest
        .into_values()
        .map(|(conn, n)| {
            let hours = conn.duration / 3600.0;
            let points = (40.0 + 5.0 * hours.log2().max(0.0)).min(60.0);
            NetFinding {
                kind: FindingKind::LongConnection,
                level: level(points),
                score: (points * 10.0).round() / 10.0,
                source: conn.src.clone(),
                destination: Some(format!("{}:{}/{}", conn.dst, conn.dport, conn.proto)),
                first_seen: rfc3339(conn.ts),
                last_seen: rfc3339(conn.ts + conn.duration),
                explanation: format!(
                    "{} held a connection to {}:{}/{} open for {hours:.1} h ({} bytes out, {} in; {n} connection(s) of {:.0} h or more to it)",
                    conn.src,
                    conn.dst,
                    conn.dport,
                    conn.proto,
                    conn.orig_bytes,
                    conn.resp_bytes,
                    c.long_connection_secs / 3600.0
                ),
                evidence: uids(std::iter::once(conn.uid.as_str())),
                records: n,
                attack: vec![FindingKind::LongConnection.attack().to_owned()],
                context: Default::default(),
            }
        })
        .collect()
}

/// Connections a host needs before its own 95th percentile is its usual; with fewer, the
/// whole network's is.
const MIN_OWN_HISTORY: usize = 20;

fn p95(sizes: &mut [u64]) -> u64 {
    sizes.sort_unstable();
    sizes
        .get((sizes.len() * 95 / 100).min(sizes.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0)
        .max(1)
}

fn large_transfers(conns: &[Conn], c: &NetworkConfig) -> Vec<NetFinding> {
    let mut by_src: FxHashMap<&str, Vec<&Conn>> = FxHashMap::default();
    for conn in conns {
        by_src.entry(&conn.src).or_default().push(conn);
    }
    let everyone = p95(&mut conns.iter().map(|x| x.orig_bytes).collect::<Vec<_>>());
    let mut out = Vec::new();
    for (src, list) in by_src {
        let mut sizes: Vec<u64> = list.iter().map(|x| x.orig_bytes).collect();
        let (p95, whose) = if sizes.len() >= MIN_OWN_HISTORY {
            (p95(&mut sizes), "its")
        } else {
            (everyone, "the network's")
        };
        for conn in list {
            let factor = conn.orig_bytes as f64 / p95 as f64;
            if conn.orig_bytes < c.large_transfer_bytes || factor < c.large_transfer_factor {
                continue;
            }
            let points = (50.0 + 10.0 * (factor / c.large_transfer_factor).log2()).min(79.0);
            out.push(NetFinding {
                kind: FindingKind::LargeTransfer,
                level: level(points),
                score: (points * 10.0).round() / 10.0,
                source: src.to_owned(),
                destination: Some(format!("{}:{}/{}", conn.dst, conn.dport, conn.proto)),
                first_seen: rfc3339(conn.ts),
                last_seen: rfc3339(conn.ts + conn.duration),
                explanation: format!(
                    "{src} sent {:.1} MB to {}:{} in one connection, {factor:.0}× {whose} 95th percentile of bytes sent ({p95} bytes; {} connections from this host; thresholds {} MB and {:.0}×)",
                    conn.orig_bytes as f64 / 1_048_576.0,
                    conn.dst,
                    conn.dport,
                    sizes.len(),
                    c.large_transfer_bytes >> 20,
                    c.large_transfer_factor
                ),
                evidence: uids(std::iter::once(conn.uid.as_str())),
                records: 1,
                attack: vec![FindingKind::LargeTransfer.attack().to_owned()],
                context: Default::default(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(i: usize, duration: f64, out_bytes: u64) -> Conn {
        Conn {
            ts: 1e9 + i as f64 * 10.0,
            uid: format!("C{i}"),
            src: "10.0.0.4".into(),
            dst: "198.51.100.3".into(),
            dport: 443,
            proto: "tcp".into(),
            duration,
            orig_bytes: out_bytes,
            resp_bytes: 1000,
            state: "SF".into(),
        }
    }

    #[test]
    fn a_long_session_and_an_exfiltration_stand_out() {
        let c = NetworkConfig::default();
        let mut conns: Vec<Conn> = (0..200)
            .map(|i| conn(i, 2.0, 2_000 + (i as u64 % 7) * 300))
            .collect();
        conns.push(conn(500, 5.0 * 3600.0, 40_000));
        conns.push(conn(501, 30.0, 300 << 20));
        let f = find(&conns, &c);
        assert_eq!(f.len(), 2, "{f:#?}");
        assert!(
            f.iter()
                .any(|x| x.kind == FindingKind::LongConnection && x.explanation.contains("5.0 h"))
        );
        let big = f
            .iter()
            .find(|x| x.kind == FindingKind::LargeTransfer)
            .unwrap();
        assert!(big.explanation.contains("300.0 MB"), "{}", big.explanation);
        assert_eq!(big.evidence, ["C501"]);
    }

    #[test]
    fn a_host_without_history_is_judged_against_the_network() {
        let c = NetworkConfig::default();
        let mut conns: Vec<Conn> = (0..100).map(|i| conn(i, 2.0, 3_000)).collect();
        let mut fresh = conn(200, 60.0, 200 << 20);
        fresh.src = "10.0.0.77".into();
        conns.push(fresh);
        let f = find(&conns, &c);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].explanation.contains("the network's 95th percentile"),
            "{}",
            f[0].explanation
        );
    }

    #[test]
    fn a_host_that_always_sends_a_lot_is_not_flagged() {
        let c = NetworkConfig::default();
        let conns: Vec<Conn> = (0..50).map(|i| conn(i, 60.0, 200 << 20)).collect();
        assert!(find(&conns, &c).is_empty());
    }
}
