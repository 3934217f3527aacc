//! Which literals a signature's matches must contain, read from the pattern itself, so the
//! signature table runs a regular expression only over texts where it can match: one
//! Aho-Corasick pass finds the literals, and only their patterns are searched.
//!
//! Two kinds, both lower case (the table is matched case-insensitively) and each at least
//! two bytes long:
//! - **start literals**: every match starts with one of them, so the pattern is tried
//!   anchored where one occurs;
//! - **needed literals**: every match contains one of them somewhere, so the pattern is
//!   searched only in a text that has one.

use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Hir, HirKind};

/// Shortest literal worth looking for: a single byte occurs in nearly every text.
const MIN_LITERAL: usize = 2;

fn parse(pattern: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .ok()
}

/// The literals every match of `pattern` starts with, when there is a finite set of them;
/// `None` otherwise.
pub fn start_literals(pattern: &str) -> Option<Vec<String>> {
    prefixes(&parse(pattern)?)
}

/// Literals of which every match of `pattern` contains at least one, when such a set can be
/// read from it; `None` otherwise (the pattern must be run on every text).
pub fn needed_literals(pattern: &str) -> Option<Vec<String>> {
    needed(&parse(pattern)?)
}

/// Widest class a start literal may be read through (`[a-z]` → 26 places to try).
const START_CLASS: usize = 12;
/// Widest class a needed literal may be read through.
const NEEDED_CLASS: usize = 32;

fn prefixes(hir: &Hir) -> Option<Vec<String>> {
    prefixes_within(hir, START_CLASS)
}

fn prefixes_within(hir: &Hir, class: usize) -> Option<Vec<String>> {
    let mut ex = Extractor::new();
    ex.kind(ExtractKind::Prefix)
        .limit_class(class)
        .limit_repeat(4)
        .limit_literal_len(12)
        .limit_total(400);
    let seq = ex.extract(hir);
    let lits = seq.literals()?;
    if lits.is_empty() || lits.iter().any(|l| l.as_bytes().len() < MIN_LITERAL) {
        return None;
    }
    let mut out: Vec<String> = lits
        .iter()
        .map(|l| String::from_utf8_lossy(l.as_bytes()).to_ascii_lowercase())
        .collect();
    out.sort();
    out.dedup();
    Some(out)
}

/// A needed set: for an alternation, one from every branch together; for a sequence, the
/// best of its parts' sets and of the start literals of each of its tails (a match of the
/// sequence contains a match of every tail, which starts with one of the tail's start
/// literals); a repetition needs what one repeat needs when it repeats at least once.
/// Where a sequence gives no set so, a tail's literals may come from a class of up to
/// [`NEEDED_CLASS`] characters: many literals in the one literal pass cost less than a
/// search of every text.
fn needed(hir: &Hir) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Literal(_) => prefixes(hir),
        HirKind::Capture(c) => needed(&c.sub),
        HirKind::Repetition(r) if r.min >= 1 => needed(&r.sub),
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(needed(b)?);
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        HirKind::Concat(parts) => {
            let tails = |class| {
                (0..parts.len())
                    .filter_map(move |i| prefixes_within(&Hir::concat(parts[i..].to_vec()), class))
            };
            let inner = parts.iter().filter_map(needed);
            tails(START_CLASS)
                .chain(inner)
                .max_by_key(|set| selectivity(set))
                .or_else(|| tails(NEEDED_CLASS).max_by_key(|set| selectivity(set)))
        }
        _ => None,
    }
}

/// How well a set filters: its shortest literal's length first (longer literals occur in
/// fewer texts), then fewer literals.
fn selectivity(set: &[String]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = set.iter().map(String::len).min().unwrap_or(0);
    (shortest, std::cmp::Reverse(set.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_literals_are_found_or_refused() {
        assert_eq!(
            start_literals(r"\bcertutil(?:\.exe)?\s"),
            Some(vec!["certutil".into(), "certutil.exe".into()])
        );
        assert_eq!(start_literals(r"(?:^|\s)-enc\s"), None, "an open start");
        assert_eq!(start_literals(r"[a-z]x"), None, "too many starts");
    }

    #[test]
    fn needed_literals_come_from_every_branch() {
        let got = needed_literals(r"(?:^|\s)[-/](?:ec|enc)\s+\S{4}|\bwhoami\s+/all").unwrap();
        assert_eq!(got, vec!["-ec", "-enc", "/ec", "/enc", "whoami"]);
        // One branch with nothing to look for leaves the whole pattern unfiltered.
        assert_eq!(needed_literals(r"\bwhoami\b|\d{3}"), None);
        // A repetition that may not occur needs nothing.
        assert_eq!(needed_literals(r"\s(?:history)*\d"), None);
        assert_eq!(
            needed_literals(r"\s(?:history)+\d"),
            Some(vec!["history".into()])
        );
    }

    #[test]
    fn a_tail_may_start_with_a_wider_class_than_a_start() {
        // `\w+:[a-z]…` has no start literal, but every match holds a colon and a letter:
        // 26 two-byte literals filter it (a stream name after a file name, `$env:temp`).
        let got = needed_literals(r"\w+:[a-z]\w*").unwrap();
        assert_eq!(got.len(), 26);
        assert!(
            got.iter().all(|l| l.len() == 2 && l.starts_with(':')),
            "{got:?}"
        );
        // Starts stay narrow: each start literal is a place the pattern is tried.
        assert_eq!(start_literals(r":[a-z]\w*"), None);
    }

    #[test]
    fn the_most_selective_part_of_a_sequence_is_chosen() {
        let got = needed_literals(r"(?:^|\s)(?:a|b)\S*\s+(?:authorized_keys|known_hosts)").unwrap();
        // Literals are cut at 12 bytes: still a prefix of every match.
        assert_eq!(got, vec!["authorized_k", "known_hosts"]);
    }
}
