//! The embedded recommender: candidates from the catalog cache and recorded clicks, ranked,
//! filtered by rights at serve time, and diversified.
//!
//! For an asset context, candidates come from three sources:
//! - content similarity: assets sharing index terms (keywords, categories, creator, gallery,
//!   collection) with the context, each shared term weighted by its inverse document
//!   frequency, computed in SQL over the `asset_terms` inverted index;
//! - co-views: assets opened from the context's page (`co_views`);
//! - for a visitor who consented to an id, assets opened from the pages of what they opened
//!   recently.
//!
//! For a gallery context, the gallery's own members lead, followed by co-views.
//! The rights filter runs last, on the ranked list, for every request.

use std::collections::{BTreeMap, HashMap, HashSet};

use loci_shared::api::remote::CandidatesRequest;
use loci_shared::api::Scenario;
use loci_shared::api::{
    ContextRef, Reason, ReasonCode, RecommendationQuery, RecommendationResponse, RecommendedAsset, RecommendedGallery,
};
use loci_shared::ids::{GalleryId, MediaId};
use loci_shared::rank::{diversify, Blend, DiversityCaps, Signals};
use loci_shared::rights::{RightsFilter, ServeContext};
use loci_shared::time::Millis;
use serde::Deserialize;
use serde_json::Value;

use crate::catalog::{self, ActiveCatalog, AssetRow, GalleryRow};
use crate::config::Config;
use crate::db::{query_as, Database, Statement};
use crate::error::ApiError;
use crate::outbound::Transport;
use crate::remote;

/// Terms held by more assets than this are too common to generate candidates from (they
/// would add little weight and cost a large scan); they still count when scoring.
const MAX_TERM_FANOUT: i64 = 5_000;
/// Content candidates fetched per request.
const CONTENT_CANDIDATES: i64 = 150;
/// Gallery members considered for a gallery context.
const GALLERY_MEMBERS: i64 = 200;
/// Candidates whose rights are loaded per round trip.
const RIGHTS_CHUNK: usize = 60;
/// Width of grid images, in pixels.
pub const GRID_IMAGE_WIDTH: u32 = 600;

/// Relative weight of each term kind in content similarity.
fn term_kind_weight(term: &str) -> f64 {
    match term.split_once(':').map(|(kind, _)| kind) {
        Some("gal") => 1.5,
        Some("by") => 1.2,
        Some("kw") => 1.0,
        _ => 0.3,
    }
}

/// A ranked candidate before the rights filter.
#[derive(Debug, Clone)]
struct Candidate {
    id: String,
    signals: Signals,
    matched_terms: Vec<String>,
    default_reason: ReasonCode,
}

/// An allowed candidate, ready to render.
struct Chosen {
    candidate: Candidate,
    row: AssetRow,
}

#[derive(Deserialize)]
struct TermCount {
    term: String,
    asset_count: i64,
}

#[derive(Deserialize)]
struct Scored {
    id: String,
    score: f64,
    terms: String,
}

#[derive(Deserialize)]
struct Clicks {
    asset_id: String,
    clicks: f64,
}

/// Content candidates for an asset, best first, with the terms each shares with it.
async fn content_candidates(
    db: &impl Database,
    catalog: ActiveCatalog,
    asset_id: &str,
) -> Result<Vec<(String, f64, Vec<String>)>, ApiError> {
    let terms: Vec<TermCount> = query_as(
        db,
        Statement::new(
            "SELECT t.term, s.asset_count FROM asset_terms t JOIN term_stats s ON s.generation = t.generation AND s.term = t.term \
             WHERE t.generation = ?1 AND t.asset_id = ?2 ORDER BY s.asset_count",
            vec![catalog.generation.into(), asset_id.into()],
        ),
    )
    .await?;

    let total = catalog.asset_count.max(1) as f64;
    let mut weighted: Vec<(String, f64)> = Vec::new();
    for (rank, term) in terms.iter().enumerate() {
        let usable = term.asset_count >= 2 && (term.asset_count <= MAX_TERM_FANOUT || rank < 2);
        if usable {
            let idf = ((total + 1.0) / term.asset_count as f64).ln();
            weighted.push((term.term.clone(), idf * term_kind_weight(&term.term)));
        }
    }
    if weighted.is_empty() {
        return Ok(Vec::new());
    }

    let weights =
        Value::from(weighted.iter().map(|(term, weight)| serde_json::json!([term, weight])).collect::<Vec<_>>());
    let scored: Vec<Scored> = query_as(
        db,
        Statement::new(
            "WITH w (term, weight) AS MATERIALIZED (SELECT value ->> '$[0]', value ->> '$[1]' FROM json_each(?2)) \
             SELECT t.asset_id AS id, SUM(w.weight) AS score, group_concat(w.term, '|') AS terms \
             FROM w CROSS JOIN asset_terms t ON t.generation = ?1 AND t.term = w.term \
             WHERE t.asset_id <> ?3 GROUP BY t.asset_id ORDER BY score DESC, t.asset_id LIMIT ?4",
            vec![catalog.generation.into(), weights.to_string().into(), asset_id.into(), CONTENT_CANDIDATES.into()],
        ),
    )
    .await?;
    Ok(scored.into_iter().map(|s| (s.id, s.score, s.terms.split('|').map(str::to_owned).collect())).collect())
}

/// Co-view counts from the given contexts' pages, best first.
async fn co_viewed(db: &impl Database, contexts: &[String]) -> Result<Vec<(String, f64)>, ApiError> {
    if contexts.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Clicks> = query_as(
        db,
        Statement::new(
            "SELECT asset_id, SUM(clicks) AS clicks FROM co_views WHERE context IN (SELECT value FROM json_each(?1)) \
             GROUP BY asset_id ORDER BY clicks DESC, asset_id LIMIT 50",
            vec![Value::from(contexts.to_vec()).to_string().into()],
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.asset_id, r.clicks)).collect())
}

/// Returns the assets a visitor clicked most recently, newest first.
async fn recent_clicks(db: &impl Database, visitor_id: &str) -> Result<Vec<String>, ApiError> {
    #[derive(Deserialize)]
    struct Recent {
        asset_id: String,
    }
    let rows: Vec<Recent> = query_as(
        db,
        Statement::new(
            "SELECT asset_id FROM events WHERE visitor_id = ?1 AND kind = 'click' AND asset_id IS NOT NULL \
             GROUP BY asset_id ORDER BY MAX(occurred_at) DESC LIMIT 5",
            vec![visitor_id.into()],
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.asset_id).collect())
}

fn normalise(values: &mut [(String, f64)]) {
    let max = values.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    if max > 0.0 {
        for (_, value) in values.iter_mut() {
            *value /= max;
        }
    }
}

fn content_reason(matched: &[String]) -> ReasonCode {
    if matched.iter().any(|t| t.starts_with("gal:")) {
        ReasonCode::SameGallery
    } else if matched.iter().any(|t| t.starts_with("by:")) {
        ReasonCode::SameCreator
    } else {
        ReasonCode::SimilarSubjects
    }
}

fn reason_text(code: ReasonCode, candidate: &Candidate, row: &AssetRow) -> String {
    match code {
        ReasonCode::SimilarSubjects => {
            let subjects: Vec<&str> =
                candidate.matched_terms.iter().filter_map(|t| t.strip_prefix("kw:")).take(3).collect();
            if subjects.is_empty() {
                "Similar in subject".to_owned()
            } else {
                format!("Shares subjects: {}", subjects.join(", "))
            }
        }
        ReasonCode::SameCreator => format!("Also by {}", row.creator.as_deref().unwrap_or("the same artist")),
        ReasonCode::SameGallery => "From the same gallery".to_owned(),
        ReasonCode::ViewedTogether => "Readers of this page also opened it".to_owned(),
        ReasonCode::ForYou => "Close to what you viewed recently".to_owned(),
        ReasonCode::InThisGallery => "In this gallery".to_owned(),
        ReasonCode::RelatedGallery => "Related gallery".to_owned(),
        ReasonCode::Recommended => "Recommended for this page".to_owned(),
        ReasonCode::Trending => "Trending now".to_owned(),
        ReasonCode::Popular => "Popular with readers".to_owned(),
        ReasonCode::RecentlyViewed => "You viewed this recently".to_owned(),
    }
}

/// Merges signal lists into ranked candidates, excluding `excluded` ids.
fn rank(
    content: Vec<(String, f64, Vec<String>)>,
    mut co_views: Vec<(String, f64)>,
    mut personal: Vec<(String, f64)>,
    content_default: Option<ReasonCode>,
    excluded: &[&str],
    blend: &Blend,
) -> Vec<Candidate> {
    let mut by_id: HashMap<String, Candidate> = HashMap::new();
    let max_content = content.iter().map(|(_, s, _)| *s).fold(0.0, f64::max);
    for (id, score, terms) in content {
        let signals =
            Signals { content: if max_content > 0.0 { score / max_content } else { 0.0 }, ..Signals::default() };
        let default_reason = content_default.unwrap_or_else(|| content_reason(&terms));
        by_id.insert(id.clone(), Candidate { id, signals, matched_terms: terms, default_reason });
    }
    normalise(&mut co_views);
    normalise(&mut personal);
    let empty = |id: &str| Candidate {
        id: id.to_owned(),
        signals: Signals::default(),
        matched_terms: Vec::new(),
        default_reason: ReasonCode::SimilarSubjects,
    };
    for (id, value) in co_views {
        by_id.entry(id.clone()).or_insert_with(|| empty(&id)).signals.co_view = value;
    }
    for (id, value) in personal {
        by_id.entry(id.clone()).or_insert_with(|| empty(&id)).signals.personal = value;
    }

    let mut ranked: Vec<Candidate> = by_id.into_values().filter(|c| !excluded.contains(&c.id.as_str())).collect();
    ranked.sort_by(|a, b| blend.score(&b.signals).total_cmp(&blend.score(&a.signals)).then_with(|| a.id.cmp(&b.id)));
    ranked
}

/// Ranks a remote service's candidates by its scores (ties by id), dropping excluded ids.
fn rank_remote(mut candidates: Vec<(String, f64)>, excluded: &[&str]) -> Vec<Candidate> {
    let mut seen = HashSet::new();
    candidates.retain(|(id, _)| seen.insert(id.clone()));
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    listed(candidates, ReasonCode::Recommended, excluded)
}

/// Walks the ranked list, keeping candidates whose rights the filter admits, until `wanted`
/// are kept or the list ends.
async fn filter_by_rights(
    db: &impl Database,
    generation: i64,
    filter: &mut RightsFilter<'_>,
    ranked: Vec<Candidate>,
    wanted: usize,
) -> Result<Vec<Chosen>, ApiError> {
    let mut chosen = Vec::new();
    for chunk in ranked.chunks(RIGHTS_CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|c| c.id.clone()).collect();
        let mut rows = catalog::load_assets(db, generation, &ids).await?;
        for candidate in chunk {
            let Some(row) = rows.remove(&candidate.id) else { continue };
            if filter.admit(&row.rights()) {
                chosen.push(Chosen { candidate: candidate.clone(), row });
            }
        }
        if chosen.len() >= wanted {
            break;
        }
    }
    Ok(chosen)
}

fn to_recommended(config: &Config, blend: &Blend, chosen: &Chosen) -> Option<RecommendedAsset> {
    let code = blend.dominant_reason(&chosen.candidate.signals, chosen.candidate.default_reason);
    let row = &chosen.row;
    Some(RecommendedAsset {
        id: row.id.parse::<MediaId>().ok()?,
        title: row.title.clone(),
        creator: row.creator.clone(),
        alt: row.caption.clone().unwrap_or_else(|| row.title.clone()),
        image_url: config.image_url(&row.id, GRID_IMAGE_WIDTH),
        width: row.width,
        height: row.height,
        link: config.asset_link(&row.id),
        reason: Reason { code, text: reason_text(code, &chosen.candidate, row) },
    })
}

/// Picks a cover for each gallery among assets the request may show, preferring the key image.
/// Members of a gallery tried as its cover, after its key image.
const COVER_CANDIDATES: i64 = 12;

/// Picks a gallery's cover among assets the filter admits: the key image when allowed, else
/// the first allowed member in gallery order. `None` when no candidate is allowed.
pub async fn cover_for(
    db: &impl Database,
    generation: i64,
    gallery: &GalleryRow,
    filter: &mut RightsFilter<'_>,
) -> Result<Option<AssetRow>, ApiError> {
    let mut candidates: Vec<String> = gallery.key_image_id.iter().cloned().collect();
    candidates.extend(catalog::gallery_members(db, generation, &gallery.id, COVER_CANDIDATES).await?);
    let mut rows = catalog::load_assets(db, generation, &candidates).await?;
    let chosen = candidates.iter().find(|id| rows.get(*id).is_some_and(|row| filter.admit(&row.rights())));
    Ok(chosen.and_then(|id| rows.remove(id)))
}

async fn galleries_with_covers(
    db: &impl Database,
    generation: i64,
    config: &Config,
    filter: &mut RightsFilter<'_>,
    galleries: Vec<(GalleryRow, ReasonCode)>,
    wanted: usize,
) -> Result<Vec<RecommendedGallery>, ApiError> {
    let mut out = Vec::new();
    for (gallery, code) in galleries {
        if out.len() >= wanted {
            break;
        }
        let Some(cover) = cover_for(db, generation, &gallery, filter).await? else { continue };
        let (Ok(id), Ok(cover_id)) = (gallery.id.parse::<GalleryId>(), cover.id.parse::<MediaId>()) else { continue };
        let text = match code {
            ReasonCode::RelatedGallery => "Related gallery".to_owned(),
            _ => "Contains this artwork".to_owned(),
        };
        out.push(RecommendedGallery {
            id,
            name: gallery.name.clone(),
            cover_image_url: config.image_url(&cover.id, GRID_IMAGE_WIDTH),
            cover_asset_id: cover_id,
            asset_count: u32::try_from(gallery.asset_count).unwrap_or(u32::MAX),
            link: config.gallery_link(&gallery.id),
            reason: Reason { code, text },
        });
    }
    Ok(out)
}

/// Galleries that share members with `gallery_id`, most shared first.
async fn co_member_galleries(db: &impl Database, generation: i64, gallery_id: &str) -> Result<Vec<String>, ApiError> {
    #[derive(Deserialize)]
    struct Shared {
        id: String,
    }
    let rows: Vec<Shared> = query_as(
        db,
        Statement::new(
            "SELECT other.gallery_id AS id FROM \
             (SELECT asset_id FROM gallery_assets WHERE generation = ?1 AND gallery_id = ?2 ORDER BY position LIMIT 500) member \
             JOIN gallery_assets other ON other.generation = ?1 AND other.asset_id = member.asset_id AND other.gallery_id <> ?2 \
             GROUP BY other.gallery_id ORDER BY COUNT(*) DESC, other.gallery_id LIMIT 30",
            vec![generation.into(), gallery_id.into()],
        ),
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

const MS_PER_DAY: i64 = 86_400_000;
/// Weight of a click against an impression in trending scores.
const CLICK_WEIGHT: f64 = 5.0;
/// Window of the popular list that fills up thin related lists for new assets and visitors.
const COLD_START_WINDOW_DAYS: u32 = 30;

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
async fn engagement_ranked(
    db: &impl Database,
    generation: i64,
    now: Millis,
    window_days: u32,
    term: Option<String>,
    decay: bool,
) -> Result<Vec<(String, f64)>, ApiError> {
    // NOTE: this reads the raw events of the window on every request; a daily aggregate table
    // maintained by the cron trigger would keep it cheap at high event volumes.
    let rows: Vec<DailyEngagement> = query_as(
        db,
        Statement::new(
            "SELECT asset_id, occurred_at / 86400000 AS day, \
             SUM(kind = 'click') AS clicks, SUM(kind = 'impression') AS impressions FROM events \
             WHERE occurred_at >= ?1 AND occurred_at <= ?2 AND asset_id IS NOT NULL \
             AND (?4 IS NULL OR asset_id IN (SELECT asset_id FROM asset_terms WHERE generation = ?3 AND term = ?4)) \
             GROUP BY asset_id, day",
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

/// Candidates with one fixed reason, in the given order, excluding `excluded` ids. Scores are
/// divided by the first one's magnitude (a remote service may send negative scores).
fn listed(ranked: Vec<(String, f64)>, reason: ReasonCode, excluded: &[&str]) -> Vec<Candidate> {
    let top = ranked.first().map_or(1.0, |(_, score)| score.abs().max(f64::MIN_POSITIVE));
    ranked
        .into_iter()
        .filter(|(id, _)| !excluded.contains(&id.as_str()))
        .map(|(id, score)| Candidate {
            id,
            signals: Signals { content: score / top, ..Signals::default() },
            matched_terms: Vec::new(),
            default_reason: reason,
        })
        .collect()
}

/// A recommendation response and the instant until which it may be cached.
pub struct Recommendations {
    /// The response body.
    pub response: RecommendationResponse,
    /// The earliest instant at which a rights decision in it changes, if any.
    pub valid_until: Option<Millis>,
}

/// Ranked asset candidates and gallery candidates for one context, before the rights filter.
struct Candidates {
    assets: Vec<Candidate>,
    galleries: Vec<(String, ReasonCode)>,
}

/// Galleries of the context asset first, then galleries shared by the best candidates.
fn galleries_near(context: &AssetRow, ranked: &[Candidate]) -> Vec<(String, ReasonCode)> {
    let mut galleries: Vec<(String, ReasonCode)> =
        context.galleries().into_iter().map(|g| (g, ReasonCode::SameGallery)).collect();
    let mut frequency: BTreeMap<String, usize> = BTreeMap::new();
    for candidate in ranked.iter().take(40) {
        for gallery in candidate.matched_terms.iter().filter_map(|t| t.strip_prefix("gal:")) {
            *frequency.entry(gallery.to_owned()).or_default() += 1;
        }
    }
    let mut related: Vec<(String, usize)> = frequency.into_iter().collect();
    related.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    galleries.extend(related.into_iter().map(|(g, _)| (g, ReasonCode::RelatedGallery)));
    galleries
}

/// Asks the remote service, when one is configured; `None` means use the embedded engine.
async fn remote_candidates(
    transport: &impl Transport,
    config: &Config,
    query: &RecommendationQuery,
) -> (Option<Vec<(String, f64)>>, &'static str) {
    let Some(remote_config) = &config.remote else { return (None, "embedded") };
    let request = CandidatesRequest {
        context: query.context.clone(),
        placement: query.placement.clone(),
        channel: query.channel.clone(),
        visitor_id: query.visitor_id.clone(),
        count: query.count * 5,
        exclude: query.exclude.clone(),
    };
    match remote::fetch_candidates(transport, remote_config, &request).await {
        Ok(candidates) => (Some(candidates), "remote"),
        Err(error) => {
            crate::log::warn(&format!("remote Loci failed for {}: {error}; using the embedded engine", query.context));
            (None, "embedded_fallback")
        }
    }
}

/// Candidates for the asset or gallery the request is about.
async fn candidates_for(
    db: &impl Database,
    catalog: ActiveCatalog,
    query: &RecommendationQuery,
    remote: Option<Vec<(String, f64)>>,
    excluded: &mut Vec<String>,
    now: Millis,
) -> Result<Candidates, ApiError> {
    let generation = catalog.generation;
    if query.scenario != Scenario::Related {
        return scenario_candidates(db, catalog, query, excluded, now).await;
    }
    let blend = Blend::default();
    let personal = match &query.visitor_id {
        Some(visitor) => {
            let recent = recent_clicks(db, visitor).await?;
            let contexts: Vec<String> = recent.iter().map(|id| format!("asset:{id}")).collect();
            co_viewed(db, &contexts).await?
        }
        None => Vec::new(),
    };

    match &query.context {
        ContextRef::Asset(asset_id) => {
            let context = catalog::load_asset(db, generation, asset_id.as_str())
                .await?
                .ok_or_else(|| ApiError::ContextNotFound(query.context.clone()))?;
            excluded.push(asset_id.to_string());
            let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
            let assets = match remote {
                Some(remote) => rank_remote(remote, &excluded),
                None => {
                    let content = content_candidates(db, catalog, asset_id.as_str()).await?;
                    let co_views = co_viewed(db, &[query.context.to_string()]).await?;
                    rank(content, co_views, personal, None, &excluded, &blend)
                }
            };
            let galleries = galleries_near(&context, &assets);
            let assets = with_cold_start(db, generation, now, assets, query.count, &excluded).await?;
            Ok(Candidates { assets, galleries })
        }
        ContextRef::Gallery(gallery_id) => {
            let gallery = catalog::load_gallery(db, generation, gallery_id.as_str()).await?;
            if !gallery.as_ref().is_some_and(GalleryRow::is_public) {
                return Err(ApiError::ContextNotFound(query.context.clone()));
            }
            let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
            let assets = match remote {
                Some(remote) => rank_remote(remote, &excluded),
                None => {
                    let members =
                        catalog::gallery_members(db, generation, gallery_id.as_str(), GALLERY_MEMBERS).await?;
                    let count = members.len().max(1) as f64;
                    let content = members
                        .into_iter()
                        .enumerate()
                        .map(|(i, id)| (id, 1.0 - i as f64 / count, Vec::new()))
                        .collect();
                    let co_views = co_viewed(db, &[query.context.to_string()]).await?;
                    rank(content, co_views, personal, Some(ReasonCode::InThisGallery), &excluded, &blend)
                }
            };
            let related = co_member_galleries(db, generation, gallery_id.as_str()).await?;
            Ok(Candidates { assets, galleries: related.into_iter().map(|g| (g, ReasonCode::RelatedGallery)).collect() })
        }
    }
}

#[derive(Deserialize)]
struct ServedAsset {
    asset_id: String,
}

/// Keeps, in order, up to `count` assets no other request of the same page view has shown,
/// claiming them in `page_served`. Claims are `INSERT OR IGNORE` on the (page, asset) key, so
/// widgets of one page asking at the same moment still end up with disjoint lists.
async fn claim_for_page(
    db: &impl Database,
    page_id: &str,
    request_id: &str,
    now: Millis,
    ordered: Vec<Chosen>,
    count: usize,
) -> Result<Vec<Chosen>, ApiError> {
    let shown: Vec<ServedAsset> = query_as(
        db,
        Statement::new(
            "SELECT asset_id FROM page_served WHERE page_id = ?1 AND request_id <> ?2",
            vec![page_id.into(), request_id.into()],
        ),
    )
    .await?;
    let shown: HashSet<String> = shown.into_iter().map(|s| s.asset_id).collect();
    let mut remaining: Vec<Chosen> = ordered.into_iter().filter(|c| !shown.contains(&c.row.id)).collect();

    let mut owned = Vec::with_capacity(count);
    while owned.len() < count && !remaining.is_empty() {
        let take = (count - owned.len()).min(remaining.len());
        let batch: Vec<Chosen> = remaining.drain(..take).collect();
        let ids = Value::from(batch.iter().map(|c| c.row.id.clone()).collect::<Vec<_>>()).to_string();
        db.batch(vec![Statement::new(
            "INSERT OR IGNORE INTO page_served (page_id, asset_id, request_id, served_at) \
             SELECT ?1, value, ?2, ?3 FROM json_each(?4)",
            vec![page_id.into(), request_id.into(), now.into(), ids.clone().into()],
        )])
        .await?;
        let mine: Vec<ServedAsset> = query_as(
            db,
            Statement::new(
                "SELECT asset_id FROM page_served WHERE page_id = ?1 AND request_id = ?2 \
                 AND asset_id IN (SELECT value FROM json_each(?3))",
                vec![page_id.into(), request_id.into(), ids.into()],
            ),
        )
        .await?;
        let mine: HashSet<String> = mine.into_iter().map(|s| s.asset_id).collect();
        owned.extend(batch.into_iter().filter(|c| mine.contains(&c.row.id)));
    }
    Ok(owned)
}

/// Deletes the page-view claims older than a day; the cron trigger calls it.
pub async fn forget_old_page_views(db: &impl Database, now: Millis) -> Result<(), crate::db::DbError> {
    db.batch(vec![Statement::new("DELETE FROM page_served WHERE served_at < ?1", vec![(now - MS_PER_DAY).into()])])
        .await
}

/// Appends the recent popular list when the related list is too short to survive the rights
/// filter and diversification (a new asset, or one with rare terms): related candidates stay
/// first, and nothing is added at random.
async fn with_cold_start(
    db: &impl Database,
    generation: i64,
    now: Millis,
    mut ranked: Vec<Candidate>,
    count: usize,
    excluded: &[&str],
) -> Result<Vec<Candidate>, ApiError> {
    if ranked.len() >= count * 3 {
        return Ok(ranked);
    }
    let present: HashSet<String> = ranked.iter().map(|c| c.id.clone()).collect();
    let popular = engagement_ranked(db, generation, now, COLD_START_WINDOW_DAYS, None, false).await?;
    let popular: Vec<(String, f64)> = popular.into_iter().filter(|(id, _)| !present.contains(id)).collect();
    ranked.extend(listed(popular, ReasonCode::Popular, excluded).into_iter().map(|mut candidate| {
        // Popular fill-ins rank after every related candidate.
        candidate.signals = Signals::default();
        candidate
    }));
    Ok(ranked)
}

/// Candidates of the trending, popular and recently viewed scenarios. The context must exist;
/// its own asset is excluded.
async fn scenario_candidates(
    db: &impl Database,
    catalog: ActiveCatalog,
    query: &RecommendationQuery,
    excluded: &mut Vec<String>,
    now: Millis,
) -> Result<Candidates, ApiError> {
    let generation = catalog.generation;
    match &query.context {
        ContextRef::Asset(id) => {
            catalog::load_asset(db, generation, id.as_str())
                .await?
                .ok_or_else(|| ApiError::ContextNotFound(query.context.clone()))?;
            excluded.push(id.to_string());
        }
        ContextRef::Gallery(id) => {
            let gallery = catalog::load_gallery(db, generation, id.as_str()).await?;
            if !gallery.as_ref().is_some_and(GalleryRow::is_public) {
                return Err(ApiError::ContextNotFound(query.context.clone()));
            }
        }
    }
    let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
    let term = match (&query.keyword, &query.collection) {
        (Some(keyword), _) => Some(format!("kw:{keyword}")),
        (None, Some(collection)) => Some(format!("col:{collection}")),
        (None, None) => None,
    };

    let assets = match query.scenario {
        Scenario::Trending => {
            let ranked = engagement_ranked(db, generation, now, query.window_days, term, true).await?;
            listed(ranked, ReasonCode::Trending, &excluded)
        }
        Scenario::Popular => {
            let ranked = engagement_ranked(db, generation, now, query.window_days, term, false).await?;
            listed(ranked, ReasonCode::Popular, &excluded)
        }
        Scenario::RecentlyViewed | Scenario::Related => {
            let recent = match &query.visitor_id {
                Some(visitor) => recent_clicks(db, visitor).await?,
                None => Vec::new(),
            };
            let count = recent.len() as f64;
            let ranked = recent.into_iter().enumerate().map(|(i, id)| (id, count - i as f64)).collect();
            listed(ranked, ReasonCode::RecentlyViewed, &[])
        }
    };
    Ok(Candidates { assets, galleries: Vec::new() })
}

/// Builds the response to a recommendation request.
///
/// Candidates come from the remote Loci service when one is configured and answers in time,
/// else from the embedded engine. Either way they pass the rights filter for the request's
/// channel, campaign, country and instant before anything is returned.
///
/// Fails with [`ApiError::CatalogEmpty`] before the first sync and
/// [`ApiError::ContextNotFound`] for a context the catalog does not hold (or, for galleries,
/// does not show publicly).
pub async fn recommend(
    db: &impl Database,
    transport: &impl Transport,
    config: &Config,
    query: &RecommendationQuery,
    serve: &ServeContext,
    request_id: String,
) -> Result<Recommendations, ApiError> {
    let catalog = catalog::active_catalog(db).await?.ok_or(ApiError::CatalogEmpty)?;
    let generation = catalog.generation;
    let (remote, engine) = remote_candidates(transport, config, query).await;
    let mut excluded: Vec<String> = query.exclude.iter().map(ToString::to_string).collect();
    let candidates = candidates_for(db, catalog, query, remote, &mut excluded, serve.now).await?;

    let mut filter = RightsFilter::new(&config.policy, serve);
    let pool = filter_by_rights(db, generation, &mut filter, candidates.assets, query.count * 3).await?;
    let caps = match query.context {
        ContextRef::Asset(_) => DiversityCaps::default(),
        ContextRef::Gallery(_) => DiversityCaps { per_creator: usize::MAX, per_gallery: usize::MAX },
    };
    let pool_size = pool.len();
    let ordered = diversify(pool, pool_size, caps, |c| c.row.creator.clone(), |c| c.row.galleries().into_iter().next());
    let chosen = match &query.page_id {
        Some(page_id) => claim_for_page(db, page_id, &request_id, serve.now, ordered, query.count).await?,
        None => ordered.into_iter().take(query.count).collect(),
    };
    let blend = Blend::default();
    let assets: Vec<RecommendedAsset> = chosen.iter().filter_map(|c| to_recommended(config, &blend, c)).collect();

    let mut seen = HashSet::new();
    let unique: Vec<(String, ReasonCode)> =
        candidates.galleries.into_iter().filter(|(g, _)| seen.insert(g.clone())).take(30).collect();
    let ids: Vec<String> = unique.iter().map(|(g, _)| g.clone()).collect();
    let rows: HashMap<String, GalleryRow> =
        catalog::load_galleries(db, generation, &ids).await?.into_iter().map(|g| (g.id.clone(), g)).collect();
    let public: Vec<(GalleryRow, ReasonCode)> = unique
        .into_iter()
        .filter_map(|(id, code)| rows.get(&id).filter(|g| g.is_public()).map(|g| (g.clone(), code)))
        .collect();
    let galleries = galleries_with_covers(db, generation, config, &mut filter, public, query.gallery_count).await?;
    let valid_until = filter.valid_until();

    let response = RecommendationResponse {
        request_id,
        context: query.context.clone(),
        placement: query.placement.clone(),
        assets,
        galleries,
        filtered: filter.into_report().into_counts(),
        engine: engine.to_owned(),
    };
    Ok(Recommendations { response, valid_until })
}
