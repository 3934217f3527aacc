//! Linux authentication messages → [`AuthEvent`]: sshd, sudo, su, login, systemd-logind,
//! PAM (`pam_unix(service:type): …` and the older `service(pam_unix)` program name),
//! vsftpd, and the generic `Authentication failed from ADDR` of other daemons.
//!
//! Attackers choose the user names these lines contain (`Invalid user admin from 1.2.3.4`),
//! so a name may hold anything, `from` included: the address is always taken from sshd's
//! own suffix (the *last* ` from `), never from the part a client wrote.

use std::net::IpAddr;

use warden_event::Timestamp;
use warden_event::auth::{AuthAction, AuthEvent};

/// Longest user name kept (longer names are cut, the event is kept).
const MAX_USER: usize = 256;
/// Most events one `message repeated N times` line stands for.
const MAX_REPEAT: u32 = 10_000;

/// What a line says of authentication, if anything.
pub fn parse(
    time: Timestamp,
    host: Option<&str>,
    program: &str,
    message: &str,
) -> Option<AuthEvent> {
    // One level of each wrapper, never more (a crafted line must not nest them deeply).
    let (count, message) = repeated(message).unwrap_or((1, message));
    let mut e = unwrapped(time, host, program, message)?;
    e.count = e.count.saturating_mul(count);
    Some(e)
}

fn unwrapped(
    time: Timestamp,
    host: Option<&str>,
    program: &str,
    message: &str,
) -> Option<AuthEvent> {
    // Old syslogds wrote some lines as "host -- ident[pid]: text".
    if program.starts_with('-')
        && let Some((ident, rest)) = message
            .trim_start_matches('-')
            .trim_start()
            .split_once("]: ")
        && let Some((ident, _pid)) = ident.split_once('[')
    {
        return service_line(time, host, ident, rest);
    }
    service_line(time, host, program, message)
}

fn service_line(
    time: Timestamp,
    host: Option<&str>,
    program: &str,
    message: &str,
) -> Option<AuthEvent> {
    let (service, old_pam) = match program.split_once('(') {
        // "sshd(pam_unix)": the service, with PAM speaking for it.
        Some((svc, module)) if module.starts_with("pam") => (svc, true),
        _ => (program, false),
    };
    let mut e = if old_pam {
        pam(time, service, message)
    } else if let Some((svc, rest)) = pam_prefix(message) {
        pam(time, svc, rest)
    } else {
        plain(time, service, message)
    }?;
    e.host = host.map(str::to_owned);
    Some(e)
}

/// A service's own words.
fn plain(time: Timestamp, service: &str, message: &str) -> Option<AuthEvent> {
    {
        match service {
            "sshd" => sshd(time, message),
            "sudo" => sudo(time, message),
            "su" => su(time, message),
            "login" => login(time, message),
            "systemd-logind" => logind(time, message),
            "vsftpd" => vsftpd(time, message),
            _ => generic(time, service, message),
        }
    }
}

/// rsyslog's `message repeated 5 times: [ inner]`.
fn repeated(message: &str) -> Option<(u32, &str)> {
    let rest = message.strip_prefix("message repeated ")?;
    let (n, rest) = rest.split_once(" times: [")?;
    let n: u32 = n.trim().parse().ok()?;
    let inner = rest.strip_suffix(']').unwrap_or(rest).trim();
    Some((n.clamp(1, MAX_REPEAT), inner))
}

/// `pam_unix(sshd:auth): rest` → (`sshd`, `rest`); any `pam_*` module.
fn pam_prefix(message: &str) -> Option<(&str, &str)> {
    if !message.starts_with("pam_") {
        return None;
    }
    let open = message.find('(')?;
    let close = message[open..].find("): ")? + open;
    let inside = &message[open + 1..close];
    let service = inside.split(':').next()?;
    Some((service, &message[close + 3..]))
}

fn user(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut end = s.len().min(MAX_USER);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Some(s[..end].to_owned())
}

/// Puts an address into the event: an IP as `source_ip`, anything else as `source_host`.
fn set_source(e: &mut AuthEvent, addr: &str) {
    let addr = addr.trim().trim_start_matches("::ffff:");
    if addr.is_empty() {
        return;
    }
    if addr.parse::<IpAddr>().is_ok() {
        e.source_ip = Some(addr.to_owned());
    } else {
        e.source_host = Some(addr.chars().take(MAX_USER).collect());
    }
}

/// `… from ADDR port N …` at the end of an sshd message: (what is before, ADDR, port).
fn from_addr(s: &str) -> Option<(&str, &str, Option<u16>)> {
    let at = s.rfind(" from ")?;
    let (head, tail) = (&s[..at], &s[at + 6..]);
    let mut words = tail.split_whitespace();
    let addr = words.next()?;
    let port = match words.next() {
        Some("port") => words
            .next()
            .and_then(|p| p.trim_end_matches(':').parse().ok()),
        _ => None,
    };
    Some((head, addr.trim_end_matches(':'), port))
}

/// `ADDR port N` at the start of `s`.
fn addr_port(s: &str) -> (&str, Option<u16>) {
    let mut words = s.split_whitespace();
    let addr = words.next().unwrap_or("").trim_end_matches(':');
    let port = match words.next() {
        Some("port") => words
            .next()
            .and_then(|p| p.trim_end_matches(':').parse().ok()),
        _ => None,
    };
    (addr, port)
}

/// `invalid user NAME` / `authenticating user NAME` / `user NAME` prefixes of a message
/// tail: (user, invalid, rest).
fn who(s: &str) -> (Option<&str>, bool, &str) {
    for (prefix, invalid) in [
        ("invalid user ", true),
        ("authenticating user ", false),
        ("user ", false),
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return match rest.split_once(' ') {
                Some((u, rest)) => (Some(u), invalid, rest),
                None => (Some(rest), invalid, ""),
            };
        }
    }
    (None, false, s)
}

fn sshd(time: Timestamp, m: &str) -> Option<AuthEvent> {
    let m = m.strip_suffix(" [preauth]").unwrap_or(m);
    let m = m.strip_prefix("error: ").unwrap_or(m);
    // The three readers' prefixes are disjoint: at most one of them reads a message.
    sshd_login(time, m)
        .or_else(|| sshd_connection(time, m))
        .or_else(|| sshd_notice(time, m))
}

/// A login accepted, failed or postponed, or an invalid user.
fn sshd_login(time: Timestamp, m: &str) -> Option<AuthEvent> {
    for (prefix, action) in [
        ("Accepted ", AuthAction::LoginSuccess),
        ("Failed ", AuthAction::LoginFailure),
        ("Postponed ", AuthAction::Notice),
    ] {
        if let Some(rest) = m.strip_prefix(prefix) {
            let (method, rest) = rest.split_once(" for ")?;
            let (head, addr, port) = from_addr(rest)?;
            let (name, invalid) = match head.strip_prefix("invalid user ") {
                Some(n) => (n, true),
                None => (head, false),
            };
            let mut e = AuthEvent::new(time, "sshd", action);
            e.method = Some(method.to_owned());
            e.user = user(name);
            e.invalid_user = invalid;
            set_source(&mut e, addr);
            e.source_port = port;
            return Some(e);
        }
    }
    if let Some(rest) = m.strip_prefix("Invalid user ") {
        let (name, addr, port) = from_addr(rest).unwrap_or((rest, "", None));
        let mut e = AuthEvent::new(time, "sshd", AuthAction::InvalidUser);
        e.user = user(name);
        e.invalid_user = true;
        set_source(&mut e, addr);
        e.source_port = port;
        return Some(e);
    }
    if let Some(rest) = m.strip_prefix("input_userauth_request: invalid user ") {
        let mut e = AuthEvent::new(time, "sshd", AuthAction::InvalidUser);
        e.user = user(rest);
        e.invalid_user = true;
        return Some(e);
    }
    None
}

/// A connection closed, reset or disconnected, or a reverse mapping that failed.
fn sshd_connection(time: Timestamp, m: &str) -> Option<AuthEvent> {
    for prefix in [
        "Connection closed by ",
        "Connection reset by ",
        "Disconnected from ",
        "Received disconnect from ",
    ] {
        if let Some(rest) = m.strip_prefix(prefix) {
            let (name, invalid, rest) = who(rest);
            let (addr, port) = addr_port(rest);
            let mut e = AuthEvent::new(time, "sshd", AuthAction::Disconnect);
            e.user = name.and_then(user);
            e.invalid_user = invalid;
            set_source(&mut e, addr);
            e.source_port = port;
            return Some(e);
        }
    }
    if let Some(rest) = m.strip_prefix("reverse mapping checking getaddrinfo for ") {
        let mut e = AuthEvent::new(time, "sshd", AuthAction::Notice);
        let addr = rest
            .split_once('[')
            .and_then(|(_, r)| r.split_once(']'))
            .map(|(a, _)| a);
        if let Some(a) = addr {
            set_source(&mut e, a);
        }
        return Some(e);
    }
    None
}

/// A notice about a client: no identification, too many attempts, no common algorithm,
/// a bad protocol version, PAM.
fn sshd_notice(time: Timestamp, m: &str) -> Option<AuthEvent> {
    let notices = [
        "Did not receive identification string from ",
        "error: maximum authentication attempts exceeded for ",
        "Disconnecting: Too many authentication failures",
        "Unable to negotiate with ",
        "Bad protocol version identification ",
        "PAM ",
        "error: PAM: ",
    ];
    if notices.iter().any(|p| m.starts_with(p)) {
        let mut e = AuthEvent::new(time, "sshd", AuthAction::Notice);
        if let Some((head, addr, port)) = from_addr(m) {
            let (name, invalid, _) = who(head.rsplit_once(" for ").map_or("", |(_, u)| u));
            e.user = name.and_then(user);
            e.invalid_user = invalid;
            set_source(&mut e, addr);
            e.source_port = port;
        } else if let Some(rest) = m.strip_prefix("Unable to negotiate with ") {
            let (addr, port) = addr_port(rest);
            set_source(&mut e, addr);
            e.source_port = port;
        }
        if let Some(rhost) = kv(m, "rhost") {
            set_source(&mut e, rhost);
        }
        if let Some(u) = kv(m, "user") {
            e.user = user(u);
        }
        return Some(e);
    }
    None
}

/// The value of `key=` in a PAM-style `k=v k2=v2` list (empty values allowed).
fn kv<'a>(m: &'a str, key: &str) -> Option<&'a str> {
    m.split([' ', ';'])
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .filter(|v| !v.is_empty())
}

fn pam(time: Timestamp, service: &str, m: &str) -> Option<AuthEvent> {
    let mut e = pam_event(time, service, m)?;
    e.pam = true;
    Some(e)
}

fn pam_event(time: Timestamp, service: &str, m: &str) -> Option<AuthEvent> {
    let service = if service.is_empty() { "pam" } else { service };
    if let Some(rest) = m.strip_prefix("session opened for user ") {
        let mut e = AuthEvent::new(time, service, AuthAction::SessionOpen);
        let name = rest.split([' ', '(']).next().unwrap_or("");
        e.user = user(name);
        // "… by ana(uid=1000)": who opened it (su, sudo).
        if let Some(by) = rest.split_once(" by ").map(|(_, b)| b) {
            let by = by.split('(').next().unwrap_or("");
            if !by.is_empty() && by != "LOGIN" {
                e.target_user = e.user.take();
                e.user = user(by);
            }
        }
        return Some(e);
    }
    if let Some(rest) = m.strip_prefix("session closed for user ") {
        let mut e = AuthEvent::new(time, service, AuthAction::SessionClose);
        e.user = user(rest.split([' ', '(']).next().unwrap_or(""));
        return Some(e);
    }
    let failure = m.starts_with("authentication failure;");
    let more = m.contains(" more authentication failure");
    if failure || more {
        let action = match (service, more) {
            (_, true) => AuthAction::Notice,
            ("su" | "su-l", false) => AuthAction::SuFailure,
            ("sudo" | "sudo-i", false) => AuthAction::SudoFailure,
            _ => AuthAction::LoginFailure,
        };
        let mut e = AuthEvent::new(time, service, action);
        let target = kv(m, "user").and_then(user);
        let requester = kv(m, "ruser").or_else(|| kv(m, "logname")).and_then(user);
        if matches!(action, AuthAction::SuFailure | AuthAction::SudoFailure) {
            e.user = requester;
            e.target_user = target;
        } else {
            e.user = target;
        }
        if let Some(rhost) = kv(m, "rhost") {
            set_source(&mut e, rhost);
        }
        e.tty = kv(m, "tty").map(str::to_owned);
        return Some(e);
    }
    if m.starts_with("check pass; user unknown") {
        return Some(AuthEvent::new(time, service, AuthAction::InvalidUser));
    }
    None
}

fn sudo(time: Timestamp, m: &str) -> Option<AuthEvent> {
    let (who, rest) = m.split_once(" : ")?;
    let mut fields = rest.splitn(2, " ; ");
    let first = fields.next()?.trim();
    let mut e = AuthEvent::new(time, "sudo", AuthAction::Sudo);
    e.user = user(who);
    let failed = if let Some(n) = first
        .strip_suffix(" incorrect password attempts")
        .or_else(|| first.strip_suffix(" incorrect password attempt"))
    {
        e.count = n.trim().parse().unwrap_or(1).clamp(1, MAX_REPEAT);
        true
    } else {
        [
            "NOT in sudoers",
            "command not allowed",
            "a password is required",
            "authentication failure",
        ]
        .iter()
        .any(|w| first.contains(w))
    };
    if failed {
        e.action = AuthAction::SudoFailure;
    } else if !first.starts_with("TTY=") {
        return None;
    }
    // The command comes last and is the user's text: fields are read before it only.
    let head = rest.split_once("COMMAND=").map_or(rest, |(h, _)| h);
    for field in head.split(" ; ") {
        if let Some(t) = field.trim().strip_prefix("TTY=") {
            e.tty = Some(t.to_owned());
        } else if let Some(d) = field.trim().strip_prefix("PWD=") {
            e.cwd = Some(d.to_owned());
        } else if let Some(u) = field.trim().strip_prefix("USER=") {
            e.target_user = user(u);
        }
    }
    // The command may itself hold " ; ": everything after COMMAND= is the command.
    if let Some((_, cmd)) = rest.split_once("COMMAND=") {
        e.command = Some(cmd.to_owned());
    }
    if e.target_user.is_none() {
        e.target_user = Some("root".to_owned());
    }
    Some(e)
}

fn su(time: Timestamp, m: &str) -> Option<AuthEvent> {
    let (action, rest) = if let Some(r) = m.strip_prefix("FAILED SU ") {
        (AuthAction::SuFailure, r)
    } else if let Some(r) = m.strip_prefix("FAILED su for ") {
        let (target, by) = r.split_once(" by ")?;
        let mut e = AuthEvent::new(time, "su", AuthAction::SuFailure);
        e.target_user = user(target);
        e.user = user(by);
        return Some(e);
    } else if let Some(r) = m.strip_prefix("Successful su for ") {
        let (target, by) = r.split_once(" by ")?;
        let mut e = AuthEvent::new(time, "su", AuthAction::Su);
        e.target_user = user(target);
        e.user = user(by);
        return Some(e);
    } else if let Some(r) = m.strip_prefix("+ ").or_else(|| m.strip_prefix("- ")) {
        // "+ pts/0 ana:root" (success) / "- pts/0 ana:root" (failure).
        let (tty, pair) = r.split_once(' ')?;
        let (by, target) = pair.split_once(':')?;
        let action = if m.starts_with('+') {
            AuthAction::Su
        } else {
            AuthAction::SuFailure
        };
        let mut e = AuthEvent::new(time, "su", action);
        e.tty = Some(tty.to_owned());
        e.user = user(by);
        e.target_user = user(target);
        return Some(e);
    } else if m.starts_with("(to ") {
        (AuthAction::Su, m)
    } else {
        return None;
    };
    // "(to root) ana on pts/0"
    let rest = rest.strip_prefix("(to ")?;
    let (target, rest) = rest.split_once(") ")?;
    let (by, tty) = rest.split_once(" on ").unwrap_or((rest, ""));
    let mut e = AuthEvent::new(time, "su", action);
    e.target_user = user(target);
    e.user = user(by);
    e.tty = (!tty.is_empty()).then(|| tty.to_owned());
    Some(e)
}

fn login(time: Timestamp, m: &str) -> Option<AuthEvent> {
    if let Some(rest) = m.strip_prefix("FAILED LOGIN ") {
        // "FAILED LOGIN 1 FROM tty1 FOR root, Authentication failure"
        let mut e = AuthEvent::new(time, "login", AuthAction::LoginFailure);
        if let Some((_, r)) = rest.split_once("FROM ") {
            let (from, r) = r.split_once(" FOR ").unwrap_or((r, ""));
            if !from.starts_with("tty") && !from.starts_with("pts") {
                set_source(&mut e, from);
            } else {
                e.tty = Some(from.to_owned());
            }
            e.user = user(r.split(',').next().unwrap_or(""));
        }
        return Some(e);
    }
    if let Some(tty) = m.strip_prefix("ROOT LOGIN ON ") {
        let mut e = AuthEvent::new(time, "login", AuthAction::LoginSuccess);
        e.user = Some("root".to_owned());
        e.tty = Some(tty.split_whitespace().next().unwrap_or("").to_owned());
        return Some(e);
    }
    if let Some(rest) = m.strip_prefix("LOGIN ON ") {
        let (tty, by) = rest.split_once(" BY ")?;
        let mut e = AuthEvent::new(time, "login", AuthAction::LoginSuccess);
        e.tty = Some(tty.to_owned());
        e.user = user(by.split_whitespace().next().unwrap_or(""));
        return Some(e);
    }
    None
}

fn logind(time: Timestamp, m: &str) -> Option<AuthEvent> {
    if let Some(rest) = m.strip_prefix("New session ") {
        let (_, name) = rest.split_once(" of user ")?;
        let mut e = AuthEvent::new(time, "systemd-logind", AuthAction::SessionOpen);
        e.user = user(name.trim_end_matches('.'));
        return Some(e);
    }
    if m.starts_with("Removed session ") {
        return Some(AuthEvent::new(
            time,
            "systemd-logind",
            AuthAction::SessionClose,
        ));
    }
    None
}

fn vsftpd(time: Timestamp, m: &str) -> Option<AuthEvent> {
    // "[ana] FAIL LOGIN: Client \"1.2.3.4\"" / "[ana] OK LOGIN: Client \"1.2.3.4\""
    let rest = m.strip_prefix('[')?;
    let (name, rest) = rest.split_once("] ")?;
    let action = if rest.starts_with("OK LOGIN") {
        AuthAction::LoginSuccess
    } else if rest.starts_with("FAIL LOGIN") {
        AuthAction::LoginFailure
    } else {
        return None;
    };
    let mut e = AuthEvent::new(time, "vsftpd", action);
    e.user = user(name);
    e.method = Some("password".to_owned());
    if let Some((_, client)) = rest.split_once("Client \"") {
        set_source(&mut e, client.trim_end_matches('"'));
    }
    Some(e)
}

/// Daemons that only say `Authentication failed from ADDR (…)`.
fn generic(time: Timestamp, service: &str, m: &str) -> Option<AuthEvent> {
    if m.starts_with("ROOT LOGIN ON ")
        || m.starts_with("LOGIN ON ")
        || m.starts_with("FAILED LOGIN ")
    {
        return login(time, m);
    }
    let rest = m.strip_prefix("Authentication failed from ")?;
    let mut e = AuthEvent::new(time, service, AuthAction::LoginFailure);
    set_source(&mut e, rest.split([' ', ':']).next().unwrap_or(""));
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(program: &str, m: &str) -> Option<AuthEvent> {
        parse(Timestamp(0), Some("h"), program, m)
    }

    #[test]
    fn sshd_logins() {
        let e = p(
            "sshd",
            "Accepted password for fztu from 119.137.62.142 port 49116 ssh2",
        )
        .unwrap();
        assert_eq!(e.action, AuthAction::LoginSuccess);
        assert_eq!(e.user.as_deref(), Some("fztu"));
        assert_eq!(e.source_ip.as_deref(), Some("119.137.62.142"));
        assert_eq!(e.source_port, Some(49116));
        assert_eq!(e.method.as_deref(), Some("password"));
        assert!(e.is_attempt());

        let e = p(
            "sshd",
            "Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
        )
        .unwrap();
        assert_eq!(e.action, AuthAction::LoginFailure);
        assert!(e.invalid_user);
        assert_eq!(e.user.as_deref(), Some("webmaster"));

        let e = p(
            "sshd",
            "Failed publickey for root from 2001:db8::5 port 22 ssh2: RSA SHA256:abc",
        )
        .unwrap();
        assert_eq!(e.source_ip.as_deref(), Some("2001:db8::5"));
        assert_eq!(e.method.as_deref(), Some("publickey"));
    }

    #[test]
    fn an_injected_from_in_a_user_name_does_not_move_the_source() {
        let e = p(
            "sshd",
            "Invalid user admin from 10.0.0.1 from 203.0.113.9 port 4242",
        )
        .unwrap();
        assert_eq!(e.source_ip.as_deref(), Some("203.0.113.9"));
        assert_eq!(e.user.as_deref(), Some("admin from 10.0.0.1"));
        assert_eq!(e.action, AuthAction::InvalidUser);
        assert!(!e.is_attempt());
    }

    #[test]
    fn sshd_descriptions_and_repeats() {
        let e = p(
            "sshd",
            "Connection closed by 212.47.254.145 port 51374 [preauth]",
        )
        .unwrap();
        assert_eq!(e.action, AuthAction::Disconnect);
        assert_eq!(e.source_port, Some(51374));
        let e = p(
            "sshd",
            "Received disconnect from 103.99.0.122 port 56590:11: Bye Bye [preauth]",
        )
        .unwrap();
        assert_eq!(e.source_ip.as_deref(), Some("103.99.0.122"));
        let e = p("sshd", "reverse mapping checking getaddrinfo for ns.example.com [173.234.31.186] failed - POSSIBLE BREAK-IN ATTEMPT!").unwrap();
        assert_eq!(
            (e.action, e.source_ip.as_deref()),
            (AuthAction::Notice, Some("173.234.31.186"))
        );
        let e = p("sshd", "PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=112.95.230.3  user=root").unwrap();
        assert_eq!(e.action, AuthAction::Notice);
        assert_eq!(e.source_ip.as_deref(), Some("112.95.230.3"));
        let e = p(
            "sshd",
            "message repeated 3 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]",
        )
        .unwrap();
        assert_eq!((e.action, e.count), (AuthAction::LoginFailure, 3));
        let e = p("sshd", "error: Received disconnect from 103.99.0.122: 14: No more user authentication methods available. [preauth]").unwrap();
        assert_eq!(
            (e.action, e.source_ip.as_deref()),
            (AuthAction::Disconnect, Some("103.99.0.122"))
        );
        assert!(p("sshd", "Server listening on 0.0.0.0 port 22.").is_none());
    }

    #[test]
    fn pam_in_both_spellings() {
        let e = p("sshd", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=173.234.31.186  user=root").unwrap();
        assert_eq!(
            (e.service.as_str(), e.action),
            ("sshd", AuthAction::LoginFailure)
        );
        assert_eq!(e.user.as_deref(), Some("root"));
        let e = p("sshd(pam_unix)", "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root").unwrap();
        assert_eq!(
            e.source_host.as_deref(),
            Some("220-135-151-1.hinet-ip.hinet.net")
        );
        assert_eq!(e.source_ip, None);
        let e = p(
            "su(pam_unix)",
            "authentication failure; logname=ana uid=500 euid=0 tty= ruser=ana rhost=  user=root",
        )
        .unwrap();
        assert_eq!(e.action, AuthAction::SuFailure);
        assert_eq!(
            (e.user.as_deref(), e.target_user.as_deref()),
            (Some("ana"), Some("root"))
        );
        let e = p("su(pam_unix)", "session opened for user news by (uid=0)").unwrap();
        assert_eq!(
            (e.action, e.user.as_deref()),
            (AuthAction::SessionOpen, Some("news"))
        );
        let e = p(
            "sudo",
            "pam_unix(sudo:session): session opened for user root(uid=0) by ana(uid=1000)",
        )
        .unwrap();
        assert_eq!(
            (e.user.as_deref(), e.target_user.as_deref()),
            (Some("ana"), Some("root"))
        );
        assert_eq!(
            p("gdm(pam_unix)", "check pass; user unknown")
                .unwrap()
                .action,
            AuthAction::InvalidUser
        );
    }

    #[test]
    fn sudo_su_login_logind_vsftpd() {
        let e = p(
            "sudo",
            "    ana : TTY=pts/0 ; PWD=/home/ana ; USER=root ; COMMAND=/bin/sh -c id ; whoami",
        )
        .unwrap();
        assert_eq!(e.action, AuthAction::Sudo);
        assert_eq!(e.command.as_deref(), Some("/bin/sh -c id ; whoami"));
        assert_eq!(e.cwd.as_deref(), Some("/home/ana"));
        let e = p(
            "sudo",
            "ana : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/echo ; USER=nobody ; PWD=/x",
        )
        .unwrap();
        assert_eq!(
            (e.target_user.as_deref(), e.cwd.as_deref()),
            (Some("root"), Some("/"))
        );
        assert_eq!(e.target_user.as_deref(), Some("root"));
        let e = p("sudo", "bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/tmp ; USER=root ; COMMAND=/bin/bash").unwrap();
        assert_eq!((e.action, e.count), (AuthAction::SudoFailure, 3));
        assert_eq!(
            p(
                "sudo",
                "eve : user NOT in sudoers ; TTY=pts/2 ; PWD=/ ; USER=root ; COMMAND=/bin/ls"
            )
            .unwrap()
            .action,
            AuthAction::SudoFailure
        );
        let e = p("su", "FAILED SU (to root) ana on pts/0").unwrap();
        assert_eq!(
            (e.action, e.user.as_deref(), e.target_user.as_deref()),
            (AuthAction::SuFailure, Some("ana"), Some("root"))
        );
        assert_eq!(
            p("su", "(to root) ana on pts/0").unwrap().action,
            AuthAction::Su
        );
        assert_eq!(p("su", "+ pts/3 ana:root").unwrap().action, AuthAction::Su);
        let e = p(
            "login",
            "FAILED LOGIN 1 FROM 10.1.1.1 FOR root, Authentication failure",
        )
        .unwrap();
        assert_eq!(
            (e.source_ip.as_deref(), e.user.as_deref()),
            (Some("10.1.1.1"), Some("root"))
        );
        assert_eq!(
            p("root", "ROOT LOGIN ON tty2").unwrap().user.as_deref(),
            Some("root")
        );
        assert_eq!(
            p("-", "- login[2421]: ROOT LOGIN ON tty2").unwrap().service,
            "login"
        );
        assert_eq!(
            p("login", "ROOT LOGIN ON tty2").unwrap().action,
            AuthAction::LoginSuccess
        );
        assert_eq!(
            p("systemd-logind", "New session 12 of user ana.")
                .unwrap()
                .user
                .as_deref(),
            Some("ana")
        );
        let e = p("vsftpd", "[ana] FAIL LOGIN: Client \"198.51.100.7\"").unwrap();
        assert_eq!(
            (e.action, e.source_ip.as_deref()),
            (AuthAction::LoginFailure, Some("198.51.100.7"))
        );
        let e = p("klogind", "Authentication failed from 163.27.187.39 (163.27.187.39): Software caused connection abort").unwrap();
        assert_eq!(e.source_ip.as_deref(), Some("163.27.187.39"));
    }

    #[test]
    fn never_panics_on_odd_text() {
        let deep = "- -[1]: ".repeat(10_000);
        assert!(p("-", &deep).is_none());
        let nested = "message repeated 2 times: [ ".repeat(10_000);
        assert!(p("sshd", &nested).is_none());
        for m in [
            "Accepted",
            "Failed  for",
            "Failed x for y from",
            "message repeated x times: [",
            "pam_unix(",
            "pam_x(): ",
            " : ",
            "+ ",
            "(to ",
            "[",
            "FAILED LOGIN FROM",
            "é from é port é",
        ] {
            for prog in [
                "sshd",
                "sudo",
                "su",
                "login",
                "vsftpd",
                "systemd-logind",
                "x(pam_unix)",
                "klogind",
            ] {
                let _ = p(prog, m);
            }
        }
    }
}
