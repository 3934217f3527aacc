//! Syslog over UDP (RFC 5426): one message per datagram. A datagram over the source's rate
//! or arriving while the queue is full is dropped and counted — UDP cannot ask a sender to
//! slow down — and the socket's receive buffer is raised so bursts wait in the kernel
//! rather than being lost there.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::mpsc::error::TrySendError;

use super::sources::SourceRates;
use super::{ListenerConfig, ListenerStats, Message};

/// Receive buffer asked of the kernel (it may grant less: `net.core.rmem_max`).
const RECV_BUFFER: usize = 8 << 20;

/// Binds the socket.
pub async fn bind(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = UdpSocket::bind(addr).await?;
    if let Err(e) = rustix::net::sockopt::set_socket_recv_buffer_size(&socket, RECV_BUFFER) {
        tracing::warn!("syslog listener on {addr}: receive buffer left as it was: {e}");
    }
    Ok(socket)
}

/// Receives until `stopping`; dropping the queue's sender then lets the sink finish.
pub async fn receive(
    socket: UdpSocket,
    cfg: ListenerConfig,
    stats: Arc<ListenerStats>,
    tx: tokio::sync::mpsc::Sender<Message>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let rates = SourceRates::new(cfg.rate_per_source);
    // The largest UDP payload, so no datagram is cut short unnoticed.
    let mut buf = vec![0u8; 65_536];
    loop {
        let (n, peer) = tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok(r) => r,
                Err(e) => {
                    // An ICMP error from an earlier send, or a signal: the socket still works.
                    tracing::debug!("syslog listener {}: {e}", stats.name);
                    continue;
                }
            },
            _ = super::stopped(&mut stopping) => break,
        };
        ListenerStats::add(&stats.received, 1);
        ListenerStats::add(&stats.bytes, n as u64);
        if n > cfg.max_message_bytes {
            ListenerStats::add(&stats.oversize, 1);
            continue;
        }
        let end = buf[..n]
            .iter()
            .rposition(|c| !matches!(c, b'\r' | b'\n' | 0))
            .map_or(0, |p| p + 1);
        if end == 0 {
            continue;
        }
        if !rates.try_take(peer.ip()) {
            ListenerStats::add(&stats.rate_limited, 1);
            continue;
        }
        let message = Message {
            peer: Some(peer.ip()),
            bytes: buf[..end].to_vec(),
        };
        match tx.try_send(message) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => ListenerStats::add(&stats.queue_full, 1),
            Err(TrySendError::Closed(_)) => break,
        }
    }
}
