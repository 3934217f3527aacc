//! `warden ship --nats` and `warden worker --nats` against a real NATS server with
//! JetStream (`nats-server`, Debian's package; each test starts its own on loopback with a
//! file store): three workers over twelve partitions raise exactly the alerts
//! `warden detect --partitions 12` raises, also when one of them is killed with SIGKILL
//! and when the server itself is killed and restarted mid-run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::scale_out::{
    Worker, alert_set, free_port, halves, logs, reference, ship, unique_tag, wait_for, write_events,
};
use super::scale_out_windows::LogUnderTest;
use warden_worker::nats::NatsSettings;
use warden_worker::nats::inspect::{
    checkpoint_bytes_blocking, put_checkpoint_bytes_blocking, read_stream_blocking,
    unacknowledged_blocking,
};

/// The `nats-server` binary, or `None` (skipped with a message) when there is none here;
/// CI sets `WARDEN_REQUIRE_NATS=1` so that the tests cannot skip there.
fn nats_server_binary() -> Option<PathBuf> {
    let explicit = std::env::var_os("WARDEN_TEST_NATS_SERVER").map(PathBuf::from);
    let found = explicit.or_else(|| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join("nats-server"))
                .find(|p| p.is_file())
        })
    });
    match found {
        Some(p) => Some(p),
        None if std::env::var("WARDEN_REQUIRE_NATS").is_ok_and(|v| v == "1") => {
            panic!("WARDEN_REQUIRE_NATS=1 but no nats-server on PATH")
        }
        None => {
            eprintln!("skipped: no nats-server (apt install nats-server)");
            None
        }
    }
}

/// A NATS server with JetStream on a loopback port, storing in `store`.
struct NatsServer {
    binary: PathBuf,
    store: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl NatsServer {
    fn start(binary: &Path, store: &Path) -> NatsServer {
        let mut s = NatsServer {
            binary: binary.to_owned(),
            store: store.to_owned(),
            port: free_port(),
            child: None,
        };
        s.restart();
        s
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn settings(&self) -> NatsSettings {
        NatsSettings {
            servers: self.url(),
            ..NatsSettings::default()
        }
    }

    /// (Re)starts the server on its port and store, and waits until it accepts clients.
    fn restart(&mut self) {
        let log = std::fs::File::create(self.store.with_extension("log")).unwrap();
        let child = Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-sd")
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_for("nats-server to listen", 30, || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
    }

    /// SIGKILL: no goodbye to the clients, nothing flushed but what the OS holds.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Partitions of the shipped stream (`scale_out::ship`).
const PARTITIONS: u32 = 12;

/// How a case disturbs the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trouble {
    None,
    KillWorker,
    RestartServer,
    /// Every partition's checkpoint cut short while the workers are stopped.
    DamagedCheckpoints,
}

fn run_case(trouble: Trouble) {
    let Some(binary) = nats_server_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = NatsServer::start(&binary, &dir.path().join("jetstream"));
    let events = dir.path().join("events.jsonl");
    write_events(&events);
    let tag = unique_tag(&format!("{trouble:?}"));
    let (stream, group, alerts) = (
        format!("act-{tag}"),
        format!("g-{tag}"),
        format!("alerts-{tag}"),
    );
    // The events come in two halves, the second after the trouble: a killed worker's
    // partitions, and a restarted server, have more to do when they are back.
    let (first, second, half) = halves(dir.path(), &events);
    ship(&["--nats", &server.url()], &stream, &first);
    let log = |i: usize| dir.path().join(format!("worker{i}.log"));
    let url = server.url();
    let on_nats = ["--nats", url.as_str(), "--lease-secs", "3"];
    let mut workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(&on_nats, &stream, &group, &alerts, &log(i)))
        .collect();
    let events_seen = |ws: &[Worker]| -> f64 {
        ws.iter()
            .map(|w| w.metric("warden_worker_events_total"))
            .sum()
    };
    match trouble {
        Trouble::None => {}
        Trouble::KillWorker => {
            // Killed once it has consumed and checkpointed some of its share.
            let started = Instant::now();
            let victim = loop {
                let ready = workers.iter().position(|w| {
                    w.metric("warden_worker_checkpoints_total") >= 1.0
                        && w.metric("warden_worker_events_total") >= 500.0
                });
                if let Some(i) = ready {
                    break i;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(120),
                    "no worker made a checkpoint; logs:\n{}",
                    logs(dir.path(), 3)
                );
                std::thread::sleep(Duration::from_millis(200));
            };
            let mut dead = workers.remove(victim);
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
            workers.push(Worker::start(&on_nats, &stream, &group, &alerts, &log(3)));
        }
        Trouble::RestartServer => {
            // Killed while the workers are busy: batches in flight are lost with the
            // connections, and the server may come back remembering less than it sent.
            wait_for("the workers under way", 120, || {
                events_seen(&workers) >= (half / 4) as f64
            });
            server.kill();
            std::thread::sleep(Duration::from_secs(2));
            server.restart();
        }
        Trouble::DamagedCheckpoints => {
            let settings = server.settings();
            wait_for("the first half acknowledged", 180, || {
                matches!(
                    unacknowledged_blocking(&settings, &stream, &group),
                    Ok(Some(0))
                )
            });
            for w in workers.drain(..) {
                w.stop(); // each partition's last checkpoint written
            }
            for p in 0..PARTITIONS {
                let mut bytes = checkpoint_bytes_blocking(&settings, &group, p)
                    .unwrap()
                    .expect("a checkpoint of every partition");
                bytes.truncate(bytes.len() / 2);
                put_checkpoint_bytes_blocking(&settings, &group, p, &bytes).unwrap();
            }
            workers = (3..6)
                .map(|i| Worker::start(&on_nats, &stream, &group, &alerts, &log(i)))
                .collect();
            wait_for("the damaged checkpoints found", 120, || {
                workers
                    .iter()
                    .map(|w| w.metric("warden_worker_unreadable_checkpoints_total"))
                    .sum::<f64>()
                    >= PARTITIONS as f64
            });
        }
    }
    ship(&["--nats", &server.url()], &stream, &second);
    let settings = server.settings();
    let started = Instant::now();
    loop {
        let left = unacknowledged_blocking(&settings, &stream, &group);
        if matches!(left, Ok(Some(0))) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the group left {left:?} events unacknowledged; logs:\n{}",
            logs(dir.path(), 6)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let restored: f64 = workers
        .iter()
        .map(|w| w.metric("warden_worker_restores_total"))
        .sum();
    for w in workers {
        w.stop();
    }
    let want = reference(&events);
    assert!(want.len() >= 6, "the generated anomalies alert: {want:?}");
    let messages = read_stream_blocking(&settings, &alerts).unwrap();
    let (got, dups) = alert_set(messages.into_iter().map(|m| m.payload));
    eprintln!(
        "{} alerts, {} repeated messages on the alert stream",
        got.len(),
        dups
    );
    let logs = logs(dir.path(), 6);
    assert_eq!(got, want, "worker logs:\n{logs}");
    assert_eq!(
        dups, 0,
        "an alert was delivered twice; worker logs:\n{logs}"
    );
    if trouble == Trouble::KillWorker {
        assert!(
            restored >= 1.0,
            "a partition was restored from its checkpoint"
        );
    }
}

#[test]
fn three_workers_on_jetstream_raise_the_alerts_of_one_detect_run() {
    run_case(Trouble::None);
}

#[test]
fn a_killed_worker_on_jetstream_loses_and_duplicates_nothing() {
    run_case(Trouble::KillWorker);
}

#[test]
fn a_nats_server_killed_and_restarted_mid_run_loses_nothing() {
    run_case(Trouble::RestartServer);
}

/// Partitions whose checkpoints cannot be read are rebuilt from the stream; alerts already
/// delivered are not delivered again.
#[test]
fn damaged_checkpoints_on_jetstream_are_rebuilt_and_nothing_repeats() {
    run_case(Trouble::DamagedCheckpoints);
}

#[test]
fn an_unreachable_nats_server_is_a_clear_error() {
    if nats_server_binary().is_none() {
        return;
    }
    let url = format!("nats://127.0.0.1:{}", free_port());
    let out = super::warden()
        .args(["ship", "--nats", &url, "--topic", "t"])
        .arg(super::data("activity.csv"))
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("NATS servers {url} unreachable")),
        "{err}"
    );
}

/// Windows logs with Sigma rules on JetStream: spray windows move with the partitions of a
/// killed worker (`scale_out_windows`).
#[test]
fn correlation_windows_on_jetstream_survive_a_killed_worker() {
    let Some(binary) = nats_server_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = NatsServer::start(&binary, &dir.path().join("jetstream"));
    let url = server.url();
    let settings = server.settings();
    super::scale_out_windows::killed_worker_case(
        &LogUnderTest {
            args: &["--nats", &url],
            worker_args: &["--lease-secs", "3"],
            consumed: &|stream, group, _| {
                matches!(
                    unacknowledged_blocking(&settings, stream, group),
                    Ok(Some(0))
                )
            },
            alerts: &|stream| {
                read_stream_blocking(&settings, stream)
                    .unwrap()
                    .into_iter()
                    .map(|m| m.payload)
                    .collect()
            },
        },
        dir.path(),
    );
}

/// `warden serve --forward-to nats://…/STREAM`: an HTTP batch is validated (a bad event
/// gets its error in place), forwarded keyed by entity onto the partition subjects, another
/// tenant's onto its own stream; with the server down the batch is refused with 503 and
/// the service stays up; once the server is back the same batch is taken.
#[test]
fn serve_forwards_ingest_to_jetstream() {
    use std::io::{BufRead, BufReader, Write};
    use warden_worker::keys::partition_for;
    let Some(binary) = nats_server_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = NatsServer::start(&binary, &dir.path().join("jetstream"));
    let store = dir.path().join("w.db").to_string_lossy().into_owned();
    let token = |tenant: &str| {
        let (code, out, err) = super::run(&[
            "token", "create", "--store", &store, "--scope", "write", "--tenant", tenant,
        ]);
        assert_eq!(code, 0, "{err}");
        out.trim().to_owned()
    };
    let (ours, theirs) = (token("default"), token("acme"));
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("warden"))
        .args(["serve", "--listen", "127.0.0.1:0", "--store", &store])
        .args(["--forward-to", &format!("{}/fwd", server.url())])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    let addr = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve ended: {said}"
        );
        said.push_str(&line);
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert!(said.contains("ingest goes to nats fwd"), "{said}");
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let post = |token: &str, body: &str| -> (u16, serde_json::Value) {
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            conn,
            "POST /v1/detect/realtime HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        let _ = std::io::Read::read_to_string(&mut conn, &mut answer);
        let code = answer[9..12].parse().unwrap();
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
        (code, serde_json::from_str(body).unwrap_or_default())
    };
    let batch = [
        r#"{"user_id":"ana","activity_type":"login","timestamp":"2026-03-02T09:00:00Z"}"#,
        r#"{"user_id":"bo","activity_type":"login","timestamp":"2026-03-02T09:01:00Z"}"#,
        "{not json",
        r#"{"Event":{"System":{"EventID":4625,"Computer":"WS1.corp","Channel":"Security"},"EventData":{"TargetUserName":"ana"}}}"#,
    ]
    .join("\n");
    let (code, answer) = post(&ours, &batch);
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["accepted"], 3, "{answer}");
    assert_eq!(answer["rejected"], 1, "{answer}");
    assert_eq!(answer["forwarded_to"], "nats fwd", "{answer}");
    assert_eq!(answer["results"][2]["error"]["code"], "invalid", "{answer}");
    let (code, answer) = post(&theirs, &batch);
    assert_eq!(
        (code, answer["accepted"].as_u64()),
        (200, Some(3)),
        "{answer}"
    );

    let settings = server.settings();
    let stored = read_stream_blocking(&settings, "fwd").unwrap();
    let mut keys: Vec<String> = stored
        .iter()
        .map(|m| {
            let doc: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
            let key = doc["user_id"].as_str().map_or_else(
                || warden_worker::keys::document_key(&doc).unwrap(),
                |u| format!("user:{u}"),
            );
            let p = partition_for(key.as_bytes(), 12);
            assert_eq!(m.subject, format!("fwd.{p}"), "{key} on its partition");
            key
        })
        .collect();
    keys.sort();
    assert_eq!(keys, ["host:ws1.corp", "user:ana", "user:bo"]);
    assert_eq!(
        read_stream_blocking(&settings, "fwd-acme").unwrap().len(),
        3
    );

    // The log away: refused, and the service answers on.
    server.kill();
    let (code, answer) = post(&ours, &batch);
    assert_eq!(code, 503, "{answer}");
    server.restart();
    let mut taken = false;
    for _ in 0..50 {
        if post(&ours, &batch).0 == 200 {
            taken = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(taken, "the batch is taken once the server is back");
    assert!(read_stream_blocking(&settings, "fwd").unwrap().len() >= 6);
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    assert!(child.wait().unwrap().success());
}

/// `warden worker` pointed at a NATS address where nothing listens (port 1), with `extra`
/// arguments: what it says before it would connect. Exit status and stderr.
fn worker_before_connecting(extra: &[&std::ffi::OsStr]) -> (Option<i32>, String) {
    let out = super::warden()
        .args([
            "worker",
            "--nats",
            "nats://127.0.0.1:1",
            "--topic",
            "activity",
        ])
        .args(extra)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_worker_stops_on_a_payload_model_it_cannot_read_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("payload.wpld");
    std::fs::write(&bad, b"not a model").unwrap();
    let (code, err) = worker_before_connecting(&["--payload-model".as_ref(), bad.as_os_str()]);
    assert_ne!(code, Some(0));
    assert!(
        err.contains("payload.wpld") && err.contains("not a payload model"),
        "{err}"
    );
}

#[test]
fn a_worker_refuses_a_host_threshold_of_one() {
    let (code, err) = worker_before_connecting(&["--common-at-hosts".as_ref(), "1".as_ref()]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--common-at-hosts") && err.contains("from 2 to"),
        "{err}"
    );
}
