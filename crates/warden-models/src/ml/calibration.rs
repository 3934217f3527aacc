//! Calibration of a model's raw score against normal activity of users the model never
//! trained on: how rare a score is among them, as a p-value. Scores of different models
//! then share one scale — "one normal event in a hundred scores this high" means the same
//! for the forest, the sequence model and the trees — so the ensemble can weigh them, and
//! the weights chosen on those users mean something.
//!
//! The normal scores' upper tail is kept at 20 points per decade of rarity, from the median
//! down to one event in the sample; between points the p-value is interpolated in log
//! space. A score above every normal one seen gets `1 / (n + 1)`.

use serde::{Deserialize, Serialize};

/// Points kept per decade of tail probability.
const POINTS_PER_DECADE: f64 = 20.0;
/// Fewest normal scores a calibration is built from.
pub const MIN_EVENTS: usize = 100;

/// A model's calibration and its weight in the ensemble, both from validation users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreCalibration {
    /// `(tail probability, raw score)`, the probability falling and the score rising: a
    /// share `p` of the normal validation scores are at or above `score`.
    pub tail: Vec<(f64, f64)>,
    /// Normal events and distinct users it was built from.
    pub events: usize,
    pub users: usize,
    /// The model's weight in the ensemble, chosen on the validation users.
    pub weight: f64,
}

impl ScoreCalibration {
    /// The calibration of `normal` scores (non-finite ones are left out); `None` with fewer
    /// than [`MIN_EVENTS`].
    pub fn fit(normal: &[f64], users: usize) -> Option<ScoreCalibration> {
        let mut v: Vec<f64> = normal.iter().copied().filter(|s| s.is_finite()).collect();
        if v.len() < MIN_EVENTS {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mut tail: Vec<(f64, f64)> = Vec::new();
        let decades = (n as f64).log10();
        let steps = (decades * POINTS_PER_DECADE).floor() as usize;
        // From p = 0.5 (the median) to p = 1/n (the largest score).
        let start = (0.5f64.log10().abs() * POINTS_PER_DECADE).ceil() as usize;
        for k in start..=steps {
            let p = 10f64.powf(-(k as f64) / POINTS_PER_DECADE);
            // The smallest score with at most a share p of the sample at or above it.
            let at = n - ((p * n as f64).round() as usize).clamp(1, n);
            let score = v[at];
            match tail.last() {
                Some(&(_, last)) if score <= last => {}
                _ => tail.push((p, score)),
            }
        }
        Some(ScoreCalibration {
            tail,
            events: n,
            users,
            weight: 1.0,
        })
    }

    /// How rare `score` is among the normal validation scores: the share at or above it,
    /// in `(0, 1]`. Below the median it is 1 (not evidence of anything); NaN stays NaN.
    pub fn p_value(&self, score: f64) -> f64 {
        if score.is_nan() {
            return f64::NAN;
        }
        let floor = 1.0 / (self.events as f64 + 1.0);
        let Some(&(_, s0)) = self.tail.first() else {
            return 1.0;
        };
        if score < s0 {
            return 1.0;
        }
        // The last point at or below the score.
        let i = self.tail.partition_point(|&(_, s)| s <= score) - 1;
        let (p, s) = self.tail[i];
        let Some(&(pn, sn)) = self.tail.get(i + 1) else {
            return if score > s { floor } else { p.max(floor) };
        };
        // Log-linear between the two points.
        let t = if sn > s { (score - s) / (sn - s) } else { 0.0 };
        let lp = p.log10() + t * (pn.log10() - p.log10());
        10f64.powf(lp).clamp(floor, 1.0)
    }

    /// Whether the table is usable (a file could claim anything).
    pub fn validate(&self) -> Result<(), String> {
        let ordered = self
            .tail
            .windows(2)
            .all(|w| w[1].0 < w[0].0 && w[1].1 > w[0].1);
        let finite = self
            .tail
            .iter()
            .all(|(p, s)| p.is_finite() && *p > 0.0 && *p <= 1.0 && s.is_finite());
        if self.tail.is_empty() || !ordered || !finite || self.events == 0 {
            return Err("score calibration table is empty or out of order".into());
        }
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err("calibrated weight must be a non-negative number".into());
        }
        Ok(())
    }
}

/// A p-value as decades of rarity, `−log10(p)` (0 for p = 1; NaN for NaN).
pub fn decades(p: f64) -> f64 {
    if p.is_nan() {
        return f64::NAN;
    }
    -p.clamp(1e-300, 1.0).log10()
}

/// Combines calibrated p-values of several models: the weighted mean of their decades of
/// rarity. The models read the same features and are strongly correlated, so evidence
/// that one model's rarity repeats in another is not compounded as if independent (a
/// weighted Stouffer sum did, and raised legitimate travel that all three see as unusual).
/// `None` without any finite p-value of positive weight.
pub fn combine_p_values(parts: &[(f64, f64)]) -> Option<f64> {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for &(p, w) in parts {
        if !(p.is_finite() && w > 0.0) {
            continue;
        }
        num += w * decades(p);
        den += w;
    }
    (den > 0.0).then(|| 10f64.powf(-num / den).clamp(1e-300, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::rng::SplitMix64;

    fn sample(n: usize, seed: u64) -> Vec<f64> {
        let mut r = SplitMix64::new(seed);
        // A skewed score distribution, as model scores are.
        (0..n).map(|_| r.next_f64().powi(3)).collect()
    }

    #[test]
    fn normal_scores_of_other_users_get_uniform_p_values() {
        let cal = ScoreCalibration::fit(&sample(20_000, 1), 200).unwrap();
        assert!(cal.validate().is_ok());
        let fresh = sample(20_000, 2);
        // Above the median, the share of p-values at or below q is about q.
        for q in [0.01, 0.05, 0.1, 0.25, 0.5] {
            let share =
                fresh.iter().filter(|s| cal.p_value(**s) <= q).count() as f64 / fresh.len() as f64;
            assert!((share - q).abs() < 0.15 * q + 0.002, "q {q}: {share}");
        }
    }

    #[test]
    fn p_values_fall_as_scores_rise_and_stay_in_range() {
        let cal = ScoreCalibration::fit(&sample(5_000, 3), 50).unwrap();
        let mut last = 1.0;
        for i in 0..=200 {
            let p = cal.p_value(f64::from(i) / 200.0);
            assert!(p <= last + 1e-12 && p > 0.0 && p <= 1.0, "{i}: {p}");
            last = p;
        }
        assert_eq!(cal.p_value(-1.0), 1.0);
        assert!((cal.p_value(2.0) - 1.0 / 5_001.0).abs() < 1e-12);
        assert!(cal.p_value(f64::NAN).is_nan());
        assert!(ScoreCalibration::fit(&[0.5; 10], 1).is_none(), "too few");
    }

    #[test]
    fn combination_is_the_weighted_mean_of_rarity() {
        let one = combine_p_values(&[(0.01, 1.0)]).unwrap();
        assert!((one - 0.01).abs() < 1e-9, "one model keeps its p-value");
        let two = combine_p_values(&[(0.01, 1.0), (0.01, 1.0)]).unwrap();
        assert!(
            (two - 0.01).abs() < 1e-9,
            "agreeing correlated models do not compound"
        );
        let mixed = combine_p_values(&[(0.0001, 1.0), (1.0, 1.0)]).unwrap();
        assert!((mixed - 0.01).abs() < 1e-9, "{mixed}");
        let heavy = combine_p_values(&[(0.0001, 3.0), (1.0, 1.0)]).unwrap();
        assert!(heavy < mixed, "the heavier model counts more");
        assert_eq!(combine_p_values(&[(0.3, 0.0)]), None);
        assert_eq!(decades(0.001), 3.0);
    }
}
