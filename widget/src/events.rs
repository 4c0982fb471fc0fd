//! Interaction events: building them and queueing them for `POST /v1/events`.
//!
//! The queue here is plain Rust so that its batching and its bound are tested natively. The
//! browser side (the timer, `fetch` with `keepalive`, `navigator.sendBeacon` when the page is
//! hidden, retries with backoff) lives in the `transport` submodule, and impressions come from
//! the `impressions` module.

use std::collections::VecDeque;

use loci_shared::api::{ContextRef, Event, EventBatch, EventKind, RecommendationResponse, MAX_EVENTS_PER_BATCH};
use loci_shared::ids::{GalleryId, MediaId};

#[cfg(target_arch = "wasm32")]
pub(crate) mod transport;

/// Events queued at most; beyond this the queue drops impressions first (see [`EventQueue`]).
pub const QUEUE_CAPACITY: usize = 200;

/// Events sent in one request. A batch of 25 is about 8 KB of JSON, well under the 64 KB that
/// browsers allow for `keepalive` and beacon bodies in flight.
pub const BATCH_SIZE: usize = 25;

const _: () = assert!(BATCH_SIZE <= MAX_EVENTS_PER_BATCH && BATCH_SIZE <= QUEUE_CAPACITY);

/// One rendered item: a recommended asset or a recommended gallery.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemRef {
    /// An asset card.
    Asset(MediaId),
    /// A gallery card.
    Gallery(GalleryId),
}

/// The fields shared by every event about one rendered response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContext {
    /// The response's `request_id`, for attribution.
    pub request_id: String,
    /// The context of the page.
    pub context: ContextRef,
    /// The placement that showed the items.
    pub placement: String,
    /// The page-view id, when the loader provided one.
    pub page_id: Option<String>,
    /// The visitor id, present only with the visitor's consent.
    pub visitor_id: Option<String>,
}

impl EventContext {
    /// Takes the shared fields from a response, the page's id and the visitor's id.
    pub fn for_response(
        response: &RecommendationResponse,
        page_id: Option<String>,
        visitor_id: Option<String>,
    ) -> EventContext {
        EventContext {
            request_id: response.request_id.clone(),
            context: response.context.clone(),
            placement: response.placement.clone(),
            page_id,
            visitor_id,
        }
    }

    /// Builds an event about `item` at zero-based `position`, stamped `occurred_at`
    /// (milliseconds since the Unix epoch).
    pub fn event(&self, kind: EventKind, item: &ItemRef, position: usize, occurred_at: i64) -> Event {
        let (asset_id, gallery_id) = match item {
            ItemRef::Asset(id) => (Some(id.clone()), None),
            ItemRef::Gallery(id) => (None, Some(id.clone())),
        };
        Event {
            kind,
            request_id: self.request_id.clone(),
            asset_id,
            gallery_id,
            position: u32::try_from(position).ok(),
            context: self.context.clone(),
            placement: self.placement.clone(),
            page_id: self.page_id.clone(),
            visitor_id: self.visitor_id.clone(),
            dwell_ms: None,
            occurred_at,
        }
    }
}

/// Attempts to send one event before it is given up, the first send included.
pub const MAX_ATTEMPTS: u32 = 4;

/// Delay before the first retry, in milliseconds; each further consecutive failure doubles it.
pub const RETRY_BASE_DELAY_MS: u32 = 1_000;

/// Maximum delay between retries, in milliseconds.
pub const RETRY_MAX_DELAY_MS: u32 = 30_000;

/// Returns the delay before the next send after `consecutive_failures` failed sends in a row
/// (at least 1): 1 s, 2 s, 4 s and so on, capped at [`RETRY_MAX_DELAY_MS`].
pub fn retry_delay_ms(consecutive_failures: u32) -> u32 {
    let doublings = consecutive_failures.saturating_sub(1).min(16);
    RETRY_BASE_DELAY_MS.saturating_mul(1 << doublings).min(RETRY_MAX_DELAY_MS)
}

/// Returns whether a send that ended with HTTP `status` may succeed when repeated: timeouts
/// (408), rate limiting (429) and server errors (5xx). Other 4xx responses reject the batch
/// itself, so repeating it cannot help.
pub fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || status >= 500
}

/// Outcome of [`EventQueue::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Queued; fewer than [`BATCH_SIZE`] events are waiting.
    Queued,
    /// Queued, and a full batch is waiting: send it now.
    BatchReady,
    /// Queued after dropping the oldest queued impression to make room.
    DroppedOldestImpression,
    /// Queued after dropping the oldest queued event, a click or dwell event, because no
    /// impression was left to drop.
    DroppedOldest,
}

/// Events lost since the last [`EventQueue::take_losses`], by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Losses {
    /// Events dropped because the queue was full.
    pub overflowed: usize,
    /// Events given up after [`MAX_ATTEMPTS`] failed sends.
    pub abandoned: usize,
}

impl Losses {
    /// Total events lost.
    pub fn total(&self) -> usize {
        self.overflowed + self.abandoned
    }
}

/// A batch taken from the queue, with the failed attempts of each of its events so that a
/// failed send can put them back with [`EventQueue::requeue`].
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingBatch {
    /// The events, oldest first.
    pub batch: EventBatch,
    attempts: Vec<u32>,
}

#[derive(Debug, Clone)]
struct Pending {
    event: Event,
    /// Failed sends so far.
    attempts: u32,
}

/// A bounded first-in, first-out queue of events waiting to be sent.
///
/// When full, a new event displaces the oldest impression, because a click tells more about
/// interest than a view, and the oldest event when no impression is left. Every dropped event
/// is counted, and [`EventQueue::take_losses`] reports the counts so that the caller can warn.
#[derive(Debug, Clone)]
pub struct EventQueue {
    pending: VecDeque<Pending>,
    capacity: usize,
    dropped: usize,
    unreported: Losses,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue::with_capacity(QUEUE_CAPACITY)
    }
}

impl EventQueue {
    /// Creates an empty queue for at most `capacity` events (at least one).
    pub fn with_capacity(capacity: usize) -> EventQueue {
        EventQueue { pending: VecDeque::new(), capacity: capacity.max(1), dropped: 0, unreported: Losses::default() }
    }

    /// Appends an event, making room by the rule described on [`EventQueue`].
    pub fn push(&mut self, event: Event) -> PushOutcome {
        let outcome = match self.make_room() {
            Some(outcome) => outcome,
            None if self.pending.len() + 1 >= BATCH_SIZE => PushOutcome::BatchReady,
            None => PushOutcome::Queued,
        };
        self.pending.push_back(Pending { event, attempts: 0 });
        outcome
    }

    /// Drops one event when the queue is full; returns which kind of drop happened, if any.
    fn make_room(&mut self) -> Option<PushOutcome> {
        if self.pending.len() < self.capacity {
            return None;
        }

        self.dropped += 1;
        self.unreported.overflowed += 1;
        let oldest_impression = self.pending.iter().position(|queued| queued.event.kind == EventKind::Impression);
        match oldest_impression {
            Some(index) => {
                self.pending.remove(index);
                Some(PushOutcome::DroppedOldestImpression)
            }
            None => {
                self.pending.pop_front();
                Some(PushOutcome::DroppedOldest)
            }
        }
    }

    /// Removes and returns the oldest events, at most [`BATCH_SIZE`], or `None` when empty.
    pub fn take_batch(&mut self) -> Option<OutgoingBatch> {
        if self.pending.is_empty() {
            return None;
        }
        let size = self.pending.len().min(BATCH_SIZE);
        let (events, attempts) = self.pending.drain(..size).map(|pending| (pending.event, pending.attempts)).unzip();
        Some(OutgoingBatch { batch: EventBatch { events }, attempts })
    }

    /// Puts the events of a batch whose send failed back at the front of the queue, in their
    /// order, counting the failure. Events that reach [`MAX_ATTEMPTS`] are given up instead,
    /// and a full queue drops events by the rule described on [`EventQueue`]. Returns how many
    /// events were put back.
    pub fn requeue(&mut self, outgoing: OutgoingBatch) -> usize {
        let mut requeued = 0;
        let returning = outgoing.batch.events.into_iter().zip(outgoing.attempts).rev();
        for (event, attempts) in returning {
            let attempts = attempts.saturating_add(1);
            if attempts >= MAX_ATTEMPTS {
                self.dropped += 1;
                self.unreported.abandoned += 1;
                continue;
            }
            // The returning event is older than every queued one, so in a full queue it is the
            // one to drop unless it is a click or dwell event and an impression can go instead.
            let full = self.pending.len() >= self.capacity;
            let queued_impression = self.pending.iter().any(|queued| queued.event.kind == EventKind::Impression);
            if full && (event.kind == EventKind::Impression || !queued_impression) {
                self.dropped += 1;
                self.unreported.overflowed += 1;
                continue;
            }
            self.make_room();
            self.pending.push_front(Pending { event, attempts });
            requeued += 1;
        }
        requeued
    }

    /// Number of events waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Returns whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Number of events lost to the bound or to failed sends since the queue was created.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Returns the events lost since the previous call and resets those counts.
    pub fn take_losses(&mut self) -> Losses {
        std::mem::take(&mut self.unreported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> EventContext {
        EventContext {
            request_id: "r1".to_owned(),
            context: "asset:I000000000N00530".parse().unwrap(),
            placement: "article-related".to_owned(),
            page_id: Some("p1".to_owned()),
            visitor_id: None,
        }
    }

    fn asset(n: usize) -> ItemRef {
        ItemRef::Asset(format!("I0000{n:0>11}").parse().unwrap())
    }

    fn event(kind: EventKind, n: usize) -> Event {
        context().event(kind, &asset(n), n, 1_700_000_000_000)
    }

    #[test]
    fn event_carries_item_and_position() {
        let gallery = ItemRef::Gallery("G0000art00001811".parse().unwrap());

        let click = context().event(EventKind::Click, &gallery, 3, 42);

        assert_eq!(click.kind, EventKind::Click);
        assert_eq!(click.gallery_id.as_ref().map(|id| id.as_str()), Some("G0000art00001811"));
        assert_eq!(click.asset_id, None);
        assert_eq!(click.position, Some(3));
        assert_eq!(click.page_id.as_deref(), Some("p1"));
        assert_eq!(click.occurred_at, 42);
        assert!(click.validate().is_ok());
    }

    #[test]
    fn queue_reports_full_batch() {
        let mut queue = EventQueue::default();

        for n in 0..BATCH_SIZE - 1 {
            assert_eq!(queue.push(event(EventKind::Impression, n)), PushOutcome::Queued);
        }
        assert_eq!(queue.push(event(EventKind::Impression, BATCH_SIZE)), PushOutcome::BatchReady);
    }

    #[test]
    fn take_batch_splits_in_order() {
        let mut queue = EventQueue::default();
        for n in 0..BATCH_SIZE + 3 {
            queue.push(event(EventKind::Impression, n));
        }

        let first = queue.take_batch().unwrap().batch;
        let second = queue.take_batch().unwrap().batch;

        assert_eq!(first.events.len(), BATCH_SIZE);
        assert_eq!(first.events[0].position, Some(0));
        assert_eq!(second.events.len(), 3);
        assert_eq!(second.events[0].position, Some(BATCH_SIZE as u32));
        assert!(queue.take_batch().is_none());
        assert!(queue.is_empty());
    }

    #[test]
    fn full_queue_drops_oldest_impression() {
        let mut queue = EventQueue::with_capacity(3);
        queue.push(event(EventKind::Click, 0));
        queue.push(event(EventKind::Impression, 1));
        queue.push(event(EventKind::Impression, 2));

        let outcome = queue.push(event(EventKind::Click, 3));

        assert_eq!(outcome, PushOutcome::DroppedOldestImpression);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.dropped(), 1);
        let positions: Vec<_> = queue.take_batch().unwrap().batch.events.iter().map(|e| e.position).collect();
        assert_eq!(positions, [Some(0), Some(2), Some(3)]);
    }

    #[test]
    fn full_queue_of_clicks_drops_oldest() {
        let mut queue = EventQueue::with_capacity(2);
        queue.push(event(EventKind::Click, 0));
        queue.push(event(EventKind::Click, 1));

        let outcome = queue.push(event(EventKind::Impression, 2));

        assert_eq!(outcome, PushOutcome::DroppedOldest);
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.dropped(), 1);
        let positions: Vec<_> = queue.take_batch().unwrap().batch.events.iter().map(|e| e.position).collect();
        assert_eq!(positions, [Some(1), Some(2)]);
    }

    #[test]
    fn losses_are_reported_once() {
        let mut queue = EventQueue::with_capacity(2);
        for n in 0..5 {
            queue.push(event(EventKind::Impression, n));
        }

        assert_eq!(queue.take_losses(), Losses { overflowed: 3, abandoned: 0 });
        assert_eq!(queue.take_losses(), Losses::default());
        assert_eq!(queue.dropped(), 3);
    }

    #[test]
    fn requeue_puts_batch_back_in_order() {
        let mut queue = EventQueue::default();
        for n in 0..3 {
            queue.push(event(EventKind::Impression, n));
        }
        let outgoing = queue.take_batch().unwrap();
        queue.push(event(EventKind::Click, 3));

        let requeued = queue.requeue(outgoing);

        assert_eq!(requeued, 3);
        let positions: Vec<_> = queue.take_batch().unwrap().batch.events.iter().map(|e| e.position).collect();
        assert_eq!(positions, [Some(0), Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn requeue_gives_up_after_max_attempts() {
        let mut queue = EventQueue::default();
        queue.push(event(EventKind::Click, 0));

        for attempt in 1..MAX_ATTEMPTS {
            let outgoing = queue.take_batch().unwrap();
            assert_eq!(queue.requeue(outgoing), 1, "failed attempt {attempt} is retried");
        }
        let last = queue.take_batch().unwrap();
        let requeued = queue.requeue(last);

        assert_eq!(requeued, 0);
        assert!(queue.is_empty());
        assert_eq!(queue.take_losses(), Losses { overflowed: 0, abandoned: 1 });
        assert_eq!(queue.dropped(), 1);
    }

    #[test]
    fn requeue_respects_capacity() {
        let mut queue = EventQueue::with_capacity(3);
        for n in 0..3 {
            queue.push(event(EventKind::Impression, n));
        }
        let outgoing = queue.take_batch().unwrap();
        for n in 3..6 {
            queue.push(event(EventKind::Click, n));
        }

        queue.requeue(outgoing);

        assert_eq!(queue.len(), 3);
        assert_eq!(queue.take_losses().overflowed, 3);
        let kinds: Vec<_> = queue.take_batch().unwrap().batch.events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::Click; 3], "the returning impressions are dropped before clicks");
    }

    #[test]
    fn retry_delay_doubles_up_to_cap() {
        assert_eq!(retry_delay_ms(0), RETRY_BASE_DELAY_MS);
        assert_eq!(retry_delay_ms(1), 1_000);
        assert_eq!(retry_delay_ms(2), 2_000);
        assert_eq!(retry_delay_ms(3), 4_000);
        assert_eq!(retry_delay_ms(6), RETRY_MAX_DELAY_MS);
        assert_eq!(retry_delay_ms(u32::MAX), RETRY_MAX_DELAY_MS);
    }

    #[test]
    fn retryable_statuses() {
        for status in [408, 429, 500, 502, 503] {
            assert!(is_retryable_status(status), "{status}");
        }
        for status in [400, 401, 404, 413, 422] {
            assert!(!is_retryable_status(status), "{status}");
        }
    }

    #[test]
    fn queue_never_exceeds_capacity() {
        let mut queue = EventQueue::default();

        for n in 0..QUEUE_CAPACITY * 3 {
            queue.push(event(EventKind::Impression, n));
            assert!(queue.len() <= QUEUE_CAPACITY);
        }

        assert_eq!(queue.len(), QUEUE_CAPACITY);
        assert_eq!(queue.dropped(), QUEUE_CAPACITY * 2);
    }
}
