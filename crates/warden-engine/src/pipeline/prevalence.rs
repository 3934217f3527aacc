//! How many hosts of the estate have started a command line: its prevalence.
//!
//! A learned model judges how a command line *looks*; a host fleet says how *usual* it is
//! here. `Teams.exe` with no arguments looks like a LOLBAS entry to a model trained on
//! command corpora (LOLBAS lists it, and a bare name is all the entry says), and every
//! workstation starts it ten times a day. An EDR's answer is prevalence: a command line
//! that hundreds of hosts run is not news, whatever it looks like. What a command line
//! *does* — a signature, a Sigma rule — is not discounted by how common it is: ransomware
//! deleting shadow copies on every host is still ransomware.
//!
//! Only distinct hosts count (one host repeating a command is not the estate agreeing
//! with it), counted up to the threshold, after which a line is just *common*. Memory is
//! bounded, whatever the events say: at most [`MAX_LINES`] command lines and
//! [`MAX_HOSTS_HELD`] host entries across them (about 11 MB), and a threshold of at most
//! [`MAX_COMMON_AT`]. When either fills, the lines not yet common are forgotten first (a
//! flood of unique command lines or host names can make common lines alert again, never
//! hide a rare one).
//!
//! Lines and hosts are held as keyed digests (HMAC-SHA-256 under a random key of the
//! table's own, cut to 64 bits): no one can choose lines that collide, and no command line
//! or host name is kept. The table can be saved ([`Prevalence::snapshot`]) with its key and
//! restored after a restart, so a line common yesterday is still common.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Most command lines followed at once.
pub const MAX_LINES: usize = 65_536;
/// Most host entries held across the lines not yet common.
pub const MAX_HOSTS_HELD: usize = 1 << 20;
/// Highest threshold (a larger one is taken as this).
pub const MAX_COMMON_AT: usize = 10_000;

/// The saved table's first bytes, and the format's version.
const MAGIC: &[u8; 4] = b"WPRV";
const FORMAT_VERSION: u16 = 1;

/// A saved table that cannot be read back.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RestoreError {
    #[error("not a saved prevalence table")]
    NotATable,
    #[error("prevalence table format version {0} is not known to this release")]
    Version(u16),
    #[error("the saved prevalence table is cut short")]
    Truncated,
    #[error("the saved prevalence table holds more {0} than a table may")]
    TooLarge(&'static str),
    #[error("the saved prevalence table has bytes after its end")]
    Trailing,
}

/// Distinct hosts per command line, up to a threshold.
#[derive(Debug)]
pub struct Prevalence {
    /// Hosts at which a line becomes common (0: never).
    common_at: usize,
    /// Keyed by the digest of the shell and command line.
    lines: HashMap<u64, Seen>,
    /// The table's key; `mac` is HMAC-SHA-256 set up with it (cloned for each digest).
    key: [u8; 32],
    mac: Hmac<Sha256>,
    max_lines: usize,
    /// Host entries held now (in `Seen::Hosts`).
    hosts_held: usize,
    max_hosts_held: usize,
    /// Whether anything changed since the last snapshot.
    changed: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    /// The distinct hosts (their digests) seen so far, fewer than the threshold.
    Hosts(Vec<u64>),
    /// Seen on at least the threshold's number of hosts.
    Common,
}

/// 32 bytes no one outside can guess: the standard library's randomly keyed SipHash (keys
/// from the operating system) of four counters.
fn random_key() -> [u8; 32] {
    let state = RandomState::new();
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&state.hash_one(i as u64).to_le_bytes());
    }
    key
}

fn mac_of(key: &[u8; 32]) -> Hmac<Sha256> {
    // HMAC pads a key shorter than the hash's block with zeros: given padded, it is the
    // same function, and the fixed-size constructor cannot fail.
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    <Hmac<Sha256> as KeyInit>::new(&block.into())
}

impl Prevalence {
    /// A line is common once `common_at` distinct hosts have started it; 0 turns the
    /// count off (no line is ever common).
    pub fn new(common_at: usize) -> Prevalence {
        Self::with_key(common_at, random_key())
    }

    fn with_key(common_at: usize, key: [u8; 32]) -> Prevalence {
        Prevalence {
            common_at: common_at.min(MAX_COMMON_AT),
            lines: HashMap::new(),
            mac: mac_of(&key),
            key,
            max_lines: MAX_LINES,
            hosts_held: 0,
            max_hosts_held: MAX_HOSTS_HELD,
            changed: false,
        }
    }

    #[cfg(test)]
    fn with_max_lines(mut self, max_lines: usize) -> Prevalence {
        self.max_lines = max_lines;
        self
    }

    #[cfg(test)]
    fn with_max_hosts_held(mut self, max: usize) -> Prevalence {
        self.max_hosts_held = max;
        self
    }

    /// The threshold (0: off).
    pub fn common_at(&self) -> usize {
        self.common_at
    }

    /// The keyed digest of `parts`, each length-prefixed, after a byte saying what they are.
    fn digest(&self, what: u8, parts: &[&[u8]]) -> u64 {
        let mut mac = self.mac.clone();
        mac.update(&[what]);
        for p in parts {
            mac.update(&(p.len() as u64).to_le_bytes());
            mac.update(p);
        }
        let out = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&out[..8]);
        u64::from_le_bytes(first)
    }

    /// Records that `host` started `line` in `shell` and returns on how many distinct
    /// hosts it has been seen, this one included, counting no further than the threshold.
    /// Without a host nothing is recorded.
    pub fn observe(&mut self, shell: &str, line: &str, host: Option<&str>) -> usize {
        if self.common_at == 0 {
            return 0;
        }
        let key = self.digest(0, &[shell.as_bytes(), line.as_bytes()]);
        // An empty or placeholder name is no host: it must not count as one more.
        let Some(host) = host.map(str::trim).filter(|h| !h.is_empty() && *h != "-") else {
            return self.hosts(key);
        };
        let host = self.digest(1, &[host.to_ascii_lowercase().as_bytes()]);
        if !self.lines.contains_key(&key) && self.lines.len() >= self.max_lines {
            self.make_room();
        }
        let adds = match self.lines.get(&key) {
            Some(Seen::Common) => false,
            Some(Seen::Hosts(h)) => !h.contains(&host),
            None => true,
        };
        if adds && self.hosts_held >= self.max_hosts_held {
            self.make_room();
        }
        let seen = self.lines.entry(key).or_insert(Seen::Hosts(Vec::new()));
        if let Seen::Hosts(hosts) = seen {
            if adds {
                // Exactly as long as needed: the bound on entries is a bound on memory.
                hosts.reserve_exact(1);
                hosts.push(host);
                self.hosts_held += 1;
                self.changed = true;
            }
            if hosts.len() >= self.common_at {
                self.hosts_held -= hosts.len();
                *seen = Seen::Common;
            }
        }
        self.hosts(key)
    }

    fn hosts(&self, key: u64) -> usize {
        match self.lines.get(&key) {
            Some(Seen::Hosts(h)) => h.len(),
            Some(Seen::Common) => self.common_at,
            None => 0,
        }
    }

    /// Whether `hosts` (as [`Prevalence::observe`] returns it) makes a line common.
    pub fn is_common(&self, hosts: usize) -> bool {
        self.common_at > 0 && hosts >= self.common_at
    }

    /// Forgets the lines not yet common; if the common ones alone fill half the table,
    /// forgets everything.
    fn make_room(&mut self) {
        self.lines.retain(|_, s| matches!(s, Seen::Common));
        self.hosts_held = 0;
        if self.lines.len() >= self.max_lines / 2 {
            self.lines.clear();
        }
        self.changed = true;
    }

    /// Command lines followed now.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Whether the table changed since the last [`Prevalence::snapshot`].
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The table to save, with its key (at most about 9 MB: every bound holds); counts as
    /// saved.
    pub fn snapshot(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(46 + self.lines.len() * 13 + self.hosts_held * 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.common_at as u32).to_le_bytes());
        out.extend_from_slice(&self.key);
        out.extend_from_slice(&(self.lines.len() as u32).to_le_bytes());
        for (key, seen) in &self.lines {
            out.extend_from_slice(&key.to_le_bytes());
            match seen {
                Seen::Common => out.push(1),
                Seen::Hosts(hosts) => {
                    out.push(0);
                    out.extend_from_slice(&(hosts.len() as u32).to_le_bytes());
                    for h in hosts {
                        out.extend_from_slice(&h.to_le_bytes());
                    }
                }
            }
        }
        self.changed = false;
        out
    }

    /// A saved table, counted on from where it was, with the threshold `common_at`. When
    /// the threshold is not the one it was saved with, the lines it made common start
    /// again from no host (a higher threshold must not inherit them; a lower one makes
    /// them common again soon), and lines with at least `common_at` hosts are common.
    pub fn restore(bytes: &[u8], common_at: usize) -> Result<Prevalence, RestoreError> {
        let mut r = Reader(bytes);
        if r.take(4)? != MAGIC {
            return Err(RestoreError::NotATable);
        }
        let version = r.u16()?;
        if version != FORMAT_VERSION {
            return Err(RestoreError::Version(version));
        }
        let saved_at = r.u32()? as usize;
        let mut key = [0u8; 32];
        key.copy_from_slice(r.take(32)?);
        let mut p = Prevalence::with_key(common_at, key);
        let same = saved_at == p.common_at;
        let lines = r.u32()? as usize;
        if lines > MAX_LINES {
            return Err(RestoreError::TooLarge("command lines"));
        }
        p.lines.reserve(lines);
        for _ in 0..lines {
            let key = r.u64()?;
            let seen = match r.take(1)?[0] {
                1 if same => Seen::Common,
                1 => continue,
                0 => {
                    let n = r.u32()? as usize;
                    if p.hosts_held + n > MAX_HOSTS_HELD {
                        return Err(RestoreError::TooLarge("host entries"));
                    }
                    // Sized by what the bytes can hold, never by the count alone.
                    let mut hosts = Vec::with_capacity(n.min(r.0.len() / 8));
                    for _ in 0..n {
                        hosts.push(r.u64()?);
                    }
                    if p.common_at > 0 && n >= p.common_at {
                        Seen::Common
                    } else {
                        p.hosts_held += n;
                        Seen::Hosts(hosts)
                    }
                }
                _ => return Err(RestoreError::NotATable),
            };
            p.lines.insert(key, seen);
        }
        if !r.0.is_empty() {
            return Err(RestoreError::Trailing);
        }
        if p.common_at == 0 {
            p.lines.clear();
            p.hosts_held = 0;
        }
        Ok(p)
    }
}

/// Reads a saved table front to back; every read is checked against what is left.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RestoreError> {
        if self.0.len() < n {
            return Err(RestoreError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, RestoreError> {
        let mut b = [0u8; 2];
        b.copy_from_slice(self.take(2)?);
        Ok(u16::from_le_bytes(b))
    }

    fn u32(&mut self) -> Result<u32, RestoreError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, RestoreError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_distinct_hosts_count_and_a_line_becomes_common_at_the_threshold() {
        let mut p = Prevalence::new(3);
        assert_eq!(p.observe("sh", "Teams.exe", Some("ws-1")), 1);
        // The same host again, in another case: still one host.
        assert_eq!(p.observe("sh", "Teams.exe", Some("WS-1")), 1);
        assert_eq!(p.observe("sh", "Teams.exe", Some("ws-2")), 2);
        assert!(!p.is_common(2));
        assert_eq!(p.observe("sh", "Teams.exe", Some("ws-3")), 3);
        assert!(p.is_common(3));
        // Common stays common, and is not counted further.
        assert_eq!(p.observe("sh", "Teams.exe", Some("ws-4")), 3);
        // Another line, or the same line for another shell, starts from nothing.
        assert_eq!(p.observe("sh", "teams.exe", Some("ws-1")), 1);
        assert_eq!(p.observe("cmd", "Teams.exe", Some("ws-1")), 1);
    }

    #[test]
    fn without_a_host_nothing_is_counted() {
        let mut p = Prevalence::new(2);
        assert_eq!(p.observe("sh", "x", None), 0);
        assert_eq!(p.observe("sh", "x", None), 0);
        assert_eq!(p.observe("sh", "x", Some("")), 0);
        assert_eq!(p.observe("sh", "x", Some(" - ")), 0);
        assert!(p.is_empty());
        assert_eq!(p.observe("sh", "x", Some("a")), 1);
        assert_eq!(p.observe("sh", "x", None), 1);
    }

    #[test]
    fn off_at_zero() {
        let mut p = Prevalence::new(0);
        for h in ["a", "b", "c"] {
            assert_eq!(p.observe("sh", "x", Some(h)), 0);
        }
        assert!(!p.is_common(0) && !p.is_common(1000));
        assert!(p.is_empty());
    }

    #[test]
    fn a_flood_of_unique_lines_stays_bounded_and_forgets_rare_lines_first() {
        let mut p = Prevalence::new(2).with_max_lines(100);
        for h in ["a", "b"] {
            p.observe("sh", "common", Some(h));
        }
        p.observe("sh", "rare", Some("a"));
        for i in 0..1_000 {
            p.observe("sh", &format!("unique {i}"), Some("a"));
            assert!(p.len() <= 100);
        }
        // The common line survived every clean-up; the rare one was forgotten.
        assert_eq!(p.observe("sh", "common", Some("z")), 2);
        assert_eq!(p.observe("sh", "rare", Some("b")), 1);
    }

    #[test]
    fn a_flood_of_host_names_stays_bounded() {
        let mut p = Prevalence::new(MAX_COMMON_AT).with_max_hosts_held(1_000);
        for h in 0..5_000 {
            p.observe("sh", &format!("line {}", h % 7), Some(&format!("host-{h}")));
            assert!(p.hosts_held <= 1_000);
            let held: usize = p
                .lines
                .values()
                .map(|s| match s {
                    Seen::Hosts(h) => h.len(),
                    Seen::Common => 0,
                })
                .sum();
            assert_eq!(held, p.hosts_held);
        }
        // A threshold from outside is capped.
        assert_eq!(Prevalence::new(usize::MAX).common_at(), MAX_COMMON_AT);
    }

    #[test]
    fn common_lines_filling_the_table_are_forgotten_too() {
        let mut p = Prevalence::new(1).with_max_lines(10);
        for i in 0..25 {
            p.observe("sh", &format!("line {i}"), Some("a"));
            assert!(p.len() <= 10);
        }
    }

    #[test]
    fn a_saved_table_counts_on_after_a_restart() {
        let mut p = Prevalence::new(3);
        for h in ["ws-1", "ws-2", "ws-3"] {
            p.observe("cmd", "Teams.exe", Some(h));
        }
        p.observe("sh", "git status", Some("ws-1"));
        assert!(p.changed());
        let saved = p.snapshot();
        assert!(!p.changed());
        // The keyed digests hold neither the lines nor the host names.
        let text = String::from_utf8_lossy(&saved);
        assert!(!text.contains("Teams") && !text.contains("ws-1"), "{text}");
        let mut q = Prevalence::restore(&saved, 3).unwrap_or_else(|e| panic!("{e}"));
        assert!(!q.changed());
        // Common stays common; a host seen before the restart is not counted twice.
        assert_eq!(q.observe("cmd", "Teams.exe", Some("ws-9")), 3);
        assert_eq!(q.observe("sh", "git status", Some("WS-1")), 1);
        assert_eq!(q.observe("sh", "git status", Some("ws-2")), 2);
        assert_eq!(q.hosts_held, 2);
        // Another table (another key) knows none of it.
        let mut fresh = Prevalence::new(3);
        assert_eq!(fresh.observe("sh", "git status", Some("ws-2")), 1);
    }

    #[test]
    fn a_new_threshold_does_not_inherit_the_old_ones_verdicts() {
        let mut p = Prevalence::new(2);
        for h in ["a", "b"] {
            p.observe("sh", "common", Some(h));
        }
        p.observe("sh", "rare", Some("a"));
        let saved = p.snapshot();
        // Higher: the line made common at 2 hosts starts again; host lists carry over.
        let mut up = Prevalence::restore(&saved, 5).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(up.observe("sh", "common", Some("c")), 1);
        assert_eq!(up.observe("sh", "rare", Some("b")), 2);
        // Lower: a host list that reaches it is common at once.
        let mut down = Prevalence::restore(&saved, 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(down.observe("sh", "rare", Some("z")), 1);
        assert!(down.is_common(1));
        // Off: nothing is kept.
        let off = Prevalence::restore(&saved, 0).unwrap_or_else(|e| panic!("{e}"));
        assert!(off.is_empty());
    }

    #[test]
    fn a_damaged_table_is_refused_with_what_is_wrong() {
        let mut p = Prevalence::new(4);
        p.observe("sh", "x", Some("a"));
        let saved = p.snapshot();
        let restore = |b: &[u8]| Prevalence::restore(b, 4).map(|_| ());
        assert_eq!(restore(b"nope"), Err(RestoreError::NotATable));
        assert_eq!(restore(&[]), Err(RestoreError::Truncated));
        for cut in [5, 10, 44, saved.len() - 1] {
            assert_eq!(
                restore(&saved[..cut]),
                Err(RestoreError::Truncated),
                "{cut}"
            );
        }
        let mut longer = saved.clone();
        longer.push(0);
        assert_eq!(restore(&longer), Err(RestoreError::Trailing));
        let mut version = saved.clone();
        version[4] = 9;
        assert_eq!(restore(&version), Err(RestoreError::Version(9)));
        // Counts beyond the bounds are refused before anything is allocated for them.
        let mut lines = saved.clone();
        lines[42..46].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            restore(&lines),
            Err(RestoreError::TooLarge("command lines"))
        );
        let mut hosts = saved;
        hosts[55..59].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(restore(&hosts), Err(RestoreError::TooLarge("host entries")));
    }
}
