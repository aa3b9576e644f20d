//! Durations and clock times as drill authors write them: `"250ms"`, `"1.5s"`, `"1h30m"`,
//! `"08:45"`. Parsing is exact (integer nanoseconds, no float rounding surprises for the
//! common cases) and every error says what was expected.
//!
//! This module owns only the text forms; the simulation's own time type is
//! [`crate::sim::SimTime`], which a [`Duration`] converts into without loss.

use std::fmt;
use std::fmt::Write as _;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::{Serialize, Serializer};

/// Nanoseconds in one unit, by suffix, longest suffix first so `ms` wins over `m`.
const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
];

/// A non-negative span of time, written with units (`"90s"`, `"1h30m"`), held in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u64);

/// Why a duration string did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("a duration cannot be empty")]
    Empty,
    #[error("a duration cannot be negative")]
    Negative,
    #[error("`{0}` has no unit")]
    MissingUnit(String),
    #[error("unknown unit `{0}`")]
    UnknownUnit(String),
    #[error("expected a number before `{0}`")]
    MissingNumber(String),
    #[error("the number `{0}` is malformed")]
    BadNumber(String),
    #[error("the duration is too long (over 100 years)")]
    Overflow,
}

impl DurationError {
    /// A hint for the author, the same for every place a duration is written.
    #[must_use]
    pub fn hint() -> &'static str {
        "write a number with a unit, e.g. \"250ms\", \"1.5s\", \"90s\", \"5m\", \"1h30m\" (units: ns, us, ms, s, m, h, d)"
    }
}

impl Duration {
    pub const ZERO: Duration = Duration(0);

    #[must_use]
    pub const fn from_nanos(nanos: u64) -> Self {
        Duration(nanos)
    }

    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Duration(secs * 1_000_000_000)
    }

    /// From (non-negative, finite) seconds, rounded to the nearest nanosecond.
    #[must_use]
    pub fn from_secs_f64(secs: f64) -> Self {
        if secs.is_finite() && secs > 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Duration((secs * 1e9).round().min(u64::MAX as f64) as u64)
        } else {
            Duration(0)
        }
    }

    #[must_use]
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses `"1h30m"`, `"1.5s"`, `"250ms"`; whitespace around the text is ignored.
    ///
    /// # Errors
    /// A [`DurationError`] that says what is wrong with the text.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        if text.starts_with('-') {
            return Err(DurationError::Negative);
        }
        let mut rest = text;
        let mut total: u64 = 0;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
                .unwrap_or(rest.len());
            let (number, tail) = rest.split_at(digits);
            if number.is_empty() {
                let unit: String = tail.chars().take_while(|c| c.is_alphabetic()).collect();
                return Err(DurationError::MissingNumber(if unit.is_empty() {
                    tail.to_owned()
                } else {
                    unit
                }));
            }
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, after) = tail.split_at(unit_len);
            let unit = unit.trim();
            if unit.is_empty() {
                return Err(DurationError::MissingUnit(text.to_owned()));
            }
            let scale = UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, scale)| *scale)
                .ok_or_else(|| DurationError::UnknownUnit(unit.to_owned()))?;
            total = total
                .checked_add(scaled(number, scale)?)
                .ok_or(DurationError::Overflow)?;
            rest = after;
        }
        if total > 100 * 365 * 86_400_000_000_000 {
            return Err(DurationError::Overflow);
        }
        Ok(Duration(total))
    }
}

/// `number` × `scale` nanoseconds, exact for integers and for decimals down to a nanosecond.
fn scaled(number: &str, scale: u64) -> Result<u64, DurationError> {
    let clean: String = number.chars().filter(|c| *c != '_').collect();
    let bad = || DurationError::BadNumber(number.to_owned());
    let (whole, frac) = match clean.split_once('.') {
        Some((w, f)) => (w, f),
        None => (clean.as_str(), ""),
    };
    if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
        return Err(bad());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut nanos = whole.checked_mul(scale).ok_or(DurationError::Overflow)?;
    let mut place = scale;
    for digit in frac.chars() {
        place /= 10;
        let d = u64::from(digit.to_digit(10).ok_or_else(bad)?);
        nanos = nanos
            .checked_add(d * place)
            .ok_or(DurationError::Overflow)?;
    }
    Ok(nanos)
}

impl fmt::Display for Duration {
    /// The shortest exact form: `1h30m`, `1.5s`, `250ms`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return f.write_str("0s");
        }
        let s = ns / 1_000_000_000;
        let sub = ns % 1_000_000_000;
        if sub != 0 && s < 60 {
            return if sub.is_multiple_of(1_000_000) && s == 0 {
                write!(f, "{}ms", sub / 1_000_000)
            } else if s == 0 && sub.is_multiple_of(1_000) {
                write!(f, "{}us", sub / 1_000)
            } else if s == 0 {
                write!(f, "{sub}ns")
            } else {
                let frac = format!("{sub:09}");
                write!(f, "{s}.{}s", frac.trim_end_matches('0'))
            };
        }
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60);
        let mut out = String::new();
        if h > 0 {
            let _ = write!(out, "{h}h");
        }
        if m > 0 {
            let _ = write!(out, "{m}m");
        }
        if sec > 0 || sub > 0 {
            if sub > 0 {
                let frac = format!("{sub:09}");
                let _ = write!(out, "{sec}.{}s", frac.trim_end_matches('0'));
            } else {
                let _ = write!(out, "{sec}s");
            }
        }
        f.write_str(&out)
    }
}

impl std::str::FromStr for Duration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Duration::parse(s)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl<'de> Visitor<'de> for DurationVisitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string such as \"250ms\", \"90s\" or \"1h30m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                Duration::parse(v).map_err(|e| E::custom(format!("invalid duration \"{v}\": {e}")))
            }
            // RON's explicit `Some("1h")` where a duration is optional (a field with a
            // default), as `implicit_some` accepts `"1h"` where the type is an `Option`.
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Duration, D::Error> {
                Duration::deserialize(d)
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// A time of day on the drill's wall clock (`"08:45"`, `"23:59:30"`), for display only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockTime {
    seconds_since_midnight: u32,
}

impl ClockTime {
    #[must_use]
    pub fn seconds_since_midnight(self) -> u32 {
        self.seconds_since_midnight
    }

    /// Parses `HH:MM` or `HH:MM:SS` on a 24-hour clock.
    ///
    /// # Errors
    /// A message naming the expected form.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.trim().split(':').collect();
        let bad =
            || format!("invalid clock time \"{text}\": expected HH:MM or HH:MM:SS, e.g. \"08:45\"");
        if !(2..=3).contains(&parts.len()) {
            return Err(bad());
        }
        let mut fields = [0u32; 3];
        for (slot, part) in fields.iter_mut().zip(&parts) {
            if part.is_empty() || part.len() > 2 || !part.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            *slot = part.parse().map_err(|_| bad())?;
        }
        let [h, m, s] = fields;
        if h > 23 || m > 59 || s > 59 {
            return Err(bad());
        }
        Ok(ClockTime {
            seconds_since_midnight: h * 3600 + m * 60 + s,
        })
    }

    /// The wall-clock reading `offset` after this time, as `HH:MM:SS` (wrapping at midnight).
    #[must_use]
    pub fn after(self, offset: Duration) -> String {
        let total = u64::from(self.seconds_since_midnight) + offset.as_nanos() / 1_000_000_000;
        let day = total % 86_400;
        format!("{:02}:{:02}:{:02}", day / 3600, (day / 60) % 60, day % 60)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds_since_midnight;
        if s.is_multiple_of(60) {
            write!(f, "{:02}:{:02}", s / 3600, (s / 60) % 60)
        } else {
            write!(f, "{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
        }
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ClockVisitor;
        impl Visitor<'_> for ClockVisitor {
            type Value = ClockTime;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a clock time such as \"08:45\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ClockTime, E> {
                ClockTime::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(ClockVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        let cases = [
            ("250ms", 250_000_000),
            ("90s", 90_000_000_000),
            ("1.5s", 1_500_000_000),
            ("5m", 300_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("0s", 0),
            ("100us", 100_000),
            ("2d", 172_800_000_000_000),
            (" 3h ", 10_800_000_000_000),
            ("0.001ms", 1_000),
        ];
        for (text, nanos) in cases {
            assert_eq!(Duration::parse(text).unwrap().as_nanos(), nanos, "{text}");
        }
    }

    #[test]
    fn rejects_with_reasons() {
        assert_eq!(Duration::parse(""), Err(DurationError::Empty));
        assert_eq!(Duration::parse("-5s"), Err(DurationError::Negative));
        assert_eq!(
            Duration::parse("90"),
            Err(DurationError::MissingUnit("90".into()))
        );
        assert_eq!(
            Duration::parse("5 minutes"),
            Err(DurationError::UnknownUnit("minutes".into()))
        );
        assert_eq!(
            Duration::parse("ms"),
            Err(DurationError::MissingNumber("ms".into()))
        );
        assert_eq!(
            Duration::parse("1.2.3s"),
            Err(DurationError::BadNumber("1.2.3".into()))
        );
        assert_eq!(
            Duration::parse("99999999999h"),
            Err(DurationError::Overflow)
        );
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "250ms", "1.5s", "1h30m", "0s", "2h", "45s", "1m30.25s", "100us",
        ] {
            let d = Duration::parse(text).unwrap();
            assert_eq!(d.to_string(), text);
            assert_eq!(Duration::parse(&d.to_string()).unwrap(), d);
        }
    }

    #[test]
    fn clock_times() {
        let t = ClockTime::parse("08:45").unwrap();
        assert_eq!(t.to_string(), "08:45");
        assert_eq!(t.after(Duration::parse("40m").unwrap()), "09:25:00");
        assert!(ClockTime::parse("24:00").is_err());
        assert!(ClockTime::parse("8").is_err());
        assert!(ClockTime::parse("08:4x").is_err());
    }
}
