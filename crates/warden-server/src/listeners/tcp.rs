//! Syslog over TCP (RFC 6587) and TLS (RFC 5425): a task per connection reads frames
//! ([`super::framing`]) and queues them, waiting — never dropping — when the queue is full
//! or the source is over its rate, so TCP's own flow control slows the sender. Connections
//! are capped in all and per address, a silent one is closed after `idle_timeout_secs`,
//! a TLS handshake has `server.tls_handshake_timeout_secs`, and at shutdown each
//! connection queues what it has read and ends.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::Sender;
use tokio::sync::watch;

use super::framing::Framer;
use super::sources::{ConnectionCaps, SourceRates};
use super::{ListenerConfig, ListenerStats, Message};

/// A TCP or TLS listener, before it runs.
pub struct Accept {
    pub cfg: ListenerConfig,
    pub stats: Arc<ListenerStats>,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub handshake_secs: u64,
}

/// What every connection of a listener shares.
struct Shared {
    cfg: ListenerConfig,
    stats: Arc<ListenerStats>,
    rates: SourceRates,
    caps: ConnectionCaps,
    tx: Sender<Message>,
}

impl Accept {
    /// Accepts until `stopping`, then waits for its connections to end.
    pub async fn run(
        self,
        listener: TcpListener,
        tx: Sender<Message>,
        mut stopping: watch::Receiver<bool>,
    ) {
        let shared = Arc::new(Shared {
            rates: SourceRates::new(self.cfg.rate_per_source),
            caps: ConnectionCaps::new(
                self.cfg.max_connections,
                self.cfg.max_connections_per_address,
            ),
            cfg: self.cfg,
            stats: self.stats,
            tx,
        });
        let acceptor = self.tls.map(tokio_rustls::TlsAcceptor::from);
        let handshake = Duration::from_secs(self.handshake_secs);
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let (stream, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(r) => r,
                    Err(e) => {
                        // Out of file descriptors, mostly: give the others time to close.
                        tracing::warn!("syslog listener {}: accept: {e}", shared.stats.name);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                _ = super::stopped(&mut stopping) => break,
            };
            // Finished connections are reaped as new ones come.
            while connections.try_join_next().is_some() {}
            let ip = peer.ip();
            if !shared.caps.admit(ip) {
                ListenerStats::add(&shared.stats.connections_refused, 1);
                continue;
            }
            shared
                .stats
                .connections_open
                .fetch_add(1, Ordering::Relaxed);
            let shared = shared.clone();
            let acceptor = acceptor.clone();
            let stopping = stopping.clone();
            connections.spawn(async move {
                serve(stream, ip, acceptor, handshake, &shared, stopping).await;
                shared.caps.release(ip);
                shared
                    .stats
                    .connections_open
                    .fetch_sub(1, Ordering::Relaxed);
            });
        }
        while connections.join_next().await.is_some() {}
    }
}

async fn serve(
    stream: TcpStream,
    ip: IpAddr,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    handshake: Duration,
    shared: &Shared,
    stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    match acceptor {
        None => read_frames(stream, ip, shared, stopping).await,
        Some(a) => match tokio::time::timeout(handshake, a.accept(stream)).await {
            Ok(Ok(tls)) => read_frames(tls, ip, shared, stopping).await,
            Ok(Err(e)) => {
                tracing::debug!("syslog listener {}: TLS from {ip}: {e}", shared.stats.name);
                ListenerStats::add(&shared.stats.connections_refused, 1);
            }
            Err(_) => ListenerStats::add(&shared.stats.connections_refused, 1),
        },
    }
}

/// Reads one connection to its end (or idleness, or shutdown), queueing every message.
async fn read_frames<S: AsyncRead + Unpin>(
    mut stream: S,
    ip: IpAddr,
    shared: &Shared,
    mut stopping: watch::Receiver<bool>,
) {
    let stats = &shared.stats;
    let idle = Duration::from_secs(shared.cfg.idle_timeout_secs);
    let mut framer = Framer::new(shared.cfg.max_message_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::new();
    loop {
        let n = tokio::select! {
            r = tokio::time::timeout(idle, stream.read(&mut buf)) => match r {
                Ok(Ok(0)) | Err(_) => break,
                Ok(Ok(n)) => n,
                Ok(Err(e)) => {
                    tracing::debug!("syslog listener {}: from {ip}: {e}", stats.name);
                    break;
                }
            },
            _ = super::stopped(&mut stopping) => break,
        };
        ListenerStats::add(&stats.bytes, n as u64);
        let oversize = framer.oversize;
        let fed = framer.feed(&buf[..n], &mut out);
        ListenerStats::add(&stats.oversize, framer.oversize - oversize);
        if let Err(e) = fed {
            ListenerStats::add(&stats.framing_errors, 1);
            tracing::warn!(
                "syslog listener {}: from {ip}: {e}; connection closed",
                stats.name
            );
            break;
        }
        if !queue(&mut out, ip, shared).await {
            return;
        }
    }
    framer.finish(&mut out);
    queue(&mut out, ip, shared).await;
}

/// Queues `out` after the source's rate allows it; `false` when the sink is gone.
async fn queue(out: &mut Vec<Vec<u8>>, ip: IpAddr, shared: &Shared) -> bool {
    if out.is_empty() {
        return true;
    }
    let stats = &shared.stats;
    ListenerStats::add(&stats.received, out.len() as u64);
    let wait = shared.rates.take_or_wait(ip, out.len());
    if !wait.is_zero() {
        ListenerStats::add(&stats.throttled_ms, wait.as_millis() as u64);
        tokio::time::sleep(wait).await;
    }
    for bytes in out.drain(..) {
        if shared
            .tx
            .send(Message {
                peer: Some(ip),
                bytes,
            })
            .await
            .is_err()
        {
            return false;
        }
    }
    true
}
