//! Where a partition's state and its delivery record live on JetStream.
//!
//! - Checkpoints: one object per partition (`p<N>`) in the object bucket
//!   `<group>-checkpoints`; a put replaces the object only once all of its chunks are
//!   stored, so a reader sees the previous checkpoint or the new one, never half of one.
//! - Delivery: the last alert on the alert stream's subject `A.p` carries the input
//!   sequence it came from ([`super::SOURCE_HEADER`]); a new owner delivers only alerts of
//!   later messages (see [`crate::kafka`]'s `delivered` for the same rule on Kafka).

use async_nats::jetstream::{self, object_store, stream};
use tokio::io::AsyncReadExt;

use super::{Context, NatsError, SOURCE_HEADER, check_name, subject};
use crate::checkpoint::{Checkpoint, MAX_CHECKPOINT};

/// How long one read of a checkpoint may take.
const READ_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads of a checkpoint that may time out before it is given up as unreadable.
const READ_ATTEMPTS: u32 = 3;

/// The checkpoint bucket of a group.
pub struct Checkpoints {
    store: object_store::ObjectStore,
    bucket: String,
}

/// A restored checkpoint and its size.
#[derive(Debug, Default)]
pub struct Restored {
    pub checkpoint: Option<Checkpoint>,
    pub bytes: usize,
    /// A checkpoint was there and could not be read (the state is rebuilt).
    pub unreadable: bool,
}

impl Restored {
    fn unreadable() -> Restored {
        Restored {
            unreadable: true,
            ..Restored::default()
        }
    }
}

impl Checkpoints {
    pub async fn open(
        js: &jetstream::Context,
        group: &str,
        replicas: usize,
    ) -> Result<Self, NatsError> {
        let bucket = Self::bucket(group)?;
        let store = match js.get_object_store(&bucket).await {
            Ok(s) => s,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: bucket.clone(),
                    description: Some("Warden partition checkpoints".into()),
                    storage: stream::StorageType::File,
                    num_replicas: replicas.max(1),
                    ..Default::default()
                })
                .await
                .ctx(|| format!("checkpoint bucket {bucket}"))?,
        };
        Ok(Checkpoints { store, bucket })
    }

    /// The group's bucket when it exists (nothing is created).
    pub async fn existing(js: &jetstream::Context, group: &str) -> Result<Option<Self>, NatsError> {
        let bucket = Self::bucket(group)?;
        // Any failure to open it reads as no bucket: the object store API does not tell
        // "not found" from other errors, and a server that cannot be reached has already
        // failed the connection.
        Ok(js
            .get_object_store(&bucket)
            .await
            .ok()
            .map(|store| Checkpoints { store, bucket }))
    }

    /// The bucket of `group`'s checkpoints.
    fn bucket(group: &str) -> Result<String, NatsError> {
        check_name("group", group)?;
        Ok(format!("{group}-checkpoints"))
    }

    fn name(p: u32) -> String {
        format!("p{p}")
    }

    /// Partition `p`'s checkpoint; `None` when it has none. A checkpoint that cannot be
    /// decoded is reported and ignored: the state is rebuilt from the stream instead.
    /// So is one whose content never comes ([`READ_ATTEMPTS`] reads of [`READ_WAIT`]
    /// each): a server killed while it stored the chunks may come back with the object's
    /// description but not all of its chunks, and a read of it would wait for ever.
    pub async fn read(&self, p: u32) -> Result<Restored, NatsError> {
        for attempt in 1..=READ_ATTEMPTS {
            match tokio::time::timeout(READ_WAIT, self.read_bytes(p)).await {
                Ok(Ok(Some(bytes))) => return Ok(self.decode(p, bytes)),
                Ok(Ok(None)) => return Ok(Restored::default()),
                Ok(Err(e)) => return Err(e),
                Err(_) => tracing::warn!(
                    partition = p,
                    attempt,
                    "checkpoint p{p} in {}: no content in {READ_WAIT:?}",
                    self.bucket
                ),
            }
        }
        tracing::warn!(
            "{}: checkpoint p{p} could not be read; rebuilding from the stream",
            self.bucket
        );
        Ok(Restored::unreadable())
    }

    /// The stored bytes of `p`'s checkpoint; `None` when there is none.
    pub async fn read_bytes(&self, p: u32) -> Result<Option<Vec<u8>>, NatsError> {
        let mut object = match self.store.get(Self::name(p)).await {
            Ok(o) => o,
            Err(e) if matches!(e.kind(), object_store::GetErrorKind::NotFound) => {
                return Ok(None);
            }
            Err(e) => {
                return Err(NatsError::Broker {
                    what: format!("checkpoint of partition {p} in {}", self.bucket),
                    reason: e.to_string(),
                });
            }
        };
        let mut bytes = Vec::new();
        (&mut object)
            .take(MAX_CHECKPOINT as u64 + 1)
            .read_to_end(&mut bytes)
            .await
            .ctx(|| format!("checkpoint of partition {p} in {}", self.bucket))?;
        Ok(Some(bytes))
    }

    fn decode(&self, p: u32, bytes: Vec<u8>) -> Restored {
        match Checkpoint::decode(&bytes) {
            Ok(c) if c.partition == p as i32 => Restored {
                checkpoint: Some(c),
                bytes: bytes.len(),
                unreadable: false,
            },
            Ok(c) => {
                tracing::warn!(
                    "{}: object p{p} holds partition {}'s checkpoint; ignored",
                    self.bucket,
                    c.partition
                );
                Restored::unreadable()
            }
            Err(e) => {
                tracing::warn!(
                    "{}: checkpoint p{p} unreadable ({e}); rebuilding",
                    self.bucket
                );
                Restored::unreadable()
            }
        }
    }

    /// Stores partition `p`'s checkpoint; returns its size.
    pub async fn write(&self, p: u32, ck: &Checkpoint) -> Result<usize, NatsError> {
        let bytes = ck.encode();
        self.write_bytes(p, &bytes).await?;
        Ok(bytes.len())
    }

    /// Stores `bytes` as partition `p`'s checkpoint, as they are.
    pub async fn write_bytes(&self, p: u32, bytes: &[u8]) -> Result<(), NatsError> {
        self.store
            .put(Self::name(p).as_str(), &mut &bytes[..])
            .await
            .ctx(|| format!("checkpoint of partition {p} to {}", self.bucket))?;
        Ok(())
    }
}

/// The input `(stream, sequence)` of the last alert delivered for partition `p`, if any.
pub async fn delivered_through(
    alerts: &stream::Stream,
    alert_stream: &str,
    p: u32,
) -> Result<Option<(String, i64)>, NatsError> {
    match alerts
        .get_last_raw_message_by_subject(&subject(alert_stream, p))
        .await
    {
        Ok(m) => Ok(m
            .headers
            .get(SOURCE_HEADER)
            .and_then(|v| parse_source(v.as_str()))),
        Err(e) if matches!(e.kind(), stream::LastRawMessageErrorKind::NoMessageFound) => Ok(None),
        Err(e) => Err(NatsError::Broker {
            what: format!("last alert of partition {p} on {alert_stream}"),
            reason: e.to_string(),
        }),
    }
}

/// `<stream>:<sequence>` as written in [`SOURCE_HEADER`].
pub fn source_value(stream: &str, sequence: u64) -> String {
    format!("{stream}:{sequence}")
}

pub fn parse_source(v: &str) -> Option<(String, i64)> {
    let (s, seq) = v.rsplit_once(':')?;
    Some((s.to_owned(), seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_header_round_trips() {
        assert_eq!(
            parse_source(&source_value("events", 42)),
            Some(("events".into(), 42))
        );
        assert_eq!(parse_source("events"), None);
        assert_eq!(parse_source("events:x"), None);
    }
}
