//! The behavioural engine driven with values rather than bytes: the input chooses, event by
//! event, one of four users, an activity, a step in time (seconds, hours, days, backwards, or
//! to the ends of the calendar), a place (a few cities, anywhere on the globe, the poles, the
//! date line), an event id of up to 600 bytes, a device, an address, a resource (sensitive
//! ones among them), a volume (none, a subnormal, ordinary, 1e300 GB) and an outcome. Each
//! event is written as a JSON line and read by the same parser as `warden detect`, so only
//! what Warden accepts reaches the engine — and the baselines warm up within a few hundred
//! bytes of input, where the byte-level target (`ueba_stream`) needs tens of kilobytes.
//! Every score must be finite, in 0–100, with its level; features in [0, 1]; each user's
//! state within a fixed budget whatever they did; a restored checkpoint must score like the
//! engine it was taken of.
#![no_main]

#[path = "common/ueba.rs"]
mod common;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use warden_engine::UebaConfig;
use warden_engine::ueba::UebaEngine;
use warden_event::{Timestamp, UserActivity};
use warden_ingest::jsonl::parse_activity;

const MAX_EVENTS: usize = 600;
/// Bytes of state one user may hold, whatever their events (the aim is 2 KB on real data;
/// every per-user set is capped, see `ProfileCaps`).
const MAX_USER_BYTES: usize = 8 * 1024;

const ACTIVITIES: &[&str] = &[
    "login",
    "logout",
    "download",
    "upload",
    "file_access",
    "api_call",
    "vpn_connect",
    "password_change",
    "admin_action",
    "email_send",
    "",
];
const PLACES: &[(&str, f64, f64)] = &[
    ("London, GB", 51.5072, -0.1276),
    ("Sydney, AU", -33.8688, 151.2093),
    ("New York, US", 40.7128, -74.006),
    ("Auckland, NZ", -36.8485, 174.7633),
    ("Suva, FJ", -18.1248, 178.4501),
];
const RESOURCES: &[&str] = &[
    "mail",
    "wiki",
    "crm",
    "payroll-db",
    "ad-console",
    "backup-vault",
    "k8s-prod",
    "git",
    "",
];

/// Seconds since 1970 of the next event, from the previous one.
fn step(u: &mut Unstructured<'_>, t: i64) -> Result<i64> {
    Ok(match u.int_in_range(0u8..=9)? {
        0..=3 => t + i64::from(u.int_in_range(0u32..=3_600)?),
        4..=5 => t + i64::from(u.int_in_range(0u32..=86_400 * 3)?),
        6 => t - i64::from(u.int_in_range(0u32..=86_400 * 30)?),
        7 => t + i64::from(u.int_in_range(0u32..=86_400 * 400)?),
        8 => 0,
        _ => 253_402_300_799, // 9999-12-31T23:59:59Z
    }
    .clamp(0, 253_402_300_799))
}

fn place(u: &mut Unstructured<'_>) -> Result<Option<(String, f64, f64)>> {
    Ok(match u.int_in_range(0u8..=9)? {
        0..=5 => {
            let (name, lat, lon) = *u.choose(PLACES)?;
            Some((name.to_owned(), lat, lon))
        }
        6 => Some((
            "Nowhere, ZZ".into(),
            u.int_in_range(-90i32..=90)? as f64,
            u.int_in_range(-180i32..=180)? as f64,
        )),
        7 => Some((
            "Pole, AQ".into(),
            -90.0,
            if u.arbitrary()? { 180.0 } else { -180.0 },
        )),
        8 => {
            let lat = f64::from(u.int_in_range(-90_000_000i32..=90_000_000)?) / 1e6;
            let lon = f64::from(u.int_in_range(-180_000_000i32..=180_000_000)?) / 1e6;
            Some((String::new(), lat, lon))
        }
        _ => None,
    })
}

fn volume(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => 0.0,
        1 => f64::MIN_POSITIVE / 4.0,
        2 => 1e300,
        3 => f64::from(u.int_in_range(0u32..=u32::MAX)?),
        _ => f64::from(u.int_in_range(1u32..=1_000_000)?) / 1e5,
    })
}

fn event(u: &mut Unstructured<'_>, t: i64) -> Result<serde_json::Value> {
    let mut e = serde_json::json!({
        "event_id": "é".repeat(u.int_in_range(0usize..=300)?),
        "user_id": format!("u{}", u.int_in_range(0u8..=3)?),
        "activity_type": *u.choose(ACTIVITIES)?,
        "timestamp": Timestamp(t * 1000).to_rfc3339(),
        "device_fingerprint": format!("d{}", u.int_in_range(0u8..=12)?),
        "user_agent": if u.arbitrary()? { "Mozilla/5.0" } else { "python-requests/2.31" },
        "ip_address": format!("203.0.{}.{}", u.int_in_range(0u8..=12)?, u.int_in_range(1u8..=254)?),
        "resource_accessed": *u.choose(RESOURCES)?,
        "data_transferred_gb": volume(u)?,
        "success": u.ratio(4u8, 5u8)?,
    });
    if let Some((name, lat, lon)) = place(u)? {
        e["location"] = name.into();
        e["latitude"] = lat.into();
        e["longitude"] = lon.into();
    }
    Ok(e)
}

fn events(data: &[u8]) -> Vec<UserActivity> {
    let mut u = Unstructured::new(data);
    let mut t = 1_775_000_000i64;
    let mut out = Vec::new();
    while !u.is_empty() && out.len() < MAX_EVENTS {
        let Ok(next) = step(&mut u, t) else { break };
        t = next;
        let Ok(e) = event(&mut u, t) else { break };
        let line = serde_json::to_vec(&e).expect("a JSON value writes");
        // What the parser refuses (an empty activity, say) never reaches the engine.
        if let Ok(a) = parse_activity(&line, common::aliases()) {
            out.push(a);
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let events = events(data);
    let cfg = UebaConfig::default();
    let mut running = UebaEngine::new(cfg.clone()).expect("the default configuration is valid");
    let (first, rest) = events.split_at(events.len() / 2);
    for a in first {
        common::check(&running.score(a, true), &cfg);
    }
    let snapshot = running
        .snapshot()
        .expect("no sequence model, so a snapshot");
    let mut restored = UebaEngine::from_snapshot(cfg.clone(), snapshot).expect("valid");
    for a in rest {
        common::score_alike(&mut running, &mut restored, a, &cfg);
    }
    for (id, state) in running.users() {
        let bytes = state.memory_bytes();
        assert!(bytes <= MAX_USER_BYTES, "user {id} holds {bytes} bytes");
    }
});
