//! Read endpoints over the aggregates: engagement by dimension, the raw events export with
//! attribution, segments with their members, and experiment results.

use std::collections::HashMap;

use loci_shared::rights::{RightsFilter, ServeContext};
use loci_shared::time::{format_instant, Millis};
use serde::Deserialize;
use serde_json::{json, Value};

use super::experiments::{self, difference, wilson, Experiment};
use super::{aggregate, ctr, known_segment, DayRange, Params};
use crate::catalog::{self, GalleryRow};
use crate::config::Config;
use crate::db::{query_as, Database, Statement};
use crate::error::ApiError;
use crate::export::{Format, Table};
use crate::http::ApiResponse;
use crate::recommend;

/// Maximum rows in one JSON response.
pub const MAX_JSON_ROWS: i64 = 1000;
/// Maximum rows in one CSV or NDJSON export; larger exports are paged. The response is built
/// in memory, and 10,000 event rows take an estimated 15 MB there (rows as JSON values plus
/// the text), well inside a Workers isolate's 128 MB.
///
/// NOTE: a streamed body (a `ReadableStream` fed page by page from D1) would lift this cap
/// without raising memory, but the router's responses are whole byte buffers today.
pub const MAX_EXPORT_ROWS: i64 = 10_000;
/// The groupings `GET /v1/analytics/engagement` accepts.
pub const GROUPS: [&str; 7] = ["day", "asset", "gallery", "collection", "keyword", "placement", "segment"];
const SORTS: [&str; 4] = ["clicks", "impressions", "ctr", "dwell"];
const ALL_FORMATS: [Format; 3] = [Format::Json, Format::Csv, Format::Ndjson];

/// Reads `format` and `limit` for a list that can be exported. A JSON response contains at
/// most [`MAX_JSON_ROWS`] rows and an export at most [`MAX_EXPORT_ROWS`].
fn format_and_limit(params: &Params, default_limit: i64) -> Result<(Format, i64), ApiError> {
    let format = params.get("format").map_or(Ok(Format::Json), |f| Format::parse(f, &ALL_FORMATS))?;
    let most = if format == Format::Json { MAX_JSON_ROWS } else { MAX_EXPORT_ROWS };
    let limit = params.number("limit", default_limit.min(most), 1..=i64::MAX)?;
    if limit > most {
        return if format == Format::Json {
            Err(loci_shared::api::QueryError::Invalid {
                parameter: "limit",
                reason: format!("JSON answers hold at most {MAX_JSON_ROWS} rows; use format=csv or ndjson for more"),
            }
            .into())
        } else {
            Err(ApiError::ExportTooLarge { limit: MAX_EXPORT_ROWS as usize })
        };
    }
    Ok((format, limit))
}

#[derive(Debug, Deserialize)]
struct Counts {
    key: Option<String>,
    impressions: i64,
    clicks: i64,
    dwell_events: i64,
    dwell_ms: i64,
}

impl Counts {
    fn empty(key: Option<String>) -> Counts {
        Counts { key, impressions: 0, clicks: 0, dwell_events: 0, dwell_ms: 0 }
    }

    fn values(&self) -> [Value; 5] {
        let avg_dwell = if self.dwell_events > 0 { self.dwell_ms / self.dwell_events } else { 0 };
        [
            json!(self.impressions),
            json!(self.clicks),
            json!(ctr(self.clicks, self.impressions)),
            json!(self.dwell_events),
            json!(avg_dwell),
        ]
    }
}

/// Display names for keys of a dimension: asset titles, gallery and collection names.
async fn labels(db: &impl Database, group: &str, keys: &[String]) -> Result<HashMap<String, String>, ApiError> {
    let Some(generation) = catalog::active_catalog(db).await?.map(|c| c.generation) else {
        return Ok(HashMap::new());
    };
    let table = match group {
        "asset" => "assets",
        "gallery" => "galleries",
        "collection" => "collections",
        _ => return Ok(HashMap::new()),
    };
    #[derive(Deserialize)]
    struct Label {
        id: String,
        label: String,
    }
    let column = if table == "assets" { "title" } else { "name" };
    let rows: Vec<Label> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT id, {column} AS label FROM {table} WHERE generation = ?1 AND id IN (SELECT value FROM json_each(?2))"
            ),
            vec![generation.into(), Value::from(keys.to_vec()).to_string().into()],
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.label)).collect())
}

/// `GET /v1/analytics/engagement`: impressions, clicks, CTR and dwell per day or per asset,
/// gallery, collection, keyword, placement or segment, for a date range, optionally within
/// one placement or segment. JSON, CSV or NDJSON.
pub async fn engagement(
    db: &impl Database,
    config: &Config,
    pairs: Vec<(String, String)>,
    now: Millis,
) -> Result<ApiResponse, ApiError> {
    let params =
        Params::new(pairs, &["from", "to", "group", "placement", "segment", "sort", "limit", "offset", "format"])?;
    let range = DayRange::from_params(&params, now)?;
    let group = params.choice("group", &GROUPS)?;
    let sort = params.choice("sort", &SORTS)?;
    let placement = params.token("placement")?;
    let segment = params.segment(config)?;
    let (format, limit) = format_and_limit(&params, 50)?;
    let offset = params.number("offset", 0, 0..=1_000_000)?;

    // Totals and the day, placement and segment groupings read the placement dimension, because
    // it counts each event once. The other dimensions count an event once per gallery,
    // collection or keyword it belongs to.
    let (dimension, key) = match group {
        "day" => ("placement", "day"),
        "placement" => ("placement", "key"),
        "segment" => ("placement", "segment"),
        other => (other, "key"),
    };
    let filter = "day >= ?2 AND day <= ?3 AND (?4 IS NULL OR placement = ?4) AND (?5 IS NULL OR segment = ?5)";
    let sums = "sum(impressions) AS impressions, sum(clicks) AS clicks, sum(dwell_events) AS dwell_events, \
                sum(dwell_ms) AS dwell_ms";
    let order = match sort {
        "impressions" => "impressions DESC",
        // Additive smoothing keeps a key with one impression and one click from leading.
        // The sums are spelled out: inside an expression, `clicks` would name the table's column.
        "ctr" => "(sum(clicks) + 1.0) / (sum(impressions) + 20.0) DESC",
        "dwell" => "dwell_ms DESC",
        _ => "clicks DESC",
    };
    let base_params = || {
        vec![
            dimension.into(),
            range.from_text().into(),
            range.to_text().into(),
            placement.clone().into(),
            segment.clone().into(),
        ]
    };

    let mut totals_params = base_params();
    totals_params[0] = "placement".into();
    let totals: Vec<Counts> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT NULL AS key, coalesce(sum(impressions), 0) AS impressions, coalesce(sum(clicks), 0) AS clicks, \
                 coalesce(sum(dwell_events), 0) AS dwell_events, coalesce(sum(dwell_ms), 0) AS dwell_ms \
                 FROM engagement_daily WHERE dimension = ?1 AND {filter}"
            ),
            totals_params,
        ),
    )
    .await?;
    let totals = totals.into_iter().next().unwrap_or(Counts::empty(None));

    let mut statement_params = base_params();
    let sql = if group == "day" {
        format!("SELECT day AS key, {sums} FROM engagement_daily WHERE dimension = ?1 AND {filter} GROUP BY day")
    } else {
        statement_params.push(limit.into());
        statement_params.push(offset.into());
        format!(
            "SELECT {key} AS key, {sums} FROM engagement_daily WHERE dimension = ?1 AND {filter} \
             GROUP BY {key} ORDER BY {order}, key LIMIT ?6 OFFSET ?7"
        )
    };
    let mut rows: Vec<Counts> = query_as(db, Statement::new(sql, statement_params)).await?;
    if group == "day" {
        // One row per day in the range, zero when nothing happened.
        let mut by_day: HashMap<String, Counts> = rows.into_iter().filter_map(|c| Some((c.key.clone()?, c))).collect();
        rows = range
            .days()
            .into_iter()
            .map(|day| by_day.remove(&day).unwrap_or_else(|| Counts::empty(Some(day))))
            .collect();
    }

    let keys: Vec<String> = rows.iter().filter_map(|r| r.key.clone()).collect();
    let names = labels(db, group, &keys).await?;
    let mut table = Table::new(&["key", "label", "impressions", "clicks", "ctr", "dwell_events", "avg_dwell_ms"]);
    for row in &rows {
        let key = row.key.clone().unwrap_or_default();
        let label = names.get(&key).cloned().unwrap_or_else(|| key.clone());
        let mut values = vec![json!(key), json!(label)];
        values.extend(row.values());
        table.push(values);
    }
    let [impressions, clicks, ctr_total, dwell_events, avg_dwell_ms] = totals.values();
    let envelope = json!({
        "from": range.from_text(), "to": range.to_text(), "group": group, "sort": sort,
        "placement": placement, "segment": segment,
        "rows": table.objects(),
        "totals": {"impressions": impressions, "clicks": clicks, "ctr": ctr_total, "dwell_events": dwell_events, "avg_dwell_ms": avg_dwell_ms},
    });
    let stem = format!("engagement-{group}-{}-{}", range.from_text(), range.to_text());
    Ok(table.respond(format, &envelope, &stem))
}

/// Builds the `link` header that points at the next page of a full export page.
fn next_link(path: &str, params: &Params, names: &[&str], after: &str) -> String {
    let mut query: Vec<(String, String)> = names
        .iter()
        .filter(|name| **name != "after")
        .filter_map(|name| params.get(name).map(|value| ((*name).to_owned(), value.to_owned())))
        .collect();
    query.push(("after".to_owned(), after.to_owned()));
    let encoded = serde_urlencoded::to_string(&query).unwrap_or_default();
    format!("<{path}?{encoded}>; rel=\"next\"")
}

/// `GET /v1/analytics/events`: the raw events in a date range, in storage order (event id), each attributed
/// to the recommendation response that showed the item (`request_id`, placement, position)
/// and to the visitor's segment and experiment variant. Paged by event id with `after`.
pub async fn events_export(
    db: &impl Database,
    config: &Config,
    pairs: Vec<(String, String)>,
    now: Millis,
) -> Result<ApiResponse, ApiError> {
    const NAMES: [&str; 6] = ["from", "to", "format", "limit", "after", "kind"];
    let params = Params::new(pairs, &NAMES)?;
    let range = DayRange::from_params(&params, now)?;
    let (format, limit) = format_and_limit(&params, 1000)?;
    let after = params.number("after", 0, 0..=i64::MAX)?;
    let kind = params.get("kind").map(|_| params.choice("kind", &["impression", "click", "dwell"])).transpose()?;

    #[derive(Deserialize)]
    struct Row {
        id: i64,
        occurred_at: i64,
        received_at: i64,
        kind: String,
        request_id: String,
        placement: String,
        position: Option<i64>,
        context: String,
        asset_id: Option<String>,
        gallery_id: Option<String>,
        page_id: Option<String>,
        visitor_id: Option<String>,
        dwell_ms: Option<i64>,
        verified: Option<i64>,
        segment: Option<String>,
    }
    let rows: Vec<Row> = query_as(
        db,
        Statement::new(
            "SELECT e.id, e.occurred_at, e.received_at, e.kind, e.request_id, e.placement, e.position, e.context, \
             e.asset_id, e.gallery_id, e.page_id, e.visitor_id, e.dwell_ms, e.verified, vs.segment \
             FROM events e LEFT JOIN visitor_segments vs ON vs.visitor_id = e.visitor_id \
             WHERE e.id > ?1 AND e.occurred_at >= ?2 AND e.occurred_at < ?3 AND (?4 IS NULL OR e.kind = ?4) \
             ORDER BY e.id LIMIT ?5",
            vec![
                after.into(),
                range.first.into(),
                (range.last + loci_shared::time::MS_PER_DAY).into(),
                kind.map(str::to_owned).into(),
                limit.into(),
            ],
        ),
    )
    .await?;

    let mut table = Table::new(&[
        "event_id",
        "occurred_at",
        "received_at",
        "kind",
        "request_id",
        "placement",
        "position",
        "context",
        "asset_id",
        "gallery_id",
        "page_id",
        "visitor_id",
        "dwell_ms",
        "verified",
        "segment",
        "experiment",
        "variant",
    ]);
    for row in &rows {
        let segment = match (&row.segment, &row.visitor_id) {
            (Some(segment), _) => segment.clone(),
            (None, Some(_)) => super::segments::OTHER_SEGMENT.to_owned(),
            (None, None) => super::segments::ANONYMOUS_SEGMENT.to_owned(),
        };
        let assigned = experiments::assignment(
            &config.experiments,
            &row.placement,
            row.visitor_id.as_deref(),
            row.page_id.as_deref(),
            row.occurred_at,
        );
        table.push(vec![
            json!(row.id),
            json!(format_instant(row.occurred_at)),
            json!(format_instant(row.received_at)),
            json!(row.kind),
            json!(row.request_id),
            json!(row.placement),
            json!(row.position),
            json!(row.context),
            json!(row.asset_id),
            json!(row.gallery_id),
            json!(row.page_id),
            json!(row.visitor_id),
            json!(row.dwell_ms),
            json!(row.verified.map(|v| v != 0)),
            json!(segment),
            json!(assigned.map(|(e, _)| &e.id)),
            json!(assigned.map(|(_, v)| &v.name)),
        ]);
    }

    let next_after = (rows.len() as i64 == limit).then(|| rows.last().map(|r| r.id)).flatten();
    let envelope =
        json!({"from": range.from_text(), "to": range.to_text(), "events": table.objects(), "next_after": next_after});
    let mut response = table.respond(format, &envelope, &format!("events-{}-{}", range.from_text(), range.to_text()));
    if let Some(next) = next_after {
        response.set_header("link", next_link("/v1/analytics/events", &params, &NAMES, &next.to_string()));
    }
    Ok(response)
}

/// Galleries to promote to a segment: those holding the assets its members clicked most
/// (time-decayed), public, and with a cover the channel may show.
async fn galleries_to_promote(
    db: &impl Database,
    config: &Config,
    generation: i64,
    segment: &str,
    filter: &mut RightsFilter<'_>,
    wanted: usize,
) -> Result<Vec<Value>, ApiError> {
    #[derive(Deserialize)]
    struct Scored {
        gallery_id: String,
        score: f64,
    }
    let scored: Vec<Scored> = query_as(
        db,
        Statement::new(
            "SELECT ga.gallery_id, sum(sp.score) AS score FROM segment_popularity sp \
             JOIN gallery_assets ga ON ga.generation = ?1 AND ga.asset_id = sp.asset_id \
             WHERE sp.segment = ?2 GROUP BY ga.gallery_id ORDER BY score DESC, ga.gallery_id LIMIT 40",
            vec![generation.into(), segment.into()],
        ),
    )
    .await?;
    let ids: Vec<String> = scored.iter().map(|s| s.gallery_id.clone()).collect();
    let galleries: HashMap<String, GalleryRow> =
        catalog::load_galleries(db, generation, &ids).await?.into_iter().map(|g| (g.id.clone(), g)).collect();

    let mut out = Vec::new();
    for candidate in &scored {
        if out.len() >= wanted {
            break;
        }
        let Some(gallery) = galleries.get(&candidate.gallery_id).filter(|g| g.is_public()) else { continue };
        let Some(cover) = recommend::cover_for(db, generation, gallery, filter).await? else { continue };
        out.push(json!({
            "id": gallery.id, "name": gallery.name, "score": (candidate.score * 1000.0).round() / 1000.0,
            "asset_count": gallery.asset_count, "cover_image_url": config.image_url(&cover.id, recommend::GRID_IMAGE_WIDTH),
            "link": config.gallery_link(&gallery.id),
        }));
    }
    Ok(out)
}

/// `GET /v1/analytics/segments`: each segment's size, description, most clicked keywords and
/// the galleries to promote to it on a channel (rights checked for that channel).
pub async fn segments(
    db: &impl Database,
    config: &Config,
    pairs: Vec<(String, String)>,
    serve: ServeContext,
) -> Result<ApiResponse, ApiError> {
    Params::new(pairs, &["channel", "campaign"])?;
    let summaries = aggregate::stored_segment_summaries(db).await?;
    let generation = catalog::active_catalog(db).await?.map(|c| c.generation);
    let mut filter = RightsFilter::new(&config.policy, &serve);

    let mut out = Vec::new();
    let described = config.segments.iter().map(|r| (r.id.as_str(), r.description.as_str()));
    let other = std::iter::once((super::segments::OTHER_SEGMENT, "Consenting visitors no segment rule matched"));
    for (id, description) in described.chain(other) {
        let summary = summaries.iter().find(|s| s.id == id);
        let promote = match generation {
            Some(generation) => galleries_to_promote(db, config, generation, id, &mut filter, 4).await?,
            None => Vec::new(),
        };
        out.push(json!({
            "id": id, "description": description,
            "size": summary.map_or(0, |s| s.size),
            "top_keywords": summary.map(|s| s.top_keywords.clone()).unwrap_or_default(),
            "promote_galleries": promote,
        }));
    }
    let refreshed_at = aggregate::last_refreshed_at(db).await?.map(format_instant);
    let filtered = filter.into_report().into_counts();
    Ok(ApiResponse::json(
        200,
        &json!({"refreshed_at": refreshed_at, "channel": serve.channel.as_str(), "segments": out, "filtered": filtered}),
    ))
}

/// `GET /v1/analytics/segments/{id}/members`: the segment's pseudonymous visitor ids with the
/// behaviour that placed them there, for email and partner tools. Paged by visitor id.
pub async fn segment_members(
    db: &impl Database,
    config: &Config,
    segment: &str,
    pairs: Vec<(String, String)>,
) -> Result<ApiResponse, ApiError> {
    const NAMES: [&str; 3] = ["format", "limit", "after"];
    known_segment(config, segment)?;
    let params = Params::new(pairs, &NAMES)?;
    let (format, limit) = format_and_limit(&params, 1000)?;
    let after = params.get("after").unwrap_or("");

    #[derive(Deserialize)]
    struct Member {
        visitor_id: String,
        clicks: i64,
        impressions: i64,
        active_days: i64,
        first_seen_at: i64,
        last_seen_at: i64,
        top_keywords: String,
    }
    let members: Vec<Member> = query_as(
        db,
        Statement::new(
            "SELECT visitor_id, clicks, impressions, active_days, first_seen_at, last_seen_at, top_keywords \
             FROM visitor_segments WHERE segment = ?1 AND visitor_id > ?2 ORDER BY visitor_id LIMIT ?3",
            vec![segment.into(), after.into(), limit.into()],
        ),
    )
    .await?;

    let mut table = Table::new(&[
        "visitor_id",
        "segment",
        "clicks",
        "impressions",
        "active_days",
        "first_seen_at",
        "last_seen_at",
        "top_keywords",
    ]);
    for member in &members {
        let keywords: Value = serde_json::from_str(&member.top_keywords).unwrap_or_else(|_| json!([]));
        table.push(vec![
            json!(member.visitor_id),
            json!(segment),
            json!(member.clicks),
            json!(member.impressions),
            json!(member.active_days),
            json!(format_instant(member.first_seen_at)),
            json!(format_instant(member.last_seen_at)),
            keywords,
        ]);
    }
    let next_after = (members.len() as i64 == limit).then(|| members.last().map(|m| m.visitor_id.clone())).flatten();
    let envelope = json!({"segment": segment, "members": table.objects(), "next_after": next_after});
    let mut response = table.respond(format, &envelope, &format!("segment-{segment}"));
    if let Some(next) = next_after {
        response.set_header(
            "link",
            next_link(&format!("/v1/analytics/segments/{segment}/members"), &params, &NAMES, &next),
        );
    }
    Ok(response)
}

/// Computes one experiment's per-variant results in a date range.
async fn experiment_results(db: &impl Database, experiment: &Experiment, range: &DayRange) -> Result<Value, ApiError> {
    let rows: Vec<Counts> = query_as(
        db,
        Statement::new(
            "SELECT key, sum(impressions) AS impressions, sum(clicks) AS clicks, sum(dwell_events) AS dwell_events, \
             sum(dwell_ms) AS dwell_ms FROM engagement_daily \
             WHERE dimension = 'variant' AND day >= ?1 AND day <= ?2 AND key >= ?3 AND key < ?4 GROUP BY key",
            vec![
                range.from_text().into(),
                range.to_text().into(),
                format!("{}/", experiment.id).into(),
                format!("{}0", experiment.id).into(),
            ],
        ),
    )
    .await?;

    let counts_of = |name: &str| {
        let key = format!("{}/{name}", experiment.id);
        rows.iter().find(|r| r.key.as_deref() == Some(key.as_str())).map_or((0, 0), |r| (r.impressions, r.clicks))
    };
    let control = {
        let (impressions, clicks) = counts_of(&experiment.variants[0].name);
        wilson(clicks, impressions)
    };
    let variants: Vec<Value> = experiment
        .variants
        .iter()
        .enumerate()
        .map(|(i, variant)| {
            let (impressions, clicks) = counts_of(&variant.name);
            let rate = wilson(clicks, impressions);
            let mut out = json!({
                "name": variant.name, "weight": variant.weight, "is_control": i == 0,
                "impressions": impressions, "clicks": clicks, "ctr": rate.ctr, "ci_low": rate.ci_low, "ci_high": rate.ci_high,
            });
            if i > 0 {
                let (diff, low, high) = difference(control, rate);
                out["diff_vs_control"] = json!({"ctr": diff, "ci_low": low, "ci_high": high, "significant": low > 0.0 || high < 0.0});
            }
            out
        })
        .collect();
    Ok(json!({
        "id": experiment.id, "placement": experiment.placement, "start": experiment.start, "end": experiment.end,
        "unit": "visitor, or page view without consent", "variants": variants,
    }))
}

/// `GET /v1/analytics/experiments`: per-variant impressions, clicks and CTR with 95% Wilson
/// intervals, and each variant's difference from the control with a 95% interval.
pub async fn experiments(
    db: &impl Database,
    config: &Config,
    pairs: Vec<(String, String)>,
    now: Millis,
) -> Result<ApiResponse, ApiError> {
    let params = Params::new(pairs, &["from", "to", "id"])?;
    let range = DayRange::from_params(&params, now)?;
    let wanted = params.token("id")?;
    if let Some(id) = &wanted {
        if !config.experiments.iter().any(|e| &e.id == id) {
            let accepted: Vec<&str> = config.experiments.iter().map(|e| e.id.as_str()).collect();
            return Err(ApiError::UnknownName {
                kind: "experiment",
                id: id.clone(),
                accepted: if accepted.is_empty() {
                    "none (set LOCI_EXPERIMENTS)".to_owned()
                } else {
                    accepted.join(", ")
                },
            });
        }
    }
    let mut out = Vec::new();
    for experiment in config.experiments.iter().filter(|e| wanted.as_ref().is_none_or(|id| &e.id == id)) {
        out.push(experiment_results(db, experiment, &range).await?);
    }
    Ok(ApiResponse::json(200, &json!({"from": range.from_text(), "to": range.to_text(), "experiments": out})))
}
