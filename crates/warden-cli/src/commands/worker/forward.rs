//! `warden serve --forward-to`: the service's ingest onto a Kafka topic or a NATS JetStream
//! stream, each record keyed by its entity as `warden ship` keys it, so `warden worker`s
//! detect on it. The default tenant's records go to the topic named; another tenant's to
//! `<topic>-<tenant>`, for a worker group of its own (`warden worker --tenant`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::{Result, bail};
use warden_event::{DEFAULT_TENANT, Input, Record};
use warden_server::forward::Forwarder;

use super::{KafkaArgs, NatsArgs};
use crate::cli::ServeArgs;

/// A producer the forwarder sends through.
trait Ship: Send {
    fn send(&mut self, key: Option<&str>, payload: &[u8]) -> Result<(), String>;
    /// Returns once the log stored everything sent.
    fn flush(&mut self) -> Result<(), String>;
}

#[cfg(feature = "kafka")]
impl Ship for warden_worker::kafka::ship::Shipper {
    fn send(&mut self, key: Option<&str>, payload: &[u8]) -> Result<(), String> {
        warden_worker::kafka::ship::Shipper::send(self, key, payload).map_err(|e| e.to_string())
    }
    fn flush(&mut self) -> Result<(), String> {
        warden_worker::kafka::ship::Shipper::flush(self).map_err(|e| e.to_string())
    }
}

#[cfg(feature = "nats")]
impl Ship for warden_worker::nats::ship::NatsShipper {
    fn send(&mut self, key: Option<&str>, payload: &[u8]) -> Result<(), String> {
        warden_worker::nats::ship::NatsShipper::send(self, key, payload).map_err(|e| e.to_string())
    }
    fn flush(&mut self) -> Result<(), String> {
        warden_worker::nats::ship::NatsShipper::flush(self).map_err(|e| e.to_string())
    }
}

type Opener = Box<dyn Fn(&str) -> Result<Box<dyn Ship>, String> + Send + Sync>;
/// One topic's producer, used by one batch at a time.
type Producer = Arc<Mutex<Box<dyn Ship>>>;

/// The service's forwarder: a producer per tenant topic, opened on first use.
struct LogForwarder {
    log: &'static str,
    topic: String,
    open: Opener,
    producers: Mutex<HashMap<String, Producer>>,
}

impl LogForwarder {
    /// The topic (stream) of a tenant's records.
    fn topic_of(&self, tenant: &str) -> Result<String, String> {
        if tenant == DEFAULT_TENANT {
            return Ok(self.topic.clone());
        }
        // NATS stream names cannot hold a dot; renaming it could merge two tenants.
        if self.log == "nats" && tenant.contains('.') {
            return Err(format!(
                "tenant {tenant}: a name with a dot cannot name a NATS stream"
            ));
        }
        Ok(format!("{}-{tenant}", self.topic))
    }

    fn producer(&self, topic: &str) -> Result<Producer, String> {
        let mut all = self.producers.lock().map_err(|_| "producers lock")?;
        if let Some(p) = all.get(topic) {
            return Ok(p.clone());
        }
        let p = Arc::new(Mutex::new((self.open)(topic)?));
        all.insert(topic.to_owned(), p.clone());
        Ok(p)
    }
}

impl Forwarder for LogForwarder {
    fn target(&self) -> String {
        format!("{} {}", self.log, self.topic)
    }

    fn forward(&self, tenant: &str, records: &[Input]) -> Result<(), String> {
        let topic = self.topic_of(tenant)?;
        let producer = self.producer(&topic)?;
        let mut producer = producer.lock().map_err(|_| "producer lock")?;
        let mut buf = Vec::with_capacity(1024);
        for r in records {
            buf.clear();
            let written = match &r.record {
                Record::Activity(a) => serde_json::to_writer(&mut buf, a),
                Record::Log(e) => serde_json::to_writer(&mut buf, &e.doc),
                // Ingest classifies no flows; a worker would not read one as JSON either.
                Record::Flow(_) => continue,
            };
            written.map_err(|e| e.to_string())?;
            let key = warden_worker::keys::entity_key(r);
            producer.send(key.as_deref(), &buf)?;
        }
        producer.flush()
    }
}

/// Where `--forward-to` points: the log, its servers, the topic.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    log: &'static str,
    servers: Option<String>,
    topic: String,
}

/// `kafka://HOST:PORT[,HOST:PORT…]/TOPIC`, `nats://HOST:PORT[,…]/STREAM`, or a bare topic
/// whose log `--brokers` or `--nats` names.
fn target(to: &str, on_nats: bool) -> Result<Target> {
    let (log, servers, topic) = match to.split_once("://") {
        Some((scheme @ ("kafka" | "nats"), rest)) => {
            let Some((hosts, topic)) = rest.rsplit_once('/') else {
                bail!("--forward-to {to}: expected {scheme}://HOST:PORT/TOPIC");
            };
            let servers = if scheme == "nats" {
                hosts
                    .split(',')
                    .map(|h| format!("nats://{h}"))
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                hosts.to_owned()
            };
            let log = if scheme == "nats" { "nats" } else { "kafka" };
            (log, Some(servers), topic)
        }
        Some((scheme, _)) => {
            bail!("--forward-to {to}: {scheme}:// is not a log (kafka://, nats://)")
        }
        None => (if on_nats { "nats" } else { "kafka" }, None, to),
    };
    let legal =
        |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || (c == '.' && log == "kafka");
    // 180: room for `-<tenant>` (64) within Kafka's 249 characters.
    if topic.is_empty() || topic.len() > 180 || !topic.chars().all(legal) {
        bail!("--forward-to {to}: {topic:?} is not a {log} topic name");
    }
    Ok(Target {
        log,
        servers,
        topic: topic.to_owned(),
    })
}

/// The forwarder `--forward-to` asks for, if any.
pub fn forwarder(args: &ServeArgs) -> Result<Option<Arc<dyn Forwarder>>> {
    let Some(to) = &args.forward_to else {
        return Ok(None);
    };
    let t = target(to, args.nats.nats.is_some())?;
    let open = opener(&t, &args.kafka, &args.nats, args.forward_partitions)?;
    let f = LogForwarder {
        log: t.log,
        topic: t.topic,
        open,
        producers: Mutex::default(),
    };
    // Opened now so that a wrong address shows at once; the service still starts, and
    // answers 503 until the log can be reached.
    if let Err(e) = f.producer(&f.topic) {
        eprintln!(
            "warden serve: {} not reachable yet ({e}); ingest answers 503 until it is",
            f.target()
        );
    }
    Ok(Some(Arc::new(f)))
}

fn opener(t: &Target, kafka: &KafkaArgs, nats: &NatsArgs, partitions: usize) -> Result<Opener> {
    match t.log {
        "nats" => nats_opener(t, nats, partitions, kafka.replication),
        _ => kafka_opener(t, kafka, partitions),
    }
}

#[cfg(feature = "kafka")]
fn kafka_opener(t: &Target, kafka: &KafkaArgs, partitions: usize) -> Result<Opener> {
    let mut settings = super::kafka::settings(kafka, &crate::config_file::WardenConfig::default())?;
    if let Some(s) = &t.servers {
        settings.set("bootstrap.servers", s);
    }
    let replication = kafka.replication;
    Ok(Box::new(move |topic| {
        warden_worker::kafka::ship::Shipper::open(&settings, topic, partitions, replication)
            .map(|s| Box::new(s) as Box<dyn Ship>)
            .map_err(|e| e.to_string())
    }))
}

#[cfg(not(feature = "kafka"))]
fn kafka_opener(_: &Target, _: &KafkaArgs, _: usize) -> Result<Opener> {
    Err(super::unavailable("Kafka", "kafka"))
}

#[cfg(feature = "nats")]
fn nats_opener(t: &Target, nats: &NatsArgs, partitions: usize, replication: i32) -> Result<Opener> {
    let mut settings = super::nats::settings(nats);
    if let Some(s) = &t.servers {
        settings.servers = s.clone();
    }
    let partitions = u32::try_from(partitions)?;
    let replicas = replication.max(1) as usize;
    Ok(Box::new(move |stream| {
        warden_worker::nats::ship::NatsShipper::open(&settings, stream, partitions, replicas)
            .map(|s| Box::new(s) as Box<dyn Ship>)
            .map_err(|e| e.to_string())
    }))
}

#[cfg(not(feature = "nats"))]
fn nats_opener(_: &Target, _: &NatsArgs, _: usize, _: i32) -> Result<Opener> {
    Err(super::unavailable("NATS", "nats"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_targets_are_urls_or_topics() {
        assert_eq!(
            target("kafka://k1:9092,k2:9092/activity", false).unwrap(),
            Target {
                log: "kafka",
                servers: Some("k1:9092,k2:9092".into()),
                topic: "activity".into()
            }
        );
        assert_eq!(
            target("nats://n1:4222,n2:4222/act", false).unwrap(),
            Target {
                log: "nats",
                servers: Some("nats://n1:4222,nats://n2:4222".into()),
                topic: "act".into()
            }
        );
        assert_eq!(target("act", true).unwrap().log, "nats");
        assert_eq!(target("win.logs", false).unwrap().log, "kafka");
        for bad in [
            "http://x/y",
            "kafka://k1:9092",
            "nats://n/a.b",
            "kafka://k/",
            "a b",
        ] {
            assert!(target(bad, false).is_err(), "{bad}");
        }
    }
}
