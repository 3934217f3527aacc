//! What counting a command line's hosts costs per process event: `Prevalence::observe` on
//! a fleet's repeated lines (the keyed digests of the line and the host, a table lookup),
//! and saving and restoring a full-sized table.

#![allow(clippy::expect_used)] // a benchmark that cannot set up should stop loudly

use warden_engine::pipeline::prevalence::Prevalence;

fn main() {
    divan::main();
}

/// 50 command lines of a typical length, started across 400 hosts.
fn events(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| {
            (
                format!(
                    "\"C:\\Program Files\\Vendor\\agent{}.exe\" --service --config C:\\ProgramData\\Vendor\\agent.conf",
                    i % 50
                ),
                format!("ws-{:04}.corp.example", (i * 7919) % 400),
            )
        })
        .collect()
}

#[divan::bench(sample_count = 200, sample_size = 500)]
fn observe(bencher: divan::Bencher) {
    let input = events(10_000);
    let mut p = Prevalence::new(20);
    let mut i = 0;
    bencher.bench_local(|| {
        let (line, host) = &input[i % input.len()];
        i += 1;
        divan::black_box(p.observe("cmd", line, Some(host)))
    });
}

/// A table of 10,000 lines seen on 10 hosts each (100,000 host entries).
fn full_table() -> Prevalence {
    let mut p = Prevalence::new(20);
    for l in 0..10_000 {
        for h in 0..10 {
            p.observe("sh", &format!("line {l}"), Some(&format!("host-{h}")));
        }
    }
    p
}

#[divan::bench]
fn snapshot(bencher: divan::Bencher) {
    let mut p = full_table();
    bencher.bench_local(|| divan::black_box(p.snapshot()));
}

#[divan::bench]
fn restore(bencher: divan::Bencher) {
    let saved = full_table().snapshot();
    bencher.bench_local(|| divan::black_box(Prevalence::restore(&saved, 20).expect("restores")));
}
