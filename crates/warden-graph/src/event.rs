//! The graph's view of an event: who did what from where to where, and when — one
//! normalised record whatever the log format (Windows Security and Sysmon events, EVTX or
//! JSON, LANL authentication lines, Zeek connections).
//!
//! Names are normalised once here so the graph and the finders compare plain strings:
//! accounts lower case without their domain (`CORP\Adm-User0042` and
//! `adm-user0042@corp.local` are `adm-user0042`), hosts upper case without their DNS
//! domain (`ws-0117.corp.local` is `WS-0117`).

use warden_event::{EventRef, Timestamp};

/// Logon types of Windows (`LogonType` of 4624/4625), with the names analysts use.
pub mod logon_type {
    pub const INTERACTIVE: u8 = 2;
    pub const NETWORK: u8 = 3;
    pub const BATCH: u8 = 4;
    pub const SERVICE: u8 = 5;
    pub const NETWORK_CLEARTEXT: u8 = 8;
    pub const NEW_CREDENTIALS: u8 = 9;
    pub const REMOTE_INTERACTIVE: u8 = 10;
    pub const CACHED_INTERACTIVE: u8 = 11;

    /// Whether a logon of this type arrives from another machine.
    pub fn is_remote(t: u8) -> bool {
        matches!(t, NETWORK | NETWORK_CLEARTEXT | REMOTE_INTERACTIVE)
    }

    /// A short name: `network`, `rdp`, `interactive`…
    pub fn name(t: u8) -> &'static str {
        match t {
            INTERACTIVE => "interactive",
            NETWORK => "network",
            BATCH => "batch",
            SERVICE => "service",
            7 => "unlock",
            NETWORK_CLEARTEXT => "network cleartext",
            NEW_CREDENTIALS => "new credentials",
            REMOTE_INTERACTIVE => "RDP",
            CACHED_INTERACTIVE => "cached interactive",
            _ => "other",
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A successful logon of `account` on `host` (4624; LANL `Success`).
    Logon { logon_type: u8, ntlm: bool },
    /// A failed logon (4625; LANL `Fail`).
    FailedLogon { logon_type: u8 },
    /// `actor` used the credentials of `account` explicitly (4648), towards `target_host`.
    ExplicitCredentials { target_host: Option<String> },
    /// Special privileges were assigned to `account`'s new logon on `host` (4672).
    Privileged,
    /// `account` was added to `group` by `actor` (4728, 4732, 4756).
    GroupAdd { group: String },
    /// A domain controller (`host`) issued a Kerberos ticket to `account` (4768 TGT,
    /// 4769 service ticket for `service_host`).
    Ticket {
        service_host: Option<String>,
        tgt: bool,
    },
    /// A process started on `host` (Sysmon 1, Security 4688).
    ProcessStart {
        image: String,
        parent: String,
        command_line: String,
    },
    /// A process opened another (Sysmon 10).
    ProcessAccess {
        source_image: String,
        target_image: String,
        granted_access: String,
    },
    /// Another detector found something on `host` (or about `account`): a rule matched
    /// (`rule "Title" matched`), a behavioural anomaly — what it was, and its ATT&CK
    /// tactics and techniques (`discovery`, `T1087`), for the progression finder.
    Detection {
        what: String,
        tactics: Vec<String>,
        techniques: Vec<String>,
    },
    /// `source_ip` connected to `dest_ip` (Sysmon 3, Zeek `conn`); `initiated` when
    /// `host` is the side that connected (Sysmon logs both sides).
    Connection {
        dest_port: u16,
        image: String,
        initiated: bool,
    },
    /// A user activity (sign-in, file access, download…): `account` signed in from
    /// `source_ip`, or used `resource` (an application, share or data set) from it.
    Activity {
        /// The activity's kind (`login`, `download`…).
        kind: &'static str,
        resource: Option<String>,
        success: bool,
    },
}

impl Action {
    /// A short name of the action's kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Action::Logon { .. } => "logon",
            Action::FailedLogon { .. } => "failed_logon",
            Action::ExplicitCredentials { .. } => "explicit_credentials",
            Action::Privileged => "privileged_logon",
            Action::GroupAdd { .. } => "group_add",
            Action::Ticket { .. } => "kerberos_ticket",
            Action::ProcessStart { .. } => "process_start",
            Action::ProcessAccess { .. } => "process_access",
            Action::Connection { .. } => "connection",
            Action::Detection { .. } => "detection",
            Action::Activity { .. } => "activity",
        }
    }
}

/// One event as the graph reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphEvent {
    pub time: Timestamp,
    pub action: Action,
    /// The account the action is about (the one logged on, added, given a ticket, running
    /// the process).
    pub account: Option<String>,
    /// The account that acted on it, when that is another one (who added a member, who
    /// used explicit credentials).
    pub actor: Option<String>,
    /// The host that recorded the event: the destination of a logon.
    pub host: Option<String>,
    /// The machine a logon came from, by name.
    pub source_host: Option<String>,
    /// The address a logon or connection came from.
    pub source_ip: Option<String>,
    /// The address a connection went to.
    pub dest_ip: Option<String>,
    /// The security identifier of `account`, when the event gives it (a group change names
    /// its member by SID and distinguished name, not by account name).
    pub sid: Option<String>,
    /// How to find the event again.
    pub reference: EventRef,
}

impl GraphEvent {
    /// An event with nothing but its time, action and reference; callers fill the rest.
    pub fn new(time: Timestamp, action: Action, reference: EventRef) -> Self {
        GraphEvent {
            time,
            action,
            account: None,
            actor: None,
            host: None,
            source_host: None,
            source_ip: None,
            dest_ip: None,
            sid: None,
            reference,
        }
    }
}

/// Accounts that are the machine itself, not a person or a service identity: their
/// logons say nothing about who moves where.
pub fn is_builtin_account(account: &str) -> bool {
    matches!(
        account,
        "system" | "local service" | "network service" | "anonymous logon" | "anonymous"
    ) || account.starts_with("dwm-")
        || account.starts_with("umfd-")
        || account.starts_with("font driver host")
        || account.starts_with("window manager")
}

/// `CORP\User`, `user@corp.local`, `User` → `user`; `-`, empty and builtin accounts → `None`.
pub fn normalize_account(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let name = raw.rsplit('\\').next().unwrap_or(raw);
    let name = name.split('@').next().unwrap_or(name);
    let name = name.trim().to_ascii_lowercase();
    if name.is_empty() || name == "-" || name.len() > 256 || is_builtin_account(&name) {
        return None;
    }
    Some(name)
}

/// `ws-0117.corp.local`, `\\WS-0117` → `WS-0117`; IP addresses, `-`, `localhost` and
/// empty names → `None` (an address is not a host name).
pub fn normalize_host(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_start_matches('\\');
    if raw.is_empty() || raw == "-" || raw.len() > 255 || raw.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let short = raw.split('.').next().unwrap_or(raw).trim_end_matches('$');
    let upper = short.to_ascii_uppercase();
    if upper.is_empty() || upper == "LOCALHOST" {
        return None;
    }
    Some(upper)
}

/// An address as the graph keys it: `::ffff:10.0.0.1` → `10.0.0.1`; loopback, unspecified
/// and unparsable values → `None`.
pub fn normalize_ip(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let ip: std::net::IpAddr = raw.parse().ok()?;
    let ip = match ip {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
        v4 => v4,
    };
    if ip.is_loopback() || ip.is_unspecified() {
        return None;
    }
    Some(ip.to_string())
}

/// The file name of a Windows or Unix path, lower case: `C:\Windows\PSEXESVC.exe` →
/// `psexesvc.exe`.
pub fn image_name(path: &str) -> String {
    path.rsplit(['\\', '/'])
        .next()
        .unwrap_or(path)
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_once() {
        assert_eq!(
            normalize_account("CORP\\Adm-User0042").as_deref(),
            Some("adm-user0042")
        );
        assert_eq!(
            normalize_account("adm-user0042@CORP.LOCAL").as_deref(),
            Some("adm-user0042")
        );
        assert_eq!(normalize_account("-"), None);
        assert_eq!(normalize_account("NT AUTHORITY\\SYSTEM"), None);
        assert_eq!(normalize_account("ANONYMOUS LOGON"), None);
        assert_eq!(
            normalize_host("ws-0117.corp.local").as_deref(),
            Some("WS-0117")
        );
        assert_eq!(normalize_host("\\\\SRV-DB07").as_deref(), Some("SRV-DB07"));
        assert_eq!(normalize_host("SRV-DB07$").as_deref(), Some("SRV-DB07"));
        assert_eq!(normalize_host("10.0.0.7"), None);
        assert_eq!(
            normalize_ip("::ffff:10.20.0.49").as_deref(),
            Some("10.20.0.49")
        );
        assert_eq!(normalize_ip("127.0.0.1"), None);
        assert_eq!(normalize_ip("-"), None);
        assert_eq!(image_name("C:\\Windows\\PSEXESVC.exe"), "psexesvc.exe");
        assert_eq!(image_name("/usr/bin/ssh"), "ssh");
    }
}
