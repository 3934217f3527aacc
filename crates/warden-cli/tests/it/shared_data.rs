//! Detection quality on the shared, labelled UEBA data set, asserted against the targets in
//! docs/benchmarks.md. Skipped, with a message, where `../shared/data/ueba/` is absent.

use super::{evaluate, root};

#[test]
fn ueba_dataset_meets_detection_targets() {
    let dir = root().join("../shared/data/ueba");
    let (events, labels) = (dir.join("events.jsonl.gz"), dir.join("labels.jsonl.gz"));
    if !events.exists() || !labels.exists() {
        eprintln!(
            "skipped: {} not found (shared data set absent)",
            dir.display()
        );
        return;
    }
    let (m, _) = evaluate(&labels, &events);
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let attacks = &m["attacks_total"];
    assert!(
        f(&attacks["rate_high"]) >= 0.95,
        "attacks at HIGH: {attacks}"
    );
    assert_eq!(
        f(&attacks["rate_medium"]),
        1.0,
        "every attack at MEDIUM: {attacks}"
    );
    assert!(
        f(&attacks["type_accuracy_high"]) >= 0.90,
        "right type named: {attacks}"
    );
    assert!(
        f(&m["normal"]["fpr_high"]) <= 0.0005,
        "normal FPR at HIGH: {}",
        m["normal"]
    );
    assert!(
        f(&m["hard_negatives_total"]["rate_high"]) <= 0.20,
        "hard negatives: {}",
        m["hard_negatives_total"]
    );
}

/// The SigmaHQ folders the engine must load (everything but `unsupported/`).
fn sigma_dirs() -> Option<Vec<String>> {
    let dir = root().join("../shared/data/sigma");
    if !dir.join("rules").exists() {
        eprintln!(
            "skipped: {} not found (shared data set absent)",
            dir.display()
        );
        return None;
    }
    Some(
        [
            "rules",
            "rules-emerging-threats",
            "rules-threat-hunting",
            "rules-compliance",
            "rules-placeholder",
        ]
        .iter()
        .map(|d| dir.join(d).to_string_lossy().into_owned())
        .collect(),
    )
}

#[test]
fn sigmahq_rules_load_or_say_why() {
    let Some(dirs) = sigma_dirs() else { return };
    let mut args = vec!["rules", "lint", "--json"];
    args.extend(dirs.iter().map(String::as_str));
    let (code, out, err) = super::run(&args);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let loaded = v["loaded"].as_f64().unwrap() + v["correlations"].as_f64().unwrap();
    let skipped = v["skipped"].as_array().unwrap();
    let share = loaded / (loaded + skipped.len() as f64);
    assert!(share >= 0.99, "loaded {loaded}, skipped {}", skipped.len());
    // The only acceptable reason: a placeholder nobody configured (a limit of the rule).
    for s in skipped {
        assert_eq!(s["reason"], "unknown-placeholder", "{s}");
    }
}

#[test]
fn sigmahq_regression_fixtures_all_pass() {
    let Some(dirs) = sigma_dirs() else { return };
    let regression = root().join("../shared/data/sigma/regression_data");
    let mut args = vec!["rules", "test", "--json"];
    for d in &dirs {
        args.extend(["--rules", d.as_str()]);
    }
    let reg = regression.to_string_lossy().into_owned();
    args.push(&reg);
    let (code, out, err) = super::run(&args);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let failed: Vec<&serde_json::Value> = v["results"]
        .as_array()
        .map(|r| r.iter().filter(|t| t["passed"] != true).collect())
        .unwrap_or_default();
    assert_eq!(code, 0, "failed: {failed:#?} {err}");
    assert!(v["tests"].as_u64().unwrap() >= 100, "{out}");
}

#[test]
fn evtx_samples_find_every_detection_both_peers_agree_on() {
    let Some(dirs) = sigma_dirs() else { return };
    let samples = root().join("../shared/data/evtx-attack-samples");
    let agreed = root().join("../shared/data/peer-detections/agreed-visible.jsonl.gz");
    if !samples.exists() || !agreed.exists() {
        eprintln!("skipped: EVTX samples or peer detections absent");
        return;
    }
    let mut args = vec!["hunt", "-q", "--format", "jsonl"];
    for d in &dirs {
        args.extend(["--rules", d.as_str()]);
    }
    let s = samples.to_string_lossy().into_owned();
    args.push(&s);
    let (code, out, err) = super::run(&args);
    assert_eq!(code, 0, "{err}");
    let prefix = format!("{s}/");
    let found: std::collections::HashSet<(String, u64, String)> = super::lines(&out)
        .iter()
        .filter_map(|v| {
            Some((
                v["file"].as_str()?.strip_prefix(&prefix)?.to_owned(),
                v["record_id"].as_u64()?,
                v["rule_id"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let text = {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&agreed).unwrap())
            .read_to_string(&mut s)
            .unwrap();
        s
    };
    let mut missing = Vec::new();
    let mut total = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        total += 1;
        let key = (
            v["file"].as_str().unwrap().to_owned(),
            v["record_id"].as_u64().unwrap(),
            v["rule_id"].as_str().unwrap().to_owned(),
        );
        if !found.contains(&key) {
            missing.push(key);
        }
    }
    assert!(total > 800, "{total}");
    assert!(
        missing.is_empty(),
        "{} of {total} agreed detections missing: {:?}",
        missing.len(),
        &missing[..missing.len().min(20)]
    );
}
