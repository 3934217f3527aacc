//! `warden train`, `warden eval` and `warden drift`: models over network flows (NSL-KDD,
//! UNSW-NB15, Zeek conn) and over user activity (see [`super::activity_data`]).

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use warden_engine::pipeline::{FlowDetector, Pipeline, PipelineOptions, Verdict};
use warden_event::{DEFAULT_TENANT, FlowEvent, Input, LevelThresholds, Timestamp};
use warden_ingest::InputSource;
use warden_ingest::flows::FlowReader;
use warden_models::ml::artifact::{Model, ModelFile};
use warden_models::ml::flows::{FlowFormat, FlowRecord};
use warden_models::ml::iforest::IsolationForestParams;
use warden_models::ml::training::{self, Dataset};
use warden_models::stats::stable_hash_bytes;

use super::activity_data;
use crate::cli::{
    ActivityOpts, DetectArgs, EvalArgs, GbdtArgs, IforestArgs, ModelsCommand, SeqEncoder,
    SeqaeArgs, TrainCommand,
};
use crate::sending::Sender;
use warden_models::ml::gbdt::GbdtParams;

/// Largest flow file read (it is held in memory while parsed).
const MAX_INPUT_BYTES: u64 = 4 << 30;
/// Flows run through the pipeline at once by `warden detect`.
const FLOW_CHUNK: usize = 4096;
/// Bad rows printed (all are counted).
const MAX_PRINTED_ERRORS: usize = 20;

struct Loaded {
    format: FlowFormat,
    /// The input's bytes (flow tables; empty for activity), for the flows' raw lines.
    bytes: Vec<u8>,
    records: Vec<FlowRecord>,
    /// Input line of each record.
    lines: Vec<u64>,
    columns: warden_models::ml::flows::Columns,
    bad: usize,
    hash: u64,
}

/// Reads rows of any format: flow tables directly, user activity through the engine.
fn load_rows(path: &Path, format: FlowFormat, opts: &ActivityOpts) -> Result<Loaded> {
    if !format.is_activity() {
        return load(path, format);
    }
    let rows = activity_data::load(path, format, opts)?;
    Ok(Loaded {
        format,
        bytes: Vec::new(),
        lines: (1..=rows.records.len() as u64).collect(),
        records: rows.records,
        columns: rows.columns,
        bad: rows.bad,
        hash: rows.hash,
    })
}

/// Rows read as the training library takes them (activity features keep their fixed
/// schema; flow columns are fitted on the training rows).
fn dataset(data: Loaded, input: &Path) -> Dataset {
    let format = data.format;
    Dataset {
        format,
        columns: data.columns,
        records: data.records,
        bad: data.bad,
        hash: data.hash,
        source: input.display().to_string(),
        schema: format
            .is_activity()
            .then(|| activity_data::identity_schema(format)),
    }
}

/// The format rows are read in for a model trained on `trained`, given `--format`.
fn input_format(
    model: &Path,
    trained: FlowFormat,
    given: Option<crate::cli::FlowFormatArg>,
) -> Result<FlowFormat> {
    match given.map(|g| g.format()) {
        // `--format activity` names both activity shapes; the model knows which it reads.
        Some(FlowFormat::Activity) if trained.is_activity() => Ok(trained),
        Some(f) if f != trained => bail!(
            "{} was trained on {} data; it cannot score {} input",
            model.display(),
            trained.name(),
            f.name()
        ),
        _ => Ok(trained),
    }
}

fn load(path: &Path, format: FlowFormat) -> Result<Loaded> {
    let opened = InputSource::Path(path.to_path_buf())
        .open()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut bytes = Vec::new();
    opened
        .reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        bail!("{}: larger than {MAX_INPUT_BYTES} bytes", path.display());
    }
    let hash = stable_hash_bytes(&bytes);
    let mut reader = FlowReader::new(format, bytes.as_slice());
    let mut records = Vec::new();
    let mut lines = Vec::new();
    let mut bad = 0;
    while let Some(r) = reader.next() {
        match r {
            Ok(rec) => {
                records.push(rec);
                lines.push(reader.line());
            }
            Err(e) => {
                bad += 1;
                if bad <= MAX_PRINTED_ERRORS {
                    eprintln!(
                        "warning: skipped: {}:{}: {}",
                        path.display(),
                        e.line,
                        e.reason
                    );
                }
            }
        }
    }
    let columns = reader.columns().clone();
    drop(reader);
    Ok(Loaded {
        format,
        bytes,
        records,
        lines,
        columns,
        bad,
        hash,
    })
}

/// Writes a model file; returns its bytes.
fn write_model(file: &ModelFile, out: &Path) -> Result<Vec<u8>> {
    let bytes = file.to_bytes().map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    Ok(bytes)
}

pub fn train(cmd: &TrainCommand) -> Result<()> {
    match cmd {
        TrainCommand::Iforest(a) => train_iforest(a),
        TrainCommand::Gbdt(a) => train_gbdt(a),
        TrainCommand::Seqae(a) => train_seqae(a),
        TrainCommand::Payload(a) => super::payload::train_payload(a),
        TrainCommand::Calibrate(a) => super::calibrate::run(a),
    }
}

fn train_seqae(a: &SeqaeArgs) -> Result<()> {
    use warden_models::ml::sequence::NewestStep;
    if a.io.format.format() != FlowFormat::Activity {
        bail!("the sequence autoencoder reads user activity: give --format activity");
    }
    if a.normal_only && a.io.activity.labels.is_none() {
        bail!("--normal-only needs --labels");
    }
    let format = FlowFormat::ActivitySequence;
    let params = warden_nn::SeqTrainParams {
        hidden: a.hidden,
        latent: a.latent,
        dense: a.dense,
        epochs: a.epochs,
        batch: a.batch,
        learning_rate: a.learning_rate,
        max_windows: a.max_windows,
        contamination: a.contamination,
        seed: a.seed,
    };
    let data = dataset(load_rows(&a.io.input, format, &a.io.activity)?, &a.io.input);
    let x = windows(&data, a.normal_only);
    if x.rows() == 0 {
        bail!("{}: no windows to train on", a.io.input.display());
    }
    eprintln!(
        "training the sequence autoencoder on {} windows (at most {} sampled per epoch)",
        x.rows(),
        a.max_windows
    );
    let started = Instant::now();
    let report = |e: warden_nn::EpochReport| {
        eprintln!(
            "  epoch {}/{}: loss {:.5} ({:.1} s)",
            e.epoch, params.epochs, e.loss, e.seconds
        );
    };
    let (model, importance) = match a.encoder {
        SeqEncoder::Dense => {
            let m =
                warden_nn::train_window(&params, &x, report).map_err(|e| anyhow::anyhow!("{e}"))?;
            let importance = m.importance(&x);
            (Model::WindowAutoencoder(Box::new(m)), importance)
        }
        SeqEncoder::Gru => {
            let m = warden_nn::train(&params, &x, report).map_err(|e| anyhow::anyhow!("{e}"))?;
            let importance = m.importance(&x);
            (Model::SeqAutoencoder(Box::new(m)), importance)
        }
    };
    let fit_seconds = started.elapsed().as_secs_f64();
    let scores = model.score(&x);
    let file = training::model_file(model, &data, &scores, x.rows(), a.normal_only, fit_seconds);
    let bytes = write_model(&file, &a.io.out)?;
    eprintln!(
        "trained seqae ({}) on {} windows in {:.1} s; share of the newest-step error: {}; wrote {} ({} bytes)",
        file.model.kind(),
        x.rows(),
        fit_seconds,
        top_step_features(importance),
        a.io.out.display(),
        bytes.len()
    );
    Ok(())
}

/// The sequence model's training windows, one row each (normal users' only with
/// `normal_only`).
fn windows(data: &Dataset, normal_only: bool) -> warden_models::ml::Matrix {
    use warden_models::ml::sequence::WINDOW;
    let mut x = warden_models::ml::Matrix::new(WINDOW);
    let mut row: Vec<f32> = Vec::with_capacity(WINDOW);
    for r in &data.records {
        if normal_only && r.attack != Some(false) {
            continue;
        }
        row.clear();
        row.extend(r.numeric.iter().map(|v| *v as f32));
        x.push(&row);
    }
    x
}

/// The four step features with the largest share of the newest step's error, as text.
fn top_step_features(importance: impl IntoIterator<Item = f64>) -> String {
    let mut top: Vec<(&str, f64)> = warden_models::ml::sequence::STEP_FEATURE_NAMES
        .iter()
        .copied()
        .zip(importance)
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<String> = top
        .iter()
        .take(4)
        .map(|(n, v)| format!("{n} {:.0}%", v * 100.0))
        .collect();
    top.join(", ")
}

fn train_gbdt(a: &GbdtArgs) -> Result<()> {
    let format = a.io.format.format();
    let params = GbdtParams {
        n_trees: a.trees,
        max_depth: a.depth,
        learning_rate: a.learning_rate,
        ..GbdtParams::default()
    };
    let data = dataset(load_rows(&a.io.input, format, &a.io.activity)?, &a.io.input);
    let t = training::train_gbdt(&params, &data, a.multiclass)?;
    let bytes = write_model(&t.file, &a.io.out)?;
    let top: Vec<String> = t
        .importance
        .iter()
        .take(5)
        .map(|(name, share)| format!("{name} {:.0}%", share * 100.0))
        .collect();
    eprintln!(
        "trained {} on {} rows ({} features, {} bad rows skipped) in {:.2} s; most important: {}; wrote {} ({} bytes)",
        t.file.model.kind(),
        t.file.training.rows,
        t.file.schema.width(),
        data.bad,
        t.file.training.fit_seconds,
        top.join(", "),
        a.io.out.display(),
        bytes.len()
    );
    Ok(())
}

fn train_iforest(a: &IforestArgs) -> Result<()> {
    let format = a.io.format.format();
    let params = IsolationForestParams {
        n_trees: a.trees,
        max_samples: a.max_samples,
        contamination: a.contamination,
        seed: a.seed,
    };
    let data = dataset(load_rows(&a.io.input, format, &a.io.activity)?, &a.io.input);
    let t = training::train_iforest(&params, &data, a.normal_only)?;
    let bytes = write_model(&t.file, &a.io.out)?;
    eprintln!(
        "trained iforest on {} rows ({} features, {} bad rows skipped) in {:.2} s; wrote {} ({} bytes)",
        t.file.training.rows,
        t.file.schema.width(),
        data.bad,
        t.file.training.fit_seconds,
        a.io.out.display(),
        bytes.len()
    );
    Ok(())
}

pub fn eval(a: &EvalArgs) -> Result<()> {
    let file = load_model(&a.model)?;
    let format = input_format(&a.model, file.schema.format, a.format)?;
    let data = dataset(load_rows(&a.input, format, &a.activity)?, &a.input);
    let report = training::evaluate(&file, &data, a.repeat)?;
    crate::out!("{}", serde_json::to_string_pretty(&report)?)?;
    Ok(())
}

/// `warden drift --model MODEL --input FILE`.
pub fn drift(a: &EvalArgs) -> Result<()> {
    let file = load_model(&a.model)?;
    let format = input_format(&a.model, file.schema.format, a.format)?;
    let data = dataset(load_rows(&a.input, format, &a.activity)?, &a.input);
    let report = training::drift_report(&file, &a.model.display().to_string(), &data)
        .with_context(|| a.model.display().to_string())?;
    crate::out!("{}", serde_json::to_string_pretty(&report)?)?;
    Ok(())
}

/// The active version of a registered model and its file bytes.
pub fn registry_model_body(store: &Path, name: &str) -> Result<(i64, Vec<u8>)> {
    let s = warden_store::Store::open(store)?;
    let Some((version, body)) = s.model_body(name, None)? else {
        bail!(
            "model `{name}` has no active version in {} (see `warden models activate`)",
            store.display()
        );
    };
    Ok((version, body))
}

fn load_model(path: &Path) -> Result<ModelFile> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    ModelFile::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

#[derive(Serialize)]
struct FlowScore<'a> {
    input: &'a str,
    line: u64,
    #[serde(flatten)]
    assessment: warden_engine::models::FlowAssessment,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
}

/// The one model `warden detect` scores flows with, from a file or the registry, and its
/// label; it must have been trained on flows of `format`.
fn flow_model(args: &DetectArgs, format: FlowFormat) -> Result<(ModelFile, std::path::PathBuf)> {
    if args.model.len() + args.registry_model.len() > 1 {
        bail!("scoring flows takes one model (--model or --registry-model)");
    }
    let (file, model_path) = match (args.model.first(), args.registry_model.first(), &args.store) {
        (Some(path), _, _) => (load_model(path)?, path.clone()),
        (None, Some(name), Some(store)) => {
            let (version, body) = registry_model_body(store, name)?;
            let label = format!("{name} v{version}");
            let file = ModelFile::from_bytes(&body)
                .map_err(|e| anyhow::anyhow!("registry model {label}: {e}"))?;
            (file, std::path::PathBuf::from(label))
        }
        _ => bail!(
            "scoring {} flows needs --model MODEL (see `warden train`) or --registry-model NAME --store PATH",
            format.name()
        ),
    };
    if file.schema.format != format {
        bail!(
            "{} was trained on {} flows; it cannot score {} input",
            model_path.display(),
            file.schema.format.name(),
            format.name()
        );
    }
    Ok((file, model_path))
}

/// A chunk of a file's flow records as pipeline inputs, each with its line's text.
fn flow_inputs(
    records: &[FlowRecord],
    lines: &[u64],
    raw: &[&[u8]],
    format: FlowFormat,
    input: &str,
) -> Vec<Input> {
    records
        .iter()
        .zip(lines)
        .map(|(rec, line)| {
            let text = usize::try_from(*line)
                .ok()
                .and_then(|l| raw.get(l.saturating_sub(1)))
                .map(|l| String::from_utf8_lossy(l).trim_end().to_owned())
                .unwrap_or_default();
            Input::flow(FlowEvent {
                record: rec.clone(),
                format,
                source: input.to_owned(),
                line: *line,
                raw: text,
            })
        })
        .collect()
}

/// `warden detect --format nsl-kdd|unsw-nb15|zeek-conn --model MODEL`: one JSON line per
/// anomalous flow (every flow with `--all`), with the features that isolated it.
pub fn detect_flows(args: &DetectArgs, format: FlowFormat) -> Result<()> {
    use std::io::Write;
    if args.reload_secs.is_some() {
        bail!("--reload-secs follows the activity ensemble; flows are scored by one fixed model");
    }
    let (file, model_path) = flow_model(args, format)?;
    let model_path = &model_path;
    let model = Arc::new(warden_engine::models::LoadedModel {
        label: model_path.display().to_string(),
        file,
    });
    let mut pipeline = flow_pipeline(&model, args);
    let sender = Sender::start(&args.send)?;
    let started = Instant::now();
    let (mut rows, mut anomalous, mut bad) = (0usize, 0usize, 0usize);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for input in &args.input.inputs {
        let path = Path::new(input);
        let data = match load(path, format) {
            Ok(d) => d,
            Err(e) if !args.input.strict => {
                eprintln!("warning: skipped input: {e:#}");
                continue;
            }
            Err(e) => return Err(e),
        };
        if data.columns != model.file.schema.columns {
            bail!(
                "{input}: its columns differ from the ones {} was trained on",
                model_path.display()
            );
        }
        bad += data.bad;
        let raw: Vec<&[u8]> = data.bytes.split(|b| *b == b'\n').collect();
        // In chunks, so a large file is not held twice over as records.
        for (records, lines) in data
            .records
            .chunks(FLOW_CHUNK)
            .zip(data.lines.chunks(FLOW_CHUNK))
        {
            let inputs = flow_inputs(records, lines, &raw, format, input);
            let outcome = pipeline.process(&inputs, Timestamp::now());
            if let Some(sender) = &sender {
                for (_, alert) in outcome.alerts {
                    sender.send(alert);
                }
            }
            let (n, a) = write_flows(&mut out, outcome.records, records, lines, input, args)?;
            rows += n;
            anomalous += a;
        }
    }
    out.flush()?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "detect ({}, {} model): flows {rows}, anomalous {anomalous} ({:.2}%), bad rows {bad}, {:.0} flows/s",
        format.name(),
        model.file.model.kind(),
        100.0 * anomalous as f64 / rows.max(1) as f64,
        rows as f64 / secs.max(1e-9)
    );
    let delivery = sender.map(Sender::finish);
    if rows == 0 {
        bail!("no flows could be read");
    }
    if delivery.is_some_and(|r| r.iter().any(|o| o.failed + o.dropped + o.pending > 0)) {
        bail!("some alerts did not reach every output (see above)");
    }
    Ok(())
}

/// The same pipeline detector as the service's network route; alerts at --min-level go to
/// --send.
fn flow_pipeline(model: &Arc<warden_engine::models::LoadedModel>, args: &DetectArgs) -> Pipeline {
    let mut pipeline = Pipeline::new(
        DEFAULT_TENANT,
        PipelineOptions {
            alert_level: args.min_level,
            ..PipelineOptions::default()
        },
    );
    pipeline.add(Box::new(FlowDetector::new(
        model.clone(),
        LevelThresholds::default(),
    )));
    pipeline
}

/// Writes the scored flows of one chunk (the anomalous ones, every one with `--all`,
/// none with `-q`); returns how many were scored and how many were anomalous.
fn write_flows(
    out: &mut impl std::io::Write,
    outcomes: Vec<warden_engine::pipeline::RecordOutcome>,
    records: &[FlowRecord],
    lines: &[u64],
    input: &str,
    args: &DetectArgs,
) -> Result<(usize, usize)> {
    let (mut rows, mut anomalous) = (0, 0);
    for ((o, rec), line) in outcomes.into_iter().zip(records).zip(lines) {
        let Some(assessment) = o.verdicts.into_iter().find_map(|v| match v {
            Verdict::Flow(a) => Some(*a),
            _ => None,
        }) else {
            continue;
        };
        rows += 1;
        anomalous += usize::from(assessment.anomalous);
        if !(assessment.anomalous || args.all) || args.quiet {
            continue;
        }
        let s = FlowScore {
            input,
            line: *line,
            assessment,
            label: rec.kind.as_deref(),
        };
        serde_json::to_writer(&mut *out, &s)?;
        out.write_all(b"\n")?;
    }
    Ok((rows, anomalous))
}

/// `warden models register|list|activate|rollback`.
pub fn models(cmd: &ModelsCommand) -> Result<()> {
    match cmd {
        ModelsCommand::Register {
            store,
            name,
            model,
            activate,
        } => register_model(store, name, model, *activate),
        ModelsCommand::List { store, name, json } => list_models(store, name.as_deref(), *json),
        ModelsCommand::Activate {
            store,
            name,
            version,
        } => {
            let s = warden_store::Store::open(store)?;
            s.activate_model(name, *version)?;
            eprintln!("`{name}` version {version} is active");
            Ok(())
        }
        ModelsCommand::Rollback { store, name } => {
            let s = warden_store::Store::open(store)?;
            let v = s.rollback_model(name)?;
            eprintln!("`{name}` rolled back to version {v}");
            Ok(())
        }
    }
}

/// `warden models register`: a model file into the store's registry.
fn register_model(store: &Path, name: &str, model: &Path, activate: bool) -> Result<()> {
    let bytes = std::fs::read(model).with_context(|| format!("cannot read {}", model.display()))?;
    if warden_payload::model::PayloadModel::is_model_file(&bytes) {
        let (kind, summary) = super::payload::registry_summary(&bytes, model)?;
        let s = warden_store::Store::open(store)?;
        let version = s.register_model(name, &kind, "commands", &bytes, &summary)?;
        if activate {
            s.activate_model(name, version)?;
        }
        eprintln!(
            "registered {} ({kind}) as `{name}` version {version}{}",
            model.display(),
            if activate { ", active" } else { "" }
        );
        return Ok(());
    }
    let file =
        ModelFile::from_bytes(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", model.display()))?;
    let summary = serde_json::json!({
        "file": model.display().to_string(),
        "training_rows": file.training.rows,
        "training_input": file.training.input,
        "roc_auc_on_training": file.training.metrics.as_ref().and_then(|m| m.roc_auc),
        "features": file.schema.width(),
        "drift_reference": file.reference.is_some(),
    });
    let s = warden_store::Store::open(store)?;
    let version = s.register_model(
        name,
        file.model.kind(),
        file.schema.format.name(),
        &bytes,
        &summary,
    )?;
    if activate {
        s.activate_model(name, version)?;
    }
    eprintln!(
        "registered {} ({} on {}) as `{name}` version {version}{}",
        model.display(),
        file.model.kind(),
        file.schema.format.name(),
        if activate { ", active" } else { "" }
    );
    Ok(())
}

/// `warden models list`: the registry as a table, or JSON lines.
fn list_models(store: &Path, name: Option<&str>, json: bool) -> Result<()> {
    let s = warden_store::Store::open(store)?;
    let models = s.list_models(name)?;
    if json {
        for m in &models {
            crate::out!("{}", serde_json::to_string(m)?)?;
        }
        return Ok(());
    }
    let mut t = comfy_table::Table::new();
    t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
    t.set_header([
        "name",
        "version",
        "active",
        "kind",
        "format",
        "created",
        "training rows",
    ]);
    for m in &models {
        t.add_row([
            m.name.clone(),
            m.version.to_string(),
            if m.active { "*".into() } else { String::new() },
            m.kind.clone(),
            m.format.clone(),
            m.created_at.clone(),
            m.summary["training_rows"].to_string(),
        ]);
    }
    crate::out!("{t}")?;
    Ok(())
}
