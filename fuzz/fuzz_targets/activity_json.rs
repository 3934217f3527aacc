//! A JSON line as a user activity: a record or an error, never a panic; what parses has a
//! bounded user id and a valid time.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_ingest::FieldAliases;
use warden_ingest::classify::{ClassifyOptions, classify};
use warden_ingest::jsonl::parse_activity;

/// The default aliases, built once.
fn aliases() -> &'static FieldAliases {
    static A: OnceLock<FieldAliases> = OnceLock::new();
    A.get_or_init(FieldAliases::default)
}

fuzz_target!(|data: &[u8]| {
    let aliases = aliases();
    if let Ok(a) = parse_activity(data, aliases) {
        assert!(!a.user_id.is_empty());
        let _ = a.timestamp.to_rfc3339();
    }
    // What the service does with one event of a batch.
    let opts = ClassifyOptions {
        logs: true,
        ..ClassifyOptions::default()
    };
    let _ = classify(data, aliases, &opts);
});
