//! Text logs, one record per line: syslog (RFC 5424 and RFC 3164, as files such as
//! `auth.log`, `messages` and `secure` hold them), CEF and LEEF (alone or behind a syslog
//! header), web server access logs (alone or behind a syslog header). Each line becomes a log document with Elastic Common Schema names, and the
//! authentication events of sshd, sudo, su, login, systemd-logind, PAM and CEF/LEEF logons
//! are recognised ([`auth`], [`cef`]) so they can feed the behavioural baselines.
//!
//! - [`syslog`]: the syslog header, year and zone inference.
//! - [`auth`]: Linux authentication messages → `AuthEvent`.
//! - [`cef`]: CEF and LEEF records.
//! - [`audit`]: Linux audit records, and the process starts their events describe.
//! - [`access`]: Apache and nginx access logs (common, combined, vhost_combined).
//! - [`reader`]: [`TextLogReader`] (lines → documents, bad lines reported with their
//!   reason) and [`AttemptQueue`] (authentication attempts → user activities, each counted
//!   once).

pub mod access;
pub mod audit;
pub mod auth;
pub mod cef;
mod reader;
pub mod syslog;

pub use reader::{AttemptQueue, TextActivities, TextLogReader, TextRecord};

use serde_json::{Map, Value, json};
use warden_event::Timestamp;
use warden_event::auth::AuthEvent;

pub use syslog::SyslogOptions;

/// What a line was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TextKind {
    Rfc5424,
    Rfc3164,
    Cef,
    Leef,
    /// A Linux audit record, or the process start joined from an event's records.
    Audit,
    /// A web server's access-log line.
    Access,
}

impl TextKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rfc5424 => "syslog_rfc5424",
            Self::Rfc3164 => "syslog_rfc3164",
            Self::Cef => "cef",
            Self::Leef => "leef",
            Self::Audit => "auditd",
            Self::Access => "access",
        }
    }
}

/// One parsed line (or a record joined from several, cited at the first).
#[derive(Debug, Clone)]
pub struct ParsedLine {
    /// Its line number (0 when the caller gave none).
    pub line: u64,
    pub kind: TextKind,
    pub doc: Value,
    pub time: Option<Timestamp>,
    /// The authentication event the line describes, if any.
    pub auth: Option<AuthEvent>,
    /// The logging host and process id (what ties PAM's report to its service's).
    pub host: Option<String>,
    pub pid: Option<u32>,
}

/// Parses lines, carrying year inference from one to the next.
#[derive(Debug, Clone)]
pub struct LineParser {
    opts: SyslogOptions,
    years: syslog::YearGuess,
    audit: audit::AuditJoin,
    /// A process start joined by the last line.
    joined: Option<ParsedLine>,
}

impl LineParser {
    pub fn new(opts: SyslogOptions) -> Self {
        LineParser {
            years: syslog::YearGuess::new(&opts),
            opts,
            audit: audit::AuditJoin::default(),
            joined: None,
        }
    }

    /// Parses one line (without its newline); `Err` says why it is none of the formats.
    pub fn parse(&mut self, line: &str) -> Result<ParsedLine, String> {
        self.parse_at(line, 0)
    }

    /// [`parse`](Self::parse) of line number `n` (what a joined audit event cites).
    pub fn parse_at(&mut self, line: &str, n: u64) -> Result<ParsedLine, String> {
        let line = line.trim_start_matches('\u{feff}').trim_end();
        if audit::looks_like(line) {
            return self.audit(line, None, n);
        }
        if let Some((flavor, text)) = cef::find(line) {
            return self.cef(line, flavor, text, n);
        }
        if access::looks_like(line)
            && let Ok(a) = access::parse(line)
        {
            return Ok(access_line(&a, line, None, n));
        }
        let s = syslog::parse(line, &self.opts, &mut self.years)?;
        if audit::looks_like(s.message) {
            let host = s.host.map(str::to_owned);
            return self.audit(s.message, host.as_deref(), n);
        }
        if access::looks_like(s.message)
            && let Ok(a) = access::parse(s.message)
        {
            return Ok(access_line(&a, s.message, Some(&s), n));
        }
        let kind = if s.version.is_some() {
            TextKind::Rfc5424
        } else {
            TextKind::Rfc3164
        };
        let mut doc = s.to_doc();
        let time = s.time;
        // No tag: old syslogds wrote some lines as "host -- ident[pid]: text".
        let auth = time.and_then(|t| auth::parse(t, s.host, s.program.unwrap_or("-"), s.message));
        if let Some(a) = &auth {
            add_auth(&mut doc, a);
        }
        Ok(ParsedLine {
            line: n,
            kind,
            doc,
            time,
            auth,
            host: s.host.map(str::to_owned),
            pid: s.pid,
        })
    }

    /// A process start that the last line completed (an audit event's records joined),
    /// cited at the line of its first record.
    pub fn take_joined(&mut self) -> Option<ParsedLine> {
        self.joined.take()
    }

    /// The end of the input: the audit event still open, joined.
    pub fn finish(&mut self) -> Option<ParsedLine> {
        let (doc, time, line) = self.audit.finish()?;
        Some(joined_line(doc, time, line))
    }

    fn audit(&mut self, text: &str, host: Option<&str>, n: u64) -> Result<ParsedLine, String> {
        let r = audit::parse(text)?;
        let doc = r.to_doc(host);
        let time = r.time;
        if let Some((doc, t, line)) = self.audit.push(r, host, n) {
            self.joined = Some(joined_line(doc, t, line));
        }
        Ok(ParsedLine {
            line: n,
            kind: TextKind::Audit,
            doc,
            time: Some(time),
            auth: None,
            host: host.map(str::to_owned),
            pid: None,
        })
    }

    /// A CEF/LEEF record, with what its syslog header says (time, host) where it is silent.
    fn cef(
        &mut self,
        line: &str,
        flavor: cef::Flavor,
        text: &str,
        n: u64,
    ) -> Result<ParsedLine, String> {
        let mut p = cef::parse(flavor, text)?;
        let head = line[..line.len() - text.len()].trim();
        let header = if head.is_empty() {
            None
        } else {
            // The header alone is no syslog line; give it a tag and an empty message.
            let probe = format!("{head} cef: -");
            syslog::parse(&probe, &self.opts, &mut self.years)
                .ok()
                .map(|s| (s.time, s.host.map(str::to_owned), s.to_doc()))
        };
        let mut host = None;
        if let (Some((time, h, hdoc)), Some(doc)) = (header, p.doc.as_object_mut()) {
            if p.time.is_none() {
                p.time = time;
                if let Some(t) = time {
                    doc.insert("@timestamp".into(), Value::String(t.to_rfc3339()));
                }
            }
            if let Some(h) = &h {
                doc.entry("host")
                    .or_insert_with(|| json!({ "name": h, "hostname": h }));
            }
            if let Some(log) = hdoc.get("log") {
                doc.entry("log").or_insert_with(|| log.clone());
            }
            host = h;
        }
        let kind = match flavor {
            cef::Flavor::Cef => TextKind::Cef,
            cef::Flavor::Leef => TextKind::Leef,
        };
        // A logon with no time of its own is dated by the reference (the file's time).
        let when = p.time.unwrap_or(self.opts.reference);
        if let Some(a) = p.auth.as_mut() {
            a.time = when;
            if a.host.is_none() {
                a.host.clone_from(&host);
            }
        }
        if let (Some(a), Some(_)) = (&p.auth, p.doc.as_object()) {
            let a = a.clone();
            add_auth(&mut p.doc, &a);
        }
        Ok(ParsedLine {
            line: n,
            kind,
            doc: p.doc,
            time: p.time,
            auth: p.auth,
            host,
            pid: None,
        })
    }
}

fn joined_line(doc: Value, time: Timestamp, line: u64) -> ParsedLine {
    let host = doc
        .pointer("/host/name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    ParsedLine {
        line,
        kind: TextKind::Audit,
        doc,
        time: Some(time),
        auth: None,
        host,
        pid: None,
    }
}

/// The authentication event in the document: ECS `event.*`, `user.*`, `source.*`, and
/// the whole event under `auth`.
fn add_auth(doc: &mut Value, a: &AuthEvent) {
    let Some(d) = doc.as_object_mut() else {
        return;
    };
    let category = match a.action {
        warden_event::auth::AuthAction::SessionOpen
        | warden_event::auth::AuthAction::SessionClose => "session",
        _ => "authentication",
    };
    let event = d
        .entry("event")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(e) = event.as_object_mut() {
        e.insert("category".into(), Value::String(category.into()));
        e.insert("action".into(), Value::String(a.action.as_str().into()));
        if let Some(ok) = a.action.outcome() {
            e.insert(
                "outcome".into(),
                Value::String(if ok { "success" } else { "failure" }.into()),
            );
        }
    }
    if let Some(u) = &a.user {
        let user = d.entry("user").or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = user.as_object_mut() {
            m.entry("name").or_insert_with(|| Value::String(u.clone()));
            if let Some(t) = &a.target_user {
                m.insert("target".into(), json!({ "name": t }));
            }
        }
    }
    let source = d
        .entry("source")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(m) = source.as_object_mut() {
        if let Some(ip) = &a.source_ip {
            m.entry("ip").or_insert_with(|| Value::String(ip.clone()));
        }
        if let Some(h) = &a.source_host {
            m.entry("domain")
                .or_insert_with(|| Value::String(h.clone()));
        }
        if let Some(p) = a.source_port {
            m.entry("port").or_insert_with(|| p.into());
        }
    }
    if source.as_object().is_some_and(Map::is_empty) {
        d.remove("source");
    }
    if a.action == warden_event::auth::AuthAction::Sudo
        && let Some(cmd) = &a.command
    {
        add_sudo_process(d, a, cmd);
    }
    let mut view = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Some(v) = view.as_object_mut() {
        v.remove("time");
        v.retain(|_, x| !x.is_null());
    }
    d.insert("auth".into(), view);
}

/// A command sudo ran is a process start (ECS `process.*`, `event.type: start`): Linux
/// `process_creation` rules and payload analysis read it.
fn add_sudo_process(d: &mut Map<String, Value>, a: &AuthEvent, cmd: &str) {
    let mut process = Map::new();
    process.insert("command_line".into(), Value::String(cmd.to_owned()));
    if let Some(exe) = cmd.split_whitespace().next() {
        process.insert("executable".into(), Value::String(exe.to_owned()));
    }
    if let Some(cwd) = &a.cwd {
        process.insert("working_directory".into(), Value::String(cwd.clone()));
    }
    // The syslog tag is sudo's own process; the command is a new one.
    let parent = d.remove("process");
    if let Some(p) = parent {
        process.insert("parent".into(), p);
    }
    d.insert("process".into(), Value::Object(process));
    if let Some(e) = d.get_mut("event").and_then(Value::as_object_mut) {
        e.insert("category".into(), json!(["authentication", "process"]));
        e.insert("type".into(), json!(["start"]));
    }
    if let (Some(t), Some(u)) = (
        &a.target_user,
        d.get_mut("user").and_then(Value::as_object_mut),
    ) {
        u.insert("effective".into(), json!({ "name": t }));
    }
}

/// An access-log line (`text`), with the syslog header it came behind: the header's host
/// and syslog fields join the document.
fn access_line(
    a: &access::AccessLine,
    text: &str,
    header: Option<&syslog::SyslogLine<'_>>,
    n: u64,
) -> ParsedLine {
    let mut doc = a.to_doc(text);
    if let (Some(h), Some(d)) = (header, doc.as_object_mut()) {
        let hdoc = h.to_doc();
        for key in ["host", "log"] {
            if let Some(v) = hdoc.get(key) {
                d.insert(key.into(), v.clone());
            }
        }
    }
    ParsedLine {
        line: n,
        kind: TextKind::Access,
        doc,
        time: Some(a.time),
        auth: None,
        host: header.and_then(|h| h.host).map(str::to_owned),
        pid: header.and_then(|h| h.pid),
    }
}

/// Whether the first non-empty line of `head` is a line this module reads (for format
/// sniffing; a partial last line is ignored).
pub fn looks_like(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let Some(line) = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
    else {
        return false;
    };
    let Ok(line) = std::str::from_utf8(&line[..line.len().min(8192)]) else {
        return false;
    };
    if line.trim_start().starts_with('{') {
        return false;
    }
    LineParser::new(SyslogOptions::default())
        .parse(line)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line of each format the parser reads.
    const SAMPLES: [&str; 8] = [
        "Dec  4 10:00:05 web1 sshd[42]: Failed password for invalid user admin from 203.0.113.9 port 4242 ssh2",
        "<38>1 2026-12-04T10:00:05Z web1 app 7 ID1 [m a=\"1\" b=\"x\\]\"] hello",
        "<134>Dec  4 10:00:05 fw01 CEF:0|Acme|FW|1.0|100|Denied|5|src=203.0.113.9 dst=10.0.0.9 dpt=445 msg=a\\=b",
        "LEEF:2.0|Acme|FW|1.0|denied|^|src=203.0.113.9^dst=10.0.0.9^usrName=ana",
        "type=EXECVE msg=audit(1764842400.123:77): argc=2 a0=\"ls\" a1=2F746D70",
        "203.0.113.9 - - [04/Dec/2026:10:00:05 +0000] \"GET /a?b=c HTTP/1.1\" 200 12 \"-\" \"ua\"",
        "Dec  4 10:00:05 app01 sysmon: <Event><System><EventID>1</EventID><Channel>Linux-Sysmon/Operational</Channel></System><EventData><Data Name=\"Image\">/bin/sh</Data></EventData></Event>",
        "Dec  4 10:00:05 web1 sudo:   ana : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/id",
    ];

    #[test]
    fn every_sample_line_parses() {
        let mut p = LineParser::new(SyslogOptions::default());
        for line in SAMPLES {
            assert!(p.parse(line).is_ok(), "{line}");
        }
    }

    proptest::proptest! {
        /// Any text, and each format's line with any text spliced in anywhere: no panic,
        /// and a document no bigger than a fixed multiple of its line (memory is bounded
        /// by the line limit the readers apply).
        #[test]
        fn odd_lines_of_every_format_never_panic_and_stay_bounded(
            text in "\\PC{0,200}",
            which in 0usize..8,
            at in 0usize..200,
            splice in "[\\[\\]\"|=^:;<> \\\\a-z0-9%()-]{0,16}",
        ) {
            let mut p = LineParser::new(SyslogOptions::default());
            let _ = p.parse(&text);
            let mut line = SAMPLES[which].to_owned();
            let at = (0..=at.min(line.len())).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
            line.insert_str(at, &splice);
            for _ in 0..2 {
                if let Ok(parsed) = p.parse(&line) {
                    let size = parsed.doc.to_string().len();
                    proptest::prop_assert!(size <= 16 * line.len() + 4096, "{size} bytes from {line}");
                }
            }
            let _ = p.finish();
        }
    }

    #[test]
    fn auth_lines_carry_ecs_fields() {
        let mut p = LineParser::new(SyslogOptions {
            year: Some(2026),
            ..SyslogOptions::default()
        });
        let l = p
            .parse("Dec 10 07:07:38 LabSZ sshd[24206]: Failed password for invalid user test9 from 52.80.34.196 port 36060 ssh2")
            .unwrap();
        assert_eq!(l.kind, TextKind::Rfc3164);
        assert_eq!(l.doc["event"]["outcome"], "failure");
        assert_eq!(l.doc["event"]["action"], "login_failure");
        assert_eq!(l.doc["user"]["name"], "test9");
        assert_eq!(l.doc["source"]["ip"], "52.80.34.196");
        assert_eq!(l.doc["source"]["port"], 36060);
        assert_eq!(l.doc["auth"]["invalid_user"], true);
        assert_eq!(l.doc["process"]["pid"], 24206);
        assert_eq!((l.host.as_deref(), l.pid), (Some("LabSZ"), Some(24206)));
    }

    #[test]
    fn cef_behind_a_syslog_header_takes_its_host_and_time() {
        let mut p = LineParser::new(SyslogOptions {
            year: Some(2026),
            ..SyslogOptions::default()
        });
        let l = p
            .parse("<134>Feb 12 10:11:12 fw01 CEF:0|Acme|FW|1|100|Deny|5|src=10.1.1.1 dst=10.2.2.2 dpt=445 act=deny")
            .unwrap();
        assert_eq!(l.kind, TextKind::Cef);
        assert_eq!(l.doc["@timestamp"], "2026-02-12T10:11:12Z");
        assert_eq!(l.doc["host"]["hostname"], "fw01");
        assert_eq!(l.doc["destination"]["port"], 445);
        assert_eq!(l.doc["log"]["syslog"]["facility"]["name"], "local0");
    }

    #[test]
    fn an_untagged_old_style_line_still_names_its_program() {
        let mut p = LineParser::new(SyslogOptions::default());
        let l = p
            .parse("Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2")
            .unwrap();
        let a = l.auth.unwrap();
        assert_eq!(
            (a.service.as_str(), a.user.as_deref()),
            ("login", Some("root"))
        );
        assert!(a.is_attempt());
    }

    #[test]
    fn a_sudo_command_is_a_process_start_and_keeps_its_tag() {
        let mut p = LineParser::new(SyslogOptions::default());
        let l = p
            .parse("Dec  2 09:01:00 web1 sudo[77]:      ana : TTY=pts/0 ; PWD=/home/ana ; USER=root ; COMMAND=/usr/bin/cat /etc/sudoers")
            .unwrap();
        let d = &l.doc;
        assert_eq!(d["process"]["command_line"], "/usr/bin/cat /etc/sudoers");
        assert_eq!(d["process"]["executable"], "/usr/bin/cat");
        assert_eq!(d["process"]["working_directory"], "/home/ana");
        assert_eq!(d["process"]["parent"]["name"], "sudo");
        assert_eq!(d["event"]["type"][0], "start");
        assert_eq!(d["user"]["name"], "ana");
        assert_eq!(d["user"]["effective"]["name"], "root");
        assert_eq!(d["log"]["syslog"]["appname"], "sudo");
        assert_eq!(d["log"]["syslog"]["procid"], 77);
        assert_eq!(d["event"]["module"], "syslog");
    }

    #[test]
    fn sniffing() {
        assert!(looks_like(
            b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass; user unknown\n"
        ));
        assert!(looks_like(b"\n<13>1 2026-01-01T00:00:00Z h a - - - m\n"));
        assert!(looks_like(b"CEF:0|a|b|c|d|e|1|src=1.1.1.1\n"));
        assert!(!looks_like(b"{\"user_id\":\"a\"}\n"));
        assert!(!looks_like(b"user_id,timestamp\na,2026-04-02T01:58:06Z\n"));
        assert!(!looks_like(b""));
    }
}
