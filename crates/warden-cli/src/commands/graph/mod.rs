//! `warden graph`: build the entity graph from files, hunt it, query and export it.
//!
//! - `build`: read, build, save (with what was learned);
//! - `hunt`: read, run the finders in one pass, write the findings as a timeline
//!   (table, JSON Lines of Warden's one alert, CSV) and send them to outputs;
//! - `stats`, `path`, `neighbours`, `new-edges`, `export`: questions to a saved graph.

mod input;
mod query;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use warden_event::{Alert, AlertDetail, ThreatLevel, Timestamp};
use warden_graph::finders::Profile;
use warden_graph::{EntityGraph, HuntConfig, Hunter, snapshot};

use crate::cli::{GraphBuildArgs, GraphCommand, GraphHuntArgs, HuntFormat};
use crate::sending::Sender;

pub fn run(cmd: &GraphCommand) -> Result<()> {
    match cmd {
        GraphCommand::Build(a) => build(a),
        GraphCommand::Hunt(a) => hunt(a),
        GraphCommand::Stats(a) => query::stats(a),
        GraphCommand::Path(a) => query::path(a),
        GraphCommand::Neighbours(a) => query::neighbours(a),
        GraphCommand::NewEdges(a) => query::new_edges(a),
        GraphCommand::Export(a) => query::export(a),
    }
}

/// Reads a graph saved by `build` or `hunt --save`.
pub fn load(path: &Path) -> Result<(EntityGraph, Profile)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    snapshot::load(&bytes).with_context(|| format!("{}", path.display()))
}

fn save(path: &Path, graph: &EntityGraph, profile: &Profile) -> Result<()> {
    let bytes = snapshot::save(graph, profile)?;
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

fn build(args: &GraphBuildArgs) -> Result<()> {
    let started = Instant::now();
    // Learning only: every event teaches the graph, none is judged.
    let mut hunter = Hunter::new(HuntConfig {
        learn_until: Some(Timestamp(i64::MAX)),
        ..HuntConfig::default()
    });
    let mut graph_time = Duration::ZERO;
    let summary = input::stream(&args.input, None, &mut |e| {
        let t = Instant::now();
        hunter.observe(&e);
        graph_time += t.elapsed();
    })?;
    let total = started.elapsed();
    let read_time = total.saturating_sub(graph_time);
    let build_time = graph_time;
    save(&args.output, &hunter.graph, &hunter.profile)?;
    if !args.input.quiet {
        eprintln!("{}", summary.line("", read_time, build_time, "built"));
        query::print_counts(&hunter.graph);
        eprintln!("saved to {}", args.output.display());
    }
    Ok(())
}

fn hunt_config(args: &GraphHuntArgs) -> Result<HuntConfig> {
    if !(args.learn_days.is_finite() && args.learn_days >= 0.0) {
        bail!("--learn-days must be a number of days, 0 or more");
    }
    let mut config = HuntConfig {
        min_level: args.min_level,
        learn_for_ms: (args.learn_days * 86_400_000.0) as i64,
        ..HuntConfig::default()
    };
    if let Some(t) = &args.learn_until {
        config.learn_until = Some(
            Timestamp::parse_rfc3339(t)
                .with_context(|| format!("--learn-until {t:?} is not an RFC 3339 time"))?,
        );
    }
    Ok(config)
}

fn hunt(args: &GraphHuntArgs) -> Result<()> {
    let started = Instant::now();
    let config = hunt_config(args)?;
    let sender = Sender::start(&args.send)?;
    let mut hunter = match &args.graph {
        Some(p) => {
            let (g, profile) = load(p)?;
            Hunter::with_graph(config, g, profile)
        }
        None => Hunter::new(config),
    };
    let rules = if args.rules.rules.is_empty() {
        None
    } else {
        Some(crate::commands::rules::load_rules(&args.rules, &[])?)
    };
    // The latest version of each finding (a finding is reported again when it rises or
    // grows).
    let mut latest: HashMap<String, usize> = HashMap::new();
    let mut findings: Vec<Alert> = Vec::new();
    let mut graph_time = Duration::ZERO;
    let summary = input::stream(&args.input, rules.as_ref(), &mut |e| {
        let t = Instant::now();
        let reported = hunter.observe(&e);
        graph_time += t.elapsed();
        for a in reported {
            if let Some(s) = &sender {
                s.send(a.clone());
            }
            match latest.get(&a.key) {
                Some(&i) => findings[i] = a,
                None => {
                    latest.insert(a.key.clone(), findings.len());
                    findings.push(a);
                }
            }
        }
    })?;
    let read_time = started.elapsed().saturating_sub(graph_time);
    findings.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.key.cmp(&b.key))
    });
    write_output(args, &findings)?;
    if let Some(p) = &args.save {
        save(p, &hunter.graph, &hunter.profile)?;
    }
    if let Some(s) = sender {
        s.finish();
    }
    if !args.input.quiet {
        let learned = hunter
            .learning_until()
            .map_or("-".into(), |t| t.to_rfc3339());
        let note = format!("learned until {learned}; ");
        eprintln!("{}", summary.line(&note, read_time, graph_time, "hunted"));
        let count = |l: ThreatLevel| findings.iter().filter(|f| f.level == l).count();
        eprintln!(
            "{} findings: {} CRITICAL, {} HIGH, {} MEDIUM, {} LOW",
            findings.len(),
            count(ThreatLevel::Critical),
            count(ThreatLevel::High),
            count(ThreatLevel::Medium),
            count(ThreatLevel::Low)
        );
        query::print_counts(&hunter.graph);
    }
    Ok(())
}

/// The findings, in the format asked (a table on a terminal, JSON Lines otherwise), to the
/// file or stdout.
fn write_output(args: &GraphHuntArgs, findings: &[Alert]) -> Result<()> {
    let format = args.format.unwrap_or(
        if args.output.is_none() && std::io::stdout().is_terminal() {
            HuntFormat::Table
        } else {
            HuntFormat::Jsonl
        },
    );
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    write_findings(findings, format, &mut out)?;
    out.flush().context("cannot write the findings")
}

/// The hosts of a finding, in the order its steps reach them.
fn path_text(a: &Alert) -> String {
    let AlertDetail::Graph(g) = &a.detail else {
        return String::new();
    };
    let mut hosts: Vec<&str> = Vec::new();
    for s in &g.steps {
        for h in [&s.from, &s.to].into_iter().flatten() {
            if !hosts.contains(&h.as_str()) {
                hosts.push(h);
            }
        }
    }
    hosts.join(" → ")
}

fn write_findings(findings: &[Alert], format: HuntFormat, out: &mut dyn Write) -> Result<()> {
    let err = "cannot write the findings";
    match format {
        HuntFormat::Jsonl => {
            for a in findings {
                serde_json::to_writer(&mut *out, a).context(err)?;
                out.write_all(b"\n").context(err)?;
            }
        }
        HuntFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record([
                "time",
                "level",
                "score",
                "finder",
                "subject",
                "path",
                "attack",
                "evidence",
                "explanation",
            ])
            .context(err)?;
            for a in findings {
                w.write_record(warden_outputs::spreadsheet::record([
                    a.timestamp.as_str(),
                    a.level.as_str(),
                    &a.score.to_string(),
                    &a.detector.id,
                    &a.subject,
                    &path_text(a),
                    &a.attack.join(";"),
                    &a.evidence.len().to_string(),
                    &a.explanation,
                ]))
                .context(err)?;
            }
            w.flush().context(err)?;
        }
        HuntFormat::Table => {
            if findings.is_empty() {
                return Ok(());
            }
            let mut t = comfy_table::Table::new();
            t.load_style(comfy_table::presets::UTF8_BORDERS_ONLY);
            t.set_header([
                "time",
                "level",
                "score",
                "finder",
                "subject",
                "path",
                "explanation",
            ]);
            for a in findings {
                let mut e = a.explanation.clone();
                if e.chars().count() > 160 {
                    e = e.chars().take(157).collect::<String>() + "...";
                }
                t.add_row([
                    a.timestamp.clone(),
                    a.level.as_str().to_owned(),
                    format!("{:.1}", a.score),
                    a.detector.id.clone(),
                    a.subject.clone(),
                    path_text(a),
                    e,
                ]);
            }
            writeln!(out, "{t}").context(err)?;
        }
    }
    Ok(())
}
