//! The outputs a worker sends its alerts to besides the alert topic — syslog (CEF, LEEF),
//! JSON Lines files, Splunk HEC, Elasticsearch, webhooks: `warden-outputs` — at least once.
//!
//! A batch's alerts are handed to the outputs and the worker waits until every output is
//! done with them (delivered, or given up on after its retries) before it writes them to
//! the alert topic and commits their offsets. A worker that dies before that leaves the
//! alerts off the alert topic and the offsets uncommitted, so the partition's next owner
//! detects them again and sends them again: an output may see an alert twice (its identity
//! is the same), never not at all. An output that cannot deliver slows the worker down
//! rather than losing alerts.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use warden_event::Alert;
use warden_outputs::{Delivery, OutputConfig, OutputReport, Outputs};

/// How long a worker's end waits for the outputs to drain.
const DRAIN: Duration = Duration::from_secs(30);
/// How often a waiting batch looks at the outputs' progress.
const POLL: Duration = Duration::from_millis(5);
/// How long a batch still waits for the outputs once the worker is told to stop (a
/// graceful stop finishes its last batch when the outputs can take it).
const GRACE: Duration = Duration::from_secs(10);

/// Whether a wait gives up: told to stop, and past the grace period since.
struct GiveUp<F> {
    stopping: F,
    since: Option<std::time::Instant>,
}

impl<F: Fn() -> bool> GiveUp<F> {
    fn new(stopping: F) -> Self {
        GiveUp {
            stopping,
            since: None,
        }
    }

    fn now(&mut self) -> bool {
        if !(self.stopping)() {
            return false;
        }
        let since = *self.since.get_or_insert_with(std::time::Instant::now);
        since.elapsed() >= GRACE
    }
}

/// A worker's outputs, on a small runtime of their own.
pub struct WorkerOutputs {
    /// Always `Some` until dropped (see `Drop`).
    rt: Option<tokio::runtime::Runtime>,
    outputs: Option<Outputs>,
    /// The number of the last alert handed over.
    seq: AtomicI64,
}

impl std::fmt::Debug for WorkerOutputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOutputs")
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

/// What a batch waits for: per output, the number it must have finished with.
type Targets = Vec<(usize, i64)>;

impl WorkerOutputs {
    /// Starts the outputs (validated configurations).
    pub fn start(configs: &[OutputConfig]) -> std::io::Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("warden-outputs")
            .enable_all()
            .build()?;
        let outputs = {
            let _guard = rt.enter();
            Outputs::start(configs)
        };
        Ok(WorkerOutputs {
            rt: Some(rt),
            outputs: Some(outputs),
            seq: AtomicI64::new(0),
        })
    }

    fn outputs(&self) -> Option<&Outputs> {
        self.outputs.as_ref()
    }

    /// Numbers the alerts; returns them as deliveries and what each output must reach.
    fn number(&self, alerts: &[Alert]) -> (Vec<Delivery>, Targets) {
        let Some(outputs) = self.outputs() else {
            return (Vec::new(), Vec::new());
        };
        let mut targets: Targets = Vec::new();
        let deliveries = alerts
            .iter()
            .map(|a| {
                let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
                for i in (0..outputs.len()).filter(|&i| outputs.wants(i, a.level)) {
                    match targets.iter_mut().find(|(o, _)| *o == i) {
                        Some(t) => t.1 = seq,
                        None => targets.push((i, seq)),
                    }
                }
                Delivery::sequenced(seq, Arc::new(a.clone()))
            })
            .collect();
        (deliveries, targets)
    }

    fn reached(&self, targets: &Targets) -> bool {
        self.outputs()
            .is_some_and(|o| targets.iter().all(|&(i, t)| o.done_to(i) >= t))
    }

    /// Where a waiting batch stands: `Some(true)` sent, `Some(false)` given up, `None`
    /// still waiting.
    fn settled<F: Fn() -> bool>(&self, targets: &Targets, give_up: &mut GiveUp<F>) -> Option<bool> {
        if self.reached(targets) {
            Some(true)
        } else if give_up.now() {
            Some(false)
        } else {
            None
        }
    }

    /// Hands the alerts to the outputs and waits until they are done with them; `false`
    /// when `stopping` has said so for 10 s first (the alerts then count as not sent). For
    /// synchronous callers.
    pub fn send_blocking(&self, alerts: &[Alert], stopping: impl Fn() -> bool) -> bool {
        let (deliveries, targets) = self.number(alerts);
        let Some(outputs) = self.outputs() else {
            return true;
        };
        for d in &deliveries {
            outputs.dispatch_wait(d);
        }
        let mut give_up = GiveUp::new(stopping);
        loop {
            if let Some(sent) = self.settled(&targets, &mut give_up) {
                return sent;
            }
            std::thread::sleep(POLL);
        }
    }

    /// The same, for asynchronous callers.
    pub async fn send(&self, alerts: &[Alert], stopping: impl Fn() -> bool) -> bool {
        let (deliveries, targets) = self.number(alerts);
        let Some(outputs) = self.outputs() else {
            return true;
        };
        for d in deliveries {
            for i in (0..outputs.len()).filter(|&i| outputs.wants(i, d.level())) {
                if !outputs.send_to(i, d.clone()).await {
                    outputs.count_dropped(i);
                }
            }
        }
        let mut give_up = GiveUp::new(stopping);
        loop {
            if let Some(sent) = self.settled(&targets, &mut give_up) {
                return sent;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Drains the outputs (up to 30 s) and reports what each did. Call it outside any
    /// asynchronous runtime.
    pub fn finish(mut self) -> Vec<OutputReport> {
        match (self.rt.take(), self.outputs.take()) {
            (Some(rt), Some(outputs)) => rt.block_on(outputs.finish(DRAIN)),
            _ => Vec::new(),
        }
    }
}

impl Drop for WorkerOutputs {
    /// The runtime may be dropped where blocking is not allowed: it is shut down in the
    /// background.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::{ThreatLevel, ThreatScore};

    fn alert(user: &str, level: ThreatLevel) -> Alert {
        let s = ThreatScore {
            event_id: Some(format!("e-{user}")),
            user_id: user.to_owned(),
            timestamp: "2026-03-02T03:00:00Z".into(),
            threat_score: 80.0,
            threat_level: level,
            primary_anomalies: Vec::new(),
            confidence: 0.9,
            isolation_forest_score: None,
            lstm_autoencoder_score: None,
            xgboost_ensemble_score: None,
            models_unavailable: Vec::new(),
            models_sampled: false,
            impossible_travel_detected: false,
            unusual_time_detected: true,
            unusual_volume_detected: false,
            unusual_resources_detected: false,
            behavioral_deviation_score: 0.7,
            recommended_actions: Vec::new(),
            explanation: "a 3 a.m. login".into(),
            learning: false,
            anomalies: Vec::new(),
            cited_events: Vec::new(),
            features: None,
        };
        Alert::from_threat_score("default", &s)
    }

    #[test]
    fn a_batch_returns_once_the_file_output_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        let url = format!("file://{}", path.display());
        let cfg = OutputConfig::from_url(&url, 1).unwrap();
        let out = WorkerOutputs::start(&[cfg]).unwrap();
        let batch = [
            alert("ana", ThreatLevel::High),
            alert("bo", ThreatLevel::Critical),
        ];
        assert!(out.send_blocking(&batch, || false));
        // Done means written: the file holds both before the call returned.
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        let reports = out.finish();
        assert_eq!(reports[0].delivered, 2);
    }

    #[test]
    fn a_batch_waits_for_an_output_that_cannot_deliver_until_it_gives_up() {
        // A TCP syslog receiver that does not exist: the output retries with backoff, then
        // gives up; only then is the batch done with.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = OutputConfig::from_url(&format!("syslog+tcp://127.0.0.1:{port}"), 1).unwrap();
        let out = WorkerOutputs::start(&[cfg]).unwrap();
        let started = std::time::Instant::now();
        assert!(out.send_blocking(&[alert("ana", ThreatLevel::High)], || false));
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "held while the output retried"
        );
        let reports = out.finish();
        assert_eq!((reports[0].delivered, reports[0].failed), (0, 1));
    }
}
