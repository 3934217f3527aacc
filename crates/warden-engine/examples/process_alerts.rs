//! The service's payload detector over a file of Windows events (one JSON document a line,
//! as `warden hunt` reads them): every process creation's command line scored with a
//! payload model, and the `payload` alerts counted against the file's labels — with the
//! prevalence count at its default and off, side by side.
//!
//! ```sh
//! warden train payload --input ../shared/data/commands/commands.jsonl.gz --out /tmp/payload.wpld
//! cargo run --release -p warden-engine --example process_alerts -- \
//!     ../shared/data/netgraph/events.jsonl.gz /tmp/payload.wpld ../shared/data/netgraph/labels.jsonl.gz
//! ```
//!
//! A labels file has `computer`, `record_id` and `label` per event (`attack…` is malicious).

use std::collections::{BTreeMap, HashSet};
use std::io::BufRead;
use std::sync::Arc;

use warden_engine::pipeline::{
    AnalyzerSource, DEFAULT_COMMON_AT, PayloadDetector, Pipeline, PipelineOptions, process_start,
};
use warden_event::{EventRef, Input, LogEvent, Record, Timestamp};
use warden_ingest::InputSource;
use warden_payload::model::PayloadModel;
use warden_payload::{Analyzer, VerdictConfig};

fn lines(path: &str) -> impl Iterator<Item = String> {
    let opened = InputSource::Path(path.into())
        .open()
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    opened.reader.lines().map_while(Result::ok)
}

/// Malicious events, by (computer, record id).
fn attacks(path: &str) -> HashSet<(String, u64)> {
    lines(path)
        .filter_map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l).ok()?;
            let label = v["label"].as_str()?;
            label.starts_with("attack").then(|| {
                (
                    v["computer"].as_str().unwrap_or("").to_owned(),
                    v["record_id"].as_u64().unwrap_or(0),
                )
            })
        })
        .collect()
}

#[derive(Default)]
struct Count {
    process_starts: (usize, usize),
    alerts: (usize, usize),
    /// Benign alerts per command line.
    benign_lines: BTreeMap<String, usize>,
}

fn run(
    events: &str,
    analyzer: &Arc<Analyzer>,
    common_at: usize,
    attacks: &HashSet<(String, u64)>,
) -> Count {
    let source: Arc<dyn AnalyzerSource> = Arc::new(analyzer.clone());
    let mut p = Pipeline::new("t", PipelineOptions::default());
    p.add(Box::new(
        PayloadDetector::new(source).with_common_at(common_at),
    ));
    let mut c = Count::default();
    let now = Timestamp::now();
    for line in lines(events) {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let Some(start) = process_start(&doc) else {
            continue;
        };
        let key = (
            start.host.clone().unwrap_or_default(),
            start.record_id.unwrap_or(0),
        );
        let malicious = attacks.contains(&key);
        if malicious {
            c.process_starts.0 += 1;
        } else {
            c.process_starts.1 += 1;
        }
        let input = Input {
            record: Record::Log(LogEvent {
                doc,
                record_id: start.record_id,
                source: None,
                line: None,
                timestamp_ms: None,
            }),
            size: line.len(),
        };
        for (_, a) in p.process(&[input], now).alerts {
            let cited = a.evidence.iter().any(|e| {
                matches!(&e.reference, EventRef::Record { computer, record_id }
                    if attacks.contains(&(computer.clone().unwrap_or_default(), *record_id)))
            });
            if cited {
                c.alerts.0 += 1;
            } else {
                c.alerts.1 += 1;
                *c.benign_lines.entry(start.command.clone()).or_default() += 1;
            }
        }
    }
    c
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(events), Some(model)) = (args.first(), args.get(1)) else {
        eprintln!("usage: process_alerts EVENTS MODEL.wpld [LABELS]");
        return std::process::ExitCode::from(2);
    };
    let attacks = args.get(2).map(|l| attacks(l)).unwrap_or_default();
    let bytes = std::fs::read(model).unwrap_or_else(|e| panic!("{model}: {e}"));
    let model = PayloadModel::from_bytes(&bytes).unwrap_or_else(|e| panic!("{model}: {e}"));
    let analyzer = Arc::new(Analyzer::new(
        Some(Arc::new(model)),
        VerdictConfig::default(),
    ));
    for common_at in [0, DEFAULT_COMMON_AT] {
        let c = run(events, &analyzer, common_at, &attacks);
        println!(
            "common_at_hosts = {common_at}: process starts {} malicious / {} benign; payload alerts on {} malicious / {} benign",
            c.process_starts.0, c.process_starts.1, c.alerts.0, c.alerts.1
        );
        let mut top: Vec<_> = c.benign_lines.into_iter().collect();
        top.sort_by_key(|t| std::cmp::Reverse(t.1));
        for (line, n) in top.iter().take(8) {
            println!("    {n:6}  {line}");
        }
    }
    std::process::ExitCode::SUCCESS
}
