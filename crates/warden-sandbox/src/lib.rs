//! Runs a shell script in a sandbox and records what it does.
//!
//! The script runs under bubblewrap with every namespace unshared (no network: connections
//! fail and are recorded with their destination), the system directories bound read-only, a
//! private tmpfs for `/tmp`, `/var` and a home directory, no capabilities, a clean
//! environment, and rlimits on CPU time, address space, processes, file size and open files
//! (set by `prlimit` inside the namespaces, so they count the sandbox's processes only). When
//! Warden runs as root the sandbox runs as an unprivileged user, since the kernel lets root
//! past the process limit. strace (`-f`, with a seccomp filter so only the calls of interest
//! stop the process) records every process of the run; [`summary`] turns the record into a
//! [`Behaviour`]. Each process is held for a moment as it exits so its memory can be read
//! ([`memory`]). The run is stopped at the wall-clock limit by killing the sandbox's first
//! process, which takes every process of its PID namespace with it; nothing outlives a run.

pub mod memory;
mod run;
pub mod strace;
pub mod summary;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_payload::Shell;
pub use warden_payload::dynamic::Behaviour;

/// The sandbox's settings (`[sandbox]` in the configuration file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SandboxConfig {
    /// Whether the service accepts requests for a sandboxed run (the CLI asks with
    /// `--sandbox`).
    pub enabled: bool,
    /// Wall-clock limit of a run.
    pub timeout_secs: u64,
    #[serde(flatten)]
    pub limits: Limits,
    /// The user the sandbox runs as when Warden runs as root.
    pub run_as: String,
    /// System directories and files bound read-only (those that exist; symbolic links are
    /// kept as links): by default the system's programs and libraries and what of `/etc`
    /// programs need, not `/etc` whole.
    pub ro_binds: Vec<PathBuf>,
    /// Read the memory of each process as it exits.
    pub memory_scan: bool,
    /// Memory read per process, in MiB.
    pub memory_scan_mb: u64,
    /// How long each exiting process is held so its memory can be read.
    pub exit_hold_ms: u64,
    /// Largest trace kept, in MiB; a run whose trace grows past it is stopped.
    pub max_trace_mb: u64,
    /// Runs at once (the service queues the rest).
    pub concurrency: usize,
}

/// The rlimits of the sandboxed processes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub cpu_secs: u64,
    pub memory_mb: u64,
    pub max_processes: u64,
    pub file_mb: u64,
    pub open_files: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_secs: 10,
            memory_mb: 512,
            max_processes: 64,
            file_mb: 16,
            open_files: 256,
        }
    }
}

/// The system's programs and libraries, bound read-only.
const SYSTEM_DIRS: &[&str] = &["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64"];

/// What of `/etc` programs need to run as they would (users and groups, the loader's
/// cache, name service, time zone, Debian's alternatives, shell start-up files,
/// certificates), not `/etc` whole: a script must not read the configuration and keys of
/// the service that runs it, which the sandbox's user may be able to (Warden not run as
/// root runs the sandbox under its own user). Writes under `/etc` fail as before: the
/// sandbox's root is read-only.
const ETC_SHARED: &[&str] = &[
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/alternatives",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/resolv.conf",
    "/etc/protocols",
    "/etc/services",
    "/etc/shells",
    "/etc/profile",
    "/etc/profile.d",
    "/etc/bash.bashrc",
    "/etc/environment",
    "/etc/inputrc",
    "/etc/os-release",
    "/etc/debian_version",
    "/etc/issue",
    "/etc/ssl/certs",
    "/etc/ca-certificates",
    "/etc/mime.types",
    "/etc/magic",
];

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            enabled: false,
            timeout_secs: 30,
            limits: Limits::default(),
            run_as: "nobody".into(),
            ro_binds: SYSTEM_DIRS
                .iter()
                .chain(ETC_SHARED)
                .map(PathBuf::from)
                .collect(),
            memory_scan: true,
            memory_scan_mb: 16,
            exit_hold_ms: 40,
            max_trace_mb: 64,
            concurrency: 2,
        }
    }
}

impl SandboxConfig {
    pub fn validate(&self) -> Result<(), String> {
        let l = self.limits;
        if !(1..=3600).contains(&self.timeout_secs) {
            return Err("sandbox.timeout_secs must be between 1 and 3600".into());
        }
        if l.cpu_secs == 0
            || l.memory_mb < 16
            || l.max_processes == 0
            || l.file_mb == 0
            || l.open_files < 16
        {
            return Err(
                "sandbox limits: cpu_secs ≥ 1, memory_mb ≥ 16, max_processes ≥ 1, file_mb ≥ 1, open_files ≥ 16"
                    .into(),
            );
        }
        if self.ro_binds.iter().any(|p| !p.is_absolute()) {
            return Err("sandbox.ro_binds must be absolute paths".into());
        }
        if self.concurrency == 0 || self.max_trace_mb == 0 || self.exit_hold_ms > 1000 {
            return Err("sandbox: concurrency ≥ 1, max_trace_mb ≥ 1, exit_hold_ms ≤ 1000".into());
        }
        Ok(())
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{0} is not installed (the sandbox needs bubblewrap, strace and prlimit)")]
    Missing(&'static str),
    #[error("the sandbox runs sh and bash scripts ({0} is analysed statically only)")]
    Unsupported(Shell),
    #[error("the sandbox could not start: {0}")]
    Start(String),
    #[error("sandbox I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// A ready sandbox: the tools found, the settings checked.
#[derive(Debug, Clone)]
pub struct Sandbox {
    config: SandboxConfig,
    bwrap: PathBuf,
    strace: PathBuf,
    prlimit: PathBuf,
    setpriv: Option<PathBuf>,
    /// The user to run as (Warden runs as root).
    run_as: Option<String>,
}

impl Sandbox {
    /// Finds the tools; fails with the name of the first one missing.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        config.validate().map_err(SandboxError::Start)?;
        let bwrap = which("bwrap").ok_or(SandboxError::Missing("bwrap (bubblewrap)"))?;
        let strace = which("strace").ok_or(SandboxError::Missing("strace"))?;
        let prlimit = which("prlimit").ok_or(SandboxError::Missing("prlimit (util-linux)"))?;
        let root = rustix::process::geteuid().is_root();
        Ok(Sandbox {
            run_as: root.then(|| config.run_as.clone()),
            setpriv: which("setpriv"),
            config,
            bwrap,
            strace,
            prlimit,
        })
    }

    /// A sandbox that has run a trivial script here: the tools are there and this machine
    /// lets them make namespaces (what a service checks at start, and tests before running).
    pub fn probe(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let s = Sandbox::new(config)?;
        s.run("true", Shell::Sh)?;
        Ok(s)
    }

    /// For tests: the sandbox when it can run here; otherwise `None` after saying why on
    /// stderr — unless `WARDEN_REQUIRE_SANDBOX` is set (CI sets it), where it panics.
    pub fn for_tests(config: SandboxConfig) -> Option<Sandbox> {
        match Sandbox::probe(config) {
            Ok(s) => Some(s),
            Err(e) if std::env::var_os("WARDEN_REQUIRE_SANDBOX").is_none() => {
                eprintln!("skipped: the sandbox cannot run here ({e})");
                None
            }
            Err(e) => panic!("the sandbox is required here and cannot run: {e}"),
        }
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// Runs a script and returns what it did. Blocks for up to the wall-clock limit (plus
    /// the time to stop the run).
    pub fn run(&self, script: &str, shell: Shell) -> Result<Behaviour, SandboxError> {
        let interpreter = match shell {
            Shell::Sh => "/bin/sh",
            Shell::Bash => "/bin/bash",
            other => return Err(SandboxError::Unsupported(other)),
        };
        run::run(self, script, interpreter)
    }
}

/// The first executable called `name` on the PATH (or the usual system directories).
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
                .iter()
                .map(PathBuf::from),
        )
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
