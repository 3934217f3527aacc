//! A network-flow model as a pipeline detector: every flow of the model's format is
//! assessed (its verdict is the assessment: score, threshold, the features that weighed
//! most); an anomalous one becomes an alert on the `network` channel with the flow line as
//! evidence. Scoring is stateless, so one detector can serve every tenant, and a pipeline
//! of it alone is cheap to build per request.

use std::sync::Arc;

use warden_event::{DetectorKind, Input, LevelThresholds, Record, Timestamp};

use super::{Cx, Detector, Findings, Verdict};
use crate::alerts::{FlowSource, from_flow};
use crate::models::LoadedModel;

/// A loaded flow model behind the pipeline.
#[derive(Debug)]
pub struct FlowDetector {
    model: Arc<LoadedModel>,
    names: Vec<String>,
    row: Vec<f32>,
    levels: LevelThresholds,
}

impl FlowDetector {
    /// `levels`: the score bounds that turn a flow's score into a level.
    pub fn new(model: Arc<LoadedModel>, levels: LevelThresholds) -> Self {
        let names = model.file.schema.feature_names();
        let row = Vec::with_capacity(model.file.schema.width());
        FlowDetector {
            model,
            names,
            row,
            levels,
        }
    }

    pub fn model(&self) -> &LoadedModel {
        &self.model
    }
}

impl Detector for FlowDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Flow
    }

    fn process(&mut self, input: &Input, cx: &Cx<'_>, out: &mut Findings) {
        let Record::Flow(f) = &input.record else {
            return;
        };
        if f.format != self.model.file.schema.format {
            return;
        }
        let a = self.model.assess(&f.record, &self.names, &mut self.row);
        if a.anomalous {
            let o = &f.record.origin;
            let source = FlowSource {
                model: &self.model.label,
                format: f.format.name(),
                source: &f.source,
                line: f.line,
                raw: &f.raw,
                src_ip: o.src_ip.as_deref(),
                dst_ip: o.dst_ip.as_deref(),
                timestamp: o.timestamp_ms.map(|t| Timestamp(t).to_rfc3339()),
            };
            let now = cx.now.to_rfc3339();
            out.alerts.push(from_flow(
                cx.tenant,
                &a,
                &source,
                &self.levels,
                &cx.options.actions,
                &now,
            ));
        }
        out.verdicts.push(Verdict::Flow(Box::new(a)));
    }
}
