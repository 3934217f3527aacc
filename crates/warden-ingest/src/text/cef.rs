//! ArcSight Common Event Format (CEF) and IBM QRadar's Log Event Extended Format (LEEF),
//! alone on a line or behind a syslog header, into log documents with Elastic Common
//! Schema names.
//!
//! CEF: `CEF:0|Vendor|Product|Version|SignatureID|Name|Severity|k=v k=v …`. In the header
//! `\|` and `\\` are escapes; in the extension `\=`, `\\`, `\n` and `\r`, and a value runs
//! up to the space before the next `key=` (values hold spaces). LEEF 1.0:
//! `LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v`; LEEF 2.0 adds a delimiter field
//! after the event id (a character, or its code as `x5E` / `0x5E`). A LEEF 1.0 line whose
//! attributes hold no tab is split like CEF's extension (some senders use spaces).
//!
//! The extension keys SOCs rely on are mapped ([`CEF_FIELDS`], [`LEEF_FIELDS`]); every
//! key is also kept as sent under `cef.extensions` / `leef.attributes`, and custom
//! strings `cs1`…`cs6` are named by their `cs1Label`… under `labels`.

use serde_json::{Map, Value};
use warden_event::Timestamp;
use warden_event::auth::{AuthAction, AuthEvent};

/// Most extension pairs kept from one line.
const MAX_PAIRS: usize = 512;

/// Which format a line was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Cef,
    Leef,
}

/// A parsed CEF or LEEF record.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub flavor: Flavor,
    pub doc: Value,
    pub time: Option<Timestamp>,
    /// A logon the record describes, when it names a user and says logon/authentication.
    pub auth: Option<AuthEvent>,
}

/// CEF extension key → document path.
pub const CEF_FIELDS: &[(&str, &str)] = &[
    ("src", "source.ip"),
    ("spt", "source.port"),
    ("shost", "source.domain"),
    ("smac", "source.mac"),
    ("suser", "source.user.name"),
    ("suid", "source.user.id"),
    ("sproc", "process.name"),
    ("spid", "process.pid"),
    ("dst", "destination.ip"),
    ("dpt", "destination.port"),
    ("dhost", "destination.domain"),
    ("dmac", "destination.mac"),
    ("duser", "destination.user.name"),
    ("duid", "destination.user.id"),
    ("dproc", "process.name"),
    ("dpid", "process.pid"),
    ("act", "event.action"),
    ("outcome", "event.outcome"),
    ("cat", "event.category"),
    ("reason", "event.reason"),
    ("app", "network.protocol"),
    ("proto", "network.transport"),
    ("in", "source.bytes"),
    ("out", "destination.bytes"),
    ("request", "url.original"),
    ("requestMethod", "http.request.method"),
    ("requestClientApplication", "user_agent.original"),
    ("fname", "file.name"),
    ("filePath", "file.path"),
    ("fsize", "file.size"),
    ("fileHash", "file.hash"),
    ("msg", "message"),
    ("dvc", "observer.ip"),
    ("dvchost", "observer.hostname"),
    ("deviceExternalId", "observer.serial_number"),
    ("cnt", "event.count"),
    ("externalId", "event.id"),
    ("sourceTranslatedAddress", "source.nat.ip"),
    ("destinationTranslatedAddress", "destination.nat.ip"),
];

/// LEEF attribute → document path (LEEF's predefined keys).
pub const LEEF_FIELDS: &[(&str, &str)] = &[
    ("src", "source.ip"),
    ("srcPort", "source.port"),
    ("srcMAC", "source.mac"),
    ("srcPreNAT", "source.nat.ip"),
    ("srcBytes", "source.bytes"),
    ("srcPackets", "source.packets"),
    ("dst", "destination.ip"),
    ("dstPort", "destination.port"),
    ("dstMAC", "destination.mac"),
    ("dstPreNAT", "destination.nat.ip"),
    ("dstBytes", "destination.bytes"),
    ("dstPackets", "destination.packets"),
    ("usrName", "user.name"),
    ("accountName", "user.name"),
    ("domain", "user.domain"),
    ("proto", "network.transport"),
    ("cat", "event.category"),
    ("sev", "event.severity"),
    ("action", "event.action"),
    ("url", "url.original"),
    ("identSrc", "source.ip"),
    ("identHostName", "source.domain"),
    ("policy", "rule.name"),
    ("resource", "observer.hostname"),
    ("msg", "message"),
];

/// Whether the text (after any syslog header) is a CEF or LEEF record.
pub fn find(text: &str) -> Option<(Flavor, &str)> {
    for (tag, flavor) in [("CEF:", Flavor::Cef), ("LEEF:", Flavor::Leef)] {
        if let Some(i) = text.find(tag) {
            // At the start, or after the syslog header's space.
            if i == 0 || text.as_bytes()[i - 1] == b' ' {
                return Some((flavor, &text[i..]));
            }
        }
    }
    None
}

/// Splits a header on unescaped `|`, undoing `\|` and `\\`; returns the fields and what
/// follows the `count`-th bar.
fn header(text: &str, count: usize) -> Option<(Vec<String>, &str)> {
    let mut fields = Vec::with_capacity(count);
    let mut cur = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, n @ ('|' | '\\'))) => cur.push(n),
                Some((_, n)) => {
                    cur.push('\\');
                    cur.push(n);
                }
                None => cur.push('\\'),
            },
            '|' => {
                fields.push(std::mem::take(&mut cur));
                if fields.len() == count {
                    return Some((fields, &text[i + 1..]));
                }
            }
            _ => cur.push(c),
        }
    }
    None
}

/// CEF extension `k=v k=v` with escapes; a value runs to the space before the next key.
pub fn extension(text: &str) -> Vec<(String, String)> {
    let b = text.as_bytes();
    // Positions of unescaped '='.
    let mut eqs = Vec::new();
    let mut i = 0;
    while i < b.len() && eqs.len() <= MAX_PAIRS {
        match b[i] {
            b'\\' => i += 2,
            b'=' => {
                eqs.push(i);
                i += 1;
            }
            _ => i += 1,
        }
    }
    let key_start = |eq: usize, floor: usize| -> usize {
        text[floor..eq].rfind(' ').map_or(floor, |s| floor + s + 1)
    };
    let mut out = Vec::new();
    let mut prev: Option<(usize, usize)> = None; // (key start, '=')
    let mut floor = 0;
    for &eq in &eqs {
        let ks = key_start(eq, floor);
        let key = &text[ks..eq];
        if key.is_empty()
            || !key
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"_.-[]".contains(&c))
        {
            // Not a key: an '=' inside a value.
            continue;
        }
        if let Some((pks, peq)) = prev {
            let value = text[peq + 1..ks].trim_end();
            out.push((text[pks..peq].to_owned(), unescape(value)));
        }
        prev = Some((ks, eq));
        floor = eq + 1;
    }
    if let Some((pks, peq)) = prev {
        out.push((
            text[pks..peq].to_owned(),
            unescape(text[peq + 1..].trim_end()),
        ));
    }
    out.truncate(MAX_PAIRS);
    out
}

fn unescape(v: &str) -> String {
    if !v.contains('\\') {
        return v.to_owned();
    }
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(n @ ('=' | '\\' | '|')) => out.push(n),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Sets `path` (dotted) in `doc`, keeping what is there.
fn put(doc: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut node = doc;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            node.entry(p.to_owned()).or_insert(value);
            return;
        }
        let next = node
            .entry(p.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            return;
        }
        let Value::Object(m) = next else { return };
        node = m;
    }
}

/// A value typed as the path expects: ports, pids, sizes and counts as numbers.
fn typed(path: &str, v: &str) -> Value {
    let numeric = [
        ".port",
        ".pid",
        ".bytes",
        ".packets",
        ".size",
        ".count",
        ".severity",
    ];
    if numeric.iter().any(|s| path.ends_with(s))
        && let Ok(n) = v.trim().parse::<u64>()
    {
        return n.into();
    }
    Value::String(v.to_owned())
}

/// Parses a CEF or LEEF record (`text` starts at `CEF:` / `LEEF:`).
pub fn parse(flavor: Flavor, text: &str) -> Result<Parsed, String> {
    match flavor {
        Flavor::Cef => cef(text),
        Flavor::Leef => leef(text),
    }
}

fn cef(text: &str) -> Result<Parsed, String> {
    let (h, ext) = header(text, 7).ok_or("CEF header with fewer than 7 `|` fields")?;
    let version = h[0].trim_start_matches("CEF:");
    let pairs = extension(ext);
    let mut doc = Map::new();
    let mut cef = Map::new();
    for (k, v) in [
        ("version", version),
        ("device_vendor", &h[1]),
        ("device_product", &h[2]),
        ("device_version", &h[3]),
        ("signature_id", &h[4]),
        ("name", &h[5]),
        ("severity", &h[6]),
    ] {
        cef.insert(k.into(), Value::String(k_trim(v)));
    }
    put(&mut doc, "event.module", Value::String("cef".into()));
    put(&mut doc, "observer.vendor", Value::String(h[1].clone()));
    put(&mut doc, "observer.product", Value::String(h[2].clone()));
    put(&mut doc, "event.code", Value::String(h[4].clone()));
    put(&mut doc, "event.reason", Value::String(h[5].clone()));
    if let Some(sev) = cef_severity(&h[6]) {
        put(&mut doc, "event.severity", sev.into());
    }
    let ext_map = map_fields(&mut doc, &pairs, CEF_FIELDS);
    // Custom strings named by their labels.
    for i in 1..=6 {
        let (key, label) = (format!("cs{i}"), format!("cs{i}Label"));
        if let (Some(v), Some(l)) = (ext_map.get(&key), ext_map.get(&label)) {
            put(&mut doc, &format!("labels.{}", label_key(l)), v.clone());
        }
    }
    let time = ["rt", "end", "start"]
        .iter()
        .find_map(|k| ext_map.get(*k).and_then(|v| v.as_str()).and_then(cef_time));
    if let Some(t) = time {
        doc.insert("@timestamp".into(), Value::String(t.to_rfc3339()));
    }
    cef.insert("extensions".into(), Value::Object(ext_map));
    doc.insert("cef".into(), Value::Object(cef));
    let doc = Value::Object(doc);
    let auth = logon(&doc, &h[5], time);
    Ok(Parsed {
        flavor: Flavor::Cef,
        doc,
        time,
        auth,
    })
}

fn k_trim(v: &str) -> String {
    v.trim().to_owned()
}

/// A label as a key: letters, digits and `_`.
fn label_key(l: &Value) -> String {
    let s = l.as_str().unwrap_or("");
    let k: String = s
        .chars()
        .take(64)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if k.is_empty() { "unnamed".into() } else { k }
}

/// Maps known keys into `doc`; returns every pair as sent.
fn map_fields(
    doc: &mut Map<String, Value>,
    pairs: &[(String, String)],
    table: &[(&str, &str)],
) -> Map<String, Value> {
    let mut raw = Map::new();
    for (k, v) in pairs {
        if let Some((_, path)) = table.iter().find(|(key, _)| key == k) {
            put(doc, path, typed(path, v));
        }
        raw.insert(k.clone(), Value::String(v.clone()));
    }
    raw
}

/// CEF severity 0–10, or its names.
fn cef_severity(s: &str) -> Option<u64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some(n.min(10));
    }
    match s.to_ascii_lowercase().as_str() {
        "low" => Some(3),
        "medium" => Some(6),
        "high" => Some(8),
        "very-high" | "very high" => Some(10),
        _ => None,
    }
}

/// CEF times: epoch milliseconds, or `MMM dd yyyy HH:mm:ss[.SSS][ zone]`, or RFC 3339.
fn cef_time(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    if let Ok(n) = v.parse::<f64>() {
        return Timestamp::from_epoch_number(n);
    }
    if let Some(t) = Timestamp::parse_rfc3339(v) {
        return Some(t);
    }
    // "Oct 11 2026 22:14:15.003 UTC": the zone is read only when it is UTC/GMT or an offset.
    let mut words = v.split_whitespace();
    let date = format!(
        "{} {} {} {}",
        words.next()?,
        words.next()?,
        words.next()?,
        words.next()?
    );
    let naive = chrono::NaiveDateTime::parse_from_str(&date, "%b %d %Y %H:%M:%S%.f").ok()?;
    let offset = match words.next() {
        None | Some("UTC" | "GMT" | "Z") => 0,
        Some(z) => offset_secs(z)?,
    };
    Some(Timestamp(
        naive.and_utc().timestamp_millis() - i64::from(offset) * 1000,
    ))
}

/// `+0100`, `+01:00`, `-05:30` → seconds east of UTC.
fn offset_secs(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 4 {
        return None;
    }
    let h: i32 = digits[..2].parse().ok()?;
    let m: i32 = digits[2..].parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

fn leef(text: &str) -> Result<Parsed, String> {
    let version = text
        .strip_prefix("LEEF:")
        .and_then(|r| r.split('|').next())
        .unwrap_or("");
    let two = version.starts_with('2');
    let (h, rest) =
        header(text, if two { 6 } else { 5 }).ok_or("LEEF header with too few `|` fields")?;
    let delimiter = if two { leef_delimiter(&h[5])? } else { '\t' };
    let pairs: Vec<(String, String)> = if rest.contains(delimiter) || two {
        rest.split(delimiter)
            .filter_map(|kv| kv.split_once('='))
            .take(MAX_PAIRS)
            .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
            .collect()
    } else {
        extension(rest)
    };
    let mut doc = Map::new();
    put(&mut doc, "event.module", Value::String("leef".into()));
    put(&mut doc, "observer.vendor", Value::String(h[1].clone()));
    put(&mut doc, "observer.product", Value::String(h[2].clone()));
    put(&mut doc, "event.code", Value::String(h[4].clone()));
    let attrs = map_fields(&mut doc, &pairs, LEEF_FIELDS);
    let time = attrs
        .get("devTime")
        .and_then(|v| v.as_str())
        .and_then(cef_time);
    if let Some(t) = time {
        doc.insert("@timestamp".into(), Value::String(t.to_rfc3339()));
    }
    let mut leef = Map::new();
    leef.insert("version".into(), Value::String(version.to_owned()));
    leef.insert("vendor".into(), Value::String(h[1].clone()));
    leef.insert("product".into(), Value::String(h[2].clone()));
    leef.insert("product_version".into(), Value::String(h[3].clone()));
    leef.insert("event_id".into(), Value::String(h[4].clone()));
    leef.insert("attributes".into(), Value::Object(attrs));
    doc.insert("leef".into(), Value::Object(leef));
    let doc = Value::Object(doc);
    let auth = logon(&doc, &h[4], time);
    Ok(Parsed {
        flavor: Flavor::Leef,
        doc,
        time,
        auth,
    })
}

/// LEEF 2.0's delimiter field: one character, or its code (`x09`, `0x5E`, `^`).
fn leef_delimiter(field: &str) -> Result<char, String> {
    let f = field.trim();
    let hex = f
        .strip_prefix("0x")
        .or_else(|| f.strip_prefix("x"))
        .or_else(|| f.strip_prefix("\\x"));
    if let Some(h) = hex.filter(|h| !h.is_empty() && h.len() <= 4) {
        return u32::from_str_radix(h, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| format!("LEEF delimiter `{f}` is no character code"));
    }
    let mut chars = field.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        (None, _) => Ok('\t'),
        _ => Err(format!(
            "LEEF delimiter `{f}` is neither one character nor a code"
        )),
    }
}

fn text_at<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    path.split('.').try_fold(doc, |v, p| v.get(p))?.as_str()
}

/// A record that reports a logon (its name, category or action says so, and it names a
/// user) as an authentication event; its outcome decides success or failure.
fn logon(doc: &Value, name: &str, time: Option<Timestamp>) -> Option<AuthEvent> {
    let words = [
        name,
        text_at(doc, "event.category").unwrap_or(""),
        text_at(doc, "event.action").unwrap_or(""),
    ]
    .join(" ")
    .to_ascii_lowercase();
    let is_logon = [
        "logon",
        "login",
        "log on",
        "log in",
        "authentication",
        "sign-in",
        "signin",
    ]
    .iter()
    .any(|w| words.contains(w))
        && !words.contains("logoff")
        && !words.contains("logout");
    if !is_logon {
        return None;
    }
    let user = ["destination.user.name", "user.name", "source.user.name"]
        .iter()
        .find_map(|p| text_at(doc, p))?;
    let outcome = text_at(doc, "event.outcome")
        .unwrap_or("")
        .to_ascii_lowercase();
    let failed = ["fail", "deny", "denied", "reject", "invalid", "block"]
        .iter()
        .any(|w| outcome.contains(w) || words.contains(w));
    let action = if failed {
        AuthAction::LoginFailure
    } else {
        AuthAction::LoginSuccess
    };
    let service = text_at(doc, "observer.product").unwrap_or("cef");
    let mut e = AuthEvent::new(time.unwrap_or_default(), service, action);
    e.user = Some(user.chars().take(256).collect());
    e.source_ip = text_at(doc, "source.ip").map(str::to_owned);
    e.source_host = text_at(doc, "source.domain").map(str::to_owned);
    e.host = text_at(doc, "destination.domain")
        .or_else(|| text_at(doc, "destination.ip"))
        .map(str::to_owned);
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cef_header_escapes_and_extension_values_with_spaces() {
        let line = r"CEF:0|Security|threatmanager|1.0|100|detected a \| in message|10|src=10.0.0.1 act=blocked a \= b msg=two words here dst=2.1.2.2 spt=1232 cs1Label=Policy cs1=Block all";
        let (f, text) = find(line).unwrap();
        let p = parse(f, text).unwrap();
        assert_eq!(p.doc["cef"]["name"], "detected a | in message");
        assert_eq!(p.doc["event"]["action"], "blocked a = b");
        assert_eq!(p.doc["message"], "two words here");
        assert_eq!(p.doc["source"]["ip"], "10.0.0.1");
        assert_eq!(p.doc["source"]["port"], 1232);
        assert_eq!(p.doc["destination"]["ip"], "2.1.2.2");
        assert_eq!(p.doc["labels"]["Policy"], "Block all");
        assert_eq!(p.doc["event"]["severity"], 10);
        assert!(p.auth.is_none());
    }

    #[test]
    fn cef_behind_a_syslog_header_with_a_time_and_a_failed_logon() {
        let line = "<134>Feb 12 10:11:12 fw01 CEF:0|Acme|VPN|2.1|4625|User logon failed|7|rt=Feb 12 2026 10:11:12.500 UTC suser=ana src=198.51.100.9 dhost=vpn.example.com outcome=failure";
        let (f, text) = find(line).unwrap();
        assert_eq!(f, Flavor::Cef);
        let p = parse(f, text).unwrap();
        assert_eq!(p.time.unwrap().to_rfc3339(), "2026-02-12T10:11:12.500Z");
        let a = p.auth.unwrap();
        assert_eq!(a.action, AuthAction::LoginFailure);
        assert_eq!(a.user.as_deref(), Some("ana"));
        assert_eq!(a.source_ip.as_deref(), Some("198.51.100.9"));
        assert_eq!(a.host.as_deref(), Some("vpn.example.com"));
        assert_eq!(
            cef_time("1770891072500").unwrap().to_rfc3339(),
            "2026-02-12T10:11:12.500Z"
        );
        assert_eq!(
            cef_time("Feb 12 2026 11:11:12 +01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-02-12T10:11:12Z"
        );
    }

    #[test]
    fn leef_one_and_two() {
        let p = parse(
            Flavor::Leef,
            "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\tcat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black",
        )
        .unwrap();
        assert_eq!(p.doc["source"]["port"], 81);
        assert_eq!(p.doc["user"]["name"], "joe.black");
        assert_eq!(p.doc["leef"]["event_id"], "15345");
        let p = parse(
            Flavor::Leef,
            "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21^usrName=ana^cat=Logon Success",
        )
        .unwrap();
        assert_eq!(p.doc["destination"]["port"], 21);
        assert_eq!(p.auth.unwrap().action, AuthAction::LoginSuccess);
        let p = parse(Flavor::Leef, "LEEF:2.0|V|P|1|E|x5E|src=1.1.1.1^dst=2.2.2.2").unwrap();
        assert_eq!(p.doc["destination"]["ip"], "2.2.2.2");
        assert!(parse(Flavor::Leef, "LEEF:2.0|V|P|1|E|abc|src=1").is_err());
    }

    #[test]
    fn short_or_odd_records_are_errors_or_kept_as_sent() {
        assert!(parse(Flavor::Cef, "CEF:0|a|b").is_err());
        let p = parse(Flavor::Cef, "CEF:0|a|b|c|d|e|f|=x ==y novalue k=\\").unwrap();
        assert_eq!(p.doc["cef"]["extensions"]["k"], "\\");
        assert!(find("hello CEF:0|x").is_some());
        assert!(find("helloCEF:0|x").is_none());
        let many: String = (0..2000).map(|i| format!("k{i}=v ")).collect();
        let p = parse(Flavor::Cef, &format!("CEF:0|a|b|c|d|e|1|{many}")).unwrap();
        assert!(p.doc["cef"]["extensions"].as_object().unwrap().len() <= MAX_PAIRS);
    }
}
