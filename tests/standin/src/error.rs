//! API errors and their PhotoShelter-style JSON bodies.
//!
//! PhotoShelter returns errors as `{"errors":[{"id","status","title","detail"}]}` with `status`
//! as a string. The ids `ApiKeyInvalidException`, `AcsPermissionException`,
//! `ResourceNotFoundException`, `TooManyRequestsException` and `OAuthServerException` are
//! PhotoShelter's own. OAuth errors also carry the RFC 6749 error code in `code`. The
//! others (`BadRequestException`, `ForbiddenException`, `InvalidCredentialsException`, `MethodNotAllowedException`,
//! `InternalServerErrorException`, `ServiceUnavailableException`, `InjectedFaultException`)
//! are this stand-in's names for cases whose real ids are not published.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error the API returns to the client.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The API key is missing or wrong (403).
    #[error("{0}")]
    ApiKeyInvalid(String),
    /// No valid token or no organization session (401, with `WWW-Authenticate: Bearer`).
    #[error("{0}")]
    NotAuthenticated(String),
    /// An OAuth failure: a bad, expired or unknown bearer token (401, with
    /// `WWW-Authenticate: Bearer`), or a rejected `POST /oauth/token` (400 or 401).
    #[error("{code}: {detail}")]
    OAuth {
        status: StatusCode,
        /// The RFC 6749 error code, such as `invalid_grant` or `invalid_token`.
        code: &'static str,
        detail: String,
    },
    /// Email or password is wrong (401).
    #[error("{0}")]
    InvalidCredentials(String),
    /// A parameter or body is invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not use this path at all (403), such as a test control from a
    /// non-loopback address.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The method is not defined on this path (405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A fault injected through the test controls.
    #[error("injected fault with status {status}")]
    Injected { status: StatusCode, retry_after: Option<u64> },
    /// An unexpected server-side failure (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// Returns the HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::ApiKeyInvalid(_) | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotAuthenticated(_) | ApiError::InvalidCredentials(_) => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Injected { status, .. } | ApiError::OAuth { status, .. } => *status,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_id(&self) -> &'static str {
        match self {
            ApiError::ApiKeyInvalid(_) => "ApiKeyInvalidException",
            ApiError::NotAuthenticated(_) => "AcsPermissionException",
            ApiError::OAuth { .. } => "OAuthServerException",
            ApiError::InvalidCredentials(_) => "InvalidCredentialsException",
            ApiError::BadRequest(_) => "BadRequestException",
            ApiError::Forbidden(_) => "ForbiddenException",
            ApiError::NotFound(_) => "ResourceNotFoundException",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowedException",
            ApiError::Injected { status, .. } => match status.as_u16() {
                429 => "TooManyRequestsException",
                500 => "InternalServerErrorException",
                503 => "ServiceUnavailableException",
                _ => "InjectedFaultException",
            },
            ApiError::Internal(_) => "InternalServerErrorException",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::Injected { status, .. } => {
                format!("Fault injected by the stand-in's test controls (status {status}).")
            }
            ApiError::OAuth { detail, .. } => detail.clone(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(message) = &self {
            tracing::error!(%message, "request failed with an internal error");
        }

        let mut error = json!({
            "id": self.error_id(),
            "status": status.as_u16().to_string(),
            "title": status.canonical_reason().unwrap_or("Error"),
            "detail": self.detail(),
        });
        if let (ApiError::OAuth { code, .. }, Some(object)) = (&self, error.as_object_mut()) {
            object.insert("code".to_owned(), json!(code));
        }
        let mut response = (status, Json(json!({ "errors": [error] }))).into_response();

        let headers = response.headers_mut();
        let is_unauthorized = status == StatusCode::UNAUTHORIZED;
        if matches!(self, ApiError::NotAuthenticated(_)) || (is_unauthorized && matches!(self, ApiError::OAuth { .. }))
        {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::Injected { retry_after: Some(seconds), .. } = self {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
