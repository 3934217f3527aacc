//! The ThreatScore output contract and the 16-dimensional feature vector.

use crate::{Anomaly, AnomalyType, ThreatLevel};
use serde::{Deserialize, Serialize};

/// Names of the 16 behavioural features, in vector order. Every feature lies in `[0, 1]`,
/// where 0 means "exactly as usual for this user" and 1 "as unusual as we measure".
pub const FEATURE_NAMES: [&str; 16] = [
    "hour_deviation",
    "weekday_deviation",
    "location_novelty",
    "location_org_rarity",
    "travel_speed",
    "distance_from_usual",
    "volume_zscore",
    "device_novelty",
    "user_agent_novelty",
    "resource_novelty",
    "resource_sensitivity",
    "resource_org_rarity",
    "failed_login_pressure",
    "activity_rate",
    "network_novelty",
    "duration_zscore",
];

/// The behavioural feature vector of one activity.
pub type FeatureVector = [f32; 16];

/// The scored, explained result for one activity: one JSON object per line on output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatScore {
    pub event_id: Option<String>,
    pub user_id: String,
    /// RFC 3339, UTC.
    pub timestamp: String,
    /// 0–100, one decimal.
    pub threat_score: f32,
    pub threat_level: ThreatLevel,
    /// Anomaly types behind the score, strongest first.
    pub primary_anomalies: Vec<AnomalyType>,
    /// How far the score can be trusted, `[0, 1]`: low while the user's baseline is learning.
    pub confidence: f32,
    /// Ensemble model scores (`[0, 1]`, higher: more anomalous); `null` for a model that is
    /// not configured or did not answer.
    pub isolation_forest_score: Option<f32>,
    pub lstm_autoencoder_score: Option<f32>,
    pub xgboost_ensemble_score: Option<f32>,
    /// Configured models that did not score this event, with why (missing, failed, timed
    /// out, circuit open): the score then rests on what is left. Absent when all answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models_unavailable: Vec<String>,
    /// The event is one of the systematic sample every model scores whatever the checks
    /// found (`ensemble.sample_every`; every event when models are asked about all):
    /// drift monitoring reads these, an unbiased sample. Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub models_sampled: bool,
    pub impossible_travel_detected: bool,
    pub unusual_time_detected: bool,
    pub unusual_volume_detected: bool,
    pub unusual_resources_detected: bool,
    /// Composite behavioural deviation, `[0, 1]`.
    pub behavioral_deviation_score: f32,
    pub recommended_actions: Vec<String>,
    pub explanation: String,
    /// True while the user's baseline is still warming up.
    pub learning: bool,
    /// Every anomaly found, with confidence, contribution in points and the facts behind it.
    pub anomalies: Vec<Anomaly>,
    /// Earlier events whose anomalies joined this score (session compounding), oldest
    /// first: the alert rests on them too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cited_events: Vec<String>,
    /// The feature vector, when requested (`--features`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<FeatureVector>,
}

impl ThreatScore {
    /// Whether an anomaly of this type was found.
    pub fn has(&self, kind: AnomalyType) -> bool {
        self.anomalies.iter().any(|a| a.kind == kind)
    }
}
