//! `warden.toml`: the configuration file (ingest aliases and limits, UEBA detection).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use warden_engine::UebaConfig;
use warden_ingest::{FieldAliases, ReaderOptions};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WardenConfig {
    pub ingest: IngestConfig,
    pub ueba: UebaConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Longest accepted record (bytes); longer ones are reported and skipped.
    pub max_line_bytes: usize,
    /// Extra input names per schema field, e.g. `user_id = ["actor", "login"]`.
    pub aliases: BTreeMap<String, Vec<String>>,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_line_bytes: ReaderOptions::default().max_line_bytes,
            aliases: BTreeMap::new(),
        }
    }
}

impl WardenConfig {
    /// Loads a file, or the defaults when `path` is `None`, and validates it.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let cfg: Self = match path {
            None => Self::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read configuration file {}", p.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("invalid configuration file {}", p.display()))?
            }
        };
        cfg.ueba.validate()?;
        if cfg.ingest.max_line_bytes < 256 {
            anyhow::bail!("ingest.max_line_bytes must be at least 256");
        }
        cfg.aliases()?;
        Ok(cfg)
    }

    pub fn aliases(&self) -> Result<FieldAliases> {
        FieldAliases::default()
            .with_user_aliases(
                self.ingest
                    .aliases
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_slice())),
            )
            .map_err(|e| anyhow::anyhow!("ingest.aliases: {e}"))
    }

    pub fn reader_options(&self) -> ReaderOptions {
        ReaderOptions {
            max_line_bytes: self.ingest.max_line_bytes,
        }
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).context("cannot render the configuration as TOML")
    }
}
