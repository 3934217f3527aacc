//! What the behavioural engine's fuzz targets share: the default field aliases, and the
//! contract every score keeps whatever the input. Each target includes this file as a
//! module of its own and uses part of it.
#![allow(dead_code)]

use std::sync::OnceLock;

use warden_engine::UebaConfig;
use warden_engine::ueba::UebaEngine;
use warden_event::{ThreatLevel, ThreatScore, UserActivity};
use warden_ingest::FieldAliases;

/// The default aliases, built once.
pub fn aliases() -> &'static FieldAliases {
    static A: OnceLock<FieldAliases> = OnceLock::new();
    A.get_or_init(FieldAliases::default)
}

/// A finite score in 0–100 with the level its thresholds give, a confidence in [0, 1],
/// features in [0, 1] and finite anomaly figures.
pub fn check(s: &ThreatScore, cfg: &UebaConfig) {
    assert!(
        s.threat_score.is_finite() && (0.0..=100.0).contains(&s.threat_score),
        "{s:?}"
    );
    assert_eq!(
        s.threat_level,
        ThreatLevel::from_score(s.threat_score, &cfg.scoring.levels)
    );
    assert!(
        s.confidence.is_finite() && (0.0..=1.0).contains(&s.confidence),
        "{s:?}"
    );
    if let Some(f) = &s.features {
        assert!(
            f.iter().all(|x| x.is_finite() && (0.0..=1.0).contains(x)),
            "{f:?}"
        );
    }
    for a in &s.anomalies {
        assert!(
            a.confidence.is_finite() && (0.0..=1.0).contains(&a.confidence),
            "{a:?}"
        );
        assert!(a.contribution.is_finite() && a.contribution >= 0.0, "{a:?}");
    }
}

/// Scores `a` with the engine that kept running and with one restored from its checkpoint:
/// both must give the same score, within the contract (what a worker taking a partition
/// over relies on). Returns the running engine's.
pub fn score_alike(
    running: &mut UebaEngine,
    restored: &mut UebaEngine,
    a: &UserActivity,
    cfg: &UebaConfig,
) -> ThreatScore {
    let kept = running.score(a, true);
    check(&kept, cfg);
    assert_eq!(
        kept,
        restored.score(a, true),
        "a restored engine scored differently"
    );
    kept
}
