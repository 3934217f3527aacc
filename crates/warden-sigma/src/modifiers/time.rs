//! Time modifiers: `minute`, `hour`, `day`, `week`, `month`, `year` take one number out of a
//! timestamp field ("2024-03-01T22:15:00Z", "2024-03-01 22:15:00.123"). No time-zone
//! conversion: the specification says so.

use chrono::Datelike as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

impl TimePart {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "minute" => Self::Minute,
            "hour" => Self::Hour,
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            "year" => Self::Year,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Minute => "minute",
            Self::Hour => "hour",
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }

    /// The part of `text`, or `None` when it is not a date-time this understands.
    pub fn extract(self, text: &str) -> Option<f64> {
        let b = text.trim().as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let s = std::str::from_utf8(b.get(r)?).ok()?;
            s.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| s.parse().ok())?
        };
        let year = num(0..4)?;
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let (month, day) = (num(5..7)?, num(8..10)?);
        let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
        let clock = |r| {
            if matches!(b.get(10), Some(b'T' | b't' | b' ')) {
                num(r)
            } else {
                None
            }
        };
        Some(f64::from(match self {
            Self::Year => year,
            Self::Month => month,
            Self::Day => day,
            Self::Week => date.iso_week().week(),
            Self::Hour => clock(11..13).filter(|&h| h < 24)?,
            Self::Minute => clock(14..16).filter(|&m| m < 60)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_parts() {
        let t = "2024-03-01T22:15:09.123Z";
        assert_eq!(TimePart::Hour.extract(t), Some(22.0));
        assert_eq!(TimePart::Minute.extract(t), Some(15.0));
        assert_eq!(TimePart::Day.extract(t), Some(1.0));
        assert_eq!(TimePart::Month.extract(t), Some(3.0));
        assert_eq!(TimePart::Year.extract(t), Some(2024.0));
        assert_eq!(TimePart::Week.extract(t), Some(9.0));
        assert_eq!(TimePart::Hour.extract("2024-03-01 07:00:00"), Some(7.0));
        assert_eq!(TimePart::Hour.extract("2024-03-01"), None);
        assert_eq!(TimePart::Day.extract("not a date"), None);
        assert_eq!(TimePart::Day.extract("2024-02-30T00:00:00"), None);
    }
}
