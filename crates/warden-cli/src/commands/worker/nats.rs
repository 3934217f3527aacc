//! `warden worker --nats` and `warden ship --nats` on NATS JetStream.

use super::{NatsArgs, ShipArgs, WorkerArgs};
use crate::config_file::WardenConfig;
use anyhow::{Context, Result};
use std::sync::Arc;
use std::time::Duration;
use warden_worker::WorkerStats;
use warden_worker::nats::ship::NatsShipper;
use warden_worker::nats::{NatsSettings, worker};

pub(super) fn settings(args: &NatsArgs) -> NatsSettings {
    NatsSettings {
        servers: args.nats.clone().unwrap_or_default(),
        creds: args.nats_creds.clone(),
        token: std::env::var("WARDEN_NATS_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        ca: args.nats_ca.clone(),
        client_cert: args.nats_cert.clone().zip(args.nats_key.clone()),
    }
}

/// A default member name: the host's and the process's, in the characters NATS keys allow.
fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "warden".into());
    let host: String = host
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("{host}-{}", std::process::id())
}

pub fn worker(args: &WorkerArgs) -> Result<()> {
    let cfg = WardenConfig::load(args.config.as_deref())?;
    let spec = super::pipeline_spec(args, &cfg)?;
    let [stream] = args.topics.as_slice() else {
        anyhow::bail!(
            "on NATS a worker reads one stream (--topic once); its subjects are the partitions"
        );
    };
    let mut opts = worker::NatsWorkerOptions::new(
        stream,
        &args.group,
        &args.worker_id.clone().unwrap_or_else(default_worker_id),
    );
    opts.alert_stream = args.alert_topic.clone();
    opts.alert_format = args.alert_format.parse().map_err(anyhow::Error::msg)?;
    opts.replicas = args.kafka.replication.max(1) as usize;
    opts.checkpoint_every = args.checkpoint_every.max(1);
    opts.checkpoint_secs = args.checkpoint_secs.max(1);
    opts.lease_ttl = Duration::from_secs(args.lease_secs.clamp(1, 3600));
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
    let report = worker::run(&settings(&args.nats), opts, Arc::new(spec), stats, stop)?;
    super::finish_outputs(outputs);
    eprintln!(
        "warden worker: {} events, {} alerts delivered, {} bad messages, {} partitions taken",
        report.events, report.alerts, report.bad_events, report.rebalances
    );
    Ok(())
}

pub fn ship(args: &ShipArgs) -> Result<()> {
    let cfg = WardenConfig::load(args.input.config.as_deref())?;
    let partitions = u32::try_from(args.partitions).context("--partitions")?;
    let mut shipper = NatsShipper::open(
        &settings(&args.nats),
        &args.topic,
        partitions,
        args.kafka.replication.max(1) as usize,
    )?;
    let started = std::time::Instant::now();
    let parse_errors =
        super::ship_input(args, &cfg, |key, payload| Ok(shipper.send(key, payload)?))?;
    let report = shipper.finish()?;
    super::report_shipment(
        &report,
        &format!("stream {}", args.topic),
        started,
        parse_errors,
    );
    Ok(())
}
