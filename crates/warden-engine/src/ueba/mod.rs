//! Behavioural detection (UEBA): per-user baselines, the anomaly checks, the 16-feature
//! vector, and the transparent scoring that turns them into a ThreatScore.
//!
//! One event flows through [`UebaEngine::score`]:
//! 1. the user's state is found (or created) and short windows updated;
//! 2. every check in [`checks`] looks at the event against the baseline and reports findings
//!    (type, confidence, the facts) and fills its features;
//! 3. when models are configured, [`ensemble`] scores the feature vector and the user's
//!    window of recent events and adds their combined evidence as one more finding;
//! 4. [`scoring`] combines the findings into a 0–100 score and a level;
//! 5. [`explain`] writes the explanation, and the level's recommended actions are attached;
//! 6. the event is learned into the baseline only if it stayed below the quarantine level,
//!    so an attacker's behaviour never becomes "normal".

pub mod checks;
mod detector;
pub mod ensemble;
#[cfg(test)]
mod ensemble_tests;
pub mod explain;
mod matchers;
#[cfg(test)]
mod odd_hours_tests;
#[cfg(test)]
mod peer_session_tests;
pub mod scoring;
mod session;
mod snapshot;
mod sources;
#[cfg(test)]
mod tests;
pub mod view;
#[cfg(test)]
mod volume_tests;

pub use detector::{EngineCounters, UebaEngine};
pub use ensemble::{Ensemble, Member, ModelCounters, ModelVerdict, SequenceTracker};
pub use matchers::{MatchCache, Matchers};
pub use snapshot::{EngineSnapshot, EngineSnapshotV1};
pub use sources::{SourceTracker, SourceView};

use warden_event::{AnomalyType, FeatureVector, UserActivity};
use warden_models::baseline::{
    ActivityKeys, Population, RecentActivity, SessionNotes, TransferProfile, UserProfile,
};

use crate::UebaConfig;

/// What a check sees: the event, what is known about its user, and the configuration.
pub struct CheckContext<'a> {
    pub activity: &'a UserActivity,
    pub keys: &'a ActivityKeys,
    pub profile: &'a UserProfile,
    pub recent: &'a RecentActivity,
    /// The current session's moderate anomalies so far.
    pub session: &'a SessionNotes,
    /// Whether the current session was opened by a successful login or VPN connection.
    pub session_authenticated: bool,
    /// When the user had signed out, if a sign-in after it opened the current session.
    pub session_after_sign_out: Option<u32>,
    /// One of the user's own everyday resources used earlier in the current session (see
    /// [`UserState::session_work`](warden_models::baseline::UserState::session_work)).
    pub session_work: Option<u64>,
    pub transfers: &'a TransferProfile,
    pub population: &'a Population,
    pub config: &'a UebaConfig,
    /// Whether the resource matches the configured sensitive patterns.
    pub sensitive_resource: bool,
    /// Whether the user agent is a script or HTTP library (configured patterns).
    pub automation_agent: bool,
    /// Failures from this event's network across all accounts, within the failure window.
    pub source_window: SourceView,
    /// The same within the success-after-burst window.
    pub source_recent: SourceView,
    /// Event time, seconds since the epoch.
    pub secs: u32,
    /// `[0, 1]`: how complete the user's baseline is (1 = mature).
    pub maturity: f64,
}

/// One anomaly found by a check, before scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: AnomalyType,
    /// `[0, 1]`, before damping for an immature baseline.
    pub confidence: f64,
    pub detail: String,
    /// The earlier event this finding was carried from (session compounding), cited by id.
    pub cites: Option<String>,
}

impl Finding {
    pub fn new(kind: AnomalyType, confidence: f64, detail: String) -> Self {
        Self {
            kind,
            confidence: confidence.clamp(0.0, 1.0),
            detail,
            cites: None,
        }
    }
}

/// Clamps a feature into `[0, 1]` (NaN becomes 0).
pub(crate) fn unit(x: f64) -> f32 {
    if x.is_nan() {
        0.0
    } else {
        x.clamp(0.0, 1.0) as f32
    }
}

/// Feature positions in the vector (see `warden_event::FEATURE_NAMES`).
pub(crate) mod feat {
    pub const HOUR: usize = 0;
    pub const WEEKDAY: usize = 1;
    pub const LOCATION_NOVELTY: usize = 2;
    pub const LOCATION_RARITY: usize = 3;
    pub const TRAVEL_SPEED: usize = 4;
    pub const DISTANCE: usize = 5;
    pub const VOLUME: usize = 6;
    pub const DEVICE: usize = 7;
    pub const AGENT: usize = 8;
    pub const RESOURCE_NOVELTY: usize = 9;
    pub const RESOURCE_SENSITIVITY: usize = 10;
    pub const RESOURCE_RARITY: usize = 11;
    pub const FAILURES: usize = 12;
    pub const RATE: usize = 13;
    pub const NETWORK: usize = 14;
    pub const DURATION: usize = 15;
}

/// Composite behavioural deviation: the mean of the four most deviant features, so that
/// several behaviours deviating at once stand out even when no single check fires.
pub fn behavioral_deviation(f: &FeatureVector) -> f32 {
    let mut sorted = *f;
    sorted.sort_by(|a, b| b.total_cmp(a));
    sorted[..4].iter().sum::<f32>() / 4.0
}
