//! Workers entry points: `fetch` for HTTP and `scheduled` for the cron trigger.
//!
//! Both build the same [`App`] from the environment and delegate; nothing here decides
//! anything the native tests could not check.

use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{
    event, AbortController, Context, Env, Fetch, Headers, Request, RequestInit, Response, ScheduleContext,
    ScheduledEvent,
};

use crate::config::{Config, ConfigError};
use crate::db::d1::D1;
use crate::error::ApiError;
use crate::http::{ApiRequest, ApiResponse, Method};
use crate::outbound::{OutboundRequest, OutboundResponse, Transport, TransportError};
use crate::router::{handle, App};

/// Outbound HTTP through the Workers `fetch` API.
struct FetchTransport;

impl Transport for FetchTransport {
    async fn send(&self, request: OutboundRequest) -> Result<OutboundResponse, TransportError> {
        let unreachable =
            |error: worker::Error| TransportError::Unreachable { url: request.url.clone(), reason: error.to_string() };
        let headers = Headers::new();
        for (name, value) in &request.headers {
            headers.set(name, value).map_err(unreachable)?;
        }
        let mut init = RequestInit::new();
        init.with_method(if request.method == "POST" { worker::Method::Post } else { worker::Method::Get });
        if let Some(body) = &request.body {
            headers.set("content-type", body.content_type).map_err(unreachable)?;
            init.with_body(Some(body.text.as_str().into()));
        }
        init.with_headers(headers);
        let outbound = Request::new_with_init(&request.url, &init).map_err(unreachable)?;

        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = Fetch::Request(outbound);
        let sending = fetch.send_with_signal(&signal);
        let mut response = match request.timeout_ms {
            None => sending.await.map_err(unreachable)?,
            Some(timeout_ms) => {
                let timer = worker::Delay::from(Duration::from_millis(timeout_ms));
                match select(Box::pin(sending), timer).await {
                    Either::Left((result, _)) => result.map_err(unreachable)?,
                    Either::Right(((), _)) => {
                        controller.abort();
                        return Err(TransportError::TimedOut { url: request.url.clone(), timeout_ms });
                    }
                }
            }
        };
        let status = response.status_code();
        let headers = response.headers().entries().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect();
        let body = response.text().await.map_err(unreachable)?;
        Ok(OutboundResponse { status, headers, body })
    }

    async fn sleep(&self, millis: u64) {
        worker::Delay::from(Duration::from_millis(millis)).await;
    }

    fn random_unit(&self) -> f64 {
        js_sys::Math::random()
    }
}

fn now() -> i64 {
    worker::Date::now().as_millis() as i64
}

fn new_request_id() -> String {
    let random = (js_sys::Math::random() * 2f64.powi(52)) as u64;
    format!("r{:x}{:013x}", now(), random)
}

fn read_config(env: &Env) -> Result<Config, ConfigError> {
    let lookup =
        |name: &str| env.var(name).map(|v| v.to_string()).ok().or_else(|| env.secret(name).map(|v| v.to_string()).ok());
    Config::from_vars(lookup)
}

fn to_worker_response(answer: ApiResponse) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &answer.headers {
        headers.set(name, value)?;
    }
    Ok(Response::from_bytes(answer.body)?.with_status(answer.status).with_headers(headers))
}

async fn to_api_request(mut request: Request) -> Result<ApiRequest, worker::Error> {
    let url = request.url()?;
    // The raw method string: workers-rs maps methods it does not know to GET.
    let method = match request.inner().method().as_str() {
        "GET" | "HEAD" => Method::Get,
        "POST" => Method::Post,
        "OPTIONS" => Method::Options,
        _ => Method::Other,
    };
    let headers = request.headers().entries().map(|(name, value)| (name.to_ascii_lowercase(), value)).collect();
    let country = request.cf().and_then(|cf| cf.country());
    let body = if method == Method::Post { request.bytes().await? } else { Vec::new() };
    Ok(ApiRequest {
        method,
        path: url.path().to_owned(),
        query: url.query().unwrap_or("").to_owned(),
        headers,
        body,
        country,
    })
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(request: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let path = request.path();
    if path != "/v1" && !path.starts_with("/v1/") {
        return env.assets("ASSETS")?.fetch_request(request).await;
    }

    let config = match read_config(&env) {
        Ok(config) => config,
        Err(error) => return to_worker_response(ApiError::from(error).into_response()),
    };
    let db = D1::new(env.d1("DB")?);
    let app = App { db: &db, transport: &FetchTransport, config: &config, clock: &now, new_id: &new_request_id };
    let api_request = to_api_request(request).await?;
    let answer = handle(&app, api_request).await;
    to_worker_response(answer)
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let result = async {
        let config = read_config(&env).map_err(|e| worker::Error::RustError(format!("invalid configuration: {e}")))?;
        let db = D1::new(env.d1("DB")?);
        if let Err(error) = crate::recommend::forget_old_page_views(&db, now()).await {
            crate::log::warn(&format!("cron: old page views were not deleted: {error}"));
        }
        if let Err(error) = crate::recommend::forget_old_served_requests(&db, now()).await {
            crate::log::warn(&format!("cron: old served lists were not deleted: {error}"));
        }
        crate::sync::run_step(&db, &FetchTransport, &config, &now, crate::sync::StepOptions::default())
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))
    }
    .await;
    match result {
        Ok(status) => crate::log::info(&format!(
            "cron sync step: run {} is {} ({} assets so far)",
            status.run_id, status.state, status.counts.assets
        )),
        Err(error) => crate::log::error(&format!("cron sync step failed: {error}")),
    }

    // Aggregation runs on every trigger, after the sync step, so analytics lag events by at
    // most one cron interval.
    let aggregated = async {
        let config = read_config(&env).map_err(|e| worker::Error::RustError(format!("invalid configuration: {e}")))?;
        let db = D1::new(env.d1("DB")?);
        crate::analytics::aggregate::refresh(&db, &config, now(), false)
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))
    }
    .await;
    match aggregated {
        Ok(report) => crate::log::info(&format!(
            "cron aggregation: {} day(s) recomputed, {} visitors in segments",
            report.days.len(),
            report.visitors
        )),
        Err(error) => crate::log::error(&format!("cron aggregation failed: {error}")),
    }

    // One bounded step of the neighbour lists, after the sync and the aggregation it reads.
    let neighbours = async {
        let db = D1::new(env.d1("DB")?);
        crate::neighbours::compute_step(&db, now(), crate::neighbours::CONTENT_ASSETS_PER_STEP)
            .await
            .map_err(|e| worker::Error::RustError(e.to_string()))
    }
    .await;
    match neighbours {
        Ok(reports) => {
            for report in reports {
                crate::log::info(&format!(
                    "cron neighbours: {} lists of generation {}: {} computed, {} of {} covered",
                    report.kind, report.generation, report.computed, report.covered, report.total
                ));
            }
        }
        Err(error) => crate::log::error(&format!("cron neighbour step failed: {error}")),
    }
}
