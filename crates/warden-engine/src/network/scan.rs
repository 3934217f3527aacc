//! Scans: one source touching many ports of one host (a port scan) or one port of many
//! hosts (a host sweep) within a window, most attempts refused or unanswered. Windows of
//! `scan_window_secs` start every half window, so a scan is not cut in two by a boundary;
//! each (source, target) is reported once, with its busiest window.

use rustc_hash::{FxHashMap, FxHashSet};

use super::{Conn, FindingKind, NetFinding, NetworkConfig, level, rfc3339, uids};

#[derive(Default)]
struct Best<'a> {
    targets: usize,
    failed: usize,
    attempts: usize,
    conns: Vec<&'a Conn>,
}

pub fn find(conns: &[Conn], c: &NetworkConfig) -> Vec<NetFinding> {
    let half = (c.scan_window_secs / 2.0).max(1.0);
    // Per source, its connections by half-window.
    let mut by_src: FxHashMap<&str, Vec<&Conn>> = FxHashMap::default();
    for conn in conns {
        by_src.entry(conn.src.as_str()).or_default().push(conn);
    }
    let mut out = Vec::new();
    let mut sources: Vec<_> = by_src.into_iter().collect();
    sources.sort_by(|a, b| a.0.cmp(b.0));
    for (src, list) in sources {
        if list.len() < c.scan_min_targets {
            continue;
        }
        let mut vertical: FxHashMap<&str, Best<'_>> = FxHashMap::default();
        let mut horizontal: FxHashMap<u16, Best<'_>> = FxHashMap::default();
        let mut start = 0;
        while start < list.len() {
            // The window [t0, t0 + 2·half) from the half-window of list[start].
            let t0 = (list[start].ts / half).floor() * half;
            // Never before `start`: at magnitudes where adding a window is lost to
            // rounding, the window would otherwise end before it begins.
            let end = list.partition_point(|x| x.ts < t0 + 2.0 * half).max(start);
            // Fewer connections than targets needed: no scan in this window (most are).
            if end - start >= c.scan_min_targets {
                judge(&list[start..end], c, &mut vertical, &mut horizontal);
            }
            // Next window: the next half-window that holds a connection.
            let next = list.partition_point(|x| x.ts < t0 + half);
            start = next.max(start + 1);
        }
        for (dst, b) in vertical {
            out.push(finding(
                FindingKind::PortScan,
                src,
                Some(dst.to_owned()),
                &b,
                c,
            ));
        }
        for (port, b) in horizontal {
            out.push(finding(
                FindingKind::HostScan,
                src,
                Some(format!("port {port}")),
                &b,
                c,
            ));
        }
    }
    out
}

fn judge<'a>(
    window: &[&'a Conn],
    c: &NetworkConfig,
    vertical: &mut FxHashMap<&'a str, Best<'a>>,
    horizontal: &mut FxHashMap<u16, Best<'a>>,
) {
    let mut ports: FxHashMap<&str, FxHashSet<u16>> = FxHashMap::default();
    let mut hosts: FxHashMap<u16, FxHashSet<&str>> = FxHashMap::default();
    for conn in window {
        ports
            .entry(conn.dst.as_str())
            .or_default()
            .insert(conn.dport);
        hosts
            .entry(conn.dport)
            .or_default()
            .insert(conn.dst.as_str());
    }
    for (dst, set) in ports {
        if set.len() >= c.scan_min_targets {
            let those: Vec<&Conn> = window.iter().copied().filter(|x| x.dst == dst).collect();
            keep(vertical.entry(dst).or_default(), set.len(), those);
        }
    }
    for (port, set) in hosts {
        if set.len() >= c.scan_min_targets {
            let those: Vec<&Conn> = window.iter().copied().filter(|x| x.dport == port).collect();
            keep(horizontal.entry(port).or_default(), set.len(), those);
        }
    }
}

fn keep<'a>(best: &mut Best<'a>, targets: usize, those: Vec<&'a Conn>) {
    if targets > best.targets {
        best.failed = those.iter().filter(|x| x.failed()).count();
        best.attempts = those.len();
        best.targets = targets;
        best.conns = those;
    }
}

fn finding(
    kind: FindingKind,
    src: &str,
    destination: Option<String>,
    b: &Best<'_>,
    c: &NetworkConfig,
) -> NetFinding {
    let share = b.failed as f64 / b.attempts.max(1) as f64;
    let ratio = b.targets as f64 / c.scan_min_targets.max(1) as f64;
    // A sweep that is mostly answered is a busy client, not a scan: below the share the
    // finding is reported LOW, for context.
    let score = if share >= c.scan_min_failed_share {
        (50.0 + 25.0 * share + 4.0 * ratio.log2()).min(79.0)
    } else {
        15.0
    };
    let what = match kind {
        FindingKind::PortScan => "ports of",
        _ => "hosts on",
    };
    let first = b.conns.first().map_or(0.0, |x| x.ts);
    let last = b.conns.last().map_or(0.0, |x| x.ts);
    NetFinding {
        kind,
        level: level(score),
        score: (score * 10.0).round() / 10.0,
        source: src.to_owned(),
        explanation: format!(
            "{src} tried {} {what} {} in {:.0} s ({} attempts, {:.0}% refused or unanswered; thresholds {} targets in {:.0} s, {:.0}% failed)",
            b.targets,
            destination.as_deref().unwrap_or("?"),
            (last - first).max(0.0),
            b.attempts,
            share * 100.0,
            c.scan_min_targets,
            c.scan_window_secs,
            c.scan_min_failed_share * 100.0
        ),
        destination,
        first_seen: rfc3339(first),
        last_seen: rfc3339(last),
        evidence: uids(b.conns.iter().map(|x| x.uid.as_str())),
        records: b.attempts,
        attack: vec![kind.attack().to_owned()],
        context: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(ts: f64, dst: &str, port: u16, state: &str) -> Conn {
        Conn {
            ts,
            uid: format!("C{ts}"),
            src: "10.0.0.9".into(),
            dst: dst.into(),
            dport: port,
            proto: "tcp".into(),
            duration: 0.0,
            orig_bytes: 0,
            resp_bytes: 0,
            state: state.into(),
        }
    }

    #[test]
    fn a_port_scan_across_a_window_boundary_is_one_finding() {
        let c = NetworkConfig::default();
        // 100 ports in 60 s, starting 30 s before a window boundary, all refused.
        let conns: Vec<Conn> = (0..100)
            .map(|i| {
                conn(
                    1_000_120.0 + f64::from(i) * 0.6,
                    "10.0.0.1",
                    1000 + i as u16,
                    "REJ",
                )
            })
            .collect();
        let f = find(&conns, &c);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].kind, FindingKind::PortScan);
        assert_eq!(f[0].destination.as_deref(), Some("10.0.0.1"));
        assert!(
            f[0].score >= 70.0 && f[0].evidence.len() == 20,
            "{:?}",
            f[0]
        );
        assert!(
            f[0].explanation.contains("tried 100 ports of 10.0.0.1"),
            "{}",
            f[0].explanation
        );
    }

    #[test]
    fn a_sweep_and_a_busy_answered_client() {
        let c = NetworkConfig::default();
        let sweep: Vec<Conn> = (0..40)
            .map(|i| conn(f64::from(i), &format!("10.1.0.{i}"), 445, "S0"))
            .collect();
        let f = find(&sweep, &c);
        assert_eq!((f.len(), f[0].kind), (1, FindingKind::HostScan));
        assert!(f[0].level >= warden_event::ThreatLevel::High);
        let busy: Vec<Conn> = (0..40)
            .map(|i| conn(f64::from(i), &format!("10.1.0.{i}"), 443, "SF"))
            .collect();
        assert!(
            find(&busy, &c)
                .iter()
                .all(|x| x.level == warden_event::ThreatLevel::Low)
        );
        let spread: Vec<Conn> = (0..40)
            .map(|i| conn(f64::from(i) * 600.0, &format!("10.1.0.{i}"), 445, "S0"))
            .collect();
        assert!(find(&spread, &c).is_empty(), "too slow for the window");
    }

    #[test]
    fn times_too_large_to_add_a_window_to_end_the_search() {
        let c = NetworkConfig::default();
        // 150 · 2^60: adding 300 s is lost to rounding.
        let ts = 172_938_225_691_027_046_400.0;
        let conns: Vec<Conn> = (0..40)
            .map(|i| conn(ts, &format!("10.1.0.{i}"), 445, "S0"))
            .collect();
        let _ = find(&conns, &c);
        let mixed: Vec<Conn> = (0..40)
            .map(|i| {
                conn(
                    if i % 2 == 0 { ts } else { f64::from(i) },
                    "10.0.0.1",
                    i as u16,
                    "REJ",
                )
            })
            .collect();
        let _ = find(&mixed, &c);
    }
}
