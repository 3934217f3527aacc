//! Web server access logs: the NCSA common and combined formats Apache httpd and nginx
//! write by default —
//! `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"` —, with the virtual host and
//! port before them (Apache's `vhost_combined`), fields after them (nginx's request time,
//! upstream…) ignored, alone or behind a syslog header (nginx's `access_log syslog:`).
//!
//! A line becomes an ECS document (`source.ip`, `user.name`, `http.request.method`,
//! `url.original`/`path`/`query`, `http.response.status_code`, `http.response.body.bytes`,
//! `http.request.referrer`, `user_agent.original`, `event.module: web`), which the Sigma
//! mapping gives to `category: webserver` rules. The request line is the client's text:
//! a request that is no `METHOD target VERSION` (TLS bytes sent to a plain port, a
//! scanner's garbage) is kept whole as `url.original`, without a method.

use chrono::DateTime;
use serde_json::{Map, Value, json};
use warden_event::Timestamp;

/// Longest field kept (a request line, a user agent): longer text is cut.
const MAX_FIELD: usize = 8192;

/// One access-log line.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLine {
    /// The virtual host (`vhost_combined`), without its port.
    pub vhost: Option<String>,
    /// The client: an address, or a name when the server resolves them.
    pub client: String,
    pub user: Option<String>,
    pub time: Timestamp,
    pub method: Option<String>,
    /// The request target as sent (path and query), or the whole request line when it is
    /// no `METHOD target VERSION`.
    pub target: String,
    pub version: Option<String>,
    pub status: Option<u16>,
    pub bytes: Option<u64>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
}

/// Cuts `s` to [`MAX_FIELD`] bytes on a character boundary.
fn bounded(s: String) -> String {
    if s.len() <= MAX_FIELD {
        return s;
    }
    let mut end = MAX_FIELD;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// A quoted field at the start of `s` (after `"`): its text with `\"`, `\\` and nginx's
/// `\xHH` undone, and the rest after the closing quote.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let body = s.strip_prefix('"').ok_or("expected a quoted field")?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((bounded(out), &body[i + 1..])),
            '\\' => match chars.next() {
                Some((_, 'x')) => {
                    let hex: String = chars.by_ref().take(2).map(|(_, c)| c).collect();
                    match u8::from_str_radix(&hex, 16) {
                        Ok(b) if b.is_ascii() => out.push(char::from(b)),
                        _ => {
                            out.push_str("\\x");
                            out.push_str(&hex);
                        }
                    }
                }
                Some((_, e)) => out.push(e),
                None => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    Err("a quoted field without its closing quote".into())
}

/// `-` is no value.
fn value(s: &str) -> Option<&str> {
    (s != "-" && !s.is_empty()).then_some(s)
}

/// Whether a token can be a client or a host: an address or a name, no quotes or brackets.
fn hostlike(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:%".contains(&b))
}

/// Whether `line` has an access line's shape (two or three words, then ` [`): a cheap
/// test that keeps [`parse`] (and its error) off every other text line.
pub fn looks_like(line: &str) -> bool {
    line.find(" [").is_some_and(|open| {
        let spaces = line.as_bytes()[..open]
            .iter()
            .filter(|b| **b == b' ')
            .count();
        (2..=3).contains(&spaces)
    })
}

/// Parses one line; `Err` says why it is no access-log line.
pub fn parse(line: &str) -> Result<AccessLine, String> {
    let open = line.find(" [").ok_or("no [time]")?;
    let heads: Vec<&str> = line[..open].split(' ').collect();
    let (vhost, client, user) = match heads.as_slice() {
        [client, _ident, user] => (None, *client, *user),
        [vhost, client, _ident, user] => (Some(*vhost), *client, *user),
        _ => return Err("expected `client ident user [time]`".into()),
    };
    if !hostlike(client) || vhost.is_some_and(|v| !hostlike(v)) {
        return Err("no client address before the time".into());
    }
    let rest = &line[open + 2..];
    let close = rest.find(']').ok_or("no closing ] after the time")?;
    let time = DateTime::parse_from_str(&rest[..close], "%d/%b/%Y:%H:%M:%S %z")
        .map_err(|e| format!("time `{}`: {e}", &rest[..close]))?;
    let time = Timestamp(time.timestamp_millis());
    let rest = rest[close + 1..].trim_start();
    let (request, rest) = quoted(rest)?;
    let mut tail = rest.split_whitespace();
    let status = tail.next().ok_or("no status after the request")?;
    let status = match value(status) {
        None => None,
        Some(s) => Some(
            s.parse::<u16>()
                .ok()
                .filter(|s| (100..=999).contains(s))
                .ok_or_else(|| format!("status `{s}` is no HTTP status"))?,
        ),
    };
    let bytes = tail
        .next()
        .and_then(value)
        .and_then(|b| b.parse::<u64>().ok());
    // The combined format's referrer and user agent, when present.
    let after_bytes = rest
        .trim_start()
        .split_once(' ')
        .and_then(|(_, r)| r.trim_start().split_once(' '))
        .map_or("", |(_, r)| r.trim_start());
    let (referrer, user_agent) = match quoted(after_bytes) {
        Ok((r, more)) => (Some(r), quoted(more.trim_start()).ok().map(|(ua, _)| ua)),
        Err(_) => (None, None),
    };
    let parts: Vec<&str> = request.split(' ').collect();
    let (method, target, version) = match parts.as_slice() {
        [m, t, v]
            if !m.is_empty()
                && m.bytes().all(|b| b.is_ascii_uppercase())
                && v.starts_with("HTTP/") =>
        {
            (
                Some((*m).to_owned()),
                (*t).to_owned(),
                Some(v[5..].to_owned()),
            )
        }
        _ => (None, request.clone(), None),
    };
    Ok(AccessLine {
        vhost: vhost.map(|v| v.rsplit_once(':').map_or(v, |(h, _)| h).to_owned()),
        client: client.to_owned(),
        user: value(user).map(str::to_owned),
        time,
        method,
        target,
        version,
        status,
        bytes,
        referrer: referrer.filter(|r| value(r).is_some()),
        user_agent: user_agent.filter(|u| value(u).is_some()),
    })
}

impl AccessLine {
    /// The line as an ECS document (`message` is the whole line).
    pub fn to_doc(&self, line: &str) -> Value {
        let mut doc = Map::new();
        doc.insert("@timestamp".into(), Value::String(self.time.to_rfc3339()));
        let source = if self.client.parse::<std::net::IpAddr>().is_ok() {
            json!({ "ip": self.client, "address": self.client })
        } else {
            json!({ "address": self.client, "domain": self.client })
        };
        doc.insert("source".into(), source);
        if let Some(u) = &self.user {
            doc.insert("user".into(), json!({ "name": u }));
        }
        let mut request = Map::new();
        if let Some(m) = &self.method {
            request.insert("method".into(), Value::String(m.clone()));
        }
        if let Some(r) = &self.referrer {
            request.insert("referrer".into(), Value::String(r.clone()));
        }
        let mut http = json!({ "request": request });
        if let Some(v) = &self.version {
            http["version"] = Value::String(v.clone());
        }
        let mut response = Map::new();
        if let Some(s) = self.status {
            response.insert("status_code".into(), s.into());
        }
        if let Some(b) = self.bytes {
            response.insert("body".into(), json!({ "bytes": b }));
        }
        http["response"] = Value::Object(response);
        doc.insert("http".into(), http);
        let mut url = Map::new();
        url.insert("original".into(), Value::String(self.target.clone()));
        if self.method.is_some() {
            let (path, query) = self
                .target
                .split_once('?')
                .map_or((self.target.as_str(), None), |(p, q)| (p, Some(q)));
            url.insert("path".into(), Value::String(path.to_owned()));
            if let Some(q) = query {
                url.insert("query".into(), Value::String(q.to_owned()));
            }
        }
        if let Some(v) = &self.vhost {
            url.insert("domain".into(), Value::String(v.clone()));
        }
        doc.insert("url".into(), Value::Object(url));
        if let Some(ua) = &self.user_agent {
            doc.insert("user_agent".into(), json!({ "original": ua }));
        }
        doc.insert(
            "event".into(),
            json!({ "module": "web", "dataset": "web.access", "category": ["web"] }),
        );
        doc.insert("message".into(), Value::String(line.to_owned()));
        Value::Object(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_combined_format_with_every_field() {
        let line = r#"203.0.113.9 - alice [04/Dec/2026:10:00:05 +0100] "GET /download?file=../../etc/passwd HTTP/1.1" 200 5120 "https://example.org/" "Mozilla/5.0 (X11; Linux x86_64)""#;
        let a = parse(line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.client, "203.0.113.9");
        assert_eq!(a.user.as_deref(), Some("alice"));
        assert_eq!(a.time.to_rfc3339(), "2026-12-04T09:00:05Z");
        assert_eq!(
            (a.method.as_deref(), a.version.as_deref()),
            (Some("GET"), Some("1.1"))
        );
        assert_eq!(a.target, "/download?file=../../etc/passwd");
        assert_eq!((a.status, a.bytes), (Some(200), Some(5120)));
        assert_eq!(a.referrer.as_deref(), Some("https://example.org/"));
        assert_eq!(
            a.user_agent.as_deref(),
            Some("Mozilla/5.0 (X11; Linux x86_64)")
        );
        let d = a.to_doc(line);
        assert_eq!(d["url"]["path"], "/download");
        assert_eq!(d["url"]["query"], "file=../../etc/passwd");
        assert_eq!(d["http"]["response"]["status_code"], 200);
        assert_eq!(d["source"]["ip"], "203.0.113.9");
        assert_eq!(d["event"]["module"], "web");
    }

    #[test]
    fn the_shape_test_passes_access_lines_and_not_syslog_ones() {
        assert!(looks_like(
            r#"1.2.3.4 - - [04/Dec/2026:10:00:05 +0000] "GET / HTTP/1.1" 200 1"#
        ));
        assert!(looks_like(
            r#"h:443 1.2.3.4 - - [04/Dec/2026:10:00:05 +0000] "GET / HTTP/1.1" 200 1"#
        ));
        assert!(!looks_like("Dec  4 10:00:05 web1 kernel: [12.5] eth0 up"));
        assert!(!looks_like(
            "<38>1 2026-12-04T10:00:05Z web1 app 1 - [m a=\"1\"] hi"
        ));
    }

    #[test]
    fn common_format_vhosts_escapes_and_garbage_requests() {
        let common = parse(r#"::1 - - [04/Dec/2026:10:00:05 +0000] "HEAD / HTTP/1.0" 304 -"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((common.user, common.bytes), (None, None));
        assert_eq!((common.referrer, common.user_agent), (None, None));
        let vhost = parse(r#"shop.example.com:443 198.51.100.7 - - [04/Dec/2026:10:00:05 +0000] "POST /mgmt/tm/util/bash HTTP/1.1" 200 41 "-" "curl/8.4.0" 0.003"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(vhost.vhost.as_deref(), Some("shop.example.com"));
        assert_eq!(vhost.referrer, None);
        assert_eq!(vhost.user_agent.as_deref(), Some("curl/8.4.0"));
        // nginx escapes quotes and bytes it will not write raw.
        let escaped = parse(r#"198.51.100.7 - - [04/Dec/2026:10:00:05 +0000] "\x16\x03\x01\x02\x00\x01" 400 157 "-" "say \"hi\"""#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(escaped.method, None);
        assert_eq!(escaped.target, "\u{16}\u{3}\u{1}\u{2}\u{0}\u{1}");
        assert_eq!(escaped.user_agent.as_deref(), Some("say \"hi\""));
        assert_eq!(escaped.status, Some(400));
    }

    #[test]
    fn other_lines_say_why_they_are_none() {
        for (line, why) in [
            ("Dec  4 10:00:05 web1 sshd[1]: hello", "no [time]"),
            (
                r#"a b c d e [04/Dec/2026:10:00:05 +0000] "GET / HTTP/1.1" 200 1"#,
                "expected",
            ),
            (
                r#"1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1"#,
                "time `yesterday`",
            ),
            (
                r#"1.2.3.4 - - [04/Dec/2026:10:00:05 +0000] "GET / HTTP/1.1 200 1"#,
                "closing quote",
            ),
            (
                r#"1.2.3.4 - - [04/Dec/2026:10:00:05 +0000] "GET / HTTP/1.1" OK 1"#,
                "no HTTP status",
            ),
        ] {
            let Err(e) = parse(line) else {
                panic!("{line}: read as an access line")
            };
            assert!(e.contains(why), "{line}: {e}");
        }
    }

    proptest::proptest! {
        /// Any text, and a valid line with any text spliced in: no panic, and what is
        /// read stays within the bounds.
        #[test]
        fn odd_text_never_panics(
            text in "\\PC{0,300}",
            at in 0usize..140,
            splice in "[\\[\\]\" \\\\x0-9a-z-]{0,12}",
        ) {
            let _ = parse(&text);
            let mut line = String::from(
                r#"1.2.3.4 - bob [04/Dec/2026:10:00:05 +0000] "GET /a?b=c HTTP/1.1" 200 12 "-" "ua/1.0""#,
            );
            let at = (0..=at.min(line.len())).rev().find(|i| line.is_char_boundary(*i)).unwrap_or(0);
            line.insert_str(at, &splice);
            if let Ok(a) = parse(&line) {
                proptest::prop_assert!(a.target.len() <= MAX_FIELD);
                let doc = a.to_doc(&line);
                proptest::prop_assert_eq!(&doc["event"]["module"], "web");
            }
        }
    }
}
