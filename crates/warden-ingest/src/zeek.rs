//! Zeek logs of every type (`conn`, `dns`, `http`, `ssl`, `x509`, `files`, `kerberos`,
//! `smb_mapping`, `smb_files`, `dce_rpc`, `notice`, `weird`, …) as log documents, from the
//! classic ASCII format (`#separator`, `#fields`, `#types` headers; several header blocks
//! in one file) or JSON Lines.
//!
//! A document keeps Zeek's own field names (`id.orig_h`, `query`, `qtype_name`…, as the
//! SigmaHQ Zeek rules name them: JSON written with `_` for `.` — `id_orig_h` — is read
//! back to dots), typed by `#types` (counts, ports and integers as numbers, doubles and
//! intervals as numbers, `T`/`F` as booleans, sets and vectors as arrays, `-` absent,
//! `(empty)` an empty list or string, `\xNN` escapes undone), and adds `_path` (the log
//! type: from the header, the record, the collector's `@stream`, or the file name),
//! `@timestamp` (from `ts`) and `event.module: zeek` / `event.dataset: zeek.<type>`.

use std::io::BufRead;

use serde_json::{Map, Number, Value};
use warden_event::Timestamp;

use crate::error::{ErrorKind, IngestError};
use crate::lines::{Line, LineReader};

/// Longest line accepted.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The header state of a TSV log.
#[derive(Debug, Clone)]
struct Header {
    separator: String,
    set_separator: String,
    empty: String,
    unset: String,
    path: Option<String>,
    fields: Vec<String>,
    types: Vec<String>,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            separator: "\t".into(),
            set_separator: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            path: None,
            fields: Vec::new(),
            types: Vec::new(),
        }
    }
}

/// Undoes Zeek's `\xNN` escapes (bytes that are not printable ASCII).
fn unescape(v: &str) -> String {
    if !v.contains("\\x") {
        return v.to_owned();
    }
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'x')
            && let Some(h) = v.get(i + 2..i + 4)
            && let Ok(byte) = u8::from_str_radix(h, 16)
        {
            out.push(byte);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The log type a file name implies: `dns.log`, `SCRANTON_dns.log`, `dns.12:00:00-13:00:00.log.gz`.
pub fn path_from_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next()?;
    let stem = base.split('.').next()?;
    let kind = stem.rsplit('_').next()?;
    // Two-word types (smb_files, dce_rpc, …) keep their underscore.
    let two = stem
        .rsplit_once('_')
        .and_then(|(head, last)| head.rsplit('_').next().map(|w| format!("{w}_{last}")));
    let known = |k: &str| KNOWN_LOGS.contains(&k);
    match two {
        Some(t) if known(&t) => Some(t),
        _ if known(kind) => Some(kind.to_owned()),
        _ => None,
    }
}

/// Log types Zeek ships (and common packages add).
pub const KNOWN_LOGS: &[&str] = &[
    "conn",
    "dns",
    "http",
    "ssl",
    "x509",
    "files",
    "kerberos",
    "smb_mapping",
    "smb_files",
    "dce_rpc",
    "notice",
    "weird",
    "ntlm",
    "rdp",
    "ssh",
    "smtp",
    "ftp",
    "dhcp",
    "ntp",
    "pe",
    "dpd",
    "software",
    "tunnel",
    "snmp",
    "sip",
    "radius",
    "mysql",
    "irc",
    "modbus",
    "dnp3",
    "intel",
    "signatures",
    "traceroute",
    "known_hosts",
    "known_services",
    "known_certs",
    "capture_loss",
    "stats",
    "reporter",
    "loaded_scripts",
    "packet_filter",
    "analyzer",
    "ocsp",
    "socks",
    "syslog",
    "tor_ssl",
    "app_stats",
    "conn_long",
];

/// The element type of a container column type (`set[addr]`, `vector[string]`).
fn element_type(ty: &str) -> Option<&str> {
    ty.strip_prefix("set[")
        .or_else(|| ty.strip_prefix("vector["))
        .and_then(|t| t.strip_suffix(']'))
}

/// A typed value of a TSV column; `None` for unset.
fn typed(h: &Header, ty: &str, raw: &str, field: &str) -> Result<Option<Value>, String> {
    if raw == h.unset {
        return Ok(None);
    }
    let Some(inner) = element_type(ty) else {
        return scalar(h, ty, raw, field).map(Some);
    };
    if raw == h.empty {
        return Ok(Some(Value::Array(Vec::new())));
    }
    // Zeek writes containers of single values, separated by one separator, so an
    // element is never a container itself: a header that says so (nested as deep as
    // the line allows, from a file anyone may hand over) has its elements read as text.
    let items = raw
        .split(h.set_separator.as_str())
        .map(|item| match element_type(inner) {
            _ if item == h.unset => Ok(Value::Null),
            Some(_) => Ok(Value::String(unescape(item))),
            None => scalar(h, inner, item, field),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Value::Array(items)))
}

/// A single (not container) value of type `ty`, set.
fn scalar(h: &Header, ty: &str, raw: &str, field: &str) -> Result<Value, String> {
    let bad = |what: &str| format!("field `{field}`: `{raw}` is not {what}");
    Ok(match ty {
        "count" | "int" | "port" => {
            let n: i64 = raw.parse().map_err(|_| bad("an integer"))?;
            Value::Number(n.into())
        }
        "double" | "interval" | "time" => {
            let f: f64 = raw.parse().map_err(|_| bad("a number"))?;
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        "bool" => match raw {
            "T" => Value::Bool(true),
            "F" => Value::Bool(false),
            _ => return Err(bad("T or F")),
        },
        _ if raw == h.empty => Value::String(String::new()),
        _ => Value::String(unescape(raw)),
    })
}

/// One record as a document: what every Zeek document gets (`_path`, `@timestamp`,
/// `event.*`).
fn finish(mut doc: Map<String, Value>, path: Option<&str>) -> (Value, Option<Timestamp>) {
    let path = doc
        .get("_path")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            doc.get("@stream")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| path.map(str::to_owned));
    let time = doc.get("ts").and_then(|t| match t {
        Value::Number(n) => n.as_f64().and_then(Timestamp::from_epoch_number),
        Value::String(s) => Timestamp::parse_rfc3339(s),
        _ => None,
    });
    if let Some(t) = time {
        doc.insert("@timestamp".into(), Value::String(t.to_rfc3339()));
    }
    let mut event = Map::new();
    event.insert("module".into(), Value::String("zeek".into()));
    if let Some(p) = &path {
        event.insert("dataset".into(), Value::String(format!("zeek.{p}")));
        doc.insert("_path".into(), Value::String(p.clone()));
    }
    doc.insert("event".into(), Value::Object(event));
    (Value::Object(doc), time)
}

/// A JSON record, with `_`-written names (`id_orig_h`) read back to Zeek's dots.
fn json_record(line: &str, path: Option<&str>) -> Result<(Value, Option<Timestamp>), String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let Value::Object(m) = v else {
        return Err("a JSON record that is no object".into());
    };
    let doc: Map<String, Value> = m
        .into_iter()
        .map(|(k, v)| (dotted(&k).unwrap_or(k), v))
        .collect();
    Ok(finish(doc, path))
}

/// `id_orig_h` → `id.orig_h` (and the other nested records Zeek flattens with dots).
fn dotted(k: &str) -> Option<String> {
    for prefix in [
        "id_",
        "tunnel_parents_",
        "certificate_",
        "san_",
        "basic_constraints_",
    ] {
        if let Some(rest) = k.strip_prefix(prefix) {
            return Some(format!("{}.{rest}", prefix.trim_end_matches('_')));
        }
    }
    None
}

/// One record: the document, its time, its line.
pub type ZeekRecord = (Value, Option<Timestamp>, u64);

/// Reads one Zeek log (TSV or JSON Lines, already decompressed), calling `each` with every
/// document (its line, its time) or the error of a bad line. `name` is the file's name
/// (its log type when the content does not say).
pub fn read(
    name: &str,
    reader: Box<dyn BufRead + Send>,
    compression: &'static str,
    each: &mut dyn FnMut(Result<ZeekRecord, IngestError>),
) -> u64 {
    let mut lines = LineReader::new(reader, MAX_LINE_BYTES);
    let mut buf = Vec::new();
    let mut h = Header::default();
    let from_name = path_from_name(name);
    let mut records = 0;
    let err = |line: u64, kind: ErrorKind| IngestError::new(name, line, kind);
    loop {
        let n = match lines.next_line(&mut buf) {
            Ok(Some(Line::Ok(n))) => n,
            Ok(Some(Line::TooLong(n, length))) => {
                each(Err(err(
                    n,
                    ErrorKind::LineTooLong {
                        length,
                        limit: MAX_LINE_BYTES,
                    },
                )));
                continue;
            }
            Ok(None) => return records,
            Err(e) => {
                each(Err(err(
                    lines.line_no() + 1,
                    ErrorKind::Read {
                        compression,
                        source: e,
                    },
                )));
                return records;
            }
        };
        let Ok(line) = std::str::from_utf8(&buf) else {
            each(Err(err(n, ErrorKind::Utf8)));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        if let Some(directive) = line.strip_prefix('#') {
            header_line(&mut h, directive);
            continue;
        }
        let path = h.path.as_deref().or(from_name.as_deref());
        let parsed = if line.starts_with('{') {
            json_record(line, path)
        } else {
            tsv_record(&h, line, path)
        };
        match parsed {
            Ok((doc, time)) => {
                records += 1;
                each(Ok((doc, time, n)));
            }
            Err(reason) => each(Err(err(n, ErrorKind::Unrecognised(reason)))),
        }
    }
}

fn header_line(h: &mut Header, directive: &str) {
    let (key, value) = directive.split_once([' ', '\t']).unwrap_or((directive, ""));
    match key {
        "separator" => h.separator = unescape(value.trim()),
        "set_separator" => {
            h.set_separator = value.trim_start_matches(h.separator.as_str()).to_owned()
        }
        "empty_field" => h.empty = value.trim_start_matches(h.separator.as_str()).to_owned(),
        "unset_field" => h.unset = value.trim_start_matches(h.separator.as_str()).to_owned(),
        "path" => h.path = Some(value.trim_start_matches(h.separator.as_str()).to_owned()),
        "fields" => {
            h.fields = value
                .split(h.separator.as_str())
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
        }
        "types" => {
            h.types = value
                .split(h.separator.as_str())
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect();
        }
        _ => {}
    }
}

fn tsv_record(
    h: &Header,
    line: &str,
    path: Option<&str>,
) -> Result<(Value, Option<Timestamp>), String> {
    if h.fields.is_empty() {
        return Err("a Zeek TSV record before the `#fields` header line".into());
    }
    let values: Vec<&str> = line.split(h.separator.as_str()).collect();
    if values.len() != h.fields.len() {
        return Err(format!(
            "{} values for the {} fields of `#fields`",
            values.len(),
            h.fields.len()
        ));
    }
    let mut doc = Map::new();
    for (i, (field, raw)) in h.fields.iter().zip(&values).enumerate() {
        let ty = h.types.get(i).map_or("string", String::as_str);
        if let Some(v) = typed(h, ty, raw, field)? {
            doc.insert(field.clone(), v);
        }
    }
    Ok(finish(doc, path))
}

/// Whether a file's first bytes are a Zeek log: a TSV header, or a JSON record with
/// `_path`, a collector's `"@proc":"zeek"`, or Zeek's `ts` with a `uid`, or in a file
/// named as a Zeek log (`dns.log`, `HOST_dce_rpc.log`).
pub fn looks_like(name: &str, head: &[u8]) -> bool {
    if head.starts_with(b"#separator") {
        return true;
    }
    let first = head.split(|b| *b == b'\n').next().unwrap_or(b"");
    let Ok(text) = std::str::from_utf8(first) else {
        return false;
    };
    text.starts_with('{')
        && (text.contains("\"_path\":")
            || text.contains("\"@proc\":\"zeek\"")
            || (text.contains("\"ts\":") && text.contains("\"uid\":"))
            || path_from_name(name).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(name: &str, text: &str) -> (Vec<(Value, u64)>, Vec<String>) {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        read(
            name,
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            "plain",
            &mut |r| match r {
                Ok((d, _, n)) => ok.push((d, n)),
                Err(e) => bad.push(e.to_string()),
            },
        );
        (ok, bad)
    }

    const DNS: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.resp_p\tquery\tAA\tanswers\tTTLs\trtt\n#types\ttime\tstring\taddr\tport\tstring\tbool\tvector[string]\tvector[interval]\tinterval\n1379288667.631940\tCZ\t192.168.33.10\t53\tguy\\x20spy.com\tF\t54.245.228.191,guyspy.com\t36.000000,1.5\t-\n1379288668.0\tCY\t10.0.0.1\t53\t-\tT\t(empty)\t(empty)\t0.25\n";

    #[test]
    fn tsv_typed_by_its_header() {
        let (ok, bad) = docs("whatever.log", DNS);
        assert!(bad.is_empty(), "{bad:?}");
        let d = &ok[0].0;
        assert_eq!(ok[0].1, 8);
        assert_eq!(d["_path"], "dns");
        assert_eq!(d["event"]["dataset"], "zeek.dns");
        assert_eq!(d["@timestamp"], "2013-09-15T23:44:27.631Z");
        assert_eq!(d["id.resp_p"], 53);
        assert_eq!(d["query"], "guy spy.com");
        assert_eq!(d["AA"], false);
        assert_eq!(d["answers"][1], "guyspy.com");
        assert_eq!(d["TTLs"][1], 1.5);
        assert!(d.get("rtt").is_none(), "unset is absent");
        let d = &ok[1].0;
        assert!(d.get("query").is_none());
        assert_eq!(d["answers"], serde_json::json!([]));
    }

    #[test]
    fn a_header_nesting_containers_reads_their_elements_as_text() {
        // Zeek never writes this; a file may say so, nested as deep as its line allows.
        let deep = format!("{}count{}", "set[".repeat(200_000), "]".repeat(200_000));
        let text = format!(
            "#separator \\x09\n#set_separator\t,\n#fields\tts\tx\ty\n#types\ttime\t{deep}\tvector[set[count]]\n1.0\t7\t1,-,x\n"
        );
        let (ok, bad) = docs("odd.log", &text);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(ok[0].0["x"], serde_json::json!(["7"]));
        assert_eq!(ok[0].0["y"], serde_json::json!(["1", null, "x"]));
    }

    #[test]
    fn json_with_underscores_and_the_type_from_the_name_or_stream() {
        let (ok, _) = docs(
            "SCRANTON_smb_files.log",
            "{\"ts\":1588205198.89971,\"uid\":\"C1\",\"id_orig_h\":\"10.0.1.4\",\"id_resp_p\":445,\"name\":\"x\"}\n{\"@stream\":\"dns\",\"ts\":1.0,\"uid\":\"C2\"}\n",
        );
        assert_eq!(ok[0].0["id.orig_h"], "10.0.1.4");
        assert_eq!(ok[0].0["_path"], "smb_files");
        assert_eq!(ok[1].0["_path"], "dns");
        assert_eq!(
            path_from_name("dns.12:00:00-13:00:00.log.gz").as_deref(),
            Some("dns")
        );
        assert_eq!(
            path_from_name("NASHUA_dce_rpc.log").as_deref(),
            Some("dce_rpc")
        );
        assert_eq!(path_from_name("notes.log"), None);
    }

    proptest::proptest! {
        /// Any lines after a real header, TSV or JSON: no panic, every line a record or an
        /// error in its place, never more of them than lines.
        #[test]
        fn odd_lines_never_panic_and_each_is_counted_once(
            lines in proptest::collection::vec("\\PC{0,80}|\\{\"ts\":[0-9.e-]{0,8},\"uid\":\"[a-z]{0,4}\"\\}?", 0..20),
        ) {
            let head = "#separator \\x09\n#fields\tts\tuid\tid.orig_h\n#types\ttime\tstring\taddr\n";
            let text = format!("{head}{}", lines.join("\n"));
            let (ok, bad) = docs("conn.log", &text);
            proptest::prop_assert!(ok.len() + bad.len() <= lines.len());
            for (d, n) in &ok {
                proptest::prop_assert!(*n > 3 && *n as usize <= lines.len() + 3);
                proptest::prop_assert_eq!(&d["_path"], "conn");
            }
        }
    }

    #[test]
    fn bad_lines_are_reported_in_place() {
        let text = "1.0\tC\n#fields\tts\tuid\n#types\ttime\tstring\nabc\tC\n1.0\tC\textra\n2.0\tD\n{broken\n";
        let (ok, bad) = docs("conn.log", text);
        assert_eq!(ok.len(), 1);
        assert_eq!(bad.len(), 4, "{bad:?}");
        assert!(bad[0].contains("conn.log:1:") && bad[0].contains("before the `#fields`"));
        assert!(bad[1].contains(":4:") && bad[1].contains("field `ts`"));
        assert!(bad[2].contains("3 values for the 2 fields"));
        assert!(bad[3].contains(":7:") && bad[3].contains("invalid JSON"));
    }

    #[test]
    fn sniffing() {
        assert!(looks_like("x.log", DNS.as_bytes()));
        assert!(looks_like("x.log", b"{\"ts\":1.0,\"uid\":\"C\"}\n"));
        assert!(looks_like("dns.log", b"{\"ts\":1.0}\n"));
        assert!(looks_like("loaded_scripts.log", b"{\"name\":\"x\"}\n"));
        assert!(!looks_like("app.log", b"{\"ts\":1.0}\n"));
        assert!(looks_like(
            "x.log",
            b"{\"@stream\":\"stats\",\"@proc\":\"zeek\"}\n"
        ));
        assert!(!looks_like("x.log", b"Dec 10 06:55:46 host sshd[1]: x\n"));
    }
}
