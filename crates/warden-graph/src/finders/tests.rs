//! The finders on small hand-made networks: a chain, a star, a role change, legitimate
//! administration, replayed and out-of-order events, equal timestamps.

use proptest::prelude::*;
use warden_event::{Alert, AlertDetail, EventRef, ThreatLevel, Timestamp};

use super::{HuntConfig, Hunter};
use crate::event::{Action, GraphEvent};

const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

struct World {
    events: Vec<GraphEvent>,
    record: u64,
}

impl World {
    fn new() -> Self {
        World {
            events: Vec::new(),
            record: 0,
        }
    }

    fn push(
        &mut self,
        t: i64,
        action: Action,
        host: &str,
        f: impl FnOnce(&mut GraphEvent),
    ) -> EventRef {
        self.record += 1;
        let r = EventRef::Record {
            computer: Some(host.into()),
            record_id: self.record,
        };
        let mut e = GraphEvent::new(Timestamp(t), action, r.clone());
        e.host = Some(host.into());
        f(&mut e);
        self.events.push(e);
        r
    }

    fn interactive(&mut self, t: i64, acct: &str, host: &str) -> EventRef {
        self.push(
            t,
            Action::Logon {
                logon_type: 2,
                ntlm: false,
            },
            host,
            |e| {
                e.account = Some(acct.into());
            },
        )
    }

    fn logon(&mut self, t: i64, acct: &str, src: &str, dst: &str, lt: u8, ntlm: bool) -> EventRef {
        let r = self.push(
            t,
            Action::Logon {
                logon_type: lt,
                ntlm,
            },
            dst,
            |e| {
                e.account = Some(acct.into());
                e.source_host = Some(src.into());
            },
        );
        if acct.starts_with("adm") || acct.starts_with("svc") {
            self.privileged(t + 1, acct, dst);
        }
        r
    }

    fn privileged(&mut self, t: i64, acct: &str, host: &str) -> EventRef {
        self.push(t, Action::Privileged, host, |e| {
            e.account = Some(acct.into())
        })
    }

    fn process(
        &mut self,
        t: i64,
        host: &str,
        acct: &str,
        image: &str,
        parent: &str,
        cmd: &str,
    ) -> EventRef {
        let action = Action::ProcessStart {
            image: image.into(),
            parent: parent.into(),
            command_line: cmd.into(),
        };
        self.push(t, action, host, |e| e.account = Some(acct.into()))
    }

    fn lsass(&mut self, t: i64, host: &str) -> EventRef {
        let action = Action::ProcessAccess {
            source_image: "C:\\Temp\\procdump64.exe".into(),
            target_image: "C:\\Windows\\system32\\lsass.exe".into(),
            granted_access: "0x1010".into(),
        };
        self.push(t, action, host, |_| {})
    }

    /// Seven days of a small company: users u1..u6 on WS-1..WS-6 reaching SRV-1..SRV-3;
    /// admins adm1..adm3 (of u1..u3) through JUMP; a backup account from BKP to the
    /// servers; a DC issuing tickets.
    fn baseline(&mut self) {
        for day in 0..7 {
            let t0 = day * DAY + 8 * 60 * MIN;
            for u in 1..=6 {
                let (acct, ws) = (format!("u{u}"), format!("WS-{u}"));
                self.interactive(t0 + u * MIN, &acct, &ws);
                let srv = format!("SRV-{}", 1 + u % 3);
                self.logon(t0 + (10 + u) * MIN, &acct, &ws, &srv, 3, false);
                self.push(
                    t0 + (10 + u) * MIN - 1,
                    Action::Ticket {
                        service_host: Some(srv.clone()),
                        tgt: false,
                    },
                    "DC1",
                    |e| {
                        e.account = Some(acct.clone());
                    },
                );
            }
            for a in 1..=3 {
                let (acct, ws) = (format!("adm{a}"), format!("WS-{a}"));
                self.logon(t0 + (30 + a) * MIN, &acct, &ws, "JUMP", 10, false);
                for s in 1..=3 {
                    self.logon(
                        t0 + (40 + a * 5 + s) * MIN,
                        &acct,
                        "JUMP",
                        &format!("SRV-{s}"),
                        10,
                        false,
                    );
                }
            }
            for s in 1..=3 {
                self.logon(
                    day * DAY + 60 * MIN + s * MIN,
                    "svc-backup",
                    "BKP",
                    &format!("SRV-{s}"),
                    3,
                    false,
                );
            }
        }
    }
}

fn hunt(events: &[GraphEvent]) -> Vec<Alert> {
    let mut h = Hunter::new(HuntConfig {
        learn_until: Some(Timestamp(7 * DAY)),
        min_level: ThreatLevel::Medium,
        ..HuntConfig::default()
    });
    let mut latest: Vec<Alert> = Vec::new();
    for e in events {
        for a in h.observe(e) {
            match latest.iter_mut().find(|x| x.key == a.key) {
                Some(x) => *x = a,
                None => latest.push(a),
            }
        }
    }
    latest
}

fn cites(a: &Alert, r: &EventRef) -> bool {
    a.evidence.iter().any(|e| &e.reference == r)
}

#[test]
fn a_chain_of_new_hops_with_credential_theft_and_remote_execution_is_high() {
    let mut w = World::new();
    w.baseline();
    let t = 8 * DAY + 10 * 60 * MIN;
    let theft = w.lsass(t, "WS-4");
    let hop1 = w.logon(t + 20 * MIN, "adm1", "WS-4", "WS-5", 3, false);
    let exec = w.process(
        t + 21 * MIN,
        "WS-5",
        "adm1",
        "C:\\Windows\\PSEXESVC.exe",
        "C:\\Windows\\System32\\services.exe",
        "PSEXESVC.exe",
    );
    let hop2 = w.logon(t + 50 * MIN, "adm1", "WS-5", "SRV-1", 3, false);
    let hop3 = w.logon(t + 90 * MIN, "adm1", "SRV-1", "SRV-2", 3, false);
    let alerts = hunt(&w.events);
    let lm: Vec<_> = alerts
        .iter()
        .filter(|a| a.detector.id == "lateral_movement")
        .collect();
    assert_eq!(lm.len(), 1, "{alerts:#?}");
    let a = lm[0];
    assert!(a.level >= ThreatLevel::High, "{a:#?}");
    for r in [&theft, &hop1, &exec, &hop2, &hop3] {
        assert!(cites(a, r), "missing {r:?} in {}", a.explanation);
    }
    assert_eq!(a.subject, "adm1");
    assert!(
        a.explanation.contains("WS-5 → SRV-1 → SRV-2"),
        "{}",
        a.explanation
    );
    let AlertDetail::Graph(g) = &a.detail else {
        panic!("not a graph finding")
    };
    assert!(g.steps.iter().any(|s| s.kind == "remote_execution"));
    assert!(a.attack.iter().any(|t| t == "T1021"));
}

#[test]
fn an_ntlm_fan_out_from_a_workstation_is_credential_misuse() {
    let mut w = World::new();
    w.baseline();
    let t = 9 * DAY + 14 * 60 * MIN;
    let refs: Vec<_> = (1..=3)
        .map(|s| {
            w.logon(
                t + s * 3 * MIN,
                "adm2",
                "WS-6",
                &format!("SRV-{s}"),
                3,
                true,
            )
        })
        .collect();
    let alerts = hunt(&w.events);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(a.detector.id, "credential_misuse");
    assert!(a.level >= ThreatLevel::High);
    assert!(refs.iter().all(|r| cites(a, r)));
    assert!(a.attack.iter().any(|t| t == "T1550.002"));
}

#[test]
fn an_ordinary_account_that_gains_rights_and_uses_them_is_privilege_escalation() {
    let mut w = World::new();
    w.baseline();
    let t = 8 * DAY + 9 * 60 * MIN;
    let add = w.push(
        t,
        Action::GroupAdd {
            group: "Administrators".into(),
        },
        "WS-4",
        |e| {
            e.account = Some("u4".into());
            e.actor = Some("u4".into());
        },
    );
    let first = w.privileged(t + MIN, "u4", "WS-4");
    let ticket_dc = w.push(
        t + 2 * MIN,
        Action::Ticket {
            service_host: Some("WS-4".into()),
            tgt: true,
        },
        "DC1",
        |e| {
            e.account = Some("u4".into());
        },
    );
    let _ = ticket_dc;
    let used = w.privileged(t + 60 * MIN, "u4", "SRV-2");
    let used_dc = w.privileged(t + 90 * MIN, "u4", "DC1");
    let alerts = hunt(&w.events);
    let pe: Vec<_> = alerts
        .iter()
        .filter(|a| a.detector.id == "privilege_escalation")
        .collect();
    assert_eq!(pe.len(), 1, "{alerts:#?}");
    assert!(pe[0].level >= ThreatLevel::High);
    for r in [&add, &first, &used, &used_dc] {
        assert!(cites(pe[0], r));
    }
    assert!(pe[0].explanation.contains("domain controller"));
}

#[test]
fn legitimate_administration_stays_quiet() {
    let mut w = World::new();
    w.baseline();
    let t = 8 * DAY + 9 * 60 * MIN;
    // An admin's usual path to a server it never touched; a new admin's first day through
    // the jump host; the backup account from a new backup server.
    w.logon(t, "adm3", "WS-3", "JUMP", 10, false);
    w.logon(t + 10 * MIN, "adm3", "JUMP", "SRV-9", 10, false);
    w.interactive(t + 20 * MIN, "u7", "WS-7");
    w.logon(t + 30 * MIN, "adm7", "WS-7", "JUMP", 10, false);
    w.logon(t + 40 * MIN, "adm7", "JUMP", "SRV-1", 10, false);
    w.logon(t + 50 * MIN, "adm7", "JUMP", "SRV-2", 10, false);
    for s in 1..=3 {
        w.logon(
            t + (60 + s) * MIN,
            "svc-backup",
            "BKP2",
            &format!("SRV-{s}"),
            3,
            false,
        );
    }
    let alerts = hunt(&w.events);
    assert!(alerts.is_empty(), "{alerts:#?}");
}

#[test]
fn replayed_out_of_order_and_simultaneous_events_give_one_finding() {
    let mut w = World::new();
    w.baseline();
    let t = 8 * DAY + 10 * 60 * MIN;
    // Every hop at the same millisecond.
    w.logon(t, "adm1", "WS-4", "WS-5", 3, false);
    w.logon(t, "adm1", "WS-5", "SRV-1", 3, false);
    w.logon(t, "adm1", "SRV-1", "SRV-2", 3, false);
    let once = hunt(&w.events);
    assert_eq!(once.len(), 1, "{once:#?}");
    assert!(once[0].level >= ThreatLevel::High);
    // The same events again: the same finding (same key), nothing new.
    let tail: Vec<_> = w.events[w.events.len() - 6..].to_vec();
    w.events.extend(tail);
    let twice = hunt(&w.events);
    assert_eq!(twice.len(), 1);
    assert_eq!(twice[0].key, once[0].key);
    // An event older than the ones before it widens the edge's first seen.
    let mut h = Hunter::new(HuntConfig::default());
    let mut e = w.events[w.events.len() - 2].clone();
    h.observe(&e);
    e.time = Timestamp(e.time.0 - DAY);
    h.observe(&e);
    let (_, edge) = h
        .graph
        .edges()
        .find(|(_, x)| x.count == 2)
        .expect("the edge seen twice");
    assert_eq!(edge.first, e.time);
    assert!(edge.last > edge.first);
}

fn arb_event() -> impl Strategy<Value = (u8, u8, u8, u8, u16)> {
    (0u8..6, 0u8..5, 0u8..6, 0u8..6, 0u16..600)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Whatever arrives, a finding cites evidence, and only events that were given.
    #[test]
    fn findings_cite_only_input_events(raw in proptest::collection::vec(arb_event(), 1..300)) {
        let mut w = World::new();
        w.baseline();
        let accts = ["adm1", "adm2", "u4", "u5", "svc-backup"];
        let hosts = ["WS-4", "WS-5", "SRV-1", "SRV-2", "DC1", "JUMP"];
        for (kind, a, s, d, minute) in raw {
            let t = 7 * DAY + i64::from(minute) * MIN;
            let (acct, src, dst) = (accts[a as usize], hosts[s as usize], hosts[d as usize]);
            match kind {
                0 => { w.logon(t, acct, src, dst, 3, false); }
                1 => { w.logon(t, acct, src, dst, 3, true); }
                2 => { w.privileged(t, acct, dst); }
                3 => { w.lsass(t, src); }
                4 => { w.process(t, dst, acct, "cmd.exe", "WmiPrvSE.exe", "cmd /c whoami"); }
                _ => { w.push(t, Action::GroupAdd { group: "Administrators".into() }, dst, |e| e.account = Some(acct.into())); }
            }
        }
        let given: std::collections::HashSet<_> = w.events.iter().map(|e| e.reference.clone()).collect();
        for a in hunt(&w.events) {
            prop_assert!(!a.evidence.is_empty());
            for ev in &a.evidence {
                prop_assert!(given.contains(&ev.reference), "{:?} was not in the input", ev.reference);
            }
        }
    }
}

#[test]
fn a_program_that_reads_lsass_across_the_fleet_is_not_credential_theft() {
    let mut w = World::new();
    w.baseline();
    let av = Action::ProcessAccess {
        source_image: "C:\\ProgramData\\Vendor\\scanner.exe".into(),
        target_image: "C:\\Windows\\system32\\lsass.exe".into(),
        granted_access: "0x1010".into(),
    };
    for ws in ["WS-1", "WS-2", "WS-3"] {
        w.push(2 * DAY, av.clone(), ws, |_| {});
    }
    let t = 8 * DAY + 10 * 60 * MIN;
    let fleet = w.push(t, av.clone(), "WS-4", |_| {});
    let theft = w.lsass(t + MIN, "WS-6");
    w.logon(t + 20 * MIN, "adm1", "WS-4", "WS-5", 3, false);
    w.logon(t + 20 * MIN, "adm2", "WS-6", "WS-5", 3, false);
    let alerts = hunt(&w.events);
    assert!(alerts.iter().all(|a| !cites(a, &fleet)), "{alerts:#?}");
    assert!(
        alerts
            .iter()
            .any(|a| a.subject == "adm2" && cites(a, &theft)),
        "{alerts:#?}"
    );
}

#[test]
fn remote_execution_named_by_the_machine_account_is_matched_by_host() {
    let mut w = World::new();
    w.baseline();
    let t = 8 * DAY + 10 * 60 * MIN;
    let hop = w.logon(t, "adm1", "WS-4", "WS-5", 3, false);
    // An older 4688: no parent, the subject is the machine itself.
    let wmi = w.process(
        t + MIN,
        "WS-5",
        "ws-5$",
        "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        "",
        "",
    );
    let alerts = hunt(&w.events);
    let lm = alerts
        .iter()
        .find(|a| a.detector.id == "lateral_movement")
        .expect("a finding");
    assert!(cites(lm, &hop) && cites(lm, &wmi), "{lm:#?}");
    assert!(
        lm.explanation.contains("by WMI (WmiPrvSE): wmiprvse.exe"),
        "{}",
        lm.explanation
    );
}

#[test]
fn rule_detections_move_a_host_through_the_kill_chain() {
    let mut w = World::new();
    w.baseline();
    let t = 8 * DAY + 9 * 60 * MIN;
    let detection = |tactic: &str, technique: &str| Action::Detection {
        what: format!("rule \"{tactic} rule\" matched"),
        tactics: vec![tactic.to_owned()],
        techniques: vec![technique.to_owned()],
    };
    let r1 = w.push(t, detection("discovery", "T1087"), "WS-6", |_| {});
    let r2 = w.push(
        t + 10 * MIN,
        detection("credential-access", "T1003"),
        "WS-6",
        |_| {},
    );
    let r3 = w.push(
        t + 20 * MIN,
        detection("collection", "T1560"),
        "WS-6",
        |_| {},
    );
    // Techniques without a tactic, and tactics the finder does not follow, add nothing.
    w.push(
        t + 30 * MIN,
        Action::Detection {
            what: "x".into(),
            tactics: vec![],
            techniques: vec!["T1".into()],
        },
        "WS-6",
        |_| {},
    );
    let alerts = hunt(&w.events);
    let p = alerts
        .iter()
        .find(|a| a.detector.id == "attack_progression")
        .expect("a progression finding");
    assert_eq!(p.subject, "host:WS-6");
    assert!([&r1, &r2, &r3].iter().all(|r| cites(p, r)), "{p:#?}");
    assert!(
        p.explanation
            .contains("discovery → credential_access → collection"),
        "{}",
        p.explanation
    );
}

#[test]
fn behavioural_steps_without_a_host_make_the_accounts_progression() {
    let mut w = World::new();
    w.baseline();
    let t = 8 * DAY + 9 * 60 * MIN;
    let step = |what: &str, tactic: &str| Action::Detection {
        what: what.into(),
        tactics: vec![tactic.to_owned()],
        techniques: vec![],
    };
    let mut refs = Vec::new();
    for (i, (what, tactic)) in [
        (
            "behaviour scored high (failed_login_burst)",
            "credential_access",
        ),
        ("behaviour scored high (unusual_volume)", "exfiltration"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = EventRef::EventId {
            event_id: format!("e{i}"),
        };
        let mut e = GraphEvent::new(
            Timestamp(t + i as i64 * 30 * MIN),
            step(what, tactic),
            r.clone(),
        );
        e.account = Some("carol".into());
        w.events.push(e);
        refs.push(r);
    }
    let alerts = hunt(&w.events);
    let p = alerts
        .iter()
        .find(|a| a.detector.id == "attack_progression")
        .expect("a progression finding");
    assert_eq!(p.subject, "carol");
    assert!(refs.iter().all(|r| cites(p, r)), "{p:#?}");
}

#[test]
fn a_host_the_accounts_peers_reach_weighs_less_than_one_none_of_them_do() {
    let hop_to = |dst: &str| {
        let mut w = World::new();
        w.baseline();
        // adm2 and adm3 (adm1's peers: the same servers) also look after SRV-9.
        for day in 0..7 {
            for a in [2, 3] {
                let t = day * DAY + (12 * 60 + a) * MIN;
                w.logon(t, &format!("adm{a}"), "JUMP", "SRV-9", 10, false);
            }
        }
        let t = 8 * DAY + 10 * 60 * MIN;
        w.logon(t, "adm1", "WS-4", dst, 3, false);
        hunt(&w.events)
            .into_iter()
            .find(|a| a.detector.id == "lateral_movement")
            .expect("a hop from someone else's workstation is a finding")
    };
    let usual_for_peers = hop_to("SRV-9");
    let new_to_all = hop_to("SRV-8");
    assert!(
        usual_for_peers
            .explanation
            .contains("a host 2 of its peers reach"),
        "{}",
        usual_for_peers.explanation
    );
    assert!(
        usual_for_peers.score < new_to_all.score,
        "{} vs {}",
        usual_for_peers.score,
        new_to_all.score
    );
}
