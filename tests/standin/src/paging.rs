//! Page selection: `page` counts from 1, `per_page` defaults to 50 and may be at most 1000.
//!
//! A page past the end returns an empty list with the same `meta.paging` totals.

use std::ops::Range;

use serde_json::{json, Value};

use crate::error::ApiError;
use crate::query::Params;

/// Items per page when the request does not set `per_page`.
pub const DEFAULT_PER_PAGE: usize = 50;

/// Largest accepted `per_page`.
pub const MAX_PER_PAGE: usize = 1000;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: usize,
    pub per_page: usize,
}

impl PageRequest {
    /// Reads `page` and `per_page`. Values that are not positive integers or that exceed the
    /// maximum are 400 errors.
    pub fn from_params(params: &Params) -> Result<PageRequest, ApiError> {
        let page = positive_integer(params, "page")?.unwrap_or(1);
        let per_page = positive_integer(params, "per_page")?.unwrap_or(DEFAULT_PER_PAGE);
        if per_page > MAX_PER_PAGE {
            return Err(ApiError::BadRequest(format!(
                "per_page: {per_page} is larger than the maximum of {MAX_PER_PAGE}; request \
                 at most {MAX_PER_PAGE} items per page"
            )));
        }
        Ok(PageRequest { page, per_page })
    }

    /// Returns the index range of this page in a list of `total` items (empty past the end).
    pub fn range(&self, total: usize) -> Range<usize> {
        let start = (self.page - 1).saturating_mul(self.per_page).min(total);
        let end = start.saturating_add(self.per_page).min(total);
        start..end
    }

    /// Builds `meta.paging`: `total`, `page`, `per_page` and `pages`.
    pub fn meta(&self, total: usize) -> Value {
        json!({
            "paging": {
                "total": total,
                "page": self.page,
                "per_page": self.per_page,
                "pages": total.div_ceil(self.per_page),
            }
        })
    }
}

fn positive_integer(params: &Params, name: &str) -> Result<Option<usize>, ApiError> {
    let Some(text) = params.get(name) else {
        return Ok(None);
    };
    match text.parse::<usize>() {
        Ok(value) if value >= 1 => Ok(Some(value)),
        _ => Err(ApiError::BadRequest(format!("{name}: invalid value {text:?}; expected an integer of at least 1"))),
    }
}

/// Builds a list response: the items of the requested page plus `meta.paging`.
pub fn page_of<T>(request: PageRequest, items: &[T], render: impl Fn(&T) -> Value) -> Value {
    let range = request.range(items.len());
    let data: Vec<Value> = items[range].iter().map(render).collect();
    json!({ "data": data, "meta": request.meta(items.len()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_and_bounds() {
        let request = PageRequest::from_params(&Params::parse("")).expect("defaults");
        assert_eq!(request, PageRequest { page: 1, per_page: 50 });
        assert!(PageRequest::from_params(&Params::parse("per_page=1001")).is_err());
        assert!(PageRequest::from_params(&Params::parse("page=0")).is_err());
        assert!(PageRequest::from_params(&Params::parse("page=two")).is_err());
        assert!(PageRequest::from_params(&Params::parse("per_page=1000")).is_ok());
    }

    #[test]
    fn page_range_past_end_is_empty() {
        let request = PageRequest { page: 3, per_page: 10 };
        assert_eq!(request.range(25), 20..25);
        assert_eq!(request.range(20), 20..20);
        assert_eq!(PageRequest { page: 9, per_page: 10 }.range(25), 25..25);
    }
}
