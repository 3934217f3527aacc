//! Compiled value tests: what one leaf of a rule checks against one field value.

use std::net::IpAddr;

use ipnet::IpNet;
use memchr::memmem;
use regex::Regex;

use crate::event::FieldValue;
use crate::modifiers::time::TimePart;
use crate::modifiers::wildcard::{Part, Pattern};

/// `a*b*c`: anchored first and last pieces, the middle ones in order.
#[derive(Debug, Clone)]
pub struct Glob {
    first: Box<str>,
    middle: Vec<memmem::Finder<'static>>,
    last: Box<str>,
}

/// A string test, compiled from a wildcard pattern (already lower-cased unless cased).
#[derive(Debug, Clone)]
pub enum StrMatch {
    Exact(Box<str>),
    Prefix(Box<str>),
    Suffix(Box<str>),
    Contains(Box<memmem::Finder<'static>>),
    /// `a*b*c`: anchored first and last pieces, the middle ones in order.
    Glob(Box<Glob>),
    /// Patterns with `?`.
    Regex(Box<Regex>),
    /// A lone `*`: any value that is not null.
    Any,
}

impl StrMatch {
    pub fn from_pattern(p: &Pattern) -> Result<StrMatch, regex::Error> {
        use Part::{AnyMany, AnyOne, Lit};
        if p.0.contains(&AnyOne) {
            return regex::RegexBuilder::new(&p.to_regex())
                .size_limit(1 << 22)
                .build()
                .map(|r| StrMatch::Regex(Box::new(r)));
        }
        Ok(match p.0.as_slice() {
            [] => StrMatch::Exact("".into()),
            [Lit(s)] => StrMatch::Exact(s.as_str().into()),
            [AnyMany] => StrMatch::Any,
            [Lit(s), AnyMany] => StrMatch::Prefix(s.as_str().into()),
            [AnyMany, Lit(s)] => StrMatch::Suffix(s.as_str().into()),
            [AnyMany, Lit(s), AnyMany] => {
                StrMatch::Contains(Box::new(memmem::Finder::new(s.as_bytes()).into_owned()))
            }
            parts => {
                let mut pieces: Vec<&str> = Vec::new();
                let mut cur = None;
                for part in parts {
                    match part {
                        Lit(s) => cur = Some(s.as_str()),
                        _ => pieces.push(cur.take().unwrap_or("")),
                    }
                }
                pieces.push(cur.unwrap_or(""));
                let last = pieces.pop().unwrap_or("");
                let first = if pieces.is_empty() {
                    ""
                } else {
                    pieces.remove(0)
                };
                StrMatch::Glob(Box::new(Glob {
                    first: first.into(),
                    middle: pieces
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .map(|s| memmem::Finder::new(s.as_bytes()).into_owned())
                        .collect(),
                    last: last.into(),
                }))
            }
        })
    }

    pub fn is_match(&self, s: &str) -> bool {
        match self {
            StrMatch::Exact(e) => s == &**e,
            StrMatch::Prefix(p) => s.starts_with(&**p),
            StrMatch::Suffix(p) => s.ends_with(&**p),
            StrMatch::Contains(f) => f.find(s.as_bytes()).is_some(),
            StrMatch::Glob(g) => {
                let Glob {
                    first,
                    middle,
                    last,
                } = &**g;
                if s.len() < first.len() + last.len()
                    || !s.starts_with(&**first)
                    || !s.ends_with(&**last)
                {
                    return false;
                }
                let mut rest = &s.as_bytes()[first.len()..s.len() - last.len()];
                for f in middle {
                    match f.find(rest) {
                        Some(i) => rest = &rest[i + f.needle().len()..],
                        None => return false,
                    }
                }
                true
            }
            StrMatch::Regex(r) => r.is_match(s),
            StrMatch::Any => true,
        }
    }
}

/// Numeric comparison of a field against a rule value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumOp {
    Eq,
    Lt,
    Lte,
    Gt,
    Gte,
}

impl NumOp {
    pub fn holds(self, field: f64, value: f64) -> bool {
        match self {
            NumOp::Eq => field == value,
            NumOp::Lt => field < value,
            NumOp::Lte => field <= value,
            NumOp::Gt => field > value,
            NumOp::Gte => field >= value,
        }
    }
}

/// How a `fieldref` compares the two fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefMode {
    Equal,
    Prefix,
    Suffix,
    Contains,
}

/// One test of a leaf.
#[derive(Debug, Clone)]
pub enum Test {
    /// String test on the lower-case value, or the raw one when `cased`.
    Str {
        m: StrMatch,
        cased: bool,
    },
    /// `re`: on the raw value.
    Regex(Box<Regex>),
    Num {
        op: NumOp,
        value: f64,
    },
    Cidr(IpNet),
    Time {
        part: TimePart,
        op: NumOp,
        value: f64,
    },
    /// `''`: an empty or null value.
    Empty,
    /// `null`: no value at all, or only null ones (checked at the leaf, not per value).
    Null,
    /// `exists: true|false` (checked at the leaf).
    Exists(bool),
    /// `fieldref`: compared with another field's values (checked at the leaf).
    FieldRef {
        other: Box<[crate::event::FieldId]>,
        mode: RefMode,
        cased: bool,
    },
}

impl Test {
    /// Whether one field value passes the test (for the per-value tests).
    pub fn value_matches(&self, v: &FieldValue<'_>) -> bool {
        match self {
            Test::Str { m, cased } => {
                if v.is_null() {
                    return false;
                }
                m.is_match(if *cased { v.raw } else { v.lower })
            }
            Test::Regex(r) => !v.is_null() && r.is_match(v.raw),
            Test::Num { op, value } => v.number().is_some_and(|n| op.holds(n, *value)),
            Test::Cidr(net) => {
                let t = v.raw.trim().trim_start_matches('[').trim_end_matches(']');
                t.parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip))
            }
            Test::Time { part, op, value } => {
                !v.is_null() && part.extract(v.raw).is_some_and(|n| op.holds(n, *value))
            }
            Test::Empty => v.is_null() || v.raw.is_empty(),
            Test::Null | Test::Exists(_) | Test::FieldRef { .. } => false,
        }
    }

    /// Literals (lower-case) one of which every matching value contains, for the
    /// prefilter; `None` when the test implies none.
    pub fn required_literals(&self) -> Option<Vec<String>> {
        let lit = match self {
            Test::Str { m, .. } => match m {
                StrMatch::Exact(s) | StrMatch::Prefix(s) | StrMatch::Suffix(s) => s.to_string(),
                StrMatch::Contains(f) => String::from_utf8_lossy(f.needle()).into_owned(),
                StrMatch::Glob(g) => {
                    let Glob {
                        first,
                        middle,
                        last,
                    } = &**g;
                    let mut best = if first.len() >= last.len() {
                        first.to_string()
                    } else {
                        last.to_string()
                    };
                    for f in middle {
                        if f.needle().len() > best.len() {
                            best = String::from_utf8_lossy(f.needle()).into_owned();
                        }
                    }
                    best
                }
                StrMatch::Regex(r) => return regex_literals(r.as_str()),
                StrMatch::Any => return None,
            },
            Test::Regex(r) => return regex_literals(r.as_str()),
            _ => return None,
        };
        let lit = lit.to_lowercase();
        (!lit.is_empty() && !lit.contains('\n')).then(|| vec![lit])
    }
}

/// Most literals taken from one regular expression.
const MAX_REGEX_LITERALS: usize = 64;

/// Literals one of which starts every match of `pattern` (lower-cased), when the set is
/// small and none is empty.
fn regex_literals(pattern: &str) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::Extractor;
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let mut ex = Extractor::new();
    ex.limit_total(256);
    let seq = ex.extract(&hir);
    let lits = seq.literals()?;
    // Case-insensitive patterns come back in every case variant: lower-case first.
    let mut out = Vec::with_capacity(lits.len());
    for l in lits {
        let text = std::str::from_utf8(l.as_bytes()).ok()?.to_lowercase();
        if text.is_empty() || text.contains('\n') {
            return None;
        }
        out.push(text);
    }
    out.sort_unstable();
    out.dedup();
    (!out.is_empty() && out.len() <= MAX_REGEX_LITERALS).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str) -> StrMatch {
        StrMatch::from_pattern(&Pattern::parse(p)).unwrap_or(StrMatch::Any)
    }

    #[test]
    fn shapes() {
        assert!(matches!(m("abc"), StrMatch::Exact(_)));
        assert!(matches!(m("abc*"), StrMatch::Prefix(_)));
        assert!(matches!(m("*abc"), StrMatch::Suffix(_)));
        assert!(matches!(m("*abc*"), StrMatch::Contains(_)));
        assert!(matches!(m("a*b*c"), StrMatch::Glob(_)));
        assert!(matches!(m("a?c"), StrMatch::Regex(_)));
    }

    #[test]
    fn regex_literals_are_necessary_prefixes() {
        // Case variants collapse to lower case; long ones may be cut to a shorter prefix.
        let lits = regex_literals("(?i)invoke-(expression|webrequest)").unwrap_or_default();
        assert!(!lits.is_empty());
        assert!(
            lits.iter().all(|l| l.len() >= 3
                && ("invoke-expression".starts_with(l.as_str())
                    || "invoke-webrequest".starts_with(l.as_str()))),
            "{lits:?}"
        );
        assert_eq!(regex_literals("^abc"), Some(vec!["abc".to_owned()]));
        // Can start with anything, or can be empty: nothing to require.
        assert_eq!(regex_literals(".*x"), None);
        assert_eq!(regex_literals("a?"), None);
        let lits = regex_literals("\\\\(cmd|powershell)\\.exe").unwrap_or_default();
        assert!(lits.iter().all(|l| l.starts_with('\\')), "{lits:?}");
    }

    #[test]
    fn globs() {
        assert!(m("a*b*c").is_match("axxbyyc"));
        assert!(m("a*b*c").is_match("abc"));
        assert!(!m("a*b*c").is_match("acb"));
        assert!(!m("ab*ba").is_match("aba"));
        assert!(m("*x*y*").is_match("..x..y.."));
        assert!(!m("*x*y*").is_match("..y..x.."));
        assert!(m("a?c").is_match("abc"));
        assert!(m("a?c").is_match("aéc"));
        assert!(!m("a?c").is_match("abbc"));
        assert!(m("*").is_match(""));
    }
}
