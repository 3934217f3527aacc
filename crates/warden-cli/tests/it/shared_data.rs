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
