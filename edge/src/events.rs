//! Ingestion of widget events.
//!
//! A batch is validated as a whole before anything is stored: one invalid event rejects the
//! batch with its index, so the sender can fix it and nothing is half-stored or silently
//! dropped. Clicks also update the co-view counts the recommender reads, but only verified
//! ones: the click's asset must be in the list that the response named by its `request_id`
//! served (`served_requests`), for the same context. Other events are stored with
//! `verified = 0`, so a client cannot forge co-views for assets it was never shown.

use std::collections::{BTreeMap, HashMap, HashSet};

use loci_shared::api::{Event, EventBatch, EventKind, EventsAccepted, MAX_EVENTS_PER_BATCH};
use loci_shared::time::Millis;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use crate::db::{query_as, Database, DbError, Statement};
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

/// The assets one response served, for its context and placement.
struct ServedList {
    context: String,
    placement: String,
    assets: HashSet<String>,
}

/// Loads the served lists of the requests a batch names; unknown request ids are absent.
async fn served_lists(db: &impl Database, batch: &EventBatch) -> Result<HashMap<String, ServedList>, ApiError> {
    #[derive(Deserialize)]
    struct Row {
        request_id: String,
        context: String,
        placement: String,
        asset_ids: String,
    }

    let request_ids: HashSet<&str> = batch.events.iter().map(|e| e.request_id.as_str()).collect();
    if request_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Row> = query_as(
        db,
        Statement::new(
            "SELECT request_id, context, placement, asset_ids FROM served_requests \
             WHERE request_id IN (SELECT value FROM json_each(?1))",
            vec![Value::from(request_ids.into_iter().collect::<Vec<_>>()).to_string().into()],
        ),
    )
    .await?;
    let mut lists = HashMap::new();
    for row in rows {
        let assets: Vec<String> = serde_json::from_str(&row.asset_ids)
            .map_err(|e| DbError::Decode(format!("served list of {}: {e}", row.request_id)))?;
        lists.insert(
            row.request_id,
            ServedList { context: row.context, placement: row.placement, assets: assets.into_iter().collect() },
        );
    }
    Ok(lists)
}

/// Returns whether an event belongs to a response the worker served: its request id, context
/// and placement match a stored response, and its asset was in that response's list.
///
/// NOTE: served lists contain assets only, so a gallery-card event is checked against the
/// request, context and placement but not the gallery itself. Storing the served gallery ids
/// as well would close that.
fn verify(event: &Event, served: &HashMap<String, ServedList>) -> bool {
    let Some(list) = served.get(&event.request_id) else { return false };
    let same_response = list.context == event.context.to_string() && list.placement == event.placement;
    same_response && event.asset_id.as_ref().is_none_or(|asset| list.assets.contains(asset.as_str()))
}

/// Stores a validated batch and updates co-view counts from its verified clicks, in one
/// transaction.
pub async fn store_batch(
    db: &impl Database,
    batch: &EventBatch,
    received_at: Millis,
) -> Result<EventsAccepted, ApiError> {
    let served = served_lists(db, batch).await?;
    let verified: Vec<bool> = batch.events.iter().map(|e| verify(e, &served)).collect();
    let rows: Vec<Value> = batch
        .events
        .iter()
        .zip(&verified)
        .map(|(e, verified)| {
            json!({
                "occurred_at": e.occurred_at, "kind": e.kind.as_str(), "request_id": e.request_id, "asset_id": e.asset_id,
                "gallery_id": e.gallery_id, "position": e.position, "context": e.context.to_string(), "placement": e.placement,
                "page_id": e.page_id, "visitor_id": e.visitor_id, "dwell_ms": e.dwell_ms, "verified": i64::from(*verified),
            })
        })
        .collect();

    // A co-view is one verified click per request and asset: repeats in this batch are dropped
    // here, and repeats of clicks stored earlier by the statement below.
    let mut clicks: BTreeMap<(String, String), (String, Millis)> = BTreeMap::new();
    let mut unverified_clicks = 0;
    for (event, verified) in batch.events.iter().zip(&verified) {
        if event.kind != EventKind::Click {
            continue;
        }
        if !verified {
            unverified_clicks += 1;
            continue;
        }
        let Some(asset) = &event.asset_id else { continue };
        clicks
            .entry((event.request_id.clone(), asset.to_string()))
            .or_insert_with(|| (event.context.to_string(), event.occurred_at));
    }
    if unverified_clicks > 0 {
        let example = batch.events.first().map_or("", |e| e.request_id.as_str());
        crate::log::warn(&format!(
            "events: {unverified_clicks} clicks do not match a served response (first request id in the batch: {example}); stored as unverified"
        ));
    }
    let click_rows: Vec<Value> = clicks
        .into_iter()
        .map(|((request_id, asset), (context, at))| json!([context, asset, request_id, at]))
        .collect();

    // The co-view update runs before the insert, so it counts only clicks stored by earlier batches.
    let mut statements = Vec::new();
    if !click_rows.is_empty() {
        statements.push(Statement::new(
            "INSERT INTO co_views (context, asset_id, clicks, last_at) \
             SELECT value ->> '$[0]', value ->> '$[1]', count(*), max(value ->> '$[3]') FROM json_each(?1) \
             WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.request_id = value ->> '$[2]' \
                               AND e.asset_id = value ->> '$[1]' AND e.kind = 'click' AND e.verified = 1) \
             GROUP BY 1, 2 \
             ON CONFLICT (context, asset_id) DO UPDATE SET clicks = clicks + excluded.clicks, last_at = max(last_at, excluded.last_at)",
            vec![Value::from(click_rows).to_string().into()],
        ));
    }
    statements.push(Statement::new(
        "INSERT INTO events (received_at, occurred_at, kind, request_id, asset_id, gallery_id, position, context, placement, page_id, visitor_id, dwell_ms, verified) \
         SELECT ?1, value ->> '$.occurred_at', value ->> '$.kind', value ->> '$.request_id', value ->> '$.asset_id', \
         value ->> '$.gallery_id', value ->> '$.position', value ->> '$.context', value ->> '$.placement', value ->> '$.page_id', \
         value ->> '$.visitor_id', value ->> '$.dwell_ms', value ->> '$.verified' FROM json_each(?2)",
        vec![received_at.into(), Value::from(rows).to_string().into()],
    ));
    db.batch(statements).await?;
    Ok(EventsAccepted { accepted: batch.events.len(), unverified_clicks })
}

/// Returns an SQL condition that keeps, among the events `narrowing` selects, those that
/// rankings and analytics count: verified (or stored before verification existed), and only
/// the first of each kind per request and item. A replayed click or impression therefore counts
/// once, however often a client resends it. `alias` names the `events` row the condition
/// tests; `narrowing` is written on the bare column names of `events` and may use the
/// statement's parameters.
pub fn counted(alias: &str, narrowing: &str) -> String {
    format!(
        "{alias}.id IN (SELECT min(id) FROM events WHERE ({narrowing}) AND verified IS NOT 0 \
         GROUP BY kind, request_id, asset_id, gallery_id)"
    )
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
    /// Whether the event matches a served response (see `verify`); `None` for events stored
    /// before verification existed.
    #[serde(default, deserialize_with = "flag")]
    pub verified: Option<bool>,
}

/// Reads SQLite's 0 or 1 (or NULL) as a boolean.
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    Ok(Option::<i64>::deserialize(deserializer)?.map(|value| value != 0))
}

/// Events attributed to one response, oldest first (at most 500).
pub async fn events_for_request(db: &impl Database, request_id: &str) -> Result<Vec<StoredEvent>, ApiError> {
    Ok(query_as(
        db,
        Statement::new("SELECT * FROM events WHERE request_id = ?1 ORDER BY id LIMIT 500", vec![request_id.into()]),
    )
    .await?)
}
