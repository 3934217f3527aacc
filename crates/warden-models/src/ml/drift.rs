//! Drift: how far new data has moved from the training data, per feature and for the
//! model's score, by the population stability index (PSI) over bins fixed at training
//! (deciles of each numeric column and of the score; each category of a categorical
//! column). Verdicts follow the usual reading: below 0.1 stable, 0.1–0.25 moderate shift,
//! above 0.25 significant shift.

use serde::{Deserialize, Serialize};

/// Bins per numeric histogram (deciles).
pub const BINS: usize = 10;
/// Proportions are floored at this before the logarithm (an empty bin is not infinite).
const FLOOR: f64 = 1e-4;

/// A histogram with fixed bin edges: `edges[i]` is the upper bound of bin `i` (the last bin
/// takes everything above).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub proportions: Vec<f64>,
}

impl Histogram {
    /// Decile edges of `values` and the training proportions in them.
    pub fn fit(values: &[f64]) -> Histogram {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let mut edges: Vec<f64> = (1..BINS)
            .filter_map(|q| sorted.get(q * sorted.len() / BINS).copied())
            .collect();
        edges.dedup();
        let mut h = Histogram {
            proportions: vec![0.0; edges.len() + 1],
            edges,
        };
        h.proportions = h.proportions_of(values);
        h
    }

    fn bin(&self, v: f64) -> usize {
        self.edges.partition_point(|&e| e < v)
    }

    /// Proportions of `values` in this histogram's bins.
    pub fn proportions_of(&self, values: &[f64]) -> Vec<f64> {
        let mut counts = vec![0usize; self.edges.len() + 1];
        let mut n = 0usize;
        for &v in values.iter().filter(|v| v.is_finite()) {
            counts[self.bin(v)] += 1;
            n += 1;
        }
        counts.iter().map(|&c| c as f64 / n.max(1) as f64).collect()
    }
}

/// Population stability index between expected (training) and actual proportions.
pub fn psi(expected: &[f64], actual: &[f64]) -> f64 {
    expected
        .iter()
        .zip(actual)
        .map(|(&e, &a)| {
            let (e, a) = (e.max(FLOOR), a.max(FLOOR));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// The verdict for one PSI value.
pub fn verdict(psi: f64) -> &'static str {
    if psi < 0.1 {
        "stable"
    } else if psi <= 0.25 {
        "moderate shift"
    } else {
        "significant shift"
    }
}

/// Training distributions kept with a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// Per numeric column (raw values).
    pub numeric: Vec<Histogram>,
    /// Per categorical column: proportion of each known category, then of all others.
    pub categorical: Vec<Vec<f64>>,
    /// The model's scores on the training rows.
    pub score: Histogram,
}

/// Proportions of `values` over `categories` (sorted), with a last slot for the others.
pub fn category_proportions(categories: &[String], values: &[&str]) -> Vec<f64> {
    let mut counts = vec![0usize; categories.len() + 1];
    for v in values {
        let i = categories
            .binary_search_by(|c| c.as_str().cmp(v))
            .unwrap_or(categories.len());
        counts[i] += 1;
    }
    counts
        .iter()
        .map(|&c| c as f64 / values.len().max(1) as f64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_data_is_stable_shifted_data_is_not() {
        let train: Vec<f64> = (0..1000).map(|i| f64::from(i % 100)).collect();
        let h = Histogram::fit(&train);
        assert!(h.edges.len() >= 8);
        let same = psi(&h.proportions, &h.proportions_of(&train));
        assert!(same < 1e-9, "{same}");
        let shifted: Vec<f64> = train.iter().map(|v| v + 50.0).collect();
        let p = psi(&h.proportions, &h.proportions_of(&shifted));
        assert!(p > 0.25, "{p}");
        assert_eq!(verdict(p), "significant shift");
        assert_eq!(verdict(0.05), "stable");
        assert_eq!(verdict(0.2), "moderate shift");
    }

    #[test]
    fn categories_with_unknowns() {
        let cats = vec!["http".to_owned(), "smtp".to_owned()];
        let p = category_proportions(&cats, &["http", "http", "ftp", "smtp"]);
        assert_eq!(p, [0.5, 0.25, 0.25]);
    }

    #[test]
    fn constant_columns_do_not_break() {
        let h = Histogram::fit(&[3.0; 50]);
        assert_eq!(psi(&h.proportions, &h.proportions_of(&[3.0; 10])), 0.0);
        assert!(psi(&h.proportions, &h.proportions_of(&[9.0; 10])) > 0.25);
    }
}
