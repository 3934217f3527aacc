//! `warden hunt --payload`: the command line of every process creation in the hunted logs
//! (Sysmon event 1, Security 4688, ECS process starts) decoded and scored by payload
//! analysis, as the service scores them as they arrive. A verdict at HIGH or above joins
//! the timeline beside the Sigma detections (rule id `warden-payload`).
//!
//! A hunt sees the whole estate's logs at once, so prevalence is judged over all of them: a
//! command line that `common_at` or more distinct hosts started is common in these logs.
//! Its starts are reported one by one only when its signatures alone reach the reporting
//! level; when only the learned model finds it suspicious, it is reported once, at MEDIUM,
//! with how many hosts and starts it stands for — visible, not a flood. The hunt's Sigma
//! rules join the analysis on the decoded form only (a rule written for `DownloadString`
//! never sees it inside `-EncodedCommand`); their matches on the events as logged are the
//! hunt's own detections, not counted again here.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;
use warden_engine::pipeline::process_start;
use warden_engine::sigma::SigmaAlert;
use warden_event::winlog::WinDoc;
use warden_event::{EventRef, ThreatLevel, Timestamp};
use warden_payload::alert::Origin;
use warden_payload::{Analyzer, Shell, Verdict};
use warden_sigma::Level;

/// The rule id payload detections carry in the timeline.
pub const RULE_ID: &str = "warden-payload";
/// Distinct command lines whose verdicts one file's reader keeps.
const CACHE: usize = 8192;

/// Payload analysis for a hunt.
pub struct PayloadHunt {
    analyzer: Arc<Analyzer>,
    common_at: usize,
}

/// A detection and what it was made from.
pub struct Entry {
    pub alert: SigmaAlert,
    pub verdict: Arc<Verdict>,
    pub command: String,
    pub user: Option<String>,
    host: Option<String>,
    /// The level its signature view alone gives.
    without_model: ThreatLevel,
}

impl Entry {
    /// The alert `--send` delivers: the service's `payload` alert for the same event.
    pub fn to_alert(&self, tenant: &str) -> warden_event::Alert {
        let event = match (self.alert.record_id, &self.alert.file, self.alert.line) {
            (Some(record_id), _, _) => Some(EventRef::Record {
                computer: self.host.clone(),
                record_id,
            }),
            (None, Some(source), Some(line)) => Some(EventRef::Line {
                source: source.clone(),
                line,
            }),
            _ => None,
        };
        let origin = Origin {
            tenant,
            timestamp: self.alert.timestamp.clone(),
            user: self.user.as_deref(),
            host: self.host.as_deref(),
            job: None,
            event,
        };
        let mut a = warden_payload::alert::to_alert(&self.verdict, &self.command, &origin);
        if self.alert.level_rank == Level::Medium {
            // A common line the model alone flags, reported once for all its starts.
            a.level = ThreatLevel::Medium;
        }
        a.digest = Some(warden_event::content_digest(&[
            &origin.timestamp,
            self.host.as_deref().unwrap_or(""),
            self.user.as_deref().unwrap_or(""),
        ]));
        a
    }
}

/// What one file's process creations gave.
#[derive(Default)]
pub struct Found {
    pub entries: Vec<Entry>,
    pub process_starts: u64,
}

/// Where a document was read.
pub struct At<'a> {
    pub file: &'a str,
    pub record_id: Option<u64>,
    pub timestamp_ms: Option<i64>,
    pub line: u64,
}

/// What the hunt's payload analysis came to.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub process_starts: u64,
    pub reported: usize,
    /// Starts of command lines common in these logs that only the model flags, and how
    /// many distinct lines they were (each reported once, at MEDIUM).
    pub common: usize,
    pub common_lines: usize,
}

/// A host name that names a host.
fn host_of(e: &Entry) -> Option<String> {
    e.host
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty() && *h != "-")
        .map(str::to_ascii_lowercase)
}

impl PayloadHunt {
    /// `common_at`: distinct hosts after which a line is common (0: never).
    pub fn new(analyzer: Arc<Analyzer>, common_at: usize) -> PayloadHunt {
        PayloadHunt {
            analyzer,
            common_at,
        }
    }

    /// A scorer for one file (each reader thread its own).
    pub fn scorer(&self) -> FileScorer<'_> {
        FileScorer {
            hunt: self,
            cache: HashMap::new(),
            found: Found::default(),
        }
    }

    /// The detections of every file. `report` is the lowest level reported (HIGH at
    /// least): a common line whose signatures alone reach it is reported at every start;
    /// one that only the model raises is reported once, at MEDIUM, for all its starts.
    pub fn merge(&self, found: Vec<Found>, report: ThreatLevel) -> (Vec<Entry>, Outcome) {
        let report = report.max(ThreatLevel::High);
        let mut outcome = Outcome::default();
        let mut entries: Vec<Entry> = found
            .into_iter()
            .flat_map(|f| {
                outcome.process_starts += f.process_starts;
                f.entries
            })
            .collect();
        entries.sort_by_key(|e| e.alert.timestamp_ms.unwrap_or(i64::MAX));
        let key = |e: &Entry| (e.verdict.shell, e.command.clone());
        let mut hosts: HashMap<(Shell, String), HashSet<String>> = HashMap::new();
        for e in &entries {
            if let Some(h) = host_of(e) {
                hosts.entry(key(e)).or_default().insert(h);
            }
        }
        let common = |e: &Entry| {
            self.common_at > 0
                && e.without_model < report
                && hosts
                    .get(&key(e))
                    .is_some_and(|h| h.len() >= self.common_at)
        };
        // Per common line: its first start (kept, demoted) and how many it stands for.
        let mut folded: HashMap<(Shell, String), (usize, u64)> = HashMap::new();
        let mut kept: Vec<Entry> = Vec::with_capacity(entries.len());
        for e in entries {
            if !common(&e) {
                kept.push(e);
                continue;
            }
            outcome.common += 1;
            match folded.get_mut(&key(&e)) {
                Some((_, starts)) => *starts += 1,
                None => {
                    folded.insert(key(&e), (kept.len(), 1));
                    kept.push(e);
                }
            }
        }
        for e in &mut kept {
            describe(e);
        }
        for (k, (at, starts)) in &folded {
            let n = hosts.get(k).map_or(0, HashSet::len);
            let a = &mut kept[*at].alert;
            a.level = Level::Medium.to_string();
            a.level_rank = Level::Medium;
            a.details.insert(
                "common".into(),
                Value::String(format!(
                    "started on {n} hosts ({starts} process creations), reported once: only the learned model finds it suspicious, and its signatures alone are below {}",
                    report.as_str()
                )),
            );
        }
        outcome.common_lines = folded.len();
        outcome.reported = kept.len();
        (kept, outcome)
    }
}

/// Scores the process creations of one file.
pub struct FileScorer<'a> {
    hunt: &'a PayloadHunt,
    /// Per shell and command line (services and scheduled jobs repeat theirs): the
    /// verdict of a line at HIGH or above, none for one below.
    cache: HashMap<(Option<Shell>, String), Option<Arc<Verdict>>>,
    found: Found,
}

impl FileScorer<'_> {
    /// Looks at one document; a process creation whose verdict is HIGH or above becomes a
    /// detection.
    pub fn look(&mut self, doc: &Value, at: &At<'_>) {
        let Some(p) = process_start(doc) else {
            return;
        };
        self.found.process_starts += 1;
        let Some(v) = self.verdict(&p.command, p.shell) else {
            return;
        };
        let level = match v.level {
            ThreatLevel::Critical => Level::Critical,
            ThreatLevel::High => Level::High,
            _ => return,
        };
        let config = self.hunt.analyzer.config();
        let without_model = config.level(v.views.without_model(config));
        let header = WinDoc::new(doc);
        let ms = p.time.map(|t| t.0).or(at.timestamp_ms);
        let alert = SigmaAlert {
            timestamp: ms.map(|m| Timestamp(m).to_rfc3339()).unwrap_or_default(),
            timestamp_ms: ms,
            rule_id: RULE_ID.into(),
            // The title, tags and details are written for the starts that are reported
            // (`PayloadHunt::merge`): a common line's thousands of starts fold into one.
            rule_title: String::new(),
            level: level.to_string(),
            tags: Vec::new(),
            computer: p.host.clone(),
            channel: Some(header.channel()).filter(|c| !c.is_empty()),
            event_id: header.event_id().map(i64::from),
            record_id: p.record_id.or(at.record_id),
            line: Some(at.line),
            provider: Some(header.provider()).filter(|c| !c.is_empty()),
            file: Some(at.file.to_owned()),
            details: serde_json::Map::new(),
            correlation: false,
            level_rank: level,
            rule_index: 0,
            captured: Vec::new(),
            hidden: false,
        };
        self.found.entries.push(Entry {
            alert,
            verdict: v,
            command: p.command,
            user: p.user,
            host: p.host,
            without_model,
        });
    }

    /// The verdict on a line that is HIGH or above. Most lines are only scored; the few
    /// reported are analysed again, explained, with the same score.
    fn verdict(&mut self, command: &str, shell: Option<Shell>) -> Option<Arc<Verdict>> {
        let key = (shell, command.to_owned());
        if let Some(v) = self.cache.get(&key) {
            return v.clone();
        }
        let analyzer = &self.hunt.analyzer;
        let v = (analyzer.triage(command, shell).level >= ThreatLevel::High)
            .then(|| Arc::new(analyzer.analyze(command, shell)));
        if self.cache.len() >= CACHE {
            self.cache.clear();
        }
        self.cache.insert(key, v.clone());
        v
    }

    pub fn finish(self) -> Found {
        self.found
    }
}

/// Writes a reported start's title, ATT&CK tags and details from its verdict.
fn describe(e: &mut Entry) {
    let v = &e.verdict;
    e.alert.rule_title = title(v);
    e.alert.tags = v
        .attack
        .iter()
        .map(|t| format!("attack.{}", t.to_ascii_lowercase()))
        .collect();
    e.alert.details = details(v, &e.command);
}

/// "Payload analysis: <the strongest pattern>".
fn title(v: &Verdict) -> String {
    let strongest = v
        .patterns
        .iter()
        .max_by(|a, b| a.weight.total_cmp(&b.weight))
        .map(|p| p.name.as_str());
    format!(
        "Payload analysis: {}",
        strongest.unwrap_or("a command line the learned model rates malicious")
    )
}

fn details(v: &Verdict, command: &str) -> serde_json::Map<String, Value> {
    let mut d = serde_json::Map::new();
    d.insert("CommandLine".into(), Value::String(command.to_owned()));
    if v.layers.len() > 1
        && let Some(last) = v.layers.last()
    {
        d.insert(
            "decoded".into(),
            Value::String(warden_payload::cut(&last.text, 1024).to_owned()),
        );
    }
    d.insert("score".into(), Value::String(format!("{:.0}", v.score)));
    d.insert("action".into(), Value::String(format!("{:?}", v.action)));
    let patterns: Vec<&str> = v.patterns.iter().map(|p| p.id.as_str()).collect();
    if !patterns.is_empty() {
        d.insert("patterns".into(), Value::String(patterns.join(", ")));
    }
    d.insert("explanation".into(), Value::String(v.explanation.clone()));
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use warden_payload::VerdictConfig;

    fn sysmon(host: &str, cmd: &str, record: u64) -> Value {
        json!({"Event": {
            "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                       "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}},
                       "Computer": host, "EventRecordID": record,
                       "TimeCreated": {"#attributes": {"SystemTime": "2026-12-03T10:00:00.000Z"}}},
            "EventData": {"CommandLine": cmd, "Image": "C:\\Windows\\System32\\cmd.exe",
                          "User": "CORP\\alice"}}})
    }

    fn at(record: u64) -> At<'static> {
        At {
            file: "x.json",
            record_id: None,
            timestamp_ms: None,
            line: record,
        }
    }

    #[test]
    fn a_dangerous_process_creation_joins_the_timeline_and_a_plain_one_does_not() {
        let hunt = PayloadHunt::new(Arc::new(Analyzer::new(None, VerdictConfig::default())), 20);
        let mut s = hunt.scorer();
        s.look(
            &sysmon("ws-1", "vssadmin.exe delete shadows /all /quiet", 7),
            &at(1),
        );
        s.look(&sysmon("ws-1", "ipconfig /all", 8), &at(2));
        s.look(&json!({"EventID": 4624}), &at(3));
        let (kept, outcome) = hunt.merge(vec![s.finish()], ThreatLevel::High);
        assert_eq!(outcome.process_starts, 2);
        assert_eq!(kept.len(), 1);
        let a = &kept[0].alert;
        assert_eq!(a.rule_id, RULE_ID);
        assert!(a.rule_title.contains("shadow copies"), "{}", a.rule_title);
        assert_eq!(
            (a.computer.as_deref(), a.record_id),
            (Some("ws-1"), Some(7))
        );
        assert_eq!(a.timestamp, "2026-12-03T10:00:00Z");
        assert!(a.tags.iter().any(|t| t == "attack.t1490"), "{:?}", a.tags);
        assert_eq!(
            a.details["CommandLine"],
            "vssadmin.exe delete shadows /all /quiet"
        );
        let sent = kept[0].to_alert("default");
        assert_eq!(sent.channel(), "payload");
        assert_eq!(sent.subject, "CORP\\alice");
    }

    #[test]
    fn a_line_many_hosts_start_is_reported_on_what_it_does() {
        let hunt = PayloadHunt::new(Arc::new(Analyzer::new(None, VerdictConfig::default())), 3);
        let mut files = Vec::new();
        for h in 0..5 {
            let mut s = hunt.scorer();
            s.look(
                &sysmon(
                    &format!("ws-{h}"),
                    "vssadmin.exe delete shadows /all /quiet",
                    h,
                ),
                &at(h),
            );
            files.push(s.finish());
        }
        // Signatures alone put it at HIGH: every host's start is reported, however common.
        let (kept, outcome) = hunt.merge(files, ThreatLevel::High);
        assert_eq!((kept.len(), outcome.common), (5, 0));
    }

    #[test]
    fn common_lines_only_the_model_raised_are_reported_once_at_medium() {
        let blank = || SigmaAlert {
            timestamp: String::new(),
            timestamp_ms: None,
            rule_id: RULE_ID.into(),
            rule_title: String::new(),
            level: "high".into(),
            tags: Vec::new(),
            computer: None,
            channel: None,
            event_id: None,
            record_id: None,
            line: None,
            provider: None,
            file: None,
            details: serde_json::Map::new(),
            correlation: false,
            level_rank: Level::High,
            rule_index: 0,
            captured: Vec::new(),
            hidden: false,
        };
        let mk = |host: &str, without_model: ThreatLevel| Entry {
            alert: blank(),
            verdict: Arc::new(
                Analyzer::new(None, VerdictConfig::default()).analyze("Teams.exe", None),
            ),
            command: "Teams.exe".into(),
            user: None,
            host: Some(host.into()),
            without_model,
        };
        let low = ThreatLevel::Low;
        let hunt = PayloadHunt::new(Arc::new(Analyzer::new(None, VerdictConfig::default())), 3);
        // Two hosts: not common yet, reported.
        let two = Found {
            entries: vec![mk("a", low), mk("b", low)],
            process_starts: 2,
        };
        assert_eq!(hunt.merge(vec![two], ThreatLevel::High).0.len(), 2);
        // Three hosts (one in another case; an empty name is no host): common, reported
        // once at MEDIUM for its five starts.
        let three = || Found {
            entries: vec![
                mk("a", low),
                mk("B", low),
                mk("", low),
                mk("c", low),
                mk("b", low),
            ],
            process_starts: 5,
        };
        let (kept, outcome) = hunt.merge(vec![three()], ThreatLevel::High);
        assert_eq!(kept.len(), 1);
        assert_eq!((outcome.common, outcome.common_lines), (5, 1));
        let a = &kept[0].alert;
        assert_eq!((a.level.as_str(), a.level_rank), ("medium", Level::Medium));
        assert!(
            a.details["common"]
                .as_str()
                .is_some_and(|c| c.starts_with("started on 3 hosts (5 process creations)")),
            "{:?}",
            a.details
        );
        assert_eq!(kept[0].to_alert("t").level, ThreatLevel::Medium);
        // Signatures alone at the reporting level: every start reported. Below a raised
        // reporting level (CRITICAL), the same line folds.
        let high = || Found {
            entries: ["a", "b", "c"].map(|h| mk(h, ThreatLevel::High)).into(),
            process_starts: 3,
        };
        assert_eq!(hunt.merge(vec![high()], ThreatLevel::High).0.len(), 3);
        assert_eq!(hunt.merge(vec![high()], ThreatLevel::Critical).0.len(), 1);
        // The count off: all reported.
        let off = PayloadHunt::new(Arc::new(Analyzer::new(None, VerdictConfig::default())), 0);
        assert_eq!(off.merge(vec![three()], ThreatLevel::High).0.len(), 5);
    }
}
