//! Rendering: the shadow root, its stylesheet and the Leptos components inside it.
//!
//! The DOM contract that pages and tests select on, inside the host's open shadow root:
//!
//! ```text
//! <section data-testid="loci-recommendations" aria-label="Related artworks" class="loci">
//!   <ul class="loci-assets loci-grid|loci-row">
//!     <li data-testid="loci-asset" data-asset-id="I0000…">
//!       <a href="…"><div class="loci-frame"><img src alt loading="lazy" width height></div>
//!         <span class="loci-title">…</span><span class="loci-creator">…</span></a>
//!   <ul class="loci-galleries">
//!     <li data-testid="loci-gallery" data-gallery-id="G0000…"> (cover, name, asset count)
//! ```
//!
//! An image that fails to load is replaced by `<div data-testid="loci-placeholder">` with the
//! title (or gallery name) as text.
//!
//! Pages theme the widget by setting custom properties on `.loci-widget`, which inherit into
//! the shadow root:
//!
//! | property | sets | default |
//! | --- | --- | --- |
//! | `--loci-accent` | rule above each heading, hover and focus colour | `#a4361b` |
//! | `--loci-font` | font family | the page's |
//! | `--loci-radius` | corner radius of images | `4px` |
//! | `--loci-text` | text colour | the page's |
//! | `--loci-muted` | secondary text | the text colour at 72 % |
//! | `--loci-surface` | background of image boxes and placeholders | the text colour at 8 % |
//! | `--loci-columns` | minimum card width in the grid and the row | `9rem` |
//!
//! `widget.css` ships verbatim inside the wasm, so it carries no comments: this table is its
//! documentation.

use std::rc::Rc;

use leptos::either::Either;
use leptos::prelude::*;
use loci_shared::api::{EventKind, RecommendationResponse, RecommendedAsset, RecommendedGallery};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, ShadowRootInit, ShadowRootMode};

use crate::config::{Layout, WidgetConfig};
use crate::console;
use crate::events::transport::{tracker_for, Tracker};
use crate::events::{EventContext, ItemRef};
use crate::impressions::{self, WatchedItem};

/// The widget's stylesheet, scoped to its shadow root. Pages theme it with the custom
/// properties it reads (`--loci-accent`, `--loci-font`, `--loci-radius` and others).
const STYLESHEET: &str = include_str!("widget.css");

/// Image size used for the `width` and `height` attributes when the response gives none.
const FALLBACK_IMAGE_SIZE: (u32, u32) = (400, 300);

/// Error for a response that could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// `attachShadow` failed: the host already has a shadow root or its tag cannot have one.
    #[error("the host element cannot get a shadow root ({0}); use an empty <div>")]
    ShadowRoot(String),
    /// Creating or inserting a DOM node failed.
    #[error("building the widget's DOM failed at {step}: {reason}")]
    Dom {
        /// The step that failed.
        step: &'static str,
        /// The browser's description of the failure.
        reason: String,
    },
}

/// Renders `response` into a new open shadow root of `host` and starts recording events.
///
/// A response with no assets and no galleries renders nothing and attaches no shadow root.
pub fn render(host: &Element, config: &WidgetConfig, response: RecommendationResponse) -> Result<(), RenderError> {
    if response.assets.is_empty() && response.galleries.is_empty() {
        return Ok(());
    }

    let dom_error = |step| move |error| RenderError::Dom { step, reason: console::describe(&error) };
    let shadow = host
        .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
        .map_err(|error| RenderError::ShadowRoot(console::describe(&error)))?;
    let document = host
        .owner_document()
        .ok_or(RenderError::Dom { step: "finding the document", reason: "the host is not in a document".to_owned() })?;

    let style = document.create_element("style").map_err(dom_error("creating <style>"))?;
    style.set_text_content(Some(STYLESHEET));
    shadow.append_child(&style).map_err(dom_error("inserting <style>"))?;

    let container: HtmlElement =
        document.create_element("div").map_err(dom_error("creating the container"))?.unchecked_into();
    shadow.append_child(&container).map_err(dom_error("inserting the container"))?;

    let events = EventContext::for_response(&response, config.page_id.clone(), config.visitor_id.clone());
    let tracker = tracker_for(&config.events_url());
    let clicks = Rc::new(ClickRecorder { events: events.clone(), tracker: Rc::clone(&tracker) });
    let layout = config.layout;
    let items = item_refs(&response);
    mount_to(container.clone(), move || view! { <Recommendations response layout clicks/> }).forget();

    let watched = collect_watched(&container, items);
    impressions::watch(watched, events, tracker).map_err(dom_error("observing impressions"))
}

/// Records clicks on the cards of one rendered response.
struct ClickRecorder {
    events: EventContext,
    tracker: Rc<Tracker>,
}

impl ClickRecorder {
    fn record(&self, item: &ItemRef, position: usize) {
        let event = self.events.event(EventKind::Click, item, position, js_sys::Date::now() as i64);
        self.tracker.record_click(event);
    }
}

/// Lists the items of a response in render order (assets, then galleries), each with its position.
fn item_refs(response: &RecommendationResponse) -> Vec<(ItemRef, usize)> {
    let assets =
        response.assets.iter().enumerate().map(|(position, asset)| (ItemRef::Asset(asset.id.clone()), position));
    let galleries = response
        .galleries
        .iter()
        .enumerate()
        .map(|(position, gallery)| (ItemRef::Gallery(gallery.id.clone()), position));
    assets.chain(galleries).collect()
}

/// Pairs the rendered `<li>` cards, in document order, with the items they show.
fn collect_watched(container: &HtmlElement, items: Vec<(ItemRef, usize)>) -> Vec<WatchedItem> {
    let Ok(cards) = container.query_selector_all("[data-testid=loci-asset], [data-testid=loci-gallery]") else {
        return Vec::new();
    };
    items
        .into_iter()
        .enumerate()
        .filter_map(|(index, (item, position))| {
            let element = cards.item(index as u32)?.dyn_into::<Element>().ok()?;
            Some(WatchedItem { element, item, position })
        })
        .collect()
}

/// Renders the section with the asset list and the gallery row, leaving out an empty one.
#[component]
fn Recommendations(response: RecommendationResponse, layout: Layout, clicks: Rc<ClickRecorder>) -> impl IntoView {
    let RecommendationResponse { assets, galleries, .. } = response;

    let asset_list = (!assets.is_empty()).then(|| {
        let cards = assets
            .into_iter()
            .enumerate()
            .map(|(position, asset)| view! { <AssetCard asset position clicks=Rc::clone(&clicks)/> })
            .collect_view();
        view! {
            <h2 class="loci-heading">"Related artworks"</h2>
            <ul class=format!("loci-assets loci-{}", layout.as_str()) role="list">{cards}</ul>
        }
    });

    let gallery_list = (!galleries.is_empty()).then(|| {
        let cards = galleries
            .into_iter()
            .enumerate()
            .map(|(position, gallery)| view! { <GalleryCard gallery position clicks=Rc::clone(&clicks)/> })
            .collect_view();
        view! {
            <h2 class="loci-heading">"Related galleries"</h2>
            <ul class="loci-galleries" role="list">{cards}</ul>
        }
    });

    view! {
        <section data-testid="loci-recommendations" aria-label="Related artworks" class="loci">
            {asset_list}
            {gallery_list}
        </section>
    }
}

/// Renders one recommended asset: image, title and creator, all inside one link.
#[component]
fn AssetCard(asset: RecommendedAsset, position: usize, clicks: Rc<ClickRecorder>) -> impl IntoView {
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
                <Thumbnail src=image_url alt width height fallback=title.clone()/>
                <span class="loci-title">{title}</span>
                {creator.map(|creator| view! { <span class="loci-creator">{creator}</span> })}
            </a>
        </li>
    }
}

/// Renders one recommended gallery: cover image, name and number of assets.
#[component]
fn GalleryCard(gallery: RecommendedGallery, position: usize, clicks: Rc<ClickRecorder>) -> impl IntoView {
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
                <Thumbnail src=cover_image_url alt=format!("Cover of the gallery {name}") width height fallback=name.clone()/>
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
/// when the image fails to load.
#[component]
fn Thumbnail(src: String, alt: String, width: u32, height: u32, fallback: String) -> impl IntoView {
    let failed = RwSignal::new(false);

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
                        <img
                            src=src.clone()
                            alt=alt.clone()
                            loading="lazy"
                            width=width
                            height=height
                            on:error=move |_| failed.set(true)
                        />
                    })
                }
            }}
        </div>
    }
}
