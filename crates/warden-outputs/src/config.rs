//! Output configuration: the `[[outputs]]` tables of a TOML file (the service's
//! configuration, or an outputs file given to the CLI — [`OutputsFile`]) and the CLI's
//! `--output URL` ([`OutputConfig::from_url`]). [`OutputConfig::validate`] checks what can
//! be checked before starting: names, ranges, addresses, URLs, that secrets taken from the
//! environment are set and that a CA file exists.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use warden_event::ThreatLevel;

use crate::OutputError;
use crate::http::Secret;

/// One configured output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutputConfig {
    /// RFC 5424 syslog carrying CEF or LEEF, over UDP, TCP or TLS.
    Syslog {
        name: String,
        /// `host:port` of the collector (`[v6 address]:port` for an IPv6 address).
        address: String,
        #[serde(default)]
        transport: Transport,
        #[serde(default)]
        format: LineFormat,
        /// Syslog facility (0–23); 13 is "log audit".
        #[serde(default = "default_facility")]
        facility: u8,
        /// TLS: a PEM file of the CA certificates to trust (default: the Mozilla roots).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls_ca: Option<PathBuf>,
        /// TLS: the name the collector's certificate must carry (default: the host part
        /// of `address`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tls_server_name: Option<String>,
        #[serde(default = "default_level")]
        min_level: ThreatLevel,
        #[serde(default = "default_queue")]
        queue: usize,
        #[serde(default = "default_retries")]
        retries: u32,
    },
    /// JSON Lines, appended to a file.
    File {
        name: String,
        path: PathBuf,
        #[serde(default = "default_level")]
        min_level: ThreatLevel,
        #[serde(default = "default_queue")]
        queue: usize,
        #[serde(default = "default_retries")]
        retries: u32,
    },
    /// Splunk HTTP Event Collector.
    SplunkHec {
        name: String,
        /// The collector's event endpoint, e.g. `https://splunk:8088/services/collector/event`.
        url: String,
        /// The HEC token (or `env:NAME`).
        token: Secret,
        #[serde(default)]
        index: Option<String>,
        #[serde(default = "default_sourcetype")]
        sourcetype: String,
        #[serde(default = "default_level")]
        min_level: ThreatLevel,
        #[serde(default = "default_queue")]
        queue: usize,
        #[serde(default = "default_retries")]
        retries: u32,
        #[serde(default = "default_batch")]
        batch: usize,
        #[serde(default = "default_http_timeout")]
        timeout_secs: u64,
    },
    /// Elasticsearch or OpenSearch `_bulk`, ECS-shaped documents.
    Elasticsearch {
        name: String,
        /// The cluster's base address, e.g. `https://es:9200` (`/_bulk` is appended).
        url: String,
        #[serde(default = "default_index")]
        index: String,
        /// An API key (`Authorization: ApiKey …`), or `env:NAME`.
        #[serde(default)]
        api_key: Option<Secret>,
        /// Basic authentication, when no API key is given.
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<Secret>,
        #[serde(default = "default_level")]
        min_level: ThreatLevel,
        #[serde(default = "default_queue")]
        queue: usize,
        #[serde(default = "default_retries")]
        retries: u32,
        #[serde(default = "default_batch")]
        batch: usize,
        #[serde(default = "default_http_timeout")]
        timeout_secs: u64,
    },
    /// One JSON POST per alert, signed when a secret is set (`X-Warden-Signature`).
    Webhook {
        name: String,
        /// `http://` or `https://` address of the receiver.
        url: String,
        /// The HMAC-SHA256 key of the signature (or `env:NAME`); no signature without one.
        #[serde(default)]
        secret: Option<Secret>,
        #[serde(default = "default_level")]
        min_level: ThreatLevel,
        #[serde(default = "default_queue")]
        queue: usize,
        #[serde(default = "default_retries")]
        retries: u32,
        #[serde(default = "default_http_timeout")]
        timeout_secs: u64,
    },
}

/// How syslog messages travel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// One datagram per message (RFC 5426).
    #[default]
    Udp,
    /// Octet-counted frames on a TCP connection (RFC 6587).
    Tcp,
    /// Octet-counted frames on a TLS connection (RFC 5425).
    Tls,
}

/// The line a syslog message carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineFormat {
    /// ArcSight Common Event Format.
    #[default]
    Cef,
    /// IBM QRadar Log Event Extended Format 1.0.
    Leef,
}

pub(crate) fn default_facility() -> u8 {
    13
}
pub(crate) fn default_level() -> ThreatLevel {
    ThreatLevel::Medium
}
pub(crate) fn default_queue() -> usize {
    10_000
}
pub(crate) fn default_retries() -> u32 {
    5
}
fn default_sourcetype() -> String {
    "warden:alert".into()
}
fn default_index() -> String {
    "warden-alerts".into()
}
fn default_batch() -> usize {
    500
}
pub(crate) fn default_http_timeout() -> u64 {
    10
}

/// `host:port` (or `[v6]:port`) split in two; `None` without a port from 1 to 65535 or
/// with an IPv6 address outside brackets.
pub(crate) fn split_host_port(address: &str) -> Option<(&str, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']')?,
        None if host.contains(':') => return None,
        None => host,
    };
    (!host.is_empty() && port != 0).then_some((host, port))
}

impl OutputConfig {
    /// The configuration an `--output URL` stands for; `index` numbers the output in its
    /// name (`syslog-1`, `file-2`, `webhook-3`). See the crate's `spec` parser for the
    /// forms: `syslog+udp://host:port`, `syslog+tcp://…`, `syslog+tls://…` (query keys
    /// `format`, `min_level`, `ca`), `file:///abs/path.jsonl` or `file:relative.jsonl`
    /// (`min_level`), `http(s)://…` for a webhook (`secret=env:NAME`, `min_level`).
    pub fn from_url(spec: &str, index: usize) -> Result<OutputConfig, OutputError> {
        crate::spec::parse(spec, index)
    }

    /// Name, level, queue size and retries: what every kind has.
    fn common(&self) -> (&str, ThreatLevel, usize, u32) {
        match self {
            OutputConfig::Syslog {
                name,
                min_level,
                queue,
                retries,
                ..
            }
            | OutputConfig::File {
                name,
                min_level,
                queue,
                retries,
                ..
            }
            | OutputConfig::SplunkHec {
                name,
                min_level,
                queue,
                retries,
                ..
            }
            | OutputConfig::Elasticsearch {
                name,
                min_level,
                queue,
                retries,
                ..
            }
            | OutputConfig::Webhook {
                name,
                min_level,
                queue,
                retries,
                ..
            } => (name, *min_level, *queue, *retries),
        }
    }

    /// The output's name (in metrics, logs and reports).
    pub fn name(&self) -> &str {
        self.common().0
    }

    /// The lowest threat level the output takes.
    pub fn min_level(&self) -> ThreatLevel {
        self.common().1
    }

    pub(crate) fn queue(&self) -> usize {
        self.common().2
    }

    pub(crate) fn retries(&self) -> u32 {
        self.common().3
    }

    /// Most alerts sent in one write.
    pub(crate) fn batch(&self) -> usize {
        match self {
            OutputConfig::SplunkHec { batch, .. } | OutputConfig::Elasticsearch { batch, .. } => {
                *batch
            }
            // One syslog message per alert (a UDP datagram each); the file is written per
            // alert so a crash loses at most the one being written; a webhook takes one
            // document per request.
            OutputConfig::Syslog { .. }
            | OutputConfig::File { .. }
            | OutputConfig::Webhook { .. } => 1,
        }
    }

    /// Checks the settings; an error names the output and the setting.
    pub fn validate(&self) -> Result<(), OutputError> {
        let name = self.name();
        let bad = |reason: String| {
            Err(OutputError::Invalid {
                name: name.to_owned(),
                reason,
            })
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad("name: use letters, digits, `-`, `_`, `.`".into());
        }
        if !(1..=1_000_000).contains(&self.queue()) {
            return bad("queue must be between 1 and 1000000".into());
        }
        if self.retries() > 100 {
            return bad("retries must be at most 100".into());
        }
        if let Err(reason) = self.validate_kind() {
            return bad(reason);
        }
        self.validate_secrets()
    }

    /// The settings of this kind of output; the error is the reason.
    fn validate_kind(&self) -> Result<(), String> {
        match self {
            OutputConfig::Syslog {
                address,
                facility,
                transport,
                tls_ca,
                tls_server_name,
                ..
            } => {
                if *facility > 23 {
                    return Err("facility must be between 0 and 23".into());
                }
                let Some((host, _)) = split_host_port(address) else {
                    return Err(format!(
                        "address `{address}`: expected host:port (a port from 1 to 65535)"
                    ));
                };
                if *transport != Transport::Tls {
                    if tls_ca.is_some() || tls_server_name.is_some() {
                        return Err("tls_ca and tls_server_name are for transport = \"tls\"".into());
                    }
                    return Ok(());
                }
                if let Some(ca) = tls_ca
                    && !ca.is_file()
                {
                    return Err(format!("tls_ca: {} is not a file", ca.display()));
                }
                let server_name = tls_server_name.as_deref().unwrap_or(host);
                if rustls::pki_types::ServerName::try_from(server_name).is_err() {
                    return Err(format!(
                        "tls_server_name `{server_name}`: not a DNS name or an IP address"
                    ));
                }
            }
            OutputConfig::File { path, .. } => {
                if path.as_os_str().is_empty() {
                    return Err("path is empty".into());
                }
            }
            OutputConfig::SplunkHec {
                url, timeout_secs, ..
            }
            | OutputConfig::Elasticsearch {
                url, timeout_secs, ..
            }
            | OutputConfig::Webhook {
                url, timeout_secs, ..
            } => {
                let host = url
                    .strip_prefix("http://")
                    .or_else(|| url.strip_prefix("https://"));
                match host {
                    None => return Err(format!("url `{url}`: expected http:// or https://")),
                    Some(h) if h.is_empty() || h.starts_with(['/', '?', '#']) => {
                        return Err(format!("url `{url}`: no host"));
                    }
                    Some(_) => {}
                }
                if !(1..=10_000).contains(&self.batch()) {
                    return Err("batch must be between 1 and 10000".into());
                }
                if !(1..=300).contains(timeout_secs) {
                    return Err("timeout_secs must be between 1 and 300".into());
                }
            }
        }
        Ok(())
    }

    /// Every secret the output holds can be read; the error names the setting.
    fn validate_secrets(&self) -> Result<(), OutputError> {
        let secrets: Vec<(&str, &Secret)> = match self {
            OutputConfig::SplunkHec { token, .. } => vec![("token", token)],
            OutputConfig::Elasticsearch {
                api_key, password, ..
            } => [("api_key", api_key), ("password", password)]
                .into_iter()
                .filter_map(|(k, s)| Some((k, s.as_ref()?)))
                .collect(),
            OutputConfig::Webhook { secret, .. } => secret.iter().map(|s| ("secret", s)).collect(),
            OutputConfig::Syslog { .. } | OutputConfig::File { .. } => Vec::new(),
        };
        for (field, secret) in secrets {
            if let Err(reason) = secret.resolve() {
                return Err(OutputError::Invalid {
                    name: format!("{}.{field}", self.name()),
                    reason,
                });
            }
        }
        Ok(())
    }
}

/// Validates each output and checks that no two share a name.
pub fn validate_all(outputs: &[OutputConfig]) -> Result<(), OutputError> {
    let mut names = HashSet::new();
    for o in outputs {
        o.validate()?;
        if !names.insert(o.name()) {
            return Err(OutputError::Invalid {
                name: o.name().to_owned(),
                reason: "two outputs have this name".into(),
            });
        }
    }
    Ok(())
}

/// A file of outputs: `[[outputs]]` tables, as in the service's configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputsFile {
    #[serde(default)]
    pub outputs: Vec<OutputConfig>,
}

impl OutputsFile {
    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, OutputError> {
        let file: OutputsFile = toml::from_str(text).map_err(|e| OutputError::Parse {
            reason: e.to_string(),
        })?;
        validate_all(&file.outputs)?;
        Ok(file)
    }

    /// Reads, parses and validates a file; an error names the file.
    pub fn load(path: &Path) -> Result<Self, OutputError> {
        let file_error = |reason: String| OutputError::File {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
        Self::parse(&text).map_err(|e| match e {
            OutputError::Parse { reason } => file_error(reason),
            other => file_error(other.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<OutputsFile, String> {
        OutputsFile::parse(text).map_err(|e| e.to_string())
    }

    #[test]
    fn an_outputs_file_with_every_new_setting() {
        let f = parse(
            r#"
            [[outputs]]
            kind = "syslog"
            name = "siem"
            address = "127.0.0.1:6514"
            transport = "tls"
            format = "leef"
            tls_server_name = "siem.example"

            [[outputs]]
            kind = "webhook"
            name = "hook"
            url = "https://hooks.example/warden"
            secret = "s3cret"
            min_level = "HIGH"
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.outputs.len(), 2);
        match &f.outputs[0] {
            OutputConfig::Syslog {
                transport,
                format,
                tls_server_name,
                tls_ca,
                facility,
                ..
            } => {
                assert_eq!(*transport, Transport::Tls);
                assert_eq!(*format, LineFormat::Leef);
                assert_eq!(tls_server_name.as_deref(), Some("siem.example"));
                assert!(tls_ca.is_none());
                assert_eq!(*facility, 13);
            }
            other => panic!("not syslog: {other:?}"),
        }
        assert_eq!(f.outputs[0].min_level(), ThreatLevel::Medium);
        match &f.outputs[1] {
            OutputConfig::Webhook {
                url,
                secret,
                timeout_secs,
                retries,
                ..
            } => {
                assert_eq!(url, "https://hooks.example/warden");
                assert_eq!(
                    secret.as_ref().map(Secret::resolve),
                    Some(Ok("s3cret".to_owned()))
                );
                assert_eq!(*timeout_secs, 10);
                assert_eq!(*retries, 5);
            }
            other => panic!("not a webhook: {other:?}"),
        }
        assert_eq!(f.outputs[1].name(), "hook");
        assert_eq!(f.outputs[1].min_level(), ThreatLevel::High);
    }

    #[test]
    fn unknown_keys_and_kinds_are_refused() {
        let e = parse(
            "[[outputs]]\nkind = \"file\"\nname = \"f\"\npath = \"a.jsonl\"\ncolour = \"red\"\n",
        )
        .unwrap_err();
        assert!(e.contains("colour"), "{e}");
        let e = parse("[[outputs]]\nkind = \"pigeon\"\nname = \"p\"\n").unwrap_err();
        assert!(e.contains("pigeon"), "{e}");
        let e = parse("outputz = []\n").unwrap_err();
        assert!(e.contains("outputz"), "{e}");
        assert_eq!(parse("").map(|f| f.outputs.len()), Ok(0));
    }

    #[test]
    fn settings_are_checked_and_named() {
        let two = "[[outputs]]\nkind = \"file\"\nname = \"f\"\npath = \"a.jsonl\"\n";
        let e = parse(&format!("{two}{two}")).unwrap_err();
        assert_eq!(e, "outputs.f: two outputs have this name");

        let e = parse("[[outputs]]\nkind = \"syslog\"\nname = \"s\"\naddress = \"siem\"\n")
            .unwrap_err();
        assert!(e.starts_with("outputs.s: address `siem`"), "{e}");

        let e = parse(
            "[[outputs]]\nkind = \"syslog\"\nname = \"s\"\naddress = \"siem:514\"\ntls_ca = \"ca.pem\"\n",
        )
        .unwrap_err();
        assert!(e.contains("transport = \"tls\""), "{e}");

        let e = parse(
            "[[outputs]]\nkind = \"syslog\"\nname = \"s\"\naddress = \"siem:6514\"\ntransport = \"tls\"\ntls_ca = \"/surely/not/here/ca.pem\"\n",
        )
        .unwrap_err();
        assert!(
            e.contains("tls_ca: /surely/not/here/ca.pem is not a file"),
            "{e}"
        );

        let e = parse("[[outputs]]\nkind = \"webhook\"\nname = \"w\"\nurl = \"ftp://x/\"\n")
            .unwrap_err();
        assert!(e.contains("expected http:// or https://"), "{e}");

        let e = parse(
            "[[outputs]]\nkind = \"webhook\"\nname = \"w\"\nurl = \"https://x/\"\nsecret = \"env:WARDEN_TEST_SURELY_UNSET_VAR\"\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("outputs.w.secret: ") && e.contains("WARDEN_TEST_SURELY_UNSET_VAR"),
            "{e}"
        );

        let e = parse("[[outputs]]\nkind = \"file\"\nname = \"a b\"\npath = \"a.jsonl\"\n")
            .unwrap_err();
        assert!(e.contains("name: use letters"), "{e}");
    }

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(split_host_port("siem:514"), Some(("siem", 514)));
        assert_eq!(split_host_port("[::1]:6514"), Some(("::1", 6514)));
        assert_eq!(split_host_port("::1:514"), None);
        assert_eq!(split_host_port("siem"), None);
        assert_eq!(split_host_port("siem:"), None);
        assert_eq!(split_host_port("siem:0"), None);
        assert_eq!(split_host_port("siem:70000"), None);
        assert_eq!(split_host_port(":514"), None);
    }

    #[test]
    fn a_file_that_cannot_be_read_is_named() {
        let e = OutputsFile::load(Path::new("/surely/not/here/outputs.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("/surely/not/here/outputs.toml: "), "{e}");
    }
}
