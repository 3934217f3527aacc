//! `warden.toml`: the configuration file — `[ingest]` and `[ueba]`, the sections the
//! service's configuration shares (`warden_ingest::IngestConfig`, `warden_engine::UebaConfig`).

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use warden_engine::UebaConfig;
use warden_ingest::{FieldAliases, IngestConfig, ReaderOptions};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WardenConfig {
    pub ingest: IngestConfig,
    pub ueba: UebaConfig,
    /// Payload analysis: view weights, action and level thresholds.
    pub payload: warden_payload::VerdictConfig,
    /// The sandbox for `warden analyze --sandbox`: limits, time, what is bound read-only.
    pub sandbox: warden_sandbox::SandboxConfig,
    /// `warden network`: the finders' thresholds (the service's `[network]` also has the
    /// pipeline's window).
    pub network: warden_engine::network::NetworkConfig,
    /// Kafka client properties for `warden worker` and `warden ship`, as every Kafka client
    /// names them (`bootstrap.servers`, `security.protocol`, `sasl.mechanism`,
    /// `sasl.username`, `sasl.password`, `ssl.ca.location`, …).
    pub kafka: std::collections::BTreeMap<String, String>,
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
        cfg.ingest.validate()?;
        cfg.payload.validate().map_err(anyhow::Error::msg)?;
        cfg.sandbox.validate().map_err(anyhow::Error::msg)?;
        cfg.network.validate().map_err(anyhow::Error::msg)?;
        Ok(cfg)
    }

    pub fn aliases(&self) -> Result<FieldAliases> {
        Ok(self.ingest.field_aliases()?)
    }

    pub fn reader_options(&self) -> ReaderOptions {
        self.ingest.reader_options()
    }

    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self).context("cannot render the configuration as TOML")
    }
}
