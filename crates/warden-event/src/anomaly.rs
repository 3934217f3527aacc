//! Anomaly types and one detected anomaly with its confidence and explanation.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The behavioural anomaly types Warden reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyType {
    ImpossibleTravel,
    UnusualTime,
    UnusualVolume,
    UnusualResources,
    NewDevice,
    NewLocation,
    FailedLoginBurst,
    BehavioralDeviation,
    /// The machine-learning models (forest, sequence autoencoder, trees) agree the event
    /// is unusual.
    ModelAnomaly,
    /// A detection rule (Sigma) matched a log event.
    RuleMatch,
    /// A network-flow model found a flow anomalous.
    NetworkAnomaly,
    /// An entity-graph finder saw a path or pattern (a new logon edge, remote execution,
    /// a privilege gained, a tactic reached).
    GraphPattern,
    /// Payload analysis found a command line or script dangerous (its patterns, decoded
    /// layers and, when it ran in the sandbox, its behaviour).
    MaliciousCommand,
}

impl AnomalyType {
    pub const ALL: [AnomalyType; 13] = [
        Self::ImpossibleTravel,
        Self::UnusualTime,
        Self::UnusualVolume,
        Self::UnusualResources,
        Self::NewDevice,
        Self::NewLocation,
        Self::FailedLoginBurst,
        Self::BehavioralDeviation,
        Self::ModelAnomaly,
        Self::RuleMatch,
        Self::NetworkAnomaly,
        Self::GraphPattern,
        Self::MaliciousCommand,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImpossibleTravel => "impossible_travel",
            Self::UnusualTime => "unusual_time",
            Self::UnusualVolume => "unusual_volume",
            Self::UnusualResources => "unusual_resources",
            Self::NewDevice => "new_device",
            Self::NewLocation => "new_location",
            Self::FailedLoginBurst => "failed_login_burst",
            Self::BehavioralDeviation => "behavioral_deviation",
            Self::ModelAnomaly => "model_anomaly",
            Self::RuleMatch => "rule_match",
            Self::NetworkAnomaly => "network_anomaly",
            Self::GraphPattern => "graph_pattern",
            Self::MaliciousCommand => "malicious_command",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the check needs a learned baseline (and so is damped while a user is learning).
    pub fn needs_baseline(self) -> bool {
        !matches!(
            self,
            Self::ImpossibleTravel
                | Self::FailedLoginBurst
                | Self::RuleMatch
                | Self::NetworkAnomaly
                | Self::GraphPattern
                | Self::MaliciousCommand
        )
    }
}

impl fmt::Display for AnomalyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One anomaly found in one activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    #[serde(rename = "type")]
    pub kind: AnomalyType,
    /// How sure the check is, in `[0, 1]`.
    pub confidence: f32,
    /// Points this anomaly adds to the threat score, after combination (sums to the score).
    pub contribution: f32,
    /// The concrete facts, in a sentence an analyst can act on.
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in AnomalyType::ALL {
            assert_eq!(AnomalyType::parse(t.as_str()), Some(t));
        }
        assert_eq!(AnomalyType::parse("nope"), None);
    }
}
