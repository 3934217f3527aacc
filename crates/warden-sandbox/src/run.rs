//! One run: the command line (strace → bubblewrap → prlimit → interpreter), the loop that
//! follows the trace as it is written, reads each exiting process's memory, enforces the
//! wall-clock and trace-size limits, and makes sure nothing of the run is left afterwards.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warden_payload::dynamic::Behaviour;

use crate::strace::{Reader, Record};
use crate::summary::Summary;
use crate::{Sandbox, SandboxError, memory};

/// How often the trace is read.
const TICK: Duration = Duration::from_millis(5);
/// Printed output kept per stream.
const OUTPUT_HEAD: usize = 4096;
/// Processes whose memory is read, and the bytes read in all, per run.
const MAX_MEMORY_VIEWS: usize = 32;
const MEMORY_BUDGET: u64 = 64 << 20;
/// Where the script is, inside the sandbox.
const SCRIPT: &str = "/tmp/payload.sh";

/// The system calls traced (`?`: ignored where the architecture lacks the call).
const TRACED: &[&str] = &[
    "execve",
    "execveat",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "open",
    "openat",
    "creat",
    "unlink",
    "unlinkat",
    "rmdir",
    "rename",
    "renameat",
    "renameat2",
    "mkdir",
    "mkdirat",
    "chmod",
    "fchmod",
    "fchmodat",
    "utimensat",
    "connect",
    "sendto",
    "bind",
    "listen",
    "dup2",
    "dup3",
    "mmap",
    "mremap",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "setfsuid",
    "capset",
    "ptrace",
    "exit_group",
];

pub(crate) fn run(
    sb: &Sandbox,
    script: &str,
    interpreter: &str,
) -> Result<Behaviour, SandboxError> {
    let dir = tempfile::Builder::new()
        .prefix("warden-sandbox-")
        .tempdir()?;
    // The sandbox may run as another user: it must be able to read the script.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let script_path = dir.path().join("payload.sh");
    std::fs::write(&script_path, script)?;
    std::fs::set_permissions(&script_path, std::fs::Permissions::from_mode(0o644))?;
    let trace_path = dir.path().join("trace");
    let stdout = File::create(dir.path().join("stdout"))?;
    let stderr = File::create(dir.path().join("stderr"))?;
    let argv = command_line(sb, &script_path, &trace_path, interpreter);
    let started = Instant::now();
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .map_err(|e| SandboxError::Start(format!("{}: {e}", argv[0].to_string_lossy())))?;
    let mut follow = Follow {
        summary: Summary::new(&sb.prlimit.to_string_lossy(), sb.config.limits),
        reader: Reader::default(),
        trace: None,
        offset: 0,
        carry: String::new(),
        scanned: HashSet::new(),
        memory_left: MEMORY_BUDGET,
        memory_scan: sb.config.memory_scan,
        per_process: sb.config.memory_scan_mb << 20,
        pid_ns: None,
    };
    let timed_out = follow.until_done(
        child,
        &trace_path,
        started + Duration::from_secs(sb.config.timeout_secs),
        sb.config.max_trace_mb << 20,
    )?;
    follow.sweep();
    let Follow { mut summary, .. } = follow;
    summary.finish();
    if !summary.started() {
        let err = head(&dir.path().join("stderr"));
        return Err(SandboxError::Start(if err.trim().is_empty() {
            "bubblewrap exited before the script started".into()
        } else {
            err.trim().to_string()
        }));
    }
    let mut b = summary.behaviour;
    b.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    b.timed_out = timed_out;
    if timed_out {
        b.exit = "timeout".into();
    } else if b.exit.is_empty() {
        b.exit = "unknown".into();
    }
    b.stdout = head(&dir.path().join("stdout"));
    b.stderr = head(&dir.path().join("stderr"));
    Ok(b)
}

fn command_line(sb: &Sandbox, script: &Path, trace: &Path, interpreter: &str) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    if let Some(setpriv) = &sb.setpriv {
        // strace (and so the sandbox) dies with the thread that started it.
        a.extend([
            setpriv.as_os_str().into(),
            "--pdeathsig".into(),
            "KILL".into(),
            "--".into(),
        ]);
    }
    strace_args(sb, trace, &mut a);
    a.push(sb.bwrap.as_os_str().into());
    bwrap_args(sb, script, interpreter, &mut a);
    let l = sb.config.limits;
    a.push(sb.prlimit.as_os_str().into());
    for limit in [
        format!("--cpu={}", l.cpu_secs),
        format!("--as={}", l.memory_mb << 20),
        format!("--nproc={}", l.max_processes),
        format!("--fsize={}", l.file_mb << 20),
        format!("--nofile={}", l.open_files),
        "--core=0".into(),
    ] {
        a.push(limit.into());
    }
    a.extend(["--".into(), interpreter.into(), SCRIPT.into()]);
    a
}

/// strace: every process followed, the traced calls, the trace file, the exit hold that
/// lets memory be read, the user to run as; up to the `--` before bubblewrap.
fn strace_args(sb: &Sandbox, trace: &Path, a: &mut Vec<OsString>) {
    let c = &sb.config;
    a.push(sb.strace.as_os_str().into());
    let traced: Vec<String> = TRACED.iter().map(|t| format!("?{t}")).collect();
    a.extend(
        [
            "-f",
            "-q",
            "-y",
            "--pidns-translation",
            "-s",
            "1024",
            "--seccomp-bpf",
        ]
        .iter()
        .map(OsString::from),
    );
    a.extend(["-o".into(), trace.as_os_str().into()]);
    a.extend(["-e".into(), format!("trace={}", traced.join(",")).into()]);
    if c.memory_scan && c.exit_hold_ms > 0 {
        a.extend([
            "-e".into(),
            format!("inject=exit_group:delay_enter={}", c.exit_hold_ms * 1000).into(),
        ]);
    }
    if let Some(user) = &sb.run_as {
        a.extend(["-u".into(), user.into()]);
    }
    a.push("--".into());
}

/// bubblewrap: namespaces, a clean environment, the system's files read-only, private
/// mounts, the script, a read-only root; up to the `--` before prlimit.
fn bwrap_args(sb: &Sandbox, script: &Path, interpreter: &str, a: &mut Vec<OsString>) {
    let fixed = [
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--hostname",
        "sandbox",
    ];
    a.extend(fixed.iter().map(OsString::from));
    let env = [
        (
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ),
        ("HOME", "/home/user"),
        ("USER", "user"),
        ("LOGNAME", "user"),
        ("TMPDIR", "/tmp"),
        ("LANG", "C.UTF-8"),
        ("TERM", "dumb"),
        ("SHELL", interpreter),
    ];
    for (k, v) in env {
        a.extend(["--setenv".into(), k.into(), v.into()]);
    }
    for p in &sb.config.ro_binds {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(p) {
                    a.extend(["--symlink".into(), target.into_os_string(), p.into()]);
                }
            }
            Ok(_) => a.extend(["--ro-bind".into(), p.into(), p.into()]),
            Err(_) => {}
        }
    }
    let mounts = [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--tmpfs",
        "/var",
        "--dir",
        "/var/tmp",
        "--dir",
        "/var/log",
        "--tmpfs",
        "/home",
        "--dir",
        "/home/user",
        "--tmpfs",
        "/root",
        "--tmpfs",
        "/run",
    ];
    a.extend(mounts.iter().map(OsString::from));
    a.extend(["--ro-bind".into(), script.into(), SCRIPT.into()]);
    // The root bubblewrap builds is a tmpfs of its own, writable until now: read-only, so
    // a script writes only to the private mounts above (not `/etc/cron.d`, not `/x`).
    a.extend(["--remount-ro".into(), "/".into()]);
    a.extend(["--chdir".into(), "/tmp".into(), "--".into()]);
}

/// The state of following one run's trace.
struct Follow {
    summary: Summary,
    reader: Reader,
    trace: Option<File>,
    offset: u64,
    /// The unfinished last line read so far.
    carry: String,
    scanned: HashSet<u32>,
    memory_left: u64,
    memory_scan: bool,
    per_process: u64,
    /// The sandbox's PID namespace (`/proc/PID/ns/pid` of its first process).
    pid_ns: Option<std::path::PathBuf>,
}

impl Follow {
    /// Follows the run until strace exits or a limit stops it; whether the time ran out.
    fn until_done(
        &mut self,
        mut child: Child,
        trace: &Path,
        deadline: Instant,
        max_trace: u64,
    ) -> Result<bool, SandboxError> {
        loop {
            self.read(trace)?;
            if self.pid_ns.is_none() {
                self.pid_ns = self
                    .summary
                    .init_pid
                    .and_then(|p| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok());
            }
            if child.try_wait()?.is_some() {
                self.read(trace)?;
                return Ok(false);
            }
            let over_time = Instant::now() >= deadline;
            if over_time || self.offset > max_trace {
                if !over_time {
                    self.summary
                        .limit(format!("trace size (at most {} MiB)", max_trace >> 20));
                }
                for pid in self.summary.live() {
                    self.scan(pid);
                }
                self.stop(&mut child)?;
                self.read(trace)?;
                return Ok(over_time);
            }
            std::thread::sleep(TICK);
        }
    }

    /// Reads what strace has written since the last call.
    fn read(&mut self, path: &Path) -> Result<(), SandboxError> {
        if self.trace.is_none() {
            match File::open(path) {
                Ok(f) => self.trace = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        let Some(f) = self.trace.as_mut() else {
            return Ok(());
        };
        f.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        f.take(8 << 20).read_to_end(&mut bytes)?;
        self.offset += bytes.len() as u64;
        self.carry.push_str(&String::from_utf8_lossy(&bytes));
        let text = std::mem::take(&mut self.carry);
        let (complete, rest) = match text.rfind('\n') {
            Some(i) => (&text[..=i], &text[i + 1..]),
            None => ("", text.as_str()),
        };
        for line in complete.lines() {
            if let Some(record) = self.reader.line(line) {
                self.record(record);
            }
        }
        if let Some(Record::Entered { pid, name }) = Reader::partial(rest)
            && name == "exit_group"
        {
            self.scan(pid);
        }
        self.carry = rest.to_string();
        Ok(())
    }

    fn record(&mut self, record: Record) {
        let exiting = match &record {
            Record::Entered { pid, name } if name == "exit_group" => Some(*pid),
            Record::Call(c) if c.name == "exit_group" => Some(c.pid),
            _ => None,
        };
        if let Some(pid) = exiting {
            self.scan(pid);
        }
        self.summary.add(record);
    }

    /// Reads a process's memory once, while it is held at its exit.
    fn scan(&mut self, pid: u32) {
        if !self.memory_scan
            || !self.summary.is_script(pid)
            || self.summary.program_of(pid).is_empty()
            || self.scanned.len() >= MAX_MEMORY_VIEWS
            || self.memory_left == 0
            || !self.scanned.insert(pid)
        {
            return;
        }
        let view = memory::snapshot(
            pid,
            &self.summary.program_of(pid),
            self.per_process.min(self.memory_left),
        );
        self.memory_left = self.memory_left.saturating_sub(view.bytes_read);
        if view.bytes_read > 0 || !view.wx_regions.is_empty() {
            self.summary.behaviour.memory.push(view);
        }
    }

    /// Kills the sandbox: its first process (the kernel then kills its whole PID namespace),
    /// then strace.
    fn stop(&mut self, child: &mut Child) -> Result<(), SandboxError> {
        if let Some(init) = self.summary.init_pid {
            kill(init);
        }
        let _ = child.kill();
        let waited = Instant::now();
        while child.try_wait()?.is_none() {
            if waited.elapsed() > Duration::from_secs(5) {
                let _ = child.kill();
            }
            std::thread::sleep(TICK);
        }
        Ok(())
    }

    /// Kills whatever of the run is still alive (it should be nothing: the namespace ends
    /// with its first process).
    fn sweep(&mut self) {
        let Some(ns) = &self.pid_ns else { return };
        let pids: Vec<u32> = self
            .summary
            .live()
            .into_iter()
            .chain(self.summary.init_pid)
            .collect();
        for pid in pids {
            if std::fs::read_link(format!("/proc/{pid}/ns/pid"))
                .ok()
                .as_ref()
                == Some(ns)
            {
                kill(pid);
            }
        }
    }
}

fn kill(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// The first bytes of a file, as text.
fn head(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(f) = File::open(path) {
        let _ = f.take(OUTPUT_HEAD as u64).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}
