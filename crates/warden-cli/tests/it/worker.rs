//! `warden ship` and `warden worker` against a real Kafka-protocol broker (started by
//! `.ci/run`, address in `WARDEN_TEST_KAFKA`): three workers over twelve partitions raise
//! exactly the alerts `warden detect --partitions 12` raises, also when one of them is
//! killed with SIGKILL mid-run and its partitions are taken over from their checkpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warden_event::Alert;
use warden_worker::kafka::{KafkaSettings, committed_total, read_topic};

/// The broker, or `None` (skipped with a message) when none is configured here; CI sets
/// `WARDEN_REQUIRE_KAFKA=1` so that the tests cannot skip there.
fn broker() -> Option<String> {
    match std::env::var("WARDEN_TEST_KAFKA") {
        Ok(b) if !b.is_empty() => Some(b),
        _ if std::env::var("WARDEN_REQUIRE_KAFKA").is_ok_and(|v| v == "1") => {
            panic!("WARDEN_REQUIRE_KAFKA=1 but WARDEN_TEST_KAFKA names no broker")
        }
        _ => {
            eprintln!("skipped: no Kafka broker (set WARDEN_TEST_KAFKA=host:port)");
            None
        }
    }
}

/// Forty users at work for four weeks; in the last days six of them do what they never
/// did: a 3 a.m. login from far away after failures, a large transfer, new resources.
fn write_events(path: &std::path::Path) {
    let cities = [
        ("London, GB", 51.5, -0.12),
        ("Berlin, DE", 52.52, 13.4),
        ("Toronto, CA", 43.65, -79.38),
    ];
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut n = 0;
    for day in 0..28u32 {
        if day % 7 >= 5 {
            continue;
        }
        for hour in 8..18u32 {
            for u in 0..40u32 {
                let (city, lat, lon) = cities[(u % 3) as usize];
                let odd = u % 7 == 0 && day >= 22 && hour == 10;
                let (ts, city, lat, lon, gb, res, ok) = if odd {
                    (
                        format!("2026-03-{:02}T03:{:02}:00Z", day + 2, u % 60),
                        "Pyongyang, KP",
                        39.03,
                        125.75,
                        48.0,
                        "payroll-db",
                        u % 2 == 0,
                    )
                } else {
                    (
                        format!("2026-03-{:02}T{hour:02}:{:02}:00Z", day + 2, u % 60),
                        city,
                        lat,
                        lon,
                        0.01 + f64::from(u % 5) * 0.01,
                        ["wiki", "git", "mail"][(hour % 3) as usize],
                        true,
                    )
                };
                writeln!(
                    out,
                    r#"{{"event_id":"e{n}","user_id":"user{u:02}","activity_type":"{}","timestamp":"{ts}","location":"{city}","latitude":{lat},"longitude":{lon},"ip_address":"10.{}.0.{}","device_fingerprint":"dev-{u}","resource_accessed":"{res}","data_transferred_gb":{gb},"success":{ok}}}"#,
                    if odd { "login" } else { "file_access" },
                    u % 3,
                    u + 1 + if odd { 100 } else { 0 },
                )
                .unwrap();
                n += 1;
            }
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Worker {
    child: Child,
    port: u16,
}

impl Worker {
    fn start(
        broker: &str,
        topic: &str,
        group: &str,
        alerts: &str,
        log: &std::path::Path,
    ) -> Worker {
        let port = free_port();
        let child = Command::new(assert_cmd::cargo::cargo_bin("warden"))
            .args([
                "worker",
                "--brokers",
                broker,
                "--topic",
                topic,
                "--group",
                group,
            ])
            .args(["--alert-topic", alerts, "--replication", "1"])
            .args(["--checkpoint-every", "400", "--checkpoint-secs", "1"])
            .args(["--metrics", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Worker { child, port }
    }

    /// One counter or gauge from `/metrics` (0 when not up yet).
    fn metric(&self, name: &str) -> f64 {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return 0.0;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = write!(s, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
        let mut body = String::new();
        let _ = std::io::Read::read_to_string(&mut s, &mut body);
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0.0)
    }

    /// SIGTERM, and wait for the graceful end.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("a worker did not stop within a minute of SIGTERM");
    }
}

fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// (event id, score, level) of each alert `warden detect --partitions 12` raises.
fn reference(events: &std::path::Path) -> BTreeSet<String> {
    let out = super::warden()
        .args(["detect", "--partitions", "12"])
        .arg(events)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let s: warden_event::ThreatScore = serde_json::from_str(l).unwrap();
            format!(
                "{} {:.1} {:?}",
                s.event_id.unwrap_or_default(),
                s.threat_score,
                s.threat_level
            )
        })
        .collect()
}

/// The alert topic's alerts the same way, and how many messages repeated an identity.
fn delivered(settings: &KafkaSettings, topic: &str) -> (BTreeSet<String>, usize) {
    let mut by_identity = BTreeMap::new();
    let mut messages = 0;
    for m in read_topic(settings, topic).unwrap() {
        let a: Alert = serde_json::from_slice(&m).unwrap();
        messages += 1;
        by_identity.insert(
            a.identity(),
            format!("{} {:.1} {:?}", a.key, a.score, a.level),
        );
    }
    let dups = messages - by_identity.len();
    (by_identity.into_values().collect(), dups)
}

fn run_case(kill_one: bool) {
    let Some(broker) = broker() else { return };
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    write_events(&events);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let tag = format!("{}-{kill_one}-{nanos}", std::process::id());
    let (topic, group, alerts) = (
        format!("act-{tag}"),
        format!("g-{tag}"),
        format!("alerts-{tag}"),
    );
    let shipped = super::warden()
        .args([
            "ship",
            "--brokers",
            &broker,
            "--topic",
            &topic,
            "--partitions",
            "12",
            "--replication",
            "1",
        ])
        .arg(&events)
        .output()
        .unwrap();
    assert!(
        shipped.status.success(),
        "{}",
        String::from_utf8_lossy(&shipped.stderr)
    );
    let settings = KafkaSettings::new(&broker);
    let log = |i: usize| dir.path().join(format!("worker{i}.log"));
    let mut workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(&broker, &topic, &group, &alerts, &log(i)))
        .collect();
    if kill_one {
        // Killed once it has consumed and checkpointed some of its share.
        wait_for("the first worker's checkpoints", 120, || {
            workers[0].metric("warden_worker_checkpoints_total") >= 1.0
                && workers[0].metric("warden_worker_events_total") >= 500.0
        });
        let mut dead = workers.remove(0);
        dead.child.kill().unwrap(); // SIGKILL
        dead.child.wait().unwrap();
        let killed = Instant::now();
        wait_for("the partitions taken over", 120, || {
            workers
                .iter()
                .map(|w| w.metric("warden_worker_restores_total"))
                .sum::<f64>()
                >= 1.0
        });
        eprintln!(
            "takeover (restore on a survivor) {:.1} s after SIGKILL",
            killed.elapsed().as_secs_f64()
        );
        // And the killed one comes back.
        workers.push(Worker::start(&broker, &topic, &group, &alerts, &log(3)));
    }
    let lines = std::fs::read_to_string(&events).unwrap().lines().count() as i64;
    wait_for("the group to commit every event", 300, || {
        committed_total(&settings, &group, &topic).is_ok_and(|n| n == lines)
    });
    let restored: f64 = workers
        .iter()
        .map(|w| w.metric("warden_worker_restores_total"))
        .sum();
    for w in workers {
        w.stop();
    }
    let want = reference(&events);
    assert!(want.len() >= 6, "the generated anomalies alert: {want:?}");
    let (got, dups) = delivered(&settings, &alerts);
    eprintln!(
        "{} alerts, {} repeated messages on the alert topic",
        got.len(),
        dups
    );
    let logs: String = (0..4)
        .filter_map(|i| std::fs::read_to_string(log(i)).ok())
        .collect();
    assert_eq!(got, want, "worker logs:\n{logs}");
    assert_eq!(
        dups, 0,
        "an alert was delivered twice; worker logs:\n{logs}"
    );
    if kill_one {
        assert!(
            restored >= 1.0,
            "a partition was restored from its checkpoint"
        );
    }
}

#[test]
fn three_workers_raise_the_alerts_of_one_detect_run() {
    run_case(false);
}

#[test]
fn a_killed_worker_loses_and_duplicates_nothing() {
    run_case(true);
}

#[test]
fn an_unreachable_broker_is_a_clear_error() {
    if broker().is_none() {
        return;
    }
    let port = free_port();
    let out = super::warden()
        .args([
            "ship",
            "--brokers",
            &format!("127.0.0.1:{port}"),
            "--topic",
            "t",
        ])
        .args([
            "-X",
            "socket.timeout.ms=2000",
            "-X",
            "message.timeout.ms=3000",
        ])
        .arg(super::data("activity.csv"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("kafka brokers 127.0.0.1:{port} cannot be reached")),
        "{err}"
    );
}
