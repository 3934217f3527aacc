//! `[ingest]`, the section the CLI's `warden.toml` and the service's configuration share:
//! the longest record accepted and the field aliases of incoming events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{FieldAliases, ReaderOptions};

/// Smallest `max_line_bytes` accepted.
pub const MIN_LINE_BYTES: usize = 256;

/// `[ingest]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Longest accepted record (bytes); longer ones are reported and skipped. (The service
    /// bounds records by its body limit as well.)
    pub max_line_bytes: usize,
    /// Extra input names per schema field, e.g. `user_id = ["actor", "login"]`.
    pub aliases: BTreeMap<String, Vec<String>>,
    /// How syslog times without a year or zone are read.
    pub syslog: SyslogConfig,
    /// IP geolocation for events that carry an address and no place.
    pub geoip: GeoIpConfig,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_line_bytes: ReaderOptions::default().max_line_bytes,
            aliases: BTreeMap::new(),
            syslog: SyslogConfig::default(),
            geoip: GeoIpConfig::default(),
        }
    }
}

/// `[ingest.syslog]`: BSD timestamps (`Dec 10 06:55:46`) carry neither year nor zone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogConfig {
    /// The year of every BSD timestamp; absent, it is inferred from the file's time.
    pub year: Option<i32>,
    /// The zone of times that name none: `UTC` (the default), or an offset such as
    /// `+02:00` or `-0500`.
    pub timezone: Option<String>,
}

impl SyslogConfig {
    /// The zone as minutes east of UTC.
    pub fn offset_minutes(&self) -> Result<i32, IngestConfigError> {
        let Some(tz) = self.timezone.as_deref().map(str::trim) else {
            return Ok(0);
        };
        if matches!(tz.to_ascii_uppercase().as_str(), "UTC" | "GMT" | "Z" | "") {
            return Ok(0);
        }
        parse_offset(tz).ok_or_else(|| IngestConfigError {
            key: "syslog.timezone",
            reason: format!("`{tz}` is neither UTC nor an offset such as +02:00"),
        })
    }
}

/// `[ingest.geoip]`: a MaxMind DB file (GeoIP2/GeoLite2 City or ASN, DB-IP Lite).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GeoIpConfig {
    /// The `.mmdb` file; none: events keep only the places they name.
    pub database: Option<std::path::PathBuf>,
}

impl IngestConfig {
    /// Opens `[ingest.geoip] database`, when one is named.
    pub fn open_geoip(&self) -> Result<Option<crate::geoip::GeoIp>, IngestConfigError> {
        self.geoip
            .database
            .as_deref()
            .map(crate::geoip::GeoIp::open)
            .transpose()
            .map_err(|e| IngestConfigError {
                key: "geoip.database",
                reason: e.to_string(),
            })
    }
}

/// `+02:00`, `-0500`, `+1` → minutes east of UTC (at most 14 hours).
fn parse_offset(s: &str) -> Option<i32> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at_checked(2)?,
        None => (rest, "0"),
    };
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && (0..60).contains(&m)).then_some(sign * (h * 60 + m))
}

/// A problem in `[ingest]`, naming the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("ingest.{key}: {reason}")]
pub struct IngestConfigError {
    pub key: &'static str,
    pub reason: String,
}

impl IngestConfig {
    /// Checks the limit and the aliases.
    pub fn validate(&self) -> Result<(), IngestConfigError> {
        if self.max_line_bytes < MIN_LINE_BYTES {
            return Err(IngestConfigError {
                key: "max_line_bytes",
                reason: format!("must be at least {MIN_LINE_BYTES}"),
            });
        }
        self.syslog.offset_minutes()?;
        if let Some(y) = self.syslog.year
            && !(1970..=9999).contains(&y)
        {
            return Err(IngestConfigError {
                key: "syslog.year",
                reason: format!("{y} is not a year between 1970 and 9999"),
            });
        }
        if let Some(p) = &self.geoip.database
            && !p.is_file()
        {
            return Err(IngestConfigError {
                key: "geoip.database",
                reason: format!("{}: no such file", p.display()),
            });
        }
        self.field_aliases().map(|_| ())
    }

    /// The built-in aliases with the configured ones added.
    pub fn field_aliases(&self) -> Result<FieldAliases, IngestConfigError> {
        FieldAliases::default()
            .with_user_aliases(self.aliases.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
            .map_err(|reason| IngestConfigError {
                key: "aliases",
                reason,
            })
    }

    pub fn reader_options(&self) -> ReaderOptions {
        ReaderOptions {
            max_line_bytes: self.max_line_bytes,
            syslog: crate::text::SyslogOptions {
                year: self.syslog.year,
                offset_minutes: self.syslog.offset_minutes().unwrap_or(0),
                ..crate::text::SyslogOptions::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_key() {
        let mut c = IngestConfig::default();
        assert!(c.validate().is_ok());
        c.aliases.insert("no_such_field".into(), vec!["x".into()]);
        let e = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.starts_with("ingest.aliases: ") && e.contains("no_such_field"),
            "{e}"
        );
        let c = IngestConfig {
            max_line_bytes: 10,
            ..IngestConfig::default()
        };
        let e = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("ingest.max_line_bytes"), "{e}");
    }

    #[test]
    fn syslog_zone_and_year() {
        let mut c = IngestConfig::default();
        for (tz, minutes) in [("UTC", 0), ("+02:00", 120), ("-0530", -330), ("+1", 60)] {
            c.syslog.timezone = Some(tz.into());
            assert_eq!(c.syslog.offset_minutes().ok(), Some(minutes), "{tz}");
        }
        for bad in ["+1é1", "-é1", "+ab:cd", "+15", "+"] {
            c.syslog.timezone = Some(bad.into());
            assert!(c.syslog.offset_minutes().is_err(), "{bad}");
        }
        c.syslog.timezone = Some("Europe/Paris".into());
        let e = c
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("ingest.syslog.timezone"), "{e}");
        c.syslog.timezone = None;
        c.syslog.year = Some(12);
        assert!(c.validate().is_err());
        c.syslog.year = Some(2005);
        assert_eq!(c.reader_options().syslog.year, Some(2005));
    }
}
