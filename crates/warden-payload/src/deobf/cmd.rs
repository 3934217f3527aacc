//! cmd decoders: caret escapes outside quotes, and `set` variables expanded where they are
//! used (`%v%`, `%v:~start,length%`, `%v:old=new%`, and `!v!` under `/v:on`), the `set`
//! statements that only fed them dropped and the `call` that ran the result removed.
//! Substrings of the usual system variables (`%COMSPEC:~-16,1%`) use their default values.

use rustc_hash::FxHashMap;

use super::text::{Syntax, statements};
use super::{Context, Step};

/// Defaults of the variables obfuscators cut characters from.
const SYSTEM_VARS: &[(&str, &str)] = &[
    ("comspec", r"C:\WINDOWS\system32\cmd.exe"),
    ("windir", r"C:\WINDOWS"),
    ("systemroot", r"C:\WINDOWS"),
    ("public", r"C:\Users\Public"),
    ("programdata", r"C:\ProgramData"),
    ("allusersprofile", r"C:\ProgramData"),
    ("programfiles", r"C:\Program Files"),
    ("commonprogramfiles", r"C:\Program Files\Common Files"),
    ("systemdrive", "C:"),
    ("os", "Windows_NT"),
    (
        "pathext",
        ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC",
    ),
    ("processor_architecture", "AMD64"),
];

/// `^x` outside double quotes means `x`.
pub fn carets(text: &str, ctx: &Context) -> Step {
    if !ctx.cmd || !text.contains('^') {
        return Step::Nothing;
    }
    let mut out = String::with_capacity(text.len());
    let mut in_quotes = false;
    let mut chars = text.chars().peekable();
    let mut changed = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => in_quotes = !in_quotes,
            '^' if !in_quotes => {
                if let Some(&n) = chars.peek()
                    && n != '\n'
                    && n != '\r'
                {
                    out.push(n);
                    chars.next();
                    changed = true;
                    continue;
                }
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

/// `call` before a command (not a `:label`) only runs it: removed.
pub fn call(text: &str, ctx: &Context) -> Step {
    if !ctx.cmd {
        return Step::Nothing;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (s, e) in statements(text, &["&&", "||", "&", "|"], Syntax::Cmd) {
        let stmt = &text[s..e];
        let body = stmt.trim_start();
        let is_call = body
            .get(..5)
            .is_some_and(|h| h.eq_ignore_ascii_case("call "))
            && body.len() > 5
            && !body[5..].trim_start().starts_with(':');
        if is_call {
            let at = s + (stmt.len() - body.len());
            out.push_str(&text[copied..at]);
            copied = at + 5 + (body[5..].len() - body[5..].trim_start().len());
        }
    }
    if copied == 0 {
        return Step::Nothing;
    }
    out.push_str(&text[copied..]);
    Step::Decoded(out)
}

/// `set` variables expanded into the statements that use them.
pub fn variables(text: &str, ctx: &Context) -> Step {
    if !ctx.cmd || !text.contains('%') && !text.contains('!') {
        return Step::Nothing;
    }
    let delayed = text.to_ascii_lowercase().contains("/v:on");
    let spans = statements(text, &["&&", "||", "&"], Syntax::Cmd);
    let mut vars: FxHashMap<String, String> = FxHashMap::default();
    let mut used = vec![false; spans.len()];
    let mut is_set = vec![false; spans.len()];
    let mut expanded: Vec<String> = Vec::with_capacity(spans.len());
    let mut changed = false;
    for (k, &(s, e)) in spans.iter().enumerate() {
        let stmt = &text[s..e];
        let (new, hit) = expand(stmt, &vars, delayed);
        if let Some((name, value)) = set_statement(&new) {
            vars.insert(name, value);
            is_set[k] = true;
        }
        if hit {
            changed = true;
            used[k] = true;
        }
        expanded.push(new);
    }
    if !changed {
        return Step::Nothing;
    }
    // Keep every statement except the plain `set`s; drop `call` where expansion built the command.
    let mut out = String::new();
    let mut prev_end: Option<usize> = None;
    for (k, &(s, e)) in spans.iter().enumerate() {
        if is_set[k] && !used[k] {
            continue;
        }
        let stmt = expanded[k].as_str();
        let trimmed = stmt.trim_start();
        let lead = &stmt[..stmt.len() - trimmed.len()];
        let body = if used[k]
            && trimmed.len() > 5
            && trimmed
                .get(..5)
                .is_some_and(|h| h.eq_ignore_ascii_case("call "))
        {
            &trimmed[5..]
        } else {
            trimmed
        };
        if let Some(pe) = prev_end {
            out.push_str(&text[pe..s]);
            out.push_str(lead);
        }
        out.push_str(body);
        prev_end = Some(e);
    }
    Step::Decoded(out.trim_end().to_string())
}

/// `set name=value` / `set "name=value"` (not `/a`, `/p`): the variable and its value.
fn set_statement(stmt: &str) -> Option<(String, String)> {
    let t = stmt.trim_start();
    let head = t.get(..4)?;
    if !head.eq_ignore_ascii_case("set ") {
        return None;
    }
    let body = t[4..].trim_start();
    if body.starts_with('/') {
        return None;
    }
    let body = match body.strip_prefix('"') {
        Some(b) => b.rsplit_once('"').map_or(b, |(inner, _)| inner),
        None => body,
    };
    let (name, value) = body.split_once('=')?;
    let name = name.trim().to_ascii_lowercase();
    (!name.is_empty() && !name.contains(' ')).then(|| (name, value.to_string()))
}

/// Expands the variables of `stmt` that are known; says whether any was.
fn expand(stmt: &str, vars: &FxHashMap<String, String>, delayed: bool) -> (String, bool) {
    let mut out = String::with_capacity(stmt.len());
    let mut hit = false;
    let mut rest = stmt;
    while let Some(i) = rest.find(['%', '!']) {
        let mark = rest.as_bytes()[i] as char;
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let reference = after.find(mark).map(|j| &after[..j]);
        let value = reference
            .filter(|_| mark == '%' || delayed)
            .and_then(|r| resolve(r, vars));
        match (reference, value) {
            (Some(r), Some(v)) => {
                out.push_str(&v);
                hit = true;
                rest = &after[r.len() + 1..];
            }
            _ => {
                out.push(mark);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, hit)
}

/// The value of a reference (`name`, `name:~a,b`, `name:old=new`), if known.
fn resolve(reference: &str, vars: &FxHashMap<String, String>) -> Option<String> {
    if reference.is_empty() || reference.len() > 256 || reference.contains([' ', '\n']) {
        return None;
    }
    let (name, op) = match reference.split_once(':') {
        Some((n, op)) => (n, Some(op)),
        None => (reference, None),
    };
    let lower = name.to_ascii_lowercase();
    let own = vars.get(&lower).cloned();
    let Some(op) = op else {
        return own;
    };
    let value = own.or_else(|| {
        SYSTEM_VARS
            .iter()
            .find(|(n, _)| *n == lower)
            .map(|(_, v)| v.to_string())
    })?;
    if let Some(range) = op.strip_prefix('~') {
        return substring(&value, range);
    }
    let (old, new) = op.split_once('=')?;
    match old.strip_prefix('*') {
        // `*text=new`: everything up to and including the first `text` becomes `new`.
        Some(first) if !first.is_empty() => {
            let at = value.to_ascii_lowercase().find(&first.to_ascii_lowercase());
            Some(at.map_or(value.clone(), |i| {
                format!("{new}{}", &value[i + first.len()..])
            }))
        }
        Some(_) => None,
        None if old.is_empty() => None,
        None => Some(replace_ci(&value, old, new)),
    }
}

/// `%v:~start[,length]%` with cmd's negative offsets and lengths.
fn substring(value: &str, range: &str) -> Option<String> {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len() as i64;
    let mut parts = range.split(',');
    let start: i64 = parts.next()?.trim().parse().ok()?;
    let len: Option<i64> = match parts.next() {
        Some(l) => Some(l.trim().parse().ok()?),
        None => None,
    };
    // Offsets come from the text: saturating, so no value of theirs overflows.
    let start = if start < 0 {
        n.saturating_add(start).max(0)
    } else {
        start.min(n)
    };
    let end = match len {
        None => n,
        Some(l) if l < 0 => n.saturating_add(l).max(start),
        Some(l) => start.saturating_add(l).min(n),
    };
    Some(
        chars[start as usize..end.max(start) as usize]
            .iter()
            .collect(),
    )
}

/// `value` with every `old` (ASCII case ignored, not empty) replaced by `new`.
fn replace_ci(value: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        return value.to_owned();
    }
    let lower = value.to_ascii_lowercase();
    let needle = old.to_ascii_lowercase();
    let mut out = String::new();
    let mut i = 0;
    while let Some(j) = lower[i..].find(&needle) {
        out.push_str(&value[i..i + j]);
        out.push_str(new);
        i += j + needle.len();
    }
    out.push_str(&value[i..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Shell;

    fn ctx() -> Context {
        Context {
            shell: Shell::Cmd,
            powershell: false,
            cmd: true,
            sh: false,
        }
    }

    fn decoded(step: Step) -> String {
        match step {
            Step::Decoded(t) => t,
            _ => panic!("not decoded"),
        }
    }

    #[test]
    fn carets_outside_quotes_are_removed() {
        assert_eq!(
            decoded(carets("p^o^w^e^r^s^h^e^l^l -c \"a^b\"", &ctx())),
            "powershell -c \"a^b\""
        );
        assert_eq!(decoded(carets("echo ^^x", &ctx())), "echo ^x");
    }

    #[test]
    fn set_variables_build_the_command() {
        let t = "set a=who&& set b=ami&& call %a%%b%";
        assert_eq!(decoded(variables(t, &ctx())), "whoami");
        let t = "set x=abcdefghijklmnopqrstuvwxyz&& call %x:~22,1%%x:~7,1%%x:~14,1%%x:~0,1%%x:~12,1%%x:~8,1% /all";
        assert_eq!(decoded(variables(t, &ctx())), "whoami /all");
    }

    #[test]
    fn system_variable_substrings_and_replacement() {
        assert_eq!(
            resolve("COMSPEC:~-7,3", &FxHashMap::default()).unwrap(),
            "cmd"
        );
        let mut vars = FxHashMap::default();
        vars.insert("v".to_string(), "wXhoami".to_string());
        assert_eq!(resolve("v:X=", &vars).unwrap(), "whoami");
        assert_eq!(resolve("v:~-3", &vars).unwrap(), "ami");
        assert!(resolve("unknown", &vars).is_none());
    }

    #[test]
    fn a_star_replacement_cuts_through_the_first_match_and_hostile_forms_end() {
        let mut vars = FxHashMap::default();
        vars.insert("v".to_string(), "junk;JUNK;whoami".to_string());
        // cmd: everything up to and including the first match becomes the new text.
        assert_eq!(resolve("v:*junk;=", &vars).unwrap(), "JUNK;whoami");
        assert_eq!(resolve("v:*absent=x", &vars).unwrap(), "junk;JUNK;whoami");
        // An empty search text (`*=`, `=`) is not a replacement: left unresolved.
        assert!(resolve("v:*=x", &vars).is_none());
        assert!(resolve("COMSPEC:*=", &vars).is_none());
        assert!(resolve("v:=x", &vars).is_none());
        // Offsets at the ends of i64 are clamped, not overflowed.
        assert_eq!(
            resolve("v:~1,9223372036854775807", &vars).unwrap(),
            "unk;JUNK;whoami"
        );
        assert_eq!(
            resolve("v:~-9223372036854775808", &vars).unwrap(),
            "junk;JUNK;whoami"
        );
        assert_eq!(resolve("v:~0,-9223372036854775808", &vars).unwrap(), "");
        let t = "cmd /c echo %comspec:*=x% & %comspec:*=%";
        assert!(matches!(variables(t, &ctx()), Step::Nothing));
    }

    #[test]
    fn unknown_variables_and_other_statements_stay() {
        let t = "set a=note&& echo %TEMP% & call %a%pad.exe x.txt";
        assert_eq!(
            decoded(variables(t, &ctx())),
            "echo %TEMP% & notepad.exe x.txt"
        );
        assert!(matches!(variables("echo %TEMP%", &ctx()), Step::Nothing));
    }
}
