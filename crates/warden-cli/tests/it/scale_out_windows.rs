//! A Windows-log scenario for the workers' rules: Security events of 36 hosts over four
//! hours, some hosts password-sprayed, some sprayed too slowly to count, some with an
//! account created; the rules that find them (a `value_count` correlation and a plain
//! rule); and the alerts a correct run raises, worked out from the scenario itself.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use warden_event::Timestamp;

use super::scale_out::{Worker, alert_set_by, logs, ship, unique_tag, wait_for};

/// The spray correlation's and the account-creation rule's ids.
pub const SPRAY: &str = "5c0f0000-0000-4000-8000-00000000a002";
pub const CREATED: &str = "5c0f0000-0000-4000-8000-00000000a003";

/// The rules (`tests/data/worker/spray_rules.yml`).
pub fn rules() -> std::path::PathBuf {
    crate::root().join("tests/data/worker/spray_rules.yml")
}

/// Where the scenario's three parts end, in minutes: a test ships the first, lets the
/// workers checkpoint, ships the second, disturbs them, then ships the third.
const CUTS: [i64; 2] = [110, 130];

/// Writes the events in time order (JSON Lines in the evtx_dump shape) to `dir/part1.jsonl`,
/// `part2.jsonl` (from minute 110) and `part3.jsonl` (from minute 130); returns the parts
/// and the alerts a correct run raises, as `"<rule id> <ms>"`. Every spray begins in the
/// second part and is completed in the third: its window must outlive a takeover.
pub fn write_windows_logs(dir: &Path) -> ([std::path::PathBuf; 3], BTreeSet<String>) {
    let start = Timestamp::parse_rfc3339("2026-03-10T08:00:00Z").unwrap().0;
    let minute = 60_000;
    // (time, host, event id, user, address)
    let mut events: Vec<(i64, u32, u32, String, String)> = Vec::new();
    let mut expected = BTreeSet::new();
    for h in 0..36u32 {
        // Each host's events a second apart from every other host's: times are unique.
        let at = |m: i64| start + m * minute + i64::from(h) * 1000;
        for m in (0..240).step_by(2) {
            let u = (m / 2) % 7;
            events.push((at(m), h, 4624, format!("user{u}"), format!("10.1.{h}.{u}")));
        }
        let attacker = format!("203.0.113.{h}");
        // `n` failed logons of accounts `<prefix>0..` from the attacker, `step` minutes apart.
        let mut failures = |t0: i64, step: i64, n: i64, prefix: &str| {
            for k in 0..n {
                let user = format!("{prefix}{k}");
                events.push((at(t0 + step * k + 1), h, 4625, user, attacker.clone()));
            }
        };
        match h % 3 {
            // A spray: six accounts three minutes apart; the fifth completes it.
            0 => {
                let t0 = 117 + i64::from(h % 12);
                failures(t0, 3, 6, "adm");
                expected.insert(format!("{SPRAY} {}", at(t0 + 3 * 4 + 1)));
            }
            // Too slow: five accounts ten minutes apart never fit in fifteen minutes.
            1 => failures(20 + i64::from(h) * 4, 10, 5, "svc"),
            _ => {}
        }
        if h % 6 == 2 {
            events.push((
                at(100 + i64::from(h)),
                h,
                4720,
                "backdoor".into(),
                String::new(),
            ));
            expected.insert(format!("{CREATED} {}", at(100 + i64::from(h))));
        }
    }
    events.sort();
    let parts = ["part1.jsonl", "part2.jsonl", "part3.jsonl"].map(|n| dir.join(n));
    let mut files = parts
        .clone()
        .map(|p| std::io::BufWriter::new(std::fs::File::create(p).unwrap()));
    let mut records: BTreeMap<u32, u64> = BTreeMap::new();
    for (ts, h, eid, user, ip) in events {
        let part = CUTS.iter().filter(|c| ts >= start + *c * minute).count();
        let out = &mut files[part];
        let record = records.entry(h).or_insert(1000);
        *record += 1;
        writeln!(
            out,
            r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Security-Auditing"}}}},"EventID":{eid},"Channel":"Security","Computer":"WS{h:02}.corp.example","EventRecordID":{record},"TimeCreated":{{"#attributes":{{"SystemTime":"{}"}}}}}},"EventData":{{"TargetUserName":"{user}","IpAddress":"{ip}","LogonType":3}}}}}}"##,
            Timestamp(ts).to_rfc3339()
        )
        .unwrap();
    }
    for f in &mut files {
        f.flush().unwrap();
    }
    (parts, expected)
}

/// The alerts of the alert stream as `write_windows_logs` states them, and how many
/// messages repeated an identity.
pub fn windows_alert_set(messages: impl IntoIterator<Item = Vec<u8>>) -> (BTreeSet<String>, usize) {
    alert_set_by(messages, |a| {
        let ms = Timestamp::parse_rfc3339(&a.timestamp).map_or(0, |t| t.0);
        format!("{} {ms}", a.detector.id)
    })
}

/// The log a case runs on.
pub struct LogUnderTest<'a> {
    /// `warden ship` and `warden worker` arguments naming the log.
    pub args: &'a [&'a str],
    /// And what only `warden worker` takes.
    pub worker_args: &'a [&'a str],
    /// Whether the group consumed all of the topic (topic, group, events shipped).
    pub consumed: &'a dyn Fn(&str, &str, u64) -> bool,
    /// The messages of an alert topic.
    pub alerts: &'a dyn Fn(&str) -> Vec<Vec<u8>>,
}

/// Two workers with the rules; the first part shipped, then the second, after which the
/// partitions checkpoint open spray windows; one worker SIGKILL-ed, its
/// partitions taken over, a third worker started; then the third part, which completes
/// every spray. The alerts must be exactly the scenario's, none delivered twice.
pub fn killed_worker_case(log: &LogUnderTest<'_>, dir: &Path) {
    let logs_dir = dir.join("logs");
    std::fs::create_dir(&logs_dir).unwrap();
    let (parts, want) = write_windows_logs(&logs_dir);
    let rules = rules().to_string_lossy().into_owned();
    let tag = unique_tag("windows");
    let (topic, group, alerts) = (
        format!("win-{tag}"),
        format!("g-{tag}"),
        format!("alerts-{tag}"),
    );
    let mut ship_args = log.args.to_vec();
    ship_args.push("--logs");
    let lines = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count() as u64;
    let mut worker_args = log.args.to_vec();
    worker_args.extend(log.worker_args);
    worker_args.extend(["--rules", &rules]);
    let log_file = |i: usize| dir.join(format!("worker{i}.log"));
    let seen = |ws: &[Worker], name: &str| -> f64 { ws.iter().map(|w| w.metric(name)).sum() };

    // A checkpoint after every batch of five events or more: the one after the second
    // part holds the sprays' first failures.
    let every = ["--checkpoint-every", "5", "--checkpoint-secs", "3600"];
    // Each worker also sends its alerts to a file of its own (`--send`).
    let sent = |i: usize| dir.join(format!("sent{i}.jsonl"));
    let start = |i: usize| {
        let to = format!("file://{}", sent(i).display());
        let mut args = worker_args.clone();
        args.extend(["--send", to.as_str()]);
        Worker::start_with(&args, &every, &topic, &group, &alerts, &log_file(i))
    };
    ship(&ship_args, &topic, &parts[0]);
    let mut workers: Vec<Worker> = (0..2).map(start).collect();
    let first = lines(&parts[0]);
    wait_for("the first part consumed", 120, || {
        seen(&workers, "warden_worker_events_total") >= first as f64
    });
    let before = seen(&workers, "warden_worker_checkpoints_total");
    ship(&ship_args, &topic, &parts[1]);
    let second = first + lines(&parts[1]);
    let started = std::time::Instant::now();
    loop {
        let (events, checkpoints) = (
            seen(&workers, "warden_worker_events_total"),
            seen(&workers, "warden_worker_checkpoints_total"),
        );
        if events >= second as f64 && checkpoints >= before + 8.0 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the second part: {events} of {second} events, {checkpoints} checkpoints ({before} before); logs:\n{}",
            logs(dir, 2)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let mut dead = workers.remove(0);
    let restored = seen(&workers, "warden_worker_restores_total");
    dead.child.kill().unwrap(); // SIGKILL
    dead.child.wait().unwrap();
    wait_for("the partitions taken over", 120, || {
        seen(&workers, "warden_worker_restores_total") > restored
    });
    workers.push(start(2));
    ship(&ship_args, &topic, &parts[2]);
    let all = second + lines(&parts[2]);
    wait_for("every event consumed", 240, || {
        (log.consumed)(&topic, &group, all)
    });
    for w in workers {
        w.stop();
    }
    let (got, dups) = windows_alert_set((log.alerts)(&alerts));
    let logs = logs(dir, 3);
    assert_eq!(got, want, "worker logs:\n{logs}");
    assert_eq!(
        dups, 0,
        "an alert was delivered twice; worker logs:\n{logs}"
    );
    // The outputs got every alert at least once (a killed worker's last line may be cut
    // short: what it was writing is sent again by the partition's next owner).
    // A file output writes `{"alert_id", "tenant", "alert": {…}}` per line.
    let lines: Vec<Vec<u8>> = (0..3)
        .filter_map(|i| std::fs::read_to_string(sent(i)).ok())
        .flat_map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .map(|v| v["alert"].to_string().into_bytes())
                .collect::<Vec<_>>()
        })
        .collect();
    let (to_outputs, repeated) = windows_alert_set(lines);
    eprintln!(
        "outputs: {} alerts, {repeated} sent again",
        to_outputs.len()
    );
    assert_eq!(to_outputs, want, "worker logs:\n{logs}");
}
