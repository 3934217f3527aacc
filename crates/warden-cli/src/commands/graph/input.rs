//! The inputs of `warden graph`: Windows events (EVTX, JSON in any common shape) and LANL
//! authentication or red-team files, found in files and folders, read into graph events
//! and put in time order. Bad records are counted and the first few reported with their
//! file and line; the rest of the input is read.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use warden_engine::sigma::{self, DocContext, SigmaAlert};
use warden_event::{EventRef, Timestamp};
use warden_graph::GraphEvent;
use warden_graph::event::{Action, normalize_host};
use warden_graph::extract::{Given, LanlReader, windows_event};
use warden_ingest::documents::{self, DocFormat};
use warden_ingest::source::InputSource;
use warden_sigma::{Level, RuleSet, Scratch};

use crate::cli::GraphInputs;

const MAX_WALK_DEPTH: usize = 16;
const MAX_PRINTED_ERRORS: u64 = 20;

enum Kind {
    Windows(DocFormat),
    Lanl,
}

/// What reading found.
#[derive(Debug, Default)]
pub struct ReadSummary {
    pub files: usize,
    pub skipped_files: usize,
    pub records: u64,
    pub events: u64,
    pub errors: u64,
}

fn kind_of(p: &Path) -> Option<Kind> {
    if let Some(f) = documents::sniff(p) {
        return Some(Kind::Windows(f));
    }
    let name = p.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    (name.ends_with(".txt") || name.ends_with(".csv")).then_some(Kind::Lanl)
}

fn walk(p: &Path, depth: usize, out: &mut Vec<PathBuf>, skipped: &mut usize) {
    if depth > MAX_WALK_DEPTH {
        return;
    }
    if p.is_dir() {
        let Ok(rd) = std::fs::read_dir(p) else {
            *skipped += 1;
            return;
        };
        let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            walk(&e, depth + 1, out, skipped);
        }
    } else if kind_of(p).is_some() {
        out.push(p.to_path_buf());
    } else {
        *skipped += 1;
    }
}

fn report(summary: &mut ReadSummary, quiet: bool, message: impl FnOnce() -> String) {
    summary.errors += 1;
    if !quiet && summary.errors <= MAX_PRINTED_ERRORS {
        eprintln!("warning: {}", message());
    }
}

/// Reads every input into graph events, sorted by time (ties keep input order). With
/// `rules`, each Windows event is also matched, and detections of medium level or above
/// become events of their own (their ATT&CK tactics feed the progression finder).
pub fn read(args: &GraphInputs, rules: Option<&RuleSet>) -> Result<(Vec<GraphEvent>, ReadSummary)> {
    let mut lanl = LanlReader::new("");
    if let Some(t) = &args.lanl_epoch {
        lanl.epoch = Timestamp::parse_rfc3339(t)
            .with_context(|| format!("--lanl-epoch {t:?} is not an RFC 3339 time"))?;
    }
    let mut files = Vec::new();
    let mut summary = ReadSummary::default();
    for input in &args.inputs {
        let p = Path::new(input);
        if !p.exists() {
            bail!("{input}: no such file or folder");
        }
        walk(p, 0, &mut files, &mut summary.skipped_files);
    }
    if files.is_empty() {
        bail!("no readable input: give EVTX, JSON or LANL (.txt/.csv) files or folders");
    }
    let mut events = Vec::new();
    for path in &files {
        summary.files += 1;
        let name = path.display().to_string();
        match kind_of(path) {
            Some(Kind::Windows(fmt)) => {
                let mut sink = Sink {
                    events: &mut events,
                    summary: &mut summary,
                    rules,
                };
                read_windows(path, &name, fmt, args.quiet, &mut sink);
            }
            Some(Kind::Lanl) => {
                lanl.source.clone_from(&name);
                read_lanl(path, &lanl, args.quiet, &mut events, &mut summary);
            }
            None => {}
        }
    }
    summary.events = events.len() as u64;
    events.sort_by_key(|e| e.time);
    Ok((events, summary))
}

/// Where a file's events go, and the rules they are matched with.
struct Sink<'a> {
    events: &'a mut Vec<GraphEvent>,
    summary: &'a mut ReadSummary,
    rules: Option<&'a RuleSet>,
}

fn read_windows(path: &Path, name: &str, fmt: DocFormat, quiet: bool, sink: &mut Sink<'_>) {
    let mut bad = Vec::new();
    let mut records = 0u64;
    let mut scratch = Scratch::default();
    let (mut hits, mut found) = (Vec::new(), Vec::new());
    let events = &mut *sink.events;
    let rules = sink.rules;
    let mut each = |r: Result<documents::LogRecord, warden_ingest::IngestError>| match r {
        Ok(rec) => {
            records += 1;
            let given = Given {
                record_id: rec.record_id,
                time: rec.timestamp_ms.map(Timestamp),
                source: Some(name),
                line: rec.line,
            };
            if let Some(e) = windows_event(&rec.doc, &given) {
                events.push(e);
            }
            if let Some(set) = rules {
                let ctx = DocContext {
                    file: Some(name),
                    record_id: rec.record_id,
                    timestamp_ms: rec.timestamp_ms,
                };
                found.clear();
                sigma::match_document(set, &rec.doc, &ctx, &mut scratch, &mut hits, &mut found);
                for d in found.iter().filter(|d| d.level_rank >= Level::Medium) {
                    if let Some(e) = detection_event(d, name, rec.line) {
                        events.push(e);
                    }
                }
            }
        }
        Err(e) => bad.push(e.to_string()),
    };
    let result = documents::read_documents(path, fmt, 1, &mut each);
    sink.summary.records += records;
    for b in bad {
        report(sink.summary, quiet, || b);
    }
    if let Err(e) = result {
        report(sink.summary, quiet, || format!("{name}: {e}"));
    }
}

/// A Sigma detection as a graph event: its host, time, reference and ATT&CK tags.
fn detection_event(d: &SigmaAlert, file: &str, line: u64) -> Option<GraphEvent> {
    let time = Timestamp(d.timestamp_ms?);
    let reference = match d.record_id {
        Some(record_id) => EventRef::Record {
            computer: d.computer.clone(),
            record_id,
        },
        None => EventRef::Line {
            source: file.to_owned(),
            line,
        },
    };
    let (mut tactics, mut techniques) = (Vec::new(), Vec::new());
    for t in warden_event::attack_from_tags(&d.tags) {
        if t.starts_with('T') && t[1..].starts_with(|c: char| c.is_ascii_digit()) {
            techniques.push(t);
        } else {
            tactics.push(t);
        }
    }
    if tactics.is_empty() {
        return None;
    }
    let mut e = GraphEvent::new(
        time,
        Action::Detection {
            rule: d.rule_title.clone(),
            tactics,
            techniques,
        },
        reference,
    );
    e.host = d.computer.as_deref().and_then(normalize_host);
    Some(e)
}

fn read_lanl(
    path: &Path,
    reader: &LanlReader,
    quiet: bool,
    events: &mut Vec<GraphEvent>,
    summary: &mut ReadSummary,
) {
    let name = &reader.source;
    let opened = match InputSource::Path(path.to_path_buf()).open() {
        Ok(o) => o,
        Err(e) => return report(summary, quiet, || format!("{name}: {e}")),
    };
    for (i, line) in opened.reader.lines().enumerate() {
        let n = i as u64 + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => return report(summary, quiet, || format!("{name}: line {n}: {e}")),
        };
        summary.records += 1;
        match reader.parse(&line, n) {
            Ok(Some(e)) => events.push(e),
            Ok(None) => {}
            Err(e) => report(summary, quiet, || format!("{name}: {e}")),
        }
    }
}
