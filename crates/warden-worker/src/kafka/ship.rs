//! `warden ship`: events onto a topic, each keyed by its entity and sent to the partition
//! Kafka's default partitioner gives that key (see [`crate::keys`]), so every event of a
//! user or host lands where its state lives.

use std::time::Duration;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rdkafka::client::ClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use super::{KafkaError, KafkaSettings, REQUEST_TIMEOUT, enqueue, ensure_topic};
use crate::keys::partition_for;
pub use crate::stats::ShipReport;

/// Counts what the broker refused.
#[derive(Default)]
struct Refusals {
    failed: AtomicU64,
    first: Mutex<Option<String>>,
}

impl ClientContext for Refusals {}

impl ProducerContext for Refusals {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut f) = self.first.lock() {
                f.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// A keyed producer for one topic.
pub struct Shipper {
    producer: BaseProducer<Refusals>,
    topic: String,
    partitions: u32,
    report: ShipReport,
}

impl Shipper {
    /// Opens `topic`, creating it with `partitions` (and `replication`) when it does not
    /// exist; an existing topic keeps its own partition count.
    pub fn open(
        settings: &KafkaSettings,
        topic: &str,
        partitions: usize,
        replication: i32,
    ) -> Result<Self, KafkaError> {
        let n = ensure_topic(settings, topic, partitions, replication, false)?;
        let producer: BaseProducer<Refusals> = settings
            .client(&[
                ("enable.idempotence", "true"),
                ("acks", "all"),
                ("linger.ms", "20"),
                ("batch.num.messages", "10000"),
                ("compression.type", "lz4"),
            ])?
            .create_with_context(Refusals::default())?;
        Ok(Shipper {
            producer,
            topic: topic.to_owned(),
            partitions: n as u32,
            report: ShipReport {
                partitions: n,
                ..ShipReport::default()
            },
        })
    }

    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Queues one event (waits while the producer's queue is full).
    pub fn send(&mut self, key: Option<&str>, payload: &[u8]) -> Result<(), KafkaError> {
        let partition = key.map_or(0, |k| partition_for(k.as_bytes(), self.partitions)) as i32;
        let mut record: BaseRecord<'_, str, [u8]> = BaseRecord::to(&self.topic)
            .partition(partition)
            .payload(payload);
        if let Some(k) = key {
            record = record.key(k);
        } else {
            self.report.unkeyed += 1;
        }
        enqueue(&self.producer, record)?;
        self.report.sent += 1;
        if self.report.sent.is_multiple_of(1024) {
            self.producer.poll(Duration::ZERO);
        }
        Ok(())
    }

    /// Waits until the broker has every event sent so far; an error when any of them was
    /// refused (the producer goes on: a caller may send them again).
    pub fn flush(&mut self) -> Result<(), KafkaError> {
        self.producer.flush(REQUEST_TIMEOUT * 6)?;
        let ctx = self.producer.context();
        let failed = ctx.failed.swap(0, Ordering::Relaxed);
        if failed > 0 {
            let first = ctx
                .first
                .lock()
                .ok()
                .and_then(|mut f| f.take())
                .unwrap_or_default();
            return Err(KafkaError::Topic {
                topic: self.topic.clone(),
                reason: format!("{failed} events were not accepted: {first}"),
            });
        }
        Ok(())
    }

    /// Waits until the broker has every event; an error when any was refused.
    pub fn finish(mut self) -> Result<ShipReport, KafkaError> {
        self.flush()?;
        Ok(self.report)
    }
}
