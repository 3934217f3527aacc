//! Alert outputs: where Warden's alerts go besides its own store and screen. Shared by
//! `warden serve` (every stored alert) and the CLI (`--output URL`, an outputs file).
//!
//! The kinds ([`OutputConfig`]):
//!
//! - **syslog** — RFC 5424 messages carrying an ArcSight CEF or IBM QRadar LEEF line
//!   ([`format`](mod@format)), over UDP, TCP or TLS (octet-counted framing on TCP and TLS,
//!   RFC 6587 / RFC 5425);
//! - **file** — one JSON document per line (JSON Lines), appended;
//! - **splunk_hec** — the Splunk HTTP Event Collector ([`http`]);
//! - **elasticsearch** — Elasticsearch / OpenSearch `_bulk` with ECS documents ([`http`]);
//! - **webhook** — one JSON POST per alert, signed with HMAC-SHA256 ([`webhook`]).
//!
//! The crate owns the configuration ([`config`]: the `[[outputs]]` tables and the
//! `--output` URLs), the formats, and the running side ([`Outputs`]): one bounded queue and
//! one Tokio task per output.
//!
//! **Failure isolation.** Handing an alert over ([`Outputs::dispatch`]) never waits: when
//! an output's queue is full the alert is dropped *for that output only* and counted
//! (`warden_output_dropped_total`); the caller and the other outputs carry on. A slow or
//! unreachable receiver holds up only its own output.
//!
//! **Retries.** A failed write is retried with exponential backoff (0.2 s doubling up to
//! 5 s, `retries` times), reconnecting or reopening as needed, and then counted as failed.
//! The HTTP outputs send what waits in their queue as one batch (up to `batch` alerts per
//! request); Elasticsearch documents have stable ids and are created, never overwritten, so
//! a retried batch never indexes an alert twice.
//!
//! **Ending a run.** [`Outputs::finish`] closes the queues, lets every output deliver what
//! is waiting (within a time limit) and reports, per output, what was delivered, failed,
//! dropped or left pending.
//!
//! ```
//! use warden_outputs::{OutputConfig, OutputsFile};
//!
//! let file = OutputsFile::parse(
//!     r#"
//!     [[outputs]]
//!     kind = "file"
//!     name = "archive"
//!     path = "/var/log/warden/alerts.jsonl"
//!     min_level = "HIGH"
//!     "#,
//! )?;
//! assert_eq!(file.outputs[0].name(), "archive");
//! assert!(matches!(file.outputs[0], OutputConfig::File { .. }));
//!
//! let siem = OutputConfig::from_url("syslog+udp://siem.example:514?format=leef", 1)?;
//! assert_eq!(siem.name(), "syslog-1");
//! # Ok::<(), warden_outputs::OutputError>(())
//! ```

pub mod config;
pub mod format;
pub mod http;
mod spec;
pub mod spreadsheet;
mod tls;
pub mod webhook;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use warden_event::{Alert, ThreatLevel};

pub use config::{LineFormat, OutputConfig, OutputsFile, Transport};
pub use http::Secret;

/// One alert handed to the outputs.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The alert's id in the store, when it was stored (the service); `None` in a CLI run.
    pub id: Option<i64>,
    pub alert: Arc<Alert>,
    /// A position that is not a store id (a log worker numbers what it hands over): what
    /// [`OutputMetrics::done_to`] reports for an alert without a store id.
    pub seq: Option<i64>,
}

impl Delivery {
    pub fn new(id: Option<i64>, alert: Arc<Alert>) -> Self {
        Delivery {
            id,
            alert,
            seq: None,
        }
    }

    /// An alert without a store id, numbered by its sender (see [`Delivery::seq`]).
    pub fn sequenced(seq: i64, alert: Arc<Alert>) -> Self {
        Delivery {
            id: None,
            alert,
            seq: Some(seq),
        }
    }

    /// The alert's threat level.
    pub fn level(&self) -> ThreatLevel {
        self.alert.level
    }

    /// The id outputs show: the store id, else the alert's key (else, for an alert
    /// without a key, a hash of what identifies it).
    pub fn external_id(&self) -> String {
        match self.id {
            Some(id) => id.to_string(),
            None if !self.alert.key.is_empty() => self.alert.key.clone(),
            None => content_key(&self.alert),
        }
    }
}

/// A stable hash of what identifies an alert, for alerts that have no store id.
pub(crate) fn content_key(a: &Alert) -> String {
    warden_event::content_hash(&[&a.key, &a.detector.id, &a.timestamp, &a.subject])
}

/// What went wrong with an output's configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// An output's settings, named by the output.
    #[error("outputs.{name}: {reason}")]
    Invalid { name: String, reason: String },
    /// An outputs file that cannot be read, parsed or used.
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    /// Outputs text (TOML) that does not parse.
    #[error("invalid outputs: {reason}")]
    Parse { reason: String },
    /// An `--output URL` the CLI was given.
    #[error("output `{spec}`: {reason}")]
    Url { spec: String, reason: String },
}

/// Counters of one output.
#[derive(Debug, Default)]
pub struct OutputMetrics {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
    /// The highest store id (else [`Delivery::seq`]) among the alerts the output has
    /// finished with (delivered, or given up on after every retry); 0 before any.
    pub done_to: AtomicI64,
}

/// What one output did, at the end of a run ([`Outputs::finish`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputReport {
    pub name: String,
    /// Alerts the receiver took.
    pub delivered: u64,
    /// Alerts given up on after every retry.
    pub failed: u64,
    /// Alerts not queued because the output's queue was full.
    pub dropped: u64,
    /// Delivery attempts repeated.
    pub retries: u64,
    /// Alerts queued but neither delivered nor failed when the time ran out.
    pub pending: u64,
}

/// Picks one counter of an output's metrics.
type Counter = fn(&OutputMetrics) -> &AtomicU64;

struct Running {
    name: String,
    min_level: ThreatLevel,
    tx: mpsc::Sender<Delivery>,
    metrics: Arc<OutputMetrics>,
    /// Alerts put in the queue.
    accepted: AtomicU64,
    capacity: usize,
    task: JoinHandle<()>,
}

impl Running {
    fn waiting(&self) -> usize {
        self.capacity.saturating_sub(self.tx.capacity())
    }
}

/// The running outputs.
#[derive(Default)]
pub struct Outputs {
    running: Vec<Running>,
}

impl std::fmt::Debug for Outputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.running.iter().map(|r| &r.name))
            .finish()
    }
}

impl Outputs {
    /// Starts one task per configured output. Needs a Tokio runtime (unless `configs` is
    /// empty). The configurations are expected to be validated.
    pub fn start(configs: &[OutputConfig]) -> Outputs {
        let running = configs
            .iter()
            .map(|c| {
                let (tx, rx) = mpsc::channel(c.queue());
                let metrics = Arc::new(OutputMetrics::default());
                let task = tokio::spawn(worker::run(c.clone(), rx, metrics.clone()));
                Running {
                    name: c.name().to_owned(),
                    min_level: c.min_level(),
                    tx,
                    metrics,
                    accepted: AtomicU64::new(0),
                    capacity: c.queue(),
                    task,
                }
            })
            .collect();
        Outputs { running }
    }

    /// Hands an alert to every output that wants it (at or above its level); never waits.
    pub fn dispatch(&self, d: &Delivery) {
        for r in &self.running {
            if d.level() < r.min_level {
                continue;
            }
            if r.tx.try_send(d.clone()).is_ok() {
                r.accepted.fetch_add(1, Ordering::Relaxed);
            } else {
                r.metrics.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Hands an alert to every output that wants it, waiting while a queue is full: for
    /// a batch run that would rather slow down than drop. Call it outside the runtime's
    /// threads (it blocks).
    pub fn dispatch_wait(&self, d: &Delivery) {
        for r in &self.running {
            if d.level() < r.min_level {
                continue;
            }
            if r.tx.blocking_send(d.clone()).is_ok() {
                r.accepted.fetch_add(1, Ordering::Relaxed);
            } else {
                // The worker is gone (it only stops when the queue closes).
                r.metrics.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The name of output `i` (in the order of the configuration).
    pub fn name(&self, i: usize) -> Option<&str> {
        self.running.get(i).map(|r| r.name.as_str())
    }

    /// Whether output `i` takes alerts of this level.
    pub fn wants(&self, i: usize, level: ThreatLevel) -> bool {
        self.running.get(i).is_some_and(|r| level >= r.min_level)
    }

    /// Puts an alert in output `i`'s queue if there is room; never waits, counts nothing
    /// as dropped (the caller decides what a full queue means).
    pub fn try_send_to(&self, i: usize, d: &Delivery) -> bool {
        let Some(r) = self.running.get(i) else {
            return false;
        };
        let sent = r.tx.try_send(d.clone()).is_ok();
        if sent {
            r.accepted.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Puts an alert in output `i`'s queue, waiting for room; `false` when the output has
    /// stopped.
    pub async fn send_to(&self, i: usize, d: Delivery) -> bool {
        let Some(r) = self.running.get(i) else {
            return false;
        };
        let sent = r.tx.send(d).await.is_ok();
        if sent {
            r.accepted.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// The highest store id output `i` has finished with (see [`OutputMetrics::done_to`]).
    pub fn done_to(&self, i: usize) -> i64 {
        self.running
            .get(i)
            .map_or(0, |r| r.metrics.done_to.load(Ordering::Relaxed))
    }

    /// Counts an alert output `i` did not take.
    pub fn count_dropped(&self, i: usize) {
        if let Some(r) = self.running.get(i) {
            r.metrics.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// How many outputs run.
    pub fn len(&self) -> usize {
        self.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// Each output's queue: `(name, waiting, capacity)`.
    pub fn queues(&self) -> Vec<(String, usize, usize)> {
        self.running
            .iter()
            .map(|r| (r.name.clone(), r.waiting(), r.capacity))
            .collect()
    }

    /// Prometheus lines for the outputs.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let series: [(&str, &str, Counter); 4] = [
            (
                "warden_output_delivered_total",
                "Alerts delivered, per output.",
                |m| &m.delivered,
            ),
            (
                "warden_output_failed_total",
                "Alerts given up after retries, per output.",
                |m| &m.failed,
            ),
            (
                "warden_output_dropped_total",
                "Alerts dropped because the output's queue was full.",
                |m| &m.dropped,
            ),
            (
                "warden_output_retries_total",
                "Delivery retries, per output.",
                |m| &m.retries,
            ),
        ];
        for (name, help, get) in series {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} counter\n"));
            for r in &self.running {
                out.push_str(&format!(
                    "{name}{{output=\"{}\"}} {}\n",
                    r.name,
                    get(&r.metrics).load(Ordering::Relaxed)
                ));
            }
        }
        out.push_str(
            "# HELP warden_output_queue_depth Alerts waiting, per output.\n\
             # TYPE warden_output_queue_depth gauge\n",
        );
        for r in &self.running {
            out.push_str(&format!(
                "warden_output_queue_depth{{output=\"{}\"}} {}\n",
                r.name,
                r.waiting()
            ));
        }
        out
    }

    /// Closes every queue, waits (up to `timeout` in all) for each output to deliver what
    /// is queued, and reports what each did. Outputs still busy when the time is up are
    /// stopped; what they had not delivered is reported as pending.
    pub async fn finish(self, timeout: Duration) -> Vec<OutputReport> {
        let deadline = tokio::time::Instant::now() + timeout;
        // Close all the queues first, so every output drains at the same time.
        let closing: Vec<_> = self
            .running
            .into_iter()
            .map(|r| {
                let Running {
                    name,
                    tx,
                    metrics,
                    accepted,
                    mut task,
                    ..
                } = r;
                drop(tx);
                async move {
                    if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                        task.abort();
                        // Resolves at once: the task is cancelled at its next await.
                        let _ = task.await;
                    }
                    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
                    let (delivered, failed) = (get(&metrics.delivered), get(&metrics.failed));
                    OutputReport {
                        name,
                        delivered,
                        failed,
                        dropped: get(&metrics.dropped),
                        retries: get(&metrics.retries),
                        pending: get(&accepted).saturating_sub(delivered + failed),
                    }
                }
            })
            .collect();
        let mut reports = Vec::with_capacity(closing.len());
        for c in closing {
            reports.push(c.await);
        }
        reports
    }
}

/// Now, RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    warden_event::Timestamp(ms).to_rfc3339()
}

#[cfg(test)]
mod testutil;

#[cfg(test)]
mod tests;
