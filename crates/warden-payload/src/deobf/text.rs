//! Text helpers the decoders share: statement spans that respect quotes, quoting a decoded
//! string back into a shell word, and finding a matching parenthesis.

/// Quoting rules of a shell, for splitting its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `'…'` literal, `"…"` with `\` escapes, `\` escapes outside quotes.
    Sh,
    /// Only `"…"` quotes; `^` escapes outside them.
    Cmd,
    /// `'…'` and `"…"`; a backtick escapes outside single quotes.
    Powershell,
}

impl Syntax {
    fn quotes(self, b: u8) -> bool {
        b == b'"' || (b == b'\'' && self != Syntax::Cmd)
    }

    fn escape(self) -> u8 {
        match self {
            Syntax::Sh => b'\\',
            Syntax::Cmd => b'^',
            Syntax::Powershell => b'`',
        }
    }
}

/// Byte spans of the statements of `text`, split at newlines and at the given separators
/// outside quotes and brackets. Each span is `(start, end)`; separators are outside spans.
pub fn statements(text: &str, separators: &[&str], syntax: Syntax) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    let escape = syntax.escape();
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(b'"') if b == escape && syntax != Syntax::Cmd => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                _ if b == escape => i += 1,
                _ if syntax.quotes(b) => quote = Some(b),
                b'(' if syntax == Syntax::Cmd => depth += i32::from(cmd_block(&text[start..i])),
                b')' if syntax == Syntax::Cmd => depth -= i32::from(depth > 0),
                b'{' | b'}' if syntax == Syntax::Cmd => {}
                b'(' | b'{' => depth += 1,
                b')' | b'}' => depth -= 1,
                b'\n' if depth <= 0 => {
                    out.push((start, i));
                    start = i + 1;
                }
                _ if depth <= 0 => {
                    if let Some(sep) = separators
                        .iter()
                        .find(|s| bytes[i..].starts_with(s.as_bytes()))
                    {
                        out.push((start, i));
                        i += sep.len();
                        start = i;
                        continue;
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push((start, bytes.len()));
    out
}

/// Whether a `(` after `head` (the statement so far) opens a cmd block. cmd reads a bracket as
/// a block only where a command may start (`(…)` alone, after `if`'s condition, `do`, `else`);
/// elsewhere, as in `set v=x(`, it is a plain character and `&&` after it still separates.
fn cmd_block(head: &str) -> bool {
    let head = head.trim_start().trim_start_matches('@');
    let first = head.split_ascii_whitespace().next().unwrap_or("");
    let last = head.split_ascii_whitespace().next_back().unwrap_or("");
    head.trim().is_empty()
        || ["if", "for"].iter().any(|k| first.eq_ignore_ascii_case(k))
        || ["do", "else"].iter().any(|k| last.eq_ignore_ascii_case(k))
}

/// A decoded string as one POSIX shell word: bare when it needs no quoting, else single-quoted.
pub fn sh_word(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A decoded string as a PowerShell single-quoted literal.
pub fn ps_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Index just after the `)` that closes the `(` at `open`, honouring quotes.
pub fn closing_paren(text: &str, open: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' => depth += 1,
                b')' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// Replaces `range` of `text` with `with`.
pub fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    let mut out = String::with_capacity(text.len() + with.len());
    out.push_str(&text[..range.start]);
    out.push_str(with);
    out.push_str(&text[range.end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_respect_quotes_and_brackets() {
        let t = "a 'x;y'; b (c; d)\ne";
        let spans: Vec<&str> = statements(t, &[";"], Syntax::Sh)
            .iter()
            .map(|&(s, e)| &t[s..e])
            .collect();
        assert_eq!(spans, ["a 'x;y'", " b (c; d)", "e"]);
        // cmd has no single quotes; sh escapes a quote outside quotes.
        assert_eq!(
            statements("set a=it's&& echo b", &["&&"], Syntax::Cmd).len(),
            2
        );
        assert_eq!(
            statements("echo ')'\\''(' ; id", &[";"], Syntax::Sh).len(),
            2
        );
    }

    #[test]
    fn cmd_brackets_group_only_where_a_command_starts() {
        let split = |t: &'static str| -> Vec<&'static str> {
            statements(t, &["&&", "&"], Syntax::Cmd)
                .iter()
                .map(|&(s, e)| &t[s..e])
                .collect()
        };
        // A bracket or brace inside a `set` value is a plain character.
        assert_eq!(
            split("set a=x {&& set b=(y&& call %a%%b%}"),
            ["set a=x {", " set b=(y", " call %a%%b%}"]
        );
        // Blocks stay whole: alone, after `if`'s condition, after `do` and `else`.
        assert_eq!(
            split("(echo a & echo b) & echo c"),
            ["(echo a & echo b) ", " echo c"]
        );
        assert_eq!(
            split("if exist x (echo a & echo b) else (echo c & echo d)&& whoami"),
            [
                "if exist x (echo a & echo b) else (echo c & echo d)",
                " whoami"
            ]
        );
        assert_eq!(
            split("for %i in (1 2) do (echo %i & echo x)&& ver"),
            ["for %i in (1 2) do (echo %i & echo x)", " ver"]
        );
    }

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(sh_word("whoami"), "whoami");
        assert_eq!(sh_word("a b"), "'a b'");
        assert_eq!(sh_word("it's"), r"'it'\''s'");
        assert_eq!(ps_literal("it's"), "'it''s'");
    }

    #[test]
    fn closing_paren_skips_quoted_parens() {
        assert_eq!(closing_paren("x(')' (y))z", 1), Some(10));
        assert_eq!(closing_paren("(unclosed", 0), None);
    }
}
