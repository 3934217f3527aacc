//! Syslog lines, RFC 5424 and RFC 3164 (BSD), as written to files (`/var/log/auth.log`,
//! `messages`, `secure`) or sent over the network, parsed by `syslog_loose` into a
//! [`SyslogLine`]: time, host, program, pid, facility and severity, RFC 5424's message id
//! and structured data, and the message.
//!
//! **Time.** RFC 5424 and RFC 3339 timestamps carry their offset. A BSD timestamp
//! (`Dec 10 06:55:46`) has neither year nor zone: it is read in the configured zone
//! ([`SyslogOptions::offset_minutes`], UTC by default), and its year is inferred
//! ([`YearGuess`]) unless one is configured. The first line takes the year of the
//! reference time (the file's modification time, or now for a stream) unless that would
//! put it more than a day after the reference — a file written in January holds last
//! December's lines; later lines follow the first, and a month that goes back by half a
//! year or more (December → January) starts the next year.

use chrono::{Datelike, FixedOffset, Offset};
use serde_json::{Map, Value, json};
use syslog_loose::{Message, ProcId, Protocol, Variant};
use warden_event::Timestamp;

/// How to read times that do not say everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogOptions {
    /// The year of BSD timestamps; `None` infers it (see the module docs).
    pub year: Option<i32>,
    /// The zone of timestamps without one, minutes east of UTC.
    pub offset_minutes: i32,
    /// What "now" is for year inference: the file's modification time, or the clock.
    pub reference: Timestamp,
}

impl Default for SyslogOptions {
    fn default() -> Self {
        SyslogOptions {
            year: None,
            offset_minutes: 0,
            reference: Timestamp::now(),
        }
    }
}

/// Year inference for BSD timestamps, carried from line to line.
#[derive(Debug, Clone, Copy)]
pub struct YearGuess {
    fixed: Option<i32>,
    reference: (i32, u32, u32),
    last: Option<(i32, u32)>,
}

impl YearGuess {
    pub fn new(opts: &SyslogOptions) -> Self {
        let r = chrono::DateTime::from_timestamp_millis(opts.reference.millis())
            .unwrap_or_default()
            .naive_utc();
        YearGuess {
            fixed: opts.year,
            reference: (r.year(), r.month(), r.day()),
            last: None,
        }
    }

    /// The year of a line dated `month`/`day`.
    fn year_of(&self, month: u32, day: u32) -> i32 {
        if let Some(y) = self.fixed {
            return y;
        }
        match self.last {
            Some((y, last_month)) if month + 6 <= last_month => y + 1,
            Some((y, _)) => y,
            None => {
                let (ry, rm, rd) = self.reference;
                // One day of slack for clocks and zones.
                if (month, day) > (rm, rd + 1) {
                    ry - 1
                } else {
                    ry
                }
            }
        }
    }

    fn saw(&mut self, year: i32, month: u32) {
        self.last = Some((year, month));
    }
}

/// One parsed syslog line, borrowing from the text.
#[derive(Debug, Clone)]
pub struct SyslogLine<'a> {
    /// 5424 (`Some(version)`) or 3164 (`None`).
    pub version: Option<u32>,
    pub facility: Option<&'static str>,
    pub severity: Option<&'static str>,
    pub priority: Option<(u8, u8)>,
    pub time: Option<Timestamp>,
    pub host: Option<&'a str>,
    pub program: Option<&'a str>,
    pub pid: Option<u32>,
    /// A process id that is no number (RFC 5424 allows names).
    pub proc_name: Option<&'a str>,
    pub msgid: Option<&'a str>,
    /// RFC 5424 structured data, escapes undone: `{id: {name: value}}`.
    pub structured: Map<String, Value>,
    pub message: &'a str,
}

/// Parses one line; `Err` says why it is no syslog line.
pub fn parse<'a>(
    line: &'a str,
    opts: &SyslogOptions,
    years: &mut YearGuess,
) -> Result<SyslogLine<'a>, String> {
    let offset = FixedOffset::east_opt(opts.offset_minutes.clamp(-1439, 1439) * 60)
        .unwrap_or_else(|| chrono::Utc.fix());
    let guess = *years;
    let get_year = move |(month, day, ..): syslog_loose::IncompleteDate| guess.year_of(month, day);
    let m = syslog_loose::parse_message_with_year_exact_tz(
        line,
        get_year,
        Some(offset),
        Variant::Either,
    )
    .map_err(|_| {
        "not a syslog line (no RFC 5424 header, no BSD or RFC 3339 timestamp)".to_owned()
    })?;
    let Some(ts) = m.timestamp else {
        return Err("syslog line without a timestamp".to_owned());
    };
    if m.protocol == Protocol::RFC3164 {
        years.saw(ts.year(), ts.month());
    }
    Ok(convert(m, Timestamp(ts.timestamp_millis())))
}

fn convert(m: Message<&str>, time: Timestamp) -> SyslogLine<'_> {
    let (pid, proc_name) = match m.procid {
        Some(ProcId::PID(p)) => (u32::try_from(p).ok(), None),
        Some(ProcId::Name(n)) => (None, Some(n)),
        None => (None, None),
    };
    let mut structured = Map::new();
    for element in &m.structured_data {
        let params: Map<String, Value> = element
            .params()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
        structured.insert(element.id.to_string(), Value::Object(params));
    }
    let priority = match (m.facility, m.severity) {
        (Some(f), Some(s)) => Some((f as u8, s as u8)),
        _ => None,
    };
    SyslogLine {
        version: match m.protocol {
            Protocol::RFC5424(v) => Some(v),
            Protocol::RFC3164 => None,
        },
        facility: m.facility.map(|f| f.as_str()),
        severity: m.severity.map(|s| s.as_str()),
        priority,
        time: Some(time),
        host: m.hostname.filter(|h| *h != "-"),
        program: m.appname,
        pid,
        proc_name,
        msgid: m.msgid,
        structured,
        message: m.msg.trim_start_matches('\u{feff}'),
    }
}

impl SyslogLine<'_> {
    /// The line as a log document (Elastic Common Schema names): `@timestamp`,
    /// `host.name`, `process.name`/`pid`, `log.syslog.*` (the tag as `appname` and
    /// `procid`), `event.module: syslog`, `message`.
    pub fn to_doc(&self) -> Value {
        let mut doc = Map::new();
        if let Some(t) = self.time {
            doc.insert("@timestamp".into(), Value::String(t.to_rfc3339()));
        }
        if let Some(h) = self.host {
            doc.insert("host".into(), json!({ "name": h, "hostname": h }));
        }
        let mut process = Map::new();
        if let Some(p) = self.program {
            process.insert("name".into(), Value::String(p.to_owned()));
        }
        if let Some(pid) = self.pid {
            process.insert("pid".into(), pid.into());
        } else if let Some(n) = self.proc_name {
            process.insert("entity_id".into(), Value::String(n.to_owned()));
        }
        if !process.is_empty() {
            doc.insert("process".into(), Value::Object(process));
        }
        let mut syslog = Map::new();
        // The tag stays here whatever `process.*` comes to describe (a command sudo ran).
        if let Some(p) = self.program {
            syslog.insert("appname".into(), Value::String(p.to_owned()));
        }
        if let Some(pid) = self.pid {
            syslog.insert("procid".into(), pid.into());
        }
        if let Some((f, s)) = self.priority {
            syslog.insert("priority".into(), (u32::from(f) * 8 + u32::from(s)).into());
            syslog.insert(
                "facility".into(),
                json!({ "code": f, "name": self.facility }),
            );
            syslog.insert(
                "severity".into(),
                json!({ "code": s, "name": self.severity }),
            );
        }
        syslog.insert(
            "version".into(),
            self.version
                .map_or(Value::String("rfc3164".into()), Value::from),
        );
        if let Some(id) = self.msgid.filter(|m| *m != "-") {
            syslog.insert("msgid".into(), Value::String(id.to_owned()));
        }
        if !self.structured.is_empty() {
            syslog.insert(
                "structured_data".into(),
                Value::Object(self.structured.clone()),
            );
        }
        doc.insert("log".into(), json!({ "syslog": syslog }));
        doc.insert("event".into(), json!({ "module": "syslog" }));
        if let Some(event) = sysmon_event(self.message) {
            // The event's own time is exact (a BSD timestamp has neither year nor zone).
            if let Some(t) = event
                .pointer("/System/TimeCreated/#attributes/SystemTime")
                .and_then(Value::as_str)
                .and_then(Timestamp::parse_rfc3339)
            {
                doc.insert("@timestamp".into(), Value::String(t.to_rfc3339()));
            }
            doc.insert("Event".into(), event);
        }
        doc.insert("message".into(), Value::String(self.message.to_owned()));
        Value::Object(doc)
    }
}

/// Sysmon for Linux logs each event as its XML (`<Event><System>…<Channel>Linux-Sysmon/
/// Operational</Channel>…<EventData>…`): read into the shape Warden renders EVTX records
/// as (`Event.System`, `Event.EventData`) beside the syslog fields, so the rules written
/// for it (`product: linux`, `category: process_creation`, `file_event`,
/// `network_connection`) and the entity graph read it as the Sysmon event it is. `None`
/// for any other message, or XML that does not read.
fn sysmon_event(message: &str) -> Option<Value> {
    let xml = message.trim_start();
    if !xml.starts_with("<Event") {
        return None;
    }
    let mut event = None;
    crate::xml::read_events(xml.as_bytes(), &mut |r| {
        if event.is_none()
            && let Ok((doc, _)) = r
        {
            event = doc.get("Event").cloned();
        }
    });
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sysmon_for_linux_line_is_read_as_its_sysmon_event() {
        let line = concat!(
            "Nov 30 09:14:12 app01 sysmon: <Event><System><Provider Name=\"Linux-Sysmon\"/>",
            "<EventID>3</EventID><TimeCreated SystemTime=\"2026-11-30T09:14:12.123456000Z\"/>",
            "<EventRecordID>104</EventRecordID><Channel>Linux-Sysmon/Operational</Channel>",
            "<Computer>app01</Computer></System><EventData><Data Name=\"Image\">/usr/bin/bash</Data>",
            "<Data Name=\"DestinationIp\">203.0.113.50</Data></EventData></Event>"
        );
        let opts = SyslogOptions {
            year: Some(2025),
            ..SyslogOptions::default()
        };
        let doc = parse(line, &opts, &mut YearGuess::new(&opts))
            .unwrap_or_else(|e| panic!("{e}"))
            .to_doc();
        assert_eq!(
            doc["Event"]["System"]["Channel"],
            "Linux-Sysmon/Operational"
        );
        assert_eq!(doc["Event"]["System"]["EventID"], "3");
        assert_eq!(doc["Event"]["EventData"]["DestinationIp"], "203.0.113.50");
        // The event's own time, not the BSD timestamp's guessed year.
        assert_eq!(doc["@timestamp"], "2026-11-30T09:14:12.123Z");
        assert_eq!(doc["log"]["syslog"]["appname"], "sysmon");
        // Broken XML, or another program's message, is a plain syslog line.
        for other in [
            "Nov 30 09:14:12 app01 sysmon: <Event><System><EventID>3</Even",
            "Nov 30 09:14:12 app01 kernel: eth0 up",
        ] {
            let doc = parse(other, &opts, &mut YearGuess::new(&opts))
                .unwrap_or_else(|e| panic!("{e}"))
                .to_doc();
            assert!(doc.get("Event").is_none(), "{doc}");
        }
    }

    fn opts(reference: &str) -> SyslogOptions {
        SyslogOptions {
            reference: Timestamp::parse_rfc3339(reference).unwrap(),
            ..SyslogOptions::default()
        }
    }

    #[test]
    fn bsd_line_with_program_and_pid() {
        let o = opts("2026-12-20T00:00:00Z");
        let mut y = YearGuess::new(&o);
        let l = parse(
            "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
            &o,
            &mut y,
        )
        .unwrap();
        assert_eq!(l.time.unwrap().to_rfc3339(), "2026-12-10T06:55:46Z");
        assert_eq!(l.host, Some("LabSZ"));
        assert_eq!(l.program, Some("sshd"));
        assert_eq!(l.pid, Some(24200));
        assert_eq!(l.message, "Invalid user webmaster from 173.234.31.186");
        assert_eq!(l.version, None);
    }

    #[test]
    fn a_january_file_holds_last_december_and_the_year_turns() {
        let o = opts("2027-01-02T00:00:00Z");
        let mut y = YearGuess::new(&o);
        let dec = parse("Dec 31 23:59:59 h app: a", &o, &mut y).unwrap();
        assert_eq!(dec.time.unwrap().to_rfc3339(), "2026-12-31T23:59:59Z");
        let jan = parse("Jan  1 00:00:01 h app: b", &o, &mut y).unwrap();
        assert_eq!(jan.time.unwrap().to_rfc3339(), "2027-01-01T00:00:01Z");
    }

    #[test]
    fn configured_year_and_zone() {
        let o = SyslogOptions {
            year: Some(2005),
            offset_minutes: 120,
            ..SyslogOptions::default()
        };
        let mut y = YearGuess::new(&o);
        let l = parse("Jun 14 15:16:01 combo su: x", &o, &mut y).unwrap();
        assert_eq!(l.time.unwrap().to_rfc3339(), "2005-06-14T13:16:01Z");
    }

    #[test]
    fn rfc5424_with_structured_data_and_escapes() {
        let o = SyslogOptions::default();
        let mut y = YearGuess::new(&o);
        let line = r#"<165>1 2026-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appl\"ication" eventID="1011"] An application event"#;
        let l = parse(line, &o, &mut y).unwrap();
        assert_eq!(l.version, Some(1));
        assert_eq!(l.facility, Some("local4"));
        assert_eq!(l.severity, Some("notice"));
        assert_eq!(l.msgid, Some("ID47"));
        assert_eq!(
            l.structured["exampleSDID@32473"]["eventSource"],
            "Appl\"ication"
        );
        assert_eq!(l.message, "An application event");
        let doc = l.to_doc();
        assert_eq!(doc["log"]["syslog"]["priority"], 165);
        assert_eq!(doc["host"]["hostname"], "mymachine.example.com");
        assert_eq!(doc["@timestamp"], "2026-10-11T22:14:15.003Z");
    }

    #[test]
    fn rfc3339_stamped_lines_and_garbage() {
        let o = SyslogOptions::default();
        let mut y = YearGuess::new(&o);
        let l = parse(
            "2026-03-01T10:00:00+01:00 web1 sudo:     ana : TTY=pts/0 ; USER=root ; COMMAND=/bin/id",
            &o,
            &mut y,
        )
        .unwrap();
        assert_eq!(l.time.unwrap().to_rfc3339(), "2026-03-01T09:00:00Z");
        assert_eq!(l.program, Some("sudo"));
        assert!(parse("hello world", &o, &mut y).is_err());
        assert!(parse("", &o, &mut y).is_err());
    }
}
