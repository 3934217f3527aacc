//! Training the presence trees: gradient boosting of the logistic loss with Newton steps,
//! each tree grown level by level to its full depth. A node splits on the bucket whose
//! presence best separates its rows' gradients (both sides keeping `min_rows` rows), or
//! not at all; each tree sees a share of the rows and of the buckets, drawn from the seed,
//! so that the same texts and seed give the same trees.

use super::PresenceTrees;
use crate::features::Features;
use crate::train::{Rng, TrainError};

/// Training knobs.
#[derive(Debug, Clone)]
pub struct TreeParams {
    pub trees: usize,
    pub depth: u8,
    pub learning_rate: f32,
    /// L2 penalty on a leaf's value (the Newton step's denominator).
    pub lambda: f64,
    /// Fewest training rows on each side of a split.
    pub min_rows: u32,
    /// Share of the rows each tree learns from.
    pub row_share: f64,
    /// Share of the buckets each tree may split on.
    pub feature_share: f64,
    /// A bucket is a candidate when at least this many training texts have it (rarer ones
    /// are one text's quirks, or hash collisions).
    pub min_texts: u32,
    pub seed: u64,
}

impl Default for TreeParams {
    /// 150 trees of depth 5 at 0.2: on the command corpus's three splits these ranked as
    /// well as 300 at 0.1, at half the cost per text (docs/benchmarks.md, "Trees over the
    /// n-grams").
    fn default() -> Self {
        TreeParams {
            trees: 150,
            depth: 5,
            learning_rate: 0.2,
            lambda: 1.0,
            min_rows: 5,
            row_share: 0.8,
            feature_share: 0.3,
            min_texts: 3,
            seed: 42,
        }
    }
}

impl TreeParams {
    fn check(&self) -> Result<(), TrainError> {
        let ok = (1..=super::MAX_TREES).contains(&self.trees)
            && (1..=super::MAX_DEPTH).contains(&self.depth)
            && self.learning_rate > 0.0
            && self.learning_rate <= 1.0
            && self.lambda >= 0.0
            && self.min_rows >= 1
            && self.row_share > 0.0
            && self.row_share <= 1.0
            && self.feature_share > 0.0
            && self.feature_share <= 1.0;
        if ok {
            Ok(())
        } else {
            Err(TrainError::Params(format!(
                "presence trees: 1–{} trees of depth 1–{}, learning rate in (0, 1], shares in (0, 1]",
                super::MAX_TREES,
                super::MAX_DEPTH
            )))
        }
    }
}

/// The rows' candidate buckets, sorted, one slice per row.
struct Rows {
    offsets: Vec<usize>,
    buckets: Vec<u32>,
    labels: Vec<bool>,
}

impl Rows {
    fn new(rows: &[(Features, bool)], bits: u32, min_texts: u32) -> (Rows, Vec<u32>) {
        let size = 1usize << bits;
        let mut df = vec![0u32; size];
        for (f, _) in rows {
            for i in &f.items {
                if let Some(d) = df.get_mut(i.index as usize) {
                    *d += 1;
                }
            }
        }
        let mut offsets = Vec::with_capacity(rows.len() + 1);
        let mut buckets = Vec::new();
        offsets.push(0);
        for (f, _) in rows {
            let start = buckets.len();
            buckets.extend(
                f.items
                    .iter()
                    .map(|i| i.index)
                    .filter(|&b| df.get(b as usize).is_some_and(|&d| d >= min_texts)),
            );
            buckets[start..].sort_unstable();
            offsets.push(buckets.len());
        }
        let candidates = (0..size as u32)
            .filter(|&b| df[b as usize] >= min_texts)
            .collect();
        let labels = rows.iter().map(|r| r.1).collect();
        (
            Rows {
                offsets,
                buckets,
                labels,
            },
            candidates,
        )
    }

    fn of(&self, i: usize) -> &[u32] {
        &self.buckets[self.offsets[i]..self.offsets[i + 1]]
    }

    fn has(&self, i: usize, bucket: u32) -> bool {
        self.of(i).binary_search(&bucket).is_ok()
    }
}

/// Gradient sums per bucket over one node's rows, and the buckets touched (to reset).
struct Sums {
    g: Vec<f64>,
    h: Vec<f64>,
    n: Vec<u32>,
    touched: Vec<u32>,
}

/// Trains trees on `rows` (features, malicious?) over a table of 2^`bits` buckets.
pub fn fit(
    rows: &[(Features, bool)],
    bits: u32,
    p: &TreeParams,
) -> Result<PresenceTrees, TrainError> {
    p.check()?;
    if !(8..=24).contains(&bits) {
        return Err(TrainError::Params("bits 8–24".into()));
    }
    let malicious = rows.iter().filter(|r| r.1).count();
    let benign = rows.len() - malicious;
    if malicious == 0 || benign == 0 {
        return Err(TrainError::OneClass { malicious, benign });
    }
    let (data, candidates) = Rows::new(rows, bits, p.min_texts);
    let base = (malicious as f64 / benign as f64).ln() as f32;
    let mut trees = PresenceTrees {
        bits,
        depth: p.depth,
        base,
        splits: Vec::with_capacity(p.trees * ((1 << p.depth) - 1)),
        values: Vec::with_capacity(p.trees * ((1 << p.depth) - 1)),
        leaves: Vec::with_capacity(p.trees << p.depth),
    };
    let size = 1usize << bits;
    let mut sums = Sums {
        g: vec![0.0; size],
        h: vec![0.0; size],
        n: vec![0; size],
        touched: Vec::new(),
    };
    let mut allowed = vec![0u64; size / 64 + 1];
    let mut margins = vec![base; rows.len()];
    let (mut g, mut h) = (vec![0.0f64; rows.len()], vec![0.0f64; rows.len()]);
    let mut rng = Rng(p.seed ^ 0x7072_6573_656e_6365);
    for _ in 0..p.trees {
        allowed.iter_mut().for_each(|w| *w = 0);
        for &b in &candidates {
            if rng.unit() < p.feature_share {
                allowed[b as usize >> 6] |= 1 << (b & 63);
            }
        }
        let mut sampled = Vec::with_capacity(rows.len());
        for i in 0..rows.len() {
            if rng.unit() < p.row_share {
                sampled.push(i);
            }
        }
        for &i in &sampled {
            let prob = 1.0 / (1.0 + (-f64::from(margins[i])).exp());
            g[i] = prob - if data.labels[i] { 1.0 } else { 0.0 };
            h[i] = (prob * (1.0 - prob)).max(1e-9);
        }
        let grown = grow(&data, sampled, &g, &h, &allowed, &mut sums, p, trees.none());
        for (i, m) in margins.iter_mut().enumerate() {
            *m += grown.leaf_of(&data, i);
        }
        trees.splits.extend(&grown.splits);
        trees.values.extend(&grown.values);
        trees.leaves.extend(&grown.leaves);
    }
    Ok(trees)
}

/// One tree as grown.
struct Grown {
    depth: u8,
    splits: Vec<u32>,
    values: Vec<f32>,
    leaves: Vec<f32>,
}

impl Grown {
    fn leaf_of(&self, data: &Rows, i: usize) -> f32 {
        let internal = self.splits.len();
        let mut node = 0usize;
        for _ in 0..self.depth {
            node = 2 * node + 1 + usize::from(data.has(i, self.splits[node]));
        }
        self.leaves[node - internal]
    }
}

#[allow(clippy::too_many_arguments)]
fn grow(
    data: &Rows,
    sampled: Vec<usize>,
    g: &[f64],
    h: &[f64],
    allowed: &[u64],
    sums: &mut Sums,
    p: &TreeParams,
    none: u32,
) -> Grown {
    let internal = (1usize << p.depth) - 1;
    let mut splits = vec![none; internal];
    let mut hess = vec![0.0f64; 2 * internal + 1];
    let mut level: Vec<Vec<usize>> = vec![sampled];
    for d in 0..p.depth {
        let mut next: Vec<Vec<usize>> = Vec::with_capacity(level.len() * 2);
        for (j, members) in level.into_iter().enumerate() {
            let node = (1usize << d) - 1 + j;
            hess[node] = members.iter().map(|&i| h[i]).sum();
            let split = best_split(data, &members, g, h, allowed, sums, p);
            let (right, left): (Vec<usize>, Vec<usize>) = match split {
                Some(b) => {
                    splits[node] = b;
                    members.into_iter().partition(|&i| data.has(i, b))
                }
                None => (Vec::new(), members),
            };
            next.push(left);
            next.push(right);
        }
        level = next;
    }
    let leaves: Vec<f32> = level
        .iter()
        .enumerate()
        .map(|(j, members)| {
            let (gs, hs): (f64, f64) = members
                .iter()
                .fold((0.0, 0.0), |(a, b), &i| (a + g[i], b + h[i]));
            hess[internal + j] = hs;
            if members.is_empty() {
                0.0
            } else {
                (-gs / (hs + p.lambda)) as f32 * p.learning_rate
            }
        })
        .collect();
    // Each internal node's value, from the leaves up: its children's, weighted by hessian.
    let mut values = vec![0.0f32; internal];
    for node in (0..internal).rev() {
        let (l, r) = (2 * node + 1, 2 * node + 2);
        let value = |k: usize| {
            if k < internal {
                values[k]
            } else {
                leaves[k - internal]
            }
        };
        let (hl, hr) = (hess[l], hess[r]);
        values[node] = if hl + hr > 0.0 {
            ((hl * f64::from(value(l)) + hr * f64::from(value(r))) / (hl + hr)) as f32
        } else {
            0.0
        };
    }
    Grown {
        depth: p.depth,
        splits,
        values,
        leaves,
    }
}

/// The allowed bucket whose presence splits `members` with the largest gain, if any gains.
fn best_split(
    data: &Rows,
    members: &[usize],
    g: &[f64],
    h: &[f64],
    allowed: &[u64],
    sums: &mut Sums,
    p: &TreeParams,
) -> Option<u32> {
    let n = members.len() as u32;
    if n < 2 * p.min_rows {
        return None;
    }
    let (mut gt, mut ht) = (0.0f64, 0.0f64);
    for &i in members {
        gt += g[i];
        ht += h[i];
        for &b in data.of(i) {
            if allowed[b as usize >> 6] >> (b & 63) & 1 == 0 {
                continue;
            }
            let k = b as usize;
            if sums.n[k] == 0 {
                sums.touched.push(b);
            }
            sums.g[k] += g[i];
            sums.h[k] += h[i];
            sums.n[k] += 1;
        }
    }
    let parent = gt * gt / (ht + p.lambda);
    let mut best: Option<(f64, u32)> = None;
    for &b in &sums.touched {
        let k = b as usize;
        let (gr, hr, nr) = (sums.g[k], sums.h[k], sums.n[k]);
        if nr >= p.min_rows && n - nr >= p.min_rows {
            let (gl, hl) = (gt - gr, ht - hr);
            let gain = gr * gr / (hr + p.lambda) + gl * gl / (hl + p.lambda) - parent;
            // Ties go to the lower bucket, whatever order the rows touched them in.
            let better = match best {
                None => gain > 1e-9,
                Some((bg, bb)) => gain > bg || (gain == bg && b < bb),
            };
            if better {
                best = Some((gain, b));
            }
        }
    }
    for b in sums.touched.drain(..) {
        let k = b as usize;
        sums.g[k] = 0.0;
        sums.h[k] = 0.0;
        sums.n[k] = 0;
    }
    best.map(|(_, b)| b)
}
