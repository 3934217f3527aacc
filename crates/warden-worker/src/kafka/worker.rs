//! `warden worker` on Kafka: a member of a consumer group that restores each partition it
//! is given before consuming it, detects, delivers alerts, commits, and checkpoints.
//!
//! The order that makes it lose and duplicate nothing:
//! 1. on assignment (inside the rebalance callback, before any message of the partition is
//!    fetched), read the partition's newest checkpoint, the group's committed offsets and
//!    how far alerts were delivered (the end of the alert topic's partition, see
//!    [`super::delivered`]), and start fetching at the checkpoint's offsets: the state is
//!    restored first;
//! 2. messages go through the partition's pipeline; up to what was delivered they only
//!    rebuild state;
//! 3. every `linger` (or `batch` alerts), the alerts are produced and flushed — acknowledged
//!    by the broker — and only then are the offsets committed;
//! 4. every `checkpoint_every` events or `checkpoint_secs`, after a delivery and commit,
//!    each partition's state is written to the changelog with the offsets it reflects (so a
//!    checkpoint is never ahead of the commit);
//! 5. on revocation and on shutdown, steps 3 and 4 run for the partitions that leave.
//!
//! A worker killed between a delivery and its commit left those alerts on the alert topic;
//! its successor finds them there and does not deliver them again.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{Offset, TopicPartitionList};
use warden_event::{Alert, Timestamp};

use super::changelog::Changelog;
use super::delivered::{delivered_through, source_header, source_of};
use super::{KafkaError, KafkaSettings, REQUEST_TIMEOUT, enqueue, ensure_topic, partition_count};
use crate::partition::{PartitionPipeline, PipelineSpec};
pub use crate::stats::WorkerReport;
use crate::stats::{PartitionGauges, WorkerStats};
use crate::{AlertFormat, WorkerOutputs, format_alert};

/// How long a worker keeps trying to restore assigned partitions while the broker is away
/// (well inside `max.poll.interval.ms`, 300 s by default, past which the group drops it).
const RESTORE_PATIENCE: Duration = Duration::from_secs(120);

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Input topics; co-partitioned (same partition count, keyed by the same rule).
    pub topics: Vec<String>,
    pub group: String,
    /// Where alerts go (one message each, keyed by the alert's subject, on the input's
    /// partition number).
    pub alert_topic: Option<String>,
    pub alert_format: AlertFormat,
    /// The changelog topic (default `<group>.checkpoints`).
    pub changelog: String,
    /// Replication of the topics the worker creates (-1: the broker's default).
    pub replication: i32,
    /// Checkpoint after this many events per partition…
    pub checkpoint_every: u64,
    /// …or this long after the last one.
    pub checkpoint_secs: u64,
    /// Deliver and commit at least this often…
    pub linger: Duration,
    /// …or when this many alerts wait.
    pub batch: usize,
    /// Outputs every alert is sent to, at least once, before the alert topic
    /// ([`crate::outputs`]).
    pub outputs: Option<Arc<WorkerOutputs>>,
}

impl WorkerOptions {
    pub fn new(topics: Vec<String>, group: &str) -> Self {
        WorkerOptions {
            topics,
            group: group.to_owned(),
            alert_topic: None,
            alert_format: AlertFormat::Json,
            changelog: format!("{group}.checkpoints"),
            replication: -1,
            checkpoint_every: 100_000,
            checkpoint_secs: 30,
            linger: Duration::from_millis(100),
            batch: 5_000,
            outputs: None,
        }
    }
}

/// One alert on its way out.
struct Outgoing {
    key: String,
    payload: Vec<u8>,
    /// The alert topic's partition: the input partition the alert came from.
    partition: i32,
    /// The input message it came from (`topic`, offset), written as a header.
    source: (String, i64),
}

/// Deliveries that failed, to be sent again.
#[derive(Default)]
struct Deliveries {
    failed: Mutex<Vec<Outgoing>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, m)) = result {
            tracing::warn!("alert delivery failed (will retry): {e}");
            if let Ok(mut f) = self.failed.lock() {
                f.push(Outgoing {
                    key: String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                    payload: m.payload().unwrap_or_default().to_vec(),
                    partition: m.partition(),
                    source: source_of(m).unwrap_or_default(),
                });
            }
        }
    }
}

/// Everything the consuming thread and the rebalance callback share.
struct Core {
    spec: Arc<PipelineSpec>,
    opts: WorkerOptions,
    parts: BTreeMap<i32, PartitionPipeline>,
    /// Per (topic, partition), the next offset to commit.
    processed: BTreeMap<(String, i32), i64>,
    /// Per (topic, partition), the group's commit when the partition was assigned.
    commit_floor: BTreeMap<(String, i32), i64>,
    pending: Vec<Outgoing>,
    /// The pending alerts themselves, for the outputs (when there are any).
    for_outputs: Vec<Alert>,
    producer: BaseProducer<Deliveries>,
    changelog: Changelog,
    stats: Arc<WorkerStats>,
    /// Per partition: events and time at its last checkpoint, and that checkpoint's size.
    last_checkpoint: BTreeMap<i32, (u64, Instant, u64)>,
    stop: Arc<AtomicBool>,
    printed_errors: u64,
}

/// The consumer's context: routes rebalances into the core.
struct WorkerContext {
    core: Arc<Mutex<Core>>,
    /// Counted here, not through the core: errors may be reported while a rebalance holds
    /// the core's lock.
    stats: Arc<WorkerStats>,
}

impl ClientContext for WorkerContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        WorkerStats::add(&self.stats.broker_errors, 1);
        tracing::warn!("kafka: {error}: {reason}");
    }
}

impl ConsumerContext for WorkerContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let Ok(mut core) = self.core.lock() else {
            return;
        };
        WorkerStats::add(&core.stats.rebalances, 1);
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                core.stats.ready.store(false, Ordering::Relaxed);
                let started = Instant::now();
                if !core.assign_patiently(consumer, tpl) {
                    return;
                }
                core.stats
                    .last_restore_ms
                    .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                core.stats.ready.store(true, Ordering::Relaxed);
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                core.stats.ready.store(false, Ordering::Relaxed);
                core.revoke(consumer);
                if let Err(e) = consumer.unassign() {
                    tracing::warn!("unassign: {e}");
                }
            }
            other => tracing::warn!("rebalance error: {other:?}"),
        }
    }
}

impl Core {
    /// [`Core::assign`], retried with backoff for up to [`RESTORE_PATIENCE`] while the
    /// broker is away (restarting: the group is rebalanced as it comes back). False when it
    /// could not be done: nothing is consumed from a partition whose state is not
    /// restored, so the worker stops and the group gives the partition to another member.
    fn assign_patiently(
        &mut self,
        consumer: &BaseConsumer<WorkerContext>,
        tpl: &mut TopicPartitionList,
    ) -> bool {
        let deadline = Instant::now() + RESTORE_PATIENCE;
        let mut backoff = Duration::from_millis(500);
        loop {
            match self.assign(consumer, tpl) {
                Ok(()) => return true,
                Err(e)
                    if Instant::now() + backoff < deadline
                        && !self.stop.load(Ordering::Relaxed) =>
                {
                    WorkerStats::add(&self.stats.broker_errors, 1);
                    tracing::warn!(
                        "cannot restore the assigned partitions yet: {e}; retrying in {} ms",
                        backoff.as_millis()
                    );
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => {
                    tracing::error!("cannot restore the assigned partitions: {e}");
                    self.stop.store(true, Ordering::Relaxed);
                    return false;
                }
            }
        }
    }

    /// Restores every assigned partition and starts fetching at its checkpoint.
    fn assign(
        &mut self,
        consumer: &BaseConsumer<WorkerContext>,
        tpl: &mut TopicPartitionList,
    ) -> Result<(), KafkaError> {
        let committed = consumer.committed_offsets(tpl.clone(), REQUEST_TIMEOUT)?;
        let mut by_partition: BTreeMap<i32, BTreeMap<String, i64>> = BTreeMap::new();
        for e in committed.elements() {
            let entry = by_partition.entry(e.partition()).or_default();
            if let Offset::Offset(o) = e.offset() {
                entry.insert(e.topic().to_owned(), o);
            }
        }
        let mut starts = Vec::new();
        for (p, committed) in by_partition {
            for (t, o) in &committed {
                self.commit_floor.insert((t.clone(), p), *o);
            }
            // Alerts delivered past the commit (by a worker killed before committing) are
            // not delivered again.
            let mut alerts_from = committed;
            if let Some(alert_topic) = &self.opts.alert_topic {
                for (t, o) in delivered_through(&self.changelog, alert_topic, p)? {
                    let e = alerts_from.entry(t).or_insert(o + 1);
                    *e = (*e).max(o + 1);
                }
            }
            let restored = self.changelog.read(p)?;
            let had = restored.checkpoint.is_some();
            for why in &restored.unreadable {
                tracing::warn!(
                    partition = p,
                    "{}: a checkpoint of partition {p} could not be read ({why}); {}",
                    self.changelog.topic(),
                    if had {
                        "restored from an older one"
                    } else {
                        "none older could be read: rebuilt from the beginning"
                    }
                );
            }
            WorkerStats::add(
                &self.stats.unreadable_checkpoints,
                restored.unreadable.len() as u64,
            );
            let pp = PartitionPipeline::restore(&self.spec, p, restored.checkpoint, &alerts_from)
                .map_err(|e| KafkaError::Config(e.to_string()))?;
            for topic in &self.opts.topics {
                let start = pp
                    .next_offset(topic)
                    .map_or(Offset::Beginning, Offset::Offset);
                starts.push((topic.clone(), p, start));
            }
            tracing::info!(
                partition = p,
                from = ?pp.offsets(),
                alerts_from = ?alerts_from,
                checkpoint_bytes = restored.bytes,
                entities = pp.entities(),
                "partition restored{}",
                if had {
                    ""
                } else {
                    " (no checkpoint: from the beginning)"
                }
            );
            if had {
                WorkerStats::add(&self.stats.restores, 1);
            }
            self.last_checkpoint
                .insert(p, (pp.events(), Instant::now(), restored.bytes as u64));
            self.parts.insert(p, pp);
        }
        for (topic, p, start) in starts {
            tpl.set_partition_offset(&topic, p, start)?;
        }
        consumer.assign(tpl)?;
        Ok(())
    }

    /// Hands the partitions back: deliver, commit, checkpoint, forget.
    fn revoke(&mut self, consumer: &BaseConsumer<WorkerContext>) {
        if self.deliver_and_commit(consumer) {
            self.checkpoint_all(true);
        }
        self.parts.clear();
        self.for_outputs.clear();
        self.processed.clear();
        self.commit_floor.clear();
        self.last_checkpoint.clear();
        if let Ok(mut g) = self.stats.partitions.lock() {
            g.clear();
        }
    }

    fn handle(&mut self, m: &BorrowedMessage<'_>, now: Timestamp) {
        let p = m.partition();
        let Some(pp) = self.parts.get_mut(&p) else {
            return; // not ours (a message fetched before a revocation)
        };
        let topic = m.topic();
        let h = pp.handle(topic, m.offset(), m.payload().unwrap_or_default(), now);
        if h.stale {
            return;
        }
        // A replayed message below the group's commit must not move the commit back.
        let key = (topic.to_owned(), p);
        if self
            .commit_floor
            .get(&key)
            .is_none_or(|c| m.offset() + 1 > *c)
        {
            self.processed.insert(key, m.offset() + 1);
        }
        WorkerStats::add(&self.stats.events, 1);
        if h.replayed {
            WorkerStats::add(&self.stats.replayed, 1);
        }
        if let Some(e) = h.error {
            WorkerStats::add(&self.stats.bad_events, 1);
            self.printed_errors += 1;
            if self.printed_errors <= 20 {
                tracing::warn!("skipped: {e}");
            }
        }
        for a in h.alerts {
            let source = (topic.to_owned(), m.offset());
            self.pending
                .push(outgoing(&a, self.opts.alert_format, p, source));
            if self.opts.outputs.is_some() {
                self.for_outputs.push(a);
            }
        }
    }

    /// Produces the waiting alerts, waits for the broker's acknowledgement, then commits
    /// the offsets they came from. False when the commit did not happen.
    fn deliver_and_commit(&mut self, consumer: &BaseConsumer<WorkerContext>) -> bool {
        if !self.deliver() {
            return false;
        }
        if self.processed.is_empty() {
            return true;
        }
        let mut tpl = TopicPartitionList::new();
        for ((t, p), o) in &self.processed {
            if tpl.add_partition_offset(t, *p, Offset::Offset(*o)).is_err() {
                return false;
            }
        }
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => {
                tracing::debug!(offsets = ?self.processed, "committed");
                WorkerStats::add(&self.stats.commits, 1);
                self.processed.clear();
                true
            }
            Err(e) => {
                tracing::warn!("offset commit failed (retried at the next one): {e}");
                false
            }
        }
    }

    /// Produces every pending alert until the broker has acknowledged all of them (or the
    /// worker is told to stop).
    fn deliver(&mut self) -> bool {
        // The outputs first: an alert on the alert topic counts as delivered everywhere.
        if let Some(out) = self.opts.outputs.clone()
            && !self.for_outputs.is_empty()
        {
            let stop = self.stop.clone();
            if !out.send_blocking(&self.for_outputs, || stop.load(Ordering::Relaxed)) {
                return false;
            }
            self.for_outputs.clear();
        }
        let Some(topic) = self.opts.alert_topic.clone() else {
            self.pending.clear();
            return true;
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            let n = self.pending.len() as u64;
            let mut refused = Vec::new();
            for o in self.pending.drain(..) {
                let record = BaseRecord::to(&topic)
                    .partition(o.partition)
                    .key(&o.key)
                    .payload(&o.payload)
                    .headers(source_header(&o.source.0, o.source.1));
                if let Err(e) = enqueue(&self.producer, record) {
                    tracing::warn!("alert not accepted by the producer (will retry): {e}");
                    refused.push(o);
                }
            }
            let flushed = self.producer.flush(REQUEST_TIMEOUT);
            let mut failed = self
                .producer
                .context()
                .failed
                .lock()
                .map(|mut f| std::mem::take(&mut *f))
                .unwrap_or_default();
            failed.append(&mut refused);
            WorkerStats::add(&self.stats.alerts, n - failed.len() as u64);
            if flushed.is_ok() && failed.is_empty() {
                return true;
            }
            WorkerStats::add(&self.stats.delivery_retries, failed.len() as u64);
            self.pending = failed;
            if self.stop.load(Ordering::Relaxed) {
                // Left uncommitted: the partition's next owner delivers them again.
                return false;
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// Writes a checkpoint of every partition that is due (all with `force`).
    fn checkpoint_all(&mut self, force: bool) {
        let now_ms = Timestamp::now().millis();
        let every = self.opts.checkpoint_every;
        let secs = Duration::from_secs(self.opts.checkpoint_secs);
        let mut written = Vec::new();
        for (p, pp) in &self.parts {
            let (at_events, at_time, _) =
                self.last_checkpoint
                    .get(p)
                    .copied()
                    .unwrap_or((0, Instant::now(), 0));
            let moved = pp.events() > at_events;
            let due = force || pp.events() >= at_events + every || at_time.elapsed() >= secs;
            if !(moved && due) {
                continue;
            }
            let Some(ck) = pp.checkpoint(now_ms) else {
                tracing::warn!("partition {p}: state cannot be checkpointed (a sequence model)");
                continue;
            };
            let id = (pp.events() << 16) ^ (now_ms as u64 & 0xffff);
            match self.changelog.write(&self.producer, &ck, id) {
                Ok(bytes) => written.push((*p, pp.events(), bytes as u64)),
                Err(e) => tracing::warn!("partition {p}: checkpoint not written: {e}"),
            }
        }
        if written.is_empty() {
            return;
        }
        if let Err(e) = self.producer.flush(REQUEST_TIMEOUT) {
            tracing::warn!("checkpoints not acknowledged: {e}");
            return;
        }
        for (p, events, bytes) in written {
            WorkerStats::add(&self.stats.checkpoints, 1);
            WorkerStats::add(&self.stats.checkpoint_bytes, bytes);
            self.last_checkpoint
                .insert(p, (events, Instant::now(), bytes));
        }
    }

    /// Refreshes the per-partition gauges (lag from the consumer's own watermarks).
    fn gauges(&self, consumer: &BaseConsumer<WorkerContext>) {
        let mut out = BTreeMap::new();
        for (p, pp) in &self.parts {
            let mut lag = 0;
            for t in &self.opts.topics {
                if let Ok((_, high)) = consumer.fetch_watermarks(t, *p, Duration::from_millis(500))
                {
                    lag += (high - pp.next_offset(t).unwrap_or(0)).max(0);
                }
            }
            let (_, at, bytes) =
                self.last_checkpoint
                    .get(p)
                    .copied()
                    .unwrap_or((0, Instant::now(), 0));
            out.insert(
                *p,
                PartitionGauges {
                    lag,
                    checkpoint_age_secs: at.elapsed().as_secs_f64(),
                    checkpoint_bytes: bytes,
                    entities: pp.entities() as u64,
                    correlation_groups: pp.correlation_groups() as u64,
                },
            );
        }
        if let Ok(mut g) = self.stats.partitions.lock() {
            *g = out;
        }
    }
}

fn outgoing(a: &Alert, format: AlertFormat, partition: i32, source: (String, i64)) -> Outgoing {
    Outgoing {
        key: a.subject.clone(),
        payload: format_alert(a, format),
        partition,
        source,
    }
}

fn lock(core: &Arc<Mutex<Core>>) -> MutexGuard<'_, Core> {
    core.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs a worker until `stop` is set; then delivers, commits, checkpoints and leaves the
/// group.
pub fn run(
    settings: &KafkaSettings,
    opts: WorkerOptions,
    spec: Arc<PipelineSpec>,
    stats: Arc<WorkerStats>,
    stop: Arc<AtomicBool>,
) -> Result<WorkerReport, KafkaError> {
    let settings = &with_defaults(settings);
    let partitions = wait_for_inputs(settings, &opts.topics, &stats, &stop)?;
    one_per_input_partition(
        settings,
        &opts.changelog,
        partitions,
        opts.replication,
        true,
    )?;
    if let Some(t) = &opts.alert_topic {
        // Input partition p's alerts go to the alert topic's partition p (the delivery
        // record, see `delivered`).
        one_per_input_partition(settings, t, partitions, opts.replication, false)?;
    }
    let producer: BaseProducer<Deliveries> = settings
        .client(&[("acks", "all"), ("linger.ms", "5")])?
        .create_with_context(Deliveries::default())?;
    let core = Arc::new(Mutex::new(Core {
        spec,
        changelog: Changelog::open(settings, &opts.changelog)?,
        opts: opts.clone(),
        parts: BTreeMap::new(),
        processed: BTreeMap::new(),
        commit_floor: BTreeMap::new(),
        pending: Vec::new(),
        for_outputs: Vec::new(),
        producer,
        stats: stats.clone(),
        last_checkpoint: BTreeMap::new(),
        stop: stop.clone(),
        printed_errors: 0,
    }));
    let consumer: BaseConsumer<WorkerContext> = settings
        .client(&[
            ("group.id", &opts.group),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            // Co-partitioned inputs: partition p of every topic to the same member.
            ("partition.assignment.strategy", "range"),
            ("enable.partition.eof", "false"),
        ])?
        .create_with_context(WorkerContext {
            core: core.clone(),
            stats: stats.clone(),
        })?;
    let topics: Vec<&str> = opts.topics.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    tracing::info!(group = %opts.group, topics = ?opts.topics, "worker joined");
    consume(&consumer, &core, &opts, &stats, &stop);
    // What leaves is handed over as in a revocation; leaving the group then gives the
    // partitions to the others at once.
    lock(&core).revoke(&consumer);
    consumer.unsubscribe();
    let report = WorkerReport::of(&stats);
    tracing::info!(
        events = report.events,
        alerts = report.alerts,
        "worker left the group"
    );
    Ok(report)
}

/// The consuming loop: one message at a time through its partition's pipeline; delivery,
/// commit and due checkpoints every `linger` or `batch` alerts; gauges every 5 s.
fn consume(
    consumer: &BaseConsumer<WorkerContext>,
    core: &Arc<Mutex<Core>>,
    opts: &WorkerOptions,
    stats: &WorkerStats,
    stop: &AtomicBool,
) {
    let mut last_flush = Instant::now();
    let mut last_gauges = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(50)) {
            Some(Ok(m)) => lock(core).handle(&m, Timestamp::now()),
            Some(Err(e)) => {
                WorkerStats::add(&stats.broker_errors, 1);
                tracing::warn!("consume: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            None => {}
        }
        let mut c = lock(core);
        if c.pending.len() >= opts.batch || last_flush.elapsed() >= opts.linger {
            if c.deliver_and_commit(consumer) {
                c.checkpoint_all(false);
            }
            last_flush = Instant::now();
        }
        if last_gauges.elapsed() >= Duration::from_secs(5) {
            c.gauges(consumer);
            last_gauges = Instant::now();
        }
    }
}

/// The worker's defaults under the user's settings: a dead member's partitions move after
/// the session timeout, short so that a takeover takes seconds; a fetch waits at most
/// 100 ms for data (librdkafka's 500 ms would dominate the produce-to-alert latency at
/// moderate rates). A user's own settings win.
fn with_defaults(settings: &KafkaSettings) -> KafkaSettings {
    let mut own = settings.clone();
    for (k, v) in [
        ("session.timeout.ms", "5000"),
        ("heartbeat.interval.ms", "1000"),
        ("fetch.wait.max.ms", "100"),
    ] {
        own.properties
            .entry(k.to_owned())
            .or_insert_with(|| v.to_owned());
    }
    own
}

/// The inputs' partition count; an unreachable broker is waited for (backoff from 1 to
/// 30 s), not a crash loop.
fn wait_for_inputs(
    settings: &KafkaSettings,
    topics: &[String],
    stats: &WorkerStats,
    stop: &AtomicBool,
) -> Result<usize, KafkaError> {
    let mut backoff = Duration::from_secs(1);
    loop {
        match input_partitions(settings, topics) {
            Err(e @ KafkaError::Unreachable { .. }) => {
                WorkerStats::add(&stats.broker_errors, 1);
                tracing::warn!("{e}; retrying in {} s", backoff.as_secs());
                let until = Instant::now() + backoff;
                while Instant::now() < until {
                    if stop.load(Ordering::Relaxed) {
                        return Err(e);
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
            other => return other,
        }
    }
}

/// Creates `topic` unless it exists, and checks it has a partition per input partition.
fn one_per_input_partition(
    settings: &KafkaSettings,
    topic: &str,
    partitions: usize,
    replication: i32,
    compact: bool,
) -> Result<(), KafkaError> {
    let n = ensure_topic(settings, topic, partitions, replication, compact)?;
    if n < partitions {
        return Err(KafkaError::Topic {
            topic: topic.to_owned(),
            reason: format!(
                "has {n} partitions, the inputs {partitions}: it needs one per input partition"
            ),
        });
    }
    Ok(())
}

/// The input topics' common partition count (they must agree: co-partitioned).
fn input_partitions(settings: &KafkaSettings, topics: &[String]) -> Result<usize, KafkaError> {
    let mut count = None;
    for t in topics {
        let n = partition_count(settings, t)?.ok_or_else(|| KafkaError::Topic {
            topic: t.clone(),
            reason: "does not exist (create it, or ship to it first)".into(),
        })?;
        match count {
            None => count = Some(n),
            Some(c) if c != n => {
                return Err(KafkaError::Topic {
                    topic: t.clone(),
                    reason: format!(
                        "has {n} partitions, {} has {c}: input topics must be co-partitioned",
                        topics[0]
                    ),
                });
            }
            Some(_) => {}
        }
    }
    count.ok_or_else(|| KafkaError::Config("no input topic given".into()))
}
