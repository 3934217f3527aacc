//! Sigma rules in the service (`[sigma]`): log events posted to `/v1/detect/realtime` (any
//! JSON event that is not a user activity — Sysmon, Windows Security, EVTX as JSON, ECS…)
//! are matched by the native engine in each tenant's pipeline
//! ([`warden_engine::pipeline::RulesDetector`]), and each detection is stored as an alert of
//! type `rule_match` scored by the rule's level. `GET /v1/rules`
//! lists what loaded and what was skipped, with the reason.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use warden_sigma::ruleset::RuleSetBuilder;
use warden_sigma::{Mapping, RuleSet};

use crate::config::ConfigError;

/// `[sigma]` in the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigmaSection {
    /// Rule files or folders (searched for `.yml`/`.yaml`).
    pub rules: Vec<PathBuf>,
    /// A log-source mapping file replacing the built-in one (`warden rules mapping`).
    pub mapping: Option<PathBuf>,
}

/// The loaded rule set (each tenant's pipeline keeps its own correlation state).
pub struct ServiceRules {
    pub set: Arc<RuleSet>,
    pub loaded_at: String,
    /// The configured files and folders, to show rule files relative to them.
    roots: Vec<PathBuf>,
}

/// A rule file as shown to API callers: relative to the configured folder it came from
/// (`windows/process_creation/x.yml`), never the server's own paths.
fn shown(file: &std::path::Path, roots: &[PathBuf]) -> String {
    for root in roots {
        if let Ok(rest) = file.strip_prefix(root) {
            let base = root.file_name().map(std::path::Path::new);
            return match (base, rest.as_os_str().is_empty()) {
                (Some(b), false) => b.join(rest).display().to_string(),
                (Some(b), true) => b.display().to_string(),
                (None, _) => rest.display().to_string(),
            };
        }
    }
    file.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

impl ServiceRules {
    /// Loads `[sigma]`; `None` when no rules are configured. Rules that do not load are
    /// skipped and reported (`GET /v1/rules`); a folder that does not exist is an error.
    pub fn load(cfg: &SigmaSection) -> Result<Option<ServiceRules>, ConfigError> {
        if cfg.rules.is_empty() {
            return Ok(None);
        }
        let bad = |key: &str, reason: String| ConfigError::Invalid {
            key: key.into(),
            reason,
        };
        let mapping = match &cfg.mapping {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| bad("sigma.mapping", format!("{}: {e}", p.display())))?;
                Mapping::parse(&text)
                    .map_err(|e| bad("sigma.mapping", format!("{}: {e}", p.display())))?
            }
            None => Mapping::builtin(),
        };
        let mut b = RuleSetBuilder::new(mapping);
        for p in &cfg.rules {
            if !p.exists() {
                return Err(bad(
                    "sigma.rules",
                    format!("{} does not exist", p.display()),
                ));
            }
            b.add_path(p);
        }
        Ok(Some(ServiceRules {
            set: Arc::new(b.build()),
            loaded_at: warden_outputs::now_rfc3339(),
            roots: cfg.rules.clone(),
        }))
    }

    /// `GET /v1/rules`: counts, skipped rules with reasons, and a page of the loaded rules
    /// whose title, id or tags contain `q`.
    pub fn describe(&self, q: Option<&str>, limit: usize, offset: usize) -> Value {
        let set = &self.set;
        let q = q.map(str::to_lowercase);
        let mut by_level: BTreeMap<&str, usize> = BTreeMap::new();
        let mut matching = Vec::new();
        for r in set.rules().iter().filter(|r| !r.hidden) {
            *by_level.entry(r.meta.level.as_str()).or_default() += 1;
            let hit = q.as_deref().is_none_or(|q| {
                r.meta.title.to_lowercase().contains(q)
                    || r.meta
                        .id
                        .as_deref()
                        .is_some_and(|i| i.to_lowercase().contains(q))
                    || r.meta.tags.iter().any(|t| t.to_lowercase().contains(q))
            });
            if hit {
                matching.push(r);
            }
        }
        let rules: Vec<Value> = matching
            .iter()
            .skip(offset)
            .take(limit)
            .map(|r| {
                json!({
                    "id": r.meta.id,
                    "title": r.meta.title,
                    "level": r.meta.level.as_str(),
                    "status": r.meta.status,
                    "tags": r.meta.tags,
                    "logsource": {"product": r.logsource.product, "category": r.logsource.category, "service": r.logsource.service},
                    "correlation": r.correlation,
                    "file": r.meta.file.as_deref().map(|f| shown(f, &self.roots)),
                    "notes": r.notes,
                })
            })
            .collect();
        let skipped: Vec<Value> = set
            .skipped()
            .iter()
            .map(|s| {
                let file = s.file.as_deref().map(|f| shown(f, &self.roots));
                // The reason names the file too: as shown, not as the server has it.
                let mut reason = s.error.to_string();
                if let (Some(full), Some(short)) = (&s.file, &file) {
                    reason = reason.replace(&full.display().to_string(), short);
                }
                json!({
                    "file": file,
                    "rule_id": s.id,
                    "title": s.title,
                    "reason": reason,
                })
            })
            .collect();
        json!({
            "loaded": set.detection_rules(),
            "correlations": set.correlations().len(),
            "files": set.files(),
            "loaded_at": self.loaded_at,
            "by_level": by_level,
            "skipped": skipped,
            "total": matching.len(),
            "offset": offset,
            "rules": rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_shown_relative_to_their_configured_folder() {
        let roots = [
            PathBuf::from("/opt/warden/rules/windows"),
            PathBuf::from("/srv/one.yml"),
        ];
        let p = |s: &str| std::path::PathBuf::from(s);
        assert_eq!(
            shown(&p("/opt/warden/rules/windows/proc/x.yml"), &roots),
            "windows/proc/x.yml"
        );
        assert_eq!(shown(&p("/srv/one.yml"), &roots), "one.yml");
        assert_eq!(shown(&p("/elsewhere/y.yml"), &roots), "y.yml");
    }
}
