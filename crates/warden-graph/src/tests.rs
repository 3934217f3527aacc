//! The graph, its queries and its saved form, on a small network.

use proptest::prelude::*;
use warden_event::{EventRef, Timestamp};

use crate::event::{Action, GraphEvent};
use crate::finders::{HuntConfig, Hunter};
use crate::graph::{EdgeKind, EntityGraph};
use crate::{query, snapshot};

fn hop(t: i64, acct: &str, src: &str, dst: &str, rec: u64) -> GraphEvent {
    let mut e = GraphEvent::new(
        Timestamp(t),
        Action::Logon {
            logon_type: 3,
            ntlm: false,
        },
        EventRef::Record {
            computer: Some(format!("{dst}.corp.local")),
            record_id: rec,
        },
    );
    e.account = Some(acct.into());
    e.source_host = Some(src.into());
    e.host = Some(dst.into());
    e
}

fn small() -> EntityGraph {
    let mut g = EntityGraph::new();
    g.add(&hop(1_000, "a", "WS-1", "SRV-1", 1));
    g.add(&hop(2_000, "a", "SRV-1", "SRV-2", 2));
    g.add(&hop(3_000, "b", "SRV-2", "DC1", 3));
    g.add(&hop(4_000, "a", "SRV-1", "SRV-2", 4));
    g
}

#[test]
fn edges_keep_first_last_count_and_evidence() {
    let g = small();
    assert_eq!(g.edge_count(), 3);
    let (_, e) = g.edges().find(|(_, e)| e.count == 2).unwrap();
    assert_eq!((e.first, e.last), (Timestamp(2_000), Timestamp(4_000)));
    assert_eq!(e.key.kind, EdgeKind::RemoteLogon);
    assert_eq!(
        g.reference(e.first_ref),
        Some(EventRef::Record {
            computer: Some("SRV-2.corp.local".into()),
            record_id: 2
        })
    );
    assert_eq!(
        g.reference(e.last_ref),
        Some(EventRef::Record {
            computer: Some("SRV-2.corp.local".into()),
            record_id: 4
        })
    );
    assert!(g.bytes() > 0);
}

#[test]
fn shortest_paths_respect_time_and_direction() {
    let g = small();
    let ws = query::resolve(&g, "host:ws-1.corp.local").unwrap();
    let dc = query::resolve(&g, "DC1").unwrap();
    let srv2 = query::resolve(&g, "host:SRV-2").unwrap();
    let paths = query::shortest_paths(&g, ws, &[dc, srv2], None, 6);
    assert_eq!(paths.len(), 2);
    assert_eq!(paths[0].target, srv2, "nearest first");
    assert_eq!(paths[1].edges.len(), 3);
    // As of t=2.5 s the hop to DC1 did not exist yet.
    let early = query::shortest_paths(&g, ws, &[dc], Some(Timestamp(2_500)), 6);
    assert!(early.is_empty());
    assert!(
        query::shortest_paths(&g, dc, &[ws], None, 6).is_empty(),
        "edges are directed"
    );
    assert!(
        query::shortest_paths(&g, ws, &[dc], None, 2).is_empty(),
        "max hops"
    );
}

#[test]
fn neighbourhood_and_first_seen_edges() {
    let g = small();
    let srv1 = query::resolve(&g, "host:SRV-1").unwrap();
    assert_eq!(query::neighbourhood(&g, srv1, 1, 100).len(), 2);
    assert_eq!(query::neighbourhood(&g, srv1, 2, 100).len(), 3);
    assert_eq!(query::neighbourhood(&g, srv1, 2, 1).len(), 1);
    let new = query::first_seen(&g, Timestamp(1_500), None, Some("remote_logon"), 10);
    assert_eq!(new.len(), 2);
    assert!(query::first_seen(&g, Timestamp(1_500), None, Some("spawn"), 10).is_empty());
    let j = query::edge_json(&g, new[0]);
    assert_eq!(j["src"], "host:SRV-1");
    assert_eq!(j["actor"], "account:a");
    assert_eq!(j["logon_type"], 3);
}

#[test]
fn exports_are_well_formed() {
    let mut g = small();
    g.add(&hop(5_000, "x<&>\"'", "WS-1", "SRV-1", 5));
    let mut xml = Vec::new();
    query::write_graphml(&g, &mut xml).unwrap();
    let xml = String::from_utf8(xml).unwrap();
    assert!(xml.contains("x&lt;&amp;&gt;&quot;&apos;"));
    assert_eq!(xml.matches("<edge ").count(), g.edge_count());
    let mut js = Vec::new();
    query::write_json(&g, &mut js).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&js).unwrap();
    assert_eq!(v["nodes"].as_array().unwrap().len(), g.node_count());
    // The destination is interned first, then the account, then the source.
    assert_eq!(v["edges"][0]["data"]["source"], "n2");
}

#[test]
fn a_saved_graph_reads_back_the_same_and_hunts_on() {
    let mut h = Hunter::new(HuntConfig::default());
    for (i, t) in [1_000, 2_000, 3_000].into_iter().enumerate() {
        h.observe(&hop(t, "a", "WS-1", &format!("SRV-{i}"), i as u64));
    }
    let bytes = snapshot::save(&h.graph, &h.profile).unwrap();
    let (g, p) = snapshot::load(&bytes).unwrap();
    assert_eq!(g.edge_count(), h.graph.edge_count());
    assert_eq!(g.node_count(), h.graph.node_count());
    assert_eq!(p.account_sources, h.profile.account_sources);
    assert!(query::resolve(&g, "account:a").is_some());
    let mut again = Hunter::with_graph(HuntConfig::default(), g, p);
    again.observe(&hop(4_000, "a", "WS-1", "SRV-9", 9));
    assert_eq!(again.graph.edge_count(), 4);
    assert!(matches!(
        snapshot::load(b"nope"),
        Err(snapshot::SnapshotError::NotAGraph)
    ));
    assert!(snapshot::load(&bytes[..bytes.len() / 2]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Damaged graph files are errors, never panics.
    #[test]
    fn damaged_graph_files_never_panic(flips in proptest::collection::vec((0usize..4096, any::<u8>()), 0..8), cut in 0usize..4096) {
        let mut h = Hunter::new(HuntConfig::default());
        h.observe(&hop(1_000, "a", "WS-1", "SRV-1", 1));
        h.observe(&hop(2_000, "a", "SRV-1", "SRV-2", 2));
        let mut bytes = snapshot::save(&h.graph, &h.profile).unwrap();
        for (at, b) in flips {
            let n = bytes.len();
            bytes[at % n] ^= b;
        }
        bytes.truncate(cut.max(1));
        if let Ok((g, _)) = snapshot::load(&bytes) {
            for (id, _) in g.edges() {
                let _ = query::edge_json(&g, id);
            }
        }
    }
}

#[test]
fn a_logon_without_a_source_takes_it_from_the_management_connection_before_it() {
    let mut g = EntityGraph::new();
    let mut conn = GraphEvent::new(
        Timestamp(10_000),
        Action::Connection {
            dest_port: 5985,
            image: "powershell.exe".into(),
            initiated: true,
        },
        EventRef::Record {
            computer: Some("WS-5".into()),
            record_id: 1,
        },
    );
    conn.host = Some("WS-5".into());
    conn.source_ip = Some("10.0.0.5".into());
    conn.dest_ip = Some("10.0.0.6".into());
    g.add(&conn);
    // The destination's own address, from the other side's record of it.
    let mut seen = conn.clone();
    seen.action = Action::Connection {
        dest_port: 5985,
        image: "System".into(),
        initiated: false,
    };
    seen.host = Some("WS-6".into());
    g.add(&seen);
    let mut logon = hop(12_000, "pgustavo", "-", "WS-6", 2);
    logon.source_host = None;
    let t = g.add(&logon).unwrap();
    let key = g.edge(t.edge).key;
    assert_eq!(key.kind, EdgeKind::RemoteLogon);
    assert_eq!(g.node(key.src).name.as_ref(), "WS-5");
    // Too long after the connection: no source is guessed.
    let mut late = hop(100_000, "pgustavo", "-", "WS-6", 3);
    late.source_host = None;
    let t = g.add(&late).unwrap();
    assert_eq!(g.edge(t.edge).key.kind, EdgeKind::Logon);
}

#[test]
fn a_group_member_named_by_sid_is_the_account_that_logged_on_with_it() {
    let mut g = EntityGraph::new();
    let sid = "S-1-5-21-1-2-3-1183";
    let mut logon = hop(1_000, "t.ludwig", "LT-1", "SRV-1", 1);
    logon.sid = Some(sid.into());
    g.add(&logon);
    let mut add = GraphEvent::new(
        Timestamp(2_000),
        Action::GroupAdd {
            group: "Administrators".into(),
        },
        EventRef::Record {
            computer: Some("LT-1".into()),
            record_id: 2,
        },
    );
    add.host = Some("LT-1".into());
    add.account = Some("tanja ludwig".into()); // the CN of the member's distinguished name
    add.sid = Some(sid.into());
    let t = g.add(&add).unwrap();
    assert_eq!(g.node(g.edge(t.edge).key.src).name.as_ref(), "t.ludwig");
    assert!(
        g.find(crate::graph::NodeKind::Account, "tanja ludwig")
            .is_none()
    );
}

#[test]
fn a_full_graph_keeps_its_edges_current_and_counts_the_new_ones_it_drops() {
    let mut g = EntityGraph::new();
    g.set_max_edges(2);
    assert!(g.add(&hop(1_000, "a", "WS-1", "SRV-1", 1)).is_some());
    assert!(g.add(&hop(2_000, "a", "WS-1", "SRV-2", 2)).is_some());
    assert!(g.add(&hop(3_000, "a", "WS-1", "SRV-3", 3)).is_none());
    let again = g.add(&hop(4_000, "a", "WS-1", "SRV-1", 4)).unwrap();
    assert!(!again.new);
    assert_eq!(g.edge(again.edge).count, 2);
    assert_eq!((g.edge_count(), g.dropped_edges()), (2, 1));
}

#[test]
fn a_flow_on_the_wire_places_its_originator_and_opens_the_way_for_a_logon() {
    use warden_event::flow::{FlowOrigin, FlowRecord};
    let mut g = EntityGraph::new();
    // Each host's address, from a logon that names both.
    for (host, ip, t) in [("WS-5", "10.0.0.5", 1_000), ("WS-6", "10.0.0.6", 2_000)] {
        let mut e = hop(t, "svc", host, "SRV-1", t as u64);
        e.source_ip = Some(ip.into());
        g.add(&e);
    }
    let flow = FlowRecord {
        numeric: Vec::new(),
        categorical: Vec::new(),
        attack: None,
        kind: None,
        origin: FlowOrigin {
            src_ip: Some("10.0.0.5".into()),
            dst_ip: Some("10.0.0.6".into()),
            dst_port: Some(445),
            timestamp_ms: Some(10_000),
            uid: Some("CzEeh3".into()),
        },
    };
    let fallback = EventRef::Line {
        source: "conn.log".into(),
        line: 1,
    };
    let e = crate::extract::flow_event(&flow, fallback).unwrap();
    let t = g.add(&e).unwrap();
    let key = g.edge(t.edge).key;
    assert_eq!(key.kind, EdgeKind::Connection);
    assert_eq!(g.node(key.src).name.as_ref(), "WS-5", "the address's host");
    assert_eq!(g.node(key.dst).name.as_ref(), "10.0.0.6");
    let mut logon = hop(12_000, "pgustavo", "-", "WS-6", 9);
    logon.source_host = None;
    let t = g.add(&logon).unwrap();
    let key = g.edge(t.edge).key;
    assert_eq!(key.kind, EdgeKind::RemoteLogon);
    assert_eq!(g.node(key.src).name.as_ref(), "WS-5");
}

#[test]
fn user_activity_links_accounts_to_addresses_and_resources() {
    use warden_event::{ActivityType, UserActivity};
    let at = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
    let mut g = EntityGraph::new();
    let mut login = UserActivity::new("ana", ActivityType::Login, at("2026-03-02T09:00:00Z"));
    login.ip_address = Some("198.51.100.7".into());
    login.success = false;
    let mut read = UserActivity::new("ana", ActivityType::Download, at("2026-03-02T09:05:00Z"));
    read.resource_accessed = Some("Payroll".into());
    read.ip_address = Some("198.51.100.7".into());
    let mut again = read.clone();
    again.timestamp = at("2026-03-03T09:05:00Z");
    for a in [&login, &read, &again] {
        g.add(&crate::extract::activity_event(a).unwrap());
    }
    let ana = query::resolve(&g, "account:ana").unwrap();
    let edges: Vec<_> = g.out_edges(ana).copied().collect();
    assert_eq!(edges.len(), 2, "{edges:?}");
    let sign_in = edges
        .iter()
        .find(|e| e.key.kind == EdgeKind::SignIn)
        .unwrap();
    assert_eq!(g.node(sign_in.key.dst).name.as_ref(), "198.51.100.7");
    assert_eq!(query::edge_json(&g, 0)["failed"], true);
    let used = edges
        .iter()
        .find(|e| e.key.kind == EdgeKind::ResourceUse)
        .unwrap();
    assert_eq!(used.count, 2);
    assert_eq!(Some(used.key.dst), query::resolve(&g, "resource:PAYROLL"));
    let json = query::edge_json(&g, 1);
    assert_eq!(json["activity"], "download");
    assert!(json.get("logon_type").is_none());
}
