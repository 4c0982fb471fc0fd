//! Loading the Tate collection's artwork records (one JSON object a line, gzip-compressed).
//!
//! Only the fields the mapping uses are read. Unknown fields are ignored, so the loader keeps
//! working if the export gains columns.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use serde::Deserialize;

/// One artwork record from the Tate export.
#[derive(Debug, Clone, Deserialize)]
pub struct Artwork {
    /// Accession number, such as `A00001` or `T12345`; unique in the export.
    pub acno: String,
    pub title: String,
    /// Artist names in catalogue order; empty for anonymous works.
    #[serde(default)]
    pub artists: Vec<String>,
    /// Free-text date, such as `"c.1830"` or `"date not known"`.
    #[serde(default)]
    pub date_text: Option<String>,
    /// Year of creation: a number, a numeric string, `"no date"` or null in the export.
    #[serde(default)]
    pub year: Option<YearField>,
    #[serde(default)]
    pub medium: Option<String>,
    /// Classification, such as `"painting"` or `"on paper, print"`; null for 181 records.
    #[serde(default)]
    pub classification: Option<String>,
    /// Physical width in millimetres as text; often empty or a fragment such as `"(left):"`.
    #[serde(default)]
    pub width_mm: Option<String>,
    /// Physical height in millimetres as text, with the same caveats as `width_mm`.
    #[serde(default)]
    pub height_mm: Option<String>,
    #[serde(default)]
    pub credit_line: Option<String>,
    #[serde(default)]
    pub acquisition_year: Option<i32>,
    /// Catalogue group, such as one Turner sketchbook.
    #[serde(default)]
    pub group: Option<CatalogueGroup>,
    #[serde(default)]
    pub subjects: Vec<Subject>,
    /// Art movement names, such as `"British Pop"`.
    #[serde(default)]
    pub movements: Vec<String>,
    /// Tate's thumbnail image; null when Tate publishes no image.
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    /// Copyright notice of the thumbnail; null when Tate holds the rights.
    #[serde(default)]
    pub thumbnail_copyright: Option<String>,
    /// The artwork's page on Tate's website.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub images: Vec<ImageEntry>,
}

/// The `year` field, which the export stores as a number or as text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum YearField {
    Number(i64),
    Text(String),
}

impl Artwork {
    /// Returns the year of creation when the record states one as a number.
    pub fn year(&self) -> Option<i64> {
        match self.year.as_ref()? {
            YearField::Number(year) => Some(*year),
            YearField::Text(text) => text.trim().parse().ok(),
        }
    }
}

/// A catalogue group: a sketchbook, a subset of one, or a series.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogueGroup {
    pub id: u64,
    /// Group title; null for 12 records in the export.
    #[serde(default)]
    pub title: Option<String>,
    /// Group type, such as `"Turner Sketchbook"`; null for about a quarter of grouped works.
    #[serde(default, rename = "type")]
    pub group_type: Option<String>,
}

/// A subject heading: a path of three levels, such as `people > adults > man`.
#[derive(Debug, Clone, Deserialize)]
pub struct Subject {
    #[serde(default)]
    pub path: Vec<String>,
}

/// One published image of an artwork (a recto, a verso, a detail).
#[derive(Debug, Clone, Deserialize)]
pub struct ImageEntry {
    /// Third-party copyright notice; null when Tate holds the rights.
    #[serde(default)]
    pub copyright: Option<String>,
    /// Whether Tate has cleared the image for reproduction.
    #[serde(default)]
    pub cleared: Option<bool>,
    #[serde(default)]
    pub width: Option<u32>,
    #[serde(default)]
    pub height: Option<u32>,
}

/// Failure to read the artwork file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot open artwork file {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("cannot read artwork file {path} at line {line}: {source}")]
    Read { path: PathBuf, line: usize, source: std::io::Error },
    #[error("invalid artwork record in {path} at line {line}: {source}")]
    Parse { path: PathBuf, line: usize, source: serde_json::Error },
}

/// Reads artworks from a gzip-compressed JSON-lines file, keeping the first `limit` when given.
///
/// Blank lines are skipped. A line that is not a valid record stops the load with its line
/// number, because a silently shortened library would make counts in tests drift.
pub fn load_artworks(path: &Path, limit: Option<usize>) -> Result<Vec<Artwork>, LoadError> {
    let file = File::open(path).map_err(|source| LoadError::Open { path: path.to_path_buf(), source })?;
    let reader = BufReader::with_capacity(1 << 16, GzDecoder::new(file));

    let mut artworks = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        if limit.is_some_and(|limit| artworks.len() >= limit) {
            break;
        }

        let line_number = index + 1;
        let line = line.map_err(|source| LoadError::Read { path: path.to_path_buf(), line: line_number, source })?;
        if line.trim().is_empty() {
            continue;
        }

        let artwork = serde_json::from_str(&line).map_err(|source| LoadError::Parse {
            path: path.to_path_buf(),
            line: line_number,
            source,
        })?;
        artworks.push(artwork);
    }
    Ok(artworks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artwork_parses_year_variants() {
        let numeric: Artwork = serde_json::from_str(r#"{"acno":"A1","title":"t","year":1830}"#).expect("valid");
        let text: Artwork = serde_json::from_str(r#"{"acno":"A1","title":"t","year":"2005"}"#).expect("valid");
        let unknown: Artwork = serde_json::from_str(r#"{"acno":"A1","title":"t","year":"no date"}"#).expect("valid");

        assert_eq!(numeric.year(), Some(1830));
        assert_eq!(text.year(), Some(2005));
        assert_eq!(unknown.year(), None);
    }
}
