//! Usage rights derived from real Tate fields, published as Brands-style custom metadata.
//!
//! The rules run in this order and the first that matches wins:
//!
//! 1. Any `images[].cleared == false`: channels `"none"`. Tate has not cleared the work, so the
//!    rights are known and forbid any use.
//! 2. No `thumbnail_url`: no usage fields at all. Nothing is known, so a fail-closed product must
//!    not show the work.
//! 3. A third-party copyright notice (`thumbnail_copyright` or any `images[].copyright`):
//!    editorial web use only, from `acquisition_year-01-01` until a hashed date between
//!    2026-12-01 and 2029-12-31, in `"GB"` for about a quarter of the works and `"worldwide"`
//!    for the rest.
//! 4. Otherwise Tate owns the rights: channels `"web, email, social, partner"`, worldwide, with
//!    no expiration. One in 200 of these works (by hash) also carries a malformed expiration
//!    value, so the product's fail-closed parsing runs on real data.

use chrono::NaiveDate;

use crate::hash::stable_hash;
use crate::tate::Artwork;

/// Custom metadata field names, as a PhotoShelter for Brands organization would define them.
pub mod field {
    pub const USAGE_CHANNELS: &str = "Usage Channels";
    pub const LICENSE_START_DATE: &str = "License Start Date";
    pub const LICENSE_EXPIRATION_DATE: &str = "License Expiration Date";
    pub const TERRITORY: &str = "Territory";
    pub const SOURCE_URL: &str = "Source URL";
}

/// Channels of a work whose copyright Tate holds.
pub const TATE_CHANNELS: &str = "web, email, social, partner";

/// Channel list of a work licensed from a third party: editorial web use only.
pub const THIRD_PARTY_CHANNELS: &str = "web";

/// Channel list of a work Tate has not cleared.
pub const NOT_CLEARED_CHANNELS: &str = "none";

/// Licence start year used when a work has no acquisition year.
const FALLBACK_START_YEAR: i32 = 2000;

/// One work in this many Tate-cleared works carries a malformed expiration value.
const MALFORMED_ONE_IN: u64 = 200;

/// The malformed expiration values, picked by hash. Each breaks a different parsing rule:
/// a day-first date with a stray mark, a day that does not exist, free text, a month 13.
pub const MALFORMED_EXPIRATIONS: [&str; 4] = ["31/02/2027?", "2027-02-30", "TBC", "2028-13-01"];

/// Where a licence applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Territory {
    Worldwide,
    /// The United Kingdom only (ISO 3166-1 alpha-2 code `GB`).
    UnitedKingdom,
}

impl Territory {
    /// Returns the value stored in the "Territory" field.
    pub fn code(self) -> &'static str {
        match self {
            Territory::Worldwide => "worldwide",
            Territory::UnitedKingdom => "GB",
        }
    }

    fn phrase(self) -> &'static str {
        match self {
            Territory::Worldwide => "worldwide",
            Territory::UnitedKingdom => "in the United Kingdom (GB)",
        }
    }
}

/// The usage rights of one work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// Tate has not cleared at least one of the work's images.
    NotCleared,
    /// Tate publishes no image, so nothing is known about usage.
    Unknown,
    /// A third party holds the copyright; editorial web use under a dated licence.
    ThirdParty { start: NaiveDate, expiration: NaiveDate, territory: Territory },
    /// Tate owns the rights. `malformed_expiration` is the deliberately broken value, if any.
    TateCleared { malformed_expiration: Option<&'static str> },
}

impl Usage {
    /// Applies the rules in the module documentation to one artwork.
    pub fn of_artwork(artwork: &Artwork) -> Usage {
        if artwork.images.iter().any(|image| image.cleared == Some(false)) {
            return Usage::NotCleared;
        }

        if artwork.thumbnail_url.is_none() {
            return Usage::Unknown;
        }

        if has_third_party_copyright(artwork) {
            return third_party_usage(artwork);
        }

        let malformed_hash = stable_hash("malformed-expiration", &artwork.acno);
        let malformed_expiration = malformed_hash.is_multiple_of(MALFORMED_ONE_IN).then(|| {
            let pick = (malformed_hash / MALFORMED_ONE_IN) % MALFORMED_EXPIRATIONS.len() as u64;
            MALFORMED_EXPIRATIONS[pick as usize]
        });
        Usage::TateCleared { malformed_expiration }
    }

    /// Builds the usage fields of the custom metadata, in display order.
    pub fn custom_fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Usage::NotCleared => vec![(field::USAGE_CHANNELS, NOT_CLEARED_CHANNELS.to_owned())],
            Usage::Unknown => Vec::new(),
            Usage::ThirdParty { start, expiration, territory } => vec![
                (field::USAGE_CHANNELS, THIRD_PARTY_CHANNELS.to_owned()),
                (field::LICENSE_START_DATE, start.to_string()),
                (field::LICENSE_EXPIRATION_DATE, expiration.to_string()),
                (field::TERRITORY, territory.code().to_owned()),
            ],
            Usage::TateCleared { malformed_expiration } => {
                let mut fields = vec![
                    (field::USAGE_CHANNELS, TATE_CHANNELS.to_owned()),
                    (field::TERRITORY, Territory::Worldwide.code().to_owned()),
                ];
                if let Some(value) = malformed_expiration {
                    fields.push((field::LICENSE_EXPIRATION_DATE, (*value).to_owned()));
                }
                fields
            }
        }
    }

    /// Writes the IPTC "Rights Usage Terms" sentence that matches the custom fields.
    ///
    /// Returns `None` when nothing is known about usage.
    pub fn rights_statement(&self) -> Option<String> {
        match self {
            Usage::NotCleared => Some("Not cleared for reproduction. Do not publish.".to_owned()),
            Usage::Unknown => None,
            Usage::ThirdParty { start, expiration, territory } => Some(format!(
                "Licensed for editorial web use only, {}, from {start} until {expiration}.",
                territory.phrase()
            )),
            Usage::TateCleared { .. } => {
                Some("Cleared for web, email, social and partner use worldwide, with no expiration.".to_owned())
            }
        }
    }
}

/// Reports whether a third party holds the copyright of any published image of the work.
///
/// Any non-null notice counts, including the 634 thumbnails whose notice reads `"© Tate"`.
pub fn has_third_party_copyright(artwork: &Artwork) -> bool {
    artwork.thumbnail_copyright.is_some() || artwork.images.iter().any(|image| image.copyright.is_some())
}

fn third_party_usage(artwork: &Artwork) -> Usage {
    let start_year = artwork.acquisition_year.unwrap_or(FALLBACK_START_YEAR);
    let start = NaiveDate::from_ymd_opt(start_year, 1, 1).unwrap_or(fallback_start());

    let first = expiration_window_start();
    let last = expiration_window_end();
    let window_days = (last - first).num_days() + 1;
    let offset = stable_hash("license-expiration", &artwork.acno) % window_days.unsigned_abs();
    let expiration = first + chrono::Days::new(offset);

    let territory = if stable_hash("territory", &artwork.acno).is_multiple_of(4) {
        Territory::UnitedKingdom
    } else {
        Territory::Worldwide
    };

    Usage::ThirdParty { start, expiration, territory }
}

fn fallback_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(FALLBACK_START_YEAR, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// First possible licence expiration date (inclusive).
pub fn expiration_window_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or(NaiveDate::MIN)
}

/// Last possible licence expiration date (inclusive).
pub fn expiration_window_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2029, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Reports whether `date` lies inside the expiration window.
pub fn is_in_expiration_window(date: NaiveDate) -> bool {
    date >= expiration_window_start() && date <= expiration_window_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artwork(json: &str) -> Artwork {
        serde_json::from_str(json).expect("valid test record")
    }

    #[test]
    fn usage_without_thumbnail_is_unknown() {
        let work = artwork(r#"{"acno":"A1","title":"t","thumbnail_copyright":"© X"}"#);
        assert_eq!(Usage::of_artwork(&work), Usage::Unknown);
        assert!(Usage::Unknown.custom_fields().is_empty());
        assert_eq!(Usage::Unknown.rights_statement(), None);
    }

    #[test]
    fn usage_not_cleared_wins_over_missing_thumbnail() {
        let work = artwork(r#"{"acno":"A1","title":"t","images":[{"cleared":true},{"cleared":false}]}"#);
        let usage = Usage::of_artwork(&work);
        assert_eq!(usage, Usage::NotCleared);
        assert_eq!(usage.custom_fields(), vec![(field::USAGE_CHANNELS, "none".to_owned())]);
    }

    #[test]
    fn usage_third_party_is_web_only_with_expiration() {
        let work = artwork(
            r#"{"acno":"T01234","title":"t","acquisition_year":1970,
                "thumbnail_url":"http://example.invalid/t.jpg","thumbnail_copyright":"© DACS"}"#,
        );
        let Usage::ThirdParty { start, expiration, .. } = Usage::of_artwork(&work) else {
            panic!("expected a third-party licence");
        };
        assert_eq!(start.to_string(), "1970-01-01");
        assert!(is_in_expiration_window(expiration), "{expiration}");
    }

    #[test]
    fn usage_image_copyright_counts_as_third_party() {
        let work = artwork(
            r#"{"acno":"T01234","title":"t","thumbnail_url":"http://example.invalid/t.jpg",
                "images":[{"copyright":"© Estate","cleared":true}]}"#,
        );
        let usage = Usage::of_artwork(&work);
        assert!(matches!(usage, Usage::ThirdParty { .. }), "{usage:?}");
        let fields = usage.custom_fields();
        assert_eq!(fields[0], (field::USAGE_CHANNELS, "web".to_owned()));
        assert_eq!(fields[1], (field::LICENSE_START_DATE, "2000-01-01".to_owned()));
    }

    #[test]
    fn usage_tate_cleared_has_all_channels() {
        let work = artwork(r#"{"acno":"N00001","title":"t","thumbnail_url":"http://example.invalid/t.jpg"}"#);
        let usage = Usage::of_artwork(&work);
        let fields = usage.custom_fields();
        assert_eq!(fields[0], (field::USAGE_CHANNELS, TATE_CHANNELS.to_owned()));
        assert_eq!(fields[1], (field::TERRITORY, "worldwide".to_owned()));
    }

    #[test]
    fn malformed_expiration_rate_near_half_percent() {
        let total = 20_000;
        let malformed = (0..total)
            .filter(|index| {
                let work = Artwork {
                    acno: format!("N{index:05}"),
                    ..artwork(r#"{"acno":"x","title":"t","thumbnail_url":"http://e.invalid/"}"#)
                };
                matches!(Usage::of_artwork(&work), Usage::TateCleared { malformed_expiration: Some(_) })
            })
            .count();
        assert!((60..=140).contains(&malformed), "{malformed} of {total}");
    }
}
