//! Reading text logs: [`TextLogReader`] turns an input's lines into documents (a line none
//! of the formats reads is reported with its number and reason, and reading goes on);
//! [`AttemptQueue`] turns the authentication events among them into user activities,
//! counting each attempt once and keeping time order; [`TextActivities`] is the two
//! together, what `warden detect` reads.
//!
//! **Counting once.** When sshd (or su, login, vsftpd…) fails a password, PAM reports it
//! first (`pam_unix(sshd:auth): authentication failure`) and the service right after in
//! its own words (`Failed password for …`), from the same process. Some files hold only
//! PAM's report (the service's lines went elsewhere), so PAM's cannot simply be dropped:
//! it is held for a short window ([`pam_window_secs`]) and dropped only if its service's
//! own report from the same host and process arrives in time. Activities behind a held
//! one wait for it, so what comes out stays in time order.

use std::collections::VecDeque;
use std::io::BufRead;

use warden_event::auth::AuthEvent;
use warden_event::{Timestamp, UserActivity};

use super::{LineParser, SyslogOptions};
use crate::error::{ErrorKind, IngestError};
use crate::lines::{Line, LineReader};
use crate::reader::Record;
use crate::source::InputSource;

/// Most activities one line stands for (`message repeated N times`).
const MAX_COPIES: u32 = 1000;
/// Most activities held back while a PAM report waits for its service's.
const MAX_HELD: usize = 10_000;

/// One line read (or an audit event joined, cited at its first line).
pub type TextRecord = super::ParsedLine;

/// Lines of one input → documents.
pub struct TextLogReader {
    name: String,
    compression: &'static str,
    lines: LineReader<Box<dyn BufRead + Send>>,
    buf: Vec<u8>,
    max_line_bytes: usize,
    parser: LineParser,
    /// A record waiting its turn (an audit event joined by the line just read).
    pending: Option<TextRecord>,
    done: bool,
}

impl TextLogReader {
    pub fn new(
        name: String,
        reader: Box<dyn BufRead + Send>,
        compression: &'static str,
        max_line_bytes: usize,
        opts: SyslogOptions,
    ) -> Self {
        TextLogReader {
            name,
            compression,
            lines: LineReader::new(reader, max_line_bytes),
            buf: Vec::new(),
            max_line_bytes,
            parser: LineParser::new(opts),
            pending: None,
            done: false,
        }
    }

    /// Opens `source`, dating BSD timestamps by its modification time (a file) or now.
    pub fn open(
        source: &InputSource,
        max_line_bytes: usize,
        opts: SyslogOptions,
    ) -> Result<Self, IngestError> {
        let mut opts = opts;
        if let InputSource::Path(p) = source
            && let Some(t) = std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        {
            opts.reference = Timestamp(i64::try_from(t.as_millis()).unwrap_or(i64::MAX));
        }
        let opened = source.open()?;
        Ok(Self::new(
            opened.name,
            opened.reader,
            opened.compression.name(),
            max_line_bytes,
            opts,
        ))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn error(&self, line: u64, kind: ErrorKind) -> IngestError {
        IngestError::new(&self.name, line, kind)
    }
}

impl Iterator for TextLogReader {
    type Item = Result<TextRecord, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        // A process start joined from an audit event comes right after the line that ended it.
        if let Some(r) = self.pending.take() {
            return Some(Ok(r));
        }
        while !self.done {
            let line = match self.lines.next_line(&mut self.buf) {
                Ok(Some(l)) => l,
                Ok(None) => {
                    self.done = true;
                    return self.parser.finish().map(Ok);
                }
                Err(e) => {
                    self.done = true;
                    let kind = ErrorKind::Read {
                        compression: self.compression,
                        source: e,
                    };
                    return Some(Err(self.error(self.lines.line_no() + 1, kind)));
                }
            };
            let n = match line {
                Line::Ok(n) => n,
                Line::TooLong(n, length) => {
                    let limit = self.max_line_bytes;
                    return Some(Err(self.error(n, ErrorKind::LineTooLong { length, limit })));
                }
            };
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let Ok(text) = std::str::from_utf8(&self.buf) else {
                return Some(Err(self.error(n, ErrorKind::Utf8)));
            };
            let parsed = self.parser.parse_at(text, n);
            if let Some(joined) = self.parser.take_joined() {
                self.pending = Some(joined);
            }
            return Some(match parsed {
                Ok(p) => Ok(p),
                Err(reason) => Err(self.error(n, ErrorKind::Unrecognised(reason))),
            });
        }
        None
    }
}

/// How long a PAM report waits for its service's own report of the same attempt.
pub fn pam_window_secs(service: &str) -> i64 {
    match service {
        // sudo reports after its last try ("3 incorrect password attempts").
        "sudo" | "sudo-i" => 300,
        // sshd's reverse lookup of the client can take a while before it reports.
        _ => 60,
    }
}

#[derive(Debug)]
struct Held {
    /// The activity and its line; `None` once dropped.
    activity: Option<(UserActivity, u64)>,
    /// (host, pid, service) while it waits; `None` once decided.
    waiting: Option<(String, u32, String)>,
    until: Timestamp,
}

/// Authentication events → user activities, each attempt once, in order.
#[derive(Debug, Default)]
pub struct AttemptQueue {
    held: VecDeque<Held>,
}

type Lined = (UserActivity, u64);

impl AttemptQueue {
    /// Adds the event of line `line` of input `source`.
    pub fn push(
        &mut self,
        e: &AuthEvent,
        host: Option<&str>,
        pid: Option<u32>,
        source: &str,
        line: u64,
    ) {
        self.advance(e.time);
        let key = pid.map(|p| (host.unwrap_or("").to_owned(), p, e.service.clone()));
        if !e.pam
            && let Some(k) = &key
            && e.action.outcome().is_some()
        {
            // The service's own report: PAM's of the same attempt is dropped.
            if let Some(h) = self
                .held
                .iter_mut()
                .find(|h| h.waiting.as_ref().is_some_and(|w| w.0 == k.0 && w.1 == k.1))
            {
                h.waiting = None;
                h.activity = None;
            }
        }
        let Some(activity) = e.to_activity() else {
            return;
        };
        let copies = e.count.clamp(1, MAX_COPIES);
        for i in 0..copies {
            let mut a = activity.clone();
            a.event_id = Some(if copies == 1 {
                format!("{source}:{line}")
            } else {
                format!("{source}:{line}#{}", i + 1)
            });
            let waiting = if e.pam { key.clone() } else { None };
            let until = Timestamp(e.time.0 + pam_window_secs(&e.service) * 1000);
            self.held.push_back(Held {
                activity: Some((a, line)),
                waiting,
                until,
            });
        }
        // Bounded: past the limit the oldest held report is decided (kept).
        if self.held.len() > MAX_HELD
            && let Some(front) = self.held.front_mut()
        {
            front.waiting = None;
        }
    }

    /// The time is now `now` (a later event's, or a stream's clock): PAM reports whose
    /// window has passed are attempts after all.
    pub fn advance(&mut self, now: Timestamp) {
        for h in &mut self.held {
            if h.waiting.is_some() && h.until < now {
                h.waiting = None;
            }
        }
    }

    /// Ends the input: every held report is decided.
    pub fn finish(&mut self) {
        for h in &mut self.held {
            h.waiting = None;
        }
    }

    /// The next activity whose turn has come.
    pub fn pop(&mut self) -> Option<Lined> {
        while self.held.front().is_some_and(|h| h.waiting.is_none()) {
            if let Some(Held {
                activity: Some(a), ..
            }) = self.held.pop_front()
            {
                return Some(a);
            }
        }
        None
    }
}

/// A text log read as user activities: its authentication attempts (other lines are
/// read and skipped; unreadable ones are reported).
pub struct TextActivities {
    reader: TextLogReader,
    queue: AttemptQueue,
    finished: bool,
}

impl TextActivities {
    pub fn new(reader: TextLogReader) -> Self {
        TextActivities {
            reader,
            queue: AttemptQueue::default(),
            finished: false,
        }
    }
}

impl Iterator for TextActivities {
    type Item = Result<Record, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((activity, line)) = self.queue.pop() {
                return Some(Ok(Record { activity, line }));
            }
            if self.finished {
                return None;
            }
            match self.reader.next() {
                Some(Ok(r)) => {
                    if let Some(e) = &r.auth {
                        let name = self.reader.name().to_owned();
                        self.queue.push(e, r.host.as_deref(), r.pid, &name, r.line);
                    }
                }
                Some(Err(e)) => return Some(Err(e)),
                None => {
                    self.finished = true;
                    self.queue.finish();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::auth::AuthAction;

    fn ev(secs: i64, action: AuthAction, pam: bool, user: &str) -> AuthEvent {
        let mut e = AuthEvent::new(Timestamp(secs * 1000), "sshd", action);
        e.pam = pam;
        e.user = Some(user.into());
        e
    }

    fn drain(q: &mut AttemptQueue) -> Vec<(String, u64)> {
        std::iter::from_fn(|| q.pop())
            .map(|(a, l)| (a.user_id, l))
            .collect()
    }

    #[test]
    fn audit_events_are_joined_after_their_end_and_at_the_end_of_input() {
        let text = "type=SYSCALL msg=audit(1.0:7): pid=5 ppid=1 exe=\"/bin/id\"\n\
                    type=EXECVE msg=audit(1.0:7): argc=1 a0=\"id\"\n\
                    type=EOE msg=audit(1.0:7): \n\
                    type=SYSCALL msg=audit(2.0:8): pid=6 ppid=1 exe=\"/bin/ls\"\n\
                    type=EXECVE msg=audit(2.0:8): argc=1 a0=\"ls\"\n";
        let reader = TextLogReader::new(
            "audit.log".into(),
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            "plain",
            1 << 16,
            SyslogOptions::default(),
        );
        let seen: Vec<(u64, String)> = reader
            .map(Result::unwrap)
            .map(|r| {
                let what = r.doc["type"]
                    .as_str()
                    .or(r.doc["process"]["executable"].as_str())
                    .unwrap_or("")
                    .to_owned();
                (r.line, what)
            })
            .collect();
        let want = [
            (1, "SYSCALL"),
            (2, "EXECVE"),
            (3, "EOE"),
            (1, "/bin/id"),
            (4, "SYSCALL"),
            (5, "EXECVE"),
            (4, "/bin/ls"),
        ];
        let want: Vec<(u64, String)> = want.iter().map(|(l, w)| (*l, (*w).to_owned())).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn pam_then_the_service_counts_once_and_order_is_kept() {
        let mut q = AttemptQueue::default();
        q.push(
            &ev(0, AuthAction::LoginFailure, true, "root"),
            Some("h"),
            Some(7),
            "f",
            1,
        );
        // Another process's attempt waits behind the held report.
        q.push(
            &ev(1, AuthAction::LoginFailure, false, "ana"),
            Some("h"),
            Some(8),
            "f",
            2,
        );
        assert!(drain(&mut q).is_empty());
        q.push(
            &ev(2, AuthAction::LoginFailure, false, "root"),
            Some("h"),
            Some(7),
            "f",
            3,
        );
        assert_eq!(drain(&mut q), [("ana".into(), 2), ("root".into(), 3)]);
    }

    #[test]
    fn a_pam_report_alone_counts_once_its_window_has_passed_or_the_input_ends() {
        let mut q = AttemptQueue::default();
        q.push(
            &ev(0, AuthAction::LoginFailure, true, "root"),
            Some("h"),
            Some(7),
            "f",
            1,
        );
        q.push(
            &ev(61, AuthAction::LoginSuccess, false, "ana"),
            Some("h"),
            Some(9),
            "f",
            2,
        );
        assert_eq!(drain(&mut q), [("root".into(), 1), ("ana".into(), 2)]);
        q.push(
            &ev(70, AuthAction::LoginFailure, true, "bob"),
            Some("h"),
            Some(10),
            "f",
            3,
        );
        // The same process on another host is not the same attempt.
        q.push(
            &ev(71, AuthAction::LoginFailure, false, "bob"),
            Some("g"),
            Some(10),
            "f",
            4,
        );
        assert!(drain(&mut q).is_empty());
        q.finish();
        assert_eq!(drain(&mut q), [("bob".into(), 3), ("bob".into(), 4)]);
    }

    #[test]
    fn repeats_become_copies_with_their_own_ids_and_holding_is_bounded() {
        let mut q = AttemptQueue::default();
        let mut e = ev(0, AuthAction::LoginFailure, false, "root");
        e.count = 3;
        q.push(&e, Some("h"), Some(1), "f", 5);
        let ids: Vec<_> = std::iter::from_fn(|| q.pop())
            .map(|(a, _)| a.event_id.unwrap())
            .collect();
        assert_eq!(ids, ["f:5#1", "f:5#2", "f:5#3"]);
        e.count = u32::MAX;
        q.push(&e, Some("h"), Some(1), "f", 6);
        assert_eq!(drain(&mut q).len(), MAX_COPIES as usize);
        for i in 0..(MAX_HELD as u64 + 50) {
            q.push(
                &ev(0, AuthAction::LoginFailure, true, "x"),
                Some("h"),
                Some(i as u32),
                "f",
                i,
            );
            // The reader pops after every push: past the bound the oldest is let go.
            drain(&mut q);
            assert!(q.held.len() <= MAX_HELD, "{}", q.held.len());
        }
    }
}
