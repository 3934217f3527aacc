//! Trees laid out complete, for fast batch prediction. Every tree becomes a complete binary
//! tree of a fixed depth in arrays: node `i` splits on `feature[i]` at `threshold[i]`
//! (`value <= threshold` goes to `2i + 1`, else — NaN included — to `2i + 2`); a leaf reached
//! early is repeated down to the last level, where `leaf[j]` holds its value. Prediction is
//! then a fixed number of steps with no branch on the tree's shape, and [`CompleteTrees::sum`]
//! walks eight rows through each tree in step so their loads overlap. Used by the isolation
//! forest (leaf value: path length) and the boosted trees (leaf value: margin).

use super::goes_right;

/// What one node of a source tree is.
#[derive(Debug, Clone, Copy)]
pub enum NodeView {
    Split {
        feature: u32,
        threshold: f32,
        left: usize,
        right: usize,
    },
    Leaf(f32),
}

/// Deepest trees laid out complete (2^depth leaves each).
pub const MAX_DEPTH: usize = 10;

/// Rows walked through a tree together.
pub const BLOCK: usize = 8;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompleteTrees {
    depth: usize,
    trees: usize,
    feature: Vec<u32>,
    threshold: Vec<f32>,
    leaf: Vec<f32>,
}

impl CompleteTrees {
    /// Lays out `trees` source trees of at most `depth` levels; `node(t, i)` describes node
    /// `i` (the root is 0) of tree `t`. `None` when `depth` is over [`MAX_DEPTH`].
    pub fn build(
        trees: usize,
        depth: usize,
        node: impl Fn(usize, usize) -> Option<NodeView>,
    ) -> Option<Self> {
        if depth > MAX_DEPTH {
            return None;
        }
        let inner = (1usize << depth) - 1;
        let mut c = CompleteTrees {
            depth,
            trees,
            feature: vec![0; trees * inner],
            threshold: vec![f32::INFINITY; trees * inner],
            leaf: vec![0.0; trees << depth],
        };
        for t in 0..trees {
            // (source node, position, level)
            let mut stack = vec![(0usize, 0usize, 0usize)];
            while let Some((src, pos, level)) = stack.pop() {
                let view = node(t, src).unwrap_or(NodeView::Leaf(0.0));
                if level == depth {
                    let value = match view {
                        NodeView::Leaf(v) => v,
                        NodeView::Split { .. } => 0.0,
                    };
                    c.leaf[(t << depth) + pos - inner] = value;
                    continue;
                }
                let (l, r) = match view {
                    NodeView::Leaf(_) => (src, src),
                    NodeView::Split {
                        feature,
                        threshold,
                        left,
                        right,
                    } => {
                        c.feature[t * inner + pos] = feature;
                        c.threshold[t * inner + pos] = threshold;
                        (left, right)
                    }
                };
                stack.push((r, 2 * pos + 2, level + 1));
                stack.push((l, 2 * pos + 1, level + 1));
            }
        }
        Some(c)
    }

    /// Adds, for each row of `block` (at most [`BLOCK`]), the leaf values it reaches in every
    /// tree to `totals`.
    pub fn sum(&self, block: &[&[f32]], totals: &mut [f64; BLOCK]) {
        let inner = (1usize << self.depth) - 1;
        for t in 0..self.trees {
            let feat = &self.feature[t * inner..(t + 1) * inner];
            let thr = &self.threshold[t * inner..(t + 1) * inner];
            let mut at = [0usize; BLOCK];
            for _ in 0..self.depth {
                for (i, row) in at.iter_mut().zip(block) {
                    let v = row.get(feat[*i] as usize).copied().unwrap_or(0.0);
                    *i = 2 * *i + 1 + usize::from(goes_right(v, thr[*i]));
                }
            }
            for (tot, i) in totals.iter_mut().zip(at).take(block.len()) {
                *tot += f64::from(self.leaf[(t << self.depth) + i - inner]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_leaves_are_repeated_and_nan_goes_right() {
        // x0 <= 1 ? 10 : (x1 <= 5 ? 20 : 30), laid out to depth 2.
        let nodes = [
            NodeView::Split {
                feature: 0,
                threshold: 1.0,
                left: 1,
                right: 2,
            },
            NodeView::Leaf(10.0),
            NodeView::Split {
                feature: 1,
                threshold: 5.0,
                left: 3,
                right: 4,
            },
            NodeView::Leaf(20.0),
            NodeView::Leaf(30.0),
        ];
        let c = CompleteTrees::build(1, 2, |_, i| nodes.get(i).copied());
        let c = c.unwrap_or_default();
        let rows: [&[f32]; 4] = [&[0.0, 9.0], &[2.0, 4.0], &[2.0, 6.0], &[f32::NAN, f32::NAN]];
        let mut totals = [0.0; BLOCK];
        c.sum(&rows, &mut totals);
        assert_eq!(totals[..4], [10.0, 20.0, 30.0, 30.0]);
        assert!(CompleteTrees::build(1, MAX_DEPTH + 1, |_, _| None).is_none());
    }
}
