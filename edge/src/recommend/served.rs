//! Records of each response's assets: page-view claims in `page_served`, so several widgets
//! on one page never repeat an asset, and the served list in `served_requests`, which click
//! verification and attribution read.

use std::collections::{HashSet, VecDeque};

use loci_shared::time::Millis;
use serde::Deserialize;
use serde_json::Value;

use super::{Chosen, MS_PER_DAY};
use crate::db::{query_as, Database, DbError, Statement};
use crate::error::ApiError;

/// Days a served list is kept for click verification. Clicks on older responses are stored
/// but do not count as co-views.
pub const SERVED_RETENTION_DAYS: i64 = 7;

/// The response facts stored with its served list in `served_requests`.
pub(super) struct ServedRecord<'a> {
    /// The response's request id.
    pub request_id: &'a str,
    /// When it was served.
    pub served_at: Millis,
    /// The placement.
    pub placement: &'a str,
    /// The context, as written in events (`asset:…` or `gallery:…`).
    pub context: String,
    /// The visitor id, only with consent.
    pub visitor_id: Option<&'a str>,
    /// The page-view id.
    pub page_id: Option<&'a str>,
    /// The segment the request ranked for.
    pub segment: Option<&'a str>,
    /// The A/B test variant the request was assigned to, as `experiment/variant`.
    pub variant: Option<&'a str>,
    /// The engine that produced the candidates.
    pub engine: &'a str,
}

impl ServedRecord<'_> {
    /// Builds the statement that stores the assets of `asset_ids` (a JSON array, in served
    /// order) as served, or appends them when an earlier claim round of the same request
    /// stored some. With a page-view id, only the assets this request claimed in `page_served`
    /// are stored, so the statement can run in the claim's own batch.
    fn store(&self, asset_ids: String) -> Statement {
        Statement::new(
            "INSERT INTO served_requests (request_id, served_at, placement, context, visitor_id, page_id, segment, engine, asset_ids, variant) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, json_group_array(c.value), ?10 \
             FROM (SELECT value FROM json_each(?9) ORDER BY key) AS c \
             WHERE ?6 IS NULL OR EXISTS (SELECT 1 FROM page_served p WHERE p.page_id = ?6 AND p.request_id = ?1 AND p.asset_id = c.value) \
             ON CONFLICT (request_id) DO UPDATE SET asset_ids = (SELECT json_group_array(value) FROM \
             (SELECT 0 AS part, key, value FROM json_each(served_requests.asset_ids) \
              UNION ALL SELECT 1, key, value FROM json_each(excluded.asset_ids) ORDER BY part, key))",
            vec![
                self.request_id.into(),
                self.served_at.into(),
                self.placement.into(),
                self.context.clone().into(),
                self.visitor_id.into(),
                self.page_id.into(),
                self.segment.into(),
                self.engine.into(),
                asset_ids.into(),
                self.variant.into(),
            ],
        )
    }
}

fn ids_json(chosen: &[Chosen]) -> String {
    Value::from(chosen.iter().map(|c| c.row.id.clone()).collect::<Vec<_>>()).to_string()
}

/// Stores the served list of a request without a page-view id: one statement.
pub(super) async fn record_served(
    db: &impl Database,
    served: &ServedRecord<'_>,
    chosen: &[Chosen],
) -> Result<(), ApiError> {
    db.batch(vec![served.store(ids_json(chosen))]).await?;
    Ok(())
}

#[derive(Deserialize)]
struct ServedAsset {
    asset_id: String,
}

/// Keeps, in order, up to `count` assets no other request of the same page view has shown,
/// claiming them in `page_served` and storing them as served in the same batch. Claims are
/// `INSERT OR IGNORE` on the (page, asset) key, so widgets of one page asking at the same
/// moment still end up with disjoint lists.
///
/// Returns the kept assets and how many items of `ordered` were consumed: a page that follows
/// starts there. Items another request of the page claimed are skipped, not consumed later,
/// so pages of one widget neither repeat them nor leave gaps in the rest of the list.
pub(super) async fn claim_for_page(
    db: &impl Database,
    page_id: &str,
    served: &ServedRecord<'_>,
    ordered: Vec<Chosen>,
    count: usize,
) -> Result<(Vec<Chosen>, usize), ApiError> {
    let request_id = served.request_id;
    let shown: Vec<ServedAsset> = query_as(
        db,
        Statement::new(
            "SELECT asset_id FROM page_served WHERE page_id = ?1 AND request_id <> ?2",
            vec![page_id.into(), request_id.into()],
        ),
    )
    .await?;
    let shown: HashSet<String> = shown.into_iter().map(|s| s.asset_id).collect();
    let total = ordered.len();
    let mut remaining: VecDeque<(usize, Chosen)> =
        ordered.into_iter().enumerate().filter(|(_, c)| !shown.contains(&c.row.id)).collect();

    let mut owned = Vec::with_capacity(count);
    let mut consumed = 0;
    let mut stored = false;
    while owned.len() < count && !remaining.is_empty() {
        let take = (count - owned.len()).min(remaining.len());
        let (positions, batch): (Vec<usize>, Vec<Chosen>) = remaining.drain(..take).unzip();
        consumed = positions.last().map_or(consumed, |last| last + 1);
        let ids = ids_json(&batch);
        db.batch(vec![
            Statement::new(
                "INSERT OR IGNORE INTO page_served (page_id, asset_id, request_id, served_at) \
                 SELECT ?1, value, ?2, ?3 FROM json_each(?4)",
                vec![page_id.into(), request_id.into(), served.served_at.into(), ids.clone().into()],
            ),
            served.store(ids.clone()),
        ])
        .await?;
        stored = true;
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
    if remaining.is_empty() {
        consumed = total;
    }
    if !stored {
        db.batch(vec![served.store("[]".to_owned())]).await?;
    }
    Ok((owned, consumed))
}

/// Deletes the page-view claims older than a day; the cron trigger calls it.
pub async fn forget_old_page_views(db: &impl Database, now: Millis) -> Result<(), DbError> {
    db.batch(vec![Statement::new("DELETE FROM page_served WHERE served_at < ?1", vec![(now - MS_PER_DAY).into()])])
        .await
}

/// Deletes served lists older than [`SERVED_RETENTION_DAYS`]; the cron trigger calls it.
pub async fn forget_old_served_requests(db: &impl Database, now: Millis) -> Result<(), DbError> {
    db.batch(vec![Statement::new(
        "DELETE FROM served_requests WHERE served_at < ?1",
        vec![(now - SERVED_RETENTION_DAYS * MS_PER_DAY).into()],
    )])
    .await
}
