//! One owned partition on JetStream: restore, then consume, detect, deliver, acknowledge
//! and checkpoint, until the worker releases it or loses its lease.
//!
//! The order is the Kafka worker's:
//! 1. read the partition's checkpoint and how far its alerts were delivered, and build the
//!    pipeline from them;
//! 2. (re)create the partition's durable consumer at the checkpoint's sequence (deleting
//!    the previous owner's: if that owner still runs, its next fetch fails and it stops);
//! 3. per fetched batch: messages through the pipeline (up to what was delivered they only
//!    rebuild state), the batch's alerts published and acknowledged by the server, then
//!    the batch acknowledged to the consumer;
//! 4. a checkpoint when due, always after the alerts it covers were delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::watch;
use warden_event::{Alert, Timestamp};

use super::store::{Checkpoints, delivered_through, source_value};
use super::{Context, NatsError, SOURCE_HEADER, subject};
use crate::partition::{PartitionPipeline, PipelineSpec};
use crate::stats::{PartitionGauges, WorkerStats};
use crate::{AlertFormat, format_alert};

/// What the worker tells a partition's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Run,
    /// Finish the batch, checkpoint, stop: the partition is handed over.
    Release,
    /// Stop at once, writing nothing: the lease is lost and another worker owns it.
    Abandon,
}

/// What the partition tasks of a worker share.
pub struct Shared {
    pub js: jetstream::Context,
    pub group: String,
    pub input: stream::Stream,
    pub input_name: String,
    pub alerts: Option<(stream::Stream, String)>,
    pub alert_format: AlertFormat,
    pub checkpoints: Checkpoints,
    pub spec: Arc<PipelineSpec>,
    pub stats: Arc<WorkerStats>,
    pub checkpoint_every: u64,
    pub checkpoint_secs: u64,
    /// Messages per fetch.
    pub batch: usize,
    /// Outputs sent every alert before the alert stream ([`crate::outputs`]).
    pub outputs: Option<Arc<crate::WorkerOutputs>>,
}

/// A partition's task, as the worker holds it.
pub struct Running {
    pub order: watch::Sender<Order>,
    pub task: tokio::task::JoinHandle<Result<(), NatsError>>,
    restored: Arc<AtomicBool>,
}

impl Running {
    /// The partition's state is restored and it is being consumed.
    pub fn restored(&self) -> bool {
        self.restored.load(Ordering::Relaxed)
    }
}

/// Starts partition `p`'s task.
pub fn start(shared: Arc<Shared>, p: u32) -> Running {
    let (order, rx) = watch::channel(Order::Run);
    let restored = Arc::new(AtomicBool::new(false));
    let flag = restored.clone();
    let task = tokio::spawn(async move {
        let r = run(&shared, p, rx, &flag).await;
        if let Ok(mut g) = shared.stats.partitions.lock() {
            g.remove(&(p as i32));
        }
        r
    });
    Running {
        order,
        task,
        restored,
    }
}

/// The partition's state while it is consumed.
struct Owned {
    pp: PartitionPipeline,
    /// Events and time at the last checkpoint.
    checkpointed: (u64, Instant),
    checkpoint_bytes: u64,
    lag: u64,
    printed_errors: u64,
    /// The consumer sequence the next delivery must carry: deliveries are numbered without
    /// gaps, so another number means messages were delivered that never arrived (lost on a
    /// connection that broke) or that the server forgot where it was (restarted).
    next_delivery: u64,
}

/// How long a fetch may go without an answer before it is given up.
const FETCH_WAIT: Duration = Duration::from_secs(5);

/// How long a partition with nothing to read waits before it looks again.
const IDLE: Duration = Duration::from_millis(20);

/// Fetches that may fail in a row (a server away, restarting) before the task gives the
/// partition up to be claimed afresh.
const FETCH_FAILURES: u32 = 40;

async fn run(
    shared: &Shared,
    p: u32,
    mut order: watch::Receiver<Order>,
    restored: &AtomicBool,
) -> Result<(), NatsError> {
    let started = Instant::now();
    let mut owned = restore(shared, p).await?;
    let mut consumer =
        Some(durable_consumer(shared, p, owned.pp.next_offset(&shared.input_name)).await?);
    WorkerStats::add(&shared.stats.rebalances, 1);
    shared
        .stats
        .last_restore_ms
        .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
    restored.store(true, Ordering::Relaxed);
    gauges(shared, p, &owned);
    let mut failures = 0;
    loop {
        match *order.borrow_and_update() {
            Order::Run => {}
            Order::Release => break,
            Order::Abandon => return Ok(()),
        }
        // A consumer that may have delivered messages this task never received is
        // replaced by one that starts at the state's own position.
        let c = match consumer.take() {
            Some(c) => c,
            None => {
                match durable_consumer(shared, p, owned.pp.next_offset(&shared.input_name)).await {
                    Ok(c) => {
                        owned.next_delivery = 1;
                        c
                    }
                    Err(e) => {
                        trouble(shared, p, &mut failures, e).await?;
                        continue;
                    }
                }
            }
        };
        // What is there now, without waiting: a pull that waits for a full batch ends, on
        // servers before 2.10, only at the client's own timeout (expiry + 5 s) when fewer
        // messages come, which alerts would wait for.
        let mut batch = match c.fetch().max_messages(shared.batch).messages().await {
            Ok(b) => b,
            Err(e) => {
                trouble(shared, p, &mut failures, e).await?;
                continue; // and resynchronise: the consumer is not kept
            }
        };
        failures = 0;
        let mut outgoing = Vec::new();
        let (last, in_step) = read_batch(shared, p, &mut owned, &mut batch, &mut outgoing).await;
        if in_step {
            consumer = Some(c);
        }
        let Some(last) = last else {
            tokio::time::sleep(IDLE).await;
            continue;
        };
        if !send_and_deliver(shared, p, &mut outgoing, &order).await {
            // Told to stop before the alerts reached every output and the alert stream:
            // nothing is acknowledged or checkpointed past them, so the partition's next
            // owner sends them.
            return Ok(());
        }
        if let Err(e) = last.ack().await {
            tracing::warn!(partition = p, "ack: {e}");
        }
        checkpoint(shared, p, &mut owned, false).await;
        gauges(shared, p, &owned);
    }
    checkpoint(shared, p, &mut owned, true).await;
    Ok(())
}

/// A batch's alerts sent to the worker's outputs, then delivered to the alert stream;
/// `false` when told to stop before both were done.
async fn send_and_deliver(
    shared: &Shared,
    p: u32,
    outgoing: &mut Vec<(Alert, u64)>,
    order: &watch::Receiver<Order>,
) -> bool {
    if let Some(out) = &shared.outputs
        && !outgoing.is_empty()
    {
        let alerts: Vec<Alert> = outgoing.iter().map(|(a, _)| a.clone()).collect();
        if !out.send(&alerts, || *order.borrow() != Order::Run).await {
            return false;
        }
    }
    deliver(shared, p, outgoing, order).await
}

/// Runs a fetched batch's messages through the partition's pipeline, collecting their
/// alerts in `outgoing`. Returns the last message handled (the one to acknowledge) and
/// whether the consumer is still in step with the state: a broken or silent fetch, or a
/// delivery out of sequence, means it is not, and must be replaced.
async fn read_batch(
    shared: &Shared,
    p: u32,
    owned: &mut Owned,
    batch: &mut consumer::pull::Batch,
    outgoing: &mut Vec<(Alert, u64)>,
) -> (Option<jetstream::Message>, bool) {
    let mut last = None;
    loop {
        // A request the server never answers (it died meanwhile) must not hang the task.
        let m = match tokio::time::timeout(FETCH_WAIT, batch.next()).await {
            Ok(None) => return (last, true),
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => {
                WorkerStats::add(&shared.stats.broker_errors, 1);
                tracing::warn!(partition = p, "fetch: {e}");
                return (last, false);
            }
            Err(_) => {
                WorkerStats::add(&shared.stats.broker_errors, 1);
                tracing::warn!(partition = p, "fetch: no answer in {FETCH_WAIT:?}");
                return (last, false);
            }
        };
        if !handle(shared, p, owned, &m, outgoing) {
            return (last, false);
        }
        last = Some(m);
    }
}

/// A fetch that failed (a server away or restarting): counted, waited on, and after
/// [`FETCH_FAILURES`] in a row an error that gives the partition up to be claimed afresh.
/// A lease lost meanwhile stops the task through its orders.
async fn trouble(
    shared: &Shared,
    p: u32,
    failures: &mut u32,
    e: impl std::fmt::Display,
) -> Result<(), NatsError> {
    WorkerStats::add(&shared.stats.broker_errors, 1);
    *failures += 1;
    if *failures >= FETCH_FAILURES {
        return Err(NatsError::Broker {
            what: format!("fetch from partition {p}"),
            reason: e.to_string(),
        });
    }
    tracing::warn!(partition = p, "fetch: {e} (retrying)");
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

/// Reads the checkpoint and the delivery record and builds the pipeline from them.
async fn restore(shared: &Shared, p: u32) -> Result<Owned, NatsError> {
    let restored = shared.checkpoints.read(p).await?;
    let mut alerts_from = std::collections::BTreeMap::new();
    if let Some((alerts, name)) = &shared.alerts
        && let Some((s, seq)) = delivered_through(alerts, name, p).await?
    {
        alerts_from.insert(s, seq + 1);
    }
    let had = restored.checkpoint.is_some();
    let pp = PartitionPipeline::restore(&shared.spec, p as i32, restored.checkpoint, &alerts_from)
        .map_err(|e| NatsError::Config(e.to_string()))?;
    if had {
        WorkerStats::add(&shared.stats.restores, 1);
    }
    if restored.unreadable {
        WorkerStats::add(&shared.stats.unreadable_checkpoints, 1);
    }
    tracing::info!(
        partition = p,
        from = ?pp.offsets(),
        alerts_from = ?alerts_from,
        checkpoint_bytes = restored.bytes,
        entities = pp.entities(),
        "partition restored{}",
        if had { "" } else { " (no checkpoint: from the beginning)" }
    );
    Ok(Owned {
        checkpointed: (pp.events(), Instant::now()),
        pp,
        checkpoint_bytes: restored.bytes as u64,
        lag: 0,
        printed_errors: 0,
        next_delivery: 1,
    })
}

/// The partition's durable consumer, recreated to start at `next` (the checkpoint's
/// sequence; the beginning without one).
async fn durable_consumer(
    shared: &Shared,
    p: u32,
    next: Option<i64>,
) -> Result<consumer::PullConsumer, NatsError> {
    let name = format!("{}-p{p}", shared.group);
    // The previous owner's consumer stands where that owner acknowledged, which may be
    // past the checkpoint: it is replaced, not resumed.
    let _ = shared.input.delete_consumer(&name).await;
    let deliver_policy = match next {
        Some(n) if n > 0 => consumer::DeliverPolicy::ByStartSequence {
            start_sequence: n as u64,
        },
        _ => consumer::DeliverPolicy::All,
    };
    shared
        .input
        .create_consumer(consumer::pull::Config {
            durable_name: Some(name.clone()),
            description: Some(format!("Warden partition {p}")),
            filter_subject: subject(&shared.input_name, p),
            deliver_policy,
            ack_policy: consumer::AckPolicy::All,
            ack_wait: Duration::from_secs(60),
            max_ack_pending: 100_000,
            ..Default::default()
        })
        .await
        .ctx(|| format!("consumer {name}"))
}

/// One message through the pipeline; its alerts join `outgoing`. False, with nothing
/// done, when the message is not the delivery expected next (the consumer must be
/// recreated at the state's position).
fn handle(
    shared: &Shared,
    p: u32,
    owned: &mut Owned,
    m: &jetstream::Message,
    outgoing: &mut Vec<(Alert, u64)>,
) -> bool {
    let Ok(info) = m.info() else {
        return true; // not a stream message
    };
    if info.consumer_sequence != owned.next_delivery {
        tracing::warn!(
            partition = p,
            expected = owned.next_delivery,
            got = info.consumer_sequence,
            "deliveries out of step: resynchronising at the state's position"
        );
        return false;
    }
    owned.next_delivery += 1;
    let seq = info.stream_sequence;
    owned.lag = info.pending;
    let h = owned
        .pp
        .handle(&shared.input_name, seq as i64, &m.payload, Timestamp::now());
    if h.stale {
        return true;
    }
    WorkerStats::add(&shared.stats.events, 1);
    if h.replayed {
        WorkerStats::add(&shared.stats.replayed, 1);
    }
    if let Some(e) = h.error {
        WorkerStats::add(&shared.stats.bad_events, 1);
        owned.printed_errors += 1;
        if owned.printed_errors <= 20 {
            tracing::warn!(partition = p, "skipped: {e}");
        }
    }
    outgoing.extend(h.alerts.into_iter().map(|a| (a, seq)));
    true
}

/// Publishes the alerts to the alert subject of partition `p` (the input partition they
/// came from: its last alert is the partition's delivery record) and waits for the server
/// to store each; retried with backoff until they are stored, or (false) until the task
/// is told to stop.
async fn deliver(
    shared: &Shared,
    p: u32,
    outgoing: &mut Vec<(Alert, u64)>,
    order: &watch::Receiver<Order>,
) -> bool {
    let Some((_, alert_stream)) = &shared.alerts else {
        outgoing.clear();
        return true;
    };
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut acks = Vec::with_capacity(outgoing.len());
        let mut failed = Vec::new();
        for (a, seq) in outgoing.drain(..) {
            let mut headers = HeaderMap::new();
            headers.insert(
                SOURCE_HEADER,
                source_value(&shared.input_name, seq).as_str(),
            );
            // JetStream drops a second message with the same id inside its duplicate window.
            headers.insert("Nats-Msg-Id", a.identity().as_str());
            let payload = Bytes::from(format_alert(&a, shared.alert_format));
            match shared
                .js
                .publish_with_headers(subject(alert_stream, p), headers, payload)
                .await
            {
                Ok(ack) => acks.push((ack, a, seq)),
                Err(e) => {
                    tracing::warn!("alert not published (will retry): {e}");
                    failed.push((a, seq));
                }
            }
        }
        // Awaited together: acknowledgements lost with a connection cost one timeout, not
        // one each.
        let (futures, sent): (Vec<_>, Vec<_>) = acks
            .into_iter()
            .map(|(ack, a, seq)| (ack, (a, seq)))
            .unzip();
        let answers =
            futures_util::future::join_all(futures.into_iter().map(|f| f.into_future())).await;
        for (answer, (a, seq)) in answers.into_iter().zip(sent) {
            match answer {
                Ok(ack) if ack.duplicate => WorkerStats::add(&shared.stats.duplicate_alerts, 1),
                Ok(_) => WorkerStats::add(&shared.stats.alerts, 1),
                Err(e) => {
                    tracing::warn!("alert not stored (will retry): {e}");
                    failed.push((a, seq));
                }
            }
        }
        if failed.is_empty() {
            return true;
        }
        WorkerStats::add(&shared.stats.delivery_retries, failed.len() as u64);
        *outgoing = failed;
        if *order.borrow() != Order::Run {
            return false;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// Writes the partition's checkpoint when due (always with `force`, if it moved).
async fn checkpoint(shared: &Shared, p: u32, owned: &mut Owned, force: bool) {
    let (at_events, at_time) = owned.checkpointed;
    let moved = owned.pp.events() > at_events;
    let due = force
        || owned.pp.events() >= at_events + shared.checkpoint_every
        || at_time.elapsed() >= Duration::from_secs(shared.checkpoint_secs);
    if !(moved && due) {
        return;
    }
    let Some(ck) = owned.pp.checkpoint(Timestamp::now().millis()) else {
        tracing::warn!("partition {p}: state cannot be checkpointed (a sequence model)");
        return;
    };
    match shared.checkpoints.write(p, &ck).await {
        Ok(bytes) => {
            WorkerStats::add(&shared.stats.checkpoints, 1);
            WorkerStats::add(&shared.stats.checkpoint_bytes, bytes as u64);
            owned.checkpointed = (owned.pp.events(), Instant::now());
            owned.checkpoint_bytes = bytes as u64;
        }
        Err(e) => tracing::warn!("partition {p}: checkpoint not written: {e}"),
    }
}

fn gauges(shared: &Shared, p: u32, owned: &Owned) {
    if let Ok(mut g) = shared.stats.partitions.lock() {
        g.insert(
            p as i32,
            PartitionGauges {
                lag: owned.lag as i64,
                checkpoint_age_secs: owned.checkpointed.1.elapsed().as_secs_f64(),
                checkpoint_bytes: owned.checkpoint_bytes,
                entities: owned.pp.entities() as u64,
                correlation_groups: owned.pp.correlation_groups() as u64,
            },
        );
    }
}
