//! Rendering: the shadow root, its stylesheet and the Leptos components inside it.
//!
//! The DOM contract that pages and tests select on, inside the host's open shadow root:
//!
//! ```text
//! <section data-testid="loci-recommendations" data-layout="grid|row|carousel|gallery-more|homepage"
//!          aria-label="Related artworks" class="loci">
//!   <ul class="loci-assets loci-grid|loci-row|loci-carousel">
//!     <li data-testid="loci-asset" data-asset-id="I0000…">
//!       <a href="…"><div class="loci-frame"><img loading="lazy" width height alt sizes srcset src></div>
//!         <span class="loci-title">…</span><span class="loci-creator">…</span></a>
//!   <ul class="loci-galleries|loci-featured">
//!     <li data-testid="loci-gallery" data-gallery-id="G0000…"> (cover, name, asset count)
//! ```
//!
//! Per layout:
//!
//! - `grid` and `row`: "Related artworks", then "Related galleries" in a scrolling row;
//! - `carousel`: the section is a region with `aria-roledescription="carousel"`, its heading
//!   sits beside the buttons `[data-testid=loci-previous]` and `[data-testid=loci-next]`, and
//!   the assets scroll in `ul#loci-track` (see `carousel`); galleries follow as in `row`;
//! - `gallery-more`: "More from this gallery" over a grid of the gallery's assets;
//! - `homepage`: "Featured galleries" as large cards in `ul.loci-featured` first, then the
//!   assets in `ul.loci-grid.loci-picks` under "Picked for you" (with a visitor id) or "From
//!   the collection".
//!
//! An image that fails to load is replaced by `<div data-testid="loci-placeholder">` with the
//! title (or gallery name) as text. `srcset` and `sizes` are present only for PhotoShelter
//! image URLs (see `crate::images`).
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

mod cards;
mod carousel;

use std::rc::Rc;

use leptos::prelude::*;
use loci_shared::api::{EventKind, RecommendationResponse};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, ShadowRootInit, ShadowRootMode};

use self::cards::{AssetCard, GalleryCard};
use self::carousel::AssetList;
use crate::config::{Layout, WidgetConfig};
use crate::events::transport::{tracker_for, Tracker};
use crate::events::{EventContext, ItemRef};
use crate::impressions::{self, WatchedItem};
use crate::{console, images};

/// The widget's stylesheet, scoped to its shadow root. Pages theme it with the custom
/// properties it reads (`--loci-accent`, `--loci-font`, `--loci-radius` and others).
const STYLESHEET: &str = include_str!("widget.css");

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
    let personal = config.visitor_id.is_some();
    let (asset_items, gallery_items) = item_refs(&response);
    mount_to(container.clone(), move || view! { <Recommendations response layout personal clicks/> }).forget();

    let mut watched = collect_watched(&container, "[data-testid=loci-asset]", asset_items);
    watched.extend(collect_watched(&container, "[data-testid=loci-gallery]", gallery_items));
    impressions::watch(watched, events, tracker).map_err(dom_error("observing impressions"))
}

/// Records clicks on the cards of one rendered response.
pub(crate) struct ClickRecorder {
    events: EventContext,
    tracker: Rc<Tracker>,
}

impl ClickRecorder {
    fn record(&self, item: &ItemRef, position: usize) {
        let event = self.events.event(EventKind::Click, item, position, js_sys::Date::now() as i64);
        self.tracker.record_click(event);
    }
}

/// Items of one list, each with its zero-based position in that list.
type PositionedItems = Vec<(ItemRef, usize)>;

/// Lists the assets and the galleries of a response in their order, each with its position.
fn item_refs(response: &RecommendationResponse) -> (PositionedItems, PositionedItems) {
    let assets = response
        .assets
        .iter()
        .enumerate()
        .map(|(position, asset)| (ItemRef::Asset(asset.id.clone()), position))
        .collect();
    let galleries = response
        .galleries
        .iter()
        .enumerate()
        .map(|(position, gallery)| (ItemRef::Gallery(gallery.id.clone()), position))
        .collect();
    (assets, galleries)
}

/// Pairs the rendered `<li>` cards that match `selector`, in document order, with the items
/// they show.
fn collect_watched(container: &HtmlElement, selector: &str, items: PositionedItems) -> Vec<WatchedItem> {
    let Ok(cards) = container.query_selector_all(selector) else {
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

/// Renders the section for `layout`, leaving out an empty list. `personal` is true when the
/// request carried a visitor id, which changes the homepage's asset heading.
#[component]
fn Recommendations(
    response: RecommendationResponse,
    layout: Layout,
    personal: bool,
    clicks: Rc<ClickRecorder>,
) -> impl IntoView {
    let RecommendationResponse { assets, galleries, .. } = response;
    let has_assets = !assets.is_empty();
    let has_galleries = !galleries.is_empty();

    let asset_sizes = images::asset_sizes(layout);
    let asset_cards = {
        let clicks = Rc::clone(&clicks);
        move || {
            assets
                .into_iter()
                .enumerate()
                .map(|(position, asset)| {
                    view! { <AssetCard asset position clicks=Rc::clone(&clicks) sizes=asset_sizes/> }
                })
                .collect_view()
        }
    };
    let gallery_sizes = images::gallery_sizes(layout);
    let gallery_cards = move || {
        galleries
            .into_iter()
            .enumerate()
            .map(|(position, gallery)| {
                view! { <GalleryCard gallery position clicks=Rc::clone(&clicks) sizes=gallery_sizes/> }
            })
            .collect_view()
    };

    let asset_heading = match layout {
        Layout::GalleryMore => "More from this gallery",
        Layout::Homepage if personal => "Picked for you",
        Layout::Homepage => "From the collection",
        Layout::Grid | Layout::Row | Layout::Carousel => "Related artworks",
    };
    let gallery_heading = if layout == Layout::Homepage { "Featured galleries" } else { "Related galleries" };
    let label =
        if (layout == Layout::Homepage && has_galleries) || !has_assets { gallery_heading } else { asset_heading };
    let role_description = (layout == Layout::Carousel && has_assets).then_some("carousel");

    let asset_class = match layout {
        Layout::Row => "loci-assets loci-row",
        Layout::Carousel => "loci-assets loci-carousel",
        Layout::Homepage => "loci-assets loci-grid loci-picks",
        Layout::Grid | Layout::GalleryMore => "loci-assets loci-grid",
    };
    let carousel = layout == Layout::Carousel;
    let asset_list =
        has_assets.then(|| view! { <AssetList heading=asset_heading class=asset_class carousel cards=asset_cards()/> });

    let gallery_class = if layout == Layout::Homepage { "loci-featured" } else { "loci-galleries" };
    let gallery_list = has_galleries.then(|| gallery_list(gallery_heading, gallery_class, gallery_cards()));

    // The homepage leads with its galleries; every other layout leads with its assets.
    let (galleries_before, galleries_after) =
        if layout == Layout::Homepage { (gallery_list, None) } else { (None, gallery_list) };

    view! {
        <section
            data-testid="loci-recommendations"
            data-layout=layout.as_str()
            aria-label=label
            aria-roledescription=role_description
            class="loci"
        >
            {galleries_before}
            {asset_list}
            {galleries_after}
        </section>
    }
}

/// Renders the gallery heading and list. One function serves both places the list can take,
/// so that both have the same type and the widget carries one copy of the code.
fn gallery_list(heading: &'static str, class: &'static str, cards: impl IntoView) -> impl IntoView {
    view! {
        <h2 class="loci-heading">{heading}</h2>
        <ul class=class role="list">{cards}</ul>
    }
}
