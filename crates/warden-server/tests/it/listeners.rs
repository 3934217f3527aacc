//! Syslog listeners against real sockets: TCP with both framings, UDP, TLS with the test
//! CA; what they receive reaches the tenant's pipeline (alerts through the API), nothing is
//! lost over TCP under a tiny queue and a source rate, UDP drops are counted, bad messages
//! are counted and do not stop the good ones, and a bad configuration names its key.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::AsyncWriteExt;
use warden_server::auth::{Scope, create_token};
use warden_server::listeners::{ListenerConfig, ListenerStats, Protocol};
use warden_server::{AppState, ServiceConfig};

use crate::common;

fn listener(protocol: Protocol, name: &str) -> ListenerConfig {
    ListenerConfig {
        name: Some(name.into()),
        protocol,
        bind: "127.0.0.1:0".into(),
        tenant: "acme".into(),
        ..ListenerConfig::default()
    }
}

fn state(listeners: Vec<ListenerConfig>) -> (AppState, String) {
    let mut cfg = ServiceConfig::default();
    cfg.server.tls_cert = None;
    cfg.ingest.syslog.year = Some(2026);
    cfg.listeners = listeners;
    let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
    let (token, _) =
        create_token(&store, Scope::Read, "acme", "r").unwrap_or_else(|e| panic!("{e}"));
    (
        AppState::new(cfg, store).unwrap_or_else(|e| panic!("{e}")),
        token,
    )
}

fn repo_path(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

fn load(c: &std::sync::atomic::AtomicU64) -> u64 {
    c.load(std::sync::atomic::Ordering::Relaxed)
}

/// Waits (at most 20 s) until `done` holds for the listener's counters.
async fn until(stats: &ListenerStats, done: impl Fn(&ListenerStats) -> bool) {
    for _ in 0..400 {
        if done(stats) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("listener {} never got there: {stats:?}", stats.name);
}

async fn stats_of(state: &AppState, name: &str) -> Arc<ListenerStats> {
    for _ in 0..100 {
        if let Some(s) = state.listeners.get(name) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("listener {name} never started");
}

fn auth_log() -> Vec<String> {
    common::repo_file("tests/data/logs/auth.log")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_log_sent_over_tcp_becomes_the_tenants_alerts() {
    let (state, token) = state(vec![listener(Protocol::Tcp, "tcp")]);
    let server = common::start(state.clone()).await;
    let stats = stats_of(&state, "tcp").await;
    let lines = auth_log();
    // Both framings on one connection, as RFC 6587 allows: odd lines octet-counted.
    let mut stream = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if i % 2 == 1 {
            stream.extend_from_slice(format!("{} {l}", l.len()).as_bytes());
        } else {
            stream.extend_from_slice(l.as_bytes());
            stream.push(b'\n');
        }
    }
    let mut c = tokio::net::TcpStream::connect(stats.local)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // In small pieces: frames cut anywhere.
    for piece in stream.chunks(97) {
        c.write_all(piece).await.unwrap_or_else(|e| panic!("{e}"));
    }
    drop(c);
    let sent = lines.iter().filter(|l| !l.trim().is_empty()).count() as u64;
    until(&stats, |s| {
        load(&s.received) == sent && load(&s.parsed) + load(&s.unparsed) == sent
    })
    .await;
    assert_eq!(load(&stats.unparsed), 1, "the one line that is no log line");
    until(&stats, |s| load(&s.activities) == 33).await;
    let alerts = common::get_json(server.addr, &token, "/v1/alerts?level=HIGH&limit=200").await;
    let alerts: Vec<&Value> = alerts["alerts"].as_array().into_iter().flatten().collect();
    let explained = |needle: &str| {
        alerts
            .iter()
            .any(|a| a["explanation"].as_str().unwrap_or("").contains(needle))
    };
    assert!(
        explained("accounts from the network of 203.0.113.7"),
        "the spray: {alerts:#?}"
    );
    assert!(
        explained("successful login after 12 failed attempts"),
        "the guessed password: {alerts:#?}"
    );
    assert!(alerts.iter().all(|a| a["user_id"] != "ana"));
    // The logons are in the tenant's entity graph too.
    let graph = common::get_json(server.addr, &token, "/v1/graph/stats").await;
    let text = graph.to_string();
    assert!(
        text.contains("remote_logon") && text.contains("failed_logon"),
        "{graph}"
    );
    let metrics = common::get_raw(server.addr, "/metrics").await;
    assert!(
        metrics.contains(&format!(
            "warden_listener_messages_total{{listener=\"tcp\",protocol=\"tcp\",tenant=\"acme\",outcome=\"parsed\"}} {}",
            sent - 1
        )),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_over_tcp_when_the_queue_is_tiny_and_the_source_is_throttled() {
    let mut cfg = listener(Protocol::Tcp, "tcp");
    cfg.queue_messages = 16;
    cfg.batch_events = 10;
    cfg.rate_per_source = 2_000;
    let (state, _) = state(vec![cfg]);
    let server = common::start(state.clone()).await;
    let stats = stats_of(&state, "tcp").await;
    const N: usize = 8_000;
    let mut writers = Vec::new();
    for w in 0..2 {
        let addr = stats.local;
        writers.push(tokio::spawn(async move {
            let mut c = tokio::net::TcpStream::connect(addr)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let mut buf = Vec::new();
            for i in 0..N / 2 {
                buf.extend_from_slice(
                    format!(
                        "<86>Dec  4 10:00:{:02} web{w} cron[{i}]: (root) CMD (run-parts /etc/cron.hourly {i})\n",
                        i % 60
                    )
                    .as_bytes(),
                );
            }
            c.write_all(&buf).await.unwrap_or_else(|e| panic!("{e}"));
        }));
    }
    for w in writers {
        w.await.unwrap_or_else(|e| panic!("{e}"));
    }
    until(&stats, |s| load(&s.parsed) == N as u64).await;
    assert_eq!(load(&stats.received), N as u64);
    assert_eq!(
        load(&stats.unparsed) + load(&stats.queue_full) + load(&stats.rate_limited),
        0
    );
    // 2,000 at once, then 2,000 a second: 8,000 take about 3 s.
    assert!(
        load(&stats.throttled_ms) >= 1_500,
        "one address over its rate waits: {stats:?}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_counts_what_it_drops_over_the_source_rate() {
    let mut cfg = listener(Protocol::Udp, "udp");
    cfg.rate_per_source = 100;
    cfg.max_message_bytes = 8_192;
    let (state, _) = state(vec![cfg]);
    let server = common::start(state.clone()).await;
    let stats = stats_of(&state, "udp").await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..1_000 {
        let m = format!(
            "<38>Dec  4 10:00:00 web1 sshd[{i}]: Connection closed by 192.0.2.1 port 22 [preauth]"
        );
        socket
            .send_to(m.as_bytes(), stats.local)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    // A datagram over the size limit, and one that is no log at all.
    let big = vec![b'x'; 70_000];
    let _ = socket.send_to(&big[..65_000], stats.local).await;
    until(&stats, |s| load(&s.received) >= 900).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received = load(&stats.received);
    until(&stats, |s| {
        load(&s.parsed)
            + load(&s.unparsed)
            + load(&s.rate_limited)
            + load(&s.queue_full)
            + load(&s.oversize)
            == received
    })
    .await;
    let dropped = load(&stats.rate_limited);
    assert!(
        (700..=950).contains(&dropped),
        "about 900 of 1,000 over a rate of 100/s: {stats:?}"
    );
    assert_eq!(load(&stats.oversize), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_listener_reads_octet_counted_frames_from_a_trusting_client() {
    let mut cfg = listener(Protocol::Tls, "tls");
    cfg.tls_cert = Some(repo_path("tests/data/tls/server.pem"));
    cfg.tls_key = Some(repo_path("tests/data/tls/server.key"));
    let (state, _) = state(vec![cfg]);
    let server = common::start(state.clone()).await;
    let stats = stats_of(&state, "tls").await;
    let tcp = tokio::net::TcpStream::connect(stats.local)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let name =
        rustls::pki_types::ServerName::try_from("localhost").unwrap_or_else(|e| panic!("{e}"));
    let mut tls = crate::tls::connector()
        .connect(name, tcp)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut frames = Vec::new();
    for m in [
        "<86>1 2026-12-04T10:00:00Z db1 sudo 4242 - - alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
        "<38>1 2026-12-04T10:00:05Z db1 sshd 4243 - - Accepted publickey for alice from 192.0.2.10 port 50000 ssh2",
    ] {
        frames.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    // A length no sender means closes the connection; what came before is kept.
    frames.extend_from_slice(b"9999999999 <1>x");
    tls.write_all(&frames)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tls.flush().await.unwrap_or_else(|e| panic!("{e}"));
    // The sudo command and the login: both authentication events.
    until(&stats, |s| load(&s.parsed) == 2 && load(&s.activities) == 2).await;
    until(&stats, |s| {
        load(&s.framing_errors) == 1
            && s.connections_open
                .load(std::sync::atomic::Ordering::Relaxed)
                == 0
    })
    .await;
    // A plain client gets nothing read.
    let mut plain = tokio::net::TcpStream::connect(stats.local)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = plain.write_all(b"<1>plain text\n").await;
    drop(plain);
    until(&stats, |s| load(&s.connections_refused) >= 1).await;
    assert_eq!(load(&stats.parsed), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_and_unreadable_messages_are_counted_and_the_next_one_read() {
    let mut cfg = listener(Protocol::Tcp, "tcp");
    cfg.max_message_bytes = 1024;
    let (state, _) = state(vec![cfg]);
    let server = common::start(state.clone()).await;
    let stats = stats_of(&state, "tcp").await;
    let mut c = tokio::net::TcpStream::connect(stats.local)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let long = format!("<13>Dec  4 10:00:00 web1 app: {}\n", "A".repeat(5_000));
    c.write_all(long.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c.write_all(b"not a log line at all\n\xff\xfe\x00garbage\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    c.write_all(
        b"<38>Dec  4 10:00:01 web1 sshd[7]: Failed password for bob from 192.0.2.9 port 1 ssh2\n",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    drop(c);
    until(&stats, |s| load(&s.activities) == 1).await;
    assert_eq!(load(&stats.oversize), 1, "{stats:?}");
    assert!(load(&stats.unparsed) >= 1, "{stats:?}");
    server.stop().await;
}

#[test]
fn a_bad_listener_configuration_names_its_key() {
    let check = |l: ListenerConfig| {
        let cfg = ServiceConfig {
            listeners: vec![l],
            ..ServiceConfig::default()
        };
        cfg.validate().map_err(|e| e.to_string())
    };
    let tls = listener(Protocol::Tls, "tls");
    assert!(check(tls).is_err_and(|e| e.starts_with("listeners[0].tls_cert")));
    let mut bad = listener(Protocol::Udp, "u");
    bad.tenant = "two words".into();
    assert!(check(bad).is_err_and(|e| e.starts_with("listeners[0].tenant")));
    let mut bad = listener(Protocol::Tcp, "t");
    bad.bind = "localhost".into();
    assert!(check(bad).is_err_and(|e| e.starts_with("listeners[0].bind")));
    let toml = r#"
[[listeners]]
protocol = "tcp"
bind = "127.0.0.1:6514"
tenant = "acme"
rate_per_source = 1000
"#;
    let cfg: ServiceConfig = toml::from_str(toml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.listeners[0].display_name(), "syslog-tcp-6514");
    assert!(cfg.validate().is_ok());
    assert!(toml::from_str::<ServiceConfig>("[[listeners]]\nprotocol = \"sctp\"\n").is_err());
}

/// util-linux `logger`, a sender Warden did not write, over TCP (octet counting and
/// newline framing) and UDP, RFC 5424 and RFC 3164.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn util_linux_logger_is_read_over_tcp_and_udp() {
    if std::process::Command::new("logger")
        .arg("--help")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `logger` is not installed");
        return;
    }
    let (state, _) = state(vec![
        listener(Protocol::Tcp, "tcp"),
        listener(Protocol::Udp, "udp"),
    ]);
    let server = common::start(state.clone()).await;
    let tcp = stats_of(&state, "tcp").await;
    let udp = stats_of(&state, "udp").await;
    let send = |port: u16, extra: &[&str], text: &str| {
        let out = std::process::Command::new("logger")
            .args([
                "-n",
                "127.0.0.1",
                "-P",
                &port.to_string(),
                "-t",
                "sshd",
                "-i",
            ])
            .args(extra)
            .arg(text)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let failed = "Failed password for root from 198.51.100.23 port 52000 ssh2";
    send(tcp.local.port(), &["-T", "--octet-count"], failed);
    send(tcp.local.port(), &["-T", "--rfc3164"], failed);
    send(udp.local.port(), &["-d"], failed);
    send(udp.local.port(), &["-d", "--rfc3164"], failed);
    until(&tcp, |s| load(&s.parsed) == 2 && load(&s.activities) == 2).await;
    until(&udp, |s| load(&s.parsed) == 2 && load(&s.activities) == 2).await;
    assert_eq!(load(&tcp.unparsed) + load(&udp.unparsed), 0);
    server.stop().await;
}

/// A file listener follows a log file from its end: what was there before is not read,
/// appended lines are, and a rotation by rename and by truncation are both followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_file_is_read_as_it_grows_across_rotations() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("auth.log");
    std::fs::write(
        &path,
        "<38>Dec  4 09:00:00 web1 sshd[1]: Accepted publickey for old from 192.0.2.1 port 1 ssh2\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = listener(Protocol::File, "auth");
    cfg.bind = String::new();
    cfg.path = Some(path.clone());
    let (state, _) = state(vec![cfg]);
    let server = common::start(state.clone()).await;
    let stats = stats_of(&state, "auth").await;
    let append = |text: &str| {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{e}"));
        f.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    };
    let line = |i: u32| {
        format!(
            "<38>Dec  4 10:00:{i:02} web1 sshd[{i}]: Failed password for bob from 192.0.2.9 port {i} ssh2\n"
        )
    };
    append(&line(1));
    append(&line(2));
    until(&stats, |s| load(&s.parsed) == 2 && load(&s.activities) == 2).await;
    std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&path, line(3)).unwrap_or_else(|e| panic!("{e}"));
    until(&stats, |s| load(&s.parsed) == 3).await;
    std::fs::write(&path, "").unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    append(&line(4));
    until(&stats, |s| load(&s.parsed) == 4 && load(&s.activities) == 4).await;
    server.stop().await;
}
