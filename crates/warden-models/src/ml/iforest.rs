//! Isolation forest with scikit-learn's semantics: `n_trees` trees, each grown on
//! `max_samples` rows drawn without replacement, split on a random feature at a random
//! value between the node's minimum and maximum, to a depth of ⌈log₂ max_samples⌉; the
//! score of a row is `2^(−E[h(x)] / c(max_samples))` in [0, 1], where `h` is the depth of
//! the leaf plus `c(leaf size)`, the average path length of an unbuilt subtree. `contamination`
//! sets the threshold at that share of the training rows; without it the threshold is 0.5
//! (scikit-learn's `"auto"`).
//!
//! Trees are stored flat, in pre-order (a node's left child is the next node), and fitted
//! and scored in parallel; everything is fixed by the seed.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Matrix;
use super::complete::{BLOCK, CompleteTrees, NodeView};
use super::rng::SplitMix64;

const LEAF: u32 = u32::MAX;
const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// Hyper-parameters as given; [`IsolationForestParams::validate`] checks them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForestParams {
    pub n_trees: usize,
    pub max_samples: usize,
    /// Expected share of anomalies in the training data, in (0, 0.5]; `None`: threshold 0.5.
    pub contamination: Option<f64>,
    pub seed: u64,
}

impl Default for IsolationForestParams {
    fn default() -> Self {
        IsolationForestParams {
            n_trees: 100,
            max_samples: 256,
            contamination: None,
            seed: 42,
        }
    }
}

/// Why parameters or data were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("n_trees must be between 1 and 10,000 (got {0})")]
    Trees(usize),
    #[error("max_samples must be between 2 and 1,000,000 (got {0})")]
    Samples(usize),
    #[error("contamination must be in (0, 0.5] (got {0})")]
    Contamination(f64),
    #[error("no training rows")]
    Empty,
    #[error("training data holds a non-finite value (row {row}, column {col})")]
    NonFinite { row: usize, col: usize },
}

impl IsolationForestParams {
    pub fn validate(&self) -> Result<(), FitError> {
        if !(1..=10_000).contains(&self.n_trees) {
            return Err(FitError::Trees(self.n_trees));
        }
        if !(2..=1_000_000).contains(&self.max_samples) {
            return Err(FitError::Samples(self.max_samples));
        }
        if let Some(c) = self.contamination
            && !(c > 0.0 && c <= 0.5)
        {
            return Err(FitError::Contamination(c));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Node {
    /// Split feature, or [`LEAF`].
    feature: u32,
    /// Split value; for a leaf, its whole path length `depth + c(size)`, computed once.
    threshold: f32,
    /// Index of the right child (the left one is the next node); for a leaf, its size.
    right_or_size: u32,
}

/// A fitted forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForest {
    trees: Vec<Vec<Node>>,
    /// Per tree, per node: training rows that reached it (kept apart from the nodes so
    /// scoring does not load them).
    sizes: Vec<Vec<u32>>,
    n_features: usize,
    sample_size: usize,
    threshold: f64,
    /// The trees laid out complete for batch scoring (rebuilt after loading).
    #[serde(skip)]
    compiled: Option<CompleteTrees>,
}

/// The forest as model files of format version 1 stored it (no node sizes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsolationForestV1 {
    trees: Vec<Vec<Node>>,
    n_features: usize,
    sample_size: usize,
    threshold: f64,
}

impl From<IsolationForestV1> for IsolationForest {
    /// Without node sizes every split on a path gets the same credit.
    fn from(v: IsolationForestV1) -> Self {
        let mut f = IsolationForest {
            sizes: vec![Vec::new(); v.trees.len()],
            trees: v.trees,
            n_features: v.n_features,
            sample_size: v.sample_size,
            threshold: v.threshold,
            compiled: None,
        };
        f.prepare();
        f
    }
}

/// Average path length of an unsuccessful search in a binary search tree of `n` items.
pub fn average_path_length(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        n => {
            let n = n as f64;
            2.0 * ((n - 1.0).ln() + EULER_GAMMA) - 2.0 * (n - 1.0) / n
        }
    }
}

fn sample_without_replacement(rng: &mut SplitMix64, n: usize, k: usize) -> Vec<u32> {
    // Floyd's algorithm: k draws whatever n is.
    let mut chosen = rustc_hash::FxHashSet::default();
    let mut out = Vec::with_capacity(k);
    for j in n - k..n {
        let t = rng.below(j + 1);
        let pick = if chosen.insert(t) { t } else { j };
        if pick == j {
            chosen.insert(j);
        }
        out.push(pick as u32);
    }
    out.sort_unstable();
    out
}

fn grow(
    x: &Matrix,
    rows: &mut [u32],
    rng: &mut SplitMix64,
    max_depth: usize,
) -> (Vec<Node>, Vec<u32>) {
    let mut nodes = Vec::with_capacity(2 * rows.len());
    let mut sizes = Vec::with_capacity(2 * rows.len());
    // (start, end, depth, parent waiting for its right index)
    let mut stack: Vec<(usize, usize, usize, Option<usize>)> = vec![(0, rows.len(), 0, None)];
    let cols = x.cols();
    let mut features: Vec<usize> = (0..cols).collect();
    while let Some((start, end, depth, parent)) = stack.pop() {
        let idx = nodes.len();
        if let Some(p) = parent {
            let node: &mut Node = &mut nodes[p];
            node.right_or_size = idx as u32;
        }
        let part = &mut rows[start..end];
        sizes.push(part.len() as u32);
        let leaf = Node {
            feature: LEAF,
            threshold: (depth as f64 + average_path_length(part.len())) as f32,
            right_or_size: part.len() as u32,
        };
        if depth >= max_depth || part.len() <= 1 {
            nodes.push(leaf);
            continue;
        }
        // A random feature that is not constant here (scikit-learn draws until one is).
        let mut split = None;
        let mut remaining = cols;
        while remaining > 0 {
            let k = rng.below(remaining);
            let f = features[k];
            features.swap(k, remaining - 1);
            remaining -= 1;
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for &r in part.iter() {
                let v = x.row(r as usize)[f];
                lo = lo.min(v);
                hi = hi.max(v);
            }
            if hi > lo {
                let mut t = (lo as f64 + rng.next_f64() * (hi as f64 - lo as f64)) as f32;
                if t >= hi {
                    t = lo;
                }
                split = Some((f, t));
                break;
            }
        }
        let Some((f, t)) = split else {
            nodes.push(leaf);
            continue;
        };
        // Partition: values ≤ threshold to the left.
        let mut i = 0;
        for j in 0..part.len() {
            if x.row(part[j] as usize)[f] <= t {
                part.swap(i, j);
                i += 1;
            }
        }
        nodes.push(Node {
            feature: f as u32,
            threshold: t,
            right_or_size: 0,
        });
        // Right pushed first so the left subtree is laid out right after its parent.
        stack.push((start + i, end, depth + 1, Some(idx)));
        stack.push((start, start + i, depth + 1, None));
    }
    (nodes, sizes)
}

impl IsolationForest {
    /// Fits a forest on the rows of `x`.
    pub fn fit(params: &IsolationForestParams, x: &Matrix) -> Result<IsolationForest, FitError> {
        params.validate()?;
        let n = x.rows();
        if n == 0 {
            return Err(FitError::Empty);
        }
        for (r, row) in x.iter_rows().enumerate() {
            if let Some(c) = row.iter().position(|v| !v.is_finite()) {
                return Err(FitError::NonFinite { row: r, col: c });
            }
        }
        let psi = params.max_samples.min(n);
        let max_depth = (psi.max(2) as f64).log2().ceil() as usize;
        let grown: Vec<(Vec<Node>, Vec<u32>)> = (0..params.n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = SplitMix64::new(
                    params
                        .seed
                        .wrapping_mul(0x2545_F491_4F6C_DD1D)
                        .wrapping_add(t as u64),
                );
                let mut rows = sample_without_replacement(&mut rng, n, psi);
                grow(x, &mut rows, &mut rng, max_depth)
            })
            .collect();
        let (trees, sizes) = grown.into_iter().unzip();
        let mut forest = IsolationForest {
            trees,
            sizes,
            n_features: x.cols(),
            sample_size: psi,
            threshold: 0.5,
            compiled: None,
        };
        forest.prepare();
        if let Some(c) = params.contamination {
            let mut scores = forest.score(x);
            scores.sort_by(f64::total_cmp);
            let k = ((1.0 - c) * (scores.len() - 1) as f64).round() as usize;
            forest.threshold = scores.get(k).copied().unwrap_or(0.5);
        }
        Ok(forest)
    }

    /// Lays the trees out for batch scoring (done by `fit`; call it after loading).
    pub fn prepare(&mut self) {
        let depth = (self.sample_size.max(2) as f64).log2().ceil() as usize;
        let trees = &self.trees;
        self.compiled = CompleteTrees::build(trees.len(), depth, |t, i| {
            let n = trees.get(t)?.get(i)?;
            Some(if n.feature == LEAF {
                // A leaf's threshold holds its whole path length.
                NodeView::Leaf(n.threshold)
            } else {
                NodeView::Split {
                    feature: n.feature,
                    threshold: n.threshold,
                    left: i + 1,
                    right: n.right_or_size as usize,
                }
            })
        });
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Scores at or above this are anomalies.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Walks one tree; `visit(feature, node, child)` is told every split taken.
    fn path_length(tree: &[Node], x: &[f32], mut visit: impl FnMut(usize, usize, usize)) -> f64 {
        let mut i = 0;
        loop {
            let Some(node) = tree.get(i) else {
                return 0.0;
            };
            if node.feature == LEAF {
                return f64::from(node.threshold);
            }
            let f = node.feature as usize;
            let next = if x.get(f).copied().unwrap_or(0.0) <= node.threshold {
                i + 1
            } else {
                node.right_or_size as usize
            };
            visit(f, i, next);
            i = next;
        }
    }

    /// The anomaly score of one row, in [0, 1] (higher: more anomalous). (Walking several
    /// trees in step to overlap their loads measured slower: the branches cost more.)
    pub fn score_one(&self, x: &[f32]) -> f64 {
        let total: f64 = self
            .trees
            .iter()
            .map(|t| Self::path_length(t, x, |_, _, _| {}))
            .sum();
        let mean = total / self.trees.len().max(1) as f64;
        2f64.powf(-mean / average_path_length(self.sample_size).max(f64::MIN_POSITIVE))
    }

    /// Scores of every row, in parallel: eight rows walk each (complete) tree in step, so
    /// their loads overlap and nothing depends on the tree's shape.
    pub fn score(&self, x: &Matrix) -> Vec<f64> {
        let rows: Vec<&[f32]> = x.iter_rows().collect();
        let Some(c) = &self.compiled else {
            return rows.par_iter().map(|r| self.score_one(r)).collect();
        };
        let norm = average_path_length(self.sample_size).max(f64::MIN_POSITIVE);
        let n_trees = self.trees.len().max(1) as f64;
        let mut out = vec![0.0; rows.len()];
        out.par_chunks_mut(BLOCK)
            .zip(rows.par_chunks(BLOCK))
            .for_each(|(out, block)| {
                let mut total = [0.0f64; BLOCK];
                c.sum(block, &mut total);
                for (o, sum) in out.iter_mut().zip(total) {
                    *o = 2f64.powf(-(sum / n_trees) / norm);
                }
            });
        out
    }

    /// Path attributions: each split on a row's path credits its feature with the share of
    /// the node's training rows it left behind (`1 − rows(child) / rows(node)`): splits that
    /// cut the row off from most of the data isolate it most. Shares summing to 1.
    pub fn attributions(&self, x: &[f32]) -> Vec<f64> {
        let mut credit = vec![0.0; self.n_features];
        for (t, sizes) in self.trees.iter().zip(&self.sizes) {
            Self::path_length(t, x, |f, node, child| {
                let (n, c) = (
                    f64::from(sizes.get(node).copied().unwrap_or(1).max(1)),
                    f64::from(sizes.get(child).copied().unwrap_or(0)),
                );
                if let Some(slot) = credit.get_mut(f) {
                    *slot += 1.0 - c / n;
                }
            });
        }
        let sum: f64 = credit.iter().sum();
        if sum > 0.0 {
            credit.iter_mut().for_each(|c| *c /= sum);
        }
        credit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cluster(n: usize, seed: u64) -> Matrix {
        let mut rng = SplitMix64::new(seed);
        let rows: Vec<Vec<f32>> = (0..n)
            .map(|_| (0..3).map(|_| (rng.next_f64() - 0.5) as f32).collect())
            .collect();
        Matrix::from_rows(&rows).unwrap_or_default()
    }

    #[test]
    fn c_of_n_matches_the_reference() {
        assert_eq!(average_path_length(1), 0.0);
        assert_eq!(average_path_length(2), 1.0);
        // scikit-learn's _average_path_length([256]) = 10.2447...
        assert!((average_path_length(256) - 10.244_770_920_116_851).abs() < 1e-9);
    }

    #[test]
    fn outliers_score_higher_and_the_seed_fixes_the_model() {
        let x = cluster(1000, 1);
        let p = IsolationForestParams::default();
        let f = IsolationForest::fit(&p, &x).unwrap_or_else(|e| panic!("{e}"));
        let inlier = f.score_one(&[0.0, 0.0, 0.0]);
        let outlier = f.score_one(&[4.0, -4.0, 4.0]);
        assert!(outlier > 0.6 && inlier < 0.5, "{inlier} {outlier}");
        assert!(outlier >= f.threshold() && inlier < f.threshold());
        let again = IsolationForest::fit(&p, &x).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f, again);
        let other = IsolationForest::fit(&IsolationForestParams { seed: 7, ..p }, &x)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(f, other);
        // The feature that sets the outlier apart gets the credit.
        let a = f.attributions(&[0.0, 5.0, 0.0]);
        assert!(a[1] > a[0] && a[1] > a[2], "{a:?}");
        assert!((a.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn batch_scores_equal_single_scores() {
        let x = cluster(300, 5);
        let f = IsolationForest::fit(&IsolationForestParams::default(), &x)
            .unwrap_or_else(|e| panic!("{e}"));
        let batch = f.score(&x);
        for (i, s) in batch.iter().enumerate() {
            assert_eq!(*s, f.score_one(x.row(i)));
        }
    }

    #[test]
    fn contamination_sets_the_threshold() {
        let x = cluster(500, 3);
        let p = IsolationForestParams {
            contamination: Some(0.1),
            ..IsolationForestParams::default()
        };
        let f = IsolationForest::fit(&p, &x).unwrap_or_else(|e| panic!("{e}"));
        let flagged = f.score(&x).iter().filter(|&&s| s >= f.threshold()).count();
        assert!((40..=60).contains(&flagged), "{flagged}");
    }

    #[test]
    fn bad_parameters_and_data_are_refused() {
        let x = cluster(10, 1);
        let bad = |p: IsolationForestParams| IsolationForest::fit(&p, &x).err();
        let d = IsolationForestParams::default;
        assert_eq!(
            bad(IsolationForestParams { n_trees: 0, ..d() }),
            Some(FitError::Trees(0))
        );
        assert_eq!(
            bad(IsolationForestParams {
                max_samples: 1,
                ..d()
            }),
            Some(FitError::Samples(1))
        );
        assert!(matches!(
            bad(IsolationForestParams {
                contamination: Some(0.9),
                ..d()
            }),
            Some(FitError::Contamination(_))
        ));
        let nan = Matrix::from_rows(&[vec![1.0, f32::NAN]]).unwrap_or_default();
        assert_eq!(
            IsolationForest::fit(&d(), &nan).err(),
            Some(FitError::NonFinite { row: 0, col: 1 })
        );
        assert_eq!(
            IsolationForest::fit(&d(), &Matrix::new(2)).err(),
            Some(FitError::Empty)
        );
        // Constant data: every tree is one leaf, every score the same.
        let flat = Matrix::from_rows(&vec![vec![1.0, 1.0]; 50]).unwrap_or_default();
        let f = IsolationForest::fit(&d(), &flat).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.score_one(&[1.0, 1.0]), f.score_one(&[9.0, -9.0]));
    }

    proptest! {
        #[test]
        fn scores_stay_in_range(rows in proptest::collection::vec(proptest::collection::vec(-1e6f32..1e6, 4), 2..60),
                                probe in proptest::collection::vec(-1e7f32..1e7, 4), seed in any::<u64>()) {
            let x = Matrix::from_rows(&rows).unwrap_or_default();
            let p = IsolationForestParams { n_trees: 10, seed, ..IsolationForestParams::default() };
            let f = IsolationForest::fit(&p, &x).unwrap_or_else(|e| panic!("{e}"));
            let s = f.score_one(&probe);
            prop_assert!((0.0..=1.0).contains(&s), "{}", s);
            // Deeper isolation (a longer average path) never gives a higher score.
            let h = |s: f64| -s.log2() * average_path_length(f.sample_size);
            prop_assert!(h(s) >= 0.0);
        }
    }
}
