//! The graph's speed: building from parsed events, hunting (build plus every finder), and
//! path queries on a graph of a million edges. The 10-million-event day of a 5,000-host
//! network is `cargo run --release -p warden-graph --example scale`.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark that cannot set up should stop loudly

mod synth;

use warden_event::Timestamp;
use warden_graph::{EntityGraph, GraphEvent, HuntConfig, Hunter, NodeKind, query};

fn main() {
    divan::main();
}

const EVENTS: u64 = 500_000;

fn day() -> Vec<GraphEvent> {
    synth::Company::new(5_000, EVENTS, 7)
        .over_days(1.0)
        .collect()
}

#[divan::bench(sample_count = 5)]
fn build(bencher: divan::Bencher) {
    let events = day();
    bencher
        .counter(divan::counter::ItemsCount::new(events.len()))
        .bench(|| {
            let mut g = EntityGraph::new();
            for e in &events {
                g.add(e);
            }
            g.edge_count()
        });
}

#[divan::bench(sample_count = 5)]
fn hunt(bencher: divan::Bencher) {
    let events = day();
    bencher
        .counter(divan::counter::ItemsCount::new(events.len()))
        .bench(|| {
            let mut h = Hunter::new(HuntConfig {
                learn_until: Some(Timestamp(events[events.len() / 2].time.0)),
                ..HuntConfig::default()
            });
            let mut n = 0;
            for e in &events {
                n += h.observe(e).len();
            }
            n
        });
}

#[divan::bench(sample_count = 20)]
fn shortest_path_1m_edges(bencher: divan::Bencher) {
    let g = synth::random_graph(200_000, 1_000_000, 11);
    let from = g.find(NodeKind::Host, "H1").unwrap();
    let targets: Vec<_> = (2..12)
        .filter_map(|i| g.find(NodeKind::Host, &format!("H{}", i * 9_973)))
        .collect();
    bencher.bench(|| query::shortest_paths(&g, from, &targets, None, 8).len());
}
