//! Unusual volume through the whole engine: a transfer judged against the user's transfers
//! of its kind, a session's running total against past sessions, and a size usual for the
//! resource counting for less.

use super::UebaEngine;
use super::tests::{DAY, HOUR, LONDON, event};
use crate::UebaConfig;
use warden_event::{ActivityType, AnomalyType, ThreatLevel, ThreatScore, UserActivity};

/// 2026-03-02T00:00:00Z, a Monday.
const T0: i64 = 1_772_409_600_000;
const MINUTE: i64 = 60_000;

/// A morning's work: every ten minutes from 09:00, an API call of half a megabyte and a
/// download of 10 to 80 MB from `resource`, times `scale`.
fn morning(user: &str, day: i64, resource: &str, scale: f64) -> Vec<UserActivity> {
    (0..18)
        .map(|k| {
            let mut a = event(user, T0 + day * DAY + 9 * HOUR + k * 10 * MINUTE, &LONDON);
            a.resource_accessed = Some(resource.to_owned());
            if k % 2 == 0 {
                a.activity_type = ActivityType::ApiCall;
                a.data_transferred_gb = 0.0005;
            } else {
                a.activity_type = ActivityType::Download;
                a.data_transferred_gb =
                    scale * [0.01, 0.04, 0.08, 0.02, 0.05][(k / 2 % 5) as usize];
            }
            a
        })
        .collect()
}

/// Three weeks of weekday mornings for `users`, each on their own resource and scale.
fn history(users: &[(&str, &str, f64)]) -> UebaEngine {
    let mut e = UebaEngine::new(UebaConfig::default()).unwrap();
    for d in (0..21).filter(|d| d % 7 < 5) {
        for (user, resource, scale) in users {
            for a in morning(user, d, resource, *scale) {
                let s = e.score(&a, false);
                assert!(s.threat_level < ThreatLevel::High, "history: {s:?}");
            }
        }
    }
    e
}

fn volume_finding(s: &ThreatScore) -> Option<&warden_event::Anomaly> {
    s.anomalies
        .iter()
        .find(|a| a.kind == AnomalyType::UnusualVolume)
}

/// Day 21 (a Monday) at 09:05, `minutes` later.
fn monday(user: &str, minutes: i64, gb: f64, resource: &str) -> UserActivity {
    let mut a = event(
        user,
        T0 + 21 * DAY + 9 * HOUR + 5 * MINUTE + minutes * MINUTE,
        &LONDON,
    );
    a.activity_type = ActivityType::Download;
    a.data_transferred_gb = gb;
    a.resource_accessed = Some(resource.to_owned());
    a
}

#[test]
fn a_download_is_judged_against_the_users_downloads() {
    // Half of this user's transfers are tiny API calls, so all transfers together are one
    // wide distribution (2 GB would be 3.5 standard deviations above its mean, a MEDIUM),
    // but 2 GB is 60 times the user's usual download.
    let mut e = history(&[("vic", "repo", 1.0)]);
    let s = e.score(&monday("vic", 0, 2.0, "repo"), false);
    let v = volume_finding(&s).expect("a volume finding");
    assert!(v.detail.contains("typical downloads"), "{}", v.detail);
    assert!(s.threat_level >= ThreatLevel::High, "{s:?}");
}

#[test]
fn moderate_downloads_add_up_over_a_session() {
    let mut e = history(&[("vic", "repo", 1.0)]);
    // One 0.16 GB download is within the user's downloads' spread…
    let one = e.score(&monday("vic", 0, 0.16, "repo"), false);
    assert!(volume_finding(&one).is_none(), "{one:?}");
    // …but five of them in one session are several times the user's usual session.
    let mut last = None;
    for k in 1..5 {
        last = Some(e.score(&monday("vic", k * 10, 0.16, "repo"), false));
    }
    let s = last.unwrap();
    let v = volume_finding(&s).expect("the session's total is reported");
    assert!(
        v.detail
            .contains("this session has moved 0.80 GB in 5 transfers"),
        "{}",
        v.detail
    );
    assert!(s.threat_level >= ThreatLevel::Medium, "{s:?}");
    // A small event in the same session does not report the session's total again.
    let crumb = e.score(&monday("vic", 45, 0.01, "repo"), false);
    assert!(volume_finding(&crumb).is_none(), "{crumb:?}");
}

#[test]
fn a_size_usual_for_the_resource_counts_for_less() {
    // Colleagues pull whole data sets from `datasets`: 0.3 to 2.4 GB each time.
    let mut e = history(&[
        ("vic", "repo", 1.0),
        ("ada", "datasets", 30.0),
        ("bea", "datasets", 30.0),
    ]);
    let mut at = |resource: &str, day: i64| {
        let mut a = monday("vic", 0, 1.5, resource);
        a.timestamp = warden_event::Timestamp(a.timestamp.millis() + day * DAY);
        let s = e.score(&a, false);
        volume_finding(&s).map(|v| (v.confidence, v.detail.clone()))
    };
    let (usual, detail) = at("datasets", 3).expect("still unusual for the user");
    assert!(detail.contains("a usual size for datasets"), "{detail}");
    let (unusual, detail) = at("repo", 4).expect("a volume finding");
    assert!(
        detail.contains("above repo's typical downloads"),
        "{detail}"
    );
    assert!(usual < unusual, "{usual} vs {unusual}");
}

/// What the transfer was judged against: "typical downloads of 0.030 GB (3.8 standard
/// deviations on a log scale, 135 events)".
fn judged_against(s: &ThreatScore) -> String {
    let detail = volume_finding(s).map_or("", |a| a.detail.as_str());
    let Some(at) = detail.find("typical downloads of") else {
        return String::new();
    };
    let rest = &detail[at..];
    rest[..rest.find("events)").map_or(rest.len(), |e| e + 7)].to_owned()
}

#[test]
fn the_parts_of_one_large_transfer_do_not_make_each_other_usual() {
    // Parts of 0.5 GB, ten minutes apart, each about 15 times the user's usual download:
    // learned at once, each part would widen the spread the next one is judged against.
    let mut e = history(&[("vic", "repo", 1.0)]);
    let parts: Vec<ThreatScore> = (0..3)
        .map(|k| e.score(&monday("vic", k * 10, 0.5, "repo"), false))
        .collect();
    let first = judged_against(&parts[0]);
    assert!(first.contains("events)"), "{:?}", parts[0]);
    for p in &parts[1..] {
        assert_eq!(judged_against(p), first, "{p:?}");
    }
    // That session alerted, so none of it is learned. A quiet one, one moderate download,
    // is learned when it ends: the next day's download is judged against more events.
    let mut e = history(&[("vic", "repo", 1.0)]);
    let quiet = e.score(&monday("vic", 0, 0.3, "repo"), false);
    assert!(quiet.threat_level < ThreatLevel::High, "{quiet:?}");
    let first = judged_against(&quiet);
    let next = e.score(&monday("vic", 24 * 60, 0.5, "repo"), false);
    let learned = judged_against(&next);
    assert!(
        !learned.is_empty() && learned != first,
        "{first} then {learned}"
    );
}

#[test]
fn an_alerting_sessions_transfers_are_not_learned() {
    let mut e = history(&[("vic", "repo", 1.0)]);
    let first = judged_against(&e.score(&monday("vic", 0, 0.5, "repo"), false));
    let big = e.score(&monday("vic", 10, 6.0, "repo"), false);
    assert!(big.threat_level >= ThreatLevel::High, "{big:?}");
    // The next day, 0.5 GB is judged against the same downloads as before that session.
    let next = e.score(&monday("vic", 24 * 60, 0.5, "repo"), false);
    assert_eq!(judged_against(&next), first, "{next:?}");
}

/// The standard score the detail gives after `before` ("4.5 standard deviations …").
fn stated_z(detail: &str, before: &str) -> Option<f64> {
    let at = detail.find(before)?;
    detail[..at].rsplit([' ', '(']).next()?.parse().ok()
}

#[test]
fn a_size_unusual_for_the_resource_too_takes_the_stronger_score() {
    // Vic works from `wiki` one day and, downloading ten times more, from `archive` the
    // next, so his downloads spread widely; his colleagues only take small pages from
    // `wiki`.
    let mut e = UebaEngine::new(UebaConfig::default()).unwrap();
    for d in (0..21).filter(|d| d % 7 < 5) {
        let (resource, scale) = if d % 2 == 0 {
            ("wiki", 1.0)
        } else {
            ("archive", 10.0)
        };
        let days = [
            ("vic", resource, scale),
            ("ada", "wiki", 0.2),
            ("bea", "wiki", 0.2),
        ];
        for (user, resource, scale) in days {
            for a in morning(user, d, resource, scale) {
                e.score(&a, false);
            }
        }
    }
    let s = e.score(&monday("vic", 0, 6.0, "wiki"), false);
    let v = volume_finding(&s).expect("a volume finding");
    let user = stated_z(&v.detail, " standard deviations on a log scale").expect("user z");
    let resource = stated_z(&v.detail, " standard deviations above wiki's").expect("wiki z");
    assert!(resource > user, "{}", v.detail);
    // Confidence ramps from 0.3 at 2.5 to 1 at 5.5 standard deviations: here it follows the
    // resource's score, the stronger (to the rounding of the stated scores).
    let cfg = UebaConfig::default().volume;
    let ramp = |z: f64| {
        0.3 + 0.7 * ((z - cfg.log_z_start) / (cfg.log_z_certain - cfg.log_z_start)).clamp(0.0, 1.0)
    };
    let confidence = f64::from(v.confidence);
    assert!(
        (confidence - ramp(resource)).abs() < 0.02 && confidence > ramp(user) + 0.02,
        "{confidence} vs {} (wiki) and {} (vic): {}",
        ramp(resource),
        ramp(user),
        v.detail
    );
}
