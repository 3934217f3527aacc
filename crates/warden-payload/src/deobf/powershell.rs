//! PowerShell decoders: `-EncodedCommand` (every prefix and spelling), base64 loaders
//! (`FromBase64String` with `Text.Encoding` and `IO.Compression` streams), invocations of
//! constant string expressions (`iex`, `Invoke-Expression`, `&`, `.`, script blocks, pipes to
//! `iex`, variables assigned a constant), constant folding of parenthesised expressions, and
//! backtick escapes.

use std::sync::LazyLock;

use regex::Regex;

use super::codec;
use super::psexpr::{self, Value};
use super::text::{Syntax, closing_paren, ps_literal, splice, statements};
use super::{Context, Step};

/// Most places one pass tries to evaluate (each attempt is linear in what it reads).
const MAX_SITES: usize = 4096;

static ENCODED: LazyLock<Regex> = LazyLock::new(|| {
    // PowerShell accepts any unambiguous prefix of -EncodedCommand, plus the `-ec` alias,
    // with `-`, `/` or a typographic dash.
    crate::re::fixed(
        r#"(?i)(?:^|[\s"'])(?:-|/|–|—)(?:ec|e(?:n(?:c(?:o(?:d(?:e(?:d(?:c(?:o(?:m(?:m(?:a(?:n(?:d)?)?)?)?)?)?)?)?)?)?)?)?)?)[\s:]+["']?([A-Za-z0-9+/=]{8,})"#,
    )
});

static LAUNCHER: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(r#"(?i)(?:[a-z]:)?[\\/\w.-]*?\b(?:powershell|pwsh)(?:\.exe)?["']?"#)
});

/// `powershell -enc <base64 of UTF-16LE>`: the launch replaced by the script it carries.
pub fn encoded_command(text: &str, ctx: &Context) -> Step {
    let Some(caps) = ENCODED.captures(text) else {
        return Step::Nothing;
    };
    let (Some(flag), Some(payload)) = (caps.get(0), caps.get(1)) else {
        return Step::Nothing;
    };
    let Some(bytes) = codec::base64(payload.as_str()) else {
        return if ctx.powershell {
            Step::Failed("the encoded command is not valid base64".into())
        } else {
            Step::Nothing
        };
    };
    let script = if codec::looks_utf16le(&bytes) {
        codec::utf16le(&bytes)
    } else {
        None
    };
    let Some(script) = script.filter(|s| codec::printable(s)) else {
        return if ctx.powershell {
            Step::Failed("the encoded command is not UTF-16LE text".into())
        } else {
            Step::Nothing
        };
    };
    // Replace from the launcher that precedes the flag (same statement) to the payload's end.
    let head = &text[..flag.start()];
    let stmt_start = head.rfind(['\n', ';', '&', '|']).map_or(0, |i| i + 1);
    let start = LAUNCHER
        .find_iter(&text[stmt_start..flag.start()])
        .last()
        .map_or(flag.start(), |m| stmt_start + m.start());
    let end = payload.end();
    let mut start = start + leading_space(&text[start..end]);
    // A quoted launcher path (`"C:\…\pwsh.exe" -enc …`) loses both its quotes.
    let launcher_quoted = text
        .get(start..flag.start())
        .is_some_and(|l| l.trim_end().ends_with(['"', '\'']))
        && text[..start].ends_with(['"', '\'']);
    if launcher_quoted {
        start -= 1;
    }
    Step::Decoded(splice(
        text,
        start..end,
        script.trim_start_matches('\u{feff}'),
    ))
}

fn leading_space(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

static BASE64_CALL: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r#"(?i)(\[(?:system\.)?text\.encoding\]::\w+\.getstring\(\s*)?\[(?:system\.)?convert\]::frombase64string\(\s*['"]([A-Za-z0-9+/=\s]+)['"]\s*\)(\s*\))?"#,
    )
});

static INVOKES: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(r"(?i)\biex\b|invoke-expression|\[scriptblock\]::create|\|\s*&|^\s*&")
});

/// `[Convert]::FromBase64String('…')`, decoded (and inflated when a compression stream reads
/// it). A statement that runs the result is replaced by the script; elsewhere the call becomes
/// a string literal.
pub fn base64_loader(text: &str, ctx: &Context) -> Step {
    if !ctx.powershell && !text.to_ascii_lowercase().contains("frombase64string") {
        return Step::Nothing;
    }
    let Some(caps) = BASE64_CALL.captures(text) else {
        return Step::Nothing;
    };
    let (Some(call), Some(payload)) = (caps.get(0), caps.get(2)) else {
        return Step::Nothing;
    };
    let Some(mut bytes) = codec::base64(payload.as_str()) else {
        return Step::Failed("FromBase64String of text that is not base64".into());
    };
    let lower = text.to_ascii_lowercase();
    let compressed = lower.contains("gzipstream") || lower.contains("deflatestream");
    if compressed {
        match codec::inflate(&bytes) {
            Some(plain) => bytes = plain,
            None => return Step::Failed("a compressed stream that does not inflate".into()),
        }
    }
    let Some(script) = codec::as_text(&bytes) else {
        let kind = binary_kind(&bytes);
        return Step::Failed(format!("a binary payload ({} bytes, {kind})", bytes.len()));
    };
    let spans = statements(text, &[";"], Syntax::Powershell);
    let Some(&(s, e)) = spans
        .iter()
        .find(|&&(s, e)| s <= call.start() && call.end() <= e)
    else {
        return Step::Nothing;
    };
    let statement = &text[s..e];
    if INVOKES.is_match(statement) && !statement.trim_start().starts_with('$') {
        let lead = leading_space(statement);
        return Step::Decoded(splice(text, s + lead..e, script.trim_end()));
    }
    // Not run here: the call (and a GetString around it) becomes a literal.
    let mut range = call.range();
    if caps.get(1).is_some() != caps.get(3).is_some() {
        // An unbalanced match took one parenthesis too many or too few: only the inner call.
        let inner = text[range.clone()]
            .to_ascii_lowercase()
            .find("[convert]::")
            .or_else(|| {
                text[range.clone()]
                    .to_ascii_lowercase()
                    .find("[system.convert]::")
            })
            .unwrap_or(0);
        range.start += inner;
        range.end = closing_paren(
            text,
            text[range.start..]
                .find('(')
                .map_or(range.start, |i| range.start + i),
        )
        .unwrap_or(range.end);
    }
    Step::Decoded(splice(text, range, &ps_literal(&script)))
}

fn binary_kind(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"MZ") {
        "a Windows executable"
    } else if bytes.starts_with(b"\x7fELF") {
        "an ELF executable"
    } else if bytes.starts_with(b"PK") {
        "a zip archive"
    } else {
        "not text"
    }
}

static INVOKE_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r"(?i)(?:\b(?:iex|invoke-expression)\b(?:[ \t]+-c(?:o|om|omm|omma|omman|ommand)?\b)?|(?:^|[\s;(|{])[&.])[ \t]*",
    )
});
static SCRIPTBLOCK: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r"(?i)(?:[&.]|\bicm\b|\binvoke-command\b(?:\s+-scriptblock)?)\s*\(\s*\[scriptblock\]::create\(",
    )
});
static PIPE_TO_IEX: LazyLock<Regex> =
    LazyLock::new(|| crate::re::fixed(r"(?i)\|\s*(?:iex|invoke-expression)\b"));
static ASSIGN: LazyLock<Regex> =
    LazyLock::new(|| crate::re::fixed(r"(?im)^[ \t]*\$(\w+)[ \t]*=[ \t]*"));
/// A variable run as code: `iex $x`, `iex ($x)`, `$x | iex`. The variable is the first or
/// the second group.
static VARIABLE_INVOKED: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r"(?i)\b(?:iex|invoke-expression)[ \t]+(?:\(\s*)?\$(\w+)\b(?:\s*\))?|\$(\w+)\b[ \t]*\|[ \t]*(?:iex|invoke-expression)\b",
    )
});
/// Most places tried when looking for where a variable is run.
const MAX_INVOKE_SITES: usize = 64;

/// A statement ends here: nothing but spaces before the end, a separator or a closing bracket.
fn at_statement_end(text: &str, pos: usize) -> bool {
    let rest = text[pos..].trim_start_matches([' ', '\t']);
    rest.is_empty() || rest.starts_with([';', '\n', '\r', '|', ')', '}'])
}

/// Runs of constant strings: `iex (…)`, `& (…)`, `.(…)`, script blocks created from a
/// constant, `'…' | iex`, and `iex $v` where `$v` was assigned a constant.
pub fn invoke(text: &str, ctx: &Context) -> Step {
    if !ctx.powershell {
        return Step::Nothing;
    }
    if let Some(out) = scriptblock(text) {
        return Step::Decoded(out);
    }
    for m in INVOKE_PREFIX.find_iter(text).take(MAX_SITES) {
        let is_call_op = !m
            .as_str()
            .trim_start()
            .to_ascii_lowercase()
            .starts_with('i');
        let next = text[m.end()..].chars().next();
        if is_call_op && !matches!(next, Some('(' | '\'' | '"')) {
            continue;
        }
        let Some(e) = psexpr::eval_at(text, m.end()) else {
            continue;
        };
        if !at_statement_end(text, e.end) || matches!(e.value, Value::Int(_)) {
            continue;
        }
        if is_call_op && !e.operated && !matches!(next, Some('(')) {
            continue;
        }
        let start = m.start() + m.as_str().len()
            - m.as_str()
                .trim_start_matches([' ', '\t', ';', '(', '|', '{'])
                .len();
        return Step::Decoded(splice(text, start..e.end, e.value.to_text().trim()));
    }
    if let Some(out) = piped_to_iex(text) {
        return Step::Decoded(out);
    }
    match invoked_variable(text) {
        Some(out) => Step::Decoded(out),
        None => Step::Nothing,
    }
}

fn scriptblock(text: &str) -> Option<String> {
    for m in SCRIPTBLOCK.find_iter(text).take(MAX_SITES) {
        let Some(e) = psexpr::eval_at(text, m.end()) else {
            continue;
        };
        let rest = &text[e.end..];
        let close = rest.find(')')?;
        let after = &rest[close + 1..];
        let Some(close2) = after.find(')') else {
            continue;
        };
        let between = after[..close2].trim();
        if !rest[..close].trim().is_empty() || !between.is_empty() {
            continue;
        }
        let end = e.end + close + 1 + close2 + 1;
        return Some(splice(text, m.start()..end, e.value.to_text().trim()));
    }
    None
}

fn piped_to_iex(text: &str) -> Option<String> {
    for m in PIPE_TO_IEX.find_iter(text).take(MAX_SITES) {
        // The piped expression starts at a line or statement start; a multi-line string
        // holds separators of its own, so try each start, nearest first.
        let head = &text[..m.start()];
        let starts = head
            .char_indices()
            .filter(|&(_, c)| c == '\n' || c == ';')
            .map(|(i, _)| i + 1)
            .rev()
            .chain(std::iter::once(0))
            .take(256);
        for start in starts {
            let start = start + leading_space(&text[start..m.start()]);
            let Some(e) = psexpr::eval_at(text, start) else {
                continue;
            };
            if e.end <= m.start()
                && text[e.end..m.start()].trim().is_empty()
                && !matches!(e.value, Value::Int(_))
            {
                return Some(splice(text, start..m.end(), e.value.to_text().trim()));
            }
        }
    }
    None
}

fn invoked_variable(text: &str) -> Option<String> {
    for caps in ASSIGN.captures_iter(text).take(64) {
        let (name, at) = (caps.get(1)?.as_str(), caps.get(0)?.end());
        let Some(e) = psexpr::eval_at(text, at) else {
            continue;
        };
        if !at_statement_end(text, e.end) {
            continue;
        }
        if let Some(site) = where_invoked(text, name, e.end) {
            return Some(splice(text, site, e.value.to_text().trim()));
        }
    }
    None
}

/// The first place from `from` where variable `name` is run as code. Every start is tried
/// (not only where the last match ended): `$a | iex $b` runs both.
fn where_invoked(text: &str, name: &str, from: usize) -> Option<std::ops::Range<usize>> {
    let mut at = from;
    for _ in 0..MAX_INVOKE_SITES {
        let caps = VARIABLE_INVOKED.captures_at(text, at)?;
        let whole = caps.get(0)?;
        let var = caps.get(1).or_else(|| caps.get(2))?.as_str();
        if var.to_lowercase() == name.to_lowercase() {
            return Some(whole.range());
        }
        at = whole.start() + text[whole.start()..].chars().next()?.len_utf8();
    }
    None
}

/// Constant parenthesised expressions that apply an operator, replaced by their literal. A
/// parenthesis right after a name opens a call's arguments, not an expression:
/// `$ip.LastIndexOf('.') + 1` is a number plus one, not the string `'.1'`.
pub fn fold(text: &str, ctx: &Context) -> Step {
    if !ctx.powershell {
        return Step::Nothing;
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut changed = false;
    let mut sites = 0;
    let mut i = 0;
    while let Some(off) = text[i..].find('(') {
        let open = i + off;
        sites += 1;
        if sites > MAX_SITES {
            break;
        }
        let call = text[..open]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if call {
            i = open + 1;
            continue;
        }
        match psexpr::eval_at(text, open) {
            Some(e) if e.operated && matches!(e.value, Value::Str(_) | Value::Char(_)) => {
                out.push_str(&text[copied..open]);
                out.push_str(&ps_literal(&e.value.to_text()));
                copied = e.end;
                i = e.end;
                changed = true;
            }
            _ => i = open + 1,
        }
    }
    if !changed {
        return Step::Nothing;
    }
    out.push_str(&text[copied..]);
    Step::Decoded(out)
}

/// Backticks that only quote an ordinary character (`` I`nv`oke ``): removed. Inside double
/// quotes a backtick before an escape letter means the escape and stays; single-quoted text is
/// literal. Comments and literal here-strings are copied as they are: an apostrophe in one
/// (`# create it if it doesn't exist`) opens no quote.
pub fn backticks(text: &str, ctx: &Context) -> Step {
    if !ctx.powershell || !text.contains('`') {
        return Step::Nothing;
    }
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    let mut changed = false;
    while let Some(c) = chars.next() {
        let (next, prev) = (chars.peek().copied(), out.chars().next_back());
        // A here-string's opening quote ends its line.
        let opens_line = c == '@' && matches!(chars.clone().nth(1), Some('\n' | '\r'));
        if quote.is_none() && verbatim_starts(c, next, prev, opens_line) {
            copy_verbatim(c, &mut chars, &mut out);
            continue;
        }
        if let (Some(n), Some(q)) = (next, here_string_edge(quote, c, next, prev, opens_line)) {
            out.push(c);
            out.push(n);
            chars.next();
            quote = q;
            continue;
        }
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (Some('\''), _) => {}
            (_, '`') => {
                let Some(&n) = chars.peek() else {
                    out.push(c);
                    continue;
                };
                let escape_letter = "0abefnrtuv".contains(n);
                let keeps = n == '\n'
                    || n == '\r'
                    || !n.is_alphanumeric()
                    || (quote.is_some() && escape_letter);
                if !keeps {
                    changed = true;
                    continue;
                }
                out.push(c);
                out.push(n);
                chars.next();
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    if changed {
        Step::Decoded(out)
    } else {
        Step::Nothing
    }
}

/// The quote state inside an expandable here-string (`@"` … `"@`).
const HERE_STRING: char = '@';

/// Where `c` and `next` open an expandable here-string (outside quotes, `@"` ending its
/// line: `opens_line`) or close one (`"@` at the start of a line), the quote state after
/// them. Inside, quotes close nothing and backticks read as in double quotes.
fn here_string_edge(
    quote: Option<char>,
    c: char,
    next: Option<char>,
    prev: Option<char>,
    opens_line: bool,
) -> Option<Option<char>> {
    match (quote, c, next) {
        (None, '@', Some('"')) if opens_line => Some(Some(HERE_STRING)),
        (Some(HERE_STRING), '"', Some('@')) if prev == Some('\n') => Some(None),
        _ => None,
    }
}

/// Whether `c`, outside quotes, after `prev`, starts text copied as it is: `#` at the start
/// of a token a comment to the end of the line (`a#b` is a word), `<#` one to `#>`, `@'` a
/// literal here-string to its closing `'@` (quotes inside it close nothing).
fn verbatim_starts(c: char, next: Option<char>, prev: Option<char>, opens_line: bool) -> bool {
    match c {
        '#' => prev.is_none_or(|p| p.is_whitespace() || p == ';'),
        '<' => next == Some('#'),
        '@' => next == Some('\'') && opens_line,
        _ => false,
    }
}

/// Copies what `c` starts (see [`verbatim_starts`]): a line comment up to its line break,
/// a block comment through its `#>`, a literal here-string through its `'@` (or to the end
/// of the text).
fn copy_verbatim(c: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    let start = out.len();
    out.push(c);
    let end = match c {
        '<' => Some("#>"),
        '@' => {
            out.extend(chars.next());
            Some("\n'@")
        }
        _ => None,
    };
    while let Some(&n) = chars.peek() {
        if end.is_none() && n == '\n' {
            return;
        }
        out.push(n);
        chars.next();
        // The end is looked for after the two characters that opened it (`<#>` is open).
        if end.is_some_and(|e| out.len() - start >= 2 + e.len() && out.ends_with(e)) {
            return;
        }
    }
}
