//! Ingestion of widget events.
//!
//! A batch is validated as a whole before anything is stored: one invalid event rejects the
//! batch with its index, so the sender can fix it and nothing is half-stored or silently
//! dropped. Clicks also update the co-view counts the recommender reads.

use std::collections::BTreeMap;

use loci_shared::api::{EventBatch, EventKind, EventsAccepted, MAX_EVENTS_PER_BATCH};
use loci_shared::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::db::{query_as, Database, Statement};
use crate::error::ApiError;

/// Largest accepted body of `POST /v1/events`.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Parses and validates a batch.
pub fn parse_batch(body: &[u8]) -> Result<EventBatch, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { size: body.len(), limit: MAX_BODY_BYTES });
    }
    let batch: EventBatch = serde_json::from_slice(body).map_err(|e| {
        ApiError::InvalidBody(format!(
            "{e}; send JSON like {{\"events\": [{{\"type\": \"click\", \"request_id\": ..., ...}}]}}"
        ))
    })?;
    if batch.events.is_empty() {
        return Err(ApiError::InvalidBody("`events` is empty; send at least one event".to_owned()));
    }
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(ApiError::InvalidBody(format!(
            "`events` holds {} events; send at most {MAX_EVENTS_PER_BATCH} per batch",
            batch.events.len()
        )));
    }
    for (index, event) in batch.events.iter().enumerate() {
        event.validate().map_err(|reason| ApiError::InvalidEvent { index, reason })?;
    }
    Ok(batch)
}

/// Stores a validated batch and updates co-view counts, in one transaction.
pub async fn store_batch(
    db: &impl Database,
    batch: &EventBatch,
    received_at: Millis,
) -> Result<EventsAccepted, ApiError> {
    let rows: Vec<Value> = batch
        .events
        .iter()
        .map(|e| {
            json!({
                "occurred_at": e.occurred_at, "kind": e.kind.as_str(), "request_id": e.request_id, "asset_id": e.asset_id,
                "gallery_id": e.gallery_id, "position": e.position, "context": e.context.to_string(), "placement": e.placement,
                "page_id": e.page_id, "visitor_id": e.visitor_id, "dwell_ms": e.dwell_ms,
            })
        })
        .collect();

    // NOTE: a click counts towards co-views whatever its `request_id`, so a client can forge
    // clicks and nudge rankings (the rights filter still applies). Signing request ids with a
    // worker secret, and counting only clicks on assets the signed response contained, would
    // close this.
    let mut clicks: BTreeMap<(String, String), (i64, Millis)> = BTreeMap::new();
    for event in batch.events.iter().filter(|e| e.kind == EventKind::Click) {
        if let Some(asset) = &event.asset_id {
            let entry = clicks.entry((event.context.to_string(), asset.to_string())).or_insert((0, event.occurred_at));
            entry.0 += 1;
            entry.1 = entry.1.max(event.occurred_at);
        }
    }
    let click_rows: Vec<Value> =
        clicks.into_iter().map(|((context, asset), (n, at))| json!([context, asset, n, at])).collect();

    let mut statements = vec![Statement::new(
        "INSERT INTO events (received_at, occurred_at, kind, request_id, asset_id, gallery_id, position, context, placement, page_id, visitor_id, dwell_ms) \
         SELECT ?1, value ->> '$.occurred_at', value ->> '$.kind', value ->> '$.request_id', value ->> '$.asset_id', \
         value ->> '$.gallery_id', value ->> '$.position', value ->> '$.context', value ->> '$.placement', value ->> '$.page_id', \
         value ->> '$.visitor_id', value ->> '$.dwell_ms' FROM json_each(?2)",
        vec![received_at.into(), Value::from(rows).to_string().into()],
    )];
    if !click_rows.is_empty() {
        statements.push(Statement::new(
            "INSERT INTO co_views (context, asset_id, clicks, last_at) \
             SELECT value ->> '$[0]', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]' FROM json_each(?1) WHERE true \
             ON CONFLICT (context, asset_id) DO UPDATE SET clicks = clicks + excluded.clicks, last_at = max(last_at, excluded.last_at)",
            vec![Value::from(click_rows).to_string().into()],
        ));
    }
    db.batch(statements).await?;
    Ok(EventsAccepted { accepted: batch.events.len() })
}

/// A stored event, as the admin API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Storage id.
    pub id: i64,
    /// When the edge received it.
    pub received_at: i64,
    /// When it happened (client clock).
    pub occurred_at: i64,
    /// `impression`, `click` or `dwell`.
    pub kind: String,
    /// The response it is attributed to.
    pub request_id: String,
    /// The asset, if any.
    pub asset_id: Option<String>,
    /// The gallery, if any.
    pub gallery_id: Option<String>,
    /// Position in the list.
    pub position: Option<i64>,
    /// The page's context.
    pub context: String,
    /// The placement.
    pub placement: String,
    /// Page-view id.
    pub page_id: Option<String>,
    /// Visitor id.
    pub visitor_id: Option<String>,
    /// Dwell time.
    pub dwell_ms: Option<i64>,
}

/// Events attributed to one response, oldest first (at most 500).
pub async fn events_for_request(db: &impl Database, request_id: &str) -> Result<Vec<StoredEvent>, ApiError> {
    Ok(query_as(
        db,
        Statement::new("SELECT * FROM events WHERE request_id = ?1 ORDER BY id LIMIT 500", vec![request_id.into()]),
    )
    .await?)
}
