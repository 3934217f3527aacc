//! Boosted trees for several classes, on the softmax loss, out of the binary trainer's parts.

use serde::{Deserialize, Serialize};

use super::{Bin, Gbdt, GbdtError, GbdtParams, Node, bin_matrix, check_rows};
use crate::ml::Matrix;

/// Boosted trees for several classes: one tree per class per round, fitted together on the
/// softmax loss (gradient p − y, hessian 2p(1 − p), as XGBoost's `multi:softprob`); each
/// class keeps its own trees, base margin (the log of its prior) and explanations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtMulticlass {
    pub classes: Vec<String>,
    pub per_class: Vec<Gbdt>,
}

fn softmax(m: &mut [f64]) {
    let max = m.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for v in m.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in m.iter_mut() {
        *v /= sum;
    }
}

impl GbdtMulticlass {
    /// Trains on rows `x` with class indices `y` into `classes`.
    pub fn fit(
        params: &GbdtParams,
        x: &Matrix,
        y: &[usize],
        classes: Vec<String>,
    ) -> Result<GbdtMulticlass, GbdtError> {
        params.validate()?;
        let (n, k) = (x.rows(), classes.len());
        check_rows(x, y.len())?;
        let mut counts = vec![0usize; k];
        for &c in y {
            match counts.get_mut(c) {
                Some(n) => *n += 1,
                None => {
                    return Err(GbdtError::Length {
                        rows: n,
                        labels: y.len(),
                    });
                }
            }
        }
        if counts.iter().filter(|&&c| c > 0).count() < 2 {
            return Err(GbdtError::OneClass {
                rows: n,
                positives: counts.iter().max().copied().unwrap_or(0),
            });
        }
        let binned = bin_matrix(x, params.max_bins);
        let base: Vec<f64> = counts
            .iter()
            .map(|&c| ((c.max(1)) as f64 / n as f64).ln())
            .collect();
        let mut margins: Vec<Vec<f64>> = base.iter().map(|&b| vec![b; n]).collect();
        let mut trees: Vec<Vec<Vec<Node>>> = vec![Vec::with_capacity(params.n_trees); k];
        let mut gains = vec![vec![0.0; x.cols()]; k];
        let mut probs = vec![0.0; n * k];
        let mut gh = vec![Bin::default(); n];
        for _ in 0..params.n_trees {
            for i in 0..n {
                let row = &mut probs[i * k..(i + 1) * k];
                for (c, p) in row.iter_mut().enumerate() {
                    *p = margins[c][i];
                }
                softmax(row);
            }
            for c in 0..k {
                for i in 0..n {
                    let p = probs[i * k + c];
                    gh[i] = Bin {
                        g: p - f64::from(u8::from(y[i] == c)),
                        h: (2.0 * p * (1.0 - p)).max(1e-16),
                    };
                }
                let tree = Gbdt::grow(&binned, &gh, params, &mut gains[c], &mut margins[c]);
                trees[c].push(tree);
            }
        }
        let per_class = trees
            .into_iter()
            .zip(gains)
            .zip(base)
            .map(|((trees, gain), base_margin)| {
                Gbdt::assemble(params, base_margin, trees, x.cols(), gain)
            })
            .collect();
        Ok(GbdtMulticlass { classes, per_class })
    }

    pub fn prepare(&mut self) {
        self.per_class.iter_mut().for_each(Gbdt::prepare);
    }

    /// Class probabilities of one row.
    pub fn predict_proba_one(&self, x: &[f32]) -> Vec<f64> {
        let mut m: Vec<f64> = self.per_class.iter().map(|g| g.margin(x)).collect();
        softmax(&mut m);
        m
    }

    /// Class probabilities of every row (rows × classes).
    pub fn predict_proba(&self, x: &Matrix) -> Vec<Vec<f64>> {
        let margins: Vec<Vec<f64>> = self.per_class.iter().map(|g| g.margins(x)).collect();
        (0..x.rows())
            .map(|i| {
                let mut m: Vec<f64> = margins.iter().map(|c| c[i]).collect();
                softmax(&mut m);
                m
            })
            .collect()
    }

    /// Global importance per feature, summed over classes.
    pub fn importance(&self) -> Vec<f64> {
        let n = self.per_class.first().map_or(0, |g| g.gain.len());
        let mut total = vec![0.0; n];
        for g in &self.per_class {
            for (t, v) in total.iter_mut().zip(&g.gain) {
                *t += v;
            }
        }
        let sum: f64 = total.iter().sum();
        total
            .iter()
            .map(|v| if sum > 0.0 { v / sum } else { 0.0 })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::rng::SplitMix64;

    #[test]
    fn multiclass_learns_three_regions() {
        let mut rng = SplitMix64::new(9);
        let (mut rows, mut y) = (Vec::new(), Vec::new());
        for _ in 0..3000 {
            let a = rng.next_f64() as f32;
            let b = rng.next_f64() as f32;
            rows.push(vec![a, b]);
            y.push(if a < 0.33 {
                0
            } else if b < 0.5 {
                1
            } else {
                2
            });
        }
        let x = Matrix::from_rows(&rows).unwrap_or_default();
        let classes = vec!["low".to_owned(), "mid".to_owned(), "high".to_owned()];
        let m = GbdtMulticlass::fit(
            &GbdtParams {
                n_trees: 40,
                ..GbdtParams::default()
            },
            &x,
            &y,
            classes,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let probs = m.predict_proba(&x);
        let argmax = |p: &Vec<f64>| {
            p.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        };
        let acc = probs
            .iter()
            .zip(&y)
            .filter(|(p, y)| argmax(p) == **y)
            .count() as f64
            / 3000.0;
        assert!(acc > 0.98, "{acc}");
        for (i, row) in x.iter_rows().take(50).enumerate() {
            let one = m.predict_proba_one(row);
            assert!((one.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            for (a, b) in one.iter().zip(&probs[i]) {
                assert!((a - b).abs() < 1e-9);
            }
        }
        // SHAP per class still sums to that class's margin.
        let (phi, e) = m.per_class[2].contributions(x.row(0));
        assert!((e + phi.iter().sum::<f64>() - m.per_class[2].margin(x.row(0))).abs() < 1e-4);
    }
}
