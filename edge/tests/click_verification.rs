//! What each response served (`served_requests`) and how clicks are verified against it
//! before they count as co-views.

mod support;

use std::net::SocketAddr;

use loci_edge::db::{query_as, Statement};
use loci_edge::http::Method;
use loci_edge::recommend::{forget_old_served_requests, SERVED_RETENTION_DAYS};
use serde::Deserialize;
use serde_json::{json, Value};
use support::{allowed_assets, ids, recommend, test_now, Edge};

const LIMIT: usize = 1500;
const DAY: i64 = 86_400_000;

fn synced_edge() -> (SocketAddr, Edge) {
    support::synced_edge_with(LIMIT, &[])
}

#[derive(Debug, Deserialize)]
struct ServedRow {
    placement: String,
    context: String,
    page_id: Option<String>,
    segment: Option<String>,
    variant: Option<String>,
    engine: String,
    asset_ids: String,
}

fn served_row(edge: &Edge, request_id: &str) -> Option<ServedRow> {
    let rows: Vec<ServedRow> = futures_executor::block_on(query_as(
        &edge.db,
        Statement::new("SELECT * FROM served_requests WHERE request_id = ?1", vec![request_id.into()]),
    ))
    .expect("served_requests reads");
    rows.into_iter().next()
}

fn served_ids(row: &ServedRow) -> Vec<String> {
    serde_json::from_str(&row.asset_ids).expect("a JSON array of ids")
}

fn co_view_clicks(edge: &Edge, context: &str, asset: &str) -> i64 {
    #[derive(Deserialize)]
    struct Clicks {
        clicks: i64,
    }
    let rows: Vec<Clicks> = futures_executor::block_on(query_as(
        &edge.db,
        Statement::new(
            "SELECT clicks FROM co_views WHERE context = ?1 AND asset_id = ?2",
            vec![context.into(), asset.into()],
        ),
    ))
    .expect("co_views reads");
    rows.first().map_or(0, |row| row.clicks)
}

fn click(request_id: &str, context: &str, asset: &str) -> Value {
    json!({"type": "click", "request_id": request_id, "asset_id": asset, "context": context,
           "placement": "main", "occurred_at": test_now() - 1000})
}

#[test]
fn every_response_records_what_it_served() {
    let (standin, edge) = synced_edge();
    let context = &allowed_assets(standin, &edge, 1)[0];

    let plain = recommend(&edge, &format!("context=asset:{context}&count=5&placement=main&segment=loyal"));
    let first_widget = recommend(&edge, &format!("context=asset:{context}&count=5&page=view-1&placement=top"));
    let second_widget = recommend(&edge, &format!("context=asset:{context}&count=5&page=view-1&placement=bottom"));

    let row = served_row(&edge, plain["request_id"].as_str().expect("id")).expect("a served row");
    assert_eq!(served_ids(&row), ids(&plain), "in served order");
    assert_eq!(row.placement, "main");
    assert_eq!(row.context, format!("asset:{context}"));
    assert_eq!(row.page_id, None);
    assert_eq!(row.segment.as_deref(), Some("loyal"));
    assert_eq!(row.variant, None);
    assert_eq!(row.engine, "embedded");
    for widget in [&first_widget, &second_widget] {
        let row = served_row(&edge, widget["request_id"].as_str().expect("id")).expect("a served row");
        assert_eq!(served_ids(&row), ids(widget), "only the assets this widget claimed");
        assert_eq!(row.page_id.as_deref(), Some("view-1"));
    }
}

#[test]
fn co_views_count_only_served_clicks() {
    let (standin, edge) = synced_edge();
    let allowed = allowed_assets(standin, &edge, 1);
    let context = format!("asset:{}", allowed[0]);
    let shown = recommend(&edge, &format!("context={context}&count=4&placement=main"));
    let request_id = shown["request_id"].as_str().expect("id").to_owned();
    let served = ids(&shown);
    let not_served = ids(&recommend(&edge, &format!("context={context}&count=4&cursor=40")))
        .into_iter()
        .chain(ids(&recommend(&edge, &format!("context={context}&count=4&cursor=8"))))
        .find(|id| !served.contains(id))
        .expect("an asset this response did not serve");

    let batch = json!({"events": [
        click(&request_id, &context, &served[0]),
        click(&request_id, &context, &not_served),
        click("forged-request", &context, &served[1]),
        click(&request_id, "asset:I000000000A00001", &served[2]),
        {"type": "impression", "request_id": request_id, "asset_id": served[3], "context": context,
         "placement": "main", "occurred_at": test_now() - 2000},
    ]});
    let answer = edge.post_json("/v1/events", &batch);

    assert_eq!(answer.status, 202);
    assert_eq!(answer.json_body(), json!({"accepted": 5, "unverified_clicks": 3}));
    assert_eq!(co_view_clicks(&edge, &context, &served[0]), 1);
    assert_eq!(co_view_clicks(&edge, &context, &not_served), 0, "an asset the response never showed");
    assert_eq!(co_view_clicks(&edge, &context, &served[1]), 0, "a request id the edge never issued");
    assert_eq!(co_view_clicks(&edge, "asset:I000000000A00001", &served[2]), 0, "another context");

    let stored = edge.admin(Method::Get, &format!("/v1/admin/events?request_id={request_id}")).json_body();
    let events = stored["events"].as_array().expect("events");
    assert_eq!(events.len(), 4, "every event is stored: {stored}");
    let verified: Vec<(&str, &Value)> =
        events.iter().map(|e| (e["asset_id"].as_str().unwrap_or(""), &e["verified"])).collect();
    assert_eq!(
        verified,
        vec![
            (served[0].as_str(), &json!(true)),
            (not_served.as_str(), &json!(false)),
            (served[2].as_str(), &json!(false)),
            (served[3].as_str(), &json!(true)),
        ]
    );

    // Replays of the verified click, in one batch and in a later one, add no co-view.
    let replay =
        json!({"events": [click(&request_id, &context, &served[0]), click(&request_id, &context, &served[0])]});
    assert_eq!(edge.post_json("/v1/events", &replay).status, 202);
    assert_eq!(edge.post_json("/v1/events", &replay).status, 202);
    assert_eq!(co_view_clicks(&edge, &context, &served[0]), 1, "one click per request and asset");
}

#[test]
fn old_served_lists_are_forgotten() {
    let (standin, mut edge) = synced_edge();
    let context = &allowed_assets(standin, &edge, 1)[0];
    let old = recommend(&edge, &format!("context=asset:{context}&count=3"));
    edge.now = test_now() + SERVED_RETENTION_DAYS * DAY;
    let recent = recommend(&edge, &format!("context=asset:{context}&count=3"));

    futures_executor::block_on(forget_old_served_requests(&edge.db, edge.now + 1)).expect("clean-up runs");

    assert!(served_row(&edge, old["request_id"].as_str().expect("id")).is_none());
    assert!(served_row(&edge, recent["request_id"].as_str().expect("id")).is_some());
    let late = edge.post_json(
        "/v1/events",
        &json!({"events": [click(old["request_id"].as_str().expect("id"), &format!("asset:{context}"), &ids(&old)[0])]}),
    );
    assert_eq!(late.json_body()["unverified_clicks"], json!(1), "a click on a forgotten response is unverified");
}
