//! The second text model: boosted trees over which of the hashed features of
//! [`crate::features`] a text has (present or not; the bucket table is the n-gram model's).
//!
//! The logistic regression adds up evidence: a text made of a few n-grams common in
//! malicious training texts scores high whatever else it holds, and one whose words are
//! common in documentation scores low even where one n-gram names the attack
//! (`-HistorySaveStyle SaveNothing` among PSReadLine options). Trees ask which n-grams occur
//! together, and so rank the top of the scale apart where the sum cannot. Their probability
//! is averaged with the model view's ([`mix`]); see docs/payload.md, step 6.
//!
//! Every tree is complete to the same depth and laid out breadth first, so a text takes the
//! same number of steps in each: at node `k` the text goes to `2k + 1` when the node's bucket
//! is absent, `2k + 2` when present. A node that did not split tests [`PresenceTrees::none`],
//! a bucket no text has. Presence is read from a bitset of the text's buckets.

mod fit;

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::features::Features;
use crate::model::Contribution;

pub use fit::{TreeParams, fit};

/// Deepest tree loaded.
pub const MAX_DEPTH: u8 = 10;
/// Most trees loaded.
pub const MAX_TREES: usize = 4096;
/// Trees walked side by side.
const LANES: usize = 4;

/// The trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceTrees {
    /// The bucket table's size, 2^bits (the n-gram model's).
    pub bits: u32,
    pub depth: u8,
    /// Log-odds before any tree.
    pub base: f32,
    /// Per tree, its `2^depth − 1` internal nodes' buckets, breadth first.
    pub splits: Vec<u32>,
    /// Per tree, each internal node's value: the hessian-weighted mean of its leaves' (so a
    /// step's credit is the child's value less the node's, and the credits of a path add up
    /// to its leaf).
    pub values: Vec<f32>,
    /// Per tree, its `2^depth` leaves' log-odds (learning rate applied).
    pub leaves: Vec<f32>,
}

thread_local! {
    /// The buckets a text has, one bit each; set for one text and cleared after it.
    static PRESENT: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

impl PresenceTrees {
    /// The bucket no text has: a node that does not split tests it.
    pub fn none(&self) -> u32 {
        1u32 << self.bits
    }

    pub fn internal(&self) -> usize {
        (1usize << self.depth) - 1
    }

    pub fn trees(&self) -> usize {
        self.leaves.len() >> self.depth
    }

    /// Checks a loaded model's shape and values.
    pub fn validate(&self) -> Result<(), String> {
        if !(8..=24).contains(&self.bits) || !(1..=MAX_DEPTH).contains(&self.depth) {
            return Err(format!(
                "presence trees of depth {} over 2^{} buckets",
                self.depth, self.bits
            ));
        }
        let n = self.leaves.len() >> self.depth;
        if n == 0
            || n > MAX_TREES
            || self.leaves.len() != n << self.depth
            || self.splits.len() != n * self.internal()
            || self.values.len() != self.splits.len()
        {
            return Err("presence trees with mismatched node and leaf counts".into());
        }
        let none = self.none();
        if self.splits.iter().any(|&s| s > none) {
            return Err("a presence tree tests a bucket outside the table".into());
        }
        if !self
            .leaves
            .iter()
            .chain(&self.values)
            .chain([&self.base])
            .all(|v| v.is_finite())
        {
            return Err("a presence tree value is not a finite number".into());
        }
        Ok(())
    }

    /// Runs `walk` with the text's buckets set in the presence bitset.
    fn with_present<T>(&self, f: &Features, walk: impl FnOnce(&[u64]) -> T) -> T {
        PRESENT.with(|p| {
            let mut p = p.borrow_mut();
            // One word more than the table: the `none` bucket's bit, never set.
            let words = (1usize << self.bits) / 64 + 1;
            if p.len() < words {
                p.resize(words, 0);
            }
            let limit = 1usize << self.bits;
            for i in &f.items {
                let k = i.index as usize;
                if k < limit {
                    p[k >> 6] |= 1 << (k & 63);
                }
            }
            let out = walk(&p);
            for i in &f.items {
                let k = i.index as usize;
                if k < limit {
                    p[k >> 6] = 0;
                }
            }
            out
        })
    }

    /// The trees' log-odds that the text is malicious.
    pub fn margin(&self, f: &Features) -> f32 {
        self.with_present(f, |present| {
            let (internal, depth) = (self.internal(), self.depth);
            let mut sum = self.base;
            // Four trees walked in step: each step of a walk waits on the load before it,
            // and four independent walks keep the processor busy while it waits.
            let whole = self.trees() / LANES * LANES;
            for t in (0..whole).step_by(LANES) {
                let mut node = [0usize; LANES];
                for _ in 0..depth {
                    for (j, n) in node.iter_mut().enumerate() {
                        let s = self.splits[(t + j) * internal + *n] as usize;
                        let bit = (present[s >> 6] >> (s & 63)) & 1;
                        *n = 2 * *n + 1 + bit as usize;
                    }
                }
                for (j, n) in node.iter().enumerate() {
                    sum += self.leaves[(t + j) * (internal + 1) + n - internal];
                }
            }
            for t in whole..self.trees() {
                let mut n = 0usize;
                for _ in 0..depth {
                    let s = self.splits[t * internal + n] as usize;
                    let bit = (present[s >> 6] >> (s & 63)) & 1;
                    n = 2 * n + 1 + bit as usize;
                }
                sum += self.leaves[t * (internal + 1) + n - internal];
            }
            sum
        })
    }

    /// The log-odds, with the `explain` present features that raised them most where they
    /// say malicious (above even odds): the explanation is for what the trees find
    /// dangerous, and walking for it costs a text more than its score.
    pub fn judge(&self, f: &Features, explain: usize) -> (f32, Vec<Contribution>) {
        let margin = self.margin(f);
        if margin > 0.0 && explain > 0 {
            // The walk that names features sums the trees in another order; the margin
            // stays the one a text scored without explanation gets, to the last bit.
            (margin, self.assess(f, explain).1)
        } else {
            (margin, Vec::new())
        }
    }

    /// The log-odds, and the `explain` present features whose splits raised it most.
    pub fn assess(&self, f: &Features, explain: usize) -> (f32, Vec<Contribution>) {
        let (sum, credit) = self.with_present(f, |present| {
            let (internal, depth) = (self.internal(), self.depth);
            let mut sum = self.base;
            // (bucket, credit) of every present-bucket step; few per text.
            let mut credit: Vec<(u32, f32)> = Vec::new();
            for ((splits, values), leaves) in self
                .splits
                .chunks_exact(internal)
                .zip(self.values.chunks_exact(internal))
                .zip(self.leaves.chunks_exact(internal + 1))
            {
                let mut node = 0usize;
                for _ in 0..depth {
                    let s = splits[node];
                    let bit = (present[s as usize >> 6] >> (s & 63)) & 1;
                    let next = 2 * node + 1 + bit as usize;
                    if bit == 1 {
                        let to = if next < internal {
                            values[next]
                        } else {
                            leaves[next - internal]
                        };
                        credit.push((s, to - values[node]));
                    }
                    node = next;
                }
                sum += leaves[node - internal];
            }
            (sum, credit)
        });
        let mut by_bucket: Vec<(u32, f32)> = Vec::new();
        let mut credit = credit;
        credit.sort_unstable_by_key(|c| c.0);
        for (b, c) in credit {
            match by_bucket.last_mut() {
                Some(last) if last.0 == b => last.1 += c,
                _ => by_bucket.push((b, c)),
            }
        }
        by_bucket.retain(|c| c.1 > 0.0);
        by_bucket.sort_by(|a, b| b.1.total_cmp(&a.1));
        by_bucket.truncate(explain);
        let raised = by_bucket
            .iter()
            .filter_map(|&(b, c)| {
                let item = f.items.iter().find(|i| i.index == b)?;
                Some(Contribution {
                    feature: f.describe(item),
                    weight: (c * 1000.0).round() / 1000.0,
                })
            })
            .collect();
        (sum, raised)
    }
}

/// The model view's probability with the trees': their mean. Each model ranks some
/// malicious texts the other does not; averaged, the top of the scale holds what both find
/// malicious. The mean of probabilities, not of log-odds: one model sure of the contrary
/// cannot veto the other (trees that never saw a truncated `-enc` payload said 0.008 where
/// the combiner said 0.77; docs/benchmarks.md, "Trees over the n-grams").
pub fn mix(probability: f32, tree_margin: f32) -> f32 {
    0.5 * probability + 0.5 / (1.0 + (-tree_margin).exp())
}

#[cfg(test)]
mod tests;
