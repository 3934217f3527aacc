//! Network findings as [`Alert`]s: the finding's source as the subject, its addresses as
//! entities, its numbers as the explanation, the Zeek `uid`s it rests on as evidence (by
//! [`EventRef::Connection`]) and the finding itself as [`AlertDetail::Network`].
//!
//! The key is the finder, the source, the destination, the level and the period of the
//! first record (`period_secs`, the pipeline's window): the same behaviour seen again in
//! the same period is the same alert (stores keep it once, replays change nothing), a
//! rise in level is a new one, and a beacon that goes on into the next period is reported
//! again there.

use std::net::IpAddr;

use warden_event::{
    Alert, AlertDetail, Anomaly, AnomalyType, Detector, DetectorKind, EntityKind, EventRef,
    Evidence, EvidenceRole, NetworkFinding, Timestamp, content_hash,
};

use super::{FindingKind, NetFinding};

impl FindingKind {
    /// What an analyst does next about a finding of this kind (the configured actions per
    /// level speak of users and accounts, not of hosts and traffic).
    pub fn next_steps(self) -> &'static [&'static str] {
        match self {
            Self::PortScan | Self::HostScan => &[
                "confirm whether the scan was authorised (vulnerability scanner, inventory)",
                "if not, look for what runs on the source host: a scan from inside follows a compromise",
            ],
            Self::Beaconing => &[
                "find the process on the source host that opens these connections",
                "check the destination's reputation and certificate; block it if unknown",
            ],
            Self::DnsTunnelling => &[
                "block the domain at the resolvers",
                "find the process on the source host that sends these queries",
            ],
            Self::DgaQueries => &[
                "look for malware on the source host: generated names are how it finds its servers",
                "sinkhole or block the names that resolve",
            ],
            Self::LongConnection => &[
                "confirm what the session is (remote administration, VPN, tunnel) and who opened it",
            ],
            Self::LargeTransfer => &[
                "confirm the transfer's purpose with the host's owner",
                "check what the destination is and whether data of that size may leave",
            ],
        }
    }

    /// What the finder saw, in words (the start of the explanation).
    pub fn headline(self) -> &'static str {
        match self {
            Self::PortScan => "port scan",
            Self::HostScan => "host sweep",
            Self::Beaconing => "beaconing",
            Self::DnsTunnelling => "DNS tunnelling",
            Self::DgaQueries => "generated (DGA-like) domain names",
            Self::LongConnection => "long connection",
            Self::LargeTransfer => "large transfer out",
        }
    }
}

/// The address in a destination as the finders write it: `10.0.0.2`, `10.0.0.2:443/tcp`,
/// `[2001:db8::1]:443/tcp`; `None` for a domain or `port 445`.
fn destination_ip(d: &str) -> Option<IpAddr> {
    let d = d.split('/').next().unwrap_or(d);
    if let Ok(ip) = d.parse() {
        return Some(ip);
    }
    let host = d.rsplit_once(':').map_or(d, |(h, _)| h);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

fn epoch_secs(rfc3339: &str) -> f64 {
    Timestamp::parse_rfc3339(rfc3339).map_or(0.0, |t| t.millis() as f64 / 1000.0)
}

/// The finding's next steps; at HIGH and above, isolating the source first.
fn recommended(f: &NetFinding) -> Vec<String> {
    let mut steps: Vec<String> = f
        .kind
        .next_steps()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if f.level >= warden_event::ThreatLevel::High {
        steps.insert(
            0,
            format!(
                "open an incident; isolate {} unless the traffic is explained",
                f.source
            ),
        );
    }
    steps
}

/// The alert of one finding.
pub fn to_alert(tenant: &str, f: &NetFinding, period_secs: f64) -> Alert {
    let period = (epoch_secs(&f.first_seen) / period_secs.max(1.0)).floor() as i64;
    let destination = f.destination.as_deref().unwrap_or("");
    let key = content_hash(&[
        "network",
        f.kind.as_str(),
        &f.source,
        destination,
        f.level.as_str(),
        &period.to_string(),
    ]);
    let score = ((f.score.clamp(0.0, 100.0) * 10.0).round() / 10.0) as f32;
    let headline = f.kind.headline();
    let evidence = f
        .evidence
        .iter()
        .enumerate()
        .map(|(i, uid)| Evidence {
            role: if i == 0 {
                EvidenceRole::Trigger
            } else {
                EvidenceRole::Context
            },
            reference: EventRef::Connection { uid: uid.clone() },
            timestamp: None,
            event: None,
        })
        .collect();
    let mut alert = Alert {
        tenant: tenant.to_owned(),
        key,
        digest: None,
        timestamp: f.last_seen.clone(),
        subject: f.source.clone(),
        entities: Vec::new(),
        detector: Detector {
            kind: DetectorKind::Flow,
            id: format!("network/{}", f.kind.as_str()),
        },
        level: f.level,
        score,
        confidence: (score / 100.0).clamp(0.0, 1.0),
        anomalies: vec![Anomaly {
            kind: AnomalyType::NetworkAnomaly,
            confidence: 1.0,
            contribution: score,
            detail: format!("{headline}: {}", f.explanation),
        }],
        explanation: format!(
            "{} ({score:.1}): {headline} — {} ({} records, {} to {}).",
            f.level.as_str(),
            f.explanation,
            f.records,
            f.first_seen,
            f.last_seen
        ),
        recommended_actions: recommended(f),
        evidence,
        attack: f.attack.clone(),
        detail: AlertDetail::Network(NetworkFinding {
            finder: f.kind.as_str().to_owned(),
            source: f.source.clone(),
            destination: f.destination.clone(),
            first_seen: f.first_seen.clone(),
            last_seen: f.last_seen.clone(),
            records: f.records as u64,
            context: f.context.clone(),
        }),
    };
    alert.add_entity(EntityKind::Ip, &f.source);
    if let Some(ip) = destination_ip(destination) {
        alert.add_entity(EntityKind::Ip, &ip.to_string());
    }
    alert
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::ThreatLevel;

    fn beacon() -> NetFinding {
        NetFinding {
            kind: FindingKind::Beaconing,
            level: ThreatLevel::High,
            score: 82.34,
            source: "10.0.1.5".into(),
            destination: Some("192.168.0.4:443/tcp".into()),
            first_seen: "2026-05-01T10:00:00Z".into(),
            last_seen: "2026-05-01T10:31:00Z".into(),
            explanation: "10.0.1.5 connected to 192.168.0.4:443/tcp 676 times".into(),
            evidence: vec!["Cabc".into(), "Cdef".into()],
            records: 676,
            attack: vec!["T1071".into()],
            context: Default::default(),
        }
    }

    #[test]
    fn a_finding_becomes_an_explained_alert_citing_its_connections() {
        let a = to_alert("acme", &beacon(), 86_400.0);
        assert_eq!(a.tenant, "acme");
        assert_eq!(a.subject, "10.0.1.5");
        assert_eq!(a.detector.kind, DetectorKind::Flow);
        assert_eq!(a.detector.id, "network/beaconing");
        assert_eq!((a.level, a.score), (ThreatLevel::High, 82.3));
        assert_eq!(a.timestamp, "2026-05-01T10:31:00Z");
        let ips: Vec<&str> = a.entities.iter().map(|e| e.value.as_str()).collect();
        assert_eq!(ips, ["10.0.1.5", "192.168.0.4"]);
        assert!(
            a.explanation
                .starts_with("HIGH (82.3): beaconing — 10.0.1.5 connected to 192.168.0.4:443/tcp")
        );
        assert!(a.explanation.contains("676 records"));
        assert_eq!(a.evidence.len(), 2);
        assert_eq!(a.evidence[0].role, EvidenceRole::Trigger);
        assert_eq!(
            a.evidence[1].reference,
            EventRef::Connection { uid: "Cdef".into() }
        );
        assert_eq!(a.attack, ["T1071"]);
        assert!(
            matches!(&a.detail, AlertDetail::Network(n) if n.finder == "beaconing" && n.records == 676)
        );
        assert_eq!(
            a.recommended_actions[0],
            "open an incident; isolate 10.0.1.5 unless the traffic is explained"
        );
        assert!(a.recommended_actions[1].starts_with("find the process"));
    }

    #[test]
    fn the_key_holds_within_a_period_and_changes_with_level_and_period() {
        let base = to_alert("t", &beacon(), 86_400.0);
        let mut later = beacon();
        later.last_seen = "2026-05-01T12:00:00Z".into();
        later.records = 900;
        assert_eq!(to_alert("t", &later, 86_400.0).key, base.key);
        let mut critical = beacon();
        critical.level = ThreatLevel::Critical;
        assert_ne!(to_alert("t", &critical, 86_400.0).key, base.key);
        let mut next_day = beacon();
        next_day.first_seen = "2026-05-02T00:00:01Z".into();
        assert_ne!(to_alert("t", &next_day, 86_400.0).key, base.key);
    }

    #[test]
    fn destinations_give_their_address_when_they_have_one() {
        assert_eq!(destination_ip("10.0.0.2"), "10.0.0.2".parse().ok());
        assert_eq!(destination_ip("10.0.0.2:443/tcp"), "10.0.0.2".parse().ok());
        assert_eq!(
            destination_ip("[2001:db8::1]:443/tcp"),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(destination_ip("2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(destination_ip("port 445"), None);
        assert_eq!(destination_ip("evil.example"), None);
    }
}
