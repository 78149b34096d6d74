//! Protobuf durations as they travel on the wire: `"300s"`, `"1.500s"`, `"-0.000001s"`.

use std::fmt;
use std::str::FromStr;

/// A signed span of time with nanosecond precision, written on the wire as decimal
/// seconds with an `s` suffix.
///
/// Parsing accepts any number of fraction digits (up to 9); printing uses 0, 3, 6 or 9
/// fraction digits, as protobuf's JSON mapping and the official SDKs do.
///
/// ```
/// use lakebase_generated::Duration;
/// let d: Duration = "1.5s".parse().unwrap();
/// assert_eq!(d.to_string(), "1.500s");
/// assert_eq!(Duration::from_secs(300).to_string(), "300s");
/// assert_eq!(d.to_std(), Some(std::time::Duration::from_millis(1500)));
/// assert!("5m".parse::<Duration>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Duration {
    /// Whole seconds; same sign as `nanos`.
    seconds: i64,
    /// Fraction in nanoseconds, `-999_999_999..=999_999_999`.
    nanos: i32,
}

/// Why a string is not a wire duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationParseError {
    value: String,
}

impl fmt::Display for DurationParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a duration of the form \"<seconds>[.<fraction>]s\"",
            self.value
        )
    }
}

impl std::error::Error for DurationParseError {}

impl Duration {
    /// A whole number of seconds.
    pub const fn from_secs(seconds: u64) -> Self {
        let seconds = if seconds > i64::MAX as u64 {
            i64::MAX
        } else {
            seconds as i64
        };
        Duration { seconds, nanos: 0 }
    }

    /// Converts a `std::time::Duration` (saturating at `i64::MAX` seconds).
    pub fn from_std(d: std::time::Duration) -> Self {
        Duration {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos() as i32,
        }
    }

    /// The `std::time::Duration`, or `None` when negative.
    pub fn to_std(&self) -> Option<std::time::Duration> {
        if self.seconds < 0 || self.nanos < 0 {
            return None;
        }
        Some(std::time::Duration::new(self.seconds as u64, self.nanos as u32))
    }

    /// Whole seconds (truncated toward zero).
    pub fn seconds(&self) -> i64 {
        self.seconds
    }

    /// The fraction of a second in nanoseconds (same sign as [`Self::seconds`]).
    pub fn subsec_nanos(&self) -> i32 {
        self.nanos
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration::from_std(d)
    }
}

impl FromStr for Duration {
    type Err = DurationParseError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let err = || DurationParseError {
            value: value.to_string(),
        };
        let body = value.strip_suffix('s').ok_or_else(err)?;
        let (negative, body) = match body.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, body),
        };
        let (whole, fraction) = match body.split_once('.') {
            Some((w, f)) => (w, f),
            None => (body, ""),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !(fraction.is_empty() || digits(fraction)) || fraction.len() > 9 {
            return Err(err());
        }
        if body.ends_with('.') {
            return Err(err());
        }
        let seconds: i64 = whole.parse().map_err(|_| err())?;
        let nanos: i64 = if fraction.is_empty() {
            0
        } else {
            format!("{fraction:0<9}").parse().map_err(|_| err())?
        };
        let sign = if negative { -1 } else { 1 };
        Ok(Duration {
            seconds: sign * seconds,
            nanos: (sign * nanos) as i32,
        })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negative = self.seconds < 0 || self.nanos < 0;
        let seconds = self.seconds.unsigned_abs();
        let nanos = i64::from(self.nanos).unsigned_abs();
        let sign = if negative { "-" } else { "" };
        if nanos == 0 {
            write!(f, "{sign}{seconds}s")
        } else if nanos % 1_000_000 == 0 {
            write!(f, "{sign}{seconds}.{:03}s", nanos / 1_000_000)
        } else if nanos % 1_000 == 0 {
            write!(f, "{sign}{seconds}.{:06}s", nanos / 1_000)
        } else {
            write!(f, "{sign}{seconds}.{nanos:09}s")
        }
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::text::parse_str(deserializer, "a duration string such as \"300s\"", |text| {
            text.parse().map_err(|e: DurationParseError| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_canonically() {
        for (input, output) in [
            ("300s", "300s"),
            ("0s", "0s"),
            ("1.5s", "1.500s"),
            ("1.000001s", "1.000001s"),
            ("1.000000001s", "1.000000001s"),
            ("-0.000001s", "-0.000001s"),
            ("86400.250s", "86400.250s"),
        ] {
            let d: Duration = input.parse().unwrap();
            assert_eq!(d.to_string(), output, "{input}");
        }
    }

    #[test]
    fn rejects_other_forms() {
        for input in [
            "",
            "s",
            "5m",
            "300",
            "1.s",
            ".5s",
            "1.0000000001s",
            "+1s",
            "1e3s",
            " 1s",
            "--1s",
            "١s",
        ] {
            assert!(input.parse::<Duration>().is_err(), "{input:?}");
        }
    }

    #[test]
    fn serde_round_trip() {
        let d: Duration = serde_json::from_str("\"600s\"").unwrap();
        assert_eq!(d, Duration::from_secs(600));
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"600s\"");
        assert!(serde_json::from_str::<Duration>("600").is_err());
    }

    #[test]
    fn converts_to_std() {
        assert_eq!(Duration::from_secs(3).to_std(), Some(std::time::Duration::from_secs(3)));
        assert_eq!("-1s".parse::<Duration>().unwrap().to_std(), None);
        assert_eq!(
            Duration::from(std::time::Duration::from_millis(1500)).to_string(),
            "1.500s"
        );
    }
}
