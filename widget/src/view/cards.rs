//! The cards inside the widget's lists: assets, galleries and their images.

use std::rc::Rc;

use leptos::either::Either;
use leptos::prelude::*;
use loci_shared::api::{RecommendedAsset, RecommendedGallery};

use super::ClickRecorder;
use crate::events::ItemRef;
use crate::images;

/// Image size used for the `width` and `height` attributes when the response gives none.
const FALLBACK_IMAGE_SIZE: (u32, u32) = (400, 300);

/// Renders one recommended asset: image, title and creator, all inside one link. `sizes` is the
/// image's rendered width in the layout, for `srcset`.
#[component]
pub(super) fn AssetCard(
    asset: RecommendedAsset,
    position: usize,
    clicks: Rc<ClickRecorder>,
    sizes: &'static str,
) -> impl IntoView {
    let RecommendedAsset { id, title, creator, alt, image_url, width, height, link, .. } = asset;
    let (width, height) = match (width, height) {
        (Some(width), Some(height)) if width > 0 && height > 0 => (width, height),
        _ => FALLBACK_IMAGE_SIZE,
    };
    let asset_id = id.to_string();
    let item = ItemRef::Asset(id);

    view! {
        <li data-testid="loci-asset" data-asset-id=asset_id class="loci-card">
            <a href=link on:click=move |_| clicks.record(&item, position)>
                <Thumbnail src=image_url alt width height sizes fallback=title.clone()/>
                <span class="loci-title">{title}</span>
                {creator.map(|creator| view! { <span class="loci-creator">{creator}</span> })}
            </a>
        </li>
    }
}

/// Renders one recommended gallery: cover image, name and number of assets. `sizes` is the
/// cover's rendered width in the layout, for `srcset`.
#[component]
pub(super) fn GalleryCard(
    gallery: RecommendedGallery,
    position: usize,
    clicks: Rc<ClickRecorder>,
    sizes: &'static str,
) -> impl IntoView {
    let RecommendedGallery { id, name, cover_image_url, asset_count, link, .. } = gallery;
    let gallery_id = id.to_string();
    let item = ItemRef::Gallery(id);
    let count = match asset_count {
        1 => "1 artwork".to_owned(),
        n => format!("{} artworks", group_thousands(n)),
    };
    let (width, height) = FALLBACK_IMAGE_SIZE;

    view! {
        <li data-testid="loci-gallery" data-gallery-id=gallery_id class="loci-card">
            <a href=link on:click=move |_| clicks.record(&item, position)>
                <Thumbnail
                    src=cover_image_url
                    alt=format!("Cover of the gallery {name}")
                    width
                    height
                    sizes
                    fallback=name.clone()
                />
                <span class="loci-title">{name}</span>
                <span class="loci-count">{count}</span>
            </a>
        </li>
    }
}

/// Writes `n` with commas between groups of three digits, such as `32,559`.
fn group_thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// Renders a lazily loaded image in a fixed aspect-ratio box, replaced by `fallback` as text
/// when the image fails to load. A PhotoShelter image URL also gets a `srcset` of other widths
/// with `sizes`; any other URL is used as a plain `src`.
#[component]
fn Thumbnail(
    src: String,
    alt: String,
    width: u32,
    height: u32,
    sizes: &'static str,
    fallback: String,
) -> impl IntoView {
    let failed = RwSignal::new(false);
    let srcset = images::srcset(&src);
    let sizes = srcset.is_some().then_some(sizes);

    view! {
        <div class="loci-frame">
            {move || {
                if failed.get() {
                    Either::Left(view! {
                        <div data-testid="loci-placeholder" class="loci-placeholder" aria-hidden="true">
                            {fallback.clone()}
                        </div>
                    })
                } else {
                    Either::Right(view! {
                        // `loading` and `sizes` come before `srcset` and `src`: an image
                        // starts loading when its source is set.
                        <img
                            loading="lazy"
                            width=width
                            height=height
                            alt=alt.clone()
                            sizes=sizes
                            srcset=srcset.clone()
                            src=src.clone()
                            on:error=move |_| failed.set(true)
                        />
                    })
                }
            }}
        </div>
    }
}
