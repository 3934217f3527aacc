//! The inputs of `warden graph`: Windows events (EVTX, JSON in any common shape), user
//! activity (JSON documents with `user_id`/`activity_type`), Zeek `conn.log` (TSV or JSON)
//! and LANL authentication or red-team files, found in files and folders, read into graph events
//! and handed on in time order (files merged as they are read). Bad records are counted and the first few reported with their
//! file and line; the rest of the input is read.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use warden_engine::pipeline::graph_signals::detection_event;
use warden_engine::sigma::{self, DocContext};
use warden_event::flow::FlowFormat;
use warden_event::{EventRef, Timestamp};
use warden_graph::GraphEvent;
use warden_graph::extract::{
    Given, LanlReader, LinuxAuth, activity_event, flow_event, windows_event,
};
use warden_ingest::documents::{self, DocFormat};
use warden_ingest::flows::FlowReader;
use warden_ingest::source::InputSource;
use warden_ingest::{ActivityReader, FieldAliases, classify};
use warden_sigma::{RuleSet, Scratch};

use crate::cli::GraphInputs;

const MAX_PRINTED_ERRORS: u64 = 20;

enum Kind {
    /// Documents: JSON or EVTX Windows events, or text logs (Linux logons, sudo, su).
    Windows(DocFormat),
    Lanl,
    ZeekConn,
    /// User activity, JSON lines or CSV with a header (its first record names a user).
    Activity,
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

impl ReadSummary {
    /// The run's line for stderr: what was read, and the time reading and the graph took
    /// (`graph_verb`: `built`, `hunted`; `note` goes before the times).
    pub fn line(
        &self,
        note: &str,
        read: std::time::Duration,
        graph: std::time::Duration,
        graph_verb: &str,
    ) -> String {
        format!(
            "{} files ({} skipped), {} records, {} graph events, {} errors; {note}read in {:.2} s, {graph_verb} in {:.2} s ({:.0} events/s)",
            self.files,
            self.skipped_files,
            self.records,
            self.events,
            self.errors,
            read.as_secs_f64(),
            graph.as_secs_f64(),
            self.events as f64 / graph.as_secs_f64().max(1e-9)
        )
    }
}

fn kind_of(p: &Path) -> Option<Kind> {
    // Zeek logs other than conn.log hold nothing the graph reads yet; text logs are read as
    // documents (their Linux logons, sudo and su).
    if let Some(f) = documents::sniff(p).filter(|f| !matches!(f, DocFormat::Zeek)) {
        if f == DocFormat::Json && first_record_is_activity(p) {
            return Some(Kind::Activity);
        }
        return Some(Kind::Windows(f));
    }
    let name = p.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    if name.starts_with("conn") && name.ends_with(".log") {
        return Some(Kind::ZeekConn);
    }
    if name.ends_with(".csv") && first_record_is_activity(p) {
        return Some(Kind::Activity);
    }
    (name.ends_with(".txt") || name.ends_with(".csv")).then_some(Kind::Lanl)
}

/// Whether a file's first line is a user activity: a JSON object naming a user or an
/// activity type, or a CSV header with a `user_id` column (LANL files have no header).
fn first_record_is_activity(p: &Path) -> bool {
    use std::io::Read;
    let Ok(opened) = InputSource::Path(p.to_path_buf()).open() else {
        return false;
    };
    let mut line = String::new();
    if opened.reader.take(1 << 20).read_line(&mut line).is_err() {
        return false;
    }
    let line = line.trim();
    if line.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| classify::is_activity(&v))
    } else {
        line.split(',')
            .any(|c| c.trim().trim_matches('"').eq_ignore_ascii_case("user_id"))
    }
}

fn report(summary: &mut ReadSummary, quiet: bool, message: impl FnOnce() -> String) {
    summary.errors += 1;
    if !quiet && summary.errors <= MAX_PRINTED_ERRORS {
        eprintln!("warning: {}", message());
    }
}

/// Files read at once and merged by time; more are read one after another and sorted in
/// memory.
const MAX_MERGED_FILES: usize = 64;
/// Events buffered per file while merging.
const CHANNEL_EVENTS: usize = 4096;

/// Reads every input and hands its graph events to `each` in time order, holding little
/// in memory: each file is read on its own thread in its own order (EVTX records and
/// exported logs come in time order) and the files are merged by time (ties: the file
/// given first). Beyond 64 files, the events are gathered and sorted instead. With
/// `rules`, each Windows event is also matched, and detections of high level or above
/// become events of their own (their ATT&CK tactics feed the progression finder).
pub fn stream(
    args: &GraphInputs,
    rules: Option<&RuleSet>,
    each: &mut dyn FnMut(GraphEvent),
) -> Result<ReadSummary> {
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
        crate::folders::files(
            p,
            &|f| kind_of(f).is_some(),
            &mut files,
            &mut summary.skipped_files,
        );
    }
    if files.is_empty() {
        bail!(
            "no readable input: give EVTX, JSON, Zeek conn.log or LANL (.txt/.csv) files or folders"
        );
    }
    summary.files = files.len();
    let quiet = args.quiet;
    if files.len() > MAX_MERGED_FILES {
        let mut events = Vec::new();
        for path in &files {
            let mut push = |e| events.push(e);
            read_file(path, &lanl, rules, quiet, &mut push, &mut summary);
        }
        events.sort_by_key(|e| e.time);
        summary.events = events.len() as u64;
        events.into_iter().for_each(each);
        return Ok(summary);
    }
    if files.len() == 1 {
        // One file: read in its own order, nothing to merge.
        let mut count = |e| {
            summary.events += 1;
            each(e);
        };
        let mut part = ReadSummary::default();
        read_file(&files[0], &lanl, rules, quiet, &mut count, &mut part);
        summary.records = part.records;
        summary.errors = part.errors;
        return Ok(summary);
    }
    merge_files(&files, &lanl, rules, quiet, each, summary)
}

/// Each file read on its own thread in its own order, merged by time (ties: the file given
/// first) into `each`.
fn merge_files(
    files: &[PathBuf],
    lanl: &LanlReader,
    rules: Option<&RuleSet>,
    quiet: bool,
    each: &mut dyn FnMut(GraphEvent),
    mut summary: ReadSummary,
) -> Result<ReadSummary> {
    std::thread::scope(|scope| {
        let mut receivers = Vec::new();
        let mut readers = Vec::new();
        for path in files {
            let (tx, rx) = std::sync::mpsc::sync_channel::<GraphEvent>(CHANNEL_EVENTS);
            receivers.push(rx);
            let lanl = lanl.clone();
            readers.push(scope.spawn(move || {
                let mut part = ReadSummary::default();
                // A closed channel means the merge stopped: the rest is not needed.
                let mut send = |e| {
                    let _ = tx.send(e);
                };
                read_file(path, &lanl, rules, quiet, &mut send, &mut part);
                part
            }));
        }
        let mut heads: Vec<Option<GraphEvent>> = receivers.iter().map(|r| r.recv().ok()).collect();
        let mut heap = std::collections::BinaryHeap::new();
        for (i, h) in heads.iter().enumerate() {
            if let Some(e) = h {
                heap.push(std::cmp::Reverse((e.time, i)));
            }
        }
        while let Some(std::cmp::Reverse((_, i))) = heap.pop() {
            if let Some(e) = heads[i].take() {
                each(e);
                summary.events += 1;
            }
            if let Ok(next) = receivers[i].recv() {
                heap.push(std::cmp::Reverse((next.time, i)));
                heads[i] = Some(next);
            }
        }
        for r in readers {
            let part = r
                .join()
                .map_err(|_| anyhow::anyhow!("a reading thread failed"))?;
            summary.records += part.records;
            summary.errors += part.errors;
        }
        Ok(summary)
    })
}

/// One file, whatever it is, into `each`.
fn read_file(
    path: &Path,
    lanl: &LanlReader,
    rules: Option<&RuleSet>,
    quiet: bool,
    each: &mut dyn FnMut(GraphEvent),
    summary: &mut ReadSummary,
) {
    let name = path.display().to_string();
    match kind_of(path) {
        Some(Kind::Windows(fmt)) => {
            let mut sink = Sink {
                each,
                summary,
                rules,
            };
            read_windows(path, &name, fmt, quiet, &mut sink);
        }
        Some(Kind::Lanl) => {
            let mut reader = lanl.clone();
            reader.source = name;
            read_lanl(path, &reader, quiet, each, summary);
        }
        Some(Kind::ZeekConn) => read_zeek(path, &name, quiet, each, summary),
        Some(Kind::Activity) => read_activity(path, &name, quiet, each, summary),
        None => {}
    }
}

/// Where a file's events go, and the rules they are matched with.
struct Sink<'a> {
    each: &'a mut dyn FnMut(GraphEvent),
    summary: &'a mut ReadSummary,
    rules: Option<&'a RuleSet>,
}

fn read_windows(path: &Path, name: &str, fmt: DocFormat, quiet: bool, sink: &mut Sink<'_>) {
    let mut bad = Vec::new();
    let mut records = 0u64;
    let mut scratch = Scratch::default();
    let mut linux = LinuxAuth::default();
    let (mut hits, mut found) = (Vec::new(), Vec::new());
    let each_event = &mut *sink.each;
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
            if let Some(e) =
                windows_event(&rec.doc, &given).or_else(|| linux.event(&rec.doc, &given))
            {
                each_event(e);
            }
            if let Some(set) = rules {
                let ctx = DocContext {
                    file: Some(name),
                    record_id: rec.record_id,
                    timestamp_ms: rec.timestamp_ms,
                    line: Some(rec.line),
                };
                found.clear();
                sigma::match_document(set, &rec.doc, &ctx, &mut scratch, &mut hits, &mut found);
                for d in &found {
                    let line = EventRef::Line {
                        source: name.to_owned(),
                        line: rec.line,
                    };
                    if let Some(e) = detection_event(d, line) {
                        each_event(e);
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

/// A user activity file, read as the behavioural engine reads it (field aliases, CSV
/// headers): each sign-in and each resource used.
fn read_activity(
    path: &Path,
    name: &str,
    quiet: bool,
    each: &mut dyn FnMut(GraphEvent),
    summary: &mut ReadSummary,
) {
    let source = InputSource::Path(path.to_path_buf());
    let opts = warden_ingest::ReaderOptions::default();
    let reader = match ActivityReader::open_detect(&source, None, &FieldAliases::default(), &opts) {
        Ok(r) => r,
        Err(e) => return report(summary, quiet, || format!("{name}: {e}")),
    };
    for r in reader {
        summary.records += 1;
        match r {
            Ok(rec) => activity_event(&rec.activity)
                .into_iter()
                .for_each(&mut *each),
            Err(e) => report(summary, quiet, || e.to_string()),
        }
    }
}

/// A Zeek `conn.log` (TSV with its `#fields` header, or JSON lines): each connection with
/// both addresses and a time.
fn read_zeek(
    path: &Path,
    name: &str,
    quiet: bool,
    each: &mut dyn FnMut(GraphEvent),
    summary: &mut ReadSummary,
) {
    let opened = match InputSource::Path(path.to_path_buf()).open() {
        Ok(o) => o,
        Err(e) => return report(summary, quiet, || format!("{name}: {e}")),
    };
    let mut reader = FlowReader::new(FlowFormat::ZeekConn, opened.reader);
    while let Some(r) = reader.next() {
        summary.records += 1;
        match r {
            Ok(f) => {
                let line = EventRef::Line {
                    source: name.to_owned(),
                    line: reader.line(),
                };
                if let Some(e) = flow_event(&f, line) {
                    each(e);
                }
            }
            Err(e) => report(summary, quiet, || format!("{name}: {e}")),
        }
    }
}

fn read_lanl(
    path: &Path,
    reader: &LanlReader,
    quiet: bool,
    each: &mut dyn FnMut(GraphEvent),
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
            Ok(Some(e)) => each(e),
            Ok(None) => {}
            Err(e) => report(summary, quiet, || format!("{name}: {e}")),
        }
    }
}
