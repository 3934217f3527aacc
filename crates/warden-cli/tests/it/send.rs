//! `--send`: `warden hunt` and `warden detect` each deliver their alerts to real receivers
//! run by the test — syslog over UDP (CEF) or TCP (LEEF, octet-counted), a JSON Lines file
//! and a signed webhook — the same outputs the service has.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::{data, lines, root, run};

/// A webhook receiver: every POST's body and signature header, answered 200.
struct Hook {
    addr: String,
    got: Arc<Mutex<Vec<(String, String)>>>,
    stop: Arc<AtomicBool>,
}

impl Hook {
    fn start() -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let got = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, s) = (got.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => serve(conn, &g),
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Hook { addr, got, stop }
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads one HTTP/1.1 request and answers it, closing the connection.
fn serve(conn: std::net::TcpStream, got: &Mutex<Vec<(String, String)>>) {
    conn.set_nonblocking(false).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let (mut length, mut signature) = (0usize, String::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("x-warden-signature:") {
            signature = line["x-warden-signature:".len()..].trim().to_owned();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    got.lock()
        .unwrap()
        .push((String::from_utf8_lossy(&body).into_owned(), signature));
    let mut conn = conn;
    let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
}

/// Everything a UDP socket received within a short quiet period.
fn datagrams(sock: &UdpSocket) -> Vec<String> {
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = sock.recv(&mut buf) {
        out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    out
}

#[test]
fn hunt_sends_its_detections_to_syslog_a_file_and_a_webhook() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let hook = Hook::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerts.jsonl");
    let args = [
        "hunt",
        "-q",
        "--rules",
        &data("sigma"),
        "--format",
        "jsonl",
        "--send",
        &format!("syslog+udp://{}", udp.local_addr().unwrap()),
        "--send",
        &format!("file:{}", file.display()),
        "--send",
        &format!(
            "http://{}/hook?secret=env:WARDEN_TEST_HOOK_SECRET&min_level=low",
            hook.addr
        ),
        &data("evtx/system_restore_disabled.evtx"),
    ];
    let output = crate::warden()
        .args(args)
        .env("WARDEN_TEST_HOOK_SECRET", "s3cret")
        .output()
        .unwrap();
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    assert_eq!(output.status.code(), Some(0), "{err}");
    let detections = lines(&out);
    let at_medium = detections
        .iter()
        .filter(|d| d["level"] != "low" && d["level"] != "informational")
        .count();
    assert!(at_medium > 0);
    // Syslog: one CEF message per detection at MEDIUM or above (the default level).
    let messages = datagrams(&udp);
    assert_eq!(messages.len(), at_medium, "{err}");
    assert!(messages.iter().all(|m| m.contains("CEF:0|Warden|")));
    assert!(messages.iter().any(|m| m.contains("cat=sigma")));
    // The file: the alerts themselves.
    let written = lines(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(written.len(), at_medium);
    let first = &written[0]["alert"];
    assert_eq!(first["detector"]["kind"], "sigma");
    assert!(first["detail"]["sigma"]["rule_title"].is_string());
    assert!(first["detail"].get("ueba").is_none());
    assert_eq!(first["entities"][0]["kind"], "host", "{first}");
    // The webhook (every level), each body signed with the secret.
    let got = hook.got.lock().unwrap().clone();
    assert_eq!(got.len(), detections.len(), "{err}");
    for (body, sig) in &got {
        assert_eq!(
            *sig,
            warden_outputs::webhook::signature("s3cret", body.as_bytes())
        );
    }
    assert!(err.contains("output webhook-3:"), "{err}");
}

#[test]
fn detect_sends_its_alerts_to_the_outputs_of_a_toml_file() {
    let hook = Hook::start();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    let received = std::thread::spawn(move || {
        let (mut conn, _) = tcp.accept().unwrap();
        let mut all = String::new();
        conn.read_to_string(&mut all).unwrap();
        all
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("high.jsonl");
    let config = dir.path().join("outputs.toml");
    std::fs::write(
        &config,
        format!(
            "[[outputs]]\nkind = \"syslog\"\nname = \"qradar\"\naddress = \"{addr}\"\ntransport = \"tcp\"\nformat = \"leef\"\n\n[[outputs]]\nkind = \"file\"\nname = \"high\"\npath = \"{}\"\nmin_level = \"HIGH\"\n\n[[outputs]]\nkind = \"webhook\"\nname = \"soar\"\nurl = \"http://{}/hook\"\nsecret = \"k3y\"\nmin_level = \"CRITICAL\"\n",
            file.display(),
            hook.addr
        ),
    )
    .unwrap();
    let example = root().join("examples/activity.jsonl");
    let (code, out, err) = run(&[
        "detect",
        "--send",
        config.to_str().unwrap(),
        example.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let scores = lines(&out);
    let high = scores
        .iter()
        .filter(|s| s["threat_level"] == "HIGH" || s["threat_level"] == "CRITICAL")
        .count();
    assert!(high > 0);
    // The TCP output's connection closes at the end of the run: every frame is in.
    let stream = received.join().unwrap();
    let frames = stream.matches("LEEF:1.0|Warden|").count();
    assert_eq!(frames, scores.len(), "one LEEF message per alert");
    assert!(stream.contains("usrName=james.carter"));
    let written = lines(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(written.len(), high, "the file output keeps HIGH and above");
    let a = &written[0]["alert"];
    assert_eq!(a["detector"]["kind"], "ueba");
    assert_eq!(a["detail"]["ueba"]["event_id"], a["key"]);
    assert_eq!(a["digest"].as_str().map(str::len), Some(32), "{a}");
    assert!(a["evidence"][0]["event"]["user_id"].is_string(), "{a}");
    assert!(
        err.contains("output qradar:") && err.contains("output high:"),
        "{err}"
    );
    // The webhook: CRITICAL alerts only, each signed.
    let critical = scores
        .iter()
        .filter(|s| s["threat_level"] == "CRITICAL")
        .count();
    let got = hook.got.lock().unwrap().clone();
    assert_eq!(got.len(), critical, "{err}");
    for (body, sig) in &got {
        assert_eq!(
            *sig,
            warden_outputs::webhook::signature("k3y", body.as_bytes())
        );
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["alert"]["level"], "CRITICAL");
    }
}

#[test]
fn a_bad_target_is_refused_before_the_run() {
    for (target, expect) in [
        ("gopher://x:1", "gopher"),
        ("syslog+udp://localhost", "port"),
        ("missing.toml", "missing.toml"),
    ] {
        let (code, _, err) = run(&[
            "detect",
            "--send",
            target,
            root().join("examples/activity.jsonl").to_str().unwrap(),
        ]);
        assert_ne!(code, 0, "{target}");
        assert!(err.contains(expect), "{target}: {err}");
    }
}

/// NSL-KDD rows shaped like the ones the fixture forest was trained on: ordinary web
/// traffic, and a SYN flood to a private service.
fn nsl_row(attack: bool) -> String {
    let (bytes, count, rate, service) = if attack {
        (55_000, 450, "0.95", "private")
    } else {
        (220, 6, "0.02", "http")
    };
    let mut f: Vec<String> = vec!["0".into(), "tcp".into(), service.into(), "SF".into()];
    f.push(bytes.to_string());
    f.push((bytes * 2).to_string());
    f.extend((6..22).map(|_| "0".to_owned()));
    f.push(count.to_string());
    f.push(count.to_string());
    f.extend((24..41).map(|_| rate.to_owned()));
    f.push("unknown".into());
    f.push("20".into());
    f.join(",")
}

#[test]
fn detect_sends_anomalous_flows_as_network_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let flows = dir.path().join("flows.csv");
    std::fs::write(
        &flows,
        [nsl_row(false), nsl_row(true), nsl_row(false)].join("\n") + "\n",
    )
    .unwrap();
    let file = dir.path().join("alerts.jsonl");
    let model = root().join("tests/data/models/iforest-nsl-kdd-v3.wmdl");
    let (code, out, err) = run(&[
        "detect",
        "--format",
        "nsl-kdd",
        "--model",
        model.to_str().unwrap(),
        "--send",
        &format!("file:{}", file.display()),
        flows.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let scored = lines(&out);
    assert_eq!(scored.len(), 1, "only the flood is anomalous: {out}");
    assert_eq!(scored[0]["line"], 2);
    let written = lines(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(written.len(), 1, "{err}");
    let a = &written[0]["alert"];
    assert_eq!(a["detector"]["kind"], "flow");
    assert_eq!(a["anomalies"][0]["type"], "network_anomaly");
    assert_eq!(a["detail"]["flow"]["format"], "nsl-kdd");
    assert_eq!(a["evidence"][0]["reference"]["line"], 2);
    assert_eq!(a["evidence"][0]["event"]["flow"], nsl_row(true));
}

/// A Zeek `conn.log` (TSV) of one host sweeping 30 hosts on port 445, most unanswered,
/// and a few ordinary connections.
fn sweep_conn_log() -> String {
    let mut log = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
         #fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\n\
         #types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\n",
    );
    for i in 0..30u32 {
        let state = if i.is_multiple_of(5) { "SF" } else { "S0" };
        log.push_str(&format!(
            "{}.25\tCsw{i:02}\t10.1.1.66\t{}\t10.1.2.{}\t445\ttcp\t-\t0.1\t0\t0\t{state}\n",
            1_780_000_000 + i * 3,
            40_000 + i,
            10 + i
        ));
    }
    for i in 0..5 {
        log.push_str(&format!(
            "{}.5\tCok{i}\t10.1.1.7\t{}\t10.1.9.9\t443\ttcp\tssl\t2.5\t900\t40000\tSF\n",
            1_780_000_100 + i * 97,
            50_000 + i
        ));
    }
    log
}

#[test]
fn network_sends_its_findings_as_alerts_to_syslog_and_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let conn = dir.path().join("conn.log");
    std::fs::write(&conn, sweep_conn_log()).unwrap();
    let file = dir.path().join("alerts.jsonl");
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (code, out, err) = run(&[
        "network",
        "--send",
        &format!("file:{}", file.display()),
        "--send",
        &format!("syslog+udp://{}", udp.local_addr().unwrap()),
        conn.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let findings = lines(&out);
    assert_eq!(findings.len(), 1, "{out}");
    assert_eq!(findings[0]["kind"], "host_scan");
    let written = lines(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(written.len(), 1, "{err}");
    let a = &written[0]["alert"];
    assert_eq!(a["detector"]["kind"], "flow");
    assert_eq!(a["detector"]["id"], "network/host_scan");
    assert_eq!(a["subject"], "10.1.1.66");
    assert_eq!(a["level"], findings[0]["level"]);
    assert_eq!(a["detail"]["network"]["destination"], "port 445");
    assert_eq!(a["detail"]["network"]["records"], 30);
    let cited: Vec<&str> = a["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["reference"]["uid"].as_str())
        .collect();
    assert_eq!(cited.len(), 20);
    assert!(cited.iter().all(|u| u.starts_with("Csw")), "{cited:?}");
    let got = datagrams(&udp);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].contains("CEF:0|") && got[0].contains("10.1.1.66"),
        "{}",
        got[0]
    );
    assert!(err.contains("delivered"), "{err}");
}
