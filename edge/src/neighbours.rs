//! Precomputed neighbour lists: the top-k neighbours of every asset, computed off the request
//! path with [`loci_shared::engine`] and stored in `asset_neighbours`.
//!
//! Two kinds are kept, each with its own progress row in `neighbour_runs`:
//!
//! - `content`: IDF-weighted, cosine-normalised term vectors ([`ContentIndex`]). A new catalog
//!   generation starts a new run. Each [`compute_step`] builds the index once and computes a
//!   bounded range of assets, so the work spreads over cron invocations like the sync's
//!   pages.
//! - `co_interaction`: assets clicked from the same pages ([`CoInteraction`], cosine), each
//!   page's clicks decayed with a half-life of [`CO_INTERACTION_HALF_LIFE_DAYS`]. It is
//!   recomputed in one step when the generation changes or when clicks arrived since the last
//!   run, at most once per [`CO_INTERACTION_INTERVAL_MS`].
//!
//! Requests read the lists of their context asset ([`precomputed`]) and fall back to the SQL
//! candidate queries for assets without a list (a run still in progress, or a new asset).

use std::collections::HashMap;

use loci_shared::engine::{
    CoInteraction, CoInteractionConfig, ContentConfig, ContentIndex, EngineError, Interaction, Similarity, TimeDecay,
};
use loci_shared::time::Millis;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::catalog::{self, ActiveCatalog};
use crate::db::{query_as, query_optional, Database, DbError, Statement};

/// Neighbours kept per asset and kind. A request with the default count of 8 needs 24 allowed
/// and diversified candidates, so the lists leave room for the rights filter and the caps.
pub const NEIGHBOURS_PER_ASSET: usize = 50;
/// Assets whose content neighbours one step computes; the cron trigger passes it.
///
/// NOTE: sized from the native bench (see `./x bench`), not measured under workerd. Each step
/// also reads every asset's terms from D1 to build the index, which at 69,202 assets is a
/// multi-megabyte result whose D1 time and size limits are unmeasured.
pub const CONTENT_ASSETS_PER_STEP: usize = 5_000;
/// Half-life of a click in co-interaction similarity, in days.
pub const CO_INTERACTION_HALF_LIFE_DAYS: f64 = 14.0;
/// Shortest time between two co-interaction runs, in milliseconds.
pub const CO_INTERACTION_INTERVAL_MS: Millis = 3_600_000;
/// Largest JSON parameter per insert statement, under D1's statement size limit.
const MAX_JSON_PARAM_BYTES: usize = 90_000;
/// Term separator in the catalog read: the ASCII unit separator, which index terms do not contain.
const TERM_SEPARATOR: char = '\u{1f}';

/// Kind name of content neighbour lists.
pub const CONTENT: &str = "content";
/// Kind name of co-interaction neighbour lists.
pub const CO_INTERACTION: &str = "co_interaction";

/// Errors of a neighbour step.
#[derive(Debug, thiserror::Error)]
pub enum NeighbourError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] DbError),
    /// The engine rejected the catalog or the clicks.
    #[error("the neighbour computation failed: {0}")]
    Engine(#[from] EngineError),
}

/// The outcome of one step for one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// `content` or `co_interaction`.
    pub kind: &'static str,
    /// The catalog generation the lists belong to.
    pub generation: i64,
    /// Assets whose lists this step wrote.
    pub computed: usize,
    /// Assets the run has covered so far, in id order.
    pub covered: usize,
    /// Assets the run covers in total.
    pub total: usize,
    /// Whether the run is complete.
    pub finished: bool,
}

#[derive(Debug, Deserialize)]
struct RunRow {
    generation: i64,
    next_offset: i64,
    started_at: i64,
    finished_at: Option<i64>,
}

async fn load_run(db: &impl Database, kind: &str) -> Result<Option<RunRow>, DbError> {
    query_optional(
        db,
        Statement::new(
            "SELECT generation, next_offset, started_at, finished_at FROM neighbour_runs WHERE kind = ?1",
            vec![kind.into()],
        ),
    )
    .await
}

/// Statements that start a run of `kind` for `generation` and drop its lists of other
/// generations.
fn start_run(kind: &str, generation: i64, now: Millis) -> Vec<Statement> {
    vec![
        Statement::new(
            "DELETE FROM asset_neighbours WHERE kind = ?1 AND generation <> ?2",
            vec![kind.into(), generation.into()],
        ),
        Statement::new(
            "INSERT OR REPLACE INTO neighbour_runs (kind, generation, next_offset, started_at, updated_at, finished_at) \
             VALUES (?1, ?2, 0, ?3, ?3, NULL)",
            vec![kind.into(), generation.into(), now.into()],
        ),
    ]
}

fn progress_statement(kind: &str, covered: usize, now: Millis, finished: bool) -> Statement {
    Statement::new(
        "UPDATE neighbour_runs SET next_offset = ?2, updated_at = ?3, finished_at = ?4 WHERE kind = ?1",
        vec![kind.into(), (covered as i64).into(), now.into(), finished.then_some(now).into()],
    )
}

/// Encodes one list as a JSON array of [media id, score] pairs, scores to four decimals.
fn encode_list(list: &[(u32, f32)], ids: &[String]) -> String {
    let pairs: Vec<Value> = list
        .iter()
        .map(|&(item, score)| json!([ids[item as usize], (f64::from(score) * 10_000.0).round() / 10_000.0]))
        .collect();
    Value::from(pairs).to_string()
}

/// Builds insert statements for (asset id, encoded list) rows, each parameter under
/// [`MAX_JSON_PARAM_BYTES`].
fn insert_statements(generation: i64, kind: &str, rows: Vec<(String, String)>) -> Vec<Statement> {
    let mut statements = Vec::new();
    let mut chunk: Vec<Value> = Vec::new();
    let mut size = 2;
    let flush = |chunk: &mut Vec<Value>, statements: &mut Vec<Statement>| {
        if !chunk.is_empty() {
            statements.push(Statement::new(
                "INSERT OR REPLACE INTO asset_neighbours (generation, kind, asset_id, neighbours) \
                 SELECT ?1, ?2, value ->> '$[0]', value ->> '$[1]' FROM json_each(?3)",
                vec![generation.into(), kind.into(), Value::from(std::mem::take(chunk)).to_string().into()],
            ));
        }
    };
    for (asset, list) in rows {
        let row = json!([asset, list]);
        let length = row.to_string().len() + 1;
        if size + length > MAX_JSON_PARAM_BYTES {
            flush(&mut chunk, &mut statements);
            size = 2;
        }
        size += length;
        chunk.push(row);
    }
    flush(&mut chunk, &mut statements);
    statements
}

/// Reads every asset of a generation that has index terms, in id order, with its terms.
async fn catalog_terms(db: &impl Database, generation: i64) -> Result<Vec<(String, Vec<String>)>, DbError> {
    #[derive(Deserialize)]
    struct Row {
        asset_id: String,
        terms: String,
    }
    let rows: Vec<Row> = query_as(
        db,
        Statement::new(
            "SELECT asset_id, group_concat(term, char(31)) AS terms FROM asset_terms WHERE generation = ?1 \
             GROUP BY asset_id ORDER BY asset_id",
            vec![generation.into()],
        ),
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.asset_id, row.terms.split(TERM_SEPARATOR).map(str::to_owned).collect()))
        .collect())
}

/// Computes content lists for up to `max_assets` more assets of the active generation.
async fn content_step(
    db: &impl Database,
    catalog: ActiveCatalog,
    now: Millis,
    max_assets: usize,
) -> Result<Option<StepReport>, NeighbourError> {
    let offset = match load_run(db, CONTENT).await? {
        Some(run) if run.generation == catalog.generation && run.finished_at.is_some() => return Ok(None),
        Some(run) if run.generation == catalog.generation => usize::try_from(run.next_offset).unwrap_or(0),
        _ => {
            db.batch(start_run(CONTENT, catalog.generation, now)).await?;
            0
        }
    };

    let items = catalog_terms(db, catalog.generation).await?;
    let index = ContentIndex::build(items.iter().map(|(_, terms)| terms), &ContentConfig::default())?;
    let ids: Vec<String> = items.into_iter().map(|(id, _)| id).collect();
    let start = offset.min(ids.len());
    let end = start.saturating_add(max_assets).min(ids.len());
    let lists = index.neighbours_of_range(start as u32..end as u32, NEIGHBOURS_PER_ASSET)?;

    let rows: Vec<(String, String)> =
        (start..end).zip(lists).map(|(item, list)| (ids[item].clone(), encode_list(&list, &ids))).collect();
    let finished = end == ids.len();
    let mut statements = insert_statements(catalog.generation, CONTENT, rows);
    statements.push(progress_statement(CONTENT, end, now, finished));
    db.batch(statements).await?;
    Ok(Some(StepReport {
        kind: CONTENT,
        generation: catalog.generation,
        computed: end - start,
        covered: end,
        total: ids.len(),
        finished,
    }))
}

/// Recomputes the co-interaction lists when they are due (see the module documentation).
async fn co_interaction_step(
    db: &impl Database,
    catalog: ActiveCatalog,
    now: Millis,
) -> Result<Option<StepReport>, NeighbourError> {
    #[derive(Deserialize)]
    struct Latest {
        latest: Option<i64>,
    }
    #[derive(Deserialize)]
    struct CoView {
        context: String,
        asset_id: String,
        clicks: f64,
        last_at: i64,
    }
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }

    let latest = query_optional::<Latest>(db, Statement::new("SELECT MAX(last_at) AS latest FROM co_views", vec![]))
        .await?
        .and_then(|row| row.latest);
    let run = load_run(db, CO_INTERACTION).await?;
    let due = match (&run, latest) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(run), Some(latest)) => {
            run.generation != catalog.generation
                || (latest >= run.started_at && now - run.finished_at.unwrap_or(0) >= CO_INTERACTION_INTERVAL_MS)
        }
    };
    if !due {
        return Ok(None);
    }

    // NOTE: this reads every co-view pair in one query. At far more distinct (page, asset)
    // pairs than the demo records, it would need paging like the content run.
    let co_views: Vec<CoView> =
        query_as(db, Statement::new("SELECT context, asset_id, clicks, last_at FROM co_views", vec![])).await?;
    let ids: Vec<Id> = query_as(
        db,
        Statement::new("SELECT id FROM assets WHERE generation = ?1 ORDER BY id", vec![catalog.generation.into()]),
    )
    .await?;
    let ids: Vec<String> = ids.into_iter().map(|row| row.id).collect();
    let index_of: HashMap<&str, u32> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i as u32)).collect();

    // Each page (context) is a user; the page's own asset counts as interacted with, so it
    // becomes a neighbour of what readers opened from it.
    let mut pages: HashMap<&str, u32> = HashMap::new();
    let mut interactions = Vec::new();
    for row in &co_views {
        let Some(&item) = index_of.get(row.asset_id.as_str()) else { continue };
        let next = pages.len() as u32;
        let user = *pages.entry(row.context.as_str()).or_insert(next);
        let weight = row.clicks.max(0.0) as f32;
        interactions.push(Interaction { user, item, weight, time: Some(row.last_at) });
        if let Some(&page_item) = row.context.strip_prefix("asset:").and_then(|id| index_of.get(id)) {
            interactions.push(Interaction { user, item: page_item, weight, time: Some(row.last_at) });
        }
    }
    let decay = TimeDecay { half_life: CO_INTERACTION_HALF_LIFE_DAYS * 86_400_000.0, now: Some(now) };
    let matrix = CoInteraction::new(ids.len(), &interactions, Some(decay))?;
    let config =
        CoInteractionConfig { neighbours: NEIGHBOURS_PER_ASSET, similarity: Similarity::Cosine { shrink: 1.0 } };
    let neighbours = matrix.neighbours(&config)?;

    let rows: Vec<(String, String)> = (0..ids.len() as u32)
        .filter_map(|item| {
            let list: Vec<(u32, f32)> = neighbours.of(item).collect();
            (!list.is_empty()).then(|| (ids[item as usize].clone(), encode_list(&list, &ids)))
        })
        .collect();
    let computed = rows.len();
    let mut statements = start_run(CO_INTERACTION, catalog.generation, now);
    statements.push(Statement::new("DELETE FROM asset_neighbours WHERE kind = ?1", vec![CO_INTERACTION.into()]));
    statements.extend(insert_statements(catalog.generation, CO_INTERACTION, rows));
    statements.push(progress_statement(CO_INTERACTION, ids.len(), now, true));
    db.batch(statements).await?;
    Ok(Some(StepReport {
        kind: CO_INTERACTION,
        generation: catalog.generation,
        computed,
        covered: ids.len(),
        total: ids.len(),
        finished: true,
    }))
}

/// Does one bounded step of the neighbour computation: up to `max_content_assets` content
/// lists, and the co-interaction lists when they are due. Returns what each kind did; empty
/// before the first sync or when everything is up to date.
pub async fn compute_step(
    db: &impl Database,
    now: Millis,
    max_content_assets: usize,
) -> Result<Vec<StepReport>, NeighbourError> {
    let Some(catalog) = catalog::active_catalog(db).await? else { return Ok(Vec::new()) };
    let mut reports = Vec::new();
    reports.extend(content_step(db, catalog, now, max_content_assets).await?);
    reports.extend(co_interaction_step(db, catalog, now).await?);
    Ok(reports)
}

/// The stored lists of one asset, best first, as (media id, score) pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Precomputed {
    /// Content neighbours, if computed for the active generation.
    pub content: Option<Vec<(String, f64)>>,
    /// Co-interaction neighbours, if the asset has any.
    pub co_interaction: Option<Vec<(String, f64)>>,
}

/// Reads the stored lists of an asset in one query. A list that cannot be decoded counts as
/// missing (and is logged), so the request falls back to the SQL candidates.
pub async fn precomputed(db: &impl Database, generation: i64, asset_id: &str) -> Result<Precomputed, DbError> {
    #[derive(Deserialize)]
    struct Row {
        kind: String,
        neighbours: String,
    }
    let rows: Vec<Row> = query_as(
        db,
        Statement::new(
            "SELECT kind, neighbours FROM asset_neighbours WHERE generation = ?1 AND asset_id = ?2",
            vec![generation.into(), asset_id.into()],
        ),
    )
    .await?;
    let mut lists = Precomputed::default();
    for row in rows {
        let list: Vec<(String, f64)> = match serde_json::from_str(&row.neighbours) {
            Ok(list) => list,
            Err(error) => {
                crate::log::warn(&format!(
                    "asset {asset_id}: stored {} neighbours cannot be decoded: {error}",
                    row.kind
                ));
                continue;
            }
        };
        match row.kind.as_str() {
            CONTENT => lists.content = Some(list),
            CO_INTERACTION => lists.co_interaction = Some(list),
            _ => {}
        }
    }
    Ok(lists)
}
