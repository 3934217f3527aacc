//! One verdict from the views: the learned model, the sandbox's behaviour (when a run was
//! asked for) and the signatures, weighted 40/35/25 by default; a view that is absent gives
//! its weight to the others in proportion. With a model the verdict is never below the
//! model's own score (`model_floor`): the other views add evidence where they hold more, but
//! a signature that did not fire is not evidence that a text is safe. The score maps to a
//! level (the thresholds every Warden alert uses) and to an action.

use serde::{Deserialize, Serialize};
use warden_event::{LevelThresholds, ThreatLevel};

/// Weights of the three views (any non-negative numbers; they are normalised).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ViewWeights {
    pub model: f32,
    pub dynamic: f32,
    pub signatures: f32,
}

impl Default for ViewWeights {
    fn default() -> Self {
        ViewWeights {
            model: 40.0,
            dynamic: 35.0,
            signatures: 25.0,
        }
    }
}

/// Score at or above which the action is QUARANTINE, and BLOCK.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionThresholds {
    pub quarantine: f32,
    pub block: f32,
}

impl Default for ActionThresholds {
    fn default() -> Self {
        ActionThresholds {
            quarantine: 50.0,
            block: 80.0,
        }
    }
}

/// What to do with the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Allow,
    Quarantine,
    Block,
}

/// The verdict configuration (`[payload]` in the configuration file).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerdictConfig {
    pub weights: ViewWeights,
    pub actions: ActionThresholds,
    pub levels: LevelThresholds,
    /// The verdict is at least the model's score. Without it a text the model finds 99 %
    /// malicious but no signature names scores 61 and is never blocked.
    pub model_floor: bool,
}

impl Default for VerdictConfig {
    fn default() -> Self {
        VerdictConfig {
            weights: ViewWeights::default(),
            actions: ActionThresholds::default(),
            levels: LevelThresholds::default(),
            model_floor: true,
        }
    }
}

impl VerdictConfig {
    pub fn validate(&self) -> Result<(), String> {
        let w = self.weights;
        if [w.model, w.dynamic, w.signatures]
            .iter()
            .any(|x| !x.is_finite() || *x < 0.0)
            || w.model + w.signatures <= 0.0
        {
            return Err("payload view weights must be ≥ 0, with model + signatures > 0".into());
        }
        let a = self.actions;
        if !(0.0 < a.quarantine && a.quarantine <= a.block && a.block <= 100.0) {
            return Err(format!(
                "payload action thresholds must satisfy 0 < quarantine ≤ block ≤ 100 (got {} and {})",
                a.quarantine, a.block
            ));
        }
        self.levels.validate()
    }

    /// Combines the view scores (each 0–100, `None` when absent) into one 0–100 score.
    pub fn combine(&self, model: Option<f32>, dynamic: Option<f32>, signatures: f32) -> f32 {
        let w = self.weights;
        let parts = [
            (model, w.model),
            (dynamic, w.dynamic),
            (Some(signatures), w.signatures),
        ];
        let total: f32 = parts.iter().filter(|p| p.0.is_some()).map(|p| p.1).sum();
        if total <= 0.0 {
            return signatures.clamp(0.0, 100.0);
        }
        let s: f32 = parts
            .iter()
            .filter_map(|(v, wt)| v.map(|v| v * wt))
            .sum::<f32>()
            / total;
        let floor = model.filter(|_| self.model_floor).unwrap_or(0.0);
        s.max(floor).clamp(0.0, 100.0)
    }

    pub fn level(&self, score: f32) -> ThreatLevel {
        ThreatLevel::from_score(score, &self.levels)
    }

    pub fn action(&self, score: f32) -> Action {
        if score >= self.actions.block {
            Action::Block
        } else if score >= self.actions.quarantine {
            Action::Quarantine
        } else {
            Action::Allow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_views_share_their_weight() {
        let c = VerdictConfig {
            model_floor: false,
            ..VerdictConfig::default()
        };
        assert!((c.combine(Some(100.0), Some(100.0), 100.0) - 100.0).abs() < 1e-4);
        // Without the sandbox: 40/65 model, 25/65 signatures.
        let s = c.combine(Some(65.0), None, 0.0);
        assert!((s - 40.0).abs() < 1e-3, "{s}");
        // Signatures alone.
        assert!((c.combine(None, None, 70.0) - 70.0).abs() < 1e-4);
    }

    #[test]
    fn the_model_is_a_floor_the_other_views_raise() {
        let c = VerdictConfig::default();
        // No signature is no evidence of safety: the model's 99 stands (and blocks).
        assert_eq!(c.combine(Some(99.0), None, 0.0), 99.0);
        assert_eq!(c.action(c.combine(Some(99.0), None, 0.0)), Action::Block);
        // Signatures that say more raise it, in their weighted share.
        let s = c.combine(Some(40.0), None, 90.0);
        assert!((s - (0.4 * 40.0 + 0.25 * 90.0) / 0.65).abs() < 1e-3, "{s}");
        // So does the sandbox; without a model the views are weighted as before.
        assert!(c.combine(Some(20.0), Some(90.0), 0.0) > 20.0);
        assert!((c.combine(None, None, 70.0) - 70.0).abs() < 1e-4);
    }

    #[test]
    fn actions_and_validation() {
        let c = VerdictConfig::default();
        assert_eq!(c.action(10.0), Action::Allow);
        assert_eq!(c.action(50.0), Action::Quarantine);
        assert_eq!(c.action(95.0), Action::Block);
        let mut bad = c;
        bad.actions.block = 10.0;
        assert!(bad.validate().is_err());
        bad = c;
        bad.weights.model = -1.0;
        assert!(bad.validate().is_err());
        assert!(c.validate().is_ok());
    }
}
