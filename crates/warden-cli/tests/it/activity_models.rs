//! Models over user activity (`--format activity`): training the forest, the trees and the
//! sequence autoencoder on the shipped sample, evaluating them, and `warden detect` with
//! the three as an ensemble; models of the wrong kind are refused with the reason.

use crate::{root, run};
use serde_json::Value;

fn sample(name: &str) -> String {
    root()
        .join("examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn train(kind: &str, out: &str, extra: &[&str]) {
    let (events, labels) = (sample("activity.jsonl"), sample("labels.jsonl"));
    let mut args = vec![
        "train", kind, "--input", &events, "--format", "activity", "--labels", &labels, "--out",
        out,
    ];
    args.extend_from_slice(extra);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "train {kind}: {err}");
}

fn eval(model: &str) -> Value {
    let (events, labels) = (sample("activity.jsonl"), sample("labels.jsonl"));
    let (code, out, err) = run(&[
        "eval", "--model", model, "--input", &events, "--labels", &labels,
    ]);
    assert_eq!(code, 0, "eval {model}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn three_models_train_evaluate_and_join_detection() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (forest, trees, seq) = (path("if.wmdl"), path("gb.wmdl"), path("seq.wmdl"));
    train("iforest", &forest, &["--contamination", "0.05"]);
    train("gbdt", &trees, &["--trees", "30"]);
    train(
        "seqae",
        &seq,
        &[
            "--epochs", "2", "--hidden", "8", "--latent", "4", "--dense", "16", "--batch", "64",
        ],
    );
    // Attacks in the sample are far from its normal events for every model.
    for (model, floor) in [(&forest, 0.8), (&trees, 0.95), (&seq, 0.7)] {
        let e = eval(model);
        let auc = e["roc_auc"].as_f64().unwrap_or(0.0);
        assert!(auc >= floor, "{model}: ROC-AUC {auc} < {floor}");
        assert_eq!(
            e["format"],
            if model == &seq {
                "activity-sequence"
            } else {
                "activity"
            }
        );
    }

    let (code, out, err) = run(&[
        "detect",
        &sample("activity.jsonl"),
        "--all",
        "--model",
        &forest,
        "--model",
        &seq,
        "--model",
        &trees,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("as the sequence member"), "{err}");
    assert!(err.contains("0 failures, 0 circuit trips"), "{err}");
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 736);
    for field in [
        "isolation_forest_score",
        "lstm_autoencoder_score",
        "xgboost_ensemble_score",
    ] {
        assert!(lines.iter().all(|l| l[field].is_number()), "{field}");
    }
    let with_model_part = lines
        .iter()
        .filter(|l| {
            l["anomalies"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["type"] == "model_anomaly"))
        })
        .count();
    assert!(with_model_part > 0);

    // Two models of one kind, and a forest trained on flows, are refused.
    let (code, _, err) = run(&[
        "detect",
        &sample("activity.jsonl"),
        "--model",
        &forest,
        "--model",
        &forest,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a second isolation_forest model"), "{err}");
    let committed = root()
        .join("tests/data/models/iforest-nsl-kdd-v3.wmdl")
        .to_string_lossy()
        .into_owned();
    let (code, _, err) = run(&["detect", &sample("activity.jsonl"), "--model", &committed]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--format activity"), "{err}");
}

#[test]
fn activity_training_needs_what_it_needs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("m.wmdl").to_string_lossy().into_owned();
    let events = sample("activity.jsonl");
    // Trees without labels have nothing to learn from.
    let (code, _, err) = run(&[
        "train", "gbdt", "--input", &events, "--format", "activity", "--out", &out,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("labelled"), "{err}");
    // The autoencoder reads activity only; --normal-only needs labels.
    let (code, _, err) = run(&[
        "train", "seqae", "--input", &events, "--format", "nsl-kdd", "--out", &out,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--format activity"), "{err}");
    let (code, _, err) = run(&[
        "train",
        "seqae",
        "--input",
        &events,
        "--format",
        "activity",
        "--normal-only",
        "--out",
        &out,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--labels"), "{err}");
}
