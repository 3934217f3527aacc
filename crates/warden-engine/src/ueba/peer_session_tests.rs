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

#[test]
fn first_accesses_before_the_users_own_work_are_read_again_at_it() {
    // Two of finance's tools opened with only mail before: the first day of a change of role
    // looks the same, so the pair stays below HIGH…
    let mut e = company(&[]);
    e.score(&at("eng0", monday(0), "mail"), false);
    let ledger = e.score(&at("eng0", monday(5), "ledger"), false);
    let invoices = e.score(&at("eng0", monday(25), "invoices"), false);
    assert!(ledger.threat_level < ThreatLevel::High, "{ledger:?}");
    assert!(invoices.threat_level < ThreatLevel::High, "{invoices:?}");
    // …until the user turns to their own work: not a new team's kit without the old one,
    // but another team's tools reached into. Both first accesses are read again and cited.
    let work = e.score(&at("eng0", monday(45), "repo"), false);
    assert!(work.threat_level >= ThreatLevel::High, "{work:?}");
    let ids = [
        format!("eng0-{}", monday(5)),
        format!("eng0-{}", monday(25)),
    ];
    assert!(
        ids.iter().all(|id| work.cited_events.contains(id)),
        "{work:?}"
    );
    let said = |resource: &str, clock: &str| {
        work.anomalies.iter().any(|a| {
            a.detail.starts_with(&format!(
                "earlier in this session: first access to {resource} at {clock} UTC"
            )) && a.detail.ends_with(
                ", before the user turned to their own work (the user worked with repo: of its 7 other users, none ever used it)",
            )
        })
    };
    assert!(
        said("ledger", "09:05") && said("invoices", "09:25"),
        "{work:?}"
    );
    // Said once: the rest of the work is the user's own.
    let more = e.score(&at("eng0", monday(50), "build"), false);
    assert!(more.anomalies.is_empty(), "{more:?}");
}

#[test]
fn one_first_access_before_the_work_is_not_said_again_but_weighs_more() {
    let mut e = company(&[]);
    e.score(&at("eng0", monday(0), "mail"), false);
    let ledger = e.score(&at("eng0", monday(5), "ledger"), false);
    let cold = resource_finding(&ledger).confidence;
    let work = e.score(&at("eng0", monday(25), "repo"), false);
    assert!(work.anomalies.is_empty(), "{work:?}");
    // A later reach carries the ledger as read at the work (0.65: none of the repository's
    // users uses it), not as first found.
    let next = e.score(&at("eng0", monday(45), "crm"), false);
    let carried = next
        .anomalies
        .iter()
        .find(|a| {
            a.detail
                .starts_with("earlier in this session: first access to ledger")
        })
        .unwrap_or_else(|| panic!("the ledger is carried: {next:?}"));
    assert!(carried.detail.contains("confidence 0.65)"), "{carried:?}");
    assert!(cold < 0.65, "{ledger:?}");
}

#[test]
fn the_users_own_teams_tools_are_not_read_again_at_work() {
    // Operators all use the vaults; a new operator who had not yet opened them is opening
    // their own team's tools, whatever order the session takes.
    let mut extra: Vec<(String, Vec<&str>, i64)> = (0..8)
        .map(|i| {
            let tools = vec!["ops-console", "prod-vault", "backup-vault", "mail"];
            (format!("ops{i}"), tools, 9)
        })
        .collect();
    extra.push(("newop".to_owned(), vec!["ops-console", "mail"], 9));
    let extra: Vec<(&str, Vec<&str>, i64)> = extra
        .iter()
        .map(|(u, t, h)| (u.as_str(), t.clone(), *h))
        .collect();
    let mut e = company(&extra);
    e.score(&at("newop", monday(0), "mail"), false);
    e.score(&at("newop", monday(5), "prod-vault"), false);
    let second = e.score(&at("newop", monday(25), "backup-vault"), false);
    assert!(second.threat_level < ThreatLevel::High, "{second:?}");
    let work = e.score(&at("newop", monday(45), "ops-console"), false);
    assert!(
        !work.anomalies.iter().any(|a| a
            .detail
            .contains("before the user turned to their own work")),
        "{work:?}"
    );
    assert!(work.threat_level < ThreatLevel::High, "{work:?}");
}

#[test]
fn at_their_own_work_one_other_teams_kit_is_not_a_change_of_role() {
    // Two of finance's tools, which every finance user holds together: picked up as a whole
    // kit they are what a change of role looks like, and compound at `session_carry`…
    let mut e = company(&[]);
    e.score(&at("eng0", monday(0), "mail"), false);
    e.score(&at("eng0", monday(5), "ledger"), false);
    let cold = e.score(&at("eng0", monday(25), "invoices"), false);
    let kit = |s: &ThreatScore| {
        s.anomalies
            .iter()
            .find(|a| {
                a.detail
                    .starts_with("earlier in this session: first access to ledger")
            })
            .map(|a| a.detail.clone())
            .unwrap_or_else(|| panic!("the ledger is carried: {s:?}"))
    };
    assert!(!kit(&cold).contains("own work"), "{cold:?}");
    // …but reached from the user's own work they are another team's tools: carried at
    // `session_carry_unrelated`, and said so.
    let mut e = company(&[]);
    e.score(&at("eng0", monday(0), "repo"), false);
    e.score(&at("eng0", monday(5), "ledger"), false);
    let working = e.score(&at("eng0", monday(25), "invoices"), false);
    assert!(
        kit(&working).ends_with("; one team's tools, reached from the user's own work"),
        "{working:?}"
    );
    assert!(
        working.threat_score > cold.threat_score,
        "{working:?} {cold:?}"
    );
    assert!(working.threat_level >= ThreatLevel::High, "{working:?}");
}

#[test]
fn the_work_reads_first_accesses_again_and_carries_the_rest_once() {
    let mut e = company(&[]);
    let big = |user: &str, ms: i64, resource: &str| {
        let mut a = at(user, ms, resource);
        a.data_transferred_gb = 0.16;
        a
    };
    e.score(&at("eng0", monday(0), "mail"), false);
    e.score(&at("eng0", monday(5), "ledger"), false);
    let transfer = e.score(&big("eng0", monday(15), "mail"), false);
    assert!(
        transfer.threat_level < ThreatLevel::High
            && transfer
                .anomalies
                .iter()
                .any(|a| a.kind == AnomalyType::UnusualVolume),
        "{transfer:?}"
    );
    e.score(&at("eng0", monday(25), "invoices"), false);
    // The work begins with a big transfer of its own: the first accesses are read again,
    // the earlier transfer is carried into the new one, and each is cited once.
    let work = e.score(&big("eng0", monday(45), "repo"), false);
    let ids = [monday(5), monday(15), monday(25)].map(|ms| format!("eng0-{ms}"));
    for id in &ids {
        let times = work.cited_events.iter().filter(|c| *c == id).count();
        assert_eq!(times, 1, "{id} in {work:?}");
    }
    let earlier = |start: &str| {
        work.anomalies
            .iter()
            .filter(|a| a.detail.starts_with(start))
            .count()
    };
    assert_eq!(
        earlier("earlier in this session: first access to ledger"),
        1
    );
    assert_eq!(
        earlier("earlier in this session: first access to invoices"),
        1
    );
    assert_eq!(
        earlier("earlier in this session: unusual volume"),
        1,
        "{work:?}"
    );
}
