//! Syslog listeners of `warden serve` (`[[listeners]]`): UDP (RFC 5426), TCP (RFC 6587,
//! octet counting or newline framing) and TLS (RFC 5425), and log files followed as they
//! grow (across rotations), each bound to one tenant by configuration. What arrives is read as the text formats `warden detect` reads (syslog,
//! Linux authentication, audit records, CEF, LEEF) and scored by the tenant's pipeline as
//! an HTTP batch is ([`crate::scoring`]).
//!
//! - [`framing`]: messages out of a byte stream.
//! - [`sources`]: per-address rates and connection caps.
//! - [`sink`]: messages → records → the tenant's pipeline, in batches.
//! - [`udp`], [`tcp`]: the sockets; [`file`]: a log file followed as it grows.
//!
//! Each listener has a bounded queue between its sockets and its sink. Over UDP a full
//! queue drops (counted: UDP has no way to say "slower"); over TCP and TLS the reader
//! waits, so the sender's buffers fill and nothing is lost. Everything is counted per
//! listener at `/metrics`.

pub mod file;
pub mod framing;
pub mod sink;
pub mod sources;
pub mod tcp;
pub mod udp;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::config::ConfigError;
use crate::state::AppState;

/// How a listener receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Udp,
    Tcp,
    Tls,
    /// A file followed as it grows (`path`).
    File,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
            Self::File => "file",
        }
    }
}

/// One `[[listeners]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerConfig {
    /// Its name in metrics and in the events it cites (default `syslog-<protocol>-<port>`).
    pub name: Option<String>,
    pub protocol: Protocol,
    /// Address to listen on, such as `0.0.0.0:514` (not for `file`).
    pub bind: String,
    /// `file`: the log file to follow.
    pub path: Option<PathBuf>,
    /// `file`: read what the file holds already, not only what is written from now on.
    pub from_beginning: bool,
    /// The tenant whose pipeline scores what arrives.
    pub tenant: String,
    /// Messages per second from one address (a second's worth may come at once); UDP
    /// drops past it, TCP reads slower. 0 = no limit.
    pub rate_per_source: u32,
    /// Longest message (bytes); longer ones are skipped and counted.
    pub max_message_bytes: usize,
    /// Messages waiting to be scored; past it UDP drops and TCP waits.
    pub queue_messages: usize,
    /// Most messages scored at once.
    pub batch_events: usize,
    /// TCP/TLS: most connections open, and from one address.
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    /// TCP/TLS: a connection silent this long is closed.
    pub idle_timeout_secs: u64,
    /// TLS: certificate chain and key (PEM); default the server's (`server.tls_cert`).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            name: None,
            protocol: Protocol::Udp,
            bind: String::new(),
            path: None,
            from_beginning: false,
            tenant: String::new(),
            rate_per_source: 50_000,
            max_message_bytes: 64 * 1024,
            queue_messages: 100_000,
            batch_events: 2_000,
            max_connections: 1_000,
            max_connections_per_address: 64,
            idle_timeout_secs: 600,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl ListenerConfig {
    /// The name given, or one made of the protocol and port.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| match (&self.protocol, &self.path) {
                (Protocol::File, Some(p)) => format!(
                    "file-{}",
                    p.file_name()
                        .map(|f| f.to_string_lossy())
                        .unwrap_or_default()
                ),
                _ => {
                    let port = self.bind.rsplit(':').next().unwrap_or("");
                    format!("syslog-{}-{port}", self.protocol.as_str())
                }
            })
    }

    fn tls_paths<'a>(
        &'a self,
        server: &'a crate::config::ServerConfig,
    ) -> Option<(&'a PathBuf, &'a PathBuf)> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some((c, k)),
            _ => server.tls_cert.as_ref().zip(server.tls_key.as_ref()),
        }
    }
}

/// Checks every listener; an error names `listeners[i].key`.
pub fn validate(
    listeners: &[ListenerConfig],
    server: &crate::config::ServerConfig,
) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for (i, l) in listeners.iter().enumerate() {
        let bad = |key: &str, reason: String| ConfigError::Invalid {
            key: format!("listeners[{i}].{key}"),
            reason,
        };
        l.check_source().map_err(|(k, r)| bad(k, r))?;
        let name = l.display_name();
        if !seen.insert(name.clone()) {
            return Err(bad("name", format!("`{name}` names two listeners")));
        }
        l.check_limits(server).map_err(|(k, r)| bad(k, r))?;
    }
    Ok(())
}

/// A setting's name and why it is wrong.
type Invalid = (&'static str, String);

impl ListenerConfig {
    /// Where it reads from (a file, or an address to bind), its tenant and its name.
    fn check_source(&self) -> Result<(), Invalid> {
        let l = self;
        let bad = |key: &'static str, reason: String| (key, reason);
        if l.protocol == Protocol::File {
            match &l.path {
                Some(p) if p.is_file() => {}
                Some(p) => return Err(bad("path", format!("{}: no such file", p.display()))),
                None => {
                    return Err(bad(
                        "path",
                        "a file listener needs the path it follows".into(),
                    ));
                }
            }
        } else {
            l.bind
                .parse::<SocketAddr>()
                .map_err(|_| bad("bind", "must be an address such as 0.0.0.0:514".into()))?;
        }
        if !crate::auth::valid_tenant(&l.tenant) {
            return Err(bad(
                "tenant",
                "must name a tenant (letters, digits, `-`, `_`, `.`)".into(),
            ));
        }
        let name = l.display_name();
        if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control() || c == '"') {
            return Err(bad("name", "1 to 64 characters, no quotes".into()));
        }
        Ok(())
    }

    /// Its sizes, queue, connections, idle timeout and TLS files.
    fn check_limits(&self, server: &crate::config::ServerConfig) -> Result<(), Invalid> {
        let l = self;
        let bad = |key: &'static str, reason: String| (key, reason);
        if !(256..=1 << 20).contains(&l.max_message_bytes) {
            return Err(bad(
                "max_message_bytes",
                "must be between 256 and 1 MiB".into(),
            ));
        }
        if !(1..=10_000_000).contains(&l.queue_messages) {
            return Err(bad(
                "queue_messages",
                "must be between 1 and 10000000".into(),
            ));
        }
        if !(1..=100_000).contains(&l.batch_events) {
            return Err(bad("batch_events", "must be between 1 and 100000".into()));
        }
        if !(1..=1_000_000).contains(&l.max_connections)
            || !(1..=l.max_connections).contains(&l.max_connections_per_address)
        {
            return Err(bad(
                "max_connections",
                "1 to 1000000, and max_connections_per_address 1 to max_connections".into(),
            ));
        }
        if !(1..=86_400).contains(&l.idle_timeout_secs) {
            return Err(bad(
                "idle_timeout_secs",
                "must be between 1 and 86400".into(),
            ));
        }
        if l.tls_cert.is_some() != l.tls_key.is_some() {
            return Err(bad(
                "tls_cert",
                "give both tls_cert and tls_key, or neither".into(),
            ));
        }
        if l.protocol == Protocol::Tls {
            let (c, k) = l.tls_paths(server).ok_or_else(|| {
                bad(
                    "tls_cert",
                    "a TLS listener needs tls_cert and tls_key (its own or the server's)".into(),
                )
            })?;
            crate::tls::server_config(c, k).map_err(|e| bad("tls_cert", e.to_string()))?;
        }
        Ok(())
    }
}

/// One listener's counters.
#[derive(Debug)]
pub struct ListenerStats {
    pub name: String,
    pub protocol: Protocol,
    pub tenant: String,
    /// The address it is bound to (the port chosen when the configuration said 0).
    pub local: SocketAddr,
    pub received: AtomicU64,
    pub bytes: AtomicU64,
    pub parsed: AtomicU64,
    /// Messages none of the formats reads (reported in the log with their reason).
    pub unparsed: AtomicU64,
    pub oversize: AtomicU64,
    /// UDP messages dropped: over the source's rate, or the queue full.
    pub rate_limited: AtomicU64,
    pub queue_full: AtomicU64,
    /// TCP: seconds readers waited for a source's rate.
    pub throttled_ms: AtomicU64,
    /// Authentication attempts scored as user activities.
    pub activities: AtomicU64,
    /// Records the tenant's quota or a failed commit kept from being scored.
    pub not_scored: AtomicU64,
    pub alerts: AtomicU64,
    pub connections_open: AtomicI64,
    pub connections_refused: AtomicU64,
    pub framing_errors: AtomicU64,
}

impl ListenerStats {
    pub fn new(cfg: &ListenerConfig, local: SocketAddr) -> Self {
        ListenerStats {
            name: cfg.display_name(),
            protocol: cfg.protocol,
            tenant: cfg.tenant.clone(),
            local,
            received: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            parsed: AtomicU64::new(0),
            unparsed: AtomicU64::new(0),
            oversize: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            queue_full: AtomicU64::new(0),
            throttled_ms: AtomicU64::new(0),
            activities: AtomicU64::new(0),
            not_scored: AtomicU64::new(0),
            alerts: AtomicU64::new(0),
            connections_open: AtomicI64::new(0),
            connections_refused: AtomicU64::new(0),
            framing_errors: AtomicU64::new(0),
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let labels = format!(
            "listener=\"{}\",protocol=\"{}\",tenant=\"{}\"",
            self.name,
            self.protocol.as_str(),
            self.tenant
        );
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        for (outcome, v) in [
            ("received", get(&self.received)),
            ("parsed", get(&self.parsed)),
            ("unparsed", get(&self.unparsed)),
            ("oversize", get(&self.oversize)),
            ("rate_limited", get(&self.rate_limited)),
            ("queue_full", get(&self.queue_full)),
            ("not_scored", get(&self.not_scored)),
        ] {
            let _ = writeln!(
                out,
                "warden_listener_messages_total{{{labels},outcome=\"{outcome}\"}} {v}"
            );
        }
        let _ = writeln!(
            out,
            "warden_listener_bytes_total{{{labels}}} {}",
            get(&self.bytes)
        );
        let _ = writeln!(
            out,
            "warden_listener_activities_total{{{labels}}} {}",
            get(&self.activities)
        );
        let _ = writeln!(
            out,
            "warden_listener_alerts_total{{{labels}}} {}",
            get(&self.alerts)
        );
        let _ = writeln!(
            out,
            "warden_listener_throttled_seconds_total{{{labels}}} {:.3}",
            get(&self.throttled_ms) as f64 / 1000.0
        );
        let _ = writeln!(
            out,
            "warden_listener_connections{{{labels}}} {}",
            self.connections_open.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "warden_listener_connections_refused_total{{{labels}}} {}",
            get(&self.connections_refused)
        );
        let _ = writeln!(
            out,
            "warden_listener_framing_errors_total{{{labels}}} {}",
            get(&self.framing_errors)
        );
    }
}

/// The listeners running, for `/metrics` and for tests.
#[derive(Debug, Default)]
pub struct Registry {
    running: Mutex<Vec<Arc<ListenerStats>>>,
}

impl Registry {
    pub fn all(&self) -> Vec<Arc<ListenerStats>> {
        self.running.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The running listener named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<ListenerStats>> {
        self.all().into_iter().find(|l| l.name == name)
    }

    fn add(&self, stats: Arc<ListenerStats>) {
        if let Ok(mut r) = self.running.lock() {
            r.push(stats);
        }
    }

    /// Prometheus text.
    pub fn render(&self) -> String {
        let all = self.all();
        if all.is_empty() {
            return String::new();
        }
        let mut out = String::from(
            "# HELP warden_listener_messages_total Syslog messages per listener, by outcome.\n\
             # TYPE warden_listener_messages_total counter\n",
        );
        for l in &all {
            l.render(&mut out);
        }
        out
    }
}

/// A message as it arrived: from an address, or read from a file.
#[derive(Debug)]
pub struct Message {
    pub peer: Option<IpAddr>,
    pub bytes: Vec<u8>,
}

/// The listeners started: wait on them at shutdown.
pub struct Running {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Waits until every socket has stopped and every sink has scored what it held.
    pub async fn finish(self) {
        for t in self.tasks {
            if let Err(e) = t.await {
                tracing::error!("a listener task ended badly: {e}");
            }
        }
    }
}

/// Binds every configured listener and starts it; they stop when `stopping` turns true,
/// after scoring what they hold.
pub async fn start(
    st: &AppState,
    stopping: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<Running> {
    let mut tasks = Vec::new();
    for cfg in &st.config.listeners {
        let (tx, rx) = tokio::sync::mpsc::channel(cfg.queue_messages);
        if cfg.protocol == Protocol::File {
            let (stats, task) = file::start(cfg, tx, stopping.clone())?;
            tracing::info!(
                "file listener {} following {} for tenant {}",
                stats.name,
                cfg.path
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display(),
                cfg.tenant
            );
            st.listeners.add(stats.clone());
            tasks.push(task);
            tasks.push(tokio::spawn(
                sink::Sink::new(st.clone(), cfg, stats).run(rx),
            ));
            continue;
        }
        let addr: SocketAddr = cfg.bind.parse().map_err(std::io::Error::other)?;
        let stats = match cfg.protocol {
            Protocol::Udp => {
                let socket = udp::bind(addr).await?;
                let stats = Arc::new(ListenerStats::new(cfg, socket.local_addr()?));
                tasks.push(tokio::spawn(udp::receive(
                    socket,
                    cfg.clone(),
                    stats.clone(),
                    tx,
                    stopping.clone(),
                )));
                stats
            }
            // Started above.
            Protocol::File => continue,
            Protocol::Tcp | Protocol::Tls => {
                let tls = match cfg.protocol {
                    Protocol::Tls => {
                        let (c, k) = cfg.tls_paths(&st.config.server).ok_or_else(|| {
                            std::io::Error::other("a TLS listener needs a certificate")
                        })?;
                        Some(crate::tls::server_config(c, k).map_err(std::io::Error::other)?)
                    }
                    _ => None,
                };
                let listener = tokio::net::TcpListener::bind(addr).await?;
                let stats = Arc::new(ListenerStats::new(cfg, listener.local_addr()?));
                let accept = tcp::Accept {
                    cfg: cfg.clone(),
                    stats: stats.clone(),
                    tls,
                    handshake_secs: st.config.server.tls_handshake_timeout_secs,
                };
                tasks.push(tokio::spawn(accept.run(listener, tx, stopping.clone())));
                stats
            }
        };
        tracing::info!(
            "syslog listener {} ({}) on {} for tenant {}",
            stats.name,
            cfg.protocol.as_str(),
            stats.local,
            cfg.tenant
        );
        st.listeners.add(stats.clone());
        let sink = sink::Sink::new(st.clone(), cfg, stats);
        tasks.push(tokio::spawn(sink.run(rx)));
    }
    Ok(Running { tasks })
}

/// Resolves once the service is stopping.
async fn stopped(stopping: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is dropped here, not held across a caller's await.
    let _ = stopping.wait_for(|stop| *stop).await.is_ok();
}
