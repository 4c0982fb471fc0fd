//! The aggregation run: visitor segments, then daily engagement per dimension.
//!
//! A run re-assigns segments, finds the days that received events since the last run (or
//! every day in the lookback window when asked for a full run) and rewrites those days
//! completely, in one transaction per day. Recomputing whole days keeps the arithmetic
//! simple and makes a run safe to repeat: running it twice gives the same tables.

use std::collections::BTreeMap;

use loci_shared::time::{format_day, parse_day, Millis, MS_PER_DAY};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::experiments::{unit_of, Experiment};
use super::segments::{self, SegmentSummary, ANONYMOUS_SEGMENT, OTHER_SEGMENT};
use crate::catalog;
use crate::config::Config;
use crate::db::{query_as, query_optional, Database, DbError, Statement};
use crate::events::counted;

/// The outcome of one aggregation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefreshReport {
    /// Days whose aggregates were rewritten, oldest first.
    pub days: Vec<String>,
    /// Events counted in those days.
    pub events: i64,
    /// Consenting visitors assigned to a segment.
    pub visitors: i64,
    /// Each segment's size and top keywords.
    pub segments: Vec<SegmentSummary>,
    /// The highest event id counted so far.
    pub last_event_id: i64,
}

/// Returns the segment expression for an event row aliased `e`, with segments joined as `vs`.
fn segment_sql() -> String {
    format!(
        "coalesce(vs.segment, CASE WHEN e.visitor_id IS NULL THEN '{ANONYMOUS_SEGMENT}' ELSE '{OTHER_SEGMENT}' END)"
    )
}

/// Statements that rewrite one day's rows for every dimension.
fn day_statements(day_start: Millis, generation: Option<i64>) -> Vec<Statement> {
    let day = format_day(day_start);
    let segment = segment_sql();
    let counts = "sum(e.kind = 'impression'), sum(e.kind = 'click'), sum(e.kind = 'dwell'), \
                  sum(CASE WHEN e.kind = 'dwell' THEN e.dwell_ms ELSE 0 END)";
    let from = "FROM events e LEFT JOIN visitor_segments vs ON vs.visitor_id = e.visitor_id";
    // Events whose asset the named response never served (`verified = 0`) are stored and
    // exported, but not counted: they come from a client that made them up or mixed up its ids.
    // Repeats of an event for the same request and item count once.
    let window = counted("e", "occurred_at >= ?2 AND occurred_at < ?3");
    let insert = "INSERT INTO engagement_daily (dimension, day, key, placement, segment, impressions, clicks, dwell_events, dwell_ms)";
    let params = || vec![day.clone().into(), day_start.into(), (day_start + MS_PER_DAY).into()];

    let mut statements = vec![
        Statement::new("DELETE FROM engagement_daily WHERE day = ?1 AND dimension <> 'variant'", vec![day.clone().into()]),
        Statement::new(
            format!("{insert} SELECT 'placement', ?1, e.placement, e.placement, {segment}, {counts} {from} WHERE {window} GROUP BY 3, 5"),
            params(),
        ),
        Statement::new(
            format!(
                "{insert} SELECT 'asset', ?1, e.asset_id, e.placement, {segment}, {counts} {from} \
                 WHERE {window} AND e.asset_id IS NOT NULL GROUP BY 3, 4, 5"
            ),
            params(),
        ),
    ];
    let Some(generation) = generation else { return statements };

    // An event counts for a gallery when it is about the gallery card, or about an asset the
    // gallery holds; likewise for collections. Keywords come from the asset.
    let with_generation = || {
        let mut p = params();
        p.push(generation.into());
        p
    };
    statements.push(Statement::new(
        format!(
            "{insert} SELECT 'gallery', ?1, g.gallery_id, e.placement, {segment}, {counts} \
             FROM (SELECT e.id AS event_id, e.gallery_id AS gallery_id FROM events e WHERE {window} AND e.gallery_id IS NOT NULL \
                   UNION SELECT e.id, ga.gallery_id FROM events e JOIN gallery_assets ga \
                         ON ga.generation = ?4 AND ga.asset_id = e.asset_id WHERE {window} AND e.gallery_id IS NULL) g \
             JOIN events e ON e.id = g.event_id LEFT JOIN visitor_segments vs ON vs.visitor_id = e.visitor_id \
             GROUP BY 3, 4, 5"
        ),
        with_generation(),
    ));
    statements.push(Statement::new(
        format!(
            "{insert} SELECT 'collection', ?1, c.collection_id, e.placement, {segment}, {counts} \
             FROM (SELECT e.id AS event_id, col.value AS collection_id FROM events e \
                     JOIN assets a ON a.generation = ?4 AND a.id = e.asset_id, json_each(a.collections) col WHERE {window} \
                   UNION SELECT e.id, gal.collection_id FROM events e JOIN galleries gal \
                     ON gal.generation = ?4 AND gal.id = e.gallery_id WHERE {window} AND gal.collection_id IS NOT NULL) c \
             JOIN events e ON e.id = c.event_id LEFT JOIN visitor_segments vs ON vs.visitor_id = e.visitor_id \
             GROUP BY 3, 4, 5"
        ),
        with_generation(),
    ));
    statements.push(Statement::new(
        format!(
            "{insert} SELECT 'keyword', ?1, k.value, e.placement, {segment}, {counts} \
             {from} JOIN assets a ON a.generation = ?4 AND a.id = e.asset_id, json_each(a.keywords) k \
             WHERE {window} GROUP BY 3, 4, 5"
        ),
        with_generation(),
    ));
    statements
}

/// Per-variant counts of one day for the experiments running that day, computed in Rust
/// because assignment is a hash of the unit id.
async fn variant_statements(
    db: &impl Database,
    experiments: &[Experiment],
    day_start: Millis,
) -> Result<Vec<Statement>, DbError> {
    let day = format_day(day_start);
    let mut statements = vec![Statement::new(
        "DELETE FROM engagement_daily WHERE day = ?1 AND dimension = 'variant'",
        vec![day.clone().into()],
    )];

    #[derive(Deserialize)]
    struct UnitCounts {
        visitor_id: Option<String>,
        page_id: Option<String>,
        impressions: i64,
        clicks: i64,
        dwell_events: i64,
        dwell_ms: i64,
    }
    for experiment in experiments.iter().filter(|e| e.is_running(day_start) || e.is_running(day_start + MS_PER_DAY - 1))
    {
        let (start, end) = experiment.span();
        let from = start.max(day_start);
        let until = end.unwrap_or(Millis::MAX).min(day_start + MS_PER_DAY);
        let units: Vec<UnitCounts> = query_as(
            db,
            Statement::new(
                format!(
                    "SELECT visitor_id, page_id, sum(kind = 'impression') AS impressions, sum(kind = 'click') AS clicks, \
                     sum(kind = 'dwell') AS dwell_events, sum(CASE WHEN kind = 'dwell' THEN dwell_ms ELSE 0 END) AS dwell_ms \
                     FROM events e WHERE {} GROUP BY visitor_id, page_id",
                    counted("e", "placement = ?1 AND occurred_at >= ?2 AND occurred_at < ?3")
                ),
                vec![experiment.placement.clone().into(), from.into(), until.into()],
            ),
        )
        .await?;

        let mut totals: BTreeMap<&str, [i64; 4]> = BTreeMap::new();
        for unit in &units {
            let Some((_, unit_id)) = unit_of(unit.visitor_id.as_deref(), unit.page_id.as_deref()) else { continue };
            let entry = totals.entry(experiment.variant_for(unit_id).name.as_str()).or_default();
            for (total, value) in
                entry.iter_mut().zip([unit.impressions, unit.clicks, unit.dwell_events, unit.dwell_ms])
            {
                *total += value;
            }
        }
        let rows: Vec<Value> = totals
            .into_iter()
            .map(|(variant, [impressions, clicks, dwell_events, dwell_ms])| {
                json!([format!("{}/{variant}", experiment.id), impressions, clicks, dwell_events, dwell_ms])
            })
            .collect();
        statements.push(Statement::new(
            "INSERT INTO engagement_daily (dimension, day, key, placement, segment, impressions, clicks, dwell_events, dwell_ms) \
             SELECT 'variant', ?1, value ->> '$[0]', ?2, 'all', value ->> '$[1]', value ->> '$[2]', value ->> '$[3]', \
             value ->> '$[4]' FROM json_each(?3)",
            vec![day.clone().into(), experiment.placement.clone().into(), Value::from(rows).to_string().into()],
        ));
    }
    Ok(statements)
}

async fn state_value(db: &impl Database, name: &str) -> Result<Option<String>, DbError> {
    #[derive(Deserialize)]
    struct Row {
        value: String,
    }
    Ok(query_optional::<Row>(
        db,
        Statement::new("SELECT value FROM analytics_state WHERE name = ?1", vec![name.into()]),
    )
    .await?
    .map(|row| row.value))
}

fn set_state(name: &str, value: String) -> Statement {
    Statement::new(
        "INSERT INTO analytics_state (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        vec![name.into(), value.into()],
    )
}

/// Returns the segment summaries the last run stored.
pub async fn stored_segment_summaries(db: &impl Database) -> Result<Vec<SegmentSummary>, DbError> {
    let text = state_value(db, "segment_summaries").await?.unwrap_or_else(|| "[]".to_owned());
    serde_json::from_str(&text).map_err(|e| DbError::Decode(e.to_string()))
}

/// When the last run finished, if one has.
pub async fn last_refreshed_at(db: &impl Database) -> Result<Option<Millis>, DbError> {
    Ok(state_value(db, "refreshed_at").await?.and_then(|v| v.parse().ok()))
}

/// Runs the aggregation. With `full`, every day in the lookback window is recomputed (use it
/// after changing segment rules or experiments); otherwise only days with new events.
pub async fn refresh(db: &impl Database, config: &Config, now: Millis, full: bool) -> Result<RefreshReport, DbError> {
    let generation = catalog::active_catalog(db).await?.map(|c| c.generation);
    let summaries = segments::refresh(db, &config.segments, generation, now).await?;

    #[derive(Deserialize)]
    struct Progress {
        last_event_id: Option<i64>,
    }
    let last_counted: i64 = state_value(db, "last_event_id").await?.and_then(|v| v.parse().ok()).unwrap_or(0);
    let newest = query_optional::<Progress>(db, Statement::new("SELECT max(id) AS last_event_id FROM events", vec![]))
        .await?
        .and_then(|p| p.last_event_id)
        .unwrap_or(0);

    #[derive(Deserialize)]
    struct Day {
        day: String,
    }
    // Only days inside the lookback window, up to tomorrow because clients' clocks run a little
    // ahead, are aggregated. Events outside it stay in the raw events export.
    let since = if full { 0 } else { last_counted };
    let window_start = (now - segments::LOOKBACK_DAYS * MS_PER_DAY).div_euclid(MS_PER_DAY) * MS_PER_DAY;
    let window_end = (now.div_euclid(MS_PER_DAY) + 2) * MS_PER_DAY;
    let days: Vec<Day> = query_as(
        db,
        Statement::new(
            "SELECT DISTINCT date(occurred_at / 1000, 'unixepoch') AS day FROM events \
             WHERE id > ?1 AND occurred_at >= ?2 AND occurred_at < ?3 ORDER BY day",
            vec![since.into(), window_start.into(), window_end.into()],
        ),
    )
    .await?;

    let mut recomputed = Vec::new();
    for day in &days {
        let Some(day_start) = parse_day(&day.day) else { continue };
        let mut statements = day_statements(day_start, generation);
        statements.extend(variant_statements(db, &config.experiments, day_start).await?);
        db.batch(statements).await?;
        recomputed.push(day.day.clone());
    }

    #[derive(Deserialize)]
    struct Count {
        events: i64,
    }
    let first_day = recomputed.first().and_then(|d| parse_day(d)).unwrap_or(now);
    let events = query_optional::<Count>(
        db,
        Statement::new(
            format!(
                "SELECT count(*) AS events FROM events e WHERE {} \
                 AND date(occurred_at / 1000, 'unixepoch') IN (SELECT value FROM json_each(?2))",
                counted("e", "occurred_at >= ?1")
            ),
            vec![first_day.into(), Value::from(recomputed.clone()).to_string().into()],
        ),
    )
    .await?
    .map_or(0, |c| c.events);

    db.batch(vec![
        set_state("last_event_id", newest.to_string()),
        set_state("segment_summaries", serde_json::to_string(&summaries).unwrap_or_else(|_| "[]".to_owned())),
        set_state("refreshed_at", now.to_string()),
    ])
    .await?;

    Ok(RefreshReport {
        days: recomputed,
        events,
        visitors: summaries.iter().map(|s| s.size).sum(),
        segments: summaries,
        last_event_id: newest,
    })
}
