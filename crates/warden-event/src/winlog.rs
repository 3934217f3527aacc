//! The header of a Windows event in every JSON shape Warden reads — the `evtx_dump` shape
//! (`Event.System` / `Event.EventData`, which is also what Warden renders EVTX records
//! and XML events as), the flat NXLog/OTRF shape (`Hostname`, `SourceName`, `EventID`,
//! `RecordNumber` beside the data fields) and the Winlogbeat/ECS shape
//! (`winlog.event_data.*`, `winlog.computer_name`, `winlog.record_id`, `event.code`) —
//! read the same way by the rules' timeline, the graph and the alerts.

use serde_json::Value;

use crate::Timestamp;

/// How a Windows event is laid out as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// `Event.System` / `Event.EventData` (evtx_dump, EVTX and XML as Warden renders them).
    Evtx,
    /// `winlog.*` (Winlogbeat, Elastic Agent, ECS).
    Winlogbeat,
    /// Header and data side by side at the top (NXLog, OTRF, most SIEM exports).
    Flat,
}

impl Shape {
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Evtx => "evtx",
            Shape::Winlogbeat => "winlogbeat",
            Shape::Flat => "flat",
        }
    }
}

/// The three places a Windows JSON document keeps its header and its data.
pub struct WinDoc<'a> {
    system: &'a Value,
    data: &'a Value,
    top: &'a Value,
    pub shape: Shape,
}

impl<'a> WinDoc<'a> {
    pub fn new(doc: &'a Value) -> Self {
        if let Some(ev) = doc.get("Event") {
            let data = ev
                .get("EventData")
                .or_else(|| ev.get("UserData"))
                .unwrap_or(&Value::Null);
            return WinDoc {
                system: ev.get("System").unwrap_or(&Value::Null),
                data,
                top: doc,
                shape: Shape::Evtx,
            };
        }
        if let Some(w) = doc.get("winlog").filter(|w| w.is_object()) {
            return WinDoc {
                system: w,
                data: w.get("event_data").unwrap_or(&Value::Null),
                top: doc,
                shape: Shape::Winlogbeat,
            };
        }
        WinDoc {
            system: doc,
            data: doc,
            top: doc,
            shape: Shape::Flat,
        }
    }

    /// The first header field of `names` that is present.
    pub fn sys(&self, names: &[&str]) -> Option<&'a Value> {
        names
            .iter()
            .find_map(|n| self.system.get(*n).or_else(|| self.top.get(*n)))
            .filter(|v| !v.is_null())
    }

    pub fn data(&self, name: &str) -> Option<String> {
        self.data.get(name).and_then(text)
    }

    pub fn event_id(&self) -> Option<u32> {
        let v = self
            .sys(&["EventID", "event_id"])
            .or_else(|| self.top.get("event").and_then(|e| e.get("code")))?;
        let v = v.get("#text").unwrap_or(v);
        number(v).and_then(|n| u32::try_from(n).ok())
    }

    pub fn computer(&self) -> Option<String> {
        self.sys(&["Computer", "computer_name", "Hostname"])
            .and_then(text)
    }

    pub fn channel(&self) -> String {
        self.sys(&["Channel", "channel"])
            .and_then(text)
            .unwrap_or_default()
    }

    pub fn provider(&self) -> String {
        let v = self.sys(&["Provider", "provider_name", "SourceName", "ProviderName"]);
        let v = v.map(|p| {
            p.get("#attributes")
                .and_then(|a| a.get("Name"))
                .or_else(|| p.get("Name"))
                .unwrap_or(p)
        });
        v.and_then(text).unwrap_or_default()
    }

    pub fn record_id(&self) -> Option<u64> {
        self.sys(&["EventRecordID", "record_id", "RecordNumber"])
            .and_then(number)
    }

    pub fn time(&self) -> Option<Timestamp> {
        if let Some(tc) = self.system.get("TimeCreated") {
            let st = tc
                .get("#attributes")
                .and_then(|a| a.get("SystemTime"))
                .or_else(|| tc.get("SystemTime"))
                .unwrap_or(tc);
            if let Some(t) = st.as_str().and_then(Timestamp::parse_rfc3339) {
                return Some(t);
            }
        }
        // `@timestamp` is UTC in every shipper; `EventTime` of NXLog is local, so last.
        ["@timestamp", "TimeCreated", "UtcTime", "EventTime"]
            .iter()
            .filter_map(|k| self.top.get(*k).or_else(|| self.data.get(*k)))
            .find_map(|v| v.as_str().and_then(parse_time))
    }
}

pub fn parse_time(s: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(s).or_else(|| {
        // Sysmon's `UtcTime` and NXLog's `EventTime`: "2026-05-04 06:37:27.012", no zone.
        let b = s.as_bytes();
        (b.len() >= 19 && b[10] == b' ')
            .then(|| format!("{}Z", s.trim()))
            .and_then(|z| Timestamp::parse_rfc3339(&z))
    })
}

pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        }
        _ => None,
    }
}
