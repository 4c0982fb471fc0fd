//! Analytics for editors, marketers and analysts: engagement, segments, trends, experiments
//! and editorial suggestions.
//!
//! Events are raw facts; [`aggregate`] turns them into daily counts per dimension and assigns
//! visitors to [`segments`]. The read endpoints ([`report`], [`trends`], [`suggestions`] and
//! the experiment results in [`report`]) read those aggregates, so their cost does not grow
//! with traffic. Every asset or gallery an endpoint proposes for use passes the same rights
//! filter as recommendations, for the channel and campaign asked about.

pub mod aggregate;
pub mod experiments;
pub mod report;
pub mod segments;
pub mod suggestions;
pub mod trends;

use loci_shared::api::{validate_token, QueryError};
use loci_shared::time::{format_day, parse_day, Millis, MS_PER_DAY};

use crate::config::Config;
use crate::error::ApiError;
use crate::export::shorten;

/// Maximum date range of a query, in days.
pub const MAX_RANGE_DAYS: i64 = 366;
/// Days covered when a query names no range.
pub const DEFAULT_RANGE_DAYS: i64 = 28;

/// Query parameters, checked against the names an endpoint accepts.
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Reads the pairs, failing on a name outside `accepted` or a repeated name.
    pub fn new(pairs: Vec<(String, String)>, accepted: &[&'static str]) -> Result<Params, QueryError> {
        for (i, (name, _)) in pairs.iter().enumerate() {
            if !accepted.contains(&name.as_str()) {
                return Err(QueryError::Unknown(shorten(name)));
            }
            if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
                let parameter = accepted.iter().copied().find(|a| a == name).unwrap_or("parameter");
                return Err(QueryError::Invalid { parameter, reason: "give it once".to_owned() });
            }
        }
        Ok(Params { pairs })
    }

    /// Returns the value of a parameter, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Parses a whole number in `range`, or returns `default` when absent.
    pub fn number(
        &self,
        name: &'static str,
        default: i64,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<i64, QueryError> {
        let Some(text) = self.get(name) else { return Ok(default) };
        match text.parse::<i64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(QueryError::Invalid {
                parameter: name,
                reason: format!("`{}` is not a whole number from {} to {}", shorten(text), range.start(), range.end()),
            }),
        }
    }

    /// Parses one of `choices`, or returns the first choice when absent.
    pub fn choice(&self, name: &'static str, choices: &[&'static str]) -> Result<&'static str, QueryError> {
        let Some(text) = self.get(name) else { return Ok(choices[0]) };
        choices.iter().copied().find(|c| *c == text).ok_or_else(|| QueryError::Invalid {
            parameter: name,
            reason: format!("`{}` is not one of {}", shorten(text), choices.join(", ")),
        })
    }

    /// Parses a token (letters, digits, `.`, `_`, `-`), if given.
    pub fn token(&self, name: &'static str) -> Result<Option<String>, QueryError> {
        self.get(name).map(|value| validate_token(name, value)).transpose()
    }

    /// `true` or `false`, or `false` when absent.
    pub fn flag(&self, name: &'static str) -> Result<bool, QueryError> {
        match self.get(name) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(other) => Err(QueryError::Invalid {
                parameter: name,
                reason: format!("`{}` is not `true` or `false`", shorten(other)),
            }),
        }
    }

    /// Parses a segment id that the configuration defines (or a built-in one), if given.
    pub fn segment(&self, config: &Config) -> Result<Option<String>, ApiError> {
        let Some(segment) = self.token("segment")? else { return Ok(None) };
        known_segment(config, &segment)?;
        Ok(Some(segment))
    }
}

/// Fails with the list of accepted ids when `segment` is not a known segment.
pub fn known_segment(config: &Config, segment: &str) -> Result<(), ApiError> {
    let known = segments::known_ids(&config.segments);
    if known.iter().any(|k| k == segment) {
        Ok(())
    } else {
        Err(ApiError::UnknownName { kind: "segment", id: shorten(segment), accepted: known.join(", ") })
    }
}

/// An inclusive range of UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    /// The instant the first day starts.
    pub first: Millis,
    /// The instant the last day starts.
    pub last: Millis,
}

impl DayRange {
    /// Reads `from` and `to` (`YYYY-MM-DD`, inclusive). Without them the range is the
    /// [`DEFAULT_RANGE_DAYS`] days up to and including today.
    pub fn from_params(params: &Params, now: Millis) -> Result<DayRange, QueryError> {
        let day = |name: &'static str| -> Result<Option<Millis>, QueryError> {
            params
                .get(name)
                .map(|text| {
                    parse_day(text).ok_or_else(|| QueryError::Invalid {
                        parameter: name,
                        reason: format!("`{}` is not a date as YYYY-MM-DD, such as 2026-12-01", shorten(text)),
                    })
                })
                .transpose()
        };
        let today = now.div_euclid(MS_PER_DAY) * MS_PER_DAY;
        let last = day("to")?.unwrap_or(today);
        let first = day("from")?.unwrap_or(last - (DEFAULT_RANGE_DAYS - 1) * MS_PER_DAY);
        if first > last {
            return Err(QueryError::Invalid {
                parameter: "from",
                reason: format!("`from` ({}) is after `to` ({}); swap them", format_day(first), format_day(last)),
            });
        }
        if (last - first) / MS_PER_DAY + 1 > MAX_RANGE_DAYS {
            return Err(QueryError::Invalid {
                parameter: "from",
                reason: format!("the range covers more than {MAX_RANGE_DAYS} days; query at most a year at a time"),
            });
        }
        Ok(DayRange { first, last })
    }

    /// Returns each day in the range as `YYYY-MM-DD`, oldest first.
    pub fn days(&self) -> Vec<String> {
        (0..=(self.last - self.first) / MS_PER_DAY).map(|i| format_day(self.first + i * MS_PER_DAY)).collect()
    }

    /// Returns the first day as `YYYY-MM-DD`.
    pub fn from_text(&self) -> String {
        format_day(self.first)
    }

    /// Returns the last day as `YYYY-MM-DD`.
    pub fn to_text(&self) -> String {
        format_day(self.last)
    }
}

/// Returns clicks divided by impressions: 0 without impressions, and at most 1, because a
/// click whose impression event was lost on its way does not make a rate above 100%.
pub fn ctr(clicks: i64, impressions: i64) -> f64 {
    if impressions > 0 {
        (clicks as f64 / impressions as f64).min(1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(), &["from", "to", "limit"])
            .unwrap()
    }

    #[test]
    fn ranges_default_to_the_last_four_weeks() {
        let now = parse_day("2026-12-04").unwrap() + 5;
        let range = DayRange::from_params(&params(&[]), now).unwrap();
        assert_eq!((range.from_text(), range.to_text()), ("2026-11-07".to_owned(), "2026-12-04".to_owned()));
        assert_eq!(range.days().len(), 28);
    }

    #[test]
    fn bad_ranges_say_what_is_accepted() {
        let now = parse_day("2026-12-04").unwrap();
        for (pairs, expected) in [
            (vec![("from", "2026-12-05"), ("to", "2026-12-01")], "swap them"),
            (vec![("from", "2024-01-01"), ("to", "2026-01-01")], "at most a year"),
            (vec![("from", "yesterday")], "YYYY-MM-DD"),
        ] {
            let error = DayRange::from_params(&params(&pairs), now).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn params_reject_unknown_and_repeated_names() {
        let pairs = |p: &[(&str, &str)]| p.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        assert!(matches!(Params::new(pairs(&[("form", "x")]), &["from"]), Err(QueryError::Unknown(_))));
        assert!(Params::new(pairs(&[("from", "a"), ("from", "b")]), &["from"]).is_err());
        assert!(params(&[("limit", "0")]).number("limit", 5, 1..=10).is_err());
    }
}
