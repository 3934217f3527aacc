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

    /// The latest of the times the record gives in the places Warden's detectors read
    /// one: an activity's timestamp; a log document's container time and its time fields
    /// (`Event.System.TimeCreated` in any shape, `@timestamp`, `timestamp`, `TimeCreated`,
    /// `UtcTime`, `EventTime`, `time`, Zeek's `ts`, at the top or in the event data); a
    /// flow's `ts`. The latest, so a check on it holds whichever field a detector uses.
    pub fn latest_time(&self) -> Option<Timestamp> {
        match &self.record {
            Record::Activity(a) => Some(a.timestamp),
            Record::Flow(f) => f.record.origin.timestamp_ms.map(Timestamp),
            Record::Log(e) => doc_times(&e.doc).chain(e.timestamp_ms.map(Timestamp)).max(),
        }
    }
}

/// Pointers to the fields that hold a log document's time, in any of the shapes read.
const TIME_FIELDS: &[&str] = &[
    "/Event/System/TimeCreated/#attributes/SystemTime",
    "/Event/System/TimeCreated/SystemTime",
    "/Event/System/TimeCreated",
    "/Event/System/TimeCreated_SystemTime",
    "/System/TimeCreated/#attributes/SystemTime",
    "/System/TimeCreated/SystemTime",
    "/@timestamp",
    "/timestamp",
    "/TimeCreated",
    "/TimeCreated_SystemTime",
    "/UtcTime",
    "/EventTime",
    "/time",
    "/ts",
    "/Event/EventData/UtcTime",
    "/Event/EventData/EventTime",
    "/EventData/UtcTime",
    "/EventData/EventTime",
];

/// Every time a log document gives in [`TIME_FIELDS`] (text in RFC 3339 or a zoneless
/// Windows form, or an epoch number), and what the Windows reader makes of it.
fn doc_times(doc: &Value) -> impl Iterator<Item = Timestamp> + '_ {
    TIME_FIELDS
        .iter()
        .filter_map(|p| match doc.pointer(p)? {
            Value::String(s) => crate::winlog::parse_time(s),
            Value::Number(n) => n.as_f64().and_then(Timestamp::from_epoch_number),
            _ => None,
        })
        .chain(crate::winlog::WinDoc::new(doc).time())
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
