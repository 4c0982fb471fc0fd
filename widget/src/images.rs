//! Responsive images: `srcset` candidates derived from PhotoShelter image URLs, and `sizes`
//! per layout.
//!
//! The edge builds image URLs as `{image base}/img-get2/{media id}/fit={width}`, and the CDN
//! scales an image to any `fit` width. Rewriting only the `fit=` part therefore yields the same
//! image at other widths. A URL of any other shape gets no `srcset`, so the browser loads its
//! plain `src`.

use crate::config::Layout;

/// Widths offered in `srcset`, in CSS pixels at a device pixel ratio of 1.
pub const SRCSET_WIDTHS: [u32; 4] = [300, 600, 900, 1200];

/// Path segment that marks a PhotoShelter CDN image URL.
const IMAGE_PATH: &str = "/img-get2/";

/// Prefix of the URL's last path segment, followed by the width in pixels.
const FIT_PREFIX: &str = "fit=";

/// Builds a `srcset` value that offers `url` at each of [`SRCSET_WIDTHS`], or returns `None`
/// when `url` is not of the form `…/img-get2/{id}/fit={digits}`.
pub fn srcset(url: &str) -> Option<String> {
    let (stem, width) = url.rsplit_once('/')?;
    let digits = width.strip_prefix(FIT_PREFIX)?;
    let is_width = !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit());
    let (_, id) = stem.split_once(IMAGE_PATH)?;
    if !is_width || id.is_empty() || id.contains('/') {
        return None;
    }

    let mut srcset = String::new();
    for width in SRCSET_WIDTHS {
        if !srcset.is_empty() {
            srcset.push_str(", ");
        }
        let width = width.to_string();
        for part in [stem, "/", FIT_PREFIX, &width, " ", &width, "w"] {
            srcset.push_str(part);
        }
    }
    Some(srcset)
}

/// Returns the `sizes` value for asset images in `layout`: the rendered width of one card.
///
/// The widths follow `widget.css`: cards of 9 to 11rem in grids and rows, up to 18rem (78 % of
/// a narrow screen) in the carousel. A grid fills its container, so grid cards stay near 9 to
/// 14rem on wide screens and take half of a narrow one. The homepage stretches its few cards
/// across the container, which is at most 72rem on the demo site.
pub fn asset_sizes(layout: Layout) -> &'static str {
    match layout {
        Layout::Grid | Layout::GalleryMore => "(max-width: 30rem) 50vw, 14rem",
        Layout::Homepage => "(max-width: 30rem) 50vw, 18rem",
        Layout::Row => "11rem",
        Layout::Carousel => "(max-width: 30rem) 78vw, 18rem",
    }
}

/// Returns the `sizes` value for gallery covers in `layout`: a row of 15rem cards, or on the
/// homepage large cards of at least 18rem (the full width of a narrow screen).
pub fn gallery_sizes(layout: Layout) -> &'static str {
    match layout {
        Layout::Homepage => "(max-width: 40rem) 100vw, 24rem",
        Layout::Grid | Layout::Row | Layout::Carousel | Layout::GalleryMore => "15rem",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srcset_rewrites_fit_width() {
        let url = "https://cdn.example.com/img-get2/I000000000N00530/fit=600";

        let srcset = srcset(url).unwrap();

        assert_eq!(
            srcset,
            "https://cdn.example.com/img-get2/I000000000N00530/fit=300 300w, \
             https://cdn.example.com/img-get2/I000000000N00530/fit=600 600w, \
             https://cdn.example.com/img-get2/I000000000N00530/fit=900 900w, \
             https://cdn.example.com/img-get2/I000000000N00530/fit=1200 1200w"
        );
    }

    #[test]
    fn srcset_skips_other_urls() {
        let cases = [
            "https://cdn.example.com/images/I000000000N00530.jpg",
            "https://cdn.example.com/img-get2/I000000000N00530/fit=",
            "https://cdn.example.com/img-get2/I000000000N00530/fit=600x400",
            "https://cdn.example.com/img-get2/I000000000N00530/fit=600?sig=1",
            "https://cdn.example.com/img-get2//fit=600",
            "https://cdn.example.com/img-get2/a/b/fit=600",
            "https://cdn.example.com/img-get2/I000000000N00530/fit=1234567",
            "data:image/png;base64,AAAA",
            "",
        ];

        for url in cases {
            assert_eq!(srcset(url), None, "{url}");
        }
    }

    #[test]
    fn sizes_differ_per_layout() {
        assert_eq!(asset_sizes(Layout::Row), "11rem");
        assert!(asset_sizes(Layout::Carousel).contains("78vw"));
        assert!(asset_sizes(Layout::Grid).contains("50vw"));
        assert!(gallery_sizes(Layout::Homepage).contains("100vw"));
        assert_eq!(gallery_sizes(Layout::Grid), "15rem");
    }
}
