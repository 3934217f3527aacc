//! What Zeek's application logs say of a connection, joined to the connection by its
//! `uid`: the TLS server name, certificate subject and validation, JA3 (`ssl`), the HTTP
//! host and user agent (`http`), Zeek's notices (`notice`). A finding about connections
//! (a beacon, a long connection, a large transfer) is told with what its connections
//! were: "TLS without a server name, self-signed certificate CN=P18055077" says more
//! than an address and a port.
//!
//! Kept per uid over the same window as the connections, bounded with them.

use rustc_hash::FxHashMap;
use serde_json::Value;
pub use warden_event::NetworkContext as AppContext;

/// Longest value kept from an application log (a user agent, a certificate subject).
const MAX_VALUE: usize = 200;
/// Distinct values of one kind told in a finding.
const MAX_TOLD: usize = 3;

/// What the application logs said of one connection.
#[derive(Debug, Clone, Default, PartialEq)]
struct Said {
    ts: f64,
    server_name: Option<String>,
    certificate: Option<String>,
    /// Zeek's `validation_status` when it is not `ok`.
    invalid_certificate: Option<String>,
    ja3: Option<String>,
    http_host: Option<String>,
    user_agent: Option<String>,
    notices: Vec<String>,
}

/// The context in words, for the end of an explanation (empty when there is none).
pub fn describe(c: &AppContext) -> String {
    let mut parts = Vec::new();
    if !c.server_names.is_empty() {
        parts.push(format!("server name {}", c.server_names.join(", ")));
    } else if c.tls_without_name > 0 {
        parts.push("TLS without a server name".to_owned());
    }
    if !c.certificates.is_empty() {
        let why = if c.invalid_certificates.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.invalid_certificates.join(", "))
        };
        parts.push(format!("certificate {}{why}", c.certificates.join("; ")));
    }
    if !c.ja3.is_empty() {
        parts.push(format!("JA3 {}", c.ja3.join(", ")));
    }
    if !c.user_agents.is_empty() {
        parts.push(format!("user agent {}", c.user_agents.join(", ")));
    }
    if !c.notices.is_empty() {
        parts.push(format!("Zeek notice {}", c.notices.join(", ")));
    }
    parts.join("; ")
}

fn value(doc: &Value, key: &str) -> Option<String> {
    let v = doc.get(key).and_then(Value::as_str)?.trim();
    if v.is_empty() || v == "-" {
        return None;
    }
    let mut end = v.len().min(MAX_VALUE);
    while !v.is_char_boundary(end) {
        end -= 1;
    }
    Some(v[..end].to_owned())
}

/// The application logs' records, by connection uid.
#[derive(Debug, Clone, Default)]
pub struct Applications {
    by_uid: FxHashMap<String, Said>,
}

impl Applications {
    /// Takes an `ssl`, `http` or `notice` record (`log` is its Zeek log); returns its time
    /// when it was kept.
    pub fn add(&mut self, log: &str, doc: &Value) -> Option<f64> {
        let uid = value(doc, "uid")?;
        let ts = super::ts_of(doc)?;
        let said = self.by_uid.entry(uid).or_default();
        said.ts = said.ts.max(ts);
        match log {
            "ssl" => {
                said.server_name = said
                    .server_name
                    .take()
                    .or_else(|| value(doc, "server_name"));
                said.certificate = said.certificate.take().or_else(|| value(doc, "subject"));
                said.ja3 = said.ja3.take().or_else(|| value(doc, "ja3"));
                if let Some(v) = value(doc, "validation_status").filter(|v| v != "ok") {
                    said.invalid_certificate = Some(v);
                }
            }
            "http" => {
                said.http_host = said.http_host.take().or_else(|| value(doc, "host"));
                said.user_agent = said.user_agent.take().or_else(|| value(doc, "user_agent"));
            }
            _ => {
                if let Some(note) = value(doc, "note")
                    && said.notices.len() < MAX_TOLD
                    && !said.notices.contains(&note)
                {
                    said.notices.push(note);
                }
            }
        }
        Some(ts)
    }

    pub fn len(&self) -> usize {
        self.by_uid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_uid.is_empty()
    }

    /// Forgets what was said before `ts`.
    pub fn forget_before(&mut self, ts: f64) {
        self.by_uid.retain(|_, s| s.ts >= ts);
    }

    /// What was said of these connections, the first few distinct values of each kind.
    pub fn context<'a>(&self, uids: impl Iterator<Item = &'a str>) -> AppContext {
        let mut c = AppContext::default();
        for said in uids.filter_map(|u| self.by_uid.get(u)) {
            let tls = said.certificate.is_some() || said.ja3.is_some();
            if tls && said.server_name.is_none() {
                c.tls_without_name += 1;
            }
            let name = said.server_name.as_ref().or(said.http_host.as_ref());
            push(&mut c.server_names, name);
            push(&mut c.certificates, said.certificate.as_ref());
            push(
                &mut c.invalid_certificates,
                said.invalid_certificate.as_ref(),
            );
            push(&mut c.ja3, said.ja3.as_ref());
            push(&mut c.user_agents, said.user_agent.as_ref());
            for n in &said.notices {
                push(&mut c.notices, Some(n));
            }
        }
        c
    }
}

fn push(into: &mut Vec<String>, v: Option<&String>) {
    if let Some(v) = v
        && into.len() < MAX_TOLD
        && !into.contains(v)
    {
        into.push(v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tls_http_and_notices_are_joined_by_uid() {
        let mut apps = Applications::default();
        let ssl = json!({"ts": 10.0, "uid": "C1", "subject": "CN=P18055077,OU=Jethpro",
            "validation_status": "self signed certificate", "ja3": "c12f54a3"});
        let notice = json!({"ts": 10.1, "uid": "C1", "note": "SSL::Invalid_Server_Cert"});
        let http =
            json!({"ts": 11.0, "uid": "C2", "host": "updates.example", "user_agent": "curl/8.0"});
        assert_eq!(apps.add("ssl", &ssl), Some(10.0));
        assert_eq!(apps.add("notice", &notice), Some(10.1));
        assert_eq!(apps.add("http", &http), Some(11.0));
        assert_eq!(apps.add("ssl", &json!({"ts": 1.0})), None);
        let c = apps.context(["C1", "C2", "C9"].into_iter());
        assert_eq!(c.server_names, ["updates.example"]);
        assert_eq!(c.certificates, ["CN=P18055077,OU=Jethpro"]);
        assert_eq!(c.invalid_certificates, ["self signed certificate"]);
        assert_eq!(c.tls_without_name, 1);
        assert_eq!(c.notices, ["SSL::Invalid_Server_Cert"]);
        assert_eq!(
            describe(&c),
            "server name updates.example; certificate CN=P18055077,OU=Jethpro (self signed certificate); \
             JA3 c12f54a3; user agent curl/8.0; Zeek notice SSL::Invalid_Server_Cert"
        );
        let tls_only = apps.context(["C1"].into_iter());
        assert!(describe(&tls_only).starts_with("TLS without a server name; certificate"));
        apps.forget_before(10.5);
        assert_eq!(apps.len(), 1);
        assert!(apps.context(["C1"].into_iter()).is_empty());
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let mut apps = Applications::default();
        let agent = "é".repeat(150);
        apps.add(
            "http",
            &json!({"ts": 1.0, "uid": "C1", "user_agent": agent}),
        );
        let c = apps.context(["C1"].into_iter());
        assert_eq!(c.user_agents[0].len(), 200);
    }
}
