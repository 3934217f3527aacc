//! Alert formats for SIEMs: ArcSight CEF and IBM QRadar LEEF 1.0 lines, and the RFC 5424
//! syslog envelope around them. Written by hand (no crate does these), with each format's
//! escaping rules, so a value can never break a line or forge a field.

use warden_event::ThreatLevel;

use crate::routes::stream::Published;

const VENDOR: &str = "Warden";
const PRODUCT: &str = "Warden";
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// CEF/LEEF severity, 0–10.
pub fn severity(level: ThreatLevel) -> u8 {
    match level {
        ThreatLevel::Low => 3,
        ThreatLevel::Medium => 5,
        ThreatLevel::High => 8,
        ThreatLevel::Critical => 10,
    }
}

/// Syslog severity (RFC 5424 §6.2.1).
pub fn syslog_severity(level: ThreatLevel) -> u8 {
    match level {
        ThreatLevel::Critical => 2,
        ThreatLevel::High => 3,
        ThreatLevel::Medium => 4,
        ThreatLevel::Low => 5,
    }
}

/// CEF header fields: `\` and `|` escaped; line breaks become spaces.
fn cef_header(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// CEF extension values: `\`, `=` escaped, line breaks as `\n` / `\r`.
fn cef_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// LEEF 1.0 values: the tab delimiter and line breaks cannot appear; they become spaces.
fn leef_value(v: &str) -> String {
    v.chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn event_millis(ts: &str) -> i64 {
    warden_event::Timestamp::parse_rfc3339(ts).map_or(0, |t| t.0)
}

/// The signature: the strongest anomaly type, or `behavioral_alert`.
fn signature(p: &Published) -> &str {
    p.primary.first().map_or("behavioral_alert", String::as_str)
}

/// One alert as a CEF line.
pub fn cef(p: &Published) -> String {
    let s = &p.score;
    let name = format!(
        "{} alert: {}",
        s.threat_level.as_str(),
        if p.primary.is_empty() {
            "behaviour".to_owned()
        } else {
            p.primary.join(", ")
        }
    );
    let ext = [
        ("rt", event_millis(&s.timestamp).to_string()),
        ("suser", s.user_id.clone()),
        ("externalId", p.id.to_string()),
        ("cs1Label", "tenant".into()),
        ("cs1", p.tenant.clone()),
        ("cs2Label", "eventId".into()),
        ("cs2", s.event_id.clone().unwrap_or_default()),
        ("cn1Label", "threatScore".into()),
        ("cn1", format!("{:.1}", s.threat_score)),
        ("cat", "behavior".into()),
        ("msg", s.explanation.clone()),
    ];
    let ext: Vec<String> = ext
        .iter()
        .map(|(k, v)| format!("{k}={}", cef_value(v)))
        .collect();
    format!(
        "CEF:0|{}|{}|{}|{}|{}|{}|{}",
        cef_header(VENDOR),
        cef_header(PRODUCT),
        cef_header(VERSION),
        cef_header(signature(p)),
        cef_header(&name),
        severity(s.threat_level),
        ext.join(" ")
    )
}

/// One alert as a LEEF 1.0 line (tab-delimited attributes).
pub fn leef(p: &Published) -> String {
    let s = &p.score;
    let attrs = [
        ("devTime", s.timestamp.clone()),
        ("devTimeFormat", "yyyy-MM-dd'T'HH:mm:ssX".into()),
        ("cat", "behavior".into()),
        ("sev", severity(s.threat_level).to_string()),
        ("usrName", s.user_id.clone()),
        ("alertId", p.id.to_string()),
        ("tenant", p.tenant.clone()),
        ("eventId", s.event_id.clone().unwrap_or_default()),
        ("threatScore", format!("{:.1}", s.threat_score)),
        ("threatLevel", s.threat_level.as_str().to_owned()),
        ("anomalies", p.primary.join(",")),
        ("msg", s.explanation.clone()),
    ];
    let attrs: Vec<String> = attrs
        .iter()
        .map(|(k, v)| format!("{k}={}", leef_value(v)))
        .collect();
    format!(
        "LEEF:1.0|{VENDOR}|{PRODUCT}|{VERSION}|{}|{}",
        leef_value(signature(p)).replace('|', " "),
        attrs.join("\t")
    )
}

/// The RFC 5424 envelope: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID - MSG`.
pub fn rfc5424(
    facility: u8,
    level: ThreatLevel,
    host: &str,
    now_rfc3339: &str,
    msg: &str,
) -> String {
    let pri = u16::from(facility) * 8 + u16::from(syslog_severity(level));
    let field = |v: &str, max: usize| -> String {
        let v: String = v
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(max)
            .collect();
        if v.is_empty() { "-".into() } else { v }
    };
    format!(
        "<{pri}>1 {now_rfc3339} {} warden {} alert - {msg}",
        field(host, 255),
        std::process::id()
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Splits a CEF line into its 7 header fields and the extension map, undoing the
    /// escapes — what a SIEM's parser does.
    pub fn parse_cef(line: &str) -> (Vec<String>, BTreeMap<String, String>) {
        let mut header = Vec::new();
        let mut cur = String::new();
        let mut chars = line.chars();
        while header.len() < 7 {
            let Some(c) = chars.next() else { break };
            match c {
                '\\' => cur.extend(chars.next()),
                '|' => header.push(std::mem::take(&mut cur)),
                c => cur.push(c),
            }
        }
        let rest: String = chars.collect();
        // Extension: key=value pairs separated by spaces; a key is the word before an
        // unescaped `=`.
        let mut ext = BTreeMap::new();
        let mut tokens: Vec<(String, String)> = Vec::new();
        let mut value = String::new();
        let mut it = rest.chars().peekable();
        let mut key = String::new();
        let mut in_key = true;
        while let Some(c) = it.next() {
            if in_key {
                if c == '=' {
                    in_key = false;
                } else {
                    key.push(c);
                }
                continue;
            }
            match c {
                '\\' => match it.next() {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some(o) => value.push(o),
                    None => {}
                },
                '=' => {
                    // The last space-separated word of `value` was the next key.
                    let cut = value.rfind(' ').unwrap_or(0);
                    let next_key = value[cut..].trim().to_owned();
                    value.truncate(cut);
                    tokens.push((std::mem::take(&mut key), std::mem::take(&mut value)));
                    key = next_key;
                }
                c => value.push(c),
            }
        }
        tokens.push((key, value));
        for (k, v) in tokens {
            ext.insert(k, v);
        }
        (header, ext)
    }

    pub fn published(explanation: &str, user: &str) -> Published {
        let mut s = warden_engine::ueba::UebaEngine::new(warden_engine::UebaConfig::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .score(
                &warden_event::UserActivity::new(
                    user,
                    warden_event::ActivityType::Login,
                    warden_event::Timestamp(1_775_000_000_000),
                ),
                false,
            );
        s.threat_level = ThreatLevel::High;
        s.threat_score = 66.5;
        s.explanation = explanation.to_owned();
        s.event_id = Some("e|1=x".into());
        s.primary_anomalies = vec![warden_event::AnomalyType::ImpossibleTravel];
        Published::of("acme", 42, &s)
    }

    #[test]
    fn cef_escapes_survive_a_parser() {
        let nasty = "pipes | and = signs \\ and\nlines";
        let p = published(nasty, "eve|admin");
        let line = cef(&p);
        assert!(!line.contains('\n'));
        let (h, ext) = parse_cef(&line);
        assert_eq!(h[0], "CEF:0");
        assert_eq!(h[4], "impossible_travel");
        assert_eq!(h[6], "8");
        assert_eq!(ext.get("suser").map(String::as_str), Some("eve|admin"));
        assert_eq!(ext.get("msg").map(String::as_str), Some(nasty));
        assert_eq!(ext.get("cs2").map(String::as_str), Some("e|1=x"));
        assert_eq!(ext.get("externalId").map(String::as_str), Some("42"));
        assert_eq!(ext.get("cn1").map(String::as_str), Some("66.5"));
    }

    #[test]
    fn leef_keeps_one_line_and_its_attributes() {
        let p = published("tab\there\nand a line", "bob");
        let line = leef(&p);
        assert!(line.starts_with("LEEF:1.0|Warden|Warden|"));
        assert!(!line.contains('\n'));
        let attrs: BTreeMap<&str, &str> = line
            .split_once("|impossible_travel|")
            .map(|(_, a)| a)
            .unwrap_or("")
            .split('\t')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        assert_eq!(attrs.get("usrName"), Some(&"bob"));
        assert_eq!(attrs.get("sev"), Some(&"8"));
        assert_eq!(attrs.get("msg"), Some(&"tab here and a line"));
    }

    #[test]
    fn the_syslog_envelope_has_priority_and_fields() {
        let line = rfc5424(
            13,
            ThreatLevel::Critical,
            "host one",
            "2026-04-01T00:00:00Z",
            "CEF:0|x",
        );
        assert!(
            line.starts_with("<106>1 2026-04-01T00:00:00Z hostone warden "),
            "{line}"
        );
        assert!(line.ends_with(" alert - CEF:0|x"));
    }
}
