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
    let gru = path("gru.wmdl");
    train(
        "seqae",
        &gru,
        &[
            "--encoder",
            "gru",
            "--epochs",
            "2",
            "--hidden",
            "8",
            "--latent",
            "4",
            "--dense",
            "16",
            "--batch",
            "64",
        ],
    );
    assert_eq!(
        eval(&seq)["model"],
        "windowae",
        "the dense encoder is the default"
    );
    assert_eq!(eval(&gru)["model"], "seqae");
    // Attacks in the sample are far from its normal events for every model.
    for (model, floor) in [(&forest, 0.8), (&trees, 0.95), (&seq, 0.7), (&gru, 0.7)] {
        let e = eval(model);
        let auc = e["roc_auc"].as_f64().unwrap_or(0.0);
        assert!(auc >= floor, "{model}: ROC-AUC {auc} < {floor}");
        assert_eq!(
            e["format"],
            if model == &seq || model == &gru {
                "activity-sequence"
            } else {
                "activity"
            }
        );
    }

    // A model call's time limit (50 ms) is for production builds; an unoptimised test
    // build on a busy machine may pass it, which would be counted as a failure.
    let config = dir.path().join("patient.toml");
    let detect_three = |ensemble: &str| {
        std::fs::write(
            &config,
            format!("[ueba.ensemble]\ntimeout_ms = 30000.0\n{ensemble}"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (code, out, err) = run(&[
            "detect",
            "--config",
            config.to_str().unwrap_or_default(),
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
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (lines, err)
    };
    // Every event asked about first, so every line carries the three scores.
    let (lines, err) = detect_three("only_when_decisive = false\n");
    assert!(err.contains("as the sequence member"), "{err}");
    assert!(err.contains("0 failures, 0 circuit trips"), "{err}");
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

    // Asked only where they decide (the default): the same HIGH and CRITICAL events, far
    // fewer with the models' scores, and those include the drift sample.
    let (gated, err) = detect_three("");
    assert!(err.contains("events below the point where the models could make a HIGH"));
    assert_eq!(gated.len(), lines.len());
    let high = |l: &Value| matches!(l["threat_level"].as_str(), Some("HIGH" | "CRITICAL"));
    for (a, b) in lines.iter().zip(&gated) {
        assert_eq!(a["event_id"], b["event_id"]);
        assert_eq!(high(a), high(b), "{a} / {b}");
    }
    assert!(lines.iter().any(high), "the sample holds HIGHs");
    let with_scores = gated
        .iter()
        .filter(|l| l["isolation_forest_score"].is_number())
        .count();
    let sampled: Vec<&Value> = gated
        .iter()
        .filter(|l| l["models_sampled"] == true)
        .collect();
    assert_eq!(sampled.len(), lines.len().div_ceil(64), "every 64th event");
    assert!(
        sampled
            .iter()
            .all(|l| l["xgboost_ensemble_score"].is_number())
    );
    assert!(
        with_scores < lines.len() / 4,
        "{with_scores} of {}",
        lines.len()
    );

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

#[test]
fn models_calibrated_on_held_out_users_carry_their_rarity_and_weights() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let split = ["--test-share", "0.2", "--validation-share", "0.4"];
    let with_split = |extra: &[&'static str]| {
        let mut v: Vec<&str> = split.to_vec();
        v.extend_from_slice(&["--users", "train"]);
        v.extend_from_slice(extra);
        v
    };
    let (forest, seq) = (path("if.wmdl"), path("seq.wmdl"));
    train(
        "iforest",
        &forest,
        &with_split(&["--contamination", "0.05"]),
    );
    train(
        "seqae",
        &seq,
        &with_split(&[
            "--epochs", "2", "--hidden", "8", "--latent", "4", "--dense", "16",
        ]),
    );
    let (events, labels) = (sample("activity.jsonl"), sample("labels.jsonl"));
    let out_dir = path("calibrated");
    let calibrate = |models: &[&str], extra: &[&str]| {
        let mut args = vec![
            "train",
            "calibrate",
            "--input",
            &events,
            "--labels",
            &labels,
        ];
        for m in models {
            args.extend_from_slice(&["--model", m]);
        }
        args.extend_from_slice(&["--out-dir", &out_dir]);
        args.extend_from_slice(extra);
        run(&args)
    };
    let (code, _, err) = calibrate(&[&forest, &seq], &split);
    assert_eq!(code, 0, "calibrate: {err}");
    assert!(err.contains("validation users:"), "{err}");
    // Each model's weight is printed; together they make 1, each at least the floor.
    let weights: Vec<f64> = err
        .lines()
        .filter_map(|l| l.split("weight ").nth(1))
        .filter_map(|w| w.split(';').next()?.trim().parse().ok())
        .collect();
    assert_eq!(weights.len(), 2, "{err}");
    assert!(
        (weights.iter().sum::<f64>() - 1.0).abs() < 1e-6,
        "{weights:?}"
    );
    assert!(weights.iter().all(|w| *w >= 0.2 - 1e-9), "{weights:?}");
    // The calibrated files load and score in detection.
    let (code, out, err) = run(&[
        "detect",
        &events,
        "--all",
        "--model",
        &format!("{out_dir}/if.wmdl"),
        "--model",
        &format!("{out_dir}/seq.wmdl"),
    ]);
    assert_eq!(code, 0, "detect: {err}");
    let scored: Vec<Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let sampled: Vec<&Value> = scored
        .iter()
        .filter(|s| s["models_sampled"] == true)
        .collect();
    assert!(!sampled.is_empty());
    assert!(
        sampled
            .iter()
            .all(|s| s["isolation_forest_score"].is_number())
    );
    // Calibration needs validation users.
    let (code, _, err) = calibrate(&[&forest], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("--validation-share"), "{err}");
}

/// `warden detect -` on a live stream follows the registry: activating another version
/// swaps it in while events keep flowing, and later events are scored by it.
#[test]
fn a_live_stream_picks_up_a_newly_activated_model() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let (store, v1, v2) = (path("w.db"), path("v1.wmdl"), path("v2.wmdl"));
    train("iforest", &v1, &["--seed", "1"]);
    train("iforest", &v2, &["--seed", "2", "--contamination", "0.1"]);
    for (m, activate) in [(&v1, true), (&v2, false)] {
        let mut args = vec![
            "models", "register", "--store", &store, "--name", "forest", m,
        ];
        if activate {
            args.push("--activate");
        }
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
    }
    let events = std::fs::read_to_string(sample("activity.jsonl")).unwrap_or_default();
    let lines: Vec<&str> = events.lines().collect();
    let (before, after) = lines.split_at(600);

    let bin = assert_cmd::cargo::cargo_bin("warden");
    let mut child = Command::new(&bin)
        .args([
            "detect",
            "-",
            "--all",
            "--store",
            &store,
            "--registry-model",
            "forest",
            "--reload-secs",
            "1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // Read stdout all along: a full pipe would stop detect from reading its input.
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let collector = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut all);
        all
    });
    let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return,
                Ok(_) => {}
                Err(_) => panic!("no `{needle}` on stderr"),
            }
        }
    };
    wait_for("forest v1 as the isolation_forest member");
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
    stdin
        .write_all((before.join("\n") + "\n").as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    stdin.flush().unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = run(&[
        "models",
        "activate",
        "--store",
        &store,
        "--name",
        "forest",
        "--version",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    wait_for("model forest: v2 in use (was v1)");
    stdin
        .write_all((after.join("\n") + "\n").as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    drop(stdin);
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    let _ = reader.join();
    assert!(status.success());
    let out = collector.join().unwrap_or_default();
    let streamed: Vec<Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(streamed.len(), lines.len());

    // The events sent after the swap are scored exactly as by version 2 alone.
    let (code, reference, err) =
        run(&["detect", &sample("activity.jsonl"), "--all", "--model", &v2]);
    assert_eq!(code, 0, "{err}");
    let reference: Vec<Value> = reference
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for (s, r) in streamed.iter().zip(&reference).skip(before.len()) {
        assert_eq!(s["isolation_forest_score"], r["isolation_forest_score"]);
    }
    // And they differ from version 1 somewhere.
    let (_, v1_out, _) = run(&["detect", &sample("activity.jsonl"), "--all", "--model", &v1]);
    let v1_scores: Vec<Value> = v1_out
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["isolation_forest_score"].clone())
        .collect();
    assert!(
        streamed
            .iter()
            .zip(&v1_scores)
            .skip(before.len())
            .any(|(s, v)| s["isolation_forest_score"] != *v)
    );
}
