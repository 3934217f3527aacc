//! Regular expressions written into the code. They are constants: one that does not compile
//! is a bug in this crate, found by the unit tests that use each of them, never by input.
//!
//! A word boundary `\b` is ASCII here, and in the signature table (`signatures.rs`). A
//! Unicode one makes the regex engine's fast automata give up on the first non-ASCII byte
//! and fall back to its slowest one: on a decoded layer of a few MiB with one stray `é` in
//! it, tokenizing and the signature scan took seconds.

use regex::Regex;

/// Compiles a constant pattern, its word boundaries ASCII.
#[allow(clippy::expect_used)] // a constant pattern; every one is exercised by the tests
pub fn fixed(pattern: &str) -> Regex {
    Regex::new(&ascii_word_boundaries(pattern)).expect("a constant regular expression compiles")
}

/// `pattern` with each `\b` and `\B` (not an escaped backslash followed by `b`) written as
/// its ASCII form.
pub(crate) fn ascii_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(b @ ('b' | 'B')) => {
                out.push_str("(?-u:\\");
                out.push(b);
                out.push(')');
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_boundaries_become_ascii_and_escaped_backslashes_stay() {
        assert_eq!(ascii_word_boundaries(r"\biex\b"), r"(?-u:\b)iex(?-u:\b)");
        assert_eq!(ascii_word_boundaries(r"a\Bb"), r"a(?-u:\B)b");
        assert_eq!(ascii_word_boundaries(r"c:\\bin\\b"), r"c:\\bin\\b");
        assert_eq!(ascii_word_boundaries(r"\\\bx"), r"\\(?-u:\b)x");
        assert_eq!(ascii_word_boundaries(r"\d+\."), r"\d+\.");
    }
}
