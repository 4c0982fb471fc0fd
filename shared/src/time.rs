//! UTC instants as milliseconds since the Unix epoch, and the date formats PhotoShelter uses.
//!
//! The rights policy compares licence dates with the current instant to the millisecond, so
//! every date is turned into one [`Millis`] value when it is parsed. Accepted inputs:
//!
//! - `YYYY-MM-DD` (midnight UTC at the start of that day);
//! - PhotoShelter's `YYYY-MM-DD HH:MM:SS GMT`;
//! - RFC 3339 such as `2027-03-01T12:00:00Z` or `2019-04-09T18:34:40-04:00`.

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// Milliseconds in a UTC day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian calendar).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn number<T: std::str::FromStr>(text: &str, len: usize) -> Option<T> {
    (text.len() == len && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok())?
}

fn parse_date(text: &str) -> Option<i64> {
    let year: i64 = number(text.get(0..4)?, 4)?;
    let month: u32 = number(text.get(5..7)?, 2)?;
    let day: u32 = number(text.get(8..10)?, 2)?;
    let separators_ok = text.as_bytes().get(4) == Some(&b'-') && text.as_bytes().get(7) == Some(&b'-');
    let valid = separators_ok && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
    valid.then(|| days_from_civil(year, month, day) * MS_PER_DAY)
}

fn parse_clock(text: &str) -> Option<i64> {
    let hour: i64 = number(text.get(0..2)?, 2)?;
    let minute: i64 = number(text.get(3..5)?, 2)?;
    let second: i64 = number(text.get(6..8)?, 2)?;
    let separators_ok = text.as_bytes().get(2) == Some(&b':') && text.as_bytes().get(5) == Some(&b':');
    (separators_ok && hour < 24 && minute < 60 && second < 60).then(|| ((hour * 60 + minute) * 60 + second) * 1000)
}

/// Parses a UTC instant from one of the accepted date formats; `None` for anything else.
///
/// ```
/// use loci_shared::time::parse_instant;
///
/// assert_eq!(parse_instant("1970-01-02"), Some(86_400_000));
/// assert_eq!(parse_instant("1970-01-01 00:00:01 GMT"), Some(1_000));
/// assert_eq!(parse_instant("1970-01-01T01:00:00+01:00"), Some(0));
/// assert_eq!(parse_instant("31/02/2027"), None);
/// ```
pub fn parse_instant(text: &str) -> Option<Millis> {
    let text = text.trim();
    let date = parse_date(text)?;
    if text.len() == 10 {
        return Some(date);
    }

    let separator = *text.as_bytes().get(10)?;
    if separator != b' ' && separator != b'T' {
        return None;
    }
    let clock = parse_clock(text.get(11..19)?)?;
    let mut rest = text.get(19..)?;
    let mut fraction = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        let millis_text: String = after_dot[..digits].chars().chain("000".chars()).take(3).collect();
        fraction = millis_text.parse::<i64>().ok()?;
        rest = &after_dot[digits..];
    }

    let offset = match rest {
        "Z" | " GMT" | " UTC" | "" if separator == b' ' || rest == "Z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours: i64 = number(rest.get(1..3)?, 2)?;
            let minutes: i64 = number(rest.get(4..6)?, 2)?;
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (hours * 60 + minutes) * 60_000
        }
    };
    Some(date + clock + fraction - offset)
}

/// Formats an instant as RFC 3339 in UTC with millisecond precision, such as
/// `2027-03-01T12:00:00.000Z`.
pub fn format_instant(instant: Millis) -> String {
    let days = instant.div_euclid(MS_PER_DAY);
    let in_day = instant.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (in_day / 3_600_000, in_day / 60_000 % 60);
    let (second, millis) = (in_day / 1000 % 60, in_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
}

/// Parses a calendar day written exactly `YYYY-MM-DD` into the instant it starts (UTC).
pub fn parse_day(text: &str) -> Option<Millis> {
    (text.len() == 10).then(|| parse_date(text))?
}

/// Formats the UTC day an instant falls on as `YYYY-MM-DD`.
pub fn format_day(instant: Millis) -> String {
    format_instant(instant)[0..10].to_owned()
}

/// Formats an instant in PhotoShelter's `YYYY-MM-DD HH:MM:SS GMT` form (seconds precision).
pub fn format_photoshelter(instant: Millis) -> String {
    let rfc = format_instant(instant);
    format!("{} {} GMT", &rfc[0..10], &rfc[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_every_documented_format() {
        let noon = parse_instant("2027-03-01").unwrap() + 12 * 3_600_000;
        assert_eq!(parse_instant("2027-03-01 12:00:00 GMT"), Some(noon));
        assert_eq!(parse_instant("2027-03-01T12:00:00Z"), Some(noon));
        assert_eq!(parse_instant("2027-03-01T12:00:00.000Z"), Some(noon));
        assert_eq!(parse_instant("2027-03-01T08:00:00-04:00"), Some(noon));
    }

    #[test]
    fn parse_rejects_impossible_and_foreign_dates() {
        for text in ["2027-02-29", "2027-13-01", "31/02/2027?", "2027-3-1", "tomorrow", "2027-03-01T25:00:00Z", ""] {
            assert_eq!(parse_instant(text), None, "{text:?} should be rejected");
        }
        assert!(parse_instant("2028-02-29").is_some());
    }

    #[test]
    fn format_round_trips_through_parse() {
        for instant in [0, 1_798_761_600_000, 951_782_400_123, -86_400_000] {
            assert_eq!(parse_instant(&format_instant(instant)), Some(instant));
        }
        assert_eq!(format_instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_photoshelter(1_000), "1970-01-01 00:00:01 GMT");
    }

    #[test]
    fn days_parse_strictly_and_format_back() {
        let day = parse_day("2026-12-04").unwrap();
        assert_eq!(format_day(day + MS_PER_DAY - 1), "2026-12-04");
        assert_eq!(format_day(day + MS_PER_DAY), "2026-12-05");
        for text in ["2026-12-04T00:00:00Z", "2026-02-30", " 2026-12-04", ""] {
            assert_eq!(parse_day(text), None, "{text:?} should be rejected");
        }
    }
}
