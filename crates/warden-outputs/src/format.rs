//! Alert formats for SIEMs: ArcSight CEF and IBM QRadar LEEF 1.0 lines, and the RFC 5424
//! syslog envelope around them. Written by hand (no crate does these), with each format's
//! escaping rules, so a value can never break a line or forge a field.
//!
//! What a line carries: the user (the alert's user entity, else its subject), the host and
//! source address when the alert names them, the detector's family (`cat`) and id, the
//! ATT&CK techniques and tactics, the tenant, the alert's key and the id outputs show
//! ([`Delivery::external_id`]), the score and the explanation. The signature is the
//! strongest anomaly type, else the detector's family.

use warden_event::{Alert, AlertDetail, EntityKind, ThreatLevel};

use crate::Delivery;

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

/// The signature: the strongest anomaly type, else the detector's family.
pub(crate) fn signature(a: &Alert) -> &'static str {
    a.primary_anomalies()
        .first()
        .map_or(a.detector.kind.as_str(), |t| t.as_str())
}

/// What the alert is, in a few words: a Sigma rule's title, else the anomaly types, else
/// the detector's family.
pub(crate) fn title(a: &Alert) -> String {
    if let AlertDetail::Sigma(r) = &a.detail
        && !r.rule_title.is_empty()
    {
        return r.rule_title.clone();
    }
    let primary: Vec<&str> = a
        .primary_anomalies()
        .into_iter()
        .map(|t| t.as_str())
        .collect();
    if primary.is_empty() {
        a.detector.kind.as_str().to_owned()
    } else {
        primary.join(", ")
    }
}

/// The user a line names: the alert's user entity, else its subject.
fn user(a: &Alert) -> &str {
    a.entity(EntityKind::User).unwrap_or(&a.subject)
}

/// One alert as a CEF line.
pub fn cef(d: &Delivery) -> String {
    let a = &d.alert;
    let name = format!("{} alert: {}", a.level.as_str(), title(a));
    let mut ext: Vec<(&str, String)> = vec![
        ("rt", event_millis(&a.timestamp).to_string()),
        ("suser", user(a).to_owned()),
    ];
    if let Some(h) = a.entity(EntityKind::Host) {
        ext.push(("dhost", h.to_owned()));
    }
    if let Some(ip) = a.entity(EntityKind::Ip) {
        ext.push(("src", ip.to_owned()));
    }
    ext.extend([
        ("externalId", d.external_id()),
        ("cs1Label", "tenant".into()),
        ("cs1", a.tenant.clone()),
        ("cs2Label", "eventId".into()),
        ("cs2", a.key.clone()),
        ("cs3Label", "detector".into()),
        ("cs3", a.detector.id.clone()),
    ]);
    if !a.attack.is_empty() {
        ext.push(("cs4Label", "attack".into()));
        ext.push(("cs4", a.attack.join(",")));
    }
    ext.extend([
        ("cn1Label", "threatScore".into()),
        ("cn1", format!("{:.1}", a.score)),
        ("cat", a.detector.kind.as_str().to_owned()),
        ("msg", a.explanation.clone()),
    ]);
    let ext: Vec<String> = ext
        .iter()
        .map(|(k, v)| format!("{k}={}", cef_value(v)))
        .collect();
    format!(
        "CEF:0|{}|{}|{}|{}|{}|{}|{}",
        cef_header(VENDOR),
        cef_header(PRODUCT),
        cef_header(VERSION),
        cef_header(signature(a)),
        cef_header(&name),
        severity(a.level),
        ext.join(" ")
    )
}

/// One alert as a LEEF 1.0 line (tab-delimited attributes).
pub fn leef(d: &Delivery) -> String {
    let a = &d.alert;
    let mut attrs: Vec<(&str, String)> = vec![
        ("devTime", a.timestamp.clone()),
        ("devTimeFormat", "yyyy-MM-dd'T'HH:mm:ssX".into()),
        ("cat", a.detector.kind.as_str().to_owned()),
        ("sev", severity(a.level).to_string()),
        ("usrName", user(a).to_owned()),
    ];
    if let Some(h) = a.entity(EntityKind::Host) {
        attrs.push(("identHostName", h.to_owned()));
    }
    if let Some(ip) = a.entity(EntityKind::Ip) {
        attrs.push(("src", ip.to_owned()));
    }
    attrs.extend([
        ("alertId", d.external_id()),
        ("tenant", a.tenant.clone()),
        ("eventId", a.key.clone()),
        ("detector", a.detector.id.clone()),
    ]);
    if !a.attack.is_empty() {
        attrs.push(("attack", a.attack.join(",")));
    }
    let primary: Vec<&str> = a
        .primary_anomalies()
        .into_iter()
        .map(|t| t.as_str())
        .collect();
    attrs.extend([
        ("threatScore", format!("{:.1}", a.score)),
        ("threatLevel", a.level.as_str().to_owned()),
        ("anomalies", primary.join(",")),
        ("msg", a.explanation.clone()),
    ]);
    let attrs: Vec<String> = attrs
        .iter()
        .map(|(k, v)| format!("{k}={}", leef_value(v)))
        .collect();
    format!(
        "LEEF:1.0|{VENDOR}|{PRODUCT}|{VERSION}|{}|{}",
        leef_value(signature(a)).replace('|', " "),
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
    use crate::testutil::{sigma, ueba};
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

    /// LEEF attributes after the header ending in `|signature|`.
    fn leef_attrs<'a>(line: &'a str, signature: &str) -> BTreeMap<&'a str, &'a str> {
        line.split_once(&format!("|{signature}|"))
            .map(|(_, a)| a)
            .unwrap_or("")
            .split('\t')
            .filter_map(|kv| kv.split_once('='))
            .collect()
    }

    #[test]
    fn cef_escapes_survive_a_parser() {
        let nasty = "pipes | and = signs \\ and\nlines";
        let d = ueba(nasty, "eve|admin");
        let line = cef(&d);
        assert!(!line.contains('\n'));
        let (h, ext) = parse_cef(&line);
        assert_eq!(h[0], "CEF:0");
        assert_eq!(h[4], "impossible_travel");
        assert_eq!(h[5], "HIGH alert: impossible_travel");
        assert_eq!(h[6], "8");
        let get = |k: &str| ext.get(k).map(String::as_str);
        assert_eq!(get("suser"), Some("eve|admin"));
        assert_eq!(get("msg"), Some(nasty));
        assert_eq!(get("cs2"), Some("e|1=x"));
        assert_eq!(get("externalId"), Some("42"));
        assert_eq!(get("cn1"), Some("66.5"));
        assert_eq!(get("cat"), Some("ueba"));
        assert_eq!(get("cs3Label"), Some("detector"));
        assert_eq!(get("cs3"), Some("ueba"));
        assert_eq!(get("cs4Label"), Some("attack"));
        assert_eq!(get("cs4"), Some("T1078"));
        assert_eq!(get("cs1"), Some("acme"));
        assert_eq!(get("rt"), Some("1775000000000"));
        assert_eq!(get("dhost"), None, "no host entity, no dhost");
        assert_eq!(get("src"), None);
    }

    #[test]
    fn cef_of_a_rule_match_names_its_host_address_and_techniques() {
        let d = sigma();
        let (h, ext) = parse_cef(&cef(&d));
        assert_eq!(h[4], "rule_match");
        assert_eq!(h[5], "HIGH alert: Suspicious PowerShell | encoded");
        assert_eq!(h[6], "8");
        let get = |k: &str| ext.get(k).map(String::as_str);
        assert_eq!(get("dhost"), Some("dc1"));
        assert_eq!(get("src"), Some("10.0.0.5"));
        assert_eq!(
            get("suser"),
            Some("host:dc1"),
            "no user entity: the subject"
        );
        assert_eq!(get("cat"), Some("sigma"));
        assert_eq!(get("cs3"), Some("r1"));
        assert_eq!(get("cs4"), Some("T1059.001,execution"));
        // No store id: the alert's key.
        assert_eq!(get("externalId"), Some("sigma:r1:7"));
        assert_eq!(get("cs2"), Some("sigma:r1:7"));
        assert_eq!(get("cn1"), Some("75.0"));
    }

    #[test]
    fn cef_without_attack_has_no_cs4() {
        let mut d = sigma();
        let mut a = (*d.alert).clone();
        a.attack.clear();
        d.alert = std::sync::Arc::new(a);
        let (_, ext) = parse_cef(&cef(&d));
        assert!(!ext.contains_key("cs4") && !ext.contains_key("cs4Label"));
    }

    #[test]
    fn leef_keeps_one_line_and_its_attributes() {
        let d = ueba("tab\there\nand a line", "bob");
        let line = leef(&d);
        assert!(line.starts_with("LEEF:1.0|Warden|Warden|"));
        assert!(!line.contains('\n'));
        let attrs = leef_attrs(&line, "impossible_travel");
        assert_eq!(attrs.get("usrName"), Some(&"bob"));
        assert_eq!(attrs.get("sev"), Some(&"8"));
        assert_eq!(attrs.get("msg"), Some(&"tab here and a line"));
        assert_eq!(attrs.get("cat"), Some(&"ueba"));
        assert_eq!(attrs.get("alertId"), Some(&"42"));
        assert_eq!(attrs.get("anomalies"), Some(&"impossible_travel"));
        assert_eq!(attrs.get("attack"), Some(&"T1078"));
        assert_eq!(attrs.get("identHostName"), None);
    }

    #[test]
    fn leef_of_a_rule_match() {
        let d = sigma();
        let line = leef(&d);
        let attrs = leef_attrs(&line, "rule_match");
        assert_eq!(attrs.get("identHostName"), Some(&"dc1"));
        assert_eq!(attrs.get("src"), Some(&"10.0.0.5"));
        assert_eq!(attrs.get("cat"), Some(&"sigma"));
        assert_eq!(attrs.get("detector"), Some(&"r1"));
        assert_eq!(attrs.get("attack"), Some(&"T1059.001,execution"));
        assert_eq!(attrs.get("alertId"), Some(&"sigma:r1:7"));
        assert_eq!(attrs.get("tenant"), Some(&"t"));
        assert_eq!(attrs.get("threatLevel"), Some(&"HIGH"));
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
        assert!(rfc5424(13, ThreatLevel::Low, "", "t", "m").contains(" t - warden "));
    }
}
