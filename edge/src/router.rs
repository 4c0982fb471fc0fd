//! Routing of `/v1/*` requests to handlers, and the handlers themselves.
//!
//! [`handle`] is a plain async function over [`App`], so tests drive the whole API natively.

use loci_shared::api::{AssetCard, GalleryCard, QueryError, RecommendationQuery};
use loci_shared::ids::{GalleryId, InvalidId, MediaId};
use loci_shared::rights::{Channel, RightsFilter, ServeContext};
use loci_shared::time::Millis;
use serde_json::json;

use crate::analytics::{self, aggregate};
use crate::auth::{authorize, Role};
use crate::catalog;
use crate::config::Config;
use crate::db::Database;
use crate::error::ApiError;
use crate::events;
use crate::http::{ApiRequest, ApiResponse, Method};
use crate::neighbours;
use crate::photoshelter::Transport;
use crate::recommend::{self, GRID_IMAGE_WIDTH};
use crate::rights_admin;
use crate::sync;

/// Maximum time a recommendation response may be cached, in seconds.
const MAX_CACHE_SECONDS: i64 = 30;
/// Width of the large image on an asset page, in pixels.
const PAGE_IMAGE_WIDTH: u32 = 1200;

/// The services handlers use: storage, outbound HTTP, configuration, a clock and an id source.
pub struct App<'a, D, T> {
    /// The database.
    pub db: &'a D,
    /// Outbound HTTP for the PhotoShelter connector.
    pub transport: &'a T,
    /// Validated configuration.
    pub config: &'a Config,
    /// The current instant.
    pub clock: &'a dyn Fn() -> Millis,
    /// A new unique id, for request ids.
    pub new_id: &'a dyn Fn() -> String,
}

/// Handles one API request. Errors become JSON problem responses, so it returns a response for every request.
pub async fn handle<D: Database, T: Transport>(app: &App<'_, D, T>, request: ApiRequest) -> ApiResponse {
    let mut response = if request.method == Method::Options {
        ApiResponse { status: 204, headers: Vec::new(), body: Vec::new() }
    } else {
        route(app, &request).await.unwrap_or_else(ApiError::into_response)
    };
    response.set_header("access-control-allow-origin", "*".to_owned());
    response.set_header("access-control-allow-methods", "GET, POST, OPTIONS".to_owned());
    response.set_header("access-control-allow-headers", "content-type, authorization".to_owned());
    response
}

fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Post => "POST",
        Method::Options => "OPTIONS",
        Method::Other => "this method",
    }
}

async fn route<D: Database, T: Transport>(app: &App<'_, D, T>, request: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let path = request.path.trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let only = |allowed: Method, allowed_name: &'static str| {
        if request.method == allowed {
            Ok(())
        } else {
            Err(ApiError::MethodNotAllowed {
                path: path.to_owned(),
                method: method_name(request.method),
                allowed: allowed_name,
            })
        }
    };

    match segments.as_slice() {
        ["v1", "health"] => {
            only(Method::Get, "GET")?;
            let catalog = catalog::active_catalog(app.db).await?;
            Ok(ApiResponse::json(
                200,
                &json!({"status": "ok", "catalog": catalog.map(|c| json!({"generation": c.generation, "assets": c.asset_count}))}),
            ))
        }
        ["v1", "recommendations"] => {
            only(Method::Get, "GET")?;
            recommendations(app, request).await
        }
        ["v1", "assets", id] => {
            only(Method::Get, "GET")?;
            asset_card(app, request, id).await
        }
        ["v1", "galleries", id] => {
            only(Method::Get, "GET")?;
            gallery_card(app, request, id).await
        }
        ["v1", "events"] => {
            only(Method::Post, "POST")?;
            let batch = events::parse_batch(&request.body)?;
            let accepted = events::store_batch(app.db, &batch, (app.clock)()).await?;
            Ok(ApiResponse::json(202, &accepted))
        }
        ["v1", "admin", "sync"] => {
            authorize(app.config, request, if request.method == Method::Post { Role::Admin } else { Role::ReadOnly })?;
            match request.method {
                Method::Post => {
                    let options = sync_options(&request.query_pairs())?;
                    match sync::run_step(app.db, app.transport, app.config, &app.clock, options).await {
                        Ok(status) => Ok(ApiResponse::json(200, &status)),
                        Err(sync::SyncError::Storage(error)) => Err(ApiError::Storage(error)),
                        Err(error @ sync::SyncError::NotConfigured(_)) => Ok(ApiResponse::json(
                            503,
                            &json!({"status": 503, "code": "sync_not_configured", "detail": error.to_string()}),
                        )),
                    }
                }
                Method::Get => Ok(ApiResponse::json(200, &json!({"latest": sync::latest_status(app.db).await?}))),
                other => Err(ApiError::MethodNotAllowed {
                    path: path.to_owned(),
                    method: method_name(other),
                    allowed: "GET or POST",
                }),
            }
        }
        ["v1", "admin", "rights", id] => {
            authorize(app.config, request, Role::ReadOnly)?;
            only(Method::Get, "GET")?;
            rights_admin::explain(
                app.db,
                app.config,
                id,
                &request.query_pairs(),
                (app.clock)(),
                request.country.clone(),
            )
            .await
        }
        ["v1", "admin", "licence-alerts"] => {
            authorize(app.config, request, Role::ReadOnly)?;
            only(Method::Get, "GET")?;
            rights_admin::licence_alerts(app.db, &request.query_pairs(), (app.clock)()).await
        }
        ["v1", "admin", "events"] => {
            authorize(app.config, request, Role::ReadOnly)?;
            only(Method::Get, "GET")?;
            let pairs = request.query_pairs();
            let request_id = pairs
                .iter()
                .find(|(k, _)| k == "request_id")
                .map(|(_, v)| v.as_str())
                .ok_or(QueryError::Missing("request_id"))?;
            Ok(ApiResponse::json(200, &json!({"events": events::events_for_request(app.db, request_id).await?})))
        }
        ["v1", "admin", "analytics", "refresh"] => {
            authorize(app.config, request, Role::Admin)?;
            only(Method::Post, "POST")?;
            let params = analytics::Params::new(request.query_pairs(), &["full"])?;
            let report = aggregate::refresh(app.db, app.config, (app.clock)(), params.flag("full")?).await?;
            Ok(ApiResponse::json(200, &report))
        }
        ["v1", "admin", "neighbours"] => {
            authorize(app.config, request, Role::Admin)?;
            only(Method::Post, "POST")?;
            analytics::Params::new(request.query_pairs(), &[])?;
            let steps = neighbours::compute_step(app.db, (app.clock)(), neighbours::CONTENT_ASSETS_PER_STEP)
                .await
                .map_err(|error| match error {
                    neighbours::NeighbourError::Storage(error) => ApiError::Storage(error),
                    other => ApiError::Internal(other.to_string()),
                })?;
            let finished = steps.iter().all(|step| step.finished);
            Ok(ApiResponse::json(200, &json!({"steps": steps, "finished": finished})))
        }
        ["v1", "analytics", rest @ ..] => {
            authorize(app.config, request, Role::ReadOnly)?;
            only(Method::Get, "GET")?;
            analytics_route(app, request, rest).await
        }
        ["v1", "suggestions"] => {
            authorize(app.config, request, Role::ReadOnly)?;
            only(Method::Get, "GET")?;
            let (pairs, serve) = with_serve_context(app, request)?;
            analytics::suggestions::suggestions(app.db, app.config, pairs, serve).await
        }
        _ => Err(ApiError::RouteNotFound(path.chars().take(100).collect())),
    }
}

/// Splits off `channel` and `campaign` into the serve context the rights filter checks; the
/// other parameters stay for the handler.
fn with_serve_context<D: Database, T: Transport>(
    app: &App<'_, D, T>,
    request: &ApiRequest,
) -> Result<(Vec<(String, String)>, ServeContext), ApiError> {
    let mut pairs = request.query_pairs();
    let mut channel = Channel::web();
    let mut campaign = None;
    for (name, value) in &pairs {
        match name.as_str() {
            "channel" => {
                channel = value.parse().map_err(|reason| QueryError::Invalid { parameter: "channel", reason })?;
            }
            "campaign" => campaign = Some(loci_shared::api::validate_token("campaign", value)?),
            _ => {}
        }
    }
    pairs.retain(|(name, _)| name != "channel" && name != "campaign");
    let channel = configured_channel(app.config, channel)?;
    Ok((pairs, serve_context(app, request, channel, campaign)))
}

/// `GET /v1/analytics/...`: engagement, events, segments, trends and experiments.
async fn analytics_route<D: Database, T: Transport>(
    app: &App<'_, D, T>,
    request: &ApiRequest,
    rest: &[&str],
) -> Result<ApiResponse, ApiError> {
    let now = (app.clock)();
    match rest {
        ["engagement"] => analytics::report::engagement(app.db, app.config, request.query_pairs(), now).await,
        ["events"] => analytics::report::events_export(app.db, app.config, request.query_pairs(), now).await,
        ["experiments"] => analytics::report::experiments(app.db, app.config, request.query_pairs(), now).await,
        ["segments"] => {
            let (pairs, serve) = with_serve_context(app, request)?;
            analytics::report::segments(app.db, app.config, pairs, serve).await
        }
        ["segments", id, "members"] => {
            analytics::report::segment_members(app.db, app.config, id, request.query_pairs()).await
        }
        ["trends"] => {
            let (pairs, serve) = with_serve_context(app, request)?;
            analytics::trends::trends(app.db, app.config, pairs, serve).await
        }
        _ => Err(ApiError::RouteNotFound(format!("/v1/analytics/{}", rest.join("/")).chars().take(100).collect())),
    }
}

/// Reads `restart=true|false` and `mode=incremental|full` for `POST /v1/admin/sync`.
fn sync_options(pairs: &[(String, String)]) -> Result<sync::StepOptions, ApiError> {
    let mut options = sync::StepOptions::default();
    for (name, value) in pairs {
        match (name.as_str(), value.as_str()) {
            ("restart", "true") => options.restart = true,
            ("restart", "false") => options.restart = false,
            ("mode", "full") => options.mode = sync::SyncMode::Full,
            ("mode", "incremental") => options.mode = sync::SyncMode::Incremental,
            ("restart", other) => {
                return Err(QueryError::Invalid {
                    parameter: "restart",
                    reason: format!("`{other}` is not `true` or `false`"),
                }
                .into())
            }
            ("mode", other) => {
                return Err(QueryError::Invalid {
                    parameter: "mode",
                    reason: format!("`{other}` is not `incremental` or `full`"),
                }
                .into())
            }
            (other, _) => return Err(QueryError::Unknown(other.chars().take(40).collect()).into()),
        }
    }
    Ok(options)
}

fn serve_context(
    app: &App<'_, impl Database, impl Transport>,
    request: &ApiRequest,
    channel: Channel,
    campaign: Option<String>,
) -> ServeContext {
    ServeContext { channel, campaign, country: request.country.clone(), now: (app.clock)() }
}

/// Rejects a channel the site does not configure: rights never approve it, so every list would
/// come back empty without saying why.
fn configured_channel(config: &Config, channel: Channel) -> Result<Channel, ApiError> {
    if config.channels.contains(&channel) {
        return Ok(channel);
    }
    let accepted: Vec<&str> = config.channels.iter().map(Channel::as_str).collect();
    Err(QueryError::Invalid {
        parameter: "channel",
        reason: format!("`{channel}` is not a configured channel: use one of {}", accepted.join(", ")),
    }
    .into())
}

fn channel_param(config: &Config, request: &ApiRequest) -> Result<Channel, ApiError> {
    let mut channel = Channel::web();
    for (name, value) in request.query_pairs() {
        match name.as_str() {
            "channel" => {
                channel = value.parse().map_err(|reason| QueryError::Invalid { parameter: "channel", reason })?
            }
            other => return Err(QueryError::Unknown(other.chars().take(40).collect()).into()),
        }
    }
    configured_channel(config, channel)
}

async fn recommendations<D: Database, T: Transport>(
    app: &App<'_, D, T>,
    request: &ApiRequest,
) -> Result<ApiResponse, ApiError> {
    let pairs = request.query_pairs();
    let query = RecommendationQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    if let Some(segment) = &query.segment {
        analytics::known_segment(app.config, segment)?;
    }
    let channel = configured_channel(app.config, query.channel.clone())?;
    let serve = serve_context(app, request, channel, query.campaign.clone());

    let result = recommend::recommend(app.db, app.transport, app.config, &query, &serve, (app.new_id)()).await?;

    let mut response = ApiResponse::json(200, &result.response);
    let seconds_left = result.valid_until.map_or(MAX_CACHE_SECONDS, |until| (until - serve.now) / 1000);
    let max_age = seconds_left.min(MAX_CACHE_SECONDS);
    // Personalised responses, and responses whose rights change within a second, are not cached.
    if query.visitor_id.is_none() && max_age >= 1 {
        response.set_header("cache-control", format!("private, max-age={max_age}"));
    }
    Ok(response)
}

/// Parses the id in a path such as `/v1/assets/{id}`, reported as the `id` parameter.
pub(crate) fn path_id<I: std::str::FromStr<Err = InvalidId>>(id: &str) -> Result<I, ApiError> {
    id.parse().map_err(|e: InvalidId| QueryError::Invalid { parameter: "id", reason: e.to_string() }.into())
}

async fn asset_card<D: Database, T: Transport>(
    app: &App<'_, D, T>,
    request: &ApiRequest,
    id: &str,
) -> Result<ApiResponse, ApiError> {
    let id: MediaId = path_id(id)?;
    let channel = channel_param(app.config, request)?;
    let serve = serve_context(app, request, channel.clone(), None);
    let generation = catalog::active_catalog(app.db).await?.ok_or(ApiError::CatalogEmpty)?.generation;
    let unavailable = || ApiError::AssetUnavailable(id.to_string(), channel.to_string());

    let row = catalog::load_asset(app.db, generation, id.as_str()).await?.ok_or_else(unavailable)?;
    if !app.config.policy.evaluate(&row.rights(), &serve).is_allowed() {
        return Err(unavailable());
    }
    let card = AssetCard {
        id: id.clone(),
        title: row.title.clone(),
        creator: row.creator.clone(),
        caption: row.caption.clone(),
        credit: row.credit.clone(),
        copyright: row.copyright.clone(),
        image_url: app.config.image_url(id.as_str(), PAGE_IMAGE_WIDTH),
        width: row.width,
        height: row.height,
        keywords: row.keywords(),
        galleries: row.galleries().into_iter().filter_map(|g| g.parse().ok()).collect(),
    };
    Ok(ApiResponse::json(200, &card))
}

async fn gallery_card<D: Database, T: Transport>(
    app: &App<'_, D, T>,
    request: &ApiRequest,
    id: &str,
) -> Result<ApiResponse, ApiError> {
    let id: GalleryId = path_id(id)?;
    let serve = serve_context(app, request, channel_param(app.config, request)?, None);
    let generation = catalog::active_catalog(app.db).await?.ok_or(ApiError::CatalogEmpty)?.generation;

    let gallery = catalog::load_gallery(app.db, generation, id.as_str())
        .await?
        .filter(catalog::GalleryRow::is_public)
        .ok_or_else(|| ApiError::GalleryUnavailable(id.to_string()))?;
    let mut filter = RightsFilter::new(&app.config.policy, &serve);
    let cover = recommend::cover_for(app.db, generation, &gallery, &mut filter).await?;

    let card = GalleryCard {
        id: id.clone(),
        name: gallery.name.clone(),
        description: gallery.description.clone(),
        asset_count: u32::try_from(gallery.asset_count).unwrap_or(u32::MAX),
        cover_image_url: cover.map(|row| app.config.image_url(&row.id, GRID_IMAGE_WIDTH)),
        link: app.config.gallery_link(id.as_str()),
    };
    Ok(ApiResponse::json(200, &card))
}
