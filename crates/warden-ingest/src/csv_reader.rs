//! CSV with a header row: columns are matched to fields through the alias table once per
//! input, then each row is converted field by field.

use crate::fields::{ActivityBuilder, Field, FieldAliases, KeyMatch, Scalar};
use crate::{ErrorKind, IngestError, Record};
use std::borrow::Cow;
use std::io::BufRead;

/// Iterates the records of one CSV input.
pub struct CsvReader {
    name: String,
    reader: csv::Reader<Box<dyn BufRead + Send>>,
    columns: Option<Vec<Option<Field>>>,
    compression: &'static str,
    row: csv::StringRecord,
    done: bool,
}

impl CsvReader {
    pub fn new(name: String, reader: Box<dyn BufRead + Send>, compression: &'static str) -> Self {
        let reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(reader);
        Self {
            name,
            reader,
            columns: None,
            compression,
            row: csv::StringRecord::new(),
            done: false,
        }
    }

    fn columns(&mut self, aliases: &FieldAliases) -> Result<&[Option<Field>], IngestError> {
        if self.columns.is_none() {
            let headers = match self.reader.headers() {
                Ok(h) => h.clone(),
                Err(e) => return Err(self.csv_error(e, 1)),
            };
            let cols = headers
                .iter()
                .map(
                    |h| match aliases.resolve(h.trim_start_matches('\u{feff}')) {
                        KeyMatch::Field(f) | KeyMatch::FieldOrPrefix(f) => Some(f),
                        _ => None,
                    },
                )
                .collect();
            self.columns = Some(cols);
        }
        Ok(self.columns.as_deref().unwrap_or(&[]))
    }

    fn csv_error(&self, e: csv::Error, fallback_line: u64) -> IngestError {
        let line = e.position().map(|p| p.line()).unwrap_or(fallback_line);
        let kind = match e.kind() {
            csv::ErrorKind::Utf8 { .. } => ErrorKind::Utf8,
            csv::ErrorKind::Io(_) => match e.into_kind() {
                csv::ErrorKind::Io(source) => ErrorKind::Read {
                    compression: self.compression,
                    source,
                },
                other => ErrorKind::Csv(format!("{other:?}")),
            },
            _ => ErrorKind::Csv(e.to_string()),
        };
        IngestError::new(&self.name, line, kind)
    }

    /// The next record; `aliases` resolves the header on first use.
    pub fn next_record(&mut self, aliases: &FieldAliases) -> Option<Result<Record, IngestError>> {
        if self.done {
            return None;
        }
        if let Err(e) = self.columns(aliases) {
            self.done = true;
            return Some(Err(e));
        }
        match self.reader.read_record(&mut self.row) {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                self.done = fatal;
                let line = self.reader.position().line();
                return Some(Err(self.csv_error(e, line)));
            }
        }
        let line = self.row.position().map(|p| p.line()).unwrap_or(0);
        let columns = self.columns.as_deref().unwrap_or(&[]);
        let mut b = ActivityBuilder::new();
        for (value, field) in self.row.iter().zip(columns) {
            if let Some(f) = field {
                b.set(*f, Scalar::Str(Cow::Borrowed(value)));
            }
        }
        Some(
            b.finish()
                .map(|activity| Record { activity, line })
                .map_err(|kind| IngestError::new(&self.name, line, kind)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn read(data: &str) -> Vec<Result<Record, IngestError>> {
        let mut r = CsvReader::new(
            "t.csv".into(),
            Box::new(Cursor::new(data.as_bytes().to_vec())),
            "plain",
        );
        let aliases = FieldAliases::default();
        std::iter::from_fn(|| r.next_record(&aliases)).collect()
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
    fn invalid_utf8_row_is_reported_and_skipped() {
        let mut data = b"user_id,timestamp\n".to_vec();
        data.extend_from_slice(b"\xff\xfe,2026-04-02T01:58:06Z\nbob,2026-04-02T01:58:06Z\n");
        let mut r = CsvReader::new("t.csv".into(), Box::new(Cursor::new(data)), "plain");
        let aliases = FieldAliases::default();
        let got: Vec<_> = std::iter::from_fn(|| r.next_record(&aliases)).collect();
        assert_eq!(got.len(), 2);
        assert!(matches!(got[0].as_ref().unwrap_err().kind, ErrorKind::Utf8));
        assert_eq!(got[1].as_ref().unwrap().activity.user_id, "bob");
    }
}
