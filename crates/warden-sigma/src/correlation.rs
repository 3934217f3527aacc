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
#[derive(Debug, Default)]
pub struct CorrelationEngine {
    groups: Vec<FxHashMap<Vec<String>, Group>>,
}

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
    let nums = || {
        items
            .iter()
            .filter_map(|i| i.value.as_deref()?.trim().parse::<f64>().ok())
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
        CorrelationEngine {
            groups: (0..set.correlations().len())
                .map(|_| FxHashMap::default())
                .collect(),
        }
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
                if groups.len() >= MAX_GROUPS && !groups.contains_key(&key) {
                    // Drop the group idle the longest.
                    if let Some(old) = groups
                        .iter()
                        .min_by_key(|(_, g)| g.items.back().map_or(i64::MIN, |i| i.ts))
                        .map(|(k, _)| k.clone())
                    {
                        groups.remove(&old);
                    }
                }
                let group = groups.entry(key.clone()).or_default();
                let item = Item { ts, pos, value };
                let span = c.spec.timespan_ms;
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
                        hits.push(hit(c, &key, &group.items, v));
                        group.items.clear();
                    }
                } else {
                    if !group.items.is_empty() && ts - group.start > span {
                        let v = aggregate(c, &group.items);
                        if holds(c, v) {
                            hits.push(hit(c, &key, &group.items, v));
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
