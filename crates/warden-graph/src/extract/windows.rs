//! Windows Security and Sysmon events, in every JSON shape Warden reads, into
//! [`GraphEvent`]s: the `evtx_dump` shape (`Event.System` / `Event.EventData`, which is
//! also what Warden renders EVTX records as), the flat NXLog/OTRF shape (`Hostname`,
//! `EventID`, `RecordNumber` beside the data fields) and the Winlogbeat shape
//! (`winlog.event_data.*`, `winlog.computer_name`, `winlog.record_id`).
//!
//! Events the graph has no use for give `None`; so do events whose time cannot be found.

use serde_json::Value;
use warden_event::winlog::WinDoc;
use warden_event::{EventRef, Timestamp};

use crate::event::{Action, GraphEvent, normalize_account, normalize_host, normalize_ip};

/// What the container already knows about a document (an EVTX record header, a line).
#[derive(Debug, Clone, Copy, Default)]
pub struct Given<'a> {
    pub record_id: Option<u64>,
    pub time: Option<Timestamp>,
    /// The file (and `line`) cited when the document has no record id of its own; without
    /// it such documents are skipped.
    pub source: Option<&'a str>,
    pub line: u64,
}

/// The graph event of one Windows JSON document, or `None` when the graph has no use for
/// it (or it has no time).
pub fn windows_event(doc: &Value, given: &Given<'_>) -> Option<GraphEvent> {
    let w = WinDoc::new(doc);
    let id = w.event_id()?;
    let sysmon = {
        let c = w.channel();
        let p = w.provider();
        c.contains("Sysmon") || p.contains("Sysmon")
    };
    let action = action_of(&w, id, sysmon)?;
    let time = w.time().or(given.time)?;
    let computer = w.computer();
    let reference = match w.record_id().or(given.record_id) {
        Some(record_id) => EventRef::Record {
            computer: computer.clone(),
            record_id,
        },
        None => EventRef::Line {
            source: given.source?.to_owned(),
            line: given.line,
        },
    };
    let mut e = GraphEvent::new(time, action, reference);
    e.host = computer.as_deref().and_then(normalize_host);
    fill_entities(&w, id, sysmon, &mut e);
    Some(e)
}

fn logon_type(w: &WinDoc<'_>) -> u8 {
    w.data("LogonType")
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0)
}

fn action_of(w: &WinDoc<'_>, id: u32, sysmon: bool) -> Option<Action> {
    let action = match (id, sysmon) {
        (4624, _) => {
            let package = w.data("AuthenticationPackageName").unwrap_or_default();
            let lm = w.data("LmPackageName").unwrap_or_default();
            Action::Logon {
                logon_type: logon_type(w),
                ntlm: package.eq_ignore_ascii_case("NTLM") || lm.starts_with("NTLM"),
            }
        }
        (4625, _) => Action::FailedLogon {
            logon_type: logon_type(w),
        },
        (4648, _) => Action::ExplicitCredentials {
            target_host: w
                .data("TargetServerName")
                .as_deref()
                .and_then(normalize_host),
        },
        (4672, _) => Action::Privileged,
        (4728 | 4732 | 4756, _) => Action::GroupAdd {
            group: w.data("TargetUserName").unwrap_or_default(),
        },
        (4768 | 4769, _) => {
            let status = w.data("Status").unwrap_or_default();
            if !(status.is_empty() || status == "0x0" || status == "0") {
                return None;
            }
            let service = w.data("ServiceName").unwrap_or_default();
            Action::Ticket {
                service_host: service.strip_suffix('$').and_then(normalize_host),
                tgt: id == 4768,
            }
        }
        (1, true) | (4688, false) => Action::ProcessStart {
            image: w
                .data("Image")
                .or_else(|| w.data("NewProcessName"))
                .unwrap_or_default(),
            parent: w
                .data("ParentImage")
                .or_else(|| w.data("ParentProcessName"))
                .unwrap_or_default(),
            command_line: w.data("CommandLine").unwrap_or_default(),
        },
        (10, true) => Action::ProcessAccess {
            source_image: w.data("SourceImage").unwrap_or_default(),
            target_image: w.data("TargetImage").unwrap_or_default(),
            granted_access: w.data("GrantedAccess").unwrap_or_default(),
        },
        (3, true) => Action::Connection {
            dest_port: w
                .data("DestinationPort")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0),
            image: w.data("Image").unwrap_or_default(),
            initiated: w
                .data("Initiated")
                .is_none_or(|v| !v.eq_ignore_ascii_case("false")),
        },
        _ => return None,
    };
    Some(action)
}

/// `CN=user0183,OU=Users,DC=corp,DC=local` → `user0183`.
fn member_name(w: &WinDoc<'_>) -> Option<String> {
    let m = w.data("MemberName")?;
    let cn = m
        .strip_prefix("CN=")
        .or_else(|| m.strip_prefix("cn="))
        .map_or(m.as_str(), |rest| rest.split(',').next().unwrap_or(rest));
    normalize_account(cn).or_else(|| w.data("MemberSid").and_then(|s| normalize_account(&s)))
}

fn fill_entities(w: &WinDoc<'_>, id: u32, sysmon: bool, e: &mut GraphEvent) {
    let acct = |name: &str| w.data(name).and_then(|v| normalize_account(&v));
    match (id, sysmon) {
        (4624 | 4625, _) => {
            e.account = acct("TargetUserName");
            e.sid = w
                .data("TargetUserSid")
                .filter(|s| s.starts_with("S-1-5-21-"));
            e.source_host = w.data("WorkstationName").and_then(|v| normalize_host(&v));
            e.source_ip = w.data("IpAddress").and_then(|v| normalize_ip(&v));
        }
        (4648, _) => {
            e.account = acct("TargetUserName");
            e.actor = acct("SubjectUserName");
            e.source_ip = w.data("IpAddress").and_then(|v| normalize_ip(&v));
        }
        (4672, _) => {
            e.account = acct("SubjectUserName");
            e.sid = w
                .data("SubjectUserSid")
                .filter(|s| s.starts_with("S-1-5-21-"));
        }
        (4728 | 4732 | 4756, _) => {
            e.account = member_name(w);
            e.sid = w.data("MemberSid").filter(|s| s.starts_with("S-1-5-21-"));
            e.actor = acct("SubjectUserName");
        }
        (4768 | 4769, _) => {
            e.account = acct("TargetUserName");
            e.source_ip = w.data("IpAddress").and_then(|v| normalize_ip(&v));
        }
        (1, true) | (3, true) => {
            e.account = acct("User");
            if id == 3 {
                e.source_ip = w.data("SourceIp").and_then(|v| normalize_ip(&v));
                e.dest_ip = w.data("DestinationIp").and_then(|v| normalize_ip(&v));
            }
        }
        (4688, false) => {
            e.account = acct("TargetUserName").or_else(|| acct("SubjectUserName"));
        }
        (10, true) => e.account = acct("SourceUser"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn logon_doc() -> Value {
        json!({"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},
            "EventID":4624,"EventRecordID":6468,"Channel":"Security","Computer":"SRV-FS00.corp.local",
            "TimeCreated":{"#attributes":{"SystemTime":"2026-05-04T01:00:00.000000Z"}}},
            "EventData":{"TargetUserName":"svc-backup","TargetDomainName":"CORP","LogonType":3,
            "AuthenticationPackageName":"Kerberos","WorkstationName":"BKP01","IpAddress":"10.0.0.8"}}})
    }

    #[test]
    fn an_evtx_shaped_logon_names_its_account_hosts_and_record() {
        let e = windows_event(&logon_doc(), &Given::default()).unwrap();
        assert_eq!(
            e.action,
            Action::Logon {
                logon_type: 3,
                ntlm: false
            }
        );
        assert_eq!(e.account.as_deref(), Some("svc-backup"));
        assert_eq!(e.host.as_deref(), Some("SRV-FS00"));
        assert_eq!(e.source_host.as_deref(), Some("BKP01"));
        assert_eq!(e.source_ip.as_deref(), Some("10.0.0.8"));
        assert_eq!(
            e.reference,
            EventRef::Record {
                computer: Some("SRV-FS00.corp.local".into()),
                record_id: 6468
            }
        );
        assert_eq!(
            e.time,
            Timestamp::parse_rfc3339("2026-05-04T01:00:00Z").unwrap()
        );
    }

    #[test]
    fn the_flat_and_winlogbeat_shapes_read_the_same() {
        let flat = json!({"EventID":4624,"Hostname":"SRV-FS00.corp.local","RecordNumber":6468,
            "SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security",
            "@timestamp":"2026-05-04T01:00:00.000Z","TargetUserName":"svc-backup","LogonType":"3",
            "AuthenticationPackageName":"Kerberos","WorkstationName":"BKP01","IpAddress":"10.0.0.8"});
        let wlb = json!({"@timestamp":"2026-05-04T01:00:00.000Z","event":{"code":"4624"},
            "winlog":{"computer_name":"SRV-FS00.corp.local","record_id":6468,"channel":"Security",
            "provider_name":"Microsoft-Windows-Security-Auditing",
            "event_data":{"TargetUserName":"svc-backup","LogonType":"3","AuthenticationPackageName":"Kerberos",
            "WorkstationName":"BKP01","IpAddress":"10.0.0.8"}}});
        let want = windows_event(&logon_doc(), &Given::default()).unwrap();
        assert_eq!(windows_event(&flat, &Given::default()).unwrap(), want);
        assert_eq!(windows_event(&wlb, &Given::default()).unwrap(), want);
    }

    #[test]
    fn sysmon_ids_need_the_sysmon_channel_and_other_events_are_skipped() {
        let proc = json!({"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Sysmon"}},
            "EventID":1,"EventRecordID":9,"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WS-1",
            "TimeCreated":{"#attributes":{"SystemTime":"2026-05-04T01:00:00Z"}}},
            "EventData":{"Image":"C:\\Windows\\PSEXESVC.exe","ParentImage":"C:\\Windows\\System32\\services.exe",
            "CommandLine":"PSEXESVC.exe","User":"CORP\\adm-1"}}});
        let e = windows_event(&proc, &Given::default()).unwrap();
        assert!(
            matches!(e.action, Action::ProcessStart { ref image, .. } if image.ends_with("PSEXESVC.exe"))
        );
        assert_eq!(e.account.as_deref(), Some("adm-1"));
        let mut other = proc.clone();
        other["Event"]["System"]["Channel"] = json!("Application");
        other["Event"]["System"]["Provider"] = json!({"#attributes":{"Name":"App"}});
        assert!(windows_event(&other, &Given::default()).is_none());
        assert!(windows_event(&json!({"EventID": 4634}), &Given::default()).is_none());
        assert!(windows_event(&json!("not an object"), &Given::default()).is_none());
    }

    #[test]
    fn group_members_and_failed_tickets() {
        let add = json!({"EventID":4732,"Hostname":"WS-0183","RecordNumber":1,"@timestamp":"2026-05-25T11:23:44Z",
            "MemberName":"CN=user0183,OU=Users,DC=corp,DC=local","TargetUserName":"Administrators",
            "SubjectUserName":"user0183"});
        let e = windows_event(&add, &Given::default()).unwrap();
        assert_eq!(
            e.action,
            Action::GroupAdd {
                group: "Administrators".into()
            }
        );
        assert_eq!(e.account.as_deref(), Some("user0183"));
        let bad_ticket = json!({"EventID":4769,"Hostname":"DC01","RecordNumber":2,"@timestamp":"2026-05-25T11:23:44Z",
            "TargetUserName":"u@CORP","ServiceName":"SRV$","Status":"0x6"});
        assert!(windows_event(&bad_ticket, &Given::default()).is_none());
    }

    #[test]
    fn without_a_record_id_the_fallback_reference_is_used_or_the_event_skipped() {
        let doc = json!({"EventID":4672,"Hostname":"WS-1","@timestamp":"2026-05-25T11:23:44Z","SubjectUserName":"a"});
        assert!(windows_event(&doc, &Given::default()).is_none());
        let given = Given {
            source: Some("f.json"),
            line: 3,
            ..Given::default()
        };
        let e = windows_event(&doc, &given).unwrap();
        assert_eq!(
            e.reference,
            EventRef::Line {
                source: "f.json".into(),
                line: 3
            }
        );
    }
}
