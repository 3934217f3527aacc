//! Machine-learning models and what they need: a seeded random generator ([`rng`]), a
//! dense feature matrix ([`Matrix`]), the isolation forest ([`iforest`]), network-flow
//! feature pipelines ([`flows`]), evaluation metrics ([`metrics`]), drift against the training
//! data ([`drift`]), the sequence models' inference ([`sequence`]: recurrent, [`window_ae`]:
//! dense) and the versioned
//! model file ([`artifact`]).

pub mod artifact;
pub mod calibration;
pub mod complete;
pub mod drift;
pub mod flows;
pub mod gbdt;
pub mod iforest;
pub mod metrics;
pub mod rng;
pub mod sequence;
pub mod training;
pub mod window_ae;

use serde::{Deserialize, Serialize};

/// Whether a value goes right at a split `value <= threshold` (NaN goes right), without a
/// branch.
#[inline]
pub(crate) fn goes_right(value: f32, threshold: f32) -> bool {
    value > threshold || value.is_nan()
}

/// Rows of `f32` features, row-major, every row `cols` wide.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    data: Vec<f32>,
    cols: usize,
}

impl Matrix {
    pub fn new(cols: usize) -> Self {
        Matrix {
            data: Vec::new(),
            cols,
        }
    }

    /// Builds a matrix from rows; `None` when a row has the wrong width.
    pub fn from_rows(rows: &[Vec<f32>]) -> Option<Self> {
        let cols = rows.first().map_or(0, Vec::len);
        let mut m = Matrix::new(cols);
        for r in rows {
            if r.len() != cols {
                return None;
            }
            m.data.extend_from_slice(r);
        }
        Some(m)
    }

    pub fn push(&mut self, row: &[f32]) {
        debug_assert_eq!(row.len(), self.cols);
        self.data.extend_from_slice(row);
    }

    pub fn rows(&self) -> usize {
        self.data.len().checked_div(self.cols).unwrap_or(0)
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn row(&self, i: usize) -> &[f32] {
        self.data
            .get(i * self.cols..(i + 1) * self.cols)
            .unwrap_or(&[])
    }

    pub fn iter_rows(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.cols.max(1))
    }
}
