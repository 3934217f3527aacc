//! One partition's pipeline: the detectors for the entities keyed to the partition, the
//! offsets its state reflects, and the line between replaying and detecting.
//!
//! A partition is taken over from a checkpoint that reflects offsets `K`; the group's
//! committed offsets `C ≥ K` say up to where alerts were already written. Messages in
//! `[K, C)` are replayed into the state with their alerts dropped (they were delivered
//! before `C` was committed); from `C` on, alerts go out. A message below the state's next
//! offset (a prefetched or redelivered one) is ignored: it is already in the state.

use std::collections::BTreeMap;
use std::sync::Arc;

use warden_engine::pipeline::{ContextLimits, Pipeline, PipelineOptions, UebaDetector};
use warden_engine::ueba::{EngineSnapshot, UebaEngine};
use warden_engine::{ConfigError, UebaConfig};
use warden_event::{Alert, DEFAULT_TENANT, Timestamp};
use warden_ingest::FieldAliases;
use warden_ingest::classify::{ClassifyOptions, classify};

use crate::checkpoint::Checkpoint;

/// How every partition's pipeline is built.
#[derive(Debug, Clone)]
pub struct PipelineSpec {
    pub tenant: String,
    pub ueba: UebaConfig,
    pub options: PipelineOptions,
    pub aliases: FieldAliases,
    pub classify: ClassifyOptions,
}

impl PipelineSpec {
    /// The behavioural engine with the default limits, alerts at `options.alert_level`.
    pub fn new(ueba: UebaConfig, options: PipelineOptions) -> Self {
        PipelineSpec {
            tenant: DEFAULT_TENANT.to_owned(),
            ueba,
            options,
            aliases: FieldAliases::default(),
            classify: ClassifyOptions::default(),
        }
    }

    fn build(&self, snapshot: Option<EngineSnapshot>) -> Result<Pipeline, ConfigError> {
        let engine = match snapshot {
            Some(s) => UebaEngine::from_snapshot(self.ueba.clone(), s)?,
            None => UebaEngine::new(self.ueba.clone())?,
        };
        let mut p = Pipeline::new(&self.tenant, self.options.clone());
        // As `warden detect`: no context events are kept (their evidence would not survive
        // a takeover, and the alert's identity does not depend on them).
        let ueba = UebaDetector::new(
            engine,
            ContextLimits {
                per_user: 0,
                ..ContextLimits::default()
            },
        );
        p.add(Box::new(ueba));
        Ok(p)
    }
}

/// What became of one message.
#[derive(Debug, Default)]
pub struct Handled {
    /// Alerts to deliver (none while replaying).
    pub alerts: Vec<Alert>,
    /// The message was below the state's offset and ignored.
    pub stale: bool,
    /// The message was replayed into the state (its alerts were delivered before).
    pub replayed: bool,
    /// Why the message was not an event (it is counted and skipped).
    pub error: Option<String>,
}

/// A partition's detectors and offsets.
pub struct PartitionPipeline {
    spec: Arc<PipelineSpec>,
    partition: i32,
    pipeline: Pipeline,
    /// Per topic, the next offset the state has not seen.
    next: BTreeMap<String, i64>,
    /// Per topic, the offset from which alerts are delivered (the committed one).
    deliver_from: BTreeMap<String, i64>,
    events: u64,
    errors: u64,
}

impl std::fmt::Debug for PartitionPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionPipeline")
            .field("partition", &self.partition)
            .field("next", &self.next)
            .field("events", &self.events)
            .finish()
    }
}

impl PartitionPipeline {
    /// A partition's pipeline from its checkpoint (or empty), delivering alerts from the
    /// `committed` offsets on.
    pub fn restore(
        spec: &Arc<PipelineSpec>,
        partition: i32,
        checkpoint: Option<Checkpoint>,
        committed: &BTreeMap<String, i64>,
    ) -> Result<Self, ConfigError> {
        let (next, events, snapshot) = match checkpoint {
            Some(c) => (c.offsets.into_iter().collect(), c.events, Some(c.ueba)),
            None => (BTreeMap::new(), 0, None),
        };
        Ok(PartitionPipeline {
            spec: spec.clone(),
            partition,
            pipeline: spec.build(snapshot)?,
            next,
            deliver_from: committed.clone(),
            events,
            errors: 0,
        })
    }

    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Where the state stands in `topic` (the offset to consume from), when it has seen it.
    pub fn next_offset(&self, topic: &str) -> Option<i64> {
        self.next.get(topic).copied()
    }

    pub fn offsets(&self) -> &BTreeMap<String, i64> {
        &self.next
    }

    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Users (or other entities) whose state the partition holds.
    pub fn entities(&self) -> usize {
        self.pipeline
            .detector::<UebaDetector>()
            .map_or(0, |d| d.engine().user_count())
    }

    /// One message of `topic` at `offset` through the pipeline.
    pub fn handle(&mut self, topic: &str, offset: i64, payload: &[u8], now: Timestamp) -> Handled {
        let mut out = Handled::default();
        if self.next.get(topic).is_some_and(|n| offset < *n) {
            out.stale = true;
            return out;
        }
        self.next.insert(topic.to_owned(), offset + 1);
        self.events += 1;
        let input = match classify(payload, &self.spec.aliases, &self.spec.classify) {
            Ok(i) => i,
            Err(e) => {
                self.errors += 1;
                out.error = Some(format!("{topic}[{}]@{offset}: {e}", self.partition));
                return out;
            }
        };
        let outcome = self.pipeline.process(std::slice::from_ref(&input), now);
        if self.deliver_from.get(topic).is_some_and(|c| offset < *c) {
            out.replayed = true;
        } else {
            out.alerts = outcome.alerts.into_iter().map(|(_, a)| a).collect();
        }
        out
    }

    /// The state as a checkpoint, `None` when it cannot be taken (a sequence model).
    pub fn checkpoint(&self, taken_ms: i64) -> Option<Checkpoint> {
        let ueba = self
            .pipeline
            .detector::<UebaDetector>()?
            .engine()
            .snapshot()?;
        Some(Checkpoint {
            partition: self.partition,
            offsets: self.next.iter().map(|(t, o)| (t.clone(), *o)).collect(),
            events: self.events,
            taken_ms,
            ueba,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::ThreatLevel;

    fn spec() -> Arc<PipelineSpec> {
        Arc::new(PipelineSpec::new(
            UebaConfig::default(),
            PipelineOptions {
                alert_level: ThreatLevel::Low,
                ..PipelineOptions::default()
            },
        ))
    }

    /// A user who works from London, then logs in from Lagos with failures.
    fn messages() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for d in 0..20 {
            for h in 9..17 {
                out.push(format!(
                    r#"{{"event_id":"e{d}-{h}","user_id":"ana","activity_type":"file_access","timestamp":"2026-03-{:02}T{h:02}:00:00Z","location":"London, GB","latitude":51.5,"longitude":-0.12,"ip_address":"81.2.69.10","resource_accessed":"wiki","data_transferred_gb":0.02}}"#,
                    d + 2
                ).into_bytes());
            }
        }
        for i in 0..6 {
            out.push(format!(
                r#"{{"event_id":"x{i}","user_id":"ana","activity_type":"login","timestamp":"2026-03-22T03:0{i}:00Z","location":"Lagos, NG","latitude":6.52,"longitude":3.38,"ip_address":"102.89.1.1","success":{}}}"#,
                i == 5
            ).into_bytes());
        }
        out
    }

    fn run(p: &mut PartitionPipeline, msgs: &[Vec<u8>], from: usize) -> Vec<String> {
        let now = Timestamp::now();
        let mut ids = Vec::new();
        for (i, m) in msgs.iter().enumerate().skip(from) {
            let h = p.handle("activity", i as i64, m, now);
            assert!(h.error.is_none(), "{:?}", h.error);
            ids.extend(
                h.alerts
                    .iter()
                    .map(|a| format!("{} {:.1} {:?}", a.identity(), a.score, a.level)),
            );
        }
        ids
    }

    #[test]
    fn a_takeover_from_a_checkpoint_replays_silently_then_alerts_as_before() {
        let msgs = messages();
        let none = BTreeMap::new();
        let mut whole = PartitionPipeline::restore(&spec(), 0, None, &none).unwrap();
        let all = run(&mut whole, &msgs, 0);
        assert!(!all.is_empty(), "the Lagos logins alert");

        // A worker checkpoints at 100, delivers and commits up to 150, then dies.
        let mut first = PartitionPipeline::restore(&spec(), 0, None, &none).unwrap();
        let mut before = run(&mut first, &msgs[..100], 0);
        let ck = Checkpoint::decode(&first.checkpoint(0).unwrap().encode()).unwrap();
        assert_eq!(ck.offset("activity"), Some(100));
        before.extend(run(&mut first, &msgs[..150], 100));
        let committed = BTreeMap::from([("activity".to_owned(), 150)]);
        let mut next = PartitionPipeline::restore(&spec(), 0, Some(ck), &committed).unwrap();
        assert_eq!(next.next_offset("activity"), Some(100));
        // Redelivered below the checkpoint: ignored.
        assert!(
            next.handle("activity", 99, &msgs[99], Timestamp::now())
                .stale
        );
        let after = run(&mut next, &msgs, 100);
        let mut joined = before;
        joined.extend(after);
        assert_eq!(joined, all);
    }

    #[test]
    fn a_bad_message_is_counted_and_the_rest_go_on() {
        let mut p = PartitionPipeline::restore(&spec(), 2, None, &BTreeMap::new()).unwrap();
        let h = p.handle("activity", 0, b"{not json", Timestamp::now());
        assert!(h.error.as_deref().unwrap().starts_with("activity[2]@0: "));
        let ok = messages();
        assert!(
            p.handle("activity", 1, &ok[0], Timestamp::now())
                .error
                .is_none()
        );
        assert_eq!((p.errors(), p.events(), p.entities()), (1, 2, 1));
    }
}
