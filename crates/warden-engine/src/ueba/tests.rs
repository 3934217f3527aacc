//! Behaviour of every anomaly type through the whole engine, with the edge cases: a user's
//! first event, equal timestamps, the antimeridian, zero-variance volume, quarantine.

use super::UebaEngine;
use crate::UebaConfig;
use proptest::prelude::*;
use warden_event::{ActivityType, AnomalyType, ThreatLevel, ThreatScore, Timestamp, UserActivity};

pub(super) const DAY: i64 = 86_400_000;
pub(super) const HOUR: i64 = 3_600_000;
/// 2026-03-02T00:00:00Z, a Monday.
const T0: i64 = 1_772_409_600_000;

pub(super) struct Place {
    name: &'static str,
    lat: f64,
    lon: f64,
}

pub(super) const LONDON: Place = Place {
    name: "London, GB",
    lat: 51.5074,
    lon: -0.1278,
};
pub(super) const LAGOS: Place = Place {
    name: "Lagos, NG",
    lat: 6.5244,
    lon: 3.3792,
};
const PARIS: Place = Place {
    name: "Paris, FR",
    lat: 48.8566,
    lon: 2.3522,
};

pub(super) fn event(user: &str, ms: i64, at: &Place) -> UserActivity {
    let mut a = UserActivity::new(user, ActivityType::FileAccess, Timestamp(ms));
    a.event_id = Some(format!("{user}-{ms}"));
    a.location = Some(at.name.to_owned());
    a.latitude = Some(at.lat);
    a.longitude = Some(at.lon);
    a.device_fingerprint = Some(format!("{user}-laptop"));
    a.device_name = Some("ThinkPad X1".to_owned());
    a.ip_address = Some("81.2.69.10".to_owned());
    a.resource_accessed = Some(["git", "wiki", "email"][(ms / HOUR % 3) as usize].to_owned());
    a.data_transferred_gb = 0.02 + (ms / HOUR % 5) as f64 * 0.01;
    a.duration_seconds = 120.0;
    a.user_agent = Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)".to_owned());
    a
}

/// An engine where `user` (and a few colleagues) worked 09:00–17:00 UTC in London for three
/// weeks of weekdays.
pub(super) fn trained(user: &str) -> UebaEngine {
    trained_with(user, UebaConfig::default())
}

/// [`trained`] with another configuration.
pub(super) fn trained_with(user: &str, cfg: UebaConfig) -> UebaEngine {
    let mut e = UebaEngine::new(cfg).unwrap();
    for d in 0..21 {
        if d % 7 >= 5 {
            continue;
        }
        for h in 9..17 {
            for u in [user, "colleague1", "colleague2"] {
                let s = e.score(&event(u, T0 + d * DAY + h * HOUR + 600_000, &LONDON), false);
                assert!(
                    s.threat_level < ThreatLevel::High,
                    "history must not alert: {s:?}"
                );
            }
        }
    }
    e
}

/// The next working day (day 21 is a Monday) at `hour` UTC.
pub(super) fn next_day(hour: i64) -> i64 {
    T0 + 21 * DAY + hour * HOUR
}

fn types(s: &ThreatScore) -> Vec<AnomalyType> {
    s.anomalies.iter().map(|a| a.kind).collect()
}

#[test]
fn first_event_of_a_user_is_learning_and_quiet() {
    let mut e = UebaEngine::new(UebaConfig::default()).unwrap();
    let s = e.score(&event("new", T0, &LONDON), true);
    assert!(s.learning);
    assert_eq!(s.threat_level, ThreatLevel::Low);
    assert!(s.anomalies.is_empty());
    assert!(s.confidence < 0.5);
    assert!(s.explanation.contains("no history"), "{}", s.explanation);
}

#[test]
fn ordinary_activity_is_low() {
    let mut e = trained("alice");
    let s = e.score(&event("alice", next_day(11), &LONDON), false);
    assert_eq!(s.threat_level, ThreatLevel::Low, "{s:?}");
    assert!(!s.learning);
    assert!(s.explanation.starts_with("No anomalies"));
}

#[test]
fn impossible_travel_names_places_distance_and_speed() {
    let mut e = trained("alice");
    e.score(&event("alice", next_day(10), &LONDON), false);
    let s = e.score(&event("alice", next_day(10) + 20 * 60_000, &LAGOS), false);
    assert!(s.impossible_travel_detected);
    assert_eq!(s.primary_anomalies[0], AnomalyType::ImpossibleTravel);
    assert!(s.threat_level >= ThreatLevel::High);
    let d = &s.anomalies[0].detail;
    assert!(
        d.contains("Lagos, NG")
            && d.contains("London, GB")
            && d.contains("20 min")
            && d.contains("km/h"),
        "{d}"
    );
}

#[test]
fn equal_timestamps_far_apart_are_impossible_not_a_division_by_zero() {
    let mut e = trained("alice");
    let t = next_day(10);
    e.score(&event("alice", t, &LONDON), false);
    let s = e.score(&event("alice", t, &LAGOS), false);
    assert!(s.impossible_travel_detected);
    assert!(s.threat_score.is_finite() && s.threat_score <= 100.0);
}

#[test]
fn plausible_trips_and_short_hops_are_not_impossible() {
    let mut e = trained("alice");
    e.score(&event("alice", next_day(9), &LONDON), false);
    // London → Paris (344 km) in 20 minutes: under the minimum distance, GPS/IP imprecision.
    let s = e.score(&event("alice", next_day(9) + 20 * 60_000, &PARIS), false);
    assert!(!s.impossible_travel_detected);
    // London → Lagos in 8 hours: 625 km/h, a flight.
    let mut e = trained("bob");
    e.score(&event("bob", next_day(8), &LONDON), false);
    let s = e.score(&event("bob", next_day(16), &LAGOS), false);
    assert!(!s.impossible_travel_detected);
    assert!(types(&s).contains(&AnomalyType::NewLocation));
}

#[test]
fn crossing_the_antimeridian_is_a_short_hop() {
    let fiji = Place {
        name: "Suva, FJ",
        lat: -18.1416,
        lon: 178.4419,
    };
    let east = Place {
        name: "Taveuni, FJ",
        lat: -16.8,
        lon: -179.97,
    };
    let mut e = UebaEngine::new(UebaConfig::default()).unwrap();
    for d in 0..10 {
        for h in 0..6 {
            e.score(&event("fj", T0 + d * DAY + h * HOUR, &fiji), false);
        }
    }
    // 230 km across the dateline in one hour: not impossible (a naive longitude difference
    // would make it ~38,000 km).
    let s = e.score(&event("fj", T0 + 10 * DAY + HOUR, &east), false);
    assert!(!s.impossible_travel_detected, "{s:?}");
}

#[test]
fn unusual_time_at_night_versus_working_late() {
    let mut e = trained("alice");
    let s = e.score(&event("alice", next_day(3), &LONDON), false);
    assert!(s.unusual_time_detected, "{s:?}");
    assert_eq!(s.primary_anomalies[0], AnomalyType::UnusualTime);
    assert!(s.threat_level >= ThreatLevel::High, "{s:?}");
    assert!(
        s.anomalies[0].detail.contains("03:00 local time"),
        "{}",
        s.anomalies[0].detail
    );

    // A session that starts at 16:00 and runs to 21:00 is someone working late: flagged,
    // but weaker than a session that starts at 03:00.
    let mut e = trained("bob");
    let mut t = next_day(16);
    let mut late = None;
    while t <= next_day(21) {
        late = Some(e.score(&event("bob", t, &LONDON), false));
        t += 30 * 60_000;
    }
    let late = late.unwrap();
    assert!(late.unusual_time_detected);
    assert!(late.threat_level < ThreatLevel::High, "{late:?}");
    assert!(late.anomalies[0].detail.contains("working late"));
}

#[test]
fn unusual_volume_and_uploads_weigh_less() {
    let mut e = trained("alice");
    let mut big = event("alice", next_day(11), &LONDON);
    big.activity_type = ActivityType::Download;
    big.data_transferred_gb = 5.0;
    let s = e.score(&big, false);
    assert!(s.unusual_volume_detected);
    assert!(s.threat_level >= ThreatLevel::High, "{s:?}");
    assert!(s.explanation.contains("5.00 GB"));

    let mut e = trained("bob");
    let mut up = event("bob", next_day(11), &LONDON);
    up.activity_type = ActivityType::Upload;
    up.data_transferred_gb = 5.0;
    let u = e.score(&up, false);
    assert!(u.unusual_volume_detected);
    assert!(u.threat_score < s.threat_score);
}

#[test]
fn zero_variance_volume_is_not_infinite() {
    let mut e = UebaEngine::new(UebaConfig::default()).unwrap();
    for d in 0..10 {
        for h in 9..15 {
            let mut a = event("flat", T0 + d * DAY + h * HOUR, &LONDON);
            a.data_transferred_gb = 0.5;
            e.score(&a, false);
        }
    }
    let mut same = event("flat", T0 + 10 * DAY + 10 * HOUR, &LONDON);
    same.data_transferred_gb = 0.5;
    assert!(!e.score(&same, false).unusual_volume_detected);
    let mut crumb = same.clone();
    crumb.timestamp = Timestamp(crumb.timestamp.millis() + 60_000);
    crumb.data_transferred_gb = 0.52; // a tiny change: below the minimum excess
    assert!(!e.score(&crumb, false).unusual_volume_detected);
    let mut lots = same.clone();
    lots.timestamp = Timestamp(lots.timestamp.millis() + 120_000);
    lots.data_transferred_gb = 40.0;
    let s = e.score(&lots, false);
    assert!(s.unusual_volume_detected);
    assert!(s.threat_score.is_finite());
}

#[test]
fn unusual_resources_weigh_sensitivity_and_organisation_rarity() {
    let mut e = trained("alice");
    let mut secret = event("alice", next_day(11), &LONDON);
    secret.resource_accessed = Some("secrets-vault".into());
    let s = e.score(&secret, false);
    assert!(s.unusual_resources_detected);
    assert!(s.threat_level >= ThreatLevel::High, "{s:?}");
    assert!(
        s.anomalies[0].detail.contains("(sensitive)")
            && s.anomalies[0].detail.contains("never used by anyone else")
    );

    let mut plain = event("alice", next_day(12), &LONDON);
    plain.resource_accessed = Some("lunch-menu".into());
    let p = e.score(&plain, false);
    assert!(p.unusual_resources_detected);
    assert!(p.threat_level < ThreatLevel::Medium, "{p:?}");
}

#[test]
fn new_device_with_a_script_agent_scores_higher_than_a_new_laptop() {
    let mut e = trained("alice");
    let mut laptop = event("alice", next_day(10), &LONDON);
    laptop.device_fingerprint = Some("brand-new".into());
    let l = e.score(&laptop, false);
    assert_eq!(types(&l), vec![AnomalyType::NewDevice]);
    assert!(l.threat_level < ThreatLevel::High);

    let mut e = trained("bob");
    let mut script = event("bob", next_day(10), &LONDON);
    script.device_fingerprint = Some("evil".into());
    script.device_name = Some("unknown".into());
    script.user_agent = Some("python-requests/2.31.0".into());
    let s = e.score(&script, false);
    assert!(s.threat_score > l.threat_score);
    assert!(
        s.anomalies
            .iter()
            .any(|a| a.detail.contains("script or HTTP library"))
    );
}

#[test]
fn failed_login_burst_then_success_from_the_same_network() {
    let mut e = trained("alice");
    let mut t = next_day(4);
    let mut last = None;
    for _ in 0..12 {
        let mut f = event("alice", t, &LAGOS);
        f.activity_type = ActivityType::Login;
        f.success = false;
        f.ip_address = Some("102.89.1.7".into());
        last = Some(e.score(&f, false));
        t += 20_000;
    }
    let last = last.unwrap();
    assert!(types(&last).contains(&AnomalyType::FailedLoginBurst));
    let mut ok = event("alice", t, &LAGOS);
    ok.activity_type = ActivityType::Login;
    ok.ip_address = Some("102.89.1.99".into());
    let s = e.score(&ok, false);
    assert_eq!(s.primary_anomalies[0], AnomalyType::FailedLoginBurst);
    assert_eq!(s.threat_level, ThreatLevel::Critical, "{s:?}");
    assert!(s.anomalies[0].detail.contains("same network"));
}

#[test]
fn a_few_failures_are_not_a_burst() {
    let mut e = trained("alice");
    for i in 0..3 {
        let mut f = event("alice", next_day(9) + i * 30_000, &LONDON);
        f.activity_type = ActivityType::Login;
        f.success = false;
        assert!(!types(&e.score(&f, false)).contains(&AnomalyType::FailedLoginBurst));
    }
}

/// Three or four failures and then a success, all from one network the user never used:
/// a short stuffing run that worked. The same failures from the user's own network, or a
/// success from another network than the failures', are a user fumbling a password.
#[test]
fn a_success_after_a_few_failures_from_a_new_network_is_named() {
    let attempt = |e: &mut UebaEngine, t: i64, ip: &str, success: bool| {
        let mut a = event("alice", t, &LAGOS);
        a.activity_type = ActivityType::Login;
        a.success = success;
        a.ip_address = Some(ip.into());
        e.score(&a, false)
    };
    let named = |s: &ThreatScore| {
        s.anomalies
            .iter()
            .find(|a| a.kind == AnomalyType::FailedLoginBurst)
            .map(|a| a.detail.clone())
    };
    for failures in [3, 4] {
        let mut e = trained("alice");
        let t = next_day(10);
        for i in 0..failures {
            attempt(&mut e, t + i * 20_000, "102.89.1.7", false);
        }
        let s = attempt(&mut e, t + 120_000, "102.89.1.8", true);
        let detail = named(&s).unwrap_or_else(|| panic!("{s:?}"));
        assert!(
            detail.contains(&format!("after {failures} failed attempts")),
            "{detail}"
        );
        assert!(detail.contains("never used"), "{detail}");
    }
    // Two failures are a typo.
    let mut e = trained("alice");
    let t = next_day(10);
    for i in 0..2 {
        attempt(&mut e, t + i * 20_000, "102.89.1.7", false);
    }
    assert_eq!(
        named(&attempt(&mut e, t + 120_000, "102.89.1.7", true)),
        None
    );
    // From the user's own network: the user.
    let mut e = trained("alice");
    for i in 0..4 {
        let mut a = event("alice", t + i * 20_000, &LONDON);
        a.activity_type = ActivityType::Login;
        a.success = false;
        e.score(&a, false);
    }
    let mut ok = event("alice", t + 120_000, &LONDON);
    ok.activity_type = ActivityType::Login;
    assert_eq!(named(&e.score(&ok, false)), None);
    // The failures from one network, the success from another.
    let mut e = trained("alice");
    for i in 0..4 {
        attempt(&mut e, t + i * 20_000, "102.89.1.7", false);
    }
    assert_eq!(
        named(&attempt(&mut e, t + 120_000, "41.58.3.3", true)),
        None
    );
    // And the setting turns it off.
    let mut cfg = UebaConfig::default();
    cfg.failures.success_after_few = 0;
    let mut e = trained_with("alice", cfg);
    for i in 0..4 {
        attempt(&mut e, t + i * 20_000, "102.89.1.7", false);
    }
    assert_eq!(
        named(&attempt(&mut e, t + 120_000, "102.89.1.7", true)),
        None
    );
}

#[test]
fn alerts_do_not_teach_the_baseline() {
    let mut e = trained("alice");
    let before = e.user("alice").unwrap().profile.clone();
    let mut takeover = event("alice", next_day(3), &LAGOS);
    takeover.device_fingerprint = Some("attacker".into());
    takeover.resource_accessed = Some("secrets-vault".into());
    let s = e.score(&takeover, false);
    assert!(s.threat_level >= ThreatLevel::High);
    assert_eq!(
        e.user("alice").unwrap().profile,
        before,
        "a HIGH event must not be learned"
    );
    assert_eq!(e.counters().quarantined, 1);
    // The same behaviour again is still just as anomalous.
    takeover.timestamp = Timestamp(takeover.timestamp.millis() + 60_000);
    let again = e.score(&takeover, false);
    assert!(again.threat_level >= ThreatLevel::High);
}

#[test]
fn behavioural_deviation_reports_several_deviating_features() {
    let mut e = trained("alice");
    let mut odd = event("alice", next_day(3) + 2 * DAY + 5 * DAY, &LAGOS); // a Sunday night
    odd.device_fingerprint = Some("other".into());
    odd.ip_address = Some("102.89.1.7".into());
    odd.resource_accessed = Some("backup-vault".into());
    let s = e.score(&odd, true);
    assert!(s.behavioral_deviation_score >= 0.6, "{s:?}");
    assert!(types(&s).contains(&AnomalyType::BehavioralDeviation));
    assert_eq!(s.threat_level, ThreatLevel::Critical);
}

#[test]
fn baselines_stay_under_two_kilobytes() {
    let mut e = trained("alice");
    for i in 0..500 {
        let mut a = event("alice", next_day(9) + i * 60_000, &LONDON);
        a.resource_accessed = Some(format!("resource-{i}"));
        a.device_fingerprint = Some(format!("device-{}", i % 40));
        a.ip_address = Some(format!("10.{}.{}.1", i % 200, i / 200));
        e.score(&a, false);
    }
    let bytes = e.user("alice").unwrap().memory_bytes();
    assert!(bytes < 2048, "{bytes} bytes");
}

fn arb_place() -> impl Strategy<Value = (f64, f64)> {
    (-90.0f64..=90.0, -180.0f64..=180.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the events, every feature is in [0, 1] and the score in [0, 100].
    #[test]
    fn features_and_scores_stay_in_range(
        events in proptest::collection::vec(
            (0i64..40 * DAY, arb_place(), 0u8..4, 0.0f64..50.0, any::<bool>(), 0u8..6, 0.0f64..1e5),
            1..120,
        )
    ) {
        let mut e = UebaEngine::new(UebaConfig::default()).unwrap();
        let mut sorted = events;
        sorted.sort_by_key(|x| x.0);
        for (offset, (lat, lon), user, gb, ok, res, dur) in sorted {
            let mut a = UserActivity::new(format!("u{user}"), ActivityType::Login, Timestamp(T0 + offset));
            a.latitude = Some(lat);
            a.longitude = Some(lon);
            a.location = Some(format!("{:.0},{:.0}", lat, lon));
            a.device_fingerprint = Some(format!("d{}", res % 3));
            a.resource_accessed = Some(format!("r{res}"));
            a.data_transferred_gb = gb;
            a.duration_seconds = dur;
            a.success = ok;
            let s = e.score(&a, true);
            let f = s.features.unwrap();
            prop_assert!(f.iter().all(|v| (0.0..=1.0).contains(v)), "{:?}", f);
            prop_assert!((0.0..=100.0).contains(&s.threat_score));
            prop_assert!((0.0..=1.0).contains(&s.confidence));
            prop_assert!((0.0..=1.0).contains(&s.behavioral_deviation_score));
        }
    }
}

#[test]
fn password_spraying_across_accounts_is_seen_from_the_source() {
    let mut e = UebaEngine::new(UebaConfig::default()).unwrap();
    // Ten users with ordinary history.
    for d in 0..10 {
        for h in 9..13 {
            for u in 0..10 {
                e.score(
                    &event(&format!("user{u}"), T0 + d * DAY + h * HOUR, &LONDON),
                    false,
                );
            }
        }
    }
    let t = T0 + 10 * DAY + 3 * HOUR;
    let mut last = None;
    for u in 0..8 {
        // One attempt per account: no per-account burst is possible.
        let mut f = event(&format!("user{u}"), t + u * 15_000, &LAGOS);
        f.activity_type = ActivityType::Login;
        f.success = false;
        f.ip_address = Some("102.89.1.7".into());
        let s = e.score(&f, false);
        if u < 4 {
            assert!(
                !types(&s).contains(&AnomalyType::FailedLoginBurst),
                "account {u}: {s:?}"
            );
        }
        last = Some(s);
    }
    let last = last.unwrap();
    let burst = last
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyType::FailedLoginBurst)
        .expect("spray seen");
    assert!(burst.detail.contains("8 accounts"), "{}", burst.detail);

    // A later success from the spraying network, on an account it tried.
    let mut ok = event("user8", t + 10 * 60_000, &LAGOS);
    ok.activity_type = ActivityType::Login;
    ok.ip_address = Some("102.89.1.200".into());
    let s = e.score(&ok, false);
    assert!(types(&s).contains(&AnomalyType::FailedLoginBurst), "{s:?}");
    assert!(s.threat_level >= ThreatLevel::High, "{s:?}");
}

#[test]
fn replayed_and_out_of_order_events_are_not_learned_twice() {
    let mut e = trained("alice");
    let before = e.user("alice").unwrap().profile.clone();
    // Replaying the history: every event is older than what the baseline holds.
    for h in 9..12 {
        e.score(
            &event("alice", T0 + 2 * DAY + h * HOUR + 600_000, &LONDON),
            false,
        );
    }
    assert_eq!(e.user("alice").unwrap().profile, before);
    assert_eq!(e.counters().out_of_order, 3);
}

#[test]
fn users_beyond_the_limit_are_scored_but_not_kept() {
    let mut cfg = UebaConfig::default();
    cfg.limits.max_users = 2;
    let mut e = UebaEngine::new(cfg).unwrap();
    for u in ["a", "b", "c", "d"] {
        let s = e.score(&event(u, T0, &LONDON), false);
        assert_eq!(s.user_id, u);
    }
    assert_eq!(e.user_count(), 2);
    assert_eq!(e.counters().untracked, 2);
}

#[test]
fn new_location_weighs_country_and_organisation_rarity() {
    let berlin = Place {
        name: "Berlin, DE",
        lat: 52.52,
        lon: 13.405,
    };
    let manchester = Place {
        name: "Manchester, GB",
        lat: 53.48,
        lon: -2.24,
    };
    let mut e = trained("alice");
    // Colleagues know Berlin (another office).
    for d in 0..3 {
        for u in ["colleague1", "colleague2"] {
            e.score(&event(u, T0 + (22 + d) * DAY + 10 * HOUR, &berlin), false);
        }
    }
    // A new city in a known country: weaker than a new country.
    let city = e.score(&event("alice", next_day(9) + 4 * DAY, &manchester), false);
    let city_conf = city
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyType::NewLocation)
        .unwrap()
        .confidence;
    assert!(
        city.anomalies[0].detail.contains("new city for this user"),
        "{city:?}"
    );
    // A new country nobody in the organisation uses, versus one colleagues use.
    let mut e2 = trained("bob");
    for d in 0..3 {
        for u in ["colleague1", "colleague2"] {
            e2.score(&event(u, T0 + (22 + d) * DAY + 10 * HOUR, &berlin), false);
        }
    }
    let office = e2.score(&event("bob", next_day(9) + 4 * DAY, &berlin), false);
    let office_conf = office
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyType::NewLocation)
        .unwrap();
    assert!(
        office_conf.detail.contains("seen for 2 other users"),
        "{}",
        office_conf.detail
    );
    let mut e3 = trained("carol");
    let nowhere = Place {
        name: "Reykjavik, IS",
        lat: 64.15,
        lon: -21.94,
    };
    let rare = e3.score(&event("carol", next_day(9) + 4 * DAY, &nowhere), false);
    let rare_conf = rare
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyType::NewLocation)
        .unwrap();
    assert!(rare_conf.detail.contains("never seen in the organisation"));
    assert!(rare_conf.confidence > office_conf.confidence);
    assert!(rare_conf.confidence > city_conf);
    // A location without a country code is still a new location.
    let mut e4 = trained("dan");
    let bare = Place {
        name: "Atlantis",
        lat: 30.0,
        lon: -30.0,
    };
    let s = e4.score(&event("dan", next_day(9) + 4 * DAY, &bare), false);
    assert!(types(&s).contains(&AnomalyType::NewLocation));
}
