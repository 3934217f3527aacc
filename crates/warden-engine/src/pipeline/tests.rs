use std::sync::Arc;

use warden_event::{
    ActivityType, AlertDetail, EntityKind, EvidenceRole, Input, LogEvent, ThreatLevel, Timestamp,
    UserActivity,
};
use warden_sigma::{Mapping, RuleSetBuilder};

use super::*;
use crate::UebaConfig;
use crate::pipeline::FlowDetector;
use crate::ueba::UebaEngine;

fn t(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap_or(Timestamp(0))
}

fn login(user: &str, at: &str, ip: &str) -> Input {
    let mut a = UserActivity::new(user, ActivityType::Login, t(at));
    a.ip_address = Some(ip.into());
    a.event_id = Some(format!("{user}-{at}"));
    Input::activity(a, 120)
}

fn rules(n: usize) -> Arc<warden_sigma::RuleSet> {
    let levels = ["low", "medium", "high", "critical"];
    let text: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "title: Rule {i}\nid: 00000000-0000-0000-0000-{i:012}\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel: {{CommandLine|contains: whoami}}\n  condition: sel\nlevel: {}\ntags: [attack.t1033]\n",
                levels[i % 4]
            )
        })
        .collect();
    let mut b = RuleSetBuilder::new(Mapping::builtin());
    b.add_text(&text.join("---\n"), None);
    let set = b.build();
    assert!(set.skipped().is_empty(), "{:?}", set.skipped());
    Arc::new(set)
}

fn process_event(record: u64) -> Input {
    let doc = serde_json::json!({"Event": {"System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": "WS7", "EventRecordID": record,
        "TimeCreated": {"#attributes": {"SystemTime": "2026-03-01T10:00:00Z"}}},
        "EventData": {"CommandLine": "whoami /all", "User": "CORP\\ana", "Image": "C:\\Windows\\System32\\whoami.exe"}}});
    Input::log(LogEvent::of(doc), 300)
}

fn pipeline(level: ThreatLevel, with_rules: Option<usize>) -> Pipeline {
    let engine = UebaEngine::new(UebaConfig::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut p = Pipeline::new(
        "acme",
        PipelineOptions {
            alert_level: level,
            ..PipelineOptions::default()
        },
    );
    p.add(Box::new(UebaDetector::new(
        engine,
        ContextLimits::default(),
    )));
    if let Some(n) = with_rules {
        p.add(Box::new(RulesDetector::new(rules(n))));
    }
    p
}

#[test]
fn every_activity_gets_a_score_and_alerts_carry_their_context() {
    let mut p = pipeline(ThreatLevel::Low, None);
    let batch = [
        login("ana", "2026-03-01T09:00:00Z", "198.51.100.1"),
        login("ana", "2026-03-01T09:05:00Z", "198.51.100.1"),
        login("ana", "2026-03-01T09:10:00Z", "198.51.100.2"),
    ];
    let out = p.process(&batch, t("2026-03-01T10:00:00Z"));
    assert_eq!(out.records.len(), 3);
    assert!(out.records.iter().all(|r| r.score().is_some()));
    assert_eq!(out.alerts.len(), 3, "every score is at LOW or above");
    let (i, last) = &out.alerts[2];
    assert_eq!(*i, 2);
    assert_eq!(last.tenant, "acme");
    assert_eq!(last.entity(EntityKind::Ip), Some("198.51.100.2"));
    let roles: Vec<EvidenceRole> = last.evidence.iter().map(|e| e.role).collect();
    assert_eq!(
        roles,
        [
            EvidenceRole::Trigger,
            EvidenceRole::Context,
            EvidenceRole::Context
        ]
    );
    assert_eq!(
        last.evidence[0]
            .event
            .as_ref()
            .map(|e| e["ip_address"].clone()),
        Some(serde_json::json!("198.51.100.2"))
    );
    assert!(matches!(last.detail, AlertDetail::Ueba(_)));
    assert_eq!(p.counters().records, 3);
}

#[test]
fn an_alert_identity_holds_the_events_content_not_only_its_ids() {
    // The same event twice: one identity (a replay is no new alert).
    let run = |ip: &str, cmd: &str| {
        let mut p = pipeline(ThreatLevel::Low, Some(1));
        let mut log = process_event(5);
        if let warden_event::Record::Log(l) = &mut log.record {
            l.doc["Event"]["EventData"]["CommandLine"] = serde_json::json!(cmd);
        }
        let out = p.process(
            &[login("ana", "2026-03-01T09:00:00Z", ip), log],
            t("2026-03-01T10:00:00Z"),
        );
        let keys: Vec<String> = out.alerts.iter().map(|(_, a)| a.identity()).collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        keys
    };
    let first = run("198.51.100.1", "whoami /all");
    assert_eq!(first, run("198.51.100.1", "whoami /all"));
    // The same ids (user, time, event id; computer and record id) saying something else:
    // another identity, so an event sent first cannot suppress the real one.
    let other = run("203.0.113.9", "whoami /priv");
    assert_ne!(first[0], other[0]);
    assert_ne!(first[1], other[1]);
    assert!(
        first[0].starts_with("ana-2026-03-01T09:00:00Z#"),
        "{first:?}"
    );
}

#[test]
fn below_the_alert_level_there_are_verdicts_but_no_alerts() {
    let mut p = pipeline(ThreatLevel::Critical, Some(1));
    let out = p.process(
        &[
            login("bo", "2026-03-01T09:00:00Z", "198.51.100.1"),
            process_event(5),
        ],
        t("2026-03-01T10:00:00Z"),
    );
    assert!(out.alerts.is_empty(), "{:?}", out.alerts);
    assert_eq!(out.records[1].detections().map(<[_]>::len), Some(1));
    assert!(out.records[1].score().is_none());
    assert!(out.records[0].detections().is_none());
}

#[test]
fn a_log_event_raises_at_most_the_cap_strongest_first() {
    let mut p = pipeline(ThreatLevel::Low, Some(14));
    let out = p.process(&[process_event(9)], t("2026-03-01T10:00:00Z"));
    assert_eq!(out.records[0].detections().map(<[_]>::len), Some(14));
    assert_eq!(out.alerts.len(), 10);
    assert_eq!(p.counters().capped, 4);
    let levels: Vec<ThreatLevel> = out.alerts.iter().map(|(_, a)| a.level).collect();
    assert!(levels.windows(2).all(|w| w[0] >= w[1]), "{levels:?}");
    assert_eq!(levels[0], ThreatLevel::Critical);
    let a = &out.alerts[0].1;
    assert_eq!(a.subject, "CORP\\ana");
    assert_eq!(a.entity(EntityKind::Host), Some("WS7"));
    assert_eq!(a.attack, ["T1033"]);
    assert!(a.key.ends_with(":9"), "{}", a.key);
    assert!(a.evidence[0].event.is_some());
}

#[test]
fn detectors_are_reachable_by_type() {
    let mut p = pipeline(ThreatLevel::Medium, Some(1));
    assert!(p.detector::<RulesDetector>().is_some());
    let d = p.detector_mut::<UebaDetector>();
    assert!(d.is_some_and(|d| d.engine_mut().user_count() == 0));
    assert!(p.finish(t("2026-03-01T10:00:00Z")).is_empty());
}

fn flow_model() -> Arc<crate::models::LoadedModel> {
    use warden_models::ml::flows::{Columns, FlowFormat, FlowRecord};
    use warden_models::ml::training::{Dataset, train_iforest};
    // Spread over 0–100 bytes and 0–50 counts, so a flow in the middle is ordinary.
    let records: Vec<FlowRecord> = (0..1000u32)
        .map(|i| FlowRecord {
            numeric: vec![f64::from((i * 37) % 1000) / 10.0, f64::from((i * 11) % 50)],
            categorical: vec!["tcp".into()],
            attack: None,
            kind: None,
            origin: Default::default(),
        })
        .collect();
    let columns = Columns {
        numeric: vec!["bytes".into(), "count".into()],
        categorical: vec!["proto".into()],
    };
    let data = Dataset::new(FlowFormat::ZeekConn, columns, records, "mem");
    let t = train_iforest(&Default::default(), &data, false).unwrap_or_else(|e| panic!("{e}"));
    Arc::new(crate::models::LoadedModel {
        label: "flows v1".into(),
        file: t.file,
    })
}

fn flow(line: u64, bytes: f64, src: &str) -> Input {
    use warden_event::FlowEvent;
    use warden_event::flow::{FlowFormat, FlowOrigin, FlowRecord};
    Input::flow(FlowEvent {
        record: FlowRecord {
            numeric: vec![bytes, 25.0],
            categorical: vec!["tcp".into()],
            attack: None,
            kind: None,
            origin: FlowOrigin {
                src_ip: Some(src.into()),
                dst_ip: Some("203.0.113.9".into()),
                dst_port: Some(443),
                timestamp_ms: Some(1_700_000_000_000),
                uid: None,
            },
        },
        format: FlowFormat::ZeekConn,
        source: "conn.log".into(),
        line,
        raw: format!("{line}\t{bytes}\t{src}"),
    })
}

#[test]
fn a_flow_model_assesses_every_flow_and_alerts_on_the_anomalous_one() {
    let model = flow_model();
    let run = || {
        let mut p = Pipeline::new("acme", PipelineOptions::default());
        p.add(Box::new(FlowDetector::new(
            model.clone(),
            Default::default(),
        )));
        p.process(
            &[
                flow(1, 50.0, "10.0.0.1"),
                flow(2, 9_000.0, "10.0.0.66"),
                login("ana", "2026-03-01T09:00:00Z", "198.51.100.1"),
            ],
            t("2026-03-01T10:00:00Z"),
        )
    };
    let out = run();
    let first = out.records[0].flow();
    assert!(first.is_some_and(|a| !a.anomalous), "{first:?}");
    assert!(out.records[1].flow().is_some_and(|a| a.anomalous));
    assert!(out.records[2].flow().is_none(), "activities are not flows");
    assert_eq!(out.alerts.len(), 1, "{:?}", out.alerts);
    let (i, a) = &out.alerts[0];
    assert_eq!(*i, 1);
    assert_eq!(a.channel(), "network");
    assert_eq!(a.subject, "10.0.0.66");
    assert_eq!(a.timestamp, "2023-11-14T22:13:20Z");
    assert_eq!(
        a.primary_anomalies(),
        [warden_event::AnomalyType::NetworkAnomaly]
    );
    assert!(matches!(&a.detail, AlertDetail::Flow(f) if f.model == "flows v1"));
    assert_eq!(run().alerts[0].1.key, a.key, "a replay has the same key");
}

fn logon_doc(secs: i64, record: u64, acct: &str, src: &str, dst: &str, lt: u32) -> Input {
    let time = Timestamp(1_780_000_000_000 + secs * 1000).to_rfc3339();
    let doc = serde_json::json!({"Event": {"System": {"EventID": 4624, "Channel": "Security",
        "Computer": format!("{dst}.corp.local"), "EventRecordID": record,
        "TimeCreated": {"#attributes": {"SystemTime": time}}},
        "EventData": {"TargetUserName": acct, "LogonType": lt, "WorkstationName": src,
            "AuthenticationPackageName": "Kerberos", "IpAddress": "10.0.0.1"}}});
    Input::log(LogEvent::of(doc), 400)
}

fn privileged_doc(secs: i64, record: u64, acct: &str, host: &str) -> Input {
    let time = Timestamp(1_780_000_000_000 + secs * 1000).to_rfc3339();
    let doc = serde_json::json!({"Event": {"System": {"EventID": 4672, "Channel": "Security",
        "Computer": host, "EventRecordID": record,
        "TimeCreated": {"#attributes": {"SystemTime": time}}},
        "EventData": {"SubjectUserName": acct, "PrivilegeList": "SeDebugPrivilege"}}});
    Input::log(LogEvent::of(doc), 300)
}

#[test]
fn windows_logons_build_the_tenants_graph_and_a_stolen_admin_path_is_a_graph_alert() {
    let mut p = Pipeline::new("acme", PipelineOptions::default());
    p.add(Box::new(GraphDetector::new("acme", GraphLimits::default())));
    let mut inputs = Vec::new();
    let mut rec = 0;
    let mut next = || {
        rec += 1;
        rec
    };
    for day in 0..8 {
        let t0 = day * 86_400 + 8 * 3600;
        for u in 1..=5 {
            let ws = format!("WS-{u}");
            inputs.push(logon_doc(t0 + u, next(), &format!("u{u}"), &ws, &ws, 2));
            inputs.push(logon_doc(
                t0 + 600 + u,
                next(),
                &format!("u{u}"),
                &ws,
                "SRV-1",
                3,
            ));
        }
        for a in 1..=3 {
            let t = t0 + 1800 + a * 60;
            inputs.push(logon_doc(
                t,
                next(),
                &format!("adm{a}"),
                &format!("WS-{a}"),
                "JUMP",
                10,
            ));
            inputs.push(privileged_doc(t, next(), &format!("adm{a}"), "JUMP"));
        }
    }
    let t = 8 * 86_400 + 10 * 3600;
    inputs.push(logon_doc(t, next(), "adm1", "WS-4", "WS-5", 3));
    inputs.push(logon_doc(t + 1800, next(), "adm1", "WS-5", "SRV-1", 3));
    inputs.push(logon_doc(t + 3600, next(), "adm1", "SRV-1", "SRV-2", 3));
    let out = p.process(&inputs, Timestamp(0));
    let graph: Vec<_> = out
        .alerts
        .iter()
        .filter(|(_, a)| a.detector.kind == DetectorKind::Graph)
        .collect();
    assert!(!graph.is_empty(), "{:?}", out.alerts);
    let (_, last) = graph.last().unwrap();
    assert_eq!(last.subject, "adm1");
    assert!(last.level >= ThreatLevel::High, "{last:?}");
    assert!(matches!(&last.detail, AlertDetail::Graph(g) if g.finder == "lateral_movement"));
    // One key per level reached: a report that only grows the path reuses its level's key.
    let keys: std::collections::HashSet<_> = graph.iter().map(|(_, a)| a.key.clone()).collect();
    let levels: std::collections::HashSet<_> = graph.iter().map(|(_, a)| a.level).collect();
    assert_eq!(keys.len(), levels.len());
    // In one batch, a finding that grew is one alert: its latest form.
    assert_eq!(graph.len(), keys.len(), "{graph:?}");
    assert!(matches!(&last.detail, AlertDetail::Graph(g) if g.steps.len() >= 3));
}

fn tagged_rules() -> Arc<warden_sigma::RuleSet> {
    let rule = |i: usize, marker: &str, tactic: &str| {
        format!(
            "title: Marker {marker}\nid: 00000000-0000-0000-0001-{i:012}\nlogsource: {{product: windows, category: process_creation}}\ndetection:\n  sel: {{CommandLine|contains: {marker}}}\n  condition: sel\nlevel: high\ntags: [attack.{tactic}, attack.t1000]\n"
        )
    };
    let text = [
        rule(1, "marker-one", "discovery"),
        rule(2, "marker-two", "collection"),
    ];
    let mut b = RuleSetBuilder::new(Mapping::builtin());
    b.add_text(&text.join("---\n"), None);
    Arc::new(b.build())
}

fn process_doc(secs: i64, record: u64, host: &str, command_line: &str) -> Input {
    let time = Timestamp(1_780_000_000_000 + secs * 1000).to_rfc3339();
    let doc = serde_json::json!({"Event": {"System": {"EventID": 1,
        "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": host,
        "EventRecordID": record, "TimeCreated": {"#attributes": {"SystemTime": time}}},
        "EventData": {"CommandLine": command_line, "User": "CORP\\ana",
            "Image": "C:\\Tools\\notepad.exe", "ParentImage": "C:\\Windows\\explorer.exe"}}});
    Input::log(LogEvent::of(doc), 300)
}

#[test]
fn rule_detections_reach_the_graphs_progression_finder() {
    let mut p = Pipeline::new("acme", PipelineOptions::default());
    p.add(Box::new(RulesDetector::new(tagged_rules())));
    p.add(Box::new(GraphDetector::new("acme", GraphLimits::default())));
    let mut inputs: Vec<Input> = (0..8)
        .map(|day| logon_doc(day * 86_400 + 3600, day as u64 + 1, "ana", "WS7", "WS7", 2))
        .collect();
    let t = 8 * 86_400 + 9 * 3600;
    inputs.push(process_doc(t, 100, "WS7", "notepad marker-one"));
    inputs.push(process_doc(t + 600, 101, "WS7", "notepad marker-two"));
    let out = p.process(&inputs, Timestamp(0));
    let progression: Vec<_> = out
        .alerts
        .iter()
        .filter(
            |(_, a)| matches!(&a.detail, AlertDetail::Graph(g) if g.finder == "attack_progression"),
        )
        .collect();
    let (i, a) = progression.last().expect("a progression finding");
    assert_eq!(*i, inputs.len() - 1, "raised by the second detection");
    assert_eq!(a.subject, "host:WS7");
    let cited: Vec<_> = a.evidence.iter().map(|e| &e.reference).collect();
    for record_id in [100, 101] {
        let r = warden_event::EventRef::Record {
            computer: Some("WS7".into()),
            record_id,
        };
        assert!(cited.contains(&&r), "{record_id} not cited: {cited:?}");
    }
    assert!(
        a.explanation.contains("discovery → collection"),
        "{}",
        a.explanation
    );
    // Without the rules, the same events show the graph nothing.
    let mut bare = Pipeline::new("acme", PipelineOptions::default());
    bare.add(Box::new(GraphDetector::new("acme", GraphLimits::default())));
    assert!(bare.process(&inputs, Timestamp(0)).alerts.is_empty());
}
