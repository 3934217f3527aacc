//! The combiner's trees laid out complete for its per-text attributions. Every tree becomes
//! a complete binary tree of the combiner's depth (node `i` splits on `feature[i]` at
//! `threshold[i]`; `value <= threshold` goes to `2i + 1`, else — NaN included — to
//! `2i + 2`), and every position holds the cover-weighted expected value of the source node
//! it stands for. A leaf reached early is repeated down to the last level: its copies split
//! on nothing (input 0 at +∞) and change the expected value by zero, so they credit nothing.
//!
//! Why: walking the source trees ends at a leaf whose depth varies from text to text, a
//! branch the processor mispredicts about once per tree; here every text takes the same
//! number of steps in every tree, with no branch on the tree's shape, and the walks of
//! successive trees overlap. Sums and credits are those of the source walk, added in the
//! same order.

use warden_models::ml::gbdt::Node;

/// The trees of one combiner, complete to `depth` levels.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct PathTrees {
    depth: usize,
    trees: usize,
    /// `(2^depth − 1)` split inputs per tree.
    feature: Vec<u32>,
    /// `(2^depth − 1)` thresholds per tree.
    threshold: Vec<f32>,
    /// `(2^(depth+1) − 1)` expected values per tree; the last level's are the leaves'.
    expected: Vec<f32>,
}

impl PathTrees {
    /// Lays out `trees` (checked: children after their parent, no deeper than `depth`).
    pub(super) fn build(trees: &[Vec<Node>], depth: usize) -> PathTrees {
        let inner = (1usize << depth) - 1;
        let all = (1usize << (depth + 1)) - 1;
        let mut p = PathTrees {
            depth,
            trees: trees.len(),
            feature: vec![0; trees.len() * inner],
            threshold: vec![f32::INFINITY; trees.len() * inner],
            expected: vec![0.0; trees.len() * all],
        };
        for (t, tree) in trees.iter().enumerate() {
            let expected = expected_values(tree);
            // (source node, position, level)
            let mut stack = vec![(0usize, 0usize, 0usize)];
            while let Some((src, pos, level)) = stack.pop() {
                p.expected[t * all + pos] = expected.get(src).copied().unwrap_or(0.0);
                if level == depth {
                    continue;
                }
                let (l, r) = match tree.get(src) {
                    Some(n) if !is_leaf(n) => {
                        p.feature[t * inner + pos] = n.feature;
                        p.threshold[t * inner + pos] = n.threshold;
                        (n.left as usize, n.right as usize)
                    }
                    _ => (src, src),
                };
                stack.push((r, 2 * pos + 2, level + 1));
                stack.push((l, 2 * pos + 1, level + 1));
            }
        }
        p
    }

    /// `start` plus the leaf values `x` reaches in every tree (added in the trees' order),
    /// crediting each split's change of the expected value to the input it split on.
    pub(super) fn walk(&self, start: f32, x: &[f32], credit: &mut [f32]) -> f32 {
        let inner = (1usize << self.depth) - 1;
        let all = (1usize << (self.depth + 1)) - 1;
        let mut sum = start;
        for t in 0..self.trees {
            let feature = &self.feature[t * inner..(t + 1) * inner];
            let threshold = &self.threshold[t * inner..(t + 1) * inner];
            let expected = &self.expected[t * all..(t + 1) * all];
            let mut pos = 0usize;
            for _ in 0..self.depth {
                let k = feature[pos] as usize;
                let v = x.get(k).copied().unwrap_or(0.0);
                let right = v > threshold[pos] || v.is_nan();
                let next = 2 * pos + 1 + usize::from(right);
                if let Some(c) = credit.get_mut(k) {
                    *c += expected[next] - expected[pos];
                }
                pos = next;
            }
            sum += expected[pos];
        }
        sum
    }
}

/// A leaf: no split (the trees mark leaves with the largest feature index).
pub(super) fn is_leaf(n: &Node) -> bool {
    n.feature == u32::MAX
}

/// The number of levels of splits on the deepest path of `tree` (children come after
/// their parent, checked before).
pub(super) fn depth_of(tree: &[Node]) -> usize {
    let mut level = vec![0usize; tree.len()];
    let mut deepest = 0;
    for (i, n) in tree.iter().enumerate() {
        if is_leaf(n) {
            continue;
        }
        let below = level[i] + 1;
        deepest = deepest.max(below);
        for c in [n.left, n.right] {
            if let Some(l) = level.get_mut(c as usize) {
                *l = below;
            }
        }
    }
    deepest
}

/// The cover-weighted expected value of each node (children come after their parent).
pub(super) fn expected_values(tree: &[Node]) -> Vec<f32> {
    let mut e = vec![0.0f32; tree.len()];
    for i in (0..tree.len()).rev() {
        let n = &tree[i];
        e[i] = if is_leaf(n) {
            n.value
        } else {
            let (l, r) = (n.left as usize, n.right as usize);
            let (cl, cr) = (
                tree.get(l).map_or(0.0, |n| n.cover),
                tree.get(r).map_or(0.0, |n| n.cover),
            );
            let (el, er) = (
                e.get(l).copied().unwrap_or(0.0),
                e.get(r).copied().unwrap_or(0.0),
            );
            if cl + cr > 0.0 {
                (el * cl + er * cr) / (cl + cr)
            } else {
                (el + er) / 2.0
            }
        };
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF: u32 = u32::MAX;

    fn split(feature: u32, threshold: f32, left: u32, right: u32, cover: f32) -> Node {
        Node {
            feature,
            threshold,
            left,
            right,
            value: 0.0,
            cover,
        }
    }

    fn leaf(value: f32, cover: f32) -> Node {
        Node {
            feature: LEAF,
            threshold: 0.0,
            left: 0,
            right: 0,
            value,
            cover,
        }
    }

    /// The source trees' own walk: follow the splits to a leaf, crediting each step.
    fn source_walk(tree: &[Node], x: &[f32], credit: &mut [f32]) -> f32 {
        let e = expected_values(tree);
        let mut i = 0;
        while !is_leaf(&tree[i]) {
            let n = &tree[i];
            let v = x[n.feature as usize];
            let next = if v <= n.threshold { n.left } else { n.right } as usize;
            credit[n.feature as usize] += e[next] - e[i];
            i = next;
        }
        tree[i].value
    }

    /// Two trees of depth 3: one with a leaf at the first level, one full on one side.
    fn trees() -> Vec<Vec<Node>> {
        vec![
            vec![
                split(0, 1.0, 1, 2, 6.0),
                leaf(10.0, 2.0),
                split(1, 5.0, 3, 4, 4.0),
                leaf(20.0, 1.0),
                split(2, -1.0, 5, 6, 3.0),
                leaf(30.0, 1.0),
                leaf(-5.0, 2.0),
            ],
            vec![
                split(2, 0.0, 1, 2, 5.0),
                split(0, 2.0, 3, 4, 3.0),
                leaf(1.5, 2.0),
                leaf(-1.0, 1.0),
                leaf(4.0, 2.0),
            ],
        ]
    }

    #[test]
    fn the_complete_walk_sums_and_credits_as_the_source_trees_do() {
        let trees = trees();
        assert_eq!(trees.iter().map(|t| depth_of(t)).max(), Some(3));
        let paths = PathTrees::build(&trees, 3);
        let values = [-3.0, -1.0, 0.0, 0.5, 1.0, 2.0, 5.0, 7.0, f32::NAN];
        let mut rows = 0;
        for &a in &values {
            for &b in &values {
                for &c in &values {
                    let x = [a, b, c];
                    let (mut want, mut got) = ([0.0f32; 3], [0.0f32; 3]);
                    let sum: f32 = trees.iter().map(|t| source_walk(t, &x, &mut want)).sum();
                    assert_eq!(paths.walk(0.0, &x, &mut got), sum, "{x:?}");
                    assert_eq!(got, want, "{x:?}");
                    rows += 1;
                }
            }
        }
        assert_eq!(rows, 729);
        // A deeper layout than the trees need changes nothing.
        let mut credit = [0.0f32; 3];
        assert_eq!(
            PathTrees::build(&trees, 5).walk(0.5, &[2.0, 6.0, -2.0], &mut credit),
            0.5 + 30.0 - 1.0
        );
    }

    #[test]
    fn an_input_the_row_lacks_reads_as_zero() {
        let paths = PathTrees::build(&trees(), 3);
        let mut credit = [0.0f32; 1];
        // x0 = 0 → the first tree's left leaf; x2 missing → 0 ≤ 0 → left, x0 ≤ 2 → -1.
        assert_eq!(paths.walk(0.0, &[0.0], &mut credit), 10.0 - 1.0);
    }
}
