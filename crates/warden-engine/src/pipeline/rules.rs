//! Sigma rules as a pipeline detector: every log event is matched (its verdict is the list
//! of detections), correlations are kept across batches, and each detection becomes an
//! alert scored by its rule's level with the event as evidence.

use std::sync::Arc;

use warden_event::{DetectorKind, Input, Record};
use warden_sigma::RuleSet;
use warden_sigma::correlation::CorrelationState;

use super::{Cx, Detector, Findings, Verdict};
use crate::sigma::{DocContext, SigmaDetector};

/// [`SigmaDetector`] behind the pipeline.
#[derive(Debug)]
pub struct RulesDetector {
    sigma: SigmaDetector,
}

impl RulesDetector {
    pub fn new(set: Arc<RuleSet>) -> Self {
        RulesDetector {
            sigma: SigmaDetector::new(set),
        }
    }

    /// With at most `max_groups` correlation groups per correlation rule.
    pub fn with_max_groups(set: Arc<RuleSet>, max_groups: usize) -> Self {
        RulesDetector {
            sigma: SigmaDetector::with_max_groups(set, max_groups),
        }
    }

    pub fn sigma(&self) -> &SigmaDetector {
        &self.sigma
    }

    /// Correlation windows, for a checkpoint ([`SigmaDetector::correlation_state`]).
    pub fn correlation_state(&self) -> CorrelationState {
        self.sigma.correlation_state()
    }

    /// Goes on from saved windows; returns the correlations dropped (rules changed).
    pub fn restore_correlations(&mut self, state: CorrelationState) -> usize {
        self.sigma.restore_correlations(state)
    }
}

impl Detector for RulesDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Sigma
    }

    fn process(&mut self, input: &Input, cx: &Cx<'_>, out: &mut Findings) {
        let Record::Log(e) = &input.record else {
            return;
        };
        let ctx = DocContext {
            file: e.source.as_deref(),
            record_id: e.record_id,
            timestamp_ms: e.timestamp_ms,
            line: e.line,
        };
        let found = self.sigma.process(&e.doc, &ctx);
        if !found.is_empty() {
            let now = cx.now.to_rfc3339();
            for d in &found {
                out.alerts.push(crate::alerts::from_sigma(
                    cx.tenant,
                    d,
                    Some(e),
                    &cx.options.actions,
                    &now,
                ));
            }
        }
        out.verdicts.push(Verdict::Detections(found));
    }

    fn finish(&mut self, cx: &Cx<'_>, out: &mut Findings) {
        let now = cx.now.to_rfc3339();
        for d in self.sigma.finish() {
            out.alerts.push(crate::alerts::from_sigma(
                cx.tenant,
                &d,
                None,
                &cx.options.actions,
                &now,
            ));
        }
    }
}
