//! The model layer through the whole engine: scores filled, blended into the score with
//! contributions that still add up, refusal of models trained on other data, the circuit
//! breaker on failing and slow models, a model swapped while the engine runs, and models
//! asked only where they can change a HIGH, with a sample for drift.

use super::UebaEngine;
use super::ensemble::{Member, calibrate};
use super::tests::{HOUR, LAGOS, LONDON, event, next_day, trained, trained_with};
use crate::UebaConfig;
use crate::models::LoadedModel;
use proptest::prelude::*;
use warden_event::{AnomalyType, FEATURE_NAMES, ThreatLevel, ThreatScore};
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

/// A trained engine that asks its models about every event.
fn asking_always(user: &str) -> UebaEngine {
    let mut cfg = UebaConfig::default();
    cfg.ensemble.only_when_decisive = false;
    trained_with(user, cfg)
}

fn sum_of_contributions(s: &ThreatScore) -> f32 {
    s.anomalies.iter().map(|a| a.contribution).sum()
}

#[test]
fn models_fill_their_fields_and_join_the_score() {
    let mut e = asking_always("alice");
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
    let mut e = asking_always("alice");
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
    cfg.ensemble.only_when_decisive = false;
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
    let mut e = asking_always("alice");
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
    let mut e = asking_always("alice");
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

/// A stream that mixes ordinary hours, nights and jumps to Lagos, so the checks' scores
/// spread from nothing to HIGH.
fn mixed_stream(n: i64) -> Vec<warden_event::UserActivity> {
    let mut r = SplitMix64::new(11);
    (0..n)
        .map(|k| {
            let hour = if r.next_f64() < 0.15 { 2 } else { 9 + (k % 8) };
            let at = next_day(0) + (k / 8) * 86_400_000 + hour * HOUR + (k % 7) * 60_000;
            let place = if r.next_f64() < 0.1 { &LAGOS } else { &LONDON };
            event("alice", at, place)
        })
        .collect()
}

#[test]
fn models_are_asked_only_where_they_can_make_a_high() {
    let install = |e: &mut UebaEngine| {
        e.install_model(forest(1))
            .unwrap_or_else(|err| panic!("{err}"));
        e.install_model(autoencoder(2, false))
            .unwrap_or_else(|err| panic!("{err}"));
    };
    let (mut always, mut gated) = (asking_always("alice"), trained("alice"));
    install(&mut always);
    install(&mut gated);
    let (mut highs, mut asked_below) = (0, 0);
    for a in mixed_stream(240) {
        let (x, y) = (always.score(&a, false), gated.score(&a, false));
        assert_eq!(
            x.threat_level >= ThreatLevel::High,
            y.threat_level >= ThreatLevel::High,
            "the same HIGHs: {x:?} {y:?}"
        );
        highs += usize::from(x.threat_level >= ThreatLevel::High);
        let blended = y
            .anomalies
            .iter()
            .any(|a| a.kind == AnomalyType::ModelAnomaly);
        if x.threat_level >= ThreatLevel::High || blended {
            assert_eq!(
                x.threat_score, y.threat_score,
                "a decisive event scores the same"
            );
        } else {
            assert!(y.threat_level <= ThreatLevel::Medium, "{y:?}");
        }
        asked_below += usize::from(!blended && y.isolation_forest_score.is_some());
    }
    assert!(highs > 0, "the stream holds HIGHs");
    let (c, d) = (always.model_counters(), gated.model_counters());
    assert!(d.not_decisive > 100, "{d:?}");
    assert!(
        d.calls * 3 < c.calls,
        "far fewer calls: {d:?} against {c:?}"
    );
    assert_eq!(c.not_decisive, 0);
    assert!(
        asked_below > 0,
        "the drift sample is asked below the floor too"
    );
}

#[test]
fn every_sixteenth_event_is_the_models_drift_sample() {
    let mut cfg = UebaConfig::default();
    cfg.ensemble.sample_every = 16;
    let mut e = trained_with("alice", cfg);
    e.install_model(forest(1))
        .unwrap_or_else(|err| panic!("{err}"));
    let scores: Vec<ThreatScore> = (0..64)
        .map(|k| e.score(&event("alice", next_day(10) + k * 60_000, &LONDON), false))
        .collect();
    let sampled: Vec<usize> = (0..64).filter(|&k| scores[k].models_sampled).collect();
    assert_eq!(sampled.len(), 4, "{sampled:?}");
    assert!(sampled.windows(2).all(|w| w[1] - w[0] == 16));
    for (k, s) in scores.iter().enumerate() {
        // Ordinary events are not decisive: only the sample carries the models' scores,
        // and the models do not join their score.
        assert_eq!(
            s.isolation_forest_score.is_some(),
            s.models_sampled,
            "event {k}"
        );
        assert!(
            s.anomalies
                .iter()
                .all(|a| a.kind != AnomalyType::ModelAnomaly)
        );
    }
    let mut always = asking_always("alice");
    always
        .install_model(forest(1))
        .unwrap_or_else(|err| panic!("{err}"));
    let s = always.score(&event("alice", next_day(10), &LONDON), false);
    assert!(
        s.models_sampled,
        "asked about everything, every event is in the sample"
    );
}

#[test]
fn the_lift_floor_is_where_full_agreement_reaches_high() {
    use super::ensemble::lift_floor;
    // 28.57 × 0.7 + 30 = 50, less the half point kept for rounding.
    assert!((lift_floor(50.0, 0.3) - (20.0 / 0.7 - 0.5)).abs() < 1e-9);
    assert!(
        lift_floor(50.0, 0.6) < 0.0,
        "a share this large can lift anything"
    );
    assert_eq!(lift_floor(50.0, 1.0), 0.0);
    assert!((lift_floor(50.0, 0.0) - 49.5).abs() < 1e-9);
}

proptest! {
    /// Below the floor no agreement of the models makes a HIGH; a point above it, full
    /// agreement does (the floor is tight).
    #[test]
    fn only_events_above_the_lift_floor_can_be_lifted_to_high(
        confs in proptest::collection::vec(0.0f64..=1.0, 1..4),
        share in 0.0f64..0.6,
        agreement in 0.0f64..=1.0,
    ) {
        use super::ensemble::lift_floor;
        use super::{Finding, scoring};
        let cfg = UebaConfig::default();
        let kinds = [AnomalyType::UnusualVolume, AnomalyType::UnusualTime, AnomalyType::UnusualResources];
        let findings = confs
            .iter()
            .zip(kinds)
            .map(|(c, kind)| Finding::new(kind, *c, String::new()))
            .collect();
        let checks = scoring::combine(findings, 1.0, &cfg);
        let c = f64::from(checks.score);
        let floor = lift_floor(cfg.scoring.levels.high, share);
        let lifted = scoring::blend(checks.clone(), agreement, share, String::new(), &cfg);
        if c < floor {
            prop_assert!(lifted.level < ThreatLevel::High, "{c} < {floor}: {lifted:?}");
        }
        let full = scoring::blend(checks, 1.0, share, String::new(), &cfg);
        if c >= floor + 1.0 {
            prop_assert!(full.level >= ThreatLevel::High, "{c} ≥ {floor} + 1: {full:?}");
        }
    }
}
