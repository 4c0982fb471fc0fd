//! Test controls under `/__standin`: faults, request counts and health. They need no API key
//! and answer only clients on a loopback address (the server middleware checks that).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::faults::FaultSpec;
use crate::query::Params;
use crate::state::AppState;

/// `POST /__standin/faults`: adds a fault rule from a JSON body.
pub async fn add_fault(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec: FaultSpec = serde_json::from_slice(&body).map_err(|error| {
        ApiError::BadRequest(format!(
            "invalid fault: {error}; expected {{\"path_prefix\", \"status\", \"count\", \
             \"retry_after\", \"delay_ms\"}}"
        ))
    })?;
    let rule = state
        .faults
        .add(spec)
        .map_err(|error| ApiError::BadRequest(format!("invalid fault: {error}")))?;
    tracing::info!(
        id = rule.id,
        path_prefix = %rule.path_prefix,
        status = ?rule.status,
        count = rule.remaining,
        delay_ms = ?rule.delay_ms,
        "fault added"
    );
    Ok((StatusCode::CREATED, Json(json!({ "data": rule }))))
}

/// `GET /__standin/faults`: lists the rules with uses left.
pub async fn list_faults(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "data": state.faults.list() }))
}

/// `DELETE /__standin/faults`: removes every rule.
pub async fn clear_faults(State(state): State<AppState>) -> Json<Value> {
    let removed = state.faults.clear();
    tracing::info!(removed, "faults cleared");
    Json(json!({ "meta": { "removed": removed } }))
}

/// `GET /__standin/stats[?prefix=/psapi/v4.0/media]`: request counts.
pub async fn stats(State(state): State<AppState>, params: Params) -> Json<Value> {
    Json(json!({ "data": state.stats.snapshot(params.get("prefix")) }))
}

/// `DELETE /__standin/stats`: sets the counts back to zero.
pub async fn reset_stats(State(state): State<AppState>) -> Json<Value> {
    state.stats.reset();
    Json(json!({ "meta": { "status": "OK" } }))
}

/// `GET /__standin/health`: liveness plus the library's size.
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let library = &state.library;
    Json(json!({
        "status": "ok",
        "org_id": library.org_id,
        "media": library.media.len(),
        "galleries": library.galleries.len(),
        "collections": library.collections.len(),
        "sessions": state.sessions.len(),
    }))
}
