//! Errors of loading a rule: what went wrong, in which file, at which line, in which rule.

use std::fmt;
use std::path::PathBuf;

/// Where a problem is: file (when loaded from disk), line (1-based, when known), rule id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub rule_id: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            wrote = true;
        }
        if let Some(line) = self.line {
            write!(f, "{}line {line}", if wrote { ":" } else { "" })?;
            wrote = true;
        }
        if let Some(id) = &self.rule_id {
            write!(f, "{}rule {id}", if wrote { ": " } else { "" })?;
        }
        Ok(())
    }
}

/// Why a rule could not be loaded. The variants are the reasons `rules lint` groups by.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("invalid yaml: {0}")]
    Yaml(String),
    #[error("not a sigma rule: {0}")]
    Structure(String),
    #[error("condition: {0}")]
    Condition(String),
    #[error("unknown modifier '{0}'")]
    UnknownModifier(String),
    #[error("modifier: {0}")]
    Modifier(String),
    #[error("invalid regex: {0}")]
    Regex(String),
    #[error("unknown placeholder %{0}% (define it under placeholders in the mapping file)")]
    Placeholder(String),
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("correlation: {0}")]
    Correlation(String),
    #[error("limit: {0}")]
    Limit(String),
    #[error("cannot read: {0}")]
    Io(String),
}

impl ErrorKind {
    /// A short stable name for grouping reasons in reports.
    pub fn reason(&self) -> &'static str {
        match self {
            ErrorKind::Yaml(_) => "invalid-yaml",
            ErrorKind::Structure(_) => "structure",
            ErrorKind::Condition(_) => "condition",
            ErrorKind::UnknownModifier(_) => "unknown-modifier",
            ErrorKind::Modifier(_) => "modifier",
            ErrorKind::Regex(_) => "regex",
            ErrorKind::Placeholder(_) => "unknown-placeholder",
            ErrorKind::Unsupported(_) => "unsupported",
            ErrorKind::Correlation(_) => "correlation",
            ErrorKind::Limit(_) => "limit",
            ErrorKind::Io(_) => "io",
        }
    }
}

/// A rule-loading error with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigmaError {
    pub location: Location,
    pub kind: ErrorKind,
}

impl SigmaError {
    pub fn new(kind: ErrorKind) -> Self {
        SigmaError {
            location: Location::default(),
            kind,
        }
    }

    pub fn with_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.location.file.get_or_insert_with(|| file.into());
        self
    }

    pub fn with_line(mut self, line: Option<usize>) -> Self {
        if self.location.line.is_none() {
            self.location.line = line;
        }
        self
    }

    pub fn with_rule(mut self, id: Option<&str>) -> Self {
        if self.location.rule_id.is_none() {
            self.location.rule_id = id.map(str::to_owned);
        }
        self
    }
}

impl fmt::Display for SigmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.location == Location::default() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{}: {}", self.location, self.kind)
        }
    }
}

impl std::error::Error for SigmaError {}

impl From<ErrorKind> for SigmaError {
    fn from(kind: ErrorKind) -> Self {
        SigmaError::new(kind)
    }
}

pub type Result<T, E = SigmaError> = std::result::Result<T, E>;
