//! A behavioural checkpoint as the log hands it back — the postcard body a scale-out worker
//! decodes when it takes a partition over, or a baseline read back from the store — damaged
//! in any way that still decodes: counts that disagree with each other, hours and windows of
//! impossible lengths, peer groups naming resources no user holds. The engine built from it
//! must score a stream of ordinary and hostile events without a panic, every score within
//! the contract of `common::check`: a corrupt checkpoint may cost what was learned, never
//! the worker.
#![no_main]

#[path = "common/ueba.rs"]
mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use warden_engine::UebaConfig;
use warden_engine::ueba::{EngineSnapshot, UebaEngine};
use warden_event::UserActivity;
use warden_ingest::jsonl::parse_activity;

/// The events scored after the restore: the users of the seed checkpoints, at work, away,
/// failing to sign in, taking a lot, at both ends of the calendar.
const EVENTS: &[&str] = &[
    r#"{"user_id":"u0","activity_type":"login","timestamp":"2026-04-01T09:00:00Z","location":"London, GB","latitude":51.5,"longitude":-0.12,"device_fingerprint":"d1","ip_address":"203.0.1.7","resource_accessed":"mail"}"#,
    r#"{"user_id":"u0","activity_type":"download","timestamp":"2026-04-01T09:05:00Z","location":"London, GB","latitude":51.5,"longitude":-0.12,"device_fingerprint":"d1","ip_address":"203.0.1.7","resource_accessed":"payroll-db","data_transferred_gb":40}"#,
    r#"{"user_id":"u1","activity_type":"login","timestamp":"2026-04-01T09:06:00Z","location":"Sydney, AU","latitude":-33.87,"longitude":151.2,"device_fingerprint":"d9","ip_address":"203.0.9.9","success":false}"#,
    r#"{"user_id":"u1","activity_type":"login","timestamp":"2026-04-01T09:06:30Z","location":"Sydney, AU","latitude":-33.87,"longitude":151.2,"device_fingerprint":"d9","ip_address":"203.0.9.9"}"#,
    r#"{"user_id":"u2","activity_type":"file_access","timestamp":"2026-04-01T03:00:00Z","location":"Suva, FJ","latitude":-18.12,"longitude":178.45,"resource_accessed":"ad-console","user_agent":"python-requests/2.31"}"#,
    r#"{"user_id":"u3","activity_type":"upload","timestamp":"1970-01-01T00:00:00Z","resource_accessed":"git","data_transferred_gb":1e300}"#,
    r#"{"user_id":"u3","activity_type":"api_call","timestamp":"9999-12-31T23:59:59Z","latitude":-90,"longitude":180,"resource_accessed":"k8s-prod"}"#,
    r#"{"user_id":"u0","activity_type":"vpn_connect","timestamp":"2026-04-02T02:00:00Z","location":"New York, US","latitude":40.71,"longitude":-74.0,"device_fingerprint":"d4","ip_address":"198.51.100.4"}"#,
    r#"{"user_id":"u0","activity_type":"download","timestamp":"2026-04-02T02:10:00Z","location":"New York, US","latitude":40.71,"longitude":-74.0,"device_fingerprint":"d4","ip_address":"198.51.100.4","resource_accessed":"backup-vault","data_transferred_gb":3}"#,
    r#"{"user_id":"new","activity_type":"login","timestamp":"2026-04-02T02:11:00Z","resource_accessed":"crm"}"#,
];

fn events() -> &'static [UserActivity] {
    static E: OnceLock<Vec<UserActivity>> = OnceLock::new();
    E.get_or_init(|| {
        EVENTS
            .iter()
            .map(|l| parse_activity(l.as_bytes(), common::aliases()).expect("a valid event"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(snapshot) = postcard::from_bytes::<EngineSnapshot>(data) else {
        return;
    };
    let cfg = UebaConfig::default();
    let Ok(mut engine) = UebaEngine::from_snapshot(cfg.clone(), snapshot) else {
        return;
    };
    for a in events().iter().chain(events()) {
        common::check(&engine.score(a, true), &cfg);
    }
    let _ = engine.snapshot();
});
