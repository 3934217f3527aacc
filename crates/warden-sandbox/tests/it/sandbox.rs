use std::time::{Duration, Instant};

use warden_payload::Shell;
use warden_sandbox::{Behaviour, Sandbox, SandboxConfig};

fn sandbox_with(edit: impl FnOnce(&mut SandboxConfig)) -> Option<Sandbox> {
    let mut config = SandboxConfig::default();
    edit(&mut config);
    Sandbox::for_tests(config)
}

fn sandbox() -> Option<Sandbox> {
    sandbox_with(|_| {})
}

fn run(s: &Sandbox, script: &str) -> Behaviour {
    s.run(script, Shell::Bash)
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// Processes on this machine whose command line contains `needle`.
fn running(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if cmd.contains(needle) && !cmd.contains("cargo") {
            found.push(cmd);
        }
    }
    found
}

#[test]
fn a_connection_is_blocked_and_recorded_with_its_address() {
    let Some(s) = sandbox() else { return };
    let b = run(&s, "exec 3<>/dev/tcp/203.0.113.7/4444\necho after");
    let c = b
        .connections
        .iter()
        .find(|c| c.address == "203.0.113.7")
        .unwrap_or_else(|| panic!("no connection recorded: {:?}", b.connections));
    assert_eq!(
        (c.port, c.call.as_str(), c.family.as_str()),
        (4444, "connect", "inet")
    );
    assert!(c.error.is_some(), "the connection must fail: {c:?}");
    assert!(c.program.ends_with("bash"), "{c:?}");
}

#[test]
fn writes_outside_the_private_tmp_fail() {
    let Some(s) = sandbox() else { return };
    let name = format!("warden-sandbox-probe-{}", std::process::id());
    let b = run(
        &s,
        &format!(
            "echo x > /usr/{name}\necho y > /etc/{name}\necho z > /{name}\necho ok > /tmp/fine\ncat /tmp/fine"
        ),
    );
    for dir in ["/usr", "/etc", ""] {
        let path = format!("{dir}/{name}");
        let op = b
            .files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} not recorded: {:?}", b.files));
        assert!(op.error.is_some(), "{op:?}");
        assert!(
            !std::path::Path::new(&path).exists(),
            "{path} was written on the host"
        );
    }
    let tmp = b.files.iter().find(|f| f.path == "/tmp/fine");
    assert!(tmp.is_some_and(|f| f.error.is_none()), "{:?}", b.files);
    assert_eq!(b.stdout, "ok\n");
    assert_eq!(b.exit, "exit code 0");
}

/// `/etc` is not bound whole: what programs need is there (users, the loader's cache,
/// Debian's alternatives), the rest of the host's configuration — where a service keeps
/// its own settings and keys — is not.
#[test]
fn only_what_programs_need_of_etc_is_visible() {
    let Some(s) = sandbox() else { return };
    let b = run(
        &s,
        concat!(
            "grep -c '^root:' /etc/passwd\n",
            "echo a b | awk '{print $2}'\n",
            "ls /etc/apt > /dev/null 2>&1 || echo no-apt\n",
            "test -e /etc/fstab || echo no-fstab",
        ),
    );
    assert_eq!(b.stdout, "1\nb\nno-apt\nno-fstab\n", "{b:?}");
    assert!(
        std::path::Path::new("/etc/apt").exists(),
        "this host has /etc/apt"
    );
}

#[test]
fn the_script_never_runs_as_root_and_has_no_capabilities() {
    let Some(s) = sandbox() else { return };
    let b = run(&s, "id -u; grep CapEff /proc/self/status");
    assert!(
        b.stdout.contains("CapEff:\t0000000000000000"),
        "{}",
        b.stdout
    );
    if rustix::process::geteuid().is_root() {
        assert!(!b.stdout.starts_with("0\n"), "{}", b.stdout);
    }
}

#[test]
fn a_fork_bomb_is_contained() {
    let Some(s) = sandbox_with(|c| {
        c.timeout_secs = 5;
        c.limits.max_processes = 32;
        c.memory_scan = false;
    }) else {
        return;
    };
    let started = Instant::now();
    let b = run(&s, "bomb() { bomb | bomb & }; bomb; wait; sleep 2");
    assert!(
        b.limits_hit.iter().any(|l| l.starts_with("processes")),
        "{:?}",
        b.limits_hit
    );
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_memory_hog_is_contained() {
    let Some(s) = sandbox_with(|c| c.limits.memory_mb = 256) else {
        return;
    };
    let b = run(
        &s,
        "dd if=/dev/zero of=/dev/null bs=1G count=1; echo status=$?",
    );
    assert!(
        b.limits_hit.iter().any(|l| l.starts_with("memory")),
        "{:?} {}",
        b.limits_hit,
        b.stderr
    );
    assert!(b.stdout.contains("status=1"), "{}", b.stdout);
}

#[test]
fn the_timeout_kills_the_whole_process_tree() {
    let Some(s) = sandbox_with(|c| c.timeout_secs = 2) else {
        return;
    };
    let started = Instant::now();
    let b = run(&s, "sleep 1237 & (sleep 1238 &) ; while :; do :; done");
    assert!(b.timed_out);
    assert_eq!(b.exit, "timeout");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(200));
    assert!(running("sleep 1237").is_empty() && running("sleep 1238").is_empty());
}

#[test]
fn nothing_is_left_running_after_a_run() {
    let Some(s) = sandbox() else { return };
    let b = run(
        &s,
        "sleep 1239 &\nnohup sleep 1240 >/dev/null 2>&1 &\necho started",
    );
    assert_eq!(b.stdout, "started\n");
    assert!(!b.timed_out);
    std::thread::sleep(Duration::from_millis(200));
    assert!(running("sleep 1239").is_empty() && running("sleep 1240").is_empty());
}

#[test]
fn what_a_decoded_script_runs_is_traced_and_its_memory_read() {
    let Some(s) = sandbox() else { return };
    // "cat /etc/shadow > /tmp/h; echo bad >> ~/.bashrc" in base64, run through a pipe.
    let b = run(
        &s,
        "echo Y2F0IC9ldGMvc2hhZG93ID4gL3RtcC9oOyBlY2hvIGJhZCA+PiB+Ly5iYXNocmMK | base64 -d | sh",
    );
    let cat = b
        .processes
        .iter()
        .find(|p| p.program.ends_with("/cat"))
        .unwrap_or_else(|| panic!("{:?}", b.processes));
    assert_eq!(cat.argv, ["cat", "/etc/shadow"]);
    assert!(cat.parent.is_some());
    assert!(
        b.files.iter().any(|f| f.path == "/home/user/.bashrc"),
        "{:?}",
        b.files
    );
    assert!(
        b.memory
            .iter()
            .any(|m| m.strings.iter().any(|s| s.contains("/etc/shadow"))),
        "memory views: {:?}",
        b.memory
            .iter()
            .map(|m| (&m.program, m.strings.len()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn garbage_gets_a_run_not_a_crash() {
    let Some(s) = sandbox() else { return };
    let garbage: String = (0..4096u32)
        .map(|i| char::from_u32((i * 7919) % 0x2FF + 1).unwrap_or('?'))
        .collect();
    let b = run(&s, &garbage);
    assert!(!b.timed_out);
    assert!(b.exit.starts_with("exit code"), "{}", b.exit);
    let b = run(&s, &"QUJD".repeat(1 << 18));
    assert!(!b.timed_out);
}

#[test]
fn powershell_and_cmd_are_refused_with_a_reason() {
    let Some(s) = sandbox() else { return };
    let e = s.run("Get-Process", Shell::Powershell).err();
    assert!(e.is_some_and(|e| e.to_string().contains("statically")));
}
