//! `warden analyze` (the verdict on a command line or script, or on a JSON Lines batch) and
//! `warden train payload` (the learned view, trained on labelled command lines).

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use serde::Serialize;
use warden_ingest::InputSource;
use warden_payload::model::PayloadModel;
use warden_payload::train::{TrainParams, train_grouped};
use warden_payload::{Analyzer, Shell, Verdict, combiner, features, placeholders, tempering};

use crate::cli::{AnalyzeArgs, PayloadTrainArgs};
use crate::config_file::WardenConfig;

/// Longest JSON Lines record read (a script of 1 MiB, escaped, fits).
const MAX_LINE_BYTES: usize = 8 << 20;
/// Records analysed in parallel before their verdicts are written, in input order.
const CHUNK: usize = 2048;

/// One record of a batch.
#[derive(Debug, serde::Deserialize)]
struct Submitted {
    text: String,
    #[serde(default)]
    shell: Option<String>,
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    label: Option<serde_json::Value>,
    /// The ATT&CK technique of a labelled malicious record (a string or a list: the first).
    #[serde(default)]
    technique: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct Output<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a serde_json::Value>,
    #[serde(flatten)]
    verdict: &'a Verdict,
}

pub fn analyze(a: &AnalyzeArgs) -> Result<()> {
    let cfg = WardenConfig::load(a.config.as_deref())?;
    let model = load_model(a.model.as_deref(), a.store.as_deref(), &a.model_name)?;
    let mut rules = None;
    if !a.rules.is_empty() {
        let mut b = warden_sigma::RuleSetBuilder::new(warden_sigma::Mapping::builtin());
        for p in &a.rules {
            if !p.exists() {
                bail!("{}: no such rule file or folder", p.display());
            }
            b.add_path(p);
        }
        let set = b.build();
        eprintln!(
            "{} Sigma rules loaded ({} not loaded) for the process-creation view",
            set.detection_rules(),
            set.skipped().len()
        );
        rules = Some(Arc::new(set));
    }
    let analyzer = warden_engine::payload::analyzer(
        model,
        cfg.payload,
        rules.as_ref(),
        warden_engine::payload::RulesOn::Submitted,
    );
    let shell = a
        .shell
        .as_deref()
        .map(str::parse::<Shell>)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let sandbox = if a.sandbox {
        Some(
            warden_sandbox::Sandbox::new(cfg.sandbox.clone())
                .context("--sandbox: the sandbox cannot be used on this machine")?,
        )
    } else {
        None
    };
    let judge = Judge {
        analyzer: &analyzer,
        sandbox: sandbox.as_ref(),
    };
    if let Some(batch) = &a.jsonl {
        return analyze_batch(&judge, batch, shell);
    }
    let Some(input) = &a.input else {
        bail!("give the text to analyse, `-` for standard input, a file, or --jsonl FILE");
    };
    let text = if input == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin().take(MAX_LINE_BYTES as u64), &mut s)
            .context("cannot read standard input")?;
        s
    } else if !a.text && Path::new(input).is_file() {
        let bytes = std::fs::read(input).with_context(|| format!("cannot read {input}"))?;
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        input.clone()
    };
    let verdict = judge.verdict(&text, shell);
    let json = if a.pretty {
        serde_json::to_string_pretty(&verdict)?
    } else {
        serde_json::to_string(&verdict)?
    };
    crate::out!("{json}")?;
    Ok(())
}

use std::io::Read as _;

/// The analyser and, when asked for, the sandbox.
struct Judge<'a> {
    analyzer: &'a Analyzer,
    sandbox: Option<&'a warden_sandbox::Sandbox>,
}

impl Judge<'_> {
    /// The verdict on one text: static, plus a sandboxed run for sh and bash when asked.
    fn verdict(&self, text: &str, shell: Option<Shell>) -> Verdict {
        let Some(sandbox) = self.sandbox else {
            return self.analyzer.analyze(text, shell);
        };
        let shell = shell.unwrap_or_else(|| Shell::guess(text));
        let script = warden_payload::cut(text, warden_payload::MAX_TEXT_BYTES);
        match sandbox.run(script, shell) {
            Ok(run) => self.analyzer.analyze_with_run(text, Some(shell), run),
            Err(e) => {
                let mut v = self.analyzer.analyze(text, Some(shell));
                v.notes.push(format!("not run in the sandbox: {e}"));
                v
            }
        }
    }
}

fn analyze_batch(analyzer: &Judge, path: &str, shell: Option<Shell>) -> Result<()> {
    let source = if path == "-" {
        InputSource::Stdin
    } else {
        InputSource::Path(path.into())
    };
    let opened = source
        .open()
        .with_context(|| format!("cannot open {path}"))?;
    let name = opened.name.clone();
    let mut lines = opened.reader;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut line_no, mut bad, mut done) = (0u64, 0u64, 0u64);
    let mut chunk: Vec<(u64, Submitted)> = Vec::with_capacity(CHUNK);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = (&mut lines)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("{name}: read error after line {line_no}"))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if buf.len() > MAX_LINE_BYTES {
            bad += 1;
            eprintln!("{name}:{line_no}: record longer than {MAX_LINE_BYTES} bytes, skipped");
            skip_rest_of_line(&mut lines)?;
            continue;
        }
        let line = String::from_utf8_lossy(&buf);
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Submitted>(line.trim()) {
            Ok(r) => chunk.push((line_no, r)),
            Err(e) => {
                bad += 1;
                eprintln!("{name}:{line_no}: not a record with a `text` field: {e}");
            }
        }
        if chunk.len() >= CHUNK {
            done += write_chunk(analyzer, &mut chunk, shell, &name, &mut out, &mut bad)?;
        }
    }
    done += write_chunk(analyzer, &mut chunk, shell, &name, &mut out, &mut bad)?;
    out.flush().ok();
    eprintln!("{done} analysed, {bad} bad records in {name}");
    Ok(())
}

fn skip_rest_of_line(r: &mut dyn BufRead) -> Result<()> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            r.consume(i + 1);
            return Ok(());
        }
        let n = buf.len();
        r.consume(n);
    }
}

fn write_chunk(
    analyzer: &Judge,
    chunk: &mut Vec<(u64, Submitted)>,
    shell: Option<Shell>,
    name: &str,
    out: &mut impl Write,
    bad: &mut u64,
) -> Result<u64> {
    let results: Vec<(u64, Option<&serde_json::Value>, Result<Verdict, String>)> = chunk
        .par_iter()
        .map(|(line, r)| {
            let sh = match (shell, r.shell.as_deref()) {
                (Some(s), _) => Ok(Some(s)),
                (None, Some(s)) => s.parse::<Shell>().map(Some),
                (None, None) => Ok(None),
            };
            (
                *line,
                r.id.as_ref(),
                sh.map(|sh| analyzer.verdict(&r.text, sh)),
            )
        })
        .collect();
    let mut written = 0;
    for (line, id, v) in results {
        match v {
            Ok(verdict) => {
                serde_json::to_writer(
                    &mut *out,
                    &Output {
                        id,
                        verdict: &verdict,
                    },
                )?;
                out.write_all(b"\n").or_else(ignore_broken_pipe)?;
                written += 1;
            }
            Err(e) => {
                *bad += 1;
                eprintln!("{name}:{line}: field `shell`: {e}");
            }
        }
    }
    chunk.clear();
    Ok(written)
}

fn ignore_broken_pipe(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(e)
    }
}

/// The model from a file, or the active version of a registered one, or none.
pub(crate) fn load_model(
    file: Option<&Path>,
    store: Option<&Path>,
    name: &str,
) -> Result<Option<Arc<PayloadModel>>> {
    let bytes = match (file, store) {
        (Some(f), _) => std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?,
        (None, Some(s)) => {
            let st = warden_store::Store::open(s)?;
            match st.model_body(name, None)? {
                Some((_, body)) => body,
                None => {
                    eprintln!(
                        "note: no active `{name}` model in {}; analysing without the learned view",
                        s.display()
                    );
                    return Ok(None);
                }
            }
        }
        (None, None) => return Ok(None),
    };
    let m = PayloadModel::from_bytes(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e}",
            file.map_or(name.to_string(), |f| f.display().to_string())
        )
    })?;
    Ok(Some(Arc::new(m)))
}

/// `warden train payload`.
pub fn train_payload(a: &PayloadTrainArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let mut records = read_labelled(&a.input)?;
    let hash = data_hash(&records);
    // Copies are added after the records as given.
    let originals = records.len();
    let groups = with_placeholder_copies(&mut records, !a.no_placeholder_copies);
    let plain = Analyzer::new(None, warden_payload::VerdictConfig::default());
    let set = features::FeatureSet {
        bits: a.bits,
        min_n: a.min_n,
        max_n: a.max_n,
        words: !a.no_words,
        analysis: !a.no_analysis_features,
        lines: !a.no_line_breaks,
        launch: !a.keep_image_paths,
    };
    set.validate().map_err(anyhow::Error::msg)?;
    let (rows, ids) = examine_all(&records, originals, &plain, &set);
    // The technique tagger learns from the texts as given, so that "at least 8 labelled
    // examples" counts texts, not copies.
    let techniques: Vec<Option<String>> = records
        .iter()
        .enumerate()
        .map(|(i, r)| r.3.clone().filter(|_| i < originals))
        .collect();
    let params = TrainParams {
        features: set,
        epochs: a.epochs,
        learning_rate: a.learning_rate,
        l2: a.l2,
        validation_share: a.validation_share,
        seed: a.seed,
        class_ratio_exponent: a.class_ratio_exponent,
        class_ratio_shrinkage: a.class_ratio_shrinkage,
    };
    let mut model = train_grouped(&rows, &groups, &params, &hash)?;
    model.techniques =
        warden_payload::technique::train(&rows, &techniques, &model.idf, a.epochs, a.seed);
    // The combiner's folds and the presence trees are independent: side by side.
    let (combiner, presence) = rayon::join(
        || -> Result<Option<combiner::Combiner>> {
            if a.combiner_folds == 0 {
                return Ok(None);
            }
            let texts: Vec<(String, Option<Shell>)> =
                records.iter().map(|r| (r.0.clone(), r.1)).collect();
            let trees = (a.presence_trees > 0).then(|| presence_params(a));
            fit_combiner(
                &texts,
                &groups,
                &rows,
                &ids,
                &params,
                trees.as_ref(),
                a.combiner_folds,
            )
        },
        || fit_presence(&rows, a, set.bits),
    );
    model.combiner = combiner?;
    model.presence = presence?;
    model.patterns = Some(tempering::PatternCounts::count(ids));
    model.summary.trained_at =
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let bytes = model.to_bytes();
    std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    report_training(
        &model,
        originals,
        started.elapsed().as_secs_f64(),
        &a.out,
        bytes.len(),
    );
    Ok(())
}

/// Each training text's features and label, and the patterns it shows (none for a copy).
type Examined = (Vec<(features::Features, bool)>, Vec<(Vec<String>, bool)>);

/// Analyses every text (in parallel) for its features and patterns; the first `originals`
/// are the texts as given, the rest copies.
fn examine_all(
    records: &[Labelled],
    originals: usize,
    plain: &Analyzer,
    set: &features::FeatureSet,
) -> Examined {
    let examined: Vec<(features::Features, bool, Vec<String>)> = records
        .par_iter()
        .map(|(text, shell, y, _)| {
            let a = plain.examine(text, *shell);
            (features::extract(&a, set), *y, tempering::pattern_ids(&a))
        })
        .collect();
    let mut rows = Vec::with_capacity(examined.len());
    let mut ids = Vec::with_capacity(examined.len());
    for (i, (f, y, found)) in examined.into_iter().enumerate() {
        rows.push((f, y));
        // A copy's patterns are its text's: counted once, the weights the training texts
        // give the patterns stay those of the texts as given.
        ids.push((if i < originals { found } else { Vec::new() }, y));
    }
    (rows, ids)
}

/// What `warden train payload` made (of `originals` texts as given and their copies): the
/// tagger, the pattern weights, the held-out figures.
fn report_training(
    model: &warden_payload::model::PayloadModel,
    originals: usize,
    seconds: f64,
    out: &Path,
    size: usize,
) {
    if let Some(t) = &model.techniques {
        eprintln!(
            "technique tagger: {} ATT&CK techniques with at least {} labelled examples",
            t.classes.len(),
            warden_payload::technique::MIN_EXAMPLES
        );
    }
    if let Some(p) = &model.patterns {
        eprintln!(
            "pattern weights: {} patterns seen in the training texts; those also common in benign texts weigh less (see `trained` on a verdict's patterns)",
            p.by_id.len()
        );
    }
    let s = &model.summary;
    eprintln!(
        "trained on {} texts ({} malicious, {} benign; {} of them copies) in {:.1} s; held-out {}: ROC AUC {:.4}, TPR {:.3} at 1% FPR, {:.3} at 0.1% FPR; wrote {} ({} bytes)",
        s.samples,
        s.malicious,
        s.benign,
        s.samples.saturating_sub(originals),
        seconds,
        s.validation_samples,
        s.validation_auc,
        s.validation_tpr_at_1pct_fpr,
        s.validation_tpr_at_01pct_fpr,
        out.display(),
        size
    );
}

/// The presence trees, or none when `--presence-trees 0`.
fn fit_presence(
    rows: &[(features::Features, bool)],
    a: &PayloadTrainArgs,
    bits: u32,
) -> Result<Option<warden_payload::presence::PresenceTrees>> {
    if a.presence_trees == 0 {
        return Ok(None);
    }
    let p = presence_params(a);
    let started = std::time::Instant::now();
    let t = warden_payload::presence::fit(rows, bits, &p)?;
    eprintln!(
        "presence trees: {} of depth {} in {:.1} s",
        t.trees(),
        t.depth,
        started.elapsed().as_secs_f64()
    );
    Ok(Some(t))
}

fn presence_params(a: &PayloadTrainArgs) -> warden_payload::presence::TreeParams {
    warden_payload::presence::TreeParams {
        trees: a.presence_trees,
        depth: a.presence_depth,
        learning_rate: a.presence_learning_rate,
        seed: a.seed,
        ..Default::default()
    }
}

/// The combiner, or none (with a note) when the training set is too small for one.
fn fit_combiner(
    texts: &[(String, Option<Shell>)],
    groups: &[u64],
    rows: &[(features::Features, bool)],
    ids: &[(Vec<String>, bool)],
    params: &TrainParams,
    presence: Option<&warden_payload::presence::TreeParams>,
    folds: usize,
) -> Result<Option<combiner::Combiner>> {
    let malicious = rows.iter().filter(|r| r.1).count();
    let fewest = malicious.min(rows.len() - malicious);
    if fewest < combiner::MIN_TEXTS_PER_CLASS {
        eprintln!(
            "combiner left out: it needs {} texts of each class, and the smaller class has {fewest}",
            combiner::MIN_TEXTS_PER_CLASS
        );
        return Ok(None);
    }
    let c = combiner::fit(texts, groups, rows, ids, params, presence, folds)?;
    eprintln!(
        "combiner: {} trees over {} inputs ({} patterns of their own), fitted on scores from {folds} folds",
        c.trees.trees.len(),
        c.width(),
        c.ids.len(),
    );
    Ok(Some(c))
}

/// Adds, when `copies`, a training copy of each record written with a public corpus's
/// placeholders ([`placeholders`]), and returns each record's group: its own text's key, the
/// key of the text it copies for a copy (so that calibration and the combiner's folds keep
/// a text and its copy on one side). Without copies, no groups (each record its own).
fn with_placeholder_copies(records: &mut Vec<Labelled>, copies: bool) -> Vec<u64> {
    if !copies {
        return Vec::new();
    }
    let mut groups: Vec<u64> = records.iter().map(|r| combiner::fold_key(&r.0)).collect();
    let extra: Vec<(Labelled, u64)> = records
        .iter()
        .zip(&groups)
        .filter_map(|(r, &g)| {
            let text = placeholders::realistic_copy(&r.0)?;
            Some(((text, r.1, r.2, r.3.clone()), g))
        })
        .collect();
    if !extra.is_empty() {
        eprintln!(
            "{} of {} texts are written with a public corpus's placeholders; each is also learned with realistic values in their place",
            extra.len(),
            records.len()
        );
    }
    for (r, g) in extra {
        records.push(r);
        groups.push(g);
    }
    groups
}

/// Text, shell, malicious?, ATT&CK technique.
type Labelled = (String, Option<Shell>, bool, Option<String>);

/// Labelled records: `text`, `label` (`malicious`/`benign`, 1/0, true/false), optional `shell`.
fn read_labelled(path: &Path) -> Result<Vec<Labelled>> {
    let opened = InputSource::Path(path.to_path_buf())
        .open()
        .with_context(|| format!("cannot open {}", path.display()))?;
    let name = opened.name.clone();
    let (mut out, mut bad) = (Vec::new(), 0u64);
    for (i, line) in opened.reader.lines().enumerate() {
        let line = line.with_context(|| format!("{name}: read error at line {}", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        match parse_labelled(&line) {
            Ok(r) => out.push(r),
            Err(e) => {
                bad += 1;
                if bad <= 20 {
                    eprintln!("{name}:{}: {e}", i + 1);
                }
            }
        }
    }
    if bad > 0 {
        eprintln!("{bad} bad records in {name} skipped");
    }
    if out.is_empty() {
        bail!("{name}: no labelled texts");
    }
    Ok(out)
}

fn parse_labelled(line: &str) -> Result<Labelled, String> {
    let r: Submitted =
        serde_json::from_str(line).map_err(|e| format!("not a record with a `text` field: {e}"))?;
    let label = match &r.label {
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("malicious") => true,
        Some(serde_json::Value::String(s)) if s.eq_ignore_ascii_case("benign") => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(0) => false,
        other => {
            return Err(format!(
                "field `label`: expected malicious/benign, 1/0 or true/false, got {other:?}"
            ));
        }
    };
    let shell = r
        .shell
        .as_deref()
        .map(str::parse::<Shell>)
        .transpose()
        .map_err(|e| format!("field `shell`: {e}"))?;
    let technique = match &r.technique {
        Some(serde_json::Value::String(t)) => Some(t.clone()),
        Some(serde_json::Value::Array(a)) => a.first().and_then(|t| t.as_str()).map(str::to_string),
        _ => None,
    };
    Ok((r.text, shell, label, technique))
}

fn data_hash(records: &[Labelled]) -> String {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for (t, _, y, _) in records {
        for b in t.bytes().chain([u8::from(*y), 0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// What the registry keeps about a payload model file.
pub fn registry_summary(bytes: &[u8], file: &Path) -> Result<(String, serde_json::Value)> {
    let m =
        PayloadModel::from_bytes(bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let s = &m.summary;
    Ok((
        "payload-linear".to_string(),
        serde_json::json!({
            "file": file.display().to_string(),
            "training_rows": s.samples,
            "malicious": s.malicious,
            "benign": s.benign,
            "validation_auc": s.validation_auc,
            "validation_tpr_at_1pct_fpr": s.validation_tpr_at_1pct_fpr,
            "combiner_inputs": m.combiner.as_ref().map(|c| c.width()),
            "data_hash": s.data_hash,
            "trained_at": s.trained_at,
        }),
    ))
}
