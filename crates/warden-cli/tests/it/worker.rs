//! `warden ship` and `warden worker` against a real Kafka-protocol broker (one named in
//! `WARDEN_TEST_KAFKA`, or each test's own Tansu, as in CI): three workers over twelve partitions raise
//! exactly the alerts `warden detect --partitions 12` raises, also when one of them is
//! killed with SIGKILL mid-run and its partitions are taken over from their checkpoints.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use super::scale_out::{
    Worker, alert_set, free_port, logs, reference, ship, unique_tag, wait_for, write_events,
};
use super::tansu::{Storage, Tansu};
use warden_worker::checkpoint::{MAX_CHUNK, split};
use warden_worker::kafka::changelog::Changelog;
use warden_worker::kafka::rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use warden_worker::kafka::{KafkaSettings, committed_total, partition_count, read_topic};

/// The broker under test: one named in `WARDEN_TEST_KAFKA`, or else a Tansu of the test's
/// own when `WARDEN_TEST_TANSU` names its binary (as in CI).
struct Broker {
    address: String,
    _own: Option<Tansu>,
}

/// The broker, or `None` (skipped with a message) when none is configured here; CI sets
/// `WARDEN_REQUIRE_KAFKA=1` so that the tests cannot skip there.
fn broker(log_dir: &Path) -> Option<Broker> {
    if let Ok(address) = std::env::var("WARDEN_TEST_KAFKA")
        && !address.is_empty()
    {
        return Some(Broker {
            address,
            _own: None,
        });
    }
    if let Some(binary) = std::env::var_os("WARDEN_TEST_TANSU").filter(|b| !b.is_empty()) {
        let own = Tansu::start(
            Path::new(&binary),
            Storage::Memory,
            &log_dir.join("broker.log"),
        );
        return Some(Broker {
            address: own.address(),
            _own: Some(own),
        });
    }
    if std::env::var("WARDEN_REQUIRE_KAFKA").is_ok_and(|v| v == "1") {
        panic!("WARDEN_REQUIRE_KAFKA=1 but neither WARDEN_TEST_KAFKA nor WARDEN_TEST_TANSU is set")
    }
    eprintln!(
        "skipped: no Kafka broker (set WARDEN_TEST_KAFKA=host:port, or WARDEN_TEST_TANSU to a Tansu binary)"
    );
    None
}

/// The alert topic's alerts the same way, and how many messages repeated an identity.
fn delivered(settings: &KafkaSettings, topic: &str) -> (BTreeSet<String>, usize) {
    alert_set(read_topic(settings, topic).unwrap())
}

/// A broker with the generated events shipped to a topic of the test's own.
struct Case {
    dir: tempfile::TempDir,
    broker: Broker,
    events: std::path::PathBuf,
    topic: String,
    group: String,
    alerts: String,
    settings: KafkaSettings,
}

impl Case {
    /// Worker `i` of the case's group, logging to `worker{i}.log`.
    fn worker(&self, i: usize) -> Worker {
        let log = self.dir.path().join(format!("worker{i}.log"));
        let on_kafka = ["--brokers", self.broker.address.as_str()];
        Worker::start(&on_kafka, &self.topic, &self.group, &self.alerts, &log)
    }
}

/// The case, or `None` when no broker is configured here (skipped).
fn shipped(name: &str) -> Option<Case> {
    let dir = tempfile::tempdir().unwrap();
    let broker = broker(dir.path())?;
    let events = dir.path().join("events.jsonl");
    write_events(&events);
    let tag = unique_tag(name);
    let topic = format!("act-{tag}");
    ship(&["--brokers", &broker.address], &topic, &events);
    let settings = KafkaSettings::new(&broker.address);
    Some(Case {
        dir,
        broker,
        events,
        topic,
        group: format!("g-{tag}"),
        alerts: format!("alerts-{tag}"),
        settings,
    })
}

fn run_case(kill_one: bool) {
    let Some(case) = shipped(&kill_one.to_string()) else {
        return;
    };
    let Case {
        dir,
        events,
        topic,
        group,
        alerts,
        settings,
        ..
    } = &case;
    let mut workers: Vec<Worker> = (0..3).map(|i| case.worker(i)).collect();
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
        workers.push(case.worker(3));
    }
    let lines = std::fs::read_to_string(events).unwrap().lines().count() as i64;
    wait_for("the group to commit every event", 300, || {
        committed_total(settings, group, topic).is_ok_and(|n| n == lines)
    });
    let restored: f64 = workers
        .iter()
        .map(|w| w.metric("warden_worker_restores_total"))
        .sum();
    for w in workers {
        w.stop();
    }
    let want = reference(events);
    assert!(want.len() >= 6, "the generated anomalies alert: {want:?}");
    let (got, dups) = delivered(settings, alerts);
    eprintln!(
        "{} alerts, {} repeated messages on the alert topic",
        got.len(),
        dups
    );
    let logs = logs(dir.path(), 4);
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
    let dir = tempfile::tempdir().unwrap();
    if broker(dir.path()).is_none() {
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

/// Windows logs with Sigma rules on Kafka: spray windows move with the partitions of a
/// killed worker (`scale_out_windows`).
#[test]
fn correlation_windows_survive_a_killed_worker() {
    let dir = tempfile::tempdir().unwrap();
    let Some(under_test) = broker(dir.path()) else {
        return;
    };
    let broker = under_test.address.as_str();
    let settings = KafkaSettings::new(broker);
    super::scale_out_windows::killed_worker_case(
        &super::scale_out_windows::LogUnderTest {
            args: &["--brokers", broker],
            worker_args: &[],
            consumed: &|topic, group, n| {
                committed_total(&settings, group, topic).is_ok_and(|c| c == n as i64)
            },
            alerts: &|topic| read_topic(&settings, topic).unwrap(),
        },
        dir.path(),
    );
}

/// Each partition's newest checkpoint damaged on the changelog (cut short, as a torn write
/// or a bad disk leaves it): a worker restores every partition from the checkpoint before
/// it, counts and names what it passed over, and delivers no alert twice.
#[test]
fn a_worker_passes_over_a_damaged_checkpoint_for_an_older_one() {
    let Some(case) = shipped("damaged") else {
        return;
    };
    let settings = &case.settings;
    let first = case.worker(0);
    let lines = std::fs::read_to_string(&case.events)
        .unwrap()
        .lines()
        .count() as i64;
    wait_for("the worker to commit every event", 300, || {
        committed_total(settings, &case.group, &case.topic).is_ok_and(|n| n == lines)
    });
    // Checkpoints every second: each partition has several by now, the last on stopping.
    std::thread::sleep(Duration::from_secs(3));
    first.stop();

    let changelog_topic = format!("{}.checkpoints", case.group);
    let changelog = Changelog::open(settings, &changelog_topic).unwrap();
    let partitions = partition_count(settings, &case.topic).unwrap().unwrap() as i32;
    let producer: BaseProducer = settings.client(&[]).unwrap().create().unwrap();
    let mut before = Vec::new();
    for p in 0..partitions {
        let read = changelog.read(p).unwrap();
        let newest = read.checkpoint.clone().expect("a checkpoint");
        let mut bytes = newest.encode();
        bytes.truncate(bytes.len() / 2);
        let damaged = split(&bytes, u64::MAX - p as u64);
        before.push((read, damaged.len() as u64));
        for chunk in damaged {
            let key = format!("{p}/{}", chunk.index);
            let body = chunk.to_bytes();
            let record = BaseRecord::to(&changelog_topic)
                .partition(p)
                .key(&key)
                .payload(&body);
            producer.send(record).map_err(|(e, _)| e).unwrap();
        }
    }
    producer.flush(Duration::from_secs(30)).unwrap();
    for p in 0..partitions {
        let read = changelog.read(p).unwrap();
        assert_eq!(read.unreadable.len(), 1, "partition {p}: {read:?}");
        assert!(read.checkpoint.is_some(), "partition {p} has an older one");
        // The tail once (the damaged chunks added to it), then only the older checkpoint's
        // own chunks: not the tail again.
        let (first, damaged) = &before[p as usize];
        let older = read.bytes.div_ceil(MAX_CHUNK) as u64;
        assert!(
            read.messages <= first.messages + damaged + older,
            "partition {p}: {} messages read, {} before",
            read.messages,
            first.messages
        );
    }

    let second = case.worker(1);
    wait_for("every partition restored", 120, || {
        second.metric("warden_worker_restores_total") >= partitions as f64
    });
    assert_eq!(
        second.metric("warden_worker_unreadable_checkpoints_total"),
        partitions as f64
    );
    // Whatever the older checkpoints are behind is replayed, its alerts not delivered again.
    std::thread::sleep(Duration::from_secs(3));
    second.stop();
    let logs = logs(case.dir.path(), 2);
    assert!(
        logs.contains("could not be read") && logs.contains("restored from an older one"),
        "{logs}"
    );
    let (got, dups) = delivered(settings, &case.alerts);
    assert_eq!(got, reference(&case.events), "worker logs:\n{logs}");
    assert_eq!(
        dups, 0,
        "an alert was delivered twice; worker logs:\n{logs}"
    );
}
