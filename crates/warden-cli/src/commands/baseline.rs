//! `warden baseline build|show`.

use crate::cli::{BaselineCommand, InputArgs};
use crate::config_file::WardenConfig;
use crate::{pipeline, summary};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::Instant;
use warden_engine::ueba::UebaEngine;
use warden_store::{RunTotals, Store};

pub fn run(cmd: &BaselineCommand) -> Result<()> {
    match cmd {
        BaselineCommand::Build { input, store } => build(input, store),
        BaselineCommand::Show { user, store } => show(user, store),
    }
}

fn build(input: &InputArgs, path: &Path) -> Result<()> {
    let cfg = WardenConfig::load(input.config.as_deref())?;
    let mut store = Store::open(path)?;
    let (users, population) = store.load_baselines()?;
    let mut engine = UebaEngine::with_state(cfg.ueba.clone(), users, population)?;
    let run_id = store.begin_run("baseline build", &input.inputs)?;
    let started = Instant::now();
    let mut tally = summary::Tally::default();
    let totals = pipeline::read_all(input, &cfg, |a| {
        let a = &a;
        // Scored as in detection, so that anything alerting in history stays out of the
        // baseline; nothing is written as an alert.
        let s = engine.score(a, false);
        tally.add(&s, warden_event::ThreatLevel::High);
        Ok(())
    })?;
    let saved = store.save_baselines(engine.users(), engine.population())?;
    store.finish_run(
        run_id,
        RunTotals {
            events: totals.records,
            parse_errors: totals.parse_errors,
            alerts: 0,
        },
    )?;
    summary::print(
        &summary::RunFacts::new("warden baseline build", &totals, started.elapsed(), &engine),
        &tally,
        warden_event::ThreatLevel::High,
    );
    eprintln!("store {}: {saved} baselines saved", path.display());
    Ok(())
}

fn show(user: &str, path: &Path) -> Result<()> {
    if !path.exists() {
        bail!(
            "store {} does not exist; build it with `warden baseline build --store {}`",
            path.display(),
            path.display()
        );
    }
    let store = Store::open(path)?;
    let Some(state) = store.baseline(user)? else {
        bail!("no baseline for user `{user}` in {}", path.display());
    };
    let view = warden_engine::ueba::view::profile_view(user, &state);
    crate::out!(
        "{}",
        serde_json::to_string_pretty(&view).context("cannot render baseline")?
    )?;
    Ok(())
}
