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
    let p = &state.profile;
    let span = p
        .usual_span(0.02)
        .map(|(a, b)| format!("{a:02}:00-{b:02}:59 UTC"));
    let view = serde_json::json!({
        "user_id": user,
        "events": p.events,
        "active_days": p.active_days,
        "first_seen": p.first_seen.to_rfc3339(),
        "last_seen": p.last_seen.to_rfc3339(),
        "usual_hours": span,
        "hours_utc": p.hours,
        "weekdays": p.weekdays,
        "home": p.home,
        "home_utc_offset_hours": p.home_offset(),
        "known_locations": p.locations.len(),
        "known_countries": p.countries.len(),
        "known_devices": p.devices.len(),
        "known_user_agents": p.user_agents.len(),
        "known_resources": p.resources.len(),
        "known_networks": p.networks.len(),
        "volume_gb": { "mean": p.volume.mean, "std": p.volume.std(), "n": p.volume.n },
        "last_position": p.last_position.as_ref().map(|l| serde_json::json!({
            "at": l.at.to_rfc3339(), "location": l.location, "lat": l.lat, "lon": l.lon })),
        "memory_bytes": state.memory_bytes(),
    });
    crate::out!(
        "{}",
        serde_json::to_string_pretty(&view).context("cannot render baseline")?
    )?;
    Ok(())
}
