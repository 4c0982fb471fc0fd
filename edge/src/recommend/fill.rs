//! Lists ranked by engagement (trending, popular, popular in a segment) and the cold-start
//! chain that fills related lists too short to survive the rights filter.

use std::collections::{HashMap, HashSet};

use loci_shared::api::{ReasonCode, RecommendationQuery, Scenario};
use loci_shared::rank::Signals;
use loci_shared::strategy::{ColdStartSource, Strategy};
use loci_shared::time::Millis;
use serde::Deserialize;

use super::{content_candidates, content_reason, listed, Candidate};
use crate::catalog::ActiveCatalog;
use crate::db::{query_as, query_optional, Database, Statement};
use crate::error::ApiError;

/// Reason text of assets popular in the visitor's segment.
pub(super) const SEGMENT_POPULAR_TEXT: &str = "Popular with readers like you";
/// Assets read from one segment's popularity list.
const SEGMENT_POPULAR_LIMIT: i64 = 100;

pub(super) const MS_PER_DAY: i64 = 86_400_000;
/// Weight of a click against an impression in trending scores.
const CLICK_WEIGHT: f64 = 5.0;
/// Window of the popular list that fills up thin related lists for new assets and visitors.
pub(super) const COLD_START_WINDOW_DAYS: u32 = 30;

#[derive(Deserialize)]
struct DailyEngagement {
    asset_id: String,
    day: i64,
    clicks: f64,
    impressions: f64,
}

/// Assets ranked by engagement in the last `window_days`, optionally only those with an index
/// term (`kw:…` or `col:…`). `decay` weights recent days more: trending uses a half-life of
/// half the window; popular (no decay) counts clicks only.
pub(super) async fn engagement_ranked(
    db: &impl Database,
    generation: i64,
    now: Millis,
    window_days: u32,
    term: Option<String>,
    decay: bool,
) -> Result<Vec<(String, f64)>, ApiError> {
    // NOTE: this reads the raw events of the window on every request. A daily aggregate table
    // maintained by the cron trigger would keep it cheap at high event volumes.
    let rows: Vec<DailyEngagement> = query_as(
        db,
        Statement::new(
            format!(
                "SELECT asset_id, occurred_at / 86400000 AS day, \
                 SUM(kind = 'click') AS clicks, SUM(kind = 'impression') AS impressions FROM events e \
                 WHERE {} \
                 AND (?4 IS NULL OR asset_id IN (SELECT asset_id FROM asset_terms WHERE generation = ?3 AND term = ?4)) \
                 GROUP BY asset_id, day",
                crate::events::counted("e", "occurred_at >= ?1 AND occurred_at <= ?2 AND asset_id IS NOT NULL")
            ),
            vec![(now - i64::from(window_days) * MS_PER_DAY).into(), now.into(), generation.into(), term.into()],
        ),
    )
    .await?;

    let today = now / MS_PER_DAY;
    let half_life = (f64::from(window_days) / 2.0).max(1.0);
    let mut scores: HashMap<String, f64> = HashMap::new();
    for row in rows {
        let score = if decay {
            (row.clicks * CLICK_WEIGHT + row.impressions) * 0.5f64.powf((today - row.day) as f64 / half_life)
        } else {
            row.clicks
        };
        *scores.entry(row.asset_id).or_default() += score;
    }
    let mut ranked: Vec<(String, f64)> = scores.into_iter().filter(|(_, score)| *score > 0.0).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(ranked)
}

/// Returns the segment a request ranks for: its `segment` parameter, else the segment stored
/// in `visitor_segments` for its visitor, when the strategy or scenario uses segments at all.
pub(super) async fn request_segment(
    db: &impl Database,
    query: &RecommendationQuery,
    strategy: &Strategy,
) -> Result<Option<String>, ApiError> {
    #[derive(Deserialize)]
    struct Assigned {
        segment: String,
    }

    if let Some(segment) = &query.segment {
        return Ok(Some(segment.clone()));
    }
    let uses_segments =
        query.scenario == Scenario::PopularInSegment || strategy.cold_start.contains(&ColdStartSource::SegmentPopular);
    let Some(visitor) = query.visitor_id.as_deref().filter(|_| uses_segments) else { return Ok(None) };
    let assigned: Option<Assigned> = query_optional(
        db,
        Statement::new("SELECT segment FROM visitor_segments WHERE visitor_id = ?1", vec![visitor.into()]),
    )
    .await?;
    Ok(assigned.map(|a| a.segment))
}

/// Returns the assets a segment clicked most, best first, from `segment_popularity`.
pub(super) async fn segment_popular(db: &impl Database, segment: &str) -> Result<Vec<(String, f64)>, ApiError> {
    #[derive(Deserialize)]
    struct Scored {
        asset_id: String,
        score: f64,
    }
    let rows: Vec<Scored> = query_as(
        db,
        Statement::new(
            "SELECT asset_id, score FROM segment_popularity WHERE segment = ?1 AND score > 0 \
             ORDER BY score DESC, asset_id LIMIT ?2",
            vec![segment.into(), SEGMENT_POPULAR_LIMIT.into()],
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.asset_id, r.score)).collect())
}

/// Candidates of a segment's popularity list, with the segment's reason text.
pub(super) fn segment_listed(ranked: Vec<(String, f64)>, excluded: &[&str]) -> Vec<Candidate> {
    let mut candidates = listed(ranked, ReasonCode::Popular, excluded);
    for candidate in &mut candidates {
        candidate.fixed_text = Some(SEGMENT_POPULAR_TEXT);
    }
    candidates
}

/// Sources the cold-start chain of one request may draw on.
pub(super) struct ColdStart<'a> {
    /// The sources to try, in order.
    pub chain: &'a [ColdStartSource],
    /// The context asset, for the `content` source; `None` for gallery contexts.
    pub context_asset: Option<&'a str>,
    /// Whether content candidates are already in the ranked list, so the `content` source
    /// would add nothing.
    pub content_ranked: bool,
    /// The request's segment, for the `segment_popular` source.
    pub segment: Option<&'a str>,
}

/// Appends candidates from the chain's sources, in order, while the ranked list is shorter
/// than `count * 3` (a new asset, one with rare terms, or a strategy without content). Ranked
/// candidates stay first, each source's candidates follow in its own order, and nothing is
/// added at random. The threshold does not depend on the request's cursor, so every page of
/// one list is cut from the same candidates.
pub(super) async fn with_cold_start(
    db: &impl Database,
    catalog: ActiveCatalog,
    now: Millis,
    mut ranked: Vec<Candidate>,
    count: usize,
    excluded: &[&str],
    fill: &ColdStart<'_>,
) -> Result<Vec<Candidate>, ApiError> {
    for source in fill.chain {
        if ranked.len() >= count * 3 {
            break;
        }
        let extra = match source {
            ColdStartSource::Content => match fill.context_asset.filter(|_| !fill.content_ranked) {
                Some(asset_id) => content_candidates(db, catalog, asset_id)
                    .await?
                    .into_iter()
                    .filter(|(id, _, _)| !excluded.contains(&id.as_str()))
                    .map(|(id, _, terms)| Candidate {
                        id,
                        signals: Signals::default(),
                        default_reason: content_reason(&terms),
                        matched_terms: terms,
                        fixed_text: None,
                    })
                    .collect(),
                None => continue,
            },
            ColdStartSource::SegmentPopular => match fill.segment {
                Some(segment) => segment_listed(segment_popular(db, segment).await?, excluded),
                None => continue,
            },
            ColdStartSource::Popular => {
                let popular =
                    engagement_ranked(db, catalog.generation, now, COLD_START_WINDOW_DAYS, None, false).await?;
                listed(popular, ReasonCode::Popular, excluded)
            }
        };
        let present: HashSet<String> = ranked.iter().map(|c| c.id.clone()).collect();
        ranked.extend(extra.into_iter().filter(|c| !present.contains(&c.id)).map(|mut candidate| {
            // Fill-ins rank after every candidate already in the list.
            candidate.signals = Signals::default();
            candidate
        }));
    }
    Ok(ranked)
}
