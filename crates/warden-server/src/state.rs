//! What every request shares: the store, the per-tenant detection pipelines, the token cache,
//! the rate limiter and the metrics.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use warden_event::ThreatLevel;
use warden_ingest::FieldAliases;
use warden_store::Store;

use crate::config::ServiceConfig;
use crate::token_cache::TokenCache;

/// Batches of one tenant that may wait for a turn, per turn it may hold.
const BATCHES_WAITING_PER_TURN: usize = 4;

/// Shared state; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<ServiceConfig>,
    pub aliases: Arc<FieldAliases>,
    pub store: Arc<Mutex<Store>>,
    /// Long reads, on connections of their own ([`crate::reads`]).
    pub reads: Arc<crate::reads::Reads>,
    /// One detection pipeline per tenant, each behind its own lock: baselines and
    /// correlation state never mix across tenants.
    pub tenants: Arc<crate::tenants::Tenants>,
    pub tokens: Arc<TokenCache>,
    /// Verifies JWTs when `[jwt]` is configured.
    pub jwt: Option<Arc<crate::jwt::JwtVerifier>>,
    pub limiter: Arc<RateLimiter>,
    pub metrics: Arc<Metrics>,
    /// Set when the service shuts down (open streams end).
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Webhooks and their delivery (started by [`AppState::with_outputs`]).
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// Alert outputs (started by [`AppState::with_outputs`]).
    pub outputs: Arc<warden_outputs::Outputs>,
    /// What feeds the outputs: live commits, or the store when they lag ([`crate::output_feed`]).
    pub output_feed: Arc<crate::output_feed::OutputFeed>,
    /// When the service started.
    pub started: std::time::Instant,
    /// Models for the ensemble and for network flows ([`crate::models`]).
    pub models: Arc<crate::models::ServiceModels>,
    /// Turns to score a batch (`server.max_concurrent_batches`, at most
    /// `server.max_batches_per_tenant` of one tenant).
    pub batch_slots: Arc<crate::turns::TenantTurns>,
    /// Users whose baselines changed since they were last saved.
    pub dirty: Arc<crate::baselines::Dirty>,
    /// Sigma rules for log events, when `[sigma]` names some.
    pub rules: Option<Arc<crate::rules::ServiceRules>>,
    /// Payload analysis: the analyser, the sandbox, the job workers ([`crate::payload`]).
    pub payload: Arc<crate::payload::PayloadService>,
    /// How webhook host names are resolved (the system's resolver; tests put in theirs).
    pub resolver: Arc<dyn crate::destinations::Resolve>,
    /// Open streams per token and per tenant (`server.max_streams_per_token`,
    /// `server.max_streams_per_tenant`).
    pub stream_slots: Arc<crate::stream_slots::StreamSlots>,
    /// Client connections: open, refused, timed out ([`crate::connections`]).
    pub connections: Arc<crate::connections::ConnectionStats>,
    /// `[ingest.geoip]`: places for events that carry only an address.
    pub geoip: Option<Arc<warden_ingest::geoip::GeoIp>>,
    /// The syslog listeners running ([`crate::listeners`]).
    pub listeners: Arc<crate::listeners::Registry>,
    /// Alerts just stored, for `/v1/stream`.
    pub feed: tokio::sync::broadcast::Sender<Arc<crate::routes::stream::Published>>,
    /// The log ingested records go to instead of the tenants' pipelines
    /// (`warden serve --forward-to`; [`crate::forward`]).
    pub forward: Option<Arc<dyn crate::forward::Forwarder>>,
}

impl AppState {
    pub fn new(config: ServiceConfig, store: Store) -> Result<Self, crate::config::ConfigError> {
        let aliases = config.aliases()?;
        let per_minute = config.server.rate_limit_per_minute;
        let token_ttl = std::time::Duration::from_secs(config.server.token_cache_secs);
        let hooks = store
            .webhooks(None)
            .map_err(|e| crate::config::ConfigError::Invalid {
                key: "server.store".into(),
                reason: e.to_string(),
            })?;
        let models = crate::models::ServiceModels::load(&config.models, &store)?;
        let rules = crate::rules::ServiceRules::load(&config.sigma)?.map(Arc::new);
        let payload = crate::payload::PayloadService::load(&config, &store, rules.as_deref())?;
        let jwt = config
            .jwt
            .as_ref()
            .map(|j| {
                crate::jwt::JwtVerifier::new(j).map_err(|reason| {
                    crate::config::ConfigError::Invalid {
                        key: "jwt".into(),
                        reason,
                    }
                })
            })
            .transpose()?
            .map(Arc::new);
        let geoip = config
            .ingest
            .open_geoip()
            .map_err(|e| crate::config::ConfigError::Invalid {
                key: format!("ingest.{}", e.key),
                reason: e.reason,
            })?
            .map(Arc::new);
        let reads = crate::reads::Reads::new(
            store.file_path(),
            config.server.max_concurrent_reads,
            config.server.max_reads_per_tenant,
        );
        Ok(Self {
            jwt,
            reads: Arc::new(reads),
            // A waiting batch holds its body (up to `batch_limit_bytes`): at most a few per
            // tenant wait.
            batch_slots: Arc::new(
                crate::turns::TenantTurns::new(
                    config.server.max_concurrent_batches,
                    config.server.max_batches_per_tenant,
                )
                .waiting_at_most(BATCHES_WAITING_PER_TURN * config.server.max_batches_per_tenant),
            ),
            dirty: Arc::new(crate::baselines::Dirty::default()),
            rules,
            payload: Arc::new(payload),
            models: Arc::new(models),
            config: Arc::new(config),
            aliases: Arc::new(aliases),
            store: Arc::new(Mutex::new(store)),
            tenants: Arc::new(crate::tenants::Tenants::default()),
            tokens: Arc::new(TokenCache::new(token_ttl)),
            limiter: Arc::new(RateLimiter::new(per_minute)),
            metrics: Arc::new(Metrics::default()),
            feed: crate::routes::stream::feed(),
            stream_slots: Arc::default(),
            resolver: Arc::new(crate::destinations::SystemResolver),
            connections: Arc::new(crate::connections::ConnectionStats::default()),
            listeners: Arc::default(),
            geoip,
            started: std::time::Instant::now(),
            outputs: Arc::new(warden_outputs::Outputs::default()),
            output_feed: Arc::default(),
            webhooks: Arc::new(crate::webhooks::Webhooks::new(hooks)),
            closing: Arc::new(tokio::sync::watch::channel(false).0),
            forward: None,
        })
    }

    /// Ingest forwards every record to `log` instead of detecting ([`crate::forward`]).
    pub fn forwarding_to(mut self, log: Arc<dyn crate::forward::Forwarder>) -> Self {
        self.forward = Some(log);
        self
    }
}

impl AppState {
    /// The store, locked. A panic while another request held it leaves nothing half done
    /// (an open transaction rolls back when dropped), so a poisoned lock is taken over
    /// rather than answering 500 until a restart.
    pub fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|poisoned| {
            self.store.clear_poison();
            poisoned.into_inner()
        })
    }

    /// Runs `f` with the store on the blocking pool. Store calls can take long (a whole
    /// tenant's counts, an incident of 200,000 alerts, a wait for the lock while another
    /// request holds it), and an async worker blocked on one would stall every other
    /// connection it serves.
    pub async fn with_store<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, crate::error::ApiError> + Send + 'static,
    ) -> Result<T, crate::error::ApiError> {
        let st = self.clone();
        tokio::task::spawn_blocking(move || f(&mut st.store()))
            .await
            .map_err(crate::error::ApiError::internal)?
    }

    /// Starts the configured outputs; call inside the Tokio runtime ([`crate::run`] does).
    pub fn with_outputs(mut self) -> Self {
        self.outputs = Arc::new(warden_outputs::Outputs::start(&self.config.outputs));
        let feed = crate::output_feed::OutputFeed::new(self.outputs.clone(), &self.store());
        self.output_feed = Arc::new(feed);
        self.output_feed.start(&self);
        crate::webhooks::start(&self);
        crate::models::follow_registry(&self);
        crate::payload::start(&self);
        crate::baselines::start(&self);
        crate::token_cache::start_sweeper(&self);
        if let Some(jwt) = &self.jwt {
            jwt.start_refresher(&self.closing);
        }
        self
    }
}

/// A token bucket per key (a token or a client address): `per_minute` requests, refilled
/// continuously. Keys are bounded: when full, idle buckets are dropped.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Most keys tracked.
const MAX_KEYS: usize = 100_000;

impl RateLimiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket, or says how many seconds until one is there.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let cap = f64::from(self.per_minute);
        let rate = cap / 60.0;
        let now = Instant::now();
        let Ok(mut b) = self.buckets.lock() else {
            return Ok(());
        };
        if b.len() >= MAX_KEYS && !b.contains_key(key) {
            b.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < cap
            });
        }
        let entry = b.entry(key.to_owned()).or_insert((cap, now));
        let tokens = (entry.0 + now.duration_since(entry.1).as_secs_f64() * rate).min(cap);
        if tokens >= 1.0 {
            *entry = (tokens - 1.0, now);
            Ok(())
        } else {
            *entry = (tokens, now);
            Err(((1.0 - tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Upper bounds (seconds) of the scoring latency histogram.
const LATENCY_BUCKETS: [f64; 11] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Counters exposed at `/metrics` (Prometheus text format).
#[derive(Debug, Default)]
pub struct Metrics {
    pub events_in: AtomicU64,
    pub parse_errors: AtomicU64,
    alerts: [AtomicU64; 4],
    responses: [AtomicU64; 5],
    pub rate_limited: AtomicU64,
    /// Events refused because their tenant's quota was reached.
    pub quota_refused: AtomicU64,
    /// Records handed to the log (`--forward-to`), and those the log did not take.
    pub forwarded: AtomicU64,
    pub forward_failed: AtomicU64,
    clients: std::sync::atomic::AtomicI64,
    latency: [AtomicU64; 12],
    latency_sum_micros: AtomicU64,
    latency_count: AtomicU64,
    /// Network flows: scored, anomalous, rejected.
    flows: [AtomicU64; 3],
    /// Texts analysed: by a request, by a job.
    payload: [AtomicU64; 2],
    /// Events received and rejected, per tenant (what a tenant's own dashboard shows; the
    /// totals above cover every tenant and are for operators).
    per_tenant: Mutex<HashMap<String, [u64; 2]>>,
}

fn level_index(l: ThreatLevel) -> usize {
    match l {
        ThreatLevel::Low => 0,
        ThreatLevel::Medium => 1,
        ThreatLevel::High => 2,
        ThreatLevel::Critical => 3,
    }
}

impl Metrics {
    /// A text analysed by `POST /v1/payload/analyze`.
    pub fn payload_analyzed(&self) {
        self.payload[0].fetch_add(1, Ordering::Relaxed);
    }

    /// A payload job finished.
    pub fn payload_job_done(&self) {
        self.payload[1].fetch_add(1, Ordering::Relaxed);
    }

    /// A stream client connected (+1) or left (−1).
    pub fn stream_clients(&self, delta: i64) {
        self.clients.fetch_add(delta, Ordering::Relaxed);
    }

    /// Counts a tenant's batch: events received and rejected.
    pub fn tenant_events(&self, tenant: &str, received: u64, rejected: u64) {
        self.events_in.fetch_add(received, Ordering::Relaxed);
        self.parse_errors.fetch_add(rejected, Ordering::Relaxed);
        let mut m = self.per_tenant.lock().unwrap_or_else(|p| p.into_inner());
        // Tenants that ingest are bounded by `server.max_tenants`; this only guards the map.
        if m.len() >= MAX_KEYS && !m.contains_key(tenant) {
            return;
        }
        let c = m.entry(tenant.to_owned()).or_default();
        c[0] += received;
        c[1] += rejected;
    }

    /// A tenant's events received and rejected since the start.
    pub fn tenant_figures(&self, tenant: &str) -> [u64; 2] {
        self.per_tenant
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .copied()
            .unwrap_or_default()
    }

    pub fn alert(&self, level: ThreatLevel) {
        self.alerts[level_index(level)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn response(&self, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long scoring one batch took.
    pub fn flows(&self, scored: u64, anomalous: u64, rejected: u64) {
        for (c, v) in self.flows.iter().zip([scored, anomalous, rejected]) {
            c.fetch_add(v, Ordering::Relaxed);
        }
    }

    pub fn scoring(&self, seconds: f64) {
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[i].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, tenants: usize) -> String {
        let mut out = String::with_capacity(2048);
        for (name, help, lines) in self.counters() {
            metric(&mut out, name, "counter", help, lines);
        }
        let clients = self.clients.load(Ordering::Relaxed).max(0) as u64;
        let gauges = [
            (
                "warden_stream_clients",
                "Connected stream clients.",
                clients,
            ),
            (
                "warden_tenants",
                "Tenants with a detection engine in memory.",
                tenants as u64,
            ),
        ];
        for (name, help, v) in gauges {
            metric(&mut out, name, "gauge", help, vec![(String::new(), v)]);
        }
        self.render_latency(&mut out);
        out
    }

    /// Every counter family: its name, its help and a line per label set.
    fn counters(&self) -> Vec<Family> {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let one = |a: &AtomicU64| vec![(String::new(), g(a))];
        let by = |label: &str, names: &[&str], counts: &[AtomicU64]| -> Vec<(String, u64)> {
            names
                .iter()
                .zip(counts)
                .map(|(n, a)| (format!("{{{label}=\"{n}\"}}"), g(a)))
                .collect()
        };
        vec![
            (
                "warden_events_in_total",
                "Events received for scoring.",
                one(&self.events_in),
            ),
            (
                "warden_parse_errors_total",
                "Events rejected as malformed.",
                one(&self.parse_errors),
            ),
            (
                "warden_alerts_total",
                "Alerts stored, by level.",
                by(
                    "level",
                    &["LOW", "MEDIUM", "HIGH", "CRITICAL"],
                    &self.alerts,
                ),
            ),
            (
                "warden_http_responses_total",
                "HTTP responses, by status class.",
                by(
                    "class",
                    &["1xx", "2xx", "3xx", "4xx", "5xx"],
                    &self.responses,
                ),
            ),
            (
                "warden_network_flows_total",
                "Network flows through /v1/monitor/network, by outcome.",
                by("outcome", &["scored", "anomalous", "rejected"], &self.flows),
            ),
            (
                "warden_payload_analyzed_total",
                "Command lines and scripts analysed, by how they came.",
                by("via", &["request", "job"], &self.payload),
            ),
            (
                "warden_rate_limited_total",
                "Requests refused with 429.",
                one(&self.rate_limited),
            ),
            (
                "warden_quota_refused_total",
                "Events refused because their tenant's quota (users) was reached.",
                one(&self.quota_refused),
            ),
            (
                "warden_forwarded_total",
                "Records stored in the log ingest forwards to (--forward-to).",
                one(&self.forwarded),
            ),
            (
                "warden_forward_failed_total",
                "Records the log did not store (their batch was refused with 503).",
                one(&self.forward_failed),
            ),
        ]
    }

    /// The scoring-time histogram.
    fn render_latency(&self, out: &mut String) {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str(
            "# HELP warden_scoring_seconds Time to score one batch.\n# TYPE warden_scoring_seconds histogram\n",
        );
        let mut cumulative = 0;
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += g(&self.latency[i]);
            out.push_str(&format!(
                "warden_scoring_seconds_bucket{{le=\"{bound}\"}} {cumulative}\n"
            ));
        }
        cumulative += g(&self.latency[LATENCY_BUCKETS.len()]);
        out.push_str(&format!(
            "warden_scoring_seconds_bucket{{le=\"+Inf\"}} {cumulative}\nwarden_scoring_seconds_sum {}\nwarden_scoring_seconds_count {}\n",
            g(&self.latency_sum_micros) as f64 / 1e6,
            g(&self.latency_count)
        ));
    }
}

/// A metric family: its name, its help and its value per label set.
type Family = (&'static str, &'static str, Vec<(String, u64)>);

/// One metric family: its help, its type and a line per label set.
fn metric(out: &mut String, name: &str, kind: &str, help: &str, lines: Vec<(String, u64)>) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
    for (labels, v) in lines {
        out.push_str(&format!("{name}{labels} {v}\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refuses_past_its_rate_and_says_when_to_retry() {
        let l = RateLimiter::new(3);
        assert!((0..3).all(|_| l.check("k").is_ok()));
        let retry = l.check("k").err().unwrap_or(0);
        assert!((1..=20).contains(&retry), "{retry}");
        assert!(l.check("other").is_ok(), "keys are independent");
        assert!((0..100).all(|_| RateLimiter::new(0).check("k").is_ok()));
    }

    #[test]
    fn metrics_render_as_prometheus_text() {
        let m = Metrics::default();
        m.alert(ThreatLevel::High);
        m.scoring(0.003);
        m.scoring(2.0);
        m.response(201);
        let text = m.render(2);
        assert!(text.contains("warden_alerts_total{level=\"HIGH\"} 1"));
        assert!(text.contains("warden_scoring_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("warden_scoring_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("warden_http_responses_total{class=\"2xx\"} 1"));
        assert!(text.contains("warden_tenants 2"));
        // Every family once, with its help and type, in a stable order.
        let types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .collect();
        assert_eq!(
            types,
            [
                "warden_events_in_total counter",
                "warden_parse_errors_total counter",
                "warden_alerts_total counter",
                "warden_http_responses_total counter",
                "warden_network_flows_total counter",
                "warden_payload_analyzed_total counter",
                "warden_rate_limited_total counter",
                "warden_quota_refused_total counter",
                "warden_forwarded_total counter",
                "warden_forward_failed_total counter",
                "warden_stream_clients gauge",
                "warden_tenants gauge",
                "warden_scoring_seconds histogram",
            ]
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with("# HELP ")).count(),
            13
        );
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("warden_alerts_total{"))
                .count(),
            4
        );
    }
}
