//! Regular expressions written into the code. They are constants: one that does not compile
//! is a bug in this crate, found by the unit tests that use each of them, never by input.

use regex::Regex;

/// Compiles a constant pattern.
#[allow(clippy::expect_used)] // a constant pattern; every one is exercised by the tests
pub fn fixed(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a constant regular expression compiles")
}
