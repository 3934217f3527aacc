//! Where static analysis spends its time, stage by stage, on a corpus (one core).
//!
//! `cargo run --release -p warden-payload --example stages -- COMMANDS.jsonl[.gz] [MODEL.wpld]`
//! (with a model, also its features and its assessment)
#![allow(clippy::unwrap_used, clippy::expect_used)] // a measuring tool: failing loudly is the report

use std::io::{BufRead, BufReader, Read};
use std::time::Instant;

use warden_payload::signatures::Signatures;
use warden_payload::{Shell, deobf, dual_use, tokens};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: stages COMMANDS.jsonl[.gz]");
    let file = std::fs::File::open(&path).expect("readable corpus");
    let reader: Box<dyn Read> = if path.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let texts: Vec<String> = BufReader::new(reader)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter_map(|v| Some(v.get("text")?.as_str()?.to_string()))
        .collect();
    let sigs = Signatures::new();
    let model = std::env::args().nth(2).map(|p| {
        warden_payload::model::PayloadModel::from_bytes(&std::fs::read(p).expect("model file"))
            .expect("a payload model")
    });
    let analyzer = warden_payload::Analyzer::new(None, warden_payload::VerdictConfig::default());
    let (mut fx, mut ms) = (0.0, 0.0);
    if let Some(m) = &model {
        for text in &texts {
            let a = analyzer.examine(text, None);
            let t0 = Instant::now();
            let f = warden_payload::features::extract(&a, &m.features);
            let t1 = Instant::now();
            std::hint::black_box(m.assess(&f, 6));
            fx += (t1 - t0).as_secs_f64();
            ms += t1.elapsed().as_secs_f64();
        }
    }
    let (mut d, mut t, mut s, mut u) = (0.0, 0.0, 0.0, 0.0);
    for text in &texts {
        let shell = Shell::guess(text);
        let t0 = Instant::now();
        let dec = deobf::deobfuscate(text, shell);
        let t1 = Instant::now();
        let tok = tokens::tokenize(dec.last(), shell);
        let t2 = Instant::now();
        let hits = sigs.scan(dec.layers.iter().map(|l| l.text.as_str()));
        let t3 = Instant::now();
        let du = dual_use::assess(&tok);
        let t4 = Instant::now();
        std::hint::black_box((hits, du));
        d += (t1 - t0).as_secs_f64();
        t += (t2 - t1).as_secs_f64();
        s += (t3 - t2).as_secs_f64();
        u += (t4 - t3).as_secs_f64();
    }
    // The costliest signatures, each alone over every text.
    let mut per: Vec<(f64, &str)> = warden_payload::patterns::PATTERNS
        .iter()
        .map(|p| {
            let re = regex::RegexBuilder::new(p.re)
                .case_insensitive(true)
                .size_limit(1 << 24)
                .build()
                .expect("compiles");
            let t0 = Instant::now();
            let hits = texts.iter().filter(|t| re.is_match(t)).count();
            std::hint::black_box(hits);
            (t0.elapsed().as_secs_f64() / texts.len() as f64 * 1e6, p.id)
        })
        .collect();
    per.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (us, id) in per.iter().take(12) {
        println!("  {id}: {us:.2} µs per text");
    }
    let n = texts.len() as f64;
    println!(
        "{} texts, µs per text: decode {:.1}, tokens {:.1}, signatures {:.1}, dual use {:.1}",
        texts.len(),
        d / n * 1e6,
        t / n * 1e6,
        s / n * 1e6,
        u / n * 1e6
    );
    if model.is_some() {
        println!(
            "with the model, µs per text: features {:.1}, assessment {:.1}",
            fx / n * 1e6,
            ms / n * 1e6
        );
    }
}
