//! `warden worker --nats`: a worker of a JetStream input stream. It keeps its membership
//! and its partitions' leases alive, claims its fair share of partitions, runs one task
//! per owned partition ([`super::partition`]), and hands partitions over when the share
//! shrinks, when it stops, or at once when it finds a lease taken by another worker.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, stream};

use super::leases::{Leases, SteadyShare, claim_order, fair_share};
use super::partition::{Order, Running, Shared, start};
use super::store::Checkpoints;
use super::{NatsError, NatsSettings, check_name, connect, ensure_stream, open_stream};
use crate::AlertFormat;
use crate::partition::PipelineSpec;
use crate::stats::{WorkerReport, WorkerStats};

/// How a JetStream worker runs.
#[derive(Debug, Clone)]
pub struct NatsWorkerOptions {
    /// The input stream (subjects `<stream>.0` … `<stream>.N-1`).
    pub stream: String,
    /// Workers of one group share the partitions; the group names the lease and checkpoint
    /// buckets and the durable consumers.
    pub group: String,
    /// This worker's name among the group's members.
    pub worker_id: String,
    /// Where alerts go (subject `<alert stream>.p` for input partition p).
    pub alert_stream: Option<String>,
    pub alert_format: AlertFormat,
    /// Replicas of the streams and buckets the worker creates.
    pub replicas: usize,
    pub checkpoint_every: u64,
    pub checkpoint_secs: u64,
    /// How long a lease lives without renewal: a dead worker's partitions move after it.
    pub lease_ttl: Duration,
    /// Messages per fetch.
    pub batch: usize,
    /// Outputs every alert is sent to, at least once, before the alert stream
    /// ([`crate::outputs`]).
    pub outputs: Option<Arc<crate::WorkerOutputs>>,
}

impl NatsWorkerOptions {
    pub fn new(stream: &str, group: &str, worker_id: &str) -> Self {
        NatsWorkerOptions {
            stream: stream.to_owned(),
            group: group.to_owned(),
            worker_id: worker_id.to_owned(),
            alert_stream: None,
            alert_format: AlertFormat::Json,
            replicas: 1,
            checkpoint_every: 100_000,
            checkpoint_secs: 30,
            lease_ttl: Duration::from_secs(5),
            batch: 1_000,
            outputs: None,
        }
    }
}

/// Runs a worker until `stop` is set; then its partitions are delivered, checkpointed and
/// released, and it leaves the group.
pub fn run(
    settings: &NatsSettings,
    opts: NatsWorkerOptions,
    spec: Arc<PipelineSpec>,
    stats: Arc<WorkerStats>,
    stop: Arc<AtomicBool>,
) -> Result<WorkerReport, NatsError> {
    check_name("group", &opts.group)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run_async(settings, opts, spec, stats.clone(), stop))?;
    let report = WorkerReport::of(&stats);
    tracing::info!(
        events = report.events,
        alerts = report.alerts,
        "worker left the group"
    );
    Ok(report)
}

async fn run_async(
    settings: &NatsSettings,
    opts: NatsWorkerOptions,
    spec: Arc<PipelineSpec>,
    stats: Arc<WorkerStats>,
    stop: Arc<AtomicBool>,
) -> Result<(), NatsError> {
    let client = connect_patiently(settings, &opts.worker_id, &stats, &stop).await?;
    let js = jetstream::new(client);
    let (input, partitions) =
        open_stream(&js, &opts.stream)
            .await?
            .ok_or_else(|| NatsError::Stream {
                stream: opts.stream.clone(),
                reason: "does not exist (create it, or ship to it first)".into(),
            })?;
    let alerts = match &opts.alert_stream {
        Some(name) => Some(alert_stream(&js, name, partitions, opts.replicas).await?),
        None => None,
    };
    let shared = Arc::new(Shared {
        checkpoints: Checkpoints::open(&js, &opts.group, opts.replicas).await?,
        js: js.clone(),
        group: opts.group.clone(),
        input,
        input_name: opts.stream.clone(),
        alerts,
        alert_format: opts.alert_format,
        spec,
        stats: stats.clone(),
        checkpoint_every: opts.checkpoint_every.max(1),
        checkpoint_secs: opts.checkpoint_secs.max(1),
        batch: opts.batch.clamp(1, 10_000),
        outputs: opts.outputs.clone(),
    });
    let mut leases = Leases::open(
        &js,
        &opts.group,
        &opts.worker_id,
        opts.lease_ttl,
        opts.replicas,
    )
    .await?;
    tracing::info!(
        group = %opts.group,
        stream = %opts.stream,
        partitions,
        worker = %opts.worker_id,
        "worker joined"
    );
    let mut parts = Partitions::default();
    let tick = (opts.lease_ttl / 5).max(Duration::from_millis(200));
    while !stop.load(Ordering::Relaxed) {
        balance(&shared, &mut leases, &mut parts, partitions, &stats).await;
        pause(tick, &stop).await;
    }
    stats.ready.store(false, Ordering::Relaxed);
    leave(&mut leases, &mut parts, &stats).await;
    Ok(())
}

/// The alert stream, created when missing, with one partition per input partition.
async fn alert_stream(
    js: &jetstream::Context,
    name: &str,
    partitions: u32,
    replicas: usize,
) -> Result<(stream::Stream, String), NatsError> {
    let (s, n) = ensure_stream(js, name, partitions, replicas).await?;
    if n < partitions {
        return Err(NatsError::Stream {
            stream: name.to_owned(),
            reason: format!(
                "has {n} partitions, the input {partitions}: it needs one per input partition"
            ),
        });
    }
    Ok((s, name.to_owned()))
}

/// Leaving: every partition finishes its batch and checkpoints while its lease is still
/// renewed; then the leases and the membership go.
async fn leave(leases: &mut Leases, parts: &mut Partitions, stats: &WorkerStats) {
    let held: Vec<u32> = parts.running.keys().copied().collect();
    for p in held {
        parts.hand_over(p);
    }
    let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
    while !parts.leaving.is_empty() {
        if tokio::time::Instant::now() >= deadline {
            // A partition stuck on a broker that does not answer must not keep the
            // worker from ending: nothing past its last checkpoint was acknowledged, so
            // its next owner resumes from there.
            for (p, (r, _)) in std::mem::take(&mut parts.leaving) {
                tracing::warn!(
                    partition = p,
                    "not finished {SHUTDOWN_WAIT:?} after the stop: abandoned"
                );
                r.task.abort();
            }
            break;
        }
        keep_leases(leases, parts, stats).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    leases.leave().await;
}

/// How long a stopping worker waits for its partitions to finish their batch and
/// checkpoint (the outputs' own wait, 10 s, included) before it abandons the rest.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(30);

/// The partition tasks of a worker: those it runs, and those finishing a hand-over (their
/// lease is kept until they are done) or abandoned (no longer ours).
#[derive(Default)]
struct Partitions {
    running: BTreeMap<u32, Running>,
    leaving: BTreeMap<u32, (Running, Order)>,
    steady: SteadyShare,
}

impl Partitions {
    /// Asks `p` to finish, checkpoint and stop; its lease goes once it has.
    fn hand_over(&mut self, p: u32) {
        self.stop(p, Order::Release);
    }

    fn stop(&mut self, p: u32, order: Order) {
        if let Some(r) = self.running.remove(&p) {
            let _ = r.order.send(order);
            self.leaving.insert(p, (r, order));
        }
    }

    fn busy(&self, p: u32) -> bool {
        self.running.contains_key(&p) || self.leaving.contains_key(&p)
    }
}

/// Sleeps `tick`, waking early when told to stop.
async fn pause(tick: Duration, stop: &AtomicBool) {
    let until = tokio::time::Instant::now() + tick;
    while tokio::time::Instant::now() < until && !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stays a member, renews the leases (abandoning what another worker took), and reaps
/// the tasks that stopped: a finished hand-over or a failed task gives its lease up.
async fn keep_leases(leases: &mut Leases, parts: &mut Partitions, stats: &WorkerStats) {
    if let Err(e) = leases.heartbeat().await {
        WorkerStats::add(&stats.broker_errors, 1);
        tracing::warn!("{e}");
    }
    for p in leases.renew().await {
        tracing::warn!(
            partition = p,
            "lease taken by another worker: partition abandoned"
        );
        parts.stop(p, Order::Abandon);
        if let Some((_, order)) = parts.leaving.get_mut(&p) {
            *order = Order::Abandon;
        }
    }
    let failed: Vec<u32> = parts
        .running
        .iter()
        .filter(|(_, r)| r.task.is_finished())
        .map(|(p, _)| *p)
        .collect();
    for p in failed {
        WorkerStats::add(&stats.broker_errors, 1);
        parts.stop(p, Order::Release);
    }
    let done: Vec<u32> = parts
        .leaving
        .iter()
        .filter(|(_, (r, _))| r.task.is_finished())
        .map(|(p, _)| *p)
        .collect();
    for p in done {
        let Some((r, order)) = parts.leaving.remove(&p) else {
            continue;
        };
        match r.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(partition = p, "partition stopped: {e}"),
            Err(e) => tracing::error!(partition = p, "partition task failed: {e}"),
        }
        if order == Order::Release {
            leases.release(p).await;
        }
    }
}

/// One round: keep the leases, then release or claim partitions toward the fair share.
async fn balance(
    shared: &Arc<Shared>,
    leases: &mut Leases,
    parts: &mut Partitions,
    partitions: u32,
    stats: &WorkerStats,
) {
    keep_leases(leases, parts, stats).await;
    let survey = match leases.survey().await {
        Ok(s) => s,
        Err(e) => {
            WorkerStats::add(&stats.broker_errors, 1);
            tracing::warn!("{e}");
            return;
        }
    };
    let share = fair_share(partitions, survey.members.len());
    let keep = parts.steady.keep(share);
    while parts.running.len() > keep {
        let Some(&p) = parts.running.keys().next_back() else {
            break;
        };
        tracing::info!(partition = p, share = keep, "releasing (more members now)");
        parts.hand_over(p);
    }
    for p in claim_order(leases.me(), partitions) {
        if parts.running.len() >= share {
            break;
        }
        if survey.leased.contains(&p) || parts.busy(p) {
            continue;
        }
        match leases.claim(p).await {
            Ok(true) => {
                tracing::info!(partition = p, "claimed");
                parts.running.insert(p, start(shared.clone(), p));
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!("{e}");
                break;
            }
        }
    }
    let ready = !parts.running.is_empty() && parts.running.values().all(|r| r.restored());
    stats.ready.store(ready, Ordering::Relaxed);
}

/// Connects, waiting for an unreachable server with backoff (1 to 30 s) rather than
/// failing (a crash loop); told to stop meanwhile, returns why it could not connect.
async fn connect_patiently(
    settings: &NatsSettings,
    name: &str,
    stats: &WorkerStats,
    stop: &AtomicBool,
) -> Result<async_nats::Client, NatsError> {
    let mut backoff = Duration::from_secs(1);
    loop {
        match connect(settings, name).await {
            Ok(c) => return Ok(c),
            Err(e @ NatsError::Unreachable { .. }) => {
                WorkerStats::add(&stats.broker_errors, 1);
                tracing::warn!("{e}; retrying in {} s", backoff.as_secs());
                let until = tokio::time::Instant::now() + backoff;
                while tokio::time::Instant::now() < until {
                    if stop.load(Ordering::Relaxed) {
                        return Err(e);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            Err(e) => return Err(e),
        }
    }
}
