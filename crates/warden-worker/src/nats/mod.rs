//! Warden on NATS JetStream: the lighter alternative to Kafka.
//!
//! JetStream has streams, durable consumers and key-value and object buckets, but (in the
//! server versions distributions ship) no partitioned consumer groups. So the layout is
//! explicit:
//! - an input *stream* `S` holds the subjects `S.0` … `S.{N-1}`: subject `S.p` is partition
//!   `p`, chosen with Kafka's rule ([`crate::keys::partition_for`]); the stream's own subject
//!   list is the partition count, so a producer cannot publish outside it;
//! - partition ownership is a lease in a key-value bucket (`<group>-leases`, entries expire
//!   after the lease time unless renewed), membership likewise ([`leases`]);
//! - a partition's state is checkpointed to an object bucket (`<group>-checkpoints`) with
//!   the stream sequence it reflects ([`store`]);
//! - alerts go to the alert stream's subject `A.p`, each with the input sequence it came
//!   from in a header and its alert id as `Nats-Msg-Id`, so JetStream's duplicate window
//!   and the delivery record ([`store::delivered_through`]) keep the output free of
//!   repeats.
//!
//! [`worker`] runs the lot; [`ship`] is `warden ship --nats`.

pub mod inspect;
pub mod leases;
pub mod partition;
pub mod ship;
pub mod store;
pub mod worker;

use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, stream};

/// Header naming the input message an alert came from (`<stream>:<sequence>`).
pub const SOURCE_HEADER: &str = "Warden-Source";

/// How to reach the servers.
#[derive(Debug, Clone, Default)]
pub struct NatsSettings {
    /// `nats://host:port[,nats://host:port…]`; `user:password@` in a URL is used.
    pub servers: String,
    /// A `.creds` file (JWT and NKey seed), as the `nats` CLI takes it.
    pub creds: Option<PathBuf>,
    /// A token.
    pub token: Option<String>,
    /// Root certificates (PEM) that the servers' TLS certificates must chain to.
    pub ca: Option<PathBuf>,
    /// A client certificate and key (PEM) for mutual TLS.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("NATS servers {servers} unreachable: {reason}")]
    Unreachable { servers: String, reason: String },
    #[error("stream {stream}: {reason}")]
    Stream { stream: String, reason: String },
    #[error("{0}")]
    Config(String),
    #[error("{what}: {reason}")]
    Broker { what: String, reason: String },
    #[error("runtime: {0}")]
    Runtime(#[from] std::io::Error),
    #[error("the producer is closed")]
    Closed,
}

/// Turns any client error into a [`NatsError::Broker`] saying what was being done.
pub(crate) trait Context<T> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, NatsError>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: impl FnOnce() -> String) -> Result<T, NatsError> {
        self.map_err(|e| NatsError::Broker {
            what: what(),
            reason: e.to_string(),
        })
    }
}

/// Connects once (no retry): an unreachable server is [`NatsError::Unreachable`]. Once
/// connected, the client reconnects by itself for as long as it lives.
pub async fn connect(settings: &NatsSettings, name: &str) -> Result<async_nats::Client, NatsError> {
    let mut opts = async_nats::ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(5))
        .request_timeout(Some(Duration::from_secs(10)))
        // Reconnect for ever, at most every 2 s: a restarted server is back within seconds.
        .reconnect_delay_callback(|attempts| {
            Duration::from_millis((100 * attempts as u64).clamp(100, 2_000))
        });
    if let Some(path) = &settings.creds {
        opts = opts
            .credentials_file(path)
            .await
            .map_err(|e| NatsError::Config(format!("{}: {e}", path.display())))?;
    }
    if let Some(t) = &settings.token {
        opts = opts.token(t.clone());
    }
    if let Some(ca) = &settings.ca {
        opts = opts.add_root_certificates(ca.clone()).require_tls(true);
    }
    if let Some((cert, key)) = &settings.client_cert {
        opts = opts.add_client_certificate(cert.clone(), key.clone());
    }
    let servers: Vec<async_nats::ServerAddr> = settings
        .servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|e| NatsError::Config(format!("server address {s:?}: {e}")))
        })
        .collect::<Result<_, _>>()?;
    if servers.is_empty() {
        return Err(NatsError::Config("no NATS server given".into()));
    }
    opts.connect(servers)
        .await
        .map_err(|e| NatsError::Unreachable {
            servers: settings.servers.clone(),
            reason: e.to_string(),
        })
}

/// A single-threaded runtime for the blocking entry points (`ship`, tools, tests).
pub fn runtime() -> Result<tokio::runtime::Runtime, NatsError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Stream, bucket and consumer names: letters, digits, `-` and `_` only (they become parts
/// of subjects).
pub fn check_name(what: &str, name: &str) -> Result<(), NatsError> {
    let ok = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(NatsError::Config(format!(
            "{what} {name:?}: use letters, digits, '-' and '_' only"
        )))
    }
}

/// The subject of partition `p` in `stream`.
pub fn subject(stream: &str, p: u32) -> String {
    format!("{stream}.{p}")
}

/// The partition count of a stream laid out as `S.0` … `S.{N-1}`; an error for a stream
/// with other subjects.
pub fn partitions_of(config: &stream::Config) -> Result<u32, NatsError> {
    let mut seen = vec![false; config.subjects.len()];
    for s in &config.subjects {
        let p = s
            .strip_prefix(&config.name)
            .and_then(|r| r.strip_prefix('.'))
            .and_then(|r| r.parse::<usize>().ok())
            .filter(|p| *p < seen.len());
        match p {
            Some(p) => seen[p] = true,
            None => {
                return Err(NatsError::Stream {
                    stream: config.name.clone(),
                    reason: format!(
                        "subject {s:?} is not one of {0}.0 … {0}.N-1 (a stream Warden partitions)",
                        config.name
                    ),
                });
            }
        }
    }
    if seen.is_empty() || seen.iter().any(|s| !s) {
        return Err(NatsError::Stream {
            stream: config.name.clone(),
            reason: "its subjects do not number its partitions 0 … N-1".into(),
        });
    }
    Ok(seen.len() as u32)
}

/// Opens `name`, creating it with `partitions` subjects (file storage) when it does not
/// exist; returns the stream and its partition count (an existing stream keeps its own).
pub async fn ensure_stream(
    js: &jetstream::Context,
    name: &str,
    partitions: u32,
    replicas: usize,
) -> Result<(stream::Stream, u32), NatsError> {
    check_name("stream", name)?;
    if partitions == 0 || partitions > 4096 {
        return Err(NatsError::Config(format!(
            "{partitions} partitions: choose 1 to 4096"
        )));
    }
    let config = stream::Config {
        name: name.to_owned(),
        subjects: (0..partitions).map(|p| subject(name, p)).collect(),
        storage: stream::StorageType::File,
        num_replicas: replicas.max(1),
        ..Default::default()
    };
    let mut s = js
        .get_or_create_stream(config)
        .await
        .ctx(|| format!("stream {name}"))?;
    let info = s.info().await.ctx(|| format!("stream {name}"))?;
    let n = partitions_of(&info.config)?;
    Ok((s, n))
}

/// Opens an existing stream and its partition count.
pub async fn open_stream(
    js: &jetstream::Context,
    name: &str,
) -> Result<Option<(stream::Stream, u32)>, NatsError> {
    check_name("stream", name)?;
    match js.get_stream(name).await {
        Ok(mut s) => {
            let info = s.info().await.ctx(|| format!("stream {name}"))?;
            let n = partitions_of(&info.config)?;
            Ok(Some((s, n)))
        }
        Err(e) => match e.kind() {
            jetstream::context::GetStreamErrorKind::JetStream(j)
                if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
            {
                Ok(None)
            }
            _ => Err(NatsError::Broker {
                what: format!("stream {name}"),
                reason: e.to_string(),
            }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, subjects: &[&str]) -> stream::Config {
        stream::Config {
            name: name.into(),
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_subject_list_is_the_partition_count() {
        assert_eq!(
            partitions_of(&config("ev", &["ev.1", "ev.0", "ev.2"])).unwrap(),
            3
        );
        assert!(partitions_of(&config("ev", &["ev.0", "ev.2"])).is_err());
        assert!(partitions_of(&config("ev", &["ev.>"])).is_err());
        assert!(partitions_of(&config("ev", &["other.0"])).is_err());
        assert!(partitions_of(&config("ev", &[])).is_err());
    }

    #[test]
    fn names_that_would_break_subjects_are_refused() {
        assert!(check_name("stream", "events-1_a").is_ok());
        for bad in ["", "a.b", "a b", "a*", "a>"] {
            assert!(check_name("stream", bad).is_err(), "{bad:?}");
        }
    }
}
