//! Peer groups and session compounding through the whole engine: a team's tools against
//! another team's, a user who changes team, a group of one, and first accesses that add up
//! within a session (in order, not across a gap, across midnight), and a first access made
//! while at the user's own work.

use super::UebaEngine;
use super::tests::{DAY, HOUR, LONDON, event};
use crate::UebaConfig;
use warden_event::{AnomalyType, ThreatLevel, ThreatScore, Timestamp, UserActivity};

/// 2026-03-02T00:00:00Z, a Monday.
const T0: i64 = 1_772_409_600_000;
const MINUTE: i64 = 60_000;

const ENGINEERING: [&str; 4] = ["repo", "build", "tracker", "staging"];
const FINANCE: [&str; 4] = ["ledger", "invoices", "tax-portal", "forecast"];
const SALES: [&str; 3] = ["crm", "quotes", "contracts"];

/// An event of `user` on `resource` at `ms`.
fn at(user: &str, ms: i64, resource: &str) -> UserActivity {
    let mut a = event(user, ms, &LONDON);
    a.resource_accessed = Some(resource.to_owned());
    a
}

/// Three weeks of weekdays from 09:00: each of three teams' users works with the team's
/// tools and mail, every tool every day. `extra` users have their own tools and first hour.
fn company(extra: &[(&str, Vec<&str>, i64)]) -> UebaEngine {
    let mut users: Vec<(String, Vec<&str>, i64)> = Vec::new();
    for i in 0..8 {
        users.push((format!("eng{i}"), [&ENGINEERING[..], &["mail"]].concat(), 9));
        users.push((format!("fin{i}"), [&FINANCE[..], &["mail"]].concat(), 9));
        users.push((format!("sal{i}"), [&SALES[..], &["mail"]].concat(), 9));
    }
    users.extend(
        extra
            .iter()
            .map(|(u, t, h)| ((*u).to_owned(), t.clone(), *h)),
    );
    let mut e = UebaEngine::new(UebaConfig::default()).unwrap();
    for d in (0..21).filter(|d| d % 7 < 5) {
        for (n, (user, tools, hour)) in users.iter().enumerate() {
            for (k, tool) in tools.iter().enumerate() {
                let ms = T0 + d * DAY + hour * HOUR + (k as i64 * 20 + n as i64) * MINUTE;
                e.score(&at(user, ms, tool), false);
            }
        }
    }
    e
}

/// Day 21 (a Monday), `minutes` after 09:00.
fn monday(minutes: i64) -> i64 {
    T0 + 21 * DAY + 9 * HOUR + minutes * MINUTE
}

fn resource_finding(s: &ThreatScore) -> &warden_event::Anomaly {
    s.anomalies
        .iter()
        .find(|a| a.kind == AnomalyType::UnusualResources)
        .unwrap_or_else(|| panic!("no resource finding: {s:?}"))
}

#[test]
fn peers_form_from_the_tools_used_together() {
    let mut e = company(&[]);
    // Another team's tool: none of the engineer's peers uses it.
    let other = e.score(&at("eng0", monday(5), "ledger"), false);
    let d = &resource_finding(&other).detail;
    assert!(d.contains("0 of 7 peers (the other users of "), "{d}");
    assert!(d.contains("used by 8 of"), "{d}");
    // The same share of the company, but the engineer's peers' tool: less alarming.
    let mut e = company(&[("eng8", vec!["repo", "build", "mail"], 9)]);
    let own = e.score(&at("eng8", monday(5), "tracker"), false);
    let d = &resource_finding(&own).detail;
    assert!(d.contains("8 of 8 peers"), "{d}");
    assert!(own.threat_score < other.threat_score, "{own:?} {other:?}");
}

#[test]
fn a_user_who_changed_team_has_the_new_teams_peers() {
    // Moved from engineering to finance: three weeks of both teams' tools.
    let mover = [&ENGINEERING[..], &FINANCE[..2], &["mail"]].concat();
    let mut e = company(&[("mover", mover, 9)]);
    let s = e.score(&at("mover", monday(5), "tax-portal"), false);
    let d = &resource_finding(&s).detail;
    assert!(d.contains("8 of 8 peers"), "{d}");
    assert!(s.threat_level < ThreatLevel::Medium, "{s:?}");
}

#[test]
fn a_group_of_one_falls_back_to_the_organisation() {
    let mut e = company(&[("solo", vec!["lab-scope", "mail"], 9)]);
    let s = e.score(&at("solo", monday(5), "ledger"), false);
    let d = &resource_finding(&s).detail;
    assert!(
        !d.contains("peers"),
        "mail is everyone's and lab-scope no one else's: {d}"
    );
    assert!(d.contains("used by 8 of"), "{d}");
}

#[test]
fn first_accesses_in_one_session_compound_and_cite_each_other() {
    let mut e = company(&[]);
    let first = e.score(&at("eng0", monday(5), "ledger"), false);
    let second = e.score(&at("eng0", monday(25), "invoices"), false);
    assert!(
        second.threat_score > first.threat_score,
        "{first:?} {second:?}"
    );
    let cited = second
        .anomalies
        .iter()
        .find(|a| a.detail.starts_with("earlier in this session"))
        .expect("the first access is cited");
    assert_eq!(
        cited.detail,
        format!(
            "earlier in this session: first access to ledger at 09:05 UTC (event eng0-{}, confidence {:.2})",
            monday(5),
            resource_finding(&first).confidence
        )
    );
    // Cited by id as well, and the alert rests on the cited event too.
    let id = format!("eng0-{}", monday(5));
    assert_eq!(second.cited_events, std::slice::from_ref(&id));
    let alert = warden_event::Alert::from_threat_score("default", &second);
    assert!(alert.evidence.iter().any(|e| {
        e.role == warden_event::EvidenceRole::Contributor
            && e.reference
                == warden_event::EventRef::EventId {
                    event_id: id.clone(),
                }
    }));
    // Order matters: the first event of a session has nothing to compound with.
    assert!(
        !first
            .anomalies
            .iter()
            .any(|a| a.detail.starts_with("earlier"))
    );
    assert!(first.cited_events.is_empty());
}

#[test]
fn a_gap_ends_the_session_and_midnight_does_not() {
    let mut e = company(&[]);
    e.score(&at("eng0", monday(5), "ledger"), false);
    // Three hours later (more than the two-hour session gap): a new session.
    let later = e.score(&at("eng0", monday(185), "invoices"), false);
    assert!(
        !later
            .anomalies
            .iter()
            .any(|a| a.detail.starts_with("earlier")),
        "{later:?}"
    );
    // A late worker's session across midnight: 23:40 and 00:10 are one session.
    let late = [&ENGINEERING[..], &["mail"]].concat();
    let mut e = company(&[("late", late, 22)]);
    let night = |minutes: i64| T0 + 21 * DAY + 23 * HOUR + 40 * MINUTE + minutes * MINUTE;
    e.score(&at("late", night(0), "ledger"), false);
    let after = e.score(&at("late", night(30), "invoices"), false);
    assert_eq!(
        Timestamp(night(30)).to_rfc3339().get(..10),
        Some("2026-03-24")
    );
    assert!(
        after.anomalies.iter().any(|a| a
            .detail
            .starts_with("earlier in this session: first access to ledger at 23:40")),
        "{after:?}"
    );
}

#[test]
fn at_their_own_work_a_reach_into_another_teams_tools_says_more() {
    // The ledger is a third of the company's: read against the organisation it is barely
    // rare, and a session of mail alone says nothing of the user's team.
    let mut e = company(&[]);
    e.score(&at("eng0", monday(0), "mail"), false);
    let cold = e.score(&at("eng0", monday(5), "ledger"), false);
    assert!(
        !resource_finding(&cold).detail.contains("worked with"),
        "{cold:?}"
    );
    // At work on the team's repository first: read against the repository's users.
    let mut e = company(&[]);
    e.score(&at("eng0", monday(0), "repo"), false);
    let working = e.score(&at("eng0", monday(5), "ledger"), false);
    let found = resource_finding(&working);
    assert!(
        found.detail.ends_with(
            "; earlier in this session the user worked with repo: of its 7 other users, none ever used it"
        ),
        "{}",
        found.detail
    );
    assert!(found.confidence > resource_finding(&cold).confidence);
    // Alone it stays below HIGH, so it is learned and does not alert at every later use…
    assert!(working.threat_level < ThreatLevel::High, "{working:?}");
    // …and a second reach, into a third team's tools, compounds to HIGH.
    let second = e.score(&at("eng0", monday(25), "crm"), false);
    assert!(second.threat_level >= ThreatLevel::High, "{second:?}");
    // The next session starts without the work of the last.
    let next = e.score(&at("eng0", monday(200), "quotes"), false);
    assert!(
        !resource_finding(&next).detail.contains("worked with"),
        "{next:?}"
    );
}

#[test]
fn a_team_the_user_already_joined_is_not_another_team() {
    // Moved from engineering to finance: at work on the repository, the tax portal is still
    // the new team's tool, which all the user's finance peers use.
    let mover = [&ENGINEERING[..], &FINANCE[..2], &["mail"]].concat();
    let mut e = company(&[("mover", mover, 9)]);
    e.score(&at("mover", monday(0), "repo"), false);
    let s = e.score(&at("mover", monday(5), "tax-portal"), false);
    let d = &resource_finding(&s).detail;
    assert!(!d.contains("worked with"), "{d}");
    assert!(s.threat_level < ThreatLevel::Medium, "{s:?}");
}
