//! `warden detect` on fixtures: output contract, detections, explanations, evaluation.

use super::{data, evaluate, lines, root, run, warden};

const CONTRACT: [&str; 17] = [
    "event_id",
    "user_id",
    "timestamp",
    "threat_score",
    "threat_level",
    "primary_anomalies",
    "confidence",
    "isolation_forest_score",
    "lstm_autoencoder_score",
    "xgboost_ensemble_score",
    "impossible_travel_detected",
    "unusual_time_detected",
    "unusual_volume_detected",
    "unusual_resources_detected",
    "behavioral_deviation_score",
    "recommended_actions",
    "explanation",
];

#[test]
fn all_writes_one_contract_object_per_event() {
    let (code, out, err) = run(&[
        "detect",
        "--all",
        &data("history.jsonl"),
        &data("attack.jsonl"),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = lines(&out);
    assert_eq!(rows.len(), 228);
    for r in &rows {
        for f in CONTRACT {
            assert!(r.get(f).is_some(), "missing {f} in {r}");
        }
        let s = r["threat_score"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&s));
        assert!(
            r["isolation_forest_score"].is_null(),
            "ML fields stay null without models"
        );
    }
    let first: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(data("history.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        rows[0]["event_id"], first["event_id"],
        "event_id is passed through"
    );
    assert_eq!(
        rows[0]["learning"], true,
        "a user's first event is scored while learning"
    );
    assert!(err.contains("228 events"), "{err}");
}

#[test]
fn detects_and_explains_planted_attacks() {
    let (code, out, err) = run(&["detect", &data("history.jsonl"), &data("attack.jsonl")]);
    assert_eq!(code, 0, "{err}");
    let rows = lines(&out);
    let travel = rows
        .iter()
        .find(|r| r["event_id"] == "t09002")
        .expect("Lagos login alerted");
    assert!(
        travel["threat_level"] == "CRITICAL" || travel["threat_level"] == "HIGH",
        "{travel}"
    );
    assert_eq!(travel["impossible_travel_detected"], true);
    assert_eq!(travel["primary_anomalies"][0], "impossible_travel");
    let why = travel["explanation"].as_str().unwrap();
    assert!(
        why.contains("Lagos, NG") && why.contains("London, GB") && why.contains("km/h"),
        "{why}"
    );
    assert!(!travel["recommended_actions"].as_array().unwrap().is_empty());

    let exfil = rows
        .iter()
        .find(|r| r["event_id"] == "t09003")
        .expect("6 GB download alerted");
    assert_eq!(exfil["unusual_volume_detected"], true);
    assert_eq!(exfil["unusual_time_detected"], true);
    assert!(exfil["threat_score"].as_f64().unwrap() >= 50.0, "{exfil}");
    assert!(exfil["explanation"].as_str().unwrap().contains("6.00 GB"));

    // Bob's ordinary event the same day does not alert.
    assert!(!rows.iter().any(|r| r["event_id"] == "t09004"));
}

#[test]
fn min_level_filters_output() {
    let (_, all, _) = run(&["detect", &data("history.jsonl"), &data("attack.jsonl")]);
    let (_, crit, _) = run(&[
        "detect",
        "--min-level",
        "critical",
        &data("history.jsonl"),
        &data("attack.jsonl"),
    ]);
    let crit = lines(&crit);
    assert!(crit.len() <= lines(&all).len());
    assert!(crit.iter().all(|r| r["threat_level"] == "CRITICAL"));
    let (code, _, err) = run(&["detect", "--min-level", "severe", &data("attack.jsonl")]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown threat level"), "{err}");
}

#[test]
fn features_are_sixteen_values_in_unit_range() {
    let (_, out, _) = run(&[
        "detect",
        "--all",
        "--features",
        &data("history.jsonl"),
        &data("attack.jsonl"),
    ]);
    for r in lines(&out) {
        let f = r["features"].as_array().expect("features present");
        assert_eq!(f.len(), 16);
        assert!(
            f.iter().all(|v| (0.0..=1.0).contains(&v.as_f64().unwrap())),
            "{r}"
        );
    }
}

#[test]
fn csv_with_aliased_headers_and_stdin() {
    let (code, out, err) = run(&["detect", "--all", &data("activity.csv")]);
    assert_eq!(code, 0, "{err}");
    let rows = lines(&out);
    assert_eq!(rows.len(), 40);
    assert!(
        rows.iter()
            .all(|r| r["user_id"] == "alice" || r["user_id"] == "bob")
    );

    let input = std::fs::read(data("attack.jsonl")).unwrap();
    let out = warden()
        .args(["detect", "--all", "-"])
        .write_stdin(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(lines(&String::from_utf8_lossy(&out.stdout)).len(), 4);
}

#[test]
fn labels_evaluation_on_the_shipped_sample() {
    let sample = root().join("examples/activity.jsonl");
    let labels = root().join("examples/labels.jsonl");
    let (m, err) = evaluate(&labels, &sample);
    assert!(err.contains("attacks (all)"), "{err}");
    assert_eq!(m["attacks_total"]["scenarios"], 6);
    assert_eq!(m["attacks_total"]["alerted_high"], 6, "{m}");
    assert!(m["normal"]["fpr_high"].as_f64().unwrap() < 0.01, "{m}");
    for kind in [
        "impossible_travel",
        "account_takeover",
        "credential_stuffing",
        "unusual_volume",
        "unusual_time",
        "unusual_resources",
    ] {
        assert_eq!(m["attacks"][kind]["type_named_high"], 1, "{kind}: {m}");
    }
}

#[test]
fn config_default_round_trips_and_bad_config_is_named() {
    let (code, toml, _) = run(&["config", "default"]);
    assert_eq!(code, 0);
    assert!(toml.contains("[ueba.scoring.weights]"));
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("w.toml");
    std::fs::write(&good, &toml).unwrap();
    let (code, again, err) = run(&["config", "check", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(again, toml);

    let bad = dir.path().join("bad.toml");
    for (text, named) in [
        (
            "[ueba.scoring.weights]\nunusual_time = 3.0\n",
            "scoring.weights.unusual_time",
        ),
        ("[ueba.time]\nmin_hour_shar = 0.2\n", "min_hour_shar"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let (code, _, err) = run(&[
            "detect",
            "--config",
            bad.to_str().unwrap(),
            &data("attack.jsonl"),
        ]);
        assert_eq!(code, 1);
        assert!(err.contains(named), "{err}");
    }
}

#[test]
fn configured_aliases_map_custom_fields() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("w.toml");
    std::fs::write(
        &cfg,
        "[ingest.aliases]\nuser_id = [\"who\"]\ntimestamp = [\"when\"]\n",
    )
    .unwrap();
    let input = dir.path().join("x.jsonl");
    std::fs::write(
        &input,
        "{\"who\":\"zed\",\"when\":\"2026-04-02T10:00:00Z\"}\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "detect",
        "--all",
        "--config",
        cfg.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(lines(&out)[0]["user_id"], "zed");
}
