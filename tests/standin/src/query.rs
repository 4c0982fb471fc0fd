//! Query-string parameters and the sort options that several endpoints share.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::ids::{self, IdKind};

/// The decoded query string. Parsing never fails; a repeated name keeps its last value.
#[derive(Debug, Clone, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Decodes a raw query string (without the `?`).
    pub fn parse(raw: &str) -> Params {
        Params(
            form_urlencoded::parse(raw.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// Returns a parameter's value, treating an empty value as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|value| !value.is_empty())
    }

    /// Returns the first of several alternative names that is present.
    pub fn get_any(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|name| self.get(name))
    }

    /// Reads an optional id parameter and checks its format.
    pub fn id(&self, name: &str, kind: IdKind) -> Result<Option<&str>, ApiError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        check_id(kind, value)?;
        Ok(Some(value))
    }

    /// Reads `include` as a comma-separated list, rejecting names outside `allowed`.
    pub fn includes(&self, allowed: &[&'static str]) -> Result<Vec<&'static str>, ApiError> {
        let Some(value) = self.get("include") else {
            return Ok(Vec::new());
        };

        let mut includes = Vec::new();
        for name in value.split(',').map(str::trim).filter(|name| !name.is_empty()) {
            let Some(known) = allowed.iter().find(|known| **known == name) else {
                return Err(ApiError::BadRequest(format!(
                    "include: unknown value {name:?}; expected a comma-separated list of {}",
                    allowed.join(", ")
                )));
            };
            if !includes.contains(known) {
                includes.push(*known);
            }
        }
        Ok(includes)
    }

    /// Reads the sort direction from `sort_direction` or `sort_dir`.
    ///
    /// Accepts `ascending`/`asc` and `descending`/`desc`; the default is ascending.
    pub fn sort_direction(&self) -> Result<SortDirection, ApiError> {
        match self.get_any(&["sort_direction", "sort_dir"]) {
            None | Some("ascending" | "asc") => Ok(SortDirection::Ascending),
            Some("descending" | "desc") => Ok(SortDirection::Descending),
            Some(other) => Err(ApiError::BadRequest(format!(
                "sort_direction: invalid value {other:?}; expected ascending, descending, asc or desc"
            ))),
        }
    }

    /// Reads `sort_by`, which must be one of `allowed`; the first entry is the default.
    pub fn sort_by(&self, allowed: &[&'static str]) -> Result<&'static str, ApiError> {
        let default = allowed.first().copied().unwrap_or_default();
        let Some(value) = self.get("sort_by") else {
            return Ok(default);
        };
        allowed.iter().copied().find(|known| *known == value).ok_or_else(|| {
            ApiError::BadRequest(format!("sort_by: invalid value {value:?}; expected one of {}", allowed.join(", ")))
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Params::parse(parts.uri.query().unwrap_or_default()))
    }
}

/// Sort order of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortDirection {
    Ascending,
    Descending,
}

impl SortDirection {
    /// Applies the direction to an ascending ordering.
    pub fn apply(self, ordering: std::cmp::Ordering) -> std::cmp::Ordering {
        match self {
            SortDirection::Ascending => ordering,
            SortDirection::Descending => ordering.reverse(),
        }
    }
}

/// Checks a path or query id. A mismatch is a 400 error that names the expected format.
pub fn check_id(kind: IdKind, value: &str) -> Result<(), ApiError> {
    if ids::is_valid(kind, value) {
        return Ok(());
    }
    let truncated: String = value.chars().take(40).collect();
    Err(ApiError::BadRequest(format!("invalid {} id {truncated:?}: expected {}", kind.label(), kind.pattern())))
}
