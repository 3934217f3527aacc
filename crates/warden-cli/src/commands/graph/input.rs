//! The inputs of `warden graph`: Windows events (EVTX, JSON in any common shape) and LANL
//! authentication or red-team files, found in files and folders, read into graph events
//! and put in time order. Bad records are counted and the first few reported with their
//! file and line; the rest of the input is read.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use warden_event::Timestamp;
use warden_graph::GraphEvent;
use warden_graph::extract::{Given, LanlReader, windows_event};
use warden_ingest::documents::{self, DocFormat};
use warden_ingest::source::InputSource;

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

/// Reads every input into graph events, sorted by time (ties keep input order).
pub fn read(args: &GraphInputs) -> Result<(Vec<GraphEvent>, ReadSummary)> {
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
                read_windows(path, &name, fmt, args.quiet, &mut events, &mut summary)
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

fn read_windows(
    path: &Path,
    name: &str,
    fmt: DocFormat,
    quiet: bool,
    events: &mut Vec<GraphEvent>,
    summary: &mut ReadSummary,
) {
    let mut bad = Vec::new();
    let mut records = 0u64;
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
        }
        Err(e) => bad.push(e.to_string()),
    };
    let result = documents::read_documents(path, fmt, 1, &mut each);
    summary.records += records;
    for b in bad {
        report(summary, quiet, || b);
    }
    if let Err(e) = result {
        report(summary, quiet, || format!("{name}: {e}"));
    }
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
