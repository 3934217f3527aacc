//! Sessions at odd hours through the whole engine: a session at an hour the user is never
//! active keeps that hour unusual while it runs (its hours are learned when it ends, unless
//! it alerted), and, when a sign-in opened it, grows more certain the longer it runs.

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

/// `session`, opened by a successful login at `from`.
fn signed_in_session(e: &mut UebaEngine, user: &str, from: i64, minutes: i64) -> Vec<ThreatScore> {
    let mut login = event(user, from - MINUTE, &LONDON);
    login.activity_type = ActivityType::Login;
    let mut all = vec![e.score(&login, false)];
    all.extend(session(e, user, from, minutes));
    all
}

#[test]
fn a_session_signed_into_at_night_grows_more_certain() {
    // Alice works 09–17 UTC. Signed in at 19:00, her first events are MEDIUM at most; a
    // few minutes of work make the session as certain as deliberate work at that hour.
    let mut e = trained("alice");
    let night = signed_in_session(&mut e, "alice", next_day(19), 45);
    let (first, last) = (&night[0], &night[night.len() - 1]);
    assert!(first.threat_level < ThreatLevel::High, "{first:?}");
    assert!(last.threat_level >= ThreatLevel::High, "{last:?}");
    assert!(
        odd_hour(last) > odd_hour(first) + 0.1,
        "{first:?}\n{last:?}"
    );
    assert!(
        last.anomalies[0].detail.contains("has run 46 min"),
        "{last:?}"
    );
    // It cites an earlier event of the same session.
    let earlier: Vec<String> = night[..night.len() - 1]
        .iter()
        .filter_map(|s| s.event_id.clone())
        .collect();
    assert_eq!(last.cited_events.len(), 1, "{last:?}");
    assert!(earlier.contains(&last.cited_events[0]), "{last:?}");
    // The longer it runs, the more certain: never less certain than a moment before.
    let odd: Vec<f32> = night.iter().map(odd_hour).collect();
    assert!(odd.windows(2).all(|w| w[1] >= w[0] - 1e-6), "{odd:?}");
}

#[test]
fn activity_resumed_without_signing_in_does_not_grow() {
    // The same hour and length, but the session began with a file read after a pause (a
    // laptop woken up, someone back at their desk): it stays as certain as it began.
    let mut e = trained("alice");
    let night = session(&mut e, "alice", next_day(19), 45);
    assert!(odd_hour(&night[0]) > 0.0, "{:?}", night[0]);
    assert!(odd_hour(&night[night.len() - 1]) <= odd_hour(&night[0]) + 1e-6);
    assert!(night.iter().all(|s| s.threat_level < ThreatLevel::High));

    // Off (0 minutes): a signed-in session stays as certain as it began too.
    let mut cfg = UebaConfig::default();
    cfg.time.odd_session_minutes = 0.0;
    let mut e = trained_with("alice", cfg);
    let night = signed_in_session(&mut e, "alice", next_day(19), 45);
    assert!(odd_hour(&night[night.len() - 1]) <= odd_hour(&night[1]) + 1e-6);
}

#[test]
fn working_late_never_grows() {
    // A session signed into within the usual day that runs four hours late.
    let mut e = trained("bob");
    let late = signed_in_session(&mut e, "bob", next_day(16), 240);
    let odd: Vec<f32> = late.iter().map(odd_hour).filter(|c| *c > 0.0).collect();
    assert!(!odd.is_empty());
    assert!(late.iter().all(|s| s.threat_level < ThreatLevel::High));
    assert!(
        late.iter()
            .all(|s| !s.anomalies.iter().any(|a| a.detail.contains("has run")))
    );
}

/// `user` signs out at `at`.
fn sign_out(e: &mut UebaEngine, user: &str, at: i64) -> ThreatScore {
    let mut out = event(user, at, &LONDON);
    out.activity_type = ActivityType::Logout;
    e.score(&out, false)
}

/// Alice's working afternoon, 16:00–17:00 UTC (she works 09–17).
fn afternoon(e: &mut UebaEngine) {
    session(e, "alice", next_day(16), 60);
}

#[test]
fn a_sign_in_after_signing_out_opens_a_session_of_its_own() {
    // She signs out at 17:30 and signs in again at 18:59, within the two-hour session gap:
    // a new session at an hour she never works, judged as one, not as work running late.
    let mut e = trained("alice");
    afternoon(&mut e);
    sign_out(&mut e, "alice", next_day(17) + 30 * MINUTE);
    let back = signed_in_session(&mut e, "alice", next_day(19), 45);
    // The same evening with work instead of a sign-out at 17:30: working late.
    let mut f = trained("alice");
    afternoon(&mut f);
    f.score(&event("alice", next_day(17) + 30 * MINUTE, &LONDON), false);
    let late = signed_in_session(&mut f, "alice", next_day(19), 45);

    let last = &back[back.len() - 1];
    assert!(last.threat_level >= ThreatLevel::High, "{last:?}");
    assert!(late.iter().all(|s| s.threat_level < ThreatLevel::High));
    let said = &back[0].anomalies[0].detail;
    assert!(
        said.contains("signed out at 17:30 and signed in again 89 min later")
            && !said.contains("working late"),
        "{said}"
    );
    assert!(late[0].anomalies[0].detail.contains("working late"));
    assert!(odd_hour(&back[0]) > odd_hour(&late[0]));

    // Back after more than the session gap, the gap split the session: nothing to say of
    // the sign-out.
    let mut e = trained("alice");
    afternoon(&mut e);
    sign_out(&mut e, "alice", next_day(17));
    let gone = signed_in_session(&mut e, "alice", next_day(20), 10);
    assert!(
        !gone[0].anomalies[0].detail.contains("signed out"),
        "{:?}",
        gone[0]
    );
}

#[test]
fn a_quick_sign_in_or_anything_after_signing_out_continues_the_session() {
    // Back 20 minutes after signing out (a re-authentication, another device): the same
    // session, working late until 19:50.
    let mut e = trained("alice");
    afternoon(&mut e);
    sign_out(&mut e, "alice", next_day(17) + 30 * MINUTE);
    let quick = signed_in_session(&mut e, "alice", next_day(17) + 51 * MINUTE, 120);
    assert!(quick.iter().all(|s| s.threat_level < ThreatLevel::High));

    // Something she does after signing out (a sync, a tab left open): she had not left.
    let mut e = trained("alice");
    afternoon(&mut e);
    sign_out(&mut e, "alice", next_day(17) + 30 * MINUTE);
    e.score(&event("alice", next_day(17) + 40 * MINUTE, &LONDON), false);
    let later = signed_in_session(&mut e, "alice", next_day(19), 45);
    assert!(later.iter().all(|s| s.threat_level < ThreatLevel::High));
    assert!(later[0].anomalies[0].detail.contains("working late"));

    // A sign-out of 16:30 arriving late, after her 17:00 work: it was not her latest event.
    let mut e = trained("alice");
    afternoon(&mut e);
    sign_out(&mut e, "alice", next_day(16) + 30 * MINUTE);
    let stale = signed_in_session(&mut e, "alice", next_day(18) + 15 * MINUTE, 45);
    assert!(stale.iter().all(|s| s.threat_level < ThreatLevel::High));
    assert!(stale[0].anomalies[0].detail.contains("working late"));

    // Failed sign-ins are not something she did: a success after them still opens a
    // session of its own.
    let mut e = trained("alice");
    afternoon(&mut e);
    sign_out(&mut e, "alice", next_day(17) + 30 * MINUTE);
    let mut failed = event("alice", next_day(18) + 50 * MINUTE, &LONDON);
    failed.activity_type = ActivityType::Login;
    failed.success = false;
    e.score(&failed, false);
    let back = signed_in_session(&mut e, "alice", next_day(19), 45);
    assert!(back[back.len() - 1].threat_level >= ThreatLevel::High);

    // Off (0 minutes): as before, the gap alone starts sessions.
    let mut cfg = UebaConfig::default();
    cfg.time.relogin_pause_minutes = 0;
    let mut e = trained_with("alice", cfg);
    afternoon(&mut e);
    sign_out(&mut e, "alice", next_day(17) + 30 * MINUTE);
    let off = signed_in_session(&mut e, "alice", next_day(19), 45);
    assert!(off.iter().all(|s| s.threat_level < ThreatLevel::High));
}
