//! Models in a running engine: a [`ModelSlot`] holds the active model and swaps it for a
//! new one atomically — readers get the old or the new model whole, never a mix, and never
//! wait — so a registry activation takes effect without a restart.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use serde::Serialize;
use warden_models::ModelError;
use warden_models::ml::artifact::{Model, ModelFile};
use warden_models::ml::flows::FlowRecord;

/// One feature's part in a flow's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub feature: String,
    /// Isolation forest: share of the isolation credit (0–1); boosted trees: the exact
    /// SHAP value in log-odds (positive pushes towards an attack).
    pub share: f64,
    /// The encoded value: a z-score for numbers, 1 for the row's category.
    pub value: f32,
}

/// A flow model's verdict on one flow, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowAssessment {
    pub score: f64,
    pub threshold: f64,
    pub anomalous: bool,
    /// The model's kind (`isolation_forest`, `gbdt`, …).
    pub model: &'static str,
    /// The three features that weighed most, strongest first.
    pub top_features: Vec<Contribution>,
    pub explanation: String,
    /// Multi-class models: the most probable class and its probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicted_class: Option<(String, f64)>,
}

/// A loaded model and where it came from.
#[derive(Debug)]
pub struct LoadedModel {
    /// Registry name and version, or a file name.
    pub label: String,
    pub file: ModelFile,
}

impl LoadedModel {
    /// Decodes a model file (checks magic, version and size).
    pub fn from_bytes(label: impl Into<String>, bytes: &[u8]) -> Result<Self, ModelError> {
        Ok(LoadedModel {
            label: label.into(),
            file: ModelFile::from_bytes(bytes)?,
        })
    }

    /// Scores one flow and says why: the features that weighed most and a sentence.
    /// `names` are the schema's feature names ([`FeatureSchema::feature_names`], computed once
    /// by the caller); `row` is scratch space.
    ///
    /// [`FeatureSchema::feature_names`]: warden_models::ml::flows::FeatureSchema::feature_names
    pub fn assess(
        &self,
        record: &FlowRecord,
        names: &[String],
        row: &mut Vec<f32>,
    ) -> FlowAssessment {
        let file = &self.file;
        file.schema.encode(record, row);
        let score = file.model.score_one(row);
        let threshold = file.model.threshold();
        let anomalous = score >= threshold;
        let shares = file.model.explain(row);
        let mut order: Vec<usize> = (0..shares.len()).collect();
        order.sort_by(|&a, &b| shares[b].abs().total_cmp(&shares[a].abs()));
        let top: Vec<Contribution> = order
            .into_iter()
            .take(3)
            .filter(|&i| shares[i] != 0.0)
            .map(|i| Contribution {
                feature: names.get(i).cloned().unwrap_or_default(),
                share: (shares[i] * 1000.0).round() / 1000.0,
                value: row.get(i).copied().unwrap_or(0.0),
            })
            .collect();
        let gbdt = matches!(file.model, Model::Gbdt(_) | Model::GbdtMulticlass(_));
        let predicted_class = file.model.predicted_class(row);
        let because: Vec<String> = top
            .iter()
            .map(|c| {
                let weight = if gbdt {
                    format!("{:+.2} log-odds", c.share)
                } else {
                    format!("{:.0}%", c.share * 100.0)
                };
                if c.feature.contains('=') {
                    format!("{} ({weight})", c.feature)
                } else {
                    format!("{} (z={:+.1}, {weight})", c.feature, c.value)
                }
            })
            .collect();
        let verdict = if anomalous { "anomalous" } else { "ordinary" };
        let cmp = if anomalous { "≥" } else { "<" };
        let explanation = if let Some((class, p)) = &predicted_class {
            format!(
                "{verdict} flow (attack probability {score:.3} {cmp} {threshold:.3}), most likely {class} ({p:.3}): pushed most by {}",
                because.join(", ")
            )
        } else if gbdt {
            format!(
                "{verdict} flow (attack probability {score:.3} {cmp} {threshold:.3}): pushed most by {}",
                because.join(", ")
            )
        } else {
            format!(
                "{verdict} flow (isolation score {score:.3} {cmp} threshold {threshold:.3}): isolated mostly by {}",
                because.join(", ")
            )
        };
        FlowAssessment {
            score,
            threshold,
            anomalous,
            model: file.model.kind(),
            top_features: top,
            explanation,
            predicted_class,
        }
    }

    /// Score of one flow (encoded with the model's own schema) and whether it is anomalous.
    pub fn score(&self, record: &FlowRecord) -> (f64, bool) {
        let mut row = Vec::with_capacity(self.file.schema.width());
        self.file.schema.encode(record, &mut row);
        let s = self.file.model.score_one(&row);
        (s, s >= self.file.model.threshold())
    }
}

/// The active model of one kind of detection, swappable while in use.
#[derive(Debug, Default)]
pub struct ModelSlot {
    current: ArcSwapOption<LoadedModel>,
}

impl ModelSlot {
    pub fn new(model: Option<LoadedModel>) -> Self {
        ModelSlot {
            current: ArcSwapOption::new(model.map(Arc::new)),
        }
    }

    /// The model in use now (held by the caller for as long as it needs it).
    pub fn get(&self) -> Option<Arc<LoadedModel>> {
        self.current.load_full()
    }

    /// Puts `model` in use; returns the one it replaces.
    pub fn swap(&self, model: LoadedModel) -> Option<Arc<LoadedModel>> {
        self.current.swap(Some(Arc::new(model)))
    }

    /// Takes the model out of use (detection goes on without it).
    pub fn clear(&self) -> Option<Arc<LoadedModel>> {
        self.current.swap(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_models::ml::artifact::{Model, TrainingInfo};
    use warden_models::ml::flows::{Columns, FeatureSchema, FlowFormat};
    use warden_models::ml::iforest::{IsolationForest, IsolationForestParams};

    fn record(v: f64) -> FlowRecord {
        FlowRecord {
            numeric: vec![v, v * 2.0],
            categorical: vec![],
            attack: None,
            kind: None,
            origin: Default::default(),
        }
    }

    fn model(seed: u64, label: &str) -> LoadedModel {
        let records: Vec<FlowRecord> = (0..200).map(|i| record(f64::from(i % 17))).collect();
        let cols = Columns {
            numeric: vec!["a".into(), "b".into()],
            categorical: vec![],
        };
        let schema = FeatureSchema::fit(FlowFormat::NslKdd, cols, &records);
        let params = IsolationForestParams {
            n_trees: 10,
            seed,
            ..IsolationForestParams::default()
        };
        let forest = IsolationForest::fit(&params, &schema.encode_all(&records))
            .unwrap_or_else(|e| panic!("{e}"));
        let file = ModelFile {
            schema,
            model: Model::IsolationForest { params, forest },
            training: TrainingInfo {
                input: label.into(),
                data_hash: 0,
                rows: 200,
                bad_rows: 0,
                normal_only: false,
                fit_seconds: 0.0,
                created_ms: 0,
                warden_version: "test".into(),
                metrics: None,
            },
            reference: None,
            calibration: None,
        };
        let bytes = file.to_bytes().unwrap_or_default();
        LoadedModel::from_bytes(label, &bytes).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn readers_see_one_model_or_the_other_while_it_is_swapped() {
        let (a, b) = (model(1, "a"), model(2, "b"));
        let probes: Vec<FlowRecord> = (0..20).map(|i| record(f64::from(i) * 1.7)).collect();
        let expect_a: Vec<f64> = probes.iter().map(|p| a.score(p).0).collect();
        let expect_b: Vec<f64> = probes.iter().map(|p| b.score(p).0).collect();
        assert_ne!(expect_a, expect_b);
        let slot = Arc::new(ModelSlot::new(Some(a)));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (slot, stop, probes) = (slot.clone(), stop.clone(), probes.clone());
                let (ea, eb) = (expect_a.clone(), expect_b.clone());
                std::thread::spawn(move || {
                    let mut seen = [0usize; 2];
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        let Some(m) = slot.get() else { continue };
                        let scores: Vec<f64> = probes.iter().map(|p| m.score(p).0).collect();
                        // A whole model each time: all scores from A, or all from B.
                        if scores == ea {
                            seen[0] += 1;
                        } else if scores == eb {
                            seen[1] += 1;
                        } else {
                            panic!("scores from a mix of models");
                        }
                    }
                    seen
                })
            })
            .collect();
        let mut next = Some(b);
        for _ in 0..200 {
            let old = match next.take() {
                Some(m) => slot.swap(m),
                None => None,
            };
            // Swap back and forth by rebuilding the model that went out.
            let label = old.as_ref().map_or("a".to_owned(), |m| m.label.clone());
            next = Some(model(if label == "a" { 1 } else { 2 }, &label));
            std::thread::yield_now();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for r in readers {
            let seen = r.join().unwrap_or_else(|_| panic!("reader failed"));
            assert!(seen[0] + seen[1] > 0);
        }
        assert!(slot.clear().is_some());
        assert!(slot.get().is_none());
    }
}
