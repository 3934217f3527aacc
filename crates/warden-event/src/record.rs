//! Typed records: what an input yields once classified, whatever carried it (a file, stdin,
//! an HTTP body, a log topic). A detection pipeline routes each kind to the detectors that
//! read it.

use serde_json::Value;

use crate::flow::{FlowFormat, FlowRecord};
use crate::{EventRef, Timestamp, UserActivity};

/// One record of input.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A user action in the UserActivity schema (behavioural detection).
    Activity(UserActivity),
    /// A log document (Windows or Sysmon event, EVTX as JSON, ECS, …) for rules.
    Log(LogEvent),
    /// A network flow (NSL-KDD, UNSW-NB15, Zeek `conn.log`) for a flow model.
    Flow(FlowEvent),
}

/// A network flow and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowEvent {
    pub record: FlowRecord,
    pub format: FlowFormat,
    /// The input it was read from, and its line there.
    pub source: String,
    pub line: u64,
    /// The raw line (kept as the alert's evidence, hashed into its key).
    pub raw: String,
}

/// A log document and where it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogEvent {
    pub doc: Value,
    /// The EVTX record number, when the container gave one.
    pub record_id: Option<u64>,
    /// The input it was read from.
    pub source: Option<String>,
    /// Its line in that input.
    pub line: Option<u64>,
    /// The time the container gave (EVTX record header), ms since the epoch.
    pub timestamp_ms: Option<i64>,
}

/// A record with the size it had on the wire (context is kept only for small events).
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub record: Record,
    /// Bytes of the raw record.
    pub size: usize,
}

impl Input {
    pub fn activity(a: UserActivity, size: usize) -> Self {
        Input {
            record: Record::Activity(a),
            size,
        }
    }

    pub fn log(e: LogEvent, size: usize) -> Self {
        Input {
            record: Record::Log(e),
            size,
        }
    }

    pub fn flow(f: FlowEvent) -> Self {
        let size = f.raw.len();
        Input {
            record: Record::Flow(f),
            size,
        }
    }

    /// When the record says it happened, where it says so in a known place: an
    /// activity's timestamp; a log document's container time, Zeek's `ts`, `@timestamp`,
    /// `timestamp`, or a Windows event's `TimeCreated`; a flow's `ts`.
    pub fn time(&self) -> Option<Timestamp> {
        match &self.record {
            Record::Activity(a) => Some(a.timestamp),
            Record::Flow(f) => f.record.origin.timestamp_ms.map(Timestamp),
            Record::Log(e) => e.timestamp_ms.map(Timestamp).or_else(|| doc_time(&e.doc)),
        }
    }
}

/// A log document's time from the fields that commonly hold it.
fn doc_time(doc: &Value) -> Option<Timestamp> {
    if let Some(ts) = doc.get("ts").and_then(Value::as_f64) {
        return Timestamp::from_epoch_number(ts);
    }
    let text = doc
        .get("@timestamp")
        .or_else(|| doc.get("timestamp"))
        .or_else(|| doc.pointer("/Event/System/TimeCreated/#attributes/SystemTime"))
        .and_then(Value::as_str)?;
    Timestamp::parse_rfc3339(text)
}

impl LogEvent {
    /// A document with nothing known of its origin.
    pub fn of(doc: Value) -> Self {
        LogEvent {
            doc,
            ..LogEvent::default()
        }
    }

    /// The most stable reference the document allows: its record number (with its
    /// computer), else its line in a named input, else a hash of its content.
    pub fn reference(&self, computer: Option<&str>) -> EventRef {
        if let Some(record_id) = self.record_id {
            return EventRef::Record {
                computer: computer.map(str::to_owned),
                record_id,
            };
        }
        if let (Some(source), Some(line)) = (&self.source, self.line) {
            return EventRef::Line {
                source: source.clone(),
                line,
            };
        }
        EventRef::Hash {
            hash: crate::content_hash(&[&self.doc.to_string()]),
        }
    }
}
