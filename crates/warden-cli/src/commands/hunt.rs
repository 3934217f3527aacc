//! `warden hunt`: Sigma rules over EVTX and JSON logs, in parallel across files, merged
//! into one timeline sorted by time; correlations run over the merged matches. `-` reads
//! JSON Lines from stdin as a live stream.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sending::Sender;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use warden_engine::alerts::from_sigma;
use warden_engine::config::Actions;
use warden_engine::sigma::{self, DocContext, SigmaAlert, SigmaDetector};
use warden_event::winlog::{Shape, WinDoc};
use warden_event::{DEFAULT_TENANT, LogEvent};
use warden_ingest::documents::{self, DocFormat, ReadCounts};
use warden_sigma::{Level, RuleSet, Scratch};

use crate::cli::{HuntArgs, HuntFormat};
use crate::commands::hunt_payload::{At, Found, Outcome, PayloadHunt};
use crate::commands::rules::load_rules;

/// Most record errors printed (all are counted).
const MAX_PRINTED_ERRORS: u64 = 20;

pub fn run(args: &HuntArgs) -> Result<()> {
    let started = Instant::now();
    let set = hunt_rules(args)?;
    let load_time = started.elapsed();
    let format = args.format.unwrap_or(
        if std::io::stdout().is_terminal() && args.output.is_none() {
            HuntFormat::Table
        } else {
            HuntFormat::Jsonl
        },
    );
    let sender = Sender::start(&args.send)?;
    let mut out = open_output(args.output.as_deref())?;

    let payload = payload_hunt(args, set.as_ref())?;
    if args.inputs.iter().any(|i| i == "-") {
        if payload.is_some() {
            bail!(
                "--payload reads files (prevalence is judged over all of them); a live stream's \
                 process creations are scored by `warden serve` or `warden worker`"
            );
        }
        let Some(set) = set else {
            bail!("--parse-only does not apply to stdin");
        };
        stream_stdin(set, args, format, &mut out, sender.as_ref())?;
        return crate::sending::finish_checked(sender);
    }

    let (files, skipped_files) = discover(&args.inputs)?;
    if files.is_empty() {
        bail!("no EVTX or JSON files found in {}", args.inputs.join(", "));
    }
    let (results, scan_time) = scan(&files, set.as_deref(), payload.as_ref(), args)?;

    let Merged {
        counts,
        mut alerts,
        unreadable,
        shapes,
        found,
    } = merge(results);
    alerts.sort_by(timeline_order);
    if let Some(set) = &set {
        let corr = sigma::correlate(set, &alerts);
        alerts.extend(corr);
        alerts.retain(|a| !a.hidden && a.level_rank >= args.min_level);
    }
    let sigma_alerts = alerts.len();
    let payload_outcome = payload
        .as_ref()
        .map(|p| add_payload(p, found, args.min_level, sender.as_ref(), &mut alerts));
    alerts.sort_by(timeline_order);
    write_alerts(&alerts, format, &mut out)?;
    out.flush().context("cannot write the detections")?;
    if let Some(sender) = &sender {
        send_rule_detections(sender, &alerts);
    }

    let summary = Summary {
        files: files.len(),
        skipped_files,
        unreadable,
        counts,
        shapes,
        load_time,
        scan_time,
        alerts: &alerts,
        set: set.as_deref(),
        payload_only: payload.is_some(),
    };
    summary.print();
    if let Some(o) = payload_outcome {
        print_payload(&o, alerts.len() - sigma_alerts);
    }
    if unreadable == files.len() {
        bail!("none of the {} input files could be read", files.len());
    }
    crate::sending::finish_checked(sender)
}

/// Where the detections go: `--output`'s file, or standard output.
fn open_output(path: Option<&std::path::Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Every file hunted on `--threads` workers (all cores by default), with a progress bar
/// over the bytes read; the time the scan took, from when the workers were ready.
fn scan(
    files: &[InputFile],
    set: Option<&RuleSet>,
    payload: Option<&PayloadHunt>,
    args: &HuntArgs,
) -> Result<(Vec<FileResult>, Duration)> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let total_bytes: u64 = files.iter().map(|f| f.2).sum();
    let pb = progress(args.quiet, total_bytes);
    let started = Instant::now();
    // Few files: let the EVTX parser use the spare cores inside each file.
    let per_file = (threads / files.len().max(1)).max(1);
    let results = pool.install(|| {
        files
            .par_iter()
            .map(|(path, fmt, size)| {
                let r = hunt_file(set, payload, path, *fmt, args.min_level, per_file);
                pb.inc(*size);
                r
            })
            .collect()
    });
    pb.finish_and_clear();
    Ok((results, started.elapsed()))
}

/// The files' results together: counts, rule matches, the process creations found for the
/// payload hunt, and how many files could not be read. Record errors are printed here, the
/// first [`MAX_PRINTED_ERRORS`] of them.
struct Merged {
    counts: ReadCounts,
    alerts: Vec<SigmaAlert>,
    unreadable: usize,
    shapes: [u64; 3],
    found: Vec<Found>,
}

fn merge(results: Vec<FileResult>) -> Merged {
    let mut m = Merged {
        counts: ReadCounts::default(),
        alerts: Vec::new(),
        unreadable: 0,
        shapes: [0; 3],
        found: Vec::new(),
    };
    let mut printed = 0;
    for r in results {
        m.found.push(r.payload);
        for (t, n) in m.shapes.iter_mut().zip(r.shapes) {
            *t += n;
        }
        m.counts.records += r.counts.records;
        m.counts.errors += r.counts.errors;
        m.counts.bytes += r.counts.bytes;
        for e in r.errors {
            if printed < MAX_PRINTED_ERRORS {
                eprintln!("warning: skipped: {e}");
                printed += 1;
            }
        }
        if let Some(e) = r.fatal {
            m.unreadable += 1;
            eprintln!("warning: cannot read: {e}");
        }
        m.alerts.extend(r.alerts);
    }
    m
}

/// The rules' detections to the outputs (`--send`); the payload hunt sent its own.
fn send_rule_detections(sender: &Sender, alerts: &[SigmaAlert]) {
    let now = warden_outputs::now_rfc3339();
    for a in alerts
        .iter()
        .filter(|a| a.rule_id != crate::commands::hunt_payload::RULE_ID)
    {
        sender.send(from_sigma(
            DEFAULT_TENANT,
            a,
            None,
            &Actions::default(),
            &now,
        ));
    }
}

/// Timeline order: time (alerts without one last), then file, record and rule.
fn timeline_order(a: &SigmaAlert, b: &SigmaAlert) -> std::cmp::Ordering {
    let key = |x: &SigmaAlert| {
        (
            x.timestamp_ms.unwrap_or(i64::MAX),
            x.file.clone(),
            x.record_id,
            x.line,
            x.rule_id.clone(),
        )
    };
    key(a).cmp(&key(b))
}

/// The Sigma rules: none with --parse-only, or for a hunt of command lines only
/// (`--payload` without `--rules`).
fn hunt_rules(args: &HuntArgs) -> Result<Option<Arc<RuleSet>>> {
    if args.parse_only {
        return Ok(None);
    }
    if args.rules.rules.is_empty() {
        if args.payload || args.payload_model.is_some() {
            return Ok(None);
        }
        bail!(
            "no rules: give --rules DIR (or --payload to analyse command lines only, or \
             --parse-only to time reading alone)"
        );
    }
    let set = load_rules(&args.rules, &[])?;
    if set.detection_rules() == 0 {
        bail!(
            "none of the {} rule files loaded; run `warden rules lint` to see why",
            set.files()
        );
    }
    Ok(Some(Arc::new(set)))
}

/// Payload analysis when asked for (`--payload`, or a model given). With rules, they also
/// run on each command line's decoded form, which the events themselves never show them.
fn payload_hunt(args: &HuntArgs, rules: Option<&Arc<RuleSet>>) -> Result<Option<PayloadHunt>> {
    if !args.payload && args.payload_model.is_none() {
        return Ok(None);
    }
    if args.parse_only {
        bail!("--payload does not apply with --parse-only");
    }
    let model =
        crate::commands::payload::load_model(args.payload_model.as_deref(), None, "payload")?;
    let analyzer = warden_engine::payload::analyzer(
        model,
        warden_payload::VerdictConfig::default(),
        rules,
        warden_engine::payload::RulesOn::Events,
    );
    Ok(Some(PayloadHunt::new(
        Arc::new(analyzer),
        args.common_at_hosts,
    )))
}

/// The payload detections of every file, prevalence judged, joined to `alerts` (and sent
/// as the service's `payload` alerts).
fn add_payload(
    p: &PayloadHunt,
    found: Vec<Found>,
    min_level: Level,
    sender: Option<&Sender>,
    alerts: &mut Vec<SigmaAlert>,
) -> Outcome {
    let report = if min_level >= Level::Critical {
        warden_event::ThreatLevel::Critical
    } else {
        warden_event::ThreatLevel::High
    };
    let (entries, outcome) = p.merge(found, report);
    for e in entries
        .into_iter()
        .filter(|e| e.alert.level_rank >= min_level)
    {
        if let Some(sender) = sender {
            sender.send(e.to_alert(DEFAULT_TENANT));
        }
        alerts.push(e.alert);
    }
    outcome
}

fn print_payload(o: &Outcome, reported: usize) {
    let folded = if o.common > 0 {
        format!(
            " ({} starts of {} command lines common in these logs that only the model finds suspicious, reported once each at MEDIUM)",
            o.common, o.common_lines
        )
    } else {
        String::new()
    };
    eprintln!(
        "payload analysis: {} process creations, {reported} detections{folded}",
        o.process_starts
    );
}

struct FileResult {
    payload: Found,
    counts: ReadCounts,
    /// Events per JSON shape (`Shape as usize`).
    shapes: [u64; 3],
    alerts: Vec<SigmaAlert>,
    errors: Vec<String>,
    fatal: Option<String>,
}

fn hunt_file(
    set: Option<&RuleSet>,
    payload: Option<&PayloadHunt>,
    path: &Path,
    fmt: DocFormat,
    min_level: Level,
    threads: usize,
) -> FileResult {
    let name = path.display().to_string();
    let mut alerts = Vec::new();
    let mut errors = Vec::new();
    let mut scratch = Scratch::default();
    let mut hits = Vec::new();
    let mut shapes = [0u64; 3];
    let mut scorer = payload.map(PayloadHunt::scorer);
    let mut each = |r: Result<documents::LogRecord, warden_ingest::IngestError>| match r {
        Ok(rec) => {
            shapes[WinDoc::new(&rec.doc).shape as usize] += 1;
            if let Some(s) = scorer.as_mut() {
                let at = At {
                    file: &name,
                    record_id: rec.record_id,
                    timestamp_ms: rec.timestamp_ms,
                    line: rec.line,
                };
                s.look(&rec.doc, &at);
            }
            if let Some(set) = set {
                let ctx = DocContext {
                    file: Some(&name),
                    record_id: rec.record_id,
                    timestamp_ms: rec.timestamp_ms,
                    line: Some(rec.line),
                };
                let start = alerts.len();
                sigma::match_document(set, &rec.doc, &ctx, &mut scratch, &mut hits, &mut alerts);
                // Keep what is reported or what a correlation needs.
                let mut i = start;
                while i < alerts.len() {
                    let a: &SigmaAlert = &alerts[i];
                    if a.level_rank < min_level && set.consumers(a.rule_index).is_empty() {
                        alerts.swap_remove(i);
                    } else {
                        i += 1;
                    }
                }
            }
        }
        Err(e) => {
            if errors.len() < MAX_PRINTED_ERRORS as usize {
                errors.push(e.to_string());
            }
        }
    };
    let read = documents::read_documents(path, fmt, threads, &mut each);
    let payload = scorer.map(|s| s.finish()).unwrap_or_default();
    match read {
        Ok(counts) => FileResult {
            payload,
            counts,
            shapes,
            alerts,
            errors,
            fatal: None,
        },
        Err(e) => FileResult {
            payload,
            counts: ReadCounts::default(),
            shapes,
            alerts,
            errors,
            fatal: Some(e.to_string()),
        },
    }
}

fn stream_stdin(
    set: Arc<RuleSet>,
    args: &HuntArgs,
    format: HuntFormat,
    out: &mut dyn Write,
    sender: Option<&Sender>,
) -> Result<()> {
    let mut detector = SigmaDetector::new(set);
    let stdin = std::io::stdin().lock();
    let mut bad = 0u64;
    let mut written = Vec::new();
    for (i, line) in stdin.split(b'\n').enumerate() {
        let line = line.context("cannot read stdin")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let doc: serde_json::Value = match serde_json::from_slice(&line) {
            Ok(v) => v,
            Err(e) => {
                bad += 1;
                if bad <= MAX_PRINTED_ERRORS {
                    eprintln!("warning: skipped: <stdin>:{}: invalid JSON: {e}", i + 1);
                }
                continue;
            }
        };
        let alerts: Vec<SigmaAlert> = detector
            .process(&doc, &DocContext::default())
            .into_iter()
            .filter(|a| a.level_rank >= args.min_level)
            .collect();
        write_alerts(&alerts, format, out)?;
        out.flush().context("cannot write the detections")?;
        if let Some(sender) = sender {
            let now = warden_outputs::now_rfc3339();
            let event = LogEvent::of(doc);
            for a in &alerts {
                sender.send(from_sigma(
                    DEFAULT_TENANT,
                    a,
                    Some(&event),
                    &Actions::default(),
                    &now,
                ));
            }
        }
        written.extend(alerts);
    }
    let tail: Vec<SigmaAlert> = detector
        .finish()
        .into_iter()
        .filter(|a| a.level_rank >= args.min_level)
        .collect();
    write_alerts(&tail, format, out)?;
    out.flush().context("cannot write the detections")?;
    if let Some(sender) = sender {
        let now = warden_outputs::now_rfc3339();
        for a in &tail {
            sender.send(from_sigma(
                DEFAULT_TENANT,
                a,
                None,
                &Actions::default(),
                &now,
            ));
        }
    }
    written.extend(tail);
    eprintln!(
        "hunt (stdin): events {}, bad records {bad}, detections {}",
        detector.documents,
        written.len()
    );
    Ok(())
}

/// An input file: path, format, size in bytes.
type InputFile = (PathBuf, DocFormat, u64);

fn discover(inputs: &[String]) -> Result<(Vec<InputFile>, usize)> {
    let mut files = Vec::new();
    let mut skipped = 0;
    for input in inputs {
        let p = Path::new(input);
        if !p.exists() {
            bail!("{input}: no such file or folder");
        }
        let mut found = Vec::new();
        crate::folders::files(
            p,
            &|f| documents::sniff(f).is_some(),
            &mut found,
            &mut skipped,
        );
        for f in found {
            if let Some(fmt) = documents::sniff(&f) {
                let size = std::fs::metadata(&f).map_or(0, |m| m.len());
                files.push((f, fmt, size));
            }
        }
    }
    files.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    files.dedup_by(|a, b| a.0 == b.0);
    Ok((files, skipped))
}

fn progress(quiet: bool, total: u64) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} ({bytes_per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

fn details_text(a: &SigmaAlert) -> String {
    a.details
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}: {s}"),
            other => format!("{k}: {other}"),
        })
        .collect::<Vec<_>>()
        .join(" ¦ ")
}

fn write_alerts(alerts: &[SigmaAlert], format: HuntFormat, out: &mut dyn Write) -> Result<()> {
    match format {
        HuntFormat::Jsonl => {
            for a in alerts {
                serde_json::to_writer(&mut *out, a).context("cannot write the detections")?;
                out.write_all(b"\n")
                    .context("cannot write the detections")?;
            }
        }
        HuntFormat::Csv => {
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *out);
            for a in alerts {
                w.write_record(warden_outputs::spreadsheet::record([
                    a.timestamp.as_str(),
                    &a.rule_id,
                    &a.rule_title,
                    &a.level,
                    &a.tags.join(";"),
                    a.computer.as_deref().unwrap_or(""),
                    a.channel.as_deref().unwrap_or(""),
                    &a.event_id.map(|e| e.to_string()).unwrap_or_default(),
                    &a.record_id.map(|e| e.to_string()).unwrap_or_default(),
                    a.file.as_deref().unwrap_or(""),
                    &details_text(a),
                ]))
                .context("cannot write the detections")?;
            }
            w.flush().context("cannot write the detections")?;
        }
        HuntFormat::Table => {
            if alerts.is_empty() {
                return Ok(());
            }
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
            t.set_header([
                "time", "level", "rule", "computer", "event", "record", "details",
            ]);
            for a in alerts {
                let mut d = details_text(a);
                if d.chars().count() > 120 {
                    d = d.chars().take(117).collect::<String>() + "...";
                }
                t.add_row([
                    a.timestamp.clone(),
                    a.level.clone(),
                    a.rule_title.clone(),
                    a.computer.clone().unwrap_or_default(),
                    a.event_id.map(|e| e.to_string()).unwrap_or_default(),
                    match (a.record_id, a.line) {
                        (Some(r), _) => r.to_string(),
                        (None, Some(l)) => format!("line {l}"),
                        (None, None) => String::new(),
                    },
                    d,
                ]);
            }
            writeln!(out, "{t}").context("cannot write the detections")?;
        }
    }
    Ok(())
}

/// A hunt's figures, printed to stderr.
struct Summary<'a> {
    files: usize,
    skipped_files: usize,
    unreadable: usize,
    counts: ReadCounts,
    shapes: [u64; 3],
    load_time: Duration,
    scan_time: Duration,
    alerts: &'a [SigmaAlert],
    set: Option<&'a RuleSet>,
    /// No rules, payload analysis only.
    payload_only: bool,
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Summary<'_> {
    fn print(&self) {
        let secs = self.scan_time.as_secs_f64().max(1e-9);
        let mb = self.counts.bytes as f64 / 1e6;
        eprintln!(
            "hunt: files {}, events {}, bad records {}, unreadable files {}, other files skipped {}, {:.1} MB in {:.2} s ({} events/s, {:.1} MB/s)",
            self.files,
            thousands(self.counts.records),
            thousands(self.counts.errors),
            self.unreadable,
            self.skipped_files,
            mb,
            secs,
            thousands((self.counts.records as f64 / secs) as u64),
            mb / secs
        );
        let shapes: Vec<String> = [Shape::Evtx, Shape::Flat, Shape::Winlogbeat]
            .iter()
            .filter(|s| self.shapes[**s as usize] > 0)
            .map(|s| format!("{} {}", s.as_str(), thousands(self.shapes[*s as usize])))
            .collect();
        if !shapes.is_empty() {
            eprintln!("event shapes: {}", shapes.join(", "));
        }
        match self.set {
            Some(set) => print_rules(set, self.load_time),
            None if self.payload_only => eprintln!("rules: none (command lines only)"),
            None => {
                eprintln!("parse only: no rules evaluated");
                return;
            }
        }
        self.print_detections();
    }

    fn print_detections(&self) {
        let mut by_level: BTreeMap<std::cmp::Reverse<Level>, u64> = BTreeMap::new();
        let mut by_rule: BTreeMap<&str, u64> = BTreeMap::new();
        for a in self.alerts {
            *by_level.entry(std::cmp::Reverse(a.level_rank)).or_default() += 1;
            *by_rule.entry(a.rule_title.as_str()).or_default() += 1;
        }
        let levels: Vec<String> = by_level
            .iter()
            .map(|(l, n)| format!("{} {}", l.0, thousands(*n)))
            .collect();
        eprintln!(
            "detections: {} ({})",
            thousands(self.alerts.len() as u64),
            if levels.is_empty() {
                "none".to_owned()
            } else {
                levels.join(", ")
            }
        );
        let mut top: Vec<(&str, u64)> = by_rule.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for (title, n) in top.into_iter().take(10) {
            eprintln!("  {n:>7}  {title}");
        }
    }
}

/// The rules line of the summary.
fn print_rules(set: &RuleSet, load_time: Duration) {
    let (variants, tests, literals, fields) = set.stats();
    eprintln!(
        "rules: loaded {} (+{} correlations) from {} files in {:.2} s, skipped {} (`warden rules lint` lists why); compiled to {variants} variants, {tests} distinct tests, {literals} prefilter literals, {fields} fields",
        set.detection_rules(),
        set.correlations().len(),
        set.files(),
        load_time.as_secs_f64(),
        set.skipped().len()
    );
}
