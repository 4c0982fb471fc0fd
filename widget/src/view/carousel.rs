//! The carousel layout: a horizontally scrolling list that snaps to cards, with previous and
//! next buttons.
//!
//! Touch and trackpad swipes scroll the list natively. With focus on a card, the arrow keys
//! move focus to the previous or next card, and Home and End to the first or last. The browser
//! scrolls the focused card into view. The buttons scroll by the visible width and are marked
//! `aria-disabled` at the ends, so they keep focus instead of dropping it to the page. Smooth
//! scrolling comes from CSS and is off under `prefers-reduced-motion: reduce`.

use leptos::html::Ul;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// Id of the asset list, which the carousel's buttons name in `aria-controls`. It is unique
/// because each widget has its own shadow root and one asset list.
const TRACK_ID: &str = "loci-track";

/// Slack in pixels when deciding whether the list is scrolled to an end, because scroll
/// positions can be fractional.
const END_SLACK_PX: i32 = 2;

/// Renders the heading and the list of asset `cards` (`<li>` elements) with the CSS `class`.
/// With `carousel`, it also renders the previous and next buttons and handles the keys.
///
/// Every layout shares this one component, so the widget carries one copy of its code.
#[component]
pub(super) fn AssetList<Cards: IntoView + 'static>(
    heading: &'static str,
    class: &'static str,
    carousel: bool,
    cards: Cards,
) -> impl IntoView {
    let track = NodeRef::<Ul>::new();
    let at_start = RwSignal::new(true);
    let at_end = RwSignal::new(false);

    let update_ends = move || {
        let Some(list) = track.get_untracked() else { return };
        let left = list.scroll_left();
        at_start.set(left <= END_SLACK_PX);
        at_end.set(left + list.client_width() >= list.scroll_width() - END_SLACK_PX);
    };
    if carousel {
        Effect::new(move |_| {
            if track.get().is_some() {
                update_ends();
            }
        });
        // The listener lives as long as the page, like the widget.
        let _ = window_event_listener(leptos::ev::resize, move |_| update_ends());
    }

    let scroll_page = move |direction: i32| {
        if let Some(list) = track.get_untracked() {
            list.scroll_by_with_x_and_y(f64::from(direction * list.client_width()), 0.0);
        }
    };
    let button = move |test_id: &'static str, label: &'static str, symbol: &'static str, direction: i32| {
        let disabled = if direction < 0 { at_start } else { at_end };
        view! {
            <button
                type="button"
                class="loci-carousel-button"
                data-testid=test_id
                aria-label=label
                aria-controls=TRACK_ID
                aria-disabled=move || if disabled.get() { "true" } else { "false" }
                on:click=move |_| scroll_page(direction)
            >
                <span aria-hidden="true">{symbol}</span>
            </button>
        }
    };
    let buttons = carousel.then(|| {
        view! {
            <div class="loci-carousel-buttons">
                {button("loci-previous", "Previous artworks", "‹", -1)}
                {button("loci-next", "Next artworks", "›", 1)}
            </div>
        }
    });

    view! {
        <div class="loci-list-header">
            <h2 class="loci-heading">{heading}</h2>
            {buttons}
        </div>
        <ul
            id=TRACK_ID
            node_ref=track
            class=class
            role="list"
            on:scroll=move |_| update_ends()
            on:keydown=move |event| {
                if carousel {
                    move_focus(&track, &event);
                }
            }
        >
            {cards}
        </ul>
    }
}

/// Moves focus between the cards' links for the arrow keys, Home and End, and leaves every
/// other key to the browser.
fn move_focus(track: &NodeRef<Ul>, event: &leptos::ev::KeyboardEvent) {
    let Some(list) = track.get_untracked() else { return };
    let Ok(links) = list.query_selector_all(":scope > li > a") else { return };
    let count = links.length();
    if count == 0 {
        return;
    }

    let focused = event.target().and_then(|target| target.dyn_into::<Element>().ok());
    let current = (0..count).find(|&index| {
        let link = links.item(index).and_then(|node| node.dyn_into::<Element>().ok());
        link.is_some() && link == focused
    });
    let Some(current) = current else { return };

    let target = match event.key().as_str() {
        "ArrowRight" => (current + 1).min(count - 1),
        "ArrowLeft" => current.saturating_sub(1),
        "Home" => 0,
        "End" => count - 1,
        _ => return,
    };
    event.prevent_default();
    if let Some(link) = links.item(target).and_then(|node| node.dyn_into::<HtmlElement>().ok()) {
        let _ = link.focus();
    }
}
