//! Trending themes: keywords or galleries whose clicks rise fastest, with approved assets.

use std::collections::HashMap;

use loci_shared::rights::{RightsFilter, ServeContext};
use loci_shared::time::{format_day, Millis, MS_PER_DAY};
use serde::Deserialize;
use serde_json::{json, Value};

use super::Params;
use crate::catalog::{self, AssetRow};
use crate::config::Config;
use crate::db::{query_as, Database, Statement};
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::recommend::GRID_IMAGE_WIDTH;

/// Minimum clicks a theme needs in the recent window to count as a trend.
const MIN_RECENT_CLICKS: i64 = 3;
/// Assets shown per theme.
const ASSETS_PER_THEME: usize = 4;

#[derive(Debug, Deserialize)]
struct ThemeCounts {
    key: String,
    recent_clicks: i64,
    previous_clicks: i64,
    recent_impressions: i64,
}

/// Scores how fast a theme rises: the change in clicks scaled by the square root of the clicks,
/// so that 40 → 80 outranks 1 → 4 although its ratio is smaller. A theme with no previous
/// clicks scores by its recent clicks alone.
pub fn rise_score(recent: i64, previous: i64) -> f64 {
    (recent - previous) as f64 / ((recent + previous) as f64 + 1.0).sqrt()
}

/// Builds a compact card of an asset proposed for use.
pub fn asset_card(config: &Config, row: &AssetRow) -> Value {
    json!({
        "id": row.id, "title": row.title, "creator": row.creator,
        "image_url": config.image_url(&row.id, GRID_IMAGE_WIDTH), "link": config.asset_link(&row.id),
    })
}

/// Assets of a theme most clicked recently, then other members, that the filter admits.
async fn theme_assets(
    db: &impl Database,
    config: &Config,
    generation: i64,
    by: &str,
    key: &str,
    since_day: &str,
    filter: &mut RightsFilter<'_>,
) -> Result<Vec<Value>, ApiError> {
    let (membership, member_key) = match by {
        "keyword" => ("SELECT asset_id FROM asset_terms WHERE generation = ?1 AND term = 'kw:' || ?2", key),
        _ => ("SELECT asset_id FROM gallery_assets WHERE generation = ?1 AND gallery_id = ?2", key),
    };
    #[derive(Deserialize)]
    struct Id {
        asset_id: String,
    }
    let ranked: Vec<Id> = query_as(
        db,
        Statement::new(
            format!(
                "WITH members (asset_id) AS ({membership} LIMIT 2000) \
                 SELECT m.asset_id, coalesce(sum(d.clicks), 0) AS clicks FROM members m \
                 LEFT JOIN engagement_daily d ON d.dimension = 'asset' AND d.key = m.asset_id AND d.day >= ?3 \
                 GROUP BY m.asset_id ORDER BY clicks DESC, m.asset_id LIMIT 40"
            ),
            vec![generation.into(), member_key.into(), since_day.into()],
        ),
    )
    .await?;
    let ids: Vec<String> = ranked.into_iter().map(|r| r.asset_id).collect();
    let rows = catalog::load_assets(db, generation, &ids).await?;
    Ok(ids
        .iter()
        .filter_map(|id| rows.get(id))
        .filter(|row| filter.admit(&row.rights()))
        .take(ASSETS_PER_THEME)
        .map(|row| asset_card(config, row))
        .collect())
}

/// `GET /v1/analytics/trends?window=7&by=keyword|gallery`: themes whose clicks in the last
/// `window` days rose most against the `window` days before, each with assets the channel may
/// show, for campaign planning.
pub async fn trends(
    db: &impl Database,
    config: &Config,
    pairs: Vec<(String, String)>,
    serve: ServeContext,
) -> Result<ApiResponse, ApiError> {
    let params = Params::new(pairs, &["window", "by", "limit", "channel", "campaign", "placement"])?;
    let window = params.number("window", 7, 1..=45)?;
    let by = params.choice("by", &["keyword", "gallery"])?;
    let limit = params.number("limit", 10, 1..=50)?;
    let placement = params.token("placement")?;
    let now: Millis = serve.now;
    let today = now.div_euclid(MS_PER_DAY) * MS_PER_DAY;
    let recent_start = format_day(today - (window - 1) * MS_PER_DAY);
    let previous_start = format_day(today - (2 * window - 1) * MS_PER_DAY);

    let counts: Vec<ThemeCounts> = query_as(
        db,
        Statement::new(
            "SELECT key, sum(CASE WHEN day >= ?2 THEN clicks ELSE 0 END) AS recent_clicks, \
             sum(CASE WHEN day < ?2 THEN clicks ELSE 0 END) AS previous_clicks, \
             sum(CASE WHEN day >= ?2 THEN impressions ELSE 0 END) AS recent_impressions \
             FROM engagement_daily WHERE dimension = ?1 AND day >= ?3 AND day <= ?4 AND (?5 IS NULL OR placement = ?5) \
             GROUP BY key HAVING recent_clicks >= ?6 ORDER BY recent_clicks DESC LIMIT 5000",
            vec![
                by.into(),
                recent_start.clone().into(),
                previous_start.clone().into(),
                format_day(today).into(),
                placement.clone().into(),
                MIN_RECENT_CLICKS.into(),
            ],
        ),
    )
    .await?;
    let mut rising: Vec<(f64, ThemeCounts)> = counts
        .into_iter()
        .map(|c| (rise_score(c.recent_clicks, c.previous_clicks), c))
        .filter(|(score, _)| *score > 0.0)
        .collect();
    rising.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.key.cmp(&b.1.key)));

    let Some(generation) = catalog::active_catalog(db).await?.map(|c| c.generation) else {
        return Err(ApiError::CatalogEmpty);
    };
    let gallery_names: HashMap<String, catalog::GalleryRow> = if by == "gallery" {
        let ids: Vec<String> = rising.iter().map(|(_, c)| c.key.clone()).take(200).collect();
        catalog::load_galleries(db, generation, &ids).await?.into_iter().map(|g| (g.id.clone(), g)).collect()
    } else {
        HashMap::new()
    };

    let mut filter = RightsFilter::new(&config.policy, &serve);
    let mut themes = Vec::new();
    for (score, theme) in &rising {
        if themes.len() as i64 >= limit {
            break;
        }
        let label = if by == "gallery" {
            match gallery_names.get(&theme.key).filter(|g| g.is_public()) {
                Some(gallery) => gallery.name.clone(),
                None => continue,
            }
        } else {
            theme.key.clone()
        };
        let assets = theme_assets(db, config, generation, by, &theme.key, &recent_start, &mut filter).await?;
        if assets.is_empty() {
            continue;
        }
        themes.push(json!({
            "key": theme.key, "label": label, "recent_clicks": theme.recent_clicks,
            "previous_clicks": theme.previous_clicks, "recent_impressions": theme.recent_impressions,
            "growth": (theme.recent_clicks as f64 + 1.0) / (theme.previous_clicks as f64 + 1.0),
            "score": score, "assets": assets,
        }));
    }
    Ok(ApiResponse::json(
        200,
        &json!({
            "window_days": window, "by": by, "recent_from": recent_start, "previous_from": previous_start,
            "to": format_day(today), "channel": serve.channel.as_str(), "themes": themes,
            "filtered": filter.into_report().into_counts(),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::rise_score;

    #[test]
    fn steady_volume_rises_above_small_jumps() {
        assert!(rise_score(80, 40) > rise_score(4, 1));
        assert!(rise_score(10, 10).abs() < f64::EPSILON);
        assert!(rise_score(2, 9) < 0.0);
    }
}
