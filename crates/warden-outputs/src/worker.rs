//! One output's task: takes alerts from its queue (a batch of what is waiting, up to the
//! output's `batch`), renders them for the receiver and writes them, retrying a failed
//! write with exponential backoff (0.2 s doubling up to 5 s, `retries` times) before
//! counting the alerts as failed. Connections and files are opened on first use and
//! opened again after an error, so an output whose receiver is down at start recovers
//! when it comes back. When the queue closes, the task ends, closing its connection
//! cleanly (a TLS `close_notify`).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;
use tracing::{error, warn};

use crate::config::{LineFormat, OutputConfig, Transport, split_host_port};
use crate::{Delivery, OutputMetrics, format, http, tls, webhook};

/// Time allowed to connect, and for a TLS handshake.
const CONNECT: Duration = Duration::from_secs(10);
/// First wait before a retry; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where a worker writes.
enum Sink {
    /// The socket and the collector's address, resolved once.
    Udp(Option<(UdpSocket, SocketAddr)>),
    Tcp(Option<TcpStream>),
    Tls {
        /// The connector, or why there is none (a CA file that cannot be used).
        tls: Result<tls::Tls, String>,
        conn: Option<Box<TlsStream<TcpStream>>>,
    },
    File(Option<tokio::fs::File>),
    Http,
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// Runs one output until its queue closes.
pub(crate) async fn run(
    cfg: OutputConfig,
    mut rx: mpsc::Receiver<Delivery>,
    m: Arc<OutputMetrics>,
) {
    let host = host_name();
    let mut sink = Sink::new(&cfg);
    let limit = cfg.batch().max(1);
    let mut batch: Vec<Delivery> = Vec::with_capacity(limit.min(1024));
    loop {
        batch.clear();
        if rx.recv_many(&mut batch, limit).await == 0 {
            break;
        }
        let last = batch
            .iter()
            .filter_map(|d| d.id.or(d.seq))
            .max()
            .unwrap_or(0);
        let payload = render(&cfg, &batch, &host);
        let mut delay = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            match sink.write(&cfg, &payload).await {
                Ok(()) => {
                    m.delivered.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    break;
                }
                Err(e) if attempt < cfg.retries() => {
                    attempt += 1;
                    m.retries.fetch_add(1, Ordering::Relaxed);
                    if attempt == 1 {
                        warn!(output = cfg.name(), "delivery failed, retrying: {e}");
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_BACKOFF);
                }
                Err(e) => {
                    m.failed.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    error!(
                        output = cfg.name(),
                        "{} alert(s) from {} not delivered after {} retries: {e}",
                        batch.len(),
                        batch.first().map(Delivery::external_id).unwrap_or_default(),
                        cfg.retries()
                    );
                    break;
                }
            }
        }
        // Delivered or given up on: either way this output is done with them.
        m.done_to.fetch_max(last, Ordering::Relaxed);
    }
    sink.close().await;
}

/// The bytes a batch of alerts becomes on this output.
pub(crate) fn render(cfg: &OutputConfig, batch: &[Delivery], host: &str) -> Vec<u8> {
    match cfg {
        OutputConfig::SplunkHec {
            index, sourcetype, ..
        } => {
            let mut out = Vec::new();
            for d in batch {
                let ev = http::hec_event(d, host, index.as_deref(), sourcetype);
                if serde_json::to_writer(&mut out, &ev).is_ok() {
                    out.push(b'\n');
                }
            }
            out
        }
        OutputConfig::Elasticsearch { index, .. } => http::bulk_body(batch, index, host),
        // One alert per request (the output's batch is 1).
        OutputConfig::Webhook { .. } => batch
            .first()
            .map(|d| webhook::body(d).into_bytes())
            .unwrap_or_default(),
        OutputConfig::File { .. } => {
            let mut out = Vec::new();
            for d in batch {
                out.extend_from_slice(webhook::body(d).as_bytes());
                out.push(b'\n');
            }
            out
        }
        OutputConfig::Syslog {
            format: f,
            facility,
            transport,
            ..
        } => {
            let now = crate::now_rfc3339();
            let mut out = Vec::new();
            for d in batch {
                let line = match f {
                    LineFormat::Cef => format::cef(d),
                    LineFormat::Leef => format::leef(d),
                };
                let msg = format::rfc5424(*facility, d.level(), host, &now, &line);
                match transport {
                    // Octet counting (RFC 6587, RFC 5425): a frame can hold any byte.
                    Transport::Tcp | Transport::Tls => {
                        out.extend_from_slice(format!("{} ", msg.len()).as_bytes());
                    }
                    Transport::Udp => {}
                }
                out.extend_from_slice(msg.as_bytes());
            }
            out
        }
    }
}

fn timed_out(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("{what} timed out"))
}

async fn connect(address: &str) -> io::Result<TcpStream> {
    tokio::time::timeout(CONNECT, TcpStream::connect(address))
        .await
        .map_err(|_| timed_out(&format!("connecting to {address}")))?
}

async fn write_flush<W: AsyncWrite + Unpin>(w: &mut W, payload: &[u8]) -> io::Result<()> {
    w.write_all(payload).await?;
    w.flush().await
}

impl Sink {
    fn new(cfg: &OutputConfig) -> Sink {
        match cfg {
            OutputConfig::Syslog {
                transport: Transport::Udp,
                ..
            } => Sink::Udp(None),
            OutputConfig::Syslog {
                transport: Transport::Tcp,
                ..
            } => Sink::Tcp(None),
            OutputConfig::Syslog {
                transport: Transport::Tls,
                address,
                tls_ca,
                tls_server_name,
                ..
            } => {
                let host = split_host_port(address).map_or(address.as_str(), |(h, _)| h);
                let name = tls_server_name.as_deref().unwrap_or(host);
                let tls = tls::connector(tls_ca.as_deref(), name);
                if let Err(e) = &tls {
                    error!(output = cfg.name(), "cannot set up TLS: {e}");
                }
                Sink::Tls { tls, conn: None }
            }
            OutputConfig::File { .. } => Sink::File(None),
            OutputConfig::SplunkHec { .. }
            | OutputConfig::Elasticsearch { .. }
            | OutputConfig::Webhook { .. } => Sink::Http,
        }
    }

    /// Ends the connection cleanly; the file is flushed already.
    async fn close(&mut self) {
        match self {
            Sink::Tcp(Some(c)) => {
                let _ = c.shutdown().await;
            }
            Sink::Tls { conn: Some(c), .. } => {
                let _ = c.shutdown().await;
            }
            _ => {}
        }
    }

    async fn write(&mut self, cfg: &OutputConfig, payload: &[u8]) -> io::Result<()> {
        match (cfg, self) {
            (OutputConfig::Syslog { address, .. }, Sink::Udp(slot)) => {
                send_datagram(slot, address, payload).await
            }
            (OutputConfig::Syslog { address, .. }, Sink::Tcp(conn)) => {
                if conn.is_none() {
                    *conn = Some(connect(address).await?);
                }
                write_kept(conn, payload).await
            }
            (OutputConfig::Syslog { address, .. }, Sink::Tls { tls, conn }) => {
                if conn.is_none() {
                    let t = tls.as_ref().map_err(|e| io::Error::other(e.clone()))?;
                    let tcp = connect(address).await?;
                    let stream = tokio::time::timeout(
                        CONNECT,
                        t.connector.connect(t.server_name.clone(), tcp),
                    )
                    .await
                    .map_err(|_| timed_out(&format!("the TLS handshake with {address}")))??;
                    *conn = Some(Box::new(stream));
                }
                write_kept(conn, payload).await
            }
            (OutputConfig::File { path, .. }, Sink::File(file)) => {
                if file.is_none() {
                    *file = Some(
                        tokio::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(path)
                            .await?,
                    );
                }
                write_kept(file, payload).await
            }
            (cfg, Sink::Http) => match http_request(cfg, payload)? {
                Some((req, check)) => http::send(req, payload.to_vec(), check).await,
                None => Err(io::Error::other("output and sink do not match")),
            },
            _ => Err(io::Error::other("output and sink do not match")),
        }
    }
}

/// One datagram to a syslog collector; the socket is bound (and the address resolved) at
/// the first send and again after a failed one.
async fn send_datagram(
    slot: &mut Option<(UdpSocket, SocketAddr)>,
    address: &str,
    payload: &[u8],
) -> io::Result<()> {
    if slot.is_none() {
        let target = tokio::net::lookup_host(address)
            .await?
            .next()
            .ok_or_else(|| io::Error::other(format!("{address}: no address")))?;
        let local: SocketAddr = if target.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        *slot = Some((UdpSocket::bind(local).await?, target));
    }
    let Some((sock, target)) = slot.as_ref() else {
        return Err(io::Error::other("no socket"));
    };
    let r = sock.send_to(payload, *target).await;
    if r.is_err() {
        // Resolve and bind again on the next attempt.
        *slot = None;
    }
    r.map(|_| ())
}

/// Writes to a kept connection or file; a failed write drops it, so the next attempt
/// connects or opens again.
async fn write_kept<W: AsyncWrite + Unpin>(slot: &mut Option<W>, payload: &[u8]) -> io::Result<()> {
    let Some(w) = slot.as_mut() else {
        return Err(io::Error::other("not connected"));
    };
    let r = write_flush(w, payload).await;
    if r.is_err() {
        *slot = None;
    }
    r
}

/// Elasticsearch's `Authorization`: an API key, or a user and password (basic), or none.
fn elastic_authorization(
    api_key: Option<&http::Secret>,
    username: Option<&str>,
    password: Option<&http::Secret>,
) -> io::Result<Option<String>> {
    let resolved = |s: &http::Secret| s.resolve().map_err(io::Error::other);
    Ok(match (api_key, username) {
        (Some(k), _) => Some(format!("ApiKey {}", resolved(k)?)),
        (None, Some(u)) => {
            let p = match password {
                Some(p) => resolved(p)?,
                None => String::new(),
            };
            Some(format!(
                "Basic {}",
                base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    format!("{u}:{p}"),
                )
            ))
        }
        (None, None) => None,
    })
}

/// How an HTTP output's answer is read: `Err` with why it was not accepted.
type AnswerCheck = fn(&str) -> Result<(), String>;

/// The HTTP request an HTTP output sends a payload with, and how its answer is read; `None`
/// for an output that does not speak HTTP.
fn http_request(
    cfg: &OutputConfig,
    payload: &[u8],
) -> io::Result<Option<(http::Request, AnswerCheck)>> {
    let resolved = |s: &http::Secret| s.resolve().map_err(io::Error::other);
    Ok(Some(match cfg {
        OutputConfig::SplunkHec {
            url,
            token,
            timeout_secs,
            ..
        } => {
            let token = resolved(token)?;
            let req = http::Request {
                url: url.clone(),
                content_type: "application/json",
                authorization: Some(format!("Splunk {token}")),
                headers: Vec::new(),
                timeout: Duration::from_secs(*timeout_secs),
            };
            (req, http::hec_ok as AnswerCheck)
        }
        OutputConfig::Elasticsearch {
            url,
            api_key,
            username,
            password,
            timeout_secs,
            ..
        } => {
            let req = http::Request {
                url: format!("{}/_bulk", url.trim_end_matches('/')),
                content_type: "application/x-ndjson",
                authorization: elastic_authorization(
                    api_key.as_ref(),
                    username.as_deref(),
                    password.as_ref(),
                )?,
                headers: Vec::new(),
                timeout: Duration::from_secs(*timeout_secs),
            };
            (req, http::bulk_ok)
        }
        OutputConfig::Webhook {
            url,
            secret,
            timeout_secs,
            ..
        } => {
            let mut headers = vec![("X-Warden-Event", "alert.created".to_owned())];
            if let Some(s) = secret {
                headers.push((
                    webhook::SIGNATURE_HEADER,
                    webhook::signature(&resolved(s)?, payload),
                ));
            }
            let req = http::Request {
                url: url.clone(),
                content_type: "application/json",
                authorization: None,
                headers,
                timeout: Duration::from_secs(*timeout_secs),
            };
            (req, http::any_ok)
        }
        _ => return Ok(None),
    }))
}
