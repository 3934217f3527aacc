//! Warden's event model: the types every other crate speaks.
//!
//! - [`UserActivity`]: one user action (login, download, …) in the UserActivity schema.
//! - [`Timestamp`]: milliseconds since the Unix epoch, UTC.
//! - [`ThreatLevel`], [`AnomalyType`], [`Anomaly`]: the vocabulary of findings.
//! - [`ThreatScore`]: the scored, explained output for one activity (the output contract).
//! - [`flow`]: network flows as typed records (formats, one raw flow, its columns).
//! - [`auth`]: authentication events read from system logs (sshd, sudo, su, PAM…).
//! - [`winlog`]: the header of a Windows event in every JSON shape.
//! - [`Alert`]: the one alert every detector raises and every consumer reads, with its
//!   entities, evidence and the detector's own detail; [`bound`] keeps it small whatever
//!   the event held.
//!
//! This crate does no I/O and knows nothing of parsing formats or detectors.
//!
//! ```
//! use warden_event::{ThreatLevel, Timestamp};
//! let t = Timestamp::parse_rfc3339("2026-04-02T01:58:06Z").unwrap();
//! assert_eq!(t.to_rfc3339(), "2026-04-02T01:58:06Z");
//! assert_eq!(ThreatLevel::from_score(55.0, &Default::default()), ThreatLevel::High);
//! ```

mod activity;
mod alert;
mod anomaly;
pub mod auth;
pub mod bound;
pub mod flow;
mod level;
mod record;
mod score;
mod time;
pub mod winlog;

pub use activity::{ActivityType, UserActivity};
pub use alert::{
    Alert, AlertDetail, DEFAULT_TENANT, Detector, DetectorKind, Entity, EntityKind, EventRef,
    Evidence, EvidenceRole, FeatureShare, FlowFinding, GraphFinding, GraphStep, NetworkContext,
    NetworkFinding, PayloadFinding, RuleMatch, attack_from_tags, content_digest, content_hash,
};
pub use anomaly::{Anomaly, AnomalyType};
pub use level::{LevelThresholds, ThreatLevel};
pub use record::{FlowEvent, Input, LogEvent, Record};
pub use score::{FEATURE_NAMES, FeatureVector, ThreatScore};
pub use time::{Timestamp, epoch_seconds};
