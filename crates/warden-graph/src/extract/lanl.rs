//! The authentication format of LANL's "Comprehensive, Multi-Source Cyber-Security Events"
//! data set, and its red-team file, into [`GraphEvent`]s.
//!
//! - `auth.txt`: `time,src_user@domain,dst_user@domain,src_computer,dst_computer,
//!   auth_type,logon_type,auth_orientation,success` (e.g. `1,C625$@DOM1,U147@DOM1,C625,C625,
//!   Negotiate,Batch,LogOn,Success`);
//! - `redteam.txt`: `time,user@domain,src_computer,dst_computer`: every line a logon of the
//!   red team, read as a successful network logon.
//!
//! Time is seconds from the start of the collection; [`LanlReader::epoch`] places second 0
//! (the Unix epoch unless told otherwise). Only `LogOn` orientations become events
//! (`LogOff`, `TGT`, `TGS`, `AuthMap` say nothing about who moved where, except `TGS`,
//! which is read as a service ticket).

use warden_event::{EventRef, Timestamp};

use crate::event::{Action, GraphEvent, logon_type, normalize_account, normalize_host};

/// Why a line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LanlError {
    pub line: u64,
    pub message: String,
}

/// Reads LANL lines, one at a time.
#[derive(Debug, Clone)]
pub struct LanlReader {
    /// The time of second 0.
    pub epoch: Timestamp,
    /// The name events cite as their source (`EventRef::Line`).
    pub source: String,
}

fn lanl_logon_type(s: &str) -> u8 {
    match s {
        "Interactive" => logon_type::INTERACTIVE,
        "Network" => logon_type::NETWORK,
        "Batch" => logon_type::BATCH,
        "Service" => logon_type::SERVICE,
        "Unlock" => 7,
        "NetworkCleartext" => logon_type::NETWORK_CLEARTEXT,
        "NewCredentials" => logon_type::NEW_CREDENTIALS,
        "RemoteInteractive" => logon_type::REMOTE_INTERACTIVE,
        "CachedInteractive" => logon_type::CACHED_INTERACTIVE,
        _ => 0,
    }
}

impl LanlReader {
    pub fn new(source: impl Into<String>) -> Self {
        LanlReader {
            epoch: Timestamp(0),
            source: source.into(),
        }
    }

    fn time(&self, field: &str, line: u64) -> Result<Timestamp, LanlError> {
        let secs: i64 = field.trim().parse().map_err(|_| LanlError {
            line,
            message: format!("time {field:?} is not a number of seconds"),
        })?;
        Ok(Timestamp(
            self.epoch.0.saturating_add(secs.saturating_mul(1000)),
        ))
    }

    fn event(&self, time: Timestamp, action: Action, line: u64) -> GraphEvent {
        GraphEvent::new(
            time,
            action,
            EventRef::Line {
                source: self.source.clone(),
                line,
            },
        )
    }

    /// One line (1-based `line`) of either format; `Ok(None)` for lines the graph has no
    /// use for (log-offs, failures of other kinds, empty lines).
    pub fn parse(&self, text: &str, line: u64) -> Result<Option<GraphEvent>, LanlError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let f: Vec<&str> = text.split(',').collect();
        match f.len() {
            4 => {
                let time = self.time(f[0], line)?;
                let mut e = self.event(
                    time,
                    Action::Logon {
                        logon_type: logon_type::NETWORK,
                        ntlm: false,
                    },
                    line,
                );
                e.account = normalize_account(f[1]);
                e.source_host = normalize_host(f[2]);
                e.host = normalize_host(f[3]);
                Ok(Some(e))
            }
            9 => self.parse_auth(&f, line),
            n => Err(LanlError {
                line,
                message: format!(
                    "{n} fields; LANL authentication lines have 9 and red-team lines 4"
                ),
            }),
        }
    }

    fn parse_auth(&self, f: &[&str], line: u64) -> Result<Option<GraphEvent>, LanlError> {
        let time = self.time(f[0], line)?;
        let success = f[8].trim().eq_ignore_ascii_case("Success");
        let lt = lanl_logon_type(f[6].trim());
        let action = match (f[7].trim(), success) {
            ("LogOn", true) => Action::Logon {
                logon_type: lt,
                ntlm: f[5].trim().eq_ignore_ascii_case("NTLM"),
            },
            ("LogOn", false) => Action::FailedLogon { logon_type: lt },
            ("TGS", true) => Action::Ticket {
                service_host: normalize_host(f[4]),
                tgt: false,
            },
            _ => return Ok(None),
        };
        let mut e = self.event(time, action, line);
        // The destination user is the account that logs on; the source user is who asked.
        e.account = normalize_account(f[2]);
        let actor = normalize_account(f[1]);
        if actor != e.account {
            e.actor = actor;
        }
        e.source_host = normalize_host(f[3]);
        e.host = normalize_host(f[4]);
        Ok(Some(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_team_lines_are_network_logons_from_source_to_destination() {
        let r = LanlReader::new("redteam.txt");
        let e = r
            .parse("150885,U620@DOM1,C17693,C1003", 1)
            .unwrap()
            .unwrap();
        assert_eq!(e.account.as_deref(), Some("u620"));
        assert_eq!(e.source_host.as_deref(), Some("C17693"));
        assert_eq!(e.host.as_deref(), Some("C1003"));
        assert_eq!(e.time, Timestamp(150_885_000));
        assert!(matches!(e.action, Action::Logon { logon_type: 3, .. }));
        assert_eq!(
            e.reference,
            EventRef::Line {
                source: "redteam.txt".into(),
                line: 1
            }
        );
    }

    #[test]
    fn auth_lines_keep_logons_and_drop_logoffs() {
        let r = LanlReader::new("auth.txt");
        let e = r
            .parse(
                "1,U147@DOM1,U147@DOM1,C625,C586,NTLM,Network,LogOn,Success",
                7,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            e.action,
            Action::Logon {
                logon_type: 3,
                ntlm: true
            }
        );
        assert_eq!(e.actor, None);
        let failed = r
            .parse("2,U1@DOM1,U1@DOM1,C1,C2,Kerberos,Network,LogOn,Fail", 8)
            .unwrap()
            .unwrap();
        assert!(matches!(failed.action, Action::FailedLogon { .. }));
        assert!(
            r.parse("3,U1@DOM1,U1@DOM1,C1,C2,?,?,LogOff,Success", 9)
                .unwrap()
                .is_none()
        );
        assert!(r.parse("", 10).unwrap().is_none());
    }

    #[test]
    fn bad_lines_name_their_line_and_problem() {
        let r = LanlReader::new("x");
        let e = r.parse("abc,U1@D,C1,C2", 4).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.message.contains("abc"));
        assert!(
            r.parse("1,2,3", 5)
                .unwrap_err()
                .message
                .contains("3 fields")
        );
    }
}
