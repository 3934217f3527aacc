//! Checkpoints on a changelog topic: partition `p`'s checkpoints go to the changelog's
//! partition `p`, chunk by chunk, keyed `p/chunk` (so a compacted changelog keeps the newest
//! of each chunk). Reading takes the tail of that partition and keeps the newest complete
//! checkpoint that decodes ([`crate::lookback`] says how far back and what is passed over).

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, ProducerContext};
use rdkafka::{Offset, TopicPartitionList};

use super::{KafkaError, KafkaSettings, REQUEST_TIMEOUT, enqueue};
use crate::checkpoint::{Assembler, Checkpoint, split};
use crate::lookback::{Restored, newest_readable};

/// Reads and writes one changelog topic.
pub struct Changelog {
    topic: String,
    reader: BaseConsumer,
}

impl Changelog {
    pub fn open(settings: &KafkaSettings, topic: &str) -> Result<Self, KafkaError> {
        let reader: BaseConsumer = settings
            .client(&[
                ("enable.auto.commit", "false"),
                ("enable.partition.eof", "true"),
                ("group.id", "warden-changelog-reader"),
            ])?
            .create()?;
        Ok(Changelog {
            topic: topic.to_owned(),
            reader,
        })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes a checkpoint of `partition` (not flushed: the caller flushes the producer).
    /// Returns the encoded size.
    pub fn write<C: ProducerContext<DeliveryOpaque = ()>>(
        &self,
        producer: &BaseProducer<C>,
        checkpoint: &Checkpoint,
        id: u64,
    ) -> Result<usize, KafkaError> {
        let bytes = checkpoint.encode();
        let p = checkpoint.partition;
        for chunk in split(&bytes, id) {
            let key = format!("{p}/{}", chunk.index);
            let body = chunk.to_bytes();
            let record = BaseRecord::to(&self.topic)
                .partition(p)
                .key(&key)
                .payload(&body);
            enqueue(producer, record)?;
        }
        Ok(bytes.len())
    }

    /// The newest complete checkpoint of `partition` that can be decoded. One that cannot
    /// (damaged on the log, or another partition's) is passed over for the one before it,
    /// as many as [`crate::lookback::MAX_UNREADABLE`]; with none left the partition has no
    /// checkpoint and is rebuilt from its input, as a NATS worker does.
    pub fn read(&self, partition: i32) -> Result<Restored, KafkaError> {
        let range = self.watermarks(&self.topic, partition)?;
        newest_readable(partition, range, |from, until, passed_over| {
            let mut asm = Assembler::passing_over(passed_over);
            let read = self.read_from(&self.topic, partition, from, until, |m| {
                asm.push_at(m.offset(), m.payload().unwrap_or_default());
            })?;
            Ok((asm.finish(), read))
        })
    }

    /// Every message of `topic`'s `partition` from `from` to `until` (exclusive) or, when
    /// `until` is `None`, to the partition's end as the fetch reports it (a listed high
    /// watermark only chooses where to start: some brokers list it short of the last
    /// batch). Returns how many were read.
    pub(crate) fn read_from(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
        until: Option<i64>,
        mut each: impl FnMut(&BorrowedMessage<'_>),
    ) -> Result<u64, KafkaError> {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(from))?;
        self.reader.assign(&tpl)?;
        let mut read = 0u64;
        let deadline = Instant::now() + REQUEST_TIMEOUT * 3;
        let result = loop {
            if Instant::now() > deadline {
                break Err(KafkaError::Topic {
                    topic: topic.to_owned(),
                    reason: format!("partition {partition}: timed out reading from {from}"),
                });
            }
            match self.reader.poll(Duration::from_millis(200)) {
                Some(Ok(m)) if until.is_some_and(|u| m.offset() >= u) => break Ok(read),
                Some(Ok(m)) => {
                    read += 1;
                    each(&m);
                }
                Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => break Ok(read),
                Some(Err(e)) => break Err(e.into()),
                None => {}
            }
        };
        self.reader.unassign()?;
        result
    }

    /// The listed watermarks of `topic`'s `partition`.
    pub(crate) fn watermarks(&self, topic: &str, partition: i32) -> Result<(i64, i64), KafkaError> {
        Ok(self
            .reader
            .fetch_watermarks(topic, partition, REQUEST_TIMEOUT)?)
    }
}
