//! OAuth 2.0 as PhotoShelter production clients use it.
//!
//! `POST /oauth/token` takes `grant_type=refresh_token`, `refresh_token`, `client_id` and
//! `client_secret` in a form or JSON body, and ignores `redirect_uri`. It returns a new access
//! token and a new refresh token at the top level of the reply, not in the usual envelope.
//! The old refresh token stops working (rotation). Calls that send
//! `Authorization: Bearer <access token>` with the API key act inside the organization at
//! once, with no `/organization/authenticate`. An expired, revoked or unknown bearer token
//! returns 401 `OAuthServerException`, the id PhotoShelter clients take as the signal to
//! refresh.
//!
//! One client is registered and one seed refresh token is valid at start; both come from the
//! command line. The authorization-code grant is not served, because a server-side connector
//! starts from a refresh token that an administrator obtained once.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::{json, Value};

use crate::auth::{body_fields, field, random_token};
use crate::error::ApiError;
use crate::state::AppState;

/// Client id accepted when none is configured.
pub const DEFAULT_CLIENT_ID: &str = "demo-client";

/// Client secret accepted when none is configured.
pub const DEFAULT_CLIENT_SECRET: &str = "demo-secret";

/// Refresh token that is valid at start when none is configured.
pub const DEFAULT_REFRESH_TOKEN: &str = "demo-refresh-token";

/// Access token lifetime when none is configured, in seconds. PhotoShelter does not publish
/// its own value.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 3600;

/// Number of random bytes in an issued access or refresh token.
const TOKEN_BYTES: usize = 32;

/// The registered OAuth client and the token lifetime.
#[derive(Debug, Clone)]
pub struct OAuthSettings {
    pub client_id: String,
    pub client_secret: String,
    /// The refresh token that is valid at start, until it is used once.
    pub refresh_token: String,
    /// How long an access token stays valid; `expires_in` reports it in whole seconds.
    pub token_lifetime: Duration,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        OAuthSettings {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            refresh_token: DEFAULT_REFRESH_TOKEN.to_owned(),
            token_lifetime: Duration::from_secs(DEFAULT_TOKEN_LIFETIME_SECS),
        }
    }
}

/// An issued access token.
#[derive(Debug, Clone)]
struct AccessToken {
    /// The organization the token acts in; `POST /organization/logout` clears it.
    org_id: Option<String>,
    expires_at: Instant,
    /// Set by logout and by `POST /__standin/expire-tokens`.
    revoked: bool,
}

impl AccessToken {
    fn is_live(&self, now: Instant) -> bool {
        !self.revoked && now < self.expires_at
    }
}

#[derive(Debug, Default)]
struct TokenTable {
    refresh_tokens: HashSet<String>,
    /// Every access token issued since start, expired ones included, so that an expired token
    /// gets a different message from an unknown one.
    access_tokens: HashMap<String, AccessToken>,
}

/// What a bearer token is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessCheck {
    Valid,
    /// Issued here, but past its lifetime or revoked.
    Expired,
    Unknown,
}

/// The tokens issued by `POST /oauth/token`.
#[derive(Debug)]
pub struct OAuth {
    pub settings: OAuthSettings,
    table: Mutex<TokenTable>,
}

/// A fresh token pair, as the token endpoint returns it.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

impl OAuth {
    /// Creates the store with the seed refresh token from `settings` as the only valid token.
    pub fn new(settings: OAuthSettings) -> OAuth {
        let table = TokenTable {
            refresh_tokens: HashSet::from([settings.refresh_token.clone()]),
            access_tokens: HashMap::new(),
        };
        OAuth { settings, table: Mutex::new(table) }
    }

    fn lock(&self) -> MutexGuard<'_, TokenTable> {
        // Every update is a single insert, remove or flag change, so a poisoned table is still
        // consistent.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Exchanges `refresh_token` for a new access token acting in `org_id` and a new refresh
    /// token, and retires the old refresh token. Returns `None` when the refresh token is not
    /// valid.
    pub fn refresh(&self, refresh_token: &str, org_id: &str) -> Result<Option<IssuedTokens>, ApiError> {
        let access_token = random_token(TOKEN_BYTES)?;
        let new_refresh_token = random_token(TOKEN_BYTES)?;
        let lifetime = self.settings.token_lifetime;

        let mut table = self.lock();
        if !table.refresh_tokens.remove(refresh_token) {
            return Ok(None);
        }
        table.refresh_tokens.insert(new_refresh_token.clone());
        let token =
            AccessToken { org_id: Some(org_id.to_owned()), expires_at: Instant::now() + lifetime, revoked: false };
        table.access_tokens.insert(access_token.clone(), token);

        Ok(Some(IssuedTokens { access_token, refresh_token: new_refresh_token, expires_in: lifetime.as_secs() }))
    }

    /// Checks a bearer token.
    pub fn check(&self, token: &str) -> AccessCheck {
        match self.lock().access_tokens.get(token) {
            Some(access) if access.is_live(Instant::now()) => AccessCheck::Valid,
            Some(_) => AccessCheck::Expired,
            None => AccessCheck::Unknown,
        }
    }

    /// Returns the organization of a live access token, or `None` when the token is not live.
    pub fn org_of(&self, token: &str) -> Option<Option<String>> {
        let now = Instant::now();
        self.lock().access_tokens.get(token).filter(|access| access.is_live(now)).map(|access| access.org_id.clone())
    }

    /// Sets the organization of a live access token and reports whether the token is live.
    pub fn set_org(&self, token: &str, org_id: Option<String>) -> bool {
        let now = Instant::now();
        match self.lock().access_tokens.get_mut(token).filter(|access| access.is_live(now)) {
            Some(access) => {
                access.org_id = org_id;
                true
            }
            None => false,
        }
    }

    /// Revokes one access token.
    pub fn revoke(&self, token: &str) {
        if let Some(access) = self.lock().access_tokens.get_mut(token) {
            access.revoked = true;
        }
    }

    /// Revokes every live access token and returns how many there were. Refresh tokens stay
    /// valid.
    pub fn expire_all(&self) -> usize {
        let now = Instant::now();
        let mut table = self.lock();
        let mut expired = 0;
        for access in table.access_tokens.values_mut().filter(|access| access.is_live(now)) {
            access.revoked = true;
            expired += 1;
        }
        expired
    }

    /// Returns the number of live access tokens.
    pub fn live_access_tokens(&self) -> usize {
        let now = Instant::now();
        self.lock().access_tokens.values().filter(|access| access.is_live(now)).count()
    }
}

/// Builds a token endpoint error and logs it, because a rejected refresh usually explains a
/// failing connector test.
fn token_error(status: StatusCode, code: &'static str, detail: impl Into<String>) -> ApiError {
    let detail = detail.into();
    tracing::warn!(code, %detail, "OAuth token request rejected");
    ApiError::OAuth { status, code, detail }
}

/// `POST /oauth/token`: the refresh-token grant.
///
/// Errors use the RFC 6749 codes: `invalid_request` (400) for a missing field or a body that
/// does not parse,
/// `unsupported_grant_type` (400), `invalid_client` (401) for a wrong client id or secret and
/// `invalid_grant` (400) for a refresh token that is unknown or already used.
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<Value>, ApiError> {
    let fields = body_fields(&headers, &body)
        .map_err(|error| token_error(StatusCode::BAD_REQUEST, "invalid_request", error.to_string()))?;

    let Some(grant_type) = field(&fields, "grant_type") else {
        return Err(token_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required; this server supports grant_type=refresh_token",
        ));
    };
    if grant_type != "refresh_token" {
        return Err(token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!("grant_type {grant_type:?} is not supported; this server supports grant_type=refresh_token"),
        ));
    }

    let settings = &state.oauth.settings;
    let client_id = field(&fields, "client_id");
    let client_secret = field(&fields, "client_secret");
    if client_id != Some(settings.client_id.as_str()) || client_secret != Some(settings.client_secret.as_str()) {
        return Err(token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed: client_id or client_secret is missing or wrong; the server's values \
             are set by --oauth-client-id and --oauth-client-secret",
        ));
    }

    let Some(refresh_token) = field(&fields, "refresh_token") else {
        return Err(token_error(StatusCode::BAD_REQUEST, "invalid_request", "refresh_token is required"));
    };
    let Some(issued) = state.oauth.refresh(refresh_token, &state.credentials.org_id)? else {
        return Err(token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "refresh token invalid: it is unknown or was already used (refresh tokens rotate on every use)",
        ));
    };

    tracing::info!(expires_in = issued.expires_in, "OAuth access token issued");
    Ok(Json(json!({
        "access_token": issued.access_token,
        "refresh_token": issued.refresh_token,
        "expires_in": issued.expires_in,
        "token_type": "Bearer",
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "O0000TateDemo001";

    #[test]
    fn refresh_rotates_the_refresh_token() {
        let oauth = OAuth::new(OAuthSettings::default());
        let issued = oauth.refresh(DEFAULT_REFRESH_TOKEN, ORG).expect("tokens created").expect("seed token valid");

        assert!(oauth.refresh(DEFAULT_REFRESH_TOKEN, ORG).expect("no internal error").is_none());
        assert_eq!(oauth.check(&issued.access_token), AccessCheck::Valid);
        assert_eq!(oauth.org_of(&issued.access_token), Some(Some(ORG.to_owned())));
        assert!(oauth.refresh(&issued.refresh_token, ORG).expect("no internal error").is_some());
    }

    #[test]
    fn expire_all_keeps_refresh_tokens() {
        let oauth = OAuth::new(OAuthSettings::default());
        let issued = oauth.refresh(DEFAULT_REFRESH_TOKEN, ORG).expect("tokens created").expect("seed token valid");

        assert_eq!(oauth.expire_all(), 1);
        assert_eq!(oauth.check(&issued.access_token), AccessCheck::Expired);
        assert_eq!(oauth.check("never-issued"), AccessCheck::Unknown);
        assert_eq!(oauth.org_of(&issued.access_token), None);
        assert!(oauth.refresh(&issued.refresh_token, ORG).expect("no internal error").is_some());
    }

    #[test]
    fn zero_lifetime_token_is_expired() {
        let settings = OAuthSettings { token_lifetime: Duration::ZERO, ..OAuthSettings::default() };
        let oauth = OAuth::new(settings);
        let issued = oauth.refresh(DEFAULT_REFRESH_TOKEN, ORG).expect("tokens created").expect("seed token valid");
        assert_eq!(issued.expires_in, 0);
        assert_eq!(oauth.check(&issued.access_token), AccessCheck::Expired);
    }
}
