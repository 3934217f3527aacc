//! The configuration's name lists (sensitive resources, automation user agents), compiled
//! once into case-insensitive multi-pattern matchers: checked on every event, they must not
//! cost a scan per pattern.

use crate::{ConfigError, UebaConfig};
use aho_corasick::AhoCorasick;
use rustc_hash::FxHashMap;
use warden_event::UserActivity;
use warden_models::baseline::ActivityKeys;

/// Compiled matchers for the configured lists.
#[derive(Debug, Clone)]
pub struct Matchers {
    sensitive: Option<AhoCorasick>,
    automation: Option<AhoCorasick>,
}

fn compile(key: &str, patterns: &[String]) -> Result<Option<AhoCorasick>, ConfigError> {
    let patterns: Vec<&str> = patterns
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    if patterns.is_empty() {
        return Ok(None);
    }
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(patterns)
        .map(Some)
        .map_err(|e| ConfigError::Invalid(format!("ueba.{key}: {e}")))
}

impl Matchers {
    pub fn new(cfg: &UebaConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            sensitive: compile("resources.sensitive", &cfg.resources.sensitive)?,
            automation: compile("device.automation_agents", &cfg.device.automation_agents)?,
        })
    }

    /// Whether a resource name contains a sensitive pattern (ASCII case ignored).
    pub fn sensitive_resource(&self, name: &str) -> bool {
        self.sensitive.as_ref().is_some_and(|m| m.is_match(name))
    }

    /// Whether a user agent belongs to a script or HTTP library.
    pub fn automation_agent(&self, ua: &str) -> bool {
        self.automation.as_ref().is_some_and(|m| m.is_match(ua))
    }
}

/// Remembered verdicts per distinct value: user agents and resource names repeat across
/// millions of events, so each is matched once. Bounded: cleared when full.
#[derive(Debug, Clone, Default)]
pub struct MatchCache {
    agents: FxHashMap<u64, bool>,
    resources: FxHashMap<u64, bool>,
}

/// Distinct values remembered per list before the cache starts over.
const CACHE_CAP: usize = 65_536;

fn remember(
    map: &mut FxHashMap<u64, bool>,
    key: Option<u64>,
    text: Option<&str>,
    f: impl Fn(&str) -> bool,
) -> bool {
    let Some(text) = text else { return false };
    let Some(key) = key else { return f(text) };
    if let Some(v) = map.get(&key) {
        return *v;
    }
    if map.len() >= CACHE_CAP {
        map.clear();
    }
    let v = f(text);
    map.insert(key, v);
    v
}

impl MatchCache {
    /// `(sensitive resource, automation agent)` for one event.
    pub fn flags(&mut self, m: &Matchers, a: &UserActivity, keys: &ActivityKeys) -> (bool, bool) {
        let res = a.resource_accessed.as_deref().map(str::trim);
        let sensitive = remember(&mut self.resources, keys.resource, res, |r| {
            m.sensitive_resource(r)
        });
        let agent = remember(
            &mut self.agents,
            keys.user_agent,
            a.user_agent.as_deref(),
            |u| m.automation_agent(u),
        );
        (sensitive, agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_ignores_case_and_empty_patterns() {
        let mut cfg = UebaConfig::default();
        cfg.resources.sensitive = vec!["payroll".into(), "vault".into(), " ".into()];
        let m = Matchers::new(&cfg).unwrap();
        assert!(m.sensitive_resource("HR-Payroll-DB"));
        assert!(m.sensitive_resource("secrets-vault"));
        assert!(!m.sensitive_resource("wiki"));
        assert!(!m.sensitive_resource(""));
        assert!(m.automation_agent("python-requests/2.31.0"));
        assert!(m.automation_agent("CURL/8.1"));
        assert!(!m.automation_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"));
        cfg.resources.sensitive.clear();
        assert!(!Matchers::new(&cfg).unwrap().sensitive_resource("payroll"));
    }
}
