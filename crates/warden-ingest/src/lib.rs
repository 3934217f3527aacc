//! Readers that turn files, folders and stdin into [`UserActivity`] records.
//!
//! - [`source`]: find inputs (files, folders recursively, `-` for stdin), open them and undo
//!   gzip/zstd compression (recognised by its magic bytes, whatever the file name).
//! - [`lines`]: a line reader with a hard limit on line length, so one giant line cannot
//!   exhaust memory or drop its neighbours.
//! - [`fields`]: the field-name alias table (configurable) and typed value conversion.
//! - [`classify`]: one classifier for every source: a JSON document becomes a typed
//!   record (user activity or log event) under the same limits.
//! - [`flows`]: network-flow readers (NSL-KDD, UNSW-NB15, Zeek `conn.log`).
//! - [`text`]: text logs, one record per line: syslog (RFC 5424/3164), CEF, LEEF, with
//!   Linux authentication events recognised.
//! - [`zeek`]: Zeek logs of every type (TSV with headers, or JSON) as documents.
//! - [`follow`]: a file read as it grows, across rotations (`--follow`).
//! - [`geoip`]: places and autonomous systems of addresses, from a MaxMind DB file.
//! - [`documents`]: whole log documents (EVTX records, JSON objects) for rule hunting.
//! - [`jsonl`] and [`csv_reader`]: the two formats, each an iterator of
//!   `Result<Record, IngestError>` where every error names the file, line and field.
//!
//! ```
//! use warden_ingest::{ActivityReader, FieldAliases, Format, InputSource, ReaderOptions};
//! let data = br#"{"user_id":"alice","timestamp":"2026-04-02T01:58:06Z","activity_type":"login"}
//! not json
//! {"user":"bob","@timestamp":"2026-04-02T02:00:00Z"}
//! "#;
//! let opts = ReaderOptions::default();
//! let aliases = FieldAliases::default();
//! let src = InputSource::from_bytes("inline.jsonl", data.to_vec());
//! let reader = ActivityReader::open(&src, Format::JsonLines, &aliases, &opts).unwrap();
//! let results: Vec<_> = reader.collect();
//! assert_eq!(results.len(), 3);
//! assert!(results[1].is_err());
//! assert_eq!(results[2].as_ref().unwrap().activity.user_id, "bob");
//! ```

pub mod classify;
pub mod config;
pub mod csv_reader;
pub mod documents;
mod error;
pub mod fields;
pub mod flows;
pub mod follow;
pub mod geoip;
pub mod jsonl;
pub mod lines;
mod reader;
pub mod source;
pub mod text;
pub mod xml;
pub mod zeek;

pub use config::{GeoIpConfig, IngestConfig, IngestConfigError, SyslogConfig};
pub use error::{ErrorKind, IngestError};
pub use fields::{Field, FieldAliases};
pub use reader::{ActivityReader, Record};
pub use source::{Format, InputSource, discover_inputs};

/// Limits and switches shared by every reader.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Longest accepted record in bytes; longer lines are skipped and reported.
    pub max_line_bytes: usize,
    /// How syslog times without a year or zone are read.
    pub syslog: text::SyslogOptions,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            max_line_bytes: 1 << 20,
            syslog: text::SyslogOptions::default(),
        }
    }
}
