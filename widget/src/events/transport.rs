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
//!
//! A `fetch` that fails on the network or gets 408, 429 or 5xx puts its events back at the
//! front of the queue. The next send then waits [`retry_delay_ms`]: 1 s, doubled per failure
//! in a row, at most 30 s. An event is given up after [`MAX_ATTEMPTS`] sends. Any other 4xx
//! rejects the batch, which is dropped and logged once per status and problem code. Every lost
//! event is counted in a console warning. Beacons report no outcome, so a batch sent as a
//! beacon is never retried.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use loci_shared::api::{Event, EventBatch, EventKind};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, RequestMode, Response, VisibilityState};

use super::{is_retryable_status, retry_delay_ms, EventQueue, OutgoingBatch, BATCH_SIZE, MAX_ATTEMPTS};
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
    /// When the earliest scheduled flush runs (milliseconds since the epoch), if one is scheduled.
    flush_due: Cell<Option<f64>>,
    /// Failed sends in a row; a delivered batch resets it.
    consecutive_failures: Cell<u32>,
    /// No `fetch` starts before this instant (milliseconds since the epoch) while retries back off.
    retry_not_before: Cell<f64>,
    warned: Cell<bool>,
    /// The `status code` pairs of rejected batches already logged.
    logged_rejections: RefCell<Vec<String>>,
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
            flush_due: Cell::new(None),
            consecutive_failures: Cell::new(0),
            retry_not_before: Cell::new(0.0),
            warned: Cell::new(false),
            logged_rejections: RefCell::new(Vec::new()),
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
        self.schedule_flush_in(FLUSH_DELAY_MS);
    }

    /// Schedules a flush in `delay_ms`, unless one is already due by then.
    fn schedule_flush_in(self: &Rc<Self>, delay_ms: i32) {
        let due = js_sys::Date::now() + f64::from(delay_ms);
        if self.flush_due.get().is_some_and(|scheduled| scheduled <= due) {
            return;
        }
        let Some(window) = web_sys::window() else { return };

        // The callback keeps only a weak reference, although trackers live as long as the page
        // anyway. A timer that is never cleared always runs, so `once_into_js` frees it. A timer
        // superseded by an earlier one still runs and finds the queue empty or backing off.
        let tracker = Rc::downgrade(self);
        let callback = Closure::once_into_js(move || {
            if let Some(tracker) = tracker.upgrade() {
                if tracker.flush_due.get() == Some(due) {
                    tracker.flush_due.set(None);
                }
                tracker.flush_with_fetch();
            }
        });
        let scheduled =
            window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), delay_ms);
        if scheduled.is_ok() {
            self.flush_due.set(Some(due));
        }
    }

    /// Sends every queued event with `fetch`, one request per batch. While retries back off,
    /// it only schedules the flush for the end of the delay.
    fn flush_with_fetch(self: &Rc<Self>) {
        self.report_losses();
        let wait_ms = self.retry_not_before.get() - js_sys::Date::now();
        if wait_ms > 0.0 {
            if !self.queue.borrow().is_empty() {
                self.schedule_flush_in(wait_ms.ceil() as i32);
            }
            return;
        }

        loop {
            let Some(outgoing) = self.queue.borrow_mut().take_batch() else { break };
            let Some(body) = self.encode(&outgoing.batch) else { continue };
            self.post(body, outgoing);
        }
    }

    /// Sends every queued event with `navigator.sendBeacon`, ignoring any retry delay because the
    /// page may be gone soon, and falls back to `fetch` for a batch the browser does not accept
    /// as a beacon.
    fn flush_with_beacon(self: &Rc<Self>) {
        self.report_losses();
        let Some(navigator) = web_sys::window().map(|window| window.navigator()) else { return };
        loop {
            let Some(outgoing) = self.queue.borrow_mut().take_batch() else { break };
            let Some(body) = self.encode(&outgoing.batch) else { continue };
            let accepted = navigator.send_beacon_with_opt_str(&self.events_url, Some(&body)).unwrap_or(false);
            if !accepted {
                self.post(body, outgoing);
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

    /// Starts a `keepalive` POST of `body` and handles its outcome when it arrives: a retry
    /// for a network failure or a retryable status, a logged drop for any other error.
    fn post(self: &Rc<Self>, body: String, outgoing: OutgoingBatch) {
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
                Ok(Ok(response)) if response.ok() => tracker.consecutive_failures.set(0),
                Ok(Ok(response)) if is_retryable_status(response.status()) => {
                    tracker.retry(outgoing, &format!("the edge answered HTTP {}", response.status()));
                }
                Ok(Ok(response)) => tracker.log_rejection(&response, outgoing.batch.events.len()).await,
                Ok(Err(_)) => tracker.retry(outgoing, "fetch returned something other than a Response"),
                Err(error) => tracker.retry(outgoing, &console::describe(&error)),
            }
        });
    }

    /// Puts a failed batch back in the queue and schedules the next flush after the backoff delay.
    fn retry(self: &Rc<Self>, outgoing: OutgoingBatch, reason: &str) {
        let failures = self.consecutive_failures.get().saturating_add(1);
        self.consecutive_failures.set(failures);
        let delay_ms = retry_delay_ms(failures);
        self.retry_not_before.set(js_sys::Date::now() + f64::from(delay_ms));

        let requeued = self.queue.borrow_mut().requeue(outgoing);
        self.warn_once(&format!(
            "{reason}; failed sends are retried up to {MAX_ATTEMPTS} times, next in {delay_ms} ms"
        ));
        if requeued > 0 {
            self.schedule_flush_in(delay_ms as i32);
        }
        self.report_losses();
    }

    /// Logs a batch the edge rejected with a 4xx other than 408 and 429, once per status and
    /// problem code. The batch is dropped: sending it again would be rejected again.
    async fn log_rejection(&self, response: &Response, events: usize) {
        self.consecutive_failures.set(0);
        let status = response.status();
        let problem = match response.json() {
            Ok(promise) => JsFuture::from(promise).await.ok(),
            Err(_) => None,
        };
        let (code, detail) = problem.map(|problem| wire::decode_problem(&problem)).unwrap_or_default();

        let key = format!("{status} {}", code.as_deref().unwrap_or(""));
        if self.logged_rejections.borrow().contains(&key) {
            return;
        }
        self.logged_rejections.borrow_mut().push(key);
        console::warn(&format!(
            "loci: {} rejected {events} events with HTTP {status} ({}: {}); they are dropped, and later \
             rejections with this status and code are not logged",
            self.events_url,
            code.as_deref().unwrap_or("no problem code"),
            detail.unwrap_or_else(|| response.status_text()),
        ));
    }

    /// Warns about events lost to the queue bound or to failed sends since the last warning.
    fn report_losses(&self) {
        let losses = self.queue.borrow_mut().take_losses();
        if losses.total() == 0 {
            return;
        }
        console::warn(&format!(
            "loci: dropped {} events for {} ({} because the queue was full, {} after {MAX_ATTEMPTS} failed sends; {} in total)",
            losses.total(),
            self.events_url,
            losses.overflowed,
            losses.abandoned,
            self.queue.borrow().dropped(),
        ));
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
