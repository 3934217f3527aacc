//! `[ingest]`, the section the CLI's `warden.toml` and the service's configuration share:
//! the longest record accepted and the field aliases of incoming events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{FieldAliases, ReaderOptions};

/// Smallest `max_line_bytes` accepted.
pub const MIN_LINE_BYTES: usize = 256;

/// `[ingest]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Longest accepted record (bytes); longer ones are reported and skipped. (The service
    /// bounds records by its body limit as well.)
    pub max_line_bytes: usize,
    /// Extra input names per schema field, e.g. `user_id = ["actor", "login"]`.
    pub aliases: BTreeMap<String, Vec<String>>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_line_bytes: ReaderOptions::default().max_line_bytes,
            aliases: BTreeMap::new(),
        }
    }
}

/// A problem in `[ingest]`, naming the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("ingest.{key}: {reason}")]
pub struct IngestConfigError {
    pub key: &'static str,
    pub reason: String,
}

impl IngestConfig {
    /// Checks the limit and the aliases.
    pub fn validate(&self) -> Result<(), IngestConfigError> {
        if self.max_line_bytes < MIN_LINE_BYTES {
            return Err(IngestConfigError {
                key: "max_line_bytes",
                reason: format!("must be at least {MIN_LINE_BYTES}"),
            });
        }
        self.field_aliases().map(|_| ())
    }

    /// The built-in aliases with the configured ones added.
    pub fn field_aliases(&self) -> Result<FieldAliases, IngestConfigError> {
        FieldAliases::default()
            .with_user_aliases(self.aliases.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
            .map_err(|reason| IngestConfigError {
                key: "aliases",
                reason,
            })
    }

    pub fn reader_options(&self) -> ReaderOptions {
        ReaderOptions {
            max_line_bytes: self.max_line_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_key() {
        let mut c = IngestConfig::default();
        assert!(c.validate().is_ok());
        c.aliases.insert("no_such_field".into(), vec!["x".into()]);
        let e = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.starts_with("ingest.aliases: ") && e.contains("no_such_field"),
            "{e}"
        );
        let c = IngestConfig {
            max_line_bytes: 10,
            ..IngestConfig::default()
        };
        let e = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("ingest.max_line_bytes"), "{e}");
    }
}
