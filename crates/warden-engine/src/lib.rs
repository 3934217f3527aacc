//! Warden's detection engine.
//!
//! - [`ueba`]: behavioural detection with per-user baselines, eight anomaly checks, a
//!   16-feature vector and a transparent 0–100 score with explanations; with models, an
//!   ensemble (isolation forest, sequence autoencoder, boosted trees) blended into it.
//! - [`pipeline`]: one pipeline per tenant: typed records through every detector into
//!   verdicts and alerts of one type ([`warden_event::Alert`]).
//! - [`alerts`]: detector outputs (Sigma detections, network flows) as alerts.
//! - [`config`]: every threshold and weight, with documented defaults.
//! - [`sigma`]: Sigma rules as a detector: rule and correlation matches on a stream of
//!   log documents, as alerts carrying ATT&CK tags and the fields that matched.
//! - [`models`]: the active model of a detection, swapped atomically while in use.
//! - [`eval`]: scoring detections against labels (detection rate per attack kind, false
//!   positives, hard negatives), so users can measure their own tuning.
//!
//! ```
//! use warden_engine::{UebaConfig, ueba::UebaEngine};
//! use warden_event::{ActivityType, Timestamp, UserActivity};
//! let mut engine = UebaEngine::new(UebaConfig::default()).unwrap();
//! let a = UserActivity::new("alice", ActivityType::Login, Timestamp::parse_rfc3339("2026-04-02T09:00:00Z").unwrap());
//! let s = engine.score(&a, false);
//! assert_eq!(s.user_id, "alice");
//! assert!(s.learning); // first event: no baseline yet
//! ```

pub mod alerts;
pub mod config;
pub mod eval;
pub mod models;
pub mod network;
pub mod payload;
pub mod pipeline;
pub mod sigma;
pub mod ueba;

pub use config::{ConfigError, UebaConfig};
