//! The layouts of payload model files before the current format version, each read and
//! upgraded to today's [`PayloadModel`] (what it did not know starts empty), so that a
//! registry's older models keep working.

use serde::Deserialize;

use super::{PayloadModel, TrainingSummary};
use crate::features::FeatureSet;

/// Reads the body of a file of format `version` (older than the current one); `None` for a
/// version that never existed.
pub(super) fn read(version: u16, body: &[u8]) -> Option<Result<PayloadModel, postcard::Error>> {
    Some(match version {
        1 => exactly::<ModelV1>(body).map(|v| {
            ModelV2 {
                features: v.features,
                weights: v.weights,
                idf: v.idf,
                bias: v.bias,
                platt_a: v.platt_a,
                platt_b: v.platt_b,
                summary: v.summary,
                techniques: None,
            }
            .upgrade()
        }),
        2 => exactly::<ModelV2<FeaturesV4>>(body)
            .map(ModelV2::upgrade)
            .or_else(|_| exactly::<ModelV2<FeaturesWithoutLines>>(body).map(ModelV2::upgrade)),
        3 => exactly::<ModelV3>(body).map(ModelV3::upgrade),
        4 => exactly::<ModelV4>(body).map(ModelV4::upgrade),
        5 => exactly::<ModelV5>(body).map(ModelV5::upgrade),
        _ => return None,
    })
}

/// Format 5: format 6 without the presence trees (and a combiner without their input).
/// Format 4 is the same with the feature settings before `launch` (the text as written):
/// `F` is either.
#[derive(Deserialize)]
struct ModelV5<F = FeatureSet> {
    features: F,
    weights: Vec<f32>,
    idf: Vec<f32>,
    bias: f32,
    platt_a: f32,
    platt_b: f32,
    summary: TrainingSummary,
    techniques: Option<crate::technique::TechniqueTagger>,
    patterns: Option<crate::tempering::PatternCounts>,
    combiner: Option<crate::combiner::CombinerV1>,
}

/// Format 4.
type ModelV4 = ModelV5<FeaturesV4>;

impl<F: Into<FeatureSet>> ModelV5<F> {
    fn upgrade(self) -> PayloadModel {
        PayloadModel {
            features: self.features.into(),
            weights: self.weights,
            idf: self.idf,
            bias: self.bias,
            platt_a: self.platt_a,
            platt_b: self.platt_b,
            summary: self.summary,
            pairs: Vec::new(),
            techniques: self.techniques,
            patterns: self.patterns,
            combiner: self.combiner.map(Into::into),
            presence: None,
        }
    }
}

/// Format 3: format 4 without the combiner.
#[derive(Deserialize)]
struct ModelV3 {
    features: FeaturesV4,
    weights: Vec<f32>,
    idf: Vec<f32>,
    bias: f32,
    platt_a: f32,
    platt_b: f32,
    summary: TrainingSummary,
    techniques: Option<crate::technique::TechniqueTagger>,
    patterns: Option<crate::tempering::PatternCounts>,
}

impl ModelV3 {
    fn upgrade(self) -> PayloadModel {
        ModelV4 {
            features: self.features,
            weights: self.weights,
            idf: self.idf,
            bias: self.bias,
            platt_a: self.platt_a,
            platt_b: self.platt_b,
            summary: self.summary,
            techniques: self.techniques,
            patterns: self.patterns,
            combiner: None,
        }
        .upgrade()
    }
}

/// The feature settings of formats 2 to 4 (line breaks a setting, images read as written).
#[derive(Deserialize)]
struct FeaturesV4 {
    bits: u32,
    min_n: u8,
    max_n: u8,
    words: bool,
    analysis: bool,
    lines: bool,
}

impl From<FeaturesV4> for FeatureSet {
    fn from(f: FeaturesV4) -> FeatureSet {
        FeatureSet {
            bits: f.bits,
            min_n: f.min_n,
            max_n: f.max_n,
            words: f.words,
            analysis: f.analysis,
            lines: f.lines,
            launch: false,
        }
    }
}

/// The feature settings as saved before line breaks were a setting (they were collapsed).
#[derive(Deserialize)]
struct FeaturesWithoutLines {
    bits: u32,
    min_n: u8,
    max_n: u8,
    words: bool,
    analysis: bool,
}

impl From<FeaturesWithoutLines> for FeaturesV4 {
    fn from(f: FeaturesWithoutLines) -> FeaturesV4 {
        FeaturesV4 {
            bits: f.bits,
            min_n: f.min_n,
            max_n: f.max_n,
            words: f.words,
            analysis: f.analysis,
            lines: false,
        }
    }
}

/// Format 2: format 3 without the pattern counts. Its feature settings were saved without
/// `lines` and later with it, under the same version; `F` is either.
#[derive(Deserialize)]
struct ModelV2<F> {
    features: F,
    weights: Vec<f32>,
    idf: Vec<f32>,
    bias: f32,
    platt_a: f32,
    platt_b: f32,
    summary: TrainingSummary,
    techniques: Option<crate::technique::TechniqueTagger>,
}

impl<F: Into<FeaturesV4>> ModelV2<F> {
    fn upgrade(self) -> PayloadModel {
        ModelV3 {
            features: self.features.into(),
            weights: self.weights,
            idf: self.idf,
            bias: self.bias,
            platt_a: self.platt_a,
            platt_b: self.platt_b,
            summary: self.summary,
            techniques: self.techniques,
            patterns: None,
        }
        .upgrade()
    }
}

/// Format 1: format 2 without the technique tagger (and without `lines`).
#[derive(Deserialize)]
struct ModelV1 {
    features: FeaturesWithoutLines,
    weights: Vec<f32>,
    idf: Vec<f32>,
    bias: f32,
    platt_a: f32,
    platt_b: f32,
    summary: TrainingSummary,
}

/// Decodes `bytes` as a `T` that uses every byte (a layout that reads fewer is not it).
pub(super) fn exactly<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, postcard::Error> {
    match postcard::take_from_bytes(bytes)? {
        (value, []) => Ok(value),
        _ => Err(postcard::Error::DeserializeBadEncoding),
    }
}
