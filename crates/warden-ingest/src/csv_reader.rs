//! CSV with a header row: columns are matched to fields through the alias table once per
//! input, then each row is converted field by field.
//!
//! Physical lines come from the bounded [`LineReader`], so no row can make Warden buffer
//! more than the line limit; a quoted field may span lines, and such a record is joined
//! (within the same limit) before `csv_core`'s state machine, built once per input, parses
//! it.

use crate::fields::{ActivityBuilder, Field, FieldAliases, KeyMatch, Scalar};
use crate::lines::{Line, LineReader};
use crate::{ErrorKind, IngestError, Record};
use csv_core::ReadRecordResult;
use std::borrow::Cow;
use std::io::BufRead;

/// Iterates the records of one CSV input.
pub struct CsvReader {
    name: String,
    lines: LineReader<Box<dyn BufRead + Send>>,
    columns: Option<Vec<Option<Field>>>,
    compression: &'static str,
    limit: usize,
    line: Vec<u8>,
    record: Vec<u8>,
    /// The CSV state machine (RFC 4180 with `""` escapes), and its output buffers.
    parser: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    done: bool,
}

/// One logical record read from the input.
enum Raw {
    Record(u64),
    Error(IngestError),
    End,
}

fn unbalanced_quotes(bytes: &[u8]) -> bool {
    bytes.iter().filter(|b| **b == b'"').count() % 2 == 1
}

impl CsvReader {
    pub fn new(
        name: String,
        reader: Box<dyn BufRead + Send>,
        compression: &'static str,
        limit: usize,
    ) -> Self {
        Self {
            name,
            lines: LineReader::new(reader, limit),
            columns: None,
            compression,
            limit,
            line: Vec::with_capacity(1024),
            record: Vec::with_capacity(1024),
            parser: csv_core::Reader::new(),
            out: Vec::new(),
            ends: Vec::new(),
            done: false,
        }
    }

    fn error(&self, line: u64, kind: ErrorKind) -> IngestError {
        IngestError::new(&self.name, line, kind)
    }

    /// Reads the next non-blank logical record into `self.record`.
    fn next_raw(&mut self) -> Raw {
        self.record.clear();
        let mut first_line = 0;
        loop {
            let line = match self.lines.next_line(&mut self.line) {
                Ok(Some(l)) => l,
                Ok(None) if self.record.is_empty() => return Raw::End,
                Ok(None) => {
                    return Raw::Error(self.error(
                        first_line,
                        ErrorKind::Csv("unterminated quoted field at end of input".into()),
                    ));
                }
                Err(source) => {
                    self.done = true;
                    let kind = ErrorKind::Read {
                        compression: self.compression,
                        source,
                    };
                    return Raw::Error(self.error(self.lines.line_no() + 1, kind));
                }
            };
            let n = match line {
                Line::Ok(n) => n,
                Line::TooLong(n, length) => {
                    self.record.clear();
                    return Raw::Error(self.error(
                        n,
                        ErrorKind::LineTooLong {
                            length,
                            limit: self.limit,
                        },
                    ));
                }
            };
            if self.record.is_empty() {
                if self.line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                first_line = n;
            } else {
                self.record.push(b'\n');
            }
            if self.record.len() + self.line.len() > self.limit {
                let length = self.record.len() + self.line.len();
                self.record.clear();
                return Raw::Error(self.error(
                    first_line,
                    ErrorKind::LineTooLong {
                        length,
                        limit: self.limit,
                    },
                ));
            }
            self.record.extend_from_slice(&self.line);
            if !unbalanced_quotes(&self.record) {
                return Raw::Record(first_line);
            }
        }
    }

    /// Parses the record in `self.record` into its fields, each trimmed. The CSV state
    /// machine is built once per input and reset for each record: building it costs more
    /// than parsing a typical row.
    fn fields(&mut self, line: u64) -> Result<csv::StringRecord, IngestError> {
        self.parser.reset();
        // Unquoting only shrinks a field, and a record has at most one field per byte
        // (and one more), so neither buffer can run out.
        self.out.clear();
        self.out.resize(self.record.len() + 1, 0);
        self.ends.clear();
        self.ends.resize(self.record.len() + 2, 0);
        let (mut input, mut nout, mut nends) = (self.record.as_slice(), 0, 0);
        loop {
            let (res, nin, o, e) =
                self.parser
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nends..]);
            input = &input[nin..];
            nout += o;
            nends += e;
            match res {
                // The whole record is in `input`: an empty input marks its end.
                ReadRecordResult::InputEmpty if !input.is_empty() => {}
                ReadRecordResult::InputEmpty => {
                    let (res, _, _, e) = self.parser.read_record(
                        &[],
                        &mut self.out[nout..],
                        &mut self.ends[nends..],
                    );
                    nends += e;
                    debug_assert!(matches!(
                        res,
                        ReadRecordResult::Record | ReadRecordResult::End
                    ));
                    break;
                }
                ReadRecordResult::Record | ReadRecordResult::End => break,
                ReadRecordResult::OutputFull | ReadRecordResult::OutputEndsFull => {
                    return Err(self.error(line, ErrorKind::Csv("record too complex".into())));
                }
            }
        }
        let mut row = csv::StringRecord::with_capacity(self.record.len(), nends);
        let mut start = 0;
        for &end in &self.ends[..nends] {
            let field = std::str::from_utf8(&self.out[start..end])
                .map_err(|_| self.error(line, ErrorKind::Utf8))?;
            row.push_field(field.trim());
            start = end;
        }
        Ok(row)
    }

    /// The next record; `aliases` resolves the header on first use.
    pub fn next_record(&mut self, aliases: &FieldAliases) -> Option<Result<Record, IngestError>> {
        while !self.done {
            let line = match self.next_raw() {
                Raw::End => {
                    self.done = true;
                    return None;
                }
                Raw::Error(e) => return Some(Err(e)),
                Raw::Record(n) => n,
            };
            let row = match self.fields(line) {
                Ok(r) => r,
                Err(e) => {
                    // Without a header nothing after it can be read.
                    self.done = self.columns.is_none();
                    return Some(Err(e));
                }
            };
            let Some(columns) = &self.columns else {
                self.columns = Some(
                    row.iter()
                        .map(
                            |h| match aliases.resolve(h.trim_start_matches('\u{feff}')) {
                                KeyMatch::Field(f) | KeyMatch::FieldOrPrefix(f) => Some(f),
                                _ => None,
                            },
                        )
                        .collect(),
                );
                continue;
            };
            let mut b = ActivityBuilder::new();
            for (value, field) in row.iter().zip(columns) {
                if let Some(f) = field {
                    b.set(*f, Scalar::Str(Cow::Borrowed(value)));
                }
            }
            return Some(
                b.finish()
                    .map(|activity| Record { activity, line })
                    .map_err(|kind| self.error(line, kind)),
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Cursor;

    fn read_with(data: &[u8], limit: usize) -> Vec<Result<Record, IngestError>> {
        let mut r = CsvReader::new(
            "t.csv".into(),
            Box::new(Cursor::new(data.to_vec())),
            "plain",
            limit,
        );
        let aliases = FieldAliases::default();
        std::iter::from_fn(|| r.next_record(&aliases)).collect()
    }

    fn read(data: &str) -> Vec<Result<Record, IngestError>> {
        read_with(data.as_bytes(), 1 << 20)
    }

    #[test]
    fn reads_rows_with_aliases_and_reports_bad_ones() {
        let got = read(
            "User,Time,lat,lon,bytes,success\n\
             alice,2026-04-02T01:58:06Z,51.5,-0.1,1000000000,true\n\
             bob,not-a-time,,,,\n\
             \"carol, jr\",1775095086,,,,no\n",
        );
        assert_eq!(got.len(), 3);
        let a = &got[0].as_ref().unwrap().activity;
        assert_eq!(a.user_id, "alice");
        assert!((a.data_transferred_gb - 1.0).abs() < 1e-12);
        let e = got[1].as_ref().unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.to_string().starts_with("t.csv:3: field `timestamp`"),
            "{e}"
        );
        let c = &got[2].as_ref().unwrap().activity;
        assert_eq!(c.user_id, "carol, jr");
        assert!(!c.success);
    }

    #[test]
    fn quoted_fields_may_span_lines() {
        let got = read(
            "user_id,timestamp,resource\r\n\"multi\nline\",2026-04-02T01:58:06Z,\"a \"\"b\"\"\"\nbob,2026-04-02T01:58:06Z,x\n",
        );
        assert_eq!(got.len(), 2);
        let a = &got[0].as_ref().unwrap().activity;
        assert_eq!(a.user_id, "multi\nline");
        assert_eq!(a.resource_accessed.as_deref(), Some("a \"b\""));
        assert_eq!(got[1].as_ref().unwrap().line, 4);
    }

    #[test]
    fn invalid_utf8_row_is_reported_and_skipped() {
        let mut data = b"user_id,timestamp\n".to_vec();
        data.extend_from_slice(b"\xff\xfe,2026-04-02T01:58:06Z\nbob,2026-04-02T01:58:06Z\n");
        let got = read_with(&data, 1 << 20);
        assert_eq!(got.len(), 2);
        assert!(matches!(got[0].as_ref().unwrap_err().kind, ErrorKind::Utf8));
        assert_eq!(got[1].as_ref().unwrap().activity.user_id, "bob");
    }

    #[test]
    fn oversized_rows_and_runaway_quotes_are_bounded() {
        let mut data = b"user_id,timestamp\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 5000));
        data.extend_from_slice(b",2026-04-02T01:58:06Z\nok,2026-04-02T01:58:06Z\n\"open,");
        data.extend(std::iter::repeat_n(b"y\n".as_slice(), 3000).flatten());
        let got = read_with(&data, 1000);
        assert!(matches!(
            got[0].as_ref().unwrap_err().kind,
            ErrorKind::LineTooLong { .. }
        ));
        assert_eq!(got[1].as_ref().unwrap().activity.user_id, "ok");
        assert!(
            got[2..].iter().all(|r| r.is_err()),
            "the runaway quote never becomes a record"
        );
    }

    proptest! {
        /// Each record's fields are the ones the `csv` crate reads (trimmed, flexible).
        #[test]
        fn fields_are_the_csv_crates(record in proptest::collection::vec(prop_oneof![
            Just(b'a'), Just(b' '), Just(b','), Just(b'"'), Just(b'\r'), Just(b'\n'), Just(0xc3u8), Just(0xa9u8),
        ], 1..60)) {
            let mut r = CsvReader::new("t.csv".into(), Box::new(std::io::empty()), "", 1 << 16);
            r.record = record.clone();
            let mine = r.fields(1).map(|f| f.iter().map(str::to_owned).collect::<Vec<_>>());
            let mut theirs = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .trim(csv::Trim::All)
                .from_reader(record.as_slice());
            let mut row = csv::StringRecord::new();
            let expected = theirs
                .read_record(&mut row)
                .map(|_| row.iter().map(str::to_owned).collect::<Vec<_>>());
            match (mine, expected) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
                (Err(_), Err(_)) => {}
                (a, b) => prop_assert!(false, "{a:?} vs {b:?}"),
            }
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(data in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b','), Just(b'\n'), Just(b'"')], 0..400)) {
            let mut input = b"user_id,timestamp\n".to_vec();
            input.extend_from_slice(&data);
            let _ = read_with(&input, 64);
        }
    }
}
