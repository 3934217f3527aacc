//! The peer index's size for a company of N users: `cargo run --release -p warden-models
//! --example peer_index_size -- 10000 1000000`.
//!
//! The company is drawn, not read: one function per 50 users (at most 400 functions) with
//! 10 tools each, 6 tools everyone uses, and every user holding 8 of their function's tools,
//! 3 of the shared ones and 2 tools of other functions (the odd project), as learned one
//! resource at a time. Prints resources, pairs, heap bytes and bytes per user.

use warden_models::baseline::PeerIndex;
use warden_models::stats::{BoundedCounter, stable_hash};

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

fn main() {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 1_000_000]
    } else {
        sizes
    };
    println!("| users | functions | resources | pairs | heap | per user |");
    println!("|---|---|---|---|---|---|");
    for users in sizes {
        let functions = (users / 50).clamp(1, 400);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut index = PeerIndex::default();
        let started = std::time::Instant::now();
        for _ in 0..users {
            let f = rng.below(functions);
            let mut tools: Vec<String> = Vec::with_capacity(13);
            for t in 0..8 {
                tools.push(format!("f{f}-tool{}", (t + rng.below(3)) % 10));
            }
            for _ in 0..3 {
                tools.push(format!("shared{}", rng.below(6)));
            }
            for _ in 0..2 {
                tools.push(format!("f{}-tool{}", rng.below(functions), rng.below(10)));
            }
            let mut set = BoundedCounter::default();
            for name in &tools {
                let key = stable_hash(name);
                let seen = set.observe(key, 24);
                index.follow(key, seen, &set, name);
            }
        }
        let (resources, pairs) = index.len();
        let heap = index.heap_bytes();
        println!(
            "| {users} | {functions} | {resources} | {pairs} | {:.1} MB | {:.0} B |",
            heap as f64 / 1e6,
            heap as f64 / users as f64
        );
        eprintln!(
            "{users} users indexed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
}
