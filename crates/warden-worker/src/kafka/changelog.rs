//! Checkpoints on a changelog topic: partition `p`'s checkpoints go to the changelog's
//! partition `p`, chunk by chunk, keyed `p/chunk` (so a compacted changelog keeps the newest
//! of each chunk). Reading takes the tail of that partition and keeps the newest complete
//! checkpoint, looking further back when the tail holds none (a writer died mid-way).

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, ProducerContext};
use rdkafka::{Offset, TopicPartitionList};

use super::{KafkaError, KafkaSettings, REQUEST_TIMEOUT, enqueue};
use crate::checkpoint::{Assembler, Checkpoint, split};

/// Messages read back at first; doubled while no complete checkpoint is found.
const FIRST_LOOKBACK: i64 = 64;
/// Unreadable checkpoints passed over before a partition is rebuilt from its input instead
/// (each costs a read of the changelog's tail).
const MAX_UNREADABLE: usize = 8;

/// Reads and writes one changelog topic.
pub struct Changelog {
    topic: String,
    reader: BaseConsumer,
}

/// A complete checkpoint's id and encoded bytes.
type Assembled = (u64, Vec<u8>);

/// What a read found.
#[derive(Debug)]
pub struct Restored {
    pub checkpoint: Option<Checkpoint>,
    /// Encoded size of the checkpoint.
    pub bytes: usize,
    /// Messages read to find it.
    pub messages: u64,
    /// Newer complete checkpoints passed over because they could not be decoded (damaged,
    /// or another partition's), each with why.
    pub unreadable: Vec<String>,
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
    /// as many as [`MAX_UNREADABLE`]; with none left the partition has no checkpoint and
    /// is rebuilt from its input, as a NATS worker does.
    pub fn read(&self, partition: i32) -> Result<Restored, KafkaError> {
        let (low, high) = self.watermarks(&self.topic, partition)?;
        let mut lookback = FIRST_LOOKBACK;
        let mut restored = Restored {
            checkpoint: None,
            bytes: 0,
            messages: 0,
            unreadable: Vec::new(),
        };
        let mut passed_over = Vec::new();
        loop {
            let from = (high - lookback).max(low);
            if from >= high {
                return Ok(restored);
            }
            let (assembled, read) = self.read_range(partition, from, &passed_over)?;
            restored.messages += read;
            if let Some((id, bytes)) = assembled {
                match Checkpoint::decode(&bytes) {
                    Ok(c) if c.partition == partition => {
                        restored.checkpoint = Some(c);
                        restored.bytes = bytes.len();
                        return Ok(restored);
                    }
                    Ok(c) => restored
                        .unreadable
                        .push(format!("it holds partition {}'s state", c.partition)),
                    Err(e) => restored.unreadable.push(e.to_string()),
                }
                if restored.unreadable.len() >= MAX_UNREADABLE {
                    return Ok(restored);
                }
                // An older checkpoint may be in the same range: read it again without this one.
                passed_over.push(id);
                continue;
            }
            if from == low {
                return Ok(restored);
            }
            lookback *= 2;
        }
    }

    /// Messages from `from` to the end of `partition` through an assembler.
    fn read_range(
        &self,
        partition: i32,
        from: i64,
        passed_over: &[u64],
    ) -> Result<(Option<Assembled>, u64), KafkaError> {
        let mut asm = Assembler::passing_over(passed_over);
        let read = self.read_from(&self.topic, partition, from, |m| {
            asm.push(m.payload().unwrap_or_default());
        })?;
        Ok((asm.newest_with_id(), read))
    }

    /// Every message of `topic`'s `partition` from `from` to the partition's end as the
    /// fetch reports it (a listed high watermark only chooses where to start: some brokers
    /// list it short of the last batch). Returns how many were read.
    pub(crate) fn read_from(
        &self,
        topic: &str,
        partition: i32,
        from: i64,
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
