//! Ingest errors: every one names where it happened (source, line) and what was wrong.

use std::fmt;

/// What went wrong with one record or one input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("cannot open input: {0}")]
    Open(#[source] std::io::Error),
    #[error("read failed (truncated or corrupt {compression} stream?): {source}")]
    Read {
        compression: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("line longer than the {limit}-byte limit ({length} bytes); skipped")]
    LineTooLong { length: usize, limit: usize },
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("invalid CSV: {0}")]
    Csv(String),
    #[error("record is not valid UTF-8")]
    Utf8,
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    #[error("invalid EVTX: {0}")]
    Evtx(String),
    #[error("file larger than the {limit}-byte limit for this format")]
    TooLarge { limit: u64 },
    #[error("unrecognised line: {0}")]
    Unrecognised(String),
    #[error("field `{field}`: {reason}")]
    BadField { field: &'static str, reason: String },
}

/// An error with the input and line it belongs to.
#[derive(Debug)]
pub struct IngestError {
    /// The input's display name (a path, or `<stdin>`).
    pub source_name: String,
    /// 1-based line number, 0 when the error concerns the whole input.
    pub line: u64,
    pub kind: ErrorKind,
}

impl IngestError {
    pub fn new(source_name: &str, line: u64, kind: ErrorKind) -> Self {
        Self {
            source_name: source_name.to_owned(),
            line,
            kind,
        }
    }

    /// Whether this error ends the input (nothing more can be read from it).
    pub fn is_fatal_for_input(&self) -> bool {
        matches!(self.kind, ErrorKind::Open(_) | ErrorKind::Read { .. })
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.source_name, self.line, self.kind)
        } else {
            write!(f, "{}: {}", self.source_name, self.kind)
        }
    }
}

impl std::error::Error for IngestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.kind.source()
    }
}
