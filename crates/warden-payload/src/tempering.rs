//! Pattern weights tempered by the training texts. Each signature and dual-use capability has
//! a weight set by hand: how strongly it points at an attack. Some are also common in benign
//! text — `net localgroup`, `shutdown /s`, a dual-use program running a shell in a tutorial —
//! and the hand weight cannot know how common. Training counts, per pattern, the benign and
//! malicious texts it fired on; scoring then uses the share of malicious texts among them,
//! with the hand weight counted as [`PRIOR_TEXTS`] texts of evidence, and never more than the
//! hand weight. Data may lower a pattern (fewer false alarms where benign text carries it) but
//! never raise it, so a training set cannot make a pattern more alarming than its author did,
//! and a pattern it never saw keeps its weight.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Analysed, PatternFound};

/// How many texts of evidence the hand weight is worth.
pub const PRIOR_TEXTS: f32 = 5.0;
/// Most distinct patterns a model file may count (the analyser has about a hundred).
pub const MAX_PATTERNS: usize = 4096;

/// Benign and malicious training texts a pattern fired on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub benign: u32,
    pub malicious: u32,
}

/// Per pattern id, the training texts it fired on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatternCounts {
    pub by_id: BTreeMap<String, Seen>,
}

/// How the training texts changed a pattern's weight (shown with the pattern).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tempered {
    /// The weight before the training texts had their say.
    pub hand_weight: f32,
    pub benign: u32,
    pub malicious: u32,
}

impl PatternCounts {
    /// Counts, over `(pattern ids of a text, malicious?)` pairs, the texts each pattern
    /// fired on.
    pub fn count(texts: impl IntoIterator<Item = (Vec<String>, bool)>) -> PatternCounts {
        let mut by_id: BTreeMap<String, Seen> = BTreeMap::new();
        for (ids, malicious) in texts {
            for id in ids {
                if !by_id.contains_key(&id) && by_id.len() >= MAX_PATTERNS {
                    continue;
                }
                let seen = by_id.entry(id).or_default();
                if malicious {
                    seen.malicious = seen.malicious.saturating_add(1);
                } else {
                    seen.benign = seen.benign.saturating_add(1);
                }
            }
        }
        PatternCounts { by_id }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.by_id.len() > MAX_PATTERNS {
            return Err(format!(
                "{} pattern counts (at most {MAX_PATTERNS})",
                self.by_id.len()
            ));
        }
        Ok(())
    }

    /// Lowers each pattern's weight to what the training texts support, noting by how much.
    pub fn temper(&self, patterns: &mut [PatternFound]) {
        for p in patterns {
            let Some(seen) = self.by_id.get(&p.id) else {
                continue;
            };
            let w = tempered(p.weight, *seen);
            if w < p.weight {
                p.trained = Some(Tempered {
                    hand_weight: p.weight,
                    benign: seen.benign,
                    malicious: seen.malicious,
                });
                p.weight = w;
            }
        }
    }
}

/// The distinct ids of the signatures and dual-use capabilities found on a text (what
/// [`PatternCounts::count`] counts).
pub fn pattern_ids(a: &Analysed) -> Vec<String> {
    let mut ids: Vec<String> = a.signatures.iter().map(|h| h.id.to_string()).collect();
    ids.extend(a.dual_use.iter().map(crate::dual_use_id));
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The share of malicious texts among those the pattern fired on, the hand weight counted as
/// [`PRIOR_TEXTS`] texts, capped at the hand weight.
pub fn tempered(hand: f32, seen: Seen) -> f32 {
    let malicious = seen.malicious as f32;
    let all = malicious + seen.benign as f32;
    let share = (malicious + PRIOR_TEXTS * hand) / (all + PRIOR_TEXTS);
    share.min(hand).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Analyzer, VerdictConfig};

    #[test]
    fn data_only_lowers_and_little_data_moves_little() {
        let seen = |benign, malicious| Seen { benign, malicious };
        // Mostly benign: pulled far down.
        let w = tempered(0.55, seen(821, 52));
        assert!(w < 0.1, "{w}");
        // Never raised above the hand weight, however malicious its texts.
        assert_eq!(tempered(0.3, seen(0, 500)), 0.3);
        // One benign text barely moves it; unseen keeps it.
        assert!((tempered(0.6, seen(1, 0)) - 0.5).abs() < 1e-6);
        assert_eq!(tempered(0.6, seen(0, 0)), 0.6);
        // More benign evidence, lower weight.
        assert!(tempered(0.6, seen(40, 10)) < tempered(0.6, seen(4, 1)));
    }

    #[test]
    fn counts_come_from_examinations_and_temper_the_verdict() {
        let plain = Analyzer::new(None, VerdictConfig::default());
        let benign: Vec<_> = (0..40)
            .map(|i| plain.examine(&format!("shutdown /r /t {i}"), None))
            .collect();
        let malicious = plain.examine("vssadmin delete shadows /all /quiet", None);
        let counts = PatternCounts::count(
            benign
                .iter()
                .map(|a| (pattern_ids(a), false))
                .chain([(pattern_ids(&malicious), true)]),
        );
        let shutdown = counts.by_id.get("shutdown").copied().unwrap_or_default();
        assert_eq!(shutdown.benign, 40);
        assert_eq!(shutdown.malicious, 0);
        let mut v = plain.verdict(plain.examine("shutdown /s /t 0", None), None);
        let before = v
            .patterns
            .iter()
            .find(|p| p.id == "shutdown")
            .map(|p| p.weight);
        counts.temper(&mut v.patterns);
        let p = v.patterns.iter().find(|p| p.id == "shutdown");
        let (Some(before), Some(p)) = (before, p) else {
            panic!("shutdown not found: {:?}", v.patterns);
        };
        assert!(p.weight < before / 5.0, "{} from {before}", p.weight);
        assert_eq!(p.trained.map(|t| t.benign), Some(40));
    }
}
