//! PhotoShelter API v4 client: authentication, the JSON envelope, paging and retries.
//!
//! Behaviour that public material does not pin down is handled defensively:
//! - `/authenticate` answers with a top-level `token` in production clients, while a draft
//!   of the API wraps it in `data`; both are accepted;
//! - token lifetime is undocumented, so a 401 re-authenticates once and retries;
//! - paging totals may be missing, so a walk ends at the first page shorter than `per_page`.

use std::cell::{Cell, RefCell};

use serde_json::Value;

use crate::config::{Credentials, PhotoShelterConfig};
use crate::outbound::{OutboundRequest, OutboundResponse, Transport, TransportError};

/// Attempts per request before giving up on 5xx responses and connection failures.
const MAX_ATTEMPTS: u32 = 4;
/// First retry delay; doubled each attempt, plus up to 100% jitter.
const BASE_BACKOFF_MS: u64 = 250;
/// Maximum single wait, whether from backoff or `Retry-After`. A longer `Retry-After` ends the
/// sync step instead, so the next invocation resumes after it.
const MAX_WAIT_MS: u64 = 10_000;

/// Why a PhotoShelter call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoShelterError {
    /// No HTTP response, after retries.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// PhotoShelter answered with an error status (after retries for 5xx).
    #[error("PhotoShelter answered {status} for {path}: {message}")]
    Status {
        /// The status code.
        status: u16,
        /// The path requested (no credentials).
        path: String,
        /// The error title and id from the `errors` envelope, or the body's start.
        message: String,
    },
    /// Authentication was rejected.
    #[error("PhotoShelter rejected the credentials ({status}): {message}; check PHOTOSHELTER_API_KEY and the login settings")]
    Authentication {
        /// The status code.
        status: u16,
        /// The error text.
        message: String,
    },
    /// PhotoShelter asked to wait longer than one step may.
    #[error("PhotoShelter rate-limited the sync for {retry_after_secs} s; the next run resumes")]
    RateLimited {
        /// Seconds to wait, from `Retry-After`.
        retry_after_secs: u64,
    },
    /// The answer is not the JSON the connector expects.
    #[error("PhotoShelter's answer for {path} is not usable: {reason}")]
    Malformed {
        /// The path requested.
        path: String,
        /// What was wrong.
        reason: String,
    },
}

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The resources on the page.
    pub items: Vec<Value>,
    /// `meta.paging.total`, when PhotoShelter sends it.
    pub total: Option<u64>,
    /// Whether this is the last page.
    pub is_last: bool,
}

/// A client bound to one configuration and transport, valid for one worker invocation.
pub struct Client<'a, T: Transport> {
    config: &'a PhotoShelterConfig,
    transport: &'a T,
    /// The session token (password login) or the OAuth access token.
    token: RefCell<Option<String>>,
    /// The current OAuth refresh token, and whether it changed during this client's life.
    refresh_token: RefCell<Option<String>>,
    refresh_token_rotated: Cell<bool>,
    authenticated: Cell<bool>,
    requests: Cell<u32>,
}

fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let first_error =
        parsed.as_ref().and_then(|v| v.get("errors")?.get(0).cloned().or_else(|| v.get("error").cloned()));
    match first_error {
        Some(error) => {
            let title = error.get("title").and_then(Value::as_str).unwrap_or("error");
            match error.get("id").and_then(Value::as_str) {
                Some(id) => format!("{title} ({id})"),
                None => title.to_owned(),
            }
        }
        None => body.chars().take(200).collect(),
    }
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

impl<'a, T: Transport> Client<'a, T> {
    /// A client that has not authenticated yet.
    pub fn new(config: &'a PhotoShelterConfig, transport: &'a T) -> Self {
        Client::with_stored_refresh_token(config, transport, None)
    }

    /// A client that starts OAuth from `stored` (the latest rotated refresh token) instead of
    /// the configured one.
    pub fn with_stored_refresh_token(config: &'a PhotoShelterConfig, transport: &'a T, stored: Option<String>) -> Self {
        let configured = match &config.credentials {
            Credentials::OAuth { refresh_token, .. } => Some(refresh_token.clone()),
            _ => None,
        };
        Client {
            config,
            transport,
            token: RefCell::new(None),
            refresh_token: RefCell::new(stored.or(configured)),
            refresh_token_rotated: Cell::new(false),
            authenticated: Cell::new(false),
            requests: Cell::new(0),
        }
    }

    /// Returns the refresh token to keep for the next invocation, when PhotoShelter rotated it.
    pub fn rotated_refresh_token(&self) -> Option<String> {
        self.refresh_token_rotated.get().then(|| self.refresh_token.borrow().clone()).flatten()
    }

    /// Returns how many HTTP requests this client has sent.
    pub fn requests(&self) -> u32 {
        self.requests.get()
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![
            ("x-ps-api-key".to_owned(), self.config.api_key.clone()),
            ("accept".to_owned(), "application/json".to_owned()),
        ];
        match (&self.config.credentials, self.token.borrow().as_ref()) {
            (Credentials::Bearer(token), _) => headers.push(("authorization".to_owned(), format!("Bearer {token}"))),
            (Credentials::OAuth { .. }, Some(token)) => {
                headers.push(("authorization".to_owned(), format!("Bearer {token}")))
            }
            (Credentials::Password { .. }, Some(token)) => headers.push(("x-ps-auth-token".to_owned(), token.clone())),
            (_, None) => {}
        }
        headers
    }

    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        self.requests.set(self.requests.get() + 1);
        self.transport.send(request).await
    }

    /// Logs in (token mode) and switches into the configured organisation.
    ///
    /// With an OAuth bearer token there is nothing to do but the organisation switch.
    pub async fn authenticate(&self) -> Result<(), PhotoShelterError> {
        if let Credentials::Password { email, password } = &self.config.credentials {
            let mut form = vec![("email", email.as_str()), ("password", password.as_str()), ("mode", "token")];
            if let Some(org) = &self.config.org_id {
                form.push(("org_id", org.as_str()));
            }
            let request = OutboundRequest::post_form(
                format!("{}/authenticate", self.config.base_url),
                self.headers(),
                form_encode(&form),
            );
            let response = self.send(request).await?;
            if response.status != 200 {
                return Err(PhotoShelterError::Authentication {
                    status: response.status,
                    message: error_message(&response.body),
                });
            }
            let body: Value = serde_json::from_str(&response.body).map_err(|e| PhotoShelterError::Malformed {
                path: "/authenticate".to_owned(),
                reason: e.to_string(),
            })?;
            let token = body
                .get("token")
                .or_else(|| body.pointer("/data/token"))
                .or_else(|| body.pointer("/data/attributes/token"))
                .and_then(Value::as_str)
                .ok_or_else(|| PhotoShelterError::Malformed {
                    path: "/authenticate".to_owned(),
                    reason: "no `token` in the answer".to_owned(),
                })?;
            *self.token.borrow_mut() = Some(token.to_owned());
        }

        if let Credentials::OAuth { client_id, client_secret, .. } = &self.config.credentials {
            self.refresh_access_token(client_id, client_secret).await?;
        }

        // Bearer tokens are issued for a user in an organisation context already; only a
        // password session is switched into the organisation explicitly.
        if let (Some(org), Credentials::Password { .. }) = (&self.config.org_id, &self.config.credentials) {
            let url = format!("{}/organization/authenticate", self.config.base_url);
            let request = OutboundRequest::post_form(url, self.headers(), form_encode(&[("org_id", org.as_str())]));
            let response = self.send(request).await?;
            if response.status != 200 {
                return Err(PhotoShelterError::Authentication {
                    status: response.status,
                    message: error_message(&response.body),
                });
            }
        }
        self.authenticated.set(true);
        Ok(())
    }

    async fn wait_before_retry(&self, attempt: u32) {
        let backoff = BASE_BACKOFF_MS.saturating_mul(1 << attempt.min(6));
        let jitter = (backoff as f64 * self.transport.random_unit()) as u64;
        self.transport.sleep((backoff + jitter).min(MAX_WAIT_MS)).await;
    }

    /// Exchanges the current refresh token for an access token at `POST /oauth/token`, keeping
    /// the new refresh token when PhotoShelter rotates it.
    async fn refresh_access_token(&self, client_id: &str, client_secret: &str) -> Result<(), PhotoShelterError> {
        let refresh_token = self.refresh_token.borrow().clone().unwrap_or_default();
        let form = form_encode(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", client_id),
            ("client_secret", client_secret),
        ]);
        let headers = vec![("x-ps-api-key".to_owned(), self.config.api_key.clone())];
        let response = self
            .send(OutboundRequest::post_form(format!("{}/oauth/token", self.config.base_url), headers, form))
            .await?;
        if response.status != 200 {
            return Err(PhotoShelterError::Authentication {
                status: response.status,
                message: error_message(&response.body),
            });
        }
        let body: Value = serde_json::from_str(&response.body)
            .map_err(|e| PhotoShelterError::Malformed { path: "/oauth/token".to_owned(), reason: e.to_string() })?;
        // Production clients read the tokens at the top level; a draft of the API nests them.
        let field = |name: &str| {
            body.get(name)
                .or_else(|| body.pointer(&format!("/data/attributes/{name}")))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let access_token = field("access_token").ok_or_else(|| PhotoShelterError::Malformed {
            path: "/oauth/token".to_owned(),
            reason: "no `access_token` in the answer".to_owned(),
        })?;
        *self.token.borrow_mut() = Some(access_token);
        if let Some(new_refresh) = field("refresh_token").filter(|new| *new != refresh_token) {
            *self.refresh_token.borrow_mut() = Some(new_refresh);
            self.refresh_token_rotated.set(true);
        }
        crate::log::info("photoshelter: obtained an OAuth access token");
        Ok(())
    }

    /// GETs a path (relative to the base URL, query included) and returns the JSON body.
    ///
    /// Retries 5xx answers and connection failures with capped exponential backoff and jitter,
    /// honours `Retry-After` on 429 up to [`MAX_WAIT_MS`], and re-authenticates once on 401.
    pub async fn get(&self, path_and_query: &str) -> Result<Value, PhotoShelterError> {
        if !self.authenticated.get() {
            self.authenticate().await?;
        }
        let path = path_and_query.split('?').next().unwrap_or(path_and_query).to_owned();
        let mut reauthenticated = false;
        let mut attempt = 0;

        loop {
            let request = OutboundRequest::get(format!("{}{path_and_query}", self.config.base_url), self.headers());
            let response = match self.send(request).await {
                Ok(response) => response,
                Err(error) if attempt + 1 < MAX_ATTEMPTS => {
                    crate::log::warn(&format!("photoshelter: {error}; retrying (attempt {})", attempt + 2));
                    self.wait_before_retry(attempt).await;
                    attempt += 1;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };

            match response.status {
                200 => {
                    return serde_json::from_str(&response.body)
                        .map_err(|e| PhotoShelterError::Malformed { path, reason: format!("invalid JSON: {e}") });
                }
                401 if !reauthenticated && !matches!(self.config.credentials, Credentials::Bearer(_)) => {
                    crate::log::info(&format!("photoshelter: 401 on {path}; authenticating again"));
                    *self.token.borrow_mut() = None;
                    self.authenticate().await?;
                    reauthenticated = true;
                }
                429 => {
                    let retry_after_secs =
                        response.header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(1);
                    if retry_after_secs * 1000 > MAX_WAIT_MS || attempt + 1 >= MAX_ATTEMPTS {
                        return Err(PhotoShelterError::RateLimited { retry_after_secs });
                    }
                    crate::log::warn(&format!(
                        "photoshelter: 429 on {path}; waiting {retry_after_secs} s as Retry-After asks"
                    ));
                    self.transport.sleep(retry_after_secs * 1000).await;
                    attempt += 1;
                }
                status if status >= 500 && attempt + 1 < MAX_ATTEMPTS => {
                    crate::log::warn(&format!("photoshelter: {status} on {path}; retrying (attempt {})", attempt + 2));
                    self.wait_before_retry(attempt).await;
                    attempt += 1;
                }
                status => {
                    return Err(PhotoShelterError::Status { status, path, message: error_message(&response.body) })
                }
            }
        }
    }

    /// GETs one page of a list endpoint. `query` holds the other parameters, already encoded.
    pub async fn get_page(&self, path: &str, query: &str, page: u32, per_page: u32) -> Result<Page, PhotoShelterError> {
        let separator = if query.is_empty() { "" } else { "&" };
        let body = self.get(&format!("{path}?{query}{separator}page={page}&per_page={per_page}")).await?;
        let items = match body.get("data") {
            Some(Value::Array(items)) => items.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(_) => {
                return Err(PhotoShelterError::Malformed {
                    path: path.to_owned(),
                    reason: "`data` is not a list".to_owned(),
                })
            }
        };
        let total = body.pointer("/meta/paging/total").and_then(Value::as_u64);
        let is_last = (items.len() as u64) < u64::from(per_page)
            || total.is_some_and(|total| u64::from(page) * u64::from(per_page) >= total);
        Ok(Page { items, total, is_last })
    }
}
