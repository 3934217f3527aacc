//! Training, evaluation and drift as a library: what `warden train`, `warden eval` and
//! `warden drift` do, callable from the service's retraining, a Python binding or a test.
//! The caller reads the rows (files, a request, a topic) into a [`Dataset`]; everything
//! here works on memory and does no I/O.
//!
//! ```
//! use warden_models::ml::flows::{Columns, FlowFormat, FlowRecord};
//! use warden_models::ml::iforest::IsolationForestParams;
//! use warden_models::ml::training::{Dataset, train_iforest};
//! let records: Vec<FlowRecord> = (0..300)
//!     .map(|i| FlowRecord {
//!         numeric: vec![f64::from(i % 7), 1.0],
//!         categorical: vec!["tcp".into()],
//!         attack: Some(false),
//!         kind: None,
//!         origin: Default::default(),
//!     })
//!     .collect();
//! let columns = Columns { numeric: vec!["a".into(), "b".into()], categorical: vec!["proto".into()] };
//! let data = Dataset::new(FlowFormat::NslKdd, columns, records, "inline");
//! let t = train_iforest(&IsolationForestParams::default(), &data, false).unwrap();
//! assert_eq!(t.file.training.rows, 300);
//! assert!(t.file.reference.is_some());
//! ```

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::Matrix;
use super::artifact::{Model, ModelFile, TrainingInfo};
use super::drift::{self, Histogram, Reference};
use super::flows::{Columns, FeatureSchema, FlowFormat, FlowRecord};
use super::gbdt::{Gbdt, GbdtMulticlass, GbdtParams};
use super::iforest::{IsolationForest, IsolationForestParams};
use super::metrics::Evaluation;

/// Why training, evaluation or a drift measure could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    #[error("{source_name}: {what}")]
    NoRows { source_name: String, what: String },
    #[error("{source_name}: its columns differ from the ones the model was trained on")]
    Columns { source_name: String },
    #[error(
        "the model has no training reference (written by an older Warden); train it again to measure drift"
    )]
    NoReference,
    #[error("invalid parameters: {0}")]
    Params(String),
    #[error("{0}")]
    Fit(String),
}

/// Rows to train on, evaluate or compare, as the caller read them.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub format: FlowFormat,
    pub columns: Columns,
    pub records: Vec<FlowRecord>,
    /// Rows skipped as malformed while reading.
    pub bad: usize,
    /// Stable hash of the input bytes (recorded in the model file).
    pub hash: u64,
    /// Where the rows came from (a file name), for messages and the model file.
    pub source: String,
    /// A fixed feature schema (activity features); `None`: fitted on the training rows.
    pub schema: Option<FeatureSchema>,
}

impl Dataset {
    pub fn new(
        format: FlowFormat,
        columns: Columns,
        records: Vec<FlowRecord>,
        source: &str,
    ) -> Self {
        Dataset {
            format,
            columns,
            records,
            bad: 0,
            hash: 0,
            source: source.to_owned(),
            schema: None,
        }
    }

    fn labelled(&self) -> Vec<&FlowRecord> {
        self.records.iter().filter(|r| r.attack.is_some()).collect()
    }

    fn check_columns(&self, file: &ModelFile) -> Result<(), TrainError> {
        if self.columns == file.schema.columns {
            Ok(())
        } else {
            Err(TrainError::Columns {
                source_name: self.source.clone(),
            })
        }
    }

    fn schema_for(&self, training: &[FlowRecord]) -> FeatureSchema {
        match &self.schema {
            Some(s) => s.clone(),
            None => FeatureSchema::fit(self.format, self.columns.clone(), training),
        }
    }
}

/// A trained model file and what its training showed.
#[derive(Debug)]
pub struct Trained {
    pub file: ModelFile,
    /// Features by importance, strongest first (boosted trees; empty for a forest).
    pub importance: Vec<(String, f64)>,
}

/// What a model file records about its training.
pub fn training_info(
    data: &Dataset,
    rows: usize,
    normal_only: bool,
    fit_seconds: f64,
    metrics: Option<Evaluation>,
) -> TrainingInfo {
    TrainingInfo {
        input: data.source.clone(),
        data_hash: data.hash,
        rows,
        bad_rows: data.bad,
        normal_only,
        fit_seconds,
        created_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        warden_version: env!("CARGO_PKG_VERSION").to_owned(),
        metrics,
    }
}

/// Training distributions for drift: raw numeric columns, categories, scores.
pub fn reference(schema: &FeatureSchema, rows: &[FlowRecord], scores: &[f64]) -> Reference {
    let numeric = (0..schema.columns.numeric.len())
        .map(|i| {
            let values: Vec<f64> = rows
                .iter()
                .filter_map(|r| r.numeric.get(i).copied())
                .collect();
            Histogram::fit(&values)
        })
        .collect();
    let categorical = schema
        .categories
        .iter()
        .enumerate()
        .map(|(i, cats)| {
            let values: Vec<&str> = rows
                .iter()
                .map(|r| r.categorical.get(i).map_or("", String::as_str))
                .collect();
            drift::category_proportions(cats, &values)
        })
        .collect();
    Reference {
        numeric,
        categorical,
        score: Histogram::fit(scores),
    }
}

/// The model file of a model trained elsewhere (the sequence autoencoder, trained with
/// candle): the schema, figures on the labelled rows, the drift reference from the scores
/// of its training rows.
pub fn model_file(
    model: Model,
    data: &Dataset,
    training_scores: &[f64],
    rows: usize,
    normal_only: bool,
    fit_seconds: f64,
) -> ModelFile {
    let schema = data.schema_for(&data.records);
    let labelled = data.labelled();
    let metrics = (!labelled.is_empty()).then(|| {
        let mut m = Matrix::new(schema.width());
        let mut row = Vec::new();
        for r in &labelled {
            schema.encode(r, &mut row);
            m.push(&row);
        }
        let labels: Vec<bool> = labelled.iter().map(|r| r.attack == Some(true)).collect();
        Evaluation::compute(&model.score(&m), &labels, model.threshold())
    });
    let reference = reference(&schema, &data.records, training_scores);
    ModelFile {
        reference: Some(reference),
        calibration: None,
        schema,
        model,
        training: training_info(data, rows, normal_only, fit_seconds, metrics),
    }
}

/// An isolation forest on every row (or the normal ones only), with figures on the
/// labelled rows and the drift reference recorded in the file.
pub fn train_iforest(
    params: &IsolationForestParams,
    data: &Dataset,
    normal_only: bool,
) -> Result<Trained, TrainError> {
    params
        .validate()
        .map_err(|e| TrainError::Params(e.to_string()))?;
    let training: Vec<FlowRecord> = if normal_only {
        data.records
            .iter()
            .filter(|r| r.attack == Some(false))
            .cloned()
            .collect()
    } else {
        data.records.clone()
    };
    if training.is_empty() {
        return Err(TrainError::NoRows {
            source_name: data.source.clone(),
            what: format!(
                "no {}rows to train on ({} bad rows)",
                if normal_only { "normal " } else { "" },
                data.bad
            ),
        });
    }
    let schema = data.schema_for(&training);
    let x = schema.encode_all(&training);
    // Timed: the model's fit alone (reading and encoding are reported apart from it).
    let started = Instant::now();
    let forest = IsolationForest::fit(params, &x).map_err(|e| TrainError::Fit(e.to_string()))?;
    let fit_seconds = started.elapsed().as_secs_f64();
    // Figures on all labelled input rows, for the record in the model file.
    let labelled = data.labelled();
    let metrics = (!labelled.is_empty()).then(|| {
        let mut row = Vec::new();
        let scores: Vec<f64> = labelled
            .iter()
            .map(|r| {
                schema.encode(r, &mut row);
                forest.score_one(&row)
            })
            .collect();
        let labels: Vec<bool> = labelled.iter().map(|r| r.attack == Some(true)).collect();
        Evaluation::compute(&scores, &labels, forest.threshold())
    });
    let reference = reference(&schema, &training, &forest.score(&x));
    Ok(Trained {
        file: ModelFile {
            reference: Some(reference),
            calibration: None,
            schema,
            model: Model::IsolationForest {
                params: params.clone(),
                forest,
            },
            training: training_info(data, training.len(), normal_only, fit_seconds, metrics),
        },
        importance: Vec::new(),
    })
}

/// Boosted trees on the labelled rows: attack or not, or (`multiclass`) the labelled kind.
pub fn train_gbdt(
    params: &GbdtParams,
    data: &Dataset,
    multiclass: bool,
) -> Result<Trained, TrainError> {
    params
        .validate()
        .map_err(|e| TrainError::Params(e.to_string()))?;
    let training: Vec<FlowRecord> = data.labelled().into_iter().cloned().collect();
    if training.is_empty() {
        return Err(TrainError::NoRows {
            source_name: data.source.clone(),
            what: format!(
                "boosted trees need labelled rows ({} has none)",
                data.format.name()
            ),
        });
    }
    let schema = data.schema_for(&training);
    let x = schema.encode_all(&training);
    let y: Vec<bool> = training.iter().map(|r| r.attack == Some(true)).collect();
    let started = Instant::now();
    let (model, importance) = if multiclass {
        let kind = |r: &FlowRecord| r.kind.clone().unwrap_or_default().to_lowercase();
        let mut classes: Vec<String> = training.iter().map(kind).collect();
        classes.sort();
        classes.dedup();
        let labels: Vec<usize> = training
            .iter()
            .map(|r| classes.binary_search(&kind(r)).unwrap_or(0))
            .collect();
        let m = GbdtMulticlass::fit(params, &x, &labels, classes)
            .map_err(|e| TrainError::Fit(e.to_string()))?;
        let imp = m.importance();
        (Model::GbdtMulticlass(Box::new(m)), imp)
    } else {
        let m = Gbdt::fit(params, &x, &y).map_err(|e| TrainError::Fit(e.to_string()))?;
        let imp = m.importance();
        (Model::Gbdt(Box::new(m)), imp)
    };
    let fit_seconds = started.elapsed().as_secs_f64();
    let scores = model.score(&x);
    let metrics = Some(Evaluation::compute(&scores, &y, 0.5));
    let reference = reference(&schema, &training, &scores);
    let names = schema.feature_names();
    let mut top: Vec<(String, f64)> = importance
        .iter()
        .enumerate()
        .map(|(i, share)| (names.get(i).cloned().unwrap_or_default(), *share))
        .collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(Trained {
        file: ModelFile {
            reference: Some(reference),
            calibration: None,
            schema,
            model,
            training: training_info(data, training.len(), false, fit_seconds, metrics),
        },
        importance: top,
    })
}

/// Per labelled kind (attack name or category): rows and share called anomalous.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KindRate {
    pub rows: usize,
    pub detected: usize,
    pub rate: f64,
}

/// A model measured on labelled rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub model: String,
    pub format: &'static str,
    pub input: String,
    pub bad_rows: usize,
    /// Rows the model was trained on, and the time its fit took.
    pub trained_rows: usize,
    pub fit_seconds: f64,
    /// Scoring alone (the median of the repeats).
    pub score_seconds: f64,
    pub rows_per_second: f64,
    #[serde(flatten)]
    pub evaluation: Evaluation,
    pub by_kind: BTreeMap<String, KindRate>,
    /// Multi-class models: share of rows whose most probable class is their labelled kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_accuracy: Option<f64>,
    /// Calibrated models: how the p-values of these normal rows spread, against what a
    /// calibration that holds on these users would give.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calibration_check: Vec<CalibrationCheck>,
}

/// The share of normal rows with a p-value at or below `p` (about `p` when the calibration
/// holds on the rows' users), and of attack rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationCheck {
    pub p: f64,
    pub normal_share: f64,
    pub attack_share: f64,
}

/// The p-value levels the calibration check reports.
const CHECKED_P: [f64; 5] = [0.5, 0.1, 0.01, 0.001, 0.0001];

fn calibration_check(file: &ModelFile, scores: &[f64], labels: &[bool]) -> Vec<CalibrationCheck> {
    let Some(cal) = &file.calibration else {
        return Vec::new();
    };
    let p: Vec<f64> = scores.iter().map(|s| cal.p_value(*s)).collect();
    let share = |attack: bool, level: f64| {
        let (hit, all) = p
            .iter()
            .zip(labels)
            .filter(|(_, a)| **a == attack)
            .fold((0usize, 0usize), |(h, n), (v, _)| {
                (h + usize::from(*v <= level), n + 1)
            });
        hit as f64 / all.max(1) as f64
    };
    CHECKED_P
        .iter()
        .map(|&level| CalibrationCheck {
            p: level,
            normal_share: share(false, level),
            attack_share: share(true, level),
        })
        .collect()
}

/// Scores the labelled rows (`repeat` times, timing the median) and measures the model.
pub fn evaluate(file: &ModelFile, data: &Dataset, repeat: usize) -> Result<EvalReport, TrainError> {
    data.check_columns(file)?;
    let labelled = data.labelled();
    if labelled.is_empty() {
        return Err(TrainError::NoRows {
            source_name: data.source.clone(),
            what: "no labelled rows to evaluate".into(),
        });
    }
    let mut x = Matrix::new(file.schema.width());
    let mut row = Vec::new();
    for r in &labelled {
        file.schema.encode(r, &mut row);
        x.push(&row);
    }
    let mut times = Vec::new();
    let mut scores = Vec::new();
    for _ in 0..repeat.clamp(1, 1000) {
        let started = Instant::now();
        scores = file.model.score(&x);
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let score_seconds = times[times.len() / 2];
    let labels: Vec<bool> = labelled.iter().map(|r| r.attack == Some(true)).collect();
    let threshold = file.model.threshold();
    let mut by_kind: BTreeMap<String, KindRate> = BTreeMap::new();
    for (r, s) in labelled.iter().zip(&scores) {
        let k = by_kind
            .entry(r.kind.clone().unwrap_or_default())
            .or_default();
        k.rows += 1;
        k.detected += usize::from(*s >= threshold);
    }
    for k in by_kind.values_mut() {
        k.rate = k.detected as f64 / k.rows.max(1) as f64;
    }
    let class_accuracy = matches!(file.model, Model::GbdtMulticlass(_)).then(|| {
        let right = labelled
            .iter()
            .filter(|r| {
                file.schema.encode(r, &mut row);
                file.model.predicted_class(&row).map(|(c, _)| c)
                    == r.kind.as_ref().map(|k| k.to_lowercase())
            })
            .count();
        right as f64 / labelled.len().max(1) as f64
    });
    Ok(EvalReport {
        calibration_check: calibration_check(file, &scores, &labels),
        class_accuracy,
        model: file.model.kind().to_owned(),
        format: data.format.name(),
        input: data.source.clone(),
        bad_rows: data.bad,
        trained_rows: file.training.rows,
        fit_seconds: file.training.fit_seconds,
        score_seconds,
        rows_per_second: labelled.len() as f64 / score_seconds.max(1e-9),
        evaluation: Evaluation::compute(&scores, &labels, threshold),
        by_kind,
    })
}

/// One feature's (or the score's) shift from training.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureDrift {
    pub feature: String,
    pub kind: &'static str,
    pub psi: f64,
    pub verdict: &'static str,
}

/// How far new rows have moved from the training data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    pub model: String,
    pub input: String,
    pub rows: usize,
    pub bad_rows: usize,
    /// The worst verdict over features and score.
    pub verdict: &'static str,
    pub shifted_features: usize,
    pub score: FeatureDrift,
    /// Features, most shifted first.
    pub features: Vec<FeatureDrift>,
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

fn feature_drift(feature: &str, kind: &'static str, psi: f64) -> FeatureDrift {
    FeatureDrift {
        feature: feature.to_owned(),
        kind,
        psi: round4(psi),
        verdict: drift::verdict(psi),
    }
}

/// Population stability of every feature and of the score against the training data
/// kept in the model file. `model` names the model in the report.
pub fn drift_report(
    file: &ModelFile,
    model: &str,
    data: &Dataset,
) -> Result<DriftReport, TrainError> {
    let reference = file.reference.as_ref().ok_or(TrainError::NoReference)?;
    if data.records.is_empty() {
        return Err(TrainError::NoRows {
            source_name: data.source.clone(),
            what: "no rows to compare".into(),
        });
    }
    data.check_columns(file)?;
    let cols = &file.schema.columns;
    let mut features = Vec::new();
    for (i, (name, hist)) in cols.numeric.iter().zip(&reference.numeric).enumerate() {
        let values: Vec<f64> = data
            .records
            .iter()
            .filter_map(|r| r.numeric.get(i).copied())
            .collect();
        let p = drift::psi(&hist.proportions, &hist.proportions_of(&values));
        features.push(feature_drift(name, "numeric", p));
    }
    let categorical = cols
        .categorical
        .iter()
        .zip(&file.schema.categories)
        .zip(&reference.categorical);
    for (i, ((name, cats), expected)) in categorical.enumerate() {
        let values: Vec<&str> = data
            .records
            .iter()
            .map(|r| r.categorical.get(i).map_or("", String::as_str))
            .collect();
        let p = drift::psi(expected, &drift::category_proportions(cats, &values));
        features.push(feature_drift(name, "categorical", p));
    }
    let mut row = Vec::new();
    let scores: Vec<f64> = data
        .records
        .iter()
        .map(|r| {
            file.schema.encode(r, &mut row);
            file.model.score_one(&row)
        })
        .collect();
    let sp = drift::psi(
        &reference.score.proportions,
        &reference.score.proportions_of(&scores),
    );
    features.sort_by(|a, b| b.psi.total_cmp(&a.psi));
    let worst = features.iter().map(|f| f.psi).fold(sp, f64::max);
    Ok(DriftReport {
        model: model.to_owned(),
        input: data.source.clone(),
        rows: data.records.len(),
        bad_rows: data.bad,
        verdict: drift::verdict(worst),
        shifted_features: features.iter().filter(|f| f.psi >= 0.1).count(),
        score: feature_drift("score", "score", sp),
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: u32, shift: f64) -> Vec<FlowRecord> {
        (0..n)
            .map(|i| {
                let attack = i % 10 == 0;
                FlowRecord {
                    numeric: vec![
                        f64::from(i % 13) + shift + if attack { 40.0 } else { 0.0 },
                        f64::from(i % 5),
                    ],
                    categorical: vec![if attack { "udp" } else { "tcp" }.into()],
                    attack: Some(attack),
                    kind: Some(if attack { "scan" } else { "normal" }.into()),
                    origin: Default::default(),
                }
            })
            .collect()
    }

    fn data(shift: f64) -> Dataset {
        let columns = Columns {
            numeric: vec!["bytes".into(), "count".into()],
            categorical: vec!["proto".into()],
        };
        Dataset::new(FlowFormat::NslKdd, columns, rows(600, shift), "mem")
    }

    #[test]
    fn a_forest_trained_here_finds_the_planted_attacks_and_records_its_training() {
        let d = data(0.0);
        let t = train_iforest(&IsolationForestParams::default(), &d, true)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.file.training.rows, 540, "normal rows only");
        assert!(t.file.training.normal_only);
        let r = evaluate(&t.file, &d, 1).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.evaluation.roc_auc.unwrap_or(0.0) > 0.95, "{r:?}");
        assert_eq!(r.by_kind["scan"].rows, 60);
        assert!(r.by_kind["scan"].rate > 0.9, "{r:?}");
        assert!(r.class_accuracy.is_none());
    }

    #[test]
    fn evaluation_checks_a_calibration_on_other_rows() {
        use crate::ml::calibration::ScoreCalibration;
        let train = data(0.0);
        let mut t = train_iforest(&IsolationForestParams::default(), &train, true)
            .unwrap_or_else(|e| panic!("{e}"));
        let none = evaluate(&t.file, &train, 1).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            none.calibration_check.is_empty(),
            "no calibration, no check"
        );
        // Calibrated on the normal rows, checked on the same rows (about p by construction)
        // and on rows shifted away from them (rarer: more rows at each level).
        let normal_scores = |d: &Dataset| -> Vec<f64> {
            let mut x = Matrix::new(t.file.schema.width());
            let mut row = Vec::new();
            for r in d.labelled().iter().filter(|r| r.attack == Some(false)) {
                t.file.schema.encode(r, &mut row);
                x.push(&row);
            }
            t.file.model.score(&x)
        };
        t.file.calibration = ScoreCalibration::fit(&normal_scores(&train), 1);
        let report = evaluate(&t.file, &data(0.0), 1).unwrap_or_else(|e| panic!("{e}"));
        let at = |p: f64| {
            report
                .calibration_check
                .iter()
                .find(|c| c.p == p)
                .unwrap_or_else(|| panic!("{p}"))
                .clone()
        };
        assert!((at(0.1).normal_share - 0.1).abs() < 0.05, "{:?}", at(0.1));
        assert!(
            at(0.01).attack_share > 0.5,
            "attacks are rare among normal rows"
        );
        let shifted = evaluate(&t.file, &data(3.0), 1).unwrap_or_else(|e| panic!("{e}"));
        let shifted_01 = shifted.calibration_check.iter().find(|c| c.p == 0.1);
        assert!(
            shifted_01.is_some_and(|c| c.normal_share > at(0.1).normal_share),
            "{shifted_01:?}"
        );
    }

    #[test]
    fn boosted_trees_learn_the_kinds_and_name_their_features() {
        let d = data(0.0);
        let t = train_gbdt(&GbdtParams::default(), &d, true).unwrap_or_else(|e| panic!("{e}"));
        assert!(!t.importance.is_empty());
        let r = evaluate(&t.file, &d, 1).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.class_accuracy.unwrap_or(0.0) > 0.95, "{r:?}");
        let mut unlabelled = d.clone();
        unlabelled.records.iter_mut().for_each(|r| r.attack = None);
        assert!(matches!(
            train_gbdt(&GbdtParams::default(), &unlabelled, false),
            Err(TrainError::NoRows { .. })
        ));
    }

    #[test]
    fn drift_is_none_on_the_same_data_and_shows_on_shifted_data() {
        let t = train_iforest(&IsolationForestParams::default(), &data(0.0), false)
            .unwrap_or_else(|e| panic!("{e}"));
        let same = drift_report(&t.file, "m", &data(0.0)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(same.shifted_features, 0, "{same:?}");
        let moved = drift_report(&t.file, "m", &data(25.0)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(moved.features[0].feature, "bytes", "{moved:?}");
        assert!(moved.features[0].psi >= 0.25, "{moved:?}");
        let mut other = data(0.0);
        other.columns.numeric[0] = "other".into();
        assert!(matches!(
            drift_report(&t.file, "m", &other),
            Err(TrainError::Columns { .. })
        ));
    }
}
