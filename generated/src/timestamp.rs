//! How `format: date-time` fields are read.
//!
//! chrono's RFC 3339 parser was a tenth of the instructions of listing projects. The
//! shape the service sends, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, is parsed here directly;
//! anything else (offsets, leap seconds, more than nine fraction digits, lower-case or
//! space separators) goes to chrono exactly as before, so what is accepted and what it
//! decodes to are unchanged.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::de::{self, Deserializer, Visitor};

/// `YYYY-MM-DDTHH:MM:SS[.f]Z` with at most nine fraction digits; `None` for anything else.
fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range]
            .iter()
            .try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let mut nanos = 0;
    let mut end = 19;
    if b[end] == b'.' {
        let digits = b[end + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        nanos = number(end + 1..end + 1 + digits)? * 10u32.pow(9 - digits as u32);
        end += 1 + digits;
    }
    if end + 1 != b.len() || b[end] != b'Z' {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    Some(Utc.from_utc_datetime(&date.and_time(time)))
}

struct Timestamp;

impl<'de> Visitor<'de> for Timestamp {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date and time, or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        match parse_utc(s) {
            Some(t) => Ok(Some(t)),
            None => {
                let chrono: Result<DateTime<Utc>, E> =
                    serde::Deserialize::deserialize(de::value::StrDeserializer::<E>::new(s));
                chrono.map(Some)
            }
        }
    }
}

/// Reads an optional `format: date-time` field (the generated types use it through
/// `deserialize_with`).
pub fn deserialize_option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    deserializer.deserialize_option(Timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn via_chrono(s: &str) -> Option<DateTime<Utc>> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    fn via_us(s: &str) -> Option<DateTime<Utc>> {
        let json = serde_json::to_string(s).unwrap();
        deserialize_option(&mut serde_json::Deserializer::from_str(&json))
            .ok()
            .flatten()
    }

    #[test]
    fn decodes_exactly_like_chrono() {
        for s in [
            "2025-01-02T03:04:05Z",
            "2025-01-02T03:04:05.1Z",
            "2025-01-02T03:04:05.123456789Z",
            "2025-01-02T03:04:05.1234567891Z",
            "2025-12-31T23:59:60Z",
            "2025-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2025-01-02T03:04:05+02:00",
            "2025-01-02t03:04:05z",
            "2025-01-02 03:04:05Z",
            "2025-01-02T03:04:05.Z",
            "2025-01-02T3:04:05Z",
            "2025-13-02T03:04:05Z",
            "2025-01-02T24:00:00Z",
            "+2025-01-02T03:04:05Z",
            "not a time",
            "",
        ] {
            assert_eq!(via_us(s), via_chrono(s), "{s:?}");
        }
    }

    #[test]
    fn null_and_absent_are_none() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "deserialize_option")]
            t: Option<DateTime<Utc>>,
        }
        assert_eq!(serde_json::from_str::<T>(r#"{"t": null}"#).unwrap().t, None);
        assert_eq!(serde_json::from_str::<T>("{}").unwrap().t, None);
        assert!(serde_json::from_str::<T>(r#"{"t": 5}"#).is_err());
    }
}
