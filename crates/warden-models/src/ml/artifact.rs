//! The model file: `WMDL`, a format version (`u16`, little endian), then the model and what
//! it needs to be used and trusted — the feature schema, the parameters, a hash of the
//! training data, training figures — encoded with postcard. Loading checks the magic, the
//! version and the size; a file of another version is refused with a clear message.

use serde::{Deserialize, Serialize};

use super::calibration::ScoreCalibration;
use super::drift::Reference;
use super::flows::FeatureSchema;
use super::gbdt::{Gbdt, GbdtMulticlass};
use super::iforest::{IsolationForest, IsolationForestParams, IsolationForestV1};
use super::metrics::Evaluation;
use super::sequence::{NewestStep, SeqAutoencoder};
use super::window_ae::WindowAutoencoder;
use crate::ModelError;

pub const MAGIC: &[u8; 4] = b"WMDL";
/// Version 2 added node sizes to the isolation forest (for attributions); version 3 the
/// training reference for drift; version 4 the score calibration on validation users.
/// Older files still load (without what they lacked).
pub const FORMAT_VERSION: u16 = 4;
/// Largest model file loaded.
pub const MAX_MODEL_BYTES: usize = 1 << 30;

/// The trained model itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Model {
    IsolationForest {
        params: IsolationForestParams,
        forest: IsolationForest,
    },
    /// Boosted trees (added as a new variant: older files decode unchanged).
    Gbdt(Box<Gbdt>),
    /// Multi-class boosted trees; the score is 1 − P(normal class).
    GbdtMulticlass(Box<GbdtMulticlass>),
    /// The sequence autoencoder over user-activity windows.
    SeqAutoencoder(Box<SeqAutoencoder>),
    /// The dense window autoencoder: the same input and score as the recurrent one, a
    /// dense encoder (added as a new variant: older files decode unchanged).
    WindowAutoencoder(Box<WindowAutoencoder>),
}

/// Index of the class named `normal`, if any.
fn normal_class(m: &GbdtMulticlass) -> Option<usize> {
    m.classes
        .iter()
        .position(|c| c.eq_ignore_ascii_case("normal"))
}

fn attack_probability(m: &GbdtMulticlass, probs: &[f64]) -> f64 {
    match normal_class(m) {
        Some(i) => 1.0 - probs.get(i).copied().unwrap_or(0.0),
        None => probs.iter().copied().fold(0.0, f64::max),
    }
}

impl Model {
    pub fn kind(&self) -> &'static str {
        match self {
            Model::IsolationForest { .. } => "iforest",
            Model::Gbdt(_) => "gbdt",
            Model::GbdtMulticlass(_) => "gbdt-multiclass",
            Model::SeqAutoencoder(_) => "seqae",
            Model::WindowAutoencoder(_) => "windowae",
        }
    }

    /// The model's score of one encoded row (higher: more anomalous; for boosted trees the
    /// probability of an attack).
    pub fn score_one(&self, row: &[f32]) -> f64 {
        match self {
            Model::IsolationForest { forest, .. } => forest.score_one(row),
            Model::Gbdt(g) => g.predict_one(row),
            Model::GbdtMulticlass(m) => attack_probability(m, &m.predict_proba_one(row)),
            Model::SeqAutoencoder(a) => a.score_one(row),
            Model::WindowAutoencoder(a) => a.score_one(row),
        }
    }

    /// For a multi-class model: the most probable class of a row and its probability.
    pub fn predicted_class(&self, row: &[f32]) -> Option<(String, f64)> {
        let Model::GbdtMulticlass(m) = self else {
            return None;
        };
        let p = m.predict_proba_one(row);
        let (i, best) = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        Some((m.classes.get(i)?.clone(), *best))
    }

    /// Scores of many rows, in parallel.
    pub fn score(&self, x: &super::Matrix) -> Vec<f64> {
        match self {
            Model::IsolationForest { forest, .. } => forest.score(x),
            Model::Gbdt(g) => g.predict(x),
            Model::GbdtMulticlass(m) => m
                .predict_proba(x)
                .iter()
                .map(|p| attack_probability(m, p))
                .collect(),
            Model::SeqAutoencoder(a) => a.score(x),
            Model::WindowAutoencoder(a) => a.score(x),
        }
    }

    pub fn threshold(&self) -> f64 {
        match self {
            Model::IsolationForest { forest, .. } => forest.threshold(),
            Model::Gbdt(_)
            | Model::GbdtMulticlass(_)
            | Model::SeqAutoencoder(_)
            | Model::WindowAutoencoder(_) => 0.5,
        }
    }

    /// Per-feature explanation of one row's score: path attribution shares for the forest,
    /// exact SHAP values (log-odds) for boosted trees, each newest-step feature's share of the
    /// reconstruction error for the autoencoder.
    pub fn explain(&self, row: &[f32]) -> Vec<f64> {
        match self {
            Model::IsolationForest { forest, .. } => forest.attributions(row),
            Model::Gbdt(g) => g.contributions(row).0,
            // SHAP values towards the predicted class.
            Model::GbdtMulticlass(m) => {
                let p = m.predict_proba_one(row);
                let best = p
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                m.per_class
                    .get(best)
                    .map(|g| g.contributions(row).0)
                    .unwrap_or_default()
            }
            Model::SeqAutoencoder(a) => a.attributions(row),
            Model::WindowAutoencoder(a) => a.attributions(row),
        }
    }
}

/// What the model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// Input file name as given.
    pub input: String,
    /// Stable hash (FNV-1a 64) of the input bytes.
    pub data_hash: u64,
    pub rows: usize,
    /// Rows skipped as malformed.
    pub bad_rows: usize,
    /// Whether only normal rows were used.
    pub normal_only: bool,
    pub fit_seconds: f64,
    pub created_ms: i64,
    pub warden_version: String,
    /// Scores on the training rows against their labels, when labelled.
    pub metrics: Option<Evaluation>,
}

/// Version 1 of the file, read and converted.
mod v1 {
    use super::*;

    #[derive(Deserialize)]
    pub enum Model {
        IsolationForest {
            params: IsolationForestParams,
            forest: IsolationForestV1,
        },
    }

    #[derive(Deserialize)]
    pub struct ModelFile {
        pub schema: FeatureSchema,
        pub model: Model,
        pub training: TrainingInfo,
    }

    impl From<ModelFile> for super::ModelFile {
        fn from(f: ModelFile) -> Self {
            let model = match f.model {
                Model::IsolationForest { params, forest } => super::Model::IsolationForest {
                    params,
                    forest: forest.into(),
                },
            };
            super::ModelFile {
                schema: f.schema,
                model,
                training: f.training,
                reference: None,
                calibration: None,
            }
        }
    }
}

/// Version 2 of the file: version 3 without the drift reference.
mod v2 {
    use super::*;

    #[derive(Deserialize)]
    pub struct ModelFile {
        pub schema: FeatureSchema,
        pub model: super::Model,
        pub training: TrainingInfo,
    }

    impl From<ModelFile> for super::ModelFile {
        fn from(f: ModelFile) -> Self {
            super::ModelFile {
                schema: f.schema,
                model: f.model,
                training: f.training,
                reference: None,
                calibration: None,
            }
        }
    }
}

/// Version 3 of the file: version 4 without the calibration.
mod v3 {
    use super::*;

    #[derive(Deserialize)]
    pub struct ModelFile {
        pub schema: FeatureSchema,
        pub model: super::Model,
        pub training: TrainingInfo,
        pub reference: Option<Reference>,
    }

    impl From<ModelFile> for super::ModelFile {
        fn from(f: ModelFile) -> Self {
            super::ModelFile {
                schema: f.schema,
                model: f.model,
                training: f.training,
                reference: f.reference,
                calibration: None,
            }
        }
    }
}

/// A model file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    pub schema: FeatureSchema,
    pub model: Model,
    pub training: TrainingInfo,
    /// Training distributions for drift (absent in files older than version 3).
    pub reference: Option<Reference>,
    /// How rare each raw score is among normal events of users held out from training, and
    /// the model's weight in the ensemble (`warden train calibrate`; absent before).
    pub calibration: Option<ScoreCalibration>,
}

impl ModelFile {
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let body = postcard::to_allocvec(self).map_err(|e| ModelError::Corrupt {
            what: "model",
            reason: e.to_string(),
        })?;
        let mut out = Vec::with_capacity(body.len() + 6);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&body);
        Ok(out)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<ModelFile, ModelError> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(ModelError::Corrupt {
                what: "model",
                reason: format!("larger than {MAX_MODEL_BYTES} bytes"),
            });
        }
        if bytes.len() < 6 || &bytes[..4] != MAGIC {
            return Err(ModelError::BadMagic { what: "model" });
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        let corrupt = |e: postcard::Error| ModelError::Corrupt {
            what: "model",
            reason: e.to_string(),
        };
        let mut file: ModelFile = match version {
            FORMAT_VERSION => postcard::from_bytes(&bytes[6..]).map_err(corrupt),
            1 => postcard::from_bytes::<v1::ModelFile>(&bytes[6..])
                .map(Into::into)
                .map_err(corrupt),
            2 => postcard::from_bytes::<v2::ModelFile>(&bytes[6..])
                .map(Into::into)
                .map_err(corrupt),
            3 => postcard::from_bytes::<v3::ModelFile>(&bytes[6..])
                .map(Into::into)
                .map_err(corrupt),
            found => Err(ModelError::Incompatible {
                what: "model",
                expected: FORMAT_VERSION,
                found,
            }),
        }?;
        match &mut file.model {
            Model::Gbdt(g) => g.prepare(),
            Model::GbdtMulticlass(m) => m.prepare(),
            Model::IsolationForest { forest, .. } => forest.prepare(),
            Model::SeqAutoencoder(a) => a.validate().map_err(|reason| ModelError::Corrupt {
                what: "model",
                reason,
            })?,
            Model::WindowAutoencoder(a) => a.validate().map_err(|reason| ModelError::Corrupt {
                what: "model",
                reason,
            })?,
        }
        if let Some(c) = &file.calibration {
            c.validate().map_err(|reason| ModelError::Corrupt {
                what: "model",
                reason,
            })?;
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::Matrix;
    use crate::ml::flows::{Columns, FlowFormat, FlowRecord};

    fn sample() -> ModelFile {
        let records: Vec<FlowRecord> = (0..50)
            .map(|i| FlowRecord {
                numeric: vec![f64::from(i), 1.0],
                categorical: vec![if i % 2 == 0 { "tcp" } else { "udp" }.into()],
                attack: Some(false),
                kind: None,
                origin: Default::default(),
            })
            .collect();
        let cols = Columns {
            numeric: vec!["a".into(), "b".into()],
            categorical: vec!["proto".into()],
        };
        let schema = FeatureSchema::fit(FlowFormat::NslKdd, cols, &records);
        let x: Matrix = schema.encode_all(&records);
        let params = IsolationForestParams {
            n_trees: 5,
            ..IsolationForestParams::default()
        };
        let forest = IsolationForest::fit(&params, &x).unwrap_or_else(|e| panic!("{e}"));
        ModelFile {
            schema,
            model: Model::IsolationForest { params, forest },
            training: TrainingInfo {
                input: "t.csv".into(),
                data_hash: 1,
                rows: 50,
                bad_rows: 0,
                normal_only: true,
                fit_seconds: 0.0,
                created_ms: 0,
                warden_version: "test".into(),
                metrics: None,
            },
            reference: None,
            calibration: None,
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let m = sample();
        let bytes = m.to_bytes().unwrap_or_default();
        let back = ModelFile::from_bytes(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, m);
        let row = vec![0.3f32; back.schema.width()];
        assert_eq!(back.model.score_one(&row), m.model.score_one(&row));
        assert!(matches!(
            ModelFile::from_bytes(b"nope"),
            Err(ModelError::BadMagic { .. })
        ));
        let mut other = bytes.clone();
        other[4] = 9;
        let e = ModelFile::from_bytes(&other)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("expected version 4, found 9"), "{e}");
        assert!(matches!(
            ModelFile::from_bytes(&bytes[..bytes.len() / 2]),
            Err(ModelError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_calibration_round_trips_and_version_3_files_load_without_one() {
        use crate::ml::calibration::ScoreCalibration;
        let mut m = sample();
        let normal: Vec<f64> = (0..500).map(|i| f64::from(i) / 500.0).collect();
        m.calibration = ScoreCalibration::fit(&normal, 12);
        let back = ModelFile::from_bytes(&m.to_bytes().unwrap()).unwrap();
        assert_eq!(back.calibration, m.calibration);
        // A version-3 body is this file's without the calibration.
        let v3 = postcard::to_allocvec(&(&m.schema, &m.model, &m.training, &m.reference)).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&3u16.to_le_bytes());
        bytes.extend_from_slice(&v3);
        let old = ModelFile::from_bytes(&bytes).unwrap();
        assert_eq!(old.calibration, None);
        assert_eq!(old.model, m.model);
        // A damaged table is refused.
        let mut bad = m.clone();
        if let Some(c) = bad.calibration.as_mut() {
            c.tail.reverse();
        }
        assert!(ModelFile::from_bytes(&bad.to_bytes().unwrap()).is_err());
    }
}
