//! Interaction events: building them and queueing them for `POST /v1/events`.
//!
//! The queue here is plain Rust so that its batching and its bound are tested natively. The
//! browser side (the timer, `fetch` with `keepalive`, `navigator.sendBeacon` when the page is
//! hidden) lives in the `transport` submodule, and impressions come from the `impressions` module.

use std::collections::VecDeque;

use loci_shared::api::{ContextRef, Event, EventBatch, EventKind, RecommendationResponse, MAX_EVENTS_PER_BATCH};
use loci_shared::ids::{GalleryId, MediaId};

#[cfg(target_arch = "wasm32")]
pub(crate) mod transport;

/// Events queued at most; beyond this the queue drops impressions first (see [`EventQueue::push`]).
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

/// Outcome of [`EventQueue::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Queued; fewer than [`BATCH_SIZE`] events are waiting.
    Queued,
    /// Queued, and a full batch is waiting: send it now.
    BatchReady,
    /// Queued after dropping the oldest queued impression to make room.
    DroppedOldestImpression,
    /// Not queued: the queue is full of clicks and dwell events, which are kept over new ones.
    Rejected,
}

/// A bounded first-in, first-out queue of events waiting to be sent.
///
/// When full, a new event displaces the oldest impression, because a click tells more about
/// interest than a view. When no impression is left to drop, the new event is rejected.
#[derive(Debug, Clone)]
pub struct EventQueue {
    pending: VecDeque<Event>,
    capacity: usize,
    dropped: usize,
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue::with_capacity(QUEUE_CAPACITY)
    }
}

impl EventQueue {
    /// Creates an empty queue for at most `capacity` events (at least one).
    pub fn with_capacity(capacity: usize) -> EventQueue {
        EventQueue { pending: VecDeque::new(), capacity: capacity.max(1), dropped: 0 }
    }

    /// Appends an event, making room by the rule described on [`EventQueue`].
    pub fn push(&mut self, event: Event) -> PushOutcome {
        let mut outcome = PushOutcome::Queued;

        if self.pending.len() >= self.capacity {
            let oldest_impression = self.pending.iter().position(|queued| queued.kind == EventKind::Impression);
            match oldest_impression {
                Some(index) => {
                    self.pending.remove(index);
                    outcome = PushOutcome::DroppedOldestImpression;
                }
                None => {
                    self.dropped += 1;
                    return PushOutcome::Rejected;
                }
            }
            self.dropped += 1;
        }

        self.pending.push_back(event);
        if outcome == PushOutcome::Queued && self.pending.len() >= BATCH_SIZE {
            outcome = PushOutcome::BatchReady;
        }
        outcome
    }

    /// Removes and returns the oldest events, at most [`BATCH_SIZE`], or `None` when empty.
    pub fn take_batch(&mut self) -> Option<EventBatch> {
        if self.pending.is_empty() {
            return None;
        }
        let size = self.pending.len().min(BATCH_SIZE);
        Some(EventBatch { events: self.pending.drain(..size).collect() })
    }

    /// Number of events waiting.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Returns whether no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Number of events lost to the bound since the queue was created.
    pub fn dropped(&self) -> usize {
        self.dropped
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

        let first = queue.take_batch().unwrap();
        let second = queue.take_batch().unwrap();

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
        let positions: Vec<_> = queue.take_batch().unwrap().events.iter().map(|e| e.position).collect();
        assert_eq!(positions, [Some(0), Some(2), Some(3)]);
    }

    #[test]
    fn full_queue_of_clicks_rejects_new() {
        let mut queue = EventQueue::with_capacity(2);
        queue.push(event(EventKind::Click, 0));
        queue.push(event(EventKind::Click, 1));

        let outcome = queue.push(event(EventKind::Impression, 2));

        assert_eq!(outcome, PushOutcome::Rejected);
        assert_eq!(queue.len(), 2);
        assert_eq!(queue.dropped(), 1);
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
