//! Load generator for the live stream's fan-out (used by `bench/serve_load.py`): opens N
//! Server-Sent-Events connections to a running `warden serve`, waits until every one is
//! subscribed, posts one batch that raises alerts, and reports how long each client took
//! to receive the first alert after the batch was sent (p50, p99, max, received/N).
//!
//! ```text
//! cargo run --release -p warden-server --example stream_fanout -- \
//!     --port 8080 --token wdn_… --clients 1000 --body burst.jsonl
//! ```
//!
//! A compiled client, so that what is measured is the server, not the load generator.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Mutex};

struct Args {
    port: u16,
    token: String,
    clients: usize,
    body: String,
}

fn args() -> Result<Args, String> {
    let mut a = std::env::args().skip(1);
    let (mut port, mut token, mut clients, mut body) = (None, None, 1000, None);
    while let Some(k) = a.next() {
        let v = a.next().ok_or_else(|| format!("{k} needs a value"))?;
        match k.as_str() {
            "--port" => port = Some(v.parse().map_err(|_| "--port: a number")?),
            "--token" => token = Some(v),
            "--clients" => clients = v.parse().map_err(|_| "--clients: a number")?,
            "--body" => body = Some(std::fs::read_to_string(&v).map_err(|e| format!("{v}: {e}"))?),
            _ => return Err(format!("unknown argument {k}")),
        }
    }
    Ok(Args {
        port: port.ok_or("--port is required")?,
        token: token.ok_or("--token is required")?,
        clients,
        body: body.ok_or("--body is required (JSON Lines that raise alerts)")?,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let a = args()?;
    let addr = format!("127.0.0.1:{}", a.port);
    let subscribed = Arc::new(Barrier::new(a.clients + 1));
    let sent_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let mut tasks = Vec::with_capacity(a.clients);
    for _ in 0..a.clients {
        let (addr, token, subscribed, sent_at) = (
            addr.clone(),
            a.token.clone(),
            subscribed.clone(),
            sent_at.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = TcpStream::connect(&addr).await.ok()?;
            let req = format!(
                "GET /v1/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
            );
            conn.write_all(req.as_bytes()).await.ok()?;
            let mut r = BufReader::new(conn);
            let mut line = String::new();
            // The response head: the server has subscribed this client to the feed.
            loop {
                line.clear();
                if r.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
                if line == "\r\n" {
                    break;
                }
            }
            subscribed.wait().await;
            loop {
                line.clear();
                if r.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
                if line.starts_with("data:") {
                    let t = (*sent_at.lock().await)?;
                    return Some(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }));
    }
    subscribed.wait().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut post = TcpStream::connect(&addr).await.map_err(|e| e.to_string())?;
    let req = format!(
        "POST /v1/detect/realtime HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-ndjson\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        a.token,
        a.body.len(),
        a.body
    );
    *sent_at.lock().await = Some(Instant::now());
    post.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    let _ = post.read_to_string(&mut answer).await;
    if !answer.starts_with("HTTP/1.1 200") {
        return Err(format!(
            "the batch was refused: {}",
            answer.lines().next().unwrap_or("")
        ));
    }
    let mut got = Vec::new();
    for t in tasks {
        if let Ok(Ok(Some(ms))) = tokio::time::timeout(Duration::from_secs(30), t).await {
            got.push(ms);
        }
    }
    got.sort_by(f64::total_cmp);
    println!(
        "{{\"clients\": {}, \"received\": {}, \"p50_ms\": {:.1}, \"p99_ms\": {:.1}, \"max_ms\": {:.1}}}",
        a.clients,
        got.len(),
        percentile(&got, 50.0),
        percentile(&got, 99.0),
        got.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
