//! Threat levels and the score thresholds that separate them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Severity of a scored activity, from the 0–100 threat score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ThreatLevel {
    Low,
    Medium,
    High,
    Critical,
}

/// Lower bounds of MEDIUM, HIGH and CRITICAL (LOW is everything below MEDIUM).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LevelThresholds {
    pub medium: f32,
    pub high: f32,
    pub critical: f32,
}

impl Default for LevelThresholds {
    fn default() -> Self {
        Self {
            medium: 20.0,
            high: 50.0,
            critical: 80.0,
        }
    }
}

impl LevelThresholds {
    /// Checks the thresholds are ordered and inside 0–100.
    pub fn validate(&self) -> Result<(), String> {
        let ok = 0.0 < self.medium
            && self.medium < self.high
            && self.high < self.critical
            && self.critical <= 100.0;
        if ok {
            Ok(())
        } else {
            Err(format!(
                "level thresholds must satisfy 0 < medium < high < critical <= 100 \
                 (got medium={}, high={}, critical={})",
                self.medium, self.high, self.critical
            ))
        }
    }
}

impl ThreatLevel {
    pub const ALL: [ThreatLevel; 4] = [Self::Low, Self::Medium, Self::High, Self::Critical];

    pub fn from_score(score: f32, t: &LevelThresholds) -> Self {
        if score >= t.critical {
            Self::Critical
        } else if score >= t.high {
            Self::High
        } else if score >= t.medium {
            Self::Medium
        } else {
            Self::Low
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for ThreatLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ThreatLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "LOW" => Ok(Self::Low),
            "MEDIUM" => Ok(Self::Medium),
            "HIGH" => Ok(Self::High),
            "CRITICAL" => Ok(Self::Critical),
            other => Err(format!(
                "unknown threat level `{other}` (expected LOW, MEDIUM, HIGH or CRITICAL)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_follow_thresholds() {
        let t = LevelThresholds::default();
        assert_eq!(ThreatLevel::from_score(0.0, &t), ThreatLevel::Low);
        assert_eq!(ThreatLevel::from_score(19.99, &t), ThreatLevel::Low);
        assert_eq!(ThreatLevel::from_score(20.0, &t), ThreatLevel::Medium);
        assert_eq!(ThreatLevel::from_score(50.0, &t), ThreatLevel::High);
        assert_eq!(ThreatLevel::from_score(80.0, &t), ThreatLevel::Critical);
        assert_eq!(ThreatLevel::from_score(100.0, &t), ThreatLevel::Critical);
    }

    #[test]
    fn parse_and_order() {
        assert_eq!("high".parse::<ThreatLevel>().unwrap(), ThreatLevel::High);
        assert!("severe".parse::<ThreatLevel>().is_err());
        assert!(ThreatLevel::Critical > ThreatLevel::High);
    }

    #[test]
    fn thresholds_validate() {
        assert!(LevelThresholds::default().validate().is_ok());
        let bad = LevelThresholds {
            medium: 60.0,
            high: 50.0,
            critical: 80.0,
        };
        assert!(bad.validate().is_err());
    }
}
