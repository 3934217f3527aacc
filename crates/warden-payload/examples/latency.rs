//! Static analysis speed on a real corpus, one core: texts per second and the latency
//! distribution per text (p50, p99, max), with and without a model; with a model, also
//! scored only (`Analyzer::triage`, what a stream does for a text that does not alert).
//!
//! `cargo run --release -p warden-payload --example latency -- COMMANDS.jsonl[.gz] [MODEL.wpld]`
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: failing loudly is the report

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::time::Instant;

use warden_payload::model::PayloadModel;
use warden_payload::{Analyzer, Shell, VerdictConfig};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .expect("usage: latency COMMANDS.jsonl[.gz] [MODEL.wpld]");
    let file = std::fs::File::open(path).expect("readable corpus");
    let reader: Box<dyn Read> = if path.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let texts: Vec<(String, Option<Shell>)> = BufReader::new(reader)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter_map(|v| {
            let text = v.get("text")?.as_str()?.to_string();
            let shell = v
                .get("shell")
                .and_then(|s| s.as_str())
                .and_then(|s| s.parse().ok());
            Some((text, shell))
        })
        .collect();
    let model = args.get(2).map(|p| {
        Arc::new(
            PayloadModel::from_bytes(&std::fs::read(p).expect("model file"))
                .expect("a payload model"),
        )
    });
    let runs = [
        ("signatures only", None, false),
        ("with the model", model.clone(), false),
        ("with the model, scored only", model, true),
    ];
    for (name, m, scored_only) in runs {
        if name != "signatures only" && m.is_none() {
            continue;
        }
        let a = Analyzer::new(m, VerdictConfig::default());
        let judge = |t: &str, s: Option<Shell>| {
            if scored_only {
                std::hint::black_box(a.triage(t, s));
            } else {
                std::hint::black_box(a.analyze(t, s));
            }
        };
        // Warm up (lazy regex states, caches), then time each text.
        for (t, s) in texts.iter().take(2000) {
            judge(t, *s);
        }
        // The first pass meets most texts' DFA states for the first time; the second,
        // over the same texts, is a long-running stream's steady state.
        for pass in ["first pass", "second pass"] {
            let mut each: Vec<f64> = Vec::with_capacity(texts.len());
            let started = Instant::now();
            for (t, s) in &texts {
                let t0 = Instant::now();
                judge(t, *s);
                each.push(t0.elapsed().as_secs_f64() * 1e6);
            }
            let total = started.elapsed().as_secs_f64();
            each.sort_by(f64::total_cmp);
            let q = |p: f64| each[((each.len() as f64 - 1.0) * p) as usize];
            println!(
                "{name}, {pass}: {} texts in {:.2} s = {:.0} texts/s on one core; per text p50 {:.1} µs, p99 {:.1} µs, max {:.0} µs",
                texts.len(),
                total,
                texts.len() as f64 / total,
                q(0.5),
                q(0.99),
                each[each.len() - 1]
            );
        }
    }
}
