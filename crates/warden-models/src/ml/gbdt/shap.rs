//! Exact tree SHAP (Lundberg et al., Algorithm 2): each feature's contribution to one
//! prediction's margin, so that an alert can say which features raised the score.

use super::{Gbdt, LEAF, Node};

#[derive(Debug, Clone, Copy)]
struct PathElem {
    feature: i64,
    zero: f64,
    one: f64,
    weight: f64,
}

fn extend(path: &mut Vec<PathElem>, zero: f64, one: f64, feature: i64) {
    let depth = path.len();
    path.push(PathElem {
        feature,
        zero,
        one,
        weight: if depth == 0 { 1.0 } else { 0.0 },
    });
    let d = depth as f64;
    for i in (0..depth).rev() {
        let wi = path[i].weight;
        path[i + 1].weight += one * wi * (i as f64 + 1.0) / (d + 1.0);
        path[i].weight = zero * wi * (d - i as f64) / (d + 1.0);
    }
}

fn unwind(path: &mut Vec<PathElem>, index: usize) {
    let depth = path.len() - 1;
    let (one, zero) = (path[index].one, path[index].zero);
    let d = depth as f64;
    let mut next = path[depth].weight;
    for i in (0..depth).rev() {
        if one != 0.0 {
            let tmp = path[i].weight;
            path[i].weight = next * (d + 1.0) / ((i as f64 + 1.0) * one);
            next = tmp - path[i].weight * zero * (d - i as f64) / (d + 1.0);
        } else {
            path[i].weight = path[i].weight * (d + 1.0) / (zero * (d - i as f64));
        }
    }
    for i in index..depth {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
    path.pop();
}

fn unwound_sum(path: &[PathElem], index: usize) -> f64 {
    let depth = path.len() - 1;
    let (one, zero) = (path[index].one, path[index].zero);
    let d = depth as f64;
    let mut total = 0.0;
    if one != 0.0 {
        let mut next = path[depth].weight;
        for i in (0..depth).rev() {
            let tmp = next / ((i as f64 + 1.0) * one);
            total += tmp;
            next = path[i].weight - tmp * zero * (d - i as f64);
        }
    } else {
        for i in (0..depth).rev() {
            total += path[i].weight / (zero * (d - i as f64));
        }
    }
    total * (d + 1.0)
}

/// Exact tree SHAP (Lundberg et al. 2018, algorithm 2) for one tree, added to `phi`.
fn tree_shap(tree: &[Node], x: &[f32], phi: &mut [f64]) {
    fn recurse(
        tree: &[Node],
        x: &[f32],
        phi: &mut [f64],
        node: usize,
        mut path: Vec<PathElem>,
        (zero, one, feature): (f64, f64, i64),
    ) {
        extend(&mut path, zero, one, feature);
        let Some(n) = tree.get(node) else { return };
        if n.feature == LEAF {
            for i in 1..path.len() {
                let w = unwound_sum(&path, i);
                let el = path[i];
                if let Some(p) = usize::try_from(el.feature)
                    .ok()
                    .and_then(|f| phi.get_mut(f))
                {
                    *p += w * (el.one - el.zero) * f64::from(n.value);
                }
            }
            return;
        }
        let f = n.feature as usize;
        let goes_left = x.get(f).copied().unwrap_or(0.0) <= n.threshold;
        let (hot, cold) = if goes_left {
            (n.left as usize, n.right as usize)
        } else {
            (n.right as usize, n.left as usize)
        };
        let cover = f64::from(n.cover).max(f64::MIN_POSITIVE);
        let hot_zero = tree.get(hot).map_or(0.0, |c| f64::from(c.cover)) / cover;
        let cold_zero = tree.get(cold).map_or(0.0, |c| f64::from(c.cover)) / cover;
        let (mut in_zero, mut in_one) = (1.0, 1.0);
        if let Some(k) = path.iter().position(|e| e.feature == f as i64) {
            in_zero = path[k].zero;
            in_one = path[k].one;
            unwind(&mut path, k);
        }
        recurse(
            tree,
            x,
            phi,
            hot,
            path.clone(),
            (hot_zero * in_zero, in_one, f as i64),
        );
        recurse(
            tree,
            x,
            phi,
            cold,
            path,
            (cold_zero * in_zero, 0.0, f as i64),
        );
    }
    recurse(tree, x, phi, 0, Vec::with_capacity(16), (1.0, 1.0, -1));
}

/// A tree's expected output over the training rows (leaf values weighted by cover).
fn expected_value(tree: &[Node]) -> f64 {
    let root = tree
        .first()
        .map_or(1.0, |n| f64::from(n.cover))
        .max(f64::MIN_POSITIVE);
    tree.iter()
        .filter(|n| n.feature == LEAF)
        .map(|n| f64::from(n.value) * f64::from(n.cover) / root)
        .sum()
}

impl Gbdt {
    /// Exact SHAP values of one row, in margin (log-odds) units, and the expected margin:
    /// `expected + Σ contributions = margin(x)`.
    pub fn contributions(&self, x: &[f32]) -> (Vec<f64>, f64) {
        let mut phi = vec![0.0; self.n_features];
        let mut expected = self.base_margin;
        for t in &self.trees {
            tree_shap(t, x, &mut phi);
            expected += expected_value(t);
        }
        (phi, expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::gbdt::GbdtParams;
    use crate::ml::gbdt::tests::data;

    #[test]
    fn shap_values_sum_to_the_margin() {
        let (x, y) = data(2000, 3);
        let m = Gbdt::fit(
            &GbdtParams {
                n_trees: 30,
                ..GbdtParams::default()
            },
            &x,
            &y,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (tx, _) = data(200, 4);
        let mut mean_abs = [0.0f64; 3];
        for row in tx.iter_rows() {
            let (phi, expected) = m.contributions(row);
            let total = expected + phi.iter().sum::<f64>();
            assert!(
                (total - m.margin(row)).abs() < 1e-4,
                "{total} vs {}",
                m.margin(row)
            );
            for (a, p) in mean_abs.iter_mut().zip(&phi) {
                *a += p.abs() / 200.0;
            }
        }
        // The noise feature takes a small part next to the two that decide.
        assert!(
            mean_abs[2] < 0.2 * mean_abs[0].min(mean_abs[1]),
            "{mean_abs:?}"
        );
    }

    #[test]
    fn shap_on_a_hand_built_tree() {
        // x0 <= 0.5 ? (x1 <= 0.5 ? 1 : 2) : 3, covers 4 | 2 (1, 1) | 2.
        let leaf = |value: f32, cover: f32| Node {
            feature: LEAF,
            threshold: 0.0,
            left: 0,
            right: 0,
            value,
            cover,
        };
        let tree = vec![
            Node {
                feature: 0,
                threshold: 0.5,
                left: 1,
                right: 2,
                value: 0.0,
                cover: 4.0,
            },
            Node {
                feature: 1,
                threshold: 0.5,
                left: 3,
                right: 4,
                value: 0.0,
                cover: 2.0,
            },
            leaf(3.0, 2.0),
            leaf(1.0, 1.0),
            leaf(2.0, 1.0),
        ];
        let mut phi = vec![0.0; 2];
        tree_shap(&tree, &[0.0, 0.0], &mut phi);
        // E = 0.25·1 + 0.25·2 + 0.5·3 = 2.25; f(x) = 1. By hand (two-player Shapley):
        // v({}) = 2.25, v({0}) = 1.5, v({1}) = 0.5·1 + 0.5·3 = 2, v({0,1}) = 1.
        // φ0 = ½[(1.5 − 2.25) + (1 − 2)] = −0.875; φ1 = ½[(2 − 2.25) + (1 − 1.5)] = −0.375.
        assert!((phi[0] + 0.875).abs() < 1e-9, "{phi:?}");
        assert!((phi[1] + 0.375).abs() < 1e-9, "{phi:?}");
        assert!((expected_value(&tree) - 2.25).abs() < 1e-9);
    }
}
