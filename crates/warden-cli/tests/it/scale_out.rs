//! What the scale-out tests on Kafka and on NATS share: a generated company with a few
//! anomalies, `warden worker` processes with their metrics, and the reference alerts of
//! `warden detect --partitions 12` to compare the workers' output with.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use warden_event::Alert;

/// Forty users at work for four weeks; in the last days six of them do what they never
/// did: a 3 a.m. login from far away after failures, a large transfer, new resources.
pub fn write_events(path: &std::path::Path) {
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `warden worker` process and its metrics port.
pub struct Worker {
    pub child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Worker {
    /// `warden worker` on the log `log_args` name (`--brokers …` or `--nats …`),
    /// checkpointing every 400 events of a partition or every second.
    pub fn start(
        log_args: &[&str],
        topic: &str,
        group: &str,
        alerts: &str,
        log: &std::path::Path,
    ) -> Worker {
        let every = ["--checkpoint-every", "400", "--checkpoint-secs", "1"];
        Worker::start_with(log_args, &every, topic, group, alerts, log)
    }

    /// The same with other checkpoint settings (`--checkpoint-every`, `--checkpoint-secs`).
    pub fn start_with(
        log_args: &[&str],
        checkpoints: &[&str],
        topic: &str,
        group: &str,
        alerts: &str,
        log: &std::path::Path,
    ) -> Worker {
        let port = free_port();
        let child = Command::new(assert_cmd::cargo::cargo_bin("warden"))
            .arg("worker")
            .args(log_args)
            .args(["--topic", topic, "--group", group])
            .args(["--alert-topic", alerts, "--replication", "1"])
            .args(checkpoints)
            .args(["--metrics", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        Worker {
            child,
            port,
            log: log.to_owned(),
        }
    }

    /// One counter or gauge from `/metrics` (0 when not up yet).
    pub fn metric(&self, name: &str) -> f64 {
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
    pub fn stop(mut self) {
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
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!("a worker did not stop within a minute of SIGTERM; its log:\n{log}");
    }
}

/// A test that fails leaves no worker running behind it.
impl Drop for Worker {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// (event id, score, level) of each alert `warden detect --partitions 12` raises.
pub fn reference(events: &std::path::Path) -> BTreeSet<String> {
    let out = crate::warden()
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

/// Alerts (JSON, one per message) as `reference` gives them, and how many messages
/// repeated an identity.
pub fn alert_set(messages: impl IntoIterator<Item = Vec<u8>>) -> (BTreeSet<String>, usize) {
    alert_set_by(messages, |a| {
        format!("{} {:.1} {:?}", a.key, a.score, a.level)
    })
}

/// Alerts (JSON, one per message) as `describe` states them, one per identity, and how
/// many messages repeated an identity.
pub fn alert_set_by(
    messages: impl IntoIterator<Item = Vec<u8>>,
    describe: impl Fn(&Alert) -> String,
) -> (BTreeSet<String>, usize) {
    let mut by_identity = BTreeMap::new();
    let mut n = 0;
    for m in messages {
        let a: Alert = serde_json::from_slice(&m).unwrap();
        n += 1;
        by_identity.insert(a.identity(), describe(&a));
    }
    let dups = n - by_identity.len();
    (by_identity.into_values().collect(), dups)
}

/// A name no earlier run used (topics and groups outlive a test run on a shared broker).
pub fn unique_tag(case: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{case}-{nanos}", std::process::id())
}

/// The workers' logs, for a failure's report.
pub fn logs(dir: &std::path::Path, n: usize) -> String {
    (0..n)
        .filter_map(|i| std::fs::read_to_string(dir.join(format!("worker{i}.log"))).ok())
        .collect()
}

/// `warden ship` of `events` to `topic` (12 partitions) on the log `log_args` name.
pub fn ship(log_args: &[&str], topic: &str, events: &std::path::Path) {
    let out = crate::warden()
        .arg("ship")
        .args(log_args)
        .args(["--topic", topic, "--partitions", "12", "--replication", "1"])
        .arg(events)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The events split in two files (`first.jsonl`, `second.jsonl` in `dir`): what is shipped
/// before a disturbance and what after. Returns them with the number of lines in the first.
pub fn halves(
    dir: &std::path::Path,
    events: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, usize) {
    let text = std::fs::read_to_string(events).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let half = lines.len() / 2;
    let (first, second) = (dir.join("first.jsonl"), dir.join("second.jsonl"));
    std::fs::write(&first, lines[..half].join("\n") + "\n").unwrap();
    std::fs::write(&second, lines[half..].join("\n") + "\n").unwrap();
    (first, second, half)
}
