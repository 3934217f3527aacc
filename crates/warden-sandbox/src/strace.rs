//! Reads strace's output (`strace -f -y --pidns-translation`) as it is written: one
//! [`Record`] per finished line, calls split by `<unfinished ...>` joined again with their
//! `<... resumed>` half, arguments split at the top level and strings decoded.

use std::collections::HashMap;

/// One system call, complete.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub pid: u32,
    pub name: String,
    /// The arguments as strace printed them, split at top-level commas.
    pub args: Vec<String>,
    /// The return value (`None` for `?`).
    pub ret: Option<i64>,
    /// The error name when the call failed (`ENOENT` …).
    pub errno: Option<String>,
    /// The path strace gave for a returned descriptor (`3</tmp/x>`).
    pub ret_path: Option<String>,
    /// A returned process id as seen from the host (`/* 4858 in strace's PID NS */`).
    pub host_pid: Option<u32>,
}

/// One line of the trace.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Call(Call),
    /// A call that has started and not returned yet (`exit_group(0 <unfinished ...>`, or the
    /// last, still unwritten line of the file).
    Entered {
        pid: u32,
        name: String,
    },
    Exited {
        pid: u32,
        code: i32,
    },
    Killed {
        pid: u32,
        signal: String,
    },
    Signal {
        pid: u32,
        signal: String,
    },
}

/// Joins the halves of interrupted calls.
#[derive(Default)]
pub struct Reader {
    pending: HashMap<u32, String>,
}

impl Reader {
    /// Parses one complete line; `None` for what carries nothing (blank lines, unknown forms).
    pub fn line(&mut self, line: &str) -> Option<Record> {
        let (pid, rest) = split_pid(line)?;
        let rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("+++ ") {
            let r = r.trim_end_matches(" +++").trim_end_matches("+++").trim();
            if let Some(code) = r.strip_prefix("exited with ") {
                return Some(Record::Exited {
                    pid,
                    code: code.trim().parse().unwrap_or(-1),
                });
            }
            if let Some(sig) = r.strip_prefix("killed by ") {
                let signal = sig.split_whitespace().next().unwrap_or("").to_string();
                return Some(Record::Killed { pid, signal });
            }
            return None;
        }
        if let Some(r) = rest.strip_prefix("--- ") {
            let signal = r.split_whitespace().next().unwrap_or("").to_string();
            return Some(Record::Signal { pid, signal });
        }
        let full = if let Some(r) = rest.strip_prefix("<... ") {
            let (_, after) = r.split_once(" resumed>")?;
            let start = self.pending.remove(&pid)?;
            format!("{start}{after}")
        } else {
            rest.to_string()
        };
        if let Some(start) = full.strip_suffix("<unfinished ...>") {
            let start = start.trim_end().to_string();
            let name = call_name(&start)?.to_string();
            self.pending.insert(pid, start);
            return Some(Record::Entered { pid, name });
        }
        parse_call(pid, &full).map(Record::Call)
    }

    /// The call a partial last line (no newline yet) has entered, if it names one.
    pub fn partial(line: &str) -> Option<Record> {
        let (pid, rest) = split_pid(line)?;
        let rest = rest.trim_start();
        let name = call_name(rest)?;
        (!rest.contains(") = ")).then(|| Record::Entered {
            pid,
            name: name.to_string(),
        })
    }
}

fn split_pid(line: &str) -> Option<(u32, &str)> {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    Some((line[..digits].parse().ok()?, &line[digits..]))
}

fn call_name(s: &str) -> Option<&str> {
    let open = s.find('(')?;
    let name = &s[..open];
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then_some(name)
}

fn parse_call(pid: u32, s: &str) -> Option<Call> {
    let name = call_name(s)?.to_string();
    let body = &s[name.len() + 1..];
    let close = matching_paren(body)?;
    let args = split_top(&body[..close]);
    let after = body[close + 1..].trim_start();
    let result = after.strip_prefix('=')?.trim_start();
    let (ret, ret_path) = parse_value(result);
    let mut errno = None;
    if ret == Some(-1) {
        errno = result
            .split_whitespace()
            .nth(1)
            .filter(|e| e.starts_with('E'))
            .map(str::to_string);
    }
    let host_pid = result.find("/* ").and_then(|i| {
        let r = &result[i + 3..];
        r.contains("in strace's PID NS")
            .then(|| r.split_whitespace().next()?.parse().ok())
            .flatten()
    });
    Some(Call {
        pid,
        name,
        args,
        ret,
        errno,
        ret_path,
        host_pid,
    })
}

fn parse_value(result: &str) -> (Option<i64>, Option<String>) {
    let token = result.split_whitespace().next().unwrap_or("");
    let (num, path) = match token.split_once('<') {
        Some((n, p)) => (n, Some(p.trim_end_matches('>').to_string())),
        None => (token, None),
    };
    let value = if let Some(hex) = num.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else {
        num.parse().ok()
    };
    (value, path)
}

/// The index of the `)` closing the argument list (quotes, brackets and comments skipped).
fn matching_paren(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = skip_string(b, i),
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = s[i + 2..].find("*/").map_or(b.len(), |k| i + 2 + k + 1);
            }
            b'(' | b'[' | b'{' => depth += 1,
            b']' | b'}' => depth -= 1,
            b')' if depth == 0 => return Some(i),
            b')' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of a string's closing quote.
fn skip_string(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    b.len()
}

/// Splits at commas outside strings, brackets and comments.
pub fn split_top(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = skip_string(b, i),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                out.push(s[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let last = s[start.min(s.len())..].trim();
    if !last.is_empty() || !out.is_empty() {
        out.push(last.to_string());
    }
    out
}

/// The first string literal of an argument, decoded (`"/tmp/x"` → `/tmp/x`).
pub fn string_arg(arg: &str) -> Option<String> {
    let start = arg.find('"')?;
    let b = arg.as_bytes();
    let end = skip_string(b, start);
    let inner = &arg[start + 1..end.min(arg.len())];
    // strace escapes as C does (octal without a leading zero).
    Some(String::from_utf8_lossy(&warden_payload::deobf::c_unescape(inner, true)).into_owned())
}

/// Every string literal of an array argument (`["ls", "-la"]`).
pub fn string_list(arg: &str) -> Vec<String> {
    let inner = arg.trim().trim_start_matches('[').trim_end_matches(']');
    split_top(inner)
        .iter()
        .filter_map(|a| string_arg(a))
        .collect()
}

/// The path strace printed for a descriptor argument (`3</tmp/x>` → `/tmp/x`).
pub fn fd_path(arg: &str) -> Option<&str> {
    let open = arg.find('<')?;
    let close = arg.rfind('>')?;
    (close > open).then(|| &arg[open + 1..close])
}

/// The number of a descriptor argument (`1</dev/pts/0>` → 1).
pub fn fd_number(arg: &str) -> Option<i64> {
    arg.split('<').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(line: &str) -> Call {
        match Reader::default().line(line) {
            Some(Record::Call(c)) => c,
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn calls_results_and_errors() {
        let c = call(
            r#"4783  execve("/usr/bin/curl", ["curl", "-s", "http://example.com/x.sh"], 0x55a6 /* 34 vars */) = 0"#,
        );
        assert_eq!(c.name, "execve");
        assert_eq!(c.ret, Some(0));
        assert_eq!(string_arg(&c.args[0]).as_deref(), Some("/usr/bin/curl"));
        assert_eq!(
            string_list(&c.args[1]),
            ["curl", "-s", "http://example.com/x.sh"]
        );
        let c = call(
            r#"4782  connect(3, {sa_family=AF_INET, sin_port=htons(4444), sin_addr=inet_addr("10.9.8.7")}, 16) = -1 ENETUNREACH (Network is unreachable)"#,
        );
        assert_eq!(c.args.len(), 3);
        assert_eq!((c.ret, c.errno.as_deref()), (Some(-1), Some("ENETUNREACH")));
        let c = call(
            r#"4860  openat(AT_FDCWD</tmp>, "f", O_WRONLY|O_CREAT|O_NOCTTY|O_NONBLOCK, 0666) = 3</tmp/f>"#,
        );
        assert_eq!(fd_path(&c.args[0]), Some("/tmp"));
        assert_eq!(c.ret_path.as_deref(), Some("/tmp/f"));
        let c = call(
            "4857  clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f84) = 2 /* 4858 in strace's PID NS */",
        );
        assert_eq!((c.ret, c.host_pid), (Some(2), Some(4858)));
    }

    #[test]
    fn strings_with_quotes_parens_and_escapes() {
        let c = call(
            r#"7  execve("/bin/sh", ["sh", "-c", "echo \"a) = 1\" \x41\101\n"], 0x1 /* 1 vars */) = 0"#,
        );
        assert_eq!(string_list(&c.args[1])[2], "echo \"a) = 1\" AA\n");
    }

    #[test]
    fn interrupted_calls_are_joined_and_exits_read() {
        let mut r = Reader::default();
        assert_eq!(
            r.line("12  wait4(-1 <unfinished ...>"),
            Some(Record::Entered {
                pid: 12,
                name: "wait4".into()
            })
        );
        assert!(matches!(
            r.line("13  exit_group(0)  = ?"),
            Some(Record::Call(_))
        ));
        match r.line("12  <... wait4 resumed>, NULL, 0, NULL) = 13") {
            Some(Record::Call(c)) => assert_eq!((c.args.len(), c.ret), (4, Some(13))),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            r.line("13  +++ exited with 3 +++"),
            Some(Record::Exited { pid: 13, code: 3 })
        );
        assert_eq!(
            r.line("14  +++ killed by SIGKILL +++"),
            Some(Record::Killed {
                pid: 14,
                signal: "SIGKILL".into()
            })
        );
        assert_eq!(
            Reader::partial("15  exit_group(0"),
            Some(Record::Entered {
                pid: 15,
                name: "exit_group".into()
            })
        );
        // Garbage never panics.
        for junk in [
            "",
            "abc",
            "12",
            "12  <... x resumed>",
            "1  f(\"",
            "1 f(a) =",
        ] {
            let _ = r.line(junk);
        }
    }
}
