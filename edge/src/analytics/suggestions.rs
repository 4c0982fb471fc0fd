//! Editorial suggestions: assets and galleries to feature for a topic, an audience segment
//! and a channel, for a CMS to call while an article is being written.
//!
//! Relevance comes from the catalog's own index: keywords and creators, weighted by how rare
//! they are. Past engagement and the segment's favourites lift relevant assets, but they never
//! bring in irrelevant ones. Every proposal passes the rights filter for the channel and
//! campaign asked about.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use loci_shared::rights::{RightsFilter, ServeContext};
use loci_shared::time::{format_day, MS_PER_DAY};
use serde::Deserialize;
use serde_json::{json, Value};

use super::trends::asset_card;
use super::Params;
use crate::catalog::{self, ActiveCatalog};
use crate::config::Config;
use crate::db::{query_as, Database, Statement};
use crate::error::ApiError;
use crate::http::ApiResponse;
use crate::recommend::{self, GRID_IMAGE_WIDTH};

/// Maximum length of a topic, in characters.
const MAX_TOPIC_CHARS: usize = 300;
/// Relevant assets ranked before the rights filter.
const CANDIDATES: i64 = 300;
/// Assets by one creator among the suggestions at most.
const PER_CREATOR: usize = 3;
/// Weight of past engagement and of the segment's favourites against relevance (0 to 1 each).
const ENGAGEMENT_WEIGHT: f64 = 0.3;
const SEGMENT_WEIGHT: f64 = 0.3;

/// Words too common to say anything about a topic.
const STOP_WORDS: [&str; 24] = [
    "a", "an", "and", "are", "as", "at", "by", "for", "from", "in", "into", "is", "it", "of", "on", "or", "our", "the",
    "this", "to", "was", "we", "with", "about",
];

/// Index terms a topic may match: each word and adjacent word pair as a keyword, and each
/// comma-separated phrase as written.
pub fn topic_terms(topic: &str) -> BTreeSet<String> {
    let lower = topic.to_lowercase();
    let mut terms = BTreeSet::new();
    for phrase in lower.split([',', ';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
        terms.insert(format!("kw:{phrase}"));
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric() && c != '-' && c != '\'')
        .filter(|w| w.chars().count() >= 2 && !STOP_WORDS.contains(w))
        .collect();
    for word in &words {
        terms.insert(format!("kw:{word}"));
    }
    for pair in words.windows(2) {
        terms.insert(format!("kw:{} {}", pair[0], pair[1]));
    }
    terms
}

/// Words of the topic long enough to look up among creators' names and gallery names.
fn name_words(topic: &str) -> Vec<String> {
    let lower = topic.to_lowercase();
    let words: BTreeSet<String> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4 && !STOP_WORDS.contains(w))
        .map(str::to_owned)
        .collect();
    words.into_iter().take(8).collect()
}

#[derive(Debug, Deserialize)]
struct TermCount {
    term: String,
    asset_count: i64,
}

/// Looks up the topic's terms in the catalog and weights them by inverse document frequency.
async fn weighted_terms(
    db: &impl Database,
    catalog: &ActiveCatalog,
    topic: &str,
) -> Result<Vec<(String, f64)>, ApiError> {
    let terms: Vec<String> = topic_terms(topic).into_iter().collect();
    let mut found: Vec<TermCount> = query_as(
        db,
        Statement::new(
            "SELECT term, asset_count FROM term_stats WHERE generation = ?1 AND term IN (SELECT value FROM json_each(?2))",
            vec![catalog.generation.into(), Value::from(terms).to_string().into()],
        ),
    )
    .await?;
    for word in name_words(topic) {
        let creators: Vec<TermCount> = query_as(
            db,
            Statement::new(
                "SELECT term, asset_count FROM term_stats WHERE generation = ?1 AND term LIKE 'by:%' AND \
                 (term LIKE 'by:' || ?2 || ' %' OR term LIKE 'by:% ' || ?2 OR term LIKE 'by:% ' || ?2 || ' %' \
                  OR term = 'by:' || ?2) LIMIT 5",
                vec![catalog.generation.into(), word.into()],
            ),
        )
        .await?;
        found.extend(creators);
    }
    let total = catalog.asset_count.max(1) as f64;
    Ok(found
        .into_iter()
        .map(|t| {
            let idf = ((total + 1.0) / t.asset_count.max(1) as f64).ln();
            (t.term, idf)
        })
        .collect())
}

#[derive(Debug, Deserialize)]
struct Relevant {
    asset_id: String,
    relevance: f64,
    terms: String,
}

#[derive(Debug, Deserialize)]
struct Signal {
    asset_id: String,
    value: f64,
}

/// Normalises values into 0..=1 by the largest.
fn normalised(signals: Vec<Signal>) -> HashMap<String, f64> {
    let top = signals.iter().map(|s| s.value).fold(0.0_f64, f64::max);
    signals.into_iter().map(|s| (s.asset_id, if top > 0.0 { s.value / top } else { 0.0 })).collect()
}

/// `GET /v1/suggestions?topic=...&segment=...&channel=...&campaign=...`: assets and galleries
/// to feature for an article or campaign, best first, each with the reasons it was chosen.
pub async fn suggestions(
    db: &impl Database,
    config: &Config,
    pairs: Vec<(String, String)>,
    serve: ServeContext,
) -> Result<ApiResponse, ApiError> {
    let params = Params::new(pairs, &["topic", "segment", "channel", "campaign", "count", "gallery_count", "window"])?;
    let topic = params.get("topic").map(str::trim).unwrap_or("");
    if topic.is_empty() {
        return Err(loci_shared::api::QueryError::Missing("topic").into());
    }
    if topic.chars().count() > MAX_TOPIC_CHARS {
        return Err(loci_shared::api::QueryError::Invalid {
            parameter: "topic",
            reason: format!("give at most {MAX_TOPIC_CHARS} characters: keywords or a headline, not the article"),
        }
        .into());
    }
    let segment = params.segment(config)?;
    let count = params.number("count", 12, 1..=48)? as usize;
    let gallery_count = params.number("gallery_count", 4, 0..=12)? as usize;
    let window = params.number("window", 28, 1..=90)?;
    let catalog = catalog::active_catalog(db).await?.ok_or(ApiError::CatalogEmpty)?;

    let weights = weighted_terms(db, &catalog, topic).await?;
    let relevant: Vec<Relevant> = if weights.is_empty() {
        Vec::new()
    } else {
        let weights = Value::from(weights.iter().map(|(t, w)| json!([t, w])).collect::<Vec<_>>());
        query_as(
            db,
            Statement::new(
                "WITH w (term, weight) AS MATERIALIZED (SELECT value ->> '$[0]', value ->> '$[1]' FROM json_each(?2)) \
                 SELECT t.asset_id, sum(w.weight) AS relevance, group_concat(w.term, '|') AS terms \
                 FROM w CROSS JOIN asset_terms t ON t.generation = ?1 AND t.term = w.term \
                 GROUP BY t.asset_id ORDER BY relevance DESC, t.asset_id LIMIT ?3",
                vec![catalog.generation.into(), weights.to_string().into(), CANDIDATES.into()],
            ),
        )
        .await?
    };
    let ids: Vec<String> = relevant.iter().map(|r| r.asset_id.clone()).collect();
    let id_list = Value::from(ids.clone()).to_string();

    let since = format_day(serve.now - (window - 1) * MS_PER_DAY);
    let engagement = normalised(
        query_as(
            db,
            Statement::new(
                "SELECT key AS asset_id, sum(clicks) * 1.0 AS value FROM engagement_daily \
                 WHERE dimension = 'asset' AND day >= ?1 AND key IN (SELECT value FROM json_each(?2)) GROUP BY key",
                vec![since.into(), id_list.clone().into()],
            ),
        )
        .await?,
    );
    let favourites = match &segment {
        None => HashMap::new(),
        Some(segment) => normalised(
            query_as(
                db,
                Statement::new(
                    "SELECT asset_id, score AS value FROM segment_popularity \
                     WHERE segment = ?1 AND asset_id IN (SELECT value FROM json_each(?2))",
                    vec![segment.clone().into(), id_list.into()],
                ),
            )
            .await?,
        ),
    };

    let top_relevance = relevant.first().map_or(1.0, |r| r.relevance.max(f64::MIN_POSITIVE));
    let mut scored: Vec<(f64, &Relevant)> = relevant
        .iter()
        .map(|r| {
            let lift = ENGAGEMENT_WEIGHT * engagement.get(&r.asset_id).copied().unwrap_or(0.0)
                + SEGMENT_WEIGHT * favourites.get(&r.asset_id).copied().unwrap_or(0.0);
            (r.relevance / top_relevance * (1.0 + lift), r)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.asset_id.cmp(&b.1.asset_id)));

    let rows = catalog::load_assets(db, catalog.generation, &ids).await?;
    let mut filter = RightsFilter::new(&config.policy, &serve);
    let mut per_creator: BTreeMap<String, usize> = BTreeMap::new();
    let mut gallery_scores: BTreeMap<String, f64> = BTreeMap::new();
    let mut assets = Vec::new();
    for (score, candidate) in &scored {
        let Some(row) = rows.get(&candidate.asset_id) else { continue };
        if !filter.admit(&row.rights()) {
            continue;
        }
        for gallery in row.galleries() {
            *gallery_scores.entry(gallery).or_default() += score;
        }
        if assets.len() >= count {
            continue;
        }
        let creator_count = per_creator.entry(row.creator.clone().unwrap_or_default()).or_default();
        if row.creator.is_some() && *creator_count >= PER_CREATOR {
            continue;
        }
        *creator_count += 1;

        let mut reasons: Vec<String> = candidate
            .terms
            .split('|')
            .map(|term| match term.split_once(':') {
                Some(("by", name)) => format!("by {name}"),
                Some((_, keyword)) => format!("keyword “{keyword}”"),
                None => term.to_owned(),
            })
            .collect();
        if engagement.get(&row.id).is_some_and(|v| *v > 0.0) {
            reasons.push(format!("clicked on the site in the last {window} days"));
        }
        if let (Some(segment), Some(v)) = (&segment, favourites.get(&row.id)) {
            if *v > 0.0 {
                reasons.push(format!("a favourite of the `{segment}` segment"));
            }
        }
        let mut card = asset_card(config, row);
        card["score"] = json!((score * 1000.0).round() / 1000.0);
        card["reasons"] = json!(reasons);
        assets.push(card);
    }

    let galleries =
        suggested_galleries(db, config, &catalog, gallery_scores, topic, &mut filter, gallery_count).await?;
    Ok(ApiResponse::json(
        200,
        &json!({
            "topic": topic, "segment": segment, "channel": serve.channel.as_str(), "campaign": serve.campaign,
            "matched_terms": weights.iter().map(|(t, _)| t).collect::<Vec<_>>(),
            "assets": assets, "galleries": galleries, "filtered": filter.into_report().into_counts(),
        }),
    ))
}

/// Public galleries holding the suggested assets, or named after the topic, with a cover the
/// channel may show.
async fn suggested_galleries(
    db: &impl Database,
    config: &Config,
    catalog: &ActiveCatalog,
    mut scores: BTreeMap<String, f64>,
    topic: &str,
    filter: &mut RightsFilter<'_>,
    wanted: usize,
) -> Result<Vec<Value>, ApiError> {
    if wanted == 0 {
        return Ok(Vec::new());
    }
    #[derive(Deserialize)]
    struct Named {
        id: String,
    }
    for word in name_words(topic) {
        let named: Vec<Named> = query_as(
            db,
            Statement::new(
                "SELECT id FROM galleries WHERE generation = ?1 AND lower(name) LIKE '%' || ?2 || '%' LIMIT 10",
                vec![catalog.generation.into(), word.into()],
            ),
        )
        .await?;
        for gallery in named {
            *scores.entry(gallery.id).or_default() += 1.0;
        }
    }
    let mut ranked: Vec<(String, f64)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(40);
    let ids: Vec<String> = ranked.iter().map(|(id, _)| id.clone()).collect();
    let galleries: HashMap<String, catalog::GalleryRow> =
        catalog::load_galleries(db, catalog.generation, &ids).await?.into_iter().map(|g| (g.id.clone(), g)).collect();

    let mut out = Vec::new();
    for (id, score) in ranked {
        if out.len() >= wanted {
            break;
        }
        let Some(gallery) = galleries.get(&id).filter(|g| g.is_public()) else { continue };
        let Some(cover) = recommend::cover_for(db, catalog.generation, gallery, filter).await? else { continue };
        out.push(json!({
            "id": gallery.id, "name": gallery.name, "asset_count": gallery.asset_count,
            "score": (score * 1000.0).round() / 1000.0,
            "cover_image_url": config.image_url(&cover.id, GRID_IMAGE_WIDTH), "link": config.gallery_link(&gallery.id),
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_become_keyword_terms_phrases_and_pairs() {
        let terms = topic_terms("Boats on the river, sailing at dusk");
        for expected in ["kw:boats", "kw:river", "kw:sailing", "kw:dusk", "kw:boats on the river", "kw:sailing dusk"] {
            assert!(terms.contains(expected), "{expected} missing from {terms:?}");
        }
        assert!(!terms.contains("kw:the"));
    }
}
