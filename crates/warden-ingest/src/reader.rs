//! [`ActivityReader`]: one iterator over an input, whatever its format.

use crate::csv_reader::CsvReader;
use crate::jsonl::JsonLinesReader;
use crate::source::{Compression, Format, InputSource};
use crate::text::{TextActivities, TextLogReader};
use crate::{FieldAliases, IngestError, ReaderOptions};
use std::io::BufRead;
use warden_event::UserActivity;

/// One parsed activity and the line it came from.
#[derive(Debug, Clone)]
pub struct Record {
    pub activity: UserActivity,
    pub line: u64,
}

/// Reads activities from one input; yields an error for each bad record and goes on.
pub enum ActivityReader {
    Json(Box<JsonLinesReader>),
    Csv(Box<CsvReader>, FieldAliases),
    /// The authentication attempts of a text log.
    Text(Box<TextActivities>),
}

impl ActivityReader {
    /// Opens `source`; `format` overrides detection by name (then by content).
    pub fn open(
        source: &InputSource,
        format: Format,
        aliases: &FieldAliases,
        opts: &ReaderOptions,
    ) -> Result<Self, IngestError> {
        Self::open_detect(source, Some(format), aliases, opts)
    }

    /// Opens `source`, detecting its format from its name, or else its first bytes.
    pub fn open_detect(
        source: &InputSource,
        forced: Option<Format>,
        aliases: &FieldAliases,
        opts: &ReaderOptions,
    ) -> Result<Self, IngestError> {
        let mut opened = source.open()?;
        let format = match forced.or_else(|| source.format_hint()) {
            Some(f) => f,
            None => Format::sniff(opened.reader.fill_buf().unwrap_or(&[])),
        };
        if format == Format::Text && matches!(source, InputSource::Path(_)) {
            // A file is reopened from its start, so BSD timestamps are dated by its time.
            drop(opened);
            let reader = TextLogReader::open(source, opts.max_line_bytes, opts.syslog)?;
            return Ok(Self::Text(Box::new(TextActivities::new(reader))));
        }
        Ok(Self::from_reader(
            opened.name,
            opened.reader,
            opened.compression,
            format,
            aliases,
            opts,
        ))
    }

    fn from_reader(
        name: String,
        reader: Box<dyn BufRead + Send>,
        compression: Compression,
        format: Format,
        aliases: &FieldAliases,
        opts: &ReaderOptions,
    ) -> Self {
        match format {
            Format::JsonLines => Self::Json(Box::new(JsonLinesReader::new(
                name,
                reader,
                compression.name(),
                aliases.clone(),
                opts.max_line_bytes,
            ))),
            Format::Csv => Self::Csv(
                Box::new(CsvReader::new(
                    name,
                    reader,
                    compression.name(),
                    opts.max_line_bytes,
                )),
                aliases.clone(),
            ),
            Format::Text => Self::Text(Box::new(TextActivities::new(TextLogReader::new(
                name,
                reader,
                compression.name(),
                opts.max_line_bytes,
                opts.syslog,
            )))),
        }
    }
}

impl Iterator for ActivityReader {
    type Item = Result<Record, IngestError>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Json(r) => r.next(),
            Self::Csv(r, aliases) => r.next_record(aliases),
            Self::Text(r) => r.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn truncated_gzip_keeps_earlier_records_and_reports_once() {
        let mut text = String::new();
        for i in 0..2000 {
            text.push_str(&format!(
                "{{\"user_id\":\"u{i}\",\"timestamp\":\"2026-04-02T01:58:06Z\",\"resource_accessed\":\"r{i}\"}}\n"
            ));
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let mut data = gz.finish().unwrap();
        data.truncate(data.len() / 2);
        let src = InputSource::from_bytes("cut.jsonl.gz", data);
        let reader = ActivityReader::open_detect(
            &src,
            None,
            &FieldAliases::default(),
            &ReaderOptions::default(),
        )
        .unwrap();
        let results: Vec<_> = reader.collect();
        let ok = results.iter().filter(|r| r.is_ok()).count();
        let errs: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(ok > 100, "records before the cut are kept ({ok})");
        assert!(!errs.is_empty() && errs.len() <= 2, "{errs:?}");
        assert!(
            errs.last().unwrap().to_string().contains("gzip"),
            "{}",
            errs.last().unwrap()
        );
    }

    #[test]
    fn sniffs_csv_on_stdin_like_sources() {
        let src = InputSource::from_bytes(
            "noext",
            b"user_id,timestamp\na,2026-04-02T01:58:06Z\n".to_vec(),
        );
        let reader = ActivityReader::open_detect(
            &src,
            None,
            &FieldAliases::default(),
            &ReaderOptions::default(),
        )
        .unwrap();
        assert!(matches!(reader, ActivityReader::Csv(..)));
        assert_eq!(reader.count(), 1);
    }
}
