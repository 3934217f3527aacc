//! Sigma rules as a detector. [`SigmaDetector`] runs a compiled [`RuleSet`] over a stream
//! of log documents (in time order) and returns [`SigmaAlert`]s — rule matches and
//! correlation matches — with the rule's level, ATT&CK tags and the fields that matched.
//! [`match_document`] is the stateless part, used by hunting across files in parallel.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use warden_event::Timestamp;
use warden_event::winlog::WinDoc;
use warden_sigma::correlation::{CorrelationEngine, CorrelationHit, CorrelationState};
use warden_sigma::{Level, RuleSet, Scratch};

/// One detection: a rule (or correlation) that matched.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SigmaAlert {
    /// RFC 3339, UTC; empty when the event carries no time.
    pub timestamp: String,
    #[serde(skip)]
    pub timestamp_ms: Option<i64>,
    pub rule_id: String,
    pub rule_title: String,
    pub level: String,
    /// ATT&CK tags (`attack.t1059.001`, `attack.execution`, …).
    pub tags: Vec<String>,
    pub computer: Option<String>,
    pub channel: Option<String>,
    pub event_id: Option<i64>,
    pub record_id: Option<u64>,
    /// The line of a JSON input the event starts on: how to find an event that has no
    /// record id (some exports drop it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The event's provider (`Provider_Name`, `SourceName`, `winlog.provider_name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    pub file: Option<String>,
    /// Matched fields and their values; for correlations the group-by values and the
    /// aggregate.
    pub details: serde_json::Map<String, Value>,
    /// Whether this came from a correlation rule.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub correlation: bool,
    #[serde(skip)]
    pub level_rank: Level,
    #[serde(skip)]
    pub rule_index: u32,
    /// Fields correlation rules need (not serialised).
    #[serde(skip)]
    pub captured: Vec<(String, String)>,
    #[serde(skip)]
    pub hidden: bool,
}

/// Where a document came from, for the alert.
#[derive(Debug, Clone, Default)]
pub struct DocContext<'a> {
    pub file: Option<&'a str>,
    pub record_id: Option<u64>,
    pub timestamp_ms: Option<i64>,
    /// The JSON line the document starts on (none for EVTX records).
    pub line: Option<u64>,
}

/// The time of a document: its own time fields (`Event.System.TimeCreated`, `@timestamp`,
/// …), else the time the container gave (the EVTX record header).
pub fn document_time(doc: &Value, given: Option<i64>) -> Option<i64> {
    let candidates = [
        "/Event/System/TimeCreated/#attributes/SystemTime",
        "/Event/System/TimeCreated_SystemTime",
        "/@timestamp",
        "/timestamp",
        "/TimeCreated",
        "/UtcTime",
        "/EventTime",
        "/time",
    ];
    candidates
        .iter()
        .find_map(|p| {
            let v = doc.pointer(p)?;
            match v {
                // Sysmon's UtcTime has no zone designator: it is UTC.
                Value::String(s) => Timestamp::parse_rfc3339(s)
                    .or_else(|| Timestamp::parse_rfc3339(&format!("{}Z", s.trim())))
                    .map(Timestamp::millis),
                Value::Number(n) => n
                    .as_f64()
                    .and_then(Timestamp::from_epoch_number)
                    .map(Timestamp::millis),
                _ => None,
            }
        })
        .or(given)
        // FILETIME zero (1601) means "no time".
        .filter(|&ms| ms > -11_644_473_600_000)
}

fn rfc3339(ms: Option<i64>) -> String {
    ms.map(|m| Timestamp(m).to_rfc3339()).unwrap_or_default()
}

fn text_at(doc: &Value, pointers: &[&str]) -> Option<String> {
    pointers.iter().find_map(|p| match doc.pointer(p)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Rule matches of one document (hidden rules included, for correlation).
pub fn match_document(
    set: &RuleSet,
    doc: &Value,
    ctx: &DocContext<'_>,
    scratch: &mut Scratch,
    hits: &mut Vec<u32>,
    out: &mut Vec<SigmaAlert>,
) {
    let ev = set.event(doc);
    set.matches(&ev, scratch, hits);
    if hits.is_empty() {
        return;
    }
    let ts = document_time(doc, ctx.timestamp_ms);
    // The header in whichever shape the event came (evtx_dump, flat NXLog/OTRF,
    // Winlogbeat): a detection always names its computer and record when the event does.
    let header = WinDoc::new(doc);
    let computer = header
        .computer()
        .or_else(|| text_at(doc, &["/host/name", "/hostname"]));
    let channel = ev.channel().map(str::to_owned);
    let event_id = ev.event_id();
    let record_id = ctx.record_id.or_else(|| header.record_id());
    let provider = Some(header.provider()).filter(|p| !p.is_empty());
    for &r in hits.iter() {
        let Some(info) = set.rule(r) else { continue };
        let mut details: serde_json::Map<String, Value> = set
            .details(r, &ev)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        // A filter of the rule tests a field this log does not have: it could not be
        // checked, and the detection says so.
        if let Some(why) = set.unverified(scratch, r) {
            details.insert("unverified".into(), Value::String(why.to_owned()));
        }
        out.push(SigmaAlert {
            timestamp: rfc3339(ts),
            timestamp_ms: ts,
            rule_id: info
                .meta
                .id
                .clone()
                .unwrap_or_else(|| info.meta.title.clone()),
            rule_title: info.meta.title.clone(),
            level: info.meta.level.to_string(),
            tags: info.meta.attack_tags().map(str::to_owned).collect(),
            computer: computer.clone(),
            channel: channel.clone(),
            event_id,
            record_id,
            line: ctx.line.filter(|&l| l > 0),
            provider: provider.clone(),
            file: ctx.file.map(str::to_owned),
            details,
            correlation: false,
            level_rank: info.meta.level,
            rule_index: r,
            captured: set.captured(r, &ev),
            hidden: info.hidden,
        });
    }
}

/// An alert for a correlation that fired.
pub fn correlation_alert(set: &RuleSet, hit: &CorrelationHit) -> Option<SigmaAlert> {
    let info = set.rule(hit.rule)?;
    let mut details: serde_json::Map<String, Value> = hit
        .group
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    details.insert("events".into(), Value::from(hit.events));
    details.insert(
        "value".into(),
        serde_json::Number::from_f64(hit.value).map_or(Value::Null, Value::Number),
    );
    details.insert(
        "first_seen".into(),
        Value::String(rfc3339(Some(hit.first_ms))),
    );
    Some(SigmaAlert {
        timestamp: rfc3339(Some(hit.last_ms)),
        timestamp_ms: Some(hit.last_ms),
        rule_id: info
            .meta
            .id
            .clone()
            .unwrap_or_else(|| info.meta.title.clone()),
        rule_title: info.meta.title.clone(),
        level: info.meta.level.to_string(),
        tags: info.meta.attack_tags().map(str::to_owned).collect(),
        computer: None,
        channel: None,
        event_id: None,
        record_id: None,
        line: None,
        provider: None,
        file: None,
        details,
        correlation: true,
        level_rank: info.meta.level,
        rule_index: hit.rule,
        captured: hit.group.clone(),
        hidden: info.hidden,
    })
}

/// Runs correlations over matches already in time order, returning the correlation alerts.
pub fn correlate(set: &RuleSet, alerts: &[SigmaAlert]) -> Vec<SigmaAlert> {
    if set.correlations().is_empty() {
        return Vec::new();
    }
    let mut engine = CorrelationEngine::new(set);
    let mut out = Vec::new();
    for a in alerts.iter().filter(|a| !a.correlation) {
        let Some(ts) = a.timestamp_ms else { continue };
        for hit in engine.feed(set, a.rule_index, ts, &a.captured) {
            out.extend(correlation_alert(set, &hit));
        }
    }
    for hit in engine.finish(set) {
        out.extend(correlation_alert(set, &hit));
    }
    out
}

/// Sigma on a live stream: one document at a time, correlations kept across calls.
#[derive(Debug)]
pub struct SigmaDetector {
    set: Arc<RuleSet>,
    scratch: Scratch,
    hits: Vec<u32>,
    correlation: CorrelationEngine,
    /// Documents seen and alerts returned.
    pub documents: u64,
    pub alerts: u64,
}

impl SigmaDetector {
    pub fn new(set: Arc<RuleSet>) -> Self {
        Self::with_max_groups(set, warden_sigma::correlation::MAX_GROUPS)
    }

    /// A detector whose correlations keep at most `max_groups` groups each (a tenant's
    /// quota).
    pub fn with_max_groups(set: Arc<RuleSet>, max_groups: usize) -> Self {
        let correlation = CorrelationEngine::with_max_groups(&set, max_groups);
        SigmaDetector {
            set,
            scratch: Scratch::default(),
            hits: Vec::new(),
            correlation,
            documents: 0,
            alerts: 0,
        }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.set
    }

    /// Correlation groups held (one per rule and group-by value).
    pub fn correlation_groups(&self) -> usize {
        self.correlation.groups()
    }

    /// The open correlation windows, for a checkpoint.
    pub fn correlation_state(&self) -> CorrelationState {
        self.correlation.state(&self.set)
    }

    /// Goes on from windows saved by [`SigmaDetector::correlation_state`]; returns how many
    /// correlations were dropped because the rule set no longer has them.
    pub fn restore_correlations(&mut self, state: CorrelationState) -> usize {
        self.correlation.restore(&self.set, state)
    }

    /// Alerts for one document: its rule matches (rules hidden behind a correlation left
    /// out) and any correlation it completes.
    pub fn process(&mut self, doc: &Value, ctx: &DocContext<'_>) -> Vec<SigmaAlert> {
        self.documents += 1;
        let mut raw = Vec::new();
        match_document(
            &self.set,
            doc,
            ctx,
            &mut self.scratch,
            &mut self.hits,
            &mut raw,
        );
        let mut out = Vec::new();
        for a in raw {
            if let Some(ts) = a.timestamp_ms {
                for hit in self
                    .correlation
                    .feed(&self.set, a.rule_index, ts, &a.captured)
                {
                    out.extend(correlation_alert(&self.set, &hit));
                }
            }
            if !a.hidden {
                out.push(a);
            }
        }
        // Intermediate correlations (consumed by another one) are not reported either.
        out.retain(|a| !a.hidden);
        self.alerts += out.len() as u64;
        out
    }

    /// Correlations whose windows are still open, judged now (end of a stream).
    pub fn finish(&mut self) -> Vec<SigmaAlert> {
        let hits = self.correlation.finish(&self.set);
        hits.iter()
            .filter_map(|h| correlation_alert(&self.set, h))
            .filter(|a| !a.hidden)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_sigma::{Mapping, RuleSetBuilder};

    const RULES: &str = r#"
title: Failed logon
id: 11111111-0000-0000-0000-000000000001
name: failed_logon
status: test
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
level: low
tags: [attack.credential-access, attack.t1110]
---
title: Brute force
id: 11111111-0000-0000-0000-000000000002
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition: {gte: 3}
level: high
tags: [attack.t1110.001]
"#;

    fn event(user: &str, minute: u32) -> Value {
        serde_json::json!({"Event": {"System": {
            "EventID": 4625, "Channel": "Security", "Computer": "DC1",
            "TimeCreated": {"#attributes": {"SystemTime": format!("2026-03-01T10:{minute:02}:00Z")}}},
            "EventData": {"TargetUserName": user}}})
    }

    #[test]
    fn stream_with_correlation() {
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text(RULES, None);
        let set = b.build();
        assert!(set.skipped().is_empty(), "{:?}", set.skipped());
        let mut d = SigmaDetector::new(Arc::new(set));
        let ctx = DocContext::default();
        let mut all = Vec::new();
        for (u, m) in [("bob", 0), ("bob", 1), ("eve", 1), ("bob", 2), ("bob", 30)] {
            all.extend(d.process(&event(u, m), &ctx));
        }
        // The base rule is consumed by the correlation (generate: false): not reported.
        assert!(all.iter().all(|a| a.correlation), "{all:?}");
        assert_eq!(all.len(), 1);
        let a = &all[0];
        assert_eq!(a.rule_title, "Brute force");
        assert_eq!(a.level, "high");
        assert_eq!(a.tags, ["attack.t1110.001"]);
        assert_eq!(a.details.get("TargetUserName"), Some(&Value::from("bob")));
        assert_eq!(a.details.get("events"), Some(&Value::from(3)));
        assert_eq!(a.timestamp, "2026-03-01T10:02:00Z");
    }

    #[test]
    fn plain_rule_alert_carries_context() {
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text(RULES.split("---").next().unwrap_or_default(), None);
        let mut d = SigmaDetector::new(Arc::new(b.build()));
        let out = d.process(
            &event("amy", 5),
            &DocContext {
                file: Some("x.evtx"),
                record_id: Some(7),
                timestamp_ms: None,
                line: None,
            },
        );
        assert_eq!(out.len(), 1);
        let a = &out[0];
        assert_eq!(
            (
                a.computer.as_deref(),
                a.channel.as_deref(),
                a.event_id,
                a.record_id
            ),
            (Some("DC1"), Some("Security"), Some(4625), Some(7))
        );
        assert_eq!(a.tags, ["attack.credential-access", "attack.t1110"]);
        assert_eq!(a.details.get("EventID"), Some(&Value::from("4625")));
        let json = serde_json::to_value(a).unwrap_or_default();
        for k in [
            "timestamp",
            "rule_id",
            "rule_title",
            "level",
            "tags",
            "computer",
            "channel",
            "event_id",
            "record_id",
            "file",
            "details",
        ] {
            assert!(json.get(k).is_some(), "missing {k}");
        }
    }
}
