//! Plain HTTP request and response values that the router and handlers work with.
//!
//! The worker entry converts Workers requests into [`ApiRequest`] and [`ApiResponse`] back,
//! so every handler runs natively in tests without a Workers runtime.

use serde::Serialize;

/// An HTTP method the API distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET or HEAD.
    Get,
    /// POST.
    Post,
    /// OPTIONS (CORS preflight).
    Options,
    /// Anything else.
    Other,
}

/// An incoming API request.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The method.
    pub method: Method,
    /// The path, without query string, such as `/v1/recommendations`.
    pub path: String,
    /// The raw query string without the leading `?`.
    pub query: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, for POST requests.
    pub body: Vec<u8>,
    /// The visitor's country as the platform reports it (Cloudflare's `cf.country`), if known.
    pub country: Option<String>,
}

impl ApiRequest {
    /// A request with no headers or body, for tests and internal calls.
    pub fn new(method: Method, path_and_query: &str) -> ApiRequest {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        ApiRequest {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            country: None,
        }
    }

    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The decoded query parameters, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.query).unwrap_or_default()
    }
}

/// An outgoing API response.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// The status code.
    pub status: u16,
    /// Headers to set.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// A JSON response with `Cache-Control: no-store`.
    pub fn json(status: u16, value: &impl Serialize) -> ApiResponse {
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        ApiResponse {
            status,
            headers: vec![
                ("content-type".to_owned(), "application/json; charset=utf-8".to_owned()),
                ("cache-control".to_owned(), "no-store".to_owned()),
            ],
            body,
        }
    }

    /// A streamed-in-one-piece text response with the given content type.
    pub fn text(status: u16, content_type: &str, body: String) -> ApiResponse {
        ApiResponse {
            status,
            headers: vec![
                ("content-type".to_owned(), content_type.to_owned()),
                ("cache-control".to_owned(), "no-store".to_owned()),
            ],
            body: body.into_bytes(),
        }
    }

    /// Replaces a header's value, adding it when absent.
    pub fn set_header(&mut self, name: &str, value: String) {
        self.headers.retain(|(key, _)| key != name);
        self.headers.push((name.to_owned(), value));
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The body parsed as JSON, for tests.
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}
