//! Mapping one Tate artwork onto a PhotoShelter image: id, attributes, IPTC and custom metadata.
//!
//! Values that Tate does not record (upload and modification times) are invented from the
//! stable hash of the accession number, so every start serves the same library.

use chrono::{NaiveDate, NaiveDateTime};

use crate::hash::stable_hash;
use crate::ids::{self, IdKind};
use crate::rights::{self, Usage};
use crate::tate::Artwork;

/// Prefix of image ids.
const IMAGE_PREFIX: &str = "I0000";

/// Number of id characters after the prefix.
const ID_BODY_LEN: usize = 11;

/// Long side, in pixels, of the size derived from physical dimensions.
pub const DERIVED_LONG_SIDE: u32 = 1024;

/// Upload year used when a work has no acquisition year.
const FALLBACK_UPLOAD_YEAR: i32 = 2000;

/// The value of the IPTC `source` field and of the default copyright holder.
pub const SOURCE: &str = "Tate";

/// Copyright notice used when no third-party notice is recorded.
pub const TATE_COPYRIGHT: &str = "© Tate";

/// One image in the library, before gallery membership is known.
#[derive(Debug, Clone)]
pub struct Media {
    pub id: String,
    pub acno: String,
    /// Index of the artwork's classification in the sorted classification names.
    pub collection: usize,
    pub file_name: String,
    /// Pixel size, when the record gives one directly or through physical dimensions.
    pub size: Option<(u32, u32)>,
    pub created_at: NaiveDateTime,
    pub modified_at: NaiveDateTime,
    /// True when the work has a thumbnail, so it can be shown at all.
    pub searchable: bool,
    pub thumbnail_url: Option<String>,
    pub iptc: Iptc,
    pub usage: Usage,
    /// The artwork's page on Tate's website, published as the "Source URL" custom field.
    pub source_url: Option<String>,
    /// Custom metadata fields set through `POST /__standin/mutate`, in display order. `None`
    /// serves the fields derived from `usage` and `source_url`.
    pub custom_metadata: Option<Vec<(String, String)>>,
    /// Indices of the galleries that contain this image, filled in by the library.
    pub galleries: Vec<usize>,
}

/// The IPTC fields served by `/media/{id}/iptc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iptc {
    pub title: String,
    pub caption: String,
    pub author: Option<String>,
    pub keywords: Vec<String>,
    pub category: Option<String>,
    pub credit: Option<String>,
    pub copyright: String,
    pub rights: Option<String>,
    pub date_created: Option<String>,
    pub web_statement: Option<String>,
}

/// Returns the image id of an accession number: `I0000` plus the number left-padded with `0`
/// to eleven characters, or `None` when it is longer or has characters ids cannot contain.
pub fn padded_media_id(acno: &str) -> Option<String> {
    if acno.is_empty() || acno.len() > ID_BODY_LEN || !acno.chars().all(ids::is_id_char) {
        return None;
    }
    let id = format!("{IMAGE_PREFIX}{acno:0>ID_BODY_LEN$}");
    ids::is_valid(IdKind::Media, &id).then_some(id)
}

/// Returns the id used when the padded form does not fit or collides: `I0000_` plus the first
/// ten hexadecimal digits of `FNV-1a("media-id:{acno}")`.
pub fn fallback_media_id(acno: &str) -> String {
    let hash = stable_hash("media-id", acno);
    let hex = format!("{hash:016x}");
    format!("{IMAGE_PREFIX}_{}", &hex[..ID_BODY_LEN - 1])
}

/// Maps one artwork. `id` comes from the library, which checks uniqueness across all records.
pub fn map_artwork(artwork: &Artwork, id: String, collection: usize) -> Media {
    let usage = Usage::of_artwork(artwork);
    let (created_at, modified_at) = timestamps(artwork);

    let iptc = Iptc {
        title: artwork.title.clone(),
        caption: caption(artwork),
        author: non_empty(artwork.artists.join("; ")),
        keywords: keywords(artwork),
        category: category(artwork),
        credit: artwork.credit_line.clone(),
        copyright: copyright(artwork),
        rights: usage.rights_statement(),
        date_created: artwork.year().map(|year| year.to_string()),
        web_statement: artwork.url.clone(),
    };

    Media {
        id,
        acno: artwork.acno.clone(),
        collection,
        file_name: format!("{}.jpg", artwork.acno),
        size: pixel_size(artwork),
        created_at,
        modified_at,
        searchable: artwork.thumbnail_url.is_some(),
        thumbnail_url: artwork.thumbnail_url.clone(),
        iptc,
        usage,
        source_url: artwork.url.clone(),
        custom_metadata: None,
        galleries: Vec::new(),
    }
}

/// Returns the latest modification time any media can get: 2025-12-31 23:59:59 GMT.
pub fn latest_modification() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 12, 31).and_then(|date| date.and_hms_opt(23, 59, 59)).unwrap_or(NaiveDateTime::MAX)
}

/// Invents the upload and modification times.
///
/// The upload time falls inside the acquisition year (2000 when unknown), at second
/// `FNV-1a("created:{acno}") mod seconds_in_year`. The modification time is the upload time
/// plus `FNV-1a("modified:{acno}") mod (seconds until 2025-12-31 23:59:59 + 1)`.
fn timestamps(artwork: &Artwork) -> (NaiveDateTime, NaiveDateTime) {
    let year = artwork.acquisition_year.unwrap_or(FALLBACK_UPLOAD_YEAR);
    let year_start = start_of_year(year).unwrap_or_default();
    let next_year_start = start_of_year(year + 1).unwrap_or(year_start);
    let seconds_in_year = (next_year_start - year_start).num_seconds().max(1).unsigned_abs();

    let created_offset = stable_hash("created", &artwork.acno) % seconds_in_year;
    let created_at = add_seconds(year_start, created_offset);

    let remaining = (latest_modification() - created_at).num_seconds().max(0).unsigned_abs();
    let modified_offset = stable_hash("modified", &artwork.acno) % (remaining + 1);
    let modified_at = add_seconds(created_at, modified_offset);

    (created_at, modified_at)
}

fn start_of_year(year: i32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(year, 1, 1)?.and_hms_opt(0, 0, 0)
}

fn add_seconds(time: NaiveDateTime, seconds: u64) -> NaiveDateTime {
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    time.checked_add_signed(chrono::TimeDelta::seconds(seconds)).unwrap_or(time)
}

/// Picks the pixel size: the largest `images` entry by area, else the physical proportions
/// scaled to 1024 pixels on the long side, else nothing.
pub fn pixel_size(artwork: &Artwork) -> Option<(u32, u32)> {
    let largest_image = artwork
        .images
        .iter()
        .filter_map(|image| Some((image.width?, image.height?)))
        .filter(|(width, height)| *width > 0 && *height > 0)
        .max_by_key(|(width, height)| u64::from(*width) * u64::from(*height));
    if largest_image.is_some() {
        return largest_image;
    }

    let width_mm = parse_millimetres(artwork.width_mm.as_deref())?;
    let height_mm = parse_millimetres(artwork.height_mm.as_deref())?;
    let long_side = f64::from(DERIVED_LONG_SIDE);
    let (width, height) = if width_mm >= height_mm {
        (long_side, (height_mm * long_side / width_mm).round())
    } else {
        ((width_mm * long_side / height_mm).round(), long_side)
    };
    Some((pixels(width), pixels(height)))
}

fn parse_millimetres(text: Option<&str>) -> Option<f64> {
    let value: f64 = text?.trim().parse().ok()?;
    (value.is_finite() && value > 0.0).then_some(value)
}

/// Converts a rounded side length to whole pixels, at least one.
fn pixels(length: f64) -> u32 {
    let clamped = length.clamp(1.0, f64::from(DERIVED_LONG_SIDE));
    // The value is clamped to 1..=1024 and already rounded, so the cast is exact.
    clamped as u32
}

/// Writes `"{title} ({date_text}). {medium}."`, leaving out the parts the record lacks.
fn caption(artwork: &Artwork) -> String {
    let mut caption = artwork.title.clone();
    if let Some(date_text) = artwork.date_text.as_deref().filter(|text| !text.trim().is_empty()) {
        caption.push_str(&format!(" ({date_text})"));
    }
    if let Some(medium) = artwork.medium.as_deref().filter(|text| !text.trim().is_empty()) {
        caption.push_str(". ");
        caption.push_str(medium);
        if !medium.ends_with('.') {
            caption.push('.');
        }
    }
    caption
}

/// Collects the leaf name of each subject path, first occurrence first, without repeats.
fn keywords(artwork: &Artwork) -> Vec<String> {
    let mut keywords: Vec<String> = Vec::new();
    for subject in &artwork.subjects {
        let Some(leaf) = subject.path.last() else {
            continue;
        };
        if !keywords.contains(leaf) {
            keywords.push(leaf.clone());
        }
    }
    keywords
}

/// Joins the distinct top-level subject names with `", "`, first occurrence first.
fn category(artwork: &Artwork) -> Option<String> {
    let mut roots: Vec<&str> = Vec::new();
    for subject in &artwork.subjects {
        let Some(root) = subject.path.first() else {
            continue;
        };
        if !roots.contains(&root.as_str()) {
            roots.push(root);
        }
    }
    non_empty(roots.join(", "))
}

/// Picks `thumbnail_copyright`, else the first non-null `images[].copyright`, else `"© Tate"`.
fn copyright(artwork: &Artwork) -> String {
    artwork
        .thumbnail_copyright
        .clone()
        .or_else(|| artwork.images.iter().find_map(|image| image.copyright.clone()))
        .unwrap_or_else(|| TATE_COPYRIGHT.to_owned())
}

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// Returns the custom metadata fields in display order: the fields set through the mutate
/// control when there are any, else the usage fields plus "Source URL".
pub fn custom_metadata_fields(media: &Media) -> Vec<(String, String)> {
    if let Some(fields) = &media.custom_metadata {
        return fields.clone();
    }

    let mut fields: Vec<(String, String)> =
        media.usage.custom_fields().into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
    if let Some(url) = &media.source_url {
        fields.push((rights::field::SOURCE_URL.to_owned(), url.clone()));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn artwork(json: &str) -> Artwork {
        serde_json::from_str(json).expect("valid test record")
    }

    #[test]
    fn padded_id_fills_to_sixteen_characters() {
        assert_eq!(padded_media_id("A00001").as_deref(), Some("I000000000A00001"));
        assert_eq!(padded_media_id("P123456").as_deref(), Some("I00000000P123456"));
        assert_eq!(padded_media_id("TOO-LONG-ACNO"), None);
        assert_eq!(padded_media_id("AR-001"), None);
    }

    #[test]
    fn fallback_id_is_valid() {
        let id = fallback_media_id("AR-001/2");
        assert!(ids::is_valid(IdKind::Media, &id), "{id}");
        assert_eq!(id, fallback_media_id("AR-001/2"));
    }

    #[test]
    fn size_prefers_largest_image() {
        let work = artwork(
            r#"{"acno":"A1","title":"t","width_mm":"100","height_mm":"50",
                "images":[{"width":10,"height":20},{"width":300,"height":200}]}"#,
        );
        assert_eq!(pixel_size(&work), Some((300, 200)));
    }

    #[test]
    fn size_scales_physical_dimensions() {
        let landscape = artwork(r#"{"acno":"A1","title":"t","width_mm":"394","height_mm":"197"}"#);
        let portrait = artwork(r#"{"acno":"A1","title":"t","width_mm":"311","height_mm":"622"}"#);
        let unknown = artwork(r#"{"acno":"A1","title":"t","width_mm":"(left):","height_mm":""}"#);
        assert_eq!(pixel_size(&landscape), Some((1024, 512)));
        assert_eq!(pixel_size(&portrait), Some((512, 1024)));
        assert_eq!(pixel_size(&unknown), None);
    }

    #[test]
    fn timestamps_stay_in_range() {
        let work = artwork(r#"{"acno":"A00001","title":"t","acquisition_year":1922}"#);
        let (created, modified) = timestamps(&work);
        assert_eq!(created.year(), 1922);
        assert!(modified >= created);
        assert!(modified <= latest_modification());
        assert_eq!(timestamps(&work), (created, modified));
    }

    #[test]
    fn iptc_fields_from_record() {
        let work = artwork(
            r#"{"acno":"A1","title":"Study","artists":["A","B"],"date_text":"c.1830",
                "medium":"Graphite on paper","credit_line":"Bequeathed 1856","year":"1830",
                "subjects":[{"path":["people","adults","man"]},{"path":["nature","weather","cloud"]},
                            {"path":["people","adults","man"]}],
                "images":[{"copyright":null},{"copyright":"© Estate"}],
                "url":"http://example.invalid/a1"}"#,
        );
        let id = padded_media_id("A1").expect("short acno fits");
        let media = map_artwork(&work, id, 0);
        assert_eq!(media.iptc.caption, "Study (c.1830). Graphite on paper.");
        assert_eq!(media.iptc.author.as_deref(), Some("A; B"));
        assert_eq!(media.iptc.keywords, vec!["man".to_owned(), "cloud".to_owned()]);
        assert_eq!(media.iptc.category.as_deref(), Some("people, nature"));
        assert_eq!(media.iptc.copyright, "© Estate");
        assert_eq!(media.iptc.date_created.as_deref(), Some("1830"));
        assert_eq!(media.file_name, "A1.jpg");
        assert!(!media.searchable);
    }
}
