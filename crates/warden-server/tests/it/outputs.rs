//! Alert outputs through a real server: syslog over UDP (CEF) and TCP (LEEF, octet-counted
//! frames) read back by receivers in the test, a JSON Lines file, and an unreachable
//! collector that fails and fills its queue without holding anything else up; a queue of
//! one that is fed from the store and loses nothing.

use std::time::Duration;
use tokio::io::AsyncReadExt;
use warden_outputs::{LineFormat, OutputConfig, Transport};
use warden_server::auth::{Scope, create_token};
use warden_server::{AppState, ServiceConfig};

use crate::common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_syslog_and_a_file_and_a_dead_collector_holds_nothing_up() {
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // A port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        l.local_addr().unwrap_or_else(|e| panic!("{e}"))
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("alerts.jsonl");
    let tiny = dir.path().join("tiny.jsonl");
    let outputs = vec![
        OutputConfig::Syslog {
            name: "siem-udp".into(),
            address: udp.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            transport: Transport::Udp,
            format: LineFormat::Cef,
            facility: 13,
            tls_ca: None,
            tls_server_name: None,
            min_level: warden_event::ThreatLevel::Medium,
            queue: 10_000,
            retries: 3,
        },
        OutputConfig::Syslog {
            name: "qradar-tcp".into(),
            address: tcp.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            transport: Transport::Tcp,
            format: LineFormat::Leef,
            facility: 13,
            tls_ca: None,
            tls_server_name: None,
            min_level: warden_event::ThreatLevel::High,
            queue: 10_000,
            retries: 3,
        },
        OutputConfig::File {
            name: "archive".into(),
            path: file.clone(),
            min_level: warden_event::ThreatLevel::Medium,
            queue: 10_000,
            retries: 3,
        },
        // A queue of one: it is full at once, and the output is fed from the store.
        OutputConfig::File {
            name: "tiny".into(),
            path: tiny.clone(),
            min_level: warden_event::ThreatLevel::Medium,
            queue: 1,
            retries: 3,
        },
        OutputConfig::Syslog {
            name: "dead".into(),
            address: dead.to_string(),
            transport: Transport::Tcp,
            format: LineFormat::Cef,
            facility: 13,
            tls_ca: None,
            tls_server_name: None,
            min_level: warden_event::ThreatLevel::Medium,
            queue: 2,
            retries: 1,
        },
    ];
    let cfg = ServiceConfig {
        outputs,
        ..ServiceConfig::default()
    };
    cfg.validate().unwrap_or_else(|e| panic!("{e}"));
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Write, "acme", "t").unwrap_or_else(|e| panic!("{e}"));
    let state = AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}"));
    let server = common::start(state).await;
    let addr = server.addr;

    let answer = common::post_raw(
        addr,
        &token,
        "/v1/detect/realtime",
        &common::repo_file("examples/activity.jsonl"),
    )
    .await;
    let alerts = answer["alerts"].as_array().cloned().unwrap_or_default();
    assert!(alerts.len() > 5, "{answer}");
    let high = alerts
        .iter()
        .filter(|a| a["level"] == "HIGH" || a["level"] == "CRITICAL")
        .count();

    // UDP: one RFC 5424 datagram per alert, CEF inside.
    let mut buf = vec![0u8; 65_536];
    let mut datagrams = Vec::new();
    while datagrams.len() < alerts.len() {
        let n = tokio::time::timeout(Duration::from_secs(10), udp.recv(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("only {} datagrams", datagrams.len()))
            .unwrap_or_else(|e| panic!("{e}"));
        datagrams.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(datagrams.iter().all(|d| d.starts_with('<')
        && d.contains(" warden ")
        && d.contains(" - CEF:0|Warden|Warden|")));
    let ids: Vec<String> = alerts
        .iter()
        .map(|a| format!("externalId={}", a["id"]))
        .collect();
    assert!(
        ids.iter()
            .all(|id| datagrams.iter().any(|d| d.contains(&format!("{id} "))))
    );

    // TCP: octet-counted frames, LEEF, HIGH and above only.
    let (mut conn, _) = tokio::time::timeout(Duration::from_secs(10), tcp.accept())
        .await
        .unwrap_or_else(|_| panic!("no TCP connection"))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut frames = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    while frames.len() < high {
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("only {} frames", frames.len()))
            .unwrap_or(0);
        assert!(n > 0, "connection closed");
        pending.extend_from_slice(&buf[..n]);
        while let Some(sp) = pending.iter().position(|b| *b == b' ') {
            let len: usize = std::str::from_utf8(&pending[..sp])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(usize::MAX);
            if pending.len() < sp + 1 + len {
                break;
            }
            frames.push(String::from_utf8_lossy(&pending[sp + 1..sp + 1 + len]).into_owned());
            pending.drain(..sp + 1 + len);
        }
    }
    assert_eq!(frames.len(), high);
    assert!(
        frames
            .iter()
            .all(|f| f.contains(" - LEEF:1.0|Warden|Warden|") && f.contains("\tusrName="))
    );

    // The file: one JSON line per alert.
    let mut lines = 0;
    for _ in 0..100 {
        lines = std::fs::read_to_string(&file)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines == alerts.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(lines, alerts.len());
    // The queue of one lost nothing and kept the order: every alert once, by id.
    let ids_in = |path: &std::path::Path| -> Vec<i64> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["alert_id"].as_i64())
            .collect()
    };
    let mut stored: Vec<i64> = alerts.iter().filter_map(|a| a["id"].as_i64()).collect();
    stored.sort_unstable();
    for _ in 0..100 {
        if ids_in(&tiny).len() >= stored.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ids_in(&tiny), stored);

    // The dead collector: failures and drops counted, nothing else affected.
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = common::get_raw(addr, "/metrics").await;
        if metrics.contains("warden_output_failed_total{output=\"dead\"} 0") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            break;
        }
    }
    let value = |name: &str| -> u64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {metrics}"))
    };
    assert_eq!(
        value("warden_output_delivered_total{output=\"siem-udp\"}"),
        alerts.len() as u64
    );
    assert_eq!(value("warden_output_delivered_total{output=\"dead\"}"), 0);
    // A full queue drops nothing: the output is fed from the store when it has room.
    assert_eq!(value("warden_output_dropped_total{output=\"dead\"}"), 0);
    assert_eq!(value("warden_output_dropped_total{output=\"tiny\"}"), 0);
    assert!(
        value("warden_output_failed_total{output=\"dead\"}") > 0,
        "{metrics}"
    );

    assert!(
        tokio::time::timeout(Duration::from_secs(10), server.stop())
            .await
            .is_ok(),
        "a dead collector does not hold up the shutdown"
    );
}
