//! The outbound HTTP seam: PhotoShelter calls and remote Loci calls go through [`Transport`],
//! which is Workers `fetch` in production and a blocking client in native tests.

/// A request body with its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundBody {
    /// The `content-type` header value.
    pub content_type: &'static str,
    /// The body text.
    pub text: String,
}

/// An outbound HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The absolute URL.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body, for POST.
    pub body: Option<OutboundBody>,
    /// Time to wait for the response before giving up, in milliseconds.
    pub timeout_ms: Option<u64>,
}

impl OutboundRequest {
    /// A GET request.
    pub fn get(url: String, headers: Vec<(String, String)>) -> Self {
        OutboundRequest { method: "GET", url, headers, body: None, timeout_ms: None }
    }

    /// A POST request with a form-encoded body.
    pub fn post_form(url: String, headers: Vec<(String, String)>, form: String) -> Self {
        let body = OutboundBody { content_type: "application/x-www-form-urlencoded", text: form };
        OutboundRequest { method: "POST", url, headers, body: Some(body), timeout_ms: None }
    }

    /// A POST request with a JSON body.
    pub fn post_json(url: String, headers: Vec<(String, String)>, json: String) -> Self {
        let body = OutboundBody { content_type: "application/json", text: json };
        OutboundRequest { method: "POST", url, headers, body: Some(body), timeout_ms: None }
    }
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundResponse {
    /// The status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl OutboundResponse {
    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// Why a request got no HTTP response at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The connection failed.
    #[error("could not reach {url}: {reason}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The underlying error.
        reason: String,
    },
    /// No response arrived within the request's timeout.
    #[error("{url} did not answer within {timeout_ms} ms")]
    TimedOut {
        /// The URL requested.
        url: String,
        /// The timeout.
        timeout_ms: u64,
    },
}

/// What the connector needs from its runtime: HTTP, a timer and a random source.
#[allow(async_fn_in_trait)] // Single-threaded worker: no `Send` bound needed.
pub trait Transport {
    /// Sends one request and returns the answer, whatever its status.
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, TransportError>;

    /// Waits for the given number of milliseconds.
    async fn sleep(&self, millis: u64);

    /// A random number in `0.0..1.0`, for retry jitter.
    fn random_unit(&self) -> f64;
}

/// A blocking HTTP transport for native tests and tools (plain HTTP only).
#[cfg(not(target_arch = "wasm32"))]
pub mod native {
    use super::{OutboundRequest, OutboundResponse, Transport, TransportError};
    use std::cell::Cell;

    /// Sends requests with `ureq`; sleeps with the thread.
    pub struct NativeTransport {
        agent: ureq::Agent,
        seed: Cell<u64>,
    }

    impl Default for NativeTransport {
        fn default() -> Self {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(30)))
                .build()
                .new_agent();
            NativeTransport { agent, seed: Cell::new(0x9e37_79b9_7f4a_7c15) }
        }
    }

    impl Transport for NativeTransport {
        async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, TransportError> {
            let unreachable = |error: ureq::Error| match (error, request.timeout_ms) {
                (ureq::Error::Timeout(_), Some(timeout_ms)) => {
                    TransportError::TimedOut { url: request.url.clone(), timeout_ms }
                }
                (error, _) => TransportError::Unreachable { url: request.url.clone(), reason: error.to_string() },
            };
            let timeout = request.timeout_ms.map(std::time::Duration::from_millis);
            let result = match &request.body {
                Some(body) => {
                    let mut builder = self.agent.post(&request.url).config().timeout_global(timeout).build();
                    for (name, value) in &request.headers {
                        builder = builder.header(name, value);
                    }
                    builder.header("content-type", body.content_type).send(body.text.clone())
                }
                None => {
                    let mut builder = self.agent.get(&request.url).config().timeout_global(timeout).build();
                    for (name, value) in &request.headers {
                        builder = builder.header(name, value);
                    }
                    builder.call()
                }
            };
            let mut response = result.map_err(unreachable)?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (name.as_str().to_ascii_lowercase(), value.to_str().unwrap_or_default().to_owned())
                })
                .collect();
            let body =
                response.body_mut().with_config().limit(64 * 1024 * 1024).read_to_string().map_err(unreachable)?;
            Ok(OutboundResponse { status, headers, body })
        }

        async fn sleep(&self, millis: u64) {
            std::thread::sleep(std::time::Duration::from_millis(millis));
        }

        fn random_unit(&self) -> f64 {
            // xorshift64: enough for jitter, not for anything secret.
            let mut x = self.seed.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.seed.set(x);
            (x >> 11) as f64 / (1u64 << 53) as f64
        }
    }
}
