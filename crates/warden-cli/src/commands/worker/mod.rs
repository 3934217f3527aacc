//! `warden worker` and `warden ship`: Warden on a Kafka topic or a NATS JetStream stream
//! (see `warden-worker`). Each log needs its build feature (`kafka`, `nats`); without it
//! the commands say so and exit.

use clap::Args;
use std::path::PathBuf;
use warden_event::ThreatLevel;

use crate::cli::{InputArgs, RuleArgs, parse_level};

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

/// NATS JetStream connection settings (the log is NATS when `--nats` is given).
#[derive(Args, Debug)]
pub struct NatsArgs {
    /// NATS servers, `nats://host:port[,…]` (`nats://user:password@host:port` for a user):
    /// work on JetStream instead of Kafka.
    #[arg(long, value_name = "URLS", conflicts_with = "brokers")]
    pub nats: Option<String>,
    /// A NATS credentials file (`.creds`: JWT and NKey seed).
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_creds: Option<PathBuf>,
    /// Root certificates (PEM) the servers' TLS certificates must chain to (TLS required).
    #[arg(long, value_name = "FILE", requires = "nats")]
    pub nats_ca: Option<PathBuf>,
    /// A client certificate (PEM) for mutual TLS, with `--nats-key`.
    #[arg(long, value_name = "FILE", requires = "nats_key")]
    pub nats_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "nats_cert")]
    pub nats_key: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub kafka: KafkaArgs,
    #[command(flatten)]
    pub nats: NatsArgs,
    /// This worker's name among the group's members (NATS; default: host name and pid).
    #[arg(long, value_name = "NAME")]
    pub worker_id: Option<String>,
    /// Seconds a partition's lease lives unless renewed (NATS): a dead worker's partitions
    /// move after this.
    #[arg(long, default_value_t = 5)]
    pub lease_secs: u64,
    /// Input topics (repeatable; co-partitioned: the same partition count). On NATS, one
    /// stream whose subjects `<stream>.0` … `<stream>.N-1` are its partitions.
    #[arg(long = "topic", required = true, value_name = "TOPIC")]
    pub topics: Vec<String>,
    /// The consumer group the workers share.
    #[arg(long, default_value = "warden")]
    pub group: String,
    /// The tenant the alerts belong to (`warden serve --forward-to` sends another
    /// tenant's events to `<topic>-<tenant>`).
    #[arg(long, default_value = warden_event::DEFAULT_TENANT)]
    pub tenant: String,
    /// Topic to write alerts to, one message each, keyed by the alert's subject (on NATS,
    /// a stream: subject `<stream>.p` for input partition p).
    #[arg(long, value_name = "TOPIC")]
    pub alert_topic: Option<String>,
    /// Alert message format: json (Warden's alert), ecs or cef.
    #[arg(long, default_value = "json")]
    pub alert_format: String,
    /// Also send every alert to these outputs (as `warden detect --send`: a URL —
    /// `syslog+tcp://host:514?format=cef`, `file:///var/log/warden.jsonl`, … — or a TOML file
    /// of `[[outputs]]`), at least once: a batch's offsets are committed only after every
    /// output is done with its alerts. Repeatable.
    #[arg(long = "send", value_name = "TARGET")]
    pub send: Vec<String>,
    /// Changelog topic for checkpoints (default `<group>.checkpoints`; on NATS the object
    /// bucket `<group>-checkpoints`).
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
    /// Sigma rules for the log documents (Windows events in any JSON shape, ECS, syslog,
    /// Zeek); their correlation windows are checkpointed with the partition.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Most correlation groups per correlation rule in one partition.
    #[arg(long, default_value_t = 100_000)]
    pub max_correlation_groups: usize,
    /// A message dated more than this many seconds after this machine's clock is
    /// counted as bad, not detected on (0: no bound).
    #[arg(long, value_name = "SECONDS", default_value_t = 2 * 86_400)]
    pub max_future_secs: u64,
    /// Do not score the command lines of process creations (payload analysis).
    #[arg(long)]
    pub no_payload: bool,
    /// Payload model file (`warden train payload`) for the command lines of process
    /// creations; without one their verdicts come from the signatures and rules alone.
    #[arg(long, value_name = "MODEL", conflicts_with = "no_payload")]
    pub payload_model: Option<PathBuf>,
    /// A command line started on this many distinct hosts of a partition is common there:
    /// it alerts on its signatures and rules only, not on the model's view (0: never).
    #[arg(long, value_name = "N", default_value_t = warden_engine::pipeline::DEFAULT_COMMON_AT, value_parser = crate::cli::parse_common_at)]
    pub common_at_hosts: usize,
    /// Configuration file (TOML: `[ueba]`, `[ingest]`, `[payload]`, `[kafka]` client
    /// properties).
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
    #[command(flatten)]
    pub nats: NatsArgs,
    /// The topic (or NATS stream) to send to.
    #[arg(long, value_name = "TOPIC")]
    pub topic: String,
    /// Partitions of the topic when it has to be created (an existing topic keeps its own).
    #[arg(long, default_value_t = 12)]
    pub partitions: usize,
    /// Ship log documents (EVTX, Windows XML, JSON of any shape, syslog/CEF/LEEF, Zeek) as
    /// JSON, keyed by host or address, instead of reading the inputs as user activity.
    #[arg(long)]
    pub logs: bool,
}

/// Which log the command works on.
fn on_nats(nats: &NatsArgs) -> bool {
    nats.nats.is_some()
}

pub fn worker(args: &WorkerArgs) -> anyhow::Result<()> {
    if on_nats(&args.nats) {
        nats::worker(args)
    } else {
        kafka::worker(args)
    }
}

pub fn ship(args: &ShipArgs) -> anyhow::Result<()> {
    if on_nats(&args.nats) {
        nats::ship(args)
    } else {
        kafka::ship(args)
    }
}

/// The detection pipeline every partition of a worker runs.
#[cfg(any(feature = "kafka", feature = "nats"))]
fn pipeline_spec(
    args: &WorkerArgs,
    cfg: &crate::config_file::WardenConfig,
) -> anyhow::Result<warden_worker::PipelineSpec> {
    let mut spec = warden_worker::PipelineSpec::new(
        cfg.ueba.clone(),
        warden_engine::pipeline::PipelineOptions {
            alert_level: args.min_level,
            actions: cfg.ueba.scoring.actions.clone(),
            ..warden_engine::pipeline::PipelineOptions::default()
        },
    );
    spec.aliases = cfg.aliases()?;
    spec.tenant = args.tenant.clone();
    spec.max_correlation_groups = args.max_correlation_groups;
    spec.classify.max_future_secs = args.max_future_secs;
    let rules = if args.rules.rules.is_empty() {
        None
    } else {
        let set = std::sync::Arc::new(crate::commands::rules::load_rules(&args.rules, &[])?);
        eprintln!(
            "warden worker: {} Sigma rules and {} correlations loaded ({} not loaded; `warden rules lint` says why)",
            set.detection_rules(),
            set.correlations().len(),
            set.skipped().len()
        );
        Some(set)
    };
    if !args.no_payload {
        let model =
            crate::commands::payload::load_model(args.payload_model.as_deref(), None, "payload")?;
        // The rule stage matches each event as logged: the verdict adds the rules' matches
        // on the decoded command line only.
        let analyzer = warden_engine::payload::analyzer(
            model,
            cfg.payload,
            rules.as_ref(),
            warden_engine::payload::RulesOn::Events,
        );
        let source: std::sync::Arc<dyn warden_engine::pipeline::AnalyzerSource> =
            std::sync::Arc::new(std::sync::Arc::new(analyzer));
        spec.payload = Some((source, ThreatLevel::High));
        spec.payload_common_at = args.common_at_hosts;
    }
    spec.rules = rules;
    Ok(spec)
}

/// The outputs `--send` names, started; `None` without `--send`.
#[cfg(any(feature = "kafka", feature = "nats"))]
fn start_outputs(
    args: &WorkerArgs,
) -> anyhow::Result<Option<std::sync::Arc<warden_worker::WorkerOutputs>>> {
    use anyhow::Context;
    if args.send.is_empty() {
        return Ok(None);
    }
    let configs = crate::sending::configs(&args.send)?;
    let outputs = warden_worker::WorkerOutputs::start(&configs)
        .context("cannot start the outputs' runtime")?;
    Ok(Some(std::sync::Arc::new(outputs)))
}

/// Drains the outputs once the worker has stopped, and says what each did.
#[cfg(any(feature = "kafka", feature = "nats"))]
fn finish_outputs(outputs: Option<std::sync::Arc<warden_worker::WorkerOutputs>>) {
    if let Some(o) = outputs.and_then(|o| std::sync::Arc::try_unwrap(o).ok()) {
        crate::sending::print_reports(&o.finish());
    }
}

/// Reads `warden ship`'s input and hands each event to `send`, as JSON keyed by its
/// entity; returns the input's parse errors.
#[cfg(any(feature = "kafka", feature = "nats"))]
fn ship_input(
    args: &ShipArgs,
    cfg: &crate::config_file::WardenConfig,
    mut send: impl FnMut(Option<&str>, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    if args.logs {
        return documents::ship_documents(&args.input, send);
    }
    let mut buf = Vec::with_capacity(512);
    let totals = crate::pipeline::read_all(&args.input, cfg, |a| {
        buf.clear();
        serde_json::to_writer(&mut buf, &a)?;
        let key = warden_worker::keys::entity_key(&warden_event::Input::activity(a, 0));
        send(key.as_deref(), &buf)
    })?;
    Ok(totals.parse_errors)
}

/// The line `warden ship` ends with.
#[cfg(any(feature = "kafka", feature = "nats"))]
fn report_shipment(
    report: &warden_worker::ShipReport,
    target: &str,
    started: std::time::Instant,
    parse_errors: u64,
) {
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "warden ship: {} events to {target} ({} partitions) in {secs:.1} s ({:.0}/s); {parse_errors} parse errors",
        report.sent,
        report.partitions,
        report.sent as f64 / secs,
    );
}

/// Stands in for a log the build has no client for.
#[cfg(not(all(feature = "kafka", feature = "nats")))]
fn unavailable(log: &str, feature: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "this warden was built without {log} support; build it with `cargo build --release --features {feature}`"
    )
}

#[cfg(any(feature = "kafka", feature = "nats"))]
mod documents;
pub mod forward;
#[cfg(feature = "kafka")]
mod kafka;
#[cfg(not(feature = "kafka"))]
mod kafka {
    pub fn worker(_: &super::WorkerArgs) -> anyhow::Result<()> {
        Err(super::unavailable("Kafka", "kafka"))
    }
    pub fn ship(_: &super::ShipArgs) -> anyhow::Result<()> {
        Err(super::unavailable("Kafka", "kafka"))
    }
}

#[cfg(feature = "nats")]
mod nats;
#[cfg(not(feature = "nats"))]
mod nats {
    pub fn worker(_: &super::WorkerArgs) -> anyhow::Result<()> {
        Err(super::unavailable("NATS", "nats"))
    }
    pub fn ship(_: &super::ShipArgs) -> anyhow::Result<()> {
        Err(super::unavailable("NATS", "nats"))
    }
}
