//! The one request the widget makes before rendering: `GET /v1/recommendations`.

use loci_shared::api::RecommendationResponse;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestCredentials, RequestInit, RequestMode, Response};

use crate::config::WidgetConfig;
use crate::{console, wire};

/// Time the edge has to respond before the request is aborted, in milliseconds.
pub const REQUEST_TIMEOUT_MS: u32 = 8_000;

/// Error for a failed recommendation request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The browser has no `window` (the widget runs in a worker or outside a browser).
    #[error("no browser window is available")]
    NoWindow,
    /// The request could not be made or no answer arrived: network down, CORS, DNS.
    #[error("GET {url} failed: {reason}")]
    Unreachable {
        /// The requested URL.
        url: String,
        /// The browser's description of the failure.
        reason: String,
    },
    /// No response arrived within [`REQUEST_TIMEOUT_MS`].
    #[error("GET {url} timed out after {REQUEST_TIMEOUT_MS} ms")]
    TimedOut {
        /// The requested URL.
        url: String,
    },
    /// The edge returned an error status.
    #[error("GET {url} returned HTTP {status}: {detail}")]
    Status {
        /// The requested URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The problem's `detail`, or the status text when the body is not a problem.
        detail: String,
    },
    /// The edge answered 2xx with a body that is not a recommendation response.
    #[error("GET {url} returned an invalid body: {reason}")]
    InvalidBody {
        /// The requested URL.
        url: String,
        /// The problem with the body.
        reason: String,
    },
}

/// Fetches recommendations for `config`, keeping at most `config.count` assets, and only those
/// its layout shows (see [`crate::config::Layout::shows`]).
///
/// The request carries no cookies (`credentials: "omit"`): the widget is cookieless, and the
/// edge can then answer cross-origin requests with `Access-Control-Allow-Origin: *`.
pub async fn fetch_recommendations(config: &WidgetConfig) -> Result<RecommendationResponse, ApiError> {
    let url = config.recommendations_url();
    let window = web_sys::window().ok_or(ApiError::NoWindow)?;

    let init = RequestInit::new();
    init.set_method("GET");
    init.set_mode(RequestMode::Cors);
    init.set_credentials(RequestCredentials::Omit);
    init.set_signal(Some(&web_sys::AbortSignal::timeout_with_u32(REQUEST_TIMEOUT_MS)));

    let answer = JsFuture::from(window.fetch_with_str_and_init(&url, &init)).await;
    let response: Response = match answer {
        Ok(value) => value.dyn_into().map_err(|_| ApiError::Unreachable {
            url: url.clone(),
            reason: "fetch returned something other than a Response".to_owned(),
        })?,
        Err(error) if is_timeout(&error) => return Err(ApiError::TimedOut { url }),
        Err(error) => return Err(ApiError::Unreachable { url, reason: console::describe(&error) }),
    };

    let body = read_json(&response).await;

    if !response.ok() {
        let problem_detail = body.ok().and_then(|body| wire::decode_problem_detail(&body));
        let detail = problem_detail.unwrap_or_else(|| response.status_text());
        return Err(ApiError::Status { url, status: response.status(), detail });
    }

    let body = body.map_err(|reason| ApiError::InvalidBody { url: url.clone(), reason })?;
    let mut recommendations =
        wire::decode_response(&body).map_err(|error| ApiError::InvalidBody { url, reason: error.to_string() })?;
    recommendations.assets.retain(|asset| config.layout.shows(asset));
    recommendations.assets.truncate(config.count);
    Ok(recommendations)
}

/// Reads and parses the body as JSON; fails on a body that is not JSON.
async fn read_json(response: &Response) -> Result<JsValue, String> {
    let promise = response.json().map_err(|error| console::describe(&error))?;
    JsFuture::from(promise).await.map_err(|error| console::describe(&error))
}

/// Returns whether a rejected fetch was aborted by its `AbortSignal.timeout` (a `TimeoutError`).
fn is_timeout(error: &JsValue) -> bool {
    error.dyn_ref::<js_sys::Error>().is_some_and(|error| error.name() == "TimeoutError")
}
