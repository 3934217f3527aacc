//! Turns the trace into a [`Behaviour`]: processes started, files written or deleted,
//! connections attempted, privilege changes and limits reached. The sandbox's own set-up
//! (bubblewrap building the namespaces) is left out: recording starts when the sandbox
//! executes the limits wrapper, the last step before the script's interpreter.

use std::collections::{HashMap, HashSet};

use warden_payload::dynamic::{Behaviour, Connection, FileOp, PrivilegeChange, ProcessRun};

use crate::strace::{Call, Record, fd_number, fd_path, string_arg, string_list};

/// Entries kept per list; more are counted in `dropped`.
const MAX_PROCESSES: usize = 256;
const MAX_FILES: usize = 512;
const MAX_CONNECTIONS: usize = 256;
const MAX_PRIVILEGE: usize = 64;

/// Builds the behaviour record by record.
pub struct Summary {
    /// The wrapper's path: its successful exec marks the start of the script's part.
    marker: String,
    started: bool,
    /// Processes of the sandbox's set-up, ignored.
    setup: HashSet<u32>,
    /// The host pid of the sandbox's first process (pid 1 in its namespace).
    pub init_pid: Option<u32>,
    /// The host pid of the script's interpreter.
    pub root_pid: Option<u32>,
    parent: HashMap<u32, u32>,
    program: HashMap<u32, String>,
    /// Sockets per process: descriptor → index in `connections`.
    sockets: HashMap<u32, HashMap<i64, usize>>,
    exited: HashSet<u32>,
    pub behaviour: Behaviour,
    limits: crate::Limits,
}

impl Summary {
    pub fn new(marker: &str, limits: crate::Limits) -> Summary {
        Summary {
            marker: marker.to_string(),
            started: false,
            setup: HashSet::new(),
            init_pid: None,
            root_pid: None,
            parent: HashMap::new(),
            program: HashMap::new(),
            sockets: HashMap::new(),
            exited: HashSet::new(),
            behaviour: Behaviour::default(),
            limits,
        }
    }

    /// Whether the script has started (the wrapper ran).
    pub fn started(&self) -> bool {
        self.started
    }

    /// Processes of the script that have not ended.
    pub fn live(&self) -> Vec<u32> {
        let mut live: Vec<u32> = self
            .program
            .keys()
            .copied()
            .filter(|p| !self.exited.contains(p))
            .collect();
        live.sort_unstable();
        live
    }

    pub fn program_of(&self, pid: u32) -> String {
        self.program.get(&pid).cloned().unwrap_or_default()
    }

    pub fn is_script(&self, pid: u32) -> bool {
        self.started && !self.setup.contains(&pid)
    }

    pub fn add(&mut self, record: Record) {
        match record {
            Record::Call(c) => self.call(c),
            Record::Entered { .. } => {}
            Record::Exited { pid, code } => {
                self.exited.insert(pid);
                if Some(pid) == self.root_pid {
                    self.behaviour.exit = format!("exit code {code}");
                }
            }
            Record::Killed { pid, signal } => {
                self.exited.insert(pid);
                if !self.is_script(pid) {
                    return;
                }
                if signal == "SIGXCPU" {
                    self.limit(format!("cpu time (at most {} s)", self.limits.cpu_secs));
                }
                if signal == "SIGXFSZ" {
                    self.limit(format!("file size (at most {} MiB)", self.limits.file_mb));
                }
                if Some(pid) == self.root_pid {
                    self.behaviour.exit = format!("killed by {signal}");
                }
            }
            Record::Signal { pid, signal } => {
                if self.is_script(pid) && signal == "SIGXFSZ" {
                    self.limit(format!("file size (at most {} MiB)", self.limits.file_mb));
                }
            }
        }
    }

    /// Fills in what was learnt after a process was recorded (a parent's `clone` line can
    /// come after its child's first calls).
    pub fn finish(&mut self) {
        for p in &mut self.behaviour.processes {
            if p.parent.is_none() {
                p.parent = self.parent.get(&p.pid).copied();
            }
        }
    }

    pub fn limit(&mut self, what: String) {
        if !self.behaviour.limits_hit.contains(&what) {
            self.behaviour.limits_hit.push(what);
        }
    }

    fn call(&mut self, c: Call) {
        if !self.started {
            self.before_start(c);
            return;
        }
        if self.setup.contains(&c.pid) {
            return;
        }
        match c.name.as_str() {
            "execve" | "execveat" => self.exec(c),
            "clone" | "clone3" | "fork" | "vfork" => self.fork(c),
            "open" | "openat" | "creat" => self.open(c),
            "unlink" | "unlinkat" | "rmdir" => self.file(&c, "delete", 0, None),
            "mkdir" | "mkdirat" => self.file(&c, "mkdir", 0, None),
            "rename" | "renameat" | "renameat2" => self.rename(c),
            "chmod" | "fchmodat" | "fchmod" => self.chmod(c),
            "utimensat" => self.touch(c),
            "connect" | "sendto" | "bind" => self.socket(c),
            "listen" => self.listen(c),
            "dup2" | "dup3" => self.dup(c),
            "mmap" | "mremap" if c.errno.as_deref() == Some("ENOMEM") => {
                self.limit(format!("memory (at most {} MiB)", self.limits.memory_mb));
            }
            "setuid" | "setgid" | "setreuid" | "setregid" | "setresuid" | "setresgid"
            | "setgroups" | "capset" | "setfsuid" => {
                let detail = c.args.join(", ");
                self.privilege(&c, c.name.clone(), detail);
            }
            "ptrace" if c.args.first().is_none_or(|a| a != "PTRACE_TRACEME") => {
                let detail = c.args.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
                self.privilege(&c, "ptrace".into(), detail);
            }
            _ => {}
        }
    }

    fn before_start(&mut self, c: Call) {
        self.setup.insert(c.pid);
        if c.name == "clone"
            && c.args.iter().any(|a| a.contains("CLONE_NEWPID"))
            && let Some(pid) = c.ret.and_then(|r| u32::try_from(r).ok())
        {
            self.init_pid = Some(pid);
            self.setup.insert(pid);
        }
        if c.name == "execve" && c.ret == Some(0) {
            let path = c.args.first().and_then(|a| string_arg(a));
            if path.as_deref() == Some(self.marker.as_str()) {
                self.setup.remove(&c.pid);
                self.started = true;
                self.root_pid = Some(c.pid);
            }
        }
    }

    fn exec(&mut self, c: Call) {
        if c.ret != Some(0) {
            return;
        }
        let program = c
            .args
            .first()
            .and_then(|a| string_arg(a))
            .unwrap_or_default();
        let argv = c.args.get(1).map(|a| string_list(a)).unwrap_or_default();
        self.program.insert(c.pid, program.clone());
        if ["sudo", "su", "pkexec", "doas", "runuser"]
            .contains(&program.rsplit('/').next().unwrap_or(""))
        {
            let detail = argv.join(" ");
            self.privilege(&c, "exec".into(), detail);
        }
        if self.behaviour.processes.len() >= MAX_PROCESSES {
            self.behaviour.dropped += 1;
            return;
        }
        if self.behaviour.interpreter.is_empty() {
            self.behaviour.interpreter = program.clone();
        }
        self.behaviour.processes.push(ProcessRun {
            pid: c.pid,
            parent: self.parent.get(&c.pid).copied(),
            program,
            argv,
        });
    }

    fn fork(&mut self, c: Call) {
        if c.ret == Some(-1) && c.errno.as_deref() == Some("EAGAIN") {
            self.limit(format!("processes (at most {})", self.limits.max_processes));
            return;
        }
        let Some(child) = c
            .host_pid
            .or_else(|| c.ret.and_then(|r| u32::try_from(r).ok()))
        else {
            return;
        };
        if child == 0 {
            return;
        }
        // The child may have run (and exec'd) before this line was written: what it has
        // recorded of its own is kept.
        self.parent.insert(child, c.pid);
        if let Some(p) = self.program.get(&c.pid).cloned() {
            self.program.entry(child).or_insert(p);
        }
        if let Some(s) = self.sockets.get(&c.pid).cloned() {
            self.sockets.entry(child).or_insert(s);
        }
    }

    fn open(&mut self, c: Call) {
        let (path_arg, flags) = match c.name.as_str() {
            "openat" => (1, c.args.get(2)),
            "open" => (0, c.args.get(1)),
            _ => (0, None),
        };
        let creat = c.name == "creat";
        let flags = flags.map(String::as_str).unwrap_or("");
        let writes = creat
            || ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC"]
                .iter()
                .any(|f| flags.contains(f));
        if !writes {
            return;
        }
        let op = if creat || flags.contains("O_CREAT") {
            "create"
        } else {
            "write"
        };
        let path = c.ret_path.clone().or_else(|| self.path(&c, path_arg));
        let Some(path) = path else { return };
        if path.starts_with("/dev/") || path.starts_with("/proc/") || path.starts_with("pipe:") {
            return;
        }
        self.push_file(FileOp {
            pid: c.pid,
            op: op.into(),
            path,
            to: None,
            mode: None,
            error: c.errno.clone(),
        });
    }

    /// The absolute path a call names (relative paths joined to the directory strace printed).
    fn path(&self, c: &Call, index: usize) -> Option<String> {
        let (dir, name) =
            if c.name.ends_with("at") || c.name == "renameat2" || c.name == "utimensat" {
                (c.args.get(index.saturating_sub(1)), c.args.get(index)?)
            } else {
                (None, c.args.get(index)?)
            };
        let name = string_arg(name)?;
        if name.starts_with('/') {
            return Some(name);
        }
        let base = dir.and_then(|d| fd_path(d)).unwrap_or("/tmp");
        Some(format!("{}/{}", base.trim_end_matches('/'), name))
    }

    fn file(&mut self, c: &Call, op: &str, index: usize, mode: Option<u32>) {
        let index = if c.name.ends_with("at") {
            index + 1
        } else {
            index
        };
        if let Some(path) = self.path(c, index) {
            self.push_file(FileOp {
                pid: c.pid,
                op: op.into(),
                path,
                to: None,
                mode,
                error: c.errno.clone(),
            });
        }
    }

    fn rename(&mut self, c: Call) {
        let (from, to) = if c.name == "rename" { (0, 1) } else { (1, 3) };
        let (Some(from), Some(to)) = (self.path(&c, from), self.path(&c, to)) else {
            return;
        };
        self.push_file(FileOp {
            pid: c.pid,
            op: "rename".into(),
            path: from,
            to: Some(to),
            mode: None,
            error: c.errno.clone(),
        });
    }

    fn chmod(&mut self, c: Call) {
        let (path, mode) = match c.name.as_str() {
            "fchmod" => (
                c.args.first().and_then(|a| fd_path(a)).map(str::to_string),
                c.args.get(1),
            ),
            "chmod" => (self.path(&c, 0), c.args.get(1)),
            _ => (self.path(&c, 1), c.args.get(2)),
        };
        let mode = mode.and_then(|m| u32::from_str_radix(m.trim_start_matches("0o"), 8).ok());
        if let Some(path) = path {
            self.push_file(FileOp {
                pid: c.pid,
                op: "chmod".into(),
                path,
                to: None,
                mode,
                error: c.errno.clone(),
            });
        }
    }

    /// `utimensat` with explicit times (not "now") is a file's dates being set.
    fn touch(&mut self, c: Call) {
        if c.args
            .get(2)
            .is_none_or(|t| t == "NULL" || t.contains("UTIME_NOW"))
        {
            return;
        }
        let path = match c.args.get(1) {
            Some(a) if a != "NULL" => self.path(&c, 1),
            _ => c.args.first().and_then(|a| fd_path(a)).map(str::to_string),
        };
        if let Some(path) = path {
            self.push_file(FileOp {
                pid: c.pid,
                op: "timestomp".into(),
                path,
                to: None,
                mode: None,
                error: c.errno.clone(),
            });
        }
    }

    fn push_file(&mut self, op: FileOp) {
        if self.behaviour.files.len() >= MAX_FILES {
            self.behaviour.dropped += 1;
        } else if !self.behaviour.files.contains(&op) {
            self.behaviour.files.push(op);
        }
    }

    fn socket(&mut self, c: Call) {
        let addr = match c.name.as_str() {
            "sendto" => c.args.get(4),
            _ => c.args.get(1),
        };
        let Some((family, address, port)) = addr.and_then(|a| sockaddr(a)) else {
            return;
        };
        let program = self.program_of(c.pid);
        let conn = Connection {
            pid: c.pid,
            program,
            call: c.name.clone(),
            family,
            address,
            port,
            error: c.errno.clone(),
            onto_stdio: false,
        };
        if self.behaviour.connections.len() >= MAX_CONNECTIONS {
            self.behaviour.dropped += 1;
            return;
        }
        if let Some(fd) = c.args.first().and_then(|a| fd_number(a)) {
            let index = self.behaviour.connections.len();
            self.sockets.entry(c.pid).or_default().insert(fd, index);
        }
        if !self.behaviour.connections.contains(&conn) {
            self.behaviour.connections.push(conn);
        }
    }

    fn listen(&mut self, c: Call) {
        let Some(fd) = c.args.first().and_then(|a| fd_number(a)) else {
            return;
        };
        let bound = self
            .sockets
            .get(&c.pid)
            .and_then(|s| s.get(&fd))
            .and_then(|i| self.behaviour.connections.get(*i))
            .cloned();
        if let Some(mut b) = bound {
            b.call = "listen".into();
            b.error = c.errno.clone();
            if self.behaviour.connections.len() < MAX_CONNECTIONS {
                self.behaviour.connections.push(b);
            }
        }
    }

    fn dup(&mut self, c: Call) {
        let (Some(old), Some(new)) = (
            c.args.first().and_then(|a| fd_number(a)),
            c.args.get(1).and_then(|a| fd_number(a)),
        ) else {
            return;
        };
        if !(0..=2).contains(&new) {
            return;
        }
        if let Some(i) = self.sockets.get(&c.pid).and_then(|s| s.get(&old))
            && let Some(conn) = self.behaviour.connections.get_mut(*i)
        {
            conn.onto_stdio = true;
        }
    }

    fn privilege(&mut self, c: &Call, call: String, detail: String) {
        if self.behaviour.privilege.len() >= MAX_PRIVILEGE {
            self.behaviour.dropped += 1;
            return;
        }
        self.behaviour.privilege.push(PrivilegeChange {
            pid: c.pid,
            call,
            detail,
            error: c.errno.clone(),
        });
    }
}

/// Family, address and port of a socket address as strace prints it.
fn sockaddr(a: &str) -> Option<(String, String, u16)> {
    let family = field(a, "sa_family=")?;
    let port = field(a, "sin_port=htons(")
        .or_else(|| field(a, "sin6_port=htons("))
        .and_then(|p| p.trim_end_matches(')').parse().ok())
        .unwrap_or(0);
    match family {
        "AF_INET" => {
            let ip = a.split("inet_addr(\"").nth(1)?.split('"').next()?;
            Some(("inet".into(), ip.to_string(), port))
        }
        "AF_INET6" => {
            let ip = a.split("AF_INET6, \"").nth(1)?.split('"').next()?;
            Some(("inet6".into(), ip.to_string(), port))
        }
        "AF_UNIX" => {
            let path = a
                .split("sun_path=")
                .nth(1)
                .and_then(string_arg)
                .unwrap_or_default();
            Some(("unix".into(), path, 0))
        }
        _ => None,
    }
}

fn field<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let start = s.find(name)? + name.len();
    let rest = &s[start..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strace::Reader;

    fn summarise(trace: &str) -> Summary {
        let mut s = Summary::new("/usr/bin/prlimit", crate::Limits::default());
        let mut r = Reader::default();
        for line in trace.lines() {
            if let Some(rec) = r.line(line) {
                s.add(rec);
            }
        }
        s
    }

    const TRACE: &str = r#"100  execve("/usr/bin/bwrap", ["bwrap"], 0x1 /* 1 vars */) = 0
100  clone(child_stack=NULL, flags=CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET|SIGCHLD) = 101
101  mkdir("/newroot/usr", 0755)       = 0
101  clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 2 /* 102 in strace's PID NS */
102  execve("/usr/bin/prlimit", ["prlimit", "--nproc=64"], 0x1 /* 1 vars */) = 0
102  execve("/bin/sh", ["/bin/sh", "/tmp/payload.sh"], 0x1 /* 1 vars */) = 0
102  openat(AT_FDCWD</tmp>, "/etc/cron.d/x", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 EROFS (Read-only file system)
102  openat(AT_FDCWD</tmp>, "out.txt", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</tmp/out.txt>
102  openat(AT_FDCWD</tmp>, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3</etc/passwd>
102  clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f) = 3 /* 103 in strace's PID NS */
103  execve("/usr/bin/rm", ["rm", "-f", "/var/log/auth.log"], 0x1 /* 1 vars */) = 0
103  unlinkat(AT_FDCWD</tmp>, "/var/log/auth.log", 0) = -1 ENOENT (No such file or directory)
103  exit_group(0)                     = ?
103  +++ exited with 0 +++
102  socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 4<socket:[1]>
102  connect(4<socket:[1]>, {sa_family=AF_INET, sin_port=htons(4444), sin_addr=inet_addr("10.9.8.7")}, 16) = -1 ENETUNREACH (Network is unreachable)
102  dup2(4<socket:[1]>, 0</dev/null>) = 0<socket:[1]>
102  clone(child_stack=NULL, flags=SIGCHLD) = -1 EAGAIN (Resource temporarily unavailable)
102  chmod("/tmp/x", 04755)            = 0
102  utimensat(AT_FDCWD</tmp>, "x", [{tv_sec=1577836800, tv_nsec=0}, {tv_sec=1577836800, tv_nsec=0}], 0) = 0
102  setuid(0)                         = -1 EPERM (Operation not permitted)
102  exit_group(0)                     = ?
102  +++ exited with 0 +++
101  exit_group(0)                     = ?
"#;

    #[test]
    fn the_setup_is_left_out_and_the_script_recorded() {
        let s = summarise(TRACE);
        assert_eq!((s.init_pid, s.root_pid), (Some(101), Some(102)));
        let b = &s.behaviour;
        assert_eq!(b.interpreter, "/bin/sh");
        let programs: Vec<&str> = b.processes.iter().map(|p| p.program.as_str()).collect();
        assert_eq!(programs, ["/bin/sh", "/usr/bin/rm"]);
        assert_eq!(b.processes[1].parent, Some(102));
        let files: Vec<(&str, &str, Option<&str>)> = b
            .files
            .iter()
            .map(|f| (f.op.as_str(), f.path.as_str(), f.error.as_deref()))
            .collect();
        assert_eq!(
            files,
            [
                ("create", "/etc/cron.d/x", Some("EROFS")),
                ("create", "/tmp/out.txt", None),
                ("delete", "/var/log/auth.log", Some("ENOENT")),
                ("chmod", "/tmp/x", None),
                ("timestomp", "/tmp/x", None),
            ]
        );
        assert_eq!(b.files[3].mode, Some(0o4755));
        assert_eq!(b.connections.len(), 1);
        let c = &b.connections[0];
        assert_eq!(
            (c.address.as_str(), c.port, c.onto_stdio),
            ("10.9.8.7", 4444, true)
        );
        assert_eq!(c.program, "/bin/sh");
        assert_eq!(b.limits_hit, ["processes (at most 64)"]);
        assert_eq!(b.privilege.len(), 1);
        assert_eq!(b.exit, "exit code 0");
        assert!(s.live().is_empty());
    }
}
