//! Network flows as typed records: the tabular formats Warden reads (NSL-KDD, UNSW-NB15,
//! Zeek `conn.log`) and one flow before any model encodes it. Readers live in
//! `warden-ingest`; the transform a model learns lives in `warden-models`.

use serde::{Deserialize, Serialize};

/// The flow formats understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlowFormat {
    NslKdd,
    UnswNb15,
    /// Zeek `conn.log`, TSV (with its `#fields` header) or JSON Lines; unlabelled.
    ZeekConn,
    /// User activity as the UEBA engine's 16-feature vectors (built by the engine, not read
    /// by the flow reader).
    Activity,
    /// User activity as windows of the last events (the sequence autoencoder's windows).
    ActivitySequence,
}

impl FlowFormat {
    pub fn parse(s: &str) -> Option<FlowFormat> {
        match s {
            "nsl-kdd" => Some(FlowFormat::NslKdd),
            "unsw-nb15" => Some(FlowFormat::UnswNb15),
            "zeek-conn" => Some(FlowFormat::ZeekConn),
            "activity" => Some(FlowFormat::Activity),
            "activity-sequence" => Some(FlowFormat::ActivitySequence),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            FlowFormat::NslKdd => "nsl-kdd",
            FlowFormat::UnswNb15 => "unsw-nb15",
            FlowFormat::ZeekConn => "zeek-conn",
            FlowFormat::Activity => "activity",
            FlowFormat::ActivitySequence => "activity-sequence",
        }
    }

    /// Whether rows come from the UEBA engine rather than from a flow table.
    pub fn is_activity(self) -> bool {
        matches!(self, FlowFormat::Activity | FlowFormat::ActivitySequence)
    }
}

/// One flow before encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRecord {
    pub numeric: Vec<f64>,
    pub categorical: Vec<String>,
    /// True for an attack, when the input is labelled.
    pub attack: Option<bool>,
    /// The attack name or category as labelled (`normal` for benign rows).
    pub kind: Option<String>,
    /// Where and when the flow happened, when its format says (Zeek).
    pub origin: FlowOrigin,
}

/// A flow's endpoints and time, for its alert (not a model feature).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowOrigin {
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
    /// The responder's port.
    pub dst_port: Option<u16>,
    /// Start time, ms since the epoch.
    pub timestamp_ms: Option<i64>,
    /// The flow's identifier in its source (Zeek `uid`), to find it again.
    pub uid: Option<String>,
}

/// Column names of a table, split into numeric and categorical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Columns {
    pub numeric: Vec<String>,
    pub categorical: Vec<String>,
}
