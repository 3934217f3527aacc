//! Integration tests of the `warden` binary: they run it on fixtures and check its output.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is the report

mod activity_models;
mod dashboard;
mod detect;
mod graph;
mod hunt;
mod logs;
mod malformed;
mod ml;
mod otrf;
mod payload;
#[cfg(any(feature = "kafka", feature = "nats"))]
mod scale_out;
#[cfg(any(feature = "kafka", feature = "nats"))]
mod scale_out_windows;
mod send;
mod serve;
mod shared_data;
mod store;
#[cfg(feature = "kafka")]
mod tansu;
mod tokens;
#[cfg(feature = "kafka")]
mod worker;
#[cfg(feature = "kafka")]
mod worker_kafka_restart;
#[cfg(feature = "nats")]
mod worker_nats;

use assert_cmd::Command;
use std::path::PathBuf;

/// The repository root (fixtures live in `tests/data/` and `examples/`).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn data(name: &str) -> String {
    root()
        .join("tests/data")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

pub fn warden() -> Command {
    Command::cargo_bin("warden").expect("the warden binary is built for tests")
}

/// Runs warden, returning (status code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = warden().args(args).output().expect("warden runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `warden detect -q --labels LABELS --metrics-out … INPUT`, expecting success;
/// returns the metrics JSON and stderr.
pub fn evaluate(labels: &std::path::Path, input: &std::path::Path) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let metrics = dir.path().join("m.json");
    let (code, _, err) = run(&[
        "detect",
        "-q",
        "--labels",
        labels.to_str().unwrap(),
        "--metrics-out",
        metrics.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let m = serde_json::from_str(&std::fs::read_to_string(&metrics).unwrap()).unwrap();
    (m, err)
}

/// Parses JSON Lines output.
pub fn lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON line {l:?}: {e}")))
        .collect()
}
