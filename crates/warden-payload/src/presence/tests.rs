use super::*;
use crate::features::{Feature, Kind, Label};

fn row(buckets: &[u32]) -> Features {
    Features {
        items: buckets
            .iter()
            .map(|&b| Feature {
                index: b,
                kind: Kind::Chars,
                label: Label::Name(format!("b{b}")),
            })
            .collect(),
        normalised: String::new(),
    }
}

/// Malicious exactly when one of buckets 10 and 20 is present but not both (what no sum of
/// per-bucket weights can say), among noise buckets every text may have.
fn exclusive_or(n: usize) -> Vec<(Features, bool)> {
    let mut rng = crate::train::Rng(7);
    (0..n)
        .map(|_| {
            let (a, b) = (rng.unit() < 0.5, rng.unit() < 0.5);
            let mut buckets: Vec<u32> = (100..140).filter(|_| rng.unit() < 0.3).collect();
            if a {
                buckets.push(10);
            }
            if b {
                buckets.push(20);
            }
            (row(&buckets), a != b)
        })
        .collect()
}

fn params() -> TreeParams {
    TreeParams {
        trees: 60,
        depth: 3,
        feature_share: 1.0,
        ..TreeParams::default()
    }
}

#[test]
fn trees_learn_what_buckets_mean_together() {
    let rows = exclusive_or(800);
    let t = fit(&rows, 10, &params()).unwrap();
    t.validate().unwrap();
    assert_eq!(t.trees(), 60);
    let m = |b: &[u32]| t.margin(&row(b));
    assert!(m(&[10]) > 1.0, "{}", m(&[10]));
    assert!(m(&[20, 101]) > 1.0);
    assert!(m(&[10, 20]) < -1.0, "{}", m(&[10, 20]));
    assert!(m(&[]) < -1.0);
    assert!(m(&[105, 120]) < -1.0);
}

#[test]
fn the_same_texts_and_seed_give_the_same_trees() {
    let rows = exclusive_or(300);
    let p = TreeParams {
        feature_share: 0.5,
        row_share: 0.7,
        ..params()
    };
    let a = fit(&rows, 10, &p).unwrap();
    assert_eq!(a, fit(&rows, 10, &p).unwrap());
    let other = fit(&rows, 10, &TreeParams { seed: 9, ..p }).unwrap();
    assert_ne!(a, other, "another seed draws other rows and buckets");
}

#[test]
fn credits_of_a_path_add_up_to_its_leaf_and_name_the_buckets_present() {
    let rows = exclusive_or(800);
    let t = fit(&rows, 10, &params()).unwrap();
    let text = row(&[10, 104]);
    let (sum, raised) = t.assess(&text, 3);
    assert_eq!(sum, t.margin(&text));
    assert_eq!(
        raised.first().map(|c| c.feature.as_str()),
        Some("chars `b10`")
    );
    // Walked by hand: the base, each tree's root value, and every step's credit (present
    // and absent) add up to the margin.
    let internal = t.internal();
    let none = t.none();
    let mut total = t.base;
    for k in 0..t.trees() {
        let (splits, values) = (
            &t.splits[k * internal..(k + 1) * internal],
            &t.values[k * internal..(k + 1) * internal],
        );
        let leaves = &t.leaves[k * (internal + 1)..(k + 1) * (internal + 1)];
        let mut node = 0;
        total += values[0];
        for _ in 0..t.depth {
            let s = splits[node];
            let present = s != none && [10, 104].contains(&s);
            let next = 2 * node + 1 + usize::from(present);
            let to = if next < internal {
                values[next]
            } else {
                leaves[next - internal]
            };
            total += to - values[node];
            node = next;
        }
    }
    assert!((total - sum).abs() < 1e-3, "{total} against {sum}");
}

#[test]
fn a_node_that_does_not_split_sends_every_text_the_same_way() {
    // Every text alike: nothing to split on; every node tests the bucket no text has.
    let rows: Vec<(Features, bool)> = (0..40).map(|i| (row(&[3]), i % 2 == 0)).collect();
    let p = TreeParams {
        row_share: 1.0,
        ..params()
    };
    let t = fit(&rows, 8, &p).unwrap();
    assert!(t.splits.iter().all(|&s| s == t.none()));
    assert!(t.margin(&row(&[3])).abs() < 0.01);
    assert!(t.margin(&row(&[3, 200])).abs() < 0.01);
}

#[test]
fn a_loaded_forest_is_checked() {
    let rows = exclusive_or(200);
    let good = fit(&rows, 10, &params()).unwrap();
    let mut bad = good.clone();
    bad.splits[0] = (1 << 10) + 1;
    assert!(bad.validate().is_err(), "a bucket outside the table");
    let mut bad = good.clone();
    bad.leaves.pop();
    assert!(bad.validate().is_err(), "a leaf missing");
    let mut bad = good.clone();
    bad.values[3] = f32::NAN;
    assert!(bad.validate().is_err());
    let mut bad = good;
    bad.depth = MAX_DEPTH + 1;
    assert!(bad.validate().is_err());
}

#[test]
fn one_class_or_bad_knobs_are_refused() {
    let rows: Vec<(Features, bool)> = (0..20).map(|_| (row(&[1]), true)).collect();
    assert!(matches!(
        fit(&rows, 10, &params()),
        Err(crate::train::TrainError::OneClass { .. })
    ));
    let rows = exclusive_or(50);
    for p in [
        TreeParams {
            trees: 0,
            ..params()
        },
        TreeParams {
            depth: 0,
            ..params()
        },
        TreeParams {
            row_share: 0.0,
            ..params()
        },
    ] {
        assert!(fit(&rows, 10, &p).is_err());
    }
}

#[test]
fn the_mix_averages_probabilities() {
    assert!((mix(0.5, 0.0) - 0.5).abs() < 1e-6);
    assert!((mix(0.8, 0.0) - 0.65).abs() < 1e-6);
    // Trees sure of the contrary pull a confident view down to the middle, not to zero.
    assert!((mix(0.77, -10.0) - 0.385).abs() < 1e-3);
    assert!(mix(0.9, 3.0) > mix(0.9, 1.0));
}

/// A small n-gram model over 2^10 buckets, with trees when `trees`.
fn model(trees: bool) -> crate::model::PayloadModel {
    let rows = exclusive_or(300);
    let params = crate::train::TrainParams {
        features: crate::features::FeatureSet {
            bits: 10,
            ..Default::default()
        },
        epochs: 2,
        ..Default::default()
    };
    let mut m = crate::train::train(&rows, &params, "").unwrap();
    if trees {
        m.presence = Some(fit(&rows, 10, &params_fast()).unwrap());
    }
    m
}

fn params_fast() -> TreeParams {
    TreeParams {
        trees: 8,
        depth: 3,
        ..params()
    }
}

#[test]
fn a_model_keeps_its_trees_and_format_5_files_load_without() {
    use crate::model::PayloadModel;
    let m = model(true);
    let bytes = m.to_bytes();
    assert_eq!(&bytes[4..6], &6u16.to_le_bytes());
    assert_eq!(PayloadModel::from_bytes(&bytes).unwrap(), m);
    // Format 5: the same fields without the trees.
    let plain = model(false);
    let mut v5 = crate::model::MAGIC.to_vec();
    v5.extend_from_slice(&5u16.to_le_bytes());
    v5.extend(
        postcard::to_stdvec(&(
            &plain.features,
            &plain.weights,
            &plain.idf,
            plain.bias,
            plain.platt_a,
            plain.platt_b,
            &plain.summary,
            &plain.techniques,
            &plain.patterns,
            &plain.combiner,
        ))
        .unwrap(),
    );
    let read = PayloadModel::from_bytes(&v5).unwrap();
    assert_eq!(read, plain);
    assert!(read.presence.is_none());
}

#[test]
fn trees_over_another_table_are_refused() {
    let mut m = model(true);
    let rows = exclusive_or(100);
    m.presence = Some(fit(&rows, 11, &params_fast()).unwrap());
    let e = crate::model::PayloadModel::from_bytes(&m.to_bytes()).unwrap_err();
    assert!(e.to_string().contains("presence trees over 2^11"), "{e}");
}

#[test]
fn the_trees_join_the_verdict_and_say_what_raised_them() {
    let m = std::sync::Arc::new(model(true));
    let a = crate::Analyzer::new(Some(m.clone()), crate::VerdictConfig::default());
    let v = a.analyze("echo hello", Some(crate::Shell::Sh));
    let view = v.model.expect("a model view");
    let trees = view.trees_probability.expect("the trees' probability");
    assert!((0.0..=1.0).contains(&trees));
    // The view's probability is the mean of the two (no combiner here: the n-gram model's
    // and the trees').
    let f = crate::features::extract(
        &a.examine("echo hello", Some(crate::Shell::Sh)),
        &m.features,
    );
    let text = m.assess(&f, 0).probability;
    assert!((view.probability - mix(text, m.presence.as_ref().unwrap().margin(&f))).abs() < 1e-5);
    assert!(
        (text - trees).abs() > 1e-3,
        "two views that differ: {text} {trees}"
    );
    let (lo, hi) = (text.min(trees), text.max(trees));
    assert!(view.probability > lo && view.probability < hi, "{view:?}");
}
