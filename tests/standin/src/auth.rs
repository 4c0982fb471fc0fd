//! API keys, login tokens and organization sessions.
//!
//! Every `/psapi/v4.0` call carries the API key in the `X-PS-Api-Key` header (or an `api_key`
//! query parameter). `POST /authenticate` exchanges email and password for a random token,
//! sent back as `X-PS-Auth-Token` or `Authorization: Bearer`. Data endpoints also need the
//! token's session to be inside the organization, through `org_id` on `/authenticate` or
//! `POST /organization/authenticate`. Sessions live in memory until logout, restart or
//! `POST /__standin/expire-tokens`.
//!
//! OAuth access tokens (see `oauth`) are accepted in the same headers and start inside the
//! organization.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::ids::IdKind;
use crate::oauth::AccessCheck;
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
        let token = random_token(TOKEN_BYTES)?;
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

    /// Ends every session and returns how many there were.
    pub fn clear(&self) -> usize {
        let mut sessions = self.lock();
        let ended = sessions.len();
        sessions.clear();
        ended
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
    let header_value = headers.get(API_KEY_HEADER).and_then(|value| value.to_str().ok());
    let Some(key) = header_value.or_else(|| params.get("api_key")) else {
        return Err(ApiError::ApiKeyInvalid("API key missing: send it in the X-PS-Api-Key header".to_owned()));
    };
    if key != expected {
        return Err(ApiError::ApiKeyInvalid("API key invalid".to_owned()));
    }
    Ok(())
}

/// Creates a random token of `bytes` bytes, written as twice as many hexadecimal digits.
pub(crate) fn random_token(bytes: usize) -> Result<String, ApiError> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|error| ApiError::Internal(format!("cannot create a token: {error}")))?;
    Ok(buffer.iter().map(|byte| format!("{byte:02x}")).collect())
}

/// Returns the non-empty value of the `X-PS-Auth-Token` header.
fn auth_token_header(headers: &HeaderMap) -> Option<&str> {
    let token = headers.get(AUTH_TOKEN_HEADER)?.to_str().ok()?.trim();
    (!token.is_empty()).then_some(token)
}

/// Returns the token of an `Authorization: Bearer` header.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A token from `POST /authenticate`.
    Login,
    /// An access token from `POST /oauth/token`.
    OAuth,
}

/// A request made with a valid token, whatever its organization.
pub struct UserSession {
    pub token: String,
    pub kind: TokenKind,
}

impl UserSession {
    /// Finds the caller's token in `X-PS-Auth-Token` or `Authorization: Bearer`.
    ///
    /// Both headers may carry a login token or an OAuth access token, and some PhotoShelter
    /// clients send the access token in both. A bearer token that is neither a live login token
    /// nor a live access token returns `OAuthServerException`, because the stand-in cannot tell a
    /// forgotten login token from an unknown access token. A bad `X-PS-Auth-Token` alone
    /// returns `AcsPermissionException`, unless it is an expired access token.
    fn identify(headers: &HeaderMap, state: &AppState) -> Result<UserSession, ApiError> {
        let auth_token = auth_token_header(headers);
        let bearer = bearer_token(headers);

        let mut saw_expired_access_token = false;
        for token in [auth_token, bearer].into_iter().flatten() {
            if state.sessions.org_of(token).is_some() {
                return Ok(UserSession { token: token.to_owned(), kind: TokenKind::Login });
            }
            match state.oauth.check(token) {
                AccessCheck::Valid => return Ok(UserSession { token: token.to_owned(), kind: TokenKind::OAuth }),
                AccessCheck::Expired => saw_expired_access_token = true,
                AccessCheck::Unknown => {}
            }
        }

        if saw_expired_access_token {
            return Err(ApiError::OAuth {
                status: StatusCode::UNAUTHORIZED,
                code: "invalid_token",
                detail: "access token expired or revoked: get a new one from POST /oauth/token with the refresh token"
                    .to_owned(),
            });
        }
        if bearer.is_some() {
            return Err(ApiError::OAuth {
                status: StatusCode::UNAUTHORIZED,
                code: "invalid_token",
                detail: "bearer token invalid: it is neither a live access token nor a live login token; refresh it \
                         at POST /oauth/token or authenticate again"
                    .to_owned(),
            });
        }
        if auth_token.is_some() {
            return Err(ApiError::NotAuthenticated("token invalid or logged out: authenticate again".to_owned()));
        }
        Err(ApiError::NotAuthenticated(
            "authentication required: send the token from POST /authenticate in the X-PS-Auth-Token header, or an \
             OAuth access token as Authorization: Bearer"
                .to_owned(),
        ))
    }

    /// Returns the organization the caller's token acts in, or `None` when it has none or the
    /// token stopped being valid.
    fn org_id(&self, state: &AppState) -> Option<String> {
        match self.kind {
            TokenKind::Login => state.sessions.org_of(&self.token).flatten(),
            TokenKind::OAuth => state.oauth.org_of(&self.token).flatten(),
        }
    }

    /// Sets the organization the caller's token acts in and reports whether the token is still
    /// valid.
    fn set_org(&self, state: &AppState, org_id: Option<String>) -> bool {
        match self.kind {
            TokenKind::Login => state.sessions.set_org(&self.token, org_id),
            TokenKind::OAuth => state.oauth.set_org(&self.token, org_id),
        }
    }
}

impl FromRequestParts<AppState> for UserSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        UserSession::identify(&parts.headers, state)
    }
}

/// A request made with a valid token whose session has entered the organization.
pub struct OrgSession;

impl FromRequestParts<AppState> for OrgSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let user = UserSession::from_request_parts(parts, state).await?;
        match user.org_id(state) {
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
pub(crate) fn body_fields(headers: &HeaderMap, body: &Bytes) -> Result<HashMap<String, String>, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or_default();

    if !content_type.to_ascii_lowercase().contains("json") {
        return Ok(form_urlencoded::parse(body).map(|(name, value)| (name.into_owned(), value.into_owned())).collect());
    }

    let object: serde_json::Map<String, Value> = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("invalid JSON body: {error}; expected a JSON object")))?;
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
pub(crate) fn field<'a>(fields: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    fields.get(name).map(String::as_str).filter(|value| !value.is_empty())
}

/// Checks that `org_id` has the organization format and names the served organization.
fn check_org(state: &AppState, org_id: &str) -> Result<(), ApiError> {
    check_id(IdKind::Organization, org_id)?;
    if org_id != state.credentials.org_id {
        return Err(ApiError::NotFound(format!("organization {org_id} not found or the user is not a member of it")));
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

    let (Some(email), Some(password)) = (field(&fields, "email"), field(&fields, "password")) else {
        return Err(ApiError::BadRequest("email and password are required".to_owned()));
    };
    let credentials = &state.credentials;
    if !email.eq_ignore_ascii_case(&credentials.email) || password != credentials.password {
        return Err(ApiError::InvalidCredentials("invalid email or password".to_owned()));
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
///
/// With an OAuth access token, logout revokes that access token; the refresh token stays valid.
pub async fn logout(State(state): State<AppState>, user: UserSession) -> Json<Value> {
    match user.kind {
        TokenKind::Login => {
            state.sessions.remove(&user.token);
        }
        TokenKind::OAuth => state.oauth.revoke(&user.token),
    }
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

    if !user.set_org(&state, Some(org_id.to_owned())) {
        return Err(ApiError::NotAuthenticated("token invalid or logged out: authenticate again".to_owned()));
    }
    Ok(Json(json!({ "meta": { "status": "OK" } })))
}

/// `POST /organization/logout`: leaves the organization but keeps the login.
pub async fn organization_logout(State(state): State<AppState>, user: UserSession) -> Json<Value> {
    user.set_org(&state, None);
    Json(json!({ "meta": { "status": "OK" } }))
}
