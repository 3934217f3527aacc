//! Linux audit records (`/var/log/audit/audit.log`, or relayed by audispd/syslog):
//! `type=SYSCALL msg=audit(1364481363.243:24287): arch=c000003e syscall=59 … exe="/bin/ls"`.
//!
//! Each record becomes a document of its own with its fields at the top level, as the
//! SigmaHQ `service: auditd` rules name them (`type`, `a0`, `exe`, `key`, `name`…), values
//! that auditd wrote in hex (arguments, titles, paths with spaces) decoded, the nested
//! `msg='…'` of user-space records and the enriched (`log_format=ENRICHED`) translations
//! flattened beside them. The records of one event share a serial; when an event that ran
//! a program ends (its `EOE` record, a record of another event, or the end of the input)
//! its `SYSCALL`, `EXECVE`, `CWD` and `PROCTITLE` are joined ([`AuditJoin`]) into one
//! process-start document with Elastic Common Schema names (`process.executable`,
//! `process.command_line`, `process.working_directory`, `user.id`…): what the Sigma
//! `process_creation` rules for Linux and payload analysis read.

use serde_json::{Map, Value, json};
use warden_event::Timestamp;

/// Most fields kept from one record.
const MAX_FIELDS: usize = 512;
/// Most records of one event held for joining.
const MAX_RECORDS: usize = 64;
/// Most program arguments joined into a command line.
const MAX_ARGS: usize = 1024;

/// Fields auditd writes in hex when they hold spaces, quotes or control characters.
fn hex_field(key: &str) -> bool {
    matches!(
        key,
        "proctitle"
            | "name"
            | "cwd"
            | "comm"
            | "exe"
            | "path"
            | "cmd"
            | "data"
            | "key"
            | "old"
            | "new"
    ) || (key.starts_with('a') && key[1..].bytes().all(|b| b.is_ascii_digit()) && key.len() > 1)
        || (key.starts_with('a') && key.contains('[')) // a0[0], a0_len: long arguments
}

/// Decodes an unquoted hex value (`2F746D70` → `/tmp`); NULs (between the words of a
/// title) become spaces. `None` when it is not hex.
fn unhex(v: &str) -> Option<String> {
    if v.len() < 2 || !v.len().is_multiple_of(2) || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Vec<u8> = (0..v.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&v[i..i + 2], 16).ok())
        .map(|b| if b == 0 { b' ' } else { b })
        .collect();
    Some(String::from_utf8_lossy(&bytes).trim_end().to_owned())
}

/// `k=v k="quoted v" k='nested'` pairs.
fn pairs(text: &str) -> Vec<(&str, &str, char)> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() && out.len() < MAX_FIELDS {
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim();
        // A word without '=' before the next key: skip it.
        if let Some(sp) = key.rfind(' ') {
            rest = &rest[sp + 1..];
            continue;
        }
        let after = &rest[eq + 1..];
        let (value, quote, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => match after[1..].find(q) {
                Some(end) => (&after[1..1 + end], q, &after[end + 2..]),
                None => (&after[1..], q, ""),
            },
            _ => {
                let end = after.find(' ').unwrap_or(after.len());
                (&after[..end], ' ', &after[end..])
            }
        };
        out.push((key, value, quote));
        rest = next.trim_start();
    }
    out
}

/// One parsed record.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub kind: String,
    pub time: Timestamp,
    pub serial: u64,
    pub node: Option<String>,
    pub fields: Map<String, Value>,
}

/// Whether a line (or a syslog message) is an audit record.
pub fn looks_like(text: &str) -> bool {
    let t = text.trim_start();
    (t.starts_with("type=") || t.starts_with("node=")) && t.contains("msg=audit(")
}

/// Parses `[node=N ]type=T msg=audit(SECS.MS:SERIAL): fields`.
pub fn parse(text: &str) -> Result<AuditRecord, String> {
    let text = text.trim();
    let (node, text) = match text.strip_prefix("node=") {
        Some(r) => {
            let (n, rest) = r
                .split_once(' ')
                .ok_or("audit record with nothing after node=")?;
            (Some(n.to_owned()), rest.trim_start())
        }
        None => (None, text),
    };
    let rest = text
        .strip_prefix("type=")
        .ok_or("audit record without type=")?;
    let (kind, rest) = rest
        .split_once(' ')
        .ok_or("audit record without msg=audit(…)")?;
    let rest = rest
        .trim_start()
        .strip_prefix("msg=audit(")
        .ok_or("audit record without msg=audit(…)")?;
    let (stamp, rest) = rest
        .split_once("):")
        .ok_or("audit record with an unclosed msg=audit(")?;
    let (secs, serial) = stamp
        .split_once(':')
        .ok_or("audit stamp without a serial")?;
    let secs: f64 = secs
        .parse()
        .map_err(|_| format!("audit time `{secs}` is not a number"))?;
    let time = Timestamp::from_epoch_number(secs)
        .ok_or_else(|| format!("audit time `{secs}` is out of range"))?;
    let serial: u64 = serial
        .parse()
        .map_err(|_| format!("audit serial `{serial}` is not a number"))?;
    // Enriched logs append the translations after a group separator.
    let (raw, enriched) = rest.split_once('\u{1d}').unwrap_or((rest, ""));
    let mut fields = Map::new();
    for (k, v, quote) in pairs(raw) {
        if k == "msg" && quote == '\'' {
            // A user-space record's own fields.
            for (k2, v2, q2) in pairs(v) {
                insert(&mut fields, k2, v2, q2);
            }
            continue;
        }
        insert(&mut fields, k, v, quote);
    }
    for (k, v, quote) in pairs(enriched) {
        insert(&mut fields, k, v, quote);
    }
    Ok(AuditRecord {
        kind: kind.to_owned(),
        time,
        serial,
        node,
        fields,
    })
}

fn insert(fields: &mut Map<String, Value>, key: &str, value: &str, quote: char) {
    if fields.len() >= MAX_FIELDS || key.is_empty() {
        return;
    }
    let value = match (quote, hex_field(key)) {
        (' ', true) => unhex(value).unwrap_or_else(|| value.to_owned()),
        _ => value.to_owned(),
    };
    fields.entry(key.to_owned()).or_insert(Value::String(value));
}

impl AuditRecord {
    /// The record as a document: its fields at the top level, with `type`, the time, the
    /// serial and `event.module: auditd`.
    pub fn to_doc(&self, host: Option<&str>) -> Value {
        let mut doc = self.fields.clone();
        doc.insert("type".into(), Value::String(self.kind.clone()));
        doc.insert("@timestamp".into(), Value::String(self.time.to_rfc3339()));
        let mut auditd = json!({ "serial": self.serial });
        if let (Some(n), Some(a)) = (&self.node, auditd.as_object_mut()) {
            a.insert("node".into(), Value::String(n.clone()));
        }
        doc.insert("auditd".into(), auditd);
        doc.insert(
            "event".into(),
            json!({ "module": "auditd", "kind": "event" }),
        );
        if let Some(h) = host.or(self.node.as_deref()) {
            doc.entry("host")
                .or_insert_with(|| json!({ "name": h, "hostname": h }));
        }
        Value::Object(doc)
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(Value::as_str)
    }
}

/// The records of the event being read, joined when it ends.
#[derive(Debug, Clone, Default)]
pub struct AuditJoin {
    current: Vec<AuditRecord>,
    host: Option<String>,
    line: u64,
}

impl AuditJoin {
    /// Adds a record (of line `line`); returns the process start of the event it ended,
    /// if the previous event ran a program.
    pub fn push(
        &mut self,
        r: AuditRecord,
        host: Option<&str>,
        line: u64,
    ) -> Option<(Value, Timestamp, u64)> {
        let mut done = None;
        if self
            .current
            .first()
            .is_some_and(|f| f.serial != r.serial || f.node != r.node)
        {
            done = self.finish();
        }
        if r.kind == "EOE" {
            if self.current.first().is_some_and(|f| f.serial == r.serial) {
                return self.finish().or(done);
            }
            return done;
        }
        if self.current.is_empty() {
            self.host = host.map(str::to_owned);
            self.line = line;
        }
        if self.current.len() < MAX_RECORDS {
            self.current.push(r);
        }
        done
    }

    /// Ends the event being read: its process start, if it ran a program.
    pub fn finish(&mut self) -> Option<(Value, Timestamp, u64)> {
        let records = std::mem::take(&mut self.current);
        let execve = records.iter().find(|r| r.kind == "EXECVE")?;
        let syscall = records.iter().find(|r| r.kind == "SYSCALL");
        let cwd = records
            .iter()
            .find(|r| r.kind == "CWD")
            .and_then(|r| r.text("cwd"));
        let argc: usize = execve
            .text("argc")
            .and_then(|a| a.parse().ok())
            .unwrap_or(MAX_ARGS)
            .min(MAX_ARGS);
        let args: Vec<&str> = (0..argc)
            .map_while(|i| execve.text(&format!("a{i}")))
            .collect();
        let s = |k: &str| syscall.and_then(|r| r.text(k));
        let process = process_of(&args, syscall, cwd);
        let mut doc = Map::new();
        doc.insert("@timestamp".into(), Value::String(execve.time.to_rfc3339()));
        doc.insert(
            "event".into(),
            json!({ "module": "auditd", "action": "executed", "category": ["process"], "type": ["start"] }),
        );
        doc.insert("process".into(), Value::Object(process));
        let mut user = Map::new();
        // Enriched logs carry the names (`UID="ana"`); plain ones the numbers.
        if let Some(name) = s("UID").or(s("uid")) {
            user.insert("name".into(), Value::String(name.to_owned()));
        }
        if let Some(id) = s("uid") {
            user.insert("id".into(), Value::String(id.to_owned()));
        }
        if !user.is_empty() {
            doc.insert("user".into(), Value::Object(user));
        }
        doc.insert(
            "auditd".into(),
            json!({
                "serial": execve.serial,
                "records": records.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
                "auid": s("AUID").or(s("auid")),
                "session": s("ses"),
                "key": s("key"),
                "success": s("success"),
            }),
        );
        if let Some(h) = self.host.as_deref().or(execve.node.as_deref()) {
            doc.insert("host".into(), json!({ "name": h, "hostname": h }));
        }
        Some((Value::Object(doc), execve.time, self.line))
    }
}

/// The ECS `process` of a program run: its command line and arguments (from EXECVE), its
/// executable, name and ids (from SYSCALL), its working directory (from CWD).
fn process_of(
    args: &[&str],
    syscall: Option<&AuditRecord>,
    cwd: Option<&str>,
) -> Map<String, Value> {
    let s = |k: &str| syscall.and_then(|r| r.text(k));
    let command_line = args
        .iter()
        .map(|a| {
            if a.contains([' ', '\t']) {
                format!("\"{a}\"")
            } else {
                (*a).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let mut process = Map::new();
    process.insert("command_line".into(), Value::String(command_line));
    process.insert(
        "args".into(),
        args.iter()
            .map(|a| Value::String((*a).to_owned()))
            .collect(),
    );
    let exe = s("exe")
        .map(str::to_owned)
        .or_else(|| args.first().map(|a| (*a).to_owned()));
    if let Some(exe) = exe {
        process.insert("executable".into(), Value::String(exe));
    }
    if let Some(c) = s("comm") {
        process.insert("name".into(), Value::String(c.to_owned()));
    }
    if let Some(p) = s("pid").and_then(|p| p.parse::<u64>().ok()) {
        process.insert("pid".into(), p.into());
    }
    if let Some(p) = s("ppid").and_then(|p| p.parse::<u64>().ok()) {
        process.insert("parent".into(), json!({ "pid": p }));
    }
    if let Some(c) = cwd {
        process.insert("working_directory".into(), Value::String(c.to_owned()));
    }
    process
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &[&str] = &[
        r#"type=SYSCALL msg=audit(1733300000.123:4242): arch=c000003e syscall=59 success=yes exit=0 a0=55d1 a1=55d2 a2=55d3 a3=0 items=2 ppid=1200 pid=1234 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="curl" exe="/usr/bin/curl" subj=unconfined key="exec""#,
        r#"type=EXECVE msg=audit(1733300000.123:4242): argc=4 a0="curl" a1="-s" a2=687474703A2F2F6578616D706C652E636F6D2F6120622E7368 a3="-o/tmp/x""#,
        r#"type=CWD msg=audit(1733300000.123:4242): cwd=2F686F6D652F616E6120782F"#,
        r#"type=PATH msg=audit(1733300000.123:4242): item=0 name="/usr/bin/curl" inode=1 dev=fd:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL"#,
        r#"type=PROCTITLE msg=audit(1733300000.123:4242): proctitle=6375726C002D73"#,
        r#"type=EOE msg=audit(1733300000.123:4242):"#,
    ];

    #[test]
    fn records_are_documents_with_hex_decoded() {
        let r = parse(EVENT[1]).unwrap();
        assert_eq!(r.kind, "EXECVE");
        assert_eq!(r.serial, 4242);
        assert_eq!(r.time.to_rfc3339(), "2024-12-04T08:13:20.123Z");
        let doc = r.to_doc(Some("web1"));
        assert_eq!(doc["type"], "EXECVE");
        assert_eq!(doc["a2"], "http://example.com/a b.sh");
        assert_eq!(doc["a3"], "-o/tmp/x");
        assert_eq!(doc["event"]["module"], "auditd");
        assert_eq!(parse(EVENT[4]).unwrap().fields["proctitle"], "curl -s");
        // A number that happens to be hex is not decoded where auditd never encodes.
        assert_eq!(parse(EVENT[0]).unwrap().fields["arch"], "c000003e");
    }

    #[test]
    fn one_event_joins_into_a_process_start() {
        let mut j = AuditJoin::default();
        let mut out = None;
        for (i, l) in EVENT.iter().enumerate() {
            if let Some(done) = j.push(parse(l).unwrap(), Some("web1"), i as u64 + 1) {
                out = Some(done);
            }
        }
        let (doc, _, line) = out.unwrap();
        assert_eq!(line, 1);
        assert_eq!(doc["process"]["executable"], "/usr/bin/curl");
        assert_eq!(
            doc["process"]["command_line"],
            "curl -s \"http://example.com/a b.sh\" -o/tmp/x"
        );
        assert_eq!(doc["process"]["working_directory"], "/home/ana x/");
        assert_eq!(doc["process"]["parent"]["pid"], 1200);
        assert_eq!(doc["event"]["type"][0], "start");
        assert_eq!(doc["user"]["id"], "0");
        assert_eq!(doc["auditd"]["auid"], "1000");
        assert!(j.finish().is_none());
    }

    #[test]
    fn user_space_records_and_enriched_names() {
        let line = "type=USER_AUTH msg=audit(1733300000.5:77): pid=900 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:authentication grantors=? acct=\"ana\" exe=\"/usr/sbin/sshd\" hostname=203.0.113.7 addr=203.0.113.7 terminal=ssh res=failed'\u{1d}UID=\"root\" AUID=\"unset\"";
        let r = parse(line).unwrap();
        assert_eq!(r.fields["op"], "PAM:authentication");
        assert_eq!(r.fields["acct"], "ana");
        assert_eq!(r.fields["res"], "failed");
        assert_eq!(r.fields["UID"], "root");
        assert!(looks_like("node=web1 type=EOE msg=audit(1.0:1): "));
        assert_eq!(
            parse("node=web1 type=EOE msg=audit(1.0:1): ")
                .unwrap()
                .node
                .as_deref(),
            Some("web1")
        );
    }

    #[test]
    fn a_new_serial_ends_the_event_and_bad_records_are_errors() {
        let mut j = AuditJoin::default();
        assert!(j.push(parse(EVENT[0]).unwrap(), None, 1).is_none());
        assert!(j.push(parse(EVENT[1]).unwrap(), None, 2).is_none());
        let next = "type=SYSCALL msg=audit(1733300001.0:4243): syscall=2 exe=\"/bin/cat\"";
        assert!(j.push(parse(next).unwrap(), None, 3).is_some());
        for bad in [
            "type=X",
            "type=X msg=audit(",
            "type=X msg=audit(abc:1): ",
            "type=X msg=audit(1.0:x): ",
            "node=a",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let many: String = (0..5000).map(|i| format!("a{i}=41 ")).collect();
        let r = parse(&format!("type=EXECVE msg=audit(1.0:1): argc=5000 {many}")).unwrap();
        assert!(r.fields.len() <= MAX_FIELDS);
    }
}
