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
