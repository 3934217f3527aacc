//! The [`FeatureSchema`] a flow model learns at training time (categories for one-hot
//! encoding, mean and standard deviation for standardisation) that turns a raw
//! [`FlowRecord`] into a model's input row. The schema is stored with the model, so scoring
//! uses exactly the training transform. The records and formats are `warden-event`'s
//! (re-exported here); the readers are `warden-ingest`'s.

use serde::{Deserialize, Serialize};

use super::Matrix;
pub use warden_event::flow::{Columns, FlowFormat, FlowOrigin, FlowRecord};

/// Most distinct values kept for one categorical column (rarer ones encode as unknown).
pub const MAX_CATEGORIES: usize = 512;

/// The transform learned from training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    pub format: FlowFormat,
    pub columns: Columns,
    /// Per numeric column: mean and standard deviation (1 when constant).
    pub scaling: Vec<(f64, f64)>,
    /// Per categorical column: its known values, in encoding order.
    pub categories: Vec<Vec<String>>,
}

impl FeatureSchema {
    /// Learns categories and scaling from training records.
    pub fn fit(format: FlowFormat, columns: Columns, records: &[FlowRecord]) -> FeatureSchema {
        let n_num = columns.numeric.len();
        let mut sum = vec![0.0f64; n_num];
        let mut sq = vec![0.0f64; n_num];
        let mut counts: Vec<rustc_hash::FxHashMap<&str, usize>> =
            vec![Default::default(); columns.categorical.len()];
        for r in records {
            for (i, v) in r.numeric.iter().enumerate().take(n_num) {
                sum[i] += v;
                sq[i] += v * v;
            }
            for (i, c) in r.categorical.iter().enumerate() {
                if let Some(m) = counts.get_mut(i) {
                    *m.entry(c.as_str()).or_default() += 1;
                }
            }
        }
        let n = records.len().max(1) as f64;
        let scaling = (0..n_num)
            .map(|i| {
                let mean = sum[i] / n;
                let var = (sq[i] / n - mean * mean).max(0.0);
                let sd = var.sqrt();
                (mean, if sd > 1e-12 { sd } else { 1.0 })
            })
            .collect();
        let categories = counts
            .into_iter()
            .map(|m| {
                let mut v: Vec<(&str, usize)> = m.into_iter().collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
                v.truncate(MAX_CATEGORIES);
                let mut names: Vec<String> = v.into_iter().map(|(k, _)| k.to_owned()).collect();
                names.sort();
                names
            })
            .collect();
        FeatureSchema {
            format,
            columns,
            scaling,
            categories,
        }
    }

    /// A schema that passes numbers through unchanged (features already scaled, as the
    /// user-activity ones, all in `[0, 1]`).
    pub fn identity(format: FlowFormat, names: Vec<String>) -> FeatureSchema {
        FeatureSchema {
            format,
            scaling: vec![(0.0, 1.0); names.len()],
            categories: Vec::new(),
            columns: Columns {
                numeric: names,
                categorical: Vec::new(),
            },
        }
    }

    /// Width of an encoded row.
    pub fn width(&self) -> usize {
        self.scaling.len() + self.categories.iter().map(Vec::len).sum::<usize>()
    }

    /// Names of the encoded features (`service=http` for one-hot columns).
    pub fn feature_names(&self) -> Vec<String> {
        let mut out = self.columns.numeric.clone();
        for (col, cats) in self.columns.categorical.iter().zip(&self.categories) {
            out.extend(cats.iter().map(|c| format!("{col}={c}")));
        }
        out
    }

    /// Encodes one record: standardised numbers, then one-hot categories (an unknown
    /// category encodes as all zeros).
    pub fn encode(&self, r: &FlowRecord, out: &mut Vec<f32>) {
        out.clear();
        for (i, (mean, sd)) in self.scaling.iter().enumerate() {
            let v = r.numeric.get(i).copied().unwrap_or(*mean);
            out.push(z_score(v, *mean, *sd));
        }
        for (i, cats) in self.categories.iter().enumerate() {
            let value = r.categorical.get(i).map(String::as_str).unwrap_or("");
            let hit = cats.binary_search_by(|c| c.as_str().cmp(value)).ok();
            out.extend((0..cats.len()).map(|k| if Some(k) == hit { 1.0 } else { 0.0 }));
        }
    }

    pub fn encode_all(&self, records: &[FlowRecord]) -> Matrix {
        let mut m = Matrix::new(self.width());
        let mut row = Vec::with_capacity(self.width());
        for r in records {
            self.encode(r, &mut row);
            m.push(&row);
        }
        m
    }
}

/// `(v − mean) / sd` as a finite `f32`: a number past `f32`'s range (a flow claiming
/// 1e39 bytes) is the largest one instead of infinity, which would be written as `null`
/// wherever the row is shown, and anything undefined is 0.
fn z_score(v: f64, mean: f64, sd: f64) -> f32 {
    let z = (v - mean) / sd;
    if z.is_nan() {
        return 0.0;
    }
    z.clamp(f64::from(f32::MIN), f64::from(f32::MAX)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_standardises_and_one_hot_encodes() {
        let row = |dur: f64, bytes: f64, cats: [&str; 3], attack: bool| FlowRecord {
            numeric: vec![dur, bytes],
            categorical: cats.iter().map(|c| (*c).to_owned()).collect(),
            attack: Some(attack),
            kind: None,
            origin: Default::default(),
        };
        let r = vec![
            row(0.5, 100.0, ["tcp", "-", "FIN"], false),
            row(1.5, 300.0, ["udp", "dns", "INT"], true),
        ];
        let cols = Columns {
            numeric: vec!["dur".into(), "sbytes".into()],
            categorical: vec!["proto".into(), "service".into(), "state".into()],
        };
        let s = FeatureSchema::fit(FlowFormat::UnswNb15, cols, &r);
        assert_eq!(s.width(), 2 + 2 + 2 + 2);
        let m = s.encode_all(&r);
        assert_eq!(m.row(0)[..2], [-1.0, -1.0]);
        assert_eq!(m.row(1)[..2], [1.0, 1.0]);
        assert_eq!(s.feature_names()[2], "proto=tcp");
        // An unseen category encodes as zeros.
        let mut row = Vec::new();
        let unseen = FlowRecord {
            numeric: vec![0.5, 100.0],
            categorical: vec!["icmp".into(), "-".into(), "FIN".into()],
            attack: None,
            kind: None,
            origin: Default::default(),
        };
        s.encode(&unseen, &mut row);
        assert_eq!(row[2..4], [0.0, 0.0]);
        // Numbers past f32's range stay finite, so the row is never shown with nulls.
        let huge = FlowRecord {
            numeric: vec![1e39, -1e300],
            ..unseen.clone()
        };
        s.encode(&huge, &mut row);
        assert_eq!(row[..2], [f32::MAX, f32::MIN]);
        assert_eq!(z_score(f64::INFINITY, f64::INFINITY, 1.0), 0.0);
    }
}
