//! `warden config default|check`.

use crate::cli::ConfigCommand;
use crate::config_file::WardenConfig;
use anyhow::Result;

pub fn run(cmd: &ConfigCommand) -> Result<()> {
    let cfg = match cmd {
        ConfigCommand::Default => WardenConfig::default(),
        ConfigCommand::Check { file } => WardenConfig::load(Some(file))?,
    };
    print!("{}", cfg.to_toml()?);
    Ok(())
}
