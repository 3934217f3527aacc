//! The network finders in the pipeline: a day of a company's Zeek `conn` and `dns`
//! records (documents, in time order) through a pipeline holding only the
//! `NetworkDetector` with its defaults — a 24 h window, the finders over it every 15 min of
//! event time — so the figure is what the sliding window and its evaluations cost per
//! record. A port scan is planted so the evaluations have something to report.

#![allow(clippy::expect_used)] // a benchmark that cannot set up should stop loudly

use warden_engine::network::{NetworkConfig, NetworkHunter};
use warden_engine::pipeline::{NetworkDetector, Pipeline, PipelineOptions};
use warden_event::Record;
use warden_event::{Input, LogEvent, Timestamp};

fn main() {
    divan::main();
}

const T0: f64 = 1_780_000_000.0;
const DAY: f64 = 86_400.0;

/// A small deterministic generator (xorshift), so every run reads the same day.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `hosts` hosts browsing and resolving names over one day, with a port scan at its start;
/// `records` records in all, in time order.
fn day(hosts: u64, records: usize) -> Vec<Input> {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let step = DAY / records as f64;
    let mut out = Vec::with_capacity(records);
    for i in 0..records {
        let ts = T0 + i as f64 * step;
        let h = rng.below(hosts);
        let src = format!("10.1.{}.{}", h / 250, h % 250 + 1);
        let doc = if i % 3 == 0 {
            serde_json::json!({"_path": "dns", "ts": ts, "uid": format!("D{i}"),
                "id.orig_h": src, "query": format!("host{}.example{}.com", rng.below(500), rng.below(40)),
                "qtype_name": "A", "rcode_name": "NOERROR"})
        } else {
            let planted = i < 120;
            let (src, dst, port, state) = if planted {
                (
                    "10.9.9.9".to_owned(),
                    "10.1.0.5".to_owned(),
                    1000 + i as u64,
                    "REJ",
                )
            } else {
                let dst = format!("203.0.{}.{}", rng.below(30), rng.below(250) + 1);
                (src, dst, [443, 80, 53, 8443][rng.below(4) as usize], "SF")
            };
            serde_json::json!({"_path": "conn", "ts": ts, "uid": format!("C{i}"),
                "id.orig_h": src, "id.resp_h": dst, "id.resp_p": port, "proto": "tcp",
                "duration": rng.below(30_000) as f64 / 1000.0, "orig_bytes": rng.below(5_000),
                "resp_bytes": rng.below(200_000), "conn_state": state})
        };
        out.push(Input::log(LogEvent::of(doc), 300));
    }
    out
}

#[divan::bench(args = [100_000, 500_000], sample_count = 5, sample_size = 1)]
fn one_evaluation(bencher: divan::Bencher, records: usize) {
    let cfg = NetworkConfig::default();
    let mut hunter = NetworkHunter::windowed(cfg.clone(), cfg.max_records);
    for input in day(300, records) {
        if let Record::Log(e) = &input.record {
            hunter.add(&e.doc);
        }
    }
    bencher
        .counter(divan::counter::ItemsCount::new(records))
        .with_inputs(|| hunter.clone())
        .bench_local_refs(|h| {
            let found = h.findings();
            assert!(!found.is_empty(), "the planted scan is found");
            found
        });
}

#[divan::bench(args = [100_000, 400_000], sample_count = 3, sample_size = 1)]
fn a_day_replayed(bencher: divan::Bencher, records: usize) {
    let inputs = day(300, records);
    bencher
        .counter(divan::counter::ItemsCount::new(records))
        .with_inputs(|| {
            let mut p = Pipeline::new("t", PipelineOptions::default());
            p.add(Box::new(NetworkDetector::new(NetworkConfig::default())));
            p
        })
        .bench_local_values(|mut p| {
            let out = p.process(&inputs, Timestamp(0));
            assert!(!out.alerts.is_empty(), "the planted scans are found");
            p
        });
}
