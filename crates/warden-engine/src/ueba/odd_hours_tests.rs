//! Sessions at odd hours through the whole engine: a session at an hour the user is never
//! active keeps that hour unusual while it runs (its hours are learned when it ends, unless
//! it alerted), and, where configured, grows more certain the longer it runs.

use super::UebaEngine;
use super::tests::{DAY, LONDON, event, next_day, trained, trained_with};
use crate::UebaConfig;
use warden_event::{ActivityType, AnomalyType, ThreatLevel, ThreatScore};

const MINUTE: i64 = 60_000;

/// The unusual-time confidence of a score (0 when it has none).
fn odd_hour(s: &ThreatScore) -> f32 {
    s.anomalies
        .iter()
        .find(|a| a.kind == AnomalyType::UnusualTime)
        .map_or(0.0, |a| a.confidence)
}

/// `user`'s events every five minutes from `from` for `minutes`.
fn session(e: &mut UebaEngine, user: &str, from: i64, minutes: i64) -> Vec<ThreatScore> {
    (0..=minutes / 5)
        .map(|k| e.score(&event(user, from + k * 5 * MINUTE, &LONDON), false))
        .collect()
}

#[test]
fn an_odd_hours_session_keeps_its_hour_unusual_until_it_ends() {
    // Alice works 09–17 UTC; work from 19:00 to 19:55 is three hours outside her day
    // (MEDIUM: 20:00 would be four, HIGH).
    let mut e = trained("alice");
    let first = session(&mut e, "alice", next_day(19), 55);
    let (start, end) = (odd_hour(&first[0]), odd_hour(&first[first.len() - 1]));
    assert!(start > 0.0, "{:?}", first[0]);
    // Twelve events at 19:xx are a tenth of her history: learned one by one, they would
    // have made 19:00 look usual before the session was over.
    assert!(end >= start, "{start} then {end}");
    // The session ended without alerting: the next evening its hours count.
    let again = e.score(&event("alice", next_day(19) + DAY, &LONDON), false);
    assert!(
        odd_hour(&again) < start / 2.0,
        "{} vs {start}",
        odd_hour(&again)
    );
}

#[test]
fn an_alerting_session_teaches_none_of_its_hours() {
    let mut e = trained("alice");
    let mut evening = session(&mut e, "alice", next_day(19), 30);
    let mut big = event("alice", next_day(19) + 35 * MINUTE, &LONDON);
    big.activity_type = ActivityType::Download;
    big.data_transferred_gb = 8.0;
    let alert = e.score(&big, false);
    assert!(alert.threat_level >= ThreatLevel::High, "{alert:?}");
    evening.extend(session(&mut e, "alice", next_day(19) + 40 * MINUTE, 20));
    // The next evening, 19:00 is as unusual as it was before that session.
    let again = e.score(&event("alice", next_day(19) + DAY, &LONDON), false);
    assert!(
        (odd_hour(&again) - odd_hour(&evening[0])).abs() < 0.02,
        "{} vs {}",
        odd_hour(&again),
        odd_hour(&evening[0])
    );
}

#[test]
fn a_session_begun_at_night_grows_more_certain_when_configured() {
    let mut cfg = UebaConfig::default();
    cfg.time.odd_session_minutes = 30.0;
    let mut e = trained_with("alice", cfg.clone());
    let night = session(&mut e, "alice", next_day(19), 45);
    let (first, last) = (&night[0], &night[night.len() - 1]);
    assert!(first.threat_level < ThreatLevel::High, "{first:?}");
    assert!(
        odd_hour(last) > odd_hour(first) + 0.1,
        "{first:?}\n{last:?}"
    );
    assert!(
        last.anomalies[0].detail.contains("has run 45 min"),
        "{last:?}"
    );
    assert!(!last.cited_events.is_empty(), "{last:?}");

    // Off by default: the same session stays as certain as it began.
    let mut e = trained("alice");
    let night = session(&mut e, "alice", next_day(19), 45);
    assert!(odd_hour(&night[night.len() - 1]) <= odd_hour(&night[0]) + 1e-6);

    // Working late (a session begun within the usual day) never grows.
    let mut e = trained_with("bob", cfg);
    let late = session(&mut e, "bob", next_day(16), 240);
    let odd: Vec<f32> = late.iter().map(odd_hour).filter(|c| *c > 0.0).collect();
    assert!(!odd.is_empty());
    assert!(late.iter().all(|s| s.threat_level < ThreatLevel::High));
    assert!(
        late.iter()
            .all(|s| !s.anomalies.iter().any(|a| a.detail.contains("has run")))
    );
}
