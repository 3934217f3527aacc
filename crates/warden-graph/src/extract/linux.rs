//! Authentication events of system logs, as Warden's text-log reader writes them (the
//! document's `auth` object: sshd, login, su, sudo, PAM, a CEF/LEEF logon), into
//! [`GraphEvent`]s: a login is a logon of the user on the host that logged it — remote
//! (from its source address) for sshd and network logons, local otherwise — and a failure
//! a failed one; `sudo`/`su` to another account is that account's credentials used by the
//! user on the host (Windows' 4648). Counted once: sshd reports each failure in its own
//! words, so on a host whose sshd has reported an outcome itself, PAM's report of an sshd
//! failure is left out (its `Invalid user` notice too: the failure follows); where PAM is
//! all that speaks for sshd (a syslog set to drop sshd's own lines, as in older Red Hat
//! logs), its report is the failure. PAM's reports for other services are the only ones
//! those give.

use std::collections::HashSet;

use serde_json::Value;
use warden_event::{EventRef, Timestamp};

use crate::event::{
    Action, GraphEvent, logon_type, normalize_account, normalize_host, normalize_ip,
};
use crate::extract::Given;

/// Most hosts remembered as having an sshd that reports for itself.
const MAX_HOSTS: usize = 100_000;

/// Reads authentication events into graph events, remembering which hosts' sshd reports
/// its own outcomes (so that PAM's reports there are not counted twice).
#[derive(Debug, Clone, Default)]
pub struct LinuxAuth {
    sshd_speaks: HashSet<String>,
}

impl LinuxAuth {
    /// The graph event of a document's authentication event, or `None`.
    pub fn event(&mut self, doc: &Value, given: &Given<'_>) -> Option<GraphEvent> {
        let auth = doc.get("auth")?.as_object()?;
        let text = |k: &str| auth.get(k).and_then(Value::as_str);
        let service = text("service")?;
        let action = text("action")?;
        let sshd = service.starts_with("sshd");
        let pam = auth.get("pam").and_then(Value::as_bool).unwrap_or(false);
        let host = text("host")
            .or_else(|| doc.pointer("/host/name").and_then(Value::as_str))
            .unwrap_or("")
            .to_ascii_lowercase();
        let outcome = matches!(action, "login_success" | "login_failure");
        if sshd && outcome {
            if !pam {
                if self.sshd_speaks.len() < MAX_HOSTS {
                    self.sshd_speaks.insert(host);
                }
            } else if self.sshd_speaks.contains(&host) {
                return None;
            }
        }
        event(doc, auth, service, action, given)
    }
}

fn event(
    doc: &Value,
    auth: &serde_json::Map<String, Value>,
    service: &str,
    action: &str,
    given: &Given<'_>,
) -> Option<GraphEvent> {
    let text = |k: &str| auth.get(k).and_then(Value::as_str);
    let remote = text("source_ip").or(text("source_host")).is_some();
    let kind = if remote || service.starts_with("sshd") {
        logon_type::REMOTE_INTERACTIVE
    } else {
        logon_type::INTERACTIVE
    };
    let action = match action {
        "login_success" => Action::Logon {
            logon_type: kind,
            ntlm: false,
        },
        "login_failure" => Action::FailedLogon { logon_type: kind },
        "sudo" | "su" => Action::ExplicitCredentials { target_host: None },
        _ => return None,
    };
    let time = doc
        .get("@timestamp")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse_rfc3339)
        .or(given.time)?;
    let reference = EventRef::Line {
        source: given.source?.to_owned(),
        line: given.line,
    };
    let mut e = GraphEvent::new(time, action, reference);
    e.host = text("host")
        .or_else(|| doc.pointer("/host/name").and_then(Value::as_str))
        .and_then(normalize_host);
    let user = text("user").and_then(normalize_account);
    if let Action::ExplicitCredentials { .. } = e.action {
        // sudo/su: the user acts with the target account's rights (root by default).
        e.account = normalize_account(text("target_user").unwrap_or("root"));
        e.actor = user;
        if e.account == e.actor {
            return None;
        }
    } else {
        e.account = user;
        e.source_ip = text("source_ip").and_then(normalize_ip);
        e.source_host = text("source_host").and_then(normalize_host);
    }
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn linux_event(d: &Value, g: &Given<'_>) -> Option<GraphEvent> {
        LinuxAuth::default().event(d, g)
    }

    fn given() -> Given<'static> {
        Given {
            source: Some("auth.log"),
            line: 7,
            ..Given::default()
        }
    }

    fn doc(action: &str, service: &str, extra: Value) -> Value {
        let mut auth = json!({"service": service, "action": action, "user": "Root",
            "host": "web1", "count": 1});
        if let (Some(a), Value::Object(extra)) = (auth.as_object_mut(), extra) {
            for (k, v) in extra {
                a.insert(k, v);
            }
        }
        json!({"@timestamp": "2026-12-01T10:14:00Z", "event": {"module": "syslog"}, "auth": auth})
    }

    #[test]
    fn an_ssh_login_is_a_remote_logon_on_the_host_from_its_address() {
        let d = doc(
            "login_success",
            "sshd",
            json!({"source_ip": "198.51.100.23"}),
        );
        let e = linux_event(&d, &given()).unwrap_or_else(|| panic!("a logon"));
        assert_eq!(
            e.action,
            Action::Logon {
                logon_type: logon_type::REMOTE_INTERACTIVE,
                ntlm: false
            }
        );
        assert_eq!(
            (
                e.account.as_deref(),
                e.host.as_deref(),
                e.source_ip.as_deref()
            ),
            (Some("root"), Some("WEB1"), Some("198.51.100.23"))
        );
        assert_eq!(
            e.reference,
            EventRef::Line {
                source: "auth.log".into(),
                line: 7
            }
        );
        let failed = doc(
            "login_failure",
            "sshd",
            json!({"source_ip": "198.51.100.23"}),
        );
        assert!(matches!(
            linux_event(&failed, &given()).map(|e| e.action),
            Some(Action::FailedLogon { .. })
        ));
        // PAM's report of the same sshd failure, on a host whose sshd speaks for itself,
        // and the notice before it, add nothing.
        let pam = doc(
            "login_failure",
            "sshd",
            json!({"source_ip": "198.51.100.23", "pam": true}),
        );
        let mut reader = LinuxAuth::default();
        assert!(reader.event(&pam, &given()).is_some(), "sshd not heard yet");
        assert!(reader.event(&failed, &given()).is_some());
        assert!(reader.event(&pam, &given()).is_none());
        let mut elsewhere = pam.clone();
        elsewhere["auth"]["host"] = json!("web2");
        assert!(
            reader.event(&elsewhere, &given()).is_some(),
            "another host's PAM report is its failure"
        );
        assert!(linux_event(&doc("invalid_user", "sshd", json!({})), &given()).is_none());
        // PAM is all a console login failure gets: kept, and local.
        let console = doc("login_failure", "login", json!({"pam": true}));
        assert_eq!(
            linux_event(&console, &given()).map(|e| e.action),
            Some(Action::FailedLogon {
                logon_type: logon_type::INTERACTIVE
            })
        );
    }

    #[test]
    fn sudo_to_root_is_roots_credentials_used_by_the_user() {
        let d = doc(
            "sudo",
            "sudo",
            json!({"user": "bob", "target_user": "root"}),
        );
        let e = linux_event(&d, &given()).unwrap_or_else(|| panic!("explicit credentials"));
        assert_eq!(
            (e.actor.as_deref(), e.account.as_deref()),
            (Some("bob"), Some("root"))
        );
        assert_eq!(e.host.as_deref(), Some("WEB1"));
    }

    #[test]
    fn other_documents_give_nothing() {
        assert!(linux_event(&doc("session_open", "sshd", json!({})), &given()).is_none());
        let mut no_auth = doc("login_success", "sshd", json!({}));
        no_auth.as_object_mut().map(|o| o.remove("auth"));
        assert!(linux_event(&no_auth, &given()).is_none());
        assert!(linux_event(&json!({"EventID": 4624}), &given()).is_none());
    }
}
