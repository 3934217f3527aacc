//! The run summary printed to stderr, and the evaluation table.

use crate::pipeline::ReadTotals;
use std::collections::BTreeMap;
use std::time::Duration;
use warden_engine::eval::{EvalReport, KindReport};
use warden_engine::ueba::{EngineCounters, ModelCounters, UebaEngine};
use warden_event::{AnomalyType, ThreatLevel, ThreatScore};

/// Counts of what was scored.
#[derive(Debug, Default)]
pub struct Tally {
    pub per_level: BTreeMap<ThreatLevel, u64>,
    pub per_type: BTreeMap<AnomalyType, u64>,
    pub learning: u64,
}

impl Tally {
    pub fn add(&mut self, s: &ThreatScore, min_level: ThreatLevel) {
        *self.per_level.entry(s.threat_level).or_default() += 1;
        self.learning += u64::from(s.learning);
        if s.threat_level >= min_level {
            for t in &s.primary_anomalies {
                *self.per_type.entry(*t).or_default() += 1;
            }
        }
    }

    pub fn alerts(&self, min_level: ThreatLevel) -> u64 {
        self.per_level
            .iter()
            .filter(|(l, _)| **l >= min_level)
            .map(|(_, n)| n)
            .sum()
    }
}

pub struct RunFacts<'a> {
    pub command: &'a str,
    pub inputs: usize,
    pub events: u64,
    pub parse_errors: u64,
    pub elapsed: Duration,
    pub users: usize,
    pub memory_bytes: usize,
    pub counters: EngineCounters,
    /// The model layer's counters, when models are configured.
    pub models: Option<ModelCounters>,
}

impl<'a> RunFacts<'a> {
    pub fn new(command: &'a str, t: &ReadTotals, elapsed: Duration, engine: &UebaEngine) -> Self {
        Self {
            command,
            inputs: t.inputs,
            events: t.records,
            parse_errors: t.parse_errors,
            elapsed,
            users: engine.user_count(),
            memory_bytes: engine.memory_bytes(),
            counters: engine.counters(),
            models: engine
                .ensemble()
                .is_active()
                .then(|| engine.model_counters()),
        }
    }

    /// Adds another partition's engine (`--partitions`): its users, memory and counters.
    pub fn add_partition(&mut self, engine: &UebaEngine) {
        self.users += engine.user_count();
        self.memory_bytes += engine.memory_bytes();
        let c = engine.counters();
        self.counters.events += c.events;
        self.counters.learned += c.learned;
        self.counters.quarantined += c.quarantined;
        self.counters.out_of_order += c.out_of_order;
        self.counters.untracked += c.untracked;
    }
}

pub fn print(f: &RunFacts<'_>, tally: &Tally, min_level: ThreatLevel) {
    let secs = f.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "{}: {} events from {} input(s) in {:.2} s ({:.0} events/s); {} parse errors",
        f.command,
        f.events,
        f.inputs,
        secs,
        f.events as f64 / secs,
        f.parse_errors
    );
    if let Some(m) = f.models {
        eprintln!(
            "models: {} calls, {} failures, {} circuit trips, {} skipped while open or missing; {} events below the point where the models could make a HIGH",
            m.calls, m.failures, m.trips, m.skipped, m.not_decisive
        );
    }
    let levels: Vec<String> = ThreatLevel::ALL
        .iter()
        .rev()
        .map(|l| format!("{l} {}", tally.per_level.get(l).copied().unwrap_or(0)))
        .collect();
    eprintln!(
        "levels: {}; alerts (>= {min_level}): {}",
        levels.join(", "),
        tally.alerts(min_level)
    );
    if !tally.per_type.is_empty() {
        let types: Vec<String> = tally
            .per_type
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        eprintln!("alerts by anomaly type: {}", types.join(", "));
    }
    let per_user = f.memory_bytes.checked_div(f.users).unwrap_or(0);
    eprintln!(
        "users: {} ({} B per baseline); learned {}, kept out of baselines {}, scored while learning {}, out of order {}",
        f.users,
        per_user,
        f.counters.learned,
        f.counters.quarantined,
        tally.learning,
        f.counters.out_of_order
    );
    if f.counters.untracked > 0 {
        eprintln!(
            "warning: {} events of users beyond ueba.limits.max_users were scored without history and not remembered",
            f.counters.untracked
        );
    }
}

pub fn print_eval(r: &EvalReport) {
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_header([
        "scenario kind",
        "scenarios",
        ">= MEDIUM",
        ">= HIGH",
        "type named (HIGH)",
    ]);
    let mut row = |name: String, k: &KindReport| {
        t.add_row([
            name,
            k.scenarios.to_string(),
            format!("{} ({})", k.alerted_medium, pct(k.rate_medium)),
            format!("{} ({})", k.alerted_high, pct(k.rate_high)),
            format!("{} ({})", k.type_named_high, pct(k.type_accuracy_high)),
        ]);
    };
    for (k, v) in &r.attacks {
        row(format!("attack:{k}"), v);
    }
    row("attacks (all)".into(), &r.attacks_total);
    for (k, v) in &r.hard_negatives {
        row(format!("benign:{k}"), v);
    }
    row("hard negatives (all)".into(), &r.hard_negatives_total);
    eprintln!("{t}");
    eprintln!(
        "normal events: {}; false positives >= MEDIUM {} ({:.3}%), >= HIGH {} ({:.4}%); unlabelled events {}",
        r.normal.events,
        r.normal.alerts_medium,
        r.normal.fpr_medium * 100.0,
        r.normal.alerts_high,
        r.normal.fpr_high * 100.0,
        r.unlabelled_events
    );
    let cited = r.attacks_total.alerted_high_cited + r.hard_negatives_total.alerted_high_cited;
    if cited > 0 {
        eprintln!(
            "of the scenarios at HIGH, {} attacks and {} hard negatives reached it through an alert that cites one of their events (a session across UTC midnight is one alert for both days)",
            r.attacks_total.alerted_high_cited, r.hard_negatives_total.alerted_high_cited
        );
    }
    if r.unrecognised_labels > 0 {
        eprintln!(
            "warning: {} events had labels other than normal, attack:<kind> or benign:<kind>; they were not counted",
            r.unrecognised_labels
        );
    }
}
