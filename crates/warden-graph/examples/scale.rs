//! A day of a large network through the graph and its finders, with the figures the
//! benchmarks table reports: generation alone, then build and hunt, events per second,
//! nodes, edges, bytes per edge and peak memory.
//!
//! `cargo run --release -p warden-graph --example scale -- [HOSTS] [EVENTS] [DAYS]`
//! (default 5,000 hosts and 10,000,000 events over one day).

#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../benches/synth.rs"]
mod synth;

use std::time::Instant;

use warden_event::Timestamp;
use warden_graph::{HuntConfig, Hunter, NodeKind, query};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hosts: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let events: u64 = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let days: f64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1.0);
    let company = || synth::Company::new(hosts, events, 7).over_days(days);

    let t = Instant::now();
    let n = company().count();
    let generate = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let mut built = warden_graph::EntityGraph::new();
    for e in company() {
        built.add(&e);
    }
    let build = (t.elapsed().as_secs_f64() - generate).max(1e-9);
    println!(
        "build alone: {build:.2} s = {:.0} events/s ({} edges)",
        n as f64 / build,
        built.edge_count()
    );
    drop(built);

    let mut hunter = Hunter::new(HuntConfig {
        learn_for_ms: 12 * 3_600_000,
        ..HuntConfig::default()
    });
    let t = Instant::now();
    let mut findings = 0usize;
    for e in company() {
        findings += hunter.observe(&e).len();
    }
    let total = t.elapsed().as_secs_f64();
    let hunt = (total - generate).max(1e-9);
    let g = &hunter.graph;
    println!(
        "{hosts} hosts, {n} events over {days} day(s): generated in {generate:.2} s; generated + built + hunted in {total:.2} s; \
         graph and finders {hunt:.2} s = {:.0} events/s",
        n as f64 / hunt
    );
    println!(
        "{} nodes, {} edges, {:.1} MiB = {:.0} bytes per edge; {findings} reports; peak RSS {:.0} MiB",
        g.node_count(),
        g.edge_count(),
        g.bytes() as f64 / 1048576.0,
        g.bytes() as f64 / g.edge_count().max(1) as f64,
        peak_rss_mib()
    );
    let from = g.find(NodeKind::Host, "WS-00001").unwrap();
    let srv = g.find(NodeKind::Host, "SRV-0010").unwrap();
    let t = Instant::now();
    let paths = query::shortest_paths(g, from, &[srv], Some(Timestamp(i64::MAX)), 6);
    println!(
        "path WS-00001 → SRV-0010: {} hop(s) in {:.2} ms",
        paths.first().map_or(0, |p| p.edges.len()),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let big = synth::random_graph(200_000, 1_000_000, 11);
    let from = big.find(NodeKind::Host, "H1").unwrap();
    let targets: Vec<_> = (2..12)
        .filter_map(|i| big.find(NodeKind::Host, &format!("H{}", i * 9_973)))
        .collect();
    let t = Instant::now();
    let paths = query::shortest_paths(&big, from, &targets, None, 8);
    println!(
        "1M-edge graph ({} edges, {:.0} bytes per edge): paths to {} of {} targets in {:.2} ms",
        big.edge_count(),
        big.bytes() as f64 / big.edge_count() as f64,
        paths.len(),
        targets.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
}
