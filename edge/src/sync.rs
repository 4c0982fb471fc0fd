//! Resumable sync of the PhotoShelter library into the catalog cache.
//!
//! A sync run writes a new catalog *generation* beside the active one, page by page, and
//! switches `catalog_state.active_generation` only when every phase is complete. Each page's
//! rows and the run's cursor are written in one transaction, so a run interrupted anywhere
//! (a crash, a timeout, PhotoShelter failing) resumes at the first page not yet stored, and
//! readers keep seeing the previous complete catalog until the switch.
//!
//! Phases, in order: `galleries` (`/galleries`), `collections` (`/collections` and each
//! collection's children, which give galleries their parent collection), `media` (`/media`
//! with IPTC, custom metadata and gallery membership included), `finalize` (term statistics,
//! gallery sizes, the switch, removal of older generations).
//!
//! One call to [`run_step`] does a bounded amount of work (see
//! [`crate::config::PhotoShelterConfig::pages_per_step`]) so that a worker invocation stays
//! inside the platform's subrequest and time limits; callers repeat it until the run is no
//! longer `running`.

use std::collections::BTreeSet;

use loci_shared::rights::source::{describe_gallery_modes, visibility_of, GalleryAccess, GALLERY_MODES_KEY};
use loci_shared::rights::Rights;
use loci_shared::time::{format_instant, format_photoshelter, Millis};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{Config, ConfigError, PhotoShelterConfig};
use crate::db::{query_as, query_optional, Database, DbError, SqlValue, Statement};
use crate::photoshelter::resources::{
    gallery_children, parse_collection, parse_gallery, parse_media, MediaRecord, Skip,
};
use crate::photoshelter::{Client, PhotoShelterError, Transport};

/// Most skip reasons kept per run (the count is always complete).
const MAX_SKIP_REASONS: usize = 100;
/// Largest JSON parameter per bulk statement, under D1's statement size limit.
const MAX_JSON_PARAM_BYTES: usize = 90_000;
/// Wall-clock budget of one step; pages are not started after it.
const STEP_BUDGET_MS: Millis = 20_000;
/// Media ids per request when an incremental run lists what PhotoShelter still holds.
const PRUNE_PER_PAGE: u32 = 1000;
/// Assets whose visibility one step recomputes.
const VISIBILITY_PER_PAGE: i64 = 500;
/// Children of one collection fetched per request.
const CHILDREN_PER_PAGE: u32 = 1000;

/// Why a sync step could not run at all. PhotoShelter failures are not here: they are
/// recorded in the run, which the status reports.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The connector is not configured.
    #[error("PhotoShelter is not configured: {0}")]
    NotConfigured(#[from] ConfigError),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] DbError),
}

/// A sync run as stored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct RunRow {
    id: i64,
    generation: i64,
    state: String,
    phase: String,
    page: i64,
    started_at: i64,
    updated_at: i64,
    finished_at: Option<i64>,
    collections: i64,
    galleries: i64,
    assets: i64,
    skipped: i64,
    requests: i64,
    total_assets: Option<i64>,
    skipped_reasons: String,
    error: Option<String>,
    mode: String,
    since: Option<i64>,
    deleted: i64,
}

/// Counts of what a run stored so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCounts {
    /// Collections stored.
    pub collections: i64,
    /// Galleries stored.
    pub galleries: i64,
    /// Assets stored.
    pub assets: i64,
    /// Records skipped as unusable.
    pub skipped: i64,
    /// HTTP requests made to PhotoShelter.
    pub requests: i64,
    /// Assets removed because PhotoShelter no longer lists them (incremental runs).
    pub deleted: i64,
}

/// The state of the latest sync run, as `/v1/admin/sync` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// The run's id.
    pub run_id: i64,
    /// The catalog generation the run writes.
    pub generation: i64,
    /// `full` or `incremental`.
    pub mode: String,
    /// For incremental runs: media modified at or after this instant (RFC 3339) are read.
    pub since: Option<String>,
    /// `running`, `succeeded` or `failed`.
    pub state: String,
    /// The current phase.
    pub phase: String,
    /// The next page to fetch in the current phase.
    pub page: i64,
    /// Counts so far.
    pub counts: SyncCounts,
    /// Media PhotoShelter reports in total, once known.
    pub total_assets: Option<i64>,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// When it finished, if it did.
    pub finished_at: Option<String>,
    /// Milliseconds from start to finish, or to the last update while running.
    pub duration_ms: i64,
    /// Why records were skipped (the first ones).
    pub skipped_reasons: Vec<String>,
    /// The last error, for failed runs.
    pub error: Option<String>,
}

impl From<RunRow> for SyncStatus {
    fn from(run: RunRow) -> Self {
        SyncStatus {
            run_id: run.id,
            generation: run.generation,
            duration_ms: run.finished_at.unwrap_or(run.updated_at) - run.started_at,
            state: run.state,
            phase: run.phase,
            page: run.page,
            counts: SyncCounts {
                collections: run.collections,
                galleries: run.galleries,
                assets: run.assets,
                skipped: run.skipped,
                requests: run.requests,
                deleted: run.deleted,
            },
            since: run.since.map(format_instant),
            mode: run.mode,
            total_assets: run.total_assets,
            started_at: format_instant(run.started_at),
            finished_at: run.finished_at.map(format_instant),
            skipped_reasons: serde_json::from_str(&run.skipped_reasons).unwrap_or_default(),
            error: run.error,
        }
    }
}

async fn latest_run(db: &impl Database) -> Result<Option<RunRow>, DbError> {
    query_optional(db, Statement::new("SELECT * FROM sync_runs ORDER BY id DESC LIMIT 1", vec![])).await
}

/// Returns the latest run's status, if any run exists.
pub async fn latest_status(db: &impl Database) -> Result<Option<SyncStatus>, DbError> {
    Ok(latest_run(db).await?.map(SyncStatus::from))
}

/// The kind of sync run to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Re-read the whole library.
    Full,
    /// Copy the active catalog and read only what changed since it was synced.
    Incremental,
}

/// The phases of each mode, in order.
///
/// NOTE: an incremental run takes gallery membership from the media it reads again, so a
/// media item moved between galleries without its own `modified_at` changing keeps its old
/// memberships until the next full run, at most [`FULL_SYNC_INTERVAL`] later. Re-reading the
/// children of galleries whose `modified_at` changed would close that gap.
fn phases(mode: &str) -> &'static [&'static str] {
    match mode {
        "incremental" => &["copy", "galleries", "collections", "media", "prune", "visibility", "finalize"],
        _ => &["galleries", "collections", "media", "finalize"],
    }
}

fn next_phase(mode: &str, phase: &str) -> &'static str {
    let list = phases(mode);
    list.iter().position(|p| *p == phase).and_then(|i| list.get(i + 1)).copied().unwrap_or("finalize")
}

/// Maximum time between two full runs; the next run after it is full, whatever was requested.
pub const FULL_SYNC_INTERVAL: Millis = 24 * 3_600_000;

async fn start_run(db: &impl Database, now: Millis, requested: SyncMode) -> Result<RunRow, DbError> {
    #[derive(Deserialize)]
    struct Newest {
        modified_at: Option<i64>,
    }

    // Incremental runs miss a change that leaves a media item's `modified_at` alone, such as a
    // membership or a rights field PhotoShelter does not date. So a full run replaces the
    // incremental one once the last full run is older than FULL_SYNC_INTERVAL.
    #[derive(Deserialize)]
    struct LastFull {
        finished_at: Option<i64>,
    }
    let last_full = query_optional::<LastFull>(
        db,
        Statement::new(
            "SELECT MAX(finished_at) AS finished_at FROM sync_runs WHERE mode = 'full' AND state = 'succeeded'",
            vec![],
        ),
    )
    .await?
    .and_then(|row| row.finished_at);
    let full_due = last_full.is_some_and(|finished| now - finished >= FULL_SYNC_INTERVAL);
    let requested = if full_due { SyncMode::Full } else { requested };

    // An incremental run reads media modified since the newest change the active catalog holds,
    // on PhotoShelter's own clock, so clock differences between the two systems do not matter.
    let since = match (requested, crate::catalog::active_catalog(db).await?) {
        (SyncMode::Incremental, Some(active)) => {
            let newest: Option<Newest> = query_optional(
                db,
                Statement::new(
                    "SELECT MAX(modified_at) AS modified_at FROM assets WHERE generation = ?1",
                    vec![active.generation.into()],
                ),
            )
            .await?;
            newest.and_then(|n| n.modified_at)
        }
        _ => None,
    };
    let (mode, first_phase) = match since {
        Some(_) => ("incremental", "copy"),
        None => ("full", "galleries"),
    };
    // The generation is computed inside the INSERT, so two runs started at the same moment
    // still get different generations.
    db.batch(vec![Statement::new(
        "INSERT INTO sync_runs (generation, state, phase, page, started_at, updated_at, mode, since) \
         VALUES ((SELECT COALESCE(MAX(g), 0) + 1 FROM (SELECT MAX(generation) AS g FROM sync_runs \
         UNION ALL SELECT active_generation FROM catalog_state)), 'running', ?2, 1, ?1, ?1, ?3, ?4)",
        vec![now.into(), first_phase.into(), mode.into(), since.into()],
    )])
    .await?;
    latest_run(db).await?.ok_or_else(|| DbError::Query("the new sync run was not stored".to_owned()))
}

/// Splits JSON values into arrays serialised to at most [`MAX_JSON_PARAM_BYTES`] each.
fn json_chunks(values: Vec<Value>) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut size = 2;
    for value in values {
        let text = value.to_string();
        if !current.is_empty() && size + text.len() + 1 > MAX_JSON_PARAM_BYTES {
            chunks.push(format!("[{}]", current.join(",")));
            current.clear();
            size = 2;
        }
        size += text.len() + 1;
        current.push(text);
    }
    if !current.is_empty() {
        chunks.push(format!("[{}]", current.join(",")));
    }
    chunks
}

fn bulk(sql: &str, generation: i64, values: Vec<Value>) -> Vec<Statement> {
    json_chunks(values).into_iter().map(|chunk| Statement::new(sql, vec![generation.into(), chunk.into()])).collect()
}

/// What one page changed, applied to the run in the page's transaction.
#[derive(Default)]
struct Progress {
    phase_done: bool,
    collections: i64,
    galleries: i64,
    assets: i64,
    skips: Vec<Skip>,
    total_assets: Option<i64>,
}

fn progress_statement(run: &RunRow, progress: &Progress, requests: i64, now: Millis) -> Statement {
    let mut reasons: Vec<String> = serde_json::from_str(&run.skipped_reasons).unwrap_or_default();
    for skip in &progress.skips {
        crate::log::warn(&format!("sync run {}: skipped {skip}", run.id));
        if reasons.len() < MAX_SKIP_REASONS {
            reasons.push(skip.to_string());
        }
    }
    let (phase, page) = if progress.phase_done {
        (next_phase(&run.mode, &run.phase).to_owned(), 1)
    } else {
        (run.phase.clone(), run.page + 1)
    };
    Statement::new(
        "UPDATE sync_runs SET phase = ?2, page = ?3, collections = collections + ?4, galleries = galleries + ?5, \
         assets = assets + ?6, skipped = skipped + ?7, skipped_reasons = ?8, requests = requests + ?9, \
         total_assets = COALESCE(?10, total_assets), updated_at = ?11 WHERE id = ?1",
        vec![
            run.id.into(),
            phase.into(),
            page.into(),
            progress.collections.into(),
            progress.galleries.into(),
            progress.assets.into(),
            (progress.skips.len() as i64).into(),
            serde_json::to_string(&reasons).unwrap_or_else(|_| "[]".to_owned()).into(),
            requests.into(),
            progress.total_assets.into(),
            now.into(),
        ],
    )
}

async fn galleries_page<T: Transport>(
    client: &Client<'_, T>,
    config: &PhotoShelterConfig,
    run: &RunRow,
) -> Result<(Vec<Statement>, Progress), PhotoShelterError> {
    let page = client
        .get_page("/galleries", "sort_by=creation_time&sort_direction=ascending", run.page as u32, config.per_page)
        .await?;
    let mut progress = Progress::default();
    let mut rows = Vec::new();
    for item in &page.items {
        match parse_gallery(item) {
            Ok(gallery) => rows.push(json!({
                "id": gallery.id, "name": gallery.name, "description": gallery.description, "mode": gallery.mode,
                "is_listed": gallery.is_listed, "key_image_id": gallery.key_image_id, "modified_at": gallery.modified_at,
            })),
            Err(skip) => progress.skips.push(skip),
        }
    }
    progress.galleries = rows.len() as i64;
    progress.phase_done = page.is_last;
    let statements = bulk(
        "INSERT OR REPLACE INTO galleries (generation, id, name, description, collection_id, mode, is_listed, key_image_id, asset_count, modified_at) \
         SELECT ?1, value ->> '$.id', value ->> '$.name', value ->> '$.description', NULL, value ->> '$.mode', \
         value ->> '$.is_listed', value ->> '$.key_image_id', 0, value ->> '$.modified_at' FROM json_each(?2)",
        run.generation,
        rows,
    );
    Ok((statements, progress))
}

async fn collections_page<T: Transport>(
    client: &Client<'_, T>,
    config: &PhotoShelterConfig,
    run: &RunRow,
) -> Result<(Vec<Statement>, Progress), PhotoShelterError> {
    let page = client
        .get_page("/collections", "sort_by=creation_time&sort_direction=ascending", run.page as u32, config.per_page)
        .await?;
    let mut progress = Progress::default();
    let mut statements = Vec::new();
    let mut rows = Vec::new();
    for item in &page.items {
        let collection = match parse_collection(item) {
            Ok(collection) => collection,
            Err(skip) => {
                progress.skips.push(skip);
                continue;
            }
        };
        let mut children = Vec::new();
        let mut child_page = 1;
        loop {
            let path = format!("/collections/{}/children", collection.id);
            let page = client.get_page(&path, "", child_page, CHILDREN_PER_PAGE).await?;
            children.extend(gallery_children(&page.items));
            if page.is_last {
                break;
            }
            child_page += 1;
        }
        let ids: Vec<Value> = children.iter().map(|id| json!(id)).collect();
        for chunk in json_chunks(ids) {
            statements.push(Statement::new(
                "UPDATE galleries SET collection_id = ?3 WHERE generation = ?1 AND collection_id IS NULL AND id IN (SELECT value FROM json_each(?2))",
                vec![run.generation.into(), chunk.into(), collection.id.to_string().into()],
            ));
        }
        rows.push(json!({"id": collection.id, "name": collection.name}));
    }
    progress.collections = rows.len() as i64;
    progress.phase_done = page.is_last;
    statements.extend(bulk(
        "INSERT OR REPLACE INTO collections (generation, id, name) SELECT ?1, value ->> '$.id', value ->> '$.name' FROM json_each(?2)",
        run.generation,
        rows,
    ));
    Ok((statements, progress))
}

#[derive(Deserialize)]
struct GalleryInfo {
    id: String,
    mode: String,
    is_listed: i64,
    collection_id: Option<String>,
}

/// Index terms of one asset; see the `asset_terms` table.
fn terms_of(record: &MediaRecord, collections: &BTreeSet<String>) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    terms.extend(record.keywords.iter().map(|k| format!("kw:{k}")));
    terms.extend(record.categories.iter().map(|c| format!("cat:{c}")));
    if let Some(creator) = &record.creator {
        for name in creator.split(';').map(str::trim).filter(|n| !n.is_empty()) {
            terms.insert(format!("by:{}", name.to_lowercase()));
        }
    }
    terms.extend(record.galleries.iter().map(|g| format!("gal:{g}")));
    terms.extend(collections.iter().map(|c| format!("col:{c}")));
    terms
}

async fn media_page<D: Database, T: Transport>(
    db: &D,
    client: &Client<'_, T>,
    config: &Config,
    photoshelter: &PhotoShelterConfig,
    run: &RunRow,
) -> Result<Result<(Vec<Statement>, Progress), DbError>, PhotoShelterError> {
    let filter = media_filter(photoshelter);
    let mut query = format!("{filter}&sort_by=upload_time&sort_dir=asc&include=iptc,custom-metadata,galleries");
    if let Some(since) = run.since {
        query.push_str(&format!("&modify_start={}", format_photoshelter(since).replace(' ', "%20")));
    }
    let page = client.get_page("/media", &query, run.page as u32, photoshelter.per_page).await?;

    let mut progress = Progress { total_assets: page.total.map(|t| t as i64), ..Progress::default() };
    let mut records = Vec::new();
    for item in &page.items {
        match parse_media(item) {
            Ok(record) => records.push(record),
            Err(skip) => progress.skips.push(skip),
        }
    }

    let referenced: BTreeSet<String> =
        records.iter().flat_map(|r| r.galleries.iter().map(ToString::to_string)).collect();
    let mut galleries = std::collections::HashMap::new();
    for chunk in json_chunks(referenced.into_iter().map(Value::from).collect()) {
        let infos: Vec<GalleryInfo> = match query_as(
            db,
            Statement::new(
                "SELECT id, mode, is_listed, collection_id FROM galleries WHERE generation = ?1 AND id IN (SELECT value FROM json_each(?2))",
                vec![run.generation.into(), chunk.into()],
            ),
        )
        .await
        {
            Ok(infos) => infos,
            Err(error) => return Ok(Err(error)),
        };
        galleries.extend(infos.into_iter().map(|info| (info.id.clone(), info)));
    }

    let position_base = (run.page - 1) * i64::from(photoshelter.per_page);
    let (mut assets, mut memberships, mut terms) = (Vec::new(), Vec::new(), Vec::new());
    for (index, mut record) in records.into_iter().enumerate() {
        let known: Vec<&GalleryInfo> = record.galleries.iter().filter_map(|g| galleries.get(g.as_str())).collect();
        record.rights.galleries =
            known.iter().map(|g| GalleryAccess { mode: g.mode.clone(), is_listed: g.is_listed != 0 }).collect();
        let collections: BTreeSet<String> = known.iter().filter_map(|g| g.collection_id.clone()).collect();
        let rights = record.rights.normalise(&config.channels);

        for gallery in &record.galleries {
            memberships.push(json!([gallery, record.id, position_base + index as i64]));
        }
        for term in terms_of(&record, &collections) {
            terms.push(json!([term, record.id]));
        }
        assets.push(json!({
            "id": record.id, "title": record.title, "creator": record.creator, "caption": record.caption,
            "credit": rights.credit, "copyright": rights.copyright, "width": record.width, "height": record.height,
            "keywords": record.keywords, "galleries": record.galleries, "collections": collections,
            "licence_end": rights.licence_end.known(), "rights": rights, "modified_at": record.modified_at,
        }));
    }
    progress.assets = assets.len() as i64;
    progress.phase_done = page.is_last;

    // Rows of media read again (incremental runs) are replaced whole, memberships and terms too.
    let changed: Vec<Value> = assets.iter().map(|a| a["id"].clone()).collect();
    let mut statements = Vec::new();
    for chunk in json_chunks(changed) {
        for table in ["asset_terms", "gallery_assets"] {
            statements.push(Statement::new(
                format!("DELETE FROM {table} WHERE generation = ?1 AND asset_id IN (SELECT value FROM json_each(?2))"),
                vec![run.generation.into(), chunk.clone().into()],
            ));
        }
    }
    statements.extend(bulk(
        "INSERT OR REPLACE INTO assets (generation, id, title, creator, caption, credit, copyright, width, height, keywords, galleries, collections, rights, licence_end, modified_at) \
         SELECT ?1, value ->> '$.id', value ->> '$.title', value ->> '$.creator', value ->> '$.caption', value ->> '$.credit', \
         value ->> '$.copyright', value ->> '$.width', value ->> '$.height', value -> '$.keywords', value -> '$.galleries', \
         value -> '$.collections', value -> '$.rights', value ->> '$.licence_end', value ->> '$.modified_at' FROM json_each(?2)",
        run.generation,
        assets,
    ));
    statements.extend(bulk(
        "INSERT OR IGNORE INTO gallery_assets (generation, gallery_id, asset_id, position) \
         SELECT ?1, value ->> '$[0]', value ->> '$[1]', value ->> '$[2]' FROM json_each(?2)",
        run.generation,
        memberships,
    ));
    statements.extend(bulk(
        "INSERT OR IGNORE INTO asset_terms (generation, term, asset_id) SELECT ?1, value ->> '$[0]', value ->> '$[1]' FROM json_each(?2)",
        run.generation,
        terms,
    ));
    Ok(Ok((statements, progress)))
}

/// Copies the active generation's assets, memberships and terms into the run's generation,
/// so an incremental run only has to apply what changed.
fn copy_statements(run: &RunRow, active: i64) -> Vec<Statement> {
    let params = || vec![SqlValue::Integer(run.generation), SqlValue::Integer(active)];
    vec![
        Statement::new(
            "INSERT OR REPLACE INTO assets (generation, id, title, creator, caption, credit, copyright, width, height, keywords, galleries, collections, rights, licence_end, modified_at) \
             SELECT ?1, id, title, creator, caption, credit, copyright, width, height, keywords, galleries, collections, rights, licence_end, modified_at \
             FROM assets WHERE generation = ?2",
            params(),
        ),
        Statement::new(
            "INSERT OR IGNORE INTO asset_terms (generation, term, asset_id) SELECT ?1, term, asset_id FROM asset_terms WHERE generation = ?2",
            params(),
        ),
        Statement::new(
            "INSERT OR IGNORE INTO gallery_assets (generation, gallery_id, asset_id, position) SELECT ?1, gallery_id, asset_id, position FROM gallery_assets WHERE generation = ?2",
            params(),
        ),
    ]
}

/// Records which media PhotoShelter still lists (ids only), so finalize can drop the others.
async fn prune_page<T: Transport>(
    client: &Client<'_, T>,
    photoshelter: &PhotoShelterConfig,
    run: &RunRow,
) -> Result<(Vec<Statement>, Progress), PhotoShelterError> {
    let query = format!("{}&sort_by=upload_time&sort_dir=asc", media_filter(photoshelter));
    let page = client.get_page("/media", &query, run.page as u32, PRUNE_PER_PAGE).await?;
    let ids: Vec<Value> = page.items.iter().filter_map(|item| item.get("id").cloned()).collect();
    let progress = Progress { phase_done: page.is_last, ..Progress::default() };
    let statements = json_chunks(ids)
        .into_iter()
        .map(|chunk| {
            Statement::new(
                "INSERT OR IGNORE INTO sync_seen (run_id, id) SELECT ?1, value FROM json_each(?2)",
                vec![run.id.into(), chunk.into()],
            )
        })
        .collect();
    Ok((statements, progress))
}

#[derive(Deserialize)]
struct RightsRow {
    id: String,
    galleries: String,
    rights: String,
}

/// Recomputes the visibility part of the rights of assets held by galleries whose mode or
/// listing changed (or that disappeared) since the active generation, a page at a time.
async fn visibility_page(db: &impl Database, run: &RunRow, active: i64) -> Result<(Vec<Statement>, Progress), DbError> {
    let affected: Vec<RightsRow> = query_as(
        db,
        Statement::new(
            "WITH changed AS (SELECT old.id FROM galleries old LEFT JOIN galleries new ON new.generation = ?1 AND new.id = old.id \
             WHERE old.generation = ?2 AND (new.id IS NULL OR new.mode <> old.mode OR new.is_listed <> old.is_listed)) \
             SELECT a.id, a.galleries, a.rights FROM assets a WHERE a.generation = ?1 AND a.id IN \
             (SELECT asset_id FROM gallery_assets WHERE generation = ?1 AND gallery_id IN (SELECT id FROM changed)) \
             ORDER BY a.id LIMIT ?3 OFFSET ?4",
            vec![run.generation.into(), active.into(), VISIBILITY_PER_PAGE.into(), ((run.page - 1) * VISIBILITY_PER_PAGE).into()],
        ),
    )
    .await?;

    let gallery_ids: BTreeSet<String> = affected
        .iter()
        .flat_map(|row| serde_json::from_str::<Vec<String>>(&row.galleries).unwrap_or_default())
        .collect();
    let mut modes = std::collections::HashMap::new();
    for chunk in json_chunks(gallery_ids.into_iter().map(Value::from).collect()) {
        let infos: Vec<GalleryInfo> = query_as(
            db,
            Statement::new(
                "SELECT id, mode, is_listed, collection_id FROM galleries WHERE generation = ?1 AND id IN (SELECT value FROM json_each(?2))",
                vec![run.generation.into(), chunk.into()],
            ),
        )
        .await?;
        modes.extend(
            infos.into_iter().map(|g| (g.id.clone(), GalleryAccess { mode: g.mode, is_listed: g.is_listed != 0 })),
        );
    }

    let mut updates = Vec::new();
    for row in &affected {
        let Ok(mut rights) = serde_json::from_str::<Rights>(&row.rights) else { continue };
        let access: Vec<GalleryAccess> = serde_json::from_str::<Vec<String>>(&row.galleries)
            .unwrap_or_default()
            .iter()
            .filter_map(|g| modes.get(g).cloned())
            .collect();
        rights.visibility = visibility_of(&access);
        rights.raw.insert(GALLERY_MODES_KEY.to_owned(), describe_gallery_modes(&access));
        updates.push(json!({"id": row.id, "rights": rights}));
    }
    let progress = Progress { phase_done: (affected.len() as i64) < VISIBILITY_PER_PAGE, ..Progress::default() };
    let statements = json_chunks(updates)
        .into_iter()
        .map(|chunk| {
            Statement::new(
                "UPDATE assets SET rights = (SELECT value -> '$.rights' FROM json_each(?2) WHERE value ->> '$.id' = assets.id) \
                 WHERE generation = ?1 AND id IN (SELECT value ->> '$.id' FROM json_each(?2))",
                vec![run.generation.into(), chunk.into()],
            )
        })
        .collect();
    Ok((statements, progress))
}

/// Drops media PhotoShelter no longer lists, and memberships of galleries that are gone.
fn prune_statements(run: &RunRow) -> Vec<Statement> {
    let params = || vec![SqlValue::Integer(run.generation), SqlValue::Integer(run.id)];
    let unseen = "NOT IN (SELECT id FROM sync_seen WHERE run_id = ?2)";
    vec![
        Statement::new(format!("UPDATE sync_runs SET deleted = (SELECT COUNT(*) FROM assets WHERE generation = ?1 AND id {unseen}) WHERE id = ?2"), params()),
        Statement::new(format!("DELETE FROM assets WHERE generation = ?1 AND id {unseen}"), params()),
        Statement::new(format!("DELETE FROM asset_terms WHERE generation = ?1 AND asset_id {unseen}"), params()),
        Statement::new(
            format!("DELETE FROM gallery_assets WHERE generation = ?1 AND (asset_id {unseen} OR gallery_id NOT IN (SELECT id FROM galleries WHERE generation = ?1))"),
            params(),
        ),
        Statement::new("DELETE FROM sync_seen WHERE run_id = ?2", params()),
    ]
}

fn media_filter(photoshelter: &PhotoShelterConfig) -> String {
    match &photoshelter.org_id {
        Some(org) => format!("org_id={org}"),
        None => "media_type=image,video,audio,doc".to_owned(),
    }
}

async fn finalize(db: &impl Database, run: &RunRow, now: Millis) -> Result<(), DbError> {
    let generation = SqlValue::Integer(run.generation);
    let mut statements = if run.mode == "incremental" { prune_statements(run) } else { Vec::new() };
    statements.extend(vec![
        Statement::new(
            "INSERT OR REPLACE INTO term_stats (generation, term, asset_count) SELECT generation, term, COUNT(*) FROM asset_terms WHERE generation = ?1 GROUP BY term",
            vec![generation.clone()],
        ),
        Statement::new(
            "UPDATE galleries SET asset_count = (SELECT COUNT(*) FROM gallery_assets ga WHERE ga.generation = galleries.generation AND ga.gallery_id = galleries.id) WHERE generation = ?1",
            vec![generation.clone()],
        ),
        Statement::new(
            "INSERT INTO catalog_state (id, active_generation, activated_at, asset_count) \
             VALUES (1, ?1, ?2, (SELECT COUNT(*) FROM assets WHERE generation = ?1)) \
             ON CONFLICT(id) DO UPDATE SET active_generation = excluded.active_generation, \
             activated_at = excluded.activated_at, asset_count = excluded.asset_count",
            vec![generation.clone(), now.into()],
        ),
        Statement::new(
            "UPDATE sync_runs SET state = 'succeeded', phase = 'done', finished_at = ?2, updated_at = ?2, error = NULL WHERE id = ?1",
            vec![run.id.into(), now.into()],
        ),
    ]);
    db.batch(statements).await?;

    // NOTE: one DELETE per table is fine for catalogs of this size (tens of thousands of
    // assets); much larger libraries would need the clean-up spread over several invocations.
    let tables = ["assets", "asset_terms", "term_stats", "galleries", "gallery_assets", "collections"];
    let cleanup = tables
        .iter()
        .map(|table| Statement::new(format!("DELETE FROM {table} WHERE generation <> ?1"), vec![generation.clone()]));
    db.batch(cleanup.collect()).await
}

/// What a caller asks of [`run_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepOptions {
    /// Abandon an unfinished run and start a new one.
    pub restart: bool,
    /// The mode of a run started by this step. An incremental run needs an active catalog;
    /// without one the run is full.
    pub mode: SyncMode,
}

impl Default for StepOptions {
    fn default() -> Self {
        StepOptions { restart: false, mode: SyncMode::Incremental }
    }
}

/// The key under which a rotated OAuth refresh token is kept in `connector_state`.
const REFRESH_TOKEN_KEY: &str = "photoshelter_refresh_token";

async fn stored_refresh_token(db: &impl Database) -> Result<Option<String>, DbError> {
    #[derive(Deserialize)]
    struct Stored {
        value: String,
    }
    let stored: Option<Stored> = query_optional(
        db,
        Statement::new("SELECT value FROM connector_state WHERE key = ?1", vec![REFRESH_TOKEN_KEY.into()]),
    )
    .await?;
    Ok(stored.map(|s| s.value))
}

/// Keeps a refresh token PhotoShelter rotated, in the same transaction as the page's rows.
fn refresh_token_statement<T: Transport>(client: &Client<'_, T>, now: Millis) -> Option<Statement> {
    client.rotated_refresh_token().map(|token| {
        Statement::new(
            "INSERT INTO connector_state (key, value, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            vec![REFRESH_TOKEN_KEY.into(), token.into(), now.into()],
        )
    })
}

/// Picks the run to work on: the running one, the failed one (resumed), or a new one.
async fn current_run(db: &impl Database, options: StepOptions, now: Millis) -> Result<RunRow, DbError> {
    match latest_run(db).await? {
        Some(run) if run.state == "running" && !options.restart => Ok(run),
        Some(run) if run.state == "failed" && !options.restart => {
            let reason = run.error.as_deref().unwrap_or("an unknown error");
            crate::log::info(&format!(
                "sync run {} resumes at {} page {} after: {reason}",
                run.id, run.phase, run.page
            ));
            db.batch(vec![Statement::new(
                "UPDATE sync_runs SET state = 'running', error = NULL, updated_at = ?2 WHERE id = ?1",
                vec![run.id.into(), now.into()],
            )])
            .await?;
            Ok(RunRow { state: "running".to_owned(), error: None, ..run })
        }
        latest => {
            if let Some(old) = latest.filter(|run| run.state != "succeeded") {
                db.batch(vec![Statement::new(
                    "UPDATE sync_runs SET state = 'failed', error = 'abandoned by a restart', finished_at = ?2 WHERE id = ?1",
                    vec![old.id.into(), now.into()],
                )])
                .await?;
            }
            let run = start_run(db, now, options.mode).await?;
            crate::log::info(&format!(
                "sync run {} ({}) started, writing generation {}",
                run.id, run.mode, run.generation
            ));
            Ok(run)
        }
    }
}

/// Does one bounded step of the current sync run, starting a new run when the latest one
/// succeeded (or none exists) and resuming it when it failed; `options.restart` abandons an
/// unfinished run and starts over. Returns the run's status after the step.
pub async fn run_step<D: Database, T: Transport>(
    db: &D,
    transport: &T,
    config: &Config,
    clock: &impl Fn() -> Millis,
    options: StepOptions,
) -> Result<SyncStatus, SyncError> {
    let photoshelter = config.photoshelter.as_ref().map_err(|e| SyncError::NotConfigured(e.clone()))?;
    let started = clock();
    let mut run = current_run(db, options, started).await?;
    let lease = format!("{started:x}-{:x}", (transport.random_unit() * 2f64.powi(52)) as u64);
    if !take_lease(db, &run, &lease, started).await? {
        crate::log::info(&format!("sync run {}: skipped this step because another invocation has the lease", run.id));
        return Ok(SyncStatus::from(run));
    }
    let active = crate::catalog::active_catalog(db).await?.map(|c| c.generation);
    let client = Client::with_stored_refresh_token(photoshelter, transport, stored_refresh_token(db).await?);

    let mut pages = 0;
    while run.state == "running" && pages < photoshelter.pages_per_step && clock() - started < STEP_BUDGET_MS {
        let requests_before = client.requests();
        let outcome = match (run.phase.as_str(), active) {
            ("copy", Some(active)) => {
                Ok(Ok((copy_statements(&run, active), Progress { phase_done: true, ..Progress::default() })))
            }
            ("copy", None) | ("visibility", None) => {
                Ok(Ok((Vec::new(), Progress { phase_done: true, ..Progress::default() })))
            }
            ("galleries", _) => galleries_page(&client, photoshelter, &run).await.map(Ok),
            ("collections", _) => collections_page(&client, photoshelter, &run).await.map(Ok),
            ("media", _) => media_page(db, &client, config, photoshelter, &run).await,
            ("prune", _) => prune_page(&client, photoshelter, &run).await.map(Ok),
            ("visibility", Some(active)) => Ok(visibility_page(db, &run, active).await),
            ("finalize", _) => {
                finalize(db, &run, clock()).await?;
                crate::log::info(&format!("sync run {} succeeded: generation {} is active", run.id, run.generation));
                break;
            }
            (other, _) => {
                let message = format!("sync run {} has an unknown phase `{other}`", run.id);
                return Err(SyncError::Storage(DbError::Decode(message)));
            }
        };
        let requests = i64::from(client.requests() - requests_before);
        let token_statement = refresh_token_statement(&client, clock());

        match outcome {
            Ok(Ok((mut statements, progress))) => {
                statements.push(progress_statement(&run, &progress, requests, clock()));
                statements.extend(token_statement);
                db.batch(statements).await?;
            }
            Ok(Err(storage)) => return Err(storage.into()),
            Err(error) => {
                crate::log::error(&format!("sync run {} failed at {} page {}: {error}", run.id, run.phase, run.page));
                let mut statements = vec![Statement::new(
                    "UPDATE sync_runs SET state = 'failed', error = ?2, requests = requests + ?3, updated_at = ?4 WHERE id = ?1",
                    vec![run.id.into(), error.to_string().into(), requests.into(), clock().into()],
                )];
                statements.extend(token_statement);
                db.batch(statements).await?;
            }
        }
        pages += 1;
        run = latest_run(db).await?.ok_or_else(|| DbError::Query("the sync run disappeared".to_owned()))?;
    }

    db.batch(vec![Statement::new(
        "UPDATE sync_runs SET lease_until = NULL WHERE id = ?1 AND lease_token = ?2",
        vec![run.id.into(), lease.into()],
    )])
    .await?;
    latest_run(db)
        .await?
        .map(SyncStatus::from)
        .ok_or_else(|| SyncError::Storage(DbError::Query("no sync run".to_owned())))
}

/// How long a step's lease on a run lasts: longer than a step may run, so only a step that
/// died leaves a lease to expire.
const LEASE_MS: Millis = STEP_BUDGET_MS + 60_000;

/// Claims the run for this step unless another step's lease is still valid.
async fn take_lease(db: &impl Database, run: &RunRow, lease: &str, now: Millis) -> Result<bool, DbError> {
    #[derive(Deserialize)]
    struct Holder {
        lease_token: Option<String>,
    }
    db.batch(vec![Statement::new(
        "UPDATE sync_runs SET lease_token = ?2, lease_until = ?3 WHERE id = ?1 AND (lease_until IS NULL OR lease_until < ?4)",
        vec![run.id.into(), lease.into(), (now + LEASE_MS).into(), now.into()],
    )])
    .await?;
    let holder: Option<Holder> =
        query_optional(db, Statement::new("SELECT lease_token FROM sync_runs WHERE id = ?1", vec![run.id.into()]))
            .await?;
    Ok(holder.and_then(|h| h.lease_token).as_deref() == Some(lease))
}
