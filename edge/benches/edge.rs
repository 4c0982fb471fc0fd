//! Benchmarks of the edge, run natively with `cargo bench -p loci-edge --bench edge`.
//!
//! 1. A full sync of the stand-in's library (all 69,202 Tate artworks unless
//!    `LOCI_BENCH_LIMIT` is set) into SQLite through the worker's own sync code, then an
//!    incremental sync after a batch of changes: durations, steps and PhotoShelter requests.
//! 2. Recommendation requests at that catalog size. On Workers, D1 queries run outside the
//!    isolate and do not count as the worker's CPU time, so each request's time is split into
//!    time inside the database and the rest (an estimate of the worker's CPU time, measured on
//!    this machine's CPU rather than Cloudflare's).
//! 3. A baseline in the same run: scoring every asset of the catalog against the context's
//!    terms in memory (what the inverted index and its fan-out cap avoid), per request.
//! 4. Precomputed neighbour lists: the time to compute them for the whole catalog (in steps
//!    of the cron trigger's size), their stored size, and the same requests again reading
//!    them, with the ratio of the worker estimates before and after.
//!
//! Figures are printed; nothing is asserted, so the numbers never make a test flaky.

#[path = "../tests/support/mod.rs"]
mod support;

use std::cell::Cell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use loci_edge::db::sqlite::SqliteDatabase;
use loci_edge::db::{query_as, Database, DbError, Statement};
use loci_edge::http::{ApiRequest, Method};
use loci_edge::neighbours::{compute_step, CONTENT_ASSETS_PER_STEP};
use loci_edge::outbound::native::NativeTransport;
use loci_edge::router::{handle, App};
use loci_edge::sync::{run_step, StepOptions, SyncStatus};
use serde::Deserialize;
use serde_json::Value;

/// SQLite with a stopwatch around every call.
struct TimedDb {
    inner: SqliteDatabase,
    spent: Cell<Duration>,
    by_statement: std::cell::RefCell<HashMap<String, Duration>>,
}

impl Database for TimedDb {
    async fn query(&self, statement: Statement) -> Result<Vec<Value>, DbError> {
        let started = Instant::now();
        let key: String = statement.sql.chars().take(90).collect();
        let rows = self.inner.query(statement).await;
        self.spent.set(self.spent.get() + started.elapsed());
        *self.by_statement.borrow_mut().entry(key).or_default() += started.elapsed();
        rows
    }

    async fn batch(&self, statements: Vec<Statement>) -> Result<(), DbError> {
        let started = Instant::now();
        let result = self.inner.batch(statements).await;
        self.spent.set(self.spent.get() + started.elapsed());
        result
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn sync_until_done(
    db: &TimedDb,
    transport: &NativeTransport,
    config: &loci_edge::config::Config,
    options: StepOptions,
) -> (SyncStatus, usize, Duration) {
    let clock = support::test_now;
    let started = Instant::now();
    let mut steps = 0;
    loop {
        let status = futures_executor::block_on(run_step(db, transport, config, &clock, options)).expect("sync step");
        steps += 1;
        if status.state != "running" {
            return (status, steps, started.elapsed());
        }
    }
}

#[derive(Deserialize)]
struct TermRow {
    asset_id: String,
    term: String,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

fn main() {
    let limit: usize =
        std::env::var("LOCI_BENCH_LIMIT").ok().and_then(|v| v.parse().ok()).filter(|n| *n > 0).unwrap_or(usize::MAX);
    let standin = support::start_standin(limit);
    let mut config = support::config_for(&format!("http://{standin}/psapi/v4.0"));
    if let Ok(photoshelter) = config.photoshelter.as_mut() {
        photoshelter.per_page = 500;
        photoshelter.pages_per_step = 8;
    }
    let db = TimedDb {
        inner: SqliteDatabase::for_tests(),
        spent: Cell::new(Duration::ZERO),
        by_statement: Default::default(),
    };
    let transport = NativeTransport::default();

    println!("== sync (SQLite in memory, stand-in on loopback)");
    let (full, steps, elapsed) = sync_until_done(&db, &transport, &config, StepOptions::default());
    println!(
        "full sync:        {} assets, {} galleries in {:.1} s, {steps} steps, {} requests (database {:.1} s)",
        full.counts.assets,
        full.counts.galleries,
        elapsed.as_secs_f64(),
        full.counts.requests,
        db.spent.get().as_secs_f64()
    );

    let mutation = serde_json::json!({"modify": ["I000000000N00530", "I000000000N01506"], "add": 25, "clock": "2030-01-01 00:00:00 GMT"});
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mutated =
        agent.post(&format!("http://{standin}/__standin/mutate")).send_json(&mutation).map(|r| r.status().as_u16());
    db.spent.set(Duration::ZERO);
    let (incremental, steps, elapsed) = sync_until_done(&db, &transport, &config, StepOptions::default());
    println!(
        "incremental sync: {} changed assets, {} deleted in {:.1} s, {steps} steps, {} requests (mutation answered {:?})",
        incremental.counts.assets,
        incremental.counts.deleted,
        elapsed.as_secs_f64(),
        incremental.counts.requests,
        mutated
    );

    let contexts: Vec<IdRow> = futures_executor::block_on(query_as(
        &db.inner,
        Statement::new(
            "SELECT id FROM assets WHERE generation = (SELECT active_generation FROM catalog_state) \
             AND json_extract(rights, '$.channels.value') LIKE '%\"web\"%' ORDER BY id LIMIT 300",
            vec![],
        ),
    ))
    .expect("contexts");

    println!("\n== recommendations at {} assets ({} contexts, count 8)", full.counts.assets, contexts.len());
    let worker = time_requests(&db, &transport, &config, &contexts);

    // Baseline: every asset scored against the context's terms in memory.
    let rows: Vec<TermRow> = futures_executor::block_on(query_as(
        &db.inner,
        Statement::new(
            "SELECT asset_id, term FROM asset_terms WHERE generation = (SELECT active_generation FROM catalog_state)",
            vec![],
        ),
    ))
    .expect("terms");
    let mut terms_of: HashMap<String, Vec<String>> = HashMap::new();
    let mut frequency: HashMap<String, usize> = HashMap::new();
    for row in rows {
        *frequency.entry(row.term.clone()).or_default() += 1;
        terms_of.entry(row.asset_id).or_default().push(row.term);
    }
    let assets = terms_of.len() as f64;
    let mut baseline = Vec::new();
    for context in &contexts {
        let started = Instant::now();
        let wanted: HashMap<&str, f64> = terms_of
            .get(&context.id)
            .map(|terms| terms.iter().map(|t| (t.as_str(), (assets / frequency[t] as f64).ln())).collect())
            .unwrap_or_default();
        let mut scored: Vec<(f64, &String)> = terms_of
            .iter()
            .filter(|(id, _)| **id != context.id)
            .map(|(id, terms)| (terms.iter().filter_map(|t| wanted.get(t.as_str())).sum::<f64>(), id))
            .filter(|(score, _)| *score > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        std::hint::black_box(scored.first());
        baseline.push(started.elapsed());
    }
    baseline.sort();
    println!(
        "baseline, in-memory scan of every asset:   p50 {}  p99 {}  ({:.1}x the worker estimate at p50)",
        ms(percentile(&baseline, 0.5)),
        ms(percentile(&baseline, 0.99)),
        percentile(&baseline, 0.5).as_secs_f64() / percentile(&worker, 0.5).as_secs_f64().max(1e-9)
    );

    println!("\n== precomputed neighbour lists");
    let now = support::test_now();
    let started = Instant::now();
    let mut steps = 0;
    loop {
        let reports =
            futures_executor::block_on(compute_step(&db.inner, now, CONTENT_ASSETS_PER_STEP)).expect("neighbour step");
        steps += 1;
        if reports.iter().all(|report| report.finished) {
            break;
        }
    }
    let precompute = started.elapsed();
    let stored: Vec<SizeRow> = futures_executor::block_on(query_as(
        &db.inner,
        Statement::new(
            "SELECT COUNT(*) AS lists, COALESCE(SUM(length(neighbours)), 0) AS bytes FROM asset_neighbours",
            vec![],
        ),
    ))
    .expect("sizes");
    let size = stored.first().map_or((0, 0), |row| (row.lists, row.bytes));
    println!(
        "precompute, whole catalog: {:.1} s in {steps} steps of {CONTENT_ASSETS_PER_STEP} assets ({:.0} ms per step); \
         {} lists, {:.1} MB of JSON",
        precompute.as_secs_f64(),
        precompute.as_secs_f64() * 1000.0 / f64::from(steps),
        size.0,
        size.1 as f64 / 1e6
    );
    db.by_statement.borrow_mut().clear();
    let with_lists = time_requests(&db, &transport, &config, &contexts);
    println!(
        "worker CPU estimate with lists / without, at p50: {:.2}  (p99: {:.2})",
        percentile(&with_lists, 0.5).as_secs_f64() / percentile(&worker, 0.5).as_secs_f64().max(1e-9),
        percentile(&with_lists, 0.99).as_secs_f64() / percentile(&worker, 0.99).as_secs_f64().max(1e-9)
    );
}

#[derive(Deserialize)]
struct SizeRow {
    lists: i64,
    bytes: i64,
}

/// Sends one recommendation request per context, prints the five most expensive statements
/// and the percentiles, and returns the sorted worker CPU estimates.
fn time_requests(
    db: &TimedDb,
    transport: &NativeTransport,
    config: &loci_edge::config::Config,
    contexts: &[IdRow],
) -> Vec<Duration> {
    let now = support::test_now();
    let clock = move || now;
    let new_id = || "bench".to_owned();
    let app = App { db, transport, config, clock: &clock, new_id: &new_id };
    let (mut worker, mut database, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for context in contexts {
        db.spent.set(Duration::ZERO);
        let started = Instant::now();
        let response = futures_executor::block_on(handle(
            &app,
            ApiRequest::new(Method::Get, &format!("/v1/recommendations?context=asset:{}&count=8", context.id)),
        ));
        let elapsed = started.elapsed();
        assert_eq!(response.status, 200);
        total.push(elapsed);
        database.push(db.spent.get());
        worker.push(elapsed.saturating_sub(db.spent.get()));
    }
    let mut slowest: Vec<(String, Duration)> = db.by_statement.borrow().clone().into_iter().collect();
    slowest.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    for (sql, spent) in slowest.iter().take(5) {
        println!("  {:>9}  {sql}", ms(*spent));
    }
    for list in [&mut worker, &mut database, &mut total] {
        list.sort();
    }
    println!(
        "outside the database (worker CPU estimate): p50 {}  p99 {}  max {}",
        ms(percentile(&worker, 0.5)),
        ms(percentile(&worker, 0.99)),
        ms(percentile(&worker, 1.0))
    );
    println!(
        "inside the database:                        p50 {}  p99 {}",
        ms(percentile(&database, 0.5)),
        ms(percentile(&database, 0.99))
    );
    println!(
        "whole request:                              p50 {}  p99 {}",
        ms(percentile(&total, 0.5)),
        ms(percentile(&total, 0.99))
    );
    worker
}
