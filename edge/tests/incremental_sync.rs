//! Incremental sync, OAuth and resilience of the connector against the stand-in: changes
//! between two syncs, rate-limit storms, crashes midway, and expired tokens.

mod support;

use loci_edge::db::{query_optional, Database, Statement};
use loci_edge::http::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use support::{clear_faults, standin_control, standin_get, start_standin, Edge, ORG_ID};

const LIMIT: usize = 1500;

fn media_total(standin: std::net::SocketAddr) -> i64 {
    standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=50"))["meta"]["paging"]["total"]
        .as_i64()
        .expect("total")
}

fn catalog_assets(edge: &Edge) -> i64 {
    edge.get("/v1/health").json_body()["catalog"]["assets"].as_i64().expect("catalog size")
}

fn first_ids_with_channels(standin: std::net::SocketAddr, channels: &str, count: usize) -> Vec<String> {
    let page = standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=300&include=custom-metadata"));
    page["data"]
        .as_array()
        .expect("media")
        .iter()
        .filter(|item| item["includes"]["custom-metadata"]["data"]["attributes"]["Usage Channels"] == json!(channels))
        .filter_map(|item| item["id"].as_str().map(str::to_owned))
        .take(count)
        .collect()
}

#[test]
fn incremental_sync_applies_exactly_the_changes() {
    let standin = start_standin(LIMIT);
    let edge = Edge::new(standin);
    assert_eq!(edge.sync_to_end().state, "succeeded");
    let cleared = first_ids_with_channels(standin, "web, email, social, partner", 4);
    let (modified, deleted, withdrawn) = (&cleared[0], &cleared[1], &cleared[2]);
    // The run reads media modified at or after the newest change it holds, so media sharing
    // that second are read again; count them before anything changes.
    let newest: Option<Newest> = futures_executor::block_on(query_optional(
        &edge.db,
        Statement::new("SELECT MAX(modified_at) AS modified_at FROM assets", vec![]),
    ))
    .expect("query");
    let since = loci_shared::time::format_photoshelter(newest.expect("a catalog").modified_at).replace(' ', "%20");
    let boundary = standin_get(standin, &format!("/media?org_id={ORG_ID}&per_page=50&modify_start={since}"))["meta"]
        ["paging"]["total"]
        .as_i64()
        .expect("total");

    let mutation = standin_control(
        standin,
        "mutate",
        &json!({"modify": [modified], "add": 3, "delete": [deleted],
                "rights": [{"id": withdrawn, "Usage Channels": "none"}], "clock": "2027-01-01 00:00:00 GMT"}),
    );
    let status = edge.sync_to_end();

    let added: Vec<String> = serde_json::from_value(mutation["data"]["added"].clone()).expect("added ids");
    assert_eq!(status.state, "succeeded", "{status:?}");
    assert_eq!(status.mode, "incremental");
    assert_eq!(
        status.counts.assets,
        5 + boundary,
        "1 modified + 3 added + 1 rights change + {boundary} at the boundary"
    );
    assert_eq!(status.counts.deleted, 1);
    assert_eq!(catalog_assets(&edge), media_total(standin));
    assert!(edge.get(&format!("/v1/assets/{modified}")).json_body()["title"]
        .as_str()
        .unwrap_or("")
        .ends_with("(revised)"));
    assert_eq!(edge.get(&format!("/v1/assets/{deleted}")).status, 404);
    assert_eq!(edge.get(&format!("/v1/assets/{withdrawn}")).status, 404);
    for id in &added {
        assert_eq!(edge.get(&format!("/v1/assets/{id}")).status, 200, "added {id} is not served");
    }
    let explained = edge.admin(Method::Get, &format!("/v1/admin/rights/{withdrawn}")).json_body();
    assert_eq!(explained["denied_by"], json!("channel_not_approved"));
}

#[test]
fn unpublished_gallery_hides_its_assets_after_incremental_sync() {
    let standin = start_standin(LIMIT);
    let edge = Edge::new(standin);
    assert_eq!(edge.sync_to_end().state, "succeeded");
    let asset = &first_ids_with_channels(standin, "web, email, social, partner", 1)[0];
    let galleries: Vec<String> =
        serde_json::from_value(edge.get(&format!("/v1/assets/{asset}")).json_body()["galleries"].clone())
            .expect("galleries");

    standin_control(standin, "mutate", &json!({"unpublish_galleries": galleries, "clock": "2027-01-01 00:00:00 GMT"}));
    let status = edge.sync_to_end();

    assert_eq!(status.state, "succeeded");
    assert_eq!(edge.get(&format!("/v1/assets/{asset}")).status, 404);
    assert_eq!(
        edge.admin(Method::Get, &format!("/v1/admin/rights/{asset}")).json_body()["denied_by"],
        json!("not_public")
    );
    assert_eq!(edge.get(&format!("/v1/galleries/{}", galleries[0])).status, 404);
}

#[test]
fn rate_limit_storm_ends_with_a_complete_catalog() {
    let standin = start_standin(LIMIT);
    let edge = Edge::new(standin);

    // Short Retry-After values are waited out inside the step.
    standin_control(
        standin,
        "faults",
        &json!({"path_prefix": "/psapi/v4.0/media", "status": 429, "count": 2, "retry_after": 1}),
    );
    let waited = edge.sync_to_end();
    // A long Retry-After ends the step; the run resumes once PhotoShelter lets it.
    standin_control(
        standin,
        "faults",
        &json!({"path_prefix": "/psapi/v4.0/galleries", "status": 429, "count": 1, "retry_after": 120}),
    );
    let limited =
        edge.sync_step_with(loci_edge::sync::StepOptions { restart: false, mode: loci_edge::sync::SyncMode::Full });
    clear_faults(standin);
    let resumed = edge.sync_to_end();

    assert_eq!(waited.state, "succeeded", "{waited:?}");
    assert_eq!(limited.state, "failed");
    assert!(limited.error.as_deref().unwrap_or("").contains("rate-limited"), "{limited:?}");
    assert_eq!(resumed.run_id, limited.run_id);
    assert_eq!(resumed.state, "succeeded");
    assert_eq!(catalog_assets(&edge), media_total(standin));
}

#[test]
fn crash_midway_resumes_without_losing_or_repeating_pages() {
    let standin = start_standin(LIMIT);
    let edge = Edge::new(standin);

    // Let two media pages through, then fail every attempt at the third.
    standin_control(
        standin,
        "faults",
        &json!({"path_prefix": "/psapi/v4.0/media", "status": 500, "count": 20, "after": 2}),
    );
    let crashed = edge.sync_to_end();
    let health_during = edge.get("/v1/health").json_body();
    clear_faults(standin);
    let resumed = edge.sync_to_end();

    assert_eq!(crashed.state, "failed");
    assert_eq!(crashed.phase, "media");
    assert_eq!(crashed.page, 3);
    assert_eq!(health_during["catalog"], Value::Null, "no catalog is active before the first run completes");
    assert_eq!(resumed.run_id, crashed.run_id);
    assert_eq!(resumed.counts.assets, LIMIT as i64, "each page stored exactly once");
    assert_eq!(catalog_assets(&edge), LIMIT as i64);
}

#[derive(Deserialize)]
struct Newest {
    modified_at: i64,
}

#[derive(Deserialize)]
struct Stored {
    value: String,
}

#[test]
fn oauth_refresh_tokens_rotate_and_survive_expiry() {
    let standin = start_standin(LIMIT);
    let base = format!("http://{standin}/psapi/v4.0");
    let mut edge = Edge::new(standin);
    edge.config = support::config_with_oauth(&base, "demo-refresh-token", "demo-client", "demo-secret");

    let first = edge.sync_to_end();
    let stored: Option<Stored> = futures_executor::block_on(query_optional(
        &edge.db,
        Statement::new("SELECT value FROM connector_state WHERE key = 'photoshelter_refresh_token'", vec![]),
    ))
    .expect("query");
    standin_control(standin, "expire-tokens", &json!({}));
    let second = edge.sync_to_end();

    assert_eq!(first.state, "succeeded", "{first:?}");
    let rotated = stored.expect("the rotated refresh token is stored").value;
    assert_ne!(rotated, "demo-refresh-token");
    assert_eq!(second.state, "succeeded", "{second:?}");
}

#[test]
fn expired_session_token_is_renewed_once() {
    let standin = start_standin(LIMIT);
    let edge = Edge::new(standin);

    standin_control(
        standin,
        "faults",
        &json!({"path_prefix": "/psapi/v4.0/media", "status": 401, "count": 1, "after": 1}),
    );
    let status = edge.sync_to_end();

    assert_eq!(status.state, "succeeded", "{status:?}");
    assert_eq!(catalog_assets(&edge), LIMIT as i64);
}

#[test]
fn overlapping_step_leaves_a_leased_run_alone() {
    let standin = start_standin(LIMIT);
    let edge = Edge::new(standin);
    let first = edge.sync_step(false);
    let hold = |until: Option<i64>| {
        let statement =
            Statement::new("UPDATE sync_runs SET lease_token = 'another-step', lease_until = ?1", vec![until.into()]);
        futures_executor::block_on(edge.db.batch(vec![statement])).expect("set the lease");
    };

    hold(Some(edge.now + 60_000));
    let blocked = edge.sync_step(false);
    hold(None);
    let finished = edge.sync_to_end();

    assert_eq!(blocked.run_id, first.run_id);
    assert_eq!(
        (blocked.phase.as_str(), blocked.page),
        (first.phase.as_str(), first.page),
        "no work under another lease"
    );
    assert_eq!(blocked.counts, first.counts);
    assert_eq!(finished.state, "succeeded");
    assert_eq!(finished.counts.assets, LIMIT as i64, "nothing counted twice");
}

#[test]
fn full_run_replaces_incremental_once_a_day() {
    let standin = start_standin(LIMIT);
    let mut edge = Edge::new(standin);
    assert_eq!(edge.sync_to_end().mode, "full");
    assert_eq!(edge.sync_to_end().mode, "incremental", "the next run is incremental");

    edge.now += loci_edge::sync::FULL_SYNC_INTERVAL;
    let status = edge.sync_to_end();

    assert_eq!(status.state, "succeeded");
    assert_eq!(status.mode, "full", "a day after the last full run, the next run is full");
    assert_eq!(edge.sync_to_end().mode, "incremental");
}
