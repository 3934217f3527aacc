//! The condition language: `and`, `or`, `not`, parentheses, `1 of pattern*`, `all of
//! pattern*`, `1 of them`, `all of them`. Precedence from loosest: or, and, not, `x of`,
//! parentheses. Legacy aggregations (`| count() ...`) are refused: correlation rules replace
//! them.

use crate::error::ErrorKind;

/// Deepest nesting of parentheses and `not` accepted.
pub const MAX_DEPTH: usize = 128;
/// Longest condition accepted.
pub const MAX_LEN: usize = 16 * 1024;

/// How many of the selected searches must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    AtLeast(usize),
    All,
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Search(String),
    /// `pattern` is `None` for `them`; otherwise a name with `*` wildcards.
    Of {
        quantifier: Quantifier,
        pattern: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    And,
    Or,
    Not,
    Of,
    Them,
    All,
    Open,
    Close,
    Pipe,
    Word(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, ErrorKind> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '|' => {
                chars.next();
                out.push(Tok::Pipe);
            }
            _ => {
                let mut end = i;
                while let Some(&(j, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '|') {
                        break;
                    }
                    end = j + c.len_utf8();
                    chars.next();
                }
                let word = &s[i..end];
                out.push(match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "them" => Tok::Them,
                    "all" => Tok::All,
                    w => Tok::Word(w.to_owned()),
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn descend(&mut self) -> Result<(), ErrorKind> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ErrorKind::Limit(format!(
                "condition nested deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Cond, ErrorKind> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.next();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Cond::Or(items)
        })
    }

    fn and(&mut self) -> Result<Cond, ErrorKind> {
        let mut items = vec![self.not()?];
        while self.peek() == Some(&Tok::And) {
            self.next();
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.swap_remove(0)
        } else {
            Cond::And(items)
        })
    }

    fn not(&mut self) -> Result<Cond, ErrorKind> {
        if self.peek() == Some(&Tok::Not) {
            self.next();
            self.descend()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, ErrorKind> {
        match self.next() {
            Some(Tok::Open) => {
                self.descend()?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(Tok::Close) => Ok(inner),
                    _ => Err(ErrorKind::Condition("missing ')'".into())),
                }
            }
            Some(Tok::All) => self.of(Quantifier::All),
            Some(Tok::Word(w)) => {
                if self.peek() == Some(&Tok::Of) {
                    let n: usize = w.parse().map_err(|_| {
                        ErrorKind::Condition(format!(
                            "'{w} of' is not valid: use '1 of' or 'all of'"
                        ))
                    })?;
                    if n == 0 {
                        return Err(ErrorKind::Condition("'0 of' is not valid".into()));
                    }
                    return self.of(Quantifier::AtLeast(n));
                }
                Ok(Cond::Search(w))
            }
            Some(Tok::Pipe) => Err(ErrorKind::Unsupported(
                "legacy aggregation in the condition ('| count() ...'); write a correlation rule"
                    .into(),
            )),
            Some(t) => Err(ErrorKind::Condition(format!("unexpected {}", describe(&t)))),
            None => Err(ErrorKind::Condition("unexpected end".into())),
        }
    }

    fn of(&mut self, quantifier: Quantifier) -> Result<Cond, ErrorKind> {
        if self.next() != Some(Tok::Of) {
            return Err(ErrorKind::Condition("expected 'of'".into()));
        }
        match self.next() {
            Some(Tok::Them) => Ok(Cond::Of {
                quantifier,
                pattern: None,
            }),
            Some(Tok::Word(w)) => Ok(Cond::Of {
                quantifier,
                pattern: Some(w),
            }),
            _ => Err(ErrorKind::Condition(
                "expected a search name pattern or 'them' after 'of'".into(),
            )),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::And => "'and'".into(),
        Tok::Or => "'or'".into(),
        Tok::Not => "'not'".into(),
        Tok::Of => "'of'".into(),
        Tok::Them => "'them'".into(),
        Tok::All => "'all'".into(),
        Tok::Open => "'('".into(),
        Tok::Close => "')'".into(),
        Tok::Pipe => "'|'".into(),
        Tok::Word(w) => format!("'{w}'"),
    }
}

/// Parses one condition string.
pub fn parse(s: &str) -> Result<Cond, ErrorKind> {
    let mut depth = 0usize;
    for b in s.bytes() {
        match b {
            b'(' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ErrorKind::Limit(format!(
                        "condition nested deeper than {MAX_DEPTH} levels"
                    )));
                }
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if s.len() > MAX_LEN {
        return Err(ErrorKind::Limit(format!(
            "condition longer than {MAX_LEN} bytes"
        )));
    }
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(ErrorKind::Condition("empty".into()));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let cond = p.or()?;
    match p.next() {
        None => Ok(cond),
        Some(Tok::Pipe) => Err(ErrorKind::Unsupported(
            "legacy aggregation in the condition ('| count() ...'); write a correlation rule"
                .into(),
        )),
        Some(t) => Err(ErrorKind::Condition(format!(
            "unexpected {} after a complete expression",
            describe(&t)
        ))),
    }
}

/// Whether a search name matches an `x of` pattern (`*` matches any run of characters).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: &str) -> Cond {
        Cond::Search(n.into())
    }

    #[test]
    fn precedence() {
        assert_eq!(
            parse("a or b and not c"),
            Ok(Cond::Or(vec![
                s("a"),
                Cond::And(vec![s("b"), Cond::Not(Box::new(s("c")))])
            ]))
        );
        assert_eq!(
            parse("(a or b) and c"),
            Ok(Cond::And(vec![Cond::Or(vec![s("a"), s("b")]), s("c")]))
        );
        assert_eq!(
            parse("1 of sel* and not all of filter_*"),
            Ok(Cond::And(vec![
                Cond::Of {
                    quantifier: Quantifier::AtLeast(1),
                    pattern: Some("sel*".into())
                },
                Cond::Not(Box::new(Cond::Of {
                    quantifier: Quantifier::All,
                    pattern: Some("filter_*".into())
                }))
            ]))
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(parse("a and"), Err(ErrorKind::Condition(_))));
        assert!(matches!(parse("(a"), Err(ErrorKind::Condition(_))));
        assert!(matches!(parse("a b"), Err(ErrorKind::Condition(_))));
        assert!(matches!(parse("any of x"), Err(ErrorKind::Condition(_))));
        assert!(matches!(
            parse("sel | count() > 5"),
            Err(ErrorKind::Unsupported(_))
        ));
        let deep = format!("{}a{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(matches!(parse(&deep), Err(ErrorKind::Limit(_))));
        let nots = format!("{}a", "not ".repeat(10_000));
        assert!(matches!(parse(&nots), Err(ErrorKind::Limit(_))));
    }

    #[test]
    fn name_patterns() {
        assert!(name_matches("sel*", "selection_1"));
        assert!(name_matches("*_img", "sel_img"));
        assert!(!name_matches("sel*", "filter"));
        assert!(name_matches("a*b*c", "axxbyyc"));
    }
}
