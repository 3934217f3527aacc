//! `warden train` / `warden eval` on generated NSL-KDD-shaped flows, the committed
//! compatibility model, and quality floors on the shared data sets (skipped when absent).

use crate::{data, root, run};
use serde_json::Value;
use std::fmt::Write as _;

/// NSL-KDD-shaped rows: normal traffic in a tight cluster, attacks far from it, a few bad
/// lines among them. Deterministic.
fn nsl_rows(n: usize, attacks_every: usize, seed: u64) -> String {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as f64 / (1u64 << 31) as f64
    };
    let mut out = String::new();
    for i in 0..n {
        let attack = attacks_every > 0 && i % attacks_every == 0;
        let (bytes, count, rate, service, label) = if attack {
            (
                50_000.0 + 10_000.0 * next(),
                400.0 + 100.0 * next(),
                0.9 + 0.1 * next(),
                "private",
                "neptune",
            )
        } else {
            (
                200.0 + 50.0 * next(),
                5.0 + 3.0 * next(),
                0.05 * next(),
                "http",
                "normal",
            )
        };
        let mut fields: Vec<String> = vec!["0".into(), "tcp".into(), service.into(), "SF".into()];
        fields.push(format!("{bytes:.0}"));
        fields.push(format!("{:.0}", bytes * 2.0));
        for _ in 6..22 {
            fields.push("0".into());
        }
        fields.push(format!("{count:.0}"));
        fields.push(format!("{count:.0}"));
        for _ in 24..41 {
            fields.push(format!("{rate:.2}"));
        }
        fields.push(label.into());
        fields.push("20".into());
        let _ = writeln!(out, "{}", fields.join(","));
        if i == 7 {
            out.push_str("0,tcp,http,SF,not-a-number\n");
        }
    }
    out
}

/// `warden train KIND --input INPUT --format FORMAT --out OUT EXTRA…`.
fn train_model(
    kind: &str,
    input: &str,
    format: &str,
    out: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec![
        "train", kind, "--input", input, "--format", format, "--out", out,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

#[test]
fn train_then_eval_on_generated_flows() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    let model = dir.path().join("m.wmdl");
    std::fs::write(&train, nsl_rows(600, 10, 1)).unwrap();
    std::fs::write(&test, nsl_rows(400, 4, 2)).unwrap();
    let (code, _, err) = train_model(
        "iforest",
        train.to_str().unwrap(),
        "nsl-kdd",
        model.to_str().unwrap(),
        &["--normal-only", "--seed", "3"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("trained iforest on 540 rows") && err.contains("1 bad rows"),
        "{err}"
    );
    assert!(err.contains("train.csv:9: expected 42 or 43"), "{err}");
    let (code, out, err) = run(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--input",
        test.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    for k in [
        "roc_auc",
        "pr_auc",
        "precision",
        "recall",
        "f1",
        "accuracy",
        "confusion",
        "threshold",
    ] {
        assert!(v.get(k).is_some(), "missing {k}: {out}");
    }
    assert!(v["roc_auc"].as_f64().unwrap() > 0.99, "{out}");
    assert_eq!(v["rows"], 400);
    assert_eq!(v["attacks"], 100);
    assert_eq!(v["by_kind"]["neptune"]["rows"], 100);
    assert!(
        v["by_kind"]["neptune"]["rate"].as_f64().unwrap() > 0.9,
        "{out}"
    );
    // The same seed gives the same model, byte for byte except the creation time.
    let again = dir.path().join("m2.wmdl");
    train_model(
        "iforest",
        train.to_str().unwrap(),
        "nsl-kdd",
        again.to_str().unwrap(),
        &["--normal-only", "--seed", "3"],
    );
    let (_, out2, _) = run(&[
        "eval",
        "--model",
        again.to_str().unwrap(),
        "--input",
        test.to_str().unwrap(),
    ]);
    let v2: Value = serde_json::from_str(&out2).unwrap();
    assert_eq!(v["roc_auc"], v2["roc_auc"]);
    assert_eq!(v["confusion"], v2["confusion"]);
}

#[test]
fn mismatched_models_and_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("g.wmdl");
    std::fs::write(&garbage, b"not a model").unwrap();
    let test = dir.path().join("t.csv");
    std::fs::write(&test, nsl_rows(50, 5, 1)).unwrap();
    let (code, _, err) = run(&[
        "eval",
        "--model",
        garbage.to_str().unwrap(),
        "--input",
        test.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("not a Warden model"), "{err}");
    let model = data("models/iforest-nsl-kdd-v1.wmdl");
    let (code, _, err) = run(&[
        "eval",
        "--model",
        &model,
        "--input",
        test.to_str().unwrap(),
        "--format",
        "unsw-nb15",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("trained on nsl-kdd"), "{err}");
    let (code, _, err) = train_model(
        "iforest",
        test.to_str().unwrap(),
        "nsl-kdd",
        "/dev/null",
        &["--trees", "0"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("n_trees"), "{err}");
}

/// Models written by earlier builds (every file format version) must keep loading and
/// scoring the same.
#[test]
fn committed_models_keep_loading() {
    let dir = tempfile::tempdir().unwrap();
    let test = dir.path().join("t.csv");
    std::fs::write(&test, nsl_rows(200, 4, 9)).unwrap();
    for version in ["v1", "v2", "v3"] {
        let model = data(&format!("models/iforest-nsl-kdd-{version}.wmdl"));
        let (code, out, err) = run(&["eval", "--model", &model, "--input", test.to_str().unwrap()]);
        assert_eq!(code, 0, "{version}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let expected_file = data(&format!("models/iforest-nsl-kdd-{version}.expected.json"));
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(expected_file).unwrap()).unwrap();
        assert_eq!(v["confusion"], expected["confusion"], "{version}: {out}");
        assert_eq!(v["roc_auc"], expected["roc_auc"], "{version}: {out}");
    }
}

#[test]
fn detect_scores_flows_with_explanations() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    let model = dir.path().join("m.wmdl");
    std::fs::write(&train, nsl_rows(600, 10, 1)).unwrap();
    std::fs::write(&test, nsl_rows(100, 4, 2)).unwrap();
    let m = model.to_str().unwrap();
    let t = test.to_str().unwrap();
    let (code, _, err) = train_model(
        "iforest",
        train.to_str().unwrap(),
        "nsl-kdd",
        m,
        &["--normal-only"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&["detect", "--format", "nsl-kdd", "--model", m, t]);
    assert_eq!(code, 0, "{err}");
    let flows = crate::lines(&out);
    assert!(err.contains("flows 100"), "{err}");
    let attacks: Vec<&Value> = flows.iter().filter(|f| f["label"] == "neptune").collect();
    assert_eq!(attacks.len(), 25, "every attack flow reported: {out}");
    let a = attacks[0];
    assert!(a["anomalous"] == true);
    assert!(a["score"].as_f64().unwrap() >= a["threshold"].as_f64().unwrap());
    let top = a["top_features"].as_array().unwrap();
    assert!(!top.is_empty() && top.len() <= 3);
    // The generated attacks differ in volume, counts, rates and service: those isolate them.
    let names: Vec<&str> = top.iter().filter_map(|t| t["feature"].as_str()).collect();
    assert!(
        names.iter().any(|n| ["bytes", "count", "rate", "service"]
            .iter()
            .any(|k| n.contains(k))),
        "{names:?}"
    );
    assert!(
        a["explanation"]
            .as_str()
            .unwrap()
            .starts_with("anomalous flow"),
        "{a}"
    );
    // A model for another format, or none at all, is refused.
    let (code, _, err) = run(&["detect", "--format", "zeek-conn", "--model", m, t]);
    assert_eq!(code, 1);
    assert!(err.contains("trained on nsl-kdd"), "{err}");
    let (code, _, err) = run(&["detect", "--format", "nsl-kdd", t]);
    assert_eq!(code, 1);
    assert!(err.contains("--model"), "{err}");
}

#[test]
fn drift_is_stable_on_like_data_and_flags_a_shift() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let same = dir.path().join("same.csv");
    let shifted = dir.path().join("shifted.csv");
    let model = dir.path().join("m.wmdl");
    std::fs::write(&train, nsl_rows(2000, 0, 1)).unwrap();
    std::fs::write(&same, nsl_rows(1000, 0, 2)).unwrap();
    std::fs::write(&shifted, nsl_rows(1000, 2, 3)).unwrap();
    let m = model.to_str().unwrap();
    let (code, _, err) = train_model("iforest", train.to_str().unwrap(), "nsl-kdd", m, &[]);
    assert_eq!(code, 0, "{err}");
    let drift = |input: &std::path::Path| {
        let (code, out, err) = run(&["drift", "--model", m, "--input", input.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<Value>(&out).unwrap()
    };
    let a = drift(&same);
    assert_eq!(a["verdict"], "stable", "{a}");
    assert_eq!(a["shifted_features"], 0);
    let b = drift(&shifted);
    assert_eq!(b["verdict"], "significant shift", "{b}");
    assert_eq!(b["score"]["verdict"], "significant shift", "{b}");
    let top = &b["features"][0];
    assert!(top["psi"].as_f64().unwrap() > 0.25, "{b}");
    // A model written before drift references existed says so.
    let (code, _, err) = run(&[
        "drift",
        "--model",
        &data("models/iforest-nsl-kdd-v2.wmdl"),
        "--input",
        same.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no training reference"), "{err}");
}

fn shared_split(
    name: &str,
    file: &str,
    header: bool,
) -> Option<(tempfile::TempDir, std::path::PathBuf, std::path::PathBuf)> {
    use std::io::Read;
    let path = root().join("../shared/data").join(name).join(file);
    if !path.exists() {
        eprintln!(
            "skipped: {} not found (shared data set absent)",
            path.display()
        );
        return None;
    }
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let head = if header { Some(lines.remove(0)) } else { None };
    // Deterministic split: every third row tests, the others train.
    let (mut train, mut test) = (String::new(), String::new());
    if let Some(h) = head {
        train.push_str(h);
        train.push('\n');
        test.push_str(h);
        test.push('\n');
    }
    for (i, l) in lines.iter().enumerate() {
        let dst = if i % 3 == 0 { &mut test } else { &mut train };
        dst.push_str(l);
        dst.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let (tr, te) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    std::fs::write(&tr, train).unwrap();
    std::fs::write(&te, test).unwrap();
    Some((dir, tr, te))
}

fn auc_on(format: &str, tr: &std::path::Path, te: &std::path::Path, dir: &std::path::Path) -> f64 {
    let model = dir.join("m.wmdl");
    let (code, _, err) = train_model(
        "iforest",
        tr.to_str().unwrap(),
        format,
        model.to_str().unwrap(),
        &["--normal-only"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--input",
        te.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    v["roc_auc"].as_f64().unwrap()
}

#[test]
fn isolation_forest_quality_floor_on_nsl_kdd() {
    let Some((dir, tr, te)) = shared_split("nsl-kdd", "KDDTrain+.txt.gz", false) else {
        return;
    };
    let auc = auc_on("nsl-kdd", &tr, &te, dir.path());
    // scikit-learn's IsolationForest scores 0.982 on this kind of split (docs/benchmarks.md).
    assert!(auc >= 0.95, "ROC AUC {auc}");
}

#[test]
fn isolation_forest_quality_floor_on_unsw_nb15() {
    let Some((dir, tr, te)) =
        shared_split("unsw-nb15", "UNSW_NB15_training-set.visible70.csv.gz", true)
    else {
        return;
    };
    let auc = auc_on("unsw-nb15", &tr, &te, dir.path());
    // scikit-learn: 0.737 on this kind of split.
    assert!(auc >= 0.70, "ROC AUC {auc}");
}

#[test]
fn boosted_trees_train_score_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    let model = dir.path().join("g.wmdl");
    std::fs::write(&train, nsl_rows(1500, 5, 1)).unwrap();
    std::fs::write(&test, nsl_rows(400, 4, 2)).unwrap();
    let m = model.to_str().unwrap();
    let (code, _, err) = train_model(
        "gbdt",
        train.to_str().unwrap(),
        "nsl-kdd",
        m,
        &["--trees", "30"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("trained gbdt on 1500 rows") && err.contains("most important"),
        "{err}"
    );
    let (code, out, err) = run(&["eval", "--model", m, "--input", test.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["model"], "gbdt");
    assert!(v["roc_auc"].as_f64().unwrap() > 0.99, "{out}");
    assert!(v["accuracy"].as_f64().unwrap() > 0.98, "{out}");
    let (code, out, err) = run(&[
        "detect",
        "--format",
        "nsl-kdd",
        "--model",
        m,
        test.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let flows = crate::lines(&out);
    assert!(
        flows.iter().filter(|f| f["label"] == "neptune").count() >= 95,
        "{err}"
    );
    let a = flows.iter().find(|f| f["label"] == "neptune").unwrap();
    let e = a["explanation"].as_str().unwrap();
    assert!(
        e.starts_with("anomalous flow (attack probability") && e.contains("log-odds"),
        "{e}"
    );
    // Exact SHAP values push an attack towards the attack class.
    let pushes: f64 = a["top_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["share"].as_f64().unwrap())
        .sum();
    assert!(pushes > 0.0, "{a}");
    // Unlabelled input cannot train boosted trees.
    let zeek = dir.path().join("conn.log");
    std::fs::write(&zeek, "#fields\tproto\tservice\tconn_state\tduration\n#types\tenum\tstring\tstring\tinterval\ntcp\thttp\tSF\t0.5\n").unwrap();
    let (code, _, err) = train_model("gbdt", zeek.to_str().unwrap(), "zeek-conn", m, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("labelled rows"), "{err}");
}

#[test]
fn registry_register_activate_detect_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("w.db");
    let s = store.to_str().unwrap();
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    std::fs::write(&train, nsl_rows(600, 10, 1)).unwrap();
    std::fs::write(&test, nsl_rows(100, 4, 2)).unwrap();
    let (m1, m2) = (dir.path().join("1.wmdl"), dir.path().join("2.wmdl"));
    for (m, kind) in [(&m1, "iforest"), (&m2, "gbdt")] {
        let extra: &[&str] = if kind == "iforest" {
            &["--normal-only"]
        } else {
            &[]
        };
        let (code, _, err) = train_model(
            kind,
            train.to_str().unwrap(),
            "nsl-kdd",
            m.to_str().unwrap(),
            extra,
        );
        assert_eq!(code, 0, "{err}");
    }
    let (code, _, err) = run(&[
        "models",
        "register",
        "--store",
        s,
        "--name",
        "flows",
        m1.to_str().unwrap(),
        "--activate",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("version 1, active"), "{err}");
    let (code, _, err) = run(&[
        "models",
        "register",
        "--store",
        s,
        "--name",
        "flows",
        m2.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let detect = || {
        let (code, out, err) = run(&[
            "detect",
            "--format",
            "nsl-kdd",
            "--store",
            s,
            "--registry-model",
            "flows",
            test.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        crate::lines(&out)
            .first()
            .map(|v| v["model"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(detect().as_deref(), Some("iforest"));
    let (code, _, err) = run(&[
        "models",
        "activate",
        "--store",
        s,
        "--name",
        "flows",
        "--version",
        "2",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(detect().as_deref(), Some("gbdt"));
    let (code, out, _) = run(&["models", "list", "--store", s, "--json"]);
    assert_eq!(code, 0);
    let listed = crate::lines(&out);
    assert_eq!(listed.len(), 2);
    assert!(
        listed
            .iter()
            .any(|m| m["version"] == 2 && m["active"] == true && m["kind"] == "gbdt")
    );
    let (code, _, err) = run(&["models", "rollback", "--store", s, "--name", "flows"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("rolled back to version 1"), "{err}");
    assert_eq!(detect().as_deref(), Some("iforest"));
    let (code, _, err) = run(&[
        "models",
        "activate",
        "--store",
        s,
        "--name",
        "flows",
        "--version",
        "7",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no model `flows` version 7"), "{err}");
    let bogus = dir.path().join("bogus.wmdl");
    std::fs::write(&bogus, b"nope").unwrap();
    let (code, _, err) = run(&[
        "models",
        "register",
        "--store",
        s,
        "--name",
        "flows",
        bogus.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("not a Warden model"), "{err}");
}

#[test]
fn multiclass_boosted_trees_name_the_kind() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test, model) = (
        dir.path().join("train.csv"),
        dir.path().join("test.csv"),
        dir.path().join("m.wmdl"),
    );
    // Two attack kinds: the generator's "neptune", and a relabelled copy of normal-looking
    // rows on another service ("probe").
    let relabel = |text: String| -> String {
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                if i % 7 == 3 && l.contains(",normal,") {
                    l.replace(",http,", ",ftp,").replace(",normal,", ",probe,")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    std::fs::write(&train, relabel(nsl_rows(2000, 5, 1))).unwrap();
    std::fs::write(&test, relabel(nsl_rows(500, 5, 2))).unwrap();
    let m = model.to_str().unwrap();
    let (code, _, err) = train_model(
        "gbdt",
        train.to_str().unwrap(),
        "nsl-kdd",
        m,
        &["--multiclass", "--trees", "30"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("trained gbdt-multiclass"), "{err}");
    let (code, out, err) = run(&["eval", "--model", m, "--input", test.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["model"], "gbdt-multiclass");
    assert!(v["class_accuracy"].as_f64().unwrap() > 0.97, "{out}");
    let (code, out, err) = run(&[
        "detect",
        "--format",
        "nsl-kdd",
        "--model",
        m,
        test.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let flows = crate::lines(&out);
    let probe = flows
        .iter()
        .find(|f| f["label"] == "probe")
        .expect("a probe flow is reported");
    assert_eq!(probe["predicted_class"][0], "probe", "{probe}");
    assert!(
        probe["explanation"]
            .as_str()
            .unwrap()
            .contains("most likely probe"),
        "{probe}"
    );
}
