//! The model layer through the whole engine: scores filled, blended into the score with
//! contributions that still add up, refusal of models trained on other data, the circuit
//! breaker on failing and slow models, and a model swapped while the engine runs.

use super::UebaEngine;
use super::ensemble::{Member, calibrate};
use super::tests::{LAGOS, LONDON, event, next_day, trained};
use crate::UebaConfig;
use crate::models::LoadedModel;
use proptest::prelude::*;
use warden_event::{AnomalyType, FEATURE_NAMES, ThreatScore};
use warden_models::ml::Matrix;
use warden_models::ml::artifact::{Model, ModelFile, TrainingInfo};
use warden_models::ml::flows::{FeatureSchema, FlowFormat};
use warden_models::ml::iforest::{IsolationForest, IsolationForestParams};
use warden_models::ml::rng::SplitMix64;
use warden_models::ml::sequence::{SeqAutoencoder, WINDOW, window_feature_names};

fn info() -> TrainingInfo {
    TrainingInfo {
        input: "test".into(),
        data_hash: 0,
        rows: 0,
        bad_rows: 0,
        normal_only: true,
        fit_seconds: 0.0,
        created_ms: 0,
        warden_version: "test".into(),
        metrics: None,
    }
}

fn loaded(label: &str, schema: FeatureSchema, model: Model) -> LoadedModel {
    let file = ModelFile {
        schema,
        model,
        training: info(),
        reference: None,
        calibration: None,
    };
    let bytes = file.to_bytes().unwrap_or_else(|e| panic!("{e}"));
    LoadedModel::from_bytes(label, &bytes).unwrap_or_else(|e| panic!("{e}"))
}

/// A forest over activity features, trained on quiet rows (small values) so that loud rows
/// stand out.
fn forest(seed: u64) -> LoadedModel {
    let mut r = SplitMix64::new(seed);
    let mut x = Matrix::new(16);
    for _ in 0..2000 {
        let row: Vec<f32> = (0..16).map(|_| (r.next_f64() * 0.1) as f32).collect();
        x.push(&row);
    }
    let params = IsolationForestParams {
        n_trees: 50,
        seed,
        contamination: Some(0.01),
        ..IsolationForestParams::default()
    };
    let forest = IsolationForest::fit(&params, &x).unwrap_or_else(|e| panic!("{e}"));
    let names = FEATURE_NAMES.iter().map(|n| (*n).to_owned()).collect();
    loaded(
        &format!("forest-{seed}"),
        FeatureSchema::identity(FlowFormat::Activity, names),
        Model::IsolationForest { params, forest },
    )
}

/// An untrained autoencoder (weights from the seed); `poison` makes its output NaN.
fn autoencoder(seed: u64, poison: bool) -> LoadedModel {
    let mut m = SeqAutoencoder {
        threshold_error: 0.05,
        ..SeqAutoencoder::untrained(4, 2, 4, seed)
    };
    if poison {
        m.dec2_b = vec![f32::NAN; WINDOW];
    }
    loaded(
        "seq",
        FeatureSchema::identity(FlowFormat::ActivitySequence, window_feature_names()),
        Model::SeqAutoencoder(Box::new(m)),
    )
}

fn sum_of_contributions(s: &ThreatScore) -> f32 {
    s.anomalies.iter().map(|a| a.contribution).sum()
}

#[test]
fn models_fill_their_fields_and_join_the_score() {
    let mut e = trained("alice");
    assert_eq!(
        e.install_model(forest(1)).ok(),
        Some(Member::IsolationForest)
    );
    assert_eq!(
        e.install_model(autoencoder(2, false)).ok(),
        Some(Member::Sequence)
    );
    let quiet = e.score(&event("alice", next_day(11), &LONDON), false);
    assert!(quiet.isolation_forest_score.is_some());
    assert!(quiet.lstm_autoencoder_score.is_some());
    assert!(
        quiet.xgboost_ensemble_score.is_none(),
        "no trees configured"
    );
    assert!(quiet.models_unavailable.is_empty());
    e.score(&event("alice", next_day(12), &LONDON), false);
    let travel = e.score(&event("alice", next_day(12) + 20 * 60_000, &LAGOS), false);
    let forest_score = travel.isolation_forest_score.unwrap_or(0.0);
    assert!(
        forest_score > quiet.isolation_forest_score.unwrap_or(1.0),
        "{forest_score}"
    );
    let model = travel
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyType::ModelAnomaly)
        .unwrap_or_else(|| panic!("no model part: {travel:?}"));
    assert!(
        model.detail.contains("isolation forest"),
        "{}",
        model.detail
    );
    assert!(travel.explanation.contains("model anomaly"));
    // The checks and the models still add up to the score.
    assert!((sum_of_contributions(&travel) - travel.threat_score).abs() < 0.5);
    assert_eq!(e.model_counters().failures, 0);
    assert!(e.model_counters().calls >= 6);
}

#[test]
fn a_model_trained_on_flows_is_refused_with_the_reason() {
    let mut e = UebaEngine::new(UebaConfig::default()).unwrap_or_else(|err| panic!("{err}"));
    let mut flows = forest(1);
    flows.file.schema.format = FlowFormat::NslKdd;
    let err = e.install_model(flows).err().map(|x| x.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|m| m.contains("--format activity")),
        "{err:?}"
    );
    assert!(!e.ensemble().is_active());
}

#[test]
fn a_failing_model_trips_its_circuit_and_detection_goes_on() {
    let mut e = trained("alice");
    e.install_model(forest(1))
        .unwrap_or_else(|err| panic!("{err}"));
    e.install_model(autoencoder(2, true))
        .unwrap_or_else(|err| panic!("{err}"));
    let mut scores = Vec::new();
    for i in 0..6 {
        scores.push(e.score(&event("alice", next_day(10) + i * 60_000, &LONDON), false));
    }
    let c = e.model_counters();
    assert_eq!(c.failures, 3, "{c:?}");
    assert_eq!(c.trips, 1);
    assert_eq!(c.skipped, 3, "skipped while open");
    assert!(scores[0].models_unavailable[0].contains("non-finite"));
    assert!(scores[5].models_unavailable[0].contains("circuit open"));
    assert!(scores[5].explanation.contains("Scored without a model"));
    // The forest kept answering.
    assert!(scores.iter().all(|s| s.isolation_forest_score.is_some()));
    assert!(scores.iter().all(|s| s.lstm_autoencoder_score.is_none()));
}

#[test]
fn a_slow_model_counts_as_timed_out() {
    let mut cfg = UebaConfig::default();
    cfg.ensemble.timeout_ms = 1e-9;
    cfg.ensemble.failures_to_open = 1000;
    let mut e = UebaEngine::new(cfg).unwrap_or_else(|err| panic!("{err}"));
    e.install_model(forest(1))
        .unwrap_or_else(|err| panic!("{err}"));
    let s = e.score(&event("bob", next_day(10), &LONDON), false);
    assert_eq!(s.models_unavailable, ["isolation_forest: timed out"]);
    assert!(s.isolation_forest_score.is_none());
    assert_eq!(e.model_counters().failures, 1);
}

#[test]
fn a_model_swapped_while_running_takes_over_at_once() {
    let mut e = trained("alice");
    e.install_model(forest(1))
        .unwrap_or_else(|err| panic!("{err}"));
    let probe = |e: &mut UebaEngine, i: i64| {
        e.score(&event("alice", next_day(13) + i * 60_000, &LONDON), false)
            .isolation_forest_score
    };
    let before = probe(&mut e, 0);
    // Another thread would hold this slot (a registry activation in the server).
    let slot = e.ensemble().slot(Member::IsolationForest);
    std::thread::spawn(move || slot.swap(forest(7)))
        .join()
        .unwrap_or_else(|_| panic!("swap failed"));
    let after = probe(&mut e, 0);
    assert_ne!(before, after);
    let slot = e.ensemble().slot(Member::IsolationForest);
    slot.clear();
    let gone = e.score(&event("alice", next_day(14), &LONDON), false);
    assert_eq!(gone.models_unavailable, ["isolation_forest: model missing"]);
}

proptest! {
    #[test]
    fn calibration_puts_the_threshold_at_one_half_and_keeps_order(
        t in 0.01f64..0.99, a in 0.0f64..=1.0, b in 0.0f64..=1.0,
    ) {
        prop_assert!((calibrate(t, t) - 0.5).abs() < 1e-9);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(calibrate(lo, t) <= calibrate(hi, t));
        prop_assert!((0.0..=1.0).contains(&calibrate(a, t)));
    }
}

#[test]
fn evidence_is_decades_of_rarity_scaled_at_half_p() {
    use super::ensemble::evidence;
    assert!((evidence(0.001, 0.001) - 0.5).abs() < 1e-12);
    assert!((evidence(1e-6, 0.001) - 1.0).abs() < 1e-12);
    assert!((evidence(0.01, 0.001) - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(evidence(1.0, 0.001), 0.0);
    assert_eq!(evidence(1e-30, 0.001), 1.0);
    assert_eq!(evidence(f64::NAN, 0.001), 0.0);
}

/// The forest with a calibration fitted on its scores of a trained user's ordinary events
/// (what `warden train calibrate` does with validation users).
fn calibrated_forest(seed: u64, weight: f64) -> LoadedModel {
    use warden_models::ml::calibration::ScoreCalibration;
    let mut m = forest(seed);
    let mut other = trained("alice");
    let normal: Vec<f64> = (0..1500)
        .filter_map(|k| {
            let at = next_day(10) + (k % 60) * 60_000 + (k / 60) * 86_400_000;
            let s = other.score(&event("alice", at, &LONDON), true);
            s.features.map(|f| m.file.model.score_one(&f))
        })
        .collect();
    let mut cal = ScoreCalibration::fit(&normal, 1).unwrap_or_else(|| panic!("enough events"));
    cal.weight = weight;
    m.file.calibration = Some(cal);
    let bytes = m.file.to_bytes().unwrap_or_else(|e| panic!("{e}"));
    LoadedModel::from_bytes("calibrated forest", &bytes).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn calibrated_models_say_how_rare_a_score_is_and_agree_by_rarity() {
    let mut e = trained("alice");
    e.install_model(calibrated_forest(1, 1.0))
        .unwrap_or_else(|err| panic!("{err}"));
    let quiet = e.score(&event("alice", next_day(11), &LONDON), false);
    e.score(&event("alice", next_day(12), &LONDON), false);
    let travel = e.score(&event("alice", next_day(12) + 20 * 60_000, &LAGOS), false);
    let part = |s: &ThreatScore| {
        s.anomalies
            .iter()
            .find(|a| a.kind == AnomalyType::ModelAnomaly)
            .map(|a| (a.confidence, a.detail.clone()))
    };
    let (travel_agreement, detail) = part(&travel).unwrap_or_else(|| panic!("{travel:?}"));
    assert!(
        detail.contains("as high as 1 normal event in")
            || detail.contains("normal events of held-out users"),
        "a rare score names its rarity: {detail}"
    );
    let quiet_agreement = part(&quiet).map_or(0.0, |p| p.0);
    assert!(
        travel_agreement > 0.5 && quiet_agreement < travel_agreement,
        "{quiet_agreement} vs {travel_agreement}"
    );
    assert!((sum_of_contributions(&travel) - travel.threat_score).abs() < 0.5);
}
