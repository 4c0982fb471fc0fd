//! API errors and their one translation into HTTP problems.

use loci_shared::api::{ContextRef, Problem, QueryError};

use crate::db::DbError;
use crate::http::ApiResponse;

/// Everything a handler can fail with. Each variant maps to one status and one stable code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter is missing, invalid or unknown.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The body is not valid JSON of the expected shape.
    #[error("the request body is not valid: {0}")]
    InvalidBody(String),
    /// One event in a batch is invalid; the whole batch is rejected so nothing is half-stored.
    #[error("event {index} is invalid: {reason}; fix or drop it and resend the batch")]
    InvalidEvent {
        /// Zero-based index of the event in the batch.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The body is larger than the endpoint accepts.
    #[error("the request body is {size} bytes; send at most {limit} bytes, splitting batches if needed")]
    PayloadTooLarge {
        /// The body size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The context of a recommendation request is not in the catalog.
    #[error("{} `{}` is not in the catalog or not public; check the id in the embed code", context_kind(.0), context_id(.0))]
    ContextNotFound(ContextRef),
    /// An asset is unknown, or its rights do not allow the channel.
    #[error("asset `{0}` is not available on channel `{1}`")]
    AssetUnavailable(String, String),
    /// A gallery is unknown or not public.
    #[error("gallery `{0}` is not available")]
    GalleryUnavailable(String),
    /// No path matches.
    #[error("no endpoint at `{0}`; see the API reference in the README")]
    RouteNotFound(String),
    /// The path exists but not for this method.
    #[error("`{path}` does not accept {method}; use {allowed}")]
    MethodNotAllowed {
        /// The path.
        path: String,
        /// The method used.
        method: &'static str,
        /// The methods accepted.
        allowed: &'static str,
    },
    /// An admin or analytics endpoint was called without a valid key.
    #[error("this endpoint needs an API key: send `Authorization: Bearer <key>` with an admin or read key")]
    Unauthorized,
    /// A read-only key was sent to an endpoint that changes state.
    #[error("this action needs an admin key; the key sent is read-only")]
    Forbidden,
    /// No API key is configured on the worker.
    #[error("no API key is configured; set the ADMIN_KEY secret (and READ_KEYS for read-only keys) on the worker")]
    AdminNotConfigured,
    /// A segment or experiment id that the configuration does not define.
    #[error("no {kind} `{id}` is configured; use one of: {accepted}")]
    UnknownName {
        /// `segment` or `experiment`.
        kind: &'static str,
        /// The id asked for (shortened).
        id: String,
        /// The configured ids, comma-separated.
        accepted: String,
    },
    /// An export would hold more rows than one response may.
    #[error(
        "the export holds more than {limit} rows; narrow the date range, or ask for pages with `limit` and `offset` (engagement) or `after` (events, segment members)"
    )]
    ExportTooLarge {
        /// The largest number of rows one response holds.
        limit: usize,
    },
    /// A worker variable is missing or invalid; the message names it.
    #[error("the worker's configuration is invalid: {0}; fix it and deploy again")]
    Configuration(#[from] crate::config::ConfigError),
    /// The catalog has never been synced.
    #[error("the catalog is empty: run a sync with POST /v1/admin/sync first")]
    CatalogEmpty,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] DbError),
    /// A computation failed for a reason other than storage; the message is logged, not sent.
    #[error("{0}")]
    Internal(String),
}

fn context_kind(context: &ContextRef) -> &'static str {
    match context {
        ContextRef::Asset(_) => "asset",
        ContextRef::Gallery(_) => "gallery",
    }
}

fn context_id(context: &ContextRef) -> String {
    match context {
        ContextRef::Asset(id) => id.to_string(),
        ContextRef::Gallery(id) => id.to_string(),
    }
}

impl ApiError {
    /// The HTTP status and stable code of the error.
    pub fn status_and_code(&self) -> (u16, &'static str) {
        match self {
            ApiError::Query(QueryError::Missing(_)) => (400, "missing_parameter"),
            ApiError::Query(QueryError::Invalid { .. }) => (400, "invalid_parameter"),
            ApiError::Query(QueryError::Unknown(_)) => (400, "unknown_parameter"),
            ApiError::InvalidBody(_) => (400, "invalid_body"),
            ApiError::InvalidEvent { .. } => (400, "invalid_event"),
            ApiError::PayloadTooLarge { .. } => (413, "payload_too_large"),
            ApiError::ContextNotFound(_) => (404, "context_not_found"),
            ApiError::AssetUnavailable(..) => (404, "asset_not_available"),
            ApiError::GalleryUnavailable(_) => (404, "gallery_not_available"),
            ApiError::RouteNotFound(_) => (404, "route_not_found"),
            ApiError::MethodNotAllowed { .. } => (405, "method_not_allowed"),
            ApiError::Unauthorized => (401, "unauthorized"),
            ApiError::Forbidden => (403, "forbidden"),
            ApiError::UnknownName { kind: "segment", .. } => (404, "segment_not_found"),
            ApiError::UnknownName { .. } => (404, "experiment_not_found"),
            ApiError::ExportTooLarge { .. } => (413, "export_too_large"),
            ApiError::AdminNotConfigured => (503, "admin_not_configured"),
            ApiError::CatalogEmpty => (503, "catalog_not_synced"),
            ApiError::Configuration(_) => (500, "configuration_invalid"),
            ApiError::Storage(_) => (500, "storage_error"),
            ApiError::Internal(_) => (500, "internal_error"),
        }
    }

    /// The JSON problem response. Server errors are logged here, once, and their internals are
    /// not sent to the client.
    pub fn into_response(self) -> ApiResponse {
        let (status, code) = self.status_and_code();
        let parameter = match &self {
            ApiError::Query(error) => Some(error.parameter().to_owned()),
            _ => None,
        };
        if let ApiError::Configuration(error) = &self {
            crate::log::error(&format!("configuration: {error}"));
        }
        let operator_facing =
            matches!(self, ApiError::AdminNotConfigured | ApiError::CatalogEmpty | ApiError::Configuration(_));
        let detail = if status >= 500 && !operator_facing {
            crate::log::error(&format!("request failed: {self}"));
            "the server failed to answer; try again, and report it if it persists".to_owned()
        } else {
            self.to_string()
        };
        let problem = Problem { status, code: code.to_owned(), detail, parameter };
        let mut response = ApiResponse::json(status, &problem);
        response.set_header("content-type", "application/problem+json; charset=utf-8".to_owned());
        if status == 401 {
            response.set_header("www-authenticate", "Bearer".to_owned());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;

    #[test]
    fn configuration_problem_names_the_variable() {
        let response = ApiError::Configuration(ConfigError::Missing("PHOTOSHELTER_API_KEY")).into_response();
        let body = response.json_body();

        assert_eq!(response.status, 500);
        assert_eq!(body["code"], "configuration_invalid");
        assert!(body["detail"].as_str().unwrap_or("").contains("PHOTOSHELTER_API_KEY"), "{body}");
    }

    #[test]
    fn storage_problem_hides_internals() {
        let response = ApiError::Storage(DbError::Query("no such table: secret_table".to_owned())).into_response();
        let body = response.json_body();

        assert_eq!(response.status, 500);
        assert!(!body["detail"].as_str().unwrap_or("").contains("secret_table"), "{body}");
    }
}
