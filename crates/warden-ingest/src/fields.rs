//! Field names: the schema's fields, the aliases that map a feed's names onto them, and the
//! conversion of raw scalar values into typed fields (with a reason when that fails).

use crate::ErrorKind;
use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use warden_event::{ActivityType, Timestamp, UserActivity};

/// A field of the UserActivity schema (plus unit variants a feed may use instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    EventId,
    UserId,
    ActivityType,
    Timestamp,
    Location,
    Latitude,
    Longitude,
    DeviceFingerprint,
    DeviceName,
    IpAddress,
    ResourceAccessed,
    DataTransferredGb,
    DataTransferredMb,
    DataTransferredBytes,
    DurationSeconds,
    Success,
    Outcome,
    UserAgent,
}

impl Field {
    pub const ALL: [Field; 18] = [
        Self::EventId,
        Self::UserId,
        Self::ActivityType,
        Self::Timestamp,
        Self::Location,
        Self::Latitude,
        Self::Longitude,
        Self::DeviceFingerprint,
        Self::DeviceName,
        Self::IpAddress,
        Self::ResourceAccessed,
        Self::DataTransferredGb,
        Self::DataTransferredMb,
        Self::DataTransferredBytes,
        Self::DurationSeconds,
        Self::Success,
        Self::Outcome,
        Self::UserAgent,
    ];

    /// The canonical (schema) name.
    pub fn name(self) -> &'static str {
        match self {
            Self::EventId => "event_id",
            Self::UserId => "user_id",
            Self::ActivityType => "activity_type",
            Self::Timestamp => "timestamp",
            Self::Location => "location",
            Self::Latitude => "latitude",
            Self::Longitude => "longitude",
            Self::DeviceFingerprint => "device_fingerprint",
            Self::DeviceName => "device_name",
            Self::IpAddress => "ip_address",
            Self::ResourceAccessed => "resource_accessed",
            Self::DataTransferredGb => "data_transferred_gb",
            Self::DataTransferredMb => "data_transferred_mb",
            Self::DataTransferredBytes => "data_transferred_bytes",
            Self::DurationSeconds => "duration_seconds",
            Self::Success => "success",
            Self::Outcome => "outcome",
            Self::UserAgent => "user_agent",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Built-in aliases: the names common feeds (and Elastic Common Schema) use.
    fn builtin_aliases(self) -> &'static [&'static str] {
        match self {
            Self::EventId => &["id", "eventid", "event.id", "uid", "record_id"],
            Self::UserId => &[
                "user",
                "username",
                "user_name",
                "userid",
                "account",
                "account_name",
                "principal",
                "user.name",
                "user.id",
                "actor",
            ],
            Self::ActivityType => &[
                "activity",
                "action",
                "event_type",
                "event.action",
                "operation",
                "activitytype",
            ],
            Self::Timestamp => &[
                "time",
                "ts",
                "@timestamp",
                "event_time",
                "eventtime",
                "datetime",
                "date",
                "timestamp_utc",
            ],
            Self::Location => &["geo", "place", "city", "source.geo.city_name"],
            Self::Latitude => &["lat", "geo.lat", "source.geo.location.lat"],
            Self::Longitude => &["lon", "lng", "long", "geo.lon", "source.geo.location.lon"],
            Self::DeviceFingerprint => &["device_id", "deviceid", "fingerprint", "host.id"],
            Self::DeviceName => &["device", "hostname", "host", "host.name", "host.hostname"],
            Self::IpAddress => &[
                "ip",
                "src_ip",
                "source_ip",
                "client_ip",
                "ipaddress",
                "remote_addr",
                "source.ip",
                "client.ip",
            ],
            Self::ResourceAccessed => &[
                "resource",
                "target",
                "object",
                "app",
                "application",
                "url.path",
            ],
            Self::DataTransferredGb => &["data_gb", "gb", "transferred_gb"],
            Self::DataTransferredMb => &["data_mb", "mb", "transferred_mb"],
            Self::DataTransferredBytes => {
                &["bytes", "bytes_transferred", "network.bytes", "data_bytes"]
            }
            Self::DurationSeconds => &["duration", "duration_s", "event.duration_seconds"],
            Self::Success => &["succeeded", "successful", "ok"],
            Self::Outcome => &["event.outcome", "result"],
            Self::UserAgent => &["ua", "useragent", "user_agent.original", "http_user_agent"],
        }
    }
}

/// Maps field names found in input onto schema fields. Lookups are case-insensitive; dotted
/// names also match nested JSON objects (`{"user":{"name":"alice"}}` matches `user.name`).
#[derive(Debug, Clone)]
pub struct FieldAliases {
    /// Every alias and every proper prefix of a dotted alias (`user`, `source`,
    /// `source.geo`, …), lower case, with what it means: one probe per key, as every key of
    /// every record is looked up.
    map: HashMap<String, KeyMatch>,
}

impl Default for FieldAliases {
    fn default() -> Self {
        let mut me = Self {
            map: HashMap::default(),
        };
        for f in Field::ALL {
            me.insert(f.name(), f);
            for a in f.builtin_aliases() {
                me.insert(a, f);
            }
        }
        me
    }
}

/// What a key in the input refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMatch {
    Field(Field),
    /// The key starts a dotted alias: descend into its object value.
    Prefix,
    /// Both: a scalar value sets the field, an object value is descended into
    /// (`"user": "alice"` and `"user": {"name": "alice"}`).
    FieldOrPrefix(Field),
    Unknown,
}

impl FieldAliases {
    /// Adds user aliases (config `[ingest.aliases]`): `field name → [input names]`. Unknown
    /// field names are an error naming them.
    pub fn with_user_aliases<'a>(
        mut self,
        user: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Result<Self, String> {
        for (field, names) in user {
            let f = Field::from_name(field).ok_or_else(|| {
                let known: Vec<_> = Field::ALL.iter().map(|f| f.name()).collect();
                format!(
                    "unknown field `{field}` in aliases (known: {})",
                    known.join(", ")
                )
            })?;
            for n in names {
                self.insert(n, f);
            }
        }
        Ok(self)
    }

    fn insert(&mut self, name: &str, f: Field) {
        let lower = name.to_ascii_lowercase();
        let mut end = 0;
        while let Some(i) = lower[end..].find('.') {
            end += i;
            let m = self
                .map
                .entry(lower[..end].to_owned())
                .or_insert(KeyMatch::Prefix);
            if let KeyMatch::Field(g) = *m {
                *m = KeyMatch::FieldOrPrefix(g);
            }
            end += 1;
        }
        let m = self.map.entry(lower).or_insert(KeyMatch::Field(f));
        *m = match *m {
            KeyMatch::Prefix | KeyMatch::FieldOrPrefix(_) => KeyMatch::FieldOrPrefix(f),
            _ => KeyMatch::Field(f),
        };
    }

    /// Resolves one key (already joined with its parents by `.` for nested objects).
    pub fn resolve(&self, key: &str) -> KeyMatch {
        let found = self.lookup(key);
        if found == KeyMatch::Unknown && key.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.lookup(&key.to_ascii_lowercase());
        }
        found
    }

    fn lookup(&self, key: &str) -> KeyMatch {
        self.map.get(key).copied().unwrap_or(KeyMatch::Unknown)
    }
}

/// A raw scalar value from any format.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Null,
    /// An object or array where a scalar was expected.
    Nested,
}

impl Scalar<'_> {
    fn describe(&self) -> String {
        match self {
            Self::Str(s) => format!("string {:?}", truncate(s, 40)),
            Self::Num(n) => format!("number {n}"),
            Self::Bool(b) => format!("boolean {b}"),
            Self::Null => "null".into(),
            Self::Nested => "an object or array".into(),
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Collects fields of one record; the first conversion error is kept.
#[derive(Debug, Default)]
pub struct ActivityBuilder {
    activity: UserActivity,
    has_user: bool,
    has_time: bool,
    has_success: bool,
    error: Option<ErrorKind>,
}

fn bad(field: Field, reason: String) -> ErrorKind {
    ErrorKind::BadField {
        field: field.name(),
        reason,
    }
}

impl ActivityBuilder {
    pub fn new() -> Self {
        let mut b = Self::default();
        b.activity.success = true;
        b
    }

    /// Sets one field from a raw value. Empty strings and nulls leave the field unset.
    pub fn set(&mut self, field: Field, value: Scalar<'_>) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_set(field, value) {
            self.error = Some(e);
        }
    }

    fn try_set(&mut self, field: Field, value: Scalar<'_>) -> Result<(), ErrorKind> {
        let value = match value {
            Scalar::Null => return Ok(()),
            Scalar::Str(s) if s.trim().is_empty() => return Ok(()),
            Scalar::Nested => {
                return Err(bad(
                    field,
                    "expected a scalar value, found an object or array".into(),
                ));
            }
            v => v,
        };
        let a = &mut self.activity;
        match field {
            Field::EventId => a.event_id = Some(text(value)),
            Field::UserId => {
                let s = text(value);
                if s.len() > 512 {
                    return Err(bad(field, format!("longer than 512 bytes ({})", s.len())));
                }
                a.user_id = s;
                self.has_user = true;
            }
            Field::ActivityType => a.activity_type = ActivityType::parse(&text(value)),
            Field::Timestamp => {
                a.timestamp = timestamp(&value).ok_or_else(|| {
                    bad(
                        field,
                        format!(
                            "expected an RFC 3339 time or epoch number, found {}",
                            value.describe()
                        ),
                    )
                })?;
                self.has_time = true;
            }
            Field::Location => a.location = Some(text(value)),
            Field::Latitude => a.latitude = Some(ranged(field, &value, 90.0)?),
            Field::Longitude => a.longitude = Some(ranged(field, &value, 180.0)?),
            Field::DeviceFingerprint => a.device_fingerprint = Some(text(value)),
            Field::DeviceName => a.device_name = Some(text(value)),
            Field::IpAddress => a.ip_address = Some(text(value)),
            Field::ResourceAccessed => a.resource_accessed = Some(text(value)),
            Field::DataTransferredGb => a.data_transferred_gb = non_negative(field, &value)?,
            Field::DataTransferredMb => a.data_transferred_gb = non_negative(field, &value)? / 1e3,
            Field::DataTransferredBytes => {
                a.data_transferred_gb = non_negative(field, &value)? / 1e9
            }
            Field::DurationSeconds => a.duration_seconds = non_negative(field, &value)?,
            Field::Success => {
                a.success = boolean(&value).ok_or_else(|| {
                    bad(
                        field,
                        format!(
                            "expected true/false or success/failure, found {}",
                            value.describe()
                        ),
                    )
                })?;
                self.has_success = true;
            }
            // An outcome such as ECS's "unknown" says nothing: leave success as it is.
            Field::Outcome => {
                if let (false, Some(ok)) = (self.has_success, boolean(&value)) {
                    a.success = ok;
                }
            }
            Field::UserAgent => a.user_agent = Some(text(value)),
        }
        Ok(())
    }

    /// The finished activity, or why the record is unusable.
    pub fn finish(self) -> Result<UserActivity, ErrorKind> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if !self.has_user {
            return Err(ErrorKind::MissingField("user_id"));
        }
        if !self.has_time {
            return Err(ErrorKind::MissingField("timestamp"));
        }
        Ok(self.activity)
    }
}

fn text(v: Scalar<'_>) -> String {
    match v {
        Scalar::Str(s) => s.into_owned(),
        Scalar::Num(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", n as i64)
            } else {
                n.to_string()
            }
        }
        Scalar::Bool(b) => b.to_string(),
        Scalar::Null | Scalar::Nested => String::new(),
    }
}

fn number(v: &Scalar<'_>) -> Option<f64> {
    match v {
        Scalar::Num(n) => Some(*n),
        Scalar::Str(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// A number as an error message shows it: in scientific notation when written out it
/// would run to hundreds of digits (`1e300`, `-1e-300`), so that a message stays short.
fn shown(n: f64) -> String {
    let a = n.abs();
    if a != 0.0 && !(1e-6..1e15).contains(&a) {
        format!("{n:e}")
    } else {
        format!("{n}")
    }
}

fn ranged(field: Field, v: &Scalar<'_>, limit: f64) -> Result<f64, ErrorKind> {
    let n = number(v)
        .ok_or_else(|| bad(field, format!("expected a number, found {}", v.describe())))?;
    if n.abs() > limit {
        return Err(bad(
            field,
            format!("{} is outside [-{limit}, {limit}]", shown(n)),
        ));
    }
    Ok(n)
}

fn non_negative(field: Field, v: &Scalar<'_>) -> Result<f64, ErrorKind> {
    let n = number(v)
        .ok_or_else(|| bad(field, format!("expected a number, found {}", v.describe())))?;
    if n < 0.0 {
        return Err(bad(field, format!("{} is negative", shown(n))));
    }
    Ok(n)
}

fn timestamp(v: &Scalar<'_>) -> Option<Timestamp> {
    match v {
        Scalar::Num(n) => Timestamp::from_epoch_number(*n),
        Scalar::Str(s) => Timestamp::parse_rfc3339(s).or_else(|| {
            s.trim()
                .parse::<f64>()
                .ok()
                .and_then(Timestamp::from_epoch_number)
        }),
        _ => None,
    }
}

fn boolean(v: &Scalar<'_>) -> Option<bool> {
    match v {
        Scalar::Bool(b) => Some(*b),
        Scalar::Num(n) if *n == 0.0 || *n == 1.0 => Some(*n == 1.0),
        Scalar::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "success" | "succeeded" | "ok" | "allowed" => {
                Some(true)
            }
            "false" | "f" | "no" | "n" | "0" | "failure" | "failed" | "fail" | "denied"
            | "blocked" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Scalar<'_> {
        Scalar::Str(Cow::Borrowed(v))
    }

    #[test]
    fn aliases_resolve_case_insensitively_and_nested() {
        let a = FieldAliases::default();
        assert_eq!(a.resolve("user_id"), KeyMatch::Field(Field::UserId));
        assert_eq!(a.resolve("UserName"), KeyMatch::Field(Field::UserId));
        assert_eq!(a.resolve("@timestamp"), KeyMatch::Field(Field::Timestamp));
        assert_eq!(a.resolve("source"), KeyMatch::Prefix);
        assert_eq!(a.resolve("source.geo"), KeyMatch::Prefix);
        assert_eq!(
            a.resolve("source.geo.location.lat"),
            KeyMatch::Field(Field::Latitude)
        );
        assert_eq!(a.resolve("colour"), KeyMatch::Unknown);
    }

    #[test]
    fn user_aliases_extend_and_validate() {
        let names = vec!["who".to_string()];
        let a = FieldAliases::default()
            .with_user_aliases([("user_id", names.as_slice())])
            .unwrap();
        assert_eq!(a.resolve("WHO"), KeyMatch::Field(Field::UserId));
        let err = FieldAliases::default()
            .with_user_aliases([("usr", names.as_slice())])
            .unwrap_err();
        assert!(err.contains("unknown field `usr`"));
    }

    #[test]
    fn conversions_and_errors() {
        let mut b = ActivityBuilder::new();
        b.set(Field::UserId, s("alice"));
        b.set(Field::Timestamp, Scalar::Num(1_775_095_086.0));
        b.set(Field::Latitude, s("51.5"));
        b.set(Field::DataTransferredBytes, Scalar::Num(2e9));
        b.set(Field::Outcome, s("failure"));
        let a = b.finish().unwrap();
        assert_eq!(a.latitude, Some(51.5));
        assert!((a.data_transferred_gb - 2.0).abs() < 1e-12);
        assert!(!a.success);

        let mut b = ActivityBuilder::new();
        b.set(Field::UserId, s("alice"));
        b.set(Field::Timestamp, s("2026-04-02T01:58:06Z"));
        b.set(Field::Latitude, s("north"));
        let err = b.finish().unwrap_err().to_string();
        assert!(err.contains("`latitude`") && err.contains("north"), "{err}");

        let mut b = ActivityBuilder::new();
        b.set(Field::Timestamp, s("2026-04-02T01:58:06Z"));
        assert_eq!(
            b.finish().unwrap_err().to_string(),
            "missing required field `user_id`"
        );

        let mut b = ActivityBuilder::new();
        b.set(Field::UserId, s("a"));
        b.set(Field::Timestamp, s("2026-13-45"));
        assert!(b.finish().unwrap_err().to_string().contains("`timestamp`"));
    }

    #[test]
    fn unknown_outcomes_are_ignored_and_user_ids_are_bounded() {
        let mut b = ActivityBuilder::new();
        b.set(Field::UserId, s("a"));
        b.set(Field::Timestamp, Scalar::Num(1.0e9));
        b.set(Field::Outcome, s("unknown"));
        assert!(b.finish().unwrap().success);

        let long = "u".repeat(513);
        let mut b = ActivityBuilder::new();
        b.set(Field::UserId, s(&long));
        b.set(Field::Timestamp, Scalar::Num(1.0e9));
        let e = b.finish().unwrap_err().to_string();
        assert!(e.contains("`user_id`") && e.contains("512"), "{e}");
        let mut b = ActivityBuilder::new();
        b.set(Field::UserId, s(&long[..512]));
        b.set(Field::Timestamp, Scalar::Num(1.0e9));
        assert!(b.finish().is_ok());
    }

    #[test]
    fn explicit_success_wins_over_outcome() {
        let mut b = ActivityBuilder::new();
        b.set(Field::UserId, s("a"));
        b.set(Field::Timestamp, Scalar::Num(1.0e9));
        b.set(Field::Success, Scalar::Bool(true));
        b.set(Field::Outcome, s("failure"));
        assert!(b.finish().unwrap().success);
    }

    fn error_for(field: Field, value: Scalar<'_>) -> String {
        let mut b = ActivityBuilder::new();
        b.set(Field::UserId, Scalar::Str(Cow::Borrowed("a")));
        b.set(Field::Timestamp, Scalar::Num(1.0e9));
        b.set(field, value);
        b.finish().unwrap_err().to_string()
    }

    #[test]
    fn numbers_out_of_range_are_named_briefly() {
        let e = error_for(Field::Latitude, Scalar::Num(1e300));
        assert!(
            e.contains("`latitude`") && e.contains("1e300 is outside [-90, 90]"),
            "{e}"
        );
        assert!(e.len() < 100, "{e}");
        let e = error_for(Field::Longitude, Scalar::Num(-1e-300 - 200.0));
        assert!(e.contains("-200 is outside [-180, 180]"), "{e}");
        let e = error_for(Field::DataTransferredGb, Scalar::Num(-1e-300));
        assert!(e.contains("-1e-300 is negative") && e.len() < 100, "{e}");
        let e = error_for(Field::DataTransferredGb, Scalar::Num(-2.5));
        assert!(e.contains("-2.5 is negative"), "{e}");
    }
}
