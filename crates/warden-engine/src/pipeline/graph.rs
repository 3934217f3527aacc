//! The entity graph as a pipeline detector: every Windows log event the graph reads (logons,
//! privileges, group changes, tickets, process starts and accesses, connections) is added
//! to the tenant's graph and judged by its finders; findings become alerts of kind `graph`.
//!
//! A finding is reported each time it rises or grows. Each level gets its own alert key
//! (the finding's key and the level): the store keeps one alert per level reached, and a
//! report that grows a level's path replaces that alert's body (warden-store updates graph
//! alerts by key); a replay of the same events changes nothing. The graph is bounded
//! per tenant ([`GraphLimits`]): past the limit, known edges are still updated and new ones
//! are counted, not kept.

use warden_event::{DetectorKind, Input, Record, Timestamp, content_hash};
use warden_graph::extract::{Given, windows_event};
use warden_graph::snapshot::{self, SnapshotError};
use warden_graph::{HuntConfig, Hunter};

use super::{Cx, Detector, Findings};

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
        GraphDetector { hunter, unsaved: 0 }
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

impl Detector for GraphDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Graph
    }

    fn process(&mut self, input: &Input, cx: &Cx<'_>, out: &mut Findings) {
        let Record::Log(e) = &input.record else {
            return;
        };
        let given = Given {
            record_id: e.record_id,
            time: e.timestamp_ms.map(Timestamp).or(Some(cx.now)),
            source: e.source.as_deref(),
            line: e.line.unwrap_or(0),
        };
        let Some(event) = windows_event(&e.doc, &given) else {
            return;
        };
        self.unsaved += 1;
        for mut a in self.hunter.observe(&event) {
            a.key = content_hash(&[&a.key, a.level.as_str()]);
            out.alerts.push(a);
        }
    }
}
