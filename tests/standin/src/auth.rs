//! API keys, login tokens and organization sessions.
//!
//! Every `/psapi/v4.0` call carries the API key in the `X-PS-Api-Key` header (or an `api_key`
//! query parameter). `POST /authenticate` exchanges email and password for a random token,
//! sent back as `X-PS-Auth-Token` or `Authorization: Bearer`. Data endpoints also need the
//! token's session to be inside the organization, through `org_id` on `/authenticate` or
//! `POST /organization/authenticate`. Sessions live in memory until logout or restart.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::ids::IdKind;
use crate::query::{check_id, Params};
use crate::resources;
use crate::state::AppState;

/// Header that carries the API key.
pub const API_KEY_HEADER: &str = "x-ps-api-key";

/// Header that carries a token from `/authenticate`.
pub const AUTH_TOKEN_HEADER: &str = "x-ps-auth-token";

/// Number of random bytes in a token (rendered as twice as many hexadecimal digits).
const TOKEN_BYTES: usize = 24;

/// The single account and organization the stand-in serves.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub api_key: String,
    pub email: String,
    pub password: String,
    pub org_id: String,
}

/// One login.
#[derive(Debug, Clone, Default)]
struct Session {
    /// The organization the session has entered, if any.
    org_id: Option<String>,
}

/// The live sessions, keyed by token.
#[derive(Debug, Default)]
pub struct Sessions {
    by_token: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock cannot leave the map half-updated (every update is a
        // single insert or remove), so a poisoned lock is still safe to use.
        self.by_token.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn create(&self, org_id: Option<String>) -> Result<String, ApiError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|error| ApiError::Internal(format!("cannot create a token: {error}")))?;
        let token: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();

        self.lock().insert(token.clone(), Session { org_id });
        Ok(token)
    }

    fn org_of(&self, token: &str) -> Option<Option<String>> {
        self.lock().get(token).map(|session| session.org_id.clone())
    }

    fn set_org(&self, token: &str, org_id: Option<String>) -> bool {
        match self.lock().get_mut(token) {
            Some(session) => {
                session.org_id = org_id;
                true
            }
            None => false,
        }
    }

    fn remove(&self, token: &str) -> bool {
        self.lock().remove(token).is_some()
    }

    /// Returns the number of live sessions.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Reports whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Checks the API key from the `X-PS-Api-Key` header or the `api_key` query parameter.
pub fn check_api_key(headers: &HeaderMap, params: &Params, expected: &str) -> Result<(), ApiError> {
    let header_value = headers
        .get(API_KEY_HEADER)
        .and_then(|value| value.to_str().ok());
    let Some(key) = header_value.or_else(|| params.get("api_key")) else {
        return Err(ApiError::ApiKeyInvalid(
            "API key missing: send it in the X-PS-Api-Key header".to_owned(),
        ));
    };
    if key != expected {
        return Err(ApiError::ApiKeyInvalid("API key invalid".to_owned()));
    }
    Ok(())
}

/// Returns the token from `X-PS-Auth-Token`, else from `Authorization: Bearer`.
fn token_from_headers(headers: &HeaderMap) -> Option<&str> {
    if let Some(token) = headers
        .get(AUTH_TOKEN_HEADER)
        .and_then(|value| value.to_str().ok())
    {
        return Some(token.trim());
    }

    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A request made with a valid token, whatever its organization.
pub struct UserSession {
    pub token: String,
}

impl FromRequestParts<AppState> for UserSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(token) = token_from_headers(&parts.headers) else {
            return Err(ApiError::NotAuthenticated(
                "authentication required: send the token from POST /authenticate in the \
                 X-PS-Auth-Token header or as Authorization: Bearer"
                    .to_owned(),
            ));
        };
        if state.sessions.org_of(token).is_none() {
            return Err(ApiError::NotAuthenticated(
                "token invalid or logged out: authenticate again".to_owned(),
            ));
        }
        Ok(UserSession {
            token: token.to_owned(),
        })
    }
}

/// A request made with a valid token whose session has entered the organization.
pub struct OrgSession;

impl FromRequestParts<AppState> for OrgSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = UserSession::from_request_parts(parts, state).await?;
        match state.sessions.org_of(&user.token).flatten() {
            Some(_) => Ok(OrgSession),
            None => Err(ApiError::NotAuthenticated(
                "no organization session: POST /organization/authenticate with org_id first, \
                 or pass org_id to /authenticate"
                    .to_owned(),
            )),
        }
    }
}

/// Decodes a form (`application/x-www-form-urlencoded`) or JSON object body into fields.
///
/// JSON strings keep their value, other JSON scalars are written out (`true`, `12`), and a
/// null counts as absent.
fn body_fields(headers: &HeaderMap, body: &Bytes) -> Result<HashMap<String, String>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();

    if !content_type.to_ascii_lowercase().contains("json") {
        return Ok(form_urlencoded::parse(body)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect());
    }

    let object: serde_json::Map<String, Value> = serde_json::from_slice(body).map_err(|error| {
        ApiError::BadRequest(format!(
            "invalid JSON body: {error}; expected a JSON object"
        ))
    })?;
    Ok(object
        .into_iter()
        .filter_map(|(name, value)| match value {
            Value::Null => None,
            Value::String(text) => Some((name, text)),
            other => Some((name, other.to_string())),
        })
        .collect())
}

/// Returns a non-empty body field.
fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    fields
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
}

/// Checks that `org_id` has the organization format and names the served organization.
fn check_org(state: &AppState, org_id: &str) -> Result<(), ApiError> {
    check_id(IdKind::Organization, org_id)?;
    if org_id != state.credentials.org_id {
        return Err(ApiError::NotFound(format!(
            "organization {org_id} not found or the user is not a member of it"
        )));
    }
    Ok(())
}

/// `POST /authenticate`: email and password (plus `mode=token` and an optional `org_id`) for a
/// token. The reply is not enveloped: `{"token", "org", "two_factor"}`.
pub async fn authenticate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let fields = body_fields(&headers, &body)?;

    if let Some(mode) = field(&fields, "mode") {
        if mode != "token" {
            return Err(ApiError::BadRequest(format!(
                "mode: unsupported value {mode:?}; this server issues tokens only (mode=token)"
            )));
        }
    }

    let (Some(email), Some(password)) = (field(&fields, "email"), field(&fields, "password"))
    else {
        return Err(ApiError::BadRequest(
            "email and password are required".to_owned(),
        ));
    };
    let credentials = &state.credentials;
    if !email.eq_ignore_ascii_case(&credentials.email) || password != credentials.password {
        return Err(ApiError::InvalidCredentials(
            "invalid email or password".to_owned(),
        ));
    }

    let org_id = field(&fields, "org_id");
    if let Some(org_id) = org_id {
        check_org(&state, org_id)?;
    }

    let token = state.sessions.create(org_id.map(str::to_owned))?;
    let org = match org_id {
        Some(org_id) => resources::organization(org_id),
        None => Value::Null,
    };
    Ok(Json(json!({ "token": token, "org": org, "two_factor": false })).into_response())
}

/// `GET` or `POST /authenticate/logout`: ends the session.
pub async fn logout(State(state): State<AppState>, user: UserSession) -> Json<Value> {
    state.sessions.remove(&user.token);
    Json(json!({ "meta": { "status": "OK" } }))
}

/// `POST /organization/authenticate`: enters the organization named by `org_id`.
pub async fn organization_authenticate(
    State(state): State<AppState>,
    user: UserSession,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let fields = body_fields(&headers, &body)?;
    let Some(org_id) = field(&fields, "org_id") else {
        return Err(ApiError::BadRequest("org_id is required".to_owned()));
    };
    check_org(&state, org_id)?;

    if !state.sessions.set_org(&user.token, Some(org_id.to_owned())) {
        return Err(ApiError::NotAuthenticated(
            "token invalid or logged out: authenticate again".to_owned(),
        ));
    }
    Ok(Json(json!({ "meta": { "status": "OK" } })))
}

/// `POST /organization/logout`: leaves the organization but keeps the login.
pub async fn organization_logout(State(state): State<AppState>, user: UserSession) -> Json<Value> {
    state.sessions.set_org(&user.token, None);
    Json(json!({ "meta": { "status": "OK" } }))
}
