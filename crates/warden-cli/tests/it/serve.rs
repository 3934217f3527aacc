//! `warden token create` and `warden serve` as a process: a real socket, a batch posted with
//! a token, SIGTERM for a graceful stop, and the alerts found in the store afterwards.

use crate::{root, run};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

fn http(addr: &str, request: &str) -> String {
    let mut conn = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    conn.write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    let _ = conn.read_to_string(&mut answer);
    answer
}

#[test]
fn serve_answers_with_a_token_and_stops_gracefully() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = dir.path().join("w.db").to_string_lossy().into_owned();
    let (code, token, err) = run(&[
        "token", "create", "--store", &store, "--scope", "write", "--tenant", "acme",
    ]);
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    assert!(
        token.starts_with("wdn_") && err.contains("shown only now"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "token", "create", "--store", &store, "--scope", "root", "--tenant", "acme",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("expected read, write or admin"), "{err}");

    let bin = assert_cmd::cargo::cargo_bin("warden");
    let mut child = Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--store", &store])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stderr = BufReader::new(child.stderr.take().unwrap_or_else(|| panic!("no stderr")));
    let mut first = String::new();
    stderr
        .read_line(&mut first)
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first}"))
        .to_owned();

    let answer = http(
        &addr,
        "GET /v1/alerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let events = std::fs::read_to_string(root().join("tests/data/history.jsonl"))
        .unwrap_or_default()
        + &std::fs::read_to_string(root().join("tests/data/attack.jsonl")).unwrap_or_default();
    let answer = http(
        &addr,
        &format!(
            "POST /v1/detect/realtime HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{events}",
            events.len()
        ),
    );
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{}",
        &answer[..answer.len().min(500)]
    );
    let body: Value = answer
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let alerts = body["alerts"].as_array().map_or(0, Vec::len);
    assert!(alerts >= 2, "the attack day alerts: {body}");

    let pid = child.id().to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let exit = child.wait().unwrap_or_else(|e| panic!("{e}"));
    let mut rest = String::new();
    let _ = stderr.read_to_string(&mut rest);
    assert!(exit.success(), "{rest}");
    assert!(rest.contains("stopped"), "{rest}");

    // Everything acknowledged is in the store.
    let (code, out, err) = run(&[
        "alerts", "list", "--store", &store, "--json", "--limit", "0",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), alerts);
}

/// `warden serve` on `store` with `config`; the child and its address.
fn start_serve(store: &str, config: &str) -> (std::process::Child, String) {
    let bin = assert_cmd::cargo::cargo_bin("warden");
    let mut child = Command::new(&bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            store,
            "--config",
            config,
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut stderr = BufReader::new(child.stderr.take().unwrap_or_else(|| panic!("no stderr")));
    let mut first = String::new();
    stderr
        .read_line(&mut first)
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first}"))
        .to_owned();
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
    });
    (child, addr)
}

/// Posts the history and attack samples; the ids of the alerts the answer acknowledged,
/// in order.
fn ingest_sample_alerts(addr: &str, token: &str) -> Vec<i64> {
    let events = std::fs::read_to_string(root().join("tests/data/history.jsonl")).unwrap()
        + &std::fs::read_to_string(root().join("tests/data/attack.jsonl")).unwrap();
    let answer = http(
        addr,
        &format!(
            "POST /v1/detect/realtime HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{events}",
            events.len()
        ),
    );
    let body: Value = answer
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    let mut want: Vec<i64> = body["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["id"].as_i64())
        .collect();
    want.sort_unstable();
    assert!(want.len() >= 2, "{body}");
    want
}

/// A webhook receiver on `listener` that deduplicates by alert id: every alert id it got,
/// with how many times.
fn dedup_receiver(
    listener: std::net::TcpListener,
) -> std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<i64, usize>>> {
    let got = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    let seen = got.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut reader = BufReader::new(conn);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if let Some(id) = v["alert_id"].as_i64() {
                *seen.lock().unwrap().entry(id).or_insert(0) += 1;
            }
            let mut conn = reader.into_inner();
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    got
}

#[test]
fn a_kill_between_commit_and_delivery_loses_no_webhook_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("w.db").to_string_lossy().into_owned();
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        "[server]\nwebhook_allow_private = true\nwebhook_backoff_ms = 50\nwebhook_retries = 20\n",
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    let (_, token, err) = run(&[
        "token", "create", "--store", &store, "--scope", "admin", "--tenant", "acme",
    ]);
    assert!(token.starts_with("wdn_"), "{err}");
    let token = token.trim();
    // The receiver's port, not listening yet: every delivery before the kill fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let (mut first, addr) = start_serve(&store, &config);
    let hook = format!(r#"{{"url": "http://127.0.0.1:{port}/hook", "min_level": "LOW"}}"#);
    let answer = http(
        &addr,
        &format!(
            "POST /v1/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{hook}",
            hook.len()
        ),
    );
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let want = ingest_sample_alerts(&addr, token);
    // Killed right after the commit was acknowledged: no chance to deliver.
    first.kill().unwrap();
    first.wait().unwrap();

    let got = dedup_receiver(std::net::TcpListener::bind(("127.0.0.1", port)).unwrap());
    let (mut second, _) = start_serve(&store, &config);
    let mut delivered = Vec::new();
    for _ in 0..200 {
        delivered = got.lock().unwrap().keys().copied().collect::<Vec<_>>();
        if delivered.len() >= want.len() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(
        delivered, want,
        "every acknowledged alert delivered after the restart"
    );
}

#[test]
fn a_kill_before_an_output_delivered_loses_nothing_and_a_restart_sends_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("w.db").to_string_lossy().into_owned();
    // The output writes under `out/`, a file for now: every write fails (and is retried)
    // until it becomes a folder.
    let blocker = dir.path().join("out");
    std::fs::write(&blocker, "not a folder").unwrap();
    let target = blocker.join("alerts.jsonl");
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "[[outputs]]\nkind = \"file\"\nname = \"archive\"\npath = \"{}\"\nmin_level = \"LOW\"\nretries = 100\n",
            target.display()
        ),
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    let (_, token, err) = run(&[
        "token", "create", "--store", &store, "--scope", "write", "--tenant", "acme",
    ]);
    assert!(token.starts_with("wdn_"), "{err}");
    let token = token.trim();

    let (mut first, addr) = start_serve(&store, &config);
    let want = ingest_sample_alerts(&addr, token);
    first.kill().unwrap();
    first.wait().unwrap();

    let written = || -> Vec<i64> {
        std::fs::read_to_string(&target)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["alert_id"].as_i64())
            .collect()
    };
    std::fs::remove_file(&blocker).unwrap();
    std::fs::create_dir(&blocker).unwrap();
    let (mut second, _) = start_serve(&store, &config);
    for _ in 0..200 {
        if written().len() >= want.len() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Time for the output's cursor to be saved, then a kill again.
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(written(), want, "every acknowledged alert, once, in order");

    let (mut third, _) = start_serve(&store, &config);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    third.kill().unwrap();
    third.wait().unwrap();
    assert_eq!(
        written(),
        want,
        "nothing sent again after the cursor was saved"
    );
}
