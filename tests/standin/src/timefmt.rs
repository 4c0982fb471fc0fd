//! PhotoShelter's timestamp format, `"YYYY-MM-DD HH:MM:SS GMT"` (for example
//! `"2019-10-02 14:39:23 GMT"`), used in resource attributes and in the `modify_start`-style
//! search filters.

use chrono::NaiveDateTime;

const FORMAT: &str = "%Y-%m-%d %H:%M:%S GMT";

/// Formats a UTC time as PhotoShelter writes it.
pub fn format_gmt(time: NaiveDateTime) -> String {
    time.format(FORMAT).to_string()
}

/// Parses a `"YYYY-MM-DD HH:MM:SS GMT"` string, or returns `None` when it has another shape.
pub fn parse_gmt(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text.trim(), FORMAT).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmt_round_trip() {
        let time = parse_gmt("2019-10-02 14:39:23 GMT").expect("valid timestamp");
        assert_eq!(format_gmt(time), "2019-10-02 14:39:23 GMT");
    }

    #[test]
    fn gmt_rejects_other_shapes() {
        assert_eq!(parse_gmt("2019-10-02T14:39:23Z"), None);
        assert_eq!(parse_gmt("2019-10-02 14:39:23"), None);
        assert_eq!(parse_gmt("2019-02-30 00:00:00 GMT"), None);
    }
}
