//! Impressions: an item counts as seen when at least half of it stays visible for one second.
//!
//! One `IntersectionObserver` per widget watches its cards with a threshold of 0.5. Crossing
//! the threshold starts a timer for that card, leaving it cancels the timer, and a timer that
//! fires records one impression and stops watching the card. A timer that fires while the page
//! is hidden waits another period, so a background tab counts nothing.

use std::cell::{Cell, OnceCell};
use std::rc::Rc;

use loci_shared::api::EventKind;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit, VisibilityState};

use crate::events::transport::Tracker;
use crate::events::{EventContext, ItemRef};

/// Share of an item that must be visible, from 0 to 1.
pub const VISIBLE_SHARE: f64 = 0.5;

/// How long the share must stay visible, in milliseconds.
pub const VISIBLE_FOR_MS: i32 = 1_000;

/// One card being watched.
pub(crate) struct WatchedItem {
    /// The card's `<li>`.
    pub element: Element,
    /// The asset or gallery the card shows.
    pub item: ItemRef,
    /// Zero-based position in its list.
    pub position: usize,
}

struct ItemState {
    watched: WatchedItem,
    timer: Cell<Option<i32>>,
    recorded: Cell<bool>,
}

struct Watcher {
    items: Vec<ItemState>,
    events: EventContext,
    tracker: Rc<Tracker>,
    observer: OnceCell<IntersectionObserver>,
    timer_callback: OnceCell<Closure<dyn Fn(JsValue)>>,
}

/// Starts watching `items`, recording impressions through `tracker`.
///
/// The observer and its callbacks live as long as the page, like the widget itself, so the
/// watcher is leaked on purpose. Fails only when the browser has no `IntersectionObserver`.
pub(crate) fn watch(items: Vec<WatchedItem>, events: EventContext, tracker: Rc<Tracker>) -> Result<(), JsValue> {
    if items.is_empty() {
        return Ok(());
    }

    let watcher = Rc::new(Watcher {
        items: items
            .into_iter()
            .map(|watched| ItemState { watched, timer: Cell::new(None), recorded: Cell::new(false) })
            .collect(),
        events,
        tracker,
        observer: OnceCell::new(),
        timer_callback: OnceCell::new(),
    });

    let on_timer = Rc::clone(&watcher);
    let timer_callback = Closure::<dyn Fn(JsValue)>::new(move |index: JsValue| {
        if let Some(index) = index.as_f64() {
            on_timer.timer_fired(index as usize);
        }
    });
    let _ = watcher.timer_callback.set(timer_callback);

    let on_change = Rc::clone(&watcher);
    let observer_callback = Closure::<dyn Fn(js_sys::Array)>::new(move |entries: js_sys::Array| {
        for entry in entries.iter() {
            if let Ok(entry) = entry.dyn_into::<IntersectionObserverEntry>() {
                on_change.visibility_changed(&entry);
            }
        }
    });

    let options = IntersectionObserverInit::new();
    options.set_threshold_f64(VISIBLE_SHARE);
    let observer = IntersectionObserver::new_with_options(observer_callback.as_ref().unchecked_ref(), &options)?;
    observer_callback.forget();

    for state in &watcher.items {
        observer.observe(&state.watched.element);
    }
    let _ = watcher.observer.set(observer);
    Ok(())
}

impl Watcher {
    fn visibility_changed(&self, entry: &IntersectionObserverEntry) {
        let target = entry.target();
        let Some(index) = self.items.iter().position(|state| state.watched.element == target) else {
            return;
        };
        let state = &self.items[index];
        if state.recorded.get() {
            return;
        }

        let visible = entry.is_intersecting() && entry.intersection_ratio() >= VISIBLE_SHARE;
        if visible && state.timer.get().is_none() {
            state.timer.set(self.start_timer(index));
        } else if !visible {
            if let (Some(timer), Some(window)) = (state.timer.take(), web_sys::window()) {
                window.clear_timeout_with_handle(timer);
            }
        }
    }

    fn start_timer(&self, index: usize) -> Option<i32> {
        let window = web_sys::window()?;
        let callback = self.timer_callback.get()?;
        window
            .set_timeout_with_callback_and_timeout_and_arguments_1(
                callback.as_ref().unchecked_ref(),
                VISIBLE_FOR_MS,
                &JsValue::from_f64(index as f64),
            )
            .ok()
    }

    fn timer_fired(&self, index: usize) {
        let Some(state) = self.items.get(index) else { return };
        state.timer.set(None);
        if state.recorded.get() {
            return;
        }

        let hidden = web_sys::window()
            .and_then(|window| window.document())
            .is_some_and(|document| document.visibility_state() == VisibilityState::Hidden);
        if hidden {
            state.timer.set(self.start_timer(index));
            return;
        }

        state.recorded.set(true);
        if let Some(observer) = self.observer.get() {
            observer.unobserve(&state.watched.element);
        }
        let event = self.events.event(
            EventKind::Impression,
            &state.watched.item,
            state.watched.position,
            js_sys::Date::now() as i64,
        );
        self.tracker.record(event);
    }
}
