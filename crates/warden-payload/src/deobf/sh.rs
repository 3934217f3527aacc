//! sh/bash decoders: pipelines that decode text and pipe it to a shell (`echo … | base64 -d
//! | sh`, `xxd -r -p`, `rev`, `printf` escapes, `gunzip`, `tr`, here-strings), command
//! substitutions of such pipelines (`eval "$(…)"`, `bash -c "$(…)"`), ANSI-C quoting
//! (`$'\x77…'`) and `eval` of a literal. Each stage is emulated on bytes, bounded in size;
//! a stage it does not know (a download, a variable) leaves the text as it is.

use super::codec::{self, MAX_DECODED};
use super::text::{Syntax, sh_word, splice, statements};
use super::{Context, Step};

const SEPARATORS: &[&str] = &[";", "&&", "||"];
const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "ash", "busybox"];

fn applies(ctx: &Context) -> bool {
    ctx.sh || !(ctx.powershell || ctx.cmd)
}

/// `<producer> | <decoder>… | sh`: the statement replaced by the script it runs.
pub fn decode_pipeline(text: &str, ctx: &Context) -> Step {
    if !applies(ctx) || !text.contains('|') {
        return Step::Nothing;
    }
    for (s, e) in statements(text, SEPARATORS, Syntax::Sh) {
        let stmt = &text[s..e];
        let stages: Vec<&str> = statements(stmt, &["|"], Syntax::Sh)
            .into_iter()
            .map(|(a, b)| &stmt[a..b])
            .collect();
        if stages.len() < 2 {
            continue;
        }
        let Some(last) = words(stages[stages.len() - 1]) else {
            continue;
        };
        if !is_shell_run(&last) {
            continue;
        }
        let Some(output) = run_pipeline(&stages[..stages.len() - 1]) else {
            continue;
        };
        let Some(script) = codec::as_text(&output) else {
            return Step::Failed("the pipeline decodes to binary data".into());
        };
        let lead = stmt.len() - stmt.trim_start().len();
        let trail = stmt.len() - stmt.trim_end().len();
        return Step::Decoded(splice(
            text,
            s + lead..e - trail,
            script.trim_end_matches('\n'),
        ));
    }
    Step::Nothing
}

/// `sh`, `bash -s`, `/bin/sh -` with nothing else: reads its script from the pipe.
fn is_shell_run(w: &[String]) -> bool {
    let Some(first) = w.first() else {
        return false;
    };
    let name = first.rsplit('/').next().unwrap_or(first);
    SHELLS.contains(&name) && w[1..].iter().all(|a| a == "-s" || a == "-" || a == "-i")
}

/// Emulates stages; `None` when one is not a pure decoder.
fn run_pipeline(stages: &[&str]) -> Option<Vec<u8>> {
    let mut data: Option<Vec<u8>> = None;
    for stage in stages {
        let w = words(stage)?;
        data = Some(run_stage(&w, data)?);
        if data.as_ref().is_some_and(|d| d.len() > MAX_DECODED) {
            return None;
        }
    }
    data
}

fn run_stage(w: &[String], input: Option<Vec<u8>>) -> Option<Vec<u8>> {
    let (args, here) = match w.iter().position(|a| a == "<<<") {
        Some(i) => {
            let mut s = w.get(i + 1)?.clone().into_bytes();
            s.push(b'\n');
            (&w[..i], Some(s))
        }
        None => (w, None),
    };
    let input = here.or(input);
    let name = args.first()?.rsplit('/').next()?.to_string();
    let flags: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    match name.as_str() {
        "echo" => Some(echo(&flags)),
        "printf" => printf(&flags),
        "cat" if flags.is_empty() || flags == ["-"] => input,
        "base64" | "b64"
            if flags
                .iter()
                .any(|f| matches!(*f, "-d" | "--decode" | "-D" | "-di" | "-id")) =>
        {
            codec::base64(std::str::from_utf8(&input?).ok()?)
        }
        // BSD and macOS: `b64decode -r` decodes raw base64 (no `begin-base64` header).
        "b64decode" if flags.contains(&"-r") => codec::base64(std::str::from_utf8(&input?).ok()?),
        "openssl"
            if flags.contains(&"-d")
                && (flags.contains(&"base64")
                    || flags.contains(&"-base64")
                    || flags.contains(&"-a")) =>
        {
            codec::base64(std::str::from_utf8(&input?).ok()?)
        }
        "xxd" if flags.contains(&"-r") && flags.iter().any(|f| f.starts_with("-p")) => {
            codec::hex(std::str::from_utf8(&input?).ok()?)
        }
        "xxd"
            if flags
                .iter()
                .any(|f| *f == "-rp" || *f == "-r-p" || *f == "-ps") =>
        {
            codec::hex(std::str::from_utf8(&input?).ok()?)
        }
        "rev" if flags.is_empty() => Some(reverse_lines(&input?)),
        "gunzip" | "zcat" => codec::inflate(&input?),
        "gzip" if flags.iter().any(|f| f.starts_with('-') && f.contains('d')) => {
            codec::inflate(&input?)
        }
        "tr" if flags.len() == 2 => translate(&input?, flags[0], flags[1]),
        _ => None,
    }
}

fn echo(flags: &[&str]) -> Vec<u8> {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 0;
    while let Some(f) = flags.get(i) {
        if f.len() > 1 && f.starts_with('-') && f[1..].chars().all(|c| "neE".contains(c)) {
            newline &= !f.contains('n');
            escapes = f.contains('e');
            i += 1;
        } else {
            break;
        }
    }
    let body = flags[i..].join(" ");
    let mut out = if escapes {
        unescape(&body, false)
    } else {
        body.into_bytes()
    };
    if newline {
        out.push(b'\n');
    }
    out
}

/// `printf FORMAT [ARG…]` with `%s`, `%b`, `%%` and the usual escapes, in one pass (an
/// escaped `%` is a character, not a directive).
fn printf(args: &[&str]) -> Option<Vec<u8>> {
    let (format, rest) = args.split_first()?;
    if format.starts_with('-') {
        return None;
    }
    let mut out = Vec::new();
    let mut arg = rest.iter();
    let f = format.as_bytes();
    let mut i = 0;
    while i < f.len() {
        match f[i] {
            b'%' if i + 1 < f.len() => {
                match f[i + 1] {
                    b'%' => out.push(b'%'),
                    b's' => out.extend_from_slice(arg.next().unwrap_or(&"").as_bytes()),
                    b'b' => out.extend(unescape(arg.next().unwrap_or(&""), true)),
                    _ => return None,
                }
                i += 2;
            }
            b'\\' => {
                // One escape: find where it ends by decoding it alone.
                let end = escape_end(format, i);
                out.extend(unescape(&format[i..end], true));
                i = end;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// Index after the escape sequence that starts at `i` (a backslash): a character boundary
/// of `format`, so an escaped non-ASCII character is taken whole.
fn escape_end(format: &str, i: usize) -> usize {
    let f = format.as_bytes();
    let Some(&c) = f.get(i + 1) else {
        return f.len();
    };
    let digits = |from: usize, max: usize, ok: fn(&u8) -> bool| {
        f[from..].iter().take(max).take_while(|d| ok(d)).count()
    };
    match c {
        b'x' => i + 2 + digits(i + 2, 2, u8::is_ascii_hexdigit),
        b'u' => i + 2 + digits(i + 2, 4, u8::is_ascii_hexdigit),
        b'U' => i + 2 + digits(i + 2, 8, u8::is_ascii_hexdigit),
        b'0'..=b'7' => i + 1 + digits(i + 1, 3, |d| (b'0'..=b'7').contains(d)),
        _ => i + 1 + format[i + 1..].chars().next().map_or(1, char::len_utf8),
    }
}

/// Backslash escapes of `echo -e`, `printf` and `$'…'` — C's, as strace also prints
/// strings: `\xHH`, `\NNN` (octal; with a leading 0 for echo), `\uHHHH`, `\n`, `\t`, `\\`,
/// quotes.
pub fn unescape(s: &str, octal_without_zero: bool) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'e' | b'E' => out.push(0x1b),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'\\' | b'\'' | b'"' | b'?' => out.push(c),
            b'x' => {
                let n = hex_digits(&b[i..], 2);
                if n == 0 {
                    out.extend_from_slice(b"\\x");
                    continue;
                }
                out.push(u8::from_str_radix(&s[i..i + n], 16).unwrap_or(b'?'));
                i += n;
            }
            b'u' | b'U' => {
                let n = hex_digits(&b[i..], if c == b'u' { 4 } else { 8 });
                let ch = u32::from_str_radix(&s[i..i + n], 16)
                    .ok()
                    .and_then(char::from_u32);
                match ch {
                    Some(ch) if n > 0 => {
                        let mut buf = [0; 4];
                        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        i += n;
                    }
                    _ => out.extend_from_slice(&[b'\\', c]),
                }
            }
            b'0'..=b'7' => {
                let start = i - 1;
                let max = if c == b'0' && !octal_without_zero {
                    4
                } else {
                    3
                };
                let n = b[start..]
                    .iter()
                    .take(max)
                    .take_while(|d| (b'0'..=b'7').contains(d))
                    .count();
                let v = u32::from_str_radix(&s[start..start + n], 8).unwrap_or(0);
                out.push((v & 0xff) as u8);
                i = start + n;
            }
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    out
}

fn hex_digits(b: &[u8], max: usize) -> usize {
    b.iter()
        .take(max)
        .take_while(|c| c.is_ascii_hexdigit())
        .count()
}

fn reverse_lines(input: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(input);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        out.extend(body.chars().rev());
        out.push_str(nl);
    }
    out.into_bytes()
}

/// `tr SET1 SET2` with ranges (`a-z`), as a byte map.
fn translate(input: &[u8], from: &str, to: &str) -> Option<Vec<u8>> {
    let (from, to) = (expand_set(from)?, expand_set(to)?);
    if from.is_empty() || to.is_empty() {
        return None;
    }
    let mut map: [u8; 256] = std::array::from_fn(|i| i as u8);
    for (k, &f) in from.iter().enumerate() {
        map[f as usize] = *to.get(k).or(to.last())?;
    }
    Some(input.iter().map(|&b| map[b as usize]).collect())
}

fn expand_set(set: &str) -> Option<Vec<u8>> {
    let b = set.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if i + 2 < b.len() && b[i + 1] == b'-' && b[i] <= b[i + 2] {
            out.extend(b[i]..=b[i + 2]);
            i += 3;
        } else if b[i] == b'[' || b[i] == b'\\' {
            return None;
        } else {
            out.push(b[i]);
            i += 1;
        }
        if out.len() > 256 {
            return None;
        }
    }
    Some(out)
}

/// `$(…)` and `` `…` `` of a pure decoding pipeline, replaced by its output; when the
/// substitution is all that `eval`, `sh -c` or `bash <<<` gets, the statement becomes the script.
pub fn command_substitution(text: &str, ctx: &Context) -> Step {
    if !applies(ctx) || !(text.contains("$(") || text.contains('`')) {
        return Step::Nothing;
    }
    let mut search = 0;
    for _ in 0..256 {
        let Some((start, inner, end)) = next_substitution(text, search) else {
            return Step::Nothing;
        };
        search = start + 1;
        if text[..start].ends_with('\\') {
            continue;
        }
        let stages: Vec<&str> = statements(inner, &["|"], Syntax::Sh)
            .into_iter()
            .map(|(a, b)| &inner[a..b])
            .collect();
        let Some(out) = run_pipeline(&stages) else {
            continue;
        };
        let Some(value) = codec::as_text(&out) else {
            continue;
        };
        let value = value.trim_end_matches('\n');
        // Whole statement `eval "$(…)"` / `sh -c "$(…)"` / `bash <<< "$(…)"`?
        let spans = statements(text, SEPARATORS, Syntax::Sh);
        if let Some(&(s, e)) = spans.iter().find(|&&(s, e)| s <= start && end <= e) {
            let before = text[s..start].trim().trim_end_matches('"').trim();
            let after = text[end..e].trim().trim_start_matches('"').trim();
            // Unquoted and alone, the substitution's words are the command itself.
            let alone = text[s..start].trim().is_empty() && text[end..e].trim().is_empty();
            if after.is_empty() && (runs_its_argument(before) || alone) {
                let lead = text[s..e].len() - text[s..e].trim_start().len();
                return Step::Decoded(splice(text, s + lead..e, value));
            }
        }
        let (qs, qe) = if text[..start].ends_with('"') && text[end..].starts_with('"') {
            (start - 1, end + 1)
        } else {
            (start, end)
        };
        return Step::Decoded(splice(text, qs..qe, &sh_word(value)));
    }
    Step::Nothing
}

/// `eval`, `sh -c`, `bash -c`, `bash <<<` …: words that run the argument that follows.
fn runs_its_argument(before: &str) -> bool {
    let Some(w) = words(before) else {
        return false;
    };
    match w.as_slice() {
        [e] => e == "eval",
        [sh, flag] => {
            let name = sh.rsplit('/').next().unwrap_or(sh);
            SHELLS.contains(&name) && (flag == "-c" || flag == "<<<")
        }
        _ => false,
    }
}

/// The next `$(…)` or `` `…` `` at or after `from`: (start, inner text, end).
fn next_substitution(text: &str, from: usize) -> Option<(usize, &str, usize)> {
    let dollar = text[from..].find("$(").map(|i| from + i);
    let tick = text[from..].find('`').map(|i| from + i);
    match (dollar, tick) {
        (Some(d), t) if t.is_none_or(|t| d < t) => {
            let close = super::text::closing_paren(text, d + 1)?;
            Some((d, &text[d + 2..close - 1], close))
        }
        (_, Some(t)) => {
            let close = text[t + 1..].find('`')? + t + 1;
            Some((t, &text[t + 1..close], close + 1))
        }
        _ => None,
    }
}

/// `$'…'` decoded; as the whole argument of `eval` / `sh -c`, the statement becomes it.
pub fn ansi_c(text: &str, ctx: &Context) -> Step {
    if !applies(ctx) {
        return Step::Nothing;
    }
    let Some(start) = text.find("$'") else {
        return Step::Nothing;
    };
    let body_start = start + 2;
    let bytes = text.as_bytes();
    let mut i = body_start;
    while i < bytes.len() && bytes[i] != b'\'' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    if i >= bytes.len() {
        return Step::Failed("an ANSI-C quoted string without its closing quote".into());
    }
    let decoded = String::from_utf8_lossy(&unescape(&text[body_start..i], false)).into_owned();
    let end = i + 1;
    for (s, e) in statements(text, SEPARATORS, Syntax::Sh) {
        if s <= start
            && end <= e
            && text[end..e].trim().is_empty()
            && runs_its_argument(text[s..start].trim())
        {
            let lead = text[s..e].len() - text[s..e].trim_start().len();
            return Step::Decoded(splice(text, s + lead..e, &decoded));
        }
    }
    Step::Decoded(splice(text, start..end, &sh_word(&decoded)))
}

/// `eval 'literal'` or `eval "literal"` (nothing to expand): the literal.
pub fn eval_literal(text: &str, ctx: &Context) -> Step {
    if !applies(ctx) || !text.contains("eval") {
        return Step::Nothing;
    }
    for (s, e) in statements(text, SEPARATORS, Syntax::Sh) {
        let stmt = text[s..e].trim();
        let Some(rest) = stmt.strip_prefix("eval ") else {
            continue;
        };
        let Some(w) = words(rest) else {
            continue;
        };
        if w.is_empty() {
            continue;
        }
        let lead = text[s..e].len() - text[s..e].trim_start().len();
        let stmt_end = s + lead + stmt.len();
        return Step::Decoded(splice(text, s + lead..stmt_end, &w.join(" ")));
    }
    Step::Nothing
}

/// Splits a simple command into words, removing quotes; `None` when it holds anything that
/// would expand (variables, substitutions, globs in brackets) or is not a simple command.
pub fn words(stage: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = stage.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => cur.push(ch),
                    }
                }
            }
            '"' => {
                in_word = true;
                double_quoted(&mut chars, &mut cur)?;
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next()?);
            }
            '$' if chars.peek() == Some(&'\'') => {
                chars.next();
                in_word = true;
                ansi_c_quoted(&mut chars, &mut cur)?;
            }
            '$' | '`' | '(' | ')' | '{' | '}' | '*' | '?' | '[' | '>' | '&' | ';' | '|' => {
                return None;
            }
            '<' => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
                if chars.next() != Some('<') || chars.next() != Some('<') {
                    return None;
                }
                out.push("<<<".into());
            }
            ch => {
                in_word = true;
                cur.push(ch);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Some(out)
}

/// The rest of a double-quoted string (after its `"`) onto `cur`; `None` when it expands
/// something (`$`, a backtick) or never closes.
fn double_quoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    cur: &mut String,
) -> Option<()> {
    loop {
        match chars.next()? {
            '"' => return Some(()),
            '\\' => {
                let n = chars.next()?;
                if !matches!(n, '"' | '\\' | '$' | '`') {
                    cur.push('\\');
                }
                cur.push(n);
            }
            '$' | '`' => return None,
            ch => cur.push(ch),
        }
    }
}

/// The rest of a `$'…'` string (after its `$'`), its escapes decoded, onto `cur`; `None`
/// when it never closes.
fn ansi_c_quoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    cur: &mut String,
) -> Option<()> {
    let mut raw = String::new();
    loop {
        match chars.next()? {
            '\'' => break,
            '\\' => {
                raw.push('\\');
                raw.push(chars.next()?);
            }
            ch => raw.push(ch),
        }
    }
    cur.push_str(&String::from_utf8_lossy(&unescape(&raw, false)));
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shell;

    fn ctx() -> Context {
        Context {
            shell: Shell::Sh,
            powershell: false,
            cmd: false,
            sh: true,
        }
    }

    fn decoded(step: Step) -> String {
        match step {
            Step::Decoded(t) => t,
            Step::Failed(why) => panic!("failed: {why}"),
            Step::Nothing => panic!("nothing"),
        }
    }

    #[test]
    fn base64_hex_rev_and_printf_pipelines() {
        let c = ctx();
        assert_eq!(
            decoded(decode_pipeline("echo d2hvYW1p | base64 -d | sh", &c)),
            "whoami"
        );
        assert_eq!(
            decoded(decode_pipeline("echo 77686f616d69 | xxd -r -p | bash", &c)),
            "whoami"
        );
        assert_eq!(
            decoded(decode_pipeline("echo 'imaohw' | rev | sh", &c)),
            "whoami"
        );
        assert_eq!(
            decoded(decode_pipeline(r"printf '\x77\x68\157ami' | sh", &c)),
            "whoami"
        );
        assert_eq!(
            decoded(decode_pipeline("base64 -d <<< d2hvYW1p | sh; id", &c)),
            "whoami; id"
        );
        assert_eq!(
            decoded(decode_pipeline("echo d2hvYW1p | b64decode -r | sh", &c)),
            "whoami"
        );
        assert_eq!(
            decoded(decode_pipeline("echo jubnzv | tr a-z n-za-m | sh", &c)),
            "whoami"
        );
        assert!(matches!(
            decode_pipeline("curl -s http://x/a | sh", &c),
            Step::Nothing
        ));
        assert!(matches!(
            decode_pipeline("echo $X | base64 -d | sh", &c),
            Step::Nothing
        ));
    }

    #[test]
    fn substitutions_feed_eval_and_sh_c() {
        let c = ctx();
        assert_eq!(
            decoded(command_substitution(
                "eval \"$(echo d2hvYW1p | base64 -d)\"",
                &c
            )),
            "whoami"
        );
        assert_eq!(
            decoded(command_substitution(
                "bash -c \"$(echo d2hvYW1p | base64 --decode)\"",
                &c
            )),
            "whoami"
        );
        assert_eq!(
            decoded(command_substitution("ls $(printf '/tmp')", &c)),
            "ls /tmp"
        );
    }

    #[test]
    fn ansi_c_quoting() {
        let c = ctx();
        assert_eq!(
            decoded(ansi_c(r"bash -c $'\x77\x68\x6f\x61\x6d\x69'", &c)),
            "whoami"
        );
        assert_eq!(
            decoded(ansi_c(r"$'\167\150\157\141\155\151' -a", &c)),
            "whoami -a"
        );
        assert_eq!(decoded(ansi_c(r"echo $'a b\n'", &c)), "echo 'a b\n'");
    }

    #[test]
    fn eval_of_a_literal() {
        assert_eq!(decoded(eval_literal("eval 'id -u'", &ctx())), "id -u");
        assert!(matches!(eval_literal("eval \"$x\"", &ctx()), Step::Nothing));
    }

    #[test]
    fn words_unquote_and_refuse_expansions() {
        assert_eq!(
            words("echo 'a b' \"c\\\"d\" e\\ f").unwrap(),
            ["echo", "a b", "c\"d", "e f"]
        );
        assert!(words("echo $HOME").is_none());
        assert_eq!(
            words("base64 -d <<< abc").unwrap(),
            ["base64", "-d", "<<<", "abc"]
        );
    }
}
