//! The service's pipeline (behavioural engine, then the entity graph) over a user activity
//! file, scoring the graph's findings against the file's labels: which attack scenarios
//! (user, day, kind) a finding cites, which hard negatives, and findings citing no attack.
//!
//! ```sh
//! cargo run --release -p warden-engine --example progression_ueba -- \
//!     ../shared/data/ueba/events.jsonl.gz ../shared/data/ueba/labels.jsonl.gz
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::BufRead;

use warden_engine::pipeline::{
    ContextLimits, GraphDetector, GraphLimits, Pipeline, PipelineOptions, UebaDetector,
};
use warden_engine::{UebaConfig, ueba::UebaEngine};
use warden_event::{AlertDetail, EventRef, Input, ThreatLevel, Timestamp};
use warden_ingest::{ActivityReader, FieldAliases, InputSource, ReaderOptions};

type Scenario = (String, String, String);

fn labels(path: &str) -> HashMap<String, (String, Scenario)> {
    let opened = InputSource::Path(path.into())
        .open()
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = HashMap::new();
    for line in opened.reader.lines().map_while(Result::ok) {
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        let (Some(id), Some(label), Some(user)) = (
            v["event_id"].as_str(),
            v["label"].as_str(),
            v["user_id"].as_str(),
        ) else {
            continue;
        };
        out.insert(
            id.to_owned(),
            (
                label.to_owned(),
                (user.to_owned(), String::new(), label.to_owned()),
            ),
        );
    }
    out
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(events), Some(label_file)) = (args.first(), args.get(1)) else {
        eprintln!("usage: progression_ueba EVENTS LABELS");
        return std::process::ExitCode::from(2);
    };
    let mut labels = labels(label_file);
    let engine = UebaEngine::new(UebaConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut p = Pipeline::new("t", PipelineOptions::default());
    p.add(Box::new(UebaDetector::new(
        engine,
        ContextLimits::default(),
    )));
    p.add(Box::new(GraphDetector::new("t", GraphLimits::default())));
    let source = InputSource::Path(events.into());
    let reader = ActivityReader::open_detect(
        &source,
        None,
        &FieldAliases::default(),
        &ReaderOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut attacks: BTreeSet<Scenario> = BTreeSet::new();
    let mut findings = BTreeMap::new();
    for r in reader.map_while(Result::ok) {
        let a = r.activity;
        if let Some((label, scenario)) = a.event_id.as_ref().and_then(|id| labels.get_mut(id)) {
            scenario.1 = a.timestamp.to_rfc3339()[..10].to_owned();
            if label.starts_with("attack:") {
                attacks.insert(scenario.clone());
            }
        }
        for (_, alert) in p.process(&[Input::activity(a, 0)], Timestamp(0)).alerts {
            if matches!(alert.detail, AlertDetail::Graph(_)) {
                findings.insert(alert.key.clone(), alert);
            }
        }
    }
    let mut cited_attacks = [BTreeSet::new(), BTreeSet::new()];
    let mut cited_benign = [BTreeSet::new(), BTreeSet::new()];
    let mut false_findings = [0, 0];
    for alert in findings.values() {
        let at = [
            alert.level >= ThreatLevel::Medium,
            alert.level >= ThreatLevel::High,
        ];
        let cited: Vec<&(String, Scenario)> = alert
            .evidence
            .iter()
            .filter_map(|e| match &e.reference {
                EventRef::EventId { event_id } => labels.get(event_id),
                _ => None,
            })
            .collect();
        let attack = cited.iter().any(|(l, _)| l.starts_with("attack:"));
        println!(
            "{} {} — {}",
            alert.level.as_str(),
            alert.subject,
            alert.explanation.split(". ").next().unwrap_or("")
        );
        for i in 0..2 {
            if !at[i] {
                continue;
            }
            for (label, scenario) in &cited {
                if label.starts_with("attack:") {
                    cited_attacks[i].insert(scenario.clone());
                } else if label.starts_with("benign:") {
                    cited_benign[i].insert(scenario.clone());
                }
            }
            if !attack {
                false_findings[i] += 1;
            }
        }
    }
    for (i, level) in ["MEDIUM", "HIGH"].iter().enumerate() {
        println!(
            "at {level}: {} findings citing {} of {} attack scenarios; {} hard-negative scenarios cited; {} findings citing no attack event",
            findings
                .values()
                .filter(|a| a.level
                    >= if i == 0 {
                        ThreatLevel::Medium
                    } else {
                        ThreatLevel::High
                    })
                .count(),
            cited_attacks[i].len(),
            attacks.len(),
            cited_benign[i].len(),
            false_findings[i]
        );
    }
    std::process::ExitCode::SUCCESS
}
