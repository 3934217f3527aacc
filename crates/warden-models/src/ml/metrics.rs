//! Detection metrics: ROC AUC (ties averaged), PR AUC as average precision (scikit-learn's
//! definition), and the confusion matrix with precision, recall, F1 and accuracy at a
//! threshold. `labels[i]` is true for an attack.

use serde::{Deserialize, Serialize};

/// Area under the ROC curve; `None` without both classes or with a non-finite score.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Mann-Whitney U with average ranks for ties.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum_pos += avg_rank;
            }
        }
        i = j + 1;
    }
    let (p, n) = (pos as f64, neg as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// Average precision: Σ (Rₖ − Rₖ₋₁)·Pₖ over thresholds from the highest score down.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() || scores.iter().any(|s| !s.is_finite()) {
        return None;
    }
    let pos = labels.iter().filter(|&&l| l).count();
    if pos == 0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut ap, mut last_recall) = (0usize, 0usize, 0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            if labels[k] {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        let recall = tp as f64 / pos as f64;
        let precision = tp as f64 / (tp + fp) as f64;
        ap += (recall - last_recall) * precision;
        last_recall = recall;
        i = j + 1;
    }
    Some(ap)
}

/// Counts and rates at one threshold (score ≥ threshold is called an attack).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
}

impl Confusion {
    pub fn at(scores: &[f64], labels: &[bool], threshold: f64) -> Confusion {
        let mut c = Confusion {
            tp: 0,
            fp: 0,
            tn: 0,
            fn_: 0,
        };
        for (&s, &l) in scores.iter().zip(labels) {
            match (s >= threshold, l) {
                (true, true) => c.tp += 1,
                (true, false) => c.fp += 1,
                (false, false) => c.tn += 1,
                (false, true) => c.fn_ += 1,
            }
        }
        c
    }

    fn ratio(a: u64, b: u64) -> f64 {
        if b == 0 { 0.0 } else { a as f64 / b as f64 }
    }

    pub fn precision(&self) -> f64 {
        Self::ratio(self.tp, self.tp + self.fp)
    }

    pub fn recall(&self) -> f64 {
        Self::ratio(self.tp, self.tp + self.fn_)
    }

    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    pub fn accuracy(&self) -> f64 {
        Self::ratio(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn_)
    }
}

/// Everything `warden eval` reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub rows: usize,
    pub attacks: usize,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub accuracy: f64,
    pub confusion: Confusion,
}

impl Evaluation {
    pub fn compute(scores: &[f64], labels: &[bool], threshold: f64) -> Evaluation {
        let c = Confusion::at(scores, labels, threshold);
        Evaluation {
            rows: scores.len(),
            attacks: labels.iter().filter(|&&l| l).count(),
            roc_auc: roc_auc(scores, labels),
            pr_auc: average_precision(scores, labels),
            threshold,
            precision: c.precision(),
            recall: c.recall(),
            f1: c.f1(),
            accuracy: c.accuracy(),
            confusion: c,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_values() {
        let l = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &l), Some(0.75));
        assert_eq!(roc_auc(&[0.1, 0.2, 0.3, 0.4], &l), Some(1.0));
        assert_eq!(roc_auc(&[0.5, 0.5, 0.5, 0.5], &l), Some(0.5));
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None);
        // scikit-learn: average_precision_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.8333…
        let ap = average_precision(&[0.1, 0.4, 0.35, 0.8], &l).unwrap_or_default();
        assert!((ap - 0.833_333_333).abs() < 1e-6, "{ap}");
    }

    #[test]
    fn confusion_rates() {
        let e = Evaluation::compute(&[0.9, 0.8, 0.2, 0.7], &[true, false, false, true], 0.75);
        assert_eq!(
            (
                e.confusion.tp,
                e.confusion.fp,
                e.confusion.tn,
                e.confusion.fn_
            ),
            (1, 1, 1, 1)
        );
        assert_eq!((e.precision, e.recall, e.accuracy), (0.5, 0.5, 0.5));
    }
}
