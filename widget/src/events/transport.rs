//! Delivery of queued events to `POST /v1/events`.
//!
//! All widgets with the same endpoint share one [`Tracker`], so a page with several widgets
//! sends one stream of batches. Events leave:
//!
//! - with `fetch(..., {keepalive: true})` when a full batch is waiting, when
//!   [`FLUSH_DELAY_MS`] passed since the first queued event, and right after a click (the
//!   `keepalive` request outlives the navigation the click starts);
//! - with `navigator.sendBeacon` on `pagehide` and when the page becomes hidden, because a
//!   visitor who closes the tab never comes back to flush.
//!
//! Bodies are JSON sent as `text/plain;charset=UTF-8`, the type a beacon with a string body
//! gets, which also keeps cross-origin requests free of a CORS preflight.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use loci_shared::api::{Event, EventBatch, EventKind};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, RequestMode, Response, VisibilityState};

use super::{EventQueue, BATCH_SIZE};
use crate::{console, wire};

/// sessionStorage key of the click whose dwell time the next page's loader reports.
pub const PENDING_DWELL_KEY: &str = "loci.pendingDwell";

/// Delay between the first queued event and the flush that sends it, in milliseconds.
pub const FLUSH_DELAY_MS: i32 = 5_000;

thread_local! {
    /// One tracker per events URL, created on first use and kept for the page's lifetime.
    static TRACKERS: RefCell<Vec<Rc<Tracker>>> = const { RefCell::new(Vec::new()) };
}

/// The event queue of one endpoint and the means to send it.
pub(crate) struct Tracker {
    events_url: String,
    queue: RefCell<EventQueue>,
    flush_scheduled: Cell<bool>,
    warned: Cell<bool>,
}

/// Returns the tracker for `events_url`, creating it (and, for the first one, the page
/// listeners that flush every tracker) on first use.
pub(crate) fn tracker_for(events_url: &str) -> Rc<Tracker> {
    TRACKERS.with(|trackers| {
        let mut trackers = trackers.borrow_mut();
        if let Some(tracker) = trackers.iter().find(|tracker| tracker.events_url == events_url) {
            return Rc::clone(tracker);
        }

        if trackers.is_empty() {
            install_page_listeners();
        }
        let tracker = Rc::new(Tracker {
            events_url: events_url.to_owned(),
            queue: RefCell::new(EventQueue::default()),
            flush_scheduled: Cell::new(false),
            warned: Cell::new(false),
        });
        trackers.push(Rc::clone(&tracker));
        tracker
    })
}

impl Tracker {
    /// Queues an event, sending a batch at once when one is full and scheduling a flush otherwise.
    pub(crate) fn record(self: &Rc<Self>, event: Event) {
        self.queue.borrow_mut().push(event);

        if self.queue.borrow().len() >= BATCH_SIZE {
            self.flush_with_fetch();
        } else {
            self.schedule_flush();
        }
    }

    /// Queues a click and sends everything queued at once, before the browser navigates away.
    /// The click is also left in sessionStorage, so the loader on the destination page can
    /// report how long the visitor stayed there.
    pub(crate) fn record_click(self: &Rc<Self>, event: Event) {
        self.remember_for_dwell(&event);
        self.queue.borrow_mut().push(event);
        self.flush_with_fetch();
    }

    /// Stores `{"url": events URL, "batch": one dwell event}` under [`PENDING_DWELL_KEY`]; the
    /// loader fills in `dwell_ms` and sends it when the destination page is hidden.
    fn remember_for_dwell(&self, click: &Event) {
        let mut dwell = click.clone();
        dwell.kind = EventKind::Dwell;
        dwell.dwell_ms = Some(0);
        let Ok(batch) = wire::encode_batch(&EventBatch { events: vec![dwell] }) else { return };
        let Some(url) = js_sys::JSON::stringify(&self.events_url.as_str().into()).ok().map(String::from) else {
            return;
        };
        // Storage may be disabled or full: then no dwell time is reported, and the click itself
        // is still sent.
        if let Some(storage) = web_sys::window().and_then(|window| window.session_storage().ok().flatten()) {
            let _ = storage.set_item(PENDING_DWELL_KEY, &format!("{{\"url\":{url},\"batch\":{batch}}}"));
        }
    }

    fn schedule_flush(self: &Rc<Self>) {
        if self.flush_scheduled.replace(true) {
            return;
        }
        let Some(window) = web_sys::window() else { return };

        // The callback keeps only a weak reference, although trackers live as long as the page
        // anyway. A timer that is never cleared always runs, so `once_into_js` frees it.
        let tracker = Rc::downgrade(self);
        let callback = Closure::once_into_js(move || {
            if let Some(tracker) = tracker.upgrade() {
                tracker.flush_scheduled.set(false);
                tracker.flush_with_fetch();
            }
        });
        let scheduled =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), FLUSH_DELAY_MS);
        if scheduled.is_err() {
            self.flush_scheduled.set(false);
        }
    }

    /// Sends every queued event with `fetch`, one request per batch.
    fn flush_with_fetch(self: &Rc<Self>) {
        loop {
            let Some(batch) = self.queue.borrow_mut().take_batch() else { break };
            let Some(body) = self.encode(&batch) else { continue };
            self.post(body);
        }
    }

    /// Sends every queued event with `navigator.sendBeacon`, falling back to `fetch` for a
    /// batch the browser does not accept as a beacon.
    fn flush_with_beacon(self: &Rc<Self>) {
        let Some(navigator) = web_sys::window().map(|window| window.navigator()) else { return };
        loop {
            let Some(batch) = self.queue.borrow_mut().take_batch() else { break };
            let Some(body) = self.encode(&batch) else { continue };
            let accepted = navigator.send_beacon_with_opt_str(&self.events_url, Some(&body)).unwrap_or(false);
            if !accepted {
                self.post(body);
            }
        }
    }

    fn encode(&self, batch: &EventBatch) -> Option<String> {
        match wire::encode_batch(batch) {
            Ok(body) => Some(body),
            Err(error) => {
                self.warn_once(&format!("an event batch could not be encoded: {}", console::describe(&error)));
                None
            }
        }
    }

    /// Starts a `keepalive` POST and reports its failure, once per tracker, without waiting for it.
    fn post(self: &Rc<Self>, body: String) {
        let Some(window) = web_sys::window() else { return };

        let init = RequestInit::new();
        init.set_method("POST");
        init.set_mode(RequestMode::Cors);
        init.set_credentials(RequestCredentials::Omit);
        init.set_body(&JsValue::from_str(&body));
        // web-sys 0.3 has no setter for `keepalive`.
        let _ = js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);

        let request = window.fetch_with_str_and_init(&self.events_url, &init);
        let tracker = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            match JsFuture::from(request).await.map(JsCast::dyn_into::<Response>) {
                Ok(Ok(response)) if response.ok() => {}
                Ok(Ok(response)) => tracker.warn_once(&format!("the edge answered HTTP {}", response.status())),
                Ok(Err(_)) => tracker.warn_once("fetch returned something other than a Response"),
                Err(error) => tracker.warn_once(&console::describe(&error)),
            }
        });
    }

    fn warn_once(&self, reason: &str) {
        if !self.warned.replace(true) {
            console::warn(&format!("loci: events could not be sent to {} ({reason})", self.events_url));
        }
    }
}

/// Flushes every tracker with beacons when the page is hidden or unloaded. Installed once; the
/// listeners stay for the page's lifetime.
fn install_page_listeners() {
    let Some(window) = web_sys::window() else { return };
    let Some(document) = window.document() else { return };

    let on_pagehide = Closure::<dyn Fn()>::new(flush_all_with_beacon);
    let _ = window.add_event_listener_with_callback("pagehide", on_pagehide.as_ref().unchecked_ref());
    on_pagehide.forget();

    let on_visibility_change = Closure::<dyn Fn()>::new(|| {
        let hidden = web_sys::window()
            .and_then(|window| window.document())
            .is_some_and(|document| document.visibility_state() == VisibilityState::Hidden);
        if hidden {
            flush_all_with_beacon();
        }
    });
    let _ =
        document.add_event_listener_with_callback("visibilitychange", on_visibility_change.as_ref().unchecked_ref());
    on_visibility_change.forget();
}

fn flush_all_with_beacon() {
    let trackers = TRACKERS.with(|trackers| trackers.borrow().clone());
    for tracker in trackers {
        tracker.flush_with_beacon();
    }
}
