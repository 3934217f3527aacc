//! Network detection without labels, over Zeek `conn` and `dns` records: port and host
//! scans, beaconing, DNS tunnelling and generated (DGA-like) names, long connections and
//! unusually large outbound transfers. Each finding is explained in numbers and cites the
//! records it rests on (Zeek `uid`s).
//!
//! [`NetworkHunter`] collects the records (bounded), then [`NetworkHunter::findings`]
//! runs every finder over them:
//!
//! - [`scan`]: one source touching many ports of one host or one port of many hosts within
//!   a window, mostly refused or unanswered.
//! - [`beacon`]: connections of one source to one destination and port at regular intervals
//!   and of regular sizes, scored as RITA does (Bowley skewness and median absolute
//!   deviation of the intervals and of the sizes).
//! - [`dns`]: many distinct long, random-looking subdomains of one domain from one source
//!   (tunnelling), and sources whose queries fail (NXDOMAIN) on random-looking names (DGA).
//! - [`volume`]: connections open for hours, and transfers out far above the host's usual.
//!
//! Thresholds are in [`NetworkConfig`]; defaults are set to stay quiet on ordinary
//! traffic (the ZAT samples) and are reported with every finding.

pub mod alert;
pub mod beacon;
pub mod context;
pub mod dns;
pub mod scan;
pub mod volume;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use context::{AppContext, Applications};
use warden_event::{ThreatLevel, Timestamp};

/// Most records kept (the rest are counted, not analysed).
pub const MAX_RECORDS: usize = 5_000_000;
/// Most record ids cited by one finding.
pub const MAX_EVIDENCE: usize = 20;

/// Thresholds of the finders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// Scan window (seconds).
    pub scan_window_secs: f64,
    /// Distinct ports of one host, or hosts on one port, within the window.
    pub scan_min_targets: usize,
    /// Share of those attempts that were refused or unanswered.
    pub scan_min_failed_share: f64,
    /// Connections of one pair before its regularity is judged.
    pub beacon_min_connections: usize,
    /// Beacon score (0–1) from which a pair is reported.
    pub beacon_min_score: f64,
    /// A schedule this many hosts keep with one destination is the fleet's software: LOW.
    pub beacon_common_destination: usize,
    /// Distinct subdomains of one domain from one source before tunnelling is judged.
    pub dns_tunnel_min_names: usize,
    /// Failed (NXDOMAIN) random-looking queries of one source before DGA is judged.
    pub dga_min_failures: usize,
    /// Connections open at least this long (seconds).
    pub long_connection_secs: f64,
    /// A transfer out of at least this many bytes …
    pub large_transfer_bytes: u64,
    /// … and this many times the host's 95th percentile.
    pub large_transfer_factor: f64,
    /// The service: run the finders in each tenant's pipeline over the Zeek `conn` and
    /// `dns` records it is sent.
    pub pipeline: bool,
    /// The pipeline's window (seconds of event time): older records are forgotten; a
    /// finding is reported once per level and window-long period.
    pub window_secs: f64,
    /// How often (seconds of event time) the pipeline runs the finders over the window.
    pub evaluate_every_secs: f64,
    /// Most records one tenant's window holds (~200 bytes each); the oldest go first.
    pub max_records: usize,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            scan_window_secs: 300.0,
            scan_min_targets: 25,
            scan_min_failed_share: 0.6,
            beacon_min_connections: 20,
            beacon_min_score: 0.8,
            beacon_common_destination: 3,
            dns_tunnel_min_names: 50,
            dga_min_failures: 10,
            long_connection_secs: 3600.0,
            large_transfer_bytes: 50 << 20,
            large_transfer_factor: 20.0,
            pipeline: true,
            window_secs: 86_400.0,
            evaluate_every_secs: 900.0,
            max_records: 500_000,
        }
    }
}

impl NetworkConfig {
    /// Checks every threshold; the error names the key (`network.beacon_min_score: …`).
    pub fn validate(&self) -> Result<(), String> {
        let checks: [(&str, bool, &str); 13] = [
            (
                "scan_window_secs",
                self.scan_window_secs.is_finite()
                    && (1.0..=86_400.0).contains(&self.scan_window_secs),
                "between 1 and 86400",
            ),
            ("scan_min_targets", self.scan_min_targets >= 2, "at least 2"),
            (
                "scan_min_failed_share",
                (0.0..=1.0).contains(&self.scan_min_failed_share),
                "between 0 and 1",
            ),
            (
                "beacon_min_connections",
                self.beacon_min_connections >= 4,
                "at least 4",
            ),
            (
                "beacon_min_score",
                (0.0..1.0).contains(&self.beacon_min_score),
                "at least 0 and below 1",
            ),
            (
                "beacon_common_destination",
                self.beacon_common_destination >= 2,
                "at least 2",
            ),
            (
                "dns_tunnel_min_names",
                self.dns_tunnel_min_names >= 2,
                "at least 2",
            ),
            ("dga_min_failures", self.dga_min_failures >= 2, "at least 2"),
            (
                "long_connection_secs",
                self.long_connection_secs.is_finite() && self.long_connection_secs >= 60.0,
                "at least 60",
            ),
            (
                "large_transfer_factor",
                self.large_transfer_factor.is_finite() && self.large_transfer_factor >= 1.0,
                "at least 1",
            ),
            (
                "window_secs",
                self.window_secs.is_finite()
                    && (3600.0..=30.0 * 86_400.0).contains(&self.window_secs),
                "between 3600 and 2592000",
            ),
            (
                "evaluate_every_secs",
                self.evaluate_every_secs.is_finite()
                    && self.evaluate_every_secs >= 60.0
                    && self.evaluate_every_secs <= self.window_secs,
                "at least 60 and at most window_secs",
            ),
            (
                "max_records",
                (1_000..=MAX_RECORDS).contains(&self.max_records),
                "between 1000 and 5000000",
            ),
        ];
        match checks.iter().find(|(_, ok, _)| !ok) {
            Some((key, _, want)) => Err(format!("network.{key}: must be {want}")),
            None => Ok(()),
        }
    }
}

/// One Zeek `conn` record, as the finders need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Conn {
    pub ts: f64,
    pub uid: String,
    pub src: String,
    pub dst: String,
    pub dport: u16,
    pub proto: String,
    pub duration: f64,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub state: String,
}

impl Conn {
    /// Refused, reset or never answered.
    pub fn failed(&self) -> bool {
        matches!(
            self.state.as_str(),
            "S0" | "REJ" | "RSTOS0" | "RSTRH" | "SH" | "SHR" | "OTH"
        ) || (self.state.starts_with("RST") && self.orig_bytes == 0 && self.resp_bytes == 0)
    }
}

/// One Zeek `dns` record.
#[derive(Debug, Clone, PartialEq)]
pub struct Dns {
    pub ts: f64,
    pub uid: String,
    pub src: String,
    pub query: String,
    pub qtype: String,
    pub rcode: String,
}

fn text<'a>(doc: &'a Value, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

fn number(doc: &Value, key: &str) -> Option<f64> {
    doc.get(key).and_then(Value::as_f64)
}

/// A record's `ts` as epoch seconds (Zeek writes seconds, or milliseconds with
/// `JSON::TS_MILLIS`); none for a number that is no time of an event, so that such a
/// record cannot push the detectors' windows past every real one.
pub(crate) fn ts_of(doc: &Value) -> Option<f64> {
    number(doc, "ts").and_then(warden_event::epoch_seconds)
}

impl Conn {
    /// From a Zeek `conn` document (`_path: conn`, Zeek's field names).
    pub fn from_doc(doc: &Value) -> Option<Conn> {
        Some(Conn {
            ts: ts_of(doc)?,
            uid: text(doc, "uid").unwrap_or("").to_owned(),
            src: text(doc, "id.orig_h")?.to_owned(),
            dst: text(doc, "id.resp_h")?.to_owned(),
            dport: number(doc, "id.resp_p").map_or(0, |p| p as u16),
            proto: text(doc, "proto").unwrap_or("").to_owned(),
            duration: number(doc, "duration").unwrap_or(0.0),
            orig_bytes: number(doc, "orig_bytes").map_or(0, |b| b.max(0.0) as u64),
            resp_bytes: number(doc, "resp_bytes").map_or(0, |b| b.max(0.0) as u64),
            state: text(doc, "conn_state").unwrap_or("").to_owned(),
        })
    }
}

impl Dns {
    /// From a Zeek `dns` document.
    pub fn from_doc(doc: &Value) -> Option<Dns> {
        Some(Dns {
            ts: ts_of(doc)?,
            uid: text(doc, "uid").unwrap_or("").to_owned(),
            src: text(doc, "id.orig_h")?.to_owned(),
            query: text(doc, "query")?
                .trim_end_matches('.')
                .to_ascii_lowercase(),
            qtype: text(doc, "qtype_name").unwrap_or("").to_owned(),
            rcode: text(doc, "rcode_name").unwrap_or("").to_owned(),
        })
    }
}

/// What kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    PortScan,
    HostScan,
    Beaconing,
    DnsTunnelling,
    DgaQueries,
    LongConnection,
    LargeTransfer,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PortScan => "port_scan",
            Self::HostScan => "host_scan",
            Self::Beaconing => "beaconing",
            Self::DnsTunnelling => "dns_tunnelling",
            Self::DgaQueries => "dga_queries",
            Self::LongConnection => "long_connection",
            Self::LargeTransfer => "large_transfer",
        }
    }

    /// The ATT&CK technique the behaviour suggests.
    pub fn attack(self) -> &'static str {
        match self {
            Self::PortScan | Self::HostScan => "T1046",
            Self::Beaconing => "T1071",
            Self::DnsTunnelling => "T1071.004",
            Self::DgaQueries => "T1568.002",
            Self::LongConnection => "T1071",
            Self::LargeTransfer => "T1048",
        }
    }
}

/// One explained finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetFinding {
    pub kind: FindingKind,
    pub level: ThreatLevel,
    /// 0–100.
    pub score: f64,
    pub source: String,
    /// The destination (host, or host:port, or domain) when there is one.
    pub destination: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// The plain explanation, with the numbers.
    pub explanation: String,
    /// Zeek `uid`s of the records it rests on (at most [`MAX_EVIDENCE`]).
    pub evidence: Vec<String>,
    /// How many records in all.
    pub records: usize,
    pub attack: Vec<String>,
    /// What the application logs say of the cited connections (joined by `uid`).
    #[serde(default, skip_serializing_if = "AppContext::is_empty")]
    pub context: AppContext,
}

pub(crate) fn rfc3339(ts: f64) -> String {
    Timestamp::from_epoch_number(ts)
        .unwrap_or_default()
        .to_rfc3339()
}

pub(crate) fn uids<'a>(it: impl Iterator<Item = &'a str>) -> Vec<String> {
    it.filter(|u| !u.is_empty())
        .take(MAX_EVIDENCE)
        .map(str::to_owned)
        .collect()
}

/// The Zeek log a document is a record of, when the finders read it (`conn`, `dns`, and
/// `ssl`, `http`, `notice` for what they say of a connection): its `_path`, its
/// `event.dataset` (`zeek.conn`), or its fields (a `uid` and `id.orig_h` with
/// `conn_state`, or with `query`).
fn zeek_log(doc: &Value) -> Option<&'static str> {
    let named = text(doc, "_path").or_else(|| {
        doc.pointer("/event/dataset")
            .and_then(Value::as_str)
            .and_then(|d| d.strip_prefix("zeek."))
    });
    let kind = match named {
        Some(p) => p,
        None if doc.get("uid").is_some() && doc.get("id.orig_h").is_some() => {
            if doc.get("conn_state").is_some() {
                "conn"
            } else if doc.get("query").is_some() {
                "dns"
            } else {
                return None;
            }
        }
        None => return None,
    };
    match kind {
        "conn" => Some("conn"),
        "dns" => Some("dns"),
        "ssl" => Some("ssl"),
        "http" => Some("http"),
        "notice" => Some("notice"),
        _ => None,
    }
}

/// Collects records, then finds.
#[derive(Debug, Clone)]
pub struct NetworkHunter {
    pub config: NetworkConfig,
    conns: Vec<Conn>,
    dns: Vec<Dns>,
    apps: Applications,
    latest: Option<f64>,
    /// Most records held.
    limit: usize,
    /// At the limit, forget the oldest (a window) rather than drop the newest (a batch).
    evict: bool,
    /// Records beyond the limit, not analysed (batch).
    pub dropped: u64,
    /// Records forgotten to make room (window).
    pub forgotten: u64,
}

impl Default for NetworkHunter {
    fn default() -> Self {
        NetworkHunter {
            config: NetworkConfig::default(),
            conns: Vec::new(),
            dns: Vec::new(),
            apps: Applications::default(),
            latest: None,
            limit: MAX_RECORDS,
            evict: false,
            dropped: 0,
            forgotten: 0,
        }
    }
}

impl NetworkHunter {
    /// A hunter over a batch: up to [`MAX_RECORDS`], the rest counted.
    pub fn new(config: NetworkConfig) -> Self {
        NetworkHunter {
            config,
            ..NetworkHunter::default()
        }
    }

    /// Takes a Zeek document; `conn` and `dns` records are kept (their log named by `_path`
    /// or `event.dataset`, or told by their fields), and what `ssl`, `http` and `notice`
    /// records say of their connection; others are ignored. Returns the kept record's time
    /// (epoch seconds).
    pub fn add(&mut self, doc: &Value) -> Option<f64> {
        let kind = zeek_log(doc)?;
        if self.conns.len() + self.dns.len() + self.apps.len() >= self.limit {
            if !self.evict {
                self.dropped += 1;
                return None;
            }
            self.forget_oldest();
        }
        let ts = match kind {
            "ssl" | "http" | "notice" => self.apps.add(kind, doc),
            "conn" => Conn::from_doc(doc).map(|c| {
                let ts = c.ts;
                self.conns.push(c);
                ts
            }),
            _ => Dns::from_doc(doc).map(|d| {
                let ts = d.ts;
                self.dns.push(d);
                ts
            }),
        }?;
        self.latest = Some(self.latest.map_or(ts, |l| l.max(ts)));
        Some(ts)
    }

    /// A hunter over a sliding window: at `limit` records the oldest tenth is forgotten to
    /// make room (instead of new records being dropped).
    pub fn windowed(config: NetworkConfig, limit: usize) -> Self {
        NetworkHunter {
            config,
            limit,
            evict: true,
            ..NetworkHunter::default()
        }
    }

    /// The latest record's time (epoch seconds).
    pub fn latest(&self) -> Option<f64> {
        self.latest
    }

    /// Forgets records from before `ts`.
    pub fn forget_before(&mut self, ts: f64) {
        self.conns.retain(|c| c.ts >= ts);
        self.dns.retain(|d| d.ts >= ts);
        self.apps.forget_before(ts);
    }

    /// Forgets the oldest tenth of the records.
    fn forget_oldest(&mut self) {
        let mut times: Vec<f64> = self
            .conns
            .iter()
            .map(|c| c.ts)
            .chain(self.dns.iter().map(|d| d.ts))
            .collect();
        if times.len() < 2 {
            return;
        }
        let n = (times.len() / 10).max(1);
        let (_, cut, _) = times.select_nth_unstable_by(n, f64::total_cmp);
        let cut = *cut;
        let before = times.len() + self.apps.len();
        self.forget_before(cut);
        self.forgotten += (before - self.conns.len() - self.dns.len() - self.apps.len()) as u64;
    }

    /// A finding about connections with what the application logs say of them.
    fn tell_context(&self, f: &mut NetFinding) {
        if !matches!(
            f.kind,
            FindingKind::Beaconing | FindingKind::LongConnection | FindingKind::LargeTransfer
        ) {
            return;
        }
        f.context = self.apps.context(f.evidence.iter().map(String::as_str));
        if !f.context.is_empty() {
            f.explanation.push_str("; ");
            f.explanation.push_str(&context::describe(&f.context));
        }
    }

    /// Application records (`ssl`, `http`, `notice`) held, one per connection.
    pub fn applications(&self) -> usize {
        self.apps.len()
    }

    /// (conn, dns) records held.
    pub fn counts(&self) -> (usize, usize) {
        (self.conns.len(), self.dns.len())
    }

    /// Every finder over the records, strongest first.
    pub fn findings(&mut self) -> Vec<NetFinding> {
        self.conns
            .sort_by(|a, b| a.ts.total_cmp(&b.ts).then_with(|| a.uid.cmp(&b.uid)));
        self.dns
            .sort_by(|a, b| a.ts.total_cmp(&b.ts).then_with(|| a.uid.cmp(&b.uid)));
        // A record sent twice (a replay, a restarted shipper) counts once.
        self.conns
            .dedup_by(|a, b| !a.uid.is_empty() && a.uid == b.uid && a.ts == b.ts);
        self.dns.dedup_by(|a, b| {
            !a.uid.is_empty() && a.uid == b.uid && a.ts == b.ts && a.query == b.query
        });
        let c = &self.config;
        let mut out = scan::find(&self.conns, c);
        out.extend(beacon::find(&self.conns, c));
        out.extend(dns::find(&self.dns, c));
        out.extend(volume::find(&self.conns, c));
        for f in &mut out {
            self.tell_context(f);
        }
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.kind.cmp(&b.kind))
                .then_with(|| a.source.cmp(&b.source))
                .then_with(|| a.destination.cmp(&b.destination))
        });
        out
    }
}

/// The level of a 0–100 score, by the default thresholds (20/50/80).
pub(crate) fn level(score: f64) -> ThreatLevel {
    ThreatLevel::from_score(score as f32, &Default::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_forgets_its_oldest_records_to_make_room() {
        let mut h = NetworkHunter::windowed(NetworkConfig::default(), 1_000);
        for i in 0..1_500 {
            let doc = serde_json::json!({"_path": "conn", "ts": f64::from(i), "uid": format!("C{i}"),
                "id.orig_h": "10.0.0.1", "id.resp_h": "10.0.0.2", "conn_state": "SF"});
            assert!(h.add(&doc).is_some());
        }
        let (conns, _) = h.counts();
        assert!((900..=1_000).contains(&conns), "{conns}");
        assert_eq!(h.forgotten as usize + conns, 1_500);
        assert!(h.conns.iter().all(|c| c.ts >= 400.0));
        h.forget_before(1_400.0);
        assert_eq!(h.counts(), (100, 0));
        assert_eq!(h.dropped, 0);
    }

    #[test]
    fn thresholds_are_checked_by_name() {
        assert!(NetworkConfig::default().validate().is_ok());
        let bad = NetworkConfig {
            beacon_min_score: 1.5,
            ..NetworkConfig::default()
        };
        assert_eq!(
            bad.validate().unwrap_err(),
            "network.beacon_min_score: must be at least 0 and below 1"
        );
        let bad = NetworkConfig {
            scan_window_secs: f64::NAN,
            ..NetworkConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .starts_with("network.scan_window_secs")
        );
    }

    #[test]
    fn records_come_from_zeek_documents_and_the_rest_is_ignored() {
        let mut h = NetworkHunter::default();
        let conn = serde_json::json!({"_path": "conn", "ts": 1.5, "uid": "C1", "id.orig_h": "10.0.0.1",
            "id.resp_h": "10.0.0.2", "id.resp_p": 445, "proto": "tcp", "conn_state": "S0"});
        let dns = serde_json::json!({"_path": "dns", "ts": 2.0, "uid": "D1", "id.orig_h": "10.0.0.1",
            "query": "Example.COM.", "rcode_name": "NOERROR"});
        assert_eq!((h.add(&conn), h.add(&dns)), (Some(1.5), Some(2.0)));
        assert_eq!(
            h.add(&serde_json::json!({"_path": "http", "ts": 1.0})),
            None
        );
        assert_eq!(
            h.add(&serde_json::json!({"_path": "conn", "uid": "no time"})),
            None
        );
        assert_eq!(h.counts(), (1, 1));
        // Without `_path`: by `event.dataset`, or by the fields.
        let by_dataset = serde_json::json!({"event": {"dataset": "zeek.dns"}, "ts": 3.0,
            "uid": "D2", "id.orig_h": "10.0.0.1", "query": "example.org"});
        let by_fields = serde_json::json!({"ts": 4.0, "uid": "C2", "id.orig_h": "10.0.0.1",
            "id.resp_h": "10.0.0.3", "conn_state": "SF"});
        assert_eq!(
            (h.add(&by_dataset), h.add(&by_fields)),
            (Some(3.0), Some(4.0))
        );
        assert_eq!(
            h.add(&serde_json::json!({"ts": 5.0, "uid": "X", "id.orig_h": "10.0.0.1"})),
            None
        );
        assert_eq!((h.counts(), h.latest()), ((2, 2), Some(4.0)));
        // The same record twice counts once.
        h.add(&conn);
        assert!(h.findings().is_empty());
        assert_eq!(h.counts(), (2, 2));
        assert_eq!(h.dns[0].query, "example.com");
        assert!(h.conns[0].failed());
        assert!(h.findings().is_empty());
    }
}
