//! `warden detect`: score activity, write ThreatScores, summarise, evaluate, persist.

use crate::cli::DetectArgs;
use crate::config_file::WardenConfig;
use crate::{labels, pipeline, summary};
use anyhow::{Context, Result};
use std::io::{BufWriter, Write};
use std::time::Instant;
use warden_engine::eval::Evaluator;
use warden_engine::ueba::UebaEngine;
use warden_store::{RunTotals, Store};

/// Alerts are written to the store in batches of this many.
const STORE_BATCH: usize = 4096;

pub fn run(args: &DetectArgs) -> Result<()> {
    let cfg = WardenConfig::load(args.input.config.as_deref())?;
    let mut store = match &args.store {
        Some(p) => Some(Store::open(p)?),
        None => None,
    };
    let mut engine = match &store {
        Some(s) => {
            let (users, population) = s.load_baselines()?;
            UebaEngine::with_state(cfg.ueba.clone(), users, population)?
        }
        None => UebaEngine::new(cfg.ueba.clone())?,
    };
    let run_id = match &store {
        Some(s) => Some(s.begin_run("detect", &args.input.inputs)?),
        None => None,
    };
    let mut evaluator = match &args.labels {
        Some(p) => Some(Evaluator::new(labels::load(p)?)),
        None => None,
    };

    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut tally = summary::Tally::default();
    let mut pending = Vec::new();
    let mut stored = 0usize;
    let mut stdout_open = !args.quiet;
    let totals = pipeline::read_all(&args.input, &cfg, |a| {
        let s = engine.score(a, args.features);
        tally.add(&s, args.min_level);
        if let Some(ev) = evaluator.as_mut() {
            ev.observe(&s);
        }
        let alert = s.threat_level >= args.min_level;
        if stdout_open && (alert || args.all) {
            let written = serde_json::to_writer(&mut out, &s)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(e) = written {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    stdout_open = false; // e.g. `| head`: keep scoring, stop writing
                } else {
                    return Err(e).context("cannot write to stdout");
                }
            }
        }
        if let (Some(st), true) = (store.as_mut(), alert) {
            pending.push(s);
            if pending.len() >= STORE_BATCH {
                stored += st.save_alerts(run_id, &pending)?;
                pending.clear();
            }
        }
        Ok(())
    })?;
    if stdout_open {
        match out.flush() {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(e).context("cannot write to stdout");
            }
            _ => {}
        }
    }
    let elapsed = started.elapsed();

    if let Some(st) = store.as_mut() {
        stored += st.save_alerts(run_id, &pending)?;
        st.save_baselines(engine.users(), engine.population())?;
        if let Some(id) = run_id {
            st.finish_run(
                id,
                RunTotals {
                    events: totals.records,
                    parse_errors: totals.parse_errors,
                    alerts: stored as u64,
                },
            )?;
        }
    }
    summary::print(
        &summary::RunFacts {
            command: "warden detect",
            inputs: totals.inputs,
            events: totals.records,
            parse_errors: totals.parse_errors,
            elapsed,
            users: engine.user_count(),
            memory_bytes: engine.memory_bytes(),
            counters: engine.counters(),
        },
        &tally,
        args.min_level,
    );
    if let Some(p) = &args.store {
        eprintln!(
            "store {}: {} new alerts, {} baselines saved",
            p.display(),
            stored,
            engine.user_count()
        );
    }
    if let Some(ev) = &evaluator {
        let report = ev.report();
        summary::print_eval(&report);
        if let Some(path) = &args.metrics_out {
            let json = serde_json::to_string_pretty(&report)?;
            std::fs::write(path, json + "\n")
                .with_context(|| format!("cannot write metrics to {}", path.display()))?;
        }
    }
    Ok(())
}
