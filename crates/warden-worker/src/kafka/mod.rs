//! The Kafka side (feature `kafka`, librdkafka through `rdkafka`): workers in a consumer
//! group ([`worker`]), checkpoints on a changelog topic ([`changelog`]), and the keyed
//! producer behind `warden ship` ([`ship`]).
//!
//! Why librdkafka: it is the client every Kafka-speaking tool uses in production (consumer
//! groups with rebalance callbacks, idempotent producer, TLS, SASL PLAIN/SCRAM/OAUTHBEARER),
//! it takes the properties Kafka users already know (`bootstrap.servers`,
//! `security.protocol`, `sasl.mechanism`, `ssl.ca.location`, …) unchanged, and it builds from
//! source in about a minute and a half here. The pure-Rust clients either lack consumer
//! groups (`rskafka`) or rebalance callbacks, which restoring state before consuming needs.

pub mod changelog;
pub mod delivered;
pub mod ship;
pub mod worker;

/// The client the worker is built with, for callers that write to the same topics (a
/// changelog's chunks, in tests of damaged checkpoints).
pub use rdkafka;

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

/// How long a metadata or admin request may take before it is an error.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("kafka: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error("kafka topic {topic}: {reason}")]
    Topic { topic: String, reason: String },
    #[error("kafka configuration: {0}")]
    Config(String),
    #[error("kafka brokers {brokers} cannot be reached: {source}")]
    Unreachable {
        brokers: String,
        source: rdkafka::error::KafkaError,
    },
}

/// Client properties as librdkafka (and every Kafka client) names them:
/// `bootstrap.servers`, `security.protocol`, `sasl.mechanism`, `sasl.username`,
/// `sasl.password`, `ssl.ca.location`, `client.id`, …
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct KafkaSettings {
    #[serde(flatten)]
    pub properties: BTreeMap<String, String>,
}

impl KafkaSettings {
    /// Settings reaching `bootstrap` (a comma-separated list of `host:port`).
    pub fn new(bootstrap: &str) -> Self {
        let mut properties = BTreeMap::new();
        properties.insert("bootstrap.servers".into(), bootstrap.into());
        KafkaSettings { properties }
    }

    /// Sets one property (a flag overriding the file).
    pub fn set(&mut self, key: &str, value: &str) -> &mut Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// A client configuration with these properties, then `extra` (which the worker needs
    /// and a user must not change, such as manual commits).
    pub fn client(&self, extra: &[(&str, &str)]) -> Result<ClientConfig, KafkaError> {
        if !self.properties.contains_key("bootstrap.servers") {
            return Err(KafkaError::Config(
                "bootstrap.servers is not set (give --brokers or [kafka] bootstrap.servers)".into(),
            ));
        }
        let mut c = ClientConfig::new();
        for (k, v) in &self.properties {
            c.set(k, v);
        }
        for (k, v) in extra {
            c.set(*k, *v);
        }
        Ok(c)
    }
}

/// Hands a record to the producer, waiting while its queue is full; any other refusal is
/// returned (the record is dropped with it).
pub(crate) fn enqueue<C, K, P>(
    producer: &rdkafka::producer::BaseProducer<C>,
    mut record: rdkafka::producer::BaseRecord<'_, K, P>,
) -> Result<(), rdkafka::error::KafkaError>
where
    C: rdkafka::producer::ProducerContext<DeliveryOpaque = ()>,
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
{
    use rdkafka::error::KafkaError as Client;
    use rdkafka::types::RDKafkaErrorCode;
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((Client::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                producer.poll(Duration::from_millis(10));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// The number of partitions of `topic`, `None` when it does not exist.
pub fn partition_count(settings: &KafkaSettings, topic: &str) -> Result<Option<usize>, KafkaError> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = settings.client(&[])?.create()?;
    let md = c
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|source| KafkaError::Unreachable {
            brokers: settings
                .properties
                .get("bootstrap.servers")
                .cloned()
                .unwrap_or_default(),
            source,
        })?;
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().len()))
}

/// Creates `topic` with `partitions` (each on `replication` brokers; -1: the broker's
/// default) unless it exists; `compact` marks a changelog (`cleanup.policy=compact`: the
/// broker keeps the newest message per key). Returns its partition count.
pub fn ensure_topic(
    settings: &KafkaSettings,
    topic: &str,
    partitions: usize,
    replication: i32,
    compact: bool,
) -> Result<usize, KafkaError> {
    if let Some(n) = partition_count(settings, topic)? {
        return Ok(n);
    }
    let admin: AdminClient<DefaultClientContext> = settings.client(&[])?.create()?;
    let parts =
        i32::try_from(partitions).map_err(|_| KafkaError::Config("too many partitions".into()))?;
    let mut new = NewTopic::new(topic, parts, TopicReplication::Fixed(replication));
    if compact {
        new = new.set("cleanup.policy", "compact");
    }
    let opts = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    let results = futures_executor::block_on(admin.create_topics([&new], &opts))?;
    for r in results {
        match r {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, code)) => {
                return Err(KafkaError::Topic {
                    topic: t,
                    reason: format!("cannot create it: {code}"),
                });
            }
        }
    }
    // The broker may take a moment to show a new topic in its metadata.
    for _ in 0..50 {
        if let Some(n) = partition_count(settings, topic)? {
            return Ok(n);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(KafkaError::Topic {
        topic: topic.into(),
        reason: "created, but the broker does not list it".into(),
    })
}

/// One message as read back by [`read_topic_with`].
#[derive(Debug, Clone)]
pub struct ReadMessage {
    pub partition: i32,
    pub offset: i64,
    /// The message's timestamp (the producer's create time, unless the topic says otherwise).
    pub timestamp_ms: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Vec<u8>,
}

/// Every message's value of `topic` (see [`read_topic_with`]).
pub fn read_topic(settings: &KafkaSettings, topic: &str) -> Result<Vec<Vec<u8>>, KafkaError> {
    let mut out = Vec::new();
    read_topic_with(settings, topic, |m| out.push(m.value))?;
    Ok(out)
}

/// Every message of `topic`, partition by partition, up to each partition's end. The end is
/// where a fetch reports none left (partition EOF), not the listed high watermark, which
/// some Kafka-protocol brokers report short of the last batch. For checks and tools, not
/// for the hot path.
pub fn read_topic_with(
    settings: &KafkaSettings,
    topic: &str,
    mut each: impl FnMut(ReadMessage),
) -> Result<(), KafkaError> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::error::KafkaError as Client;
    use rdkafka::message::Message;
    use rdkafka::{Offset, TopicPartitionList};
    let Some(parts) = partition_count(settings, topic)? else {
        return Ok(());
    };
    let c: BaseConsumer = settings
        .client(&[
            ("enable.auto.commit", "false"),
            ("enable.partition.eof", "true"),
            ("group.id", "warden-reader"),
        ])?
        .create()?;
    for p in 0..parts as i32 {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
        c.assign(&tpl)?;
        // Quiet for this long after the last message: the partition is read.
        let mut deadline = std::time::Instant::now() + REQUEST_TIMEOUT * 3;
        loop {
            if std::time::Instant::now() > deadline {
                return Err(KafkaError::Topic {
                    topic: topic.into(),
                    reason: format!("partition {p}: timed out before its end"),
                });
            }
            match c.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    deadline = std::time::Instant::now() + REQUEST_TIMEOUT * 3;
                    each(ReadMessage {
                        partition: p,
                        offset: m.offset(),
                        timestamp_ms: m.timestamp().to_millis(),
                        key: m.key().map(<[u8]>::to_vec),
                        value: m.payload().unwrap_or_default().to_vec(),
                    });
                }
                Some(Err(Client::PartitionEOF(_))) => break,
                Some(Err(e)) => return Err(e.into()),
                None => {}
            }
        }
    }
    Ok(())
}

/// The sum of the consumer group `group`'s committed offsets over `topic`'s partitions (a
/// partition without a commit counts 0): on a topic that starts at offset 0, the number of
/// messages the group has finished with.
pub fn committed_total(
    settings: &KafkaSettings,
    group: &str,
    topic: &str,
) -> Result<i64, KafkaError> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let Some(parts) = partition_count(settings, topic)? else {
        return Ok(0);
    };
    let c: BaseConsumer = settings
        .client(&[("enable.auto.commit", "false"), ("group.id", group)])?
        .create()?;
    let mut tpl = TopicPartitionList::new();
    for p in 0..parts as i32 {
        tpl.add_partition(topic, p);
    }
    let committed = c.committed_offsets(tpl, REQUEST_TIMEOUT)?;
    Ok(committed
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum())
}
