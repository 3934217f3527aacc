//! What a sandboxed run costs: the same scripts run plainly (`sh -c`) and in the sandbox
//! (bubblewrap, strace, rlimits), with and without reading each process's memory at its
//! exit, each `--runs` times; prints the median and 95th percentile wall time per run.
//! `--whole-etc` binds `/etc` whole instead of what programs need of it (the setting
//! before that choice, to compare in one run).
//!
//!     cargo run --release -p warden-sandbox --example overhead -- --runs 20 [--whole-etc]

use std::process::Command;
use std::time::{Duration, Instant};

use warden_payload::Shell;
use warden_sandbox::{Sandbox, SandboxConfig};

const SCRIPTS: [(&str, &str); 3] = [
    ("an empty script (true)", "true"),
    (
        "ten commands",
        "ls -la /etc > /dev/null; id; uname -a; date; whoami; hostname; pwd; echo x | wc -c; cat /etc/hostname; true",
    ),
    (
        "a decoded pipeline (echo | base64 -d | sh, 3 commands)",
        "echo aWQ7IHVuYW1lIC1hOyBscyAvdG1wCg== | base64 -d | sh",
    ),
];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn measure(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    f(); // warm the page cache
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (percentile(&times, 0.5), percentile(&times, 0.95))
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(20usize);
    let mut config = SandboxConfig::default();
    if args.iter().any(|a| a == "--whole-etc") {
        config.ro_binds.retain(|p| !p.starts_with("/etc"));
        config.ro_binds.push("/etc".into());
    }
    let with_memory = Sandbox::new(config.clone())?;
    let without_memory = Sandbox::new(SandboxConfig {
        memory_scan: false,
        ..config
    })?;
    println!(
        "| script | plain sh, median / p95 ms | sandbox, median / p95 ms | sandbox + memory, median / p95 ms | processes |"
    );
    println!("|---|---|---|---|---|");
    for (name, script) in SCRIPTS {
        let plain = measure(runs, || {
            let _ = Command::new("/bin/sh").arg("-c").arg(script).output();
        });
        let mut processes = 0;
        let bare = measure(runs, || {
            if let Ok(b) = without_memory.run(script, Shell::Sh) {
                processes = b.processes.len();
            }
        });
        let full = measure(runs, || {
            let _ = with_memory.run(script, Shell::Sh);
        });
        println!(
            "| {name} | {} / {} | {} / {} | {} / {} | {processes} |",
            ms(plain.0),
            ms(plain.1),
            ms(bare.0),
            ms(bare.1),
            ms(full.0),
            ms(full.1)
        );
    }
    Ok(())
}
