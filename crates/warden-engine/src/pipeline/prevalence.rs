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

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

/// Most command lines followed at once.
pub const MAX_LINES: usize = 65_536;
/// Most host entries held across the lines not yet common.
pub const MAX_HOSTS_HELD: usize = 1 << 20;
/// Highest threshold (a larger one is taken as this).
pub const MAX_COMMON_AT: usize = 10_000;

/// Distinct hosts per command line, up to a threshold.
#[derive(Debug)]
pub struct Prevalence {
    /// Hosts at which a line becomes common (0: never).
    common_at: usize,
    /// Keyed by a hash of the shell and command line (the hasher's keys are random, so
    /// no one can choose lines that collide).
    lines: HashMap<u64, Seen>,
    hasher: RandomState,
    max_lines: usize,
    /// Host entries held now (in `Seen::Hosts`).
    hosts_held: usize,
    max_hosts_held: usize,
}

#[derive(Debug)]
enum Seen {
    /// The distinct hosts (hashed) seen so far, fewer than the threshold.
    Hosts(Vec<u64>),
    /// Seen on at least the threshold's number of hosts.
    Common,
}

impl Prevalence {
    /// A line is common once `common_at` distinct hosts have started it; 0 turns the
    /// count off (no line is ever common).
    pub fn new(common_at: usize) -> Prevalence {
        Prevalence {
            common_at: common_at.min(MAX_COMMON_AT),
            lines: HashMap::new(),
            hasher: RandomState::new(),
            max_lines: MAX_LINES,
            hosts_held: 0,
            max_hosts_held: MAX_HOSTS_HELD,
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

    /// Records that `host` started `line` (keyed with `shell`) and returns on how many
    /// distinct hosts it has been seen, this one included, counting no further than the
    /// threshold. Without a host nothing is recorded.
    pub fn observe(
        &mut self,
        shell: impl std::hash::Hash,
        line: &str,
        host: Option<&str>,
    ) -> usize {
        if self.common_at == 0 {
            return 0;
        }
        let key = self.hasher.hash_one((shell, line));
        // An empty or placeholder name is no host: it must not count as one more.
        let Some(host) = host.map(str::trim).filter(|h| !h.is_empty() && *h != "-") else {
            return self.hosts(key);
        };
        let host = self.hasher.hash_one(host.to_ascii_lowercase());
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
    }

    /// Command lines followed now.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_distinct_hosts_count_and_a_line_becomes_common_at_the_threshold() {
        let mut p = Prevalence::new(3);
        assert_eq!(p.observe(0, "Teams.exe", Some("ws-1")), 1);
        // The same host again, in another case: still one host.
        assert_eq!(p.observe(0, "Teams.exe", Some("WS-1")), 1);
        assert_eq!(p.observe(0, "Teams.exe", Some("ws-2")), 2);
        assert!(!p.is_common(2));
        assert_eq!(p.observe(0, "Teams.exe", Some("ws-3")), 3);
        assert!(p.is_common(3));
        // Common stays common, and is not counted further.
        assert_eq!(p.observe(0, "Teams.exe", Some("ws-4")), 3);
        // Another line, or the same line for another shell, starts from nothing.
        assert_eq!(p.observe(0, "teams.exe", Some("ws-1")), 1);
        assert_eq!(p.observe(1, "Teams.exe", Some("ws-1")), 1);
    }

    #[test]
    fn without_a_host_nothing_is_counted() {
        let mut p = Prevalence::new(2);
        assert_eq!(p.observe(0, "x", None), 0);
        assert_eq!(p.observe(0, "x", None), 0);
        assert_eq!(p.observe(0, "x", Some("")), 0);
        assert_eq!(p.observe(0, "x", Some(" - ")), 0);
        assert!(p.is_empty());
        assert_eq!(p.observe(0, "x", Some("a")), 1);
        assert_eq!(p.observe(0, "x", None), 1);
    }

    #[test]
    fn off_at_zero() {
        let mut p = Prevalence::new(0);
        for h in ["a", "b", "c"] {
            assert_eq!(p.observe(0, "x", Some(h)), 0);
        }
        assert!(!p.is_common(0) && !p.is_common(1000));
        assert!(p.is_empty());
    }

    #[test]
    fn a_flood_of_unique_lines_stays_bounded_and_forgets_rare_lines_first() {
        let mut p = Prevalence::new(2).with_max_lines(100);
        for h in ["a", "b"] {
            p.observe(0, "common", Some(h));
        }
        p.observe(0, "rare", Some("a"));
        for i in 0..1_000 {
            p.observe(0, &format!("unique {i}"), Some("a"));
            assert!(p.len() <= 100);
        }
        // The common line survived every clean-up; the rare one was forgotten.
        assert_eq!(p.observe(0, "common", Some("z")), 2);
        assert_eq!(p.observe(0, "rare", Some("b")), 1);
    }

    #[test]
    fn a_flood_of_host_names_stays_bounded() {
        let mut p = Prevalence::new(MAX_COMMON_AT).with_max_hosts_held(1_000);
        for h in 0..5_000 {
            p.observe(0, &format!("line {}", h % 7), Some(&format!("host-{h}")));
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
            p.observe(0, &format!("line {i}"), Some("a"));
            assert!(p.len() <= 10);
        }
    }
}
