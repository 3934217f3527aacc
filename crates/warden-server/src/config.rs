//! `warden serve` configuration: a TOML file (`[server]`, `[ingest]`, `[ueba]`, `[models]`,
//! `[sigma]`, `[graph]`, `[jwt]`, `[payload]`, `[sandbox]`, `[[outputs]]`, `[[listeners]]`) with
//! `WARDEN_*` environment overrides, validated at start with errors that name the key.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_engine::UebaConfig;
use warden_ingest::FieldAliases;

/// The whole service configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    pub server: ServerConfig,
    /// Shared with `warden detect`'s configuration.
    pub ingest: warden_ingest::IngestConfig,
    pub ueba: UebaConfig,
    /// Models for the ensemble and for network flows.
    pub models: crate::models::ModelsSection,
    /// Sigma rules for log events.
    pub sigma: crate::rules::SigmaSection,
    /// Each tenant's entity graph.
    pub graph: GraphSection,
    /// The network finders over each tenant's Zeek records (`pipeline`, the window, the
    /// thresholds; shared with `warden network`'s configuration).
    pub network: warden_engine::network::NetworkConfig,
    /// Alert outputs (`[[outputs]]`): syslog CEF/LEEF, JSON Lines file.
    pub outputs: Vec<warden_outputs::OutputConfig>,
    /// JWTs from an identity provider, accepted beside Warden's tokens.
    pub jwt: Option<crate::jwt::JwtSection>,
    /// Payload analysis: `POST /v1/payload/analyze`, jobs, the model, the verdict.
    pub payload: crate::payload::PayloadSection,
    /// The sandbox for payload jobs that ask for a run (off unless `enabled`).
    pub sandbox: warden_sandbox::SandboxConfig,
    /// Syslog listeners (`[[listeners]]`): UDP, TCP, TLS, each for one tenant.
    pub listeners: Vec<crate::listeners::ListenerConfig>,
}

/// `[graph]`: the entity graph each tenant's Windows events build, and its finders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GraphSection {
    /// Build the graphs and run their finders.
    pub enabled: bool,
    /// Most edges one tenant's graph keeps (past it, known edges are still updated and new
    /// ones counted, not kept): about 180 bytes each.
    pub max_edges: usize,
    /// Days from a tenant's first event that only teach its graph.
    pub learn_days: f64,
}

impl Default for GraphSection {
    fn default() -> Self {
        GraphSection {
            enabled: true,
            max_edges: 2_000_000,
            learn_days: 7.0,
        }
    }
}

/// Listening, storage and limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// The database file (created if missing).
    pub store: PathBuf,
    /// Largest request body on single-item routes (bytes); larger → 413.
    pub body_limit_bytes: usize,
    /// Largest request body on batch ingest (`/v1/detect/realtime`).
    pub batch_limit_bytes: usize,
    /// Most events in one batch.
    pub max_batch_events: usize,
    /// Requests per minute on expensive routes, per token and per client address; 0 = off.
    pub rate_limit_per_minute: u32,
    /// Alerts at or above this level are stored (and returned as alerts).
    pub alert_level: warden_event::ThreatLevel,
    /// Most tenants with a detection engine in memory.
    pub max_tenants: usize,
    /// Most users one tenant's behavioural baselines hold; events of further new users are
    /// refused (`quota_exceeded`), the known users' still scored.
    pub max_users_per_tenant: usize,
    /// Most groups one tenant's Sigma correlation keeps per correlation rule; past it, the
    /// group fed the longest ago is dropped.
    pub max_correlation_groups: usize,
    /// Batches scored at once (ingest and network monitoring); more wait their turn, so
    /// a burst of large requests cannot hold unbounded memory.
    pub max_concurrent_batches: usize,
    /// Batches one tenant scores at once; its further batches wait, the other tenants' do
    /// not (the default leaves one of the four for everyone else).
    pub max_batches_per_tenant: usize,
    /// Long reads (listings, counts, trends, incidents, exports) run at once, each on a
    /// read-only connection of its own; more wait their turn.
    pub max_concurrent_reads: usize,
    /// Long reads one tenant runs at once; its further reads wait, the other tenants'
    /// do not.
    pub max_reads_per_tenant: usize,
    /// Retries of a failed webhook delivery before it becomes a dead letter.
    pub webhook_retries: u32,
    /// First wait between webhook retries (milliseconds), doubled each time up to 30 s.
    pub webhook_backoff_ms: u64,
    /// Time allowed for one webhook delivery (seconds).
    pub webhook_timeout_secs: u64,
    /// Failed attempts in a row after which a webhook's circuit opens (attempts paused).
    pub webhook_circuit_failures: u32,
    /// How long an open circuit pauses attempts (seconds) before one trial.
    pub webhook_circuit_secs: u64,
    /// Deliveries one tenant may have waiting in the outbox; past it, new ones become dead
    /// letters (`outbox full`).
    pub webhook_outbox_limit: usize,
    /// Let webhooks reach loopback, private and link-local addresses (off: tenants' admins
    /// must not be able to probe the service's own network).
    pub webhook_allow_private: bool,
    /// When set, the only hosts webhooks may reach (`hooks.example.com`, `*.example.com`).
    pub webhook_allowed_hosts: Vec<String>,
    /// Serve the dashboard from this folder instead of the copy built into the binary
    /// (for working on the dashboard without rebuilding).
    pub dashboard_dir: Option<PathBuf>,
    /// Save changed baselines this often (seconds); they are also saved at shutdown.
    pub baseline_save_secs: u64,
    /// Save each tenant's entity graph and command-line prevalence table, which are
    /// written whole (megabytes), at most this often (seconds) when they changed; they
    /// are also saved at shutdown.
    pub snapshot_save_secs: u64,
    /// Serve HTTPS with this certificate chain (PEM); needs `tls_key`.
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// Most client connections open at once; 0 = three quarters of the open-file limit
    /// (lifted to its hard limit at start), leaving room for the store and outputs.
    pub max_connections: usize,
    /// Most connections open at once from one client address.
    pub max_connections_per_address: usize,
    /// Time a client has to send a request's head (also how long an idle keep-alive
    /// connection stays open).
    pub header_read_timeout_secs: u64,
    /// Longest pause while a request body is sent; past it the request fails with 408.
    pub body_read_timeout_secs: u64,
    /// Time a client has to complete the TLS handshake.
    pub tls_handshake_timeout_secs: u64,
    /// How long a token's answer is remembered before the store is asked again (and how
    /// often revocations made outside the service are looked for).
    pub token_cache_secs: u64,
    /// Most open streams (`/v1/stream`) per token; more are refused with 429.
    pub max_streams_per_token: usize,
    /// Most open streams per tenant, whatever tokens hold them; more are refused with 429.
    pub max_streams_per_tenant: usize,
    /// An event dated more than this many seconds after the server's clock is refused
    /// in its place (0: no bound). One event from the far future would otherwise move a
    /// tenant's windows past every real one: network findings, graph learning, sessions.
    pub max_future_secs: u64,
    /// How commits reach the disk: `full` (each acknowledged batch is synced, so it
    /// survives a power loss) or `normal` (it survives a crash of the process; a power loss
    /// can undo the last commits — faster on slow disks).
    pub durability: warden_store::Durability,
    /// The bearer token a scraper sends for `/metrics` and the checks of `/readyz`; without
    /// it, only loopback clients get them.
    pub metrics_token: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            store: PathBuf::from("warden.db"),
            body_limit_bytes: 64 * 1024,
            batch_limit_bytes: 16 * 1024 * 1024,
            max_batch_events: 10_000,
            rate_limit_per_minute: 60,
            alert_level: warden_event::ThreatLevel::Medium,
            max_tenants: 1_000,
            max_users_per_tenant: 100_000,
            max_correlation_groups: 10_000,
            max_concurrent_batches: 4,
            max_batches_per_tenant: 3,
            max_concurrent_reads: 4,
            max_reads_per_tenant: 3,
            webhook_retries: 5,
            webhook_backoff_ms: 500,
            webhook_timeout_secs: 10,
            webhook_circuit_failures: 5,
            webhook_circuit_secs: 60,
            webhook_outbox_limit: 100_000,
            webhook_allow_private: false,
            webhook_allowed_hosts: Vec::new(),
            dashboard_dir: None,
            baseline_save_secs: 30,
            snapshot_save_secs: 300,
            tls_cert: None,
            tls_key: None,
            max_connections: 0,
            max_connections_per_address: 128,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            tls_handshake_timeout_secs: 5,
            token_cache_secs: 10,
            max_streams_per_token: 8,
            max_streams_per_tenant: 256,
            max_future_secs: 2 * 86_400,
            metrics_token: None,
            durability: warden_store::Durability::Full,
        }
    }
}

/// A configuration problem, naming the key or variable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    // The cause is in the message and not chained as a source: `anyhow` at the binary's
    // edge would print it twice.
    #[error("cannot read configuration file {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("invalid configuration file {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("environment variable {var}: {reason}")]
    Env { var: &'static str, reason: String },
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

/// The environment variables read, and the key each overrides.
pub const ENV_OVERRIDES: [(&str, &str); 10] = [
    ("WARDEN_METRICS_TOKEN", "server.metrics_token"),
    ("WARDEN_LISTEN", "server.listen"),
    ("WARDEN_STORE", "server.store"),
    ("WARDEN_BODY_LIMIT_BYTES", "server.body_limit_bytes"),
    ("WARDEN_BATCH_LIMIT_BYTES", "server.batch_limit_bytes"),
    ("WARDEN_MAX_BATCH_EVENTS", "server.max_batch_events"),
    (
        "WARDEN_RATE_LIMIT_PER_MINUTE",
        "server.rate_limit_per_minute",
    ),
    ("WARDEN_DASHBOARD_DIR", "server.dashboard_dir"),
    ("WARDEN_TLS_CERT", "server.tls_cert"),
    ("WARDEN_TLS_KEY", "server.tls_key"),
];

impl ServiceConfig {
    /// Reads the file (defaults when `None`), applies the environment, validates.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut cfg: Self = match path {
            None => Self::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|cause| ConfigError::Read {
                    path: p.display().to_string(),
                    cause,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: p.display().to_string(),
                    reason: e.to_string(),
                })?
            }
        };
        cfg.apply_env(env)?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn number<T: std::str::FromStr>(var: &'static str, v: &str) -> Result<T, ConfigError> {
            v.trim().parse().map_err(|_| ConfigError::Env {
                var,
                reason: format!("`{v}` is not a whole number"),
            })
        }
        let s = &mut self.server;
        if let Some(v) = env("WARDEN_LISTEN") {
            s.listen = v;
        }
        if let Some(v) = env("WARDEN_STORE") {
            s.store = PathBuf::from(v);
        }
        if let Some(v) = env("WARDEN_BODY_LIMIT_BYTES") {
            s.body_limit_bytes = number("WARDEN_BODY_LIMIT_BYTES", &v)?;
        }
        if let Some(v) = env("WARDEN_BATCH_LIMIT_BYTES") {
            s.batch_limit_bytes = number("WARDEN_BATCH_LIMIT_BYTES", &v)?;
        }
        if let Some(v) = env("WARDEN_MAX_BATCH_EVENTS") {
            s.max_batch_events = number("WARDEN_MAX_BATCH_EVENTS", &v)?;
        }
        if let Some(v) = env("WARDEN_RATE_LIMIT_PER_MINUTE") {
            s.rate_limit_per_minute = number("WARDEN_RATE_LIMIT_PER_MINUTE", &v)?;
        }
        if let Some(v) = env("WARDEN_DASHBOARD_DIR") {
            s.dashboard_dir = Some(PathBuf::from(v));
        }
        if let Some(v) = env("WARDEN_TLS_CERT") {
            s.tls_cert = Some(PathBuf::from(v));
        }
        if let Some(v) = env("WARDEN_METRICS_TOKEN") {
            s.metrics_token = Some(v);
        }
        if let Some(v) = env("WARDEN_TLS_KEY") {
            s.tls_key = Some(PathBuf::from(v));
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_server_io()?;
        self.validate_server_bounds()?;
        self.validate_sections()?;
        self.validate_outputs()?;
        crate::listeners::validate(&self.listeners, &self.server)
    }

    /// What the service listens on and sends to: the address, body limits, webhooks, the
    /// dashboard's folder and TLS.
    fn validate_server_io(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if s.listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("server.listen", "must be an address such as 127.0.0.1:8080");
        }
        if !(1024..=1 << 30).contains(&s.body_limit_bytes) {
            return bad("server.body_limit_bytes", "must be between 1024 and 1 GiB");
        }
        if !(s.body_limit_bytes..=1 << 30).contains(&s.batch_limit_bytes) {
            return bad(
                "server.batch_limit_bytes",
                "must be at least body_limit_bytes and at most 1 GiB",
            );
        }
        if !(1..=1_000_000).contains(&s.max_batch_events) {
            return bad("server.max_batch_events", "must be between 1 and 1000000");
        }
        if s.webhook_retries > 20 || s.webhook_backoff_ms > 60_000 {
            return bad(
                "server.webhook_retries",
                "at most 20 retries, backoff at most 60000 ms",
            );
        }
        if !(1..=1_000).contains(&s.webhook_circuit_failures)
            || !(1..=86_400).contains(&s.webhook_circuit_secs)
        {
            return bad(
                "server.webhook_circuit_failures",
                "1 to 1000 failures, and webhook_circuit_secs 1 to 86400",
            );
        }
        if !(1..=100_000_000).contains(&s.webhook_outbox_limit) {
            return bad(
                "server.webhook_outbox_limit",
                "must be between 1 and 100000000",
            );
        }
        if !(1..=300).contains(&s.webhook_timeout_secs) {
            return bad("server.webhook_timeout_secs", "must be between 1 and 300");
        }
        if let Some(d) = &s.dashboard_dir
            && !d.join("index.html").is_file()
        {
            return bad(
                "server.dashboard_dir",
                "must be a folder with an index.html",
            );
        }
        match (&s.tls_cert, &s.tls_key) {
            (Some(c), Some(k)) => {
                crate::tls::server_config(c, k)?;
            }
            (None, None) => {}
            _ => {
                return bad(
                    "server.tls_cert",
                    "give both tls_cert and tls_key, or neither",
                );
            }
        }
        Ok(())
    }

    /// Bounds on shared resources: concurrency, connections and timeouts here, the rest in
    /// [`Self::validate_stream_and_tenant_bounds`].
    fn validate_server_bounds(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if !(1..=1024).contains(&s.max_concurrent_batches) {
            return bad(
                "server.max_concurrent_batches",
                "must be between 1 and 1024",
            );
        }
        // A tenant's share above the total is the total (see `turns`).
        if !(1..=1024).contains(&s.max_batches_per_tenant) {
            return bad(
                "server.max_batches_per_tenant",
                "must be between 1 and 1024",
            );
        }
        if !(1..=256).contains(&s.max_concurrent_reads)
            || !(1..=256).contains(&s.max_reads_per_tenant)
        {
            return bad(
                "server.max_concurrent_reads",
                "max_concurrent_reads and max_reads_per_tenant: 1 to 256",
            );
        }
        if s.max_connections > 1_000_000 {
            return bad(
                "server.max_connections",
                "must be at most 1000000 (0 = automatic)",
            );
        }
        if !(1..=1_000_000).contains(&s.max_connections_per_address) {
            return bad(
                "server.max_connections_per_address",
                "must be between 1 and 1000000",
            );
        }
        for (key, v) in [
            (
                "server.header_read_timeout_secs",
                s.header_read_timeout_secs,
            ),
            ("server.body_read_timeout_secs", s.body_read_timeout_secs),
            (
                "server.tls_handshake_timeout_secs",
                s.tls_handshake_timeout_secs,
            ),
        ] {
            if !(1..=3_600).contains(&v) {
                return bad(key, "must be between 1 and 3600 seconds");
            }
        }
        self.validate_stream_and_tenant_bounds()
    }

    /// The metrics token's length, streams, future times, save intervals, tenants' users
    /// and correlation groups.
    fn validate_stream_and_tenant_bounds(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if s.metrics_token
            .as_ref()
            .is_some_and(|t| !(16..=256).contains(&t.len()))
        {
            return bad("server.metrics_token", "must be 16 to 256 bytes");
        }
        if !(1..=10_000).contains(&s.max_streams_per_token) {
            return bad(
                "server.max_streams_per_token",
                "must be between 1 and 10000",
            );
        }
        if s.max_future_secs > 10 * 365 * 86_400 {
            return bad(
                "server.max_future_secs",
                "must be at most 315360000 (ten years; 0: no bound)",
            );
        }
        if !(1..=100_000).contains(&s.max_streams_per_tenant) {
            return bad(
                "server.max_streams_per_tenant",
                "must be between 1 and 100000",
            );
        }
        if !(1..=86_400).contains(&s.baseline_save_secs) {
            return bad("server.baseline_save_secs", "must be between 1 and 86400");
        }
        if !(1..=86_400).contains(&s.snapshot_save_secs) {
            return bad("server.snapshot_save_secs", "must be between 1 and 86400");
        }
        if !(1..=5_000_000).contains(&s.max_users_per_tenant) {
            return bad(
                "server.max_users_per_tenant",
                "must be between 1 and 5000000",
            );
        }
        if !(1..=100_000).contains(&s.max_correlation_groups) {
            return bad(
                "server.max_correlation_groups",
                "must be between 1 and 100000",
            );
        }
        Ok(())
    }

    /// The other sections, each checked by its owner: payload, sandbox, JWT, graph, network,
    /// behaviour and ingest.
    fn validate_sections(&self) -> Result<(), ConfigError> {
        if let Err((key, reason)) = self.payload.check() {
            return Err(ConfigError::Invalid { key, reason });
        }
        if let Err(reason) = self.sandbox.validate() {
            return Err(ConfigError::Invalid {
                key: "sandbox".into(),
                reason,
            });
        }
        if let Some(Err((key, reason))) = self.jwt.as_ref().map(crate::jwt::JwtSection::check) {
            return Err(ConfigError::Invalid { key, reason });
        }
        if !(1..=1_000_000).contains(&self.server.max_tenants) {
            return bad("server.max_tenants", "must be between 1 and 1000000");
        }
        if !(1_000..=100_000_000).contains(&self.graph.max_edges) {
            return bad("graph.max_edges", "must be between 1000 and 100000000");
        }
        if !(self.graph.learn_days.is_finite() && (0.0..=365.0).contains(&self.graph.learn_days)) {
            return bad(
                "graph.learn_days",
                "must be a number of days between 0 and 365",
            );
        }
        if let Err(e) = self.network.validate() {
            let (key, reason) = e.split_once(": ").unwrap_or(("network", e.as_str()));
            return bad(key, reason);
        }
        self.ueba.validate().map_err(|e| ConfigError::Invalid {
            key: "ueba".into(),
            reason: e.to_string(),
        })?;
        self.ingest.validate().map_err(|e| ConfigError::Invalid {
            key: format!("ingest.{}", e.key),
            reason: e.reason,
        })?;
        Ok(())
    }

    /// Every output valid on its own, and no two with one name.
    fn validate_outputs(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        for o in &self.outputs {
            o.validate().map_err(|e| match e {
                warden_outputs::OutputError::Invalid { name, reason } => ConfigError::Invalid {
                    key: format!("outputs.{name}"),
                    reason,
                },
                other => ConfigError::Invalid {
                    key: format!("outputs.{}", o.name()),
                    reason: other.to_string(),
                },
            })?;
            if !names.insert(o.name()) {
                return Err(ConfigError::Invalid {
                    key: format!("outputs.{}", o.name()),
                    reason: "two outputs have this name".into(),
                });
            }
        }
        Ok(())
    }

    /// The field aliases for incoming events.
    pub fn aliases(&self) -> Result<FieldAliases, ConfigError> {
        self.ingest
            .field_aliases()
            .map_err(|e| ConfigError::Invalid {
                key: format!("ingest.{}", e.key),
                reason: e.reason,
            })
    }
}

/// A validation error naming the key.
fn bad(key: &str, reason: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_are_valid_and_the_environment_overrides_them() {
        let cfg = ServiceConfig::load(None, no_env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.server.body_limit_bytes, 65_536);
        let env = |k: &str| match k {
            "WARDEN_LISTEN" => Some("0.0.0.0:9000".to_owned()),
            "WARDEN_RATE_LIMIT_PER_MINUTE" => Some("5".to_owned()),
            _ => None,
        };
        let cfg = ServiceConfig::load(None, env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.server.listen, "0.0.0.0:9000");
        assert_eq!(cfg.server.rate_limit_per_minute, 5);
    }

    #[test]
    fn errors_name_the_key_or_variable() {
        let env = |k: &str| (k == "WARDEN_MAX_BATCH_EVENTS").then(|| "many".to_owned());
        let e = ServiceConfig::load(None, env).err().map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|m| m.contains("WARDEN_MAX_BATCH_EVENTS")),
            "{e:?}"
        );
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("w.toml");
        for (text, key) in [
            ("[server]\nlisten = \"nowhere\"\n", "server.listen"),
            (
                "[server]\nbody_limit_bytes = 10\n",
                "server.body_limit_bytes",
            ),
            ("[server]\nlisen = \"x\"\n", "lisen"),
            ("[graph]\nmax_edges = 5\n", "graph.max_edges"),
            ("[graph]\nlearn_days = -1\n", "graph.learn_days"),
            ("[network]\nwindow_secs = 60\n", "network.window_secs"),
            (
                "[network]\nevaluate_every_secs = 100000\n",
                "network.evaluate_every_secs",
            ),
            (
                "[ueba.scoring]\ndeviation_threshold = 4.0\n",
                "deviation_threshold",
            ),
        ] {
            std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
            let e = ServiceConfig::load(Some(&p), no_env)
                .err()
                .map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|m| m.contains(key)),
                "{text}: {e:?}"
            );
        }
    }
}
