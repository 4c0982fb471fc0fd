//! Image CDN emulation: `GET /img-get2/{media id}/fit={w}`, `fit={w}x{h}` or `fill={w}x{h}`,
//! optionally followed by a file-name segment, as PhotoShelter image URLs are built from the
//! media id.
//!
//! The stand-in serves no pixels. It returns 302 with `Location` set to the artwork's Tate
//! thumbnail URL, unchanged, and never fetches that URL itself.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::ids::IdKind;
use crate::query::check_id;
use crate::state::AppState;

/// Largest accepted width or height, in pixels.
const MAX_SIDE: u32 = 10_000;

/// Checks a size segment: `fit=W`, `fit=WxH` or `fill=WxH`, each side 1 to 10000 pixels.
pub fn is_valid_size(segment: &str) -> bool {
    let (mode, size) = match segment.split_once('=') {
        Some((mode @ ("fit" | "fill"), size)) => (mode, size),
        _ => return false,
    };
    let side = |text: &str| text.parse::<u32>().is_ok_and(|value| (1..=MAX_SIDE).contains(&value));
    match size.split_once('x') {
        Some((width, height)) => side(width) && side(height),
        None => mode == "fit" && side(size),
    }
}

/// `GET /img-get2/{id}/{size}`.
pub async fn image(
    State(state): State<AppState>,
    Path((id, size)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    redirect(&state, &id, &size)
}

/// `GET /img-get2/{id}/{size}/{file}`: the file name is ignored.
pub async fn image_with_file(
    State(state): State<AppState>,
    Path((id, size, _file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    redirect(&state, &id, &size)
}

fn redirect(state: &AppState, id: &str, size: &str) -> Result<Response, ApiError> {
    check_id(IdKind::Media, id)?;
    if !is_valid_size(size) {
        return Err(ApiError::BadRequest(format!(
            "invalid size segment {size:?}: expected fit=W, fit=WxH or fill=WxH (1 to {MAX_SIDE} pixels)"
        )));
    }

    let library = state.library.read();
    let Some(item) = library.media_by_id(id) else {
        return Err(ApiError::NotFound(format!("media {id} not found")));
    };
    let Some(url) = &item.thumbnail_url else {
        return Err(ApiError::NotFound(format!("media {id} has no image")));
    };
    Ok((StatusCode::FOUND, [(header::LOCATION, url.clone())]).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_segments() {
        assert!(is_valid_size("fit=640"));
        assert!(is_valid_size("fit=1200x1200"));
        assert!(is_valid_size("fill=400x400"));
        assert!(!is_valid_size("fill=400"));
        assert!(!is_valid_size("fit=0"));
        assert!(!is_valid_size("fit=20000"));
        assert!(!is_valid_size("crop=10x10"));
        assert!(!is_valid_size("fit=axb"));
    }
}
