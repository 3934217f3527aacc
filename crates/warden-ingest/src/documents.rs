//! Log documents for rule hunting: every record of an EVTX file rendered as JSON
//! (`Event.System.*`, `Event.EventData.*`), every `<Event>` of an XML file in the same
//! shape ([`crate::xml`]), or every JSON object of a JSON file — JSON
//! Lines, pretty-printed objects one after another, or one array of objects; plain, gzip or
//! zstd. Files named `.jsonl`/`.ndjson` are read a line at a time (memory: one line);
//! other JSON files whole. A bad record is reported with its place and the reading goes on.

use std::io::{BufRead, Read};
use std::path::Path;

use serde_json::Value;

use crate::error::{ErrorKind, IngestError};
use crate::source::InputSource;

/// Largest JSON file read (JSON documents are held in memory while parsed).
pub const MAX_JSON_FILE_BYTES: u64 = 4 << 30;

/// One log document and where it came from.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub doc: Value,
    /// EVTX `EventRecordID` (from `Event.System`, else the record header).
    pub record_id: Option<u64>,
    /// EVTX record time, milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
    /// 1-based line where a JSON document starts (0 for EVTX).
    pub line: u64,
}

/// The container formats [`read_documents`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocFormat {
    Evtx,
    Json,
    /// Windows events rendered as XML (`<Event>` documents).
    Xml,
    /// Text logs, a document per line: syslog, CEF, LEEF ([`crate::text`]).
    Text,
    /// Zeek logs of any type, TSV or JSON ([`crate::zeek`]).
    Zeek,
}

/// Decides a file's format from its first bytes and name; `None` for other files.
pub fn sniff(path: &Path) -> Option<DocFormat> {
    let mut head = [0u8; 8];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .ok()?;
    if n >= 8 && &head == b"ElfFile\0" {
        return Some(DocFormat::Evtx);
    }
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(&name);
    if name.ends_with(".evtx") {
        return Some(DocFormat::Evtx);
    }
    if name.ends_with(".xml") {
        return Some(DocFormat::Xml);
    }
    if [".json", ".jsonl", ".ndjson"]
        .iter()
        .any(|e| name.ends_with(e))
    {
        return Some(DocFormat::Json);
    }
    if [".syslog", ".cef", ".leef"]
        .iter()
        .any(|e| name.ends_with(e))
    {
        return Some(DocFormat::Text);
    }
    // Log files by name (`auth.log`, `secure`, `messages.1`, `conn.log`): Zeek, JSON or
    // text by content.
    if is_log_name(name) {
        let opened = InputSource::Path(path.to_path_buf()).open().ok()?;
        let mut reader = opened.reader;
        let head = reader.fill_buf().ok()?;
        if crate::zeek::looks_like(name, head) {
            return Some(DocFormat::Zeek);
        }
        return match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{' | b'[') => Some(DocFormat::Json),
            _ if crate::text::looks_like(head) => Some(DocFormat::Text),
            _ => None,
        };
    }
    None
}

/// `x.log`, `x.log.1`, `messages`, `secure-20261201`, `syslog.2`…
fn is_log_name(name: &str) -> bool {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.' || c == '-');
    base.ends_with(".log")
        || name.contains(".log.")
        || [
            "messages", "secure", "syslog", "auth", "kern", "daemon", "maillog", "cron",
        ]
        .contains(&base)
}

/// Counts of one file's reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadCounts {
    pub records: u64,
    pub errors: u64,
    pub bytes: u64,
}

/// Reads every document of `path`, calling `each` with it or with the error of a bad one.
/// Returns `Err` only when the file cannot be read at all.
pub fn read_documents(
    path: &Path,
    format: DocFormat,
    threads: usize,
    each: &mut dyn FnMut(Result<LogRecord, IngestError>),
) -> Result<ReadCounts, IngestError> {
    match format {
        DocFormat::Evtx => read_evtx(path, threads, each),
        DocFormat::Json => read_json(path, each),
        DocFormat::Xml => read_xml(path, each),
        DocFormat::Text => read_text(path, each),
        DocFormat::Zeek => read_zeek(path, each),
    }
}

fn read_zeek(
    path: &Path,
    each: &mut dyn FnMut(Result<LogRecord, IngestError>),
) -> Result<ReadCounts, IngestError> {
    let name = path.display().to_string();
    let bytes = file_size(path, &name)?;
    let opened = InputSource::Path(path.to_path_buf()).open()?;
    let mut counts = ReadCounts {
        bytes,
        ..ReadCounts::default()
    };
    counts.records =
        crate::zeek::read(
            &name,
            opened.reader,
            opened.compression.name(),
            &mut |r| match r {
                Ok((doc, time, line)) => each(Ok(LogRecord {
                    doc,
                    record_id: None,
                    timestamp_ms: time.map(warden_event::Timestamp::millis),
                    line,
                })),
                Err(e) => {
                    counts.errors += 1;
                    each(Err(e));
                }
            },
        );
    Ok(counts)
}

fn read_text(
    path: &Path,
    each: &mut dyn FnMut(Result<LogRecord, IngestError>),
) -> Result<ReadCounts, IngestError> {
    let name = path.display().to_string();
    let bytes = file_size(path, &name)?;
    let source = InputSource::Path(path.to_path_buf());
    let opts = crate::ReaderOptions::default();
    let reader = crate::text::TextLogReader::open(&source, opts.max_line_bytes, opts.syslog)?;
    let mut counts = ReadCounts {
        bytes,
        ..ReadCounts::default()
    };
    for r in reader {
        match r {
            Ok(r) => {
                counts.records += 1;
                each(Ok(LogRecord {
                    doc: r.doc,
                    record_id: None,
                    timestamp_ms: r.time.map(warden_event::Timestamp::millis),
                    line: r.line,
                }));
            }
            Err(e) => {
                counts.errors += 1;
                let fatal = e.is_fatal_for_input();
                each(Err(e));
                if fatal {
                    break;
                }
            }
        }
    }
    Ok(counts)
}

/// A file's size in bytes, or the error naming it.
fn file_size(path: &Path, name: &str) -> Result<u64, IngestError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| IngestError::new(name, 0, ErrorKind::Open(e)))
}

fn read_xml(
    path: &Path,
    each: &mut dyn FnMut(Result<LogRecord, IngestError>),
) -> Result<ReadCounts, IngestError> {
    let name = path.display().to_string();
    let bytes = file_size(path, &name)?;
    let opened = InputSource::Path(path.to_path_buf()).open()?;
    let mut counts = ReadCounts {
        bytes,
        ..ReadCounts::default()
    };
    crate::xml::read_events(opened.reader, &mut |r| match r {
        Ok((doc, line)) => {
            counts.records += 1;
            let record_id = warden_event::winlog::WinDoc::new(&doc).record_id();
            each(Ok(LogRecord {
                doc,
                record_id,
                timestamp_ms: None,
                line,
            }));
        }
        Err((why, line)) => {
            counts.errors += 1;
            each(Err(IngestError::new(
                &name,
                line,
                ErrorKind::BadField {
                    field: "event",
                    reason: why,
                },
            )));
        }
    });
    Ok(counts)
}

fn read_evtx(
    path: &Path,
    threads: usize,
    each: &mut dyn FnMut(Result<LogRecord, IngestError>),
) -> Result<ReadCounts, IngestError> {
    let name = path.display().to_string();
    let bytes = file_size(path, &name)?;
    let settings = evtx::ParserSettings::new()
        .num_threads(threads)
        .separate_json_attributes(false);
    let mut parser = evtx::EvtxParser::from_path(path)
        .map_err(|e| IngestError::new(&name, 0, ErrorKind::Evtx(e.to_string())))?
        .with_configuration(settings);
    let mut counts = ReadCounts {
        bytes,
        ..ReadCounts::default()
    };
    for rec in parser.records_json_value() {
        match rec {
            Ok(r) => {
                counts.records += 1;
                // The EventRecordID the event carries is what other tools and analysts see;
                // the record header's number can differ in exported logs.
                let record_id = r
                    .data
                    .pointer("/Event/System/EventRecordID")
                    .and_then(Value::as_u64)
                    .or(Some(r.event_record_id));
                each(Ok(LogRecord {
                    doc: r.data,
                    record_id,
                    timestamp_ms: Some(r.timestamp.as_millisecond()),
                    line: 0,
                }));
            }
            Err(e) => {
                counts.errors += 1;
                each(Err(IngestError::new(
                    &name,
                    0,
                    ErrorKind::Evtx(first_line(&e.to_string())),
                )));
            }
        }
    }
    Ok(counts)
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

/// Longest line of a JSON Lines file (a longer one is an error in its place).
pub const MAX_JSON_LINE_BYTES: usize = 64 << 20;

/// Whether a file's name says JSON Lines (`.jsonl`, `.ndjson`, plain or compressed): read
/// a line at a time, never whole.
fn is_json_lines(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let name = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(&name);
    name.ends_with(".jsonl") || name.ends_with(".ndjson")
}

fn read_json(
    path: &Path,
    each: &mut dyn FnMut(Result<LogRecord, IngestError>),
) -> Result<ReadCounts, IngestError> {
    let src = InputSource::Path(path.to_path_buf());
    let name = path.display().to_string();
    let size = file_size(path, &name)?;
    let opened = src.open()?;
    if is_json_lines(path) {
        let mut counts = ReadCounts {
            bytes: size,
            ..ReadCounts::default()
        };
        read_json_lines(
            opened.reader,
            &name,
            opened.compression.name(),
            &mut counts,
            each,
        )?;
        return Ok(counts);
    }
    let compression = opened.compression.name();
    let mut buf = Vec::new();
    opened
        .reader
        .take(MAX_JSON_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| {
            IngestError::new(
                &name,
                0,
                ErrorKind::Read {
                    compression,
                    source: e,
                },
            )
        })?;
    if buf.len() as u64 > MAX_JSON_FILE_BYTES {
        return Err(IngestError::new(
            &name,
            0,
            ErrorKind::TooLarge {
                limit: MAX_JSON_FILE_BYTES,
            },
        ));
    }
    let mut counts = ReadCounts {
        bytes: size,
        ..ReadCounts::default()
    };
    parse_json_documents(&buf, &name, &mut counts, each);
    Ok(counts)
}

/// JSON Lines, one line at a time: each line is a document (an array on a line gives its
/// items); a bad line is an error naming its line and the reading goes on. Memory is one
/// line, whatever the file's size.
pub fn read_json_lines(
    mut reader: impl std::io::BufRead,
    name: &str,
    compression: &'static str,
    counts: &mut ReadCounts,
    each: &mut dyn FnMut(Result<LogRecord, IngestError>),
) -> Result<(), IngestError> {
    let mut buf = Vec::new();
    let mut line = 0u64;
    let read_err = |line, e| {
        IngestError::new(
            name,
            line,
            ErrorKind::Read {
                compression,
                source: e,
            },
        )
    };
    loop {
        buf.clear();
        line += 1;
        let n = (&mut reader)
            .take(MAX_JSON_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| read_err(line, e))?;
        if n == 0 {
            return Ok(());
        }
        if buf.len() > MAX_JSON_LINE_BYTES && buf.last() != Some(&b'\n') {
            // Skip the rest of the line, then go on.
            let mut rest = Vec::new();
            loop {
                rest.clear();
                let m = (&mut reader)
                    .take(1 << 20)
                    .read_until(b'\n', &mut rest)
                    .map_err(|e| read_err(line, e))?;
                if m == 0 || rest.last() == Some(&b'\n') {
                    break;
                }
            }
            counts.errors += 1;
            each(Err(IngestError::new(
                name,
                line,
                ErrorKind::LineTooLong {
                    length: buf.len(),
                    limit: MAX_JSON_LINE_BYTES,
                },
            )));
            continue;
        }
        let text = if line == 1 {
            buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf)
        } else {
            &buf[..]
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(text) {
            Ok(Value::Array(items)) => {
                for item in items {
                    emit(item, line, name, counts, each);
                }
            }
            Ok(v) => emit(v, line, name, counts, each),
            Err(e) => {
                counts.errors += 1;
                each(Err(IngestError::new(
                    name,
                    line,
                    ErrorKind::Json(e.to_string()),
                )));
            }
        }
    }
}

/// Splits a JSON text into documents: one array, or values one after another. After a bad
/// document the reading resumes at the next line that starts a JSON object. Nesting deeper
/// than serde_json's limit (128 levels) makes a document bad, not the reader crash.
pub fn parse_json_documents(
    buf: &[u8],
    name: &str,
    counts: &mut ReadCounts,
    each: &mut dyn FnMut(Result<LogRecord, IngestError>),
) {
    let buf = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(buf);
    // Lines are counted forward from the last place asked about: documents come in
    // order, so the whole text is scanned once (not once per document).
    let mut counted = (0usize, 1u64);
    let mut line_at = |offset: usize| {
        let offset = offset.min(buf.len());
        if offset < counted.0 {
            counted = (0, 1);
        }
        counted.1 += memchr::memchr_iter(b'\n', &buf[counted.0..offset]).count() as u64;
        counted.0 = offset;
        counted.1
    };
    let mut pos = 0;
    while pos < buf.len() {
        let Some(skip) = buf[pos..].iter().position(|b| !b.is_ascii_whitespace()) else {
            break;
        };
        pos += skip;
        let mut stream = serde_json::Deserializer::from_slice(&buf[pos..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                let start = pos;
                pos += stream.byte_offset();
                let line = line_at(start);
                match value {
                    Value::Array(items) => {
                        for item in items {
                            emit(item, line, name, counts, each);
                        }
                    }
                    v => emit(v, line, name, counts, each),
                }
            }
            Some(Err(e)) => {
                counts.errors += 1;
                each(Err(IngestError::new(
                    name,
                    line_at(pos) + e.line().saturating_sub(1) as u64,
                    ErrorKind::Json(e.to_string()),
                )));
                // Resume at the next line that opens an object.
                let mut next = None;
                for nl in memchr::memchr_iter(b'\n', &buf[pos..]) {
                    let at = pos + nl + 1;
                    if buf.get(at) == Some(&b'{') {
                        next = Some(at);
                        break;
                    }
                }
                match next {
                    Some(n) => pos = n,
                    None => break,
                }
            }
            None => break,
        }
    }
}

fn emit(
    v: Value,
    line: u64,
    name: &str,
    counts: &mut ReadCounts,
    each: &mut dyn FnMut(Result<LogRecord, IngestError>),
) {
    if !v.is_object() {
        counts.errors += 1;
        each(Err(IngestError::new(
            name,
            line,
            ErrorKind::Json("a log document must be a JSON object".into()),
        )));
        return;
    }
    counts.records += 1;
    let record_id = v
        .pointer("/Event/System/EventRecordID")
        .and_then(Value::as_u64);
    each(Ok(LogRecord {
        doc: v,
        record_id,
        timestamp_ms: None,
        line,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> (Vec<u64>, Vec<u64>) {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        let mut counts = ReadCounts::default();
        parse_json_documents(text.as_bytes(), "t.json", &mut counts, &mut |r| match r {
            Ok(r) => ok.push(r.line),
            Err(e) => bad.push(e.line),
        });
        (ok, bad)
    }

    #[test]
    fn json_lines_concatenated_and_arrays() {
        assert_eq!(docs("{\"a\":1}\n{\"a\":2}\n"), (vec![1, 2], vec![]));
        assert_eq!(
            docs("{\n \"a\": 1\n}\n{\n \"a\": 2\n}\n"),
            (vec![1, 4], vec![])
        );
        assert_eq!(docs("[{\"a\":1},{\"a\":2}]"), (vec![1, 1], vec![]));
    }

    #[test]
    fn bad_documents_do_not_lose_neighbours() {
        let (ok, bad) = docs("{\"a\":1}\n{\"a\": nope}\n{\"a\":3}\n42\n");
        assert_eq!(ok, [1, 3]);
        assert_eq!(bad, [2, 4]);
    }

    fn lines(text: &str) -> (Vec<u64>, Vec<u64>, ReadCounts) {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        let mut counts = ReadCounts::default();
        let r = read_json_lines(
            text.as_bytes(),
            "t.jsonl",
            "plain",
            &mut counts,
            &mut |r| match r {
                Ok(r) => ok.push(r.line),
                Err(e) => bad.push(e.line),
            },
        );
        assert!(r.is_ok());
        (ok, bad, counts)
    }

    #[test]
    fn json_lines_are_read_a_line_at_a_time_naming_bad_lines() {
        let (ok, bad, c) =
            lines("\u{feff}{\"a\":1}\n\n{\"a\": nope}\n[{\"a\":2},{\"a\":3}]\n42\n{\"a\":4}");
        assert_eq!(ok, [1, 4, 4, 6]);
        assert_eq!(bad, [3, 5]);
        assert_eq!((c.records, c.errors), (4, 2));
        // A pretty-printed object is not JSON Lines: its lines are errors, its neighbours read.
        let (ok, bad, _) = lines("{\n\"a\": 1\n}\n{\"b\":2}\n");
        assert_eq!(ok, [4]);
        assert_eq!(bad, [1, 2, 3]);
    }

    #[test]
    fn a_jsonl_file_is_streamed_and_a_json_file_read_whole_with_the_same_documents() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let text = "{\"Event\":{\"System\":{\"EventRecordID\":7}}}\n{\"a\":2}\n";
        let mut got = Vec::new();
        for name in ["x.jsonl", "x.json"] {
            let p = dir.path().join(name);
            std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
            let mut ids = Vec::new();
            read_documents(&p, DocFormat::Json, 1, &mut |r| {
                if let Ok(r) = r {
                    ids.push((r.line, r.record_id));
                }
            })
            .unwrap_or_else(|e| panic!("{e}"));
            got.push(ids);
        }
        assert_eq!(got[0], [(1, Some(7)), (2, None)]);
        assert_eq!(got[0], got[1]);
    }

    #[test]
    fn truncated_evtx_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("cut.evtx");
        let mut bytes = b"ElfFile\0".to_vec();
        bytes.extend(std::iter::repeat_n(0u8, 100));
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sniff(&p), Some(DocFormat::Evtx));
        let mut seen = 0;
        let r = read_documents(&p, DocFormat::Evtx, 1, &mut |_| seen += 1);
        assert!(r.is_err() || seen > 0);
    }
}
