//! Scoring throughput alone (no parsing, no output): a synthetic population of users with
//! realistic habits, scored in time order after a warm-up.

#![allow(clippy::expect_used)] // a benchmark that cannot set up should stop loudly

use warden_engine::{UebaConfig, ueba::UebaEngine};
use warden_event::{ActivityType, Timestamp, UserActivity};

fn main() {
    divan::main();
}

const CITIES: [(&str, f64, f64); 4] = [
    ("London, GB", 51.5074, -0.1278),
    ("Berlin, DE", 52.52, 13.405),
    ("New York, US", 40.7128, -74.006),
    ("Singapore, SG", 1.3521, 103.8198),
];
const RESOURCES: [&str; 8] = ["git", "wiki", "crm", "email", "chat", "ci", "jira", "docs"];

/// Deterministic events: `users` users, each active in office hours at their city.
fn events(users: usize, per_user: usize) -> Vec<UserActivity> {
    let mut out = Vec::with_capacity(users * per_user);
    let start = Timestamp::parse_rfc3339("2026-03-02T00:00:00Z").map_or(0, |t| t.millis());
    for i in 0..per_user {
        for u in 0..users {
            let (city, lat, lon) = CITIES[u % CITIES.len()];
            let day = (i / 10) as i64;
            let hour = 8 + (i % 10) as i64 - (lon / 15.0).round() as i64;
            let ts = start + day * 86_400_000 + hour * 3_600_000 + (u as i64 * 7_919) % 3_000_000;
            let mut a = UserActivity::new(
                format!("user{u:05}"),
                ActivityType::FileAccess,
                Timestamp(ts),
            );
            a.location = Some(city.to_owned());
            a.latitude = Some(lat);
            a.longitude = Some(lon);
            a.device_fingerprint = Some(format!("dev{}", u * 2 + i % 2));
            a.device_name = Some("ThinkPad X1".to_owned());
            a.ip_address = Some(format!("10.{}.{}.{}", u % 250, (u / 250) % 250, i % 200));
            a.resource_accessed = Some(RESOURCES[(u + i) % RESOURCES.len()].to_owned());
            a.data_transferred_gb = 0.01 + ((u * 31 + i * 17) % 100) as f64 / 1000.0;
            a.duration_seconds = 30.0 + ((u + i) % 300) as f64;
            a.user_agent = Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)".to_owned());
            out.push(a);
        }
    }
    out
}

#[divan::bench(args = [1_000, 10_000])]
fn score_events(bencher: divan::Bencher, users: usize) {
    let warm = events(users, 60);
    let test = events(users, 70).split_off(users * 60);
    bencher
        .counter(divan::counter::ItemsCount::new(test.len()))
        .with_inputs(|| {
            let mut engine =
                UebaEngine::new(UebaConfig::default()).expect("default config is valid");
            for a in &warm {
                engine.score(a, false);
            }
            engine
        })
        .bench_local_values(|mut engine| {
            for a in &test {
                divan::black_box(engine.score(a, false));
            }
            engine
        });
}
