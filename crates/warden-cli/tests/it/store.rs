//! The store through the CLI: baselines built from history and continued by detection,
//! alerts saved once (never duplicated on replay) and listed back.

use super::{data, lines, run};

#[test]
fn baseline_build_then_detect_continues_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("warden.db");
    let db = db.to_str().unwrap();
    let (code, _, err) = run(&["baseline", "build", "--store", db, &data("history.jsonl")]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("2 baselines saved"), "{err}");

    let (code, out, _) = run(&["baseline", "show", "alice", "--store", db]);
    assert_eq!(code, 0);
    let b: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(b["events"], 112);
    assert_eq!(b["active_days"], 14);
    assert!(b["memory_bytes"].as_u64().unwrap() < 2048, "{b}");

    // Detection on the new day alone uses the stored history.
    let (code, out, err) = run(&["detect", "--store", db, &data("attack.jsonl")]);
    assert_eq!(code, 0, "{err}");
    let rows = lines(&out);
    let travel = rows
        .iter()
        .find(|r| r["event_id"] == "t09002")
        .expect("detected from stored baseline");
    assert_eq!(travel["learning"], false);
    assert_eq!(travel["impossible_travel_detected"], true);

    let (code, out, _) = run(&["alerts", "list", "--store", db, "--json", "--limit", "0"]);
    assert_eq!(code, 0);
    let stored = lines(&out);
    assert_eq!(stored.len(), rows.len());

    // Replaying the same input never duplicates alerts.
    run(&["detect", "--store", db, &data("attack.jsonl")]);
    let (_, out, _) = run(&["alerts", "list", "--store", db, "--json", "--limit", "0"]);
    assert_eq!(lines(&out).len(), stored.len());

    let (_, out, _) = run(&[
        "alerts", "list", "--store", db, "--json", "--user", "alice", "--level", "high",
    ]);
    let alice = lines(&out);
    assert!(!alice.is_empty());
    assert!(alice.iter().all(|a| a["user_id"] == "alice"));
    let (_, table, _) = run(&["alerts", "list", "--store", db]);
    assert!(
        table.contains("impossible_travel") && table.contains("alert(s)"),
        "{table}"
    );
}

#[test]
fn alerts_list_errors_are_actionable() {
    let (code, _, err) = run(&["alerts", "list", "--store", "/no/such.db"]);
    assert_eq!(code, 1);
    assert!(err.contains("does not exist"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.db");
    run(&[
        "baseline",
        "build",
        "--store",
        db.to_str().unwrap(),
        &data("attack.jsonl"),
    ]);
    let (code, _, err) = run(&[
        "alerts",
        "list",
        "--store",
        db.to_str().unwrap(),
        "--since",
        "last tuesday",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("--since"), "{err}");
    let (code, _, err) = run(&[
        "baseline",
        "show",
        "nobody",
        "--store",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no baseline for user `nobody`"), "{err}");
}
