//! The service's accept loop: every connection is admitted against a global cap and a cap
//! per client address, then served by hyper with a timer, so that no client can hold the
//! service's sockets for free.
//!
//! - **Caps**: `server.max_connections` (0 = three quarters of the process's open-file limit,
//!   which [`raise_open_file_limit`] first lifts to its hard limit) and
//!   `server.max_connections_per_address`. A connection over either cap is closed as soon
//!   as it is accepted and counted; it never costs a task or a handshake.
//! - **Time limits**: the request head must arrive within `server.header_read_timeout_secs`
//!   (this also closes idle keep-alive connections: waiting for the next request is waiting
//!   for a head); a request body that stalls for `server.body_read_timeout_secs` between
//!   two reads fails with 408 ([`body_timeout`]); a TLS handshake must finish within
//!   `server.tls_handshake_timeout_secs`, and it runs inside the connection's own task, so
//!   slow handshakes hold only their own slot and count against their own address.
//! - **Shutdown**: on the signal, accepting stops, every connection finishes the request in
//!   flight and closes (WebSocket and SSE streams end through `AppState::closing`), and
//!   connections still open after [`DRAIN`] are dropped.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::ServerConfig;

/// Time connections get to finish after the shutdown signal.
pub const DRAIN: Duration = Duration::from_secs(10);
/// Connections held back for the store, outputs and logs when the cap is derived from the
/// open-file limit.
const RESERVED_FILES: u64 = 64;
/// The derived cap never goes above this.
const MAX_AUTO_CONNECTIONS: u64 = 65_536;

/// Lifts the soft open-file limit to the hard one (servers need descriptors; the soft
/// default of 1,024 is a desktop's). Returns the soft limit in force afterwards.
pub fn raise_open_file_limit() -> Option<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let (Some(cur), Some(max)) = (limit.current, limit.maximum)
        && cur < max
    {
        let raised = rustix::process::Rlimit {
            current: Some(max),
            maximum: Some(max),
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            limit.current = Some(max);
        }
    }
    limit.current
}

/// The connection cap in force: the configured one, or derived from the open-file limit.
pub fn connection_cap(config: &ServerConfig, open_files: Option<u64>) -> usize {
    if config.max_connections > 0 {
        return config.max_connections;
    }
    let files = open_files.unwrap_or(1024).min(MAX_AUTO_CONNECTIONS * 2);
    (files.saturating_sub(RESERVED_FILES) * 3 / 4).clamp(16, MAX_AUTO_CONNECTIONS) as usize
}

/// Connections open now, in all and per client address, and what was refused or timed out.
#[derive(Debug, Default)]
pub struct ConnectionStats {
    open: Mutex<Open>,
    accepted: AtomicU64,
    refused_global: AtomicU64,
    refused_per_address: AtomicU64,
    header_timeouts: AtomicU64,
    handshake_failures: AtomicU64,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Global,
    PerAddress,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Admitted {
    stats: Arc<ConnectionStats>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.stats.lock();
        open.total = open.total.saturating_sub(1);
        if let Some(n) = open.by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_address.remove(&self.ip);
            }
        }
    }
}

impl ConnectionStats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // The counts stay consistent even if a holder panicked: each update is one step.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `ip` under the caps, or says which cap refused it.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        max_total: usize,
        max_per_address: usize,
    ) -> Result<Admitted, Refusal> {
        let mut open = self.lock();
        if open.total >= max_total {
            self.refused_global.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::Global);
        }
        let n = open.by_address.entry(ip).or_insert(0);
        if *n >= max_per_address {
            self.refused_per_address.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::PerAddress);
        }
        *n += 1;
        open.total += 1;
        self.accepted.fetch_add(1, Ordering::Relaxed);
        Ok(Admitted {
            stats: self.clone(),
            ip,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.lock().total
    }

    /// The Prometheus text of these counts.
    pub fn render(&self) -> String {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        format!(
            "# HELP warden_connections_open Client connections open.\n# TYPE warden_connections_open gauge\nwarden_connections_open {}\n\
# HELP warden_connections_accepted_total Client connections admitted.\n# TYPE warden_connections_accepted_total counter\nwarden_connections_accepted_total {}\n\
# HELP warden_connections_refused_total Connections closed on accept, by the cap that refused them.\n# TYPE warden_connections_refused_total counter\nwarden_connections_refused_total{{cap=\"global\"}} {}\nwarden_connections_refused_total{{cap=\"per_address\"}} {}\n\
# HELP warden_connections_timed_out_total Connections closed for a request head not sent in time.\n# TYPE warden_connections_timed_out_total counter\nwarden_connections_timed_out_total {}\n\
# HELP warden_tls_handshake_failures_total TLS handshakes that failed or timed out.\n# TYPE warden_tls_handshake_failures_total counter\nwarden_tls_handshake_failures_total {}\n",
            self.open(),
            g(&self.accepted),
            g(&self.refused_global),
            g(&self.refused_per_address),
            g(&self.header_timeouts),
            g(&self.handshake_failures),
        )
    }
}

/// What the accept loop needs besides the listener.
pub struct Serving {
    pub router: Router,
    pub config: ServerConfig,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub stats: Arc<ConnectionStats>,
    pub open_files: Option<u64>,
}

/// Accepts and serves until `shutdown` turns true, then drains (see the module docs).
pub async fn serve(
    listener: TcpListener,
    serving: Serving,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let Serving {
        router,
        config,
        tls,
        stats,
        open_files,
    } = serving;
    let max_total = connection_cap(&config, open_files);
    let per_address = config.max_connections_per_address;
    let limits = Arc::new(Limits::from(&config));
    let acceptor = tls.map(TlsAcceptor::from);
    tracing::info!("accepting at most {max_total} connections, {per_address} per address");
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let (tcp, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors and the like: wait, then go on.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = closing(&mut shutdown) => break,
        };
        // Closing at once: a refused connection costs no task and no handshake.
        let Ok(admitted) = stats.admit(addr.ip(), max_total, per_address) else {
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (router, limits, stats, shutdown) = (
            router.clone(),
            limits.clone(),
            stats.clone(),
            shutdown.clone(),
        );
        let acceptor = acceptor.clone();
        tasks.spawn(async move {
            let _admitted = admitted;
            match acceptor {
                None => connection(tcp, addr, router, &limits, &stats, shutdown).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => {
                            connection(tls, addr, router, &limits, &stats, shutdown).await;
                        }
                        Ok(Err(e)) => {
                            stats.handshake_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("TLS handshake with {addr} failed: {e}");
                        }
                        Err(_) => {
                            stats.handshake_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!("TLS handshake with {addr} timed out");
                        }
                    }
                }
            }
        });
        // Reap finished tasks so the set holds only live connections.
        while tasks.try_join_next().is_some() {}
    }
    drop(listener);
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            "{} connections still open after {DRAIN:?}; closing them",
            tasks.len()
        );
        tasks.abort_all();
    }
    Ok(())
}

/// Resolves once the service is shutting down (or its signal is gone).
async fn closing(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|closing| *closing).await;
}

/// The time limits one connection runs under.
struct Limits {
    header: Duration,
    handshake: Duration,
}

impl From<&ServerConfig> for Limits {
    fn from(c: &ServerConfig) -> Self {
        Limits {
            header: Duration::from_secs(c.header_read_timeout_secs),
            handshake: Duration::from_secs(c.tls_handshake_timeout_secs),
        }
    }
}

/// Serves HTTP/1.1 (with upgrades, for WebSockets) on one connection until it ends or the
/// service shuts down.
async fn connection<I>(
    io: I,
    addr: SocketAddr,
    router: Router,
    limits: &Limits,
    stats: &ConnectionStats,
    mut shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut req: Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(addr));
        req
    });
    let service = hyper_util::service::TowerToHyperService::new(service);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header);
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        () = closing(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = ended {
        if e.is_timeout() {
            stats.header_timeouts.fetch_add(1, Ordering::Relaxed);
        }
        tracing::debug!("connection from {addr}: {e}");
    }
}

/// Middleware: a request body that sends nothing for `server.body_read_timeout_secs`
/// fails with 408 instead of holding its handler (and its batch slot) forever.
pub async fn body_timeout(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(StallLimited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// A body whose every frame must come within `limit` of the previous one.
struct StallLimited {
    inner: axum::body::Body,
    limit: Duration,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl StallLimited {
    fn new(inner: axum::body::Body, limit: Duration) -> Self {
        StallLimited {
            inner,
            limit,
            sleep: Box::pin(tokio::time::sleep(limit)),
        }
    }
}

/// The error a stalled body reads as; handlers answer 408 for it ([`crate::error`]).
#[derive(Debug, thiserror::Error)]
#[error("the request body stalled for longer than the server allows")]
pub struct BodyStalled;

impl http_body::Body for StallLimited {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        let this = &mut *self;
        match std::pin::Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + this.limit;
                this.sleep.as_mut().reset(deadline);
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyStalled)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_per_address_and_in_all_and_free_on_drop() {
        let stats = Arc::new(ConnectionStats::default());
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let first: Vec<_> = (0..2).filter_map(|_| stats.admit(a, 3, 2).ok()).collect();
        assert_eq!(first.len(), 2);
        assert_eq!(stats.admit(a, 3, 2).err(), Some(Refusal::PerAddress));
        let other = stats.admit(b, 3, 2);
        assert!(other.is_ok());
        assert_eq!(stats.admit(b, 3, 2).err(), Some(Refusal::Global));
        drop(first);
        assert_eq!(stats.open(), 1);
        assert!(stats.admit(a, 3, 2).is_ok());
        let text = stats.render();
        assert!(text.contains("warden_connections_refused_total{cap=\"per_address\"} 1"));
        assert!(text.contains("warden_connections_refused_total{cap=\"global\"} 1"));
    }

    #[test]
    fn the_derived_cap_leaves_room_for_the_store() {
        let auto = ServerConfig::default();
        assert_eq!(connection_cap(&auto, Some(1024)), 720);
        assert_eq!(connection_cap(&auto, Some(10)), 16);
        assert_eq!(connection_cap(&auto, Some(u64::MAX)), 65_536);
        let fixed = ServerConfig {
            max_connections: 100,
            ..ServerConfig::default()
        };
        assert_eq!(connection_cap(&fixed, Some(1024)), 100);
    }
}
