//! The parsed form of Sigma documents (rules, correlations, filters): what the YAML said,
//! checked for shape, before any compilation.

use std::fmt;
use std::path::PathBuf;

use crate::modifiers::Modifier;

/// Severity of a rule, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    #[default]
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `logsource:` of a rule; values lower-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

/// Descriptive fields every document kind shares.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: String,
    pub level: Level,
    pub status: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub tags: Vec<String>,
    pub falsepositives: Vec<String>,
    pub file: Option<PathBuf>,
    /// 1-based line of the document's start in its file.
    pub line: usize,
}

impl Meta {
    /// ATT&CK technique and tactic tags (`attack.*`), as written.
    pub fn attack_tags(&self) -> impl Iterator<Item = &str> {
        self.tags
            .iter()
            .map(String::as_str)
            .filter(|t| t.starts_with("attack."))
    }
}

/// A scalar value as written in the rule.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Str(String),
    Int(i64),
    /// Kept as written; parsed when a numeric comparison needs it.
    Float(String),
    Bool(bool),
    Null,
}

impl RawValue {
    /// The value as text, as Sigma compares it (numbers by their written form).
    pub fn as_text(&self) -> Option<String> {
        match self {
            RawValue::Str(s) | RawValue::Float(s) => Some(s.clone()),
            RawValue::Int(i) => Some(i.to_string()),
            RawValue::Bool(b) => Some(b.to_string()),
            RawValue::Null => None,
        }
    }
}

/// One `field|modifiers: values` item of a selection, or a keyword list (`field: None`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    pub values: Vec<RawValue>,
    /// The key as written (for messages and line lookup).
    pub key: String,
}

/// A search identifier: OR over alternatives, each an AND of field specs.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub alternatives: Vec<Vec<FieldSpec>>,
}

/// `detection:` — named searches and the condition(s).
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub searches: Vec<(String, Search)>,
    pub conditions: Vec<String>,
}

impl Detection {
    pub fn search(&self, name: &str) -> Option<&Search> {
        self.searches
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }
}

/// A detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub meta: Meta,
    pub logsource: LogSource,
    pub detection: Detection,
}

/// The correlation types of the Sigma 2.1 correlation specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
}

impl CorrelationType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "event_count" => Self::EventCount,
            "value_count" => Self::ValueCount,
            "temporal" => Self::Temporal,
            "temporal_ordered" => Self::TemporalOrdered,
            "value_sum" => Self::ValueSum,
            "value_avg" => Self::ValueAvg,
            "value_percentile" => Self::ValuePercentile,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventCount => "event_count",
            Self::ValueCount => "value_count",
            Self::Temporal => "temporal",
            Self::TemporalOrdered => "temporal_ordered",
            Self::ValueSum => "value_sum",
            Self::ValueAvg => "value_avg",
            Self::ValuePercentile => "value_percentile",
        }
    }

    /// Whether the type aggregates a `field` named in its condition.
    pub fn needs_field(self) -> bool {
        matches!(
            self,
            Self::ValueCount | Self::ValueSum | Self::ValueAvg | Self::ValuePercentile
        )
    }
}

/// Comparison operators of correlation conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl CmpOp {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "eq" => Self::Eq,
            "neq" => Self::Neq,
            _ => return None,
        })
    }

    pub fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Self::Gt => left > right,
            Self::Gte => left >= right,
            Self::Lt => left < right,
            Self::Lte => left <= right,
            Self::Eq => left == right,
            Self::Neq => left != right,
        }
    }

    /// True when the comparison can only become true, never false again, as a count grows.
    pub fn is_rising(self) -> bool {
        matches!(self, Self::Gt | Self::Gte)
    }
}

/// A correlation document.
#[derive(Debug, Clone)]
pub struct Correlation {
    pub meta: Meta,
    pub kind: CorrelationType,
    /// Referenced rules by id or name.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan_ms: i64,
    /// AND-ed comparisons; empty for temporal types without a condition.
    pub condition: Vec<(CmpOp, f64)>,
    pub field: Option<String>,
    /// alias → (rule name → field).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    pub generate: bool,
}

/// A global filter document (`filter:`), applied to the rules it names.
#[derive(Debug, Clone)]
pub struct Filter {
    pub meta: Meta,
    pub logsource: LogSource,
    pub rules: Vec<String>,
    pub detection: Detection,
}

/// Any one YAML document of a rule file.
#[derive(Debug, Clone)]
pub enum Document {
    Rule(Box<Rule>),
    Correlation(Box<Correlation>),
    Filter(Box<Filter>),
}

impl Document {
    pub fn meta(&self) -> &Meta {
        match self {
            Document::Rule(r) => &r.meta,
            Document::Correlation(c) => &c.meta,
            Document::Filter(f) => &f.meta,
        }
    }
}
