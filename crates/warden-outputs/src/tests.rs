//! The outputs running: delivery to a file, over UDP, over TLS and to a webhook, queues
//! that fill up, and what `finish` reports when time runs out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use warden_event::ThreatLevel;

use crate::testutil::{low, sigma, ueba};
use crate::{
    Delivery, LineFormat, OutputConfig, OutputReport, Outputs, Secret, Transport, webhook,
};

fn file_output(name: &str, path: &Path, queue: usize) -> OutputConfig {
    OutputConfig::File {
        name: name.into(),
        path: path.to_owned(),
        min_level: ThreatLevel::Medium,
        queue,
        retries: 0,
    }
}

fn syslog_output(address: String, transport: Transport, format: LineFormat) -> OutputConfig {
    OutputConfig::Syslog {
        name: "siem".into(),
        address,
        transport,
        format,
        facility: 13,
        tls_ca: (transport == Transport::Tls).then(|| tls_file("ca.pem")),
        tls_server_name: None,
        min_level: ThreatLevel::Medium,
        queue: 100,
        retries: 2,
    }
}

fn tls_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/tls")
        .join(name)
}

fn report(name: &str, delivered: u64, dropped: u64, retries: u64) -> OutputReport {
    OutputReport {
        name: name.into(),
        delivered,
        failed: 0,
        dropped,
        retries,
        pending: 0,
    }
}

#[test]
fn an_alert_without_a_store_id_shows_its_key_or_a_hash() {
    assert_eq!(ueba("x", "eve").external_id(), "42");
    assert_eq!(sigma().external_id(), "sigma:r1:7");
    let mut a = (*sigma().alert).clone();
    a.key.clear();
    let d = Delivery::new(None, Arc::new(a));
    let a = &d.alert;
    assert_eq!(
        d.external_id(),
        warden_event::content_hash(&[
            "",
            a.detector.id.as_str(),
            a.timestamp.as_str(),
            a.subject.as_str()
        ])
    );
    assert_eq!(d.level(), ThreatLevel::High);
}

#[tokio::test]
async fn finish_delivers_to_a_json_lines_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("alerts.jsonl");
    let outputs = Outputs::start(&[file_output("archive", &path, 100)]);
    assert_eq!(outputs.len(), 1);
    assert!(!outputs.is_empty());
    outputs.dispatch(&ueba("why", "eve"));
    outputs.dispatch(&sigma());
    // Below the output's level: not for it, and not counted anywhere.
    outputs.dispatch(&low());
    let reports = outputs.finish(Duration::from_secs(10)).await;
    assert_eq!(reports, vec![report("archive", 2, 0, 0)]);

    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["alert_id"], 42);
    assert_eq!(lines[0]["tenant"], "acme");
    assert_eq!(lines[0]["alert"]["subject"], "eve");
    assert!(lines[1]["alert_id"].is_null());
    assert_eq!(lines[1]["alert"]["key"], "sigma:r1:7");
}

#[tokio::test]
async fn finish_delivers_over_udp() {
    let collector = UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = collector.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let cfg = syslog_output(addr.to_string(), Transport::Udp, LineFormat::Cef);
    cfg.validate().unwrap_or_else(|e| panic!("{e}"));
    let outputs = Outputs::start(&[cfg]);
    outputs.dispatch(&ueba("why", "eve"));
    outputs.dispatch(&sigma());
    let reports = outputs.finish(Duration::from_secs(10)).await;
    assert_eq!(reports, vec![report("siem", 2, 0, 0)]);

    let mut buf = vec![0u8; 65_536];
    let mut got = Vec::new();
    for _ in 0..2 {
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), collector.recv_from(&mut buf))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    // Facility 13 (log audit) × 8 + severity 3 (error, for HIGH).
    assert!(got[0].starts_with("<107>1 "), "{}", got[0]);
    assert!(got[0].contains(" - CEF:0|Warden|Warden|"), "{}", got[0]);
    assert!(got[0].contains("suser=eve"), "{}", got[0]);
    assert!(got[1].contains("dhost=dc1"), "{}", got[1]);
}

/// Splits octet-counted frames (`LEN SP MSG`…).
fn octet_frames(mut data: &[u8]) -> Vec<String> {
    let mut frames = Vec::new();
    while let Some(sp) = data.iter().position(|&b| b == b' ') {
        let len: usize = std::str::from_utf8(&data[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no frame length in {:?}", String::from_utf8_lossy(data)));
        let end = sp + 1 + len;
        assert!(end <= data.len(), "a frame is cut short");
        frames.push(String::from_utf8_lossy(&data[sp + 1..end]).into_owned());
        data = &data[end..];
    }
    assert!(data.is_empty(), "bytes after the last frame");
    frames
}

#[tokio::test]
async fn finish_delivers_over_tls_in_octet_counted_frames() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(tls_file("server.pem"))
        .unwrap_or_else(|e| panic!("{e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    let key =
        PrivateKeyDer::from_pem_file(tls_file("server.key")).unwrap_or_else(|e| panic!("{e}"));
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap_or_else(|e| panic!("{e}"))
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap_or_else(|e| panic!("{e}"));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let collector = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap_or_else(|e| panic!("{e}"));
        let mut tls = acceptor
            .accept(tcp)
            .await
            .unwrap_or_else(|e| panic!("the handshake: {e}"));
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got
    });

    // The certificate is for 127.0.0.1 (and localhost), signed by the test CA.
    let cfg = syslog_output(addr.to_string(), Transport::Tls, LineFormat::Leef);
    cfg.validate().unwrap_or_else(|e| panic!("{e}"));
    let outputs = Outputs::start(&[cfg]);
    outputs.dispatch(&ueba("why", "eve"));
    outputs.dispatch(&sigma());
    let reports = outputs.finish(Duration::from_secs(20)).await;
    assert_eq!(reports, vec![report("siem", 2, 0, 0)]);

    let got = tokio::time::timeout(Duration::from_secs(10), collector)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let frames = octet_frames(&got);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert!(frames[0].starts_with("<107>1 "), "{}", frames[0]);
    assert!(
        frames[0].contains(" - LEEF:1.0|Warden|Warden|"),
        "{}",
        frames[0]
    );
    assert!(frames[0].contains("usrName=eve"), "{}", frames[0]);
    assert!(frames[1].contains("identHostName=dc1"), "{}", frames[1]);
}

/// Reads one HTTP/1.1 request: its headers (names in lower case, the request line under
/// `:request`) and its body (by `content-length`).
async fn read_request(conn: &mut TcpStream) -> Option<(HashMap<String, String>, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut headers: HashMap<String, String> = HashMap::new();
    headers.insert(
        ":request".into(),
        lines.next().unwrap_or_default().to_owned(),
    );
    for (k, v) in lines.filter_map(|l| l.split_once(':')) {
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[head_end + 4..].to_vec();
    while body.len() < len {
        let n = conn.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some((headers, body))
}

#[tokio::test]
async fn a_webhook_is_signed_and_retried_until_accepted() {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (tx, mut requests) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        // The first attempt is refused, the second accepted.
        let mut answers = ["500 Internal Server Error", "200 OK"].into_iter();
        while let Ok((mut conn, _)) = listener.accept().await {
            let Some(request) = read_request(&mut conn).await else {
                continue;
            };
            // Recorded before answering, so it is there once the output is done.
            let _ = tx.send(request);
            let status = answers.next().unwrap_or("200 OK");
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = conn.write_all(answer.as_bytes()).await;
            let _ = conn.shutdown().await;
        }
    });

    let cfg = OutputConfig::Webhook {
        name: "hook".into(),
        url: format!("http://{addr}/in"),
        secret: Some(Secret::new("s3cret")),
        min_level: ThreatLevel::Medium,
        queue: 10,
        retries: 2,
        timeout_secs: 5,
    };
    cfg.validate().unwrap_or_else(|e| panic!("{e}"));
    let outputs = Outputs::start(&[cfg]);
    outputs.dispatch(&sigma());
    let reports = outputs.finish(Duration::from_secs(20)).await;
    assert_eq!(reports, vec![report("hook", 1, 0, 1)]);

    for attempt in 0..2 {
        let (headers, body) = requests
            .try_recv()
            .unwrap_or_else(|e| panic!("request {attempt}: {e}"));
        let header = |k: &str| headers.get(k).map(String::as_str);
        assert_eq!(header(":request"), Some("POST /in HTTP/1.1"));
        assert_eq!(header("content-type"), Some("application/json"));
        assert_eq!(header("x-warden-event"), Some("alert.created"));
        let expected = webhook::signature("s3cret", &body);
        assert!(expected.starts_with("sha256="));
        assert_eq!(header("x-warden-signature"), Some(expected.as_str()));
        let v: Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"));
        assert!(v["alert_id"].is_null());
        assert_eq!(v["tenant"], "t");
        assert_eq!(v["alert"]["key"], "sigma:r1:7");
        assert_eq!(v["alert"]["detector"]["id"], "r1");
    }
    assert!(requests.try_recv().is_err(), "one delivery, one retry");
}

#[tokio::test]
async fn a_full_queue_drops_for_that_output_only() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let outputs = Outputs::start(&[
        file_output("small", &dir.path().join("small.jsonl"), 1),
        file_output("big", &dir.path().join("big.jsonl"), 100),
    ]);
    // One thread and no await since the start: the workers have not taken anything yet,
    // so the small queue holds one alert and drops the rest.
    for _ in 0..3 {
        outputs.dispatch(&sigma());
    }
    assert_eq!(
        outputs.queues(),
        vec![("small".to_owned(), 1, 1), ("big".to_owned(), 3, 100)]
    );
    let metrics = outputs.render();
    for line in [
        "# TYPE warden_output_dropped_total counter\n",
        "warden_output_dropped_total{output=\"small\"} 2\n",
        "warden_output_dropped_total{output=\"big\"} 0\n",
        "warden_output_delivered_total{output=\"big\"} 0\n",
        "warden_output_failed_total{output=\"big\"} 0\n",
        "warden_output_retries_total{output=\"big\"} 0\n",
        "# TYPE warden_output_queue_depth gauge\n",
        "warden_output_queue_depth{output=\"big\"} 3\n",
    ] {
        assert!(metrics.contains(line), "{line} not in\n{metrics}");
    }
    let reports = outputs.finish(Duration::from_secs(10)).await;
    assert_eq!(
        reports,
        vec![report("small", 1, 2, 0), report("big", 3, 0, 0)]
    );

    let none = Outputs::default();
    assert!(none.is_empty());
    assert!(none.finish(Duration::from_secs(1)).await.is_empty());
}

#[tokio::test]
async fn what_is_not_delivered_in_time_is_pending() {
    // A port nobody listens on: every attempt is refused, and the retries would outlast
    // the time `finish` is given.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        l.local_addr().unwrap_or_else(|e| panic!("{e}"))
    };
    let cfg = OutputConfig::Webhook {
        name: "down".into(),
        url: format!("http://{addr}/"),
        secret: None,
        min_level: ThreatLevel::Medium,
        queue: 10,
        retries: 100,
        timeout_secs: 1,
    };
    let outputs = Outputs::start(&[cfg]);
    outputs.dispatch(&sigma());
    outputs.dispatch(&ueba("x", "eve"));
    let started = Instant::now();
    let reports = outputs.finish(Duration::from_millis(600)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let r = &reports[0];
    assert_eq!((r.delivered, r.failed, r.pending), (0, 0, 2), "{r:?}");
    assert!(r.retries >= 1, "{r:?}");
}
