//! A stream of user activities — one JSON line each, as `warden detect` and the service
//! read them — through the behavioural engine with the default configuration. Whatever the
//! field values (times decades apart or out of order, coordinates off the globe, volumes of
//! any size, failures, the same user from everywhere at once), every event gets a finite
//! score in 0–100 with the level its thresholds give, finite features in [0, 1] and finite
//! anomaly figures, never a panic. Halfway through, the engine's checkpoint is taken and a
//! second engine continues from it: both must score the rest of the stream identically (what
//! a scale-out worker that takes a partition over relies on), and the checkpoint must
//! survive its wire encoding.
#![no_main]

#[path = "common/ueba.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use warden_engine::UebaConfig;
use warden_engine::ueba::{EngineSnapshot, UebaEngine};
use warden_event::UserActivity;
use warden_ingest::jsonl::parse_activity;

/// Events read from one input at most: enough for a baseline to leave its warm-up.
const MAX_EVENTS: usize = 512;

fn engine(snapshot: Option<EngineSnapshot>) -> UebaEngine {
    let cfg = UebaConfig::default();
    match snapshot {
        Some(s) => UebaEngine::from_snapshot(cfg, s),
        None => UebaEngine::new(cfg),
    }
    .expect("the default configuration is valid")
}

fuzz_target!(|data: &[u8]| {
    let events: Vec<UserActivity> = data
        .split(|b| *b == b'\n')
        .filter_map(|line| parse_activity(line, common::aliases()).ok())
        .take(MAX_EVENTS)
        .collect();
    let (first, rest) = events.split_at(events.len() / 2);
    let mut running = engine(None);
    let cfg = running.config().clone();
    for a in first {
        common::check(&running.score(a, true), &cfg);
    }
    let snapshot = running
        .snapshot()
        .expect("no sequence model, so a snapshot");
    let bytes = postcard::to_allocvec(&snapshot).expect("a snapshot encodes");
    let decoded: EngineSnapshot = postcard::from_bytes(&bytes).expect("and decodes");
    let mut restored = engine(Some(snapshot));
    let mut from_wire = engine(Some(decoded));
    for a in rest {
        common::score_alike(&mut running, &mut restored, a, &cfg);
        // Decoded, the state loses only what is documented as not persisted (the session
        // under way); it still scores within the contract.
        common::check(&from_wire.score(a, true), &cfg);
    }
});
