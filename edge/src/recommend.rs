//! The embedded recommender: candidates from the catalog cache and recorded clicks, ranked,
//! filtered by rights at serve time, and diversified.
//!
//! For an asset context, candidates come from three sources:
//! - content similarity: the context's precomputed content neighbours
//!   ([`crate::neighbours`]) when stored. Without them, assets sharing index terms (keywords,
//!   categories, creator, gallery, collection) with the context, each shared term weighted by
//!   its inverse document frequency, computed in SQL over the `asset_terms` inverted index;
//! - co-views: assets opened from the context's page (`co_views`), merged with the context's
//!   precomputed co-interaction neighbours when stored;
//! - for a visitor who consented to an id, assets opened from the pages of what they opened
//!   recently.
//!
//! For a gallery context, the gallery's own members lead, followed by co-views.
//!
//! The placement's strategy ([`crate::placements::strategy_for`]) sets the weight of each
//! signal (a weight of 0 also skips reading that signal), the cold-start chain that fills a
//! thin list, and the diversity caps. The rights filter runs last, on the ranked list, for
//! every request and every page of it.

mod fill;
mod served;

pub use served::{forget_old_page_views, forget_old_served_requests, SERVED_RETENTION_DAYS};

use std::collections::{BTreeMap, HashMap, HashSet};

use loci_shared::api::remote::CandidatesRequest;
use loci_shared::api::{
    ContextRef, Reason, ReasonCode, RecommendationQuery, RecommendationResponse, RecommendedAsset, RecommendedGallery,
};
use loci_shared::api::{Scenario, MAX_COUNT, MAX_CURSOR};
use loci_shared::ids::{GalleryId, MediaId};
use loci_shared::rank::{Blend, Diversifier, DiversityCaps, Signals};
use loci_shared::rights::{RightsFilter, ServeContext};
use loci_shared::strategy::{ColdStartSource, Strategy};
use loci_shared::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use fill::{engagement_ranked, with_cold_start, ColdStart, COLD_START_WINDOW_DAYS, MS_PER_DAY};
use served::ServedRecord;

use crate::catalog::{self, ActiveCatalog, AssetRow, GalleryRow};
use crate::config::Config;
use crate::db::{query_as, Database, Statement};
use crate::error::ApiError;
use crate::neighbours;
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

/// Length of the longest recommendation list, in candidates before the rights filter. No
/// page starts after [`MAX_CURSOR`], so a deeper candidate is never served. The cap also
/// bounds the rows one request reads for a deep page.
const MAX_LIST_CANDIDATES: usize = MAX_CURSOR;
/// Page size the cold-start chain fills for: it appends sources while the ranked list is
/// shorter than three such pages. It is the largest `count`, not the request's, so one set of
/// inputs has one list and pages of any size cut the same list.
const FILL_PAGE_SIZE: usize = MAX_COUNT;
/// Candidates asked of the remote service: five pages of the largest size, whatever the
/// request's `count`, for the same reason.
const REMOTE_CANDIDATES: usize = MAX_COUNT * 5;

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
    /// Text that replaces the generic text of `default_reason` when that reason is shown, for
    /// candidates whose source the code alone does not name.
    fixed_text: Option<&'static str>,
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

/// Turns a precomputed content list into content candidates, adding the index terms each
/// shares with the context (for reasons and related galleries) in one indexed query.
async fn with_shared_terms(
    db: &impl Database,
    generation: i64,
    asset_id: &str,
    list: Vec<(String, f64)>,
) -> Result<Vec<(String, f64, Vec<String>)>, ApiError> {
    #[derive(Deserialize)]
    struct Shared {
        id: String,
        terms: String,
    }
    if list.is_empty() {
        return Ok(Vec::new());
    }
    let ids = Value::from(list.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()).to_string();
    let rows: Vec<Shared> = query_as(
        db,
        Statement::new(
            "SELECT t.asset_id AS id, group_concat(t.term, '|') AS terms FROM asset_terms t \
             WHERE t.generation = ?1 AND t.asset_id IN (SELECT value FROM json_each(?2)) \
             AND t.term IN (SELECT term FROM asset_terms WHERE generation = ?1 AND asset_id = ?3) GROUP BY t.asset_id",
            vec![generation.into(), ids.into(), asset_id.into()],
        ),
    )
    .await?;
    let mut shared: HashMap<String, Vec<String>> =
        rows.into_iter().map(|row| (row.id, row.terms.split('|').map(str::to_owned).collect())).collect();
    Ok(list
        .into_iter()
        .map(|(id, score)| {
            let terms = shared.remove(&id).unwrap_or_default();
            (id, score, terms)
        })
        .collect())
}

/// Merges precomputed co-interaction neighbours into the co-view list: each asset keeps the
/// larger of its normalised direct co-views and its co-interaction similarity (both 0 to 1).
fn merge_co_interaction(co_views: &mut Vec<(String, f64)>, co_interaction: Vec<(String, f64)>) {
    normalise(co_views);
    let mut merged: HashMap<String, f64> = co_views.drain(..).collect();
    for (id, similarity) in co_interaction {
        let value = merged.entry(id).or_default();
        *value = value.max(similarity);
    }
    co_views.extend(merged);
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
    if let Some(text) = candidate.fixed_text.filter(|_| code == candidate.default_reason) {
        return text.to_owned();
    }
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

/// The signal lists of one request, before ranking.
struct SignalLists {
    /// Content candidates with their scores and shared terms, best first.
    content: Vec<(String, f64, Vec<String>)>,
    /// Co-view counts from the context's page.
    co_views: Vec<(String, f64)>,
    /// Co-view counts from the pages of what the visitor opened recently.
    personal: Vec<(String, f64)>,
    /// Recent clicks by everyone; they score candidates of the other lists but add none.
    popularity: Vec<(String, f64)>,
}

/// Merges signal lists into ranked candidates, excluding `excluded` ids.
fn rank(lists: SignalLists, content_default: Option<ReasonCode>, excluded: &[&str], blend: &Blend) -> Vec<Candidate> {
    let SignalLists { content, mut co_views, mut personal, mut popularity } = lists;
    let mut by_id: HashMap<String, Candidate> = HashMap::new();
    let max_content = content.iter().map(|(_, s, _)| *s).fold(0.0, f64::max);
    for (id, score, terms) in content {
        let signals =
            Signals { content: if max_content > 0.0 { score / max_content } else { 0.0 }, ..Signals::default() };
        let default_reason = content_default.unwrap_or_else(|| content_reason(&terms));
        by_id.insert(id.clone(), Candidate { id, signals, matched_terms: terms, default_reason, fixed_text: None });
    }
    normalise(&mut co_views);
    normalise(&mut personal);
    let empty = |id: &str| Candidate {
        id: id.to_owned(),
        signals: Signals::default(),
        matched_terms: Vec::new(),
        default_reason: ReasonCode::SimilarSubjects,
        fixed_text: None,
    };
    for (id, value) in co_views {
        by_id.entry(id.clone()).or_insert_with(|| empty(&id)).signals.co_view = value;
    }
    for (id, value) in personal {
        by_id.entry(id.clone()).or_insert_with(|| empty(&id)).signals.personal = value;
    }
    normalise(&mut popularity);
    for (id, value) in popularity {
        if let Some(candidate) = by_id.get_mut(&id) {
            candidate.signals.popularity = value;
        }
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

/// The start of a ranked list after the rights filter and diversification.
struct OrderedPrefix {
    /// Allowed candidates in final order.
    items: Vec<Chosen>,
    /// Whether `items` is the whole list (no candidate was left unread).
    complete: bool,
}

/// Walks the ranked list, keeping candidates whose rights the filter admits, and diversifies
/// them until `wanted` pass the caps or the list ends. When the ranked candidates run out
/// first, the fill plan runs and its candidates follow them.
///
/// The result is the first `wanted` items of the diversified whole list, whatever `wanted`
/// is (see [`Diversifier`]), so pages cut from it at different depths never overlap or skip
/// items. When the list ends first, the held-back items follow the ones that passed.
async fn diversified_prefix(
    db: &impl Database,
    generation: i64,
    filter: &mut RightsFilter<'_>,
    ranked: Vec<Candidate>,
    fill: Option<&FillPlan>,
    wanted: usize,
    caps: DiversityCaps,
) -> Result<OrderedPrefix, ApiError> {
    let mut diversifier = Diversifier::new(caps);
    if admit_until(db, generation, filter, &mut diversifier, &ranked, wanted).await? {
        return Ok(passed_prefix(diversifier, wanted));
    }

    if let Some(plan) = fill {
        let read = ranked.len();
        let mut filled = plan.run(db, ranked).await?;
        filled.truncate(MAX_LIST_CANDIDATES);
        let appended = filled.get(read..).unwrap_or(&[]);
        if admit_until(db, generation, filter, &mut diversifier, appended, wanted).await? {
            return Ok(passed_prefix(diversifier, wanted));
        }
    }
    Ok(OrderedPrefix { items: diversifier.finish(), complete: true })
}

/// Offers the candidates that the filter admits to the diversifier, in rank order, and
/// returns whether `wanted` items passed before the candidates ran out.
async fn admit_until(
    db: &impl Database,
    generation: i64,
    filter: &mut RightsFilter<'_>,
    diversifier: &mut Diversifier<Chosen, String>,
    candidates: &[Candidate],
    wanted: usize,
) -> Result<bool, ApiError> {
    for chunk in candidates.chunks(RIGHTS_CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|c| c.id.clone()).collect();
        let mut rows = catalog::load_assets(db, generation, &ids).await?;
        for candidate in chunk {
            let Some(row) = rows.remove(&candidate.id) else { continue };
            if filter.admit(&row.rights()) {
                let (creator, gallery) = (row.creator.clone(), row.galleries().into_iter().next());
                diversifier.push(Chosen { candidate: candidate.clone(), row }, creator, gallery);
            }
        }
        if diversifier.passed_count() >= wanted {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Returns the first `wanted` items that passed the caps, for a list with more to read.
fn passed_prefix(diversifier: Diversifier<Chosen, String>, wanted: usize) -> OrderedPrefix {
    let mut items = diversifier.into_passed();
    items.truncate(wanted);
    OrderedPrefix { items, complete: false }
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
            fixed_text: None,
        })
        .collect()
}

/// The body of `GET /v1/recommendations`: the shared response plus the fields only this
/// worker adds. The widget reads the shared fields and ignores the others.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendationBody {
    /// The shared response.
    #[serde(flatten)]
    pub response: RecommendationResponse,
    /// The `cursor` of the next page of the same list, or `None` on its last page.
    pub next_cursor: Option<usize>,
    /// The segment the list was ranked for: the `segment` parameter, or the visitor's stored
    /// segment when the strategy or scenario reads segments.
    pub segment: Option<String>,
    /// The A/B test variant that chose the ranking strategy, as `experiment/variant`.
    pub variant: Option<String>,
}

/// A recommendation response and the instant until which it may be cached.
pub struct Recommendations {
    /// The response body.
    pub response: RecommendationBody,
    /// The earliest instant at which a rights decision in it changes, if any.
    pub valid_until: Option<Millis>,
}

/// Ranked asset candidates and gallery candidates for one context, before the rights filter.
struct Candidates {
    assets: Vec<Candidate>,
    galleries: Vec<(String, ReasonCode)>,
    /// The cold-start chain that may extend `assets`, if the request has one.
    fill: Option<FillPlan>,
}

/// The cold-start chain of one request. It runs only when a page reads past the ranked
/// candidates, and it appends to them, so running it late leaves the list unchanged.
struct FillPlan {
    catalog: ActiveCatalog,
    now: Millis,
    chain: Vec<ColdStartSource>,
    context_asset: Option<String>,
    /// Whether content candidates are already ranked, so the `content` source is skipped.
    content_ranked: bool,
    segment: Option<String>,
    /// Ids the chain must not add: the request's `exclude` and the context asset.
    excluded: Vec<String>,
}

impl FillPlan {
    /// Appends the chain's candidates to `ranked` (see [`with_cold_start`]).
    async fn run(&self, db: &impl Database, ranked: Vec<Candidate>) -> Result<Vec<Candidate>, ApiError> {
        let excluded: Vec<&str> = self.excluded.iter().map(String::as_str).collect();
        let fill = ColdStart {
            chain: &self.chain,
            context_asset: self.context_asset.as_deref(),
            content_ranked: self.content_ranked,
            segment: self.segment.as_deref(),
        };
        with_cold_start(db, self.catalog, self.now, ranked, FILL_PAGE_SIZE, &excluded, &fill).await
    }
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
        count: REMOTE_CANDIDATES,
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

/// Inputs of one request's candidate lists besides the query.
struct Shaping<'a> {
    /// The placement's strategy.
    strategy: &'a Strategy,
    /// The segment the request ranks for, if any.
    segment: Option<&'a str>,
    /// The instant of the request.
    now: Millis,
}

/// Reads the signal lists that the strategy gives a weight above 0; `content` is left empty
/// for the caller to fill.
async fn signal_lists(
    db: &impl Database,
    catalog: ActiveCatalog,
    query: &RecommendationQuery,
    strategy: &Strategy,
    now: Millis,
) -> Result<SignalLists, ApiError> {
    let weights = strategy.weights;
    let personal = match query.visitor_id.as_deref().filter(|_| weights.personal > 0.0) {
        Some(visitor) => {
            let recent = recent_clicks(db, visitor).await?;
            let contexts: Vec<String> = recent.iter().map(|id| format!("asset:{id}")).collect();
            co_viewed(db, &contexts).await?
        }
        None => Vec::new(),
    };
    let co_views = if weights.co_views > 0.0 { co_viewed(db, &[query.context.to_string()]).await? } else { Vec::new() };
    let popularity = if weights.popularity > 0.0 {
        engagement_ranked(db, catalog.generation, now, COLD_START_WINDOW_DAYS, None, false).await?
    } else {
        Vec::new()
    };
    Ok(SignalLists { content: Vec::new(), co_views, personal, popularity })
}

/// Candidates for the asset or gallery the request is about.
async fn candidates_for(
    db: &impl Database,
    catalog: ActiveCatalog,
    query: &RecommendationQuery,
    shaping: &Shaping<'_>,
    remote: Option<Vec<(String, f64)>>,
    excluded: &mut Vec<String>,
) -> Result<Candidates, ApiError> {
    let generation = catalog.generation;
    if query.scenario != Scenario::Related {
        return scenario_candidates(db, catalog, query, shaping, excluded).await;
    }
    let strategy = shaping.strategy;
    let blend = strategy.weights.blend();

    match &query.context {
        ContextRef::Asset(asset_id) => {
            let context = catalog::load_asset(db, generation, asset_id.as_str())
                .await?
                .ok_or_else(|| ApiError::ContextNotFound(query.context.clone()))?;
            excluded.push(asset_id.to_string());
            let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
            let content_ranked = remote.is_none() && strategy.weights.content > 0.0;
            let assets = match remote {
                Some(remote) => rank_remote(remote, &excluded),
                None => {
                    let stored = neighbours::precomputed(db, generation, asset_id.as_str()).await?;
                    let mut lists = signal_lists(db, catalog, query, strategy, shaping.now).await?;
                    if content_ranked {
                        lists.content = match stored.content {
                            Some(list) => with_shared_terms(db, generation, asset_id.as_str(), list).await?,
                            None => content_candidates(db, catalog, asset_id.as_str()).await?,
                        };
                    }
                    if let Some(list) = stored.co_interaction.filter(|_| strategy.weights.co_views > 0.0) {
                        merge_co_interaction(&mut lists.co_views, list);
                    }
                    rank(lists, None, &excluded, &blend)
                }
            };
            let galleries = galleries_near(&context, &assets);
            let fill = FillPlan {
                catalog,
                now: shaping.now,
                chain: strategy.cold_start.clone(),
                context_asset: Some(asset_id.to_string()),
                content_ranked,
                segment: shaping.segment.map(str::to_owned),
                excluded: excluded.iter().map(|id| (*id).to_owned()).collect(),
            };
            Ok(Candidates { assets, galleries, fill: Some(fill) })
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
                    // The members are the gallery's content list, whatever the content weight.
                    let members =
                        catalog::gallery_members(db, generation, gallery_id.as_str(), GALLERY_MEMBERS).await?;
                    let count = members.len().max(1) as f64;
                    let mut lists = signal_lists(db, catalog, query, strategy, shaping.now).await?;
                    lists.content = members
                        .into_iter()
                        .enumerate()
                        .map(|(i, id)| (id, 1.0 - i as f64 / count, Vec::new()))
                        .collect();
                    rank(lists, Some(ReasonCode::InThisGallery), &excluded, &blend)
                }
            };
            let fill = FillPlan {
                catalog,
                now: shaping.now,
                chain: strategy.cold_start.clone(),
                context_asset: None,
                content_ranked: true,
                segment: shaping.segment.map(str::to_owned),
                excluded: excluded.iter().map(|id| (*id).to_owned()).collect(),
            };
            let related = co_member_galleries(db, generation, gallery_id.as_str()).await?;
            let galleries = related.into_iter().map(|g| (g, ReasonCode::RelatedGallery)).collect();
            Ok(Candidates { assets, galleries, fill: Some(fill) })
        }
    }
}

/// Candidates of the trending, popular, recently viewed and popular-in-segment scenarios. The
/// context must exist; its own asset is excluded.
async fn scenario_candidates(
    db: &impl Database,
    catalog: ActiveCatalog,
    query: &RecommendationQuery,
    shaping: &Shaping<'_>,
    excluded: &mut Vec<String>,
) -> Result<Candidates, ApiError> {
    let generation = catalog.generation;
    let now = shaping.now;
    let context_asset = match &query.context {
        ContextRef::Asset(id) => {
            catalog::load_asset(db, generation, id.as_str())
                .await?
                .ok_or_else(|| ApiError::ContextNotFound(query.context.clone()))?;
            excluded.push(id.to_string());
            Some(id.as_str())
        }
        ContextRef::Gallery(id) => {
            let gallery = catalog::load_gallery(db, generation, id.as_str()).await?;
            if !gallery.as_ref().is_some_and(GalleryRow::is_public) {
                return Err(ApiError::ContextNotFound(query.context.clone()));
            }
            None
        }
    };
    let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
    let term = match (&query.keyword, &query.collection) {
        (Some(keyword), _) => Some(format!("kw:{keyword}")),
        (None, Some(collection)) => Some(format!("col:{collection}")),
        (None, None) => None,
    };

    let mut fill = None;
    let assets = match query.scenario {
        Scenario::Trending => {
            let ranked = engagement_ranked(db, generation, now, query.window_days, term, true).await?;
            listed(ranked, ReasonCode::Trending, &excluded)
        }
        Scenario::Popular => {
            let ranked = engagement_ranked(db, generation, now, query.window_days, term, false).await?;
            listed(ranked, ReasonCode::Popular, &excluded)
        }
        Scenario::PopularInSegment => {
            let ranked = match shaping.segment {
                Some(segment) => fill::segment_popular(db, segment).await?,
                None => Vec::new(),
            };
            // A small or unknown segment is filled by the rest of the placement's chain.
            let chain: Vec<ColdStartSource> = shaping
                .strategy
                .cold_start
                .iter()
                .copied()
                .filter(|source| *source != ColdStartSource::SegmentPopular)
                .collect();
            fill = Some(FillPlan {
                catalog,
                now,
                chain,
                context_asset: context_asset.map(str::to_owned),
                content_ranked: false,
                segment: None,
                excluded: excluded.iter().map(|id| (*id).to_owned()).collect(),
            });
            fill::segment_listed(ranked, &excluded)
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
    Ok(Candidates { assets, galleries: Vec::new(), fill })
}

/// Returns the diversity caps of a request: the strategy's, else 3 per creator and gallery
/// for asset contexts and none for gallery contexts, whose members all share the gallery.
fn caps_for(strategy: &Strategy, context: &ContextRef) -> DiversityCaps {
    match (strategy.caps, context) {
        (Some(caps), _) => caps.diversity(),
        (None, ContextRef::Asset(_)) => DiversityCaps::default(),
        (None, ContextRef::Gallery(_)) => DiversityCaps { per_creator: usize::MAX, per_gallery: usize::MAX },
    }
}

/// Builds the response to a recommendation request.
///
/// Candidates come from the remote Loci service when one is configured and answers in time,
/// else from the embedded engine. Either way they pass the rights filter for the request's
/// channel, campaign, country and instant before anything is returned.
///
/// Pages: the ranked, filtered and diversified list is the same for every page of one set of
/// inputs, whatever each page's `count`, and `cursor` is a position in it. The list contains
/// at most [`MAX_LIST_CANDIDATES`] assets. Without a page-view id, a page is the `count`
/// items from the cursor on. With one, items that other requests of the page view claimed are
/// skipped, and the next cursor points after the last item examined. Pages of one widget
/// therefore never repeat an item and never skip one that no other widget of the page showed. Clicks,
/// syncs or licence changes between two requests can still reorder the list. Galleries are
/// returned on the first page only.
///
/// Every response's served list is stored in `served_requests` for click verification.
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
    let crate::placements::ChosenStrategy { strategy, variant } =
        crate::placements::strategy_for(config, query, serve.now);
    let segment = fill::request_segment(db, query, &strategy).await?;
    let (remote, engine) = remote_candidates(transport, config, query).await;
    let mut excluded: Vec<String> = query.exclude.iter().map(ToString::to_string).collect();
    let shaping = Shaping { strategy: &strategy, segment: segment.as_deref(), now: serve.now };
    let Candidates { assets: mut ranked, galleries: gallery_candidates, fill } =
        candidates_for(db, catalog, query, &shaping, remote, &mut excluded).await?;
    ranked.truncate(MAX_LIST_CANDIDATES);

    // The read depth only sets how far the filter and the diversifier read: the order of what
    // they pass does not depend on it. Reading three pages past the cursor leaves room for
    // the items that other widgets of the page view claimed.
    let mut filter = RightsFilter::new(&config.policy, serve);
    let start = query.cursor.unwrap_or(0);
    let caps = caps_for(&strategy, &query.context);
    let wanted = start + query.count * 3;
    let prefix = diversified_prefix(db, generation, &mut filter, ranked, fill.as_ref(), wanted, caps).await?;
    let mut ordered = prefix.items;
    let from_cursor = if start < ordered.len() { ordered.split_off(start) } else { Vec::new() };
    let available = from_cursor.len();

    let served = ServedRecord {
        request_id: &request_id,
        served_at: serve.now,
        placement: &query.placement,
        context: query.context.to_string(),
        visitor_id: query.visitor_id.as_deref(),
        page_id: query.page_id.as_deref(),
        segment: segment.as_deref(),
        variant: variant.as_deref(),
        engine,
    };
    let (chosen, consumed) = match &query.page_id {
        Some(page_id) => served::claim_for_page(db, page_id, &served, from_cursor, query.count).await?,
        None => {
            let chosen: Vec<Chosen> = from_cursor.into_iter().take(query.count).collect();
            served::record_served(db, &served, &chosen).await?;
            let consumed = chosen.len();
            (chosen, consumed)
        }
    };
    let more = consumed < available || (!prefix.complete && available > 0);
    let next_cursor = Some(start + consumed).filter(|cursor| more && *cursor <= MAX_CURSOR);
    let blend = strategy.weights.blend();
    let assets: Vec<RecommendedAsset> = chosen.iter().filter_map(|c| to_recommended(config, &blend, c)).collect();

    let galleries = if start == 0 {
        let mut seen = HashSet::new();
        let unique: Vec<(String, ReasonCode)> =
            gallery_candidates.into_iter().filter(|(g, _)| seen.insert(g.clone())).take(30).collect();
        let ids: Vec<String> = unique.iter().map(|(g, _)| g.clone()).collect();
        let rows: HashMap<String, GalleryRow> =
            catalog::load_galleries(db, generation, &ids).await?.into_iter().map(|g| (g.id.clone(), g)).collect();
        let public: Vec<(GalleryRow, ReasonCode)> = unique
            .into_iter()
            .filter_map(|(id, code)| rows.get(&id).filter(|g| g.is_public()).map(|g| (g.clone(), code)))
            .collect();
        galleries_with_covers(db, generation, config, &mut filter, public, query.gallery_count).await?
    } else {
        Vec::new()
    };
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
    Ok(Recommendations { response: RecommendationBody { response, next_cursor, segment, variant }, valid_until })
}
