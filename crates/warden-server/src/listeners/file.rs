//! A log file followed as it grows (`protocol = "file"`): its lines are queued as a
//! socket's messages are, by a thread of its own ([`warden_ingest::follow`]: rotation by
//! rename or truncation, polling); the queue's back-pressure simply slows the reading, so
//! nothing is dropped. From the file's end unless `from_beginning`. At shutdown the
//! thread stops at its next read, and the sink scores what was queued.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use warden_ingest::follow::{Follow, FollowOptions};
use warden_ingest::lines::{Line, LineReader};

use super::{ListenerConfig, ListenerStats, Message};

/// Opens the file and starts following it: its counters, and the task that ends with it.
pub fn start(
    cfg: &ListenerConfig,
    tx: tokio::sync::mpsc::Sender<Message>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(Arc<ListenerStats>, tokio::task::JoinHandle<()>)> {
    let path = cfg
        .path
        .clone()
        .ok_or_else(|| std::io::Error::other("a file listener needs a path"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let follow = Follow::open(
        &path,
        FollowOptions {
            from_end: !cfg.from_beginning,
            stop: stop.clone(),
            ..FollowOptions::default()
        },
    )
    .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    // A file has no address: the counters show the unspecified one.
    let stats = Arc::new(ListenerStats::new(
        cfg,
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
    ));
    let max = cfg.max_message_bytes;
    let reading = stats.clone();
    let reader = tokio::task::spawn_blocking(move || read_lines(follow, max, &reading, &tx));
    let task = tokio::spawn(async move {
        super::stopped(&mut stopping).await;
        stop.store(true, Ordering::Relaxed);
        if let Err(e) = reader.await {
            tracing::error!("file listener: the reader ended badly: {e}");
        }
    });
    Ok((stats, task))
}

/// Reads lines until the follower stops (or the sink is gone).
fn read_lines(
    follow: Follow,
    max: usize,
    stats: &ListenerStats,
    tx: &tokio::sync::mpsc::Sender<Message>,
) {
    let mut lines = LineReader::new(std::io::BufReader::with_capacity(64 * 1024, follow), max);
    let mut buf = Vec::new();
    loop {
        match lines.next_line(&mut buf) {
            Ok(Some(Line::Ok(_))) => {
                ListenerStats::add(&stats.bytes, buf.len() as u64 + 1);
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                ListenerStats::add(&stats.received, 1);
                let message = Message {
                    peer: None,
                    bytes: std::mem::take(&mut buf),
                };
                if tx.blocking_send(message).is_err() {
                    return;
                }
            }
            Ok(Some(Line::TooLong(..))) => {
                ListenerStats::add(&stats.received, 1);
                ListenerStats::add(&stats.oversize, 1);
            }
            Ok(None) => return,
            Err(e) => {
                tracing::error!("file listener {}: {e}; following ends", stats.name);
                return;
            }
        }
    }
}
