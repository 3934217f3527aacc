//! Model files committed under `tests/data/models/` must keep loading and scoring exactly as
//! they did: each `NAME.wmdl` is scored on fixed, seeded inputs and compared with
//! `NAME.scores.json`. (`WARDEN_UPDATE_SNAPSHOTS=1` rewrites the expected scores — only for a new
//! fixture, never to make a changed model pass.)

use std::path::PathBuf;
use warden_models::ml::Matrix;
use warden_models::ml::artifact::ModelFile;
use warden_models::ml::rng::SplitMix64;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/models")
}

/// Rows in [0, 1], mostly small (as activity features are), some large.
fn probes(width: usize, n: usize) -> Matrix {
    let mut r = SplitMix64::new(2026);
    let mut m = Matrix::new(width);
    for i in 0..n {
        let loud = i % 4 == 0;
        let row: Vec<f32> = (0..width)
            .map(|_| {
                let v = r.next_f64();
                (if loud { v } else { v * v * v * 0.3 }) as f32
            })
            .collect();
        m.push(&row);
    }
    m
}

fn check(name: &str, kind: &str) {
    let dir = models_dir();
    let bytes = std::fs::read(dir.join(format!("{name}.wmdl")))
        .unwrap_or_else(|e| panic!("{name}.wmdl: {e}"));
    let file = ModelFile::from_bytes(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(file.model.kind(), kind);
    let x = probes(file.schema.width(), 40);
    let scores = file.model.score(&x);
    let expected_path = dir.join(format!("{name}.scores.json"));
    if std::env::var_os("WARDEN_UPDATE_SNAPSHOTS").is_some() {
        let json = serde_json::json!({
            "note": format!("scores of {name}.wmdl on crates/warden-models/tests/committed_models.rs probes(width, 40)"),
            "scores": scores,
        });
        std::fs::write(
            &expected_path,
            serde_json::to_string_pretty(&json).unwrap_or_default() + "\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{name}: {e}")),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let expected: Vec<f64> = expected["scores"]
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
        .unwrap_or_default();
    assert_eq!(expected.len(), scores.len(), "{name}");
    for (i, (a, b)) in scores.iter().zip(&expected).enumerate() {
        // Not bit-exact: the maths library behind `exp` and `tanh` may differ in the last
        // place between machines.
        assert!((a - b).abs() < 1e-6, "{name} row {i}: {a} != {b}");
    }
    // Scores spread: the probes are not all scored alike.
    let (lo, hi) = scores
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), s| (l.min(*s), h.max(*s)));
    assert!(hi - lo > 0.05, "{name}: {lo}..{hi}");
}

#[test]
fn committed_sequence_autoencoder_keeps_scoring_the_same() {
    check("seqae-activity-v3", "seqae");
}

#[test]
fn committed_activity_trees_keep_scoring_the_same() {
    check("gbdt-activity-v3", "gbdt");
}

#[test]
fn committed_window_autoencoder_keeps_scoring_the_same() {
    check("windowae-activity-v3", "windowae");
}
