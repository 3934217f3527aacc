//! `--output URL`: an output in one argument, for the CLI.
//!
//! | URL | Output |
//! |---|---|
//! | `syslog+udp://host:port` (or `syslog://`) | syslog over UDP |
//! | `syslog+tcp://host:port` | syslog over TCP, octet-counted |
//! | `syslog+tls://host:port` | syslog over TLS, octet-counted |
//! | `file:///abs/path.jsonl`, `file:relative.jsonl` | JSON Lines file |
//! | `http://…`, `https://…` | webhook |
//!
//! Query keys: `min_level` everywhere; `format=cef|leef` for syslog; `ca=/path/ca.pem` for
//! `syslog+tls`; `secret=env:NAME` for a webhook (taken from the environment: a secret
//! written on a command line can be read by other users of the machine). A webhook's other
//! query parameters stay in its URL. Values may be percent-encoded.

use std::path::PathBuf;

use warden_event::ThreatLevel;

use crate::OutputError;
use crate::config::{
    LineFormat, OutputConfig, Transport, default_facility, default_http_timeout, default_level,
    default_queue, default_retries, split_host_port,
};
use crate::http::Secret;

const FORMS: &str =
    "expected syslog+udp://, syslog+tcp://, syslog+tls://, file:, http:// or https://";

/// The configuration `spec` stands for, named `<scheme>-<index>`, validated.
pub(crate) fn parse(spec: &str, index: usize) -> Result<OutputConfig, OutputError> {
    let shown = redacted(spec);
    let err = |reason: String| OutputError::Url {
        spec: shown.clone(),
        reason,
    };
    let lower = spec.to_ascii_lowercase();
    let cfg = if lower.starts_with("file:") {
        file(&spec["file:".len()..], index).map_err(err)?
    } else if lower.starts_with("http://") || lower.starts_with("https://") {
        webhook(spec, index).map_err(err)?
    } else {
        let Some((scheme, rest)) = spec.split_once("://") else {
            return Err(err(FORMS.into()));
        };
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "syslog" | "syslog+udp" => Transport::Udp,
            "syslog+tcp" => Transport::Tcp,
            "syslog+tls" => Transport::Tls,
            other => return Err(err(format!("unknown scheme `{other}`: {FORMS}"))),
        };
        syslog(transport, rest, index).map_err(err)?
    };
    cfg.validate().map_err(|e| match e {
        OutputError::Invalid { reason, .. } => err(reason),
        other => other,
    })?;
    Ok(cfg)
}

/// The spec as errors show it: a webhook secret's value hidden.
fn redacted(spec: &str) -> String {
    let Some((base, query)) = spec.split_once('?') else {
        return spec.to_owned();
    };
    let query: Vec<&str> = query
        .split('&')
        .map(|p| {
            if p.starts_with("secret=") {
                "secret=…"
            } else {
                p
            }
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// `key=value` pairs of a query, values decoded.
fn pairs(query: &str) -> Result<Vec<(&str, String)>, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k, decode(v))),
            _ => Err(format!("query `{p}`: expected key=value")),
        })
        .collect()
}

fn level(v: &str) -> Result<ThreatLevel, String> {
    v.parse::<ThreatLevel>()
        .map_err(|e| format!("min_level: {e}"))
}

fn syslog(transport: Transport, rest: &str, index: usize) -> Result<OutputConfig, String> {
    let (address, query) = rest.split_once('?').unwrap_or((rest, ""));
    let address = address.trim_end_matches('/');
    if address.is_empty() {
        return Err("missing host:port".into());
    }
    if address.contains('/') {
        return Err("a syslog address has no path: expected host:port".into());
    }
    if split_host_port(address).is_none() {
        let port = address.rsplit_once(':').map(|(_, p)| p).unwrap_or("");
        return Err(if port.is_empty() || address.ends_with(']') {
            "missing port: expected host:port".into()
        } else {
            format!("address `{address}`: expected host:port (a port from 1 to 65535)")
        });
    }
    let mut format = LineFormat::default();
    let mut min_level = default_level();
    let mut tls_ca = None;
    for (k, v) in pairs(query)? {
        match k {
            "format" => {
                format = match v.to_ascii_lowercase().as_str() {
                    "cef" => LineFormat::Cef,
                    "leef" => LineFormat::Leef,
                    _ => return Err(format!("format `{v}`: expected cef or leef")),
                }
            }
            "min_level" => min_level = level(&v)?,
            "ca" if transport == Transport::Tls => tls_ca = Some(PathBuf::from(v)),
            "ca" => return Err("ca is for syslog+tls://".into()),
            other => {
                return Err(format!(
                    "unknown query key `{other}` (expected format, min_level or ca)"
                ));
            }
        }
    }
    Ok(OutputConfig::Syslog {
        name: format!("syslog-{index}"),
        address: address.to_owned(),
        transport,
        format,
        facility: default_facility(),
        tls_ca,
        tls_server_name: None,
        min_level,
        queue: default_queue(),
        retries: default_retries(),
    })
}

/// `rest` is what follows `file:`: `///abs/path`, `/abs/path` or `relative/path`.
fn file(rest: &str, index: usize) -> Result<OutputConfig, String> {
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = match path.strip_prefix("//") {
        Some(p) if p.starts_with('/') => p,
        Some(_) => {
            return Err("expected file:///absolute/path or file:relative/path".into());
        }
        None => path,
    };
    if path.is_empty() {
        return Err("missing path".into());
    }
    let mut min_level = default_level();
    for (k, v) in pairs(query)? {
        match k {
            "min_level" => min_level = level(&v)?,
            other => return Err(format!("unknown query key `{other}` (expected min_level)")),
        }
    }
    Ok(OutputConfig::File {
        name: format!("file-{index}"),
        path: PathBuf::from(path),
        min_level,
        queue: default_queue(),
        retries: default_retries(),
    })
}

fn webhook(spec: &str, index: usize) -> Result<OutputConfig, String> {
    let (base, query) = spec.split_once('?').unwrap_or((spec, ""));
    let mut kept: Vec<&str> = Vec::new();
    let mut secret = None;
    let mut min_level = default_level();
    for p in query.split('&').filter(|p| !p.is_empty()) {
        match p.split_once('=') {
            Some(("secret", v)) => {
                let v = decode(v);
                if !v.starts_with("env:") {
                    return Err("secret: give env:NAME (a secret written on a command line \
                                can be read by other users of the machine)"
                        .into());
                }
                secret = Some(Secret::new(v));
            }
            Some(("min_level", v)) => min_level = level(&decode(v))?,
            _ => kept.push(p),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(OutputConfig::Webhook {
        name: format!("webhook-{index}"),
        url,
        secret,
        min_level,
        queue: default_queue(),
        retries: default_retries(),
        timeout_secs: default_http_timeout(),
    })
}

/// Percent-decoding (`%2F` → `/`); a `%` not followed by two hex digits stays as it is.
fn decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn ok(spec: &str) -> OutputConfig {
        parse(spec, 1).unwrap_or_else(|e| panic!("{e}"))
    }

    fn bad(spec: &str) -> String {
        match parse(spec, 1) {
            Ok(c) => panic!("{spec} was accepted: {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn test_ca() -> String {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/tls/ca.pem").to_owned()
    }

    #[test]
    fn syslog_urls() {
        let c = ok("syslog+udp://siem.example:514");
        assert_eq!(c.name(), "syslog-1");
        assert_eq!(c.min_level(), ThreatLevel::Medium);
        let OutputConfig::Syslog {
            address,
            transport,
            format,
            tls_ca,
            ..
        } = &c
        else {
            panic!("{c:?}")
        };
        assert_eq!(address, "siem.example:514");
        assert_eq!(*transport, Transport::Udp);
        assert_eq!(*format, LineFormat::Cef);
        assert!(tls_ca.is_none());

        let c = ok("syslog+tcp://10.0.0.1:601/?format=LEEF&min_level=high");
        assert_eq!(c.min_level(), ThreatLevel::High);
        assert!(matches!(
            c,
            OutputConfig::Syslog {
                transport: Transport::Tcp,
                format: LineFormat::Leef,
                ..
            }
        ));

        let c = ok(&format!("syslog+tls://[::1]:6514?ca={}", test_ca()));
        let OutputConfig::Syslog {
            address,
            transport,
            tls_ca,
            ..
        } = &c
        else {
            panic!("{c:?}")
        };
        assert_eq!(address, "[::1]:6514");
        assert_eq!(*transport, Transport::Tls);
        assert_eq!(tls_ca.as_deref(), Some(Path::new(&test_ca())));
    }

    #[test]
    fn file_urls() {
        let c = parse("file:///var/log/warden/alerts.jsonl?min_level=critical", 2)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.name(), "file-2");
        assert_eq!(c.min_level(), ThreatLevel::Critical);
        assert!(
            matches!(&c, OutputConfig::File { path, .. } if path == Path::new("/var/log/warden/alerts.jsonl"))
        );
        let c = ok("file:alerts.jsonl");
        assert!(matches!(&c, OutputConfig::File { path, .. } if path == Path::new("alerts.jsonl")));
    }

    #[test]
    fn webhook_urls() {
        // PATH is set wherever tests run; the value itself is never sent anywhere here.
        let c = ok("https://hooks.example/warden?team=soc&secret=env:PATH&min_level=critical");
        assert_eq!(c.name(), "webhook-1");
        assert_eq!(c.min_level(), ThreatLevel::Critical);
        let OutputConfig::Webhook { url, secret, .. } = &c else {
            panic!("{c:?}")
        };
        assert_eq!(url, "https://hooks.example/warden?team=soc");
        assert_eq!(
            secret.as_ref().map(Secret::resolve),
            Some(std::env::var("PATH").map_err(|e| e.to_string()))
        );
        assert!(matches!(
            ok("http://127.0.0.1:8080/in"),
            OutputConfig::Webhook { secret: None, .. }
        ));

        let e = bad("https://hooks.example/?secret=hunter2");
        assert!(e.contains("env:NAME") && !e.contains("hunter2"), "{e}");
        let e = bad("https://hooks.example/?secret=env:WARDEN_TEST_SURELY_UNSET_VAR");
        assert!(e.contains("WARDEN_TEST_SURELY_UNSET_VAR"), "{e}");
        assert!(bad("https://").contains("no host"));
    }

    #[test]
    fn bad_urls_say_why() {
        let e = bad("ftp://files.example/x");
        assert!(
            e.starts_with("output `ftp://files.example/x`: unknown scheme `ftp`"),
            "{e}"
        );
        assert!(bad("alerts.jsonl").contains("expected syslog+udp://"));
        for spec in [
            "syslog+udp://siem.example",
            "syslog+tcp://siem.example:",
            "syslog+tls://[::1]",
        ] {
            let e = bad(spec);
            assert!(e.contains("missing port"), "{spec}: {e}");
        }
        assert!(bad("syslog+udp://siem.example:99999").contains("1 to 65535"));
        assert!(bad("syslog+udp://siem.example:514?format=json").contains("cef or leef"));
        assert!(bad("syslog+udp://siem.example:514?ca=/x.pem").contains("syslog+tls"));
        assert!(bad("syslog+udp://siem.example:514?colour=red").contains("`colour`"));
        assert!(bad("syslog+udp://siem.example:514?min_level=severe").contains("min_level"));
        assert!(bad("syslog+tls://siem.example:6514?ca=/surely/not/here.pem").contains("tls_ca"));
        assert!(bad("file://host/x.jsonl").contains("file:///absolute/path"));
        assert!(bad("file:").contains("missing path"));
    }

    #[test]
    fn values_are_percent_decoded() {
        assert_eq!(decode("a%20b%2Fc"), "a b/c");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
    }
}
