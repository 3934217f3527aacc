//! `warden detect`: score activity, write ThreatScores, summarise, evaluate, persist.

use crate::cli::DetectArgs;
use crate::config_file::WardenConfig;
use crate::pipeline::ReadTotals;
use crate::registry_watch::{Watched, Watcher};
use crate::sending::Sender;
use crate::{labels, summary};
use anyhow::{Context, Result};
use std::io::{BufWriter, StdoutLock, Write};
use std::time::Instant;
use warden_engine::eval::Evaluator;
use warden_engine::models::LoadedModel;
use warden_engine::pipeline::{ContextLimits, Pipeline, PipelineOptions, UebaDetector};
use warden_engine::ueba::UebaEngine;
use warden_event::{DEFAULT_TENANT, Input, ThreatScore, Timestamp};
use warden_store::{RunTotals, Store};
use warden_worker::keys::partition_for;

/// A model file's label, its registry name and version (when it came from the registry),
/// and its bytes.
type ModelBytes = (String, Option<(String, i64)>, Vec<u8>);

/// Loads the `--model` / `--registry-model` files into the engine's ensemble; returns the
/// registered ones, for `--reload-secs` to follow.
fn install_models(engine: &mut UebaEngine, args: &DetectArgs) -> Result<Vec<Watched>> {
    let mut loaded: Vec<ModelBytes> = Vec::new();
    for path in &args.model {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        loaded.push((path.display().to_string(), None, bytes));
    }
    if let Some(store) = &args.store {
        for name in &args.registry_model {
            let (version, body) = crate::commands::ml::registry_model_body(store, name)?;
            let label = format!("{name} v{version}");
            loaded.push((label, Some((name.clone(), version)), body));
        }
    }
    let mut seen = Vec::new();
    let mut watched = Vec::new();
    for (label, registered, bytes) in loaded {
        let model = LoadedModel::from_bytes(label.clone(), &bytes)
            .map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        let member = engine
            .install_model(model)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if seen.contains(&member) {
            anyhow::bail!(
                "{label}: a second {} model; give at most one of each kind",
                member.name()
            );
        }
        seen.push(member);
        eprintln!("model: {label} as the {} member", member.name());
        if let Some((name, version)) = registered {
            watched.push(Watched {
                name,
                version,
                member,
                slot: engine.ensemble().slot(member),
            });
        }
    }
    Ok(watched)
}

/// The behavioural engine (from the store's baselines, if given) with its models, and the
/// watcher that reloads the registry's models (with `--reload-secs`).
fn engine_with_models(
    args: &DetectArgs,
    cfg: &WardenConfig,
    store: Option<&Store>,
) -> Result<(UebaEngine, Option<Watcher>)> {
    let mut engine = match store {
        Some(s) => {
            let (users, population) = s.load_baselines()?;
            UebaEngine::with_state(cfg.ueba.clone(), users, population)?
        }
        None => UebaEngine::new(cfg.ueba.clone())?,
    };
    let watched = install_models(&mut engine, args)?;
    if args.partitions > 1 && (!args.model.is_empty() || !watched.is_empty() || store.is_some()) {
        anyhow::bail!("--partitions runs without models and without a store");
    }
    let watcher = match (args.reload_secs, &args.store) {
        (Some(secs), Some(store)) if !watched.is_empty() => Some(Watcher::start(
            store.clone(),
            watched,
            std::time::Duration::from_secs(secs.max(1)),
        )),
        (Some(_), _) => anyhow::bail!("--reload-secs follows --registry-model models"),
        _ => None,
    };
    Ok((engine, watcher))
}

/// The same pipeline as the service: the behavioural engine (with its models), alerts at
/// --min-level; no context events kept (the run writes scores, not an alert page). With
/// --partitions, one per partition, as workers of a log would hold them.
fn pipelines(engine: UebaEngine, cfg: &WardenConfig, args: &DetectArgs) -> Result<Vec<Pipeline>> {
    let options = PipelineOptions {
        alert_level: args.min_level,
        actions: cfg.ueba.scoring.actions.clone(),
        ..PipelineOptions::default()
    };
    let mut pipelines = vec![pipeline_of(engine, &options, args.features)];
    for _ in 1..args.partitions {
        pipelines.push(pipeline_of(
            UebaEngine::new(cfg.ueba.clone())?,
            &options,
            args.features,
        ));
    }
    Ok(pipelines)
}

/// Alerts are written to the store in batches of this many.
const STORE_BATCH: usize = 4096;

pub fn run(args: &DetectArgs) -> Result<()> {
    if let Some(flow) = args.input.format.and_then(|f| f.flow()) {
        return crate::commands::ml::detect_flows(args, flow);
    }
    let cfg = WardenConfig::load(args.input.config.as_deref())?;
    let store = args.store.as_deref().map(Store::open).transpose()?;
    let (engine, _watcher) = engine_with_models(args, &cfg, store.as_ref())?;
    let mut pipelines = pipelines(engine, &cfg, args)?;
    let mut scores = Scores::new(args, store)?;
    let sender = Sender::start(&args.send)?;
    let now = Timestamp::now();
    let started = Instant::now();
    let totals = crate::pipeline::read_all(&args.input, &cfg, |a| {
        let p = match args.partitions {
            1 => 0,
            n => partition_for(format!("user:{}", a.user_id).as_bytes(), n) as usize,
        };
        let outcome = pipelines[p].process(&[Input::activity(a, 0)], now);
        if let Some(sender) = sender.as_ref() {
            for (_, alert) in outcome.alerts {
                sender.send(alert);
            }
        }
        match outcome
            .records
            .into_iter()
            .next()
            .and_then(|r| r.into_score())
        {
            Some(s) => scores.take(s),
            None => Ok(()),
        }
    })?;
    scores.output.finish()?;
    let elapsed = started.elapsed();
    let delivery = sender.map(Sender::finish);
    let engines: Vec<&UebaEngine> = pipelines
        .iter()
        .filter_map(|p| p.detector::<UebaDetector>().map(UebaDetector::engine))
        .collect();
    let [engine, others @ ..] = engines.as_slice() else {
        anyhow::bail!("the pipeline lost its behavioural detector");
    };
    scores.finish_store(engine, &totals)?;
    let mut facts = summary::RunFacts::new("warden detect", &totals, elapsed, engine);
    for e in others {
        facts.add_partition(e);
    }
    summary::print(&facts, &scores.tally, args.min_level);
    if let Some(p) = &args.store {
        eprintln!(
            "store {}: {} new alerts, {} baselines saved",
            p.display(),
            scores.stored,
            engine.user_count()
        );
    }
    if let Some(ev) = &scores.evaluator {
        report_evaluation(ev, args.metrics_out.as_deref())?;
    }
    if delivery.is_some_and(|r| r.iter().any(|o| o.failed + o.dropped + o.pending > 0)) {
        anyhow::bail!("some alerts did not reach every output (see above)");
    }
    Ok(())
}

/// Where each scored event goes: the tally, the evaluation, standard output (alerts, or
/// every score with `--all`) and, for alerts, the store in batches.
struct Scores {
    min_level: warden_event::ThreatLevel,
    all: bool,
    output: Output,
    tally: summary::Tally,
    evaluator: Option<Evaluator>,
    store: Option<Store>,
    run_id: Option<i64>,
    pending: Vec<ThreatScore>,
    stored: usize,
}

impl Scores {
    fn new(args: &DetectArgs, store: Option<Store>) -> Result<Self> {
        let run_id = store
            .as_ref()
            .map(|s| s.begin_run("detect", &args.input.inputs))
            .transpose()?;
        let evaluator = args
            .labels
            .as_deref()
            .map(labels::load_all)
            .transpose()?
            .map(|l| Evaluator::new(l.labels).with_instances(l.instances));
        Ok(Self {
            min_level: args.min_level,
            all: args.all,
            output: Output::new(args.quiet, args.input.follow),
            tally: summary::Tally::default(),
            evaluator,
            store,
            run_id,
            pending: Vec::new(),
            stored: 0,
        })
    }

    fn take(&mut self, s: ThreatScore) -> Result<()> {
        self.tally.add(&s, self.min_level);
        if let Some(ev) = self.evaluator.as_mut() {
            ev.observe(&s);
        }
        let alert = s.threat_level >= self.min_level;
        if alert || self.all {
            self.output.write(&s)?;
        }
        if let (Some(st), true) = (self.store.as_mut(), alert) {
            self.pending.push(s);
            if self.pending.len() >= STORE_BATCH {
                self.stored +=
                    new_count(&st.save_scores(DEFAULT_TENANT, self.run_id, &self.pending)?);
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// The last alerts, the baselines and the run's totals into the store, where there is one.
    fn finish_store(&mut self, engine: &UebaEngine, totals: &ReadTotals) -> Result<()> {
        let Some(st) = self.store.as_mut() else {
            return Ok(());
        };
        self.stored += new_count(&st.save_scores(DEFAULT_TENANT, self.run_id, &self.pending)?);
        self.pending.clear();
        st.save_baselines(engine.users(), engine.population())?;
        if let Some(id) = self.run_id {
            let t = RunTotals {
                events: totals.records,
                parse_errors: totals.parse_errors,
                alerts: self.stored as u64,
            };
            st.finish_run(id, t)?;
        }
        Ok(())
    }
}

/// The evaluation's report on standard error and, with `--metrics-out`, as JSON.
fn report_evaluation(ev: &Evaluator, metrics_out: Option<&std::path::Path>) -> Result<()> {
    let report = ev.report();
    summary::print_eval(&report);
    if let Some(path) = metrics_out {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write metrics to {}", path.display()))?;
    }
    Ok(())
}

/// One behavioural pipeline.
fn pipeline_of(engine: UebaEngine, options: &PipelineOptions, features: bool) -> Pipeline {
    let mut pipeline = Pipeline::new(DEFAULT_TENANT, options.clone());
    let mut ueba = UebaDetector::new(
        engine,
        ContextLimits {
            per_user: 0,
            ..ContextLimits::default()
        },
    );
    ueba.with_features = features;
    pipeline.add(Box::new(ueba));
    pipeline
}

/// How many of a save's alerts were new.
fn new_count(saved: &[(i64, bool)]) -> usize {
    saved.iter().filter(|(_, new)| *new).count()
}

/// Buffered JSON Lines on stdout. A closed pipe (`| head`) stops the writing, not the run.
/// Following a file, each line is flushed as it is written (alerts as they happen).
struct Output {
    out: Option<BufWriter<StdoutLock<'static>>>,
    flush_each: bool,
}

impl Output {
    fn new(quiet: bool, flush_each: bool) -> Self {
        Self {
            out: (!quiet).then(|| BufWriter::with_capacity(1 << 16, std::io::stdout().lock())),
            flush_each,
        }
    }

    fn write(&mut self, s: &ThreatScore) -> Result<()> {
        let Some(out) = self.out.as_mut() else {
            return Ok(());
        };
        let flush_each = self.flush_each;
        let written = serde_json::to_writer(&mut *out, s)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| if flush_each { out.flush() } else { Ok(()) });
        self.check(written)
    }

    fn finish(&mut self) -> Result<()> {
        match self.out.as_mut() {
            Some(out) => {
                let flushed = out.flush();
                self.check(flushed)
            }
            None => Ok(()),
        }
    }

    fn check(&mut self, r: std::io::Result<()>) -> Result<()> {
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.out = None;
                Ok(())
            }
            Err(e) => Err(e).context("cannot write to stdout"),
        }
    }
}
