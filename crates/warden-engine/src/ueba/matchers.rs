//! The configuration's name lists (sensitive resources, automation user agents), compiled
//! once into case-insensitive multi-pattern matchers: checked on every event, they must not
//! cost a scan per pattern.

use crate::{ConfigError, UebaConfig};
use aho_corasick::AhoCorasick;

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
