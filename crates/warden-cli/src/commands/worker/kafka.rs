//! `warden worker` and `warden ship` on Kafka.

use super::{KafkaArgs, ShipArgs, WorkerArgs};
use crate::config_file::WardenConfig;
use anyhow::{Context, Result, bail};
use std::sync::Arc;
use warden_worker::WorkerStats;
use warden_worker::kafka::{KafkaSettings, ship::Shipper, worker};

/// `[kafka]`, then the properties file, then `-X`, then `--brokers`.
pub(super) fn settings(args: &KafkaArgs, cfg: &WardenConfig) -> Result<KafkaSettings> {
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
    let spec = super::pipeline_spec(args, &cfg)?;
    let mut opts = worker::WorkerOptions::new(args.topics.clone(), &args.group);
    opts.alert_topic = args.alert_topic.clone();
    opts.alert_format = args.alert_format.parse().map_err(anyhow::Error::msg)?;
    if let Some(c) = &args.changelog {
        opts.changelog = c.clone();
    }
    opts.replication = args.kafka.replication;
    opts.checkpoint_every = args.checkpoint_every.max(1);
    opts.checkpoint_secs = args.checkpoint_secs.max(1);
    let outputs = super::start_outputs(args)?;
    opts.outputs = outputs.clone();
    let stats = Arc::new(WorkerStats::default());
    let _http = args
        .metrics
        .as_deref()
        .map(|addr| warden_worker::http::serve(addr, stats.clone()))
        .transpose()
        .context("cannot serve metrics")?;
    let stop = crate::pipeline::stop_on_signal()?;
    let report = worker::run(&settings, opts, Arc::new(spec), stats, stop)?;
    super::finish_outputs(outputs);
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
    let parse_errors =
        super::ship_input(args, &cfg, |key, payload| Ok(shipper.send(key, payload)?))?;
    let report = shipper.finish()?;
    super::report_shipment(&report, &args.topic.clone(), started, parse_errors);
    Ok(())
}
