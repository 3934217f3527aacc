//! The entity graph as a pipeline detector: every Windows log event the graph reads (logons,
//! privileges, group changes, tickets, process starts and accesses, connections), every
//! user activity (sign-ins, resources used) and every network flow with its endpoints is
//! added to the tenant's graph and judged by its finders; findings become alerts of kind
//! `graph`. The rules' detections and the behavioural scores of the same record feed the
//! progression finder ([`super::graph_signals`]), so the graph must be added after them.
//!
//! A finding is reported each time it rises or grows. Each level gets its own alert key
//! (the finding's key and the level): the store keeps one alert per level reached, and a
//! report that grows a level's path replaces that alert's body (warden-store updates graph
//! alerts by key); a replay of the same events changes nothing. The graph is bounded
//! per tenant ([`GraphLimits`]): past the limit, known edges are still updated and new ones
//! are counted, not kept.

use warden_event::{DetectorKind, EventRef, Input, Record, Timestamp, content_hash};
use warden_graph::GraphEvent;
use warden_graph::extract::{Given, LinuxAuth, activity_event, flow_event, windows_event};
use warden_graph::snapshot::{self, SnapshotError};
use warden_graph::{HuntConfig, Hunter};

use super::graph_signals::{anomaly_event, detection_event};
use super::{Cx, Detector, Findings, Verdict};

/// Bounds of one tenant's graph.
#[derive(Debug, Clone, Copy)]
pub struct GraphLimits {
    /// Most edges kept.
    pub max_edges: usize,
    /// Days from the first event that only teach the graph.
    pub learn_days: f64,
}

impl Default for GraphLimits {
    fn default() -> Self {
        GraphLimits {
            max_edges: 2_000_000,
            learn_days: 7.0,
        }
    }
}

/// [`Hunter`] behind the pipeline.
pub struct GraphDetector {
    hunter: Hunter,
    /// Events added since the graph was last saved.
    unsaved: u64,
    /// Linux authentication events (which hosts' sshd reports for itself).
    linux: LinuxAuth,
}

impl GraphDetector {
    pub fn new(tenant: &str, limits: GraphLimits) -> Self {
        Self::from_hunter(Hunter::new(config(tenant, limits)), limits)
    }

    /// A detector that goes on from a graph saved by [`GraphDetector::snapshot`]: the
    /// saved graph is the baseline, every new event is judged.
    pub fn restore(tenant: &str, limits: GraphLimits, saved: &[u8]) -> Result<Self, SnapshotError> {
        let (graph, profile) = snapshot::load(saved)?;
        let hunter = Hunter::with_graph(config(tenant, limits), graph, profile);
        Ok(Self::from_hunter(hunter, limits))
    }

    fn from_hunter(mut hunter: Hunter, limits: GraphLimits) -> Self {
        hunter.graph.set_max_edges(limits.max_edges);
        GraphDetector {
            hunter,
            unsaved: 0,
            linux: LinuxAuth::default(),
        }
    }

    pub fn hunter(&self) -> &Hunter {
        &self.hunter
    }

    /// Events added since the last [`GraphDetector::snapshot`].
    pub fn unsaved(&self) -> u64 {
        self.unsaved
    }

    /// The graph and what was learned, to save; counts as saved.
    pub fn snapshot(&mut self) -> Result<Vec<u8>, SnapshotError> {
        let bytes = snapshot::save(&self.hunter.graph, &self.hunter.profile)?;
        self.unsaved = 0;
        Ok(bytes)
    }
}

fn config(tenant: &str, limits: GraphLimits) -> HuntConfig {
    HuntConfig {
        tenant: tenant.to_owned(),
        learn_for_ms: (limits.learn_days.max(0.0) * 86_400_000.0) as i64,
        // The pipeline applies its own alert level.
        min_level: warden_event::ThreatLevel::Low,
        learn_until: None,
    }
}

impl GraphDetector {
    /// One graph event through the finders; their alerts keyed by finding and level.
    fn observe(&mut self, event: &GraphEvent, out: &mut Findings) {
        self.unsaved += 1;
        for mut a in self.hunter.observe(event) {
            a.key = content_hash(&[&a.key, a.level.as_str()]);
            out.alerts.push(a);
        }
    }
}

impl Detector for GraphDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Graph
    }

    /// The record's own graph event, then what the detectors before this one found in it
    /// (rule detections, a behavioural score) as steps of the progression finder.
    fn process(&mut self, input: &Input, cx: &Cx<'_>, out: &mut Findings) {
        match &input.record {
            Record::Log(e) => {
                let given = Given {
                    record_id: e.record_id,
                    time: e.timestamp_ms.map(Timestamp).or(Some(cx.now)),
                    source: e.source.as_deref(),
                    line: e.line.unwrap_or(0),
                };
                if let Some(event) =
                    windows_event(&e.doc, &given).or_else(|| self.linux.event(&e.doc, &given))
                {
                    self.observe(&event, out);
                }
                let fallback = || EventRef::Line {
                    source: e.source.clone().unwrap_or_default(),
                    line: e.line.unwrap_or(0),
                };
                let found: Vec<GraphEvent> = out
                    .verdicts
                    .iter()
                    .filter_map(|v| match v {
                        Verdict::Detections(d) => Some(d),
                        _ => None,
                    })
                    .flatten()
                    .filter_map(|d| detection_event(d, fallback()))
                    .collect();
                for event in &found {
                    self.observe(event, out);
                }
            }
            Record::Activity(a) => {
                if let Some(event) = activity_event(a) {
                    self.observe(&event, out);
                }
                let step = out.verdicts.iter().find_map(|v| match v {
                    Verdict::Score(s) => anomaly_event(s, a),
                    _ => None,
                });
                if let Some(event) = step {
                    self.observe(&event, out);
                }
            }
            Record::Flow(f) => {
                let line = EventRef::Line {
                    source: f.source.clone(),
                    line: f.line,
                };
                if let Some(event) = flow_event(&f.record, line) {
                    self.observe(&event, out);
                }
            }
        }
    }
}
