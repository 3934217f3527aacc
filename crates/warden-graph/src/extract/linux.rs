//! Authentication events of system logs, as Warden's text-log reader writes them (the
//! document's `auth` object: sshd, login, su, sudo, PAM, a CEF/LEEF logon), into
//! [`GraphEvent`]s: a login is a logon of the user on the host that logged it — remote
//! (from its source address) for sshd and network logons, local otherwise — and a failure
//! a failed one; `sudo`/`su` to another account is that account's credentials used by the
//! user on the host (Windows' 4648). Counted once: sshd reports each failure in its own
//! words, so PAM's report of an sshd failure is left out (its `Invalid user` notice too:
//! the failure follows); PAM's reports for other services are the only ones those give.

use serde_json::Value;
use warden_event::{EventRef, Timestamp};

use crate::event::{
    Action, GraphEvent, logon_type, normalize_account, normalize_host, normalize_ip,
};
use crate::extract::Given;

/// The graph event of a document's authentication event, or `None`.
pub fn linux_event(doc: &Value, given: &Given<'_>) -> Option<GraphEvent> {
    let auth = doc.get("auth")?.as_object()?;
    let text = |k: &str| auth.get(k).and_then(Value::as_str);
    let service = text("service")?;
    let pam = auth.get("pam").and_then(Value::as_bool).unwrap_or(false);
    let remote = text("source_ip").or(text("source_host")).is_some();
    let kind = if remote || service.starts_with("sshd") {
        logon_type::REMOTE_INTERACTIVE
    } else {
        logon_type::INTERACTIVE
    };
    let action = match text("action")? {
        "login_success" => Action::Logon {
            logon_type: kind,
            ntlm: false,
        },
        "login_failure" if pam && service.starts_with("sshd") => return None,
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
        // PAM's report of the same sshd failure, and the notice before it, add nothing.
        let pam = doc(
            "login_failure",
            "sshd",
            json!({"source_ip": "198.51.100.23", "pam": true}),
        );
        assert!(linux_event(&pam, &given()).is_none());
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
