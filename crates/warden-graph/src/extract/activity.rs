//! User activity as graph events: an account signing in from an address, or using a
//! resource (an application, a share, a data set) from it.
//!
//! Device names of user activity feeds are models ("ThinkPad X1"), not machine
//! identities, so they name no host: the activity's nodes are the account, its address and
//! the resource. Activities teach the graph (queries, first-seen edges); the Windows
//! finders do not judge them — the behavioural engine scores them, and its strong anomalies
//! reach the progression finder as detections.

use warden_event::UserActivity;

use crate::event::{Action, GraphEvent, normalize_account, normalize_ip};

/// Longest resource name kept, in bytes.
const MAX_RESOURCE: usize = 256;

/// `Payroll DB ` → `payroll db`; empty, `-` and over-long names → `None`.
pub fn normalize_resource(raw: &str) -> Option<String> {
    let name = raw.trim();
    (!name.is_empty() && name != "-" && name.len() <= MAX_RESOURCE).then(|| name.to_lowercase())
}

/// The graph event of one user activity (`None` when its user is a builtin account, or a
/// sign-in names no address, or another activity no resource).
pub fn activity_event(a: &UserActivity) -> Option<GraphEvent> {
    let account = normalize_account(&a.user_id)?;
    let resource = a.resource_accessed.as_deref().and_then(normalize_resource);
    let ip = a.ip_address.as_deref().and_then(normalize_ip);
    // A sign-in is about where it came from; any other activity about what it used.
    let resource = if a.activity_type.is_authentication() {
        None
    } else {
        resource
    };
    if resource.is_none() && (ip.is_none() || !a.activity_type.is_authentication()) {
        return None;
    }
    let mut e = GraphEvent::new(
        a.timestamp,
        Action::Activity {
            kind: a.activity_type.as_str(),
            resource,
            success: a.success,
        },
        a.reference(),
    );
    e.account = Some(account);
    e.source_ip = ip;
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::{ActivityType, Timestamp};

    fn activity(kind: ActivityType, resource: Option<&str>, ip: Option<&str>) -> UserActivity {
        let t = Timestamp::parse_rfc3339("2026-03-02T09:00:00Z").unwrap();
        let mut a = UserActivity::new("CORP\\Ana", kind, t);
        a.resource_accessed = resource.map(Into::into);
        a.ip_address = ip.map(Into::into);
        a.event_id = Some("e1".into());
        a
    }

    #[test]
    fn a_download_uses_its_resource_and_a_login_its_address() {
        let e = activity_event(&activity(
            ActivityType::Download,
            Some(" Payroll "),
            Some("10.1.2.3"),
        ))
        .unwrap();
        assert_eq!(e.account.as_deref(), Some("ana"));
        assert_eq!(e.source_ip.as_deref(), Some("10.1.2.3"));
        assert_eq!(
            e.action,
            Action::Activity {
                kind: "download",
                resource: Some("payroll".into()),
                success: true
            }
        );
        assert_eq!(
            e.reference,
            warden_event::EventRef::EventId {
                event_id: "e1".into()
            }
        );
        let login = activity_event(&activity(
            ActivityType::Login,
            Some("sso"),
            Some("10.1.2.3"),
        ));
        assert!(matches!(
            login.unwrap().action,
            Action::Activity { resource: None, .. }
        ));
    }

    #[test]
    fn an_activity_that_names_nothing_to_link_is_not_an_event() {
        assert!(activity_event(&activity(ActivityType::Login, None, None)).is_none());
        assert!(
            activity_event(&activity(ActivityType::Download, Some("-"), Some("bad"))).is_none()
        );
        let mut system = activity(ActivityType::Download, Some("x"), None);
        system.user_id = "SYSTEM".into();
        assert!(activity_event(&system).is_none());
    }
}
