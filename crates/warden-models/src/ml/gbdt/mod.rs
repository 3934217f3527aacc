//! Gradient-boosted trees, XGBoost-style, for binary classification: logistic loss,
//! second-order (gradient and hessian) leaf weights with L2 regularisation, histogram
//! split finding over at most 256 quantile bins per feature, depth-wise growth, shrinkage.
//! Defaults as XGBoost's `hist`: 100 trees, depth 6, learning rate 0.1, λ = 1,
//! min_child_weight = 1, γ = 0. Histograms of a node's two children cost one pass: the
//! smaller child is counted, the other is the parent minus it.
//!
//! Own implementation: the crates that exist either need a nightly compiler, bind to C
//! libraries that cannot be built offline, or lack exact per-prediction explanations
//! ([`Gbdt::contributions`], exact tree SHAP), which we need for alerts.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::Matrix;
use super::complete::{BLOCK, CompleteTrees, NodeView};

mod multiclass;
mod shap;

pub use multiclass::GbdtMulticlass;

/// Hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtParams {
    pub n_trees: usize,
    pub max_depth: usize,
    pub learning_rate: f64,
    pub max_bins: usize,
    pub lambda: f64,
    pub min_child_weight: f64,
    pub gamma: f64,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams {
            n_trees: 100,
            max_depth: 6,
            learning_rate: 0.1,
            max_bins: 256,
            lambda: 1.0,
            min_child_weight: 1.0,
            gamma: 0.0,
        }
    }
}

/// Why training was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GbdtError {
    #[error("n_trees must be 1..=10,000, max_depth 1..=16, max_bins 2..=256 (got {0}, {1}, {2})")]
    Shape(usize, usize, usize),
    #[error("learning_rate must be in (0, 1], lambda and gamma ≥ 0, min_child_weight ≥ 0")]
    Rates,
    #[error("training needs rows of both classes (got {positives} positive of {rows})")]
    OneClass { rows: usize, positives: usize },
    #[error("labels ({labels}) and rows ({rows}) differ in number")]
    Length { rows: usize, labels: usize },
    #[error("training data holds a non-finite value (row {row}, column {col})")]
    NonFinite { row: usize, col: usize },
}

impl GbdtParams {
    pub fn validate(&self) -> Result<(), GbdtError> {
        if !(1..=10_000).contains(&self.n_trees)
            || !(1..=16).contains(&self.max_depth)
            || !(2..=256).contains(&self.max_bins)
        {
            return Err(GbdtError::Shape(
                self.n_trees,
                self.max_depth,
                self.max_bins,
            ));
        }
        let rates_ok = self.learning_rate > 0.0
            && self.learning_rate <= 1.0
            && self.lambda >= 0.0
            && self.gamma >= 0.0
            && self.min_child_weight >= 0.0;
        if !rates_ok {
            return Err(GbdtError::Rates);
        }
        Ok(())
    }
}

const LEAF: u32 = u32::MAX;

/// One node: a split (`x[feature] <= threshold` goes left) or a leaf with its value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub feature: u32,
    pub threshold: f32,
    pub left: u32,
    pub right: u32,
    /// Leaf output (margin units, shrinkage applied); for a split, unused.
    pub value: f32,
    /// Sum of hessians of the training rows that reached the node (tree SHAP weights).
    pub cover: f32,
}

/// A trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gbdt {
    pub params: GbdtParams,
    pub base_margin: f64,
    pub trees: Vec<Vec<Node>>,
    pub n_features: usize,
    /// Total split gain per feature (global importance).
    pub gain: Vec<f64>,
    /// The trees laid out for fast prediction (rebuilt after loading; see [`Gbdt::prepare`]).
    #[serde(skip)]
    compiled: Option<CompleteTrees>,
}

fn sigmoid(m: f64) -> f64 {
    1.0 / (1.0 + (-m).exp())
}

/// Quantile bin edges of one feature: value `v` falls in the first bin whose edge is ≥ v.
fn bin_edges(values: &mut Vec<f32>, max_bins: usize) -> Vec<f32> {
    values.sort_by(f32::total_cmp);
    values.dedup();
    if values.len() <= max_bins {
        return values.clone();
    }
    let mut edges: Vec<f32> = (1..=max_bins)
        .map(|q| values[(q * values.len() / max_bins).min(values.len()) - 1])
        .collect();
    edges.dedup();
    edges
}

#[derive(Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
}

struct Binned {
    /// Column-major bin indices (for partitioning rows at a split).
    cols: Vec<Vec<u8>>,
    /// Per row, the flat histogram slots (`offsets[f] + bin`) of the features whose bin is
    /// not that feature's most common one (CSR: `row_start[r]..row_start[r + 1]`). One-hot
    /// columns are mostly zeros: skipping them makes histograms several times cheaper; the
    /// common bin's sums are the node's totals minus the others.
    slots: Vec<u32>,
    row_start: Vec<usize>,
    /// Per feature, its most common bin.
    defaults: Vec<u8>,
    edges: Vec<Vec<f32>>,
    /// Where each feature's bins start in a flat histogram.
    offsets: Vec<usize>,
    total_bins: usize,
}

fn bin_matrix(x: &Matrix, max_bins: usize) -> Binned {
    let (rows, ncol) = (x.rows(), x.cols());
    let per_col: Vec<(Vec<u8>, Vec<f32>)> = (0..ncol)
        .into_par_iter()
        .map(|c| {
            let mut values: Vec<f32> = (0..rows).map(|r| x.row(r)[c]).collect();
            let edges = bin_edges(&mut values, max_bins);
            let bins = (0..rows)
                .map(|r| {
                    let v = x.row(r)[c];
                    edges
                        .partition_point(|&e| e < v)
                        .min(edges.len().saturating_sub(1)) as u8
                })
                .collect();
            (bins, edges)
        })
        .collect();
    let (cols, edges): (Vec<Vec<u8>>, Vec<Vec<f32>>) = per_col.into_iter().unzip();
    let mut offsets = Vec::with_capacity(ncol);
    let mut total_bins = 0;
    for e in &edges {
        offsets.push(total_bins);
        total_bins += e.len().max(1);
    }
    let defaults: Vec<u8> = cols
        .iter()
        .map(|col| {
            let mut counts = [0usize; 256];
            for &b in col {
                counts[b as usize] += 1;
            }
            (0..256)
                .max_by_key(|&b| (counts[b], usize::MAX - b))
                .unwrap_or(0) as u8
        })
        .collect();
    let mut slots = Vec::new();
    let mut row_start = Vec::with_capacity(rows + 1);
    for r in 0..rows {
        row_start.push(slots.len());
        for ((col, &d), &off) in cols.iter().zip(&defaults).zip(&offsets) {
            let b = col[r];
            if b != d {
                slots.push((off + b as usize) as u32);
            }
        }
    }
    row_start.push(slots.len());
    Binned {
        cols,
        slots,
        row_start,
        defaults,
        edges,
        offsets,
        total_bins,
    }
}
/// A node of the level being grown: its rows, their histogram and gradient sums.
struct Pending {
    node: usize,
    rows: Vec<u32>,
    hist: Vec<Bin>,
    g: f64,
    h: f64,
}

/// A node of a level once judged: its value as a leaf, and its split and children when
/// it has one.
struct Grown {
    node: usize,
    leaf_value: f32,
    cover: f64,
    /// The rows of a node that stays a leaf.
    rows: Vec<u32>,
    split: Option<(Split, [Pending; 2])>,
}

impl Node {
    fn leaf(cover: f64) -> Node {
        Node {
            feature: LEAF,
            threshold: 0.0,
            left: 0,
            right: 0,
            value: 0.0,
            cover: cover as f32,
        }
    }
}

/// The gradient and hessian sums over `rows`.
fn sums(rows: &[u32], gh: &[Bin]) -> (f64, f64) {
    rows.iter().fold((0.0, 0.0), |(a, b), &r| {
        (a + gh[r as usize].g, b + gh[r as usize].h)
    })
}

/// A pending node judged at `depth`: its best split (none at the depth limit, for a
/// single row, or when no split gains) and its rows parted between the two children.
fn split_pending(
    binned: &Binned,
    gh: &[Bin],
    p: &GbdtParams,
    depth: usize,
    pend: Pending,
) -> Grown {
    let leaf_value = (-pend.g / (pend.h + p.lambda) * p.learning_rate) as f32;
    let split = (depth < p.max_depth && pend.rows.len() >= 2)
        .then(|| best_split(binned, &pend.hist, pend.g, pend.h, p))
        .flatten();
    let Some(s) = split else {
        return Grown {
            node: pend.node,
            leaf_value,
            cover: pend.h,
            rows: pend.rows,
            split: None,
        };
    };
    let col = &binned.cols[s.feature];
    let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = pend
        .rows
        .iter()
        .partition(|&&r| (col[r as usize] as usize) <= s.bin);
    let (gl, hl) = sums(&left_rows, gh);
    let (gr, hr) = (pend.g - gl, pend.h - hl);
    // Children at the depth limit are leaves: they need no histograms.
    let (lh, rh) = if depth + 1 >= p.max_depth {
        (Vec::new(), Vec::new())
    } else {
        child_histograms(
            binned,
            gh,
            &pend.hist,
            (&left_rows, gl, hl),
            (&right_rows, gr, hr),
        )
    };
    let children = [
        Pending {
            node: 0,
            rows: left_rows,
            hist: lh,
            g: gl,
            h: hl,
        },
        Pending {
            node: 0,
            rows: right_rows,
            hist: rh,
            g: gr,
            h: hr,
        },
    ];
    Grown {
        node: pend.node,
        leaf_value,
        cover: pend.h,
        rows: Vec::new(),
        split: Some((s, children)),
    }
}

/// The two children's histograms: the smaller child's counted, the larger's the parent's
/// minus it.
fn child_histograms(
    binned: &Binned,
    gh: &[Bin],
    parent: &[Bin],
    (left, gl, hl): (&[u32], f64, f64),
    (right, gr, hr): (&[u32], f64, f64),
) -> (Vec<Bin>, Vec<Bin>) {
    let small_is_left = left.len() <= right.len();
    let (small, sg, sh) = if small_is_left {
        (left, gl, hl)
    } else {
        (right, gr, hr)
    };
    let small_hist = histogram(binned, small, gh, sg, sh);
    let big_hist: Vec<Bin> = parent
        .iter()
        .zip(&small_hist)
        .map(|(a, b)| Bin {
            g: a.g - b.g,
            h: a.h - b.h,
        })
        .collect();
    if small_is_left {
        (small_hist, big_hist)
    } else {
        (big_hist, small_hist)
    }
}

/// A judged node written into the tree: a leaf moves its training rows' margins by its
/// value; a split adds its gain and two leaves, and returns them as the next level's.
fn place(
    nodes: &mut Vec<Node>,
    g: Grown,
    binned: &Binned,
    gain: &mut [f64],
    margin: &mut [f64],
) -> Option<[Pending; 2]> {
    let Some((s, mut children)) = g.split else {
        nodes[g.node].value = g.leaf_value;
        for &r in &g.rows {
            if let Some(m) = margin.get_mut(r as usize) {
                *m += f64::from(g.leaf_value);
            }
        }
        return None;
    };
    gain[s.feature] += s.gain;
    let (li, ri) = (nodes.len(), nodes.len() + 1);
    nodes[g.node] = Node {
        feature: s.feature as u32,
        threshold: binned.edges[s.feature][s.bin],
        left: li as u32,
        right: ri as u32,
        value: g.leaf_value,
        cover: g.cover as f32,
    };
    nodes.push(Node::leaf(children[0].h));
    nodes.push(Node::leaf(children[1].h));
    children[0].node = li;
    children[1].node = ri;
    Some(children)
}

/// A flat histogram of the node's rows: `offsets[f] + bin` → sums of g and h. Rows are
/// taken in parallel chunks, one partial histogram each, then summed; each feature's common
/// bin is filled in last from the node's totals `(g, h)`.
fn histogram(binned: &Binned, rows: &[u32], gh: &[Bin], g: f64, h: f64) -> Vec<Bin> {
    const CHUNK: usize = 8192;
    let build = |chunk: &[u32]| {
        let mut hist = vec![Bin::default(); binned.total_bins];
        for &r in chunk {
            let r = r as usize;
            let pair = gh[r];
            let (a, b) = (binned.row_start[r], binned.row_start[r + 1]);
            for &slot in &binned.slots[a..b] {
                if let Some(bin) = hist.get_mut(slot as usize) {
                    bin.g += pair.g;
                    bin.h += pair.h;
                }
            }
        }
        hist
    };
    let mut hist = if rows.len() <= CHUNK {
        build(rows)
    } else {
        rows.par_chunks(CHUNK)
            .map(build)
            .reduce_with(|mut a, b| {
                for (x, y) in a.iter_mut().zip(&b) {
                    x.g += y.g;
                    x.h += y.h;
                }
                a
            })
            .unwrap_or_else(|| vec![Bin::default(); binned.total_bins])
    };
    for (f, &start) in binned.offsets.iter().enumerate() {
        let n = binned.edges[f].len().max(1);
        let d = start + binned.defaults[f] as usize;
        let (og, oh) = hist[start..start + n]
            .iter()
            .fold((0.0, 0.0), |(a, b), x| (a + x.g, b + x.h));
        hist[d] = Bin {
            g: g - og,
            h: h - oh,
        };
    }
    hist
}

struct Split {
    feature: usize,
    bin: usize,
    gain: f64,
}

fn best_split(binned: &Binned, hist: &[Bin], g: f64, h: f64, p: &GbdtParams) -> Option<Split> {
    let score = |g: f64, h: f64| g * g / (h + p.lambda);
    let parent = score(g, h);
    let mut best: Option<Split> = None;
    for (f, &start) in binned.offsets.iter().enumerate() {
        let n = binned.edges[f].len().max(1);
        let bins = &hist[start..start + n];
        let (mut gl, mut hl) = (0.0, 0.0);
        for (b, bin) in bins.iter().enumerate().take(n.saturating_sub(1)) {
            gl += bin.g;
            hl += bin.h;
            let (gr, hr) = (g - gl, h - hl);
            if hl < p.min_child_weight || hr < p.min_child_weight {
                continue;
            }
            let gain = 0.5 * (score(gl, hl) + score(gr, hr) - parent) - p.gamma;
            if gain > 1e-12 && best.as_ref().is_none_or(|s| gain > s.gain) {
                best = Some(Split {
                    feature: f,
                    bin: b,
                    gain,
                });
            }
        }
    }
    best
}

/// Training input checks shared by both objectives: one label per row, finite values.
fn check_rows(x: &Matrix, labels: usize) -> Result<(), GbdtError> {
    let rows = x.rows();
    if labels != rows {
        return Err(GbdtError::Length { rows, labels });
    }
    for (r, row) in x.iter_rows().enumerate() {
        if let Some(c) = row.iter().position(|v| !v.is_finite()) {
            return Err(GbdtError::NonFinite { row: r, col: c });
        }
    }
    Ok(())
}

impl Gbdt {
    /// Trains on rows `x` with labels `y` (true: positive class).
    pub fn fit(params: &GbdtParams, x: &Matrix, y: &[bool]) -> Result<Gbdt, GbdtError> {
        params.validate()?;
        let n = x.rows();
        check_rows(x, y.len())?;
        let positives = y.iter().filter(|&&b| b).count();
        if positives == 0 || positives == n {
            return Err(GbdtError::OneClass { rows: n, positives });
        }
        let binned = bin_matrix(x, params.max_bins);
        let prior = positives as f64 / n as f64;
        let base_margin = (prior / (1.0 - prior)).ln();
        let mut margin = vec![base_margin; n];
        let mut gh = vec![Bin::default(); n];
        let mut trees = Vec::with_capacity(params.n_trees);
        let mut gain = vec![0.0; x.cols()];
        for _ in 0..params.n_trees {
            for i in 0..n {
                let p = sigmoid(margin[i]);
                gh[i] = Bin {
                    g: p - f64::from(u8::from(y[i])),
                    h: (p * (1.0 - p)).max(1e-16),
                };
            }
            let tree = Self::grow(&binned, &gh, params, &mut gain, &mut margin);
            trees.push(tree);
        }
        Ok(Self::assemble(params, base_margin, trees, x.cols(), gain))
    }

    /// A fitted model out of its trees, laid out for prediction.
    fn assemble(
        params: &GbdtParams,
        base_margin: f64,
        trees: Vec<Vec<Node>>,
        n_features: usize,
        gain: Vec<f64>,
    ) -> Gbdt {
        let mut model = Gbdt {
            params: params.clone(),
            base_margin,
            trees,
            n_features,
            gain,
            compiled: None,
        };
        model.prepare();
        model
    }

    /// Lays the trees out for fast prediction (done by `fit`; call it after loading).
    pub fn prepare(&mut self) {
        let trees = &self.trees;
        self.compiled = CompleteTrees::build(trees.len(), self.params.max_depth, |t, i| {
            let n = trees.get(t)?.get(i)?;
            Some(if n.feature == LEAF {
                NodeView::Leaf(n.value)
            } else {
                NodeView::Split {
                    feature: n.feature,
                    threshold: n.threshold,
                    left: n.left as usize,
                    right: n.right as usize,
                }
            })
        });
    }

    /// Grows one tree depth by depth; the nodes of a level are split in parallel.
    fn grow(
        binned: &Binned,
        gh: &[Bin],
        p: &GbdtParams,
        gain: &mut [f64],
        margin: &mut [f64],
    ) -> Vec<Node> {
        let rows: Vec<u32> = (0..margin.len() as u32).collect();
        let (g, h) = sums(&rows, gh);
        let hist = histogram(binned, &rows, gh, g, h);
        let mut nodes = vec![Node::leaf(h)];
        let mut level = vec![Pending {
            node: 0,
            rows,
            hist,
            g,
            h,
        }];
        for depth in 0..=p.max_depth {
            if level.is_empty() {
                break;
            }
            let grown: Vec<Grown> = level
                .into_par_iter()
                .map(|pend| split_pending(binned, gh, p, depth, pend))
                .collect();
            let mut next = Vec::new();
            for g in grown {
                if let Some(children) = place(&mut nodes, g, binned, gain, margin) {
                    next.extend(children);
                }
            }
            level = next;
        }
        nodes
    }

    fn leaf_value(tree: &[Node], x: impl Fn(usize) -> f32) -> f32 {
        let mut i = 0;
        loop {
            let Some(n) = tree.get(i) else { return 0.0 };
            if n.feature == LEAF {
                return n.value;
            }
            i = if x(n.feature as usize) <= n.threshold {
                n.left
            } else {
                n.right
            } as usize;
        }
    }

    /// The margin (log-odds) of one row.
    pub fn margin(&self, x: &[f32]) -> f64 {
        self.base_margin
            + self
                .trees
                .iter()
                .map(|t| f64::from(Self::leaf_value(t, |f| x.get(f).copied().unwrap_or(0.0))))
                .sum::<f64>()
    }

    /// Probability of the positive class.
    pub fn predict_one(&self, x: &[f32]) -> f64 {
        sigmoid(self.margin(x))
    }

    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        self.margins(x).into_iter().map(sigmoid).collect()
    }

    /// Margins (log-odds) of every row, in parallel.
    pub fn margins(&self, x: &Matrix) -> Vec<f64> {
        let rows: Vec<&[f32]> = x.iter_rows().collect();
        let Some(c) = &self.compiled else {
            return rows.par_iter().map(|r| self.margin(r)).collect();
        };
        let mut out = vec![0.0; rows.len()];
        out.par_chunks_mut(BLOCK)
            .zip(rows.par_chunks(BLOCK))
            .for_each(|(out, block)| {
                let mut total = [self.base_margin; BLOCK];
                c.sum(block, &mut total);
                out.copy_from_slice(&total[..out.len()]);
            });
        out
    }

    /// Global importance: each feature's share of the total split gain.
    pub fn importance(&self) -> Vec<f64> {
        let total: f64 = self.gain.iter().sum();
        self.gain
            .iter()
            .map(|g| if total > 0.0 { g / total } else { 0.0 })
            .collect()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::ml::rng::SplitMix64;

    /// Two informative features (an XOR-like pattern plus a threshold) and noise.
    pub(crate) fn data(n: usize, seed: u64) -> (Matrix, Vec<bool>) {
        let mut rng = SplitMix64::new(seed);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let a = rng.next_f64() as f32;
            let b = rng.next_f64() as f32;
            let noise = rng.next_f64() as f32;
            rows.push(vec![a, b, noise]);
            y.push((a > 0.5) != (b > 0.5) || a > 0.9);
        }
        (Matrix::from_rows(&rows).unwrap_or_default(), y)
    }

    #[test]
    fn learns_a_non_linear_rule() {
        let (x, y) = data(3000, 1);
        let m = Gbdt::fit(&GbdtParams::default(), &x, &y).unwrap_or_else(|e| panic!("{e}"));
        let (tx, ty) = data(1000, 2);
        let p = m.predict(&tx);
        let acc = p
            .iter()
            .zip(&ty)
            .filter(|(p, y)| (**p >= 0.5) == **y)
            .count() as f64
            / 1000.0;
        assert!(acc > 0.97, "accuracy {acc}");
        let auc = crate::ml::metrics::roc_auc(&p, &ty).unwrap_or(0.0);
        assert!(auc > 0.99, "{auc}");
        let imp = m.importance();
        assert!(imp[2] < 0.01 && imp[0] > 0.05 && imp[1] > 0.05, "{imp:?}");
        // Deterministic: the same data gives the same model.
        let again = Gbdt::fit(&GbdtParams::default(), &x, &y).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m, again);
    }

    #[test]
    fn compiled_layout_predicts_like_the_trees() {
        let (x, y) = data(1500, 5);
        let mut m = Gbdt::fit(
            &GbdtParams {
                n_trees: 20,
                max_depth: 5,
                ..GbdtParams::default()
            },
            &x,
            &y,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // 301 rows: the last block of the batch path is partial.
        let (tx, _) = data(301, 6);
        let fast: Vec<f64> = tx.iter_rows().map(|r| m.margin(r)).collect();
        m.compiled = None;
        let slow: Vec<f64> = tx.iter_rows().map(|r| m.margin(r)).collect();
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-9, "{a} {b}");
        }
        let batch = m.predict(&tx);
        for (p, f) in batch.iter().zip(&fast) {
            assert!((p - sigmoid(*f)).abs() < 1e-12);
        }
        // NaN goes right at real splits in both layouts.
        let nan = [f32::NAN, 0.3, 0.3];
        let slow_nan = m.margin(&nan);
        m.prepare();
        assert!((m.margin(&nan) - slow_nan).abs() < 1e-9);
    }

    #[test]
    fn refuses_bad_input() {
        let (x, y) = data(10, 1);
        let bad = |p: GbdtParams| Gbdt::fit(&p, &x, &y).err();
        assert!(matches!(
            bad(GbdtParams {
                max_depth: 0,
                ..GbdtParams::default()
            }),
            Some(GbdtError::Shape(..))
        ));
        assert!(matches!(
            bad(GbdtParams {
                learning_rate: 0.0,
                ..GbdtParams::default()
            }),
            Some(GbdtError::Rates)
        ));
        assert!(matches!(
            Gbdt::fit(&GbdtParams::default(), &x, &[true; 10]),
            Err(GbdtError::OneClass { .. })
        ));
        assert!(matches!(
            Gbdt::fit(&GbdtParams::default(), &x, &[true; 3]),
            Err(GbdtError::Length { .. })
        ));
    }
}
