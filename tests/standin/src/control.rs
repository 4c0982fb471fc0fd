//! Test controls under `/__standin`: faults, request counts, library mutations, token expiry and
//! health. They need no API key and serve only clients on a loopback address (the server
//! middleware checks that).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::faults::FaultSpec;
use crate::library::MutationRequest;
use crate::query::Params;
use crate::state::AppState;

/// `POST /__standin/faults`: adds a fault rule from a JSON body.
pub async fn add_fault(State(state): State<AppState>, body: Bytes) -> Result<(StatusCode, Json<Value>), ApiError> {
    let spec: FaultSpec = serde_json::from_slice(&body).map_err(|error| {
        ApiError::BadRequest(format!(
            "invalid fault: {error}; expected {{\"path_prefix\", \"status\", \"count\", \
             \"retry_after\", \"delay_ms\", \"after\"}}"
        ))
    })?;
    let rule = state.faults.add(spec).map_err(|error| ApiError::BadRequest(format!("invalid fault: {error}")))?;
    tracing::info!(
        id = rule.id,
        path_prefix = %rule.path_prefix,
        status = ?rule.status,
        count = rule.remaining,
        delay_ms = ?rule.delay_ms,
        after = rule.after,
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

/// `POST /__standin/mutate`: applies the changes a JSON [`MutationRequest`] lists and returns
/// the summary. A wrong id or value changes nothing.
pub async fn mutate(State(state): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let request: MutationRequest = if body.iter().all(u8::is_ascii_whitespace) {
        MutationRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| {
            ApiError::BadRequest(format!(
                "invalid mutation: {error}; expected {{\"modify\", \"add\", \"delete\", \"rights\", \
                 \"unpublish_galleries\", \"clock\"}}"
            ))
        })?
    };

    let summary = state.library.write().mutate(&request).map_err(|error| {
        tracing::warn!(%error, "mutation rejected; the library is unchanged");
        if error.is_not_found() {
            ApiError::NotFound(format!("invalid mutation: {error}"))
        } else {
            ApiError::BadRequest(format!("invalid mutation: {error}"))
        }
    })?;

    tracing::info!(
        clock = %summary.clock,
        modified = summary.counts.modified,
        added = summary.counts.added,
        deleted = summary.counts.deleted,
        rights = summary.counts.rights,
        unpublished_galleries = summary.counts.unpublished_galleries,
        "library mutated"
    );
    Ok(Json(json!({ "data": summary })))
}

/// `POST /__standin/expire-tokens`: ends every login session and revokes every OAuth access
/// token. Refresh tokens stay valid.
pub async fn expire_tokens(State(state): State<AppState>) -> Json<Value> {
    let sessions = state.sessions.clear();
    let access_tokens = state.oauth.expire_all();
    tracing::info!(sessions, access_tokens, "tokens expired by the test controls");
    Json(json!({ "meta": { "status": "OK", "sessions": sessions, "access_tokens": access_tokens } }))
}

/// `GET /__standin/health`: liveness plus the library's size.
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let library = state.library.read();
    Json(json!({
        "status": "ok",
        "org_id": library.org_id,
        "media": library.media.len(),
        "galleries": library.galleries.len(),
        "collections": library.collections.len(),
        "sessions": state.sessions.len(),
        "access_tokens": state.oauth.live_access_tokens(),
    }))
}
