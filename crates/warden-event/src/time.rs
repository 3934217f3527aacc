//! Event time: milliseconds since the Unix epoch (UTC), with RFC 3339 conversion.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// A point in time, milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_DAY: i64 = 24 * MS_PER_HOUR;

impl Timestamp {
    /// The wall clock now.
    pub fn now() -> Self {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp(ms)
    }

    /// Parses RFC 3339 (`2026-04-02T01:58:06Z`, `…+02:00`, fractional seconds allowed), and the
    /// common variant with a space instead of `T`.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let s = s.trim();
        let parsed = DateTime::parse_from_rfc3339(s).ok().or_else(|| {
            // "2026-04-02 01:58:06Z" and friends.
            let b = s.as_bytes();
            if b.len() > 10 && b[10] == b' ' {
                let mut fixed = s.to_owned();
                fixed.replace_range(10..11, "T");
                DateTime::parse_from_rfc3339(&fixed).ok()
            } else {
                None
            }
        })?;
        Some(Self(parsed.timestamp_millis()))
    }

    /// Interprets a number as epoch seconds, or as milliseconds, microseconds or
    /// nanoseconds when it is too large to be the one before of a plausible date (after
    /// the year 5000); none past that in nanoseconds, negative or not finite.
    pub fn from_epoch_number(n: f64) -> Option<Self> {
        // Straight to milliseconds from the unit found (seconds then back would round).
        let ms = match epoch_unit(n)? {
            0 => n * 1000.0,
            1 => n,
            // Not exact in f64 at these sizes: to the nearest millisecond.
            2 => (n / 1000.0).round(),
            _ => (n / 1_000_000.0).round(),
        };
        Some(Self(ms as i64))
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// Hours (fractional) from `earlier` to `self`; negative when `self` is earlier.
    pub fn hours_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / MS_PER_HOUR as f64
    }

    /// Minutes (fractional) from `earlier` to `self`.
    pub fn minutes_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / 60_000.0
    }

    /// Hour of day, UTC, as a fraction in `[0, 24)`.
    pub fn utc_hour_f(self) -> f64 {
        self.0.rem_euclid(MS_PER_DAY) as f64 / MS_PER_HOUR as f64
    }

    /// Day number since the epoch (UTC).
    pub fn day_index(self) -> i64 {
        self.0.div_euclid(MS_PER_DAY)
    }

    /// Day of week (Monday = 0) at the given offset from UTC in hours.
    pub fn weekday_at_offset(self, offset_hours: i32) -> u8 {
        let shifted = self.0 + i64::from(offset_hours) * MS_PER_HOUR;
        // 1970-01-01 was a Thursday (Monday = 0 → Thursday = 3).
        ((shifted.div_euclid(MS_PER_DAY) + 3).rem_euclid(7)) as u8
    }

    /// RFC 3339 in UTC with second precision (milliseconds when present).
    pub fn to_rfc3339(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(dt) => {
                let fmt = if dt.nanosecond() == 0 {
                    SecondsFormat::Secs
                } else {
                    SecondsFormat::Millis
                };
                dt.to_rfc3339_opts(fmt, true)
            }
            None => self.0.to_string(),
        }
    }

    /// `HH:MM` at the given offset from UTC, for explanations.
    pub fn clock_at_offset(self, offset_hours: i32) -> String {
        let shifted = self.0 + i64::from(offset_hours) * MS_PER_HOUR;
        let mins = shifted.rem_euclid(MS_PER_DAY) / 60_000;
        format!("{:02}:{:02}", mins / 60, mins % 60)
    }

    /// Calendar date `YYYY-MM-DD` (UTC).
    pub fn date_utc(self) -> String {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(dt) => format!("{:04}-{:02}-{:02}", dt.year(), dt.month(), dt.day()),
            None => String::new(),
        }
    }
}

/// Epoch seconds after the year 5000: past this a number is read in a smaller unit.
const YEAR_5000_SECS: f64 = 95_617_584_000.0;

/// A number of seconds, milliseconds, microseconds or nanoseconds since the epoch as
/// seconds: the unit is the largest that puts it before the year 5000 (Zeek writes
/// seconds or, with `JSON::TS_MILLIS`, milliseconds; other tools microseconds or
/// nanoseconds). None when negative, not finite, or after the year 5000 even in
/// nanoseconds: no time of an event.
pub fn epoch_seconds(n: f64) -> Option<f64> {
    let k = epoch_unit(n)?;
    Some(n / 1000f64.powi(k))
}

/// The unit of an epoch number as a power of 1000 below seconds (0 seconds, 1
/// milliseconds, 2 microseconds, 3 nanoseconds); see [`epoch_seconds`].
fn epoch_unit(n: f64) -> Option<i32> {
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    (0..4).find(|&k| n / 1000f64.powi(k) < YEAR_5000_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3339_variants() {
        let a = Timestamp::parse_rfc3339("2026-04-02T01:58:06Z").unwrap();
        let b = Timestamp::parse_rfc3339("2026-04-02T03:58:06+02:00").unwrap();
        let c = Timestamp::parse_rfc3339("2026-04-02 01:58:06Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
        assert!(Timestamp::parse_rfc3339("").is_none());
    }

    #[test]
    fn epoch_seconds_and_millis() {
        let s = Timestamp::from_epoch_number(1_775_095_086.0).unwrap();
        let ms = Timestamp::from_epoch_number(1_775_095_086_000.0).unwrap();
        assert_eq!(s, ms);
        assert!(Timestamp::from_epoch_number(f64::NAN).is_none());
        // Microseconds and nanoseconds read as such, not as milliseconds of year 55,000.
        for n in [1_775_095_086_000_000.0, 1_775_095_086_000_000_000.0] {
            assert_eq!(Timestamp::from_epoch_number(n), Some(s), "{n}");
        }
        assert_eq!(epoch_seconds(1_775_095_086_500.0), Some(1_775_095_086.5));
        let ms = Timestamp::from_epoch_number(1_775_095_086_002_000_000.0);
        assert_eq!(ms.map(Timestamp::millis), Some(1_775_095_086_002));
        for n in [1e30, f64::INFINITY, 172_938_225_691_027_046_400_000_000.0] {
            assert!(epoch_seconds(n).is_none(), "{n}");
        }
        assert!(Timestamp::from_epoch_number(-1.0).is_none());
    }

    #[test]
    fn clock_weekday_and_format() {
        let t = Timestamp::parse_rfc3339("2026-04-02T23:30:00Z").unwrap(); // a Thursday
        assert_eq!(t.weekday_at_offset(0), 3);
        assert_eq!(t.weekday_at_offset(2), 4); // already Friday at UTC+2
        assert_eq!(t.clock_at_offset(2), "01:30");
        assert_eq!(t.clock_at_offset(-5), "18:30");
        assert_eq!(t.to_rfc3339(), "2026-04-02T23:30:00Z");
        assert_eq!(t.date_utc(), "2026-04-02");
        assert!((t.utc_hour_f() - 23.5).abs() < 1e-9);
    }
}
