//! The network finders as a pipeline detector: a tenant's Zeek `conn` and `dns` records
//! (log documents with `_path`, or of that shape) are kept over a sliding window of event
//! time, and the finders of [`crate::network`] run over the window each time event time
//! passes an evaluation boundary, and at the end of a stream. Findings become alerts of
//! kind `flow` with the detector id `network/<finder>` ([`crate::network::alert`]).
//!
//! Each finding is reported once per level and period (its key); one evaluation may find
//! more than a record may carry (the pipeline's cap), so what is left waits for the next
//! records. The window is bounded by time (`window_secs`) and by count (`max_records`,
//! the oldest go first); the set of keys already reported forgets periods that have left
//! the window.

use std::collections::{HashMap, VecDeque};

use warden_event::{Alert, DetectorKind, Input, Record};

use super::{Cx, Detector, Findings};
use crate::network::{NetworkConfig, NetworkHunter, alert::to_alert};

/// [`NetworkHunter`] over a sliding window, behind the pipeline.
pub struct NetworkDetector {
    hunter: NetworkHunter,
    /// Event time (epoch seconds) from which the next evaluation runs.
    next_evaluation: Option<f64>,
    /// Keys reported, with the event time they were reported at.
    reported: HashMap<String, f64>,
    pending: VecDeque<Alert>,
    evaluations: u64,
}

impl NetworkDetector {
    pub fn new(config: NetworkConfig) -> Self {
        NetworkDetector {
            hunter: NetworkHunter::windowed(config.clone(), config.max_records),
            next_evaluation: None,
            reported: HashMap::new(),
            pending: VecDeque::new(),
            evaluations: 0,
        }
    }

    /// Records in the window, and how many times the finders ran.
    pub fn stats(&self) -> (usize, u64) {
        let (conns, dns) = self.hunter.counts();
        (conns + dns, self.evaluations)
    }

    fn boundary_after(&self, ts: f64) -> f64 {
        let every = self.hunter.config.evaluate_every_secs.max(1.0);
        ((ts / every).floor() + 1.0) * every
    }

    /// Forgets what left the window, runs the finders and queues what is new.
    fn evaluate(&mut self, cx: &Cx<'_>) {
        let Some(latest) = self.hunter.latest() else {
            return;
        };
        let window = self.hunter.config.window_secs;
        self.hunter.forget_before(latest - window);
        self.reported.retain(|_, at| *at >= latest - 2.0 * window);
        self.evaluations += 1;
        for f in self.hunter.findings() {
            if !cx.alerts_at(f.level) {
                continue;
            }
            let a = to_alert(cx.tenant, &f, window);
            if self.reported.insert(a.key.clone(), latest).is_none() {
                self.pending.push_back(a);
            }
        }
    }

    /// Queued alerts, as many as the record may still carry.
    fn release(&mut self, cx: &Cx<'_>, out: &mut Findings) {
        let room = cx
            .options
            .max_alerts_per_record
            .saturating_sub(out.alerts.len());
        let n = room.min(self.pending.len());
        out.alerts.extend(self.pending.drain(..n));
    }
}

impl Detector for NetworkDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Flow
    }

    fn process(&mut self, input: &Input, cx: &Cx<'_>, out: &mut Findings) {
        if let Record::Log(e) = &input.record
            && let Some(ts) = self.hunter.add(&e.doc)
        {
            match self.next_evaluation {
                None => self.next_evaluation = Some(self.boundary_after(ts)),
                Some(due) if ts >= due => {
                    self.evaluate(cx);
                    self.next_evaluation = Some(self.boundary_after(ts));
                }
                Some(_) => {}
            }
        }
        self.release(cx, out);
    }

    fn finish(&mut self, cx: &Cx<'_>, out: &mut Findings) {
        self.evaluate(cx);
        out.alerts.extend(self.pending.drain(..));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Pipeline, PipelineOptions};
    use warden_event::{AlertDetail, LogEvent, Timestamp};

    fn conn(ts: f64, uid: &str, dst: &str, port: u16, state: &str) -> Input {
        let doc = serde_json::json!({"_path": "conn", "ts": ts, "uid": uid,
            "id.orig_h": "10.9.9.9", "id.orig_p": 40000, "id.resp_h": dst, "id.resp_p": port,
            "proto": "tcp", "conn_state": state, "duration": 0.0});
        Input::log(LogEvent::of(doc), 200)
    }

    /// A port scan at t0, then ordinary records an hour later.
    fn scan_then_quiet(t0: f64) -> Vec<Input> {
        let mut v: Vec<Input> = (0..60u16)
            .map(|p| {
                conn(
                    t0 + f64::from(p),
                    &format!("S{p}"),
                    "10.0.0.2",
                    1000 + p,
                    "REJ",
                )
            })
            .collect();
        v.extend((0..5).map(|i| {
            conn(
                t0 + 3600.0 + f64::from(i),
                &format!("Q{i}"),
                "10.0.0.3",
                443,
                "SF",
            )
        }));
        v
    }

    fn pipeline() -> Pipeline {
        let mut p = Pipeline::new("t", PipelineOptions::default());
        p.add(Box::new(NetworkDetector::new(NetworkConfig::default())));
        p
    }

    #[test]
    fn a_scan_is_one_alert_once_event_time_passes_the_boundary() {
        let mut p = pipeline();
        let t0 = 1_777_000_000.0;
        let out = p.process(&scan_then_quiet(t0), Timestamp(0));
        assert_eq!(out.alerts.len(), 1, "{:?}", out.alerts);
        let a = &out.alerts[0].1;
        assert_eq!(a.detector.id, "network/port_scan");
        assert_eq!(a.subject, "10.9.9.9");
        assert!(matches!(&a.detail, AlertDetail::Network(n) if n.records == 60));
        assert_eq!(a.evidence.len(), crate::network::MAX_EVIDENCE);
        // Replaying the same records, or more of the same period, raises nothing new.
        assert!(
            p.process(&scan_then_quiet(t0), Timestamp(0))
                .alerts
                .is_empty()
        );
        assert!(p.finish(Timestamp(0)).is_empty());
    }

    #[test]
    fn what_is_still_open_at_the_end_is_found_by_finish() {
        let mut p = pipeline();
        let t0 = 1_777_000_000.0;
        let scan: Vec<Input> = scan_then_quiet(t0).into_iter().take(60).collect();
        assert!(p.process(&scan, Timestamp(0)).alerts.is_empty());
        let rest = p.finish(Timestamp(0));
        assert_eq!(rest.len(), 1);
        let d = p.detector::<NetworkDetector>().unwrap();
        assert_eq!(d.stats(), (60, 1));
    }

    #[test]
    fn the_window_forgets_old_records_and_other_documents_pass_by() {
        let mut p = pipeline();
        let t0 = 1_777_000_000.0;
        let mut inputs = scan_then_quiet(t0);
        inputs.push(Input::log(
            LogEvent::of(serde_json::json!({"EventID": 4624})),
            20,
        ));
        // Two days later: the scan has left the window.
        inputs.push(conn(t0 + 2.0 * 86_400.0, "L1", "10.0.0.3", 443, "SF"));
        inputs.push(conn(
            t0 + 2.0 * 86_400.0 + 3600.0,
            "L2",
            "10.0.0.3",
            443,
            "SF",
        ));
        let out = p.process(&inputs, Timestamp(0));
        assert_eq!(out.alerts.len(), 1);
        let d = p.detector::<NetworkDetector>().unwrap();
        assert_eq!(d.stats().0, 2);
    }
}
