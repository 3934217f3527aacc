//! The loghub Linux and OpenSSH samples (`../shared/data/loghub/`): every line is read
//! (none is reported unreadable), and the authentication attempts become exactly one
//! activity each — counted here independently, from the raw lines. Skipped, with a
//! message, where the shared data is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use warden_ingest::InputSource;
use warden_ingest::text::{SyslogOptions, TextActivities, TextLogReader};

fn sample(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/loghub")
        .join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} is absent (shared data set)", p.display());
        None
    }
}

fn open(p: &Path) -> TextLogReader {
    TextLogReader::open(
        &InputSource::Path(p.to_path_buf()),
        1 << 20,
        SyslogOptions::default(),
    )
    .unwrap()
}

/// The word after `key` in `line`.
fn after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.rsplit_once(key)
        .and_then(|(_, r)| r.split_whitespace().next())
}

#[test]
fn openssh_every_line_read_every_attempt_once() {
    let Some(p) = sample("OpenSSH/OpenSSH_2k.log") else {
        return;
    };
    let text = std::fs::read_to_string(&p).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let errors: Vec<String> = open(&p)
        .filter_map(|r| r.err().map(|e| e.to_string()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(open(&p).count(), lines.len());

    // sshd's own words: "Failed|Accepted METHOD for …" (the `none` probe is no attempt),
    // times N inside "message repeated N times". PAM's reports of the same attempts and the
    // "Invalid user" notices before them must not add any.
    let mut expected = 0;
    for l in &lines {
        let (n, body) = match l.split_once("message repeated ") {
            Some((_, r)) => (
                r.split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<usize>()
                    .unwrap(),
                r,
            ),
            None => (1, *l),
        };
        for verb in ["]: Failed ", "]: Accepted ", "[ Failed ", "[ Accepted "] {
            if let Some((_, rest)) = body.split_once(verb)
                && !rest.starts_with("none ")
            {
                expected += n;
            }
        }
    }
    // A PAM report whose process never reports the attempt itself (the sample ends first)
    // is an attempt of its own.
    let pid = |l: &str| {
        l.split_once("sshd[")
            .map(|(_, r)| r.split(']').next().unwrap().to_owned())
    };
    let own: std::collections::HashSet<_> = lines
        .iter()
        .filter(|l| l.contains("]: Failed ") || l.contains("]: Accepted "))
        .filter_map(|l| pid(l))
        .collect();
    expected += lines
        .iter()
        .filter(|l| l.contains("pam_unix(sshd:auth): authentication failure;"))
        .filter(|l| pid(l).is_some_and(|p| !own.contains(&p)))
        .count();
    let activities: Vec<_> = TextActivities::new(open(&p)).map(Result::unwrap).collect();
    assert_eq!(activities.len(), expected);
    assert!(
        activities
            .windows(2)
            .all(|w| w[0].activity.timestamp <= w[1].activity.timestamp)
    );
    for r in &activities {
        let line = lines[r.line as usize - 1];
        let source = after(line, " from ").or_else(|| after(line, "rhost="));
        assert_eq!(r.activity.ip_address.as_deref(), source, "{line}");
        assert_eq!(r.activity.success, line.contains("Accepted"), "{line}");
    }
}

#[test]
fn linux_pam_only_failures_still_count() {
    let Some(p) = sample("Linux/Linux_2k.log") else {
        return;
    };
    let text = std::fs::read_to_string(&p).unwrap();
    let errors: Vec<String> = open(&p)
        .filter_map(|r| r.err().map(|e| e.to_string()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    // This file holds PAM's reports of sshd's failures without sshd's own lines, and
    // klogind's "Authentication failed from ADDR", and a root login on a console: each is
    // one attempt.
    let expected = text
        .lines()
        .filter(|l| {
            l.contains("authentication failure;")
                || l.contains("Authentication failed from ")
                || l.contains("ROOT LOGIN ON ")
        })
        .count();
    let activities: Vec<_> = TextActivities::new(open(&p)).map(Result::unwrap).collect();
    assert_eq!(activities.len(), expected);
    let by_name = activities
        .iter()
        .filter(|r| r.activity.ip_address.as_deref() == Some("220-135-151-1.hinet-ip.hinet.net"))
        .count();
    assert!(by_name > 0, "a source known by name groups its attempts");
}
