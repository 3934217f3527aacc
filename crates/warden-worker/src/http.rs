//! A worker's operations endpoints: `/metrics` (Prometheus text), `/healthz` (the process
//! answers) and `/readyz` (every assigned partition is restored; 503 before).

use std::sync::Arc;
use std::thread::JoinHandle;

use crate::stats::WorkerStats;

/// Serves the endpoints on `addr` from a thread of their own.
pub fn serve(addr: &str, stats: Arc<WorkerStats>) -> std::io::Result<JoinHandle<()>> {
    let server = tiny_http::Server::http(addr).map_err(std::io::Error::other)?;
    tracing::info!("metrics on http://{addr}/metrics");
    Ok(std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let (code, body, kind) = match req.url() {
                "/metrics" => (200, stats.prometheus(), "text/plain; version=0.0.4"),
                "/healthz" => (200, "ok\n".to_owned(), "text/plain"),
                "/readyz" if stats.is_ready() => (200, "ready\n".to_owned(), "text/plain"),
                "/readyz" => (503, "restoring partitions\n".to_owned(), "text/plain"),
                _ => (404, "not found\n".to_owned(), "text/plain"),
            };
            let mut resp = tiny_http::Response::from_string(body).with_status_code(code);
            if let Ok(h) = tiny_http::Header::from_bytes("Content-Type", kind) {
                resp = resp.with_header(h);
            }
            let _ = req.respond(resp);
        }
    }))
}
