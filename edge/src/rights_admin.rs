//! Admin views of rights: why one asset is or is not allowed, and which licences end soon.

use std::collections::HashMap;

use loci_shared::api::{validate_token, QueryError};
use loci_shared::ids::MediaId;
use loci_shared::rights::{Channel, Decision, Rights, ServeContext};
use loci_shared::time::{format_instant, parse_instant, Millis};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::catalog::{self, GalleryRow};
use crate::config::Config;
use crate::db::{query_as, Database, Statement};
use crate::error::ApiError;
use crate::export::csv_field;
use crate::http::ApiResponse;

const MS_PER_DAY: Millis = 86_400_000;
/// Impressions newer than this count as "currently showing" an asset.
const SHOWING_WINDOW_DAYS: Millis = 30;

/// Reads `channel`, `campaign`, `country` and `at` (RFC 3339, default now) into a serve
/// context; other parameters are rejected.
fn explain_context(pairs: &[(String, String)], now: Millis, country: Option<String>) -> Result<ServeContext, ApiError> {
    let mut context = ServeContext { channel: Channel::web(), campaign: None, country, now };
    for (name, value) in pairs {
        match name.as_str() {
            "channel" => {
                context.channel =
                    value.parse().map_err(|reason| QueryError::Invalid { parameter: "channel", reason })?
            }
            "campaign" => context.campaign = Some(validate_token("campaign", value)?),
            "country" => {
                let code = value.trim().to_ascii_uppercase();
                if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(QueryError::Invalid {
                        parameter: "country",
                        reason: format!(
                            "`{}` is not a two-letter country code",
                            value.chars().take(40).collect::<String>()
                        ),
                    }
                    .into());
                }
                context.country = Some(code);
            }
            "at" => {
                context.now = parse_instant(value).ok_or_else(|| QueryError::Invalid {
                    parameter: "at",
                    reason: format!("`{value}` is not a date: use RFC 3339 such as 2027-03-01T12:00:00Z"),
                })?
            }
            other => return Err(QueryError::Unknown(other.chars().take(40).collect()).into()),
        }
    }
    Ok(context)
}

/// `GET /v1/admin/rights/{id}`: every check for one asset in one context, with the source
/// values the rights came from.
pub async fn explain(
    db: &impl Database,
    config: &Config,
    id: &str,
    pairs: &[(String, String)],
    now: Millis,
    country: Option<String>,
) -> Result<ApiResponse, ApiError> {
    let id: MediaId = crate::router::path_id(id)?;
    let context = explain_context(pairs, now, country)?;
    let generation = catalog::active_catalog(db).await?.ok_or(ApiError::CatalogEmpty)?.generation;
    let row = catalog::load_asset(db, generation, id.as_str())
        .await?
        .ok_or_else(|| ApiError::AssetUnavailable(id.to_string(), context.channel.to_string()))?;
    let rights: Rights = row.rights();

    let decision = config.policy.evaluate(&rights, &context);
    let checks: Vec<Value> = config
        .policy
        .explain(&rights, &context)
        .into_iter()
        .map(|outcome| json!({"check": outcome.check, "passed": outcome.failed.is_none(), "rule": outcome.failed.map(|r| r.code())}))
        .collect();
    let body = json!({
        "asset_id": id,
        "title": row.title,
        "context": {"channel": context.channel, "campaign": context.campaign, "country": context.country, "at": format_instant(context.now)},
        "decision": match decision { Decision::Allowed => "allowed", Decision::Denied(_) => "denied" },
        "denied_by": match decision { Decision::Allowed => None, Decision::Denied(rule) => Some(rule.code()) },
        "checks": checks,
        "rights": rights,
        "source_values": rights.raw,
    });
    Ok(ApiResponse::json(200, &body))
}

#[derive(Deserialize)]
struct Expiring {
    id: String,
    title: String,
    creator: Option<String>,
    galleries: String,
    licence_end: i64,
}

#[derive(Deserialize)]
struct Showing {
    asset_id: String,
    placement: String,
    impressions: i64,
}

/// One asset whose licence ends soon.
#[derive(Debug, Clone, Serialize)]
pub struct LicenceAlert {
    /// Media id.
    pub asset_id: String,
    /// Title.
    pub title: String,
    /// Creator.
    pub creator: Option<String>,
    /// When the licence ends (RFC 3339).
    pub licence_end: String,
    /// Whole days left, rounded down.
    pub days_left: i64,
    /// Galleries holding it: `{id, name}`.
    pub galleries: Vec<Value>,
    /// Placements that showed it recently: `{placement, impressions}`.
    pub placements: Vec<Value>,
}

/// `GET /v1/admin/licence-alerts?within_days=N&format=json|csv`: assets whose licence ends
/// within `N` days (default 30), soonest first, with the galleries holding them and the
/// placements that showed them in the last 30 days.
pub async fn licence_alerts(
    db: &impl Database,
    pairs: &[(String, String)],
    now: Millis,
) -> Result<ApiResponse, ApiError> {
    let mut within_days = 30;
    let mut csv = false;
    for (name, value) in pairs {
        match name.as_str() {
            "within_days" => {
                within_days =
                    value.parse::<i64>().ok().filter(|d| (1..=365).contains(d)).ok_or_else(|| QueryError::Invalid {
                        parameter: "within_days",
                        reason: format!("`{value}` is not a whole number of days from 1 to 365 (14 and 30 are usual)"),
                    })?
            }
            "format" => {
                csv = match value.as_str() {
                    "json" => false,
                    "csv" => true,
                    _ => {
                        return Err(QueryError::Invalid {
                            parameter: "format",
                            reason: format!("`{value}` is not `json` or `csv`"),
                        }
                        .into())
                    }
                }
            }
            other => return Err(QueryError::Unknown(other.chars().take(40).collect()).into()),
        }
    }
    let generation = catalog::active_catalog(db).await?.ok_or(ApiError::CatalogEmpty)?.generation;

    let expiring: Vec<Expiring> = query_as(
        db,
        Statement::new(
            "SELECT id, title, creator, galleries, licence_end FROM assets \
             WHERE generation = ?1 AND licence_end IS NOT NULL AND licence_end > ?2 AND licence_end <= ?3 \
             ORDER BY licence_end, id LIMIT 5000",
            vec![generation.into(), now.into(), (now + within_days * MS_PER_DAY).into()],
        ),
    )
    .await?;
    let ids: Vec<String> = expiring.iter().map(|e| e.id.clone()).collect();
    let showing: Vec<Showing> = query_as(
        db,
        Statement::new(
            "SELECT asset_id, placement, COUNT(*) AS impressions FROM events \
             WHERE kind = 'impression' AND occurred_at >= ?2 AND asset_id IN (SELECT value FROM json_each(?1)) \
             GROUP BY asset_id, placement ORDER BY impressions DESC",
            vec![Value::from(ids).to_string().into(), (now - SHOWING_WINDOW_DAYS * MS_PER_DAY).into()],
        ),
    )
    .await?;
    let mut placements: HashMap<String, Vec<Value>> = HashMap::new();
    for row in showing {
        placements
            .entry(row.asset_id)
            .or_default()
            .push(json!({"placement": row.placement, "impressions": row.impressions}));
    }
    let gallery_ids: Vec<String> =
        expiring.iter().flat_map(|e| serde_json::from_str::<Vec<String>>(&e.galleries).unwrap_or_default()).collect();
    let mut unique = gallery_ids.clone();
    unique.sort();
    unique.dedup();
    let names: HashMap<String, GalleryRow> =
        catalog::load_galleries(db, generation, &unique).await?.into_iter().map(|g| (g.id.clone(), g)).collect();

    let alerts: Vec<LicenceAlert> = expiring
        .into_iter()
        .map(|e| LicenceAlert {
            galleries: serde_json::from_str::<Vec<String>>(&e.galleries)
                .unwrap_or_default()
                .into_iter()
                .map(|g| json!({"id": g, "name": names.get(&g).map(|row| row.name.clone())}))
                .collect(),
            placements: placements.remove(&e.id).unwrap_or_default(),
            days_left: (e.licence_end - now) / MS_PER_DAY,
            licence_end: format_instant(e.licence_end),
            asset_id: e.id,
            title: e.title,
            creator: e.creator,
        })
        .collect();

    if !csv {
        return Ok(ApiResponse::json(
            200,
            &json!({"within_days": within_days, "generated_at": format_instant(now), "alerts": alerts}),
        ));
    }
    let mut out = String::from("asset_id,title,creator,licence_end,days_left,galleries,placements\n");
    for alert in &alerts {
        let galleries: Vec<String> =
            alert.galleries.iter().filter_map(|g| g["name"].as_str().or(g["id"].as_str()).map(str::to_owned)).collect();
        let placements: Vec<String> = alert
            .placements
            .iter()
            .map(|p| format!("{} ({})", p["placement"].as_str().unwrap_or(""), p["impressions"]))
            .collect();
        let fields = [
            csv_field(&alert.asset_id),
            csv_field(&alert.title),
            csv_field(alert.creator.as_deref().unwrap_or("")),
            alert.licence_end.clone(),
            alert.days_left.to_string(),
            csv_field(&galleries.join("; ")),
            csv_field(&placements.join("; ")),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    let mut response = ApiResponse::text(200, "text/csv; charset=utf-8", out);
    response.set_header("content-disposition", format!("attachment; filename=\"licence-alerts-{within_days}d.csv\""));
    Ok(response)
}
