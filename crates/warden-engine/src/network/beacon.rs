//! Beaconing: an implant calls home at a fixed interval (with some jitter) and sends
//! requests of about the same size. For each (source, destination, port, protocol) with
//! enough connections, the intervals between them and their sizes are scored as RITA does:
//! a Bowley skewness near 0 (symmetric) and a median absolute deviation small against a
//! tolerance (regular) each score near 1; the beacon score is their mean, with the
//! intervals weighing twice the sizes. Bursts (a median interval under a second: a copy or
//! an interactive session opening connection after connection) are not beacons. Name, time and address services (DNS, NTP, NetBIOS,
//! DHCP, mDNS) are periodic by design and are left out.

use rustc_hash::FxHashMap;

use super::{Conn, FindingKind, NetFinding, NetworkConfig, level, rfc3339, uids};

/// Ports whose periodic traffic is the protocol itself.
const PERIODIC_SERVICES: &[u16] = &[53, 67, 68, 123, 137, 138, 5353, 5355];

/// (Bowley skewness score, dispersion score) of a sample: each 1 when perfectly regular.
/// The dispersion is the median absolute deviation against a tolerance: `floor` (30 s for
/// intervals, 32 bytes for sizes, as RITA takes them) or a fifth of the median, whichever
/// is larger — so an hourly beacon may wander by minutes and still be regular.
fn regularity(values: &mut [f64], floor: f64) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let i = p * (values.len() - 1) as f64;
        let (lo, hi) = (i.floor() as usize, i.ceil() as usize);
        values[lo] + (values[hi] - values[lo]) * (i - lo as f64)
    };
    let (q1, q2, q3) = (q(0.25), q(0.5), q(0.75));
    let tolerance = floor.max(q2 / 5.0).max(f64::EPSILON);
    // Within a quarter of the tolerance the shape does not matter (and Bowley's measure
    // swings to ±1 on a few distinct values: whole-second sleeps, fixed request sizes).
    let bowley = if q3 - q1 > tolerance / 4.0 {
        (q3 + q1 - 2.0 * q2) / (q3 - q1)
    } else {
        0.0
    };
    let mut dev: Vec<f64> = values.iter().map(|v| (v - q2).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = dev[dev.len() / 2];
    let dispersion = mad / tolerance;
    (1.0 - bowley.abs(), (1.0 - dispersion).clamp(0.0, 1.0))
}

/// One pair's regularity.
struct Scored<'a> {
    src: &'a str,
    dst: &'a str,
    port: u16,
    proto: &'a str,
    list: Vec<&'a Conn>,
    median_interval: f64,
    parts: [f64; 4],
    score: f64,
}

/// The pair's beacon score, when it has enough connections and is no burst.
fn score<'a>(
    key: (&'a str, &'a str, u16, &'a str),
    list: Vec<&'a Conn>,
    c: &NetworkConfig,
) -> Option<Scored<'a>> {
    if list.len() < c.beacon_min_connections.max(4) {
        return None;
    }
    let mut intervals: Vec<f64> = list.windows(2).map(|w| w[1].ts - w[0].ts).collect();
    let median_interval = {
        let mut v = intervals.clone();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Bursts (a file copy opening many connections at once) are not beacons.
    if median_interval < 1.0 {
        return None;
    }
    let (ts_skew, ts_disp) = regularity(&mut intervals, 30.0);
    let mut sizes: Vec<f64> = list.iter().map(|x| x.orig_bytes as f64).collect();
    let (size_skew, size_disp) = regularity(&mut sizes, 32.0);
    let score = (2.0 * ts_skew + 2.0 * ts_disp + size_skew + size_disp) / 6.0;
    let (src, dst, port, proto) = key;
    (score >= c.beacon_min_score).then_some(Scored {
        src,
        dst,
        port,
        proto,
        list,
        median_interval,
        parts: [ts_skew, ts_disp, size_skew, size_disp],
        score,
    })
}

pub fn find(conns: &[Conn], c: &NetworkConfig) -> Vec<NetFinding> {
    let mut pairs: FxHashMap<(&str, &str, u16, &str), Vec<&Conn>> = FxHashMap::default();
    for conn in conns {
        if PERIODIC_SERVICES.contains(&conn.dport) {
            continue;
        }
        pairs
            .entry((&conn.src, &conn.dst, conn.dport, &conn.proto))
            .or_default()
            .push(conn);
    }
    let beacons: Vec<Scored<'_>> = pairs
        .into_iter()
        .filter_map(|(key, list)| score(key, list, c))
        .collect();
    // A schedule several hosts keep with one server (an updater, an agent reporting to
    // its console) is the fleet's software rather than an implant: LOW, for context.
    let mut keepers: FxHashMap<(&str, u16), usize> = FxHashMap::default();
    for b in &beacons {
        *keepers.entry((b.dst, b.port)).or_default() += 1;
    }
    beacons
        .into_iter()
        .map(|b| {
            let hosts = keepers.get(&(b.dst, b.port)).copied().unwrap_or(1);
            finding(&b, hosts, c)
        })
        .collect()
}

fn finding(b: &Scored<'_>, hosts: usize, c: &NetworkConfig) -> NetFinding {
    let (first, last) = (b.list[0].ts, b.list[b.list.len() - 1].ts);
    let common = hosts >= c.beacon_common_destination;
    // HIGH at most: updaters and agents beacon too; what they talk to decides.
    let points = if common {
        15.0
    } else {
        (50.0 + 40.0 * (b.score - c.beacon_min_score) / (1.0 - c.beacon_min_score).max(0.01))
            .min(79.0)
    };
    let [ts_skew, ts_disp, size_skew, size_disp] = b.parts;
    let (src, dst, port, proto) = (b.src, b.dst, b.port, b.proto);
    let fleet = if common {
        format!(
            "; {hosts} hosts keep this schedule with {dst}:{port}: the fleet's software, reported LOW"
        )
    } else {
        String::new()
    };
    NetFinding {
        kind: FindingKind::Beaconing,
        level: level(points),
        score: (points * 10.0).round() / 10.0,
        source: src.to_owned(),
        destination: Some(format!("{dst}:{port}/{proto}")),
        first_seen: rfc3339(first),
        last_seen: rfc3339(last),
        explanation: format!(
            "{src} connected to {dst}:{port}/{proto} {} times over {:.1} h, every {:.0} s (median); beacon score {:.2} (intervals: symmetry {ts_skew:.2}, regularity {ts_disp:.2}; sizes: symmetry {size_skew:.2}, regularity {size_disp:.2}; threshold {:.2}){fleet}",
            b.list.len(),
            (last - first) / 3600.0,
            b.median_interval,
            b.score,
            c.beacon_min_score
        ),
        evidence: uids(b.list.iter().map(|x| x.uid.as_str())),
        records: b.list.len(),
        attack: vec![FindingKind::Beaconing.attack().to_owned()],
        context: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conns(times: &[f64], sizes: &[u64], port: u16) -> Vec<Conn> {
        times
            .iter()
            .zip(sizes.iter().cycle())
            .enumerate()
            .map(|(i, (t, s))| Conn {
                ts: *t,
                uid: format!("C{i}"),
                src: "10.0.0.5".into(),
                dst: "203.0.113.50".into(),
                dport: port,
                proto: "tcp".into(),
                duration: 0.2,
                orig_bytes: *s,
                resp_bytes: 100,
                state: "SF".into(),
            })
            .collect()
    }

    /// A deterministic jitter in [-1, 1].
    fn jitter(i: usize) -> f64 {
        ((i * 7919) % 200) as f64 / 100.0 - 1.0
    }

    #[test]
    fn a_jittered_beacon_is_found_and_irregular_browsing_is_not() {
        let c = NetworkConfig::default();
        let times: Vec<f64> = (0..60)
            .map(|i| 1e9 + i as f64 * 60.0 + 3.0 * jitter(i))
            .collect();
        let f = find(&conns(&times, &[310, 312, 309], 443), &c);
        assert_eq!(f.len(), 1, "{f:#?}");
        assert!(
            f[0].explanation.contains("60 times"),
            "{}",
            f[0].explanation
        );
        assert!(f[0].level >= warden_event::ThreatLevel::High);
        // Human browsing: intervals from seconds to an hour, sizes all over the place.
        let mut t = 1e9;
        let times: Vec<f64> = (0..60)
            .map(|i| {
                t += [2.0, 40.0, 600.0, 5.0, 3600.0, 90.0][i % 6] * (1.0 + jitter(i).abs());
                t
            })
            .collect();
        assert!(find(&conns(&times, &[500, 20_000, 1200, 90_000], 443), &c).is_empty());
        // The same schedule kept by three hosts with one server is the fleet's software.
        let mut fleet = Vec::new();
        for h in ["10.0.0.5", "10.0.0.6", "10.0.0.7"] {
            let mut cs = conns(
                &(0..60).map(|i| 1e9 + i as f64 * 3600.0).collect::<Vec<_>>(),
                &[700],
                443,
            );
            cs.iter_mut().for_each(|x| x.src = h.into());
            fleet.extend(cs);
        }
        let f = find(&fleet, &c);
        assert!(
            f.iter().all(|x| x.level == warden_event::ThreatLevel::Low
                && x.explanation.contains("3 hosts keep this schedule")),
            "{f:#?}"
        );
        // DNS is periodic by design.
        let times: Vec<f64> = (0..60).map(|i| 1e9 + i as f64 * 60.0).collect();
        assert!(find(&conns(&times, &[60], 53), &c).is_empty());
    }

    #[test]
    fn regularity_of_constant_and_spread_samples() {
        assert_eq!(regularity(&mut [5.0; 10], 30.0), (1.0, 1.0));
        // Whole-second sleeps: a few distinct intervals are still regular.
        assert_eq!(
            regularity(&mut [60.0, 60.0, 60.0, 61.0, 60.0, 59.0, 61.0], 30.0).0,
            1.0
        );
        let (skew, disp) = regularity(
            &mut [10.0, 200.0, 900.0, 1500.0, 3000.0, 3600.0, 7200.0],
            30.0,
        );
        assert!(disp < 0.5 && skew < 1.0, "{skew} {disp}");
    }
}
