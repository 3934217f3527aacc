//! Alert outputs configured in `[[outputs]]`: syslog (RFC 5424 over UDP or TCP) carrying
//! CEF or LEEF, a JSON Lines file, the Splunk HTTP Event Collector and Elasticsearch /
//! OpenSearch `_bulk` with ECS documents ([`http`]). Every stored alert at or above an
//! output's level is handed to it after the commit; the HTTP outputs send what is waiting
//! in their queue as one batch (up to `batch` alerts per request).
//!
//! Failure isolation: each output has its own bounded queue and its own task. Handing over
//! never waits — when a queue is full the alert is dropped *for that output only* and
//! counted (`warden_output_dropped_total`); ingestion, the store, the stream and the other
//! outputs carry on. A failed write is retried with exponential backoff (0.2 s doubling to
//! 5 s, `retries` times) and then counted as failed. The alerts themselves are always in the
//! store, so anything an output missed can be re-exported from there.

pub mod format;
pub mod http;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use warden_event::ThreatLevel;

use crate::config::ConfigError;
use crate::routes::stream::Published;

/// One configured output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutputConfig {
    Syslog {
        name: String,
        /// `host:port` of the collector.
        address: String,
        #[serde(default)]
        transport: Transport,
        #[serde(default)]
        format: LineFormat,
        /// Syslog facility (0–23); 13 is "log audit".
        #[serde(default = "default_facility")]
        facility: u8,
        #[serde(default = "default_level")]
        min_level: ThreatLevel,
        #[serde(default = "default_queue")]
        queue: usize,
        #[serde(default = "default_retries")]
        retries: u32,
    },
    File {
        name: String,
        path: PathBuf,
        #[serde(default = "default_level")]
        min_level: ThreatLevel,
        #[serde(default = "default_queue")]
        queue: usize,
        #[serde(default = "default_retries")]
        retries: u32,
    },
    /// Splunk HTTP Event Collector.
    SplunkHec {
        name: String,
        /// The collector's event endpoint, e.g. `https://splunk:8088/services/collector/event`.
        url: String,
        /// The HEC token (or `env:NAME`).
        token: http::Secret,
        #[serde(default)]
        index: Option<String>,
        #[serde(default = "default_sourcetype")]
        sourcetype: String,
        #[serde(default = "default_level")]
        min_level: ThreatLevel,
        #[serde(default = "default_queue")]
        queue: usize,
        #[serde(default = "default_retries")]
        retries: u32,
        #[serde(default = "default_batch")]
        batch: usize,
        #[serde(default = "default_http_timeout")]
        timeout_secs: u64,
    },
    /// Elasticsearch or OpenSearch `_bulk`, ECS-shaped documents.
    Elasticsearch {
        name: String,
        /// The cluster's base address, e.g. `https://es:9200` (`/_bulk` is appended).
        url: String,
        #[serde(default = "default_index")]
        index: String,
        /// An API key (`Authorization: ApiKey …`), or `env:NAME`.
        #[serde(default)]
        api_key: Option<http::Secret>,
        /// Basic authentication, when no API key is given.
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<http::Secret>,
        #[serde(default = "default_level")]
        min_level: ThreatLevel,
        #[serde(default = "default_queue")]
        queue: usize,
        #[serde(default = "default_retries")]
        retries: u32,
        #[serde(default = "default_batch")]
        batch: usize,
        #[serde(default = "default_http_timeout")]
        timeout_secs: u64,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineFormat {
    #[default]
    Cef,
    Leef,
}

fn default_facility() -> u8 {
    13
}
fn default_level() -> ThreatLevel {
    ThreatLevel::Medium
}
fn default_queue() -> usize {
    10_000
}
fn default_retries() -> u32 {
    5
}
fn default_sourcetype() -> String {
    "warden:alert".into()
}
fn default_index() -> String {
    "warden-alerts".into()
}
fn default_batch() -> usize {
    500
}
fn default_http_timeout() -> u64 {
    10
}

impl OutputConfig {
    /// Name, level, queue size and retries: what every kind has.
    fn common(&self) -> (&str, ThreatLevel, usize, u32) {
        match self {
            OutputConfig::Syslog {
                name,
                min_level,
                queue,
                retries,
                ..
            }
            | OutputConfig::File {
                name,
                min_level,
                queue,
                retries,
                ..
            }
            | OutputConfig::SplunkHec {
                name,
                min_level,
                queue,
                retries,
                ..
            }
            | OutputConfig::Elasticsearch {
                name,
                min_level,
                queue,
                retries,
                ..
            } => (name, *min_level, *queue, *retries),
        }
    }

    pub fn name(&self) -> &str {
        self.common().0
    }

    fn min_level(&self) -> ThreatLevel {
        self.common().1
    }

    fn queue(&self) -> usize {
        self.common().2
    }

    fn retries(&self) -> u32 {
        self.common().3
    }

    /// Most alerts sent in one write.
    fn batch(&self) -> usize {
        match self {
            OutputConfig::SplunkHec { batch, .. } | OutputConfig::Elasticsearch { batch, .. } => {
                *batch
            }
            // One syslog message per alert (a UDP datagram each); the file is written
            // per alert so a crash loses at most the one being written.
            OutputConfig::Syslog { .. } | OutputConfig::File { .. } => 1,
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |reason: String| {
            Err(ConfigError::Invalid {
                key: format!("outputs.{}", self.name()),
                reason,
            })
        };
        if self.name().is_empty()
            || !self
                .name()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad("name: use letters, digits, `-`, `_`, `.`".into());
        }
        if !(1..=1_000_000).contains(&self.queue()) {
            return bad("queue must be between 1 and 1000000".into());
        }
        if self.retries() > 100 {
            return bad("retries must be at most 100".into());
        }
        if let OutputConfig::Syslog {
            address, facility, ..
        } = self
        {
            if *facility > 23 {
                return bad("facility must be between 0 and 23".into());
            }
            if !address.contains(':') {
                return bad(format!("address `{address}`: expected host:port"));
            }
        }
        if let OutputConfig::SplunkHec {
            url, timeout_secs, ..
        }
        | OutputConfig::Elasticsearch {
            url, timeout_secs, ..
        } = self
        {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(format!("url `{url}`: expected http:// or https://"));
            }
            if !(1..=10_000).contains(&self.batch()) {
                return bad("batch must be between 1 and 10000".into());
            }
            if !(1..=300).contains(timeout_secs) {
                return bad("timeout_secs must be between 1 and 300".into());
            }
        }
        match self {
            OutputConfig::SplunkHec { token, .. } => {
                token.resolve().map_err(|reason| ConfigError::Invalid {
                    key: format!("outputs.{}.token", self.name()),
                    reason,
                })?;
            }
            OutputConfig::Elasticsearch {
                api_key, password, ..
            } => {
                for (field, secret) in [("api_key", api_key), ("password", password)] {
                    if let Some(s) = secret {
                        s.resolve().map_err(|reason| ConfigError::Invalid {
                            key: format!("outputs.{}.{field}", self.name()),
                            reason,
                        })?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Counters of one output.
#[derive(Debug, Default)]
pub struct OutputMetrics {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
}

/// Picks one counter of an output's metrics.
type Counter = fn(&OutputMetrics) -> &AtomicU64;

struct Running {
    name: String,
    min_level: ThreatLevel,
    tx: mpsc::Sender<Arc<Published>>,
    metrics: Arc<OutputMetrics>,
    capacity: usize,
}

/// The running outputs.
#[derive(Default)]
pub struct Outputs {
    running: Vec<Running>,
}

impl Outputs {
    /// Starts one task per configured output (needs a Tokio runtime).
    pub fn start(configs: &[OutputConfig]) -> Outputs {
        let running = configs
            .iter()
            .map(|c| {
                let (tx, rx) = mpsc::channel(c.queue());
                let metrics = Arc::new(OutputMetrics::default());
                tokio::spawn(worker(c.clone(), rx, metrics.clone()));
                Running {
                    name: c.name().to_owned(),
                    min_level: c.min_level(),
                    tx,
                    metrics,
                    capacity: c.queue(),
                }
            })
            .collect();
        Outputs { running }
    }

    /// Hands a stored alert to every output that wants it; never waits.
    pub fn dispatch(&self, alert: &Arc<Published>) {
        for r in &self.running {
            if alert.level < r.min_level {
                continue;
            }
            if r.tx.try_send(alert.clone()).is_err() {
                r.metrics.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Each output's queue: `(name, waiting, capacity)`.
    pub fn queues(&self) -> Vec<(String, usize, usize)> {
        self.running
            .iter()
            .map(|r| {
                (
                    r.name.clone(),
                    r.capacity.saturating_sub(r.tx.capacity()),
                    r.capacity,
                )
            })
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
        out.push_str("# HELP warden_output_queue_depth Alerts waiting, per output.\n# TYPE warden_output_queue_depth gauge\n");
        for r in &self.running {
            out.push_str(&format!(
                "warden_output_queue_depth{{output=\"{}\"}} {}\n",
                r.name,
                r.capacity.saturating_sub(r.tx.capacity())
            ));
        }
        out
    }
}

/// Where a worker writes.
enum Sink {
    Udp(tokio::net::UdpSocket),
    Tcp(Option<tokio::net::TcpStream>),
    File(Option<tokio::fs::File>),
    Http,
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

async fn worker(cfg: OutputConfig, mut rx: mpsc::Receiver<Arc<Published>>, m: Arc<OutputMetrics>) {
    let host = host_name();
    let mut sink = match &cfg {
        OutputConfig::Syslog {
            transport: Transport::Udp,
            ..
        } => match tokio::net::UdpSocket::bind("0.0.0.0:0").await {
            Ok(s) => Sink::Udp(s),
            Err(e) => {
                eprintln!(
                    "error: output {}: cannot open a UDP socket: {e}",
                    cfg.name()
                );
                return;
            }
        },
        OutputConfig::Syslog { .. } => Sink::Tcp(None),
        OutputConfig::File { .. } => Sink::File(None),
        OutputConfig::SplunkHec { .. } | OutputConfig::Elasticsearch { .. } => Sink::Http,
    };
    let mut batch = Vec::with_capacity(cfg.batch());
    while let Some(first) = rx.recv().await {
        batch.clear();
        batch.push(first);
        while batch.len() < cfg.batch() {
            match rx.try_recv() {
                Ok(a) => batch.push(a),
                Err(_) => break,
            }
        }
        let payload = render(&cfg, &batch, &host);
        let mut delay = Duration::from_millis(200);
        let mut attempt = 0;
        loop {
            match write(&cfg, &mut sink, &payload).await {
                Ok(()) => {
                    m.delivered.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    break;
                }
                Err(e) if attempt < cfg.retries() => {
                    attempt += 1;
                    m.retries.fetch_add(1, Ordering::Relaxed);
                    if attempt == 1 {
                        eprintln!("warning: output {}: {e}; retrying", cfg.name());
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    m.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    eprintln!(
                        "error: output {}: {} alert(s) from id {} not delivered after {} retries: {e}",
                        cfg.name(),
                        batch.len(),
                        batch[0].id,
                        cfg.retries()
                    );
                    break;
                }
            }
        }
    }
}

/// The bytes a batch of alerts becomes on this output.
fn render(cfg: &OutputConfig, batch: &[Arc<Published>], host: &str) -> Vec<u8> {
    match cfg {
        OutputConfig::SplunkHec {
            index, sourcetype, ..
        } => {
            let mut out = Vec::new();
            for a in batch {
                let ev = http::hec_event(a, host, index.as_deref(), sourcetype);
                if serde_json::to_writer(&mut out, &ev).is_ok() {
                    out.push(b'\n');
                }
            }
            out
        }
        OutputConfig::Elasticsearch { index, .. } => http::bulk_body(batch, index, host),
        _ => batch
            .iter()
            .flat_map(|a| render_one(cfg, a, host))
            .collect(),
    }
}

/// The bytes one alert becomes on a syslog or file output.
fn render_one(cfg: &OutputConfig, alert: &Published, host: &str) -> Vec<u8> {
    match cfg {
        OutputConfig::Syslog {
            format: f,
            facility,
            transport,
            ..
        } => {
            let line = match f {
                LineFormat::Cef => format::cef(alert),
                LineFormat::Leef => format::leef(alert),
            };
            let now = now_rfc3339();
            let msg = format::rfc5424(*facility, alert.level, host, &now, &line);
            match transport {
                // Octet counting (RFC 6587): a frame can hold any byte.
                Transport::Tcp => format!("{} {msg}", msg.len()).into_bytes(),
                Transport::Udp => msg.into_bytes(),
            }
        }
        OutputConfig::File { .. }
        | OutputConfig::SplunkHec { .. }
        | OutputConfig::Elasticsearch { .. } => {
            let mut line = serde_json::to_vec(&serde_json::json!({
                "alert_id": alert.id,
                "tenant": alert.tenant,
                "score": alert.score,
            }))
            .unwrap_or_default();
            line.push(b'\n');
            line
        }
    }
}

/// Now, RFC 3339 UTC with seconds.
pub(crate) fn now_rfc3339() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    warden_event::Timestamp(ms).to_rfc3339()
}

async fn write(cfg: &OutputConfig, sink: &mut Sink, payload: &[u8]) -> std::io::Result<()> {
    match (cfg, sink) {
        (OutputConfig::Syslog { address, .. }, Sink::Udp(sock)) => {
            sock.send_to(payload, address.as_str()).await.map(|_| ())
        }
        (OutputConfig::Syslog { address, .. }, Sink::Tcp(conn)) => {
            if conn.is_none() {
                *conn = Some(tokio::net::TcpStream::connect(address.as_str()).await?);
            }
            let Some(c) = conn.as_mut() else {
                return Err(std::io::Error::other("not connected"));
            };
            let r = c.write_all(payload).await;
            if r.is_err() {
                // Reconnect on the next attempt.
                *conn = None;
            }
            r
        }
        (OutputConfig::File { path, .. }, Sink::File(file)) => {
            if file.is_none() {
                *file = Some(
                    tokio::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .await?,
                );
            }
            let Some(f) = file.as_mut() else {
                return Err(std::io::Error::other("not open"));
            };
            let r = async {
                f.write_all(payload).await?;
                f.flush().await
            }
            .await;
            if r.is_err() {
                *file = None;
            }
            r
        }
        (
            OutputConfig::SplunkHec {
                url,
                token,
                timeout_secs,
                ..
            },
            Sink::Http,
        ) => {
            let token = token.resolve().map_err(std::io::Error::other)?;
            let req = http::Request {
                url: url.clone(),
                content_type: "application/json",
                authorization: Some(format!("Splunk {token}")),
                timeout: Duration::from_secs(*timeout_secs),
            };
            http::send(req, payload.to_vec(), http::hec_ok).await
        }
        (
            OutputConfig::Elasticsearch {
                url,
                api_key,
                username,
                password,
                timeout_secs,
                ..
            },
            Sink::Http,
        ) => {
            let authorization = match (api_key, username) {
                (Some(k), _) => Some(format!(
                    "ApiKey {}",
                    k.resolve().map_err(std::io::Error::other)?
                )),
                (None, Some(u)) => {
                    let p = match password {
                        Some(p) => p.resolve().map_err(std::io::Error::other)?,
                        None => String::new(),
                    };
                    Some(format!(
                        "Basic {}",
                        base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            format!("{u}:{p}"),
                        )
                    ))
                }
                (None, None) => None,
            };
            let req = http::Request {
                url: format!("{}/_bulk", url.trim_end_matches('/')),
                content_type: "application/x-ndjson",
                authorization,
                timeout: Duration::from_secs(*timeout_secs),
            };
            http::send(req, payload.to_vec(), http::bulk_ok).await
        }
        _ => Err(std::io::Error::other("output and sink do not match")),
    }
}
