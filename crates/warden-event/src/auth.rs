//! Authentication events read from system logs (sshd, sudo, su, login, systemd-logind, PAM,
//! a CEF/LEEF logon): who tried to become whom, from where, how, and whether it worked.
//!
//! Every parsed event is kept with the log line it came from; those that are one attempt
//! at authenticating ([`AuthEvent::is_attempt`]) also become a [`UserActivity`]
//! ([`AuthEvent::to_activity`]) so the behavioural baselines learn logins, failed-login
//! bursts, sprays per source, new source networks and unusual hours from them. Lines that
//! only describe an attempt already counted (sshd's `Invalid user` before its `Failed
//! password`, PAM's summary of `N more authentication failures`, a session opening after
//! `Accepted`) are events, not attempts, so nothing is counted twice.

use serde::{Deserialize, Serialize};

use crate::{ActivityType, Timestamp, UserActivity};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthAction {
    /// A successful login (sshd `Accepted`, `login`, a CEF logon with a success outcome).
    LoginSuccess,
    /// A failed login (wrong password or key, PAM `authentication failure`).
    LoginFailure,
    /// A name that is no account on the host (sshd `Invalid user`); the failure that
    /// follows is the attempt.
    InvalidUser,
    /// A session opened (PAM, systemd-logind).
    SessionOpen,
    /// A session closed.
    SessionClose,
    /// A command run as another user by sudo.
    Sudo,
    /// sudo refused: wrong passwords, not in sudoers, command not allowed.
    SudoFailure,
    /// su to another user.
    Su,
    /// su refused.
    SuFailure,
    /// A connection closed or disconnected before or after authenticating.
    Disconnect,
    /// Something authentication-related that is no attempt (a client that never sent an
    /// identification string, a reverse-mapping failure, too many attempts).
    Notice,
}

impl AuthAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSuccess => "login_success",
            Self::LoginFailure => "login_failure",
            Self::InvalidUser => "invalid_user",
            Self::SessionOpen => "session_open",
            Self::SessionClose => "session_close",
            Self::Sudo => "sudo",
            Self::SudoFailure => "sudo_failure",
            Self::Su => "su",
            Self::SuFailure => "su_failure",
            Self::Disconnect => "disconnect",
            Self::Notice => "notice",
        }
    }

    /// `Some(true)` for a success, `Some(false)` for a failure, `None` when it is neither.
    pub fn outcome(self) -> Option<bool> {
        match self {
            Self::LoginSuccess | Self::Sudo | Self::Su => Some(true),
            Self::LoginFailure | Self::InvalidUser | Self::SudoFailure | Self::SuFailure => {
                Some(false)
            }
            Self::SessionOpen | Self::SessionClose | Self::Disconnect | Self::Notice => None,
        }
    }
}

/// One authentication event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthEvent {
    pub time: Timestamp,
    /// The host that logged it (the one being logged into).
    pub host: Option<String>,
    /// The program or PAM service: `sshd`, `sudo`, `su`, `login`, `systemd-logind`, `vsftpd`.
    pub service: String,
    pub action: AuthAction,
    /// The account that authenticated (or tried to; for sudo and su, the one who ran it).
    pub user: Option<String>,
    /// For sudo and su: the account it became.
    pub target_user: Option<String>,
    /// `password`, `publickey`, `keyboard-interactive/pam`, `none`, `kerberos`.
    pub method: Option<String>,
    /// The client's address, when it is an IP address.
    pub source_ip: Option<String>,
    /// The client's name, when the log gave a name rather than an address.
    pub source_host: Option<String>,
    pub source_port: Option<u16>,
    /// sudo's command line.
    pub command: Option<String>,
    /// sudo's working directory.
    pub cwd: Option<String>,
    pub tty: Option<String>,
    /// The user tried does not exist on the host.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invalid_user: bool,
    /// Reported by a PAM module for the service rather than by the service itself (the
    /// service usually reports the same attempt in its own words right after).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pam: bool,
    /// How many identical events the line stands for (`message repeated N times`, sudo's
    /// `3 incorrect password attempts`); 1 otherwise.
    pub count: u32,
}

/// The user id given to an attempt whose log line names nobody.
pub const UNKNOWN_USER: &str = "<unknown>";

impl AuthEvent {
    /// An event with only its time, service and action known.
    pub fn new(time: Timestamp, service: impl Into<String>, action: AuthAction) -> Self {
        AuthEvent {
            time,
            host: None,
            service: service.into(),
            action,
            user: None,
            target_user: None,
            method: None,
            source_ip: None,
            source_host: None,
            source_port: None,
            command: None,
            cwd: None,
            tty: None,
            invalid_user: false,
            pam: false,
            count: 1,
        }
    }

    /// Whether this line is one attempt at authenticating (counted once in baselines).
    /// A `none` method is the client asking which methods exist, not a credential tried.
    pub fn is_attempt(&self) -> bool {
        match self.action {
            AuthAction::LoginSuccess | AuthAction::LoginFailure => {
                self.method.as_deref() != Some("none")
            }
            AuthAction::Sudo | AuthAction::SudoFailure | AuthAction::Su | AuthAction::SuFailure => {
                true
            }
            AuthAction::InvalidUser
            | AuthAction::SessionOpen
            | AuthAction::SessionClose
            | AuthAction::Disconnect
            | AuthAction::Notice => false,
        }
    }

    /// The attempt as a user activity: a login of `user` (or, for sudo and su, of the
    /// invoking user to the target account) to `service@host`, from the source address,
    /// succeeded or not. `None` for events that are no attempt.
    pub fn to_activity(&self) -> Option<UserActivity> {
        if !self.is_attempt() {
            return None;
        }
        let user = self
            .user
            .as_deref()
            .filter(|u| !u.is_empty())
            .unwrap_or(UNKNOWN_USER);
        let mut a = UserActivity::new(user, ActivityType::Login, self.time);
        a.success = self.action.outcome().unwrap_or(true);
        // A source known only by name still groups its attempts (sprays per source).
        a.ip_address = self.source_ip.clone().or_else(|| self.source_host.clone());
        let host = self.host.as_deref().unwrap_or("-");
        a.resource_accessed = Some(match &self.target_user {
            Some(target) => format!("{}:{target}@{host}", self.service),
            None => format!("{}@{host}", self.service),
        });
        a.user_agent = self
            .method
            .as_ref()
            .map(|m| format!("{}/{m}", self.service));
        Some(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        Timestamp::parse_rfc3339("2026-12-10T06:55:46Z").unwrap()
    }

    #[test]
    fn a_failed_password_is_a_failed_login_from_its_source() {
        let mut e = AuthEvent::new(at(), "sshd", AuthAction::LoginFailure);
        e.user = Some("root".into());
        e.method = Some("password".into());
        e.source_ip = Some("173.234.31.186".into());
        e.host = Some("LabSZ".into());
        let a = e.to_activity().unwrap();
        assert_eq!(a.user_id, "root");
        assert!(!a.success);
        assert_eq!(a.activity_type, ActivityType::Login);
        assert_eq!(a.ip_address.as_deref(), Some("173.234.31.186"));
        assert_eq!(a.resource_accessed.as_deref(), Some("sshd@LabSZ"));
        assert_eq!(a.user_agent.as_deref(), Some("sshd/password"));
    }

    #[test]
    fn descriptions_of_an_attempt_are_not_attempts() {
        for action in [
            AuthAction::InvalidUser,
            AuthAction::SessionOpen,
            AuthAction::Disconnect,
            AuthAction::Notice,
        ] {
            assert!(AuthEvent::new(at(), "sshd", action).to_activity().is_none());
        }
        let mut probe = AuthEvent::new(at(), "sshd", AuthAction::LoginFailure);
        probe.method = Some("none".into());
        assert!(probe.to_activity().is_none());
    }

    #[test]
    fn sudo_names_the_target_and_an_unnamed_attempt_has_a_placeholder() {
        let mut e = AuthEvent::new(at(), "sudo", AuthAction::Sudo);
        e.user = Some("ana".into());
        e.target_user = Some("root".into());
        e.host = Some("web1".into());
        let a = e.to_activity().unwrap();
        assert!(a.success);
        assert_eq!(a.resource_accessed.as_deref(), Some("sudo:root@web1"));
        let anon = AuthEvent::new(at(), "klogind", AuthAction::LoginFailure);
        assert_eq!(anon.to_activity().unwrap().user_id, UNKNOWN_USER);
    }
}
