//! Looks at a group's streams from outside, for operators, tools, tests and benchmarks:
//! every message of a stream, how much of the input the group has yet to acknowledge, and
//! the stored bytes of a partition's checkpoint (to keep a copy, or put one back).

use async_nats::jetstream;

use super::store::Checkpoints;
use super::{Context, NatsError, NatsSettings, SOURCE_HEADER, connect, open_stream, runtime};

/// One stored message, as [`read_stream`] returns it.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub subject: String,
    pub sequence: u64,
    pub source: Option<String>,
    /// When the server stored it (Unix milliseconds).
    pub stored_ms: i64,
    pub payload: Vec<u8>,
}

/// Every message of `stream` (for tools, tests and benchmarks): read with an ephemeral
/// ordered consumer up to the last sequence at the time of the call.
pub async fn read_stream(
    js: &jetstream::Context,
    name: &str,
) -> Result<Vec<StoredMessage>, NatsError> {
    use futures_util::StreamExt;
    let mut s = js.get_stream(name).await.ctx(|| format!("stream {name}"))?;
    let last = s
        .info()
        .await
        .ctx(|| format!("stream {name}"))?
        .state
        .last_sequence;
    let mut out = Vec::new();
    if last == 0 {
        return Ok(out);
    }
    let consumer = s
        .create_consumer(jetstream::consumer::pull::OrderedConfig::default())
        .await
        .ctx(|| format!("reader of {name}"))?;
    let mut messages = consumer.messages().await.ctx(|| format!("read {name}"))?;
    while let Some(m) = messages.next().await {
        let m = m.ctx(|| format!("read {name}"))?;
        let (seq, stored_ms) = m.info().map_or((0, 0), |i| {
            (
                i.stream_sequence,
                (i.published.unix_timestamp_nanos() / 1_000_000) as i64,
            )
        });
        out.push(StoredMessage {
            subject: m.subject.to_string(),
            sequence: seq,
            stored_ms,
            source: m
                .headers
                .as_ref()
                .and_then(|h| h.get(SOURCE_HEADER))
                .map(|v| v.as_str().to_owned()),
            payload: m.payload.to_vec(),
        });
        if seq >= last {
            break;
        }
    }
    Ok(out)
}

/// Messages of `stream` the group's partition consumers have not acknowledged (pending
/// plus delivered-but-unacknowledged), summed; `None` while a partition has no consumer yet.
pub async fn unacknowledged(
    js: &jetstream::Context,
    stream: &str,
    group: &str,
) -> Result<Option<u64>, NatsError> {
    let Some((s, partitions)) = open_stream(js, stream).await? else {
        return Ok(None);
    };
    let mut total = 0;
    for p in 0..partitions {
        let name = format!("{group}-p{p}");
        let Ok(mut c) = s
            .get_consumer::<jetstream::consumer::pull::Config>(&name)
            .await
        else {
            return Ok(None);
        };
        let info = c.info().await.ctx(|| format!("consumer {name}"))?;
        total += info.num_pending + info.num_ack_pending as u64;
    }
    Ok(Some(total))
}

/// [`read_stream`] without a runtime of one's own.
pub fn read_stream_blocking(
    settings: &NatsSettings,
    stream: &str,
) -> Result<Vec<StoredMessage>, NatsError> {
    runtime()?.block_on(async {
        let js = jetstream::new(connect(settings, "warden-inspect").await?);
        read_stream(&js, stream).await
    })
}

/// [`unacknowledged`] without a runtime of one's own.
pub fn unacknowledged_blocking(
    settings: &NatsSettings,
    stream: &str,
    group: &str,
) -> Result<Option<u64>, NatsError> {
    runtime()?.block_on(async {
        let js = jetstream::new(connect(settings, "warden-inspect").await?);
        unacknowledged(&js, stream, group).await
    })
}

/// The stored bytes of partition `p`'s checkpoint in `group`'s bucket (`None` when it has
/// none), without a runtime of one's own.
pub fn checkpoint_bytes_blocking(
    settings: &NatsSettings,
    group: &str,
    p: u32,
) -> Result<Option<Vec<u8>>, NatsError> {
    runtime()?.block_on(async {
        let js = jetstream::new(connect(settings, "warden-inspect").await?);
        match Checkpoints::existing(&js, group).await? {
            Some(c) => c.read_bytes(p).await,
            None => Ok(None),
        }
    })
}

/// Stores `bytes` as partition `p`'s checkpoint in `group`'s bucket, as they are (a copy
/// kept with [`checkpoint_bytes_blocking`]); the partition's next owner restores from it,
/// or rebuilds when it cannot be read.
pub fn put_checkpoint_bytes_blocking(
    settings: &NatsSettings,
    group: &str,
    p: u32,
    bytes: &[u8],
) -> Result<(), NatsError> {
    runtime()?.block_on(async {
        let js = jetstream::new(connect(settings, "warden-inspect").await?);
        Checkpoints::open(&js, group, 1)
            .await?
            .write_bytes(p, bytes)
            .await
    })
}
