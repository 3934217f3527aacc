//! `warden worker` and `warden ship`: Warden on a Kafka topic (see `warden-worker`). Both
//! need a build with `--features kafka`; without it they say so and exit.

use clap::Args;
use std::path::PathBuf;
use warden_event::ThreatLevel;

use crate::cli::{InputArgs, parse_level};

/// Kafka client settings shared by both commands.
#[derive(Args, Debug)]
pub struct KafkaArgs {
    /// Brokers (`bootstrap.servers`): `host:port[,host:port…]`.
    #[arg(long, value_name = "LIST")]
    pub brokers: Option<String>,
    /// A Kafka client properties file (`key=value` lines, as for the Java client:
    /// `security.protocol`, `sasl.mechanism`, `sasl.username`, `ssl.ca.location`, …).
    #[arg(long, value_name = "FILE")]
    pub kafka_config: Option<PathBuf>,
    /// One client property, `KEY=VALUE` (repeatable; after the file and `[kafka]`).
    #[arg(long = "kafka-property", short = 'X', value_name = "KEY=VALUE")]
    pub kafka_property: Vec<String>,
    /// Replication factor of topics created (-1: the broker's default).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub replication: i32,
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// Input topics (repeatable; co-partitioned: the same partition count).
    #[arg(long = "topic", required = true, value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// The consumer group the workers share.
    #[arg(long, default_value = "warden")]
    pub group: String,
    /// Topic to write alerts to, one message each, keyed by the alert's subject.
    #[arg(long, value_name = "TOPIC")]
    pub alert_topic: Option<String>,
    /// Alert message format: json (Warden's alert), ecs or cef.
    #[arg(long, default_value = "json")]
    pub alert_format: String,
    /// Changelog topic for checkpoints (default `<group>.checkpoints`).
    #[arg(long, value_name = "TOPIC")]
    pub changelog: Option<String>,
    /// Checkpoint a partition after this many events…
    #[arg(long, default_value_t = 100_000)]
    pub checkpoint_every: u64,
    /// …or this many seconds after its last checkpoint.
    #[arg(long, default_value_t = 30)]
    pub checkpoint_secs: u64,
    /// Lowest level that becomes an alert.
    #[arg(long, value_name = "LEVEL", default_value = "MEDIUM", value_parser = parse_level)]
    pub min_level: ThreatLevel,
    /// Configuration file (TOML: `[ueba]`, `[ingest]`, `[kafka]` client properties).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Serve `/metrics`, `/healthz` and `/readyz` on this address (`127.0.0.1:9464`).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
}

#[derive(Args, Debug)]
pub struct ShipArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub kafka: KafkaArgs,
    /// The topic to send to.
    #[arg(long, value_name = "TOPIC")]
    pub topic: String,
    /// Partitions of the topic when it has to be created (an existing topic keeps its own).
    #[arg(long, default_value_t = 12)]
    pub partitions: usize,
}

#[cfg(not(feature = "kafka"))]
fn unavailable() -> anyhow::Result<()> {
    anyhow::bail!(
        "this warden was built without Kafka support; build it with `cargo build --release --features kafka`"
    )
}

#[cfg(not(feature = "kafka"))]
pub fn worker(_: &WorkerArgs) -> anyhow::Result<()> {
    unavailable()
}

#[cfg(not(feature = "kafka"))]
pub fn ship(_: &ShipArgs) -> anyhow::Result<()> {
    unavailable()
}

#[cfg(feature = "kafka")]
pub use on_kafka::{ship, worker};

#[cfg(feature = "kafka")]
mod on_kafka {
    use super::{KafkaArgs, ShipArgs, WorkerArgs};
    use crate::config_file::WardenConfig;
    use anyhow::{Context, Result, bail};
    use std::sync::Arc;
    use warden_engine::pipeline::PipelineOptions;
    use warden_event::Input;
    use warden_worker::kafka::{KafkaSettings, ship::Shipper, worker};
    use warden_worker::keys::entity_key;
    use warden_worker::{PipelineSpec, WorkerStats};

    /// `[kafka]`, then the properties file, then `-X`, then `--brokers`.
    fn settings(args: &KafkaArgs, cfg: &WardenConfig) -> Result<KafkaSettings> {
        let mut s = KafkaSettings::default();
        s.properties.extend(cfg.kafka.clone());
        if let Some(path) = &args.kafka_config {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
                    continue;
                }
                let Some((k, v)) = line.split_once('=') else {
                    bail!("{}:{}: expected KEY=VALUE", path.display(), i + 1);
                };
                s.set(k.trim(), v.trim());
            }
        }
        for p in &args.kafka_property {
            let Some((k, v)) = p.split_once('=') else {
                bail!("-X {p}: expected KEY=VALUE");
            };
            s.set(k.trim(), v.trim());
        }
        if let Some(b) = &args.brokers {
            s.set("bootstrap.servers", b);
        }
        Ok(s)
    }

    pub fn worker(args: &WorkerArgs) -> Result<()> {
        let cfg = WardenConfig::load(args.config.as_deref())?;
        let settings = settings(&args.kafka, &cfg)?;
        let mut spec = PipelineSpec::new(
            cfg.ueba.clone(),
            PipelineOptions {
                alert_level: args.min_level,
                actions: cfg.ueba.scoring.actions.clone(),
                ..PipelineOptions::default()
            },
        );
        spec.aliases = cfg.aliases()?;
        let mut opts = worker::WorkerOptions::new(args.topics.clone(), &args.group);
        opts.alert_topic = args.alert_topic.clone();
        opts.alert_format = args.alert_format.parse().map_err(anyhow::Error::msg)?;
        if let Some(c) = &args.changelog {
            opts.changelog = c.clone();
        }
        opts.replication = args.kafka.replication;
        opts.checkpoint_every = args.checkpoint_every.max(1);
        opts.checkpoint_secs = args.checkpoint_secs.max(1);
        let stats = Arc::new(WorkerStats::default());
        let _http = args
            .metrics
            .as_deref()
            .map(|addr| warden_worker::http::serve(addr, stats.clone()))
            .transpose()
            .context("cannot serve metrics")?;
        let stop = crate::pipeline::stop_on_signal()?;
        let report = worker::run(&settings, opts, Arc::new(spec), stats, stop)?;
        eprintln!(
            "warden worker: {} events, {} alerts delivered, {} bad messages, {} rebalances",
            report.events, report.alerts, report.bad_events, report.rebalances
        );
        Ok(())
    }

    pub fn ship(args: &ShipArgs) -> Result<()> {
        let cfg = WardenConfig::load(args.input.config.as_deref())?;
        let settings = settings(&args.kafka, &cfg)?;
        let mut shipper = Shipper::open(
            &settings,
            &args.topic,
            args.partitions,
            args.kafka.replication,
        )?;
        let started = std::time::Instant::now();
        let mut buf = Vec::with_capacity(512);
        let totals = crate::pipeline::read_all(&args.input, &cfg, |a| {
            buf.clear();
            serde_json::to_writer(&mut buf, &a)?;
            let key = entity_key(&Input::activity(a, 0));
            shipper.send(key.as_deref(), &buf)?;
            Ok(())
        })?;
        let report = shipper.finish()?;
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        eprintln!(
            "warden ship: {} events to {} ({} partitions) in {secs:.1} s ({:.0}/s); {} parse errors",
            report.sent,
            args.topic,
            report.partitions,
            report.sent as f64 / secs,
            totals.parse_errors
        );
        Ok(())
    }
}
