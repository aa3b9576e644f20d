//! Wall-clock instants for exports: RFC 3339 reading and writing in UTC, and the fixed
//! default start that keeps exports deterministic. Plain integer arithmetic on the proleptic
//! Gregorian calendar (Howard Hinnant's civil-date algorithms); no time-zone database and
//! no reading of the system clock.

use crate::drill::Drill;

/// The date an export starts on when `--start` is not given: a Monday, so that a drill's
/// `clock_start` reads as a working morning.
pub const DEFAULT_DATE: (i64, u32, u32) = (2026, 1, 5);

/// Days from 1970-01-01 to the given civil date.
#[must_use]
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01.
#[must_use]
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The number of days in `month` of `year` (Gregorian).
#[must_use]
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The first instant RFC 3339 cannot write (10000-01-01T00:00:00Z), in ms since the epoch.
pub const END_OF_RFC3339_MS: i64 = 253_402_300_800_000;

/// Milliseconds since the Unix epoch at the start of the drill, by default.
#[must_use]
pub fn default_start_ms(drill: &Drill) -> i64 {
    let (y, m, d) = DEFAULT_DATE;
    let clock = drill
        .clock_start
        .map_or(0, |c| i64::from(c.seconds_since_midnight()));
    (days_from_civil(y, m, d) * 86_400 + clock) * 1000
}

/// `2026-01-05T08:45:00.000Z`.
#[must_use]
pub fn format_rfc3339_ms(epoch_ms: i64) -> String {
    let days = epoch_ms.div_euclid(86_400_000);
    let ms = epoch_ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    let s = ms / 1000;
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

/// Reads an RFC 3339 timestamp (`2026-01-05T08:45:00Z`, `2026-01-05T09:45:00.5+01:00`) as
/// milliseconds since the Unix epoch.
///
/// # Errors
/// A message naming the expected form.
pub fn parse_rfc3339_ms(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "invalid timestamp \"{text}\": expected RFC 3339, e.g. 2026-01-05T08:45:00Z or 2026-01-05T09:45:00+01:00"
        )
    };
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let part = t.get(range).ok_or_else(bad)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return Err(bad());
    }
    if day > i64::from(days_in_month(year, month as u32)) {
        return Err(format!(
            "invalid timestamp \"{text}\": {year:04}-{month:02} has {} days",
            days_in_month(year, month as u32)
        ));
    }
    if !(1970..=9999).contains(&year) {
        return Err(format!(
            "invalid timestamp \"{text}\": the year must be from 1970 to 9999"
        ));
    }
    if second > 60 {
        return Err(bad());
    }
    let mut rest = &t[19..];
    let mut millis = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = padded.parse().map_err(|_| bad())?;
        rest = &frac[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6
            && matches!(rest.as_bytes()[0], b'+' | b'-')
            && rest.as_bytes()[3] == b':' =>
        {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let h: i64 = rest[1..3].parse().map_err(|_| bad())?;
            let m: i64 = rest[4..6].parse().map_err(|_| bad())?;
            sign * (h * 60 + m)
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(seconds * 1000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2026, 1, 5), 20_458);
        for days in [-800_000, -1, 0, 59, 10_956, 20_458, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rfc3339_reads_and_writes() {
        let ms = parse_rfc3339_ms("2026-01-05T08:45:00Z").unwrap();
        assert_eq!(format_rfc3339_ms(ms), "2026-01-05T08:45:00.000Z");
        assert_eq!(
            parse_rfc3339_ms("2026-01-05T09:45:00.25+01:00").unwrap(),
            ms + 250
        );
        assert!(parse_rfc3339_ms("2026-01-05 08:45").is_err());
        assert!(parse_rfc3339_ms("2026-02-30T00:00:00Z").is_err());
        assert!(parse_rfc3339_ms("2028-02-29T00:00:00Z").is_ok());
        assert!(parse_rfc3339_ms("2100-02-29T00:00:00Z").is_err());
        assert!(parse_rfc3339_ms("1969-12-31T00:00:00Z").is_err());
        assert!(parse_rfc3339_ms("yesterday").is_err());
    }
}
