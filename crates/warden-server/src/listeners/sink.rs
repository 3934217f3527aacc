//! A listener's messages → records → the tenant's pipeline. Messages are taken from the
//! queue in batches (what is waiting, up to `batch_events`), parsed as `warden detect`
//! parses text logs (one parser per listener: BSD years and audit events carry from one
//! message to the next), and scored: every message as a log document (Sigma rules, payload
//! analysis of process starts), each authentication attempt also as a user activity
//! (the behavioural baselines), counted once ([`AttemptQueue`]).
//!
//! **Time.** A PAM report is held until its service's own report supersedes it or its
//! window passes. In a stream the window is judged on the stream's clock — the latest
//! event time plus the wall time since it arrived — so a replay of old logs is not
//! released early and a quiet live stream is still released on time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use warden_event::{Input, LogEvent, Timestamp};
use warden_ingest::text::{AttemptQueue, LineParser, ParsedLine, SyslogOptions};

use super::{ListenerConfig, ListenerStats, Message};
use crate::state::AppState;

/// Unreadable messages reported in the log one by one; later ones are only counted.
const REPORTED: u64 = 20;

/// The parsing state of one listener.
pub struct Sink {
    st: AppState,
    stats: Arc<ListenerStats>,
    batch_events: usize,
    parser: LineParser,
    opts: SyslogOptions,
    attempts: AttemptQueue,
    /// Messages read so far: each one's number, what its events cite.
    seq: u64,
    /// The latest event time, and when it arrived.
    clock: Option<(Timestamp, Instant)>,
}

impl Sink {
    pub fn new(st: AppState, cfg: &ListenerConfig, stats: Arc<ListenerStats>) -> Self {
        let opts = syslog_options(&st);
        Sink {
            batch_events: cfg.batch_events,
            parser: LineParser::new(opts),
            opts,
            attempts: AttemptQueue::default(),
            seq: 0,
            clock: None,
            st,
            stats,
        }
    }

    /// Scores what arrives until every sender is gone, then what is still held. Reading a
    /// batch overlaps scoring the one before (two cores at work); batches are scored one
    /// after the other, in order.
    pub async fn run(mut self, mut rx: tokio::sync::mpsc::Receiver<Message>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut scoring: Option<tokio::task::JoinHandle<()>> = None;
        loop {
            let mut batch = Vec::with_capacity(self.batch_events.min(4096));
            let open = tokio::select! {
                n = rx.recv_many(&mut batch, self.batch_events) => n > 0,
                // A quiet stream: held attempts whose window passed are scored.
                _ = tick.tick() => true,
            };
            let (sink, read) = self.read_in_background(batch, !open).await;
            self = sink;
            if let Some(previous) = scoring.take() {
                finished(previous, &self.stats).await;
            }
            if !read.inputs.is_empty() {
                let (st, stats) = (self.st.clone(), self.stats.clone());
                scoring = Some(tokio::task::spawn_blocking(move || {
                    score(&st, &stats, read);
                }));
            }
            if !open {
                break;
            }
        }
        if let Some(last) = scoring {
            finished(last, &self.stats).await;
        }
    }

    /// Runs [`read_batch`](Self::read_batch) off the async threads.
    async fn read_in_background(self, batch: Vec<Message>, end: bool) -> (Self, Read) {
        let st = self.st.clone();
        let stats = self.stats.clone();
        let batch_events = self.batch_events;
        let opts = self.opts;
        match tokio::task::spawn_blocking(move || {
            let mut sink = self;
            let read = sink.read_batch(batch, end);
            (sink, read)
        })
        .await
        {
            Ok(done) => done,
            Err(e) => {
                // A bug: the listener goes on with fresh state rather than stopping.
                tracing::error!("syslog listener {}: reading failed: {e}", stats.name);
                let fresh = Sink {
                    st,
                    stats,
                    batch_events,
                    parser: LineParser::new(opts),
                    opts,
                    attempts: AttemptQueue::default(),
                    seq: 0,
                    clock: None,
                };
                (fresh, Read::default())
            }
        }
    }

    /// Parses one batch into records; `end`: nothing more will come (what is held is
    /// let go).
    pub fn read_batch(&mut self, batch: Vec<Message>, end: bool) -> Read {
        let (mut inputs, parsed, unparsed) = self.read(batch);
        ListenerStats::add(&self.stats.parsed, parsed);
        ListenerStats::add(&self.stats.unparsed, unparsed);
        if end {
            if let Some(joined) = self.parser.finish() {
                inputs.push(log_input(joined.doc, None, 0));
            }
            self.attempts.finish();
        } else if let Some((t, at)) = self.clock {
            let since = i64::try_from(at.elapsed().as_millis()).unwrap_or(i64::MAX);
            self.attempts.advance(Timestamp(t.0.saturating_add(since)));
        }
        let mut activities = 0;
        while let Some((a, _)) = self.attempts.pop() {
            activities += 1;
            inputs.push(Input::activity(a, 0));
        }
        self.st
            .metrics
            .tenant_events(&self.stats.tenant, parsed + unparsed, unparsed);
        Read { inputs, activities }
    }

    /// The batch's messages as log records (their attempts queued): the records, and
    /// how many messages were read and not.
    fn read(&mut self, batch: Vec<Message>) -> (Vec<Input>, u64, u64) {
        let mut inputs = Vec::with_capacity(batch.len());
        let (mut parsed, mut unparsed) = (0, 0);
        for m in batch {
            self.seq += 1;
            let text = String::from_utf8_lossy(&m.bytes);
            match self.parser.parse_at(&text, self.seq) {
                Ok(p) => {
                    parsed += 1;
                    self.add(p, m.peer, m.bytes.len(), &mut inputs);
                }
                Err(reason) => {
                    unparsed += 1;
                    let seen = self
                        .stats
                        .unparsed
                        .load(std::sync::atomic::Ordering::Relaxed);
                    if seen + unparsed <= REPORTED {
                        tracing::warn!(
                            "syslog listener {}: message {} from {}: not read: {reason}",
                            self.stats.name,
                            self.seq,
                            m.peer
                                .map_or_else(|| "the file".to_owned(), |p| p.to_string())
                        );
                    }
                }
            }
            if let Some(joined) = self.parser.take_joined() {
                self.add(joined, m.peer, 0, &mut inputs);
            }
        }
        (inputs, parsed, unparsed)
    }

    /// A parsed message as a log document, and its attempt (if any) queued.
    fn add(
        &mut self,
        p: ParsedLine,
        peer: Option<std::net::IpAddr>,
        size: usize,
        inputs: &mut Vec<Input>,
    ) {
        if let Some(t) = p.time
            && self.clock.is_none_or(|(c, _)| t > c)
        {
            self.clock = Some((t, Instant::now()));
        }
        if let Some(e) = &p.auth {
            self.attempts
                .push(e, p.host.as_deref(), p.pid, &self.stats.name, p.line);
        }
        let mut input = log_input(p.doc, peer, size);
        if let warden_event::Record::Log(e) = &mut input.record {
            // What the entity graph and the alerts cite: the listener and the message.
            e.source = Some(self.stats.name.clone());
            e.line = Some(p.line);
        }
        inputs.push(input);
    }
}

/// What a batch became: its records, and how many of them are authentication attempts.
#[derive(Debug, Default)]
pub struct Read {
    pub inputs: Vec<Input>,
    pub activities: u64,
}

/// Scores a batch's records with the tenant's pipeline (they are dropped here too, off
/// the reading thread).
pub fn score(st: &AppState, stats: &ListenerStats, read: Read) {
    let n = read.inputs.len();
    if let Some(log) = &st.forward {
        // Forwarded: the workers detect; the error is logged by `forward`.
        if crate::forward::forward(st, log.as_ref(), &stats.tenant, read.inputs).is_err() {
            ListenerStats::add(&stats.not_scored, n as u64);
        }
        ListenerStats::add(&stats.activities, read.activities);
        return;
    }
    match crate::scoring::score(st, &stats.tenant, read.inputs, (0..n).collect()) {
        Ok(scored) => {
            ListenerStats::add(&stats.not_scored, scored.over_quota.len() as u64);
            let new = scored.alerts.iter().filter(|a| a.3).count();
            ListenerStats::add(&stats.alerts, new as u64);
        }
        Err(e) => {
            ListenerStats::add(&stats.not_scored, n as u64);
            tracing::error!(
                "syslog listener {}: {n} records not scored: {e}",
                stats.name
            );
        }
    }
    // Counted once scored: whoever sees the count can read the alerts.
    ListenerStats::add(&stats.activities, read.activities);
}

/// Waits for a batch's scoring; a panic in it is a bug, reported.
async fn finished(scoring: tokio::task::JoinHandle<()>, stats: &ListenerStats) {
    if let Err(e) = scoring.await {
        tracing::error!("syslog listener {}: scoring failed: {e}", stats.name);
    }
}

/// A document as a log record of `size` bytes, with the address that sent it (ECS
/// `log.source.address`).
fn log_input(mut doc: serde_json::Value, peer: Option<std::net::IpAddr>, size: usize) -> Input {
    if let Some(peer) = peer
        && let Some(o) = doc.as_object_mut()
    {
        let log = o
            .entry("log")
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let Some(log) = log.as_object_mut() {
            log.insert(
                "source".into(),
                serde_json::json!({ "address": peer.to_string() }),
            );
        }
    }
    Input::log(LogEvent::of(doc), size)
}

/// `[ingest.syslog]` as the parser's options; a stream's "now" is the clock.
fn syslog_options(st: &AppState) -> SyslogOptions {
    let s = &st.config.ingest.syslog;
    SyslogOptions {
        year: s.year,
        // Validated at start.
        offset_minutes: s.offset_minutes().unwrap_or(0),
        reference: Timestamp::now(),
    }
}
