//! The HTTP server: routes, the request gate (test-control access, faults, API key, counting,
//! logging) and serving on a listener.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::query::Params;
use crate::state::AppState;
use crate::{api, auth, cdn, control, oauth};

/// Base path of the PhotoShelter API.
pub const API_BASE: &str = "/psapi/v4.0";

/// Base path of the test controls.
pub const CONTROL_BASE: &str = "/__standin";

/// Builds the router with every endpoint and the request gate.
pub fn router(state: AppState) -> Router {
    let psapi = Router::new()
        .route("/authenticate", post(auth::authenticate))
        .route("/authenticate/logout", get(auth::logout).post(auth::logout))
        .route("/organization/authenticate", post(auth::organization_authenticate))
        .route("/organization/logout", post(auth::organization_logout))
        .route("/oauth/token", post(oauth::token))
        .route("/library", get(api::library_root))
        .route("/collections", get(api::collections))
        .route("/collections/{id}", get(api::collection))
        .route("/collections/{id}/children", get(api::collection_children))
        .route("/galleries", get(api::galleries))
        .route("/galleries/{id}", get(api::gallery))
        .route("/galleries/{id}/children", get(api::gallery_children))
        .route("/galleries/{id}/child-count", get(api::gallery_child_count))
        .route("/media", get(api::media_search))
        .route("/media/{id}", get(api::media))
        .route("/media/{id}/iptc", get(api::media_iptc))
        .route("/media/{id}/custom-metadata", get(api::media_custom_metadata))
        .route("/media/{id}/galleries", get(api::media_galleries));

    let controls = Router::new()
        .route("/faults", get(control::list_faults).post(control::add_fault).delete(control::clear_faults))
        .route("/stats", get(control::stats).delete(control::reset_stats))
        .route("/mutate", post(control::mutate))
        .route("/expire-tokens", post(control::expire_tokens))
        .route("/health", get(control::health));

    Router::new()
        .nest(API_BASE, psapi)
        .nest(CONTROL_BASE, controls)
        .route("/img-get2/{id}/{size}", get(cdn::image))
        .route("/img-get2/{id}/{size}/{file}", get(cdn::image_with_file))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::NotFound(format!("no such endpoint: {}", request.uri().path()))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::MethodNotAllowed(format!("method {} is not supported on {}", request.method(), request.uri().path()))
}

/// Runs before routing on every request.
///
/// Test controls serve loopback clients only and are not counted. Every other
/// request may first be delayed or failed by an injected fault, then `/psapi` requests need
/// the API key; each is counted and logged at debug level with its status and duration.
async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();

    if path.starts_with(CONTROL_BASE) {
        let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| *address);
        if !client.is_some_and(|address| address.ip().is_loopback()) {
            tracing::warn!(?client, %path, "test control rejected: client is not on loopback");
            return ApiError::Forbidden(format!("test controls accept loopback clients only, not {client:?}"))
                .into_response();
        }
        return next.run(request).await;
    }

    // Check the key before any await: the request body is not `Sync`, so the request must
    // not be borrowed across the fault delay.
    let key_check = if path.starts_with(API_BASE) {
        let params = Params::parse(request.uri().query().unwrap_or_default());
        auth::check_api_key(request.headers(), &params, &state.credentials.api_key)
    } else {
        Ok(())
    };

    let response = match apply_fault(&state, &method, &path).await {
        Some(error) => error.into_response(),
        None => match key_check {
            Err(error) => error.into_response(),
            Ok(()) => next.run(request).await,
        },
    };

    let status = response.status().as_u16();
    state.stats.record(&method, &path, status);
    tracing::debug!(
        %method,
        %path,
        status,
        elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Waits out an injected delay and returns the injected failure, if a fault matches `path`.
async fn apply_fault(state: &AppState, method: &str, path: &str) -> Option<ApiError> {
    let action = state.faults.take(path)?;
    if let Some(delay) = action.delay {
        tokio::time::sleep(delay).await;
    }
    let status = action.status?;
    tracing::info!(%method, %path, status = status.as_u16(), "injected fault");
    Some(ApiError::Injected { status, retry_after: action.retry_after })
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
