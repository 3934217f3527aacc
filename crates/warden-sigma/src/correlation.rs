//! Correlation rules at run time: per correlation and group-by key, the matching events of
//! the last `timespan`, and the aggregate its condition compares.
//!
//! Conditions that can only become true as events arrive (`event_count`, `value_count` and
//! `value_sum` with `gt`/`gte`, and the temporal types) are checked on a sliding window at
//! every event and fire as soon as they hold; the group then starts afresh. The others (`lt`,
//! `lte`, `eq`, `neq`, averages, percentiles) are judged on a window of `timespan` from its
//! first event, when the window closes (a later event, or [`CorrelationEngine::finish`]).
//! `value_percentile`: the share (in %) of the window's events that carry the group's rarest
//! value of the field; `lte: 1` fires on a value seen in at most 1 % of the events.

use std::collections::VecDeque;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::rule::CorrelationType;
use crate::ruleset::{CompiledCorrelation, RuleSet};

/// Most events kept per group, and groups per correlation (oldest dropped first).
pub const MAX_EVENTS_PER_GROUP: usize = 100_000;
pub const MAX_GROUPS: usize = 100_000;
/// Deepest chain of correlations over correlations followed.
pub const MAX_CHAIN: usize = 8;

/// A correlation that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationHit {
    /// Rule index (in the [`RuleSet`]) of the correlation.
    pub rule: u32,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Group-by field → value.
    pub group: Vec<(String, String)>,
    /// The aggregate that met the condition (count, distinct values, sum, …).
    pub value: f64,
    pub events: usize,
}

#[derive(Debug, Clone)]
struct Item {
    ts: i64,
    pos: usize,
    value: Option<String>,
}

#[derive(Debug, Default)]
struct Group {
    items: VecDeque<Item>,
    start: i64,
}

/// Mutable correlation state for one stream of events in time order.
#[derive(Debug)]
pub struct CorrelationEngine {
    /// Per correlation, its groups from the least to the most recently fed: dropping the
    /// group idle the longest when the limit is reached is one step, not a scan.
    groups: Vec<Groups>,
    max_groups: usize,
}

type Groups = hashlink::LinkedHashMap<Vec<String>, Group, rustc_hash::FxBuildHasher>;

fn eager(c: &CompiledCorrelation) -> bool {
    match c.spec.kind {
        CorrelationType::Temporal | CorrelationType::TemporalOrdered => true,
        CorrelationType::EventCount | CorrelationType::ValueCount | CorrelationType::ValueSum => {
            c.spec.condition.iter().all(|(op, _)| op.is_rising())
        }
        _ => false,
    }
}

fn aggregate(c: &CompiledCorrelation, items: &VecDeque<Item>) -> f64 {
    // Rust reads "NaN" and "inf" as numbers; an event's field saying so is not a value
    // to add (one NaN would silence the group's sum until it left the window).
    let nums = || {
        items
            .iter()
            .filter_map(|i| i.value.as_deref()?.trim().parse::<f64>().ok())
            .filter(|n| n.is_finite())
    };
    match c.spec.kind {
        CorrelationType::EventCount => items.len() as f64,
        CorrelationType::ValueCount => items
            .iter()
            .filter_map(|i| i.value.as_deref())
            .collect::<FxHashSet<_>>()
            .len() as f64,
        CorrelationType::ValueSum => nums().sum(),
        CorrelationType::ValueAvg => {
            let (sum, n) = nums().fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            if n == 0 { f64::NAN } else { sum / n as f64 }
        }
        CorrelationType::ValuePercentile => {
            let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
            for v in items.iter().filter_map(|i| i.value.as_deref()) {
                *counts.entry(v).or_default() += 1;
            }
            match counts.values().min() {
                Some(&min) if !items.is_empty() => 100.0 * min as f64 / items.len() as f64,
                _ => f64::NAN,
            }
        }
        CorrelationType::Temporal => {
            items.iter().map(|i| i.pos).collect::<FxHashSet<_>>().len() as f64
        }
        CorrelationType::TemporalOrdered => {
            let mut next = 0;
            for i in items {
                if i.pos == next {
                    next += 1;
                    if next == c.sources.len() {
                        break;
                    }
                }
            }
            next as f64
        }
    }
}

fn holds(c: &CompiledCorrelation, value: f64) -> bool {
    if value.is_nan() {
        return false;
    }
    if c.spec.condition.is_empty() {
        // Temporal types without a condition: every referenced rule.
        return value >= c.sources.len() as f64;
    }
    c.spec.condition.iter().all(|&(op, n)| op.holds(value, n))
}

impl CorrelationEngine {
    pub fn new(set: &RuleSet) -> Self {
        Self::with_max_groups(set, MAX_GROUPS)
    }

    /// An engine keeping at most `max_groups` groups per correlation (a tenant's quota).
    pub fn with_max_groups(set: &RuleSet, max_groups: usize) -> Self {
        CorrelationEngine {
            groups: (0..set.correlations().len())
                .map(|_| Groups::with_hasher(rustc_hash::FxBuildHasher))
                .collect(),
            max_groups: max_groups.clamp(1, MAX_GROUPS),
        }
    }

    /// Groups held, over every correlation.
    pub fn groups(&self) -> usize {
        self.groups.iter().map(hashlink::LinkedHashMap::len).sum()
    }

    /// Feeds one match of `rule` at `ts_ms` with the fields captured for correlation
    /// ([`RuleSet::captured`]); returns the correlations it completes (chains followed).
    pub fn feed(
        &mut self,
        set: &RuleSet,
        rule: u32,
        ts_ms: i64,
        captured: &[(String, String)],
    ) -> Vec<CorrelationHit> {
        let mut out = Vec::new();
        self.feed_inner(set, rule, ts_ms, captured, 0, &mut out);
        out
    }

    fn feed_inner(
        &mut self,
        set: &RuleSet,
        rule: u32,
        ts: i64,
        captured: &[(String, String)],
        depth: usize,
        out: &mut Vec<CorrelationHit>,
    ) {
        if depth > MAX_CHAIN {
            return;
        }
        let mut hits = Vec::new();
        for &ci in set.consumers(rule) {
            let Some(c) = set.correlations().get(ci as usize) else {
                continue;
            };
            for pos in (0..c.sources.len()).filter(|&p| c.sources[p] == rule) {
                let lookup = |name: &str| {
                    captured
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                };
                let fields = &c.fields[pos];
                let key: Vec<String> = fields[..c.spec.group_by.len()]
                    .iter()
                    .map(|f| lookup(f).unwrap_or_default())
                    .collect();
                let value = c
                    .spec
                    .field
                    .as_ref()
                    .and_then(|_| fields.last().and_then(|f| lookup(f)));
                let groups = &mut self.groups[ci as usize];
                if groups.to_back(&key).is_none() {
                    if groups.len() >= self.max_groups {
                        // The group fed the longest ago: events come in time order, so it
                        // is the one idle the longest.
                        groups.pop_front();
                    }
                    groups.insert(key.clone(), Group::default());
                }
                let Some(group) = groups.get_mut(&key) else {
                    continue;
                };
                hits.extend(add_item(c, group, &key, Item { ts, pos, value }));
            }
        }
        for h in hits {
            let rule = h.rule;
            let last = h.last_ms;
            let group = h.group.clone();
            out.push(h);
            self.feed_inner(set, rule, last, &group, depth + 1, out);
        }
    }

    /// Judges the windows still open (end of input).
    pub fn finish(&mut self, set: &RuleSet) -> Vec<CorrelationHit> {
        let mut out = Vec::new();
        for (ci, groups) in self.groups.iter_mut().enumerate() {
            let Some(c) = set.correlations().get(ci) else {
                continue;
            };
            if eager(c) {
                continue;
            }
            let mut keys: Vec<_> = groups.keys().cloned().collect();
            keys.sort();
            for key in keys {
                if let Some(g) = groups.get_mut(&key) {
                    let v = aggregate(c, &g.items);
                    if !g.items.is_empty() && holds(c, v) {
                        out.push(hit(c, &key, &g.items, v));
                    }
                    g.items.clear();
                }
            }
        }
        out
    }
}

/// Adds an event to its group's window, and judges the window: at once for the kinds that
/// can hold with any event ([`eager`]); otherwise when the event falls past the window's
/// span, which closes the window before the event opens the next.
fn add_item(
    c: &CompiledCorrelation,
    group: &mut Group,
    key: &[String],
    item: Item,
) -> Option<CorrelationHit> {
    let (ts, span) = (item.ts, c.spec.timespan_ms);
    let mut found = None;
    if eager(c) {
        while group.items.front().is_some_and(|i| i.ts < ts - span) {
            group.items.pop_front();
        }
        group.items.push_back(item);
        if group.items.len() > MAX_EVENTS_PER_GROUP {
            group.items.pop_front();
        }
        let v = aggregate(c, &group.items);
        if holds(c, v) {
            found = Some(hit(c, key, &group.items, v));
            group.items.clear();
        }
    } else {
        if !group.items.is_empty() && ts - group.start > span {
            let v = aggregate(c, &group.items);
            if holds(c, v) {
                found = Some(hit(c, key, &group.items, v));
            }
            group.items.clear();
        }
        if group.items.is_empty() {
            group.start = ts;
        }
        group.items.push_back(item);
        if group.items.len() > MAX_EVENTS_PER_GROUP {
            group.items.pop_front();
        }
    }
    found
}

fn hit(
    c: &CompiledCorrelation,
    key: &[String],
    items: &VecDeque<Item>,
    value: f64,
) -> CorrelationHit {
    CorrelationHit {
        rule: c.rule,
        first_ms: items.front().map_or(0, |i| i.ts),
        last_ms: items.back().map_or(0, |i| i.ts),
        group: c
            .spec
            .group_by
            .iter()
            .cloned()
            .zip(key.iter().cloned())
            .collect(),
        value,
        events: items.len(),
    }
}

/// The correlation windows in a form that can be stored: what a checkpoint carries so
/// another process goes on where this one stopped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorrelationState {
    pub correlations: Vec<CorrelationWindows>,
}

/// One correlation's open groups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationWindows {
    /// The correlation rule's id (its title when it has none). With `sources` and
    /// `group_by` it is what a restore matches on: windows of a rule that changed are not
    /// carried into the new one.
    pub rule: String,
    pub sources: u32,
    pub group_by: Vec<String>,
    /// From the group fed the longest ago to the most recent.
    pub groups: Vec<GroupWindow>,
}

/// One group's window: its group-by values and the matches in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupWindow {
    pub key: Vec<String>,
    pub start: i64,
    /// `(time in ms, source position, aggregated value)` per match, oldest first.
    pub items: Vec<(i64, u32, Option<String>)>,
}

/// How a rule is named in a [`CorrelationState`].
fn rule_name(set: &RuleSet, c: &CompiledCorrelation) -> String {
    set.rule(c.rule)
        .map(|r| r.meta.id.clone().unwrap_or_else(|| r.meta.title.clone()))
        .unwrap_or_default()
}

impl CorrelationEngine {
    /// The open windows, for a checkpoint. Groups whose window is empty are kept: they
    /// hold their place in the order in which groups are dropped at the limit.
    pub fn state(&self, set: &RuleSet) -> CorrelationState {
        let correlations = set
            .correlations()
            .iter()
            .zip(&self.groups)
            .filter(|(_, groups)| !groups.is_empty())
            .map(|(c, groups)| CorrelationWindows {
                rule: rule_name(set, c),
                sources: c.sources.len() as u32,
                group_by: c.spec.group_by.clone(),
                groups: groups
                    .iter()
                    .map(|(key, g)| GroupWindow {
                        key: key.clone(),
                        start: g.start,
                        items: g
                            .items
                            .iter()
                            .map(|i| (i.ts, i.pos as u32, i.value.clone()))
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        CorrelationState { correlations }
    }

    /// An engine that goes on from `state`, within this engine's limits. Windows of a
    /// correlation the rule set no longer has (or has with other sources or group-by
    /// fields) are dropped; returns how many correlations were dropped so.
    pub fn restore(&mut self, set: &RuleSet, state: CorrelationState) -> usize {
        let mut dropped = 0;
        for w in state.correlations {
            let found = set.correlations().iter().position(|c| {
                c.sources.len() == w.sources as usize
                    && c.spec.group_by == w.group_by
                    && rule_name(set, c) == w.rule
            });
            let Some(groups) = found.and_then(|ci| self.groups.get_mut(ci)) else {
                dropped += 1;
                continue;
            };
            // The most recent groups when there are more than the limit allows.
            let skip = w.groups.len().saturating_sub(self.max_groups);
            for g in w.groups.into_iter().skip(skip) {
                if g.key.len() != w.group_by.len() {
                    continue;
                }
                let first = g.items.len().saturating_sub(MAX_EVENTS_PER_GROUP);
                let items = g.items[first..]
                    .iter()
                    .filter(|(_, pos, _)| *pos < w.sources)
                    .map(|(ts, pos, value)| Item {
                        ts: *ts,
                        pos: *pos as usize,
                        value: value.clone(),
                    })
                    .collect();
                groups.remove(&g.key);
                groups.insert(
                    g.key,
                    Group {
                        items,
                        start: g.start,
                    },
                );
            }
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Mapping;
    use crate::ruleset::{RuleSetBuilder, Scratch};
    use serde_json::json;

    const BASE: &str = r#"
title: login
name: login
id: 00000000-0000-0000-0000-0000000000a1
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624}
  condition: sel
---
title: failure
name: failure
id: 00000000-0000-0000-0000-0000000000a2
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4625}
  condition: sel
---
title: transfer
name: transfer
id: 00000000-0000-0000-0000-0000000000a3
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 5145}
  condition: sel
"#;

    fn set(correlation: &str) -> RuleSet {
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text(&format!("{BASE}---\n{correlation}"), None);
        let s = b.build();
        assert!(s.skipped().is_empty(), "{:?}", s.skipped());
        s
    }

    /// Feeds (event id, user, source, bytes, minute) events; returns every hit.
    fn run(set: &RuleSet, events: &[(u32, &str, &str, u64, i64)]) -> Vec<CorrelationHit> {
        let mut engine = CorrelationEngine::new(set);
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        let mut hits = Vec::new();
        for &(eid, user, src, bytes, minute) in events {
            let doc = json!({"Event": {"System": {"EventID": eid, "Channel": "Security"},
                "EventData": {"TargetUserName": user, "IpAddress": src, "Bytes": bytes}}});
            let ev = set.event(&doc);
            set.matches(&ev, &mut scratch, &mut out);
            for &r in &out {
                hits.extend(engine.feed(set, r, minute * 60_000, &set.captured(r, &ev)));
            }
        }
        hits.extend(engine.finish(set));
        hits
    }

    #[test]
    fn value_count_counts_distinct_values_per_group() {
        let s = set(
            "title: spray\ncorrelation:\n  type: value_count\n  rules: [failure]\n  group-by: [IpAddress]\n  timespan: 10m\n  condition: {field: TargetUserName, gte: 3}\n",
        );
        let hits = run(
            &s,
            &[
                (4625, "a", "1.1.1.1", 0, 0),
                (4625, "a", "1.1.1.1", 0, 1),
                (4625, "b", "1.1.1.1", 0, 2),
                (4625, "c", "2.2.2.2", 0, 3),
                (4625, "c", "1.1.1.1", 0, 4),
            ],
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(
            hits[0].group,
            [("IpAddress".to_owned(), "1.1.1.1".to_owned())]
        );
        assert_eq!(hits[0].value, 3.0);
        assert_eq!(hits[0].events, 4);
    }

    /// Feeds the events to `engine`, returning the hits (no finish).
    fn feed_all(
        set: &RuleSet,
        engine: &mut CorrelationEngine,
        events: &[(u32, &str, &str, i64)],
    ) -> Vec<CorrelationHit> {
        let (mut scratch, mut out, mut hits) = (Scratch::default(), Vec::new(), Vec::new());
        for &(eid, user, src, minute) in events {
            let doc = json!({"Event": {"System": {"EventID": eid, "Channel": "Security"},
                "EventData": {"TargetUserName": user, "IpAddress": src}}});
            let ev = set.event(&doc);
            set.matches(&ev, &mut scratch, &mut out);
            for &r in &out {
                hits.extend(engine.feed(set, r, minute * 60_000, &set.captured(r, &ev)));
            }
        }
        hits
    }

    #[test]
    fn windows_restored_from_their_state_go_on_as_if_never_stopped() {
        let spray = "title: spray\ncorrelation:\n  type: value_count\n  rules: [failure]\n  group-by: [IpAddress]\n  timespan: 10m\n  condition: {field: TargetUserName, gte: 3}\n";
        let s = set(spray);
        let events = [
            (4625, "a", "1.1.1.1", 0),
            (4625, "b", "1.1.1.1", 1),
            (4625, "x", "2.2.2.2", 2),
            (4625, "c", "1.1.1.1", 3),
            (4625, "y", "2.2.2.2", 4),
            (4625, "z", "2.2.2.2", 5),
        ];
        let whole = feed_all(&s, &mut CorrelationEngine::new(&s), &events);
        assert_eq!(whole.len(), 2);
        for cut in 1..events.len() {
            let mut first = CorrelationEngine::new(&s);
            let mut hits = feed_all(&s, &mut first, &events[..cut]);
            let text = serde_json::to_string(&first.state(&s)).unwrap();
            let mut next = CorrelationEngine::new(&s);
            assert_eq!(next.restore(&s, serde_json::from_str(&text).unwrap()), 0);
            hits.extend(feed_all(&s, &mut next, &events[cut..]));
            assert_eq!(hits, whole, "cut after {cut} events");
        }
        // The same rule with another group-by is another correlation: nothing carried over.
        let mut first = CorrelationEngine::new(&s);
        feed_all(&s, &mut first, &events[..2]);
        let other = set(&spray.replace("IpAddress]", "TargetUserName]"));
        let mut next = CorrelationEngine::new(&other);
        assert_eq!(next.restore(&other, first.state(&s)), 1);
        assert_eq!(next.groups(), 0);
    }

    #[test]
    fn at_the_group_limit_the_group_fed_longest_ago_goes() {
        let s = set(
            "title: burst\ncorrelation:\n  type: event_count\n  rules: [failure]\n  group-by: [TargetUserName]\n  timespan: 10m\n  condition: {gte: 2}\n",
        );
        let mut engine = CorrelationEngine::with_max_groups(&s, 2);
        let mut scratch = Scratch::default();
        let mut out = Vec::new();
        let mut hits = Vec::new();
        // a, b, a again (b is now the oldest), c (b goes), b (a new group: no hit).
        for (user, minute) in [("a", 0), ("b", 1), ("a", 2), ("c", 3), ("b", 4)] {
            let doc = json!({"Event": {"System": {"EventID": 4625, "Channel": "Security"},
                "EventData": {"TargetUserName": user}}});
            let ev = s.event(&doc);
            s.matches(&ev, &mut scratch, &mut out);
            for &r in &out {
                hits.extend(engine.feed(&s, r, minute * 60_000, &s.captured(r, &ev)));
            }
        }
        assert_eq!(engine.groups(), 2);
        let users: Vec<&str> = hits.iter().map(|h| h.group[0].1.as_str()).collect();
        assert_eq!(users, ["a"], "b lost its first event when it was dropped");
    }

    #[test]
    fn windows_slide_out_old_events() {
        let s = set(
            "title: burst\ncorrelation:\n  type: event_count\n  rules: [failure]\n  group-by: [TargetUserName]\n  timespan: 5m\n  condition: {gte: 3}\n",
        );
        let spread = run(
            &s,
            &[
                (4625, "a", "x", 0, 0),
                (4625, "a", "x", 4, 4),
                (4625, "a", "x", 0, 8),
                (4625, "a", "x", 0, 12),
            ],
        );
        assert!(spread.is_empty(), "{spread:?}");
        let close = run(
            &s,
            &[
                (4625, "a", "x", 0, 0),
                (4625, "a", "x", 0, 9),
                (4625, "a", "x", 0, 10),
                (4625, "a", "x", 0, 11),
            ],
        );
        assert_eq!(close.len(), 1);
        assert_eq!(
            (close[0].first_ms, close[0].last_ms),
            (9 * 60_000, 11 * 60_000)
        );
    }

    #[test]
    fn temporal_and_ordered() {
        let t = set(
            "title: t\ncorrelation:\n  type: temporal\n  rules: [failure, login]\n  group-by: [TargetUserName]\n  timespan: 10m\n",
        );
        let o = set(
            "title: o\ncorrelation:\n  type: temporal_ordered\n  rules: [failure, login]\n  group-by: [TargetUserName]\n  timespan: 10m\n",
        );
        let login_first = [(4624, "a", "x", 0, 0), (4625, "a", "x", 0, 1)];
        assert_eq!(run(&t, &login_first).len(), 1);
        assert!(run(&o, &login_first).is_empty());
        let in_order = [
            (4625, "a", "x", 0, 0),
            (4625, "b", "x", 0, 1),
            (4624, "a", "x", 0, 2),
        ];
        assert_eq!(run(&o, &in_order).len(), 1);
        let too_late = [(4625, "a", "x", 0, 0), (4624, "a", "x", 0, 30)];
        assert!(run(&o, &too_late).is_empty());
    }

    #[test]
    fn sums_averages_and_falling_conditions() {
        let sum = set(
            "title: s\ncorrelation:\n  type: value_sum\n  rules: [transfer]\n  group-by: [TargetUserName]\n  timespan: 1h\n  condition: {field: Bytes, gt: 1000}\n",
        );
        let hits = run(
            &sum,
            &[
                (5145, "a", "x", 600, 0),
                (5145, "a", "x", 300, 1),
                (5145, "a", "x", 200, 2),
            ],
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].value, 1100.0);
        let avg = set(
            "title: v\ncorrelation:\n  type: value_avg\n  rules: [transfer]\n  group-by: [TargetUserName]\n  timespan: 1h\n  condition: {field: Bytes, gt: 500}\n",
        );
        let hits = run(
            &avg,
            &[
                (5145, "a", "x", 900, 0),
                (5145, "a", "x", 300, 1),
                (5145, "b", "x", 100, 2),
            ],
        );
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].value, 600.0);
        // "Fewer than 2 logins in the hour": judged when the window closes.
        let few = set(
            "title: f\ncorrelation:\n  type: event_count\n  rules: [login]\n  group-by: [TargetUserName]\n  timespan: 1h\n  condition: {lt: 2}\n",
        );
        let hits = run(
            &few,
            &[
                (4624, "a", "x", 0, 0),
                (4624, "b", "x", 0, 1),
                (4624, "b", "x", 0, 2),
            ],
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].group[0].1, "a");
    }

    #[test]
    fn a_field_that_says_nan_or_inf_is_no_value_to_add() {
        let sum = set(
            "title: s\ncorrelation:\n  type: value_sum\n  rules: [transfer]\n  group-by: [TargetUserName]\n  timespan: 1h\n  condition: {field: Bytes, gt: 1000}\n",
        );
        let mut engine = CorrelationEngine::new(&sum);
        let (mut scratch, mut out, mut hits) = (Scratch::default(), Vec::new(), Vec::new());
        for (minute, bytes) in [
            (0, json!("NaN")),
            (1, json!("inf")),
            (2, json!(600)),
            (3, json!(500)),
        ] {
            let doc = json!({"Event": {"System": {"EventID": 5145, "Channel": "Security"},
                "EventData": {"TargetUserName": "a", "Bytes": bytes}}});
            let ev = sum.event(&doc);
            sum.matches(&ev, &mut scratch, &mut out);
            for &r in &out {
                hits.extend(engine.feed(&sum, r, minute * 60_000, &sum.captured(r, &ev)));
            }
        }
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].value, 1100.0);
    }

    #[test]
    fn unknown_references_are_reported() {
        let mut b = RuleSetBuilder::new(Mapping::builtin());
        b.add_text("title: c\ncorrelation:\n  type: event_count\n  rules: [nope]\n  group-by: [User]\n  timespan: 5m\n  condition: {gte: 2}\n", None);
        let s = b.build();
        assert_eq!(s.skipped().len(), 1);
        assert_eq!(s.skipped()[0].error.kind.reason(), "correlation");
    }
}
