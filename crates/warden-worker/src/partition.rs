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

use warden_engine::pipeline::{
    AnalyzerSource, ContextLimits, PayloadDetector, Pipeline, PipelineOptions, RulesDetector,
    UebaDetector,
};
use warden_engine::ueba::UebaEngine;
use warden_engine::{ConfigError, UebaConfig};
use warden_event::{Alert, DEFAULT_TENANT, ThreatLevel, Timestamp};
use warden_ingest::FieldAliases;
use warden_ingest::classify::{ClassifyOptions, classify};
use warden_sigma::RuleSet;

use crate::checkpoint::Checkpoint;

/// How every partition's pipeline is built.
#[derive(Clone)]
pub struct PipelineSpec {
    pub tenant: String,
    pub ueba: UebaConfig,
    pub options: PipelineOptions,
    pub aliases: FieldAliases,
    pub classify: ClassifyOptions,
    /// Sigma rules for the log documents, their correlation windows checkpointed.
    pub rules: Option<Arc<RuleSet>>,
    /// Most correlation groups per correlation rule in one partition.
    pub max_correlation_groups: usize,
    /// Command-line analysis of process creations (nothing checkpointed: its count of the
    /// hosts that start each line is kept in memory and starts afresh with the partition).
    pub payload: Option<(Arc<dyn AnalyzerSource>, ThreatLevel)>,
    /// Hosts of the partition after which a command line is common (0: never).
    pub payload_common_at: usize,
}

impl std::fmt::Debug for PipelineSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineSpec")
            .field("tenant", &self.tenant)
            .field("rules", &self.rules.as_ref().map(|r| r.rules().len()))
            .field("payload", &self.payload.as_ref().map(|p| p.1))
            .finish_non_exhaustive()
    }
}

impl PipelineSpec {
    /// The behavioural engine with the default limits, alerts at `options.alert_level`;
    /// log documents are read (and only rules and payload analysis, when added, look at
    /// them).
    pub fn new(ueba: UebaConfig, options: PipelineOptions) -> Self {
        PipelineSpec {
            tenant: DEFAULT_TENANT.to_owned(),
            ueba,
            options,
            aliases: FieldAliases::default(),
            classify: ClassifyOptions {
                logs: true,
                ..ClassifyOptions::default()
            },
            rules: None,
            max_correlation_groups: warden_sigma::correlation::MAX_GROUPS,
            payload: None,
            payload_common_at: warden_engine::pipeline::DEFAULT_COMMON_AT,
        }
    }

    fn build(&self, checkpoint: Option<Checkpoint>) -> Result<Pipeline, ConfigError> {
        let (snapshot, sigma) = match checkpoint {
            Some(c) => (Some(c.ueba), c.sigma),
            None => (None, None),
        };
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
        if let Some(set) = &self.rules {
            let mut rules =
                RulesDetector::with_max_groups(set.clone(), self.max_correlation_groups);
            if let Some(state) = sigma {
                let dropped = rules.restore_correlations(state);
                if dropped > 0 {
                    tracing::warn!(
                        "{dropped} correlations of the checkpoint are not in the rules any more; their windows start afresh"
                    );
                }
            }
            p.add(Box::new(rules));
        }
        // After the rules, as in the service: their alerts for the same event carry the
        // command line's verdict.
        if let Some((source, level)) = &self.payload {
            p.add(Box::new(
                PayloadDetector::new(source.clone())
                    .with_min_level(*level)
                    .with_common_at(self.payload_common_at),
            ));
        }
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
        let (next, events) = match &checkpoint {
            Some(c) => (c.offsets.iter().cloned().collect(), c.events),
            None => (BTreeMap::new(), 0),
        };
        Ok(PartitionPipeline {
            spec: spec.clone(),
            partition,
            pipeline: spec.build(checkpoint)?,
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

    /// Users whose baselines the partition holds.
    pub fn entities(&self) -> usize {
        self.pipeline
            .detector::<UebaDetector>()
            .map_or(0, |d| d.engine().user_count())
    }

    /// Correlation groups (one per rule and group-by value) the partition holds.
    pub fn correlation_groups(&self) -> usize {
        self.pipeline
            .detector::<RulesDetector>()
            .map_or(0, |d| d.sigma().correlation_groups())
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
            sigma: self
                .pipeline
                .detector::<RulesDetector>()
                .map(RulesDetector::correlation_state),
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

    /// Password spraying (`value_count` of accounts per address, ≥ 5 in 15 min).
    const RULES: &str = include_str!("../../../tests/data/worker/spray_rules.yml");

    /// Failed logons on one host: a spray of 5 accounts from one address, noise from
    /// others, a record id each.
    fn windows_messages() -> Vec<Vec<u8>> {
        let users = ["ana", "bo", "cy", "di", "ed", "ana", "bo"];
        let mut out = Vec::new();
        for (i, (user, ip)) in users
            .iter()
            .map(|u| (*u, "10.0.0.9"))
            .chain([("fay", "10.0.0.7"), ("gus", "10.0.0.8")])
            .enumerate()
        {
            out.push(format!(
                r##"{{"Event":{{"System":{{"EventID":4625,"Channel":"Security","Computer":"WS1","EventRecordID":{},"TimeCreated":{{"#attributes":{{"SystemTime":"2026-03-22T03:{:02}:00Z"}}}}}},"EventData":{{"TargetUserName":"{user}","IpAddress":"{ip}"}}}}}}"##,
                100 + i,
                i * 2
            ).into_bytes());
        }
        out
    }

    #[test]
    fn correlation_windows_move_with_the_partition() {
        let mut b = warden_sigma::RuleSetBuilder::new(warden_sigma::Mapping::builtin());
        b.add_text(RULES, None);
        let mut spec = (*spec()).clone();
        spec.rules = Some(Arc::new(b.build()));
        let spec = Arc::new(spec);
        let msgs = windows_messages();
        let none = BTreeMap::new();
        let mut whole = PartitionPipeline::restore(&spec, 0, None, &none).unwrap();
        let all = run(&mut whole, &msgs, 0);
        assert!(
            all.iter()
                .any(|a| a.starts_with("sigma:5c0f0000-0000-4000-8000-00000000a002:")),
            "the spray correlation fires: {all:?}"
        );
        // The failed logons are the correlation's (hidden) source: only it alerts.
        assert_eq!(all.len(), 1);
        // Checkpoint at every point of the spray, commit two messages later, take over.
        for cut in 1..msgs.len() - 2 {
            let mut first = PartitionPipeline::restore(&spec, 0, None, &none).unwrap();
            let mut got = run(&mut first, &msgs[..cut], 0);
            let ck = Checkpoint::decode(&first.checkpoint(0).unwrap().encode()).unwrap();
            assert!(ck.sigma.is_some());
            got.extend(run(&mut first, &msgs[..cut + 2], cut));
            let committed = BTreeMap::from([("activity".to_owned(), (cut + 2) as i64)]);
            let mut next = PartitionPipeline::restore(&spec, 0, Some(ck), &committed).unwrap();
            got.extend(run(&mut next, &msgs, cut));
            assert_eq!(got, all, "checkpoint after {cut} messages");
        }
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

    #[test]
    fn a_message_from_the_far_future_is_counted_bad_not_detected_on() {
        let mut s = PipelineSpec::new(UebaConfig::default(), PipelineOptions::default());
        s.classify.max_future_secs = 86_400;
        let mut p = PartitionPipeline::restore(&Arc::new(s), 0, None, &BTreeMap::new()).unwrap();
        let future =
            br#"{"user_id": "ana", "activity_type": "login", "timestamp": "9999-01-01T00:00:00Z"}"#;
        let h = p.handle("activity", 0, future, Timestamp::now());
        let why = h.error.unwrap_or_default();
        assert!(
            why.contains("timestamp") && why.contains("9999-01-01"),
            "{why}"
        );
        assert_eq!((p.errors(), p.entities()), (1, 0));
    }
}
