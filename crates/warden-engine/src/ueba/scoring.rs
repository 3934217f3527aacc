//! The transparent scoring model: findings → 0–100 score, level, per-anomaly contributions.
//!
//! Each finding carries risk `r = weight(type) × confidence`, where checks that need a
//! baseline have their confidence multiplied by the baseline's maturity. Risks combine as
//! independent evidence: `score = 100 × (1 − Π(1 − r))`. Each anomaly's contribution is
//! its share of the score in proportion to its risk, so contributions add up to the score.

use super::Finding;
use crate::UebaConfig;
use warden_event::{Anomaly, AnomalyType, ThreatLevel};

/// The combined result.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub score: f32,
    pub level: ThreatLevel,
    /// Strongest first.
    pub anomalies: Vec<Anomaly>,
    /// Types contributing at least [`PRIMARY_MIN_POINTS`], strongest first.
    pub primary: Vec<AnomalyType>,
    pub confidence: f32,
    /// Earlier events whose anomalies joined the score (session compounding), in order.
    pub cited: Vec<String>,
}

/// Points an anomaly must add to be named a primary anomaly.
pub const PRIMARY_MIN_POINTS: f32 = 5.0;

pub fn combine(findings: Vec<Finding>, maturity: f64, cfg: &UebaConfig) -> Scored {
    let weights = &cfg.scoring.weights;
    let mut risks = Vec::with_capacity(findings.len());
    let mut keep = 1.0f64;
    for fnd in &findings {
        let conf = if fnd.kind.needs_baseline() {
            fnd.confidence * maturity
        } else {
            fnd.confidence
        };
        // A confidence that is not a number (a baseline damaged in storage) is no evidence:
        // a score is always a number.
        let conf = if conf.is_finite() { conf } else { 0.0 };
        let risk = (weights.of(fnd.kind) * conf).clamp(0.0, 1.0);
        keep *= 1.0 - risk;
        risks.push((risk, conf));
    }
    let total: f64 = risks.iter().map(|(r, _)| r).sum();
    let score = round1(100.0 * (1.0 - keep));
    let mut cited = Vec::new();
    let mut anomalies: Vec<Anomaly> = findings
        .into_iter()
        .zip(&risks)
        .filter(|(_, (risk, _))| *risk > 0.0)
        .inspect(|(f, _)| {
            if let Some(id) = &f.cites
                && !cited.contains(id)
            {
                cited.push(id.clone());
            }
        })
        .map(|(f, (risk, conf))| Anomaly {
            kind: f.kind,
            confidence: round2(*conf),
            contribution: round1(f64::from(score) * risk / total.max(f64::MIN_POSITIVE)),
            detail: f.detail,
        })
        .collect();
    anomalies.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    let primary = anomalies
        .iter()
        .filter(|a| a.contribution >= PRIMARY_MIN_POINTS)
        .map(|a| a.kind)
        .collect();
    let base = 0.3 + 0.7 * maturity;
    let confidence = if total > 0.0 {
        let weighted: f64 = risks.iter().map(|(r, c)| r * c).sum::<f64>() / total;
        base * (0.5 + 0.5 * weighted)
    } else {
        base
    };
    Scored {
        score,
        level: ThreatLevel::from_score(score, &cfg.scoring.levels),
        anomalies,
        primary,
        confidence: round2(confidence),
        cited,
    }
}

/// Mixes the models' agreement (`[0, 1]`) into a scored event: `score' = (1 − share) ×
/// score + share × 100 × agreement`. The checks' contributions shrink by `1 − share` and the
/// models' part becomes one more anomaly, `model_anomaly`, so contributions still add up to
/// the score. Models can raise an event the checks miss and lower one the checks rate
/// MEDIUM, but an event the checks rate HIGH stays at least HIGH (at most CRITICAL → HIGH)
/// unless `ensemble.may_demote_high`: a concrete finding of the checks is not overruled by
/// models that did not see its kind of attack in training.
pub fn blend(
    mut s: Scored,
    agreement: f64,
    share: f64,
    detail: String,
    cfg: &UebaConfig,
) -> Scored {
    let share = share.clamp(0.0, 1.0);
    let agreement = agreement.clamp(0.0, 1.0);
    if share == 0.0 {
        return s;
    }
    let checks = f64::from(s.score);
    let model_points = 100.0 * share * agreement;
    let mut score = checks * (1.0 - share) + model_points;
    if !cfg.ensemble.may_demote_high && s.level >= ThreatLevel::High {
        score = score.max(f64::from(cfg.scoring.levels.high));
    }
    // The checks keep what the models leave them, so contributions still sum to the score.
    let keep = if checks > 0.0 {
        ((score - model_points) / checks) as f32
    } else {
        0.0
    };
    for a in &mut s.anomalies {
        a.contribution = round1(f64::from(a.contribution * keep));
    }
    if model_points >= 0.05 {
        s.anomalies.push(Anomaly {
            kind: AnomalyType::ModelAnomaly,
            confidence: round2(agreement),
            contribution: round1(model_points),
            detail,
        });
    }
    s.anomalies
        .sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    s.score = round1(score);
    s.level = ThreatLevel::from_score(s.score, &cfg.scoring.levels);
    s.primary = s
        .anomalies
        .iter()
        .filter(|a| a.contribution >= PRIMARY_MIN_POINTS)
        .map(|a| a.kind)
        .collect();
    s
}

fn round1(x: f64) -> f32 {
    ((x * 10.0).round() / 10.0) as f32
}

fn round2(x: f64) -> f32 {
    ((x * 100.0).round() / 100.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn finding(kind: AnomalyType, c: f64) -> Finding {
        Finding::new(kind, c, String::new())
    }

    #[test]
    fn one_anomaly_scores_its_weight() {
        let cfg = UebaConfig::default();
        let s = combine(vec![finding(AnomalyType::ImpossibleTravel, 1.0)], 1.0, &cfg);
        assert_eq!(s.score, 75.0);
        assert_eq!(s.level, ThreatLevel::High);
        assert_eq!(s.primary, vec![AnomalyType::ImpossibleTravel]);
        assert_eq!(s.anomalies[0].contribution, 75.0);
    }

    #[test]
    fn evidence_combines_and_contributions_sum() {
        let cfg = UebaConfig::default();
        let s = combine(
            vec![
                finding(AnomalyType::ImpossibleTravel, 1.0),
                finding(AnomalyType::NewLocation, 1.0),
            ],
            1.0,
            &cfg,
        );
        // 1 − 0.25 × 0.6 = 0.85
        assert_eq!(s.score, 85.0);
        assert_eq!(s.level, ThreatLevel::Critical);
        let sum: f32 = s.anomalies.iter().map(|a| a.contribution).sum();
        assert!((sum - s.score).abs() < 0.2);
    }

    #[test]
    fn learning_damps_only_baseline_checks() {
        let cfg = UebaConfig::default();
        let s = combine(
            vec![
                finding(AnomalyType::NewDevice, 1.0),
                finding(AnomalyType::FailedLoginBurst, 1.0),
            ],
            0.0,
            &cfg,
        );
        assert_eq!(s.score, 75.0);
        assert_eq!(s.anomalies.len(), 1);
        assert!(s.confidence < 0.5);
    }

    #[test]
    fn a_confidence_that_is_not_a_number_is_no_evidence() {
        let cfg = UebaConfig::default();
        let s = combine(
            vec![
                finding(AnomalyType::UnusualVolume, f64::NAN),
                finding(AnomalyType::ImpossibleTravel, 1.0),
            ],
            1.0,
            &cfg,
        );
        assert_eq!(s.score, 75.0);
        assert_eq!(s.anomalies.len(), 1);
        assert!(s.confidence.is_finite());
        let s = combine(vec![finding(AnomalyType::UnusualTime, f64::NAN)], 0.5, &cfg);
        assert_eq!((s.score, s.level), (0.0, ThreatLevel::Low));
    }

    #[test]
    fn nothing_found_is_zero() {
        let s = combine(vec![], 1.0, &UebaConfig::default());
        assert_eq!(s.score, 0.0);
        assert_eq!(s.level, ThreatLevel::Low);
        assert!(s.primary.is_empty());
        assert_eq!(s.confidence, 1.0);
    }

    #[test]
    fn blending_keeps_contributions_summing_and_can_lower_or_raise() {
        let cfg = UebaConfig::default();
        let checks = || combine(vec![finding(AnomalyType::ImpossibleTravel, 1.0)], 1.0, &cfg);
        let calm = blend(checks(), 0.0, 0.3, String::new(), &cfg);
        assert_eq!(calm.score, 52.5, "75 × 0.7");
        // Models that disagree may not take the checks' HIGH below HIGH by default…
        let heavy = blend(checks(), 0.0, 0.6, String::new(), &cfg);
        assert_eq!((heavy.score, heavy.level), (50.0, ThreatLevel::High));
        let sum: f32 = heavy.anomalies.iter().map(|a| a.contribution).sum();
        assert!((sum - heavy.score).abs() < 0.2);
        // …unless allowed to; and a MEDIUM of the checks may be lowered either way.
        let mut demoting = cfg.clone();
        demoting.ensemble.may_demote_high = true;
        let heavy = blend(checks(), 0.0, 0.6, String::new(), &demoting);
        assert_eq!((heavy.score, heavy.level), (30.0, ThreatLevel::Medium));
        let medium = || combine(vec![finding(AnomalyType::UnusualTime, 0.5)], 1.0, &cfg);
        assert!(blend(medium(), 0.0, 0.3, String::new(), &cfg).score < medium().score);
        assert!(
            calm.anomalies
                .iter()
                .all(|a| a.kind != AnomalyType::ModelAnomaly)
        );
        let alarmed = blend(checks(), 1.0, 0.3, "models: x".into(), &cfg);
        assert_eq!(alarmed.score, 82.5, "75 × 0.7 + 30");
        assert_eq!(alarmed.level, ThreatLevel::Critical);
        assert!(alarmed.primary.contains(&AnomalyType::ModelAnomaly));
        let sum: f32 = alarmed.anomalies.iter().map(|a| a.contribution).sum();
        assert!((sum - alarmed.score).abs() < 0.2);
        assert_eq!(blend(checks(), 1.0, 0.0, String::new(), &cfg), checks());
    }

    proptest! {
        #[test]
        fn blended_scores_stay_in_range(agreement in 0.0f64..=1.0, share in 0.0f64..=1.0, c in 0.0f64..=1.0) {
            let cfg = UebaConfig::default();
            let s = blend(combine(vec![finding(AnomalyType::UnusualVolume, c)], 1.0, &cfg), agreement, share, String::new(), &cfg);
            prop_assert!((0.0..=100.0).contains(&s.score));
            let sum: f32 = s.anomalies.iter().map(|a| a.contribution).sum();
            prop_assert!((sum - s.score).abs() < 0.3);
        }

        #[test]
        fn score_is_bounded_and_monotone(confs in proptest::collection::vec(0.0f64..=1.0, 1..8), maturity in 0.0f64..=1.0) {
            let cfg = UebaConfig::default();
            let findings: Vec<_> = confs.iter().enumerate().map(|(i, c)| finding(AnomalyType::ALL[i % 8], *c)).collect();
            let s = combine(findings.clone(), maturity, &cfg);
            prop_assert!((0.0..=100.0).contains(&s.score));
            prop_assert!((0.0..=1.0).contains(&s.confidence));
            // Adding evidence never lowers the score.
            let mut more = findings;
            more.push(finding(AnomalyType::ImpossibleTravel, 0.5));
            prop_assert!(combine(more, maturity, &cfg).score >= s.score);
        }
    }
}
