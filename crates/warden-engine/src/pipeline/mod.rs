//! One detection pipeline per tenant: typed records in, verdicts and [`Alert`]s out.
//!
//! The pipeline holds the tenant's detectors — the behavioural engine (with its models),
//! the Sigma rules, payload analysis of command lines, the network finders over Zeek
//! records, the entity graph — and hands every record to each of them in order. It is synchronous
//! and knows nothing of HTTP, stores or outputs: the service, `warden detect`, a log
//! consumer and a Python binding all call [`Pipeline::process`], then store, publish or
//! print what comes out.
//!
//! What the pipeline adds to its detectors: the alert level (weaker findings are verdicts,
//! not alerts), a cap on alerts per record (a crafted event matching many rules must not
//! become as many alerts — its strongest are kept), and counters.
//!
//! Adding a detector: implement [`Detector`] in a module of its own and register it with
//! [`Pipeline::add`] where pipelines are built.
//!
//! ```
//! use warden_engine::pipeline::{Pipeline, PipelineOptions, UebaDetector};
//! use warden_engine::{UebaConfig, ueba::UebaEngine};
//! use warden_event::{ActivityType, Input, Timestamp, UserActivity};
//! let engine = UebaEngine::new(UebaConfig::default()).unwrap();
//! let mut p = Pipeline::new("default", PipelineOptions::default());
//! p.add(Box::new(UebaDetector::new(engine, Default::default())));
//! let t = Timestamp::parse_rfc3339("2026-04-02T09:00:00Z").unwrap();
//! let out = p.process(&[Input::activity(UserActivity::new("ana", ActivityType::Login, t), 80)], t);
//! assert!(out.records[0].score().is_some());
//! assert!(out.alerts.is_empty()); // a first login is no alert
//! ```

pub mod context;
mod flows;
mod graph;
pub mod graph_signals;
mod network;
mod payload;
pub mod prevalence;
mod rules;
mod ueba;

use std::any::Any;

use warden_event::{Alert, DetectorKind, Input, ThreatLevel, ThreatScore, Timestamp};

use crate::config::Actions;
use crate::models::FlowAssessment;
use crate::sigma::SigmaAlert;

pub use context::{ContextLimits, RecentEvents};
pub use flows::FlowDetector;
pub use graph::{GraphDetector, GraphLimits};
pub use network::NetworkDetector;
pub use payload::{
    AnalyzerSource, DEFAULT_COMMON_AT, PayloadDetector, ProcessStart, process_start,
};
pub use rules::RulesDetector;
pub use ueba::{UebaDetector, activity_view};

/// What one detector says of one record, beside its alerts.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A user activity's behavioural score (every activity gets one).
    Score(Box<ThreatScore>),
    /// A log event's rule detections (maybe none).
    Detections(Vec<SigmaAlert>),
    /// A network flow's assessment by a flow model.
    Flow(Box<FlowAssessment>),
}

/// A detector's findings for one record.
#[derive(Debug, Default)]
pub struct Findings {
    pub verdicts: Vec<Verdict>,
    /// Alerts at any level: the pipeline keeps those at its alert level.
    pub alerts: Vec<Alert>,
}

/// What a detector sees beside the record.
#[derive(Debug)]
pub struct Cx<'a> {
    pub tenant: &'a str,
    /// Now (for events that carry no time).
    pub now: Timestamp,
    pub options: &'a PipelineOptions,
}

impl Cx<'_> {
    /// Whether a finding at `level` becomes an alert.
    pub fn alerts_at(&self, level: ThreatLevel) -> bool {
        level >= self.options.alert_level
    }
}

/// One detector behind the pipeline.
pub trait Detector: Any + Send {
    fn kind(&self) -> DetectorKind;

    /// Looks at one record; a detector that does not read this kind of record adds
    /// nothing. `out` already holds what the detectors added before this one found in
    /// the same record (a detector that builds on others, as the graph does on the
    /// rules' detections, is added after them).
    fn process(&mut self, input: &Input, cx: &Cx<'_>, out: &mut Findings);

    /// End of a stream: what is still pending (open correlation windows).
    fn finish(&mut self, _cx: &Cx<'_>, _out: &mut Findings) {}
}

/// The pipeline's settings.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Findings at this level or above become alerts.
    pub alert_level: ThreatLevel,
    /// Most alerts one record raises (its strongest).
    pub max_alerts_per_record: usize,
    /// Recommended actions per level, for detectors that score by level (rules).
    pub actions: Actions,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            alert_level: ThreatLevel::Medium,
            max_alerts_per_record: 10,
            actions: Actions::default(),
        }
    }
}

/// What became of one record.
#[derive(Debug, Default)]
pub struct RecordOutcome {
    pub verdicts: Vec<Verdict>,
}

impl RecordOutcome {
    /// The behavioural score, when the record was an activity.
    pub fn score(&self) -> Option<&ThreatScore> {
        self.verdicts.iter().find_map(|v| match v {
            Verdict::Score(s) => Some(&**s),
            Verdict::Detections(_) | Verdict::Flow(_) => None,
        })
    }

    /// The behavioural score, taken out (the record's other verdicts are dropped).
    pub fn into_score(self) -> Option<ThreatScore> {
        self.verdicts.into_iter().find_map(|v| match v {
            Verdict::Score(s) => Some(*s),
            Verdict::Detections(_) | Verdict::Flow(_) => None,
        })
    }

    /// The rule detections, when the record was a log event.
    pub fn detections(&self) -> Option<&[SigmaAlert]> {
        self.verdicts.iter().find_map(|v| match v {
            Verdict::Detections(d) => Some(d.as_slice()),
            Verdict::Score(_) | Verdict::Flow(_) => None,
        })
    }

    /// The flow model's assessment, when the record was a network flow.
    pub fn flow(&self) -> Option<&FlowAssessment> {
        self.verdicts.iter().find_map(|v| match v {
            Verdict::Flow(a) => Some(&**a),
            Verdict::Score(_) | Verdict::Detections(_) => None,
        })
    }
}

/// What a batch became: one outcome per record, in order, and the alerts with the index
/// of the record that raised each.
#[derive(Debug, Default)]
pub struct Outcome {
    pub records: Vec<RecordOutcome>,
    pub alerts: Vec<(usize, Alert)>,
}

/// Records and alerts through a pipeline.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PipelineCounters {
    pub records: u64,
    pub alerts: u64,
    /// Alerts left out by the per-record cap.
    pub capped: u64,
}

/// One tenant's detectors.
pub struct Pipeline {
    tenant: String,
    options: PipelineOptions,
    detectors: Vec<Box<dyn Detector>>,
    counters: PipelineCounters,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("tenant", &self.tenant)
            .field(
                "detectors",
                &self.detectors.iter().map(|d| d.kind()).collect::<Vec<_>>(),
            )
            .field("counters", &self.counters)
            .finish()
    }
}

impl Pipeline {
    pub fn new(tenant: &str, options: PipelineOptions) -> Self {
        Pipeline {
            tenant: tenant.to_owned(),
            options,
            detectors: Vec::new(),
            counters: PipelineCounters::default(),
        }
    }

    /// Registers a detector; records reach detectors in the order they were added.
    pub fn add(&mut self, d: Box<dyn Detector>) -> &mut Self {
        self.detectors.push(d);
        self
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    pub fn options(&self) -> &PipelineOptions {
        &self.options
    }

    pub fn counters(&self) -> PipelineCounters {
        self.counters
    }

    /// The first detector of a type, to read its state.
    pub fn detector<T: Detector>(&self) -> Option<&T> {
        self.detectors.iter().find_map(|d| {
            let any: &dyn Any = &**d;
            any.downcast_ref::<T>()
        })
    }

    /// The first detector of a type, to change it (install a model).
    pub fn detector_mut<T: Detector>(&mut self) -> Option<&mut T> {
        self.detectors.iter_mut().find_map(|d| {
            let any: &mut dyn Any = &mut **d;
            any.downcast_mut::<T>()
        })
    }

    /// Every record of a batch through every detector, in order.
    pub fn process(&mut self, inputs: &[Input], now: Timestamp) -> Outcome {
        let mut out = Outcome {
            records: Vec::with_capacity(inputs.len()),
            alerts: Vec::new(),
        };
        let mut findings = Findings::default();
        for (i, input) in inputs.iter().enumerate() {
            let cx = Cx {
                tenant: &self.tenant,
                now,
                options: &self.options,
            };
            for d in &mut self.detectors {
                d.process(input, &cx, &mut findings);
            }
            self.counters.records += 1;
            out.records.push(RecordOutcome {
                verdicts: std::mem::take(&mut findings.verdicts),
            });
            self.keep_alerts(i, &mut findings.alerts, &mut out.alerts);
        }
        latest_per_key(&mut out.alerts);
        out
    }

    /// The end of a stream: each detector's pending alerts (their record index is the
    /// number of records seen).
    pub fn finish(&mut self, now: Timestamp) -> Vec<Alert> {
        let mut findings = Findings::default();
        let cx = Cx {
            tenant: &self.tenant,
            now,
            options: &self.options,
        };
        for d in &mut self.detectors {
            d.finish(&cx, &mut findings);
        }
        let alerts: Vec<Alert> = findings
            .alerts
            .into_iter()
            .filter(|a| a.level >= self.options.alert_level)
            .map(warden_event::bound::bounded)
            .collect();
        self.counters.alerts += alerts.len() as u64;
        alerts
    }

    /// The record's alerts at the alert level, strongest first, at most the cap.
    fn keep_alerts(&mut self, i: usize, found: &mut Vec<Alert>, out: &mut Vec<(usize, Alert)>) {
        if found.is_empty() {
            return;
        }
        found.retain(|a| a.level >= self.options.alert_level);
        if found.len() > self.options.max_alerts_per_record {
            // Stable: equally strong alerts keep the order their detectors gave.
            found.sort_by(|a, b| b.score.total_cmp(&a.score));
            self.counters.capped += (found.len() - self.options.max_alerts_per_record) as u64;
            found.truncate(self.options.max_alerts_per_record);
        }
        self.counters.alerts += found.len() as u64;
        // Strings from the event are bounded once here, before the alert is copied to the
        // store and every destination.
        out.extend(
            found
                .drain(..)
                .map(|a| (i, warden_event::bound::bounded(a))),
        );
    }
}

/// One alert per key in a batch, in its latest form at the place of its last report: a
/// finding that grows over several records of one batch (a graph path) is one alert, not
/// one per step.
fn latest_per_key(alerts: &mut Vec<(usize, Alert)>) {
    if alerts.len() < 2 {
        return;
    }
    let mut last = std::collections::HashMap::with_capacity(alerts.len());
    for (i, (_, a)) in alerts.iter().enumerate() {
        last.insert(a.key.clone(), i);
    }
    if last.len() == alerts.len() {
        return;
    }
    let mut i = 0;
    alerts.retain(|(_, a)| {
        let keep = last.get(&a.key) == Some(&i);
        i += 1;
        keep
    });
}

#[cfg(test)]
mod tests;
